//! Unit tests of `facs import`: the Jinja converter, the schema inference, the
//! `.facs` writer, and whole imports compiled in memory with
//! `build::compile_memory` against the original's merge.
#![allow(clippy::indexing_slicing)]

use super::infer::Shape;
use super::jinja::{self, Context};
use super::{facs, import, How, ImportError, LegacyDir, LegacyFile};
use crate::build::compile_memory;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------- helpers

fn legacy(files: &[(&str, &str)]) -> LegacyDir {
    let mut dir = LegacyDir::default();
    for (path, text) in files {
        dir.files.insert(path.to_string(), LegacyFile { bytes: text.as_bytes().to_vec(), executable: false });
    }
    dir
}

/// Imports, compiles the `.facs` files in memory and returns each concrete
/// instance's data without `name` and the built-in defaults.
fn imported_instances(files: &[(&str, &str)]) -> Vec<(String, Value)> {
    let imported = import(&legacy(files)).expect("import succeeds");
    let sources: Vec<(String, String)> = imported
        .files
        .iter()
        .filter(|f| f.path.ends_with(".facs"))
        .map(|f| (f.path.clone(), String::from_utf8(f.bytes.clone()).expect("utf-8")))
        .collect();
    let refs: Vec<(&str, &str)> = sources.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let (manifests, diagnostics) = compile_memory(&refs);
    assert!(
        diagnostics.iter().all(|(c, _, _)| c.starts_with('W')),
        "diagnostics {diagnostics:?} for\n{}",
        sources.iter().map(|(p, t)| format!("//// {p}\n{t}")).collect::<String>()
    );
    manifests
        .into_iter()
        .map(|(name, m)| {
            let mut instance = m["instance"].clone();
            if let Value::Object(map) = &mut instance {
                map.shift_remove("name");
                if map.get("install") == Some(&json!([])) {
                    map.shift_remove("install");
                }
                if map.get("targets") == Some(&json!({})) {
                    map.shift_remove("targets");
                }
            }
            (name, instance)
        })
        .collect()
}

fn merged(chain: &[&str]) -> Value {
    let mut out = Map::new();
    for text in chain {
        let Value::Object(map) = serde_json::from_str::<Value>(text).expect("json") else { panic!("not an object") };
        facs::merge(&mut out, &map);
    }
    Value::Object(out)
}

fn ctx() -> Context {
    let mut c = Context::default();
    for p in [
        &["instance", "db"][..],
        &["instance", "db", "host"],
        &["instance", "hosts"],
        &["instance", "features"],
        &["instance", "debug"],
        &["project", "name"],
        &["module"],
    ] {
        c.present.insert(p.iter().map(|s| s.to_string()).collect());
    }
    c.maps.insert(vec!["instance".into(), "features".into()]);
    c.renames.insert("name".into(), "name_".into());
    c
}

fn convert(src: &str) -> String {
    jinja::convert(src, &ctx()).unwrap_or_else(|e| panic!("not converted: {e:?}"))
}

fn unsupported(src: &str) -> Vec<(usize, String)> {
    match jinja::convert(src, &ctx()) {
        Ok(out) => panic!("converted to {out:?}"),
        Err(list) => list.into_iter().map(|u| (u.line, u.reason)).collect(),
    }
}

// ---------------------------------------------------------------- Jinja

#[test]
fn variables_lose_their_spaces_and_gain_their_root() {
    assert_eq!(convert("a {{ db.host }} b"), "a {{instance.db.host}} b");
    assert_eq!(convert("{{ project }} {{ project.project }}"), "{{project.name}} {{project.name}}");
    assert_eq!(convert("{{ modules.web.port }}"), "{{default module.web.port \"\"}}");
    assert_eq!(convert("{{ name }}"), "{{default instance.name_ \"\"}}");
    assert_eq!(convert("{{ db['host'] }} {{ hosts[0] }}"), "{{instance.db.host}} {{default instance.hosts.[0] \"\"}}");
}

#[test]
fn a_path_some_instance_lacks_gets_a_default() {
    assert_eq!(convert("{{ port }}"), "{{default instance.port \"\"}}");
    assert_eq!(convert("{% if port %}{{ port }}{% endif %}"), "{{#if instance.port}}{{instance.port}}{{/if}}");
    assert_eq!(
        convert("{% if port %}{% else %}{{ port }}{% endif %}"),
        "{{#if instance.port}}{{else}}{{default instance.port \"\"}}{{/if}}"
    );
}

