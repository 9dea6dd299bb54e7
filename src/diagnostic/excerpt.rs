//! The source excerpts of one diagnostic, as codespan-reporting prints them.
//!
//! Input: a diagnostic and the [`SourceMap`]. Output: an [`Excerpts`], a
//! `codespan_reporting::files::Files` that holds only the lines the
//! diagnostic shows, made safe and short, and the diagnostic's label ranges
//! moved into that text. Two reasons not to hand codespan the file itself:
//!
//! - A character that a terminal obeys (an ESC sequence) or that reorders
//!   what it shows (the bidirectional controls of "Trojan Source",
//!   CVE-2021-42574) is printed escaped, as `\u{202e}`, so the printed line is
//!   the line the compiler read. Escaping lengthens the text, so the ranges
//!   are moved with it and the caret stays under the same characters.
//! - A line of 15 MB (one generated line) is cut to a window of
//!   [`CONTEXT`] characters around each label end, with `…` where text was
//!   left out: the output stays small and the time and memory stay bounded
//!   by the window, not by the line.
//!
//! Invariant: the location printed (`file:line:column`) is computed on the
//! original text, so it is the one `--message-format json` reports.

use super::Diagnostic;
use crate::source::{FileId, SourceFile, SourceMap};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

/// Characters kept on each side of a label end in a cut line.
const CONTEXT: usize = 60;
/// A line longer than this (in characters) is cut around its labels.
const LONG_LINE: usize = 200;
/// What stands for the text left out of a cut line.
const CUT: &str = "…";

/// The characters that reorder the display of text around them: the
/// embeddings and overrides (U+202A..U+202E), the isolates (U+2066..U+2069)
/// and the implicit marks (LRM, RLM, ALM).
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// A character shown escaped: control characters other than tab (a line end
/// inside a line is a lone `\r`, which would return the cursor and let the
/// rest overwrite the line) and the bidirectional controls.
pub fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi(c)
}

/// One file's shown lines.
#[derive(Default)]
struct Excerpt {
    name: String,
    text: String,
    /// Original line index → its range in `text`.
    lines: BTreeMap<usize, Range<usize>>,
    /// A label end's offset in `text` → its original 1-based column.
    columns: HashMap<usize, usize>,
}

/// The shown lines of every file one diagnostic points into.
pub struct Excerpts {
    files: HashMap<FileId, Excerpt>,
}

impl Excerpts {
    /// Builds the excerpts of `d` and its codespan form with every label
    /// range moved into them. `None` when a label names a file the map does
    /// not hold.
    pub fn new(
        map: &SourceMap,
        d: &Diagnostic,
        config: &codespan_reporting::term::Config,
    ) -> Option<(Excerpts, Vec<cs::Label<FileId>>)> {
        let labels: Vec<(cs::LabelStyle, &super::Label)> = d
            .primary
            .iter()
            .map(|l| (cs::LabelStyle::Primary, l))
            .chain(d.labels.iter().map(|l| (cs::LabelStyle::Secondary, l)))
            .collect();
        let mut ends: HashMap<FileId, BTreeSet<usize>> = HashMap::new();
        let mut needed: HashMap<FileId, BTreeSet<usize>> = HashMap::new();
        for (_, label) in &labels {
            let file = map.get(label.span.file)?;
            let (start, end) = (floor(file, label.span.start as usize), floor(file, label.span.end as usize));
            ends.entry(label.span.file).or_default().extend([start, end]);
            // The lines codespan prints for this label: both ends and, for a
            // label over several lines, its context lines after the start
            // and before the end (the lines between are not printed).
            let (first, last) = (file.line_index(start), file.line_index(end));
            let lines = needed.entry(label.span.file).or_default();
            lines.extend(first..=last.min(first + config.start_context_lines));
            lines.extend(last.saturating_sub(config.end_context_lines).max(first)..=last);
        }
        // codespan prints the one line between two printed lines rather
        // than a `·` break; it needs that line's text too.
        for lines in needed.values_mut() {
            let gaps: Vec<usize> = lines.iter().filter(|&&l| lines.contains(&(l + 2))).map(|l| l + 1).collect();
            lines.extend(gaps);
        }
        let mut files = HashMap::new();
        let mut moved: HashMap<(FileId, usize), usize> = HashMap::new();
        for (id, lines) in &needed {
            let file = map.get(*id)?;
            let ends = ends.get(id).cloned().unwrap_or_default();
            let mut excerpt = Excerpt { name: super::visible(&file.name), ..Excerpt::default() };
            for &line in lines {
                // An end at a line's start is on that line, not at the end
                // of the one before: the file's own line index decides.
                let here: Vec<usize> = ends.iter().copied().filter(|&e| file.line_index(e) == line).collect();
                let start = excerpt.text.len();
                let offsets = show_line(file, file.line_range(line), &here, &mut excerpt.text);
                excerpt.lines.insert(line, start..excerpt.text.len());
                for (original, shown) in offsets {
                    moved.insert((*id, original), start + shown);
                    excerpt.columns.insert(start + shown, file.line_col(original).1);
                }
            }
            files.insert(*id, excerpt);
        }
        let labels = labels
            .into_iter()
            .map(|(style, l)| {
                let file = map.get(l.span.file)?;
                let at = |offset: u32| moved.get(&(l.span.file, floor(file, offset as usize))).copied();
                let range = at(l.span.start)?..at(l.span.end)?;
                Some(cs::Label::new(style, l.span.file, range).with_message(super::visible(&l.message)))
            })
            .collect::<Option<Vec<_>>>()?;
        Some((Excerpts { files }, labels))
    }
}

