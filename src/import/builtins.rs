//! The original's built-in keys, converted to their `.facs` forms.
//!
//! Input: one level's JSON data, or `modules.json`. Output: the same data
//! with `install.groups` as the `install` list (tmpl groups rendered by the
//! Jinja engine, copy-group tokens as interpolations, `\1` as `${1}`, `dir`
//! as `dirs`), `deploy.nodes` as `targets`, `%HOMEDIR%`/`{{environ.X}}` as
//! `facs.env.X`, and the keys `.facs` reserves renamed. Every change is a
//! [`Note`](super::Note) for the report: a key is moved or renamed, never
//! dropped without one.

use super::facs::interpolation;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Names that cannot be instance fields (spec §5).
pub const RESERVED_INSTANCE: &[&str] = &["name", "project", "module", "instance", "env", "facs"];
/// The built-in Instance fields the import writes itself.
pub const BUILTIN_INSTANCE: &[&str] = &["home", "deploy", "install", "targets"];
/// The Deploy fields facs knows; other keys are declared in `schema Deploy`.
pub const DEPLOY_FIELDS: &[&str] = &["user", "destdir", "postcmd"];
/// The Service fields facs knows; other keys are declared in `schema Service`.
pub const SERVICE_FIELDS: &[&str] = &["name", "logical_name", "n_instances"];

