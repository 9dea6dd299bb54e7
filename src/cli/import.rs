//! `facs import LEGACY_DIR [--name N] [--env E]... [--state DIR] [-o DIR]`:
//! the disk side of [`crate::import`]. Finds the definition directory (the
//! given one when it holds facsimile.json or modules.json, else its
//! `config/facsimile/`) and the repository around it, reads the original's
//! state (`--state`, else `<repository>/.facsimile/state`), converts in
//! memory, refuses to write into a non-empty directory, writes the files
//! (state 0600 in 0700 directories) and prints the report on stdout. Exit
//! status 0 when written, 1 on any error (named file, JSON line and column).

use crate::import::{self, How, LegacyDir, LegacyFile, Options};
use std::path::{Component, Path, PathBuf};

/// The command's arguments.
pub struct Args<'a> {
    /// LEGACY_DIR.
    pub legacy: &'a Path,
    /// `-o`.
    pub out: Option<&'a Path>,
    /// `--name`.
    pub name: Option<&'a str>,
    /// `--env`, in order.
    pub envs: &'a [String],
    /// `--state`: the original's state directory.
    pub state: Option<&'a Path>,
}

/// Runs the import and returns the exit status.
pub fn run(args: &Args<'_>) -> i32 {
    match import_to_disk(args) {
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

/// Where the definitions and the repository are.
struct Found {
    define: PathBuf,
    repo: Option<PathBuf>,
}

fn locate(legacy: &Path) -> Result<Found, String> {
    if !legacy.is_dir() {
        return Err(format!("{} is not a directory", legacy.display()));
    }
    let holds = |d: &Path| d.join("facsimile.json").is_file() || d.join("modules.json").is_file();
    let full = std::fs::canonicalize(legacy).map_err(|e| format!("cannot resolve {}: {e}", legacy.display()))?;
    if holds(&full) {
        // `<repo>/config/facsimile`, the original's define dir.
        let repo = (full.ends_with("config/facsimile")).then(|| full.join("../..")).map(|r| normal(&r));
        return Ok(Found { define: full, repo });
    }
    let nested = full.join("config/facsimile");
    if holds(&nested) {
        return Ok(Found { define: nested, repo: Some(full) });
    }
    Err(format!(
        "{} is not an original facsimile definition directory: neither it nor its config/facsimile/ holds \
         facsimile.json or modules.json",
        legacy.display()
    ))
}

/// Removes `.` and `name/..` without touching the disk.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `to` relative to `from` (both absolute and normal).
fn relative(to: &Path, from: &Path) -> PathBuf {
    let to: Vec<Component> = to.components().collect();
    let from: Vec<Component> = from.components().collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in to.iter().skip(common) {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn import_to_disk(args: &Args<'_>) -> Result<String, String> {
    let found = locate(args.legacy)?;
    let out = match args.out {
        Some(o) => o.to_path_buf(),
        None => default_out(found.repo.as_deref().unwrap_or(&found.define))?,
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
    let created = !out.exists();
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let result = convert_and_write(args, &found, &out);
    if result.is_err() && created {
        // A refused import leaves no empty directory behind.
        let _ = std::fs::remove_dir(&out);
    }
    result
}

fn convert_and_write(args: &Args<'_>, found: &Found, out: &Path) -> Result<String, String> {
    let out_full = std::fs::canonicalize(out).map_err(|e| format!("cannot resolve {}: {e}", out.display()))?;
    let mut dir = read_legacy(&found.define)?;
    let mut state_note = None;
    if let Some(repo) = &found.repo {
        let install = repo.join("config/install.json");
        if install.is_file() {
            let bytes = std::fs::read(&install).map_err(|e| format!("cannot read {}: {e}", install.display()))?;
            dir.install_json = Some(LegacyFile { bytes, executable: false });
        }
    }
    let state_dir = match (args.state, &found.repo) {
        (Some(s), _) => {
            if !s.is_dir() {
                return Err(format!("--state {}: not a directory", s.display()));
            }
            Some(s.to_path_buf())
        }
        (None, Some(repo)) if repo.join(".facsimile/state").is_dir() => {
            state_note = Some(format!("state read from {}", repo.join(".facsimile/state").display()));
            Some(repo.join(".facsimile/state"))
        }
        _ => None,
    };
    if let Some(state_dir) = &state_dir {
        read_state(state_dir, &mut dir)?;
    }
    let options = Options {
        name: args.name.map(str::to_string),
        envs: args.envs.to_vec(),
        repo_name: found.repo.as_ref().and_then(|r| r.file_name()).and_then(|n| n.to_str()).map(str::to_string),
        src_dir: found.repo.as_ref().map(|r| relative(r, &out_full).to_string_lossy().into_owned()),
    };
    let imported = import::import(&dir, &options).map_err(|e| format!("in {}: {e}", found.define.display()))?;
    for file in &imported.files {
        let path = out.join(&file.path);
        if file.how == How::State {
            write_private(&path, &file.bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &file.bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if file.executable {
            set_executable(&path).map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
        }
    }
    let mut report = imported.report(&out.display().to_string());
    if let Some(note) = state_note {
        report.push_str(&format!(
            "
{note}
"
        ));
    }
    Ok(report)
}

/// `<name>-facs`, next to the repository (or definition directory).
fn default_out(legacy: &Path) -> Result<PathBuf, String> {
    match legacy.file_name().and_then(|n| n.to_str()) {
        Some(name) => Ok(legacy.with_file_name(format!("{name}-facs"))),
        None => Err(format!("cannot name an output directory after {}: give one with -o", legacy.display())),
    }
}

/// `<state>/<release env>/state.json` of the original, by release environment.
fn read_state(state: &Path, dir: &mut LegacyDir) -> Result<(), String> {
    let entries = std::fs::read_dir(state).map_err(|e| format!("cannot read {}: {e}", state.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", state.display()))?;
        let file = entry.path().join("state.json");
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if file.is_file() {
            let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            dir.state.insert(name, LegacyFile { bytes, executable: false });
        }
    }
    Ok(())
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

/// A state file as facs keeps its own: 0600 in 0700 directories, so a copy
/// of the original's 0644 files is never readable by others.
#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)
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
