//! One function per subcommand.

use super::{load, Cli, Ui};
use crate::build::{self, Mode, Options};
use crate::diagnostic::{Diagnostic, Sink};
use crate::source::SourceMap;

/// Prints the sink and returns the exit status for it (plus other failures).
fn finish(ui: &mut Ui, sources: &SourceMap, sink: Sink, failures: &[String]) -> i32 {
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
pub fn check(cli: &Cli, ui: &mut Ui) -> i32 {
    let options = Options::new(&cli.project, None, None);
    let mut sink = Sink::new();
    let Some(mut loaded) = load(&options, &mut sink, ui) else { return 1 };
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
    let selected = build::select(&resolved, &[], &mut sink);
    let compilation = build::compile(&resolved, &schemas, &selected, &options, Mode::Check, &mut sink);
    if !sink.has_errors() {
        build::render_trees(&mut loaded.sources, &resolved, &compilation, None, &options, &mut sink);
    }
    finish(ui, &loaded.sources, sink, &compilation.failures)
}

/// `facs build`
pub fn build(options: &Options, names: &[String], ui: &mut Ui) -> i32 {
    let mut sink = Sink::new();
    let Some(mut loaded) = load(options, &mut sink, ui) else { return 1 };
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
    let selected = build::select(&resolved, names, &mut sink);
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let mut compilation = build::compile(&resolved, &schemas, &selected, options, Mode::Build, &mut sink);
    if sink.has_errors() || !compilation.failures.is_empty() {
        let failures = std::mem::take(&mut compilation.failures);
        return finish(ui, &loaded.sources, sink, &failures);
    }
    // Render before any state is written: a broken template fails the build
    // with nothing written.
    let mut trees = build::render_trees(&mut loaded.sources, &resolved, &compilation, None, options, &mut sink);
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let recompiled = build::persist(&mut compilation, &resolved, &schemas, options, &mut sink);
    if !recompiled.is_empty() && !sink.has_errors() {
        let again =
            build::render_trees(&mut loaded.sources, &resolved, &compilation, Some(&recompiled), options, &mut sink);
        trees.retain(|(name, _)| !again.iter().any(|(n, _)| n == name));
        trees.extend(again);
    }
    let mut failures = std::mem::take(&mut compilation.failures);
    if !sink.has_errors() && failures.is_empty() {
        failures.extend(super::write::write_outputs(&options.out_dir, &compilation, &resolved, &trees));
    }
    finish(ui, &loaded.sources, sink, &failures)
}

/// `facs manifest NAME`
pub fn manifest(options: &Options, name: &str, reveal: bool, ui: &mut Ui) -> i32 {
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
    if !sink.has_errors() && failures.is_empty() {
        if let Some((_, compiled)) = compilation.instances().first() {
            print!("{}", compiled.manifest.to_pretty_json(reveal));
        }
    }
    finish(ui, &loaded.sources, sink, &failures)
}
