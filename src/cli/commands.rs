//! One function per subcommand.

use super::{open, Ui};
use crate::build::{self, Mode, NewSecrets, Options, SrcOrigin};
use crate::diagnostic::{Diagnostic, Sink};
use crate::eval::Compiled;
use crate::source::{SourceMap, Span};
use crate::state::StateDir;

/// Prints the sink and returns the exit status for it (plus other failures).
pub(super) fn finish(ui: &mut Ui, sources: &SourceMap, sink: Sink, failures: &[String]) -> i32 {
    let diagnostics: Vec<Diagnostic> = sink.into_sorted();
    ui.diagnostics(sources, &diagnostics);
    for f in failures {
        ui.failure(f);
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count() + failures.len();
    ui.summary(errors, diagnostics.len() + failures.len() - errors);
    // Like rustc: the long text of a code is one command away (spec §12).
    if let Some(first) = diagnostics.iter().find(|d| d.is_error()).or(diagnostics.first()) {
        ui.note(&format!("`facs explain-code {}` explains a code with an example and its fix", first.code));
    }
    i32::from(errors > 0)
}

/// `facs check`: everything `build` does, in memory, with placeholder secrets.
pub fn check(options: &Options, ui: &mut Ui) -> i32 {
    let mut session = match open(options, ui) {
        Ok(session) => session,
        Err(status) => return status,
    };
    let selected = session.select(&[]);
    let compilation = session.compile(&selected, Mode::CheckOnly);
    // Templates of every instance without errors of its own are rendered
    // even when others failed (spec §11: an error hides no independent one).
    session.render(&compilation, None);
    finish(ui, &session.sources, session.sink, &compilation.failures)
}

/// What a build writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    /// Nothing: evaluate and render in memory (`check`, `deploy --dry-run`).
    Nothing,
    /// Nothing, but evaluated against the stored state and rendered in memory
    /// (`deploy --no-build` compares that with the last build's outputs).
    Compare,
    /// Manifests and state (the `build` stage of `facs run`).
    Manifests,
    /// Manifests, state and trees (`facs build`).
    All,
}

impl Writes {
    /// True when the run writes state and outputs.
    fn files(self) -> bool {
        matches!(self, Writes::Manifests | Writes::All)
    }
}

/// One instance of a successful build, for commands that go on (deploy).
pub struct BuiltInstance {
    /// Its name.
    pub name: String,
    /// Its state owner (itself, or the base of an overlay).
    pub owner: String,
    /// Its declaration's name, where diagnostics about it point.
    pub span: Span,
    /// The compiled instance (manifest value kept).
    pub compiled: Compiled,
    /// Paths of its rendered tree (relative to `<out>/<name>`), when rendered.
    pub tree: Vec<String>,
    /// With [`Writes::Compare`]: the tree itself, rendered in memory.
    pub rendered: Option<crate::render::FileTree>,
    /// Passwords and secrets this run generated for its owner (placeholders
    /// when nothing is written).
    pub new_secrets: usize,
    /// A conglomerate's instance: each component's view of it (spec §4).
    pub components: Vec<BuiltComponent>,
}

/// One component's view of a built conglomerate instance.
pub struct BuiltComponent {
    /// `component NAME`.
    pub name: String,
    /// Its project (the tree is `<out>/<instance>/<project>/`).
    pub project: String,
    /// Its `targets: [...]` (`None`: every target of its view).
    pub targets: Option<Vec<(String, Span)>>,
    /// The view, compiled.
    pub compiled: Compiled,
}

/// A successful build.
pub struct Built {
    /// The sources, for diagnostics about the built instances.
    pub sources: SourceMap,
    /// The built instances, in declaration order.
    pub instances: Vec<BuiltInstance>,
}

/// `facs build`
pub fn build(options: &Options, names: &[String], ui: &mut Ui) -> i32 {
    match compile_and_write(options, names, Writes::All, false, ui) {
        Ok(_) => 0,
        Err(status) => status,
    }
}

