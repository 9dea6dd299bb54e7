//! A small lexical scanner that runs before pest. It knows only comments,
//! strings and brackets, which is enough to
//! - collect every comment (trivia) for the formatter and the language server,
//! - find the most likely unclosed delimiter the way rustc does (spec §11),
//! - bound the nesting depth before the recursive parser sees the file.

use super::ast::CommentKind;

/// A bracket event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delim {
    /// `{`, `[`, `(`, `}`, `]` or `)`.
    pub ch: u8,
    /// Byte offset.
    pub pos: usize,
}

/// A lexical problem found by the scanner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexError {
    /// A `"` string reaches the end of its line.
    UnclosedString {
        /// The opening quote.
        start: usize,
        /// Where its line ends.
        line_end: usize,
    },
    /// A `"""` string reaches the end of the file.
    UnclosedMultiline {
        /// The opening quotes.
        start: usize,
    },
    /// A `/*` comment reaches the end of the file.
    UnclosedComment {
        /// The opening `/*`.
        start: usize,
    },
}

/// What the scanner found.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Comments as (kind, start, end).
    pub comments: Vec<(CommentKind, usize, usize)>,
    /// Brackets in order.
    pub delims: Vec<Delim>,
    /// The first lexical error, if any (scanning stops there).
    pub error: Option<LexError>,
}

/// Scans a file's text.
pub fn scan(text: &str) -> Scanned {
    let bytes = text.as_bytes();
    let mut out = Scanned::default();
    let mut i = 0;
    while i < bytes.len() {
        let rest = bytes.get(i..).unwrap_or_default();
        if rest.starts_with(b"///") && !rest.starts_with(b"////") {
            let end = line_end(bytes, i);
            out.comments.push((CommentKind::Doc, i, end));
            i = end;
        } else if rest.starts_with(b"//") {
            let end = line_end(bytes, i);
            out.comments.push((CommentKind::Line, i, end));
            i = end;
        } else if rest.starts_with(b"/*") {
            match find(bytes, i + 2, b"*/") {
                Some(close) => {
                    out.comments.push((CommentKind::Block, i, close + 2));
                    i = close + 2;
                }
                None => {
                    out.error = Some(LexError::UnclosedComment { start: i });
                    return out;
                }
            }
        } else if rest.starts_with(b"\"\"\"") {
            match multiline_end(bytes, i + 3) {
                Some(end) => i = end,
                None => {
                    out.error = Some(LexError::UnclosedMultiline { start: i });
                    return out;
                }
            }
        } else if rest.starts_with(b"\"") {
            match string_end(bytes, i + 1) {
                Ok(end) => i = end,
                Err(line_end) => {
                    out.error = Some(LexError::UnclosedString { start: i, line_end });
                    return out;
                }
            }
        } else {
            let ch = bytes.get(i).copied().unwrap_or(0);
            if matches!(ch, b'{' | b'}' | b'[' | b']' | b'(' | b')') {
                out.delims.push(Delim { ch, pos: i });
            }
            i += 1;
        }
    }
    out
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    let mut end = bytes.get(from..).and_then(|r| r.iter().position(|&b| b == b'\n')).map_or(bytes.len(), |p| from + p);
    if end > from && bytes.get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    end
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

/// End (one past the closing quote) of a one-line string whose body starts at
/// `from`, or the end of its line when it is unclosed.
fn string_end(bytes: &[u8], from: usize) -> Result<usize, usize> {
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            b'\n' => return Err(i),
            _ => i += 1,
        }
    }
    Err(bytes.len())
}

fn multiline_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'\\') {
            i += 2;
            continue;
        }
        if bytes.get(i..).is_some_and(|r| r.starts_with(b"\"\"\"")) {
            return Some(i + 3);
        }
        i += 1;
    }
    None
}

/// The closing bracket for an opener.
pub fn closer_of(open: u8) -> u8 {
    match open {
        b'{' => b'}',
        b'[' => b']',
        _ => b')',
    }
}

/// A delimiter problem: the position to report, what to say, and a secondary
/// position with its own note.
#[derive(Debug, PartialEq, Eq)]
pub struct DelimProblem {
    /// Where the error is reported.
    pub pos: usize,
    /// The message.
    pub message: String,
    /// A related place and what it is.
    pub related: Option<(usize, String)>,
    /// A help sentence.
    pub help: String,
}

