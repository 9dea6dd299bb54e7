//! State persistence through the real binary (spec §9): concurrent builds
//! (of one instance, of an instance and its overlay, of different
//! definitions) agree on every generated value and lose none, legacy state
//! files are reused unchanged, and state that cannot be read (empty, zeros,
//! truncated, huge) is refused with recovery steps rather than regenerated.
//! Crashes, full disks and permissions are in `crash_safety.rs`.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

const PROJECT: &str = r#"
project demo { version: "1.0.0" }
schema Instance { api_key: secret }
module web { daemon: "www" service { logical_name: "web", n_instances: 2 } }
module api { service { logical_name: "api" } }
module db {}
instance prod { home: "/srv/prod" }
overlay prod2 on prod { home: "/srv/prod2" }
"#;

fn project(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("main.facs"), PROJECT).expect("write main.facs");
}

fn build(dir: &Path, out: &str, state: &Path) -> std::process::Child {
    build_named(dir, out, state, &[])
}

/// `facs build [names]` (every instance when `names` is empty).
fn build_named(dir: &Path, out: &str, state: &Path, names: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(dir)
        .args(["build", "--out"])
        .arg(dir.join(out))
        .arg("--state")
        .arg(state)
        .args(names)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn facs")
}

fn saved_state(state: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(state.join("prod/state.json")).expect("state")).expect("json")
}

fn finished(child: std::process::Child) -> Output {
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "build failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn manifest(dir: &Path, out: &str, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(out).join(format!("{name}.json"))).expect("manifest");
    serde_json::from_str(&text).expect("json")
}

fn concurrent_builds_agree(n_builds: usize) {
    for round in 0..5 {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("p");
        project(&dir);
        let state = tmp.path().join("state");
        let children: Vec<_> = (0..n_builds).map(|i| build(&dir, &format!("out{i}"), &state)).collect();
        for child in children {
            finished(child);
        }
        let first = manifest(&dir, "out0", "prod");
        for i in 1..n_builds {
            assert_eq!(manifest(&dir, &format!("out{i}"), "prod"), first, "round {round}: build {i} differs");
            assert_eq!(manifest(&dir, &format!("out{i}"), "prod2")["module"], first["module"]);
        }
        // What every build printed is what state holds, and a later build reproduces it.
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(state.join("prod/state.json")).expect("state"))
                .expect("json");
        assert_eq!(saved["passwd"]["www"], first["module"]["web"]["password"]);
        assert_eq!(saved["secrets"]["instance.api_key"], first["instance"]["api_key"]);
        finished(build(&dir, "again", &state));
        assert_eq!(manifest(&dir, "again", "prod"), first);
        // The overlay wrote no state of its own.
        assert!(!state.join("prod2").exists());
    }
}

#[test]
fn two_concurrent_builds_agree_on_every_secret() {
    concurrent_builds_agree(2);
}

#[test]
fn eight_concurrent_builds_agree_on_every_secret() {
    concurrent_builds_agree(8);
}

/// An instance and its overlay share their owner's state: built at the same
/// time (each build naming only one of them), they still agree.
#[test]
fn concurrent_builds_of_an_instance_and_its_overlay_agree() {
    for round in 0..3 {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("p");
        project(&dir);
        let state = tmp.path().join("state");
        let names = ["prod", "prod2"];
        let children: Vec<_> = (0..8).map(|i| build_named(&dir, &format!("out{i}"), &state, &[names[i % 2]])).collect();
        for child in children {
            finished(child);
        }
        let saved = saved_state(&state);
        for i in 0..8 {
            let m = manifest(&dir, &format!("out{i}"), names[i % 2]);
            assert_eq!(m["module"]["web"]["password"], saved["passwd"]["www"], "round {round}: build {i}");
            assert_eq!(m["module"]["api"]["password"], saved["passwd"]["api"], "round {round}: build {i}");
            assert_eq!(m["module"]["db"]["password"], saved["passwd"]["db"], "round {round}: build {i}");
            assert_eq!(m["instance"]["api_key"], saved["secrets"]["instance.api_key"], "round {round}: build {i}");
            assert_eq!(
                m["module"]["web"]["service"]["instances"][1]["uiid"], saved["instances"]["inmap"]["webd.1"]["uiid"],
                "round {round}: build {i}"
            );
        }
        assert!(!state.join("prod2").exists(), "the overlay wrote state of its own");
    }
}

