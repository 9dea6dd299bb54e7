//! Replays inputs of the cargo-fuzz targets (`fuzz/`, see fuzz/README.md)
//! through the same code the targets run: `fuzz/harness.rs`, included here.
//!
//! For each target this replays
//! - every file in `tests/fuzz_regressions/<target>/`: inputs that crashed,
//!   hung or exhausted memory. Each runs in a child process (this test binary
//!   again, see [`child_entry`]) with its address space capped and a kill
//!   timer, so an unfixed one fails the test instead of taking the machine's
//!   memory or hanging the suite;
//! - the committed seed corpus `fuzz/corpus/<target>/seed-*`, in process,
//!   which proves the harness itself works.
//!
//! Every input must finish without a panic within [`LIMIT`].

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one input may take (the fuzzer runs with `-timeout=10`; every
/// seed takes milliseconds). Unoptimized builds get more.
const LIMIT: Duration = Duration::from_secs(if cfg!(debug_assertions) { 20 } else { 5 });

/// A child still running after this long is killed.
const KILL_AFTER: Duration = Duration::from_secs(if cfg!(debug_assertions) { 60 } else { 20 });

/// Memory a child may use beyond its thread stacks (the fuzzer runs with
/// `-rss_limit_mb=2048`).
const MEMORY: u64 = 3 << 30;

/// Tell [`child_entry`] what to replay.
const ENV_TARGET: &str = "FACS_FUZZ_REPLAY_TARGET";
const ENV_INPUT: &str = "FACS_FUZZ_REPLAY_INPUT";

fn files_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
        .collect();
    files.sort();
    files
}

/// Runs one input of `target` as the fuzz target does, on the CLI's stack,
/// and returns how long it took. `scratch` is the target's directory (a
/// state directory, or the `render` project, already set up).
fn run(target: &'static str, scratch: &Path, data: Vec<u8>) -> Duration {
    let scratch = scratch.to_path_buf();
    harness::on_cli_stack(move || {
        let started = Instant::now();
        match target {
            "parse" => harness::parse(&data),
            "check_dir" => harness::check_dir(&data),
            "state_load" => harness::state_load(&scratch, &data),
            "render" => harness::render(&scratch, &data),
            other => panic!("no fuzz target {other}"),
        }
        started.elapsed()
    })
}

/// A scratch directory for `target` (see [`run`]).
fn scratch_for(target: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    if target == "render" {
        harness::render_setup(dir.path());
    }
    dir
}

/// Replays one saved input in a child process with capped memory and a
/// kill timer.
fn replay_in_child(target: &str, input: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let threads = std::thread::available_parallelism().map_or(8, |n| n.get() as u64);
    // Address space, not resident memory: leave room for the 256 MiB worker
    // stack and the 64 MiB stacks of the rayon pool (`build::init_threads`).
    let cap = MEMORY + (256 << 20) + (threads + 2) * (64 << 20);
    let log = tempfile::tempfile().expect("temp file");
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--exact", &child_test_name(), "--nocapture", "--test-threads=1"])
        .env(ENV_TARGET, target)
        .env(ENV_INPUT, input)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(log.try_clone().expect("temp file"));
    // SAFETY: setrlimit is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: cap, rlim_max: cap };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("start the test binary");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > KILL_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {KILL_AFTER:?}, killed"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    if !status.success() {
        use std::io::{Read, Seek};
        let mut log = log;
        let mut text = String::new();
        let _ = log.rewind().and_then(|()| log.read_to_string(&mut text));
        let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("failed ({status}) after {took:?}:\n    {}", tail.join("\n    ")));
    }
    if took > LIMIT {
        return Err(format!("took {took:?}"));
    }
    Ok(())
}

/// The name libtest knows [`child_entry`] by: its path below the crate root,
/// `fuzz_regressions::child_entry` (`module_path!()` starts with the crate,
/// `it`).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or(module_path!(), |(_crate, module)| module);
    format!("{module}::child_entry")
}

/// Not a test of its own: the entry point of [`replay_in_child`]'s child
/// processes. Without its environment variables it does nothing.
#[test]
fn child_entry() {
    let (Ok(target), Some(input)) = (std::env::var(ENV_TARGET), std::env::var_os(ENV_INPUT)) else { return };
    let target: &'static str = Box::leak(target.into_boxed_str());
    let data = std::fs::read(&input).expect("read input");
    let scratch = scratch_for(target);
    run(target, scratch.path(), data);
}

/// Replays the regression inputs (in child processes) and the seeds (in
/// process) of `target`, and fails listing every input that panicked, hung
/// or took too long.
fn replay(target: &'static str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let regressions = files_in(&root.join("tests/fuzz_regressions").join(target), "");
    let seeds = files_in(&root.join("fuzz/corpus").join(target), "seed-");
    assert!(!seeds.is_empty(), "no seeds in fuzz/corpus/{target}");
    let mut failures = Vec::new();
    for path in &regressions {
        if let Err(why) = replay_in_child(target, path) {
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    let scratch = scratch_for(target);
    for path in &seeds {
        let data = std::fs::read(path).expect("read input");
        let outcome = std::panic::catch_unwind(|| run(target, scratch.path(), data));
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
    replay("parse");
}

#[test]
fn check_dir() {
    replay("check_dir");
}

#[test]
fn state_load() {
    replay("state_load");
}

#[test]
fn render() {
    replay("render");
}
