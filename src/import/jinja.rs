//! Jinja to Handlebars for `facs import`: the simple forms of the original
//! templates, converted one tag at a time.
//!
//! Input: a Jinja template and a [`Context`] (what the imported instances
//! hold). Output: the Handlebars text, or every construct that could not be
//! converted with its line. Converted: `{{ path }}` with the filters `upper`,
//! `lower`, `default`/`d`, `tojson`, `join`, `length`/`count` and `safe`;
//! `{% for %}` over a list, a map's `.items()`, `.keys()` or `.values()` (with
//! `{% else %}`); `{% if %}`/`{% elif %}`/`{% else %}` with paths, literals,
//! `not`, `and`, `or` and comparisons; `{# comments #}`; `{% raw %}`; the
//! whitespace control marks `{%-`/`-%}` (applied here, to the text around).
//!
//! Names: a loop's key variable becomes `@key`, its value variable `this`
//! (`../this` and `@../key` from an inner loop), `loop.index0`/`first`/`last`
//! become `@index`/`@first`/`@last`; `modules.x` becomes `module.x`;
//! `project.project` and a bare `project` become `project.name`,
//! `project.x` stays; every other top-level name `x` is the environment's
//! field `instance.x` (after the import's renames). Inside a loop, roots are
//! reached through `@root.`. Handlebars runs in strict mode where Jinja prints
//! an undefined value as "", so a path that some instance may lack is written
//! `default path ""` (and a loop over it is guarded by `{{#if path}}`).

use std::collections::{HashMap, HashSet};

/// What the converter knows about the imported project.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Top-level environment keys renamed by the import (legacy → `.facs`).
    pub renames: HashMap<String, String>,
    /// Manifest paths (`["instance", "db", "host"]`) that every instance has.
    pub present: HashSet<Vec<String>>,
    /// Manifest paths that always hold a map (a loop over one yields keys).
    pub maps: HashSet<Vec<String>>,
}

/// A construct that was not converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// 1-based line of the tag.
    pub line: usize,
    /// The tag as written (shortened).
    pub construct: String,
    /// Why it was not converted.
    pub reason: String,
}

/// Converts a template, or lists what could not be converted.
pub fn convert(source: &str, ctx: &Context) -> Result<String, Vec<Unsupported>> {
    let tokens = lex(source).map_err(|e| vec![e])?;
    let mut converter =
        Converter { ctx, out: String::new(), loops: Vec::new(), blocks: Vec::new(), errors: Vec::new() };
    for token in &tokens {
        if let Err(reason) = converter.token(token) {
            converter.errors.push(Unsupported { line: token.line, construct: shorten(&token.tag), reason });
        }
    }
    for open in std::mem::take(&mut converter.blocks) {
        if matches!(open.kind, BlockKind::Broken) {
            continue;
        }
        converter.errors.push(Unsupported {
            line: open.line,
            construct: shorten(&open.tag),
            reason: "the block is never closed".into(),
        });
    }
    if converter.errors.is_empty() {
        Ok(converter.out)
    } else {
        Err(converter.errors)
    }
}

/// Handlebars text that renders exactly `source`: every `{{` is escaped.
pub fn literal(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    push_literal(&mut out, source);
    out
}

/// Appends text that Handlebars must print as is. `\{{` prints `{{`; a run of
/// n ≥ 1 backslashes before it needs n + 1 and an empty comment to keep them.
fn push_literal(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        out.push_str(rest.get(..at).unwrap_or(""));
        if out.ends_with('\\') {
            out.push_str("\\{{!}}");
        }
        out.push_str("\\{{");
        rest = rest.get(at + 2..).unwrap_or("");
    }
    out.push_str(rest);
}

/// Appends a mustache. After n ≥ 1 literal backslashes Handlebars would
/// escape it; n + 1 backslashes print n and keep the mustache live.
fn push_mustache(out: &mut String, mustache: &str) {
    if out.ends_with('\\') {
        out.push('\\');
    }
    out.push_str(mustache);
}

fn shorten(tag: &str) -> String {
    let one_line: String = tag.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{}...", one_line.chars().take(57).collect::<String>())
    } else {
        one_line
    }
}

