//! Writing manifests and trees to disk.
//!
//! Nothing is replaced until everything is staged: each manifest is written
//! to a temp file and each tree to a staging directory beside
//! `<out>/<instance>`. Only when all of them are complete is each tree
//! swapped in with one `renameat2(RENAME_EXCHANGE)` and then its manifest
//! renamed over the old one. So a build that fails while writing (disk full,
//! unwritable directory) leaves every previous output as it was, and one
//! killed while swapping leaves each tree whole, old or new, with a manifest
//! never newer than its tree. Staging directories and temp files left by a
//! dead build are removed by the next one.
//!
//! Files are created with their final mode by the call that creates them
//! (manifests and files holding a secret 0600), never chmod-ed afterwards,
//! so no umask opens a window in which others can read a secret.

use crate::build::Compilation;
use crate::render::FileTree;
use crate::resolve::Resolved;
use rayon::prelude::*;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Checks that `out_dir` is facs's to write (spec §12) before anything is
/// written: it does not exist, is empty, or already holds facs's outputs; and
/// nothing facs would replace there (`<instance>.json`, `<instance>/`) is a
/// file someone else wrote. So `--out ~/docs` cannot replace a user's
/// `prod.json`, and a user's own file in the output directory stays.
///
/// Ownership is read from the outputs themselves rather than from a marker
/// file (docs/decisions/output-ownership.md): a manifest is facs's when it
/// starts the way facs writes one for that instance, a tree when its manifest
/// is.
pub fn claim_output_dir(out_dir: &Path, instances: &[&str]) -> Result<(), String> {
    let entries: Vec<String> = match fs::read_dir(out_dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read the output directory {}: {e}", out_dir.display())),
    };
    if entries.is_empty() {
        return Ok(());
    }
    let ours = |name: &str| is_facs_manifest(&crate::layout::manifest_path(out_dir, name), name);
    let mut foreign: Vec<String> = Vec::new();
    for name in instances {
        let (manifest, tree) = (format!("{name}.json"), out_dir.join(name));
        let present = entries.contains(&manifest) || fs::symlink_metadata(&tree).is_ok();
        if present && !ours(name) {
            foreign.extend([manifest, name.to_string()].into_iter().filter(|e| entries.contains(e)));
        }
    }
    let any_ours = instances.iter().any(|n| ours(n));
    if foreign.is_empty() && any_ours {
        return Ok(());
    }
    if foreign.is_empty() {
        foreign = entries;
    }
    foreign.sort();
    let shown: Vec<String> = foreign.iter().take(5).map(|e| format!("`{e}`")).collect();
    let more = if foreign.len() > 5 { format!(" and {} more", foreign.len() - 5) } else { String::new() };
    Err(format!(
        "refusing to write into {}: it holds files facs did not write ({}{more}); give --out a new or empty \
         directory (facs never replaces or deletes what it did not write)",
        out_dir.display(),
        shown.join(", ")
    ))
}

/// Removes the outputs of instances the definition no longer builds (spec
/// §12): each `<name>.json` that facs wrote (see [`is_facs_manifest`]) whose
/// name is not in `concrete` (removed, renamed, or made abstract), with its
/// tree. Anything else in the output directory stays. The tree goes first:
/// an interrupted prune leaves a manifest, which the next build prunes. Returns
/// the names pruned, and failures.
pub fn prune_outputs(out_dir: &Path, concrete: &[&str]) -> (Vec<String>, Vec<String>) {
    let Ok(entries) = fs::read_dir(out_dir) else { return (Vec::new(), Vec::new()) };
    let mut stale: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
        .filter(|name| !concrete.contains(&name.as_str()))
        .filter(|name| is_facs_manifest(&crate::layout::manifest_path(out_dir, name), name))
        .collect();
    stale.sort();
    let mut failures = Vec::new();
    stale.retain(|name| {
        let tree = out_dir.join(name);
        let removed = match fs::symlink_metadata(&tree) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&tree),
            // A symlink or file where a tree would be is not facs's: kept.
            _ => Ok(()),
        }
        .and_then(|()| fs::remove_file(crate::layout::manifest_path(out_dir, name)));
        match removed {
            Ok(()) => true,
            Err(e) => {
                failures.push(format!("cannot remove the outputs of `{name}` (no longer an instance): {e}"));
                false
            }
        }
    });
    (stale, failures)
}

/// True when `path` is a manifest facs wrote for `instance`: the pretty JSON
/// facs writes starts with the `facs` block and the instance's name.
fn is_facs_manifest(path: &Path, instance: &str) -> bool {
    use std::io::Read;
    let Ok(meta) = fs::symlink_metadata(path) else { return false };
    if !meta.is_file() {
        return false;
    }
    let expected = format!("{{\n  \"facs\": {{\n    \"instance\": {},", serde_json::Value::from(instance));
    let mut head = vec![0; expected.len()];
    fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && head == expected.as_bytes()
}

