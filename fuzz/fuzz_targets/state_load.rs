//! Bytes → `<tmp>/owner/state.json` → `StateDir::load` → what a build asks
//! of state → saved and loaded again.
#![no_main]

#[path = "../harness.rs"]
mod harness;

use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch state directory per process (left in the temp dir on exit).
fn scratch() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::Builder::new().prefix("facs-fuzz-state-").tempdir().expect("temp dir").keep()).clone()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    let dir = scratch();
    harness::on_cli_stack(move || harness::state_load(&dir, &data));
});
