//! Lowering pest pairs into the AST, one function per grammar rule, adding
//! spans as it goes.
//!
//! Terminology: a *pair* is pest's matched rule; a *body* is an instance or
//! overlay block (which may hold `target` and `module` items); a *block* is any
//! other `{ ... }` of fields.

use super::ast::*;
use super::parser::Rule;
use super::strings;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use pest::iterators::{Pair, Pairs};

pub(crate) struct Lowerer<'t> {
    pub file: FileId,
    pub text: &'t str,
    pub comments: &'t [Comment],
    pub errors: Vec<Diagnostic>,
}

type Lowered<T> = Option<T>;

/// A valid declaration name (spec §3).
pub(crate) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A quoted declaration name that is not a name.
pub(crate) fn not_a_name(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error(Code::E001, span, format!("`{}` is not a valid name", text.escape_debug()))
        .with_primary_label("not a name")
        .with_help(
            "Names start with a letter or `_` and hold letters, digits, `_` and `-`; it names files and state owners.",
        )
}

/// Most operators one expression may hold: the tree is as deep as its
/// longest chain, and evaluation recurses over it.
const MAX_OPERATORS: usize = 1000;

/// One element of a flat operator chain.
enum Token {
    Prefix(UnOp, Span),
    Infix(BinOp),
    Operand(Expr),
}

/// Precedence climbing: an operand with its prefix operators, then every
/// infix operator binding at least `min` (left-associative).
fn climb(tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>, min: u8, file: FileId) -> Option<Expr> {
    let mut lhs = match tokens.next()? {
        Token::Operand(e) => e,
        Token::Prefix(op, span) => {
            let operand = climb(tokens, op.precedence(), file)?;
            let whole = Span::new(file, span.start as usize, operand.span.end as usize);
            Expr { kind: ExprKind::Unary(op, Box::new(operand)), span: whole }
        }
        Token::Infix(_) => return None,
    };
    while let Some(Token::Infix(op)) = tokens.peek() {
        let op = *op;
        if op.precedence() < min {
            break;
        }
        tokens.next();
        let rhs = climb(tokens, op.precedence() + 1, file)?;
        let whole = Span::new(file, lhs.span.start as usize, rhs.span.end as usize);
        lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span: whole };
    }
    Some(lhs)
}

