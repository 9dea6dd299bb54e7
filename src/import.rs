//! `facs import`: an original facsimile (1.1.1) definition directory to `.facs`.
//!
//! Input: a [`LegacyDir`], the legacy files in memory (the definition
//! directory `config/facsimile/`, the repository's `config/install.json`,
//! the original's state files) and [`Options`] (project name, environments).
//! Output: an [`Imported`]: the files of a `.facs` definition directory
//! (`project.facs`, `schema.facs`, `modules.facs`, `envs.facs`, the Jinja
//! templates, the copied state) and the notes of everything moved, renamed
//! or not converted. No I/O here: `cli/import.rs` reads and writes the disk.
//!
//! Invariant (spec §12): for every imported environment, the instance data
//! equals the original's merged definition, apart from the conversions the
//! notes name (`install.groups` → `install`, `deploy.nodes` → `targets`,
//! renamed reserved keys), and the tree renders byte for byte as the
//! original's: templates stay Jinja and render with the original's settings
//! (`engine: "jinja"`). docs/decisions/import.md gives the rules.

mod builtins;
mod facs;
mod infer;
mod levels;
#[cfg(test)]
mod tests;

use infer::Shape;
use levels::{Env, Found, Level};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
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
    /// Every file of the definition directory by its relative, `/`-separated path.
    pub files: BTreeMap<String, LegacyFile>,
    /// `<repository>/config/install.json`, which the original merged last.
    pub install_json: Option<LegacyFile>,
    /// The original's state: `state.json` by release environment (`dev.dev0`).
    pub state: BTreeMap<String, LegacyFile>,
    /// Entries the reader did not read (hidden ones), listed in the report.
    pub skipped: Vec<String>,
}

/// What the command line says.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--name`: the project name (the original's `Facsimile.name`).
    pub name: Option<String>,
    /// `--env`: release environments to import (default: one per level file,
    /// and each state directory).
    pub envs: Vec<String>,
    /// The repository directory's name: the last resort for the project name.
    pub repo_name: Option<String>,
    /// `project.src_dir` as it must be written (the repository, relative to
    /// the output directory), when the legacy directory sits in a repository.
    pub src_dir: Option<String>,
}

/// How an output file came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// Written from the legacy JSON.
    Generated,
    /// A template, kept as Jinja (rendered with `engine: "jinja"`).
    Template,
    /// Copied unchanged.
    Copied,
    /// An original state file, copied to its facs owner (write it private).
    State,
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

/// A remark for the report: a file and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The legacy file it is about.
    pub file: String,
    /// What happened, as a phrase.
    pub what: String,
}

/// The result of an import.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The project name.
    pub project: String,
    /// Where the name came from, for the report.
    pub name_from: String,
    /// Release environment, instance name, how it was found.
    pub envs: Vec<(String, String, Found)>,
    /// The files to write, in report order.
    pub files: Vec<OutputFile>,
    /// Things converted with a change the user should know (moves, renames).
    pub changed: Vec<Note>,
    /// Things not converted (skipped, not copied).
    pub not_converted: Vec<Note>,
}

/// Why an import cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
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
    /// A definition file's top level is not an object.
    NotAnObject {
        /// The file.
        file: String,
    },
    /// No `--name`, no `name`/`project` in facsimile.json, no repository name.
    NoProjectName,
    /// No environment could be imported.
    NoEnvironments(Vec<String>),
    /// Legacy text holds a character the import uses internally.
    ReservedCharacter {
        /// The file.
        file: String,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::InvalidJson { file, line, column, message } => {
                write!(f, "{file}:{line}:{column}: invalid JSON: {message}")
            }
            ImportError::NotAnObject { file } => write!(f, "{file}: the top level must be a JSON object"),
            ImportError::NoProjectName => write!(
                f,
                "no project name: give it with --name (the original took it from its command line), \
                 or set \"name\" in facsimile.json"
            ),
            ImportError::NoEnvironments(why) => {
                write!(f, "no environment to import")?;
                for w in why {
                    write!(f, "\n  {w}")?;
                }
                write!(f, "\nname the release environments with --env (as given to the original, e.g. --env dev.dev0)")
            }
            ImportError::ReservedCharacter { file } => {
                write!(f, "{file}: holds U+E000 or U+E001, which facs import uses internally; remove them first")
            }
        }
    }
}

