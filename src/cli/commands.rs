//! One function per subcommand.

use super::{load, Ui};
use crate::build::{self, Mode, Options};
use crate::diagnostic::{Diagnostic, Sink};
use crate::eval::Compiled;
use crate::source::{SourceMap, Span};
use std::path::Path;

/// Prints the sink and returns the exit status for it (plus other failures).
pub(super) fn finish(ui: &mut Ui, sources: &SourceMap, sink: Sink, failures: &[String]) -> i32 {
    let diagnostics: Vec<Diagnostic> = sink.into_sorted();
    ui.diagnostics(sources, &diagnostics);
    for f in failures {
        ui.failure(f);
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count() + failures.len();
    ui.summary(errors, diagnostics.len() + failures.len() - errors);
    i32::from(errors > 0)
}

/// `facs check`: everything `build` does, in memory, with placeholder secrets.
pub fn check(project: &Path, ui: &mut Ui) -> i32 {
    let options = Options::new(project, None, None);
    let mut sink = Sink::new();
    let Some(mut loaded) = load(&options, &mut sink, ui) else { return 1 };
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
    let selected = build::select(&resolved, &[], &mut sink);
    let compilation = build::compile(&resolved, &schemas, &selected, &options, Mode::Check, &mut sink);
    // Templates of every instance without errors of its own are rendered
    // even when others failed (spec §11: an error hides no independent one).
    build::render_trees(&mut loaded.sources, &resolved, &compilation, None, &options, &mut sink);
    finish(ui, &loaded.sources, sink, &compilation.failures)
}

/// What a build writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    /// Nothing: evaluate and render in memory (`check`, `deploy --dry-run`).
    Nothing,
    /// Manifests and state (the `build` stage of `facs run`).
    Manifests,
    /// Manifests, state and trees (`facs build`).
    All,
}

/// One instance of a successful build, for commands that go on (deploy).
pub struct BuiltInstance {
    /// Its name.
    pub name: String,
    /// Its declaration's name, where diagnostics about it point.
    pub span: Span,
    /// The compiled instance (manifest value kept).
    pub compiled: Compiled,
    /// Paths of its rendered tree (relative to `<out>/<name>`), when rendered.
    pub tree: Vec<String>,
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
    if writes != Writes::Nothing {
        if let Err(why) = options.check_writable_dirs() {
            ui.failure(&why);
            return Err(1);
        }
    }
    let mut sink = Sink::new();
    let Some(mut loaded) = load(options, &mut sink, ui) else { return Err(1) };
    if sink.has_errors() {
        return Err(finish(ui, &loaded.sources, sink, &[]));
    }
    ui.verbose(&format!("parsed {} files", loaded.files.len()));
    let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
    let selected = build::select(&resolved, names, &mut sink);
    ui.verbose(&format!("resolved {} declarations; {} instances selected", resolved.instances.len(), selected.len()));
    // After an error the build goes on like `check` (placeholder secrets,
    // nothing written) so that it reports the same set of errors: an
    // unknown parent in one instance must not hide an E010 in another.
    let failed_early = sink.has_errors();
    let mode = match (writes, keep_values) {
        _ if failed_early => Mode::Check,
        (Writes::Nothing, _) => Mode::Check,
        (_, true) => Mode::Manifest,
        (_, false) => Mode::Build,
    };
    let mut compilation = build::compile(&resolved, &schemas, &selected, options, mode, &mut sink);
    if sink.has_errors() || !compilation.failures.is_empty() {
        if writes != Writes::Manifests {
            build::render_trees(&mut loaded.sources, &resolved, &compilation, None, options, &mut sink);
        }
        let failures = std::mem::take(&mut compilation.failures);
        return Err(finish(ui, &loaded.sources, sink, &failures));
    }
    ui.verbose(&format!("compiled {} instances in {} state groups", selected.len(), compilation.groups.len()));
    // Render before any state is written: a broken template fails the build
    // with nothing written.
    let render = writes != Writes::Manifests;
    let mut trees = Vec::new();
    if render {
        trees = build::render_trees(&mut loaded.sources, &resolved, &compilation, None, options, &mut sink);
        if sink.has_errors() {
            return Err(finish(ui, &loaded.sources, sink, &[]));
        }
        let files: usize = trees.iter().map(|(_, t)| t.len()).sum();
        ui.verbose(&format!("rendered {} trees ({files} files)", trees.len()));
    }
    if writes != Writes::Nothing {
        let changed = compilation.groups.iter().filter(|g| g.state_changed()).count();
        let recompiled = build::persist(&mut compilation, &resolved, &schemas, options, &mut sink);
        if render && !recompiled.is_empty() && !sink.has_errors() {
            let again = build::render_trees(
                &mut loaded.sources,
                &resolved,
                &compilation,
                Some(&recompiled),
                options,
                &mut sink,
            );
            trees.retain(|(name, _)| !again.iter().any(|(n, _)| n == name));
            trees.extend(again);
        }
        ui.verbose(&format!("saved the state of {changed} owners ({} compiled again)", recompiled.len()));
    }
    let mut failures = std::mem::take(&mut compilation.failures);
    if writes != Writes::Nothing && !sink.has_errors() && failures.is_empty() {
        let written: &[(String, crate::render::FileTree)] = if writes == Writes::All { &trees } else { &[] };
        failures.extend(super::write::write_outputs(&options.out_dir, &compilation, &resolved, written));
        ui.verbose(&format!("wrote manifests and {} trees to {}", written.len(), options.out_dir.display()));
    }
    let mut instances = Vec::new();
    for group in compilation.groups {
        for (id, compiled) in group.compiled {
            let Some(info) = resolved.instances.get(id) else { continue };
            let name = info.name().to_string();
            let tree =
                trees.iter().find(|(n, _)| *n == name).map(|(_, t)| t.keys().cloned().collect()).unwrap_or_default();
            instances.push((id, BuiltInstance { name, span: info.decl.name.span, compiled, tree }));
        }
    }
    instances.sort_by_key(|(id, _)| *id);
    let sources = std::mem::replace(&mut loaded.sources, SourceMap::new());
    match finish(ui, &sources, sink, &failures) {
        0 => Ok(Built { sources, instances: instances.into_iter().map(|(_, b)| b).collect() }),
        status => Err(status),
    }
}

/// `facs manifest NAME`
pub fn manifest(options: &Options, name: &str, reveal: bool, ui: &mut Ui) -> i32 {
    if let Err(why) = options.check_writable_dirs() {
        ui.failure(&why);
        return 1;
    }
    let mut sink = Sink::new();
    let Some(loaded) = load(options, &mut sink, ui) else { return 1 };
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
    let selected = build::select(&resolved, &[name.to_string()], &mut sink);
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    // State is persisted like a build, so the printed values are the ones
    // every later build reproduces.
    let mut compilation = build::compile(&resolved, &schemas, &selected, options, Mode::Manifest, &mut sink);
    if !sink.has_errors() && compilation.failures.is_empty() {
        build::persist(&mut compilation, &resolved, &schemas, options, &mut sink);
    }
    let failures = std::mem::take(&mut compilation.failures);
    let mut status = 0;
    if !sink.has_errors() && failures.is_empty() {
        if let Some((_, compiled)) = compilation.instances().first() {
            status = ui.out(compiled.manifest.to_pretty_json(reveal).as_bytes());
        }
    }
    finish(ui, &loaded.sources, sink, &failures).max(status)
}
