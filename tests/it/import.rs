//! `facs import` through the real binary on `fixtures_legacy/shop/`, a
//! repository in the original facsimile's own layout (`config/facsimile/`,
//! modules as a list, dotted environments, `install.groups`,
//! `deploy.nodes`, a `tmpl/dev.dev0/` folder, an original state file). The
//! import is built, and each manifest is checked against the original's
//! merge computed here from the JSON files. The comparison with the original
//! tool itself (rendered trees, state both ways) is tests/it/oracle.rs.

use crate::common;

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures_legacy/shop");

fn facs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facs")).args(args).env("NO_COLOR", "1").output().expect("facs runs")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("json")
}

/// The original's merge (munge `recursive_update`, lists replaced).
fn update(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => update(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The original's data for release environment `env`: facsimile.json,
/// shop.json, then one file per dotted segment.
fn original_data(repo: &Path, env: &str) -> Map<String, Value> {
    let define = repo.join("config/facsimile");
    let mut data = Map::new();
    for level in ["facsimile", "shop"].into_iter().chain(env.split('.')) {
        let file = define.join(format!("{level}.json"));
        if let Value::Object(m) = read_json(&file) {
            update(&mut data, &m);
        }
    }
    data
}

/// The original's data as the import documents its conversion: `name`
/// renamed, `deploy.nodes` as `targets`, `install.groups` as `install`.
fn converted(mut data: Map<String, Value>, repo: &Path) -> Map<String, Value> {
    if let Some(v) = data.shift_remove("name") {
        data.insert("name_".into(), v);
    }
    if let Some(Value::Object(deploy)) = data.get_mut("deploy") {
        if let Some(Value::Object(nodes)) = deploy.shift_remove("nodes") {
            let targets: Map<String, Value> =
                nodes.into_iter().map(|(t, hosts)| (t, json!({ "nodes": hosts }))).collect();
            data.insert("targets".into(), Value::Object(targets));
        }
    }
    if let Some(Value::Object(install)) = data.shift_remove("install") {
        let src = repo.to_string_lossy().into_owned();
        let groups = install["groups"].as_array().cloned().unwrap_or_default();
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|g| {
                let text = g.to_string().replace("$SRC_DIR$", &src).replace("\\\\1", "${1}");
                let mut g: Map<String, Value> = serde_json::from_str(&text).expect("group");
                if g.get("type") == Some(&json!("tmpl")) {
                    g.insert("engine".into(), json!("jinja"));
                }
                Value::Object(g)
            })
            .collect();
        data.insert("install".into(), Value::Array(groups));
    }
    data
}

/// `manifest` holds every key of `expected` with a value that contains it
/// (facs adds defaults and derived fields).
fn contains(manifest: &Value, expected: &Value) -> bool {
    match (manifest, expected) {
        (Value::Object(m), Value::Object(l)) => l.iter().all(|(k, v)| m.get(k).is_some_and(|mv| contains(mv, v))),
        (Value::Array(m), Value::Array(l)) => m.len() == l.len() && m.iter().zip(l).all(|(a, b)| contains(a, b)),
        (m, l) => m == l,
    }
}

struct Imported {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    out: PathBuf,
    report: String,
}

fn import(extra: &[&str]) -> Imported {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("shop");
    common::copy_dir(Path::new(FIXTURE), &repo);
    let out = tmp.path().join("shop-facs");
    let state = repo.join("legacy-state");
    let mut args = vec!["import", repo.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8")];
    args.extend_from_slice(&["--env", "dev.dev0", "--env", "prod", "--state", state.to_str().expect("utf-8")]);
    args.extend_from_slice(extra);
    let run = facs(&args);
    let report = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "import failed:\n{report}{}", String::from_utf8_lossy(&run.stderr));
    Imported { _tmp: tmp, repo, out, report }
}

fn build(imported: &Imported) -> PathBuf {
    let build = imported.out.join("build");
    let run = facs(&["-p", imported.out.to_str().expect("utf-8"), "build", "-o", build.to_str().expect("utf-8")]);
    assert!(run.status.success(), "build failed:\n{}", common::text(&run));
    build
}

#[test]
fn every_environment_builds_to_the_original_merge() {
    let imported = import(&[]);
    let build = build(&imported);
    for (env, instance) in [("dev.dev0", "dev0"), ("prod", "prod")] {
        let manifest = read_json(&build.join(format!("{instance}.json")));
        let expected = converted(original_data(&imported.repo, env), &imported.repo);
        let got = &manifest["instance"];
        assert!(
            contains(got, &Value::Object(expected.clone())),
            "{env}: manifest instance\n{got:#}\ndoes not hold the original's data\n{expected:#?}"
        );
        // Nothing beyond the original's keys but facs's own.
        for key in got.as_object().expect("instance").keys() {
            assert!(
                expected.contains_key(key)
                    || ["name", "install", "targets", "release_environment"].contains(&key.as_str()),
                "{env}: {key}"
            );
        }
        assert_eq!(manifest["project"]["version"], json!("2.0.1"));
    }
    let prod = read_json(&build.join("prod.json"));
    assert_eq!(
        prod["instance"]["targets"],
        json!({"web": {"nodes": ["web1", "web2", "web3"]}, "jobs": {"nodes": ["jobs1"]}})
    );
}

#[test]
fn modules_keep_the_original_passwords_and_uiids() {
    let imported = import(&[]);
    let build = build(&imported);
    let state = read_json(&imported.repo.join("legacy-state/dev.dev0/state.json"));
    let dev0 = read_json(&build.join("dev0.json"));
    let module = &dev0["module"];
    let names: Vec<&String> = module.as_object().expect("modules").keys().collect();
    assert_eq!(names, ["api", "worker", "cache"], "modules.json's order");
    assert_eq!(module["api"]["username"], json!("shop"));
    assert_eq!(module["worker"]["username"], json!("shop"));
    assert_eq!(module["cache"]["username"], json!("cache"), "the original replaced `username`");
    for m in ["api", "worker"] {
        assert_eq!(module[m]["password"], state["passwd"]["shop"], "{m} shares the daemon's password");
    }
    assert_eq!(module["cache"]["password"], state["passwd"]["cache"]);
    assert_eq!(module["api"]["service"]["uiid"], json!("7"), "uiid kept from the original's inmap");
    assert_eq!(module["api"]["service"]["instance_name"], json!("apid.0"));
    assert_eq!(module["api"]["service"]["port"], json!(8080), "extra service keys kept");
    assert_eq!(module["api"]["service"]["name"], json!("shopd"));
    // The original's state file is copied, not moved, and kept private.
    assert!(imported.repo.join("legacy-state/dev.dev0/state.json").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let copied = imported.out.join(".facsimile/state/dev0/state.json");
        assert_eq!(std::fs::metadata(&copied).expect("copied").permissions().mode() & 0o777, 0o600);
        let dir = copied.parent().expect("dir");
        assert_eq!(std::fs::metadata(dir).expect("dir").permissions().mode() & 0o777, 0o700);
    }
}

#[test]
fn templates_stay_jinja_in_their_environments_folder() {
    let imported = import(&[]);
    let templates = imported.out.join("tmpl");
    assert!(templates.join("_ALL_/etc/shop.ini").is_file());
    assert_eq!(
        std::fs::read_to_string(templates.join("dev0/etc/shop.ini")).expect("moved to the instance's folder"),
        std::fs::read_to_string(imported.repo.join("config/facsimile/tmpl/dev.dev0/etc/shop.ini")).expect("legacy"),
        "kept byte for byte"
    );
    assert!(!templates.join("unused").exists());
    let build = build(&imported);
    let ini = std::fs::read_to_string(build.join("dev0/shop/etc/shop.ini")).expect("rendered");
    assert_eq!(ini, "dev0 db=localhost\n");
    let prod = std::fs::read_to_string(build.join("prod/shop/etc/shop.ini")).expect("rendered");
    assert_eq!(prod, "db=db.internal:5432\ndebug=False\n", "Python's False, as the original rendered it");
    let run_sh = build.join("prod/shop/_DEPLOY_/bin/run.sh");
    assert!(run_sh.is_file(), "the copy group's pattern `\\1` reached the file");
}

#[test]
fn the_report_names_every_environment_move_and_omission() {
    let imported = import(&[]);
    let report = imported.report.replace(imported.out.to_str().expect("utf-8"), "<out>");
    insta::assert_snapshot!("import_report", report);
}

#[test]
fn the_project_name_and_the_environments_are_found_without_options() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("shop");
    common::copy_dir(Path::new(FIXTURE), &repo);
    // The original's default state directory: <repository>/.facsimile/state.
    common::copy_dir(&repo.join("legacy-state"), &repo.join(".facsimile/state"));
    let out = tmp.path().join("out");
    let run = facs(&["import", repo.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8")]);
    let text = common::text(&run);
    assert!(run.status.success(), "{text}");
    assert!(text.contains("name from the repository directory `shop`"), "{text}");
    for line in [
        "dev       -> instance dev  (from a definition file)",
        "dev.dev0  -> instance dev0  (from the original's state directory)",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("state read from"), "{text}");
    // --name wins over everything.
    let out2 = tmp.path().join("out2");
    let run = facs(&["import", repo.to_str().expect("utf-8"), "--name", "store", "-o", out2.to_str().expect("utf-8")]);
    assert!(common::text(&run).contains("imported project `store` (name from --name)"), "{}", common::text(&run));
}

#[test]
fn refuses_what_is_not_a_legacy_directory_and_a_non_empty_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = facs(&["import", tmp.path().to_str().expect("utf-8")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(common::text(&run).contains("neither it nor its config/facsimile/ holds"), "{}", common::text(&run));
    let repo = tmp.path().join("shop");
    common::copy_dir(Path::new(FIXTURE), &repo);
    let out = tmp.path().join("busy");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("keep.txt"), "mine").expect("write");
    let run = facs(&["import", repo.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(common::text(&run).contains("is not empty"), "{}", common::text(&run));
    assert_eq!(std::fs::read_to_string(out.join("keep.txt")).expect("kept"), "mine");
    let run = facs(&[
        "import",
        repo.to_str().expect("utf-8"),
        "--env",
        "dev..x",
        "-o",
        tmp.path().join("o").to_str().expect("utf-8"),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(common::text(&run).contains("no environment to import"), "{}", common::text(&run));
    assert!(!tmp.path().join("o").exists(), "a refused import leaves no output directory");
}
