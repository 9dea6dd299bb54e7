//! Bytes → one `.facs` file → `build::load` (UTF-8 check, scan, parse,
//! lower) → diagnostics formatted as the CLI prints them.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    harness::on_cli_stack(move || harness::parse(&data));
});
