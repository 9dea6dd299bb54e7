//! `facs import` on the legacy fixture `fixtures_legacy/proj0/`, through the
//! real binary: import, build the result, and check every environment's
//! manifest against the original's merge computed here from the JSON files
//! (recursive dict update along defaults → ancestors → environment, lists
//! and scalars replaced). Also the modules, the converted templates and the
//! report.

use crate::common;

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures_legacy/proj0");

/// Top-level keys the import renames (reserved in `.facs`).
const RENAMED: &[(&str, &str)] = &[("name", "name_"), ("instance", "instance_")];

fn facs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facs")).args(args).output().expect("facs runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// The original's merge: recursive dict update, everything else replaced.
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

/// Every environment of the legacy directory with its merged data.
fn reference(legacy: &Path) -> Vec<(String, Map<String, Value>)> {
    let project = read_json(&legacy.join("facsimile.json"))["project"].as_str().expect("project").to_string();
    let defaults = object(read_json(&legacy.join(format!("{project}.json"))));
    let mut envs = Vec::new();
    for entry in std::fs::read_dir(legacy).expect("read_dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".json") else { continue };
        if ["facsimile", "modules", project.as_str()].contains(&stem) {
            continue;
        }
        let segments: Vec<&str> = stem.split('.').collect();
        let mut data = defaults.clone();
        for n in 1..=segments.len() {
            let file = legacy.join(format!("{}.json", segments[..n].join(".")));
            if file.exists() {
                update(&mut data, &object(read_json(&file)));
            }
        }
        for (old, new) in RENAMED {
            if let Some(v) = data.shift_remove(*old) {
                data.insert(new.to_string(), v);
            }
        }
        envs.push((segments.last().expect("segment").to_string(), data));
    }
    envs.sort_by(|a, b| a.0.cmp(&b.0));
    envs
}

/// A manifest's instance without `name` and the built-in defaults the
/// legacy data does not set.
fn instance_data(manifest: &Value, legacy: &Map<String, Value>) -> Map<String, Value> {
    let mut instance = object(manifest["instance"].clone());
    instance.shift_remove("name");
    for (key, default) in [("install", Value::Array(vec![])), ("targets", Value::Object(Map::new()))] {
        if !legacy.contains_key(key) && instance.get(key) == Some(&default) {
            instance.shift_remove(key);
        }
    }
    if let (Some(Value::Object(deploy)), Some(Value::Object(legacy_deploy))) =
        (instance.get_mut("deploy"), legacy.get("deploy"))
    {
        if !legacy_deploy.contains_key("postcmd") && deploy.get("postcmd") == Some(&Value::Array(vec![])) {
            deploy.shift_remove("postcmd");
        }
    }
    instance
}

/// True when every key of `legacy` is in `manifest` with a value that
/// contains it (manifests add derived fields).
fn contains(manifest: &Value, legacy: &Value) -> bool {
    match (manifest, legacy) {
        (Value::Object(m), Value::Object(l)) => l.iter().all(|(k, v)| m.get(k).is_some_and(|mv| contains(mv, v))),
        (m, l) => m == l,
    }
}

struct Imported {
    _tmp: tempfile::TempDir,
    legacy: PathBuf,
    out: PathBuf,
    report: String,
}

