//! Writing manifests and trees to disk.
//!
//! A tree is built in a staging directory beside `<out>/<instance>` and
//! swapped in with one `renameat2(RENAME_EXCHANGE)`, so after a failed or
//! killed build the previous tree is intact; staging directories left by a
//! killed build are removed by the next one.

use crate::build::Compilation;
use crate::render::FileTree;
use crate::resolve::Resolved;
use rayon::prelude::*;
use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Writes every manifest and tree; returns the failures.
pub fn write_outputs(
    out_dir: &Path,
    compilation: &Compilation,
    resolved: &Resolved<'_>,
    trees: &[(String, FileTree)],
) -> Vec<String> {
    if let Err(e) = fs::create_dir_all(out_dir) {
        return vec![format!("cannot create {}: {e}", out_dir.display())];
    }
    sweep_staging(out_dir);
    let instances = compilation.instances();
    let mut failures: Vec<String> = instances
        .iter()
        .filter_map(|(id, compiled)| {
            let name = resolved.instances.get(*id)?.name();
            write_manifest(out_dir, name, &compiled.json)
                .err()
                .map(|e| format!("cannot write {}/{name}.json: {e}", out_dir.display()))
        })
        .collect();
    failures.extend(
        trees
            .par_iter()
            .filter_map(|(name, tree)| {
                write_tree(out_dir, name, tree)
                    .err()
                    .map(|e| format!("cannot write the tree of `{name}` in {}: {e}", out_dir.display()))
            })
            .collect::<Vec<_>>(),
    );
    failures
}

/// Writes `<out>/<name>.json` atomically with mode 0600, unless it already
/// holds exactly this text (rebuilds of unchanged instances touch nothing).
pub fn write_manifest(out_dir: &Path, name: &str, text: &str) -> io::Result<()> {
    let path = out_dir.join(format!("{name}.json"));
    if let Ok(meta) = fs::symlink_metadata(&path) {
        use std::os::unix::fs::PermissionsExt;
        let same_size = meta.is_file() && meta.len() == text.len() as u64 && meta.permissions().mode() & 0o777 == 0o600;
        if same_size && fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            return Ok(());
        }
    }
    let tmp = out_dir.join(format!(".{name}.json.tmp.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    if let Err(e) = file.write_all(text.as_bytes()) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    drop(file);
    fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

const STAGING: &str = ".staging.";

fn sweep_staging(out_dir: &Path) {
    if let Ok(entries) = fs::read_dir(out_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && (name.contains(STAGING) || name.contains(".json.tmp.")) {
                let path = entry.path();
                let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            }
        }
    }
}

/// Writes one tree into a staging directory and swaps it into `<out>/<name>`.
pub fn write_tree(out_dir: &Path, name: &str, tree: &FileTree) -> io::Result<()> {
    let final_dir = out_dir.join(name);
    let staging = out_dir.join(format!(".{name}{STAGING}{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::DirBuilder::new().mode(0o755).create(&staging)?;
    let result = (|| {
        for (rel, file) in tree {
            let path = staging.join(rel);
            if let Some(parent) = path.parent() {
                fs::DirBuilder::new().recursive(true).mode(0o755).create(parent)?;
            }
            let mode = match (file.secret, file.executable) {
                (true, true) => 0o700,
                (true, false) => 0o600,
                (false, true) => 0o755,
                (false, false) => 0o644,
            };
            let mut f = OpenOptions::new().write(true).create_new(true).mode(mode).open(&path)?;
            f.write_all(&file.bytes)?;
        }
        swap_in(&staging, &final_dir)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn swap_in(staging: &Path, final_dir: &Path) -> io::Result<()> {
    if fs::symlink_metadata(final_dir).is_err() {
        return fs::rename(staging, final_dir);
    }
    let a = CString::new(staging.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let b = CString::new(final_dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // The staging path now holds the previous tree.
    fs::remove_dir_all(staging)
}