impl std::error::Error for ImportError {}

const MODULES_JSON: &str = "modules.json";

/// Converts a legacy directory.
pub fn import(legacy: &LegacyDir, options: &Options) -> Result<Imported, ImportError> {
    let mut notes = Notes::default();
    // The definition files: `<level>.json` at the top.
    let mut level_files: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (path, file) in &legacy.files {
        let Some(stem) = path.strip_suffix(".json").filter(|s| !s.contains('/')) else { continue };
        if path == MODULES_JSON {
            continue;
        }
        level_files.insert(stem.to_string(), parse_object(path, &file.bytes)?);
    }
    let install_json = match &legacy.install_json {
        Some(f) => Some(parse_object(levels::INSTALL_JSON, &f.bytes)?),
        None => None,
    };
    for (path, file) in legacy.files.iter().filter(|(p, _)| p.ends_with(".json") && !p.contains('/')) {
        if String::from_utf8_lossy(&file.bytes).contains([facs::OPEN, facs::CLOSE]) {
            return Err(ImportError::ReservedCharacter { file: path.clone() });
        }
    }

    let (project, name_from) = project_name(options, level_files.get(levels::FACSIMILE), &mut notes)?;
    let state_dirs: Vec<String> = legacy.state.keys().cloned().collect();
    let stems: BTreeSet<String> = level_files.keys().cloned().collect();
    let mut ids = Vec::new();
    let mut refused = Vec::new();
    for (id, found) in levels::environments(&options.envs, &stems, &project, &state_dirs) {
        let own = [levels::FACSIMILE, project.as_str()].into_iter().chain(id.split('.'));
        let why = levels::invalid(&id).map(str::to_string).or_else(|| {
            (!own.clone().any(|l| stems.contains(l)) && install_json.is_none()).then(|| {
                format!(
                    "none of its definition files ({}) exists",
                    own.map(|l| format!("{l}.json")).collect::<Vec<_>>().join(", ")
                )
            })
        });
        match why {
            Some(why) => {
                let what = format!("release environment `{id}` not imported: {why}");
                notes.skipped(&id, &what);
                refused.push(what);
            }
            None => ids.push((id, found)),
        }
    }
    if ids.is_empty() {
        return Err(ImportError::NoEnvironments(refused));
    }
    if options.envs.is_empty() {
        for dir in state_dirs.iter().filter(|d| d.contains('.')) {
            for inner in dir.split('.').skip(1).filter(|l| stems.contains(*l)) {
                notes.changed(
                    &format!("{inner}.json"),
                    &format!("taken as a level of `{dir}` (a directory of the original's state), not an environment of its own; give --env to choose"),
                );
            }
        }
    }
    for stem in &stems {
        if stem.contains('.') {
            notes.skipped(
                &format!("{stem}.json"),
                "never read by the original (a release environment `a.b` merges a.json, then b.json): not converted",
            );
        }
    }

    // Names: environments keep theirs; levels avoid them.
    let env_ids: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
    let env_names = levels::env_names(&env_ids);
    let mut taken: BTreeSet<String> = env_names.iter().cloned().collect();
    let mut level_list: Vec<Level> = Vec::new();
    let mut level_data: Vec<Map<String, Value>> = Vec::new();
    let mut level_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut envs: Vec<Env> = Vec::new();
    for ((id, found), name) in ids.iter().zip(env_names) {
        let mut chain = vec![levels::FACSIMILE.to_string(), project.clone()];
        chain.extend(id.split('.').map(str::to_string));
        if install_json.is_some() {
            chain.push(levels::INSTALL_JSON.to_string());
        }
        let mut indices = Vec::new();
        for stem in chain {
            let data = if stem == levels::INSTALL_JSON { install_json.as_ref() } else { level_files.get(&stem) };
            let Some(data) = data else { continue };
            let index = match level_index.get(&stem) {
                Some(&i) => i,
                None => {
                    let (file, base) = match stem.as_str() {
                        levels::INSTALL_JSON => (stem.clone(), "config-install".to_string()),
                        s if s == project => (format!("{s}.json"), "defaults".to_string()),
                        s => (format!("{s}.json"), s.to_string()),
                    };
                    let name = levels::level_name(&base, &mut taken);
                    level_list.push(Level { file, name });
                    level_data.push(data.clone());
                    level_index.insert(stem.clone(), level_list.len() - 1);
                    level_list.len() - 1
                }
            };
            if !indices.contains(&index) {
                indices.push(index);
            }
        }
        envs.push(Env { id: id.clone(), name, levels: indices, found: *found });
    }
    for (stem, _) in level_files.iter().filter(|(s, _)| !s.contains('.') && !level_index.contains_key(*s)) {
        if stem != levels::FACSIMILE {
            notes.skipped(&format!("{stem}.json"), "merged by no imported release environment: not converted");
        }
    }

    // Conversion of every level, one rename decision per key.
    let by_file: Vec<(String, &Map<String, Value>)> =
        level_list.iter().zip(&level_data).map(|(l, d)| (l.file.clone(), d)).collect();
    let renames = builtins::renames(&by_file);
    let mut changes = builtins::Changes::default();
    let converted: Vec<Map<String, Value>> =
        level_list.iter().zip(&level_data).map(|(l, d)| builtins::level(&l.file, d, &renames, &mut changes)).collect();
    let modules = match legacy.files.get(MODULES_JSON) {
        Some(f) => {
            let data = parse_json(MODULES_JSON, &f.bytes)?;
            builtins::modules(&data, &mut changes)
        }
        None => Vec::new(),
    };
    for (file, what) in std::mem::take(&mut changes.notes) {
        notes.changed(&file, &what);
    }
    let merged: Vec<Map<String, Value>> = envs
        .iter()
        .map(|e| {
            let mut m = Map::new();
            for &i in &e.levels {
                if let Some(data) = converted.get(i) {
                    facs::merge(&mut m, data);
                }
            }
            // Written on the instance (see envs_text), so typed too.
            if e.id != e.name {
                m.insert("release_environment".into(), Value::String(e.id.clone()));
            }
            m
        })
        .collect();

    let mut files = vec![
        project_file(&project, level_files.get(levels::FACSIMILE), options, &changes, &mut notes),
        generated("schema.facs", schema_text(&converted, &merged, &modules)),
    ];
    if !modules.is_empty() {
        files.push(generated("modules.facs", modules_text(&modules)));
    }
    files.push(generated("envs.facs", envs_text(&level_list, &converted, &envs)));
    templates_and_copies(legacy, &envs, &changes.tmpl_dirs, &mut files, &mut notes);
    state_copies(legacy, &envs, &mut files, &mut notes);
    for entry in &legacy.skipped {
        notes.skipped(entry, "hidden entry, not read");
    }
    Ok(Imported {
        project,
        name_from,
        envs: envs.iter().map(|e| (e.id.clone(), e.name.clone(), e.found)).collect(),
        files,
        changed: notes.changed,
        not_converted: notes.not_converted,
    })
}

