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

/// `facs check`
pub fn check(cli: &Cli, ui: &mut Ui) -> i32 {
    let options = Options::new(&cli.project, None, None);
    let mut sink = Sink::new();
    let Some(loaded) = load(&options, &mut sink, ui) else {
        return 1;
    };
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
    let selected = build::select(&resolved, &[], &mut sink);
    let output = build::compile(
        &resolved,
        &schemas,
        &selected,
        &options,
        Mode::Check,
        &mut sink,
    );
    finish(ui, &loaded.sources, sink, &output.failures)
}

/// `facs build`
pub fn build(options: &Options, names: &[String], ui: &mut Ui) -> i32 {
    let mut sink = Sink::new();
    let Some(loaded) = load(options, &mut sink, ui) else {
        return 1;
    };
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
    let selected = build::select(&resolved, names, &mut sink);
    if sink.has_errors() {
        return finish(ui, &loaded.sources, sink, &[]);
    }
    let output = build::compile(
        &resolved,
        &schemas,
        &selected,
        options,
        Mode::Build,
        &mut sink,
    );
    let mut failures = output.failures;
    if !sink.has_errors() && failures.is_empty() {
        if let Err(e) = std::fs::create_dir_all(&options.out_dir) {
            failures.push(format!("cannot create {}: {e}", options.out_dir.display()));
        } else {
            use rayon::prelude::*;
            let written: Vec<String> = output
                .manifests
                .par_iter()
                .filter_map(|(_, name, manifest)| {
                    build::write_manifest(&options.out_dir, name, &manifest.to_pretty_json(true))
                        .err()
                        .map(|e| {
                            format!(
                                "cannot write {}/{name}.json: {e}",
                                options.out_dir.display()
                            )
                        })
                })
                .collect();
            failures.extend(written);
        }
    }
    finish(ui, &loaded.sources, sink, &failures)
}

/// `facs manifest NAME`
pub fn manifest(options: &Options, name: &str, reveal: bool, ui: &mut Ui) -> i32 {
    let mut sink = Sink::new();
    let Some(loaded) = load(options, &mut sink, ui) else {
        return 1;
    };
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
    let output = build::compile(
        &resolved,
        &schemas,
        &selected,
        options,
        Mode::Build,
        &mut sink,
    );
    let failed = sink.has_errors() || !output.failures.is_empty();
    if !failed {
        if let Some((_, _, manifest)) = output.manifests.first() {
            print!("{}", manifest.to_pretty_json(reveal));
        }
    }
    finish(ui, &loaded.sources, sink, &output.failures)
}