/// The original's copy-group tokens (facsimile `install.py`), as `.facs`
/// text. `$BUILD_DIR$` and `$CONFIGURATION_NAME$` were constants on Linux.
fn copy_tokens() -> [(&'static str, String); 4] {
    [
        ("$SRC_DIR$", interpolation("facs.src_dir")),
        ("$DEPLOY_DIR$", interpolation("facs.deploy_dir")),
        ("$BUILD_DIR$", "build-64bit-gcc44".to_string()),
        ("$CONFIGURATION_NAME$", "CFNAME_INVALID_ON_LINUX".to_string()),
    ]
}

/// What a conversion changed, for the report.
#[derive(Default)]
pub struct Changes {
    /// (file, what) pairs.
    pub notes: Vec<(String, String)>,
    /// Environment variables the definitions read (`project { env }`).
    pub env_vars: BTreeSet<String>,
    /// Template directories of tmpl groups, as written.
    pub tmpl_dirs: BTreeSet<String>,
}

impl Changes {
    fn note(&mut self, file: &str, what: impl Into<String>) {
        self.notes.push((file.to_string(), what.into()));
    }
}

/// Decides, over every level, which top-level keys must be renamed: the
/// reserved names, and built-in fields whose legacy value cannot become the
/// built-in field. One decision per key, so every level agrees.
pub fn renames(levels: &[(String, &Map<String, Value>)]) -> BTreeMap<String, (String, String)> {
    let all: BTreeSet<&String> = levels.iter().flat_map(|(_, m)| m.keys()).collect();
    let mut taken: BTreeSet<String> = all.iter().map(|k| k.to_string()).collect();
    let mut out = BTreeMap::new();
    for (_, map) in levels {
        for (key, value) in map.iter() {
            if out.contains_key(key) {
                continue;
            }
            let why = if RESERVED_INSTANCE.contains(&key.as_str()) {
                Some(format!("`{key}` is reserved in .facs"))
            } else {
                misfit(key, value).map(|why| format!("{why}, so it cannot become the built-in `{key}`"))
            };
            if let Some(why) = why {
                let mut new = format!("{key}_");
                while taken.contains(&new) {
                    new.push('_');
                }
                taken.insert(new.clone());
                out.insert(key.clone(), (new, why));
            }
        }
    }
    // A legacy `targets` key and `deploy.nodes` would both write `targets`.
    let has_nodes =
        levels.iter().any(|(_, m)| matches!(m.get("deploy"), Some(Value::Object(d)) if d.contains_key("nodes")));
    if has_nodes && all.iter().any(|k| k.as_str() == "targets") && !out.contains_key("targets") {
        let mut new = "targets_".to_string();
        while taken.contains(&new) {
            new.push('_');
        }
        out.insert("targets".into(), (new, "`deploy.nodes` becomes `targets`".into()));
    }
    out
}

/// Why a legacy built-in key's value does not fit its conversion.
fn misfit(key: &str, value: &Value) -> Option<String> {
    let strings = |v: &Value| matches!(v, Value::Array(items) if items.iter().all(Value::is_string));
    match (key, value) {
        ("home", Value::String(_) | Value::Null) => None,
        ("home", _) => Some("it is not a string".into()),
        ("install", Value::Object(install)) => match install.get("groups") {
            Some(Value::Array(groups)) => {
                groups.iter().find_map(|g| group_misfit(g)).map(|why| format!("a group of `install.groups` {why}"))
            }
            None if install.is_empty() => None,
            _ => Some("`install.groups` is not a list".into()),
        },
        ("install", _) => Some("it is not a map with `groups`".into()),
        ("deploy", Value::Object(d)) => {
            let opt_string = |k: &str| matches!(d.get(k), None | Some(Value::Null | Value::String(_)));
            if !opt_string("user") || !opt_string("destdir") {
                Some("`deploy.user` or `deploy.destdir` is not a string".into())
            } else if d.get("postcmd").is_some_and(|p| !strings(p)) {
                Some("`deploy.postcmd` is not a list of strings".into())
            } else {
                match d.get("nodes") {
                    None => None,
                    Some(Value::Object(nodes)) if nodes.values().all(strings) => None,
                    Some(_) => Some("`deploy.nodes` is not a map of host lists".into()),
                }
            }
        }
        ("deploy", _) => Some("it is not a map".into()),
        ("targets", Value::Object(targets)) => {
            let fits = targets.values().all(|t| matches!(t, Value::Object(t) if t.get("nodes").is_some_and(strings)));
            (!fits).then(|| "it is not a map of `{ nodes: [...] }` targets".into())
        }
        ("targets", _) => Some("it is not a map".into()),
        _ => None,
    }
}

fn group_misfit(group: &Value) -> Option<&'static str> {
    let Value::Object(g) = group else { return Some("is not a map") };
    let string = |k: &str| matches!(g.get(k), None | Some(Value::String(_)));
    let strings = |k: &str| match g.get(k) {
        None => true,
        Some(Value::Array(items)) => items.iter().all(Value::is_string),
        _ => false,
    };
    match g.get("type").and_then(Value::as_str) {
        Some("tmpl") if matches!(g.get("dir"), Some(Value::String(_))) && string("skip") => None,
        Some("tmpl") => Some("is a tmpl group without a string `dir`"),
        None | Some("copy") => {
            if g.get("type").is_some_and(|t| !t.is_string()) {
                Some("has a `type` that is not a string")
            } else if strings("files") && strings("optfiles") && string("pattern") && string("replace") && string("dir")
            {
                None
            } else {
                Some("is a copy group whose files, pattern or dir are not strings")
            }
        }
        Some(_) => Some("has a type other than tmpl and copy"),
    }
}

/// Converts one level's data.
pub fn level(
    file: &str,
    data: &Map<String, Value>,
    renames: &BTreeMap<String, (String, String)>,
    changes: &mut Changes,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in data {
        let value = environ(file, value, changes);
        if let Some((new, why)) = renames.get(key) {
            changes.note(file, format!("`{key}` renamed to `{new}`: {why}"));
            out.insert(new.clone(), value);
            continue;
        }
        match (key.as_str(), value) {
            ("install", Value::Object(install)) => {
                // `install: {}` changed nothing in the original's merge: no
                // list here, or it would replace the inherited one.
                if let Some(Value::Array(groups)) = install.get("groups") {
                    let groups: Vec<Value> = groups.iter().map(|g| install_group(file, g, changes)).collect();
                    changes.note(file, "`install.groups` converted to the `install` list");
                    out.insert("install".into(), Value::Array(groups));
                }
                for other in install.keys().filter(|k| k.as_str() != "groups") {
                    changes.note(file, format!("`install.{other}` dropped: the original reads only `install.groups`"));
                }
            }
            ("deploy", Value::Object(mut deploy)) => {
                if let Some(Value::Object(nodes)) = deploy.remove("nodes") {
                    let targets: Map<String, Value> = nodes
                        .into_iter()
                        .map(|(t, hosts)| (t, Value::Object(Map::from_iter([("nodes".to_string(), hosts)]))))
                        .collect();
                    changes.note(
                        file,
                        "`deploy.nodes` converted to `targets` (each node group a target; templates read \
                         `env.targets.<group>.nodes`)",
                    );
                    out.insert("targets".into(), Value::Object(targets));
                }
                if !deploy.is_empty() {
                    out.insert("deploy".into(), Value::Object(deploy));
                }
            }
            (_, value) => {
                out.insert(key.clone(), value);
            }
        }
    }
    out
}

