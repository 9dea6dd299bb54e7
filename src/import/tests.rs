//! Unit tests of the import's pure parts. The disk side is tested in
//! tests/it/import.rs, the comparison with the original tool itself in
//! tests/it/oracle.rs.

use super::builtins::{self, python_replacement, Changes};
use super::levels::{self, Found};
use super::{import, LegacyDir, LegacyFile, Options};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

fn legacy(files: &[(&str, &str)]) -> LegacyDir {
    let mut dir = LegacyDir::default();
    for (path, text) in files {
        dir.files.insert(path.to_string(), LegacyFile { bytes: text.as_bytes().to_vec(), executable: false });
    }
    dir
}

fn named(name: &str) -> Options {
    Options { name: Some(name.into()), ..Options::default() }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn file<'i>(imported: &'i super::Imported, path: &str) -> &'i str {
    let f = imported.files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("no {path}"));
    std::str::from_utf8(&f.bytes).expect("utf-8")
}

#[test]
fn python_replacements_become_regex_crate_replacements() {
    assert_eq!(python_replacement(r"bin/\1"), "bin/${1}");
    assert_eq!(python_replacement(r"\1\2x"), "${1}${2}x");
    assert_eq!(python_replacement(r"\g<name>.conf"), "${name}.conf");
    assert_eq!(python_replacement("cost$5"), "cost$$5");
    assert_eq!(python_replacement(r"a\\b\n"), "a\\b\n");
}

#[test]
fn environments_are_named_after_their_last_segment_unless_two_share_it() {
    let ids: Vec<String> = ["dev.dev0", "prod", "eu.web", "us.web"].map(String::from).to_vec();
    assert_eq!(levels::env_names(&ids), ["dev0", "prod", "eu-web", "us-web"]);
    let mut taken: BTreeSet<String> = ["dev0".to_string()].into();
    assert_eq!(levels::level_name("dev0", &mut taken), "dev0-level");
    assert_eq!(levels::level_name("dev", &mut taken), "dev");
    assert_eq!(levels::level_name("dev", &mut taken), "dev-level");
}

#[test]
fn without_env_options_every_level_and_state_directory_is_an_environment() {
    let stems: BTreeSet<String> = ["facsimile", "shop", "dev", "dev0", "prod", "a.b"].map(String::from).into();
    let found = levels::environments(&[], &stems, "shop", &["dev.dev0".to_string(), "prod".to_string()]);
    assert_eq!(
        found,
        [("dev".to_string(), Found::LevelFile), ("prod".into(), Found::LevelFile), ("dev.dev0".into(), Found::State)]
    );
    let given = levels::environments(&["x.y".to_string(), "x.y".to_string()], &stems, "shop", &[]);
    assert_eq!(given, [("x.y".to_string(), Found::Option)]);
    assert!(levels::invalid("dev..x").is_some());
    assert!(levels::invalid("dev/x").is_some());
    assert!(levels::invalid("dev.x").is_none());
}

#[test]
fn install_groups_become_the_install_list() {
    let data = object(json!({
        "install": {"groups": [
            {"type": "tmpl", "dir": "tmpl", "skip": "^\\."},
            {"files": ["$SRC_DIR$/a"], "pattern": "^(.*)$", "replace": "\\1", "dir": "$SRC_DIR$/share"}
        ]}
    }));
    let mut changes = Changes::default();
    let out = builtins::level("x.json", &data, &Default::default(), &mut changes);
    let src = super::facs::interpolation("facs.src_dir");
    assert_eq!(
        Value::Object(out),
        json!({"install": [
            {"type": "tmpl", "dir": "tmpl", "skip": "^\\.", "engine": "jinja"},
            {"files": [format!("{src}/a")], "pattern": "^(.*)$", "replace": "${1}", "dirs": [format!("{src}/share")]}
        ]})
    );
    assert!(changes.tmpl_dirs.contains("tmpl"));
    // `install: {}` changes nothing in the original: no list that would replace the inherited one.
    let out = builtins::level("y.json", &object(json!({"install": {}})), &Default::default(), &mut changes);
    assert!(out.is_empty());
}

#[test]
fn deploy_nodes_become_targets_and_reserved_keys_are_renamed() {
    let a = object(json!({"deploy": {"user": "u", "nodes": {"web": ["w1"]}}, "name": "x"}));
    let b = object(json!({"home": 3}));
    let renames = builtins::renames(&[("a.json".into(), &a), ("b.json".into(), &b)]);
    assert_eq!(renames.get("name").map(|r| r.0.as_str()), Some("name_"));
    assert_eq!(renames.get("home").map(|r| r.0.as_str()), Some("home_"));
    let mut changes = Changes::default();
    let out = builtins::level("a.json", &a, &renames, &mut changes);
    assert_eq!(
        Value::Object(out),
        json!({"targets": {"web": {"nodes": ["w1"]}}, "deploy": {"user": "u"}, "name_": "x"})
    );
    assert!(changes.notes.iter().any(|(f, w)| f == "a.json" && w.contains("`name` renamed to `name_`")));
}

#[test]
fn homedir_and_environ_tokens_read_declared_environment_variables() {
    let data = object(json!({"home": "%HOMEDIR%/app", "owner": "{{environ.USER}}"}));
    let mut changes = Changes::default();
    let out = builtins::level("p.json", &data, &Default::default(), &mut changes);
    assert_eq!(super::facs::string(out["home"].as_str().unwrap_or("")), "\"${facs.env.HOME}/app\"");
    assert_eq!(changes.env_vars, ["HOME".to_string(), "USER".to_string()].into());
}

