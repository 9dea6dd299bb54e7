//! Levels and environments of an original facsimile directory.
//!
//! The original builds release environment `dev.dev0` from the definition
//! files `facsimile`, `<project>`, `dev`, `dev0` (each `<level>.json`, merged
//! in that order), then `src_dir/config/install.json`. A *level* is one of
//! those files; an *environment* is a dotted list of levels, given on the
//! original's command line. Input: the level files present and the
//! environments asked for. Output: a name for each level (an abstract
//! instance) and each environment (a concrete instance), unique, valid
//! `.facs` names, and the levels each environment merges, in merge order.

use super::facs;
use std::collections::{BTreeMap, BTreeSet};

/// Where the import learnt of an environment (the report says which).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// `--env`.
    Option,
    /// A `<level>.json` file: without `--env`, every level is an environment.
    LevelFile,
    /// A directory of the original's state (`state/dev.dev0`).
    State,
}

/// One environment to import.
#[derive(Clone, Debug)]
pub struct Env {
    /// The dotted release environment (`dev.dev0`).
    pub id: String,
    /// Its instance name.
    pub name: String,
    /// Indices into the level list, in the original's merge order.
    pub levels: Vec<usize>,
    /// How it was found.
    pub found: Found,
}

/// One definition file that some environment merges.
#[derive(Clone, Debug)]
pub struct Level {
    /// The legacy file (`dev.json`, or `../install.json`).
    pub file: String,
    /// Its abstract instance name.
    pub name: String,
}

/// The level names the original always merges first, and its last level.
pub const FACSIMILE: &str = "facsimile";
/// `src_dir/config/install.json`, merged last, as the reader names it.
pub const INSTALL_JSON: &str = "../install.json";

/// Which environments to import: the given ones, else one per level file
/// (other than `facsimile`, the project's, and the inner levels of the
/// state's dotted environments) followed by the original's state
/// directories that name other environments.
pub fn environments(
    given: &[String],
    level_stems: &BTreeSet<String>,
    project: &str,
    state_dirs: &[String],
) -> Vec<(String, Found)> {
    if !given.is_empty() {
        let mut seen = BTreeSet::new();
        return given.iter().filter(|e| seen.insert(e.as_str())).map(|e| (e.clone(), Found::Option)).collect();
    }
    // A level that the original's state shows inside a dotted environment
    // (`dev0` of `state/dev.dev0`) is that environment's level, not an
    // environment of its own: the report says so.
    let inner: BTreeSet<&str> = state_dirs.iter().flat_map(|d| d.split('.').skip(1)).collect();
    let mut out: Vec<(String, Found)> = level_stems
        .iter()
        .filter(|s| s.as_str() != FACSIMILE && s.as_str() != project && !s.contains('.'))
        .filter(|s| !inner.contains(s.as_str()))
        .map(|s| (s.clone(), Found::LevelFile))
        .collect();
    for dir in state_dirs {
        if !out.iter().any(|(id, _)| id == dir) {
            out.push((dir.clone(), Found::State));
        }
    }
    out
}

/// Why a release environment name cannot be imported, if it cannot.
pub fn invalid(id: &str) -> Option<&'static str> {
    if id.is_empty() || id.split('.').any(str::is_empty) {
        Some("a release environment is one or more non-empty names joined by `.`")
    } else if id.contains(['/', '\\']) {
        Some("a release environment cannot contain a path separator")
    } else {
        None
    }
}

/// A valid `.facs` declaration name for `text`: itself when it is one, else
/// its characters outside `[A-Za-z0-9_-]` replaced by `_` (and a leading `_`
/// where it would not start with a letter).
pub fn plain_name(text: &str) -> String {
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
    name
}

/// Names the environments: the last segment, or, where two environments
/// end in one segment, the whole name with `-` for `.`.
pub fn env_names(ids: &[String]) -> Vec<String> {
    let mut by_last: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        *by_last.entry(id.rsplit('.').next().unwrap_or(id)).or_default() += 1;
    }
    let mut taken = BTreeSet::new();
    ids.iter()
        .map(|id| {
            let last = id.rsplit('.').next().unwrap_or(id);
            let base =
                if by_last.get(last).copied().unwrap_or(0) > 1 { id.replace('.', "-") } else { last.to_string() };
            let base = plain_name(&base);
            let base = if base == "_ALL_" { "_ALL_-env".to_string() } else { base };
            unique(base, &mut taken, "-")
        })
        .collect()
}

/// Names a level after its file, unless an environment (or another level)
/// has that name: then `<name>-level`. Environments keep the plain names
/// because their template folders are named after them.
pub fn level_name(stem: &str, taken: &mut BTreeSet<String>) -> String {
    let base = plain_name(stem);
    if !taken.contains(&base) && base != "_ALL_" {
        taken.insert(base.clone());
        return base;
    }
    unique(format!("{base}-level"), taken, "")
}

fn unique(base: String, taken: &mut BTreeSet<String>, sep: &str) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}{sep}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}