/// Builds of different definitions sharing one state directory (another
/// branch, a colleague's checkout) each add their values; none is lost and
/// no uiid is given twice.
#[test]
fn concurrent_builds_of_different_definitions_lose_nothing() {
    for round in 0..3 {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = tmp.path().join("state");
        let dirs: Vec<_> = (0..4).map(|d| tmp.path().join(format!("p{d}"))).collect();
        for (d, dir) in dirs.iter().enumerate() {
            project(dir);
            // Each definition adds its own module with a service and a password.
            std::fs::write(
                dir.join("more.facs"),
                format!("module extra{d} {{ service {{ logical_name: \"extra{d}\" }} }}\n"),
            )
            .expect("write");
        }
        let children: Vec<_> = (0..8).map(|i| build(&dirs[i % 4], &format!("out{i}"), &state)).collect();
        for child in children {
            finished(child);
        }
        let saved = saved_state(&state);
        for i in 0..8 {
            let d = i % 4;
            let m = manifest(&dirs[d], &format!("out{i}"), "prod");
            let extra = format!("extra{d}");
            assert_eq!(m["module"]["web"]["password"], saved["passwd"]["www"], "round {round}: build {i}");
            assert_eq!(m["instance"]["api_key"], saved["secrets"]["instance.api_key"], "round {round}: build {i}");
            assert_eq!(m["module"][&extra]["password"], saved["passwd"][&extra], "round {round}: build {i}");
            assert_eq!(
                m["module"][&extra]["service"]["uiid"].as_str().map(str::to_string),
                saved["instances"]["inmap"][format!("{extra}d.0")]["uiid"].as_u64().map(|u| u.to_string()),
                "round {round}: build {i}"
            );
        }
        // Every service instance of every definition has one uiid of its own.
        let inmap = saved["instances"]["inmap"].as_object().expect("inmap");
        let uiids: std::collections::BTreeSet<u64> =
            inmap.values().map(|e| e["uiid"].as_u64().expect("uiid")).collect();
        assert_eq!(uiids.len(), inmap.len(), "round {round}: a uiid given twice: {inmap:?}");
        assert_eq!(inmap.len(), 3 + 4, "round {round}: web x2, api, and one per definition");
        assert_eq!(saved["instances"]["uiidmap"].as_object().expect("uiidmap").len(), inmap.len());
    }
}

const LEGACY_STATE: &str = r#"{
  "passwd": {
    "www": "11111111-1111-4111-8111-111111111111",
    "api": "22222222-2222-4222-9222-222222222222",
    "db": "33333333-3333-4333-a333-333333333333",
    "retired": "44444444-4444-4444-b444-444444444444"
  },
  "instances": {
    "inmap": {
      "webd.0": {"uiid": 3, "logical_name": "web", "instance_name": "webd.0"},
      "webd.1": {"uiid": 9, "logical_name": "web", "instance_name": "webd.1"},
      "apid.0": {"uiid": 4, "logical_name": "api", "instance_name": "apid.0"}
    },
    "uiidmap": {
      "3": {"uiid": 3, "logical_name": "web", "instance_name": "webd.0"},
      "9": {"uiid": 9, "logical_name": "web", "instance_name": "webd.1"},
      "4": {"uiid": 4, "logical_name": "api", "instance_name": "apid.0"}
    }
  },
  "secrets": {"instance.api_key": "55555555-5555-4555-8555-555555555555"}
}
"#;

#[test]
fn legacy_state_is_reused_unchanged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    std::fs::create_dir_all(state.join("prod")).expect("mkdir");
    std::fs::write(state.join("prod/state.json"), LEGACY_STATE).expect("seed");
    finished(build(&dir, "out", &state));
    let m = manifest(&dir, "out", "prod");
    assert_eq!(m["module"]["web"]["password"], "11111111-1111-4111-8111-111111111111");
    assert_eq!(m["module"]["web"]["service"]["uiid"], "3");
    assert_eq!(m["module"]["web"]["service"]["instances"][1]["uiid"], 9);
    assert_eq!(m["module"]["api"]["service"]["uiid"], "4");
    assert_eq!(m["module"]["db"]["password"], "33333333-3333-4333-a333-333333333333");
    assert_eq!(m["instance"]["api_key"], "55555555-5555-4555-8555-555555555555");
    // Nothing was new, so the file is untouched, byte for byte.
    assert_eq!(std::fs::read_to_string(state.join("prod/state.json")).expect("state"), LEGACY_STATE);
}

