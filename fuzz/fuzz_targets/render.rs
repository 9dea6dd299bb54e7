//! Bytes → the template `tmpl/_ALL_/f.txt` of a small project in a temp
//! directory → what `facs check` runs: load, analyse, select, compile (check
//! mode), render the trees in memory, format the diagnostics.
#![no_main]

#[path = "../harness.rs"]
mod harness;

use std::path::PathBuf;
use std::sync::OnceLock;

/// One definition directory per process (left in the temp dir on exit).
fn project() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("facs-fuzz-render-").tempdir().expect("temp dir").keep();
        harness::render_setup(&dir);
        dir
    })
    .clone()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    let dir = project();
    harness::on_cli_stack(move || harness::render(&dir, &data));
});
