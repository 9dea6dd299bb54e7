//! Everyday use (issue 16, spec §12): `init`, `watch`, `explain-code`,
//! `fmt --diff` and `fmt -`, `-q`, `--deny-warnings`, pruned outputs, the
//! W004 git check, completions in a real bash, and build progress on a real
//! terminal (`script` gives the build a pty).

use crate::common;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn facs() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facs"));
    cmd.env("NO_COLOR", "1");
    cmd
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// `facs init` writes a project that builds, with a `.gitignore` that keeps
/// its state out of git; the first build of it is quiet about git (no W004)
/// even inside a work tree; and it never overwrites.
#[test]
fn init_writes_a_project_that_builds_and_ignores_its_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("my shop");
    let out = facs().arg("init").arg(&dir).output().expect("run");
    assert!(out.status.success(), "{}", common::text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("created project `my_shop`") && said.contains(".gitignore"), "{said}");
    assert_eq!(std::fs::read_to_string(dir.join(".gitignore")).expect("gitignore").lines().last(), Some(".facsimile/"));
    let git = common::have_tools("init_writes_a_project_that_builds_and_ignores_its_state", &["git"]);
    if git {
        assert!(Command::new("git").args(["init", "-q"]).arg(&dir).status().expect("git").success());
    }
    // Discovered from inside the directory, like cargo.
    let built = facs().current_dir(&dir).arg("build").output().expect("run");
    let text = common::text(&built);
    assert!(built.status.success(), "{text}");
    assert!(!text.contains("W004"), "{text}");
    assert!(text.contains("built 2 instances"), "{text}");
    let conf =
        std::fs::read_to_string(dir.join(".facsimile/out/production/my_shop/_DEPLOY_/etc/app.conf")).expect("tree");
    assert!(conf.contains("port = 8000") && conf.contains("user = app"), "{conf}");
    // Nothing is overwritten: a second init refuses and leaves the files.
    std::fs::write(dir.join("instances.facs"), "// mine\n").expect("write");
    let again = facs().arg("init").arg(&dir).output().expect("run");
    assert_eq!(again.status.code(), Some(1));
    assert!(common::text(&again).contains("already exists"), "{}", common::text(&again));
    assert_eq!(std::fs::read_to_string(dir.join("instances.facs")).expect("read"), "// mine\n");
}

