//! `engine: "jinja"` tmpl groups (spec §10): templates rendered as the
//! original facsimile 1.1.1 rendered them with Jinja2, by minijinja (Jinja's
//! author's Rust engine) configured the same way: `.` line statements, `;.`
//! line comments, `trim_blocks`, `lstrip_blocks`, `keep_trailing_newline`, no
//! autoescape, a loader rooted at the template root being rendered, Python's
//! printing of `True`/`False`/`None`/lists/dicts, Jinja2's `tojson`
//! (`json.dumps(sort_keys=True)`, HTML-safe), and `.items()`-style methods.
//! One difference, on purpose: undefined values are strict (E015), where the
//! original printed nothing. See docs/decisions/jinja-engine.md.

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value};
use std::fmt::Write as _;
use std::path::Path;

/// Loop iterations and calls one file may spend (minijinja's fuel): nested
/// loops cannot run away.
const FUEL: u64 = 50_000_000;

/// An environment for one template root.
pub fn environment(root: &Path) -> Environment<'static> {
    let mut env = Environment::new();
    if let Ok(syntax) =
        minijinja::syntax::SyntaxConfig::builder().line_statement_prefix(".").line_comment_prefix(";.").build()
    {
        env.set_syntax(syntax);
    }
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    // Semi-strict: printing or indexing a missing value is E015, but `{% if x %}`
    // on one is false, as the original's templates rely on.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let load = minijinja::path_loader(root);
    env.set_loader(move |name| Ok(load(name)?.map(|text| as_jinja2(&text))));
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(python_format);
    env.add_filter("tojson", tojson);
    env.set_fuel(Some(FUEL));
    env
}

/// The context the original gave its templates: `env`, `instance` and
/// `definition` (the instance data), `module` keyed by `daemon` when set,
/// else by name (a later module with one daemon replaces an earlier one, as
/// in the original's dict), and `facs` with the project's name, version,
/// release environment and directories.
pub fn context(handlebars: &serde_json::Value, instance_name: &str) -> serde_json::Value {
    use serde_json::{Map, Value as J};
    let mut instance = handlebars.get("instance").cloned().unwrap_or(J::Object(Map::new()));
    // The original's templates read node groups as `env.deploy.nodes`, which
    // `facs import` turned into `targets`: give them both.
    if let (Some(J::Object(targets)), Some(obj)) = (instance.get("targets").cloned(), instance.as_object_mut()) {
        if !targets.is_empty() {
            let nodes: Map<String, J> =
                targets.iter().filter_map(|(t, v)| Some((t.clone(), v.get("nodes")?.clone()))).collect();
            if let J::Object(deploy) = obj.entry("deploy").or_insert_with(|| J::Object(Map::new())) {
                deploy.entry("nodes").or_insert(J::Object(nodes));
            }
        }
    }
    let mut modules = Map::new();
    if let Some(J::Object(m)) = handlebars.get("module") {
        for (name, module) in m {
            let key = module.get("daemon").and_then(J::as_str).unwrap_or(name);
            modules.insert(key.to_string(), module.clone());
        }
    }
    let facs_in = handlebars.get("facs");
    let field = |k: &str| facs_in.and_then(|f| f.get(k)).cloned().unwrap_or(J::String(String::new()));
    let mut facs = Map::new();
    facs.insert("name".into(), field("project"));
    facs.insert("version".into(), field("version"));
    // The original's release environment was dotted (`dev.dev0`); `facs
    // import` keeps it as the instance field `release_environment`.
    let release = instance.get("release_environment").and_then(J::as_str).unwrap_or(instance_name);
    facs.insert("release_environment".into(), J::String(release.to_string()));
    for dir in ["src_dir", "release_dir", "deploy_dir"] {
        facs.insert(dir.into(), field(dir));
    }
    let mut ctx = Map::new();
    for key in ["env", "instance", "definition"] {
        ctx.insert(key.into(), instance.clone());
    }
    ctx.insert("module".into(), J::Object(modules));
    ctx.insert("facs".into(), J::Object(facs));
    J::Object(ctx)
}

/// Renders `text` (the file `name`, relative to its root) with `ctx` (made
/// once per instance by [`context`] and `Value::from_serialize`) plus
/// `filename`: the context is shared, not copied, per file.
pub fn render(env: &Environment<'static>, name: &str, text: &str, ctx: &Value) -> Result<String, Error> {
    let ctx = minijinja::context! { filename => name, ..ctx.clone() };
    env.template_from_named_str(name, &as_jinja2(text))?.render(ctx)
}

