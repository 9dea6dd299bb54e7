//! State persistence through the real binary (spec §9): concurrent builds
//! agree on every generated value, legacy state files are reused unchanged,
//! and state that cannot be read is refused rather than regenerated.

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
    Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(dir)
        .args(["build", "--out"])
        .arg(dir.join(out))
        .arg("--state")
        .arg(state)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn facs")
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

#[test]
fn unreadable_state_is_refused_not_regenerated() {
    for bad in ["", "\0\0\0\0\0\0", "{\"passwd\": {\"www\": \"1111", "[1, 2]"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("p");
        project(&dir);
        let state = tmp.path().join("state");
        std::fs::create_dir_all(state.join("prod")).expect("mkdir");
        std::fs::write(state.join("prod/state.json"), bad).expect("seed");
        let output = build(&dir, "out", &state).wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(1), "{bad:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("refusing") && stderr.contains("state.json.bak"), "{stderr}");
        assert_eq!(std::fs::read_to_string(state.join("prod/state.json")).expect("kept"), bad);
        assert!(!dir.join("out/prod.json").exists(), "no manifest after a refused state");
    }
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
