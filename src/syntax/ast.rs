//! The untyped syntax tree of one `.facs` file. Every node keeps its span;
//! comments live beside the tree in [`File::comments`].

use crate::source::{FileId, Span};

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The text (unquoted for quoted keys).
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// One parsed file.
#[derive(Debug, Clone)]
pub struct File {
    /// Which file.
    pub id: FileId,
    /// Top-level declarations in file order.
    pub decls: Vec<Decl>,
    /// Every comment of the file, in order (doc comments included).
    pub comments: Vec<Comment>,
}

/// A comment kept for the formatter and the language server.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// `//`, `/* */` or `///`.
    pub kind: CommentKind,
    /// The whole comment, delimiters included.
    pub span: Span,
}

/// The three kinds of comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentKind {
    /// `// ...`
    Line,
    /// `/* ... */`
    Block,
    /// `/// ...`, attached to the next declaration or field.
    Doc,
}

/// A top-level declaration.
#[derive(Debug, Clone)]
pub enum Decl {
    /// `project NAME { ... }`
    Project(BlockDecl),
    /// `module NAME { ... }`
    Module(BlockDecl),
    /// `schema NAME { ... }`
    Schema(SchemaDecl),
    /// `[abstract] instance NAME [inherits ...] { ... }` or `overlay NAME on BASE { ... }`
    Instance(InstanceDecl),
    /// `for VAR [, INDEX] in LIST { declarations }`; replaced by its copies
    /// (`syntax::generate`) before anything but the formatter sees the file.
    Generator(Generator),
}

/// `for VAR [, INDEX] in LIST { declarations }` (spec §4).
#[derive(Debug, Clone)]
pub struct Generator {
    /// The element's name.
    pub var: Name,
    /// The position's name.
    pub index: Option<Name>,
    /// The list: a literal, or a reference to a `project` field holding one.
    pub list: Expr,
    /// What is copied per element.
    pub decls: Vec<Decl>,
    /// From `for` to `}`.
    pub span: Span,
}

/// Where a generated declaration came from, for `explain` and E002.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `for who in ...` (the head, up to the list).
    pub generator: Span,
    /// The generator's variables and the element's values, as written
    /// (`who = "bob"`, `i = 1`), outermost generator first.
    pub bindings: Vec<String>,
    /// The list element.
    pub element: Span,
}

/// A quoted declaration or parent name with `${...}` in it.
#[derive(Debug, Clone)]
pub struct NameTemplate {
    /// Which name: `None` for the declaration's own, `Some(i)` for parent
    /// `i` (or the overlay's base, `Some(0)` of an overlay).
    pub slot: Option<usize>,
    /// The decoded parts.
    pub parts: Vec<StrPart>,
}

impl Decl {
    /// The declared name.
    pub fn name(&self) -> &Name {
        match self {
            Decl::Project(d) | Decl::Module(d) => &d.name,
            Decl::Schema(d) => &d.name,
            Decl::Instance(d) => &d.name,
            Decl::Generator(g) => &g.var,
        }
    }

    /// The whole declaration's span.
    pub fn span(&self) -> Span {
        match self {
            Decl::Project(d) | Decl::Module(d) => d.span,
            Decl::Schema(d) => d.span,
            Decl::Instance(d) => d.span,
            Decl::Generator(g) => g.span,
        }
    }
}

impl InstanceDecl {
    /// `overlay`, `abstract instance` or `instance`, as messages name it.
    pub fn kind(&self) -> &'static str {
        if self.overlay_base.is_some() {
            "overlay"
        } else if self.is_abstract {
            "abstract instance"
        } else {
            "instance"
        }
    }
}

/// A named declaration with a block of fields (project, module).
#[derive(Debug, Clone)]
pub struct BlockDecl {
    /// The name.
    pub name: Name,
    /// The fields.
    pub body: Block,
    /// Joined text of the `///` comments before it.
    pub doc: Option<String>,
    /// The whole declaration.
    pub span: Span,
}

impl BlockDecl {
    /// The top-level field `name` written as `name: value` (or a block),
    /// first occurrence: how settings read before evaluation are found
    /// (`project { include, env, state_recipients }`).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.body.items.iter().find_map(|item| match item {
            Item::Field(f) if f.path.len() == 1 && f.path.first().is_some_and(|n| n.text == name) => Some(f),
            _ => None,
        })
    }
}

/// Instance or overlay.
#[derive(Debug, Clone)]
pub struct InstanceDecl {
    /// The name.
    pub name: Name,
    /// `abstract` was written.
    pub is_abstract: bool,
    /// `inherits` names, in order (empty for overlays).
    pub parents: Vec<Name>,
    /// `on` name for an overlay.
    pub overlay_base: Option<Name>,
    /// The body.
    pub body: Block,
    /// Joined doc comment.
    pub doc: Option<String>,
    /// The whole declaration.
    pub span: Span,
    /// Names written as quoted templates (`instance "dev-${who}"`).
    pub templates: Vec<NameTemplate>,
    /// Set on the copies a generator made.
    pub origin: Option<Box<Origin>>,
}

