//! The output buffer of the formatter: indentation, spaces between tokens,
//! and the comment cursor.
//!
//! Every token is written with the byte offset it had in the source. Before
//! a token, every comment that started before it in the source and is not
//! printed yet is written, so each comment comes out exactly once, in
//! source order, at the token boundary where it was.

use crate::syntax::ast::{Comment, CommentKind};

/// Two spaces per level.
const INDENT: &str = "  ";

pub(super) struct Writer<'s> {
    /// The source text.
    pub text: &'s str,
    comments: &'s [Comment],
    /// Index of the first comment not printed yet.
    next_comment: usize,
    out: String,
    /// Indentation level of the lines being written.
    pub indent: usize,
    /// A line comment inside an item broke its line: the item's following
    /// lines are indented one more level.
    pub continuation: bool,
    /// The next token is preceded by a space (unless it starts a line).
    pending_space: bool,
}

impl<'s> Writer<'s> {
    pub fn new(text: &'s str, comments: &'s [Comment]) -> Writer<'s> {
        Writer {
            text,
            comments,
            next_comment: 0,
            out: String::with_capacity(text.len() + text.len() / 8),
            indent: 0,
            continuation: false,
            pending_space: false,
        }
    }

    /// The formatted text, ending with one newline unless empty.
    pub fn finish(mut self) -> String {
        self.flush_before(usize::MAX);
        self.newline();
        self.out
    }

    // ------------------------------------------------------------ source

    /// The source text of a byte range ("" when out of range).
    pub fn slice(&self, start: usize, end: usize) -> &'s str {
        self.text.get(start..end).unwrap_or("")
    }

    /// The first offset at or after `pos` that is neither whitespace nor
    /// inside a comment: where the next token starts.
    pub fn skip_trivia_forward(&self, mut pos: usize) -> usize {
        loop {
            let rest = self.text.get(pos..).unwrap_or("");
            let trimmed = rest.trim_start_matches(is_space);
            pos += rest.len() - trimmed.len();
            match self.comment_starting_at(pos) {
                Some(c) => pos = c.span.end as usize,
                None => return pos,
            }
        }
    }

    /// The last offset at or before `pos` that ends a token: `pos` with
    /// whitespace and comments before it removed.
    pub fn skip_trivia_backward(&self, mut pos: usize) -> usize {
        loop {
            let before = self.text.get(..pos).unwrap_or("");
            pos = before.trim_end_matches(is_space).len();
            match self.comment_ending_at(pos) {
                Some(c) => pos = c.span.start as usize,
                None => return pos,
            }
        }
    }

    fn comment_starting_at(&self, pos: usize) -> Option<&'s Comment> {
        let idx = self.comments.partition_point(|c| (c.span.start as usize) < pos);
        self.comments.get(idx).filter(|c| c.span.start as usize == pos)
    }

    fn comment_ending_at(&self, pos: usize) -> Option<&'s Comment> {
        let idx = self.comments.partition_point(|c| (c.span.end as usize) < pos);
        self.comments.get(idx).filter(|c| c.span.end as usize == pos)
    }

    /// Is the offset inside a comment?
    pub fn in_comment(&self, pos: usize) -> Option<&'s Comment> {
        let idx = self.comments.partition_point(|c| (c.span.end as usize) <= pos);
        self.comments.get(idx).filter(|c| (c.span.start as usize) <= pos)
    }

    /// The next comment not printed yet, if it starts before `pos`.
    pub fn comment_before(&self, pos: usize) -> Option<&'s Comment> {
        self.comments.get(self.next_comment).filter(|c| (c.span.start as usize) < pos)
    }

    /// Marks the comments before `pos` printed: they were written as part
    /// of text kept verbatim.
    pub fn skip_comments_before(&mut self, pos: usize) {
        while self.comment_before(pos).is_some() {
            self.next_comment += 1;
        }
    }

    /// Number of line breaks in the source between two offsets.
    pub fn newlines_between(&self, start: usize, end: usize) -> usize {
        self.slice(start, end).matches('\n').count()
    }

    // ------------------------------------------------------------ output

    pub fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    /// The width of the current output line so far, plus the pending space.
    pub fn column(&self) -> usize {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        if line.is_empty() {
            (self.indent + usize::from(self.continuation)) * INDENT.len()
        } else {
            line.chars().count() + usize::from(self.pending_space)
        }
    }

    /// The leading whitespace width of the current output line.
    pub fn line_indent(&self) -> usize {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        line.len() - line.trim_start_matches(is_space).len()
    }

    /// The next token is separated by a space.
    pub fn space(&mut self) {
        self.pending_space = true;
    }

    /// Ends the current line, if anything is on it.
    pub fn newline(&mut self) {
        if !self.at_line_start() {
            self.out.push('\n');
        }
        self.pending_space = false;
    }

    /// Ends the current line and leaves one empty line (never at the start
    /// of the output, never two).
    pub fn blank_line(&mut self) {
        self.newline();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Writes indentation at the start of a line, or the pending space.
    fn begin(&mut self) {
        if self.at_line_start() {
            for _ in 0..self.indent + usize::from(self.continuation) {
                self.out.push_str(INDENT);
            }
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
    }

    /// Writes a token that stood at `pos` in the source, after the comments
    /// that came before it.
    pub fn token(&mut self, pos: usize, text: &str) {
        self.flush_before(pos);
        self.begin();
        self.out.push_str(text);
    }

    /// Writes text that spans lines (a multi-line string) as it is; the
    /// current line then ends with its last line.
    pub fn raw(&mut self, text: &str) {
        self.begin();
        self.out.push_str(text);
    }

    /// Writes every pending comment that starts before `pos` where the
    /// output stands. A line comment ends the line; what follows belongs to
    /// the same item and is indented one more level.
    pub fn flush_before(&mut self, pos: usize) {
        while let Some(c) = self.comment_before(pos) {
            if self.comment(c) {
                self.continuation = true;
            }
        }
    }

    /// Writes the next comment after a space (or indentation). Returns true
    /// when it was a line comment, which ends the line.
    pub fn comment(&mut self, c: &Comment) -> bool {
        self.next_comment += 1;
        if self.at_line_start() {
            self.pending_space = false;
            self.begin();
        } else {
            self.out.push(' ');
        }
        let text = self.slice(c.span.start as usize, c.span.end as usize);
        match c.kind {
            CommentKind::Line | CommentKind::Doc => {
                self.out.push_str(text);
                self.out.push('\n');
                self.pending_space = false;
                true
            }
            CommentKind::Block => {
                self.out.push_str(&text.replace("\r\n", "\n"));
                self.pending_space = true;
                false
            }
        }
    }
}

/// Whitespace as the grammar sees it (spec §3, plus a byte-order mark).
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{FEFF}')
}
