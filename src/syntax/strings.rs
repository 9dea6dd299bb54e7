//! Decoding string literals: escapes, `${...}` interpolation and multi-line
//! dedenting (spec §5). Works on the raw text pest matched, so every part
//! keeps its byte offset for diagnostics.

use super::ast::{Name, StrPart};
use crate::source::{FileId, Span};

/// A decoding error: where and what.
#[derive(Debug, PartialEq)]
pub struct StrError {
    /// Byte range of the offending text.
    pub start: usize,
    /// End of the range.
    pub end: usize,
    /// The message.
    pub message: String,
    /// A fix.
    pub help: String,
}

/// Decodes a `"..."` literal whose opening quote is at byte `start`.
pub fn decode_string(file: FileId, raw: &str, start: usize) -> Result<Vec<StrPart>, StrError> {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut parts = Vec::new();
    decode_segment(file, inner, start + 1, &mut parts)?;
    Ok(merge_literals(parts))
}

/// Decodes a `"""` literal whose opening quotes are at byte `start`.
///
/// When the closing `"""` stands on a line of its own, that line's indentation
/// is removed from every content line (less indentation on a non-blank line is
/// an error) and the newline before it is not part of the value. When the
/// closing quotes follow content on the last line, the common indentation of
/// the non-blank lines is removed (see docs/decisions/multiline-strings.md).
pub fn decode_multiline(file: FileId, raw: &str, start: usize) -> Result<Vec<StrPart>, StrError> {
    let inner = raw.get(3..raw.len().saturating_sub(3)).unwrap_or("");
    let inner_start = start + 3;
    let Some(first_nl) = inner.find('\n') else {
        return Err(StrError {
            start,
            end: start + 3,
            message: "a multi-line string must start with a line break after `\"\"\"`".into(),
            help: "Start the text on the line after `\"\"\"`, or use a one-line \"...\" string.".into(),
        });
    };
    if !inner.get(..first_nl).unwrap_or("").trim_end_matches('\r').trim().is_empty() {
        return Err(StrError {
            start,
            end: start + 3 + first_nl,
            message: "text after the opening `\"\"\"` of a multi-line string".into(),
            help: "Move the text to the next line.".into(),
        });
    }
    let body_start = inner_start + first_nl + 1;
    let body = inner.get(first_nl + 1..).unwrap_or("");
    // Lines with their absolute offsets, without `\r`.
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = body_start;
    for line in body.split('\n') {
        lines.push((offset, line.strip_suffix('\r').unwrap_or(line)));
        offset += line.len() + 1;
    }
    let closing_alone = lines.last().is_some_and(|(_, l)| l.trim().is_empty());
    let indent: String = if closing_alone {
        let (_, last) = lines.pop().unwrap_or((0, ""));
        last.to_string()
    } else {
        common_indent(lines.iter().map(|(_, l)| *l))
    };
    let mut parts = Vec::new();
    let n_lines = lines.len();
    for (line_idx, (line_offset, line)) in lines.into_iter().enumerate() {
        if line.trim().is_empty() {
            // Blank lines keep nothing of their whitespace.
        } else if let Some(rest) = line.strip_prefix(indent.as_str()) {
            decode_segment(file, rest, line_offset + indent.len(), &mut parts)?;
        } else {
            let have = line.len() - line.trim_start_matches([' ', '\t']).len();
            return Err(StrError {
                start: line_offset,
                end: line_offset + have.max(1),
                message: "line is indented less than the closing `\"\"\"`".into(),
                help: format!(
                    "Indent every line of the string by at least {} characters, or move the closing `\"\"\"` left.",
                    indent.len()
                ),
            });
        }
        if line_idx + 1 < n_lines {
            parts.push(StrPart::Lit("\n".into()));
        }
    }
    Ok(merge_literals(parts))
}

fn common_indent<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut best: Option<&str> = None;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let ws = line.get(..line.len() - line.trim_start_matches([' ', '\t']).len()).unwrap_or("");
        best = Some(match best {
            None => ws,
            Some(b) => {
                let n = b.bytes().zip(ws.bytes()).take_while(|(x, y)| x == y).count();
                b.get(..n).unwrap_or("")
            }
        });
    }
    best.unwrap_or("").to_string()
}

fn merge_literals(parts: Vec<StrPart>) -> Vec<StrPart> {
    let mut out: Vec<StrPart> = Vec::with_capacity(parts.len());
    for p in parts {
        match (out.last_mut(), p) {
            (Some(StrPart::Lit(prev)), StrPart::Lit(s)) => prev.push_str(&s),
            (_, p) => out.push(p),
        }
    }
    out
}

