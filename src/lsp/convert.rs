//! Byte offsets and spans ↔ LSP positions (UTF-16 code units, 0-based).

use crate::source::{SourceFile, Span};
use lsp_types::{Position, Range};

/// The LSP position of a byte offset.
pub fn position(file: &SourceFile, offset: usize) -> Position {
    let offset = offset.min(file.text.len());
    let starts = file.line_starts();
    let line = match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    };
    let start = starts.get(line).copied().unwrap_or(0);
    let character = file.text.get(start..offset).map_or(0, |s| s.encode_utf16().count());
    Position { line: line as u32, character: character as u32 }
}

/// The byte offset of an LSP position (clamped to the file).
pub fn offset(file: &SourceFile, pos: Position) -> usize {
    let starts = file.line_starts();
    let Some(&start) = starts.get(pos.line as usize) else { return file.text.len() };
    let line = file.text.get(start..).unwrap_or("");
    let line = line.split('\n').next().unwrap_or("");
    let mut units = 0u32;
    for (idx, ch) in line.char_indices() {
        if units >= pos.character {
            return start + idx;
        }
        units += ch.len_utf16() as u32;
    }
    start + line.len()
}

/// The LSP range of a span.
pub fn range(file: &SourceFile, span: Span) -> Range {
    Range { start: position(file, span.start as usize), end: position(file, span.end as usize) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    #[test]
    fn utf16_columns_round_trip() {
        let mut map = SourceMap::new();
        let id = map.add("a.facs", "a: \"😀x\"\nb: 1\n");
        let file = map.get(id).expect("file");
        let x = file.text.find('x').expect("x");
        let pos = position(file, x);
        assert_eq!(pos, Position { line: 0, character: 6 });
        assert_eq!(offset(file, pos), x);
        assert_eq!(position(file, file.text.find('b').expect("b")), Position { line: 1, character: 0 });
    }
}
