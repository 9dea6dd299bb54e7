//! `deploy --no-build`: is what the last build wrote what a build would
//! write now? The run evaluates against the stored state and renders in
//! memory (`Writes::Compare`); this compares that with the manifest and the
//! tree on disk. Comparing outputs rather than hashing inputs catches every
//! input (definitions, state, templates, extra and copied files, included
//! files) without a list of them that could fall behind, and never refuses a
//! tree that is byte-for-byte current (a changed comment, say). Messages name
//! paths, never contents: a rendered file may hold a secret.

use super::commands::BuiltInstance;
use crate::build::Options;
use crate::render::FileTree;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// How many differing paths a refusal names before "and N more".
const SHOWN: usize = 5;

/// Ok when the last build's outputs of `instance` are current.
pub fn built_is_current(options: &Options, instance: &BuiltInstance) -> Result<(), String> {
    let name = &instance.name;
    let again = format!("deploy without --no-build, or run `facs build {name}` first");
    let path = crate::layout::manifest_path(&options.out_dir, name);
    let expected = instance.compiled.manifest.value.to_pretty_json(true);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Err(format!("`{name}` has not been built ({} is missing): {again}", path.display()));
    };
    if instance.new_secrets > 0 {
        return Err(format!(
            "the state of `{}` lacks {} secret value{} that `{name}` needs (it changed or was deleted since the \
             build): {again}",
            instance.owner,
            instance.new_secrets,
            if instance.new_secrets == 1 { "" } else { "s" }
        ));
    }
    if text != expected {
        return Err(format!(
            "the definitions or state of `{name}` changed since it was built ({} differs): {again}",
            path.display()
        ));
    }
    let empty = FileTree::new();
    let tree = instance.rendered.as_ref().unwrap_or(&empty);
    let dir = options.out_dir.join(name);
    let on_disk =
        read_tree(&dir).map_err(|e| format!("cannot read the last build of `{name}` in {}: {e}", dir.display()))?;
    let changes = differences(tree, &on_disk);
    if changes.is_empty() {
        return Ok(());
    }
    let more = changes.len().saturating_sub(SHOWN);
    let mut shown: Vec<String> = changes.into_iter().take(SHOWN).collect();
    if more > 0 {
        shown.push(format!("and {more} more"));
    }
    Err(format!(
        "the templates, extra or copied files of `{name}` changed since it was built ({} in {}): {again}",
        shown.join(", "),
        dir.display()
    ))
}

/// A file of the tree on disk: its bytes and permission bits, or `None`
/// for something that is not a regular file.
type DiskTree = BTreeMap<String, Option<(Vec<u8>, u32)>>;

fn read_tree(dir: &Path) -> std::io::Result<DiskTree> {
    let mut out = DiskTree::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_dir() {
            continue;
        }
        // Named as the tree names its keys, so a non-UTF-8 name matches.
        let rel = crate::source::relative_name(entry.path().strip_prefix(dir).map_err(std::io::Error::other)?);
        let file = if entry.file_type().is_file() {
            let mode = entry.metadata().map_err(std::io::Error::other)?.permissions().mode() & 0o777;
            Some((std::fs::read(entry.path())?, mode))
        } else {
            None
        };
        out.insert(rel, file);
    }
    Ok(out)
}

/// Each difference as "`path` differs", "is new" or "is gone", by path.
fn differences(tree: &FileTree, disk: &DiskTree) -> Vec<String> {
    let mut out = Vec::new();
    for (path, file) in tree {
        match disk.get(path) {
            None => out.push(format!("`{path}` is new")),
            Some(Some((bytes, bits))) if *bytes == file.bytes && *bits == file.mode() => {}
            Some(_) => out.push(format!("`{path}` differs")),
        }
    }
    out.extend(disk.keys().filter(|p| !tree.contains_key(*p)).map(|p| format!("`{p}` is gone")));
    out
}
