//! Bytes split on `\n----\n` into up to four files `a.facs`, `b.facs`, ...
//! → `build::compile_memory` (parse, resolve, types, evaluation of every
//! concrete instance with placeholder secrets).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    harness::on_cli_stack(move || harness::check_dir(&data));
});
