//! Nothing is read from outside the definition and source directories, and
//! nothing is written outside the release directory (spec §10, E018): symlinks
//! and special files are made here at run time rather than committed.

use std::path::Path;
use std::process::Command;

fn project(dir: &Path, install: &str) {
    std::fs::create_dir_all(dir.join("tmpl/_ALL_")).expect("mkdir");
    std::fs::write(
        dir.join("main.facs"),
        format!("project web {{}}\nmodule app {{}}\ninstance beta {{\n  install: [ {install} ]\n}}\n"),
    )
    .expect("main.facs");
    std::fs::write(dir.join("tmpl/_ALL_/ok.conf"), "name={{instance.name}}\n").expect("template");
}

/// Builds and returns (exit status, JSON diagnostics); asserts nothing was written.
fn refused(dir: &Path) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(dir)
        .args(["--message-format", "json", "build"])
        .output()
        .expect("run facs");
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!dir.join(".facsimile/out").exists(), "output written despite E018");
    assert!(!dir.join(".facsimile/state").exists(), "state written despite E018");
    String::from_utf8_lossy(&output.stderr).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn has_code(diagnostics: &[serde_json::Value], code: &str, line: u64) -> bool {
    diagnostics.iter().any(|d| d["code"] == code && d["line"] == line)
}

const TMPL: &str = r#"{ type: "tmpl", dir: "tmpl" }"#;

#[test]
fn symlink_in_tmpl_pointing_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    std::os::unix::fs::symlink("/etc/passwd", dir.join("tmpl/_ALL_/passwd")).expect("symlink");
    let d = refused(&dir);
    assert!(has_code(&d, "E018", 4), "{d:?}");
}

#[test]
fn symlinked_directory_pointing_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    std::fs::create_dir_all(tmp.path().join("secret")).expect("mkdir");
    std::fs::write(tmp.path().join("secret/key"), "k").expect("write");
    std::os::unix::fs::symlink(tmp.path().join("secret"), dir.join("tmpl/_ALL_/etc")).expect("symlink");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn symlink_loop_in_tmpl() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    std::os::unix::fs::symlink(dir.join("tmpl/_ALL_/loop"), dir.join("tmpl/_ALL_/loop")).expect("symlink");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn fifo_among_templates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    let fifo = std::ffi::CString::new(dir.join("tmpl/_ALL_/pipe").to_string_lossy().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn template_dir_climbing_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "tmpl", dir: "../outside" }"#);
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn copy_of_an_absolute_path_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "copy", files: ["/etc/hostname"] }"#);
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn copy_through_a_symlink_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "copy", files: ["files/link"] }"#);
    std::fs::create_dir_all(dir.join("files")).expect("mkdir");
    std::os::unix::fs::symlink("/etc/hostname", dir.join("files/link")).expect("symlink");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn copy_replace_climbing_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "copy", files: ["f/a.txt"], pattern: "^f/", replace: "a/../../../x/" }"#);
    std::fs::create_dir_all(dir.join("f")).expect("mkdir");
    std::fs::write(dir.join("f/a.txt"), "A").expect("write");
    assert!(has_code(&refused(&dir), "E018", 4));
}