#[test]
fn filters_become_helpers() {
    assert_eq!(convert("{{ db.host|upper }}"), "{{upper instance.db.host}}");
    assert_eq!(convert("{{ db.host | lower }}"), "{{lower instance.db.host}}");
    assert_eq!(convert("{{ title|default('none') }}"), "{{default instance.title \"none\"}}");
    assert_eq!(convert("{{ title|d(\"a'b\") }}"), "{{default instance.title \"a'b\"}}");
    assert_eq!(convert("{{ hosts|tojson }}"), "{{json instance.hosts}}");
    assert_eq!(convert("{{ hosts|join(', ') }}"), "{{join instance.hosts \", \"}}");
    assert_eq!(convert("{{ hosts|length }}"), "{{len instance.hosts}}");
    assert_eq!(convert("{{ title|default('x')|upper }}"), "{{upper (default instance.title \"x\")}}");
    assert_eq!(convert("{{ title|upper }}"), "{{upper (default instance.title \"\")}}");
    assert_eq!(convert("{{ db.host|safe }}"), "{{instance.db.host}}");
}

#[test]
fn loops_over_maps_and_lists() {
    assert_eq!(
        convert("{% for k, v in features.items() %}{{ k }}={{ v }};{% endfor %}"),
        "{{#each instance.features}}{{@key}}={{this}};{{/each}}"
    );
    assert_eq!(convert("{% for k in features %}{{ k }}{% endfor %}"), "{{#each instance.features}}{{@key}}{{/each}}");
    assert_eq!(
        convert("{% for v in features.values() %}{{ v }}{% endfor %}"),
        "{{#each instance.features}}{{this}}{{/each}}"
    );
    assert_eq!(
        convert("{% for h in hosts %}{{ loop.index0 }}:{{ h }}@{{ db.host }}{% else %}none{% endfor %}"),
        "{{#each instance.hosts}}{{@index}}:{{this}}@{{@root.instance.db.host}}{{else}}none{{/each}}"
    );
    assert_eq!(
        convert("{% for s in servers %}{{ s.host }}{% endfor %}"),
        "{{#if instance.servers}}{{#each instance.servers}}{{default this.host \"\"}}{{/each}}{{/if}}"
    );
    assert_eq!(
        convert("{% for name, m in modules.items() %}{% for h in m.hosts %}{{ name }}{{ h }}{{ m.port }}{% endfor %}{% endfor %}"),
        "{{#each module}}{{#if this.hosts}}{{#each this.hosts}}{{@../key}}{{this}}{{default ../this.port \"\"}}{{/each}}{{/if}}{{/each}}"
    );
}

#[test]
fn conditions() {
    assert_eq!(convert("{% if debug %}d{% endif %}"), "{{#if instance.debug}}d{{/if}}");
    assert_eq!(convert("{% if not debug %}d{% endif %}"), "{{#unless instance.debug}}d{{/unless}}");
    assert_eq!(
        convert("{% if debug %}a{% elif db.host == 'x' %}b{% elif not port %}c{% else %}d{% endif %}"),
        "{{#if instance.debug}}a{{else if (eq instance.db.host \"x\")}}b{{else if (not (default instance.port \"\"))}}c{{else}}d{{/if}}"
    );
    assert_eq!(
        convert("{% if debug and (port >= 1024 or port != 0) %}x{% endif %}"),
        "{{#if (and instance.debug (or (gte (default instance.port \"\") 1024) (ne (default instance.port \"\") 0)))}}x{{/if}}"
    );
    assert_eq!(convert("{% if hosts|length > 1 %}x{% endif %}"), "{{#if (gt (len instance.hosts) 1)}}x{{/if}}");
}

#[test]
fn comments_raw_blocks_and_whitespace_control() {
    assert_eq!(convert("a{# note #}b"), "a{{!-- note --}}b");
    assert_eq!(convert("{% raw %}{{ x }}{% endraw %}"), "\\{{ x }}");
    assert_eq!(convert("a  {%- if debug -%}  b  {%- endif %}\n"), "a{{#if instance.debug}}b{{/if}}\n");
    assert_eq!(convert("x {{- db.host -}} y"), "x{{instance.db.host}}y");
    assert_eq!(convert("{{ 'lit' }} {{ 3 }}"), "lit 3");
}