#[derive(Default)]
struct Notes {
    changed: Vec<Note>,
    not_converted: Vec<Note>,
}

impl Notes {
    fn changed(&mut self, file: &str, what: &str) {
        self.changed.push(Note { file: file.to_string(), what: what.to_string() });
    }
    fn skipped(&mut self, file: &str, what: &str) {
        self.not_converted.push(Note { file: file.to_string(), what: what.to_string() });
    }
}

/// The project name, and where it came from (spec §12: `--name`, else a
/// `name`/`project` key of facsimile.json, else the repository's name).
fn project_name(
    options: &Options,
    facsimile: Option<&Map<String, Value>>,
    notes: &mut Notes,
) -> Result<(String, String), ImportError> {
    let from_file = |key: &str| facsimile.and_then(|f| f.get(key)).and_then(Value::as_str).map(str::to_string);
    let (raw, from) = if let Some(n) = &options.name {
        (n.clone(), "--name".to_string())
    } else if let Some(n) = from_file("name") {
        (n, "`name` in facsimile.json".into())
    } else if let Some(n) = from_file("project") {
        (n, "`project` in facsimile.json".into())
    } else if let Some(n) = &options.repo_name {
        (n.clone(), format!("the repository directory `{n}`; give another with --name"))
    } else {
        return Err(ImportError::NoProjectName);
    };
    let name = levels::plain_name(&raw);
    if name != raw {
        notes.changed("facsimile.json", &format!("project name `{raw}` is not a .facs name: `{name}`"));
    }
    Ok((name, from))
}