/// Checks bracket balance and nesting depth. For unclosed openers it applies
/// rustc's heuristic: an opener whose syntactic closer is indented differently
/// from the opener's own line most likely lost its real closer; otherwise the
/// innermost unclosed opener is reported.
pub fn check_delims(text: &str, delims: &[Delim], max_depth: usize) -> Option<DelimProblem> {
    let mut stack: Vec<Delim> = Vec::new();
    let mut suspects: Vec<(Delim, usize)> = Vec::new();
    for d in delims {
        match d.ch {
            b'{' | b'[' | b'(' => {
                stack.push(*d);
                if stack.len() > max_depth {
                    return Some(DelimProblem {
                        pos: d.pos,
                        message: format!("nesting deeper than {max_depth} levels"),
                        related: None,
                        help: "Flatten the structure: deeper nesting is almost certainly a generated or broken file."
                            .into(),
                    });
                }
            }
            close => {
                let Some(open) = stack.pop() else {
                    return Some(DelimProblem {
                        pos: d.pos,
                        message: format!("unexpected closing `{}`", close as char),
                        related: None,
                        help: "Remove it, or add the opening bracket it was meant to close.".into(),
                    });
                };
                if closer_of(open.ch) != close {
                    return Some(DelimProblem {
                        pos: open.pos,
                        message: format!("`{}` is closed by `{}`", open.ch as char, close as char),
                        related: Some((
                            d.pos,
                            format!("`{}` found before the `{}` was closed", close as char, open.ch as char),
                        )),
                        help: format!(
                            "Add the missing `{}` where the `{}` should end.",
                            closer_of(open.ch) as char,
                            open.ch as char
                        ),
                    });
                }
                if closer_starts_line(text, d.pos) && indent_of(text, open.pos) != indent_of(text, d.pos) {
                    suspects.push((open, d.pos));
                }
            }
        }
    }
    let innermost = *stack.last()?;
    let (culprit, closer) = match suspects.first() {
        Some(&(open, close)) => (open, Some(close)),
        None => (innermost, None),
    };
    let related = match closer {
        Some(close) => Some((
            close,
            format!(
                "this `{}` is indented like an outer block, so it probably closes that one",
                closer_of(culprit.ch) as char
            ),
        )),
        None => Some((text.len(), "the file ends here".to_string())),
    };
    Some(DelimProblem {
        pos: culprit.pos,
        message: format!("unclosed `{}`", culprit.ch as char),
        related,
        help: format!("Add the missing `{}` where this block should end.", closer_of(culprit.ch) as char),
    })
}

fn line_start(text: &str, pos: usize) -> usize {
    text.get(..pos).and_then(|t| t.rfind('\n')).map_or(0, |p| p + 1)
}

fn indent_of(text: &str, pos: usize) -> usize {
    let start = line_start(text, pos);
    text.get(start..).map_or(0, |l| l.len() - l.trim_start_matches([' ', '\t']).len())
}

fn closer_starts_line(text: &str, pos: usize) -> bool {
    let start = line_start(text, pos);
    text.get(start..pos).is_some_and(|p| p.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<DelimProblem> {
        let s = scan(text);
        check_delims(text, &s.delims, 64)
    }

    #[test]
    fn comments_and_strings_hide_brackets() {
        let s = scan("a: \"{\" // }\n/* [ */ b: \"\"\"\n  {\n  \"\"\"\n/// doc\n");
        assert!(s.delims.is_empty());
        assert_eq!(s.comments.len(), 3);
        assert_eq!(s.comments[2].0, CommentKind::Doc);
    }

    #[test]
    fn misindented_closer_points_at_the_inner_opener() {
        let text = "instance beta {\n  db {\n    host: 1\n\n  contact { a: 1 }\n}\n";
        let p = problem(text).expect("a problem");
        assert_eq!(p.pos, text.find("db {").expect("db") + 3);
    }

    #[test]
    fn innermost_unclosed_without_suspects() {
        let text = "a {\n  b {\n";
        let p = problem(text).expect("a problem");
        assert_eq!(p.pos, 8);
    }

    #[test]
    fn depth_is_bounded() {
        let text = "[".repeat(100);
        let p = problem(&text).expect("a problem");
        assert!(p.message.contains("nesting"));
    }

    #[test]
    fn unclosed_string_stops_at_its_line() {
        let s = scan("a: \"abc\nb: 1");
        assert_eq!(s.error, Some(LexError::UnclosedString { start: 3, line_end: 7 }));
    }
}
