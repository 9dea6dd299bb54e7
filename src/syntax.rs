//! Stage 1, syntax: text → [`ast::File`].
//!
//! Input: one source file. Output: its AST with spans and comments, or E001
//! diagnostics. Invariants: never panics on any text; nesting is bounded
//! ([`MAX_DEPTH`]) before the recursive parser runs, so no input can overflow
//! the stack; an unclosed delimiter is reported at the opener most likely at
//! fault (spec §11).

pub mod ast;
pub mod functions;
pub mod generate;
mod lower;
pub(crate) mod parser;
pub mod scan;
pub mod strings;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use ast::{Comment, File};
use pest::Parser;

/// The deepest nesting of brackets a file may have.
pub const MAX_DEPTH: usize = 128;

/// Parses one file of the source map.
pub fn parse_file(sources: &SourceMap, file: FileId) -> (File, Vec<Diagnostic>) {
    let text = sources.get(file).map_or("", |f| f.text.as_str());
    let scanned = scan::scan(text);
    let comments: Vec<Comment> = scanned
        .comments
        .iter()
        .map(|&(kind, start, end)| Comment { kind, span: Span::new(file, start, end) })
        .collect();
    let mut empty = File { id: file, decls: Vec::new(), comments };
    if let Some(err) = &scanned.error {
        return (empty, vec![lex_error(file, text, err)]);
    }
    if let Some(problem) = scan::check_delims(text, &scanned.delims, MAX_DEPTH) {
        let mut d = Diagnostic::error(Code::E001, Span::new(file, problem.pos, problem.pos + 1), problem.message)
            .with_help(problem.help);
        if let Some((pos, note)) = problem.related {
            let end = (pos + 1).min(text.len()).max(pos);
            d = d.with_label(Span::new(file, pos, end), note);
        }
        return (empty, vec![d]);
    }
    match parser::FacsParser::parse(parser::Rule::file, text) {
        Err(err) => {
            let (start, end, message, help) = parser::explain_error(&err, text);
            let end = end.min(text.len()).max(start);
            let mut d = Diagnostic::error(Code::E001, Span::new(file, start, end), message);
            if help.starts_with("Insert `:`") {
                d = d.with_primary_label("insert `:` here");
            }
            (empty, vec![d.with_help(help)])
        }
        Ok(mut pairs) => {
            let Some(top) = pairs.next() else {
                return (empty, Vec::new());
            };
            let mut lowerer = lower::Lowerer { file, text, comments: &empty.comments, errors: Vec::new() };
            let decls = lowerer.file(top);
            let errors = lowerer.errors;
            empty.decls = decls;
            (empty, errors)
        }
    }
}

/// Parses a file holding one expression (`facs eval NAME EXPR`): the same
/// scanner, delimiter check and grammar as a definition file, so an
/// expression means there what it means in a field.
pub fn parse_expression(sources: &SourceMap, file: FileId) -> Result<ast::Expr, Vec<Diagnostic>> {
    let text = sources.get(file).map_or("", |f| f.text.as_str());
    let scanned = scan::scan(text);
    if let Some(err) = &scanned.error {
        return Err(vec![lex_error(file, text, err)]);
    }
    if let Some(problem) = scan::check_delims(text, &scanned.delims, MAX_DEPTH) {
        let d = Diagnostic::error(Code::E001, Span::new(file, problem.pos, problem.pos + 1), problem.message)
            .with_help(problem.help);
        return Err(vec![d]);
    }
    match parser::FacsParser::parse(parser::Rule::expression_only, text) {
        Err(err) => {
            let (start, end, message, help) = parser::explain_error(&err, text);
            let end = end.min(text.len()).max(start);
            Err(vec![Diagnostic::error(Code::E001, Span::new(file, start, end), message).with_help(help)])
        }
        Ok(mut pairs) => {
            let comments = Vec::new();
            let mut lowerer = lower::Lowerer { file, text, comments: &comments, errors: Vec::new() };
            let expr = pairs.next().and_then(|top| lowerer.expression_only(top));
            match (expr, lowerer.errors) {
                (Some(expr), errors) if errors.is_empty() => Ok(expr),
                (_, errors) if !errors.is_empty() => Err(errors),
                _ => Err(vec![Diagnostic::error(
                    Code::E000,
                    Span::new(file, 0, text.len()),
                    "internal error in facs, please report: the expression did not lower",
                )]),
            }
        }
    }
}

fn lex_error(file: FileId, text: &str, err: &scan::LexError) -> Diagnostic {
    let eof = Span::new(file, text.len(), text.len());
    match *err {
        scan::LexError::UnclosedString { start, line_end } => {
            Diagnostic::error(Code::E001, Span::new(file, start, start + 1), "unclosed string")
                .with_label(Span::new(file, line_end, line_end), "the line ends here")
                .with_help("Close the string with `\"` on the same line, or use a `\"\"\"` multi-line string.")
        }
        scan::LexError::UnclosedMultiline { start } => {
            Diagnostic::error(Code::E001, Span::new(file, start, start + 3), "unclosed multi-line string")
                .with_label(eof, "the file ends here")
                .with_help("Close it with `\"\"\"` on a line of its own.")
        }
        scan::LexError::UnclosedComment { start } => {
            Diagnostic::error(Code::E001, Span::new(file, start, start + 2), "unclosed block comment")
                .with_label(eof, "the file ends here")
                .with_help("Close the comment with `*/` (block comments do not nest).")
        }
    }
}