/// Compiles the named instances and writes what `writes` says. Diagnostics
/// (warnings too) are printed; on errors the exit status is returned.
/// `keep_values` keeps every manifest value (else only those of instances
/// with a tree, which is all `facs build` needs).
pub fn compile_and_write(
    options: &Options,
    names: &[String],
    writes: Writes,
    keep_values: bool,
    ui: &mut Ui,
) -> Result<Built, i32> {
    if writes.files() {
        if let Err(why) = options.check_writable_dirs() {
            ui.failure(&why);
            return Err(1);
        }
    }
    let mut session = open(options, ui)?;
    ui.verbose(&format!("parsed {} files", session.program.files().len()));
    let selected = session.select(names);
    let n_declared = session.resolved().instances.len();
    ui.verbose(&format!("resolved {n_declared} declarations; {} instances selected", selected.len()));
    // After an error the build goes on like `check` (placeholder secrets,
    // nothing written) so that it reports the same set of errors: an
    // unknown parent in one instance must not hide an E010 in another.
    let failed_early = session.has_errors();
    let mode = match (writes, keep_values) {
        _ if failed_early => Mode::Check,
        (Writes::Nothing, _) => Mode::Check,
        (Writes::Compare, _) => Mode::Manifest,
        (_, true) => Mode::Manifest,
        (_, false) => Mode::Build,
    };
    if writes.files() {
        ui.progress_start(selected.len());
    }
    let mut compilation = session.compile(&selected, mode);
    if session.has_errors() || !compilation.failures.is_empty() {
        if writes != Writes::Manifests {
            session.render(&compilation, None);
        }
        let failures = std::mem::take(&mut compilation.failures);
        return Err(finish(ui, &session.sources, session.sink, &failures));
    }
    ui.verbose(&format!("compiled {} instances in {} state groups", selected.len(), compilation.groups.len()));
    // Render before any state is written: a broken template fails the build
    // with nothing written.
    let render = writes != Writes::Manifests;
    let mut trees = Vec::new();
    if render {
        ui.progress_stage(format!("rendering the trees of {} instances", selected.len()));
        trees = session.render(&compilation, None);
        if session.has_errors() {
            return Err(finish(ui, &session.sources, session.sink, &[]));
        }
        let files: usize = trees.iter().map(|(_, t)| t.len()).sum();
        ui.verbose(&format!("rendered {} trees ({files} files)", trees.len()));
    }
    ui.verbose(&format!("source directory (facs.src_dir): {}", compilation.src_dir()));
    if compilation.src_origin == SrcOrigin::Checkout {
        ui.note(&format!(
            "copy groups read files from the checkout {}, not from the working copy (made by `facs build --checkout`)",
            compilation.src_dir()
        ));
    }
    // The output directory must be facs's before anything (state included)
    // is written: a refused `--out` leaves everything as it was.
    if writes.files() {
        let names: Vec<&str> = session.resolved().instances.iter().map(|i| i.name()).collect();
        match super::write::claim_output_dir(&options.out_dir, &names) {
            Ok(()) => {}
            Err(why) => {
                ui.failure(&why);
                return Err(1);
            }
        }
    }
    // Before `persist` takes the states: what this run generated, by owner.
    let new_values: std::collections::HashMap<String, usize> =
        compilation.groups.iter().filter_map(build::Group::new_secrets).map(|n| (n.owner, n.count)).collect();
    let mut changed = 0;
    if writes.files() {
        changed = compilation.groups.iter().filter(|g| g.state_changed()).count();
        let generated: Vec<NewSecrets> = compilation.groups.iter().filter_map(build::Group::new_secrets).collect();
        let resealed: Vec<String> =
            compilation.groups.iter().filter(|g| g.resealed).map(|g| format!("`{}`", g.owner)).collect();
        ui.progress_stage("saving state");
        let recompiled = session.commit(&mut compilation);
        if !resealed.is_empty() && compilation.failures.is_empty() && !session.has_errors() {
            ui.note(&match compilation.recipients().len() {
                0 => format!(
                    "wrote the state of {} as plaintext (`project.state_recipients` is not set)",
                    resealed.join(", ")
                ),
                n => format!(
                    "encrypted the state of {} to {n} age recipient(s) (`project.state_recipients`); the previous \
                     generation in state.json.bak is encrypted too",
                    resealed.join(", ")
                ),
            });
        }
        if render && !recompiled.is_empty() && !session.has_errors() {
            let again = session.render(&compilation, Some(&recompiled));
            trees.retain(|(name, _)| !again.iter().any(|(n, _)| n == name));
            trees.extend(again);
        }
        ui.verbose(&format!("saved the state of {changed} owners ({} compiled again)", recompiled.len()));
        if compilation.failures.is_empty() && !session.has_errors() {
            note_new_secrets(options, &generated, &mut compilation.failures, ui);
        }
    }
    let mut failures = std::mem::take(&mut compilation.failures);
    if writes.files() && !session.has_errors() && failures.is_empty() {
        let written: &[(String, crate::render::FileTree)] = if writes == Writes::All { &trees } else { &[] };
        ui.progress_stage(format!("writing {} manifests and {} trees", selected.len(), written.len()));
        failures.extend(super::write::write_outputs(&options.out_dir, &compilation, session.resolved(), written));
        ui.verbose(&format!("wrote manifests and {} trees to {}", written.len(), options.out_dir.display()));
        if failures.is_empty() {
            let concrete: Vec<&str> =
                session.resolved().instances.iter().filter(|i| i.is_concrete()).map(|i| i.name()).collect();
            let (pruned, failed) = super::write::prune_outputs(&options.out_dir, &concrete);
            failures.extend(failed);
            if !pruned.is_empty() {
                let names: Vec<String> = pruned.iter().map(|n| format!("`{n}`")).collect();
                ui.note(&format!(
                    "removed the manifests and trees of {} from {}: no longer instances of the definition (their \
                     state is kept: `facs state orphans` lists it)",
                    names.join(", "),
                    options.out_dir.display()
                ));
            }
        }
    }
    // Spec §12: every build ends with one summary line, after its warnings.
    let mut summary = None;
    if writes.files() && !session.has_errors() && failures.is_empty() {
        let files: usize = trees.iter().map(|(_, t)| t.len()).sum();
        let mut parts = vec![count(selected.len(), "manifest")];
        if writes == Writes::All && !trees.is_empty() {
            parts.push(format!("{} ({})", count(trees.len(), "tree"), count(files, "file")));
        }
        let state = if changed == 0 {
            "state unchanged".to_string()
        } else {
            format!("state of {} saved", count(changed, "owner"))
        };
        summary = Some(format!(
            "built {} in {}: {}; {state}",
            count(selected.len(), "instance"),
            options.out_dir.display(),
            parts.join(", ")
        ));
    }
    let mut instances = Vec::new();
    for mut group in compilation.groups {
        let mut parts = std::mem::take(&mut group.parts);
        for (id, compiled) in group.compiled {
            let info = &session.resolved().instances[id];
            let name = info.name().to_string();
            let tree =
                trees.iter().find(|(n, _)| *n == name).map(|(_, t)| t.keys().cloned().collect()).unwrap_or_default();
            let rendered = if writes == Writes::Compare {
                trees.iter().position(|(n, _)| *n == name).map(|i| trees.swap_remove(i).1)
            } else {
                None
            };
            let owner = group.owner.clone();
            let new_secrets = new_values.get(&owner).copied().unwrap_or(0);
            let span = info.decl.name.span;
            let mine;
            (mine, parts) = parts.into_iter().partition(|p| p.instance == id);
            let components = mine
                .into_iter()
                .filter_map(|part| {
                    let component = session.components.get(part.component)?;
                    Some(BuiltComponent {
                        name: component.name.clone(),
                        project: component.project.clone(),
                        targets: component.targets.clone(),
                        compiled: part.compiled,
                    })
                })
                .collect();
            let built = BuiltInstance { name, owner, span, compiled, tree, rendered, new_secrets, components };
            instances.push((id, built));
        }
    }
    instances.sort_by_key(|(id, _)| *id);
    let sources = std::mem::replace(&mut session.sources, SourceMap::new());
    let status = finish(ui, &sources, session.sink, &failures);
    if let Some(summary) = summary.filter(|_| status == 0) {
        ui.note(&summary);
    }
    match status {
        0 => Ok(Built { sources, instances: instances.into_iter().map(|(_, b)| b).collect() }),
        status => Err(status),
    }
}