#[test]
fn new_values_are_added_and_old_ones_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    std::fs::write(dir.join("more.facs"), "module cache { service { logical_name: \"cache\" } }\n").expect("write");
    let state = tmp.path().join("state");
    std::fs::create_dir_all(state.join("prod")).expect("mkdir");
    std::fs::write(state.join("prod/state.json"), LEGACY_STATE).expect("seed");
    finished(build(&dir, "out", &state));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("prod/state.json")).expect("state")).expect("json");
    let legacy: serde_json::Value = serde_json::from_str(LEGACY_STATE).expect("json");
    // Every legacy entry is still there, unchanged, including ones no longer used.
    for (user, pw) in legacy["passwd"].as_object().expect("passwd") {
        assert_eq!(&saved["passwd"][user], pw);
    }
    assert_eq!(saved["instances"]["inmap"]["webd.1"], legacy["instances"]["inmap"]["webd.1"]);
    // The new service copy gets the largest uiid plus one.
    assert_eq!(saved["instances"]["inmap"]["cached.0"]["uiid"], 10);
    assert_eq!(saved["instances"]["uiidmap"]["10"]["instance_name"], "cached.0");
    assert!(state.join("prod/state.json.bak").exists(), "previous generation kept");
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(state.join("prod/state.json")).expect("meta").permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600);
}

/// Builds the project once in `tmp` and returns its state file's text.
fn a_real_state(tmp: &Path) -> String {
    let dir = tmp.join("seed");
    project(&dir);
    finished(build(&dir, "out", &tmp.join("seed-state")));
    std::fs::read_to_string(tmp.join("seed-state/prod/state.json")).expect("state")
}

