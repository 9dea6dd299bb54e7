//! `facs import`: an original facsimile definition directory to `.facs`.
//!
//! Input: a [`LegacyDir`], the legacy files in memory (`facsimile.json`, the
//! project defaults `<project>.json`, one `<env>.json` per environment where
//! `a.b.json` is environment `b` inheriting `a`, `modules.json`, `tmpl/`).
//! Output: an [`Imported`] — the files of a `.facs` definition directory
//! (`project.facs`, `schema.facs`, `modules.facs`, `envs.facs`, the templates)
//! and the notes of what was changed or could not be converted. No I/O here:
//! `cli/import.rs` reads and writes the disk.
//!
//! Invariant: for every environment, the instance data the imported project
//! compiles to equals the original's merge (recursive dict update along
//! defaults → ancestors → environment, lists and scalars replaced), except for
//! the keys the notes name (renamed reserved or misshapen fields). See
//! docs/decisions/import.md for the mapping rules and the limits.

mod facs;
mod infer;
pub mod jinja;
#[cfg(test)]
mod tests;

use infer::{Kind, Shape};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

/// One legacy file.
#[derive(Clone, Debug, Default)]
pub struct LegacyFile {
    /// Its content.
    pub bytes: Vec<u8>,
    /// The executable bit (kept on copied templates).
    pub executable: bool,
}

/// A legacy definition directory in memory.
#[derive(Clone, Debug, Default)]
pub struct LegacyDir {
    /// Every file by its path relative to the directory, `/`-separated.
    pub files: BTreeMap<String, LegacyFile>,
    /// Entries the reader did not read (hidden ones), listed in the report.
    pub skipped: Vec<String>,
}

/// How an output file came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// Written from the legacy JSON.
    Generated,
    /// A Jinja template converted to Handlebars.
    Converted,
    /// Copied unchanged (no Jinja in it, not a template, or not UTF-8).
    Copied,
    /// A template with constructs that were not converted: its text is kept
    /// and escaped so it renders as written.
    LeftAsIs,
}

/// One output file.
#[derive(Clone, Debug)]
pub struct OutputFile {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// The executable bit.
    pub executable: bool,
    /// How it was made.
    pub how: How,
}

/// A remark for the report: a file (and line) and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The legacy file it is about.
    pub file: String,
    /// 1-based line, for templates.
    pub line: Option<usize>,
    /// What happened, as a phrase.
    pub what: String,
}

/// The result of an import.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The project name.
    pub project: String,
    /// The files to write, in report order.
    pub files: Vec<OutputFile>,
    /// Things that were not converted (left as is, skipped, dropped).
    pub not_converted: Vec<Note>,
    /// Things converted with a change the user should know (renames).
    pub changed: Vec<Note>,
}

/// Why an import cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// No `facsimile.json`.
    NoFacsimileJson,
    /// A JSON file does not parse.
    InvalidJson {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// A JSON file's top level is not an object.
    NotAnObject {
        /// The file.
        file: String,
    },
    /// `facsimile.json` has no string `project`.
    NoProjectName,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::NoFacsimileJson => {
                write!(f, "no facsimile.json: this is not an original facsimile definition directory")
            }
            ImportError::InvalidJson { file, line, column, message } => {
                write!(f, "{file}:{line}:{column}: invalid JSON: {message}")
            }
            ImportError::NotAnObject { file } => write!(f, "{file}: the top level must be a JSON object"),
            ImportError::NoProjectName => {
                write!(f, "facsimile.json: `project` (the project name, a string) is missing")
            }
        }
    }
}

impl std::error::Error for ImportError {}

/// Fields of the built-in Instance schema: never declared by the import.
const BUILTIN_INSTANCE: &[&str] = &["home", "deploy", "install", "targets"];
/// Names that cannot be instance fields (spec §5).
const RESERVED_INSTANCE: &[&str] = &["name", "project", "module", "instance", "env", "facs"];

/// One environment: a dotted file name's prefix.
struct Env {
    /// The dotted id (`dev.dev0`), also the file stem.
    id: String,
    /// The instance name: the last segment.
    name: String,
    /// The parent's id.
    parent: Option<String>,
    /// Its own file's data (`None`: only a prefix of other files).
    data: Option<Map<String, Value>>,
}