#[test]
fn backslashes_before_a_mustache_are_kept() {
    // Handlebars reads `\{{` as an escape: one more backslash keeps it live.
    assert_eq!(convert("C:\\{{ db.host }}"), "C:\\\\{{instance.db.host}}");
    assert_eq!(jinja::literal("a {{ x }} \\{{ y }}"), "a \\{{ x }} \\\\{{!}}\\{{ y }}");
}

#[test]
fn unsupported_constructs_are_listed_with_their_line() {
    assert_eq!(unsupported("a\n{% set x = 1 %}\n"), vec![(2, "the `set` statement".to_string())]);
    assert_eq!(unsupported("{% macro m() %}{% endmacro %}").len(), 2);
    assert_eq!(unsupported("{% include 'x' %}"), vec![(1, "the `include` statement".to_string())]);
    assert_eq!(unsupported("{{ x|replace('a', 'b') }}"), vec![(1, "the filter `|replace`".to_string())]);
    assert_eq!(unsupported("{{ a ~ b }}"), vec![(1, "the `~` operator".to_string())]);
    assert_eq!(unsupported("{% if x is defined %}{% endif %}"), vec![(1, "a test (`is ...`)".to_string())]);
    assert_eq!(
        unsupported("{% for a in hosts %}{{ loop.index }}{% endfor %}"),
        vec![(1, "a `loop` variable other than index0, first and last".to_string())]
    );
    assert_eq!(
        unsupported("{% for a, b in pairs %}{% endfor %}"),
        vec![(1, "tuple unpacking of list elements".to_string())]
    );
    assert_eq!(unsupported("x\n{% if a %}"), vec![(2, "the block is never closed".to_string())]);
    assert_eq!(unsupported("{% endif %}"), vec![(1, "`endif` without its `if`".to_string())]);
    assert_eq!(unsupported("a {{ b"), vec![(1, "`{{` is never closed by `}}`".to_string())]);
}

#[test]
fn text_without_jinja_is_unchanged() {
    let text = "plain ${shell} text } and { braces\n";
    assert_eq!(convert(text), text);
}

// ---------------------------------------------------------------- inference

fn type_of(values: &[Value]) -> String {
    let mut shape = Shape::new();
    for v in values {
        shape.observe(v, true);
    }
    shape.type_text(0)
}

#[test]
fn scalar_types_join() {
    assert_eq!(type_of(&[json!(1), json!(2)]), "int");
    assert_eq!(type_of(&[json!(1), json!(2.5)]), "float");
    assert_eq!(type_of(&[json!("a"), json!(true)]), "any");
    assert_eq!(type_of(&[json!(null)]), "any");
    assert_eq!(type_of(&[json!([]), json!(["a"])]), "[string]");
    assert_eq!(type_of(&[json!([])]), "[any]");
    assert_eq!(type_of(&[json!(["a", null])]), "[string?]");
    assert_eq!(type_of(&[json!([1, "a"])]), "[any]");
    assert_eq!(type_of(&[json!([1]), json!({"a": 1})]), "any");
}

#[test]
fn records_know_which_fields_every_map_has() {
    let t = type_of(&[
        json!({"a": 1, "b": {"c": "x"}, "n": null}),
        json!({"a": 2, "n": "s", "l": [{"x": 1}, {"x": 2, "y": true}]}),
    ]);
    assert_eq!(
        t,
        "{\n  a: int\n  b?: {\n    c: string\n  }\n  n?: string\n  l?: [{\n    x: int\n    y?: bool\n  }]\n}"
    );
}

#[test]
fn uncounted_values_only_widen_types() {
    let mut shape = Shape::new();
    shape.observe(&json!({"a": "s", "only_here": 1}), false);
    shape.observe(&json!({"a": 1}), true);
    assert_eq!(shape.type_text(0), "{\n  a: any\n  only_here?: int\n}");
}

// ---------------------------------------------------------------- writer

#[test]
fn strings_escape_everything_that_would_be_read_differently() {
    assert_eq!(facs::string("a\"b\\c\nd\te$f${g}\u{1}"), "\"a\\\"b\\\\c\\nd\\te\\$f\\${g}\\u{1}\"");
    assert_eq!(facs::key("plain-key_1"), "plain-key_1");
    assert_eq!(facs::key("on"), "\"on\"");
    assert_eq!(facs::key("with space"), "\"with space\"");
    assert_eq!(facs::key("1st"), "\"1st\"");
}

