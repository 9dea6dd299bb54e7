//! Snapshots of the read-only commands (`explain`, `diff`, `list`, `graph`,
//! `manifest`, `completions`, `man`) on `tests/commands/project`, whose
//! state is seeded so every value is fixed. None of them may print a secret
//! unless asked to.

use crate::common;

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("project");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/commands/project");
    common::copy_dir(&src, &project);
    common::private_state(&project.join("state"));
    let output = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(&project)
        .args(args)
        .args(if matches!(args.first(), Some(&("manifest" | "explain" | "diff" | "list"))) {
            vec!["--state".to_string(), project.join("state").to_string_lossy().into_owned()]
        } else {
            vec![]
        })
        .env("NO_COLOR", "1")
        .output()
        .expect("run facs");
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&tmp.path().to_string_lossy().to_string(), "<tmp>");
    (output.status.code().unwrap_or(-1), clean(&output.stdout), clean(&output.stderr))
}

const SECRETS: &[&str] =
    &["11111111-1111", "22222222-2222", "33333333-3333", "44444444-4444", "55555555-5555", "66666666-6666"];

fn snapshot(name: &str, args: &[&str]) {
    // Explain and the others read the state from its default place.
    let (code, stdout, stderr) = run(args);
    for secret in SECRETS {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "`facs {}` printed a secret", args.join(" "));
    }
    insta::assert_snapshot!(
        name,
        format!("$ facs {}\nexit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}", args.join(" "))
    );
}

#[test]
fn explain_a_late_bound_value() {
    snapshot("explain_db_url", &["explain", "prod", "db.url"]);
}

#[test]
fn explain_an_overlay_value_and_a_module_field() {
    snapshot("explain_canary_host", &["explain", "canary", "instance.db.host"]);
    snapshot("explain_module_field", &["explain", "prod", "module.web.workers"]);
}

#[test]
fn explain_a_missing_path() {
    snapshot("explain_missing", &["explain", "prod", "db.hots"]);
}

#[test]
fn diff_two_instances() {
    snapshot("diff_prod_staging", &["diff", "prod", "staging"]);
    snapshot("diff_prod_staging_json", &["diff", "prod", "staging", "--format", "json"]);
}

#[test]
fn lists() {
    snapshot("list_instances", &["list", "instances"]);
    snapshot("list_modules", &["list", "modules"]);
    snapshot("list_targets", &["list", "targets"]);
    snapshot("list_nodes", &["list", "nodes"]);
}

#[test]
fn graphs() {
    snapshot("graph_dot", &["graph"]);
    snapshot("graph_mermaid", &["graph", "--format", "mermaid"]);
}

#[test]
fn manifest_is_redacted_unless_asked() {
    snapshot("manifest_redacted", &["manifest", "prod"]);
    let (code, stdout, _) = run(&["manifest", "prod", "--reveal-secrets"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("11111111-1111-4111-8111-111111111111"));
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, _) = run(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(stdout.contains("explain") && stdout.contains("build"), "{shell} completion lacks commands");
    }
    let (code, stdout, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with(".ie") || stdout.contains(".TH"), "not roff");
    assert!(stdout.contains("explain"));
}
