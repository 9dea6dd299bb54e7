//! The fixture harness: runs the real `facs` binary on every definition
//! directory `tests/fixtures/<group>/<case>/` and snapshots what a user sees.
//!
//! A case directory holds `.facs` files (and `tmpl/`, `extra/`, files to
//! copy), optionally `state/` (copied in as the starting state, to fix
//! secrets), `args` (extra words for `facs build`) and `env` (`KEY=VALUE`
//! lines set for the run). The snapshot shows the
//! sources, the exit status, the human diagnostics, and every manifest and
//! rendered file with a `//// path` header. See tests/README.md.

use crate::common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn files_below(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn rel(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).expect("below root").to_string_lossy().replace('\\', "/")
}

/// Runs one case and returns the snapshot text.
fn run_case(case: &Path) -> String {
    let work = tempfile::tempdir().expect("tempdir");
    let project = work.path().join("project");
    common::copy_dir(case, &project);
    let _ = std::fs::remove_dir_all(project.join("state"));
    let _ = std::fs::remove_file(project.join("args"));
    let _ = std::fs::remove_file(project.join("env"));
    let state = work.path().join("state");
    if case.join("state").is_dir() {
        common::copy_dir(&case.join("state"), &state);
        // A checkout makes every file 0644, as the original facsimile wrote
        // state; facs would tighten it (W003). Only W003 cases keep that mode.
        if case.file_name().is_some_and(|n| n.to_string_lossy().starts_with("W003")) {
            // Whatever the checkout's umask: the legacy modes.
            for entry in walkdir::WalkDir::new(&state).min_depth(1) {
                let entry = entry.expect("walk state");
                let mode = if entry.file_type().is_dir() { 0o755 } else { 0o644 };
                std::fs::set_permissions(entry.path(), std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .expect("chmod");
            }
        } else {
            common::private_state(&state);
        }
    }
    let out = work.path().join("out");
    let args: Vec<String> = std::fs::read_to_string(case.join("args"))
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    // `env`: KEY=VALUE lines for the run (the size limits, say).
    let envs: Vec<(String, String)> = std::fs::read_to_string(case.join("env"))
        .map(|text| {
            text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().into(), v.trim().into())).collect()
        })
        .unwrap_or_default();
    let output = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(&project)
        .arg("build")
        .arg("--out")
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .args(&args)
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .expect("run facs");

    // Spec §11: `check` and `build` report the same set of errors (a build
    // that fails goes on like check and writes nothing).
    // (Cases with seeded state are skipped: `check` reads the default state dir.)
    if !output.status.success() && args.is_empty() && !case.join("state").is_dir() {
        let checked = Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(&project)
            .arg("check")
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("NO_COLOR", "1")
            .output()
            .expect("run facs check");
        assert_eq!(
            String::from_utf8_lossy(&checked.stderr),
            String::from_utf8_lossy(&output.stderr),
            "{}: `facs check` and `facs build` report different diagnostics",
            case.display()
        );
        assert_eq!(checked.status.code(), output.status.code(), "{}: exit status of check", case.display());
    }
    let mut snap = String::new();
    writeln!(snap, "----- SOURCE CODE").ok();
    for file in files_below(&project) {
        let name = rel(&file, &project);
        if name.ends_with(".facs") || name.starts_with("tmpl/") {
            if let Ok(text) = std::fs::read_to_string(&file) {
                writeln!(snap, "//// {name}\n{text}").ok();
            }
        }
    }
    writeln!(snap, "----- EXIT STATUS\n{}", output.status.code().unwrap_or(-1)).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    writeln!(snap, "----- DIAGNOSTICS\n{stderr}").ok();
    writeln!(snap, "----- OUTPUT").ok();
    for file in files_below(&out) {
        let name = rel(&file, &out);
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => writeln!(snap, "//// {name} ({mode:o})\n{text}").ok(),
            Err(_) => writeln!(snap, "//// {name} ({mode:o}, binary)").ok(),
        };
    }
    snap.replace(&work.path().to_string_lossy().to_string(), "<tmp>")
}

#[test]
fn fixtures() {
    let uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures")
        .flat_map(|group| std::fs::read_dir(group.expect("group").path()).expect("group dir"))
        .map(|case| case.expect("case").path())
        .filter(|case| case.join("main.facs").exists())
        .collect();
    cases.sort();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(uuid, "<uuid4>");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // Every case is checked even when an earlier one fails, as insta::glob! does,
    // but the snapshot is named after the case directory alone.
    let failed: Vec<String> = settings.bind(|| {
        cases
            .iter()
            .filter_map(|case| {
                let name = case.file_name().expect("case name").to_string_lossy().into_owned();
                let text = run_case(case);
                let result = std::panic::catch_unwind(|| insta::assert_snapshot!(name.clone(), text));
                result.is_err().then_some(name)
            })
            .collect()
    });
    assert!(failed.is_empty(), "snapshots differ for: {failed:?}");
}

/// Tidy check (rust-analyzer style): every diagnostic code has an error fixture
/// named after it, so no code ships without a test of what users see.
#[test]
fn every_code_has_a_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/errors");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/errors")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = facs::diagnostic::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| !names.iter().any(|n| n.starts_with(&format!("{code}_"))))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture in tests/fixtures/errors: {missing:?}");
}
