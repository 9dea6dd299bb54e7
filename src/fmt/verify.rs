//! The formatter's safety net: the formatted text must parse to the same
//! tree as the original (spans aside) with the same comments in the same
//! order. A formatter bug then refuses to format instead of changing what
//! a file means.
//!
//! The `doc` strings are not compared: they are derived from the comments,
//! which are, and one can legitimately change. A comma between a `///`
//! comment and the next field (`/// doc` `,` `b: 1`) keeps the comment from
//! attaching; the formatter drops the comma, and the comment then documents
//! `b`, as its author surely meant.

use crate::syntax::ast::*;

/// Do two parsed files say the same thing with the same comments?
pub(super) fn same_file(a: &File, a_text: &str, b: &File, b_text: &str) -> bool {
    let comment_text = |c: &Comment, text: &str| {
        text.get(c.span.start as usize..c.span.end as usize).unwrap_or("").replace("\r\n", "\n")
    };
    a.comments.len() == b.comments.len()
        && a.comments
            .iter()
            .zip(&b.comments)
            .all(|(x, y)| x.kind == y.kind && comment_text(x, a_text) == comment_text(y, b_text))
        && all(&a.decls, &b.decls, same_decl)
}

fn all<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

fn same_name(a: &Name, b: &Name) -> bool {
    a.text == b.text
}

fn same_names(a: &[Name], b: &[Name]) -> bool {
    all(a, b, same_name)
}

fn same_decl(a: &Decl, b: &Decl) -> bool {
    match (a, b) {
        (Decl::Project(x), Decl::Project(y)) | (Decl::Module(x), Decl::Module(y)) => {
            same_name(&x.name, &y.name) && same_block(&x.body, &y.body)
        }
        (Decl::Schema(x), Decl::Schema(y)) => same_name(&x.name, &y.name) && same_record(&x.record, &y.record),
        (Decl::Instance(x), Decl::Instance(y)) => {
            same_name(&x.name, &y.name)
                && x.is_abstract == y.is_abstract
                && same_names(&x.parents, &y.parents)
                && match (&x.overlay_base, &y.overlay_base) {
                    (Some(p), Some(q)) => same_name(p, q),
                    (None, None) => true,
                    _ => false,
                }
                && same_block(&x.body, &y.body)
        }
        (Decl::Generator(x), Decl::Generator(y)) => {
            same_name(&x.var, &y.var)
                && x.index.as_ref().map(|n| &n.text) == y.index.as_ref().map(|n| &n.text)
                && same_expr(&x.list, &y.list)
                && all(&x.decls, &y.decls, same_decl)
        }
        _ => false,
    }
}

fn same_block(a: &Block, b: &Block) -> bool {
    all(&a.items, &b.items, same_item)
}

fn same_item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Field(x), Item::Field(y)) => {
            same_names(&x.path, &y.path) && x.op == y.op && same_expr(&x.value, &y.value)
        }
        (Item::Unset(x), Item::Unset(y)) => same_names(&x.path, &y.path),
        (Item::Target(x), Item::Target(y))
        | (Item::Module(x), Item::Module(y))
        | (Item::Component(x), Item::Component(y)) => same_name(&x.name, &y.name) && same_block(&x.body, &y.body),
        _ => false,
    }
}

fn same_expr(a: &Expr, b: &Expr) -> bool {
    match (&a.kind, &b.kind) {
        (ExprKind::Null, ExprKind::Null) => true,
        (ExprKind::Bool(x), ExprKind::Bool(y)) => x == y,
        (ExprKind::Int(x), ExprKind::Int(y)) => x == y,
        (ExprKind::Float(x), ExprKind::Float(y)) => x.to_bits() == y.to_bits(),
        (ExprKind::Str(x), ExprKind::Str(y)) => all(x, y, |p, q| match (p, q) {
            (StrPart::Lit(s), StrPart::Lit(t)) => s == t,
            (StrPart::Interp(s, _), StrPart::Interp(t, _)) => same_names(s, t),
            _ => false,
        }),
        (ExprKind::List(x), ExprKind::List(y)) => all(x, y, same_expr),
        (ExprKind::Map(x), ExprKind::Map(y)) => same_block(x, y),
        (ExprKind::Ref(x), ExprKind::Ref(y)) => same_names(x, y),
        (ExprKind::Unary(o, x), ExprKind::Unary(p, y)) => o == p && same_expr(x, y),
        (ExprKind::Binary(o, x1, x2), ExprKind::Binary(p, y1, y2)) => o == p && same_expr(x1, y1) && same_expr(x2, y2),
        (ExprKind::If(x), ExprKind::If(y)) => all(&x[..], &y[..], same_expr),
        (ExprKind::Index(x1, x2), ExprKind::Index(y1, y2)) => same_expr(x1, y1) && same_expr(x2, y2),
        (ExprKind::Member(x, n), ExprKind::Member(y, m)) => same_expr(x, y) && same_name(n, m),
        (ExprKind::Call(n, x), ExprKind::Call(m, y)) => same_name(n, m) && all(x, y, same_expr),
        (ExprKind::Comp(x), ExprKind::Comp(y)) => {
            same_name(&x.var, &y.var)
                && x.second.as_ref().map(|n| &n.text) == y.second.as_ref().map(|n| &n.text)
                && same_expr(&x.source, &y.source)
                && match (&x.filter, &y.filter) {
                    (Some(a), Some(b)) => same_expr(a, b),
                    (None, None) => true,
                    _ => false,
                }
                && match (&x.body, &y.body) {
                    (CompBody::List(a), CompBody::List(b)) => same_expr(a, b),
                    (CompBody::Map(a1, a2), CompBody::Map(b1, b2)) => same_expr(a1, b1) && same_expr(a2, b2),
                    _ => false,
                }
        }
        _ => false,
    }
}

fn same_record(a: &RecordTypeExpr, b: &RecordTypeExpr) -> bool {
    a.open == b.open
        && all(&a.fields, &b.fields, |x, y| {
            same_name(&x.name, &y.name)
                && x.optional == y.optional
                && x.unique.is_some() == y.unique.is_some()
                && same_type(&x.type_, &y.type_)
                && match (&x.default, &y.default) {
                    (Some(p), Some(q)) => same_expr(p, q),
                    (None, None) => true,
                    _ => false,
                }
        })
}

fn same_type(a: &TypeExpr, b: &TypeExpr) -> bool {
    let constraint = |t: &TypeExpr| t.constraint.as_ref().map(|c| c.kind.clone());
    if constraint(a) != constraint(b) {
        return false;
    }
    match (&a.kind, &b.kind) {
        (TypeExprKind::Named(x), TypeExprKind::Named(y)) => x == y,
        (TypeExprKind::List(x), TypeExprKind::List(y))
        | (TypeExprKind::Map(x), TypeExprKind::Map(y))
        | (TypeExprKind::Nullable(x), TypeExprKind::Nullable(y)) => same_type(x, y),
        (TypeExprKind::Record(x), TypeExprKind::Record(y)) => same_record(x, y),
        (TypeExprKind::Enum(x), TypeExprKind::Enum(y)) => x == y,
        _ => false,
    }
}
