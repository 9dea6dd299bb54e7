//! Shell completions (spec §12): clap's scripts, extended so that an
//! instance, target or module name is completed from the project in the
//! current directory. The script registered by `facs completions SHELL`
//! calls `facs` back at each TAB (`FACS_COMPLETE=<shell> facs -- <words>`),
//! which parses the project and prints the candidates; a directory without
//! a project, or one that does not parse, completes no names (and prints
//! nothing else: a completion must never write on the user's terminal).

use super::Ui;
use crate::build::{Options, Session};
use crate::source::DiskFs;
use crate::syntax::ast::{ExprKind, Item};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use std::ffi::OsStr;

/// The variable the registered script sets to ask for candidates.
pub const VAR: &str = "FACS_COMPLETE";

/// Answers a completion request (when `FACS_COMPLETE` is set) and exits;
/// otherwise returns at once. Called first thing by `main`.
pub fn answer_request() {
    clap_complete::CompleteEnv::with_factory(<super::Cli as clap::CommandFactory>::command).var(VAR).complete();
}

/// `facs completions SHELL`: the script that registers completion for `facs`.
pub fn script(shell: clap_complete::Shell, ui: &mut Ui) -> i32 {
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let Some(completer) = shells.completer(&name) else {
        ui.failure(&format!("no completion support for {name}"));
        return 1;
    };
    let mut script = Vec::new();
    if let Err(e) = completer.write_registration(VAR, "facs", "facs", "facs", &mut script) {
        ui.failure(&format!("cannot write the completion script: {e}"));
        return 1;
    }
    ui.out(&script)
}

/// Completes an instance or overlay name.
pub fn instances() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| candidates(current, Kind::Instance))
}

/// Completes a target name.
pub fn targets() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| candidates(current, Kind::Target))
}

/// Completes a path's first segments: `instance.`, `project.`, `module.NAME.`.
pub fn paths() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| candidates(current, Kind::Path))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Target,
    Path,
}

/// The names of `kind` in the project found from the current directory,
/// that start with `current`.
fn candidates(current: &OsStr, kind: Kind) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    let Ok(cwd) = std::env::current_dir() else { return Vec::new() };
    let Ok(found) = super::discover::project_dir(None, &cwd) else { return Vec::new() };
    let options = Options::new(found.dir(), None, None);
    let fs = DiskFs::new(&options.project_dir, &[options.out_dir.clone(), options.state_dir.clone()]);
    let Ok(session) = Session::open_anyway(&fs, options) else { return Vec::new() };
    let resolved = session.resolved();
    let mut out: Vec<(String, String)> = Vec::new();
    match kind {
        Kind::Instance => {
            for info in resolved.instances.iter().filter(|i| i.is_concrete()) {
                let help = match &info.decl.overlay_base {
                    Some(base) => format!("overlay on {}", base.text),
                    None if info.decl.parents.is_empty() => "instance".to_string(),
                    None => format!(
                        "instance inherits {}",
                        info.decl.parents.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                };
                out.push((info.name().to_string(), help));
            }
        }
        Kind::Target => {
            for info in &resolved.instances {
                for item in &info.decl.body.items {
                    match item {
                        Item::Target(block) => {
                            out.push((block.name.text.clone(), format!("target of {}", info.name())))
                        }
                        Item::Field(f) if f.path.first().is_some_and(|n| n.text == "targets") => {
                            // `targets { web { ... } }` or `targets.web { ... }`.
                            if let Some(name) = f.path.get(1) {
                                out.push((name.text.clone(), format!("target of {}", info.name())));
                            } else if let ExprKind::Map(block) = &f.value.kind {
                                for inner in &block.items {
                                    if let Item::Field(t) = inner {
                                        if let Some(name) = t.path.first() {
                                            out.push((name.text.clone(), format!("target of {}", info.name())));
                                        }
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Kind::Path => {
            for root in ["instance.", "project.", "module.", "facs."] {
                out.push((root.to_string(), String::new()));
            }
            for (name, _) in &resolved.modules {
                out.push((format!("module.{name}."), "module".to_string()));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(name, _)| name.starts_with(prefix.as_ref()) && seen.insert(name.clone()));
    out.into_iter()
        .map(|(name, help)| {
            let candidate = CompletionCandidate::new(name);
            if help.is_empty() {
                candidate
            } else {
                candidate.help(Some(help.into()))
            }
        })
        .collect()
}
