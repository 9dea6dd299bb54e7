//! Helpers shared by the integration tests' modules.

use std::path::Path;

/// Copies a directory tree (files and directories; the tests' fixtures hold
/// no symlinks).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Makes a state directory copied from the repository private (0700
/// directories, 0600 files), as facs leaves it: a checkout makes files 0644,
/// which facs would tighten with a W003 warning.
pub fn private_state(state: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(state) {
        let entry = entry.expect("walk state");
        let mode = if entry.file_type().is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// Runs the built `facs` on a definition directory, with extra environment
/// variables, and returns its output (colours off).
pub fn facs_env(project: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_facs"));
    cmd.arg("-p").arg(project).args(args).env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run facs")
}

/// Runs the built `facs` on a definition directory: its exit status,
/// stdout and stderr (colours off).
pub fn facs_run(project: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = facs_env(project, args, &[]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Stdout then stderr, as one text for assertions and messages.
pub fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Whether the external tools a test needs are on this machine. When one is
/// missing the test prints `skipped: <why>` and should return early: the
/// README's test command must pass on a machine with only the Rust
/// toolchain. Under `FACS_TEST_REQUIRE_ALL=1` (set by .ci/run, which installs
/// every tool) a missing tool fails the test instead, so CI cannot go green
/// by skipping.
pub fn have_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !tool_exists(t)).collect();
    if missing.is_empty() {
        return true;
    }
    may_skip(test, &format!("needs {} (not found on PATH)", missing.join(", ")))
}

/// Skips `test` for `why`: prints `skipped: <test>: <why>` and returns
/// false, or panics under `FACS_TEST_REQUIRE_ALL=1`.
pub fn may_skip(test: &str, why: &str) -> bool {
    let why = format!("{test}: {why}");
    if std::env::var_os("FACS_TEST_REQUIRE_ALL").is_some_and(|v| v == "1") {
        panic!("{why}; FACS_TEST_REQUIRE_ALL=1 forbids skipping");
    }
    println!("skipped: {why}");
    eprintln!("skipped: {why}");
    false
}

/// A tool is found like the shell finds it, plus sshd's usual sbin homes.
fn tool_exists(tool: &str) -> bool {
    if tool == "sshd" {
        return sshd_path().is_some();
    }
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Where sshd is, if installed (it is often outside a user's PATH).
pub fn sshd_path() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("sshd"))
        .chain(["/usr/sbin/sshd", "/usr/bin/sshd", "/usr/local/sbin/sshd"].map(std::path::PathBuf::from))
        .find(|p| p.is_file())
}

/// Runs git in `dir` with a fixed author (tests make real repositories).
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git (install git)");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
