//! `facs watch [build|check] [NAME...]` (spec §12): runs `check` (or
//! `build`) once, then again after every burst of changes to the definition
//! directory, its includes, and the source directory copied files come
//! from. One run per burst: events are collected until the tree has been
//! quiet for [`QUIET`], so an editor's save (a temporary file, a rename, a
//! chmod) or a `git checkout` of many files is one run. The command's own
//! writes (the output and state directories) and `.git` never trigger one.
//! It runs until interrupted (Ctrl-C); each run starts with a header line,
//! so every run's diagnostics stand apart.

use super::Ui;
use crate::build::{Options, Session};
use crate::source::DiskFs;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// How long the tree must be quiet before a burst of changes is run.
const QUIET: Duration = Duration::from_millis(200);

/// `facs watch`
pub fn run(options: &Options, args: &[String], ui: &mut Ui) -> i32 {
    let (build, names) = match args.split_first() {
        Some((mode, rest)) if mode == "build" => (true, rest),
        Some((mode, rest)) if mode == "check" => (false, rest),
        _ => (false, args),
    };
    if !build && !names.is_empty() {
        ui.failure(
            "`facs watch check` checks every instance; to rebuild some, name them after `build`: \
             `facs watch build NAME...`",
        );
        return 2;
    }
    let (tx, rx) = mpsc::channel();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(watcher) => watcher,
        Err(e) => {
            ui.failure(&format!("cannot watch for changes: {e}"));
            return 1;
        }
    };
    let mut watched: Vec<PathBuf> = Vec::new();
    let mut changed: Vec<PathBuf> = Vec::new();
    for round in 1.. {
        // Includes and the source directory can change with the files:
        // the watched roots are recomputed for every run.
        let roots = roots(options);
        for old in watched.iter().filter(|d| !roots.contains(d)) {
            let _ = watcher.unwatch(old);
        }
        for dir in roots.iter().filter(|d| !watched.contains(d)) {
            if let Err(e) = watcher.watch(dir, RecursiveMode::Recursive) {
                ui.failure(&format!("cannot watch {}: {e}", dir.display()));
                return 1;
            }
        }
        watched = roots;
        let what = if build { "build" } else { "check" };
        let because = match changed.as_slice() {
            [] => String::new(),
            [one] => format!(" ({} changed)", shown(options, one)),
            [one, rest @ ..] => format!(" ({} and {} more changed)", shown(options, one), rest.len()),
        };
        ui.status(&format!("[watch] run {round}: facs {what}{because}"));
        let status =
            if build { super::commands::build(options, names, ui) } else { super::commands::check(options, ui) };
        let dirs: Vec<String> = watched.iter().map(|d| d.display().to_string()).collect();
        ui.status(&format!(
            "[watch] run {round} {}; watching {} for changes (Ctrl-C stops)",
            if status == 0 { "succeeded" } else { "failed" },
            dirs.join(", ")
        ));
        changed = match next_burst(&rx, options) {
            Some(paths) => paths,
            None => {
                ui.failure("the file watcher stopped");
                return 1;
            }
        };
    }
    0
}

/// The directories whose changes matter: the definition directory, each
/// include, and the source directory (`project.repo`) when it is elsewhere.
fn roots(options: &Options) -> Vec<PathBuf> {
    let mut roots = vec![options.project_dir.clone()];
    let fs = DiskFs::new(&options.project_dir, &[options.out_dir.clone(), options.state_dir.clone()]);
    if let Ok(session) = Session::open_anyway(&fs, options.clone()) {
        roots.extend(session.includes.iter().map(|i| i.dir.clone()));
        roots.push(crate::build::src_dir(session.resolved(), &options.project_dir));
    }
    let mut kept: Vec<PathBuf> = Vec::new();
    for root in roots {
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        if root.is_dir() && !kept.iter().any(|k| root.starts_with(k)) {
            kept.retain(|k| !k.starts_with(&root));
            kept.push(root);
        }
    }
    kept
}

/// Waits for a change that matters, then for the tree to be quiet; the
/// changed paths (`None` when the watcher is gone).
fn next_burst(rx: &mpsc::Receiver<notify::Result<notify::Event>>, options: &Options) -> Option<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    loop {
        let event = if paths.is_empty() {
            rx.recv().ok()?
        } else {
            match rx.recv_timeout(QUIET) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) => return Some(paths),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        };
        let Ok(event) = event else { continue };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            continue;
        }
        for path in event.paths {
            if matters(&path, options) && !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
}

/// False for the command's own outputs and for version-control internals.
fn matters(path: &Path, options: &Options) -> bool {
    let own = [&options.out_dir, &options.state_dir];
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if own.iter().any(|d| path.starts_with(d) || path.starts_with(canonical(d))) {
        return false;
    }
    !path.components().any(|c| c.as_os_str() == ".git" || c.as_os_str() == ".facsimile")
}

/// A path as the user would name it: relative to the definition directory.
fn shown(options: &Options, path: &Path) -> String {
    let project = std::fs::canonicalize(&options.project_dir).unwrap_or_else(|_| options.project_dir.clone());
    path.strip_prefix(&project).unwrap_or(path).display().to_string()
}