/// Converts a legacy directory.
pub fn import(legacy: &LegacyDir) -> Result<Imported, ImportError> {
    let facsimile = parse_object(legacy, "facsimile.json")?.ok_or(ImportError::NoFacsimileJson)?;
    let Some(Value::String(project_raw)) = facsimile.get("project") else { return Err(ImportError::NoProjectName) };
    let mut imp = Importer::default();
    let project = imp.plain_name(project_raw, "facsimile.json", "project name");
    let defaults_file = format!("{project_raw}.json");
    let defaults = parse_object(legacy, &defaults_file)?;
    let modules = parse_object(legacy, "modules.json")?;
    let mut env_files = BTreeMap::new();
    for path in legacy.files.keys() {
        if path.contains('/') || !path.ends_with(".json") {
            continue;
        }
        if [defaults_file.as_str(), "facsimile.json", "modules.json"].contains(&path.as_str()) {
            continue;
        }
        if let Some(data) = parse_object(legacy, path)? {
            env_files.insert(path.trim_end_matches(".json").to_string(), data);
        }
    }
    imp.legacy_tmpl_dirs = legacy
        .files
        .keys()
        .filter_map(|p| p.strip_prefix("tmpl/")?.split_once('/').map(|(d, _)| d.to_string()))
        .collect();

    let mut files = vec![project_file(&mut imp, &project, &facsimile)];
    let mut envs = imp.environments(env_files);
    let mut defaults = defaults;
    imp.rename_fields(defaults.as_mut().map(|d| (defaults_file.as_str(), d)), &mut envs);
    let defaults_name = imp.defaults_name(&envs);
    let mut sources: Vec<(String, &Map<String, Value>)> = vec![("facsimile.json".into(), &facsimile)];
    sources.extend(defaults.as_ref().map(|d| (defaults_file.clone(), d)));
    sources.extend(envs.values().filter_map(|e| Some((format!("{}.json", e.id), e.data.as_ref()?))));
    sources.extend(modules.as_ref().map(|m| ("modules.json".to_string(), m)));
    for (file, data) in sources {
        for n in big_ints(&Value::Object(data.clone())) {
            imp.changed(&file, format!("{n} is beyond the range of a .facs int: written as a float"));
        }
    }
    let merged = merged_envs(&envs, defaults.as_ref());
    let shape = infer_instance(&envs, defaults.as_ref(), &merged);
    files.push(generated("schema.facs", schema_text(&shape)));
    let modules = modules.map(|m| imp.modules(m));
    if let Some(modules) = &modules {
        files.push(generated("modules.facs", modules_text(modules)));
    }
    files.push(generated(
        "envs.facs",
        envs_text(&envs, defaults.as_ref().map(|d| (defaults_name.as_str(), defaults_file.as_str(), d)), &merged),
    ));
    let ctx = jinja_context(&imp, &shape, modules.as_ref(), &facsimile);
    let has_install =
        defaults.iter().chain(envs.values().filter_map(|e| e.data.as_ref())).any(|d| d.contains_key("install"));
    imp.templates_and_copies(legacy, &ctx, has_install, &mut files);
    for entry in &legacy.skipped {
        imp.not_converted.push(Note { file: entry.clone(), line: None, what: "hidden entry, not read".into() });
    }
    Ok(Imported { project, files, not_converted: imp.not_converted, changed: imp.changed })
}

fn parse_object(legacy: &LegacyDir, file: &str) -> Result<Option<Map<String, Value>>, ImportError> {
    let Some(f) = legacy.files.get(file) else { return Ok(None) };
    match serde_json::from_slice::<Value>(&f.bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(ImportError::NotAnObject { file: file.to_string() }),
        Err(e) => Err(ImportError::InvalidJson {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string().split(" at line ").next().unwrap_or("").to_string(),
        }),
    }
}

/// Integers beyond i64 (written as floats).
fn big_ints(value: &Value) -> Vec<String> {
    match value {
        Value::Number(n) if n.is_u64() && !n.is_i64() => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(big_ints).collect(),
        Value::Object(map) => map.values().flat_map(big_ints).collect(),
        _ => Vec::new(),
    }
}

fn generated(path: &str, text: String) -> OutputFile {
    OutputFile { path: path.to_string(), bytes: text.into_bytes(), executable: false, how: How::Generated }
}

