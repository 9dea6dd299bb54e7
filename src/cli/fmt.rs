//! `facs fmt [--check | --diff] [FILES | -]` (spec §12): formats `.facs`
//! files in place and names each file it rewrites; with `--check` lists the
//! ones that are not formatted; with `--diff` prints what would change as a
//! unified diff. `-` formats stdin to stdout (for editors and pipes).
//!
//! With no FILES, every `.facs` file of the definition directory is
//! formatted (the files `build` loads). A FILE is a path as given on the
//! command line (relative to the current directory); a directory stands for
//! the `.facs` files under it. Files are rewritten only when their text
//! changes, atomically (a temporary file in the same directory, renamed
//! over the original, with the original's permissions). A file with a
//! syntax error is reported like `facs check` reports it and left alone.
//! Exit status: 0 when every file is (now) formatted; 1 when `--check` or
//! `--diff` found an unformatted file or any file could not be read, parsed
//! or written.

use super::Ui;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{relative_name, DiskFs, Fs, SourceMap, Span};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One file to format: where it is, and how it is named in messages.
struct Target {
    path: PathBuf,
    display: String,
}

/// What `facs fmt` does with a file that is not formatted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite it, and say so.
    Write,
    /// List it (`--check`).
    Check,
    /// Print a unified diff (`--diff`).
    Diff,
}

/// The name stdin has in messages.
const STDIN: &str = "<stdin>";

/// Runs `facs fmt`; returns the exit status.
pub fn run(project: &Path, mode: Mode, files: &[PathBuf], ui: &mut Ui) -> i32 {
    if files.iter().any(|f| f.as_os_str() == "-") {
        if files.len() > 1 {
            ui.failure("`facs fmt -` formats stdin alone: give `-` without other files");
            return 2;
        }
        return stdin(mode, ui);
    }
    let check = mode != Mode::Write;
    let targets = match targets(project, files) {
        Ok(targets) => targets,
        Err(message) => {
            ui.failure(&message);
            return 1;
        }
    };
    let mut n_errors = 0;
    let mut unformatted = Vec::new();
    let mut diffs = String::new();
    for target in &targets {
        match format_one(target, check, ui) {
            Ok(Some((original, formatted))) => {
                unformatted.push(target.display.as_str());
                match mode {
                    Mode::Write => ui.status(&format!("formatted {}", target.display)),
                    Mode::Diff => diffs.push_str(&unified_diff(&target.display, &original, &formatted)),
                    Mode::Check => {}
                }
            }
            Ok(None) => {}
            Err(n) => n_errors += n,
        }
    }
    let mut status = 0;
    if mode == Mode::Check && !unformatted.is_empty() {
        let names: String = unformatted.iter().map(|name| format!("{name}\n")).collect();
        status = ui.out(names.as_bytes());
    }
    if mode == Mode::Diff && !diffs.is_empty() {
        status = ui.out(diffs.as_bytes());
    }
    ui.summary(n_errors, 0);
    i32::from(n_errors > 0 || (check && !unformatted.is_empty())).max(status)
}