/// `%HOMEDIR%`, `{{environ.HOME}}` and `{{environ.USER}}`, which the original
/// replaced in the file's text before parsing it, as `facs.env.X`.
fn environ(file: &str, value: &Value, changes: &mut Changes) -> Value {
    match value {
        Value::String(s) => {
            let mut text = s.clone();
            for (token, var) in [("%HOMEDIR%", "HOME"), ("{{environ.HOME}}", "HOME"), ("{{environ.USER}}", "USER")] {
                if text.contains(token) {
                    text = text.replace(token, &interpolation(&format!("facs.env.{var}")));
                    if changes.env_vars.insert(var.to_string()) {
                        changes.note(
                            file,
                            format!("`{token}` converted to `${{facs.env.{var}}}` (`project {{ env }}` lists {var})"),
                        );
                    }
                }
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| environ(file, v, changes)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), environ(file, v, changes))).collect()),
        other => other.clone(),
    }
}

fn install_group(file: &str, group: &Value, changes: &mut Changes) -> Value {
    let Value::Object(g) = group else { return group.clone() };
    let mut out = Map::new();
    if g.get("type").and_then(Value::as_str) == Some("tmpl") {
        out.insert("type".into(), "tmpl".into());
        for (k, v) in g {
            match k.as_str() {
                "type" => {}
                "dir" | "skip" => {
                    if k == "dir" {
                        if let Some(d) = v.as_str() {
                            changes.tmpl_dirs.insert(d.to_string());
                        }
                    }
                    out.insert(k.clone(), v.clone());
                }
                other => changes.note(file, format!("tmpl group key `{other}` dropped: the original ignores it")),
            }
        }
        out.insert("engine".into(), "jinja".into());
        return Value::Object(out);
    }
    let tokens = copy_tokens();
    let detokenize = |s: &str| tokens.iter().fold(s.to_string(), |s, (t, v)| s.replace(t, v));
    for (k, v) in g {
        match (k.as_str(), v) {
            ("type", _) => {
                out.insert("type".into(), "copy".into());
            }
            ("files" | "optfiles", Value::Array(items)) => {
                let items = items.iter().map(|i| Value::String(detokenize(i.as_str().unwrap_or("")))).collect();
                out.insert(k.clone(), Value::Array(items));
            }
            ("pattern", Value::String(p)) => {
                out.insert(k.clone(), Value::String(detokenize(p)));
            }
            ("replace", Value::String(r)) => {
                let converted = python_replacement(r);
                if converted != *r {
                    changes
                        .note(file, format!("copy replacement {r:?} written in the regex crate's form {converted:?}"));
                }
                out.insert(k.clone(), Value::String(converted));
            }
            ("dir", Value::String(d)) => {
                out.insert("dirs".into(), Value::Array(vec![Value::String(detokenize(d))]));
                changes.note(file, "copy group `dir` converted to `dirs`");
            }
            (other, _) => changes.note(file, format!("copy group key `{other}` dropped: the original ignores it")),
        }
    }
    if g.keys().any(|k| k.contains("files") || k == "pattern" || k == "dir") {
        for (token, _) in tokens.iter().skip(2) {
            if g.values().any(|v| v.to_string().contains(token)) {
                changes.note(file, format!("`{token}` written as the constant the original used on Linux"));
            }
        }
    }
    Value::Object(out)
}