/// Writes every manifest and tree; returns the failures.
pub fn write_outputs(
    out_dir: &Path,
    compilation: &Compilation,
    resolved: &Resolved<'_>,
    trees: &[(String, FileTree)],
) -> Vec<String> {
    // 0755 whatever the umask: a world-writable output directory would let
    // anyone replace a manifest or a tree before it is deployed.
    if let Err(e) = fs::DirBuilder::new().recursive(true).mode(0o755).create(out_dir) {
        return vec![format!("cannot create {}: {e}", out_dir.display())];
    }
    sweep_staging(out_dir);
    let instances: Vec<(&str, &str)> =
        compilation.instances().into_iter().map(|(id, c)| (resolved.instances[id].name(), c.json.as_str())).collect();
    let intact = |e: String| format!("{e}; nothing in {} was replaced", out_dir.display());
    let manifests: Vec<Result<Option<StagedFile>, String>> = instances
        .par_iter()
        .map(|(name, text)| {
            stage_manifest(out_dir, name, text)
                .map_err(|e| intact(format!("cannot write {}/{name}.json: {e}", out_dir.display())))
        })
        .collect();
    let staged_trees: Vec<Result<StagedTree, String>> = trees
        .par_iter()
        .map(|(name, tree)| {
            stage_tree(out_dir, name, tree)
                .map_err(|e| intact(format!("cannot write the tree of `{name}` in {}: {e}", out_dir.display())))
        })
        .collect();
    let mut failures = Vec::new();
    let mut outputs: Vec<Output> = Vec::with_capacity(instances.len());
    for ((name, _), manifest) in instances.iter().zip(manifests) {
        match manifest {
            Ok(manifest) => outputs.push(Output { name: name.to_string(), manifest, tree: None }),
            Err(e) => failures.push(e),
        }
    }
    let index: std::collections::HashMap<String, usize> =
        outputs.iter().enumerate().map(|(i, o)| (o.name.clone(), i)).collect();
    for ((name, _), tree) in trees.iter().zip(staged_trees) {
        match tree {
            Ok(tree) => match index.get(name).and_then(|&i| outputs.get_mut(i)) {
                Some(output) => output.tree = Some(tree),
                None => outputs.push(Output { name: name.clone(), manifest: None, tree: Some(tree) }),
            },
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        // Dropping `outputs` removes every staged file and directory.
        return failures;
    }
    outputs.into_par_iter().filter_map(|output| output.commit(out_dir).err()).collect()
}

/// One instance's staged outputs.
struct Output {
    name: String,
    manifest: Option<StagedFile>,
    tree: Option<StagedTree>,
}

impl Output {
    /// Swaps the tree in, then renames the manifest: a manifest never
    /// describes a tree that is not in place.
    fn commit(mut self, out_dir: &Path) -> Result<(), String> {
        let name = &self.name;
        if let Some(tree) = self.tree.take() {
            tree.commit().map_err(|e| format!("cannot write the tree of `{name}` in {}: {e}", out_dir.display()))?;
        }
        if let Some(manifest) = self.manifest.take() {
            manifest.commit().map_err(|e| format!("cannot write {}/{name}.json: {e}", out_dir.display()))?;
        }
        Ok(())
    }
}

/// An I/O error that names the path it happened on.
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A manifest written to its temp file; dropped uncommitted, it removes it.
struct StagedFile {
    tmp: Option<PathBuf>,
    dest: PathBuf,
}

impl StagedFile {
    fn commit(mut self) -> io::Result<()> {
        if let Some(tmp) = &self.tmp {
            fs::rename(tmp, &self.dest).map_err(at(&self.dest))?;
        }
        self.tmp = None;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Writes `<out>/.<name>.json.tmp.<pid>` (mode 0600) to be renamed over
/// `<out>/<name>.json`; `None` when the manifest already holds exactly this
/// text (rebuilds of unchanged instances touch nothing).
fn stage_manifest(out_dir: &Path, name: &str, text: &str) -> io::Result<Option<StagedFile>> {
    let dest = crate::layout::manifest_path(out_dir, name);
    if let Ok(meta) = fs::symlink_metadata(&dest) {
        use std::os::unix::fs::PermissionsExt;
        let same_size = meta.is_file() && meta.len() == text.len() as u64 && meta.permissions().mode() & 0o777 == 0o600;
        if same_size && fs::read(&dest).is_ok_and(|old| old == text.as_bytes()) {
            return Ok(None);
        }
    }
    let tmp = out_dir.join(format!(".{name}{TEMP}{}", std::process::id()));
    let create = || OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp);
    let mut file = match create() {
        // A leftover of a dead process whose pid this one reused; removed, not
        // truncated, since O_CREAT's mode applies only to a file it creates.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(&tmp);
            create()
        }
        result => result,
    }
    .map_err(at(&tmp))?;
    let staged = StagedFile { tmp: Some(tmp.clone()), dest };
    file.write_all(text.as_bytes()).map_err(at(&tmp))?;
    Ok(Some(staged))
}

/// Marks a staging directory: `.<name>.staging.<pid>`.
const STAGING: &str = ".staging.";
/// Marks a manifest's temp file: `.<name>.json.tmp.<pid>`.
const TEMP: &str = ".json.tmp.";

/// Removes the staging directories and temp files of builds that are no
/// longer running. Those of a running build (another `facs build` into the
/// same directory) are its work in progress: removing them would make it fail
/// or, worse, swap in a tree emptied under its feet.
fn sweep_staging(out_dir: &Path) {
    let Ok(entries) = fs::read_dir(out_dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with('.') || !(name.contains(STAGING) || name.contains(TEMP)) {
            continue;
        }
        let pid = name.rsplit('.').next().and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|pid| pid != own_pid() && is_running(pid)) {
            continue;
        }
        let path = entry.path();
        let _ = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
    }
}