fn decode_segment(file: FileId, text: &str, base: usize, parts: &mut Vec<StrPart>) -> Result<(), StrError> {
    let mut lit = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    return Err(bad_escape(base + i, base + i + 1, "\\"));
                };
                match e {
                    '"' => lit.push('"'),
                    '\\' => lit.push('\\'),
                    'n' => lit.push('\n'),
                    't' => lit.push('\t'),
                    'r' => lit.push('\r'),
                    '$' => lit.push('$'),
                    'u' => {
                        let rest = text.get(i + 2..).unwrap_or("");
                        let close = rest.find('}');
                        let decoded = rest
                            .strip_prefix('{')
                            .and(close)
                            .and_then(|close| rest.get(1..close))
                            .filter(|hex| (1..=6).contains(&hex.len()))
                            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                            .and_then(char::from_u32);
                        match (decoded, close) {
                            (Some(ch), Some(close)) => {
                                lit.push(ch);
                                // Skip `{hex}`.
                                let stop = i + 2 + close;
                                while chars.peek().is_some_and(|(j, _)| *j <= stop) {
                                    chars.next();
                                }
                            }
                            _ => {
                                return Err(StrError {
                                    start: base + i,
                                    end: base + i + 2,
                                    message: "invalid unicode escape".into(),
                                    help: "Write a code point as `\\u{1F600}`: one to six hex digits in braces.".into(),
                                })
                            }
                        }
                    }
                    other => return Err(bad_escape(base + i, base + i + 1 + other.len_utf8(), &format!("\\{other}"))),
                }
            }
            '$' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                let Some(close) = text.get(i..).and_then(|r| r.find('}')) else {
                    return Err(StrError {
                        start: base + i,
                        end: base + i + 2,
                        message: "unclosed `${`".into(),
                        help: "Close the interpolation with `}`, or write `\\${` for a literal `${`.".into(),
                    });
                };
                let inner_start = i + 2;
                let inner = text.get(inner_start..i + close).unwrap_or("");
                let path = parse_path(file, inner, base + inner_start).ok_or_else(|| StrError {
                    start: base + i,
                    end: base + i + close + 1,
                    message: format!("`${{{inner}}}` is not a path"),
                    help: "Interpolate a dotted path of names, such as `${db.host}`.".into(),
                })?;
                if !lit.is_empty() {
                    parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                }
                let span = Span::new(file, base + i, base + i + close + 1);
                parts.push(StrPart::Interp(path, span));
                while chars.peek().is_some_and(|(j, _)| *j <= i + close) {
                    chars.next();
                }
            }
            // A raw control character (a NUL, an escape sequence) is invisible in
            // an editor and breaks paths and terminals: it must be written as an
            // escape. A tab is fine.
            c if c.is_control() && c != '\t' => {
                return Err(StrError {
                    start: base + i,
                    end: base + i + c.len_utf8(),
                    message: format!("raw control character U+{:04X} in a string", u32::from(c)),
                    help: format!("Write it as an escape (`\\u{{{:x}}}`), or remove it.", u32::from(c)),
                });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        parts.push(StrPart::Lit(lit));
    }
    Ok(())
}

fn bad_escape(start: usize, end: usize, text: &str) -> StrError {
    StrError {
        start,
        end,
        message: format!("unknown escape `{text}`"),
        help: "Valid escapes are \\\" \\\\ \\n \\t \\r \\$ and \\u{...}; write `\\\\` for a backslash.".into(),
    }
}

/// Parses `a.b.c` (spaces around allowed) into names with spans.
pub fn parse_path(file: FileId, text: &str, base: usize) -> Option<Vec<Name>> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut names = Vec::new();
    let mut offset = base + lead;
    for seg in trimmed.split('.') {
        let valid = seg.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return None;
        }
        names.push(Name { text: seg.to_string(), span: Span::new(file, offset, offset + seg.len()) });
        offset += seg.len() + 1;
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(parts: &[StrPart]) -> String {
        parts
            .iter()
            .map(|p| match p {
                StrPart::Lit(s) => s.clone(),
                StrPart::Interp(path, _) => {
                    format!("<{}>", path.iter().map(|n| n.text.as_str()).collect::<Vec<_>>().join("."))
                }
            })
            .collect()
    }

    #[test]
    fn escapes_and_interpolation() {
        let raw = r#""a\"b\\c\n\$x ${ db.host }\u{1F600}$y""#;
        let parts = decode_string(FileId(0), raw, 0).expect("valid");
        assert_eq!(lit(&parts), "a\"b\\c\n$x <db.host>😀$y");
    }

    #[test]
    fn bad_escape_is_located() {
        let err = decode_string(FileId(0), r#""ab\qc""#, 10).expect_err("invalid");
        assert_eq!((err.start, err.end), (13, 15));
    }

    #[test]
    fn multiline_closing_line_sets_indent() {
        let raw = "\"\"\"\n    a\n      b\n\n    c\n    \"\"\"";
        assert_eq!(lit(&decode_multiline(FileId(0), raw, 0).expect("valid")), "a\n  b\n\nc");
    }

    #[test]
    fn multiline_closing_after_content_strips_common_indent() {
        let raw = "\"\"\"\n    Welcome\n      x\n    last\"\"\"";
        assert_eq!(lit(&decode_multiline(FileId(0), raw, 0).expect("valid")), "Welcome\n  x\nlast");
    }

    #[test]
    fn multiline_underindented_line_is_an_error() {
        let raw = "\"\"\"\n    a\n  b\n    \"\"\"";
        assert!(decode_multiline(FileId(0), raw, 0).is_err());
    }
}
