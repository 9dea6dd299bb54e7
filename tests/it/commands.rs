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
        .args(if matches!(args.first(), Some(&("manifest" | "explain" | "diff" | "list" | "eval"))) {
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
fn explain_marks_the_winning_step_and_where_state_keeps_a_value() {
    snapshot("explain_password_kept", &["explain", "canary", "module.web.password"]);
    snapshot("explain_db_url_json", &["explain", "prod", "db.url", "--format", "json"]);
}

#[test]
fn explain_points_at_the_unset_that_removed_a_value() {
    snapshot("explain_unset", &["explain", "canary", "region"]);
}

#[test]
fn eval_prints_json_and_redacts_secrets() {
    snapshot("eval_path", &["eval", "prod", "db"]);
    snapshot("eval_expression", &["eval", "prod", "[for n in targets.app.nodes: \"${n}.internal\"]"]);
    snapshot("eval_arithmetic", &["eval", "prod", "if db.port > 5000 then db.port + 1 else 0"]);
    snapshot("eval_secret", &["eval", "prod", "{ user: module.web.username, pw: module.web.password }"]);
    snapshot("eval_unknown", &["eval", "prod", "db.hots"]);
    snapshot("eval_syntax_error", &["eval", "prod", "db.port +"]);
}

#[test]
fn eval_reveals_only_when_asked() {
    let (code, stdout, _) = run(&["eval", "prod", "module.web.password", "--reveal-secrets"]);
    assert_eq!(code, 0);
    assert!(SECRETS.iter().any(|s| stdout.contains(s)), "the stored password, not a placeholder: {stdout}");
}

#[test]
fn lists_of_one_instance_and_as_json() {
    snapshot("list_targets_prod", &["list", "targets", "prod"]);
    snapshot("list_nodes_json", &["list", "nodes", "prod", "--format", "json"]);
    snapshot("list_instances_json", &["list", "instances", "--format", "json"]);
    snapshot("list_unknown_instance", &["list", "nodes", "prdo"]);
    snapshot("graph_json", &["graph", "--format", "json"]);
}

#[test]
fn diff_exit_code_says_whether_they_differ() {
    assert_eq!(run(&["diff", "prod", "staging", "--exit-code"]).0, 1);
    assert_eq!(run(&["diff", "prod", "canary", "--exit-code"]).0, 1);
    assert_eq!(run(&["diff", "prod", "prod", "--exit-code"]).0, 0);
    // Without the flag a difference is not a failure.
    assert_eq!(run(&["diff", "prod", "staging"]).0, 0);
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
        // The script asks `facs` itself for candidates (tested in a real
        // bash by `everyday::bash_completes_names_from_the_project`).
        assert!(stdout.contains("FACS_COMPLETE=") && stdout.contains("facs"), "{shell} script:\n{stdout}");
    }
    let (code, stdout, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with(".ie") || stdout.contains(".TH"), "not roff");
    assert!(stdout.contains("explain"));
}

/// `explain` names the generator and element an instance came from, every
/// operand a computed value read, and the constraint the value must meet.
#[test]
fn explain_a_generated_instance_and_its_constraint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("main.facs"),
        "project p { devs: [\"alice\", \"bob\"] }\n\
         schema Instance { web_port: int(1024..65535) unique  base_port: int = 8000 }\n\
         for who, i in project.devs {\n  instance \"dev-${who}\" { web_port: base_port + 1 + i }\n}\n",
    )
    .expect("write");
    let (code, text, stderr) = common::facs_run(tmp.path(), &["explain", "dev-bob", "instance.web_port"]);
    assert_eq!(code, Some(0), "{text}{stderr}");
    for expected in [
        "dev-bob is generated by `for who, i in project.devs` (main.facs:3), who = \"bob\", i = 1",
        "instance.web_port = 8002",
        "base_port = 8000",
        "must meet `1024..65535`, unique across instances  (main.facs:2)",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
}

/// `secret(external)` (spec §7): never generated; E009 names the command
/// until `facs secret set` supplies it, then the build uses it (redacted).
#[test]
fn an_external_secret_is_supplied_by_secret_set() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("main.facs"),
        "project p {}\nschema Instance { api_key: secret(external)  header?: string }\ninstance prod { header: \"Bearer ${api_key}\" }\n",
    )
    .expect("write");
    let facs = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(tmp.path())
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run facs");
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            input.write_all(text.as_bytes()).expect("stdin");
        }
        let out = child.wait_with_output().expect("wait");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = facs(&["build"], None);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("error[E009]: the external secret `instance.api_key` is not set"), "{stderr}");
    assert!(stderr.contains("facs secret set prod instance.api_key"), "{stderr}");
    let (code, _, stderr) = facs(&["secret", "set", "prod", "api_key"], Some("vendor-key-123"));
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = facs(&["build"], None);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, stdout, _) = facs(&["manifest", "prod"], None);
    assert!(stdout.contains("\"header\": \"********\"") && !stdout.contains("vendor-key-123"), "{stdout}");
    let (_, stdout, _) = facs(&["manifest", "prod", "--reveal-secrets"], None);
    assert!(stdout.contains("\"header\": \"Bearer vendor-key-123\""), "{stdout}");
}