/// Two places where Jinja2's lexer differs from minijinja's, rewritten
/// before parsing so the output is Jinja2's and every line keeps its number:
/// - a line holding only a `;.` comment renders as an empty line in Jinja2
///   (minijinja drops the line): it is blanked;
/// - Jinja2 ends a `.` line statement with `\s*\n`, which also swallows the
///   blank lines after it (minijinja keeps them): they are wrapped in a
///   `{# #}` comment.
///
/// (Inside `{% raw %}` both would differ; the original's templates had no
/// reason to hold line prefixes there.)
fn as_jinja2(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut after_statement = false;
    let mut swallowed = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let blank = line.trim().is_empty() && line.ends_with('\n');
        if after_statement && blank {
            swallowed.push('\n');
            continue;
        }
        if !swallowed.is_empty() {
            out.push_str("{#");
            out.push_str(&swallowed);
            out.push_str("#}");
            swallowed.clear();
        }
        let ending = if line.ends_with("\r\n") {
            "\r\n"
        } else if line.ends_with('\n') {
            "\n"
        } else {
            ""
        };
        if trimmed.starts_with(";.") {
            out.push_str(ending);
            after_statement = false;
        } else if let Some(at) = trailing_comment(line) {
            // `text ;. comment`: Jinja2 drops the comment and the blanks
            // before it, and keeps the newline.
            out.push_str(line.get(..at).unwrap_or(line).trim_end_matches([' ', '\t']));
            out.push_str(ending);
            after_statement = false;
        } else {
            out.push_str(line);
            after_statement = trimmed.starts_with('.') && line.ends_with('\n');
        }
    }
    if !swallowed.is_empty() {
        out.push_str("{#");
        out.push_str(&swallowed);
        out.push_str("#}");
    }
    out
}

/// Where a `;.` comment starts after text on `line`, outside `{{ }}` and
/// `{% %}` tags; `None` on a line statement (the comment belongs to it).
fn trailing_comment(line: &str) -> Option<usize> {
    if line.trim_start().starts_with('.') {
        return None;
    }
    let bytes = line.as_bytes();
    let mut in_tag = false;
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(b'{'), Some(b'{' | b'%' | b'#')) if !in_tag => {
                in_tag = true;
                i += 2;
                continue;
            }
            (Some(b'}' | b'%' | b'#'), Some(b'}')) if in_tag => {
                in_tag = false;
                i += 2;
                continue;
            }
            (Some(b';'), Some(b'.')) if !in_tag => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// What the original printed for `{{ value }}`: Python's `str()`.
fn python_format(out: &mut Output<'_>, _: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    let text = match value.kind() {
        ValueKind::String => value.as_str().unwrap_or("").to_string(),
        _ => repr(value),
    };
    out.write_str(&text).map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the output"))
}

/// Python's `repr()` of a value (strings quoted), which is also how
/// `str()` prints the items of a list or dict.
fn repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".into(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::String => python_quote(value.as_str().unwrap_or("")),
        ValueKind::Map => {
            let items: Vec<String> = value
                .try_iter()
                .map(|keys| {
                    keys.map(|k| {
                        let v = value.get_item(&k).unwrap_or_default();
                        format!("{}: {}", repr(&k), repr(&v))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = value.try_iter().map(|i| i.map(|v| repr(&v)).collect()).unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        _ => value.to_string(),
    }
}

/// Python's string `repr`: single quotes unless the text has one and no
/// double quote.
fn python_quote(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::from(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Jinja2's `tojson`: `json.dumps(value, sort_keys=True)` (ASCII only,
/// `, ` and `: ` separators), with `<`, `>`, `&` and `'` escaped.
fn tojson(value: &Value) -> Result<Value, Error> {
    let json = serde_json::to_value(value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("cannot write this value as JSON: {e}")))?;
    let mut out = String::new();
    python_json(&json, &mut out);
    Ok(Value::from_safe_string(out))
}

fn python_json(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match value {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u), _) => {
                let _ = write!(out, "{u}");
            }
            (None, None, Some(f)) => {
                let text = format!("{f:?}");
                out.push_str(&text);
            }
            _ => out.push_str("null"),
        },
        J::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    '<' | '>' | '&' | '\'' => {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    }
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            let _ = write!(out, "\\u{unit:04x}");
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_json(item, out);
            }
            out.push(']');
        }
        J::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_json(&J::String(k.clone()), out);
                out.push_str(": ");
                if let Some(v) = map.get(k) {
                    python_json(v, out);
                }
            }
            out.push('}');
        }
    }
}

