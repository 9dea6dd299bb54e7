//! Printing diagnostics: rustc-style text through codespan-reporting, or one
//! JSON object per line (spec §11).

use super::excerpt::Excerpts;
use super::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::term;

/// Control characters other than the line ends and tab, and the
/// bidirectional controls: a message holding one would drive the terminal
/// or reorder what it shows.
fn is_hostile(c: char) -> bool {
    !matches!(c, '\n' | '\r') && super::excerpt::is_hostile(c)
}

/// Text of a message made safe for a terminal: control and bidirectional
/// characters escaped (`\u{202e}`).
pub fn visible(text: &str) -> String {
    if text.chars().any(is_hostile) {
        text.chars().map(|c| if is_hostile(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect()
    } else {
        text.to_string()
    }
}

fn to_codespan(d: &Diagnostic, labels: Vec<cs::Label<FileId>>) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let mut out =
        cs::Diagnostic::new(severity).with_code(d.code.as_str()).with_message(visible(&d.message)).with_labels(labels);
    if let Some(help) = &d.help {
        out = out.with_notes(vec![format!("help: {}", visible(help))]);
    }
    out
}

/// Renders diagnostics as rustc-style text, with colours when `color` is set.
/// Each diagnostic gets its own excerpts (`excerpt.rs`): only the lines it
/// shows are copied, escaped and, when long, cut.
pub fn render_human(sources: &SourceMap, diagnostics: &[Diagnostic], color: bool) -> String {
    use codespan_reporting::term::termcolor::Buffer;
    let mut buffer = if color { Buffer::ansi() } else { Buffer::no_color() };
    let config = term::Config::default();
    for d in diagnostics {
        let emitted = Excerpts::new(sources, d, &config)
            .is_some_and(|(files, labels)| term::emit(&mut buffer, &config, &files, &to_codespan(d, labels)).is_ok());
        if !emitted {
            // The span did not fit its file: still say what happened.
            buffer_write(&mut buffer, &format!("{}[{}]: {}\n", severity_word(d), d.code, visible(&d.message)));
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

fn buffer_write(buffer: &mut codespan_reporting::term::termcolor::Buffer, text: &str) {
    use std::io::Write;
    let _ = buffer.write_all(text.as_bytes());
}

fn severity_word(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Renders one diagnostic as a single JSON line (without the newline).
pub fn render_json(sources: &SourceMap, d: &Diagnostic) -> String {
    let place = |span: crate::source::Span| {
        let file = sources.get(span.file);
        let (line, column) = file.map_or((0, 0), |f| f.line_col(span.start as usize));
        (file.map_or(String::new(), |f| f.name.clone()), line, column)
    };
    let mut obj = serde_json::Map::new();
    obj.insert("severity".into(), severity_word(d).into());
    obj.insert("code".into(), d.code.as_str().into());
    obj.insert("message".into(), d.message.clone().into());
    match &d.primary {
        Some(p) => {
            let (file, line, column) = place(p.span);
            obj.insert("file".into(), file.into());
            obj.insert("line".into(), line.into());
            obj.insert("column".into(), column.into());
            let (end_line, end_column) = sources.get(p.span.file).map_or((0, 0), |f| f.line_col(p.span.end as usize));
            obj.insert("end_line".into(), end_line.into());
            obj.insert("end_column".into(), end_column.into());
            if !p.message.is_empty() {
                obj.insert("label".into(), p.message.as_ref().into());
            }
        }
        None => {
            obj.insert("file".into(), serde_json::Value::Null);
            obj.insert("line".into(), serde_json::Value::Null);
            obj.insert("column".into(), serde_json::Value::Null);
        }
    }
    let labels: Vec<serde_json::Value> = d
        .labels
        .iter()
        .map(|l| {
            let (file, line, column) = place(l.span);
            serde_json::json!({"file": file, "line": line, "column": column, "message": l.message})
        })
        .collect();
    obj.insert("labels".into(), labels.into());
    obj.insert("help".into(), d.help.as_deref().map_or(serde_json::Value::Null, Into::into));
    json_safe(serde_json::Value::Object(obj).to_string())
}

/// serde_json escapes control characters but writes the bidirectional ones
/// as they are; written as `\uXXXX` escapes too, a JSON line printed on a
/// terminal cannot be reordered, and a reader still gets the exact text.
/// They can only occur inside strings (JSON's own syntax is ASCII), and all
/// are in the Basic Multilingual Plane, so one escape each is valid JSON.
fn json_safe(line: String) -> String {
    if !line.chars().any(super::excerpt::is_bidi) {
        return line;
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if super::excerpt::is_bidi(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}