/// Notes and names gathered while importing.
#[derive(Default)]
struct Importer {
    not_converted: Vec<Note>,
    changed: Vec<Note>,
    /// Top-level instance field renames, legacy → `.facs`.
    renames: HashMap<String, String>,
    /// Directories under `tmpl/` (an instance name must not pick one up by accident).
    legacy_tmpl_dirs: BTreeSet<String>,
}

impl Importer {
    fn changed(&mut self, file: &str, what: String) {
        self.changed.push(Note { file: file.to_string(), line: None, what });
    }

    fn skipped(&mut self, file: &str, what: String) {
        self.not_converted.push(Note { file: file.to_string(), line: None, what });
    }

    /// A declaration name: `text` when it is one, else a cleaned-up version.
    fn plain_name(&mut self, text: &str, file: &str, what: &str) -> String {
        if facs::is_plain_name(text) {
            return text.to_string();
        }
        let mut name: String =
            text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            name.insert(0, '_');
        }
        if !facs::is_plain_name(&name) {
            name.push('_');
        }
        self.changed(file, format!("{what} `{text}` is not a .facs name: renamed to `{name}`"));
        name
    }

    /// The environments by id, parents before children (ids sort that way).
    fn environments(&mut self, env_files: BTreeMap<String, Map<String, Value>>) -> BTreeMap<String, Env> {
        let mut envs: BTreeMap<String, Env> = BTreeMap::new();
        for (stem, data) in env_files {
            let segments: Vec<&str> = stem.split('.').collect();
            if segments.iter().any(|s| s.is_empty()) {
                self.skipped(&format!("{stem}.json"), "not an environment file name (an empty dotted segment)".into());
                continue;
            }
            for n in 1..=segments.len() {
                let id = segments.get(..n).unwrap_or(&[]).join(".");
                let parent = (n > 1).then(|| segments.get(..n - 1).unwrap_or(&[]).join("."));
                let name = segments.get(n - 1).copied().unwrap_or("").to_string();
                envs.entry(id.clone()).or_insert(Env { id, name, parent, data: None });
            }
            if let Some(env) = envs.get_mut(&stem) {
                env.data = Some(data);
            }
        }
        // Names must be valid and unique; a skipped environment takes its
        // descendants with it.
        let mut by_name: HashMap<String, String> = HashMap::new();
        let mut dropped: Vec<String> = Vec::new();
        let ids: Vec<String> = envs.keys().cloned().collect();
        for id in ids {
            let Some(env) = envs.get(&id) else { continue };
            let file = format!("{id}.json");
            if env.parent.as_ref().is_some_and(|p| dropped.contains(p)) {
                if env.data.is_some() {
                    self.skipped(&file, "environment not converted: its parent was not converted".into());
                }
                dropped.push(id);
                continue;
            }
            let problem = if !facs::is_plain_name(&env.name) {
                Some(format!("`{}` is not a valid .facs instance name", env.name))
            } else if env.name == "_ALL_" {
                Some("`_ALL_` names the templates of every instance".to_string())
            } else {
                by_name.get(&env.name).map(|other| format!("instance `{}` is already `{other}.json`", env.name))
            };
            match problem {
                Some(why) => {
                    let what = format!("environment not converted (nor its descendants): {why}");
                    self.skipped(if env.data.is_some() { &file } else { &id }, what);
                    dropped.push(id);
                }
                None => {
                    by_name.insert(env.name.clone(), id);
                }
            }
        }
        for id in dropped {
            envs.remove(&id);
        }
        envs
    }

    /// Renames top-level fields that cannot be instance fields as they are:
    /// reserved names, and built-in fields whose values do not fit the
    /// built-in schema. One rename per key, applied to every file.
    fn rename_fields(&mut self, defaults: Option<(&str, &mut Map<String, Value>)>, envs: &mut BTreeMap<String, Env>) {
        let mut maps: Vec<(String, &mut Map<String, Value>)> = Vec::new();
        if let Some((file, d)) = defaults {
            maps.push((file.to_string(), d));
        }
        for env in envs.values_mut() {
            if let Some(d) = env.data.as_mut() {
                maps.push((format!("{}.json", env.id), d));
            }
        }
        let all_keys: HashSet<String> = maps.iter().flat_map(|(_, m)| m.keys().cloned()).collect();
        let mut taken = all_keys.clone();
        let mut order: Vec<(String, String, String)> = Vec::new();
        for (file, map) in &maps {
            for (key, value) in map.iter() {
                if self.renames.contains_key(key) {
                    continue;
                }
                let why = if RESERVED_INSTANCE.contains(&key.as_str()) {
                    Some(format!("`{key}` is reserved in .facs"))
                } else if BUILTIN_INSTANCE.contains(&key.as_str()) && !fits_builtin(key, value) {
                    Some(format!("its value does not fit the built-in `{key}` field"))
                } else {
                    None
                };
                if let Some(why) = why {
                    let mut new = format!("{key}_");
                    while taken.contains(&new) {
                        new.push('_');
                    }
                    taken.insert(new.clone());
                    self.renames.insert(key.clone(), new.clone());
                    order.push((file.clone(), key.clone(), format!("field `{key}` renamed to `{new}`: {why}")));
                }
            }
        }
        for (file, _, what) in order {
            self.changed(&file, what);
        }
        if self.renames.is_empty() {
            return;
        }
        for (_, map) in maps {
            let old = std::mem::take(map);
            for (k, v) in old {
                let k = self.renames.get(&k).cloned().unwrap_or(k);
                map.insert(k, v);
            }
        }
    }

    /// `defaults`, or another free name for the project defaults instance.
    fn defaults_name(&self, envs: &BTreeMap<String, Env>) -> String {
        let taken = |n: &str| envs.values().any(|e| e.name == n) || self.legacy_tmpl_dirs.contains(n);
        let mut name = "defaults".to_string();
        let mut n_tries = 1;
        while taken(&name) {
            n_tries += 1;
            name = if n_tries == 2 { "_defaults".into() } else { format!("_defaults{n_tries}") };
        }
        name
    }

    /// The modules, with module fields that cannot stay as they are renamed.
    fn modules(&mut self, modules: Map<String, Value>) -> Vec<(String, Map<String, Value>)> {
        let mut out = Vec::new();
        for (name, body) in modules {
            let Value::Object(body) = body else {
                self.skipped("modules.json", format!("module `{name}` is not an object: not converted"));
                continue;
            };
            if !facs::is_plain_name(&name) {
                self.skipped("modules.json", format!("module `{name}`: not a valid .facs module name, not converted"));
                continue;
            }
            let username = match body.get("daemon") {
                Some(Value::String(d)) => d.clone(),
                _ => name.clone(),
            };
            let mut fields = Map::new();
            for (key, value) in &body {
                let derived = match key.as_str() {
                    "name" => Some(name.as_str()),
                    "username" => Some(username.as_str()),
                    _ => None,
                };
                if let Some(derived) = derived {
                    if value.as_str() == Some(derived) {
                        // facs derives the same value: nothing to write.
                        continue;
                    }
                }
                let why = if derived.is_some() {
                    Some(format!("`{key}` is derived by facs"))
                } else if !fits_module_builtin(key, value) {
                    Some(format!("its value does not fit the built-in module field `{key}`"))
                } else {
                    None
                };
                match why {
                    Some(why) => {
                        let mut new = format!("{key}_");
                        while body.contains_key(&new) || fields.contains_key(&new) {
                            new.push('_');
                        }
                        self.changed(
                            "modules.json",
                            format!("module `{name}`: field `{key}` renamed to `{new}`: {why}"),
                        );
                        fields.insert(new, value.clone());
                    }
                    None => {
                        fields.insert(key.clone(), value.clone());
                    }
                }
            }
            out.push((name, fields));
        }
        out
    }

    /// Converts `tmpl/`, copies every other file, in path order.
    fn templates_and_copies(
        &mut self,
        legacy: &LegacyDir,
        ctx: &jinja::Context,
        has_install: bool,
        files: &mut Vec<OutputFile>,
    ) {
        let mut n_templates = 0;
        for (path, file) in &legacy.files {
            let top_level = !path.contains('/');
            if top_level && path.ends_with(".json") {
                continue;
            }
            let mut out = OutputFile {
                path: path.clone(),
                bytes: file.bytes.clone(),
                executable: file.executable,
                how: How::Copied,
            };
            if path.starts_with("tmpl/") {
                n_templates += 1;
                if let Ok(text) = std::str::from_utf8(&file.bytes) {
                    match jinja::convert(text, ctx) {
                        Ok(converted) => {
                            if converted != text {
                                out.how = How::Converted;
                                out.bytes = converted.into_bytes();
                            }
                        }
                        Err(unsupported) => {
                            for u in unsupported {
                                self.not_converted.push(Note {
                                    file: path.clone(),
                                    line: Some(u.line),
                                    what: format!("`{}`: {}", u.construct, u.reason),
                                });
                            }
                            out.how = How::LeftAsIs;
                            out.bytes = jinja::literal(text).into_bytes();
                        }
                    }
                }
            } else {
                self.skipped(path, "not part of the legacy layout: copied as is".into());
            }
            files.push(out);
        }
        if n_templates > 0 && !has_install {
            self.skipped(
                "tmpl/",
                "no environment sets `install`: templates render only for instances with an `install` group \
                 `{ type: \"tmpl\", dir: \"tmpl\" }`"
                    .into(),
            );
        }
    }
}