/// Runs a build over `bad` as `state.json` (and `bak` as `state.json.bak`)
/// and checks that it is refused with recovery steps, nothing written.
fn assert_refused(bad: &[u8], bak: Option<&[u8]>) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    std::fs::create_dir_all(state.join("prod")).expect("mkdir");
    let path = state.join("prod/state.json");
    std::fs::write(&path, bad).expect("seed");
    if let Some(bak) = bak {
        std::fs::write(state.join("prod/state.json.bak"), bak).expect("seed");
    }
    let output = build(&dir, "out", &state).wait_with_output().expect("wait");
    let what = String::from_utf8_lossy(&bad[..bad.len().min(40)]).into_owned();
    assert_eq!(output.status.code(), Some(1), "{what:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains("refusing") && stderr.contains(&*path.to_string_lossy()), "{stderr}");
    assert!(stderr.contains("state.json.bak") && stderr.contains("To recover"), "no recovery steps: {stderr}");
    assert_eq!(std::fs::read(&path).expect("kept"), bad, "{what:?}");
    let names: Vec<String> = std::fs::read_dir(state.join("prod"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    let expected: Vec<&str> = if bak.is_some() { vec!["state.json", "state.json.bak"] } else { vec!["state.json"] };
    assert_eq!(names, expected, "{what:?}: files written beside refused state");
    assert!(!dir.join("out").exists(), "output written after a refused state");
    // The read-only commands refuse it too, rather than show values no build
    // would produce.
    for args in [&["explain", "prod", "module.www.password"][..], &["diff", "prod", "prod"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(&dir)
            .args(args)
            .arg("--state")
            .arg(&state)
            .output()
            .expect("run facs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("refusing"), "{args:?}: {err}");
    }
    stderr
}

#[test]
fn unreadable_state_is_refused_not_regenerated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let real = a_real_state(tmp.path());
    let zeros = vec![0u8; real.len()];
    let truncated = &real.as_bytes()[..real.len() / 2];
    for bad in [&b""[..], b"\0\0\0\0\0\0", &zeros, truncated, b"{\"passwd\": {\"www\": \"1111", b"[1, 2]"] {
        // No backup: the message must not send the user to one.
        let stderr = assert_refused(bad, None);
        assert!(stderr.contains("there is no") && stderr.contains("from your backups"), "{stderr}");
    }
}

#[test]
fn the_refusal_points_at_a_valid_backup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let real = a_real_state(tmp.path());
    let stderr = assert_refused(b"", Some(real.as_bytes()));
    assert!(
        stderr.contains("holds the previous generation and is valid state") && stderr.contains("cp -p "),
        "{stderr}"
    );
    let stderr = assert_refused(b"", Some(b"\0\0\0"));
    assert!(stderr.contains("is not usable either") && stderr.contains("from your backups"), "{stderr}");
}

/// Every truncation of a real state file is refused (a prefix of a JSON
/// object is never a JSON object), and so is the file zero-filled.
#[test]
fn every_truncation_of_state_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let real = a_real_state(tmp.path());
    let dir = facs::state::StateDir::new(tmp.path().join("s"));
    std::fs::create_dir_all(dir.owner_dir("prod")).expect("mkdir");
    let whole = real.trim_end().len();
    for len in 0..whole {
        std::fs::write(dir.state_path("prod"), &real.as_bytes()[..len]).expect("write");
        assert!(
            matches!(dir.load("prod"), Err(facs::state::LoadError::Corrupt { .. })),
            "a prefix of {len} of {whole} bytes was accepted"
        );
    }
    std::fs::write(dir.state_path("prod"), &real.as_bytes()[..whole]).expect("write");
    assert!(dir.load("prod").is_ok());
}

/// A 1 GB (sparse) state file is refused by its size, before any of it is read.
#[test]
fn a_huge_state_file_is_refused_before_reading() {
    if !common::have_tools("a_huge_state_file_is_refused_before_reading", &["strace"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    std::fs::create_dir_all(state.join("prod")).expect("mkdir");
    let path = state.join("prod/state.json");
    std::fs::File::create(&path).expect("create").set_len(1 << 30).expect("set_len");
    let started = std::time::Instant::now();
    let output = Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=read,pread64,mmap", "-o"])
        .arg(tmp.path().join("trace.txt"))
        .arg(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(&dir)
        .args(["build", "--state"])
        .arg(&state)
        .output()
        .expect("strace facs");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1073741824 bytes") && stderr.contains("limit of 67108864 bytes"), "{stderr}");
    assert!(stderr.contains("refusing") && stderr.contains("there is no"), "{stderr}");
    let trace = std::fs::read_to_string(tmp.path().join("trace.txt")).expect("trace");
    let reads: Vec<&str> = trace.lines().filter(|l| l.contains("state.json>")).collect();
    assert!(reads.is_empty(), "the file was read: {reads:?}");
    assert_eq!(std::fs::metadata(&path).expect("meta").len(), 1 << 30, "the file was changed");
}

#[test]
fn a_failed_build_writes_no_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    std::fs::write(dir.join("broken.facs"), "instance other { url: \"${nope}\" }\n").expect("write");
    let state = tmp.path().join("state");
    let output = build(&dir, "out", &state).wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1));
    assert!(!state.join("prod/state.json").exists(), "state written by a failed build");
    assert!(!dir.join("out").exists(), "output written by a failed build");
}

/// state.json deleted beside its backup: lost state, not a first build. It is
/// refused with the restore command, and the backup is left as it was.
#[test]
fn a_missing_state_beside_its_backup_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    for _ in 0..2 {
        let out = build(&dir, "out", &state).wait_with_output().expect("build");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let owner = state.join("prod");
    // A second generation exists once a build added values; make one.
    std::fs::copy(owner.join("state.json"), owner.join("state.json.bak")).expect("backup");
    let bak = std::fs::read(owner.join("state.json.bak")).expect("bak");
    std::fs::remove_file(owner.join("state.json")).expect("rm");
    let out = build(&dir, "out", &state).wait_with_output().expect("build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is missing but its backup"), "{stderr}");
    assert!(stderr.contains(&format!("cp -p {}", owner.join("state.json.bak").display())), "{stderr}");
    assert!(!owner.join("state.json").exists(), "state regenerated");
    assert_eq!(std::fs::read(owner.join("state.json.bak")).expect("bak"), bak, "backup changed");
}