#[test]
fn modules_as_a_list_keep_their_order_and_lose_what_the_original_replaced() {
    let mut changes = Changes::default();
    let list = json!([
        {"name": "api", "daemon": "shop", "logical_name": "api", "service": {"port": 80}},
        {"name": "cache", "username": "x", "password": "y"},
        {"name": "api"}
    ]);
    let modules = builtins::modules(&list, &mut changes);
    let names: Vec<&str> = modules.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["api", "cache"]);
    assert_eq!(
        Value::Object(modules[0].1.clone()),
        json!({"daemon": "shop", "logical_name": "api", "service": {"port": 80, "logical_name": "api"}})
    );
    assert!(modules[1].1.is_empty());
    assert!(changes.notes.iter().any(|(_, w)| w.contains("listed twice")));
    let map = builtins::modules(&json!({"db": {"genconfig": true}}), &mut changes);
    assert_eq!(Value::Object(map[0].1.clone()), json!({"genconfig_": true}));
}

#[test]
fn the_project_name_comes_from_the_option_the_file_or_the_repository() {
    let dir = legacy(&[("facsimile.json", r#"{"project": "p1"}"#), ("dev.json", "{}")]);
    assert_eq!(import(&dir, &named("given")).map(|i| i.project), Ok("given".into()));
    assert_eq!(import(&dir, &Options::default()).map(|i| i.project), Ok("p1".into()));
    let bare = legacy(&[("facsimile.json", "{}"), ("dev.json", "{}")]);
    let repo = Options { repo_name: Some("my.repo".into()), ..Options::default() };
    let imported = import(&bare, &repo).expect("imports");
    assert_eq!(imported.project, "my_repo");
    assert!(imported.name_from.contains("repository"));
    assert_eq!(import(&bare, &Options::default()).map(|i| i.project), Err(super::ImportError::NoProjectName));
}

#[test]
fn a_dotted_environment_inherits_its_levels_most_specific_first() {
    let dir = legacy(&[
        ("facsimile.json", "{}"),
        ("shop.json", r#"{"a": 1}"#),
        ("dev.json", r#"{"a": 2}"#),
        ("dev0.json", r#"{"a": 3}"#),
        ("tmpl/dev.dev0/x", "x"),
        ("tmpl/_ALL_/y", "y"),
        ("tmpl/dev/z", "z"),
    ]);
    let options = Options { envs: vec!["dev.dev0".into(), "dev".into()], ..named("shop") };
    let imported = import(&dir, &options).expect("imports");
    let envs = file(&imported, "envs.facs");
    assert!(envs.contains("instance dev0 inherits dev0-level, dev-level, defaults, facsimile {\n  release_environment: \"dev.dev0\"\n}"), "{envs}");
    assert!(envs.contains("instance dev inherits dev-level, defaults, facsimile {}"), "{envs}");
    // No tmpl group reads `tmpl/`: it is copied as is, and the report says so.
    let copied: Vec<&str> =
        imported.files.iter().filter(|f| f.how == super::How::Copied).map(|f| f.path.as_str()).collect();
    assert_eq!(copied, ["tmpl/_ALL_/y", "tmpl/dev.dev0/x", "tmpl/dev/z"]);
    assert!(imported.not_converted.iter().any(|n| n.file == "tmpl/dev/z" && n.what.contains("copied as is")));
}

#[test]
fn template_folders_follow_their_release_environment() {
    let dir = legacy(&[
        ("facsimile.json", "{}"),
        ("shop.json", r#"{"install": {"groups": [{"type": "tmpl", "dir": "tmpl"}]}}"#),
        ("dev.json", "{}"),
        ("dev0.json", "{}"),
        ("tmpl/dev.dev0/x", "x"),
        ("tmpl/_ALL_/y", "y"),
        ("tmpl/dev/z", "z"),
        ("tmpl/loose", "w"),
    ]);
    let options = Options { envs: vec!["dev.dev0".into()], ..named("shop") };
    let imported = import(&dir, &options).expect("imports");
    let paths: Vec<&str> = imported.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"tmpl/dev0/x") && paths.contains(&"tmpl/_ALL_/y"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("tmpl/dev/") || p.ends_with("loose")), "{paths:?}");
    let skipped: Vec<&str> = imported.not_converted.iter().map(|n| n.file.as_str()).collect();
    assert!(skipped.contains(&"tmpl/dev") && skipped.contains(&"tmpl/loose"), "{skipped:?}");
}

#[test]
fn environments_without_any_definition_file_are_refused_with_the_reason() {
    let dir = legacy(&[("modules.json", "[]")]);
    let options = Options { envs: vec!["dev".into(), "a..b".into()], ..named("shop") };
    match import(&dir, &options) {
        Err(super::ImportError::NoEnvironments(why)) => {
            assert_eq!(why.len(), 2, "{why:?}");
            assert!(why[0].contains("dev.json"), "{why:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_name_the_file_and_position() {
    let dir = legacy(&[("facsimile.json", "{\n  \"a\": ,\n}")]);
    let e = import(&dir, &named("p")).expect_err("invalid JSON");
    assert!(e.to_string().starts_with("facsimile.json:2:8: invalid JSON"), "{e}");
    let dir = legacy(&[("dev.json", "[1]")]);
    assert_eq!(import(&dir, &named("p")).err(), Some(super::ImportError::NotAnObject { file: "dev.json".into() }));
}
