//! `facs eval NAME EXPR` (spec §12): the value of an expression or a path
//! for one instance, as JSON, like `cue eval -e` or `pkl eval -x`. The
//! expression is parsed by the definition grammar and evaluated as if it were
//! a field of the instance, so it means what it would mean in a file.
//! Read-only: state is read, never written; a value that a build would
//! generate shows as a placeholder, and the output says so.

use super::Ui;
use crate::build::{Front, Options};
use crate::eval::explain::{evaluate_expression, QueryError};
use crate::state::StateDir;

/// The name diagnostics give the expression, as if it were a file.
const EXPR_FILE: &str = "<expr>";

/// `facs eval NAME EXPR [--reveal-secrets]`
pub fn eval(options: &Options, name: &str, expr: &str, reveal: bool, ui: &mut Ui) -> i32 {
    let mut session = match super::open(options, ui) {
        Ok(session) => session,
        Err(status) => return status,
    };
    let selected = session.select(&[name.to_string()]);
    if session.has_errors() {
        return super::commands::finish(ui, &session.sources, session.sink, &[]);
    }
    let file = session.sources.add(EXPR_FILE, expr);
    let parsed = match crate::syntax::parse_expression(&session.sources, file) {
        Ok(parsed) => parsed,
        Err(diagnostics) => {
            session.sink.extend(diagnostics);
            return super::commands::finish(ui, &session.sources, session.sink, &[]);
        }
    };
    let paths = session.paths();
    let Front { resolved, schemas, .. } = session.program.front();
    let Some(&id) = selected.first() else {
        return super::commands::finish(ui, &session.sources, session.sink, &[]);
    };
    let owner = Some(resolved.instances.owner(id)).map(|o| o.name());
    let Some(owner) = owner else {
        return super::commands::finish(ui, &session.sources, session.sink, &[]);
    };
    // Corrupt state is refused, never read as empty (like `explain`).
    let mut state = match StateDir::new(&options.state_dir).load(owner) {
        Ok(state) => state,
        Err(e) => {
            ui.failure(&e.to_string());
            return 1;
        }
    };
    state.placeholders = true;
    let result = evaluate_expression(resolved, schemas, id, &mut state, &paths, &parsed);
    let not_generated = state.generated;
    match result {
        Ok(value) => {
            let mut text = serde_json::to_string_pretty(&value.json(reveal)).unwrap_or_default();
            text.push('\n');
            let status = ui.out(text.as_bytes());
            if reveal && not_generated > 0 && value.contains_secret() {
                ui.note(&format!(
                    "`{owner}` has no stored value for {not_generated} password(s) or secret(s) yet: they show \
                     as placeholders; `facs build {name}` generates them"
                ));
            } else if !reveal && value.contains_secret() {
                ui.note("secrets are shown as `********`; `--reveal-secrets` prints them");
            }
            status
        }
        Err(QueryError::Broken) => {
            ui.failure(&format!("`{name}` does not compile: run `facs check`"));
            1
        }
        Err(QueryError::Failed(diagnostics)) => {
            session.sink.extend(diagnostics);
            super::commands::finish(ui, &session.sources, session.sink, &[])
        }
    }
}