fn parse_json(file: &str, bytes: &[u8]) -> Result<Value, ImportError> {
    serde_json::from_slice::<Value>(bytes).map_err(|e| ImportError::InvalidJson {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string().split(" at line ").next().unwrap_or("").to_string(),
    })
}

fn parse_object(file: &str, bytes: &[u8]) -> Result<Map<String, Value>, ImportError> {
    match parse_json(file, bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(ImportError::NotAnObject { file: file.to_string() }),
    }
}

fn generated(path: &str, text: String) -> OutputFile {
    OutputFile { path: path.to_string(), bytes: text.into_bytes(), executable: false, how: How::Generated }
}

fn project_file(
    project: &str,
    facsimile: Option<&Map<String, Value>>,
    options: &Options,
    changes: &builtins::Changes,
    notes: &mut Notes,
) -> OutputFile {
    let mut text = String::from(
        "// Generated by `facs import`. The original took the project name and the\n\
         // version from its command line (`facsimile NAME ENV VERSION`).\n",
    );
    text.push_str(&format!("project {project} {{\n"));
    let version = facsimile.and_then(|f| f.get("version"));
    match version {
        Some(Value::String(v)) => text.push_str(&format!("  version: {}\n", facs::string(v))),
        _ => {
            notes.changed(
                "facsimile.json",
                "no string `version`: project.version is \"\" (the original's default without a VERSION argument); \
                 set it in project.facs",
            );
            text.push_str("  version: \"\"\n");
        }
    }
    if let Some(src) = &options.src_dir {
        text.push_str("  // The repository: relative copy sources and $SRC_DIR$ resolve here, as in the original.\n");
        text.push_str(&format!("  src_dir: {}\n", facs::string(src)));
    }
    if !changes.env_vars.is_empty() {
        let vars: Vec<String> = changes.env_vars.iter().map(|v| facs::string(v)).collect();
        text.push_str(&format!("  env: [{}]\n", vars.join(", ")));
    }
    text.push_str("}\n");
    generated("project.facs", text)
}

fn observed_shape<'v>(own: impl Iterator<Item = &'v Value>, counted: impl Iterator<Item = &'v Value>) -> Shape {
    let mut shape = Shape::new();
    // An empty record even without data, so the schema is `{}` and counting works.
    shape.observe(&Value::Object(Map::new()), false);
    for v in own {
        shape.observe(v, false);
    }
    for v in counted {
        shape.observe(v, true);
    }
    shape
}