/// `{ items }`
#[derive(Debug, Clone)]
pub struct Block {
    /// The items in order.
    pub items: Vec<Item>,
    /// From `{` to `}`.
    pub span: Span,
}

/// One item of a block.
#[derive(Debug, Clone)]
pub enum Item {
    /// `key op value` or `key { ... }`
    Field(Field),
    /// `unset a.b`
    Unset(UnsetItem),
    /// `target NAME { ... }` (instance bodies only)
    Target(NamedBlock),
    /// `module NAME { ... }` (instance bodies only)
    Module(NamedBlock),
    /// `component NAME { ... }` (the project block only, spec §4)
    Component(NamedBlock),
}

/// `unset a.b`
#[derive(Debug, Clone)]
pub struct UnsetItem {
    /// The path to remove.
    pub path: Vec<Name>,
    /// The whole item.
    pub span: Span,
}

/// `target NAME { }` or `module NAME { }` inside an instance.
#[derive(Debug, Clone)]
pub struct NamedBlock {
    /// The name.
    pub name: Name,
    /// The fields.
    pub body: Block,
    /// Joined doc comment.
    pub doc: Option<String>,
    /// The whole item.
    pub span: Span,
}

/// How a field combines with what it inherits (spec §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `:` (or a block): set, deep-merging maps.
    Set,
    /// `:=`: replace, never merge.
    Replace,
    /// `+=`: append to a list.
    Append,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Set => ":",
            Op::Replace => ":=",
            Op::Append => "+=",
        }
    }
}

/// `a.b.c op value`
#[derive(Debug, Clone)]
pub struct Field {
    /// The key path (one segment unless dotted).
    pub path: Vec<Name>,
    /// The operator (`Set` for `key { }`).
    pub op: Op,
    /// The value (a `Map` for `key { }`).
    pub value: Expr,
    /// Joined doc comment.
    pub doc: Option<String>,
    /// The whole field.
    pub span: Span,
}

/// A value expression.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// The kinds of value.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, possibly with `${...}` parts.
    Str(Vec<StrPart>),
    /// `[ ... ]`
    List(Vec<Expr>),
    /// `{ ... }`
    Map(Block),
    /// A bare reference `a.b.c`.
    Ref(Vec<Name>),
    /// `!x`, `-x`
    Unary(UnOp, Box<Expr>),
    /// `a + b`, `a && b`, `a == b`...
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<[Expr; 3]>),
    /// `a[k]`
    Index(Box<Expr>, Box<Expr>),
    /// `(expr).name` or `a[k].name`: a member of a computed value.
    Member(Box<Expr>, Name),
    /// `f(a, b)`: a built-in function.
    Call(Name, Vec<Expr>),
    /// `[for ...: e]` or `{ for ...: k: v }`
    Comp(Box<Comprehension>),
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `!`
    Not,
    /// `-`
    Neg,
}

/// An infix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// Binding strength: higher binds tighter (spec §5). `!` sits between
    /// the comparisons and `&&` (see `UnOp::Not.precedence`).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
        }
    }
}

impl UnOp {
    /// Binding strength, comparable with `BinOp::precedence`.
    pub fn precedence(self) -> u8 {
        match self {
            UnOp::Not => 3,
            UnOp::Neg => 7,
        }
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            UnOp::Not => "!",
            UnOp::Neg => "-",
        }
    }
}

/// `for VAR [, SECOND] in SOURCE [if FILTER]: ...`
#[derive(Debug, Clone)]
pub struct Comprehension {
    /// The element (lists) or key (maps).
    pub var: Name,
    /// The index (lists) or value (maps).
    pub second: Option<Name>,
    /// What is iterated.
    pub source: Expr,
    /// Elements for which this is false are skipped.
    pub filter: Option<Expr>,
    /// What each element gives.
    pub body: CompBody,
}

/// What a comprehension builds.
#[derive(Debug, Clone)]
pub enum CompBody {
    /// `[for ...: item]`
    List(Expr),
    /// `{ for ...: key: value }`
    Map(Expr, Expr),
}