/// Spec §9: entries facs does not own are written back as read, even when a
/// build adds values: a number no float holds keeps its digits, a key that
/// appears twice stays twice.
#[test]
fn unknown_entries_survive_a_build_that_adds_values() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    std::fs::create_dir_all(state.join("prod")).expect("mkdir");
    let seeded = r#"{"passwd": {"www": "11111111-1111-4111-8111-111111111111"},
 "serial": 123456789012345678901234567890,
 "notes": {"by": "ops", "by": "dev", "ratio": 0.1000000000000000055511151231257827},
 "notes": [1, 2]}"#;
    std::fs::write(state.join("prod/state.json"), seeded).expect("seed");
    let out = finished(build(&dir, "out", &state));
    assert!(out.status.success());
    let text = std::fs::read_to_string(state.join("prod/state.json")).expect("state");
    for kept in [
        r#""serial": 123456789012345678901234567890"#,
        r#""notes": {"by": "ops", "by": "dev", "ratio": 0.1000000000000000055511151231257827}"#,
        r#""notes": [1, 2]"#,
    ] {
        assert!(text.contains(kept), "{kept} lost:\n{text}");
    }
    let saved = saved_state(&state);
    assert_eq!(saved["passwd"]["www"], "11111111-1111-4111-8111-111111111111");
    assert!(saved["passwd"]["db"].is_string(), "a new password was added");
}

/// A uiid that is not an integer from 1 to 255 is refused, not reallocated
/// (a new uiid would change the service's id on every node).
#[test]
fn a_bad_uiid_is_refused_not_reallocated() {
    for uiid in ["7.0", "null", "\"x\"", "0", "256", "-1"] {
        let bad = format!(
            r#"{{"instances": {{"inmap": {{"webd.0": {{"uiid": {uiid}, "logical_name": "web", "instance_name": "webd.0"}}}}, "uiidmap": {{}}}}}}"#
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("p");
        project(&dir);
        let state = tmp.path().join("state");
        std::fs::create_dir_all(state.join("prod")).expect("mkdir");
        std::fs::write(state.join("prod/state.json"), &bad).expect("seed");
        let output = build(&dir, "out", &state).wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{uiid}: {stderr}");
        assert!(stderr.contains("not a uiid") && stderr.contains("refusing"), "{uiid}: {stderr}");
        assert_eq!(std::fs::read_to_string(state.join("prod/state.json")).expect("kept"), bad);
    }
}

/// A state directory that shows state was written (the undeployed count) but
/// has no `state.json` is refused like one beside its backup.
#[test]
fn a_missing_state_beside_facs_leftovers_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    finished(build(&dir, "out", &state));
    let owner = state.join("prod");
    assert!(owner.join("undeployed-secrets").exists(), "a first build records undeployed secrets");
    std::fs::remove_file(owner.join("state.json")).expect("rm");
    let out = build(&dir, "out", &state).wait_with_output().expect("build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("undeployed-secrets") && stderr.contains("To recover"), "{stderr}");
    assert!(!owner.join("state.json").exists(), "state regenerated");
    // `.lock` alone (a first build that failed) is no state.
    std::fs::remove_file(owner.join("undeployed-secrets")).expect("rm");
    assert!(owner.join(".lock").exists());
    assert!(finished(build(&dir, "out", &state)).status.success());
}

/// Spec §9: a field named `a.b` and a field `b` inside `a` are two secrets.
#[test]
fn dotted_secret_paths_never_collide() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("main.facs"),
        "project p {}\nschema Pair { b: secret }\nschema Instance { a: Pair = {}  \"a.b\": secret }\ninstance x {}\n",
    )
    .expect("write");
    let state = tmp.path().join("state");
    assert!(finished(build(&dir, "out", &state)).status.success());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("x/state.json")).expect("state")).expect("json");
    let nested = saved["secrets"]["instance.a.b"].as_str().expect("nested secret");
    let dotted = saved["secrets"]["instance.\"a.b\""].as_str().expect("dotted secret");
    assert_ne!(nested, dotted);
    let m = manifest(&dir, "out", "x");
    assert_eq!(m["instance"]["a"]["b"], nested);
    assert_eq!(m["instance"]["a.b"], dotted);
}