fn is_string_list(v: &Value) -> bool {
    matches!(v, Value::Array(items) if items.iter().all(Value::is_string))
}

fn keys_within(map: &Map<String, Value>, allowed: &[&str]) -> bool {
    map.keys().all(|k| allowed.contains(&k.as_str()))
}

/// Whether a legacy value fits the built-in Instance field of that name.
fn fits_builtin(key: &str, value: &Value) -> bool {
    let opt_string = |v: Option<&Value>| matches!(v, None | Some(Value::Null | Value::String(_)));
    match (key, value) {
        ("home", Value::String(_) | Value::Null) => true,
        ("deploy", Value::Object(d)) => {
            keys_within(d, &["user", "destdir", "postcmd"])
                && opt_string(d.get("user"))
                && opt_string(d.get("destdir"))
                && d.get("postcmd").is_none_or(is_string_list)
        }
        ("install", Value::Array(groups)) => groups.iter().all(|g| match g {
            Value::Object(g) => match g.get("type") {
                Some(Value::String(t)) if t == "tmpl" => {
                    keys_within(g, &["type", "dir", "skip"])
                        && matches!(g.get("dir"), Some(Value::String(_)))
                        && matches!(g.get("skip"), None | Some(Value::String(_)))
                }
                None => copy_group(g),
                Some(Value::String(t)) if t == "copy" => copy_group(g),
                _ => false,
            },
            _ => false,
        }),
        ("targets", Value::Object(targets)) => targets.values().all(|t| match t {
            Value::Object(t) => t.get("nodes").is_none_or(is_string_list) && opt_string(t.get("user")),
            _ => false,
        }),
        _ => false,
    }
}

