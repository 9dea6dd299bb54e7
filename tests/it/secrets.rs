//! No generated secret ever leaves facs except where it belongs (state,
//! manifests, files that use it, a postcmd's stdin): every command is run with
//! `-v`, in both message formats, and its stdout and stderr are searched for
//! every secret in state; the child processes of a deploy are traced and their
//! argv and environment searched too. `--reveal-secrets` is the control that
//! shows the search can find one.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn facs(project: &Path, args: &[&str]) -> Output {
    common::facs_env(project, args, &[])
}

fn project(work: &Path) -> PathBuf {
    let project = work.join("project");
    common::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/deploy/project"), &project);
    project
}

/// Every string value of every state file.
fn secrets(project: &Path) -> Vec<String> {
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.len() >= 8 => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(project.join(".facsimile/state")) {
        let entry = entry.expect("walk");
        if entry.file_name() == "state.json" {
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(entry.path()).expect("read")).expect("json");
            for section in ["passwd", "secrets"] {
                strings(&json[section], &mut out);
            }
        }
    }
    out
}

fn leaks<'a>(text: &str, secrets: &'a [String]) -> Vec<&'a str> {
    secrets.iter().filter(|s| text.contains(s.as_str())).map(String::as_str).collect()
}

#[test]
fn no_command_prints_a_secret() {
    let work = tempfile::tempdir().expect("tempdir");
    let project = project(work.path());
    let built = facs(&project, &["build"]);
    assert_eq!(built.status.code(), Some(0), "{}", String::from_utf8_lossy(&built.stderr));
    let secrets = secrets(&project);
    assert_eq!(secrets.len(), 3, "one password per state owner: {secrets:?}");

    // A definition that misuses a secret: its diagnostics must not show it either.
    let broken = work.path().join("broken");
    common::copy_dir(&project, &broken);
    let main = broken.join("main.facs");
    let text = std::fs::read_to_string(&main).expect("read");
    std::fs::write(
        &main,
        format!(
            "{text}\ninstance leaky inherits local {{\n  home: \"/srv/${{module.web.password}}\"\n  port: module.web.password\n}}\n\
             instance unresolved inherits local {{\n  n: \"${{module.web.password}}${{nope}}\"\n}}\n"
        ),
    )
    .expect("write");

    let commands: Vec<(&Path, Vec<&str>)> = vec![
        (&project, vec!["check"]),
        (&project, vec!["build"]),
        (&project, vec!["build", "local"]),
        (&project, vec!["manifest", "local"]),
        (&project, vec!["explain", "local", "module.web.password"]),
        (&project, vec!["explain", "remote", "instance.deploy.postcmd"]),
        (&project, vec!["diff", "local", "remote"]),
        (&project, vec!["diff", "local", "remote", "--format", "json"]),
        (&project, vec!["list", "instances"]),
        (&project, vec!["list", "modules"]),
        (&project, vec!["list", "targets"]),
        (&project, vec!["list", "nodes"]),
        (&project, vec!["graph"]),
        (&project, vec!["graph", "--format", "mermaid"]),
        (&project, vec!["fmt", "--check"]),
        (&project, vec!["deploy", "local"]),
        (&project, vec!["deploy", "local", "--no-build"]),
        (&project, vec!["deploy", "local", "--dry-run"]),
        (&project, vec!["deploy", "remote", "--dry-run"]),
        (&project, vec!["run", "local"]),
        (&project, vec!["run", "local", "--only", "build"]),
        (&broken, vec!["check"]),
        (&broken, vec!["build"]),
        (&broken, vec!["deploy", "leaky", "--dry-run"]),
    ];
    let mut ran = 0;
    for (dir, args) in &commands {
        for format in ["human", "json"] {
            let mut full = vec!["-v", "--message-format", format];
            full.extend(args.iter().copied());
            let out = facs(dir, &full);
            assert!(out.status.code().is_some_and(|c| c <= 2), "{full:?} crashed");
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(leaks(&text, &secrets).is_empty(), "`facs {}` printed a secret:\n{text}", full.join(" "));
            ran += 1;
        }
    }
    assert_eq!(ran, commands.len() * 2);
    // The broken definition was really diagnosed (the scan saw diagnostics).
    let out = facs(&broken, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in ["error[E023]: `home` is computed from a secret", "error[E010]"] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }

    // The control: asked to, facs does print the secret, so the scan can see one.
    let out = facs(&project, &["manifest", "local", "--reveal-secrets"]);
    assert!(!leaks(&String::from_utf8_lossy(&out.stdout), &secrets).is_empty());
    let out = facs(&project, &["deploy", "local", "--dry-run", "--reveal-secrets"]);
    assert!(!leaks(&String::from_utf8_lossy(&out.stdout), &secrets).is_empty());
}