// ---------------------------------------------------------------- lexing

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Var,
    Stmt,
    Comment,
    Raw,
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    /// Text, raw content, or the tag's inner expression/statement.
    body: String,
    /// The whole tag as written, for the report.
    tag: String,
    line: usize,
}

fn line_at(source: &str, offset: usize) -> usize {
    source.get(..offset).map_or(1, |s| s.matches('\n').count() + 1)
}

/// Finds the closer of a `{{` or `{%` tag from `from`, skipping string literals.
fn find_close(source: &str, from: usize, closer: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut i = from;
    let mut quote: Option<u8> = None;
    while let Some(&b) = bytes.get(i) {
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'\'' || b == b'"' {
                    quote = Some(b);
                } else if source.get(i..).is_some_and(|s| s.starts_with(closer)) {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

fn lex(source: &str) -> Result<Vec<Token>, Unsupported> {
    let mut tokens: Vec<Token> = Vec::new();
    // Whitespace control: strip before / after the tag.
    let mut strip_next = false;
    let mut pos = 0;
    let push_text = |tokens: &mut Vec<Token>, text: &str, line: usize, strip_start: bool| {
        let text = if strip_start { text.trim_start() } else { text };
        tokens.push(Token { kind: Kind::Text, body: text.to_string(), tag: String::new(), line });
    };
    loop {
        let rest = source.get(pos..).unwrap_or("");
        let next = ["{{", "{%", "{#"].iter().filter_map(|o| rest.find(o)).min();
        let Some(rel) = next else {
            push_text(&mut tokens, rest, line_at(source, pos), strip_next);
            break;
        };
        let start = pos + rel;
        push_text(&mut tokens, rest.get(..rel).unwrap_or(""), line_at(source, pos), strip_next);
        let line = line_at(source, start);
        let opener = source.get(start..start + 2).unwrap_or("");
        let closer = match opener {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let mut inner_start = start + 2;
        let strip_before = source.get(inner_start..inner_start + 1) == Some("-");
        if matches!(source.get(inner_start..inner_start + 1), Some("-" | "+")) {
            inner_start += 1;
        }
        let close = if closer == "#}" {
            source.get(inner_start..).and_then(|s| s.find("#}")).map(|i| i + inner_start)
        } else {
            find_close(source, inner_start, closer)
        };
        let Some(close) = close else {
            return Err(Unsupported {
                line,
                construct: shorten(source.get(start..).unwrap_or("").lines().next().unwrap_or("")),
                reason: format!("`{opener}` is never closed by `{closer}`"),
            });
        };
        let mut inner = source.get(inner_start..close).unwrap_or("");
        let strip_after = inner.ends_with('-');
        if inner.ends_with('-') || inner.ends_with('+') {
            inner = inner.get(..inner.len() - 1).unwrap_or("");
        }
        let tag_end = close + 2;
        let tag = source.get(start..tag_end).unwrap_or("").to_string();
        if strip_before {
            if let Some(last) = tokens.last_mut().filter(|t| t.kind == Kind::Text) {
                last.body = last.body.trim_end().to_string();
            }
        }
        let kind = match opener {
            "{{" => Kind::Var,
            "{%" => Kind::Stmt,
            _ => Kind::Comment,
        };
        pos = tag_end;
        strip_next = strip_after;
        if kind == Kind::Stmt && inner.trim() == "raw" {
            let Some((content_end, end_len, strip)) = find_endraw(source, tag_end) else {
                return Err(Unsupported { line, construct: tag, reason: "`{% raw %}` is never closed".into() });
            };
            let mut content = source.get(tag_end..content_end).unwrap_or("");
            if strip_after {
                content = content.trim_start();
            }
            if strip.0 {
                content = content.trim_end();
            }
            tokens.push(Token { kind: Kind::Raw, body: content.to_string(), tag, line });
            pos = content_end + end_len;
            strip_next = strip.1;
            continue;
        }
        tokens.push(Token { kind, body: inner.trim().to_string(), tag, line });
    }
    Ok(tokens)
}

/// Finds `{% endraw %}` from `from`: its offset, length and strip marks.
fn find_endraw(source: &str, from: usize) -> Option<(usize, usize, (bool, bool))> {
    let mut search = from;
    loop {
        let at = search + source.get(search..)?.find("{%")?;
        let close = source.get(at..)?.find("%}")? + at;
        let inner = source.get(at + 2..close)?;
        let strip_before = inner.starts_with('-');
        let strip_after = inner.ends_with('-');
        if inner.trim_matches(['-', '+']).trim() == "endraw" {
            return Some((at, close + 2 - at, (strip_before, strip_after)));
        }
        search = close + 2;
    }
}

// ---------------------------------------------------------------- expressions

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Num(String),
    Sym(&'static str),
}

const SYMBOLS: &[&str] = &[
    "==", "!=", "<=", ">=", "**", "//", "<", ">", "=", ".", "[", "]", "(", ")", ",", "|", "~", "+", "-", "*", "/", "%",
    ":", "{", "}",
];

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                i += 1;
            }
            toks.push(Tok::Name(chars.get(start..i).unwrap_or(&[]).iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_ascii_digit() || *c == '_') {
                i += 1;
            }
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
            }
            let num: String = chars.get(start..i).unwrap_or(&[]).iter().filter(|c| **c != '_').collect();
            toks.push(Tok::Num(num));
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("an unclosed string".into()),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        let escaped = match chars.get(i + 1) {
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some(&other) => other,
                            None => return Err("an unclosed string".into()),
                        };
                        s.push(escaped);
                        i += 2;
                        continue;
                    }
                    Some(&other) => s.push(other),
                }
                i += 1;
            }
            i += 1;
            toks.push(Tok::Str(s));
        } else {
            let rest: String = chars.get(i..(i + 2).min(chars.len())).unwrap_or(&[]).iter().collect();
            let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
                return Err(format!("the character `{c}`"));
            };
            toks.push(Tok::Sym(sym));
            i += sym.len();
        }
    }
    Ok(toks)
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Name(String),
    Index(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Path(Vec<Seg>),
    Str(String),
    Num(String),
    Bool(bool),
    Null,
    Filter(Box<Expr>, String, Vec<Expr>),
    Method(Vec<Seg>, String),
    Not(Box<Expr>),
    Logic(&'static str, Box<Expr>, Box<Expr>),
    Compare(&'static str, Box<Expr>, Box<Expr>),
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_name(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == word)
    }

    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), String> {
        if self.is_sym(sym) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected `{sym}`"))
        }
    }

    fn done(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(Tok::Name(n)) if n == "if" => Err("an inline `if ... else ...` expression".into()),
            Some(Tok::Name(n)) if n == "is" => Err("a test (`is ...`)".into()),
            Some(Tok::Name(n)) if n == "in" => Err("the `in` operator".into()),
            Some(Tok::Sym(s)) if ["~", "+", "-", "*", "/", "%", "**", "//"].contains(s) => {
                Err(format!("the `{s}` operator"))
            }
            Some(Tok::Sym("(")) => Err("a function call".into()),
            Some(_) => Err("an expression form that is not converted".into()),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.is_name("or") {
            self.pos += 1;
            left = Expr::Logic("or", Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.is_name("and") {
            self.pos += 1;
            left = Expr::Logic("and", Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.is_name("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, String> {
        let left = self.filtered()?;
        let op = match self.peek() {
            Some(Tok::Sym("==")) => "eq",
            Some(Tok::Sym("!=")) => "ne",
            Some(Tok::Sym("<")) => "lt",
            Some(Tok::Sym(">")) => "gt",
            Some(Tok::Sym("<=")) => "lte",
            Some(Tok::Sym(">=")) => "gte",
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.filtered()?;
        Ok(Expr::Compare(op, Box::new(left), Box::new(right)))
    }

    fn filtered(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        while self.is_sym("|") {
            self.pos += 1;
            let Some(Tok::Name(name)) = self.next() else { return Err("a filter without a name".into()) };
            let mut args = Vec::new();
            if self.is_sym("(") {
                self.pos += 1;
                while !self.is_sym(")") {
                    if matches!(self.toks.get(self.pos + 1), Some(Tok::Sym("="))) {
                        return Err(format!("filter `|{name}` with a keyword argument"));
                    }
                    args.push(self.or()?);
                    if !self.is_sym(",") {
                        break;
                    }
                    self.pos += 1;
                }
                self.expect_sym(")")?;
            }
            e = Expr::Filter(Box::new(e), name, args);
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Sym("-")) => match self.next() {
                Some(Tok::Num(n)) => Ok(Expr::Num(format!("-{n}"))),
                _ => Err("the `-` operator".into()),
            },
            Some(Tok::Sym("(")) => {
                let e = self.or()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Some(Tok::Name(n)) => match n.as_str() {
                "true" | "True" => Ok(Expr::Bool(true)),
                "false" | "False" => Ok(Expr::Bool(false)),
                "none" | "None" => Ok(Expr::Null),
                _ => self.path(n),
            },
            Some(Tok::Sym(s)) => Err(format!("`{s}` where a value was expected")),
            None => Err("an empty expression".into()),
        }
    }

    fn path(&mut self, first: String) -> Result<Expr, String> {
        let mut segs = vec![Seg::Name(first)];
        loop {
            if self.is_sym(".") {
                self.pos += 1;
                let Some(Tok::Name(n)) = self.next() else { return Err("`.` without a name after it".into()) };
                if self.is_sym("(") {
                    self.pos += 1;
                    self.expect_sym(")")?;
                    return Ok(Expr::Method(segs, n));
                }
                segs.push(Seg::Name(n));
            } else if self.is_sym("[") {
                self.pos += 1;
                match self.next() {
                    Some(Tok::Str(s)) => segs.push(Seg::Name(s)),
                    Some(Tok::Num(n)) => segs.push(Seg::Index(n.parse().map_err(|_| "an index".to_string())?)),
                    _ => return Err("a computed subscript".into()),
                }
                self.expect_sym("]")?;
            } else {
                return Ok(Expr::Path(segs));
            }
        }
    }
}

fn parse_expr(text: &str) -> Result<Expr, String> {
    let mut parser = Parser { toks: tokenize(text)?, pos: 0 };
    let e = parser.or()?;
    parser.done()?;
    Ok(e)
}

// ---------------------------------------------------------------- conversion

/// A loop's variables.
struct Loop {
    key: Option<String>,
    value: Option<String>,
}

enum BlockKind {
    /// `guard`: the manifest path an `{% if path %}` tested, which therefore
    /// exists while `then` (its first branch) is being converted.
    If {
        helper: &'static str,
        guard: Option<Vec<String>>,
        then: bool,
    },
    For {
        guarded: bool,
        in_else: bool,
    },
    /// An `if` or `for` that was not converted: its `else` and end tags are
    /// taken silently, so one problem is reported once.
    Broken,
}

struct Block {
    kind: BlockKind,
    line: usize,
    tag: String,
}

/// A resolved Handlebars path.
struct Ref {
    text: String,
    /// Known to exist in every instance (no `default` needed).
    present: bool,
    /// The manifest path, when it starts at a root.
    path: Option<Vec<String>>,
}

struct Converter<'c> {
    ctx: &'c Context,
    out: String,
    loops: Vec<Loop>,
    blocks: Vec<Block>,
    errors: Vec<Unsupported>,
}

fn hb_segment(seg: &str) -> Result<String, String> {
    let ident = {
        let mut chars = seg.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if ident && seg != "this" {
        Ok(seg.to_string())
    } else if seg.contains([']', '\n']) {
        Err(format!("the key `{seg}`"))
    } else {
        Ok(format!("[{seg}]"))
    }
}

fn hb_string(s: &str) -> Result<String, String> {
    if s.contains('\\') || (s.contains('"') && s.contains('\'')) {
        return Err("a string with a backslash or both quotes".into());
    }
    Ok(if s.contains('"') { format!("'{s}'") } else { format!("\"{s}\"") })
}

impl Converter<'_> {
    fn token(&mut self, token: &Token) -> Result<(), String> {
        match token.kind {
            Kind::Text | Kind::Raw => {
                push_literal(&mut self.out, &token.body);
                Ok(())
            }
            Kind::Comment => {
                let text = token.body.replace("--}}", "- -}}");
                push_mustache(&mut self.out, &format!("{{{{!-- {text} --}}}}"));
                Ok(())
            }
            Kind::Var => self.output(&token.body),
            Kind::Stmt => self.statement(token),
        }
    }

    fn output(&mut self, text: &str) -> Result<(), String> {
        let e = parse_expr(text)?;
        match &e {
            Expr::Str(s) | Expr::Num(s) => push_literal(&mut self.out, s),
            Expr::Bool(b) => push_literal(&mut self.out, if *b { "True" } else { "False" }),
            Expr::Null => push_literal(&mut self.out, "None"),
            Expr::Not(_) | Expr::Logic(..) | Expr::Compare(..) => {
                return Err("a condition printed as a value".into());
            }
            _ => {
                let inner = self.expr(&e, false)?;
                push_mustache(&mut self.out, &format!("{{{{{inner}}}}}"));
            }
        }
        Ok(())
    }

    fn statement(&mut self, token: &Token) -> Result<(), String> {
        let text = token.body.as_str();
        let word = text.split(char::is_whitespace).next().unwrap_or("");
        let broken_on_top = matches!(self.blocks.last(), Some(Block { kind: BlockKind::Broken, .. }));
        match word {
            "elif" | "else" if broken_on_top => return Ok(()),
            "endif" | "endfor" if broken_on_top => {
                self.blocks.pop();
                return Ok(());
            }
            _ => {}
        }
        let result = self.statement_inner(token);
        if result.is_err() && (word == "if" || word == "for") {
            self.blocks.push(Block { kind: BlockKind::Broken, line: token.line, tag: token.tag.clone() });
        }
        result
    }

    fn statement_inner(&mut self, token: &Token) -> Result<(), String> {
        let text = token.body.as_str();
        let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let rest = rest.trim();
        match word {
            "if" => {
                let cond = parse_expr(rest)?;
                let mut guard = None;
                let (helper, arg) = match &cond {
                    Expr::Path(segs) => {
                        let r = self.resolve(segs)?;
                        guard = r.path;
                        ("if", r.text)
                    }
                    Expr::Not(inner) => match &**inner {
                        Expr::Path(segs) => ("unless", self.resolve(segs)?.text),
                        _ => ("if", self.expr(&cond, true)?),
                    },
                    _ => ("if", self.expr(&cond, true)?),
                };
                push_mustache(&mut self.out, &format!("{{{{#{helper} {arg}}}}}"));
                self.blocks.push(Block {
                    kind: BlockKind::If { helper, guard, then: true },
                    line: token.line,
                    tag: token.tag.clone(),
                });
                Ok(())
            }
            "elif" => {
                match self.blocks.last_mut() {
                    Some(Block { kind: BlockKind::If { then, .. }, .. }) => *then = false,
                    _ => return Err("`elif` outside an `if`".into()),
                }
                let cond = parse_expr(rest)?;
                let arg = match &cond {
                    Expr::Path(segs) => self.resolve(segs)?.text,
                    _ => self.expr(&cond, true)?,
                };
                push_mustache(&mut self.out, &format!("{{{{else if {arg}}}}}"));
                Ok(())
            }
            "else" => {
                match self.blocks.last_mut() {
                    Some(Block { kind: BlockKind::If { then, .. }, .. }) => *then = false,
                    Some(Block { kind: BlockKind::For { guarded, in_else }, .. }) => {
                        if *guarded {
                            return Err("`{% else %}` of a loop over a value some instances lack".into());
                        }
                        *in_else = true;
                        self.loops.pop();
                    }
                    Some(Block { kind: BlockKind::Broken, .. }) | None => return Err("`else` outside a block".into()),
                }
                push_mustache(&mut self.out, "{{else}}");
                Ok(())
            }
            "endif" => match self.blocks.pop() {
                Some(Block { kind: BlockKind::If { helper, .. }, .. }) => {
                    push_mustache(&mut self.out, &format!("{{{{/{helper}}}}}"));
                    Ok(())
                }
                other => {
                    self.blocks.extend(other);
                    Err("`endif` without its `if`".into())
                }
            },
            "for" => self.for_(rest, token),
            "endfor" => match self.blocks.pop() {
                Some(Block { kind: BlockKind::For { guarded, in_else }, .. }) => {
                    if !in_else {
                        self.loops.pop();
                    }
                    push_mustache(&mut self.out, "{{/each}}");
                    if guarded {
                        push_mustache(&mut self.out, "{{/if}}");
                    }
                    Ok(())
                }
                other => {
                    self.blocks.extend(other);
                    Err("`endfor` without its `for`".into())
                }
            },
            other => Err(format!("the `{other}` statement")),
        }
    }

    fn for_(&mut self, text: &str, token: &Token) -> Result<(), String> {
        let Some((targets, iter)) = text.split_once(" in ") else { return Err("a `for` without `in`".into()) };
        let targets: Vec<String> = targets
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .map(|t| t.trim().to_string())
            .collect();
        if targets.iter().any(|t| !super::facs::is_name(t) || t.contains('-')) {
            return Err("a loop target that is not one or two names".into());
        }
        let iter = parse_expr(iter.trim())?;
        let (segs, method) = match &iter {
            Expr::Path(segs) => (segs, None),
            Expr::Method(segs, m) => (segs, Some(m.as_str())),
            _ => return Err("a loop over something other than a path".into()),
        };
        let target = |i: usize| targets.get(i).cloned();
        let (key, value) = match (targets.len(), method) {
            (2, Some("items")) => (target(0), target(1)),
            (1, Some("keys")) => (target(0), None),
            (1, Some("values")) => (None, target(0)),
            (1, None) => (None, target(0)),
            (_, Some(m)) if !["items", "keys", "values"].contains(&m) => return Err(format!("the method `.{m}()`")),
            _ => return Err("tuple unpacking of list elements".into()),
        };
        let r = self.resolve(segs)?;
        let over_map = method.is_none() && r.path.as_ref().is_some_and(|p| self.ctx.maps.contains(p));
        let (key, value) = if over_map { (value, None) } else { (key, value) };
        let guarded = !r.present;
        if guarded {
            push_mustache(&mut self.out, &format!("{{{{#if {}}}}}", r.text));
        }
        push_mustache(&mut self.out, &format!("{{{{#each {}}}}}", r.text));
        self.loops.push(Loop { key, value });
        self.blocks.push(Block {
            kind: BlockKind::For { guarded, in_else: false },
            line: token.line,
            tag: token.tag.clone(),
        });
        Ok(())
    }

    /// Resolves a Jinja path to a Handlebars path.
    fn resolve(&self, segs: &[Seg]) -> Result<Ref, String> {
        let Some(Seg::Name(first)) = segs.first() else { return Err("a path that starts with an index".into()) };
        let rest = segs.get(1..).unwrap_or(&[]);
        let depth = self.loops.len();
        for (i, lp) in self.loops.iter().enumerate().rev() {
            let up = "../".repeat(depth - 1 - i);
            if lp.key.as_deref() == Some(first.as_str()) {
                if !rest.is_empty() {
                    return Err(format!("an attribute of the loop key `{first}`"));
                }
                return Ok(Ref { text: format!("@{up}key"), present: true, path: None });
            }
            if lp.value.as_deref() == Some(first.as_str()) {
                let mut text = format!("{up}this");
                for seg in rest {
                    text.push('.');
                    text.push_str(&match seg {
                        Seg::Name(n) => hb_segment(n)?,
                        Seg::Index(i) => format!("[{i}]"),
                    });
                }
                return Ok(Ref { text, present: rest.is_empty(), path: None });
            }
        }
        if first == "loop" && depth > 0 {
            let special = match rest {
                [Seg::Name(n)] if n == "index0" => "@index",
                [Seg::Name(n)] if n == "first" => "@first",
                [Seg::Name(n)] if n == "last" => "@last",
                _ => return Err("a `loop` variable other than index0, first and last".into()),
            };
            return Ok(Ref { text: special.into(), present: true, path: None });
        }
        let mut path: Vec<String> = Vec::new();
        let mut rest_segs = rest;
        match first.as_str() {
            "modules" => path.push("module".into()),
            "project" => {
                path.push("project".into());
                match rest.first() {
                    None => path.push("name".into()),
                    Some(Seg::Name(n)) if n == "project" => {
                        path.push("name".into());
                        rest_segs = rest.get(1..).unwrap_or(&[]);
                    }
                    _ => {}
                }
            }
            other => {
                path.push("instance".into());
                path.push(self.ctx.renames.get(other).cloned().unwrap_or_else(|| other.to_string()));
            }
        }
        for seg in rest_segs {
            path.push(match seg {
                Seg::Name(n) => n.clone(),
                Seg::Index(i) => i.to_string(),
            });
        }
        let mut text = if depth > 0 { "@root.".to_string() } else { String::new() };
        for (i, seg) in path.iter().enumerate() {
            if i > 0 {
                text.push('.');
            }
            text.push_str(&hb_segment(seg)?);
        }
        // Indexes were pushed as their digits: `[0]` is what hb_segment gives.
        let guarded = self.blocks.iter().any(|b| match &b.kind {
            BlockKind::If { guard: Some(g), then: true, .. } => g.starts_with(&path),
            _ => false,
        });
        let present = guarded || self.ctx.present.contains(&path);
        Ok(Ref { text, present, path: Some(path) })
    }

    /// A Handlebars expression. `arg` means it stands as a helper argument
    /// (helper calls get parentheses); a path some instance may lack is
    /// wrapped in `default path ""` because strict mode rejects it.
    fn expr(&self, e: &Expr, arg: bool) -> Result<String, String> {
        let call = |inner: String| if arg { format!("({inner})") } else { inner };
        match e {
            Expr::Path(segs) => {
                let r = self.resolve(segs)?;
                Ok(if r.present { r.text } else { call(format!("default {} \"\"", r.text)) })
            }
            Expr::Str(s) => hb_string(s),
            Expr::Num(n) => Ok(n.clone()),
            Expr::Bool(b) => Ok(b.to_string()),
            Expr::Null => Ok("null".into()),
            Expr::Method(_, m) => Err(format!("the method `.{m}()`")),
            Expr::Not(inner) => Ok(call(format!("not {}", self.expr(inner, true)?))),
            Expr::Logic(op, a, b) => Ok(call(format!("{op} {} {}", self.expr(a, true)?, self.expr(b, true)?))),
            Expr::Compare(op, a, b) => Ok(call(format!("{op} {} {}", self.expr(a, true)?, self.expr(b, true)?))),
            Expr::Filter(base, name, args) => {
                let n_args = args.len();
                match (name.as_str(), n_args) {
                    ("safe", 0) => self.expr(base, arg),
                    ("upper" | "lower", 0) => Ok(call(format!("{name} {}", self.expr(base, true)?))),
                    ("tojson", 0) => Ok(call(format!("json {}", self.expr(base, true)?))),
                    ("length" | "count", 0) => Ok(call(format!("len {}", self.expr(base, true)?))),
                    ("join", 0) => Ok(call(format!("join {} \"\"", self.expr(base, true)?))),
                    ("join", 1) => {
                        let sep = args.first().map(|a| self.expr(a, true)).transpose()?.unwrap_or_default();
                        Ok(call(format!("join {} {sep}", self.expr(base, true)?)))
                    }
                    ("default" | "d", 1) => {
                        // `default` accepts a missing value: no wrapping.
                        let value = match &**base {
                            Expr::Path(segs) => self.resolve(segs)?.text,
                            other => self.expr(other, true)?,
                        };
                        let fallback = args.first().map(|a| self.expr(a, true)).transpose()?.unwrap_or_default();
                        Ok(call(format!("default {value} {fallback}")))
                    }
                    _ => Err(format!("the filter `|{name}`")),
                }
            }
        }
    }
}