fn copy_group(g: &Map<String, Value>) -> bool {
    keys_within(g, &["type", "files", "optfiles", "pattern", "replace"])
        && g.get("files").is_none_or(is_string_list)
        && g.get("optfiles").is_none_or(is_string_list)
        && matches!(g.get("pattern"), None | Some(Value::String(_)))
        && matches!(g.get("replace"), None | Some(Value::String(_)))
}

/// Whether a module value fits the built-in Module field of that name
/// (other keys are the module's own fields and always fit).
fn fits_module_builtin(key: &str, value: &Value) -> bool {
    match key {
        "daemon" => matches!(value, Value::String(_) | Value::Null),
        "genconfig" => value.is_boolean(),
        "password" => matches!(value, Value::String(_)),
        "service" => match value {
            Value::Object(s) => {
                keys_within(s, &["name", "logical_name", "n_instances"])
                    && matches!(s.get("name"), None | Some(Value::String(_) | Value::Null))
                    && matches!(s.get("logical_name"), None | Some(Value::String(_) | Value::Null))
                    && s.get("n_instances").is_none_or(|n| n.is_i64())
            }
            _ => false,
        },
        _ => true,
    }
}

/// The original's merged data of every environment that has a file.
fn merged_envs(
    envs: &BTreeMap<String, Env>,
    defaults: Option<&Map<String, Value>>,
) -> BTreeMap<String, Map<String, Value>> {
    let mut merged: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    // Ids sort parents first, so a parent is always merged before its children.
    for env in envs.values() {
        let mut data = match env.parent.as_ref().and_then(|p| merged.get(p)) {
            Some(p) => p.clone(),
            None => defaults.cloned().unwrap_or_default(),
        };
        if let Some(own) = &env.data {
            facs::merge(&mut data, own);
        }
        merged.insert(env.id.clone(), data);
    }
    merged
}

