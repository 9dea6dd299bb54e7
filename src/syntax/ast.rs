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
#[derive(Debug)]
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
#[derive(Debug)]
pub enum Decl {
    /// `project NAME { ... }`
    Project(BlockDecl),
    /// `module NAME { ... }`
    Module(BlockDecl),
    /// `schema NAME { ... }`
    Schema(SchemaDecl),
    /// `[abstract] instance NAME [inherits ...] { ... }` or `overlay NAME on BASE { ... }`
    Instance(InstanceDecl),
}

impl Decl {
    /// The declared name.
    pub fn name(&self) -> &Name {
        match self {
            Decl::Project(d) | Decl::Module(d) => &d.name,
            Decl::Schema(d) => &d.name,
            Decl::Instance(d) => &d.name,
        }
    }

    /// The whole declaration's span.
    pub fn span(&self) -> Span {
        match self {
            Decl::Project(d) | Decl::Module(d) => d.span,
            Decl::Schema(d) => d.span,
            Decl::Instance(d) => d.span,
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
#[derive(Debug)]
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

/// Instance or overlay.
#[derive(Debug)]
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
}

/// `{ items }`
#[derive(Debug)]
pub struct Block {
    /// The items in order.
    pub items: Vec<Item>,
    /// From `{` to `}`.
    pub span: Span,
}

/// One item of a block.
#[derive(Debug)]
pub enum Item {
    /// `key op value` or `key { ... }`
    Field(Field),
    /// `unset a.b`
    Unset(UnsetItem),
    /// `target NAME { ... }` (instance bodies only)
    Target(NamedBlock),
    /// `module NAME { ... }` (instance bodies only)
    Module(NamedBlock),
}

/// `unset a.b`
#[derive(Debug)]
pub struct UnsetItem {
    /// The path to remove.
    pub path: Vec<Name>,
    /// The whole item.
    pub span: Span,
}

/// `target NAME { }` or `module NAME { }` inside an instance.
#[derive(Debug)]
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
#[derive(Debug)]
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
#[derive(Debug)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// The kinds of value.
#[derive(Debug)]
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
#[derive(Debug)]
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
#[derive(Debug)]
pub struct RecordTypeExpr {
    /// The declared fields.
    pub fields: Vec<FieldDecl>,
    /// A `...` line opens the record.
    pub open: bool,
    /// From `{` to `}`.
    pub span: Span,
}

/// `name: T`, `name?: T` or `name: T = default`
#[derive(Debug)]
pub struct FieldDecl {
    /// The field name.
    pub name: Name,
    /// `?` after the name.
    pub optional: bool,
    /// The type.
    pub type_: TypeExpr,
    /// The default value.
    pub default: Option<Expr>,
    /// Joined doc comment.
    pub doc: Option<String>,
    /// The whole declaration.
    pub span: Span,
}

/// A type as written.
#[derive(Debug)]
pub struct TypeExpr {
    /// What it is.
    pub kind: TypeExprKind,
    /// Where.
    pub span: Span,
}

/// The kinds of type expression.
#[derive(Debug)]
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
