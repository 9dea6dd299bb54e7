//! Diagnostics: the one error type every stage reports with (spec §11).
//!
//! A [`Diagnostic`] has a severity, a stable [`Code`], a message, a primary
//! label (absent only for errors that have no place in any file, such as a
//! missing `project`), related labels in any file and an optional help
//! sentence. Stages push them into a [`Sink`]; only `cli` prints them.

mod code;
mod excerpt;
pub mod explain;
mod render;

pub use code::Code;
pub use render::{render_human, render_json, visible};

use crate::source::Span;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Fails the run (exit status 1).
    Error,
    /// Printed; the run still succeeds.
    Warning,
}

/// A span and what it says about that place.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is wrong or relevant there (boxed, like `help`, to keep
    /// `Diagnostic` small enough to return by value).
    pub message: Box<str>,
}

/// One reported problem.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Error or warning (warnings are the `W` codes).
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// A short phrase without a final period.
    pub message: String,
    /// The place the problem is reported at.
    pub primary: Option<Label>,
    /// Related places.
    pub labels: Vec<Label>,
    /// A full sentence proposing a fix (boxed: keeps `Diagnostic` within
    /// clippy's `result_large_err` threshold).
    pub help: Option<Box<str>>,
    /// The root cause this diagnostic follows from, when another diagnostic
    /// reports it: printed right after that one (root causes first, §11).
    pub caused_by: Option<Span>,
}

// Every stage returns `Result<_, Diagnostic>`; clippy's `result_large_err`
// (denied in CI) fires above 128 bytes. Failing here names the cause at once.
const _: () = assert!(std::mem::size_of::<Diagnostic>() <= 128, "Diagnostic grew past 128 bytes: box a field");

/// Proof that a diagnostic explaining a failure was pushed: what a stage
/// returns instead of `Err(())`, so that a failure nobody reported is a
/// type error, not a silent skip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported;

/// How every internal error starts, wherever it is reported (nickel's
/// `INTERNAL_ERROR_MSG`).
pub const INTERNAL_ERROR: &str = "internal error in facs, please report";

impl Diagnostic {
    /// A bug in facs found while handling `span` (E000): never a user's code,
    /// always the same request to report it.
    pub fn internal(span: Span, what: &str) -> Diagnostic {
        Diagnostic::error(Code::E000, span, format!("{INTERNAL_ERROR}: {what}"))
            .with_help("This is a bug in facs, not in your files: please report it with the file that triggers it.")
    }

    /// An error with a primary span.
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        let severity = if code.as_str().starts_with('W') { Severity::Warning } else { Severity::Error };
        Diagnostic {
            severity,
            code,
            message: message.into(),
            primary: Some(Label { span, message: Box::default() }),
            labels: Vec::new(),
            help: None,
            caused_by: None,
        }
    }

    /// An error (or, for a `W` code, a warning) that has no place in a file.
    pub fn global(code: Code, message: impl Into<String>) -> Diagnostic {
        let severity = if code.as_str().starts_with('W') { Severity::Warning } else { Severity::Error };
        Diagnostic {
            severity,
            code,
            message: message.into(),
            primary: None,
            labels: Vec::new(),
            help: None,
            caused_by: None,
        }
    }

    /// Sets what the primary label says.
    pub fn with_primary_label(mut self, message: impl Into<String>) -> Diagnostic {
        if let Some(primary) = &mut self.primary {
            primary.message = message.into().into_boxed_str();
        }
        self
    }

    /// Adds a related label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into().into_boxed_str() });
        self
    }

    /// Sets the help sentence.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into().into_boxed_str());
        self
    }

    /// Orders this diagnostic right after the one at `cause` (its root cause).
    pub fn caused_by(mut self, cause: Span) -> Diagnostic {
        self.caused_by = Some(cause);
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn sort_key(&self) -> (Option<(crate::source::FileId, u32)>, bool, Code, &str) {
        let at = self.caused_by.or(self.primary.as_ref().map(|l| l.span));
        (at.map(|s| (s.file, s.start)), self.caused_by.is_some(), self.code, self.message.as_str())
    }
}

/// Where stages report diagnostics. Identical diagnostics are kept once: a
/// mistake in a base body inherited by a hundred instances is one error.
#[derive(Debug, Default)]
pub struct Sink {
    items: Vec<Diagnostic>,
    seen: std::collections::HashSet<(Code, Option<Span>, String)>,
    /// `--deny-warnings`: every warning pushed is reported as an error.
    deny_warnings: bool,
}

impl Sink {
    /// An empty sink.
    pub fn new() -> Sink {
        Sink::default()
    }

    /// A sink that reports warnings as errors (`--deny-warnings`): the run
    /// then fails, and writes nothing, exactly as for an error.
    pub fn denying_warnings() -> Sink {
        Sink { deny_warnings: true, ..Sink::default() }
    }

    /// Reports one diagnostic (ignored when an earlier one has the same code,
    /// place and message).
    pub fn push(&mut self, mut diagnostic: Diagnostic) {
        if self.deny_warnings && diagnostic.severity == Severity::Warning {
            diagnostic.severity = Severity::Error;
            let help = diagnostic.help.as_deref().map_or(String::new(), |h| format!("{h} "));
            diagnostic.help = Some(format!("{help}(An error because of `--deny-warnings`.)").into());
        }
        let key = (diagnostic.code, diagnostic.primary.as_ref().map(|l| l.span), diagnostic.message.clone());
        if self.seen.insert(key) {
            self.items.push(diagnostic);
        }
    }

    /// Reports several.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for d in diagnostics {
            self.push(d);
        }
    }

    /// True when an error (not a warning) was reported.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// The diagnostics, sorted by file, position and code.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.items
    }

    /// The diagnostics so far, in report order.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }
}

/// A value kind with its article, as messages name it: "an int", "a map", "null".
pub fn article(kind: &str) -> String {
    match kind {
        "null" => "null".into(),
        "int" => "an int".into(),
        other => format!("a {other}"),
    }
}

/// "did you mean" for a misspelt name: the closest candidate by optimal string
/// alignment distance, when it is close enough to be a plausible typo.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wrong.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .filter(|c| *c != wrong)
        .map(|c| (strsim::osa_distance(wrong, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_borrows_no_users_code() {
        let d = Diagnostic::internal(Span::new(crate::source::FileId(0), 0, 0), "the parser disagrees");
        assert_eq!(d.code, Code::E000);
        assert!(d.is_error());
        assert!(d.message.starts_with(INTERNAL_ERROR), "{}", d.message);
        assert!(d.help.as_deref().is_some_and(|h| h.contains("report")));
        // No other constructor produces E000 by accident: it is the first
        // code, and user-facing codes start at E001.
        assert_eq!(Code::ALL.first(), Some(&Code::E000));
    }
}
