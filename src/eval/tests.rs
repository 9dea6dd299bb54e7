//! Evaluation tests through `build::compile_memory`: minimal inputs, one
//! behaviour each.

use crate::build::compile_memory;
use serde_json::{json, Value};

const HEAD: &str = "project demo {}\nmodule app {}\n";

fn instance(src: &str, name: &str) -> Value {
    let text = format!("{HEAD}{src}");
    let (manifests, diagnostics) = compile_memory(&[("main.facs", &text)]);
    assert!(diagnostics.iter().all(|(c, _, _)| c.starts_with('W')), "unexpected diagnostics: {diagnostics:?}");
    manifests.into_iter().find(|(n, _)| n == name).map(|(_, m)| m["instance"].clone()).expect("instance built")
}

fn codes(src: &str) -> Vec<(String, usize)> {
    let text = format!("{HEAD}{src}");
    compile_memory(&[("main.facs", &text)]).1.into_iter().map(|(c, _, l)| (c, l)).collect()
}

#[test]
fn dotted_keys_and_blocks_merge_in_one_body() {
    let i = instance("instance a { db.host: \"h\"  db { port: 1 } }", "a");
    assert_eq!(i["db"], json!({"host": "h", "port": 1}));
}

#[test]
fn replace_never_merges() {
    let i = instance(
        "abstract instance p { db { host: \"h\", port: 1 } }\ninstance a inherits p { db := { port: 2 } }",
        "a",
    );
    assert_eq!(i["db"], json!({"port": 2}));
}

#[test]
fn append_through_a_reference_is_late_bound() {
    let i = instance(
        "abstract instance p { base: [\"x\"]  all: base }\ninstance a inherits p { base: [\"y\"]  all += [\"z\"] }",
        "a",
    );
    assert_eq!(i["all"], json!(["y", "z"]));
}

#[test]
fn interpolation_prints_numbers_as_json() {
    let i = instance("instance a { n: 2  f: 2.5  b: true  s: \"${n}/${f}/${b}\" }", "a");
    assert_eq!(i["s"], "2/2.5/true");
}

#[test]
fn references_see_defaults_and_derived_values() {
    let src = "schema Instance { port: int = 8080  url?: string }\ninstance a { url: \"http://x:${port}/${module.app.username}\" }";
    assert_eq!(instance(src, "a")["url"], "http://x:8080/app");
}

#[test]
fn module_overlay_applies_to_descendants_only() {
    let text = format!(
        "{HEAD}abstract instance p {{ module app {{ port: 1 }} }}\ninstance a inherits p {{}}\ninstance b {{}}"
    );
    let (manifests, _) = compile_memory(&[("main.facs", &text)]);
    let get = |n: &str| manifests.iter().find(|(m, _)| m == n).map(|(_, v)| v["module"]["app"].clone()).expect("built");
    assert_eq!(get("a")["port"], 1);
    assert!(get("b").get("port").is_none());
}

#[test]
fn secrets_derive_secrecy() {
    // A value computed from a secret is secret: redacted in `facs manifest`.
    let text = "project demo {}\nmodule app {}\nschema Instance { key: secret  url?: string }\ninstance a { url: \"x:${key}\" }";
    let fs = crate::source::MemoryFs::with(&[("main.facs", text)]);
    let options = crate::build::Options::new(std::path::Path::new("/nonexistent"), None, None);
    let Ok(mut session) = crate::build::Session::open(&fs, options) else { panic!("does not parse") };
    let a = session.select(&["a".to_string()])[0];
    let mut state = crate::state::State::default();
    let compiled = session.compile_one(a, &mut state).expect("compiled");
    let redacted: Value = serde_json::from_str(&compiled.manifest.value.to_pretty_json(false)).expect("json");
    assert_eq!(redacted["instance"]["url"], "********");
    assert_eq!(redacted["instance"]["key"], "********");
    assert_eq!(redacted["module"]["app"]["password"], "********");
    let revealed: Value = serde_json::from_str(&compiled.manifest.value.to_pretty_json(true)).expect("json");
    assert!(revealed["instance"]["url"].as_str().is_some_and(|u| u.starts_with("x:") && u.len() == 38));
}

#[test]
fn errors_of_independent_instances_are_all_reported() {
    let found = codes("instance a { x: \"${nope}\" }\ninstance b { y: \"${gone}\" }\ninstance c inherits missing {}");
    assert_eq!(found, vec![("E010".into(), 3), ("E010".into(), 4), ("E003".into(), 5)]);
}

#[test]
fn an_error_in_a_shared_parent_is_reported_once() {
    let mut src = String::from("abstract instance p { url: \"${nope}\" }\n");
    for i in 0..50 {
        src.push_str(&format!("instance c{i} inherits p {{}}\n"));
    }
    assert_eq!(codes(&src), vec![("E010".into(), 3)]);
}

