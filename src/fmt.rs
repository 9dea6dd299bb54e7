//! `facs fmt`: one canonical layout for `.facs` files (spec §12).
//!
//! Input: one parsed file (its AST and every comment, `syntax::parse_file`).
//! Output: the file's text in the canonical layout of
//! `docs/decisions/fmt.md`. Invariants:
//! - a file that does not parse is never formatted (its E001s are returned);
//! - every comment of the input appears exactly once in the output, in the
//!   same order, at the same place among the tokens;
//! - the output parses to the same tree as the input (spans aside), which is
//!   checked on every call, so the formatted project compiles to identical
//!   manifests; a formatter bug is reported instead of written;
//! - formatting is idempotent: `format(format(x)) == format(x)`.
//!
//! No I/O here: `cli::fmt` reads and writes the files.

mod printer;
mod verify;
mod writer;

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::parse_file;

/// Formats one file of the source map. Returns the syntax errors when it
/// does not parse.
pub fn format_file(sources: &SourceMap, file: FileId) -> Result<String, Vec<Diagnostic>> {
    let (parsed, diagnostics) = parse_file(sources, file);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let text = sources.get(file).map_or("", |f| f.text.as_str());
    let mut printer = printer::Printer { w: writer::Writer::new(text, &parsed.comments) };
    printer.file(&parsed);
    let formatted = printer.w.finish();

    let mut check = SourceMap::new();
    let check_id = check.add("formatted", formatted.as_str());
    let (reparsed, errors) = parse_file(&check, check_id);
    if !errors.is_empty() || !verify::same_file(&parsed, text, &reparsed, &formatted) {
        let span = Span::new(file, 0, 0);
        return Err(vec![Diagnostic::internal(span, "formatting would change this file's meaning")
            .with_primary_label("the file is left as it is")]);
    }
    Ok(formatted)
}

#[cfg(test)]
mod tests;