/// W004: state in a git work tree that nothing ignores is a warning on
/// every build, an error (and nothing written) with `--deny-warnings`, and
/// gone once `.gitignore` covers it.
#[test]
fn state_in_an_unignored_git_work_tree_warns() {
    if !common::have_tools("state_in_an_unignored_git_work_tree_warns", &["git"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    assert!(Command::new("git").args(["init", "-q"]).arg(dir).status().expect("git").success());
    write(&dir.join("main.facs"), "project p {}\nmodule web {}\ninstance prod {}\n");
    let (code, _, stderr) = common::facs_run(dir, &["build"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("warning[W004]") && stderr.contains("not ignored"), "{stderr}");
    // Refused before anything is written: the manifest stays as it was.
    let manifest = dir.join(".facsimile/out/prod.json");
    std::fs::remove_file(&manifest).expect("rm");
    let (code, _, stderr) = common::facs_run(dir, &["--deny-warnings", "build"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("error[W004]") && stderr.contains("--deny-warnings"), "{stderr}");
    assert!(!manifest.exists(), "a denied warning must write nothing");
    write(&dir.join(".gitignore"), ".facsimile/\n");
    let (code, _, stderr) = common::facs_run(dir, &["--deny-warnings", "build"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("W004"), "{stderr}");
}

/// `-q` prints errors only; `--deny-warnings` makes a W001 fail the build.
#[test]
fn quiet_and_deny_warnings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write(&dir.join("main.facs"), "project p {}\ninstance prod { timeout: 1  timeuot: 2 }\n");
    let (code, _, stderr) = common::facs_run(dir, &["build"]);
    assert_eq!(code, Some(0));
    assert!(stderr.contains("warning[W001]") && stderr.contains("note: built 1 instance"), "{stderr}");
    let (code, stdout, stderr) = common::facs_run(dir, &["-q", "build"]);
    assert_eq!(code, Some(0));
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""), "-q prints nothing without errors");
    std::fs::remove_dir_all(dir.join(".facsimile")).expect("rm");
    let (code, _, stderr) = common::facs_run(dir, &["-q", "--deny-warnings", "build"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("error[W001]"), "{stderr}");
    assert!(!stderr.contains("note:"), "-q hides notes: {stderr}");
    assert!(!dir.join(".facsimile/out/prod.json").exists() && !dir.join(".facsimile/state/prod").exists());
    let (code, _, _) = common::facs_run(dir, &["--deny-warnings", "check"]);
    assert_eq!(code, Some(1));
}

/// `explain-code` prints the error index's section; every diagnostic run
/// points at it; an unknown code suggests the closest.
#[test]
fn explain_code_prints_the_long_text() {
    let out = facs().args(["explain-code", "e011"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with("## E011: reference cycle") && text.contains("```facs"), "{text}");
    assert!(!text.contains("## E012"), "one section only");
    let all = facs().arg("explain-code").output().expect("run");
    let all = String::from_utf8_lossy(&all.stdout);
    assert!(all.contains("E000") && all.contains("W004"), "{all}");
    let bad = facs().args(["explain-code", "E10"]).output().expect("run");
    assert_eq!(bad.status.code(), Some(1));
    assert!(common::text(&bad).contains("did you mean `E010`?"), "{}", common::text(&bad));
    let tmp = tempfile::tempdir().expect("tempdir");
    write(&tmp.path().join("main.facs"), "project p {}\ninstance a { x: y }\n");
    let (_, _, stderr) = common::facs_run(tmp.path(), &["check"]);
    assert!(stderr.contains("`facs explain-code E010`"), "{stderr}");
}

/// `fmt` names what it rewrites, `--diff` prints a unified diff and writes
/// nothing, `fmt -` formats stdin to stdout.
#[test]
fn fmt_names_files_diffs_and_reads_stdin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let messy = "project p {}\ninstance   a {x:1}\n";
    write(&dir.join("main.facs"), messy);
    write(&dir.join("tidy.facs"), "instance b {\n  x: 2\n}\n");
    let (code, stdout, _) = common::facs_run(dir, &["fmt", "--diff"]);
    assert_eq!(code, Some(1));
    assert!(stdout.starts_with("--- main.facs\n+++ main.facs (formatted)\n@@"), "{stdout}");
    assert!(stdout.contains("-instance   a {x:1}\n+\n+instance a {\n+  x: 1\n+}\n"), "{stdout}");
    assert!(!stdout.contains("tidy.facs"), "{stdout}");
    assert_eq!(std::fs::read_to_string(dir.join("main.facs")).expect("read"), messy, "--diff writes nothing");
    let (code, _, stderr) = common::facs_run(dir, &["fmt"]);
    assert_eq!(code, Some(0));
    assert_eq!(stderr, "formatted main.facs\n");
    assert_eq!(common::facs_run(dir, &["fmt", "--diff"]).0, Some(0));

    let mut child = facs().args(["fmt", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().expect("stdin").write_all(b"instance c {y:[1,2]}\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "instance c {\n  y: [1, 2]\n}\n");
    let mut child = facs()
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(b"instance c {y: }\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>:1:"), "{}", common::text(&out));
    assert!(out.stdout.is_empty(), "nothing on stdout for a file that does not parse");
}

/// Removing an instance removes its manifest and tree on the next build,
/// with a note; files facs did not write stay.
#[test]
fn outputs_of_removed_instances_are_pruned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write(&dir.join("tmpl/_ALL_/a.txt"), "{{instance.name}}\n");
    let both = "project p {}\nmodule web {}\nabstract instance base { install: [{ type: \"tmpl\", dir: \"tmpl\" }] }\n\
                instance a inherits base {}\ninstance old inherits base {}\n";
    write(&dir.join("main.facs"), both);
    assert_eq!(common::facs_run(dir, &["build"]).0, Some(0));
    let out = dir.join(".facsimile/out");
    assert!(out.join("old.json").is_file() && out.join("old/p/a.txt").is_file());
    write(&out.join("notes.json"), "{\"mine\": true}\n");
    write(&dir.join("main.facs"), &both.replace("instance old inherits base {}\n", ""));
    let (code, _, stderr) = common::facs_run(dir, &["build"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("removed the manifests and trees of `old`"), "{stderr}");
    assert!(!out.join("old.json").exists() && !out.join("old").exists());
    assert!(out.join("a.json").is_file() && out.join("notes.json").is_file(), "others stay");
    // Its state is kept: it may be a rename to undo.
    assert!(dir.join(".facsimile/state/old").is_dir());
}

/// `watch` runs once, then once per burst of changes, and names the change.
#[test]
fn watch_reruns_on_each_burst_of_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    write(&dir.join("main.facs"), "project p {}\ninstance a { x: 1 }\n");
    let mut child = facs()
        .arg("-p")
        .arg(&dir)
        .args(["watch", "build"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let wait_for = |needle: &str, seen: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return true;
                }
            }
        }
        false
    };
    let ok1 = wait_for("[watch] run 1 succeeded", &mut seen);
    // A burst: three writes in a row are one run.
    for text in ["instance a { x: 2 }\n", "instance a { x: 3 }\n", "project p {}\ninstance a { x: y }\n"] {
        std::fs::write(dir.join("main.facs"), text).expect("write");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ok2 = wait_for("[watch] run 2 failed", &mut seen);
    std::fs::write(dir.join("main.facs"), "project p {}\ninstance a { x: 4 }\n").expect("write");
    let ok3 = wait_for("[watch] run 3 succeeded", &mut seen);
    let _ = child.kill();
    let _ = child.wait();
    let log = seen.join("\n");
    assert!(ok1 && ok2 && ok3, "{log}");
    assert!(log.contains("[watch] run 2: facs build (main.facs changed)"), "{log}");
    assert!(log.contains("error[E010]"), "run 2's diagnostics are printed: {log}");
    assert!(!log.contains("run 4"), "one run per burst, and none for its own writes: {log}");
    let manifest = std::fs::read_to_string(dir.join(".facsimile/out/a.json")).expect("manifest");
    assert!(manifest.contains("\"x\": 4"), "{manifest}");
}

/// The completion script, sourced by a real bash, completes the project's
/// instance and target names and `module.NAME.` paths.
#[test]
fn bash_completes_names_from_the_project() {
    if !common::have_tools("bash_completes_names_from_the_project", &["bash"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write(
        &dir.join("main.facs"),
        "project p {}\nmodule api {}\nabstract instance base {}\ninstance dev inherits base {}\n\
         instance prod inherits base { targets { web { nodes: [\"w1\"] } } }\noverlay prod-eu on prod {}\n",
    );
    let script = facs().args(["completions", "bash"]).output().expect("run");
    let script_path = dir.join("facs.bash");
    std::fs::write(&script_path, &script.stdout).expect("write");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_facs")).parent().expect("bin dir").to_path_buf();
    let complete = |words: &[&str]| -> Vec<String> {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; \
             COMP_POINT=${{#COMP_LINE}}; _clap_complete_facs facs \"${{COMP_WORDS[COMP_CWORD]}}\" \
             \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script_path.display(),
            quoted.join(" "),
            words.len() - 1
        );
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        let out =
            Command::new("bash").arg("-c").arg(program).current_dir(dir).env("PATH", path).output().expect("bash");
        // Options are offered too; the names are what this test is about.
        let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('-'))
            .map(str::to_string)
            .collect();
        got.sort();
        got
    };
    assert_eq!(complete(&["facs", "build", ""]), ["dev", "prod", "prod-eu"], "abstract `base` is not offered");
    assert_eq!(complete(&["facs", "deploy", "pr"]), ["prod", "prod-eu"]);
    assert_eq!(complete(&["facs", "deploy", "prod", "--target", ""]), ["web"]);
    assert_eq!(complete(&["facs", "explain", "dev", "module.a"]), ["module.api."]);
    assert!(complete(&["facs", "exp"]).contains(&"explain".to_string()));
}

/// A long build on a terminal shows a spinner naming its stages, and clears
/// it; the same build into a pipe prints no escape codes.
#[test]
fn long_builds_show_progress_on_a_terminal_only() {
    if !common::have_tools("long_builds_show_progress_on_a_terminal_only", &["script"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut text = String::from("project p {}\n");
    for i in 0..80 {
        text.push_str(&format!("instance i{i} {{ x: {i} }}\n"));
    }
    write(&dir.join("main.facs"), &text);
    let command = format!("{} -p {} build", env!("CARGO_BIN_EXE_facs"), dir.display());
    let out =
        Command::new("script").args(["-qec", &command, "/dev/null"]).env("NO_COLOR", "1").output().expect("script");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("compiling 80 instances"), "{shown}");
    assert!(shown.contains("built 80 instances"), "{shown}");
    std::fs::remove_dir_all(dir.join(".facsimile")).expect("rm");
    let (code, _, stderr) = common::facs_run(dir, &["build"]);
    assert_eq!(code, Some(0));
    assert!(!stderr.contains('\u{1b}') && !stderr.contains("compiling 80"), "{stderr}");
}