impl<'t> Lowerer<'t> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    /// Records a grammar/lowering disagreement; never expected to happen.
    fn internal(&mut self, span: Span) -> Lowered<()> {
        self.errors.push(Diagnostic::internal(span, "the parser and the grammar disagree about this text"));
        None
    }

    fn next<'i>(&mut self, pairs: &mut Pairs<'i, Rule>, parent: Span) -> Lowered<Pair<'i, Rule>> {
        match pairs.next() {
            Some(p) => Some(p),
            None => {
                self.internal(parent);
                None
            }
        }
    }

    /// The joined text of the `///` comments right before `start`.
    fn doc_before(&self, start: usize) -> Option<String> {
        let idx = self.comments.partition_point(|c| (c.span.end as usize) <= start);
        let mut lines = Vec::new();
        let mut boundary = start;
        for c in self.comments.get(..idx).unwrap_or_default().iter().rev() {
            let gap = self.text.get(c.span.end as usize..boundary).unwrap_or("x");
            if c.kind != CommentKind::Doc || !gap.trim().is_empty() {
                break;
            }
            let raw = self.text.get(c.span.start as usize..c.span.end as usize).unwrap_or("");
            let body = raw.trim_start_matches("///");
            lines.push(body.strip_prefix(' ').unwrap_or(body).trim_end().to_string());
            boundary = c.span.start as usize;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    pub fn file(&mut self, pair: Pair<'_, Rule>) -> Vec<Decl> {
        self.decls(pair.into_inner().collect())
    }

    /// The expression of an `expression_only` match.
    pub fn expression_only(&mut self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        let inner = pair.into_inner().find(|p| p.as_rule() == Rule::expr);
        match inner {
            Some(expr) => self.expr(expr),
            None => self.internal(span).and(None),
        }
    }

    fn generator(&mut self, pair: Pair<'_, Rule>) -> Lowered<Generator> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let var_pair = self.next(&mut inner, span)?;
        let var = self.name(var_pair);
        let mut index = None;
        let mut next = self.next(&mut inner, span)?;
        if next.as_rule() == Rule::name {
            index = Some(self.name(next));
            next = self.next(&mut inner, span)?;
        }
        let list = self.value(next)?;
        let decls = self.decls(inner.collect());
        Some(Generator { var, index, list, decls, span })
    }

    fn decls<'i>(&mut self, pairs: Vec<Pair<'i, Rule>>) -> Vec<Decl> {
        let mut decls = Vec::new();
        for p in pairs {
            let decl = match p.as_rule() {
                Rule::project_decl => self.block_decl(p).map(Decl::Project),
                Rule::module_decl => self.block_decl(p).map(Decl::Module),
                Rule::schema_decl => self.schema_decl(p).map(Decl::Schema),
                Rule::instance_decl => self.instance_decl(p).map(Decl::Instance),
                Rule::overlay_decl => self.overlay_decl(p).map(Decl::Instance),
                Rule::generator => self.generator(p).map(Decl::Generator),
                _ => continue,
            };
            decls.extend(decl);
        }
        decls
    }

    /// A declaration or parent name: a name, or a quoted string (a template
    /// when it holds `${...}`, whose text is then replaced per element).
    fn decl_name(
        &mut self,
        pair: Pair<'_, Rule>,
        slot: Option<usize>,
        templates: &mut Vec<NameTemplate>,
    ) -> Lowered<Name> {
        if pair.as_rule() != Rule::string {
            return Some(self.name(pair));
        }
        let span = self.span(&pair);
        let parts = self.string_parts(&pair, false)?;
        if parts.iter().any(|p| matches!(p, StrPart::Interp(..))) {
            let text = pair.as_str().trim_matches('"').to_string();
            templates.push(NameTemplate { slot, parts });
            return Some(Name { text, span });
        }
        let text: String = parts.iter().map(|p| if let StrPart::Lit(s) = p { s.as_str() } else { "" }).collect();
        if !is_name(&text) {
            self.errors.push(not_a_name(span, &text));
            return None;
        }
        Some(Name { text, span })
    }

    fn name(&mut self, pair: Pair<'_, Rule>) -> Name {
        Name { text: pair.as_str().to_string(), span: self.span(&pair) }
    }

    /// The span, doc comment, name and body pair of `KEYWORD NAME { ... }`.
    fn header<'i>(&mut self, pair: Pair<'i, Rule>) -> Lowered<(Span, Option<String>, Name, Pair<'i, Rule>)> {
        let span = self.span(&pair);
        let doc = self.doc_before(span.start as usize);
        let mut inner = pair.into_inner();
        let name_pair = self.next(&mut inner, span)?;
        let name = self.name(name_pair);
        let body = self.next(&mut inner, span)?;
        Some((span, doc, name, body))
    }

    fn block_decl(&mut self, pair: Pair<'_, Rule>) -> Lowered<BlockDecl> {
        let (span, doc, name, body) = self.header(pair)?;
        Some(BlockDecl { name, body: self.block(body)?, doc, span })
    }

    fn instance_decl(&mut self, pair: Pair<'_, Rule>) -> Lowered<InstanceDecl> {
        let span = self.span(&pair);
        let doc = self.doc_before(span.start as usize);
        let mut is_abstract = false;
        let mut name = None;
        let mut parents = Vec::new();
        let mut body = None;
        let mut templates = Vec::new();
        let mut failed = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::abstract_kw => is_abstract = true,
                Rule::name | Rule::string => {
                    name = self.decl_name(p, None, &mut templates);
                    failed |= name.is_none();
                }
                Rule::inherits_clause => {
                    for (i, n) in p.into_inner().enumerate() {
                        match self.decl_name(n, Some(i), &mut templates) {
                            Some(n) => parents.push(n),
                            None => failed = true,
                        }
                    }
                }
                Rule::body => body = self.block(p),
                _ => {}
            }
        }
        if failed {
            return None;
        }
        match (name, body) {
            (Some(name), Some(body)) => Some(InstanceDecl {
                name,
                is_abstract,
                parents,
                overlay_base: None,
                body,
                doc,
                span,
                templates,
                origin: None,
            }),
            _ => self.internal(span).and(None),
        }
    }

    fn overlay_decl(&mut self, pair: Pair<'_, Rule>) -> Lowered<InstanceDecl> {
        let span = self.span(&pair);
        let doc = self.doc_before(span.start as usize);
        let mut inner = pair.into_inner();
        let mut templates = Vec::new();
        let name_pair = self.next(&mut inner, span)?;
        let name = self.decl_name(name_pair, None, &mut templates);
        let base_pair = self.next(&mut inner, span)?;
        let base = self.decl_name(base_pair, Some(0), &mut templates);
        let body_pair = self.next(&mut inner, span)?;
        let body = self.block(body_pair)?;
        Some(InstanceDecl {
            name: name?,
            is_abstract: false,
            parents: Vec::new(),
            overlay_base: Some(base?),
            body,
            doc,
            span,
            templates,
            origin: None,
        })
    }

    /// `block`, `body`: both become a [`Block`]; the grammar already limits
    /// `target`/`module` items to bodies.
    fn block(&mut self, pair: Pair<'_, Rule>) -> Lowered<Block> {
        let span = self.span(&pair);
        let mut items = Vec::new();
        for p in pair.into_inner() {
            let item = match p.as_rule() {
                Rule::field => self.field(p).map(Item::Field),
                Rule::unset_item => self.unset_item(p).map(Item::Unset),
                Rule::target_item => self.named_block(p).map(Item::Target),
                Rule::module_item => self.named_block(p).map(Item::Module),
                Rule::component_item => self.named_block(p).map(Item::Component),
                _ => None,
            };
            items.extend(item);
        }
        Some(Block { items, span })
    }

    fn named_block(&mut self, pair: Pair<'_, Rule>) -> Lowered<NamedBlock> {
        let (span, doc, name, body) = self.header(pair)?;
        Some(NamedBlock { name, body: self.block(body)?, doc, span })
    }

    fn unset_item(&mut self, pair: Pair<'_, Rule>) -> Lowered<UnsetItem> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let path_pair = self.next(&mut inner, span)?;
        let path = self.key_path(path_pair)?;
        Some(UnsetItem { path, span })
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Lowered<Field> {
        let span = self.span(&pair);
        let doc = self.doc_before(span.start as usize);
        let mut inner = pair.into_inner();
        let path_pair = self.next(&mut inner, span)?;
        let path = self.key_path(path_pair)?;
        let next = self.next(&mut inner, span)?;
        let (op, value) = if next.as_rule() == Rule::field_op {
            let op = match next.as_str() {
                ":=" => Op::Replace,
                "+=" => Op::Append,
                _ => Op::Set,
            };
            let value_pair = self.next(&mut inner, span)?;
            (op, self.value(value_pair)?)
        } else {
            let block_span = self.span(&next);
            (Op::Set, Expr { kind: ExprKind::Map(self.block(next)?), span: block_span })
        };
        Some(Field { path, op, value, doc, span })
    }

    fn key_path(&mut self, pair: Pair<'_, Rule>) -> Lowered<Vec<Name>> {
        let mut names = Vec::new();
        for p in pair.into_inner() {
            names.push(self.key(p)?);
        }
        Some(names)
    }

    /// A key: a name, or a quoted string without interpolation.
    fn key(&mut self, pair: Pair<'_, Rule>) -> Lowered<Name> {
        let span = self.span(&pair);
        if pair.as_rule() != Rule::string {
            return Some(self.name(pair));
        }
        let parts = self.string_parts(&pair, false)?;
        let mut text = String::new();
        for part in parts {
            match part {
                StrPart::Lit(s) => text.push_str(&s),
                StrPart::Interp(_, interp_span) => {
                    self.errors.push(
                        Diagnostic::error(Code::E001, interp_span, "interpolation in a quoted key")
                            .with_help("Keys are fixed names; write `\\${` for a literal `${`."),
                    );
                    return None;
                }
            }
        }
        Some(Name { text, span })
    }

    fn string_parts(&mut self, pair: &Pair<'_, Rule>, multiline: bool) -> Lowered<Vec<StrPart>> {
        let start = pair.as_span().start();
        let decoded = if multiline {
            strings::decode_multiline(self.file, pair.as_str(), start)
        } else {
            strings::decode_string(self.file, pair.as_str(), start)
        };
        match decoded {
            Ok(parts) => Some(parts),
            Err(e) => {
                self.errors.push(
                    Diagnostic::error(Code::E001, Span::new(self.file, e.start, e.end), e.message).with_help(e.help),
                );
                None
            }
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => return self.expr(pair),
            Rule::if_expr => {
                let mut inner = pair.into_inner();
                let mut parts = Vec::with_capacity(3);
                for _ in 0..3 {
                    let p = self.next(&mut inner, span)?;
                    parts.push(self.value(p)?);
                }
                let parts: Box<[Expr; 3]> = match parts.into_boxed_slice().try_into() {
                    Ok(parts) => parts,
                    Err(_) => return self.internal(span).and(None),
                };
                // The pair's own span may end after trailing whitespace.
                let [_, _, otherwise] = &*parts;
                let end = otherwise.span.end;
                return Some(Expr {
                    kind: ExprKind::If(parts),
                    span: Span::new(self.file, span.start as usize, end as usize),
                });
            }
            Rule::paren => {
                let mut inner = pair.into_inner();
                let first = self.next(&mut inner, span)?;
                let paren_span = self.span(&first);
                let mut inside = first.into_inner();
                let e = self.next(&mut inside, span)?;
                let mut base = self.value(e)?;
                base.span = paren_span;
                return self.postfixes(base, inner);
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name_pair = self.next(&mut inner, span)?;
                let name = self.name(name_pair);
                let args_pair = self.next(&mut inner, span)?;
                let args_span = self.span(&args_pair);
                let mut args = Vec::new();
                for a in args_pair.into_inner() {
                    args.push(self.value(a)?);
                }
                let call = Expr {
                    kind: ExprKind::Call(name, args),
                    span: Span::new(self.file, span.start as usize, args_span.end as usize),
                };
                return self.postfixes(call, inner);
            }
            Rule::list_comp | Rule::map_comp => {
                let is_map = pair.as_rule() == Rule::map_comp;
                let mut inner = pair.into_inner();
                let head = self.next(&mut inner, span)?;
                let head_span = self.span(&head);
                let mut head_inner = head.into_inner();
                let var_pair = self.next(&mut head_inner, head_span)?;
                let var = self.name(var_pair);
                let mut second = None;
                let mut source = None;
                let mut filter = None;
                for p in head_inner {
                    match p.as_rule() {
                        Rule::name => second = Some(self.name(p)),
                        Rule::comp_filter => {
                            let fspan = self.span(&p);
                            let mut fi = p.into_inner();
                            let f = self.next(&mut fi, fspan)?;
                            filter = Some(self.value(f)?);
                        }
                        _ => source = Some(self.value(p)?),
                    }
                }
                let Some(source) = source else {
                    return self.internal(head_span).and(None);
                };
                let first = self.next(&mut inner, span)?;
                let first = self.value(first)?;
                let body = if is_map {
                    let second_pair = self.next(&mut inner, span)?;
                    CompBody::Map(first, self.value(second_pair)?)
                } else {
                    CompBody::List(first)
                };
                ExprKind::Comp(Box::new(Comprehension { var, second, source, filter, body }))
            }
            Rule::string => ExprKind::Str(self.string_parts(&pair, false)?),
            Rule::ml_string => ExprKind::Str(self.string_parts(&pair, true)?),
            Rule::int => {
                let digits = pair.as_str().replace('_', "");
                match digits.parse::<i64>() {
                    Ok(n) => ExprKind::Int(n),
                    Err(_) => {
                        self.errors.push(
                            Diagnostic::error(Code::E001, span, "integer out of range")
                                .with_help("Integers are 64-bit: from -9223372036854775808 to 9223372036854775807; quote larger numbers as strings."),
                        );
                        return None;
                    }
                }
            }
            Rule::float => {
                let digits = pair.as_str().replace('_', "");
                match digits.parse::<f64>() {
                    Ok(f) if f.is_finite() => ExprKind::Float(f),
                    _ => {
                        self.errors.push(
                            Diagnostic::error(Code::E001, span, "number out of range")
                                .with_help("Floats must be finite 64-bit numbers; quote larger numbers as strings."),
                        );
                        return None;
                    }
                }
            }
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::null => ExprKind::Null,
            Rule::list => {
                let mut items = Vec::new();
                for p in pair.into_inner() {
                    items.push(self.value(p)?);
                }
                ExprKind::List(items)
            }
            Rule::block => ExprKind::Map(self.block(pair)?),
            Rule::reference => {
                // `a.b[k].c`: the path, then what indexes its value.
                let mut names = Vec::new();
                let mut rest = Vec::new();
                for p in pair.into_inner() {
                    if !rest.is_empty() || p.as_rule() == Rule::index {
                        rest.push(p);
                    } else if p.as_rule() == Rule::ref_segment && p.as_str().starts_with('"') {
                        names.push(self.quoted_segment(&p)?);
                    } else {
                        names.push(self.name(p));
                    }
                }
                let path_end = names.last().map_or(span.end, |n| n.span.end);
                let base = Expr {
                    kind: ExprKind::Ref(names),
                    span: Span::new(self.file, span.start as usize, path_end as usize),
                };
                return self.postfixes(base, rest.into_iter());
            }
            _ => {
                self.internal(span);
                return None;
            }
        };
        Some(Expr { kind, span })
    }

    /// A quoted path segment: literal text (`${` is an error there).
    fn quoted_segment(&mut self, p: &Pair<'_, Rule>) -> Lowered<Name> {
        let seg_span = self.span(p);
        let mut text = String::new();
        for part in self.string_parts(p, false)? {
            match part {
                StrPart::Lit(s) => text.push_str(&s),
                StrPart::Interp(_, interp_span) => {
                    self.errors.push(
                        Diagnostic::error(Code::E001, interp_span, "interpolation in a quoted path segment")
                            .with_help("A quoted segment is a literal key; to look up a computed key, index the map: `ports[name]`."),
                    );
                    return None;
                }
            }
        }
        Some(Name { text, span: seg_span })
    }

    /// `base[k]`, `base.name`... applied left to right.
    fn postfixes<'i>(&mut self, mut base: Expr, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Lowered<Expr> {
        for p in pairs {
            let pspan = self.span(&p);
            let span = Span::new(self.file, base.span.start as usize, pspan.end as usize);
            let rule = p.as_rule();
            let mut inner = p.into_inner();
            let q = self.next(&mut inner, pspan)?;
            base = match rule {
                Rule::index => Expr { kind: ExprKind::Index(Box::new(base), Box::new(self.value(q)?)), span },
                Rule::member => {
                    let name = if q.as_str().starts_with('"') { self.quoted_segment(&q)? } else { self.name(q) };
                    Expr { kind: ExprKind::Member(Box::new(base), name), span }
                }
                _ => return self.internal(pspan).and(None),
            };
        }
        Some(base)
    }

    /// An operator chain, given its precedence (spec §5) by precedence
    /// climbing over the flat list pest matched.
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        let mut tokens = Vec::new();
        let mut operators = 0usize;
        for p in pair.into_inner() {
            let pspan = self.span(&p);
            let token = match p.as_rule() {
                Rule::op_not => Token::Prefix(UnOp::Not, pspan),
                Rule::op_neg => Token::Prefix(UnOp::Neg, pspan),
                Rule::op_or => Token::Infix(BinOp::Or),
                Rule::op_and => Token::Infix(BinOp::And),
                Rule::op_eq => Token::Infix(BinOp::Eq),
                Rule::op_ne => Token::Infix(BinOp::Ne),
                Rule::op_lt => Token::Infix(BinOp::Lt),
                Rule::op_le => Token::Infix(BinOp::Le),
                Rule::op_gt => Token::Infix(BinOp::Gt),
                Rule::op_ge => Token::Infix(BinOp::Ge),
                Rule::op_add => Token::Infix(BinOp::Add),
                Rule::op_sub => Token::Infix(BinOp::Sub),
                Rule::op_mul => Token::Infix(BinOp::Mul),
                Rule::op_div => Token::Infix(BinOp::Div),
                Rule::op_mod => Token::Infix(BinOp::Rem),
                _ => Token::Operand(self.value(p)?),
            };
            if !matches!(token, Token::Operand(_)) {
                operators += 1;
            }
            tokens.push(token);
        }
        if operators > MAX_OPERATORS {
            self.errors.push(
                Diagnostic::error(
                    Code::E024,
                    span,
                    format!("an expression with {operators} operators, over the limit of {MAX_OPERATORS}"),
                )
                .with_primary_label("this expression is too long")
                .with_help("Split it into several fields that refer to each other."),
            );
            return None;
        }
        if tokens.len() == 1 {
            if let Some(Token::Operand(e)) = tokens.pop() {
                return Some(e);
            }
            return self.internal(span).and(None);
        }
        let mut tokens = tokens.into_iter().peekable();
        let e = climb(&mut tokens, 0, self.file);
        match (e, tokens.next()) {
            (Some(e), None) => Some(e),
            _ => self.internal(span).and(None),
        }
    }

    fn schema_decl(&mut self, pair: Pair<'_, Rule>) -> Lowered<SchemaDecl> {
        let (span, doc, name, body) = self.header(pair)?;
        Some(SchemaDecl { name, record: self.record_type(body)?, doc, span })
    }

    /// `schema_block` and `record_type`.
    fn record_type(&mut self, pair: Pair<'_, Rule>) -> Lowered<RecordTypeExpr> {
        let span = self.span(&pair);
        let mut fields = Vec::new();
        let mut open = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::open_marker => open = true,
                Rule::field_decl => fields.extend(self.field_decl(p)),
                _ => {}
            }
        }
        Some(RecordTypeExpr { fields, open, span })
    }

    fn field_decl(&mut self, pair: Pair<'_, Rule>) -> Lowered<FieldDecl> {
        let span = self.span(&pair);
        let doc = self.doc_before(span.start as usize);
        let mut inner = pair.into_inner();
        let key_pair = self.next(&mut inner, span)?;
        let name = self.key(key_pair)?;
        let mut optional = false;
        let mut type_ = None;
        let mut default = None;
        let mut unique = None;
        for p in inner {
            match p.as_rule() {
                Rule::optional_mark => optional = true,
                Rule::type_expr => type_ = Some(self.type_expr(p)?),
                Rule::unique_mark => unique = Some(self.span(&p)),
                _ => default = Some(self.value(p)?),
            }
        }
        let Some(type_) = type_ else {
            self.internal(span);
            return None;
        };
        Some(FieldDecl { name, optional, type_, default, unique, doc, span })
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>) -> Lowered<TypeExpr> {
        let span = self.span(&pair);
        let mut terms = Vec::new();
        for p in pair.into_inner() {
            terms.push(self.type_term(p)?);
        }
        if terms.len() == 1 {
            return terms.pop();
        }
        // A union: only string literals may be joined with `|`.
        let mut options = Vec::new();
        for t in &terms {
            match &t.kind {
                TypeExprKind::Enum(values) => options.extend(values.iter().cloned()),
                _ => {
                    self.errors.push(
                        Diagnostic::error(Code::E001, t.span, "only string literals can be joined with `|`")
                            .with_help("Write a union of strings such as `\"ro\" | \"rw\"`, or use `any`."),
                    );
                    return None;
                }
            }
        }
        Some(TypeExpr { kind: TypeExprKind::Enum(options), span, constraint: None })
    }

    fn type_term(&mut self, pair: Pair<'_, Rule>) -> Lowered<TypeExpr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let atom = self.next(&mut inner, span)?;
        let atom_span = self.span(&atom);
        let kind = match atom.as_rule() {
            Rule::type_name => TypeExprKind::Named(atom.as_str().to_string()),
            Rule::list_type | Rule::map_type => {
                let is_list = atom.as_rule() == Rule::list_type;
                let mut inner_atom = atom.into_inner();
                let elem_pair = self.next(&mut inner_atom, atom_span)?;
                let elem = Box::new(self.type_expr(elem_pair)?);
                if is_list {
                    TypeExprKind::List(elem)
                } else {
                    TypeExprKind::Map(elem)
                }
            }
            Rule::record_type => TypeExprKind::Record(self.record_type(atom)?),
            Rule::string => {
                let parts = self.string_parts(&atom, false)?;
                let text = parts
                    .into_iter()
                    .map(|p| match p {
                        StrPart::Lit(s) => s,
                        StrPart::Interp(..) => String::new(),
                    })
                    .collect();
                TypeExprKind::Enum(vec![text])
            }
            _ => {
                self.internal(atom_span);
                return None;
            }
        };
        let mut base = TypeExpr { kind, span: atom_span, constraint: None };
        let mut nullable = false;
        for p in inner {
            match p.as_rule() {
                Rule::constraint => base.constraint = Some(self.constraint(p)?),
                _ => nullable = true,
            }
        }
        if nullable {
            return Some(TypeExpr { kind: TypeExprKind::Nullable(Box::new(base)), span, constraint: None });
        }
        Some(base)
    }

    fn constraint(&mut self, pair: Pair<'_, Rule>) -> Lowered<Constraint> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let body = self.next(&mut inner, span)?;
        let kind = match body.as_rule() {
            Rule::bound_range => {
                let text = body.as_str().to_string();
                let (lo, hi) = text.split_once("..").unwrap_or((text.as_str(), ""));
                let bound = |t: &str| Some(t.trim().to_string()).filter(|t| !t.is_empty());
                ConstraintKind::Range(bound(lo), bound(hi))
            }
            Rule::bound_cmp => {
                let mut parts = body.into_inner();
                let op = self.next(&mut parts, span)?.as_str().to_string();
                let bound = self.next(&mut parts, span)?.as_str().to_string();
                if op == ">=" {
                    ConstraintKind::Range(Some(bound), None)
                } else {
                    ConstraintKind::Range(None, Some(bound))
                }
            }
            Rule::regex_lit => {
                let raw = body.as_str();
                let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
                ConstraintKind::Pattern(inner.replace("\\/", "/"))
            }
            _ => ConstraintKind::External,
        };
        Some(Constraint { kind, span })
    }
}