/// `1 file`, `2 files`.
fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Says, every time, which owners got freshly generated passwords or secrets
/// and how many (spec §10), and records them as not yet deployed: `facs
/// deploy` refuses to push them to remote nodes without
/// `--allow-new-secrets`. An owner that had none is the dangerous case (a
/// renamed instance, a fresh clone, deleted state): its running services
/// still use the old values.
fn note_new_secrets(options: &Options, generated: &[NewSecrets], failures: &mut Vec<String>, ui: &mut Ui) {
    let dir = StateDir::new(&options.state_dir);
    // Five owners named, then a count: a first build of hundreds of
    // instances must not print a line of thousands of characters.
    let list = |news: &[&NewSecrets]| {
        let mut shown: Vec<String> =
            news.iter().take(5).map(|n| format!("`{}` ({})", n.owner, count(n.count, "value"))).collect();
        if news.len() > 5 {
            let values: usize = news.iter().skip(5).map(|n| n.count).sum();
            let more = news.len() - 5;
            let owners = if more == 1 { "owner" } else { "owners" };
            shown.push(format!("and {more} more {owners} ({})", count(values, "value")));
        }
        shown.join(", ")
    };
    let (fresh, added): (Vec<&NewSecrets>, Vec<&NewSecrets>) = generated.iter().partition(|n| n.had_none);
    if !fresh.is_empty() {
        let (owners, one) = if fresh.len() == 1 { ("an owner", "it") } else { ("owners", "one") };
        ui.note(&format!(
            "generated new secret values for {owners} that had no state in {}: {}; a new or renamed instance, \
             a fresh clone, or deleted state. If {one} was deployed before, restore its state before deploying it",
            dir.root().display(),
            list(&fresh)
        ));
    }
    if !added.is_empty() {
        ui.note(&format!("generated new secret values (a module, password or secret was added) for {}", list(&added)));
    }
    for new in generated {
        if let Err(e) = dir.add_undeployed(&new.owner, new.count) {
            failures.push(format!("cannot record the new secrets of `{}`: {e}", new.owner));
        }
    }
}