/// An offset made a character boundary of the file (rounded down).
fn floor(file: &SourceFile, offset: usize) -> usize {
    let mut offset = offset.min(file.text.len());
    while offset > 0 && !file.text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Appends one line (`range`, its line end included) to `out` as it is
/// shown, and returns where each of `ends` (sorted offsets in the line) went,
/// relative to the line's start in `out`.
fn show_line(file: &SourceFile, range: Range<usize>, ends: &[usize], out: &mut String) -> Vec<(usize, usize)> {
    let whole = file.text.get(range.clone()).unwrap_or("");
    let content = whole.trim_end_matches(['\n', '\r']);
    let content_end = range.start + content.len();
    let base = out.len();
    let windows = if content.chars().nth(LONG_LINE).is_some() {
        windows(content, range.start, ends)
    } else {
        std::iter::once(range.start..content_end).collect()
    };
    let mut moved = Vec::with_capacity(ends.len());
    let mut pending = ends.iter().copied().peekable();
    let mut next_window_start = range.start;
    for window in &windows {
        if window.start > next_window_start {
            out.push_str(CUT);
        }
        let text = file.text.get(window.clone()).unwrap_or("");
        for (i, c) in text.char_indices() {
            while let Some(e) = pending.next_if(|&e| e <= window.start + i) {
                moved.push((e, out.len() - base));
            }
            push_shown(c, out);
        }
        while let Some(e) = pending.next_if(|&e| e <= window.end) {
            moved.push((e, out.len() - base));
        }
        next_window_start = window.end;
    }
    if next_window_start < content_end {
        out.push_str(CUT);
    }
    // Ends on the line end (past a cut, too) point just past the shown text.
    for e in pending {
        moved.push((e, out.len() - base));
    }
    out.push('\n');
    moved
}

/// The parts of a long line shown: [`CONTEXT`] characters each side of each
/// end, merged where they meet. `start` is the line's offset in the file.
fn windows(content: &str, start: usize, ends: &[usize]) -> Vec<Range<usize>> {
    if ends.is_empty() {
        // A line shown only as context: its beginning.
        let to = content.char_indices().nth(2 * CONTEXT).map_or(content.len(), |(i, _)| i);
        return std::iter::once(start..start + to).collect();
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    for &end in ends {
        let at = end.saturating_sub(start).min(content.len());
        let (before, after) = (content.get(..at).unwrap_or(""), content.get(at..).unwrap_or(""));
        let from = before.char_indices().rev().nth(CONTEXT - 1).map_or(0, |(i, _)| i);
        let to = after.char_indices().nth(CONTEXT).map_or(content.len(), |(i, _)| at + i);
        let window = start + from..start + to;
        match out.last_mut() {
            Some(last) if window.start <= last.end => last.end = last.end.max(window.end),
            _ => out.push(window),
        }
    }
    out
}

/// A character as printed: a hostile one as its `\u{...}` escape.
fn push_shown(c: char, out: &mut String) {
    if is_hostile(c) {
        out.extend(c.escape_unicode());
    } else {
        out.push(c);
    }
}

impl<'a> Files<'a> for Excerpts {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.files.get(&id).map(|e| e.name.as_str()).ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.files.get(&id).map(|e| e.text.as_str()).ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let excerpt = self.files.get(&id).ok_or(FilesError::FileMissing)?;
        // The last shown line that starts at or before the offset.
        let found = excerpt.lines.iter().rev().find(|(_, r)| r.start <= byte_index).map(|(line, _)| *line);
        Ok(found.unwrap_or(0))
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let excerpt = self.files.get(&id).ok_or(FilesError::FileMissing)?;
        // A line codespan asks for but does not print (inside a long
        // multi-line label) needs no text.
        Ok(excerpt.lines.get(&line_index).cloned().unwrap_or(0..0))
    }

    fn column_number(&'a self, id: FileId, line_index: usize, byte_index: usize) -> Result<usize, FilesError> {
        let excerpt = self.files.get(&id).ok_or(FilesError::FileMissing)?;
        if let Some(column) = excerpt.columns.get(&byte_index) {
            return Ok(*column);
        }
        let line = excerpt.lines.get(&line_index).cloned().unwrap_or(0..0);
        Ok(codespan_reporting::files::column_index(&excerpt.text, line, byte_index) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, ends: &[usize]) -> (String, Vec<(usize, usize)>) {
        let mut map = SourceMap::new();
        let id = map.add("t.facs", text);
        let file = map.get(id).expect("file");
        let mut out = String::new();
        let moved = show_line(file, file.line_range(0), ends, &mut out);
        (out, moved)
    }

    #[test]
    fn bidi_controls_are_escaped_and_ends_follow_the_escape() {
        let text = "x: \"\u{202e}abc\u{2066}\" y";
        let y = text.find('y').expect("y");
        let (out, moved) = shown(text, &[y]);
        assert_eq!(out, "x: \"\\u{202e}abc\\u{2066}\" y\n");
        assert_eq!(out.get(moved.first().expect("end").1..), Some("y\n"));
    }

    #[test]
    fn a_long_line_is_cut_around_each_end() {
        let text = format!("{}BAD{}END{}", "a".repeat(10_000), "b".repeat(10_000), "c".repeat(10_000));
        let (bad, end) = (text.find("BAD").expect("BAD"), text.find("END").expect("END"));
        let (out, moved) = shown(&text, &[bad, bad + 3, end]);
        assert!(out.chars().count() < 4 * CONTEXT + 20, "{out}");
        assert_eq!(out.matches(CUT).count(), 3, "{out}");
        for (original, at) in moved {
            assert_eq!(out.get(at..at + 1), text.get(original..original + 1), "{original}");
        }
    }
}
