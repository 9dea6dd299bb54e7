//! The canonical layout (docs/decisions/fmt.md), one function per AST node.
//!
//! Tokens are re-emitted from their source text (names, quoted keys,
//! numbers, strings and references byte for byte), so escapes and
//! interpolations never change; only the whitespace, commas and line breaks
//! between tokens are chosen here. Comments are placed by the [`Writer`]
//! (inside an item) and by [`Printer::sequence`] (between items).

use super::writer::Writer;
use crate::syntax::ast::*;

/// Lines are kept within this many columns where the layout has a choice
/// (lists of scalars).
const MAX_WIDTH: usize = 100;

pub(super) struct Printer<'s> {
    pub w: Writer<'s>,
}

/// One element of a sequence: something that goes on its own line(s).
#[derive(Clone, Copy)]
enum Elem<'a> {
    Decl(&'a Decl),
    Item(&'a Item),
    FieldDecl(&'a FieldDecl),
    /// `...` at this offset.
    Open(usize),
    Value(&'a Expr),
}

/// What surrounds a sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seq {
    /// The declarations of a file.
    Top,
    /// `{ ... }`: items, one per line, no commas.
    Block,
    /// `[ ... ]` broken over lines: a comma after every element.
    List,
    /// The declarations of a generator: indented like a block, separated
    /// like the declarations of a file.
    Decls,
}

impl<'s> Printer<'s> {
    pub fn file(&mut self, file: &File) {
        let elems: Vec<Elem<'_>> = file.decls.iter().map(Elem::Decl).collect();
        let end = self.w.text.len();
        self.sequence(None, &elems, end, Seq::Top, "");
    }

    /// The byte range an element covers, without trailing trivia (some
    /// grammar rules end with an optional part, and pest then includes the
    /// whitespace and comments before it).
    fn range(&self, elem: Elem<'_>) -> (usize, usize) {
        let span = match elem {
            Elem::Decl(d) => d.span(),
            Elem::Item(Item::Field(f)) => f.span,
            Elem::Item(Item::Unset(u)) => u.span,
            Elem::Item(Item::Target(b) | Item::Module(b) | Item::Component(b)) => b.span,
            Elem::FieldDecl(f) => f.span,
            Elem::Open(pos) => return (pos, pos + 3),
            Elem::Value(e) => e.span,
        };
        let start = span.start as usize;
        (start, self.w.skip_trivia_backward(span.end as usize).max(start))
    }

    fn elem(&mut self, elem: Elem<'_>, kind: Seq) {
        match elem {
            Elem::Decl(d) => self.decl(d),
            Elem::Item(item) => self.item(item),
            Elem::FieldDecl(f) => self.field_decl(f),
            Elem::Open(pos) => self.w.token(pos, "..."),
            Elem::Value(e) => self.value(e, usize::from(kind == Seq::List)),
        }
    }

    /// Prints the elements between an opener (ending at `open`) and a closer
    /// at `close`, one per line, with the comments around them:
    /// - a comment on the same line as the end of the previous element (or
    ///   of the opener) stays at the end of that line;
    /// - other comments go on their own lines before the next element (a
    ///   block comment followed by more on its line keeps that company);
    /// - one empty line is kept where the source had one or more, except
    ///   right after the opener and before the closer; declarations are
    ///   always separated by one.
    fn sequence(&mut self, open: Option<usize>, elems: &[Elem<'_>], close: usize, kind: Seq, closer: &str) {
        let saved = (self.w.indent, self.w.continuation);
        let base = if kind == Seq::Top { 0 } else { self.w.indent + usize::from(self.w.continuation) };
        self.w.indent = if kind == Seq::Top { 0 } else { base + 1 };
        self.w.continuation = false;
        // The end of what was printed last, in the source.
        let mut cursor = open;
        // Nothing printed on its own line yet.
        let mut first = true;
        let mut after_decl = false;
        if let (true, Some(at)) = (elems.is_empty() && kind != Seq::Top, cursor) {
            // `{ /* only this */ }` stays on one line.
            cursor = Some(self.trailing_comments(at, close));
            if self.w.comment_before(close).is_none() && !self.w.at_line_start() {
                self.w.indent = base;
                self.w.space();
                self.w.token(close, closer);
                self.w.indent = saved.0;
                self.w.continuation = saved.1;
                return;
            }
        }
        let mut idx = 0;
        loop {
            let elem = elems.get(idx).copied();
            let next_start = elem.map_or(close, |e| self.range(e).0);
            if let Some(at) = cursor {
                cursor = Some(self.trailing_comments(at, next_start));
            }
            // Comments on their own lines before the next element.
            let mut same_line = false;
            while let Some(c) = self.w.comment_before(next_start) {
                let (start, end) = (c.span.start as usize, c.span.end as usize);
                self.start_line(cursor, start, first, after_decl);
                first = false;
                after_decl = false;
                self.w.continuation = false;
                let ended_line = self.w.comment(c);
                cursor = Some(end);
                let following = self.w.comment_before(next_start).map_or(next_start, |c| c.span.start as usize);
                same_line = !ended_line && self.w.newlines_between(end, following) == 0;
                if !same_line {
                    self.w.newline();
                }
            }
            let Some(elem) = elem else { break };
            let (start, end) = self.range(elem);
            if !same_line {
                self.start_line(cursor, start, first, after_decl);
            }
            first = false;
            self.w.continuation = false;
            self.elem(elem, kind);
            self.w.flush_before(end);
            if kind == Seq::List {
                self.w.token(end, ",");
            }
            self.w.continuation = false;
            cursor = Some(end);
            after_decl = matches!(kind, Seq::Top | Seq::Decls);
            idx += 1;
        }
        if kind != Seq::Top {
            self.w.newline();
            self.w.indent = base;
            self.w.token(close, closer);
        }
        self.w.indent = saved.0;
        self.w.continuation = saved.1;
    }

    /// Writes the comments that follow `after` on the same source line (and
    /// before `limit`) at the end of the current line. Returns the new end.
    fn trailing_comments(&mut self, mut after: usize, limit: usize) -> usize {
        while let Some(c) = self.w.comment_before(limit) {
            if self.w.newlines_between(after, c.span.start as usize) > 0 {
                break;
            }
            self.w.comment(c);
            after = c.span.end as usize;
        }
        after
    }

    /// Starts a line for something at `start`, with an empty line before it
    /// when the source had one (or after a declaration).
    fn start_line(&mut self, cursor: Option<usize>, start: usize, first: bool, after_decl: bool) {
        let blank_in_source = cursor.is_some_and(|at| self.w.newlines_between(at, start) >= 2);
        if !first && (after_decl || blank_in_source) {
            self.w.blank_line();
        } else {
            self.w.newline();
        }
    }

    // ------------------------------------------------------------ declarations

    fn name(&mut self, name: &Name) {
        let (start, end) = (name.span.start as usize, name.span.end as usize);
        let text = self.w.slice(start, end);
        self.w.token(start, text);
    }

    /// A keyword that is not in the AST: it is the next token after `after`.
    fn keyword_after(&mut self, after: usize, keyword: &str) {
        let pos = self.w.skip_trivia_forward(after);
        self.w.space();
        self.w.token(pos, keyword);
    }

    fn decl(&mut self, decl: &Decl) {
        let start = decl.span().start as usize;
        match decl {
            Decl::Project(d) | Decl::Module(d) => {
                self.w.token(start, if matches!(decl, Decl::Project(_)) { "project" } else { "module" });
                self.w.space();
                self.name(&d.name);
                self.w.space();
                self.block(&d.body);
            }
            Decl::Schema(d) => {
                self.w.token(start, "schema");
                self.w.space();
                self.name(&d.name);
                self.w.space();
                self.record(&d.record);
            }
            Decl::Instance(d) => self.instance_decl(d, start),
            Decl::Generator(g) => {
                self.w.token(start, "for");
                self.w.space();
                self.name(&g.var);
                if let Some(index) = &g.index {
                    let comma = self.w.skip_trivia_forward(g.var.span.end as usize);
                    self.w.token(comma, ",");
                    self.w.space();
                    self.name(index);
                }
                let after = g.index.as_ref().unwrap_or(&g.var).span.end as usize;
                self.keyword_after(after, "in");
                self.w.space();
                self.value(&g.list, 0);
                self.w.space();
                let open = self.w.skip_trivia_forward(g.list.span.end as usize);
                let close = self.w.skip_trivia_backward(g.span.end as usize).saturating_sub(1);
                self.w.token(open, "{");
                let elems: Vec<Elem<'_>> = g.decls.iter().map(Elem::Decl).collect();
                self.sequence(Some(open + 1), &elems, close, Seq::Decls, "}");
            }
        }
    }

    fn instance_decl(&mut self, d: &InstanceDecl, start: usize) {
        match &d.overlay_base {
            Some(base) => {
                self.w.token(start, "overlay");
                self.w.space();
                self.name(&d.name);
                self.keyword_after(d.name.span.end as usize, "on");
                self.w.space();
                self.name(base);
            }
            None => {
                if d.is_abstract {
                    self.w.token(start, "abstract");
                    self.keyword_after(start + "abstract".len(), "instance");
                } else {
                    self.w.token(start, "instance");
                }
                self.w.space();
                self.name(&d.name);
                let mut after = d.name.span.end as usize;
                for (idx, parent) in d.parents.iter().enumerate() {
                    if idx == 0 {
                        self.keyword_after(after, "inherits");
                    } else {
                        let comma = self.w.skip_trivia_forward(after);
                        self.w.token(comma, ",");
                    }
                    self.w.space();
                    self.name(parent);
                    after = parent.span.end as usize;
                }
            }
        }
        self.w.space();
        self.block(&d.body);
    }

    // ------------------------------------------------------------ blocks

    /// `{ items }`: `{}` when empty, else one item per line.
    fn block(&mut self, block: &Block) {
        let open = block.span.start as usize;
        let close = (block.span.end as usize).saturating_sub(1);
        self.w.token(open, "{");
        if block.items.is_empty() && self.w.comment_before(close).is_none() {
            self.w.token(close, "}");
            return;
        }
        let elems: Vec<Elem<'_>> = block.items.iter().map(Elem::Item).collect();
        self.sequence(Some(open + 1), &elems, close, Seq::Block, "}");
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Field(f) => self.field(f),
            Item::Unset(u) => {
                self.w.token(u.span.start as usize, "unset");
                self.w.space();
                self.path(&u.path);
            }
            Item::Target(b) | Item::Module(b) | Item::Component(b) => {
                let keyword = match item {
                    Item::Target(_) => "target",
                    Item::Module(_) => "module",
                    _ => "component",
                };
                self.w.token(b.span.start as usize, keyword);
                self.w.space();
                self.name(&b.name);
                self.w.space();
                self.block(&b.body);
            }
        }
    }

    /// A dotted key, each segment as written.
    fn path(&mut self, path: &[Name]) {
        let mut after = None;
        for name in path {
            if let Some(after) = after {
                let dot = self.w.skip_trivia_forward(after);
                self.w.token(dot, ".");
            }
            self.name(name);
            after = Some(name.span.end as usize);
        }
    }

    /// `key: value`, `key := value`, `key += value`, and `key { ... }` for
    /// a map set with `:` (the same field, spec §5).
    fn field(&mut self, f: &Field) {
        self.path(&f.path);
        let after_key = f.path.last().map_or(f.span.start as usize, |n| n.span.end as usize);
        let op_pos = self.w.skip_trivia_forward(after_key);
        match (f.op, &f.value.kind) {
            (Op::Set, ExprKind::Map(block)) => {
                self.w.space();
                self.block(block);
            }
            (Op::Set, _) => {
                self.w.token(op_pos, ":");
                self.w.space();
                self.value(&f.value, 0);
            }
            (op, _) => {
                self.w.space();
                self.w.token(op_pos, op.as_str());
                self.w.space();
                self.value(&f.value, 0);
            }
        }
    }

    // ------------------------------------------------------------ values

    /// A value; `trailing` columns (a comma) follow it on its line.
    fn value(&mut self, e: &Expr, trailing: usize) {
        let (start, end) = (e.span.start as usize, e.span.end as usize);
        match &e.kind {
            ExprKind::Map(block) => self.block(block),
            ExprKind::List(items) => self.list(e, items, trailing),
            ExprKind::Str(_) if self.w.slice(start, end).starts_with("\"\"\"") => self.multiline_string(start, end),
            ExprKind::Unary(..)
            | ExprKind::Binary(..)
            | ExprKind::If(_)
            | ExprKind::Index(..)
            | ExprKind::Member(..)
            | ExprKind::Call(..)
            | ExprKind::Comp(_) => match self.expr_text(e).filter(|_| self.w.comment_before(end).is_none()) {
                Some(text) => self.w.token(start, &text),
                // A comment, a block or a multi-line string inside: kept as
                // written (the comments with it), which keeps the meaning.
                None => {
                    self.w.flush_before(start);
                    let text = self.w.slice(start, end);
                    self.w.token(start, text);
                    self.w.skip_comments_before(end);
                }
            },
            _ => {
                let text = self.w.slice(start, end);
                self.w.token(start, text);
            }
        }
    }

    /// `[a, b, c]` on one line when every element is a one-line scalar,
    /// there is no comment inside and it fits; else one element per line,
    /// each followed by a comma.
    fn list(&mut self, e: &Expr, items: &[Expr], trailing: usize) {
        let open = e.span.start as usize;
        let close = (e.span.end as usize).saturating_sub(1);
        self.w.flush_before(open);
        if self.w.comment_before(close).is_none() {
            if let Some(inline) = self.inline_list(items) {
                if self.w.column() + inline.chars().count() + trailing <= MAX_WIDTH {
                    self.w.token(open, &inline);
                    return;
                }
            }
        }
        self.w.token(open, "[");
        let elems: Vec<Elem<'_>> = items.iter().map(Elem::Value).collect();
        self.sequence(Some(open + 1), &elems, close, Seq::List, "]");
    }

    fn inline_list(&self, items: &[Expr]) -> Option<String> {
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            let text = self.w.slice(item.span.start as usize, item.span.end as usize);
            match item.kind {
                ExprKind::List(_) | ExprKind::Map(_) => return None,
                ExprKind::Str(_) if text.starts_with("\"\"\"") => return None,
                ExprKind::Str(_)
                | ExprKind::Ref(_)
                | ExprKind::Null
                | ExprKind::Bool(_)
                | ExprKind::Int(_)
                | ExprKind::Float(_) => parts.push(text.to_string()),
                _ => parts.push(self.expr_text(item)?),
            }
        }
        Some(format!("[{}]", parts.join(", ")))
    }

    /// An expression on one line, one space around infix operators, with
    /// the parentheses its structure needs (spec §5 precedence) and no
    /// others. `None` when it holds a block map or a multi-line string,
    /// which keep their own layout.
    fn expr_text(&self, e: &Expr) -> Option<String> {
        let text = self.w.slice(e.span.start as usize, e.span.end as usize);
        Some(match &e.kind {
            ExprKind::Map(_) => return None,
            ExprKind::Str(_) if text.starts_with("\"\"\"") => return None,
            ExprKind::Null | ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) => {
                text.to_string()
            }
            // From the names: a parenthesized reference's span holds the parentheses.
            ExprKind::Ref(path) => match (path.first(), path.last()) {
                (Some(first), Some(last)) => {
                    self.w.slice(first.span.start as usize, last.span.end as usize).to_string()
                }
                _ => return None,
            },
            ExprKind::List(items) => {
                let parts: Option<Vec<String>> = items.iter().map(|i| self.expr_text(i)).collect();
                format!("[{}]", parts?.join(", "))
            }
            ExprKind::Unary(op, operand) => {
                let inner = self.expr_text(operand)?;
                // `-(a + b)` needs them; `!(a == b)` reads better with them.
                let wrap = matches!(operand.kind, ExprKind::Binary(..) | ExprKind::If(_) | ExprKind::Unary(..))
                    || (*op == UnOp::Neg && inner.starts_with('-'));
                format!("{}{}", op.as_str(), if wrap { format!("({inner})") } else { inner })
            }
            ExprKind::Binary(op, a, b) => {
                let side = |x: &Expr, right: bool| -> Option<String> {
                    let t = self.expr_text(x)?;
                    let wrap = match &x.kind {
                        ExprKind::Binary(inner, ..) => {
                            inner.precedence() < op.precedence() || (right && inner.precedence() == op.precedence())
                        }
                        // `!` takes everything that binds tighter than `&&`
                        // after it, so below a comparison it needs them.
                        ExprKind::Unary(UnOp::Not, _) => op.precedence() > UnOp::Not.precedence(),
                        ExprKind::If(_) => true,
                        _ => false,
                    };
                    Some(if wrap { format!("({t})") } else { t })
                };
                format!("{} {} {}", side(a, false)?, op.as_str(), side(b, true)?)
            }
            ExprKind::If(parts) => {
                let [c, t, f] = &**parts;
                format!("if {} then {} else {}", self.expr_text(c)?, self.expr_text(t)?, self.expr_text(f)?)
            }
            ExprKind::Index(base, key) => format!("{}[{}]", self.postfix_base(base)?, self.expr_text(key)?),
            ExprKind::Member(base, name) => {
                let b = match base.kind {
                    // `(a).b` is not the path `a.b` (which it would become).
                    ExprKind::Ref(_) => format!("({})", self.expr_text(base)?),
                    _ => self.postfix_base(base)?,
                };
                format!("{b}.{}", self.w.slice(name.span.start as usize, name.span.end as usize))
            }
            ExprKind::Call(name, args) => {
                let parts: Option<Vec<String>> = args.iter().map(|a| self.expr_text(a)).collect();
                format!("{}({})", name.text, parts?.join(", "))
            }
            ExprKind::Comp(c) => {
                let mut head = format!("for {}", c.var.text);
                if let Some(second) = &c.second {
                    head.push_str(&format!(", {}", second.text));
                }
                head.push_str(&format!(" in {}", self.expr_text(&c.source)?));
                if let Some(filter) = &c.filter {
                    head.push_str(&format!(" if {}", self.expr_text(filter)?));
                }
                match &c.body {
                    CompBody::List(item) => format!("[{head}: {}]", self.expr_text(item)?),
                    CompBody::Map(k, v) => format!("{{ {head}: {}: {} }}", self.expr_text(k)?, self.expr_text(v)?),
                }
            }
        })
    }

    /// What `[k]` and `.name` can follow without parentheses: a reference,
    /// a call, or another postfix.
    fn postfix_base(&self, base: &Expr) -> Option<String> {
        let t = self.expr_text(base)?;
        Some(match base.kind {
            ExprKind::Ref(_) | ExprKind::Call(..) | ExprKind::Index(..) | ExprKind::Member(..) => t,
            _ => format!("({t})"),
        })
    }

    /// A `"""` string, line by line as written. When it moves to another
    /// indentation, every content line and the closing line move by the
    /// same amount, so the value (which is relative to the closing line,
    /// or to the common indentation) is unchanged; blank lines, which keep
    /// nothing of their whitespace, become empty.
    fn multiline_string(&mut self, start: usize, end: usize) {
        self.w.flush_before(start);
        let raw = self.w.slice(start, end);
        let inner = raw.get(3..raw.len().saturating_sub(3)).unwrap_or("");
        let body = inner.find('\n').and_then(|nl| inner.get(nl + 1..)).unwrap_or("");
        let lines: Vec<&str> = body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
        let n_lines = lines.len();
        // Indentation of the line the string starts on, before and after.
        let src_indent = {
            let line_start = self.w.text.get(..start).and_then(|t| t.rfind('\n')).map_or(0, |p| p + 1);
            let line = self.w.slice(line_start, start);
            line.len() - line.trim_start_matches([' ', '\t']).len()
        };
        // Begin the token so that the output line's indentation is known.
        self.w.raw("");
        let out_indent = self.w.line_indent();
        let moved = |idx: usize, line: &str| idx + 1 == n_lines || !line.trim().is_empty();
        let mut shift = out_indent as isize - src_indent as isize;
        if shift < 0 {
            let remove = " ".repeat(shift.unsigned_abs());
            if !lines.iter().enumerate().all(|(idx, l)| !moved(idx, l) || l.starts_with(&remove)) {
                shift = 0;
            }
        }
        let mut text = String::from("\"\"\"");
        for (idx, line) in lines.iter().enumerate() {
            text.push('\n');
            if !moved(idx, line) {
                continue;
            }
            if shift >= 0 {
                text.push_str(&" ".repeat(shift.unsigned_abs()));
                text.push_str(line);
            } else {
                text.push_str(line.get(shift.unsigned_abs()..).unwrap_or(""));
            }
        }
        text.push_str("\"\"\"");
        self.w.raw(&text);
    }

    // ------------------------------------------------------------ schemas

    /// `{ field-decls }`, with `...` where it was written.
    fn record(&mut self, record: &RecordTypeExpr) {
        let open = record.span.start as usize;
        let close = (record.span.end as usize).saturating_sub(1);
        let mut elems: Vec<Elem<'_>> = record.fields.iter().map(Elem::FieldDecl).collect();
        if record.open {
            elems.extend(self.open_markers(record).into_iter().map(Elem::Open));
            elems.sort_by_key(|e| self.range(*e).0);
        }
        self.w.token(open, "{");
        if elems.is_empty() && self.w.comment_before(close).is_none() {
            self.w.token(close, "}");
            return;
        }
        self.sequence(Some(open + 1), &elems, close, Seq::Block, "}");
    }

    /// Offsets of the `...` markers of a record: outside its field
    /// declarations and outside comments.
    fn open_markers(&self, record: &RecordTypeExpr) -> Vec<usize> {
        let mut found = Vec::new();
        let mut pos = record.span.start as usize + 1;
        let close = (record.span.end as usize).saturating_sub(1);
        while pos < close {
            if let Some(field) =
                record.fields.iter().find(|f| (f.span.start as usize) <= pos && pos < f.span.end as usize)
            {
                pos = field.span.end as usize;
            } else if let Some(c) = self.w.in_comment(pos) {
                pos = c.span.end as usize;
            } else if self.w.slice(pos, pos + 3) == "..." {
                found.push(pos);
                pos += 3;
            } else {
                pos += 1;
            }
        }
        found
    }

    /// `name: T`, `name?: T`, `name: T = default`.
    fn field_decl(&mut self, f: &FieldDecl) {
        self.name(&f.name);
        let mut after = f.name.span.end as usize;
        if f.optional {
            let mark = self.w.skip_trivia_forward(after);
            self.w.token(mark, "?");
            after = mark + 1;
        }
        let colon = self.w.skip_trivia_forward(after);
        self.w.token(colon, ":");
        self.w.space();
        self.type_(&f.type_);
        if let Some(unique) = f.unique {
            self.w.space();
            self.w.token(unique.start as usize, "unique");
        }
        if let Some(default) = &f.default {
            let eq = self.w.skip_trivia_backward(default.span.start as usize).saturating_sub(1);
            self.w.space();
            self.w.token(eq, "=");
            self.w.space();
            self.value(default, 0);
        }
    }

    fn type_(&mut self, t: &TypeExpr) {
        let (start, end) = (t.span.start as usize, t.span.end as usize);
        match &t.kind {
            TypeExprKind::Named(name) => self.w.token(start, name),
            TypeExprKind::List(inner) | TypeExprKind::Map(inner) => {
                let (open, close) = if matches!(t.kind, TypeExprKind::List(_)) { ("[", "]") } else { ("{", "}") };
                self.w.token(start, open);
                self.type_(inner);
                let close_pos = self.w.skip_trivia_backward(end).saturating_sub(1);
                self.w.token(close_pos, close);
            }
            TypeExprKind::Record(record) => self.record(record),
            TypeExprKind::Nullable(inner) => {
                self.type_(inner);
                let mark = self.w.skip_trivia_backward(end).saturating_sub(1);
                self.w.token(mark, "?");
            }
            TypeExprKind::Enum(_) => {
                for (idx, (pos, text)) in self.union_tokens(start, end).into_iter().enumerate() {
                    if idx > 0 {
                        self.w.space();
                    }
                    self.w.token(pos, text);
                }
            }
        }
        if let Some(c) = &t.constraint {
            let text = match &c.kind {
                ConstraintKind::Range(lo, hi) => match (lo, hi) {
                    (Some(lo), None) if self.w.slice(c.span.start as usize, c.span.end as usize).contains(">=") => {
                        format!("(>= {lo})")
                    }
                    (None, Some(hi)) if self.w.slice(c.span.start as usize, c.span.end as usize).contains("<=") => {
                        format!("(<= {hi})")
                    }
                    (lo, hi) => format!("({}..{})", lo.as_deref().unwrap_or(""), hi.as_deref().unwrap_or("")),
                },
                ConstraintKind::Pattern(re) => format!("(/{}/)", re.replace('/', "\\/")),
                ConstraintKind::External => "(external)".to_string(),
            };
            self.w.token(c.span.start as usize, &text);
        }
    }

    /// The string literals and `|` of a union of strings, as written.
    fn union_tokens(&self, start: usize, end: usize) -> Vec<(usize, &'s str)> {
        let mut tokens = Vec::new();
        let mut pos = start;
        while pos < end {
            if let Some(c) = self.w.in_comment(pos) {
                pos = c.span.end as usize;
                continue;
            }
            match self.w.text.as_bytes().get(pos) {
                Some(b'|') => {
                    tokens.push((pos, "|"));
                    pos += 1;
                }
                Some(b'"') => {
                    let mut close = pos + 1;
                    while let Some(&b) = self.w.text.as_bytes().get(close) {
                        match b {
                            b'\\' => close += 2,
                            b'"' => break,
                            _ => close += 1,
                        }
                    }
                    let lit_end = (close + 1).min(end);
                    tokens.push((pos, self.w.slice(pos, lit_end)));
                    pos = lit_end;
                }
                _ => pos += 1,
            }
        }
        tokens
    }
}