fn infer_instance(
    envs: &BTreeMap<String, Env>,
    defaults: Option<&Map<String, Value>>,
    merged: &BTreeMap<String, Map<String, Value>>,
) -> Shape {
    let mut shape = Shape::new();
    // An empty record even without data, so the schema is `{}` and counting works.
    shape.observe(&Value::Object(Map::new()), false);
    if let Some(d) = defaults {
        shape.observe(&Value::Object(d.clone()), false);
    }
    for env in envs.values() {
        if let Some(d) = &env.data {
            shape.observe(&Value::Object(d.clone()), false);
            if let Some(m) = merged.get(&env.id) {
                shape.observe(&Value::Object(m.clone()), true);
            }
        }
    }
    shape
}

fn schema_text(shape: &Shape) -> String {
    let record = shape.record().cloned().unwrap_or_default();
    format!(
        "// Generated by `facs import`: the environments' fields, typed from the values\n\
         // of every legacy environment. A field is optional (`?`) when some environment\n\
         // lacks it or sets it to null. The built-in fields (home, deploy, install,\n\
         // targets) keep their built-in types.\n\
         schema Instance {}\n",
        infer::record_text(&record, 0, BUILTIN_INSTANCE)
    )
}

fn project_file(imp: &mut Importer, project: &str, facsimile: &Map<String, Value>) -> OutputFile {
    let mut fields = Map::new();
    for (key, value) in facsimile {
        match key.as_str() {
            "project" => {}
            "name" if value.as_str() == Some(project) => {}
            "name" => {
                imp.changed("facsimile.json", "field `name` renamed to `name_`: `name` is reserved in .facs".into());
                fields.insert("name_".into(), value.clone());
            }
            "version" if !value.is_string() => {
                let text = match value {
                    Value::Number(n) => n.to_string(),
                    other => other.to_string(),
                };
                imp.changed("facsimile.json", format!("`version` {value} written as the string \"{text}\""));
                fields.insert(key.clone(), Value::String(text));
            }
            _ => {
                fields.insert(key.clone(), value.clone());
            }
        }
    }
    let mut text = String::from("// Generated by `facs import` from facsimile.json.\n");
    text.push_str(&format!("project {project} {{\n"));
    facs::body(&mut text, &fields, None, 1);
    text.push_str("}\n");
    generated("project.facs", text)
}

fn modules_text(modules: &[(String, Map<String, Value>)]) -> String {
    let mut text = String::from("// Generated by `facs import` from modules.json.\n");
    for (name, fields) in modules {
        text.push_str(&format!("\nmodule {name} {{\n"));
        facs::body(&mut text, fields, None, 1);
        text.push_str("}\n");
    }
    text
}

fn envs_text(
    envs: &BTreeMap<String, Env>,
    defaults: Option<(&str, &str, &Map<String, Value>)>,
    merged: &BTreeMap<String, Map<String, Value>>,
) -> String {
    let mut text = String::from(
        "// Generated by `facs import`: one instance per legacy environment file. Each\n\
         // body holds only what its own file sets; inheritance does the merging.\n",
    );
    if let Some((name, file, data)) = defaults {
        text.push_str(&format!("\n/// The project defaults ({file}), inherited by every root environment.\n"));
        text.push_str(&format!("abstract instance {name} {{\n"));
        facs::body(&mut text, data, None, 1);
        text.push_str("}\n");
    }
    let names: HashMap<&str, &str> = envs.values().map(|e| (e.id.as_str(), e.name.as_str())).collect();
    for env in envs.values() {
        let parent = match &env.parent {
            Some(p) => names.get(p.as_str()).map(|n| n.to_string()),
            None => defaults.map(|(n, _, _)| n.to_string()),
        };
        let inherits = parent.as_ref().map(|p| format!(" inherits {p}")).unwrap_or_default();
        let inherited = match &env.parent {
            Some(p) => merged.get(p),
            None => defaults.map(|(_, _, d)| d),
        };
        match &env.data {
            Some(data) => {
                text.push_str(&format!("\n/// From {}.json.\n", env.id));
                text.push_str(&format!("instance {}{inherits} {{\n", env.name));
                facs::body(&mut text, data, inherited, 1);
                text.push_str("}\n");
            }
            None => {
                text.push_str(&format!("\n/// No {}.json: only the parent of other environments.\n", env.id));
                text.push_str(&format!("abstract instance {}{inherits} {{}}\n", env.name));
            }
        }
    }
    text
}