/// `facs -p DIR --state STATE args...`, with `stdin` as its input.
fn facs_with_stdin(dir: &Path, state: &Path, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(dir)
        .args(args)
        .arg("--state")
        .arg(state)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run facs");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// Spec §12: `facs secret set|rotate|list` are the only ways a stored value
/// changes; the value comes from stdin or a file, never argv, and is never
/// printed; the previous generation stays in `state.json.bak`; the change
/// counts as undeployed; `explain` and `list` say where a value came from.
#[test]
fn secret_commands_change_stored_values_and_say_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    finished(build(&dir, "out", &state));
    let before = saved_state(&state);
    let text = |o: &Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));

    // set, through an overlay (it shares its base's state), from stdin.
    let out = facs_with_stdin(&dir, &state, &["secret", "set", "prod2", "api_key"], b"hand-typed-value\n");
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("hand-typed-value"), "the value was printed: {}", text(&out));
    assert!(text(&out).contains("state.json.bak"), "no recovery line: {}", text(&out));
    let after = saved_state(&state);
    assert_eq!(after["secrets"]["instance.api_key"], "hand-typed-value");
    assert_eq!(after["passwd"], before["passwd"], "other values unchanged");
    let bak: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("prod/state.json.bak")).expect("bak")).expect("json");
    assert_eq!(bak["secrets"]["instance.api_key"], before["secrets"]["instance.api_key"], "old value in the backup");
    finished(build(&dir, "out", &state));
    assert_eq!(manifest(&dir, "out", "prod2")["instance"]["api_key"], "hand-typed-value");

    // from a file; rotate; both recorded.
    std::fs::write(tmp.path().join("pw"), "from-a-file\n").expect("write");
    let pw = tmp.path().join("pw");
    let args = ["secret", "set", "prod", "module.web.password", "--from-file", pw.to_str().expect("utf-8")];
    assert!(facs_with_stdin(&dir, &state, &args, b"").status.success());
    assert_eq!(saved_state(&state)["passwd"]["www"], "from-a-file");
    let out = facs_with_stdin(&dir, &state, &["secret", "rotate", "prod", "module.db.password"], b"");
    assert!(out.status.success(), "{}", text(&out));
    let rotated = saved_state(&state)["passwd"]["db"].as_str().expect("string").to_string();
    assert_ne!(rotated, before["passwd"]["db"].as_str().expect("string"));
    assert!(!text(&out).contains(&rotated));

    let out = facs_with_stdin(&dir, &state, &["secret", "list", "prod"], b"");
    let listing = text(&out);
    for expected in [
        "instance.api_key",
        "set by facs secret set",
        "module.web.password",
        "module.db.password",
        "set by facs secret rotate",
        "changed since the last remote deploy",
    ] {
        assert!(listing.contains(expected), "{expected} missing:\n{listing}");
    }
    for value in ["hand-typed-value", "from-a-file", rotated.as_str()] {
        assert!(!listing.contains(value), "list printed a value:\n{listing}");
    }
    let out = facs_with_stdin(&dir, &state, &["explain", "prod", "module.db.password"], b"");
    assert!(text(&out).contains("passwd[db]") && text(&out).contains("set by facs secret rotate"), "{}", text(&out));

    // Refusals: an empty value, a path that is not a stored secret.
    let out = facs_with_stdin(&dir, &state, &["secret", "set", "prod", "api_key"], b"\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("empty"));
    let out = facs_with_stdin(&dir, &state, &["secret", "set", "prod", "home"], b"x");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("is not a stored secret"), "{}", text(&out));

    // The undeployed count is cleared by `facs state deployed`.
    assert!(state.join("prod/undeployed-secrets").exists());
    assert!(facs_with_stdin(&dir, &state, &["state", "deployed", "prod"], b"").status.success());
    assert!(!state.join("prod/undeployed-secrets").exists());
}

/// `facs state orphans` lists state no instance uses; `facs state mv` gives
/// it to the renamed instance, which keeps every value.
#[test]
fn renamed_instances_keep_their_state_with_state_mv() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    finished(build(&dir, "out", &state));
    let before = saved_state(&state);
    let text = |o: &Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let out = facs_with_stdin(&dir, &state, &["state", "orphans"], b"");
    assert!(text(&out).contains("no orphaned state"), "{}", text(&out));

    // Rename the instance: its old state is an orphan until moved.
    let renamed = PROJECT.replace("instance prod ", "instance production ").replace("on prod ", "on production ");
    std::fs::write(dir.join("main.facs"), renamed).expect("write");
    let out = facs_with_stdin(&dir, &state, &["state", "orphans"], b"");
    assert!(text(&out).contains("prod ") && text(&out).contains("state mv"), "{}", text(&out));
    for (args, why) in [
        (["state", "mv", "prod", "prod2"], "overlay"),
        (["state", "mv", "prod", "nope"], "not an instance"),
        (["state", "mv", "gone", "production"], "no state"),
    ] {
        let out = facs_with_stdin(&dir, &state, &args, b"");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out).contains(why), "{args:?}: {}", text(&out));
    }
    let out = facs_with_stdin(&dir, &state, &["state", "mv", "prod", "production"], b"");
    assert!(out.status.success(), "{}", text(&out));
    let moved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("production/state.json")).expect("moved state"))
            .expect("json");
    assert_eq!(moved, before);
    finished(build(&dir, "out", &state));
    let m = manifest(&dir, "out", "production");
    assert_eq!(m["module"]["web"]["password"], before["passwd"]["www"]);
    // A second move onto existing state is refused.
    std::fs::create_dir_all(state.join("prod")).expect("mkdir");
    std::fs::write(state.join("prod/state.json"), "{}").expect("write");
    let out = facs_with_stdin(&dir, &state, &["state", "mv", "prod", "production"], b"");
    assert!(text(&out).contains("already has state"), "{}", text(&out));
}