fn own_pid() -> i32 {
    i32::try_from(std::process::id()).unwrap_or(0)
}

/// True when a process `pid` exists (possibly another user's).
fn is_running(pid: i32) -> bool {
    // Signal 0 only checks that the process exists; EPERM means it exists
    // but belongs to another user.
    rustix::process::Pid::from_raw(pid)
        .is_some_and(|pid| matches!(rustix::process::test_kill_process(pid), Ok(()) | Err(rustix::io::Errno::PERM)))
}

/// A tree written into its staging directory; dropped uncommitted (or with
/// the previous tree left in it after the swap), it removes the directory.
struct StagedTree {
    staging: Option<PathBuf>,
    dest: PathBuf,
}

impl Drop for StagedTree {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            let _ = fs::remove_dir_all(staging);
        }
    }
}

impl StagedTree {
    /// Swaps the staged tree into place and removes the previous one.
    fn commit(mut self) -> io::Result<()> {
        let Some(staging) = self.staging.clone() else { return Ok(()) };
        swap_in(&staging, &self.dest)?;
        // The staging path now holds the previous tree (or nothing).
        let removed = match fs::symlink_metadata(&staging) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            _ => fs::remove_dir_all(&staging).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "the new tree is in place, but the previous one, moved to {}, cannot be removed: {e}; the \
                         next build removes it",
                        staging.display()
                    ),
                )
            }),
        };
        self.staging = None;
        removed
    }
}

/// Writes one tree into a staging directory beside `<out>/<name>`.
fn stage_tree(out_dir: &Path, name: &str, tree: &FileTree) -> io::Result<StagedTree> {
    let dest = out_dir.join(name);
    let staging = out_dir.join(format!(".{name}{STAGING}{}", std::process::id()));
    if fs::symlink_metadata(&staging).is_ok() {
        // A leftover of a dead process whose pid this one reused.
        fs::remove_dir_all(&staging).map_err(at(&staging))?;
    }
    fs::DirBuilder::new().mode(0o755).create(&staging).map_err(at(&staging))?;
    let staged = StagedTree { staging: Some(staging.clone()), dest };
    for (rel, file) in tree {
        // A tree key is a `relative_name`: an escaped byte name is written
        // with its own bytes again.
        let rel = crate::source::path_of_name(rel);
        let path = staging.join(&rel);
        // Errors name the file's final path, which is what the user knows.
        let shown = out_dir.join(name).join(&rel);
        if let Some(parent) = path.parent() {
            fs::DirBuilder::new().recursive(true).mode(0o755).create(parent).map_err(at(&shown))?;
        }
        let mode = file.mode();
        let mut f = OpenOptions::new().write(true).create_new(true).mode(mode).open(&path).map_err(at(&shown))?;
        f.write_all(&file.bytes).map_err(at(&shown))?;
    }
    Ok(staged)
}

/// Exchanges `staging` with `dest` (or renames it there when `dest` does not
/// exist). A concurrent build may create `dest` in between: then exchange.
fn swap_in(staging: &Path, dest: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    for _ in 0..3 {
        match renameat_with(CWD, staging, CWD, dest, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if e != Errno::NOENT || fs::symlink_metadata(dest).is_ok() => return Err(at(dest)(e.into())),
            Err(_) => {}
        }
        match renameat_with(CWD, staging, CWD, dest, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            // A file system without RENAME_NOREPLACE: a plain rename fails
            // anyway when `dest` is a non-empty directory.
            Err(Errno::INVAL) => return fs::rename(staging, dest).map_err(at(dest)),
            Err(e) if e != Errno::EXIST => return Err(at(dest)(e.into())),
            Err(_) => {}
        }
    }
    Err(at(dest)(io::Error::other("replaced by another build at every attempt")))
}