/// Why the dotted path `text` (the source of the failing expression) is
/// undefined in `ctx`: a label naming what lacks which key, and the closest
/// key as help. Only keys are named, never values. `None` when the text is
/// not a plain path from the context's top level (a loop variable, a filter
/// call): nothing is guessed then.
pub fn explain_undefined(ctx: &Value, text: &str) -> Option<(String, Option<String>)> {
    let segments: Vec<&str> = text.trim().split('.').map(str::trim).collect();
    let is_name = |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !segments.iter().all(is_name) {
        return None;
    }
    let keys = |v: &Value| -> Vec<String> {
        if v.kind() != minijinja::value::ValueKind::Map {
            return Vec::new();
        }
        v.try_iter().map(|it| it.filter_map(|k| k.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    // The first segment must be a top-level name, else it is a local.
    if ctx.get_attr(segments.first()?).ok().is_none_or(|v| v.is_undefined()) {
        return None;
    }
    let mut at = ctx.clone();
    for (idx, seg) in segments.iter().enumerate() {
        let next = at.get_attr(seg).ok().filter(|v| !v.is_undefined());
        match next {
            Some(v) => at = v,
            None => {
                let owner = segments.get(..idx).unwrap_or_default().join(".");
                let names = keys(&at);
                let label = if names.is_empty() && at.kind() != minijinja::value::ValueKind::Map {
                    format!("`{owner}` is not a map: it has no `{seg}`")
                } else {
                    format!("`{owner}` has no field `{seg}`")
                };
                let help = crate::diagnostic::closest(seg, names.iter().map(String::as_str)).map(|k| {
                    format!(
                        "Did you mean `{}`?",
                        segments
                            .get(..idx)
                            .unwrap_or_default()
                            .iter()
                            .copied()
                            .chain([k])
                            .collect::<Vec<_>>()
                            .join(".")
                    )
                });
                return Some((label, help));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render_str(text: &str, ctx: serde_json::Value) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = environment(dir.path());
        render(&env, "t", text, &Value::from_serialize(&ctx)).unwrap_or_else(|e| panic!("{e:#}"))
    }

    #[test]
    fn values_print_as_python_printed_them() {
        let ctx = json!({"t": true, "f": false, "n": null, "l": ["a", 1, 2.5], "d": {"k": "it's"}});
        assert_eq!(render_str("{{ t }} {{ f }} {{ n }}", ctx.clone()), "True False None");
        assert_eq!(render_str("{{ l }} {{ d }}", ctx), "['a', 1, 2.5] {'k': \"it's\"}");
    }

    #[test]
    fn line_statements_comments_and_trimming_are_the_originals() {
        // Checked against Jinja2 3.1 configured as facsimile 1.1.1 did.
        let text = ";. a comment\n. for x in xs\n  - {{ x }}\n. endfor\n{% if a %}\nyes\n{% endif %}\nend\n";
        assert_eq!(render_str(text, json!({"xs": [1, 2], "a": true})), "\n  - 1\n  - 2\nyes\nend\n");
        let text = "a\n;. c\nb\n. if x\nY\n. elif y\nZ\n. endif\nend\n";
        assert_eq!(render_str(text, json!({"x": false, "y": true})), "a\n\nb\nZ\nend\n");
        // Jinja2's line statements swallow the blank lines after them.
        assert_eq!(render_str(". if x\n\n\n[S]\n. endif\n", json!({"x": true})), "[S]\n");
        assert_eq!(render_str(". for i in [1,2]\n\n{{i}}\n. endfor\n\nE\n", json!({})), "1\n2\nE\n");
        assert_eq!(render_str("a\n;. c\n\nb\n", json!({})), "a\n\n\nb\n");
        assert_eq!(render_str(". set y = 1\n  \nq\n", json!({})), "q\n");
        assert_eq!(render_str("L=1 ;. note\nnext {{ 'a;.b' }}\n", json!({})), "L=1\nnext a;.b\n");
    }

    #[test]
    fn tojson_is_jinja2s() {
        let ctx = json!({"v": {"b": "<&'>", "a": [1, "é"]}});
        assert_eq!(render_str("{{ v|tojson }}", ctx), r#"{"a": [1, "\u00e9"], "b": "\u003c\u0026\u0027\u003e"}"#);
    }

    #[test]
    fn dict_methods_and_insertion_order() {
        let ctx = json!({"m": {"z": 1, "a": 2}});
        assert_eq!(render_str("{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}", ctx), "z=1;a=2;");
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = environment(dir.path());
        let empty = Value::from_serialize(json!({}));
        let e = render(&env, "t", "a {{ nope.x }}", &empty).expect_err("strict");
        assert_eq!(e.kind(), ErrorKind::UndefinedError);
        assert_eq!(
            render(&env, "t", "{{ nope|default('d') }}{% if nope is defined %}x{% endif %}", &empty).ok(),
            Some("d".into())
        );
    }

    #[test]
    fn modules_are_keyed_by_daemon() {
        let hb = json!({"instance": {"a": 1}, "module": {"api": {"daemon": "shop", "n": 1}, "worker": {"daemon": "shop", "n": 2}, "db": {"n": 3}},
                        "facs": {"project": "p", "version": "1"}});
        let ctx = context(&hb, "dev0");
        assert_eq!(ctx["module"], json!({"shop": {"daemon": "shop", "n": 2}, "db": {"n": 3}}));
        assert_eq!(ctx["facs"]["release_environment"], json!("dev0"));
        assert_eq!(ctx["env"], json!({"a": 1}));
    }

    #[test]
    fn an_undefined_path_names_what_lacks_it_and_the_closest_key() {
        let ctx = Value::from_serialize(serde_json::json!({"env": {"hostname_x": 1, "host": "h", "port": 1}}));
        let (label, help) = explain_undefined(&ctx, "env.hots").expect("explained");
        assert_eq!(label, "`env` has no field `hots`");
        assert_eq!(help.as_deref(), Some("Did you mean `env.host`?"));
        assert_eq!(explain_undefined(&ctx, "env.zzzzzz").map(|e| e.1), Some(None));
        // A loop variable, or anything but a plain path: nothing is guessed.
        assert!(explain_undefined(&ctx, "m.port").is_none());
        assert!(explain_undefined(&ctx, "env.port | default(1)").is_none());
    }
}