#[test]
fn unset_then_set_again_is_a_new_key() {
    let i = instance("abstract instance p { a: 1  b: 2 }\nabstract instance q inherits p { unset a }\ninstance r inherits q { a: \"now a string\" }", "r");
    assert_eq!(i["a"], "now a string");
    let keys: Vec<&String> = i.as_object().expect("map").keys().collect();
    assert_eq!(keys, ["name", "b", "a", "install", "targets"]);
}

#[test]
fn typo_warning_only_across_bodies() {
    assert!(codes("instance a { db { host: \"h\", port: 1 } }").is_empty());
    assert_eq!(
        codes("abstract instance p { region: \"eu\" }\ninstance a inherits p { regoin: \"us\" }"),
        vec![("W001".into(), 4)]
    );
}

/// Spec §7 v2 closeness: each row is (parent body, child body, warns).
#[test]
fn typo_warning_follows_the_v2_closeness_rule() {
    let cases: &[(&str, &str, bool)] = &[
        // One body: only an adjacent transposition counts.
        ("", "timeout: 1  timeuot: 2", true),
        ("", "host: \"h\"  port: 1", false),
        ("", "timeout: 1  timeot: 2", false),
        // Across bodies: distance 1 below 8 characters...
        ("region: \"eu\"", "regoin: \"us\"", true),
        ("region: \"eu\"", "regio: \"us\"", true),
        ("region: \"eu\"", "regn: \"us\"", false),
        // ...2 from 8 characters on.
        ("replicas: 1", "replcas_: 2", true),
        ("max_connections: 1", "max_conectoins: 2", true),
        ("max_connections: 1", "max_conxtions: 2", false),
        ("max_connections: 1", "max_conections: 2", true),
        // Digits only, trailing `s`, and short names are never close.
        ("web1: 1", "web2: 2", false),
        ("host: \"a\"", "hosts: [\"b\"]", false),
        ("abc: 1", "abd: 2", false),
    ];
    for (parent, child, warns) in cases {
        let text = format!("abstract instance p {{ {parent} }}\ninstance a inherits p {{ {child} }}");
        let found = codes(&text).iter().any(|(c, _)| c == "W001");
        assert_eq!(found, *warns, "{parent} / {child}");
    }
    // A pair in one body warns once, at the later key.
    assert_eq!(codes("instance a {\n  timeout: 1\n  timeuot: 2\n}"), vec![("W001".into(), 5)]);
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_crash() {
    let depth = 100_000;
    let text = format!("{HEAD}instance a {{ x: {}1{} }}", "[".repeat(depth), "]".repeat(depth));
    let (_, diagnostics) = compile_memory(&[("main.facs", &text)]);
    assert_eq!(diagnostics.first().map(|d| d.0.as_str()), Some("E001"));
}

#[test]
fn long_reference_chains_are_bounded() {
    // k0 refers to k1, which refers to k2...: evaluating k0 first goes deep.
    let mut body = String::from("instance a { ");
    for i in 0..5_000 {
        body.push_str(&format!("k{i}: k{} ", i + 1));
    }
    body.push_str("k5000: 1 }");
    let found = codes(&body);
    assert!(found.iter().any(|(c, _)| c == "E011"), "{found:?}");
}

#[test]
fn deep_inheritance_chains_are_bounded() {
    let mut src = String::from("instance i0 {}\n");
    for i in 1..20_000 {
        src.push_str(&format!("instance i{i} inherits i{} {{}}\n", i - 1));
    }
    let started = std::time::Instant::now();
    let found = codes(&src);
    assert!(found.iter().any(|(c, _)| c == "E005"), "a lineage over the limit is reported");
    assert!(started.elapsed().as_secs() < 30);
}

/// Hosts, logins and ports deploy passes to ssh and rsync are checked with
/// the built-in schema on every build (E023), each at its item.
#[test]
fn names_that_are_not_plain_hosts_and_bad_ports_are_refused() {
    let found = codes(
        "instance prod {\n\
         targets { web { nodes: [\"ok-1.example.com\", \"-oProxyCommand=sh\", \"a b\", \"\", \"x@y\"] user: \"-l\" } }\n\
         deploy { user: \"fine_user\" }\n}\n\
         instance dev { targets { web { nodes: [\"w\"] port: 65536 } db { nodes: [\"d\"] port: 0 } } }\n",
    );
    let e023: Vec<usize> = found.iter().filter(|(c, _)| c == "E023").map(|(_, l)| *l).collect();
    assert_eq!(e023, [4, 4, 4, 4, 4, 7, 7], "{found:?}");
    assert_eq!(found.len(), 7, "{found:?}");
    let fine = instance(
        "instance prod { targets { web { nodes: [\"web-1\", \"10.0.0.2\"] user: \"deploy\" port: 2222 } } }",
        "prod",
    );
    assert_eq!(fine["targets"]["web"]["port"], json!(2222));
}