/// `facs manifest NAME`
pub fn manifest(options: &Options, name: &str, reveal: bool, ui: &mut Ui) -> i32 {
    if let Err(why) = options.check_writable_dirs() {
        ui.failure(&why);
        return 1;
    }
    let mut session = match open(options, ui) {
        Ok(session) => session,
        Err(status) => return status,
    };
    let selected = session.select(&[name.to_string()]);
    if session.has_errors() {
        return finish(ui, &session.sources, session.sink, &[]);
    }
    // State is persisted like a build, so the printed values are the ones
    // every later build reproduces.
    let mut compilation = session.compile(&selected, Mode::Manifest);
    if !session.has_errors() && compilation.failures.is_empty() {
        let generated: Vec<NewSecrets> = compilation.groups.iter().filter_map(build::Group::new_secrets).collect();
        session.commit(&mut compilation);
        if compilation.failures.is_empty() && !session.has_errors() {
            note_new_secrets(options, &generated, &mut compilation.failures, ui);
        }
    }
    let failures = std::mem::take(&mut compilation.failures);
    let mut status = 0;
    if !session.has_errors() && failures.is_empty() {
        if let Some((_, compiled)) = compilation.instances().first() {
            status = ui.out(compiled.manifest.value.to_pretty_json(reveal).as_bytes());
        }
    }
    finish(ui, &session.sources, session.sink, &failures).max(status)
}
