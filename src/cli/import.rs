//! `facs import LEGACY_DIR [-o DIR]`: the disk side of [`crate::import`].
//! Reads the legacy directory (hidden top-level entries are skipped), converts
//! it in memory, refuses to write into a non-empty directory, writes the
//! files and prints the report on stdout. Exit status 0 when written, 1 on
//! any error (named file, JSON line and column).

use crate::import::{self, LegacyDir, LegacyFile};
use std::path::{Path, PathBuf};

/// Runs the import and returns the exit status.
pub fn run(legacy: &Path, out: Option<&Path>) -> i32 {
    match import_to_disk(legacy, out) {
        Ok(report) => {
            // The files are written: a reader that stopped early loses
            // only the report.
            let _ = super::write_stdout(report.as_bytes());
            0
        }
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

fn import_to_disk(legacy: &Path, out: Option<&Path>) -> Result<String, String> {
    if !legacy.is_dir() {
        return Err(format!("{} is not a directory", legacy.display()));
    }
    if !legacy.join("facsimile.json").is_file() {
        return Err(format!(
            "{} has no facsimile.json: it is not an original facsimile definition directory",
            legacy.display()
        ));
    }
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => default_out(legacy)?,
    };
    if out.exists() {
        let empty = std::fs::read_dir(&out)
            .map_err(|e| format!("cannot use {} as the output directory: {e}", out.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(format!(
                "{} exists and is not empty: choose another directory with -o, or remove it",
                out.display()
            ));
        }
    }
    let dir = read_legacy(legacy)?;
    let imported = import::import(&dir).map_err(|e| format!("in {}: {e}", legacy.display()))?;
    for file in &imported.files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &file.bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if file.executable {
            set_executable(&path).map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
        }
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    Ok(imported.report(&out.display().to_string()))
}

/// `<LEGACY_DIR>-facs`, next to the legacy directory.
fn default_out(legacy: &Path) -> Result<PathBuf, String> {
    if let Some(name) = legacy.file_name().and_then(|n| n.to_str()) {
        return Ok(legacy.with_file_name(format!("{name}-facs")));
    }
    let full = legacy.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", legacy.display()))?;
    match full.file_name().and_then(|n| n.to_str()) {
        Some(name) => Ok(full.with_file_name(format!("{name}-facs"))),
        None => Err(format!("cannot name an output directory after {}: give one with -o", legacy.display())),
    }
}

fn read_legacy(legacy: &Path) -> Result<LegacyDir, String> {
    let mut dir = LegacyDir::default();
    let walker = walkdir::WalkDir::new(legacy).min_depth(1).follow_links(true).sort_by_file_name();
    let mut it = walker.into_iter();
    while let Some(entry) = it.next() {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", legacy.display()))?;
        let rel = entry.path().strip_prefix(legacy).unwrap_or(entry.path());
        let Some(rel_text) = rel.to_str().map(|s| s.replace(std::path::MAIN_SEPARATOR, "/")) else {
            dir.skipped.push(rel.to_string_lossy().into_owned());
            continue;
        };
        if entry.depth() == 1 && rel_text.starts_with('.') {
            dir.skipped.push(rel_text);
            if entry.file_type().is_dir() {
                it.skip_current_dir();
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        let executable = is_executable(entry.path());
        dir.files.insert(rel_text, LegacyFile { bytes, executable });
    }
    Ok(dir)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}

#[cfg(unix)]
fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    let mode = perms.mode();
    // Executable wherever readable, as `chmod +x` does under a usual umask.
    perms.set_mode(mode | (mode & 0o444) >> 2);
    std::fs::set_permissions(path, perms)
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}