/// Paths under `prefix` of every map in `value` (and the maps among them).
fn value_paths(prefix: &[String], value: &Value, present: &mut HashSet<Vec<String>>, maps: &mut HashSet<Vec<String>>) {
    present.insert(prefix.to_vec());
    if let Value::Object(map) = value {
        maps.insert(prefix.to_vec());
        for (k, v) in map {
            let mut path = prefix.to_vec();
            path.push(k.clone());
            value_paths(&path, v, present, maps);
        }
    }
}

fn shape_paths(prefix: &[String], shape: &Shape, present: &mut HashSet<Vec<String>>, maps: &mut HashSet<Vec<String>>) {
    if let Kind::Record(record) = &shape.kind {
        if !shape.nullable {
            maps.insert(prefix.to_vec());
        }
        for (k, field) in &record.fields {
            let mut path = prefix.to_vec();
            path.push(k.clone());
            if field.required(record) {
                present.insert(path.clone());
                shape_paths(&path, &field.shape, present, maps);
            } else {
                // Maps below an optional field still hold maps when present.
                let mut ignored = HashSet::new();
                shape_paths(&path, &field.shape, &mut ignored, maps);
            }
        }
    }
}

fn jinja_context(
    imp: &Importer,
    shape: &Shape,
    modules: Option<&Vec<(String, Map<String, Value>)>>,
    facsimile: &Map<String, Value>,
) -> jinja::Context {
    let mut present = HashSet::new();
    let mut maps = HashSet::new();
    let s = |v: &[&str]| v.iter().map(|p| p.to_string()).collect::<Vec<String>>();
    let instance = s(&["instance"]);
    present.insert(instance.clone());
    shape_paths(&instance, shape, &mut present, &mut maps);
    for builtin in ["name", "install", "targets"] {
        present.insert(s(&["instance", builtin]));
    }
    maps.insert(s(&["instance", "targets"]));
    let mut module_root = Map::new();
    for (name, fields) in modules.into_iter().flatten() {
        let mut m = fields.clone();
        for derived in ["name", "username", "password", "genconfig"] {
            m.entry(derived.to_string()).or_insert(Value::Null);
        }
        if let Some(Value::Object(service)) = m.get_mut("service") {
            for derived in ["name", "n_instances"] {
                service.entry(derived.to_string()).or_insert(Value::Null);
            }
        }
        module_root.insert(name.clone(), Value::Object(m));
    }
    value_paths(&s(&["module"]), &Value::Object(module_root), &mut present, &mut maps);
    let mut project = facsimile.clone();
    project.remove("project");
    project.insert("name".into(), Value::Null);
    project.entry("version".to_string()).or_insert(Value::Null);
    value_paths(&s(&["project"]), &Value::Object(project), &mut present, &mut maps);
    jinja::Context { renames: imp.renames.clone(), present, maps }
}

impl Imported {
    /// The report printed by `facs import`: the files written to `out` and
    /// what was not converted.
    pub fn report(&self, out: &str) -> String {
        let mut text = format!("imported project `{}` into {out}\n\nfiles written:\n", self.project);
        let width = self.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
        for f in &self.files {
            let how = match f.how {
                How::Generated => "generated",
                How::Converted => "converted from Jinja",
                How::Copied => "copied",
                How::LeftAsIs => "left as is (not converted, see below)",
            };
            text.push_str(&format!("  {:width$}  {how}\n", f.path));
        }
        let note_line = |n: &Note| match n.line {
            Some(line) => format!("  {}:{line}: {}\n", n.file, n.what),
            None => format!("  {}: {}\n", n.file, n.what),
        };
        if !self.changed.is_empty() {
            text.push_str("\nchanged:\n");
            for n in &self.changed {
                text.push_str(&note_line(n));
            }
        }
        if self.not_converted.is_empty() {
            text.push_str("\neverything converted\n");
        } else {
            text.push_str("\nnot converted:\n");
            for n in &self.not_converted {
                text.push_str(&note_line(n));
            }
        }
        text
    }
}
