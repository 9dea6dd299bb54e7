//! Printing diagnostics: rustc-style text through codespan-reporting, or one
//! JSON object per line (spec §11).

use super::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use std::ops::Range;

/// The sources as codespan sees them: a file holding control characters is
/// shown with each replaced by a printable character of the same length in
/// bytes (`?`, or `¿` for the two-byte C1 controls), so spans still fit and a
/// hostile file cannot drive the terminal (an ESC sequence in an excerpt would
/// be obeyed by it).
struct CsFiles<'a> {
    map: &'a SourceMap,
    clean: std::collections::HashMap<FileId, String>,
    names: std::collections::HashMap<FileId, String>,
}

impl<'a> CsFiles<'a> {
    fn new(map: &'a SourceMap, diagnostics: &[Diagnostic]) -> CsFiles<'a> {
        let mut clean = std::collections::HashMap::new();
        let mut names = std::collections::HashMap::new();
        let files = diagnostics.iter().flat_map(|d| d.primary.iter().chain(&d.labels)).map(|l| l.span.file);
        for id in files {
            if clean.contains_key(&id) || names.contains_key(&id) {
                continue;
            }
            if let Some(file) = map.get(id).filter(|f| f.name.chars().any(is_hostile)) {
                names.insert(id, visible(&file.name));
            }
            if let Some(file) = map.get(id).filter(|f| f.text.chars().any(is_hostile)) {
                let text: String = file
                    .text
                    .chars()
                    .map(|c| match c {
                        c if !is_hostile(c) => c,
                        c if c.len_utf8() == 1 => '?',
                        _ => '\u{bf}',
                    })
                    .collect();
                clean.insert(id, text);
            }
        }
        CsFiles { map, clean, names }
    }
}

/// Control characters other than the line ends and tab.
fn is_hostile(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// Text of a message made safe for a terminal: control characters escaped.
pub fn visible(text: &str) -> String {
    if text.chars().any(is_hostile) {
        text.chars().map(|c| if is_hostile(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect()
    } else {
        text.to_string()
    }
}

impl<'a> Files<'a> for CsFiles<'_> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        if let Some(name) = self.names.get(&id) {
            return Ok(name);
        }
        self.map.get(id).map(|f| f.name.as_str()).ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        if let Some(text) = self.clean.get(&id) {
            return Ok(text);
        }
        self.map.get(id).map(|f| f.text.as_str()).ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let file = self.map.get(id).ok_or(FilesError::FileMissing)?;
        Ok(file.line_col(byte_index).0 - 1)
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let file = self.map.get(id).ok_or(FilesError::FileMissing)?;
        let starts = file.line_starts();
        let start = *starts
            .get(line_index)
            .ok_or(FilesError::LineTooLarge { given: line_index, max: starts.len().saturating_sub(1) })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(file.text.len());
        Ok(start..end)
    }
}

fn to_codespan(d: &Diagnostic) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let mut labels = Vec::new();
    if let Some(p) = &d.primary {
        labels.push(
            cs::Label::primary(p.span.file, p.span.start as usize..p.span.end as usize)
                .with_message(visible(&p.message)),
        );
    }
    for l in &d.labels {
        labels.push(
            cs::Label::secondary(l.span.file, l.span.start as usize..l.span.end as usize)
                .with_message(visible(&l.message)),
        );
    }
    let mut out =
        cs::Diagnostic::new(severity).with_code(d.code.as_str()).with_message(visible(&d.message)).with_labels(labels);
    if let Some(help) = &d.help {
        out = out.with_notes(vec![format!("help: {}", visible(help))]);
    }
    out
}

/// Renders diagnostics as rustc-style text, with colours when `color` is set.
pub fn render_human(sources: &SourceMap, diagnostics: &[Diagnostic], color: bool) -> String {
    use codespan_reporting::term::termcolor::Buffer;
    let mut buffer = if color { Buffer::ansi() } else { Buffer::no_color() };
    let config = term::Config::default();
    let files = CsFiles::new(sources, diagnostics);
    for d in diagnostics {
        if term::emit(&mut buffer, &config, &files, &to_codespan(d)).is_err() {
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
    serde_json::Value::Object(obj).to_string()
}
