//! Helpers shared by the integration tests. (A `mod.rs` under `tests/` is
//! cargo's way to share code without making it a test target of its own.)

use std::path::Path;

/// Copies a directory tree (files and directories; the tests' fixtures hold
/// no symlinks).
#[allow(dead_code)] // not every test target uses every helper
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

/// Runs the built `facs` on a definition directory, with extra environment
/// variables, and returns its output (colours off).
#[allow(dead_code)] // not every test target uses every helper
pub fn facs_env(project: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_facs"));
    cmd.arg("-p").arg(project).args(args).env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run facs")
}

/// Stdout then stderr, as one text for assertions and messages.
#[allow(dead_code)]
pub fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