/// The files to format, in order, without duplicates.
fn targets(project: &Path, files: &[PathBuf]) -> Result<Vec<Target>, String> {
    let project = std::path::absolute(project).unwrap_or_else(|_| project.to_path_buf());
    if files.is_empty() {
        if !project.is_dir() {
            return Err(format!("{} is not a directory", project.display()));
        }
        return facs_files_under(&project, &project);
    }
    let mut found = Vec::new();
    for file in files {
        let path = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        if path.is_dir() {
            found.extend(facs_files_under(&path, &project)?);
        } else if path.is_file() {
            found.push(Target { display: display_name(&path, &project), path });
        } else {
            return Err(format!("{}: no such file or directory", file.display()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|t| seen.insert(t.path.clone()));
    Ok(found)
}

/// The `.facs` files under `dir` as `build` finds them (hidden directories,
/// top-level `tmpl/` and `extra/`, and `.facsimile/` skipped).
fn facs_files_under(dir: &Path, project: &Path) -> Result<Vec<Target>, String> {
    let skip = [project.join(".facsimile/out"), project.join(".facsimile/state")];
    let names = DiskFs::new(dir, &skip).facs_files().map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    Ok(names
        .into_iter()
        .map(|name| {
            let path = dir.join(crate::source::path_of_name(&name));
            Target { display: display_name(&path, project), path }
        })
        .collect())
}

/// A path relative to the project directory when it is inside it.
fn display_name(path: &Path, project: &Path) -> String {
    match path.strip_prefix(project) {
        Ok(relative) => relative_name(relative),
        Err(_) => path.display().to_string(),
    }
}

/// `facs fmt -`: stdin formatted to stdout (`--check`: nothing printed,
/// exit 1 when it is not formatted; `--diff`: the diff).
fn stdin(mode: Mode, ui: &mut Ui) -> i32 {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut bytes) {
        ui.failure(&format!("cannot read stdin: {e}"));
        return 1;
    }
    let (original, formatted) = match format_text(STDIN, bytes, ui) {
        Ok(pair) => pair,
        Err(_) => return 1,
    };
    match mode {
        Mode::Write => ui.out(formatted.as_bytes()),
        Mode::Check => i32::from(formatted != original),
        Mode::Diff if formatted == original => 0,
        Mode::Diff => ui.out(unified_diff(STDIN, &original, &formatted).as_bytes()).max(1),
    }
}

/// A unified diff of one file, headed `--- NAME` / `+++ NAME (formatted)`.
fn unified_diff(name: &str, original: &str, formatted: &str) -> String {
    similar::TextDiff::from_lines(original, formatted)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

/// Parses and formats one text named `name`: `(original, formatted)`, or
/// the number of errors printed (a file that is not UTF-8, syntax errors).
fn format_text(name: &str, bytes: Vec<u8>, ui: &mut Ui) -> Result<(String, String), usize> {
    let mut sources = SourceMap::new();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let id = sources.add(name, String::from_utf8_lossy(e.as_bytes()).into_owned());
            let d = Diagnostic::error(Code::E001, Span::new(id, at, at + 1), "file is not valid UTF-8")
                .with_primary_label("invalid byte here")
                .with_help("Save the file as UTF-8.");
            ui.diagnostics(&sources, &[d]);
            return Err(1);
        }
    };
    let id = sources.add(name, text);
    match crate::fmt::format_file(&sources, id) {
        Ok(formatted) => Ok((sources.get(id).map_or(String::new(), |f| f.text.clone()), formatted)),
        Err(diagnostics) => {
            ui.diagnostics(&sources, &diagnostics);
            Err(diagnostics.len())
        }
    }
}

/// Formats one file: `Some((original, formatted))` when it was not
/// formatted (and, without `check`, has been rewritten); `Err` with the
/// number of errors printed.
fn format_one(target: &Target, check: bool, ui: &mut Ui) -> Result<Option<(String, String)>, usize> {
    let failure = |ui: &mut Ui, message: String| -> usize {
        ui.failure(&message);
        1
    };
    let bytes = std::fs::read(&target.path).map_err(|e| failure(ui, format!("cannot read {}: {e}", target.display)))?;
    let (original, formatted) = format_text(&target.display, bytes, ui)?;
    if formatted == original {
        return Ok(None);
    }
    if !check {
        write_atomically(&target.path, formatted.as_bytes())
            .map_err(|e| failure(ui, format!("cannot write {}: {e}", target.display)))?;
    }
    Ok(Some((original, formatted)))
}

/// Replaces a file's contents by writing a temporary file beside it and
/// renaming it over the original (through symbolic links, which stay).
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let path = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&path)?.permissions();
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.fmt-{}-{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::set_permissions(&tmp, permissions))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