impl Expr {
    /// Calls `f` with every path the expression reads from the instance
    /// (bare references and `${...}`, with their spans), in source order,
    /// leaving out paths that start with a comprehension variable.
    pub fn visit_refs<'e>(&'e self, f: &mut dyn FnMut(&'e [Name], Span)) {
        fn walk<'e>(e: &'e Expr, bound: &mut Vec<&'e str>, f: &mut dyn FnMut(&'e [Name], Span)) {
            let free = |path: &[Name], bound: &[&str]| path.first().is_some_and(|n| !bound.contains(&n.text.as_str()));
            match &e.kind {
                ExprKind::Ref(path) if free(path, bound) => f(path, e.span),
                ExprKind::Str(parts) => {
                    for part in parts {
                        if let StrPart::Interp(path, span) = part {
                            if free(path, bound) {
                                f(path, *span);
                            }
                        }
                    }
                }
                ExprKind::Comp(c) => {
                    walk(&c.source, bound, f);
                    let depth = bound.len();
                    bound.push(&c.var.text);
                    bound.extend(c.second.as_ref().map(|n| n.text.as_str()));
                    for child in e.children().into_iter().skip(1) {
                        walk(child, bound, f);
                    }
                    bound.truncate(depth);
                }
                _ => {
                    for child in e.children() {
                        walk(child, bound, f);
                    }
                }
            }
        }
        walk(self, &mut Vec::new(), f);
    }

    /// The direct subexpressions, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Ref(_)
            | ExprKind::Map(_) => Vec::new(),
            ExprKind::List(items) | ExprKind::Call(_, items) => items.iter().collect(),
            ExprKind::Unary(_, e) | ExprKind::Member(e, _) => vec![e],
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => vec![a, b],
            ExprKind::If(parts) => parts.iter().collect(),
            ExprKind::Comp(c) => {
                let mut out = vec![&c.source];
                out.extend(&c.filter);
                match &c.body {
                    CompBody::List(e) => out.push(e),
                    CompBody::Map(k, v) => {
                        out.push(k);
                        out.push(v);
                    }
                }
                out
            }
        }
    }
}

/// Part of a string literal.
#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    /// Literal text (escapes decoded).
    Lit(String),
    /// `${path}`, with the span of the whole `${...}`.
    Interp(Vec<Name>, Span),
}

impl Expr {
    /// The literal string value, when the expression is a string without interpolation.
    pub fn as_plain_str(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Str(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        StrPart::Lit(s) => out.push_str(s),
                        StrPart::Interp(..) => return None,
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }
}

/// `schema NAME { ... }`
#[derive(Debug, Clone)]
pub struct SchemaDecl {
    /// The name.
    pub name: Name,
    /// The record type.
    pub record: RecordTypeExpr,
    /// Joined doc comment.
    pub doc: Option<String>,
    /// The whole declaration.
    pub span: Span,
}

/// `{ field-decls }` in type position (a schema body or an inline record).
#[derive(Debug, Clone)]
pub struct RecordTypeExpr {
    /// The declared fields.
    pub fields: Vec<FieldDecl>,
    /// A `...` line opens the record.
    pub open: bool,
    /// From `{` to `}`.
    pub span: Span,
}

/// `name: T`, `name?: T` or `name: T = default`
#[derive(Debug, Clone)]
pub struct FieldDecl {
    /// The field name.
    pub name: Name,
    /// `?` after the name.
    pub optional: bool,
    /// The type.
    pub type_: TypeExpr,
    /// The default value.
    pub default: Option<Expr>,
    /// `unique` was written after the type (its span).
    pub unique: Option<Span>,
    /// Joined doc comment.
    pub doc: Option<String>,
    /// The whole declaration.
    pub span: Span,
}

/// A type as written.
#[derive(Debug, Clone)]
pub struct TypeExpr {
    /// What it is.
    pub kind: TypeExprKind,
    /// Where.
    pub span: Span,
    /// `(1..5)`, `(/re/)`... after the type (spec §7).
    pub constraint: Option<Constraint>,
}

/// A constraint as written.
#[derive(Debug, Clone)]
pub struct Constraint {
    /// What it says.
    pub kind: ConstraintKind,
    /// From `(` to `)`.
    pub span: Span,
}

/// The kinds of constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintKind {
    /// `A..B`, `A..`, `..B`, `>= A`, `<= B` (bounds inclusive), with the
    /// bounds as written.
    Range(Option<String>, Option<String>),
    /// `/REGEX/` (the text between the slashes, `\/` unescaped).
    Pattern(String),
    /// `external` (on `secret`).
    External,
}

/// The kinds of type expression.
#[derive(Debug, Clone)]
pub enum TypeExprKind {
    /// `string`, `int`, a schema name...
    Named(String),
    /// `[T]`
    List(Box<TypeExpr>),
    /// `{T}`
    Map(Box<TypeExpr>),
    /// `{ a: T, ... }`
    Record(RecordTypeExpr),
    /// `T?`
    Nullable(Box<TypeExpr>),
    /// `"ro" | "rw"`
    Enum(Vec<String>),
}