/// A Python `re.sub` replacement as a regex-crate one: `\1` and `\g<name>`
/// become `${1}` and `${name}`, `$` becomes `$$`, and Python's escapes
/// (`\n`, `\\`, ...) their characters.
pub fn python_replacement(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = d.to_string();
                    if let Some(&e) = chars.peek() {
                        if e.is_ascii_digit() {
                            group.push(e);
                            chars.next();
                        }
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// The modules of `modules.json`, a list of `{ name, ... }` (the original's
/// form) or a map by name, converted: `name` becomes the declaration name,
/// `username` and `password` (which the original overwrote) are dropped, a
/// top-level `logical_name` also becomes `service.logical_name`, and a
/// `genconfig: true` (which the original ignored) is renamed.
pub fn modules(data: &Value, changes: &mut Changes) -> Vec<(String, Map<String, Value>)> {
    const FILE: &str = "modules.json";
    let entries: Vec<(String, Map<String, Value>)> = match data {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                Value::Object(m) => match m.get("name") {
                    Some(Value::String(n)) => Some((n.clone(), m.clone())),
                    _ => {
                        changes.note(FILE, format!("module #{i} has no string `name`: not converted"));
                        None
                    }
                },
                _ => {
                    changes.note(FILE, format!("module #{i} is not a map: not converted"));
                    None
                }
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(name, body)| match body {
                Value::Object(m) => Some((name.clone(), m.clone())),
                _ => {
                    changes.note(FILE, format!("module `{name}` is not a map: not converted"));
                    None
                }
            })
            .collect(),
        _ => {
            changes.note(FILE, "neither a list nor a map of modules: not converted");
            Vec::new()
        }
    };
    let mut out: Vec<(String, Map<String, Value>)> = Vec::new();
    for (legacy_name, body) in entries {
        let name = super::levels::plain_name(&legacy_name);
        if name != legacy_name {
            changes.note(FILE, format!("module `{legacy_name}` is named `{name}` (not a .facs name)"));
        }
        if out.iter().any(|(n, _)| *n == name) {
            changes.note(FILE, format!("module `{name}` is listed twice: the second is not converted"));
            continue;
        }
        let mut fields = Map::new();
        for (k, v) in &body {
            match k.as_str() {
                "name" => {}
                "username" | "password" => {
                    changes.note(
                        FILE,
                        format!(
                            "module `{name}`: `{k}` dropped (the original replaced it; facs derives it the same way)"
                        ),
                    );
                }
                "daemon" if !v.is_string() => {
                    changes.note(FILE, format!("module `{name}`: `daemon` renamed to `daemon_` (not a string)"));
                    fields.insert("daemon_".into(), v.clone());
                }
                "genconfig" if v != &Value::Bool(false) => {
                    changes.note(
                        FILE,
                        format!("module `{name}`: `genconfig` renamed to `genconfig_` (the original ignored it; facs would write etc/<module>.json)"),
                    );
                    fields.insert("genconfig_".into(), v.clone());
                }
                "service" if !v.is_object() => {
                    changes.note(FILE, format!("module `{name}`: `service` renamed to `service_` (not a map)"));
                    fields.insert("service_".into(), v.clone());
                }
                _ => {
                    fields.insert(k.clone(), v.clone());
                }
            }
        }
        if let (Some(Value::String(logical)), Some(Value::Object(service))) =
            (body.get("logical_name"), fields.get_mut("service"))
        {
            if !service.contains_key("logical_name") {
                service.insert("logical_name".into(), Value::String(logical.clone()));
                changes.note(FILE, format!("module `{name}`: `logical_name` also set as `service.logical_name` (service instances and uiids)"));
            }
        }
        out.push((name, fields));
    }
    out
}