/// `project { state_recipients }` (docs/decisions/state-encryption.md): a
/// build encrypts the state to the recipients with age, the identity in
/// `FACS_AGE_IDENTITY` decrypts it, and every value is unchanged through
/// encrypting, rebuilding and decrypting again; without the identity the
/// state is refused, never regenerated.
#[test]
fn state_encrypted_with_age_keeps_every_value() {
    use age::secrecy::ExposeSecret;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir);
    let state = tmp.path().join("state");
    finished(build(&dir, "out", &state));
    let plain = saved_state(&state);
    let values = |m: &serde_json::Value| {
        (
            m["module"]["web"]["password"].clone(),
            m["instance"]["api_key"].clone(),
            m["module"]["web"]["service"]["uiid"].clone(),
        )
    };
    let before = values(&manifest(&dir, "out", "prod"));

    let key = age::x25519::Identity::generate();
    let teammate = age::x25519::Identity::generate();
    let identity = key.to_string().expose_secret().to_string();
    let with_recipients = PROJECT.replace(
        "project demo { version: \"1.0.0\" }",
        &format!(
            "project demo {{ version: \"1.0.0\"  state_recipients: [\"{}\", \"{}\"] }}",
            key.to_public(),
            teammate.to_public()
        ),
    );
    std::fs::write(dir.join("main.facs"), &with_recipients).expect("write");
    let run = |identity: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_facs"));
        cmd.arg("-p").arg(&dir).args(["build", "--out"]).arg(dir.join("out")).arg("--state").arg(&state);
        match identity {
            Some(i) => cmd.env("FACS_AGE_IDENTITY", i),
            None => cmd.env_remove("FACS_AGE_IDENTITY"),
        };
        cmd.output().expect("run facs")
    };
    let out = run(Some(&identity));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("encrypted the state of `prod` to 2 age recipient(s)"), "{stderr}");
    for file in ["state.json", "state.json.bak"] {
        let bytes = std::fs::read(state.join("prod").join(file)).expect("state");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), "{file} not encrypted:\n{text}");
        let password = plain["passwd"]["www"].as_str().expect("password");
        assert!(!text.contains(password) && !text.contains("passwd"), "{file} shows plaintext");
    }
    assert_eq!(values(&manifest(&dir, "out", "prod")), before);

    // Rebuild: decrypted, nothing new, nothing rewritten; values unchanged.
    let sealed = std::fs::read(state.join("prod/state.json")).expect("state");
    let out = run(Some(&identity));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(state.join("prod/state.json")).expect("state"), sealed, "rewritten without a change");
    assert_eq!(values(&manifest(&dir, "out", "prod")), before);
    // The teammate's key reads it too (a key file, as age-keygen writes it).
    let keyfile = tmp.path().join("teammate.key");
    std::fs::write(&keyfile, format!("# created: today\n{}\n", teammate.to_string().expose_secret())).expect("key");
    assert!(run(keyfile.to_str()).status.success());

    // Without an identity (or with a stranger's) the state is refused.
    for wrong in [None, Some(age::x25519::Identity::generate().to_string().expose_secret().to_string())] {
        let out = run(wrong.as_deref());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("FACS_AGE_IDENTITY"), "{stderr}");
        assert_eq!(std::fs::read(state.join("prod/state.json")).expect("state"), sealed, "state touched");
    }

    // Recipients removed: plaintext again, with the same values.
    project(&dir);
    let out = run(Some(&identity));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = saved_state(&state);
    assert_eq!(again["passwd"], plain["passwd"]);
    assert_eq!(again["secrets"], plain["secrets"]);
    assert_eq!(again["instances"], plain["instances"]);
    assert_eq!(values(&manifest(&dir, "out", "prod")), before);
}