#[test]
fn no_child_process_gets_a_secret_in_its_argv_or_environment() {
    if !common::have_tools("no_child_process_gets_a_secret_in_its_argv_or_environment", &["strace", "rsync"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let project = project(work.path());
    assert_eq!(facs(&project, &["build"]).status.code(), Some(0));
    let secrets = secrets(&project);
    let log = work.path().join("exec.log");
    // -f: every descendant; -v: whole argv and environment; -s: no truncation.
    let out = Command::new("strace")
        .args(["-f", "-qq", "-v", "-s", "65536", "-e", "trace=execve", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(&project)
        .args(["-v", "deploy", "local"])
        .output()
        .expect("strace (install strace)");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = std::fs::read_to_string(&log).expect("trace");
    // The trace saw the children (so its silence means something)...
    for child in ["rsync", "mkdir", "\"sh\", \"-s\""] {
        assert!(trace.contains(child), "{child} not traced:\n{trace}");
    }
    // ... and the postcmd that uses the secret did run with it (on stdin).
    let password = std::fs::read_to_string(project.join("deployed/secret.out")).expect("secret.out");
    assert!(secrets.contains(&password.trim().to_string()));
    assert!(leaks(&trace, &secrets).is_empty(), "a child saw a secret in argv or environment:\n{trace}");
}

/// Secrets come from the OS generator (uuid v4 over getrandom): many owners
/// built at once never share one.
#[test]
fn generated_secrets_are_unique() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("many");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut text = String::from("project p {}\nmodule a {}\nmodule b {}\nmodule c {}\n");
    for i in 0..300 {
        text.push_str(&format!("instance i{i} {{ }}\n"));
    }
    std::fs::write(dir.join("main.facs"), text).expect("write");
    assert_eq!(facs(&dir, &["build"]).status.code(), Some(0));
    let all = secrets(&dir);
    assert_eq!(all.len(), 900);
    let unique: std::collections::HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a secret was generated twice");
    let v4 = regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$").expect("re");
    assert!(all.iter().all(|s| v4.is_match(s)), "not random (v4) UUIDs");
}

/// Spec §10: diagnostics and tables are redacted by provenance, like
/// manifests. Each scenario once printed the secret: an enum error quoting
/// it, a Handlebars reason quoting it (`log level=`), a path or a user built
/// from it, a daemon taken from it in `list modules`, and `explain` showing
/// the source line that sets it.
#[test]
fn diagnostics_and_tables_never_quote_a_secret() {
    let work = tempfile::tempdir().expect("tempdir");
    let broken = work.path().join("broken");
    let dir = broken.as_path();
    std::fs::create_dir_all(dir.join("tmpl/_ALL_")).expect("mkdir");
    let secret = "hunter2-very-secret";
    std::fs::write(
        dir.join("main.facs"),
        format!(
            "project web {{ version: \"1.0\" }}\n\
             schema Instance {{ token: secret  mode: \"ro\" | \"rw\" = \"ro\"  port: int = 1 }}\n\
             module db {{ daemon: \"pg-${{instance.token}}\" }}\n\
             instance beta {{\n  token: \"{secret}\"\n  install: [ {{ type: \"tmpl\", dir: \"tmpl\" }} ]\n}}\n\
             instance enum inherits beta {{ mode: token }}\n\
             instance paths inherits beta {{\n  install: [ {{ type: \"tmpl\", dir: \"t-${{token}}\" }}, {{ type: \"copy\", files: [\"${{token}}/x\"] }} ]\n}}\n\
             instance user inherits beta {{\n  install: []\n  target web {{ nodes: [\"n-${{token}}\"], user: \"-${{token}}\", port: 0 }}\n}}\n\
             instance number inherits beta {{ token: \"123\"  port: token  install: [] }}\n"
        ),
    )
    .expect("write");
    std::fs::write(dir.join("tmpl/_ALL_/a.txt"), "{{log \"x\" level=instance.token}}").expect("write");

    // Tables and `explain` run on a definition without errors.
    let clean = work.path().join("clean");
    std::fs::create_dir_all(&clean).expect("mkdir");
    let text = std::fs::read_to_string(dir.join("main.facs")).expect("read");
    let beta_only: String = text.lines().take(7).map(|l| format!("{l}\n")).collect();
    std::fs::write(
        clean.join("main.facs"),
        beta_only.replace("  install: [ { type: \"tmpl\", dir: \"tmpl\" } ]\n", ""),
    )
    .expect("write");
    let runs: Vec<(&Path, Vec<&str>)> = vec![
        (dir, vec!["check"]),
        (dir, vec!["build"]),
        (&clean, vec!["list", "modules"]),
        (&clean, vec!["explain", "beta", "instance.token"]),
        (&clean, vec!["explain", "beta", "module.db.username"]),
        (&clean, vec!["explain", "beta", "module.db.daemon"]),
        (&clean, vec!["manifest", "beta"]),
    ];
    let outputs: Vec<(Vec<&str>, Output)> = runs
        .into_iter()
        .flat_map(|(dir, args)| {
            ["human", "json"].map(|format| {
                let mut full = vec!["--message-format", format];
                full.extend(args.iter().copied());
                let out = facs(dir, &full);
                (full, out)
            })
        })
        .collect();
    let mut all = String::new();
    for (args, out) in &outputs {
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?} crashed:\n{text}");
        for needle in [secret, "hunter2", "`123`"] {
            assert!(!text.contains(needle), "`facs {}` printed {needle}:\n{text}", args.join(" "));
        }
        all.push_str(&text);
    }
    // Each scenario was really reached and diagnosed.
    for expected in [
        "found a value computed from a secret",
        "a helper refused a value computed from a secret",
        "install group 0: `dir` is computed from a secret",
        "install group 1: `files` is computed from a secret",
        "`targets.web.user` is computed from a secret",
        "`targets.web.nodes` is computed from a secret",
        "expected int, found string",
        "db    ********",
        "token: \"********\"",
        "daemon: \"********${instance.token}\"",
    ] {
        assert!(all.contains(expected), "expected {expected:?} in:\n{all}");
    }
}
