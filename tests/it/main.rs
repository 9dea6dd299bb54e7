//! The integration tests: one test binary, `it`, with one module per
//! subject (matklad's single integration crate). Each former `tests/<name>.rs`
//! is the module `<name>` here, so `cargo test --release --test it deploy::`
//! runs the deploy tests, and every fixture case is a test of its own
//! (`cargo test --release E007_`). Linking one binary instead of sixteen
//! saves most of the build time of `cargo test`. See tests/README.md.
//!
//! The data the tests read stays beside this directory: `tests/fixtures/`,
//! `tests/fixtures_legacy/`, `tests/commands/project/`,
//! `tests/deploy/project/`, `tests/fuzz_regressions/`; insta's snapshots are
//! in `tests/it/snapshots/`, named `<case>.snap` for fixture cases and
//! `it__<module>__<name>.snap` for the rest.

mod common;

mod checkout;
mod cli;
mod commands;
mod components;
mod confinement;
mod crash_safety;
mod deploy;
mod docs;
mod editors;
mod everyday;
mod fixtures;
mod fmt;
mod fuzz_regressions;
mod import;
mod includes;
mod lsp;
mod malformed;
mod oracle;
mod secrets;
mod state;
mod tree_sitter;
mod tree_swap;

/// Tidy check: `tests/` holds no second test target. Cargo would build a new
/// `tests/<name>.rs` (or `tests/<name>/main.rs`) as a binary of its own, which
/// links the whole crate again; it belongs here as a module.
#[test]
fn one_test_binary() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut others = Vec::new();
    for entry in std::fs::read_dir(&tests).expect("tests/") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if (path.is_file() && name.ends_with(".rs")) || (name != "it" && path.join("main.rs").is_file()) {
            others.push(name);
        }
    }
    assert!(others.is_empty(), "test targets besides tests/it/ (make them modules of tests/it/main.rs): {others:?}");
}