#[test]
fn numbers_keep_their_kind() {
    let n = |text: &str| facs::number(&serde_json::from_str(text).expect("number"));
    assert_eq!(n("2").as_deref(), Some("2"));
    assert_eq!(n("-7").as_deref(), Some("-7"));
    assert_eq!(n("2.0").as_deref(), Some("2.0"));
    assert_eq!(n("1e300").as_deref(), Some("1e300"));
    assert_eq!(n("0.1").as_deref(), Some("0.1"));
    assert_eq!(n("18446744073709551615"), None);
}

// ---------------------------------------------------------------- whole imports

#[test]
fn instances_equal_the_original_merge() {
    let defaults =
        r#"{"db": {"host": "h", "port": 1, "opts": {"a": 1}}, "l": [1, 2], "m": {"x": 1}, "s": "a$b", "n": null}"#;
    let dev = r#"{"db": {"host": "dev", "opts": {"b": 2}}, "l": [3], "m": "flat", "n": {"k": true}}"#;
    let dev0 = r#"{"db": {"port": 2}, "m": {"y": 2}, "f": 1.5, "n": null}"#;
    let prod = r#"{"db": {"host": "prod"}, "l": [], "f": 2}"#;
    let instances = imported_instances(&[
        ("facsimile.json", r#"{"project": "p", "version": "1"}"#),
        ("p.json", defaults),
        ("dev.json", dev),
        ("dev.dev0.json", dev0),
        ("prod.json", prod),
    ]);
    let expected = [
        ("dev", merged(&[defaults, dev])),
        ("dev0", merged(&[defaults, dev, dev0])),
        ("prod", merged(&[defaults, prod])),
    ];
    assert_eq!(instances.len(), expected.len());
    for (name, want) in expected {
        let got = instances.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert_eq!(got, Some(want), "instance {name}");
    }
}

#[test]
fn any_key_survives_quoting() {
    let defaults = r#"{"": 1, "a.b": 2, "with space": 3, "on": 4, "1x": 5, "ünï": 6, "$x": 7, "q\"k": {"null": null}}"#;
    let dev = r#"{"on": {"true": false}, "big": 18446744073709551615}"#;
    let instances =
        imported_instances(&[("facsimile.json", r#"{"project": "p"}"#), ("p.json", defaults), ("dev.json", dev)]);
    let mut want = merged(&[defaults, dev]);
    want["big"] = json!(18446744073709551615.0_f64);
    assert_eq!(instances, vec![("dev".to_string(), want)]);
}

#[test]
fn the_defaults_instance_takes_a_free_name() {
    let imported = import(&legacy(&[
        ("facsimile.json", r#"{"project": "p"}"#),
        ("p.json", r#"{"x": 1}"#),
        ("defaults.json", r#"{"y": 1}"#),
    ]))
    .expect("import");
    let envs = imported.files.iter().find(|f| f.path == "envs.facs").expect("envs.facs");
    let text = String::from_utf8_lossy(&envs.bytes);
    assert!(text.contains("abstract instance _defaults {") && text.contains("instance defaults inherits _defaults {"));
}

#[test]
fn a_prefix_without_a_file_is_an_empty_abstract_instance() {
    let files = [
        ("facsimile.json", r#"{"project": "p"}"#),
        ("group.a.json", r#"{"x": 1}"#),
        ("group.b.json", r#"{"x": 2, "y": "b"}"#),
    ];
    let imported = import(&legacy(&files)).expect("import");
    let envs = imported.files.iter().find(|f| f.path == "envs.facs").expect("envs.facs");
    let text = String::from_utf8_lossy(&envs.bytes);
    assert!(text.contains("abstract instance group {}"), "{text}");
    assert!(text.contains("instance a inherits group {"), "{text}");
    let schema = imported.files.iter().find(|f| f.path == "schema.facs").expect("schema.facs");
    let schema = String::from_utf8_lossy(&schema.bytes);
    assert!(schema.contains("  x: int\n  y?: string\n"), "{schema}");
    let names: Vec<String> = imported_instances(&files).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn reserved_and_misshapen_fields_are_renamed() {
    let files = [
        ("facsimile.json", r#"{"project": "p", "name": "Pretty"}"#),
        ("p.json", r#"{"name": "n", "env": "e", "deploy": {"user": "u", "host": "h"}, "home": "/h"}"#),
        ("a.json", r#"{"name_": "taken"}"#),
        ("modules.json", r#"{"web": {"name": "web", "username": "other", "service": {"port": 1}}}"#),
    ];
    let imported = import(&legacy(&files)).expect("import");
    let changed: Vec<&str> = imported.changed.iter().map(|n| n.what.as_str()).collect();
    assert!(changed.iter().any(|w| w.starts_with("field `name` renamed to `name__`")), "{changed:?}");
    assert!(changed.iter().any(|w| w.starts_with("field `env` renamed to `env_`")), "{changed:?}");
    assert!(changed.iter().any(|w| w.starts_with("field `deploy` renamed to `deploy_`")), "{changed:?}");
    assert!(changed.iter().any(|w| w.contains("field `username` renamed to `username_`")), "{changed:?}");
    assert!(changed.iter().any(|w| w.contains("field `service` renamed to `service_`")), "{changed:?}");
    let instances = imported_instances(&files);
    let a = &instances.first().expect("a").1;
    assert_eq!(a["name__"], "n");
    assert_eq!(a["name_"], "taken");
    assert_eq!(a["deploy_"], json!({"user": "u", "host": "h"}));
    assert_eq!(a["home"], "/h");
}

#[test]
fn bad_environment_names_are_skipped_with_their_descendants() {
    let files = [
        ("facsimile.json", r#"{"project": "p"}"#),
        ("dev.json", "{}"),
        ("dev.x.json", "{}"),
        ("beta.x.json", "{}"),
        ("9lives.json", "{}"),
        ("9lives.kid.json", "{}"),
    ];
    let imported = import(&legacy(&files)).expect("import");
    let skipped: Vec<&str> = imported.not_converted.iter().map(|n| n.file.as_str()).collect();
    assert_eq!(skipped, ["9lives.json", "9lives.kid.json", "dev.x.json"]);
    let mut names: Vec<String> = imported_instances(&files).into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["dev", "x"]);
}

#[test]
fn templates_are_converted_or_left_as_is() {
    let imported = import(&legacy(&[
        ("facsimile.json", r#"{"project": "p"}"#),
        ("a.json", r#"{"install": [{"type": "tmpl", "dir": "tmpl"}], "port": 1}"#),
        ("tmpl/_ALL_/ok.txt", "{{ port }}"),
        ("tmpl/_ALL_/plain.txt", "no jinja"),
        ("tmpl/a/bad.txt", "x\n{% include 'y' %} {{ port }}"),
    ]))
    .expect("import");
    let file = |p: &str| imported.files.iter().find(|f| f.path == p).expect("file");
    assert_eq!(file("tmpl/_ALL_/ok.txt").bytes, b"{{instance.port}}");
    assert_eq!(file("tmpl/_ALL_/ok.txt").how, How::Converted);
    assert_eq!(file("tmpl/_ALL_/plain.txt").how, How::Copied);
    assert_eq!(file("tmpl/a/bad.txt").how, How::LeftAsIs);
    assert_eq!(file("tmpl/a/bad.txt").bytes, b"x\n{% include 'y' %} \\{{ port }}");
    assert_eq!(imported.not_converted.len(), 1);
    let report = imported.report("out");
    assert!(report.contains("tmpl/a/bad.txt:2: `{% include 'y' %}`: the `include` statement"), "{report}");
}

#[test]
fn a_clean_import_says_everything_converted() {
    let imported = import(&legacy(&[("facsimile.json", r#"{"project": "p"}"#), ("a.json", "{}")])).expect("import");
    assert!(imported.report("out").ends_with("everything converted\n"));
}

#[test]
fn errors_name_the_file_and_position() {
    assert_eq!(import(&legacy(&[("a.json", "{}")])).err(), Some(ImportError::NoFacsimileJson));
    let err = import(&legacy(&[("facsimile.json", r#"{"project": "p"}"#), ("dev.json", "{\n  \"a\": 1,\n}")]))
        .expect_err("an error");
    assert!(matches!(&err, ImportError::InvalidJson { file, line: 3, column: 1, .. } if file == "dev.json"), "{err:?}");
    assert!(err.to_string().starts_with("dev.json:3:1: invalid JSON: "), "{err}");
    let err = import(&legacy(&[("facsimile.json", r#"{"project": "p"}"#), ("dev.json", "[1]")])).err();
    assert_eq!(err, Some(ImportError::NotAnObject { file: "dev.json".into() }));
    assert_eq!(import(&legacy(&[("facsimile.json", "{}")])).err(), Some(ImportError::NoProjectName));
}