fn without(value: Option<&Value>, keys: &[&str]) -> Option<Value> {
    match value {
        Some(Value::Object(m)) => Some(Value::Object(
            m.iter().filter(|(k, _)| !keys.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect(),
        )),
        _ => None,
    }
}

/// `schema Instance` typed from every level and environment; `schema Deploy`
/// and `schema Service` for the keys the original allowed there beyond the
/// built-in ones.
fn schema_text(
    levels: &[Map<String, Value>],
    merged: &[Map<String, Value>],
    modules: &[(String, Map<String, Value>)],
) -> String {
    let objects = |maps: &[Map<String, Value>]| maps.iter().map(|m| Value::Object(m.clone())).collect::<Vec<_>>();
    let (own, counted) = (objects(levels), objects(merged));
    let instance = observed_shape(own.iter(), counted.iter());
    let mut text = format!(
        "// Generated by `facs import`: the environments' fields, typed from the values\n\
         // of every legacy definition file. A field is optional (`?`) when some\n\
         // environment lacks it or sets it to null. The built-in fields (home, deploy,\n\
         // install, targets) keep their built-in types.\n\
         schema Instance {}\n",
        infer::record_text(&instance.record().cloned().unwrap_or_default(), 0, builtins::BUILTIN_INSTANCE)
    );
    let deploy_own: Vec<Value> =
        levels.iter().filter_map(|m| without(m.get("deploy"), builtins::DEPLOY_FIELDS)).collect();
    let deploy_counted: Vec<Value> =
        merged.iter().filter_map(|m| without(m.get("deploy"), builtins::DEPLOY_FIELDS)).collect();
    if deploy_own.iter().any(|d| d.as_object().is_some_and(|m| !m.is_empty())) {
        let shape = observed_shape(deploy_own.iter(), deploy_counted.iter());
        text.push_str(&format!(
            "\n// Keys of `deploy` beyond user, destdir and postcmd, kept as the original had them.\nschema Deploy {}\n",
            infer::record_text(&shape.record().cloned().unwrap_or_default(), 0, &[])
        ));
    }
    let services: Vec<Value> =
        modules.iter().filter_map(|(_, m)| without(m.get("service"), builtins::SERVICE_FIELDS)).collect();
    if services.iter().any(|s| s.as_object().is_some_and(|m| !m.is_empty())) {
        let shape = observed_shape(std::iter::empty(), services.iter());
        text.push_str(&format!(
            "\n// Keys of module `service` beyond name, logical_name and n_instances.\nschema Service {}\n",
            infer::record_text(&shape.record().cloned().unwrap_or_default(), 0, &[])
        ));
    }
    text
}

fn modules_text(modules: &[(String, Map<String, Value>)]) -> String {
    let mut text = String::from("// Generated by `facs import` from modules.json, in its order.\n");
    for (name, fields) in modules {
        if fields.is_empty() {
            text.push_str(&format!("\nmodule {name} {{}}\n"));
            continue;
        }
        text.push_str(&format!("\nmodule {name} {{\n"));
        facs::body(&mut text, fields, None, 1);
        text.push_str("}\n");
    }
    text
}

fn envs_text(levels: &[Level], data: &[Map<String, Value>], envs: &[Env]) -> String {
    let mut text = String::from(
        "// Generated by `facs import`: one abstract instance per legacy definition file\n\
         // (a level) and one instance per release environment. An environment inherits\n\
         // its levels most specific first, so they merge in the original's order.\n",
    );
    for (level, data) in levels.iter().zip(data) {
        text.push_str(&format!("\n/// From {}.\n", level.file));
        if data.is_empty() {
            text.push_str(&format!("abstract instance {} {{}}\n", level.name));
        } else {
            text.push_str(&format!("abstract instance {} {{\n", level.name));
            facs::body(&mut text, data, None, 1);
            text.push_str("}\n");
        }
    }
    for env in envs {
        let files: Vec<&str> = env.levels.iter().filter_map(|&i| levels.get(i)).map(|l| l.file.as_str()).collect();
        let parents: Vec<&str> =
            env.levels.iter().rev().filter_map(|&i| levels.get(i)).map(|l| l.name.as_str()).collect();
        text.push_str(&format!(
            "\n/// Release environment `{}`: {}, merged in this order.\n",
            env.id,
            files.join(", ")
        ));
        let inherits = if parents.is_empty() { String::new() } else { format!(" inherits {}", parents.join(", ")) };
        if env.id == env.name {
            text.push_str(&format!("instance {}{inherits} {{}}\n", env.name));
        } else {
            // Templates read the original's dotted name as `facs.release_environment`.
            text.push_str(&format!(
                "instance {}{inherits} {{\n  release_environment: {}\n}}\n",
                env.name,
                facs::string(&env.id)
            ));
        }
    }
    text
}

/// Normalises a template `dir` as the original joined it to the definition
/// directory: `None` when it leaves it.
fn tmpl_root(dir: &str) -> Option<String> {
    let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if dir.starts_with('/') || parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Templates: `<dir>/_ALL_` as is, `<dir>/<release env>` (the original's
/// folder, by the whole dotted name) to `<dir>/<instance>`. Every other
/// file is copied as is and listed, except `extra/` (facs would ship it).
fn templates_and_copies(
    legacy: &LegacyDir,
    envs: &[Env],
    tmpl_dirs: &BTreeSet<String>,
    files: &mut Vec<OutputFile>,
    notes: &mut Notes,
) {
    let mut roots: Vec<String> = Vec::new();
    for dir in tmpl_dirs {
        match tmpl_root(dir) {
            Some(r) => roots.push(r),
            None => {
                notes.skipped(dir, "template dir outside the definition directory: not copied; fix the group's `dir`")
            }
        }
    }
    let mut unused_folders: BTreeSet<String> = BTreeSet::new();
    let mut roots_with_files: BTreeSet<&str> = BTreeSet::new();
    let mut n_templates = 0;
    for (path, file) in &legacy.files {
        if !path.contains('/') && path.ends_with(".json") {
            continue;
        }
        let copy =
            |path: String, how: How| OutputFile { path, bytes: file.bytes.clone(), executable: file.executable, how };
        if let Some(root) = roots.iter().find(|r| path.starts_with(&format!("{r}/"))) {
            let rest = &path[root.len() + 1..];
            let Some((folder, inner)) = rest.split_once('/') else {
                notes.skipped(path, "directly in the template dir, outside `_ALL_` and every environment's folder: never rendered, not copied");
                continue;
            };
            let target = if folder == "_ALL_" {
                Some("_ALL_".to_string())
            } else {
                envs.iter().find(|e| e.id == folder).map(|e| e.name.clone())
            };
            match target {
                Some(t) => {
                    roots_with_files.insert(root);
                    n_templates += 1;
                    files.push(copy(format!("{root}/{t}/{inner}"), How::Template));
                }
                None => {
                    unused_folders.insert(format!("{root}/{folder}"));
                }
            }
            continue;
        }
        if path.starts_with("extra/") {
            unused_folders.insert("extra".into());
            continue;
        }
        if path != "exclude.rsync" {
            notes.skipped(path, "not read by the original's build: copied as is");
        }
        files.push(copy(path.clone(), How::Copied));
    }
    for folder in unused_folders {
        let why = if folder == "extra" {
            "the original has no `extra/`; facs would copy it into every tree: not copied".to_string()
        } else {
            format!("`{folder}/` is the template folder of no imported release environment: not copied")
        };
        notes.skipped(&folder, &why);
    }
    for root in &roots {
        if !roots_with_files.contains(root.as_str()) {
            // facs refuses a tmpl group whose dir is missing (E022); the
            // original rendered nothing. Keep the directory, render nothing.
            files.push(generated(
                &format!("{root}/.facs-import"),
                "Kept by `facs import`: the original's template dir had no templates for the imported environments.\n"
                    .into(),
            ));
        }
    }
    if n_templates > 0 {
        notes.changed("tmpl", &format!("{n_templates} templates kept as Jinja: their groups render with `engine: \"jinja\"`, the original's settings"));
    }
}

/// The original's `state/<release env>/state.json`, copied to the facs owner
/// `.facsimile/state/<instance>/state.json` (the format is the same).
fn state_copies(legacy: &LegacyDir, envs: &[Env], files: &mut Vec<OutputFile>, notes: &mut Notes) {
    for (id, file) in &legacy.state {
        match envs.iter().find(|e| e.id == *id) {
            Some(env) => {
                files.push(OutputFile {
                    path: format!(".facsimile/state/{}/state.json", env.name),
                    bytes: file.bytes.clone(),
                    executable: false,
                    how: How::State,
                });
                notes.changed(
                    &format!("state/{id}"),
                    &format!("copied to .facsimile/state/{} (the original's state is left in place)", env.name),
                );
            }
            None => notes.skipped(&format!("state/{id}"), "the state of no imported release environment: not copied"),
        }
    }
}

impl Imported {
    /// The report printed by `facs import`: the environments, the files
    /// written to `out`, what changed and what was not converted.
    pub fn report(&self, out: &str) -> String {
        let mut text = format!("imported project `{}` (name from {}) into {out}\n", self.project, self.name_from);
        text.push_str("\nenvironments:\n");
        let width = self.envs.iter().map(|(id, _, _)| id.len()).max().unwrap_or(0);
        for (id, name, found) in &self.envs {
            let how = match found {
                Found::Option => "--env",
                Found::LevelFile => "a definition file",
                Found::State => "the original's state directory",
            };
            text.push_str(&format!("  {id:width$}  -> instance {name}  (from {how})\n"));
        }
        text.push_str("\nfiles written:\n");
        let width = self.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
        for f in &self.files {
            let how = match f.how {
                How::Generated => "generated",
                How::Template => "template, kept as Jinja",
                How::Copied => "copied",
                How::State => "state, copied (mode 0600)",
            };
            text.push_str(&format!("  {:width$}  {how}\n", f.path));
        }
        let line = |n: &Note| format!("  {}: {}\n", n.file, n.what);
        if !self.changed.is_empty() {
            text.push_str("\nconverted with a change:\n");
            self.changed.iter().for_each(|n| text.push_str(&line(n)));
        }
        if self.not_converted.is_empty() {
            text.push_str("\nnothing left out\n");
        } else {
            text.push_str("\nnot converted:\n");
            self.not_converted.iter().for_each(|n| text.push_str(&line(n)));
        }
        text
    }
}