fn import_fixture() -> Imported {
    let tmp = tempfile::tempdir().expect("tempdir");
    let legacy = tmp.path().join("proj0");
    common::copy_dir(Path::new(FIXTURE), &legacy);
    let out = tmp.path().join("imported");
    let run = facs(&["import", legacy.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8")]);
    assert!(run.status.success(), "import failed: {}{}", text(&run.stdout), text(&run.stderr));
    let build = facs(&["-p", out.to_str().expect("utf-8"), "build"]);
    assert!(build.status.success(), "build failed: {}", text(&build.stderr));
    Imported { _tmp: tmp, legacy, out, report: text(&run.stdout) }
}

#[test]
fn every_environment_equals_the_original_merge() {
    let imported = import_fixture();
    let manifests = imported.out.join(".facsimile/out");
    let envs = reference(&imported.legacy);
    let names: Vec<&str> = envs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["beta", "dev", "dev0", "dev1", "prod"]);
    for (name, legacy) in &envs {
        let manifest = read_json(&manifests.join(format!("{name}.json")));
        assert_eq!(Value::Object(instance_data(&manifest, legacy)), Value::Object(legacy.clone()), "instance {name}");
    }
    // The project defaults are an abstract instance: no manifest.
    assert!(!manifests.join("defaults.json").exists());
}

#[test]
fn modules_and_project_keep_their_fields() {
    let imported = import_fixture();
    let manifest = read_json(&imported.out.join(".facsimile/out/dev1.json"));
    let modules = read_json(&imported.legacy.join("modules.json"));
    let legacy_modules = modules.as_object().expect("modules");
    assert_eq!(manifest["module"].as_object().expect("module").len(), legacy_modules.len());
    for (name, fields) in legacy_modules {
        assert!(contains(&manifest["module"][name], fields), "module {name}: {}", manifest["module"][name]);
    }
    assert_eq!(manifest["module"]["proj0"]["service"]["name"], "proj0d");
    assert_eq!(manifest["module"]["worker"]["genconfig"], true);
    assert_eq!(
        manifest["project"],
        serde_json::json!({"name": "proj0", "version": "0.6.0", "repo": "../proj0", "maintainer": "ops@example.org"})
    );
}

const APP_CONF: &str = r#"# {{project.name}} {{project.version}} ({{instance.name_}})
{{!-- Jinja comment: the main section --}}
[main]
home = {{instance.home}}
db = {{instance.db.host}}:{{instance.db.port}}
user = {{upper instance.deploy.user}}
title = {{default instance.title "untitled"}}
hosts = {{json instance.hosts}}
{{#each instance.features}}
feature.{{@key}} = {{lower this}}
{{/each}}
{{#each instance.hosts}}
host.{{@index}} = {{this}}:{{@root.instance.db.port}}
{{else}}
host = none
{{/each}}
{{#if instance.debug}}
log = debug
{{else if (eq instance.workers 1)}}
log = single
{{else}}
log = info
{{/if}}
{{#unless instance.contact}}
contact = nobody
{{/unless}}
{{#each module}}
module {{@key}} = {{default this.daemon @key}} ({{@root.project.name}})
{{/each}}
"#;

const DEBUG_TXT: &str = r#"db host: {{instance.db.host}}
{{#if instance.db.options.timeout}}timeout: {{instance.db.options.timeout}}{{/if}}
{{#if instance.servers}}{{#each instance.servers}}server {{default this.host ""}}
{{/each}}{{/if}}
"#;

#[test]
fn templates_are_converted_to_handlebars() {
    let imported = import_fixture();
    let read = |p: &str| std::fs::read_to_string(imported.out.join(p)).expect("template");
    assert_eq!(read("tmpl/_ALL_/etc/app.conf"), APP_CONF);
    assert_eq!(read("tmpl/dev/debug.txt"), DEBUG_TXT);
    assert_eq!(
        read("tmpl/_ALL_/bin/start.sh"),
        "#!/bin/sh\nexec {{project.name}} --workers {{instance.workers}}{{#if instance.debug}} --debug{{/if}}\n"
    );
    // The unsupported template is kept, escaped so that it renders as written.
    let original = std::fs::read_to_string(imported.legacy.join("tmpl/dev/macros.txt")).expect("original");
    assert_eq!(read("tmpl/dev/macros.txt"), original.replace("{{", "\\{{"));
    let release = imported.out.join(".facsimile/out/dev1/proj0");
    let rendered = |p: &str| std::fs::read_to_string(release.join(p)).expect("rendered");
    assert_eq!(rendered("macros.txt"), original);
    assert_eq!(rendered("bin/start.sh"), "#!/bin/sh\nexec proj0 --workers 1 --debug\n");
    assert_eq!(rendered("debug.txt"), "db host: dev-db\ntimeout: 5\nserver s1\nserver s2\n\n");
    assert_eq!(
        rendered("etc/app.conf"),
        "# proj0 0.6.0 (Project Zero)\n[main]\nhome = /home/dev0/proj0\ndb = dev-db:5433\nuser = PROJ0\n\
         title = untitled\nhosts = [\"localhost\"]\nfeature.search = true\nfeature.chat = true\n\
         feature.beta-ui = true\nhost.0 = localhost:5433\nlog = debug\nmodule proj0 = proj0 (proj0)\n\
         module worker = worker (proj0)\n"
    );
    let prod = std::fs::read_to_string(imported.out.join(".facsimile/out/prod/proj0/etc/app.conf")).expect("prod");
    assert!(prod.contains("hosts = []\n") && prod.contains("host = none\n") && prod.contains("log = info\n"), "{prod}");
    assert!(prod.contains("contact = nobody\n"), "{prod}");
    assert!(!imported.out.join(".facsimile/out/prod/proj0/debug.txt").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(imported.out.join("tmpl/_ALL_/bin/start.sh")).expect("meta").permissions().mode();
        assert_ne!(mode & 0o111, 0, "the executable bit is kept");
    }
}

#[test]
fn the_report_lists_files_and_what_was_not_converted() {
    let imported = import_fixture();
    let report = &imported.report;
    for line in [
        "  project.facs ",
        "  schema.facs ",
        "  modules.facs ",
        "  envs.facs ",
        "  tmpl/_ALL_/etc/app.conf  converted from Jinja",
        "  tmpl/dev/macros.txt      left as is",
        "proj0.json: field `name` renamed to `name_`: `name` is reserved in .facs",
        "dev.dev0.dev1.json: field `instance` renamed to `instance_`",
        "not converted:\n  tmpl/dev/macros.txt:2: `{% set greeting = \"hello\" %}`: the `set` statement\n",
    ] {
        assert!(report.contains(line), "{line:?} not in\n{report}");
    }
    assert!(!report.contains("everything converted"));
}

#[test]
fn the_generated_definitions_read_well() {
    let imported = import_fixture();
    let read = |p: &str| std::fs::read_to_string(imported.out.join(p)).expect("facs file");
    let envs = read("envs.facs");
    for part in [
        "abstract instance defaults {\n",
        "instance dev inherits defaults {\n",
        "instance dev0 inherits dev {\n",
        "instance dev1 inherits dev0 {\n",
        "  price: \"\\$5, not \\${interpolated}\"\n",
        "  limits := \"unlimited\"\n",
        "  contact := {\n",
        "  \"on\": true\n",
        "  \"my key\": 1500.0\n",
        "  db {\n    port: 5433\n  }\n",
    ] {
        assert!(envs.contains(part), "{part:?} not in\n{envs}");
    }
    let schema = read("schema.facs");
    for part in
        ["  ratio: float\n", "  limits: any\n", "  contact?: {\n    email: string\n  }\n", "      timeout?: int\n"]
    {
        assert!(schema.contains(part), "{part:?} not in\n{schema}");
    }
    for builtin in ["home", "deploy", "install", "targets"] {
        assert!(!schema.contains(&format!("  {builtin}")), "{builtin} declared in\n{schema}");
    }
}

#[test]
fn refuses_bad_input_and_a_non_empty_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = |p: &str| tmp.path().join(p).to_str().expect("utf-8").to_string();

    std::fs::create_dir(tmp.path().join("empty")).expect("mkdir");
    let run = facs(&["import", &path("empty")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("has no facsimile.json"), "{}", text(&run.stderr));

    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(bad.join("facsimile.json"), "{\"project\": \"p\"}").expect("write");
    std::fs::write(bad.join("dev.json"), "{\n  \"a\": [1,\n}\n").expect("write");
    let run = facs(&["import", &path("bad")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("dev.json:3:1: invalid JSON"), "{}", text(&run.stderr));
    assert!(!tmp.path().join("bad-facs").exists(), "nothing written on error");

    std::fs::write(bad.join("dev.json"), "{\"a\": 1}").expect("write");
    std::fs::create_dir(tmp.path().join("full")).expect("mkdir");
    std::fs::write(tmp.path().join("full/x"), "").expect("write");
    let run = facs(&["import", &path("bad"), "-o", &path("full")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("exists and is not empty"), "{}", text(&run.stderr));

    // Default output: LEGACY_DIR-facs next to it.
    let run = facs(&["import", &path("bad")]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(tmp.path().join("bad-facs/envs.facs").is_file());
    assert!(text(&run.stdout).contains("everything converted"), "{}", text(&run.stdout));
}
