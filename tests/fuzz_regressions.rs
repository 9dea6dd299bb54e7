//! Replays inputs of the cargo-fuzz targets (`fuzz/`, see fuzz/README.md)
//! through the same code the targets run: `fuzz/harness.rs`, included here.
//!
//! For each target this replays every file in `tests/fuzz_regressions/<target>/`
//! (minimized inputs that crashed, hung or ran out of memory; a test fails
//! while its bug is unfixed) and the committed seed corpus
//! `fuzz/corpus/<target>/seed-*`, which proves the harness itself works.
//! Every input must finish without a panic within [`LIMIT`].

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long one input may take (the fuzzer runs with `-timeout=10`; every
/// seed takes milliseconds). Unoptimized builds get more.
const LIMIT: Duration = Duration::from_secs(if cfg!(debug_assertions) { 20 } else { 5 });

fn files_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
        .collect();
    files.sort();
    files
}

/// The regression inputs and the seeds of one target.
fn inputs(target: &str) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let regressions = files_in(&root.join("tests/fuzz_regressions").join(target), "");
    let seeds = files_in(&root.join("fuzz/corpus").join(target), "seed-");
    assert!(!seeds.is_empty(), "no seeds in fuzz/corpus/{target}");
    (regressions, seeds)
}

/// Runs `run` on every input of `target`, on the CLI's stack like the fuzz
/// target, and fails with the list of inputs that panicked or took too long.
fn replay(target: &str, run: impl Fn(&[u8]) + Clone + Send + 'static) {
    let (regressions, seeds) = inputs(target);
    let mut failures = Vec::new();
    for path in regressions.iter().chain(&seeds) {
        let data = std::fs::read(path).expect("read input");
        let run = run.clone();
        // Timed on the worker: tests run in parallel and share it.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            harness::on_cli_stack(move || {
                let started = Instant::now();
                run(&data);
                started.elapsed()
            })
        }));
        match outcome {
            Err(_) => failures.push(format!("{}: panicked (see the message above)", path.display())),
            Ok(took) if took > LIMIT => failures.push(format!("{}: took {took:?}", path.display())),
            Ok(_) => {}
        }
    }
    let total = regressions.len() + seeds.len();
    assert!(failures.is_empty(), "{target}: {} of {total} inputs failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn parse() {
    replay("parse", harness::parse);
}

#[test]
fn check_dir() {
    replay("check_dir", harness::check_dir);
}

#[test]
fn state_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    replay("state_load", move |data| harness::state_load(&path, data));
}

#[test]
fn render() {
    let dir = tempfile::tempdir().expect("temp dir");
    harness::render_setup(dir.path());
    let path = dir.path().to_path_buf();
    replay("render", move |data| harness::render(&path, data));
}
