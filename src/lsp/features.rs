//! Answers to LSP requests from an [`Analysis`]: what is under the cursor,
//! and hover, definition, completion and symbols built on it.

use super::analysis::Analysis;
use super::convert;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{FileId, Span};
use crate::syntax::ast::{
    Block, Decl, Expr, ExprKind, File, InstanceDecl, Item, Name, StrPart, TypeExpr, TypeExprKind,
};
use crate::types::{Schemas, Type};
use lsp_types as lsp;

/// Which declaration a key or reference belongs to.
#[derive(Clone, Copy)]
pub enum Root<'a> {
    /// An instance or overlay body.
    Instance(&'a InstanceDecl),
    /// A module declaration, or a module overlay inside `instance`.
    Module(&'a str, Option<&'a InstanceDecl>),
    /// The project.
    Project,
    /// A schema.
    Schema,
}

/// What the cursor is on.
pub enum Found<'a> {
    /// A declaration's own name.
    DeclName(&'a Decl),
    /// An `inherits` or `on` name.
    Parent(&'a Name),
    /// The name of `module NAME { }` inside an instance.
    ModuleRef(&'a Name),
    /// A field key, with its path from the declaration's root and doc comment.
    Key(Root<'a>, Vec<String>, Option<&'a str>),
    /// A reference path in a value.
    Reference(Root<'a>, Vec<String>),
    /// A type name in a schema.
    TypeName(&'a str),
    /// The name of a built-in function in a call.
    Function(&'a Name),
}

/// The name of the call under the cursor, in `expr` or below it.
fn call_at(expr: &Expr, offset: usize) -> Option<&Name> {
    if let ExprKind::Call(name, _) = &expr.kind {
        if contains(name.span, offset) {
            return Some(name);
        }
    }
    expr.children().into_iter().find_map(|c| call_at(c, offset))
}

fn contains(span: Span, offset: usize) -> bool {
    (span.start as usize) <= offset && offset <= (span.end as usize)
}

/// What is at `offset` in `file`.
pub fn locate(file: &File, offset: usize) -> Option<Found<'_>> {
    let decl = file.decls.iter().find(|d| contains(d.span(), offset))?;
    in_decl(decl, offset)
}

fn in_decl(decl: &Decl, offset: usize) -> Option<Found<'_>> {
    if contains(decl.name().span, offset) {
        return Some(Found::DeclName(decl));
    }
    match decl {
        Decl::Instance(i) => {
            if let Some(p) = i.parents.iter().chain(i.overlay_base.iter()).find(|p| contains(p.span, offset)) {
                return Some(Found::Parent(p));
            }
            in_block(&i.body, offset, Root::Instance(i), &mut Vec::new())
        }
        Decl::Module(m) => in_block(&m.body, offset, Root::Module(&m.name.text, None), &mut Vec::new()),
        Decl::Project(p) => in_block(&p.body, offset, Root::Project, &mut Vec::new()),
        Decl::Schema(s) => in_record(&s.record, offset),
        Decl::Generator(g) => g.decls.iter().find_map(|d| in_decl(d, offset)),
    }
}

fn in_record(record: &crate::syntax::ast::RecordTypeExpr, offset: usize) -> Option<Found<'_>> {
    for field in &record.fields {
        if contains(field.name.span, offset) {
            return Some(Found::Key(Root::Schema, vec![field.name.text.clone()], field.doc.as_deref()));
        }
        if let Some(found) = in_type(&field.type_, offset) {
            return Some(found);
        }
    }
    None
}

fn in_type(t: &TypeExpr, offset: usize) -> Option<Found<'_>> {
    if !contains(t.span, offset) {
        return None;
    }
    match &t.kind {
        TypeExprKind::Named(n) => Some(Found::TypeName(n)),
        TypeExprKind::List(inner) | TypeExprKind::Map(inner) | TypeExprKind::Nullable(inner) => in_type(inner, offset),
        TypeExprKind::Record(r) => in_record(r, offset),
        TypeExprKind::Enum(_) => None,
    }
}

fn in_block<'a>(block: &'a Block, offset: usize, root: Root<'a>, prefix: &mut Vec<String>) -> Option<Found<'a>> {
    for item in &block.items {
        match item {
            Item::Field(f) if contains(f.span, offset) => {
                for (idx, key) in f.path.iter().enumerate() {
                    if contains(key.span, offset) {
                        let mut path = prefix.clone();
                        path.extend(f.path.get(..=idx).unwrap_or_default().iter().map(|n| n.text.clone()));
                        return Some(Found::Key(root, path, f.doc.as_deref()));
                    }
                }
                let depth = prefix.len();
                prefix.extend(f.path.iter().map(|n| n.text.clone()));
                let found = in_expr(&f.value, offset, root, prefix);
                prefix.truncate(depth);
                return found;
            }
            Item::Target(t) if contains(t.span, offset) => {
                if contains(t.name.span, offset) {
                    let mut path = prefix.clone();
                    path.extend(["targets".to_string(), t.name.text.clone()]);
                    return Some(Found::Key(root, path, t.doc.as_deref()));
                }
                let depth = prefix.len();
                prefix.extend(["targets".to_string(), t.name.text.clone()]);
                let found = in_block(&t.body, offset, root, prefix);
                prefix.truncate(depth);
                return found;
            }
            Item::Module(m) if contains(m.span, offset) => {
                if contains(m.name.span, offset) {
                    return Some(Found::ModuleRef(&m.name));
                }
                let owner = match root {
                    Root::Instance(i) => Some(i),
                    _ => None,
                };
                return in_block(&m.body, offset, Root::Module(&m.name.text, owner), &mut Vec::new());
            }
            Item::Unset(u) if contains(u.span, offset) => {
                let mut path = prefix.clone();
                path.extend(u.path.iter().map(|n| n.text.clone()));
                return Some(Found::Key(root, path, None));
            }
            _ => {}
        }
    }
    None
}

fn in_expr<'a>(expr: &'a Expr, offset: usize, root: Root<'a>, prefix: &mut Vec<String>) -> Option<Found<'a>> {
    if !contains(expr.span, offset) {
        return None;
    }
    match &expr.kind {
        ExprKind::Ref(path) => Some(Found::Reference(root, path.iter().map(|n| n.text.clone()).collect())),
        ExprKind::Str(parts) => parts.iter().find_map(|p| match p {
            StrPart::Interp(path, span) if contains(*span, offset) => {
                Some(Found::Reference(root, path.iter().map(|n| n.text.clone()).collect()))
            }
            _ => None,
        }),
        ExprKind::List(items) => items.iter().find_map(|i| in_expr(i, offset, root, prefix)),
        ExprKind::Map(block) => in_block(block, offset, root, prefix),
        ExprKind::Null | ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Float(_) => None,
        // Operators, calls and comprehensions: the function or the
        // reference under the cursor (comprehension variables are not
        // instance paths).
        _ => {
            if let Some(name) = call_at(expr, offset) {
                return Some(Found::Function(name));
            }
            let mut found = None;
            expr.visit_refs(&mut |path, span| {
                if found.is_none() && contains(span, offset) {
                    found = Some(Found::Reference(root, path.iter().map(|n| n.text.clone()).collect()));
                }
            });
            found
        }
    }
}

/// The key span that sets `path` in a block (the last one, as the last wins).
pub fn find_key(block: &Block, path: &[String]) -> Option<Span> {
    let mut found = None;
    for item in &block.items {
        match item {
            Item::Field(f) => {
                let keys: Vec<&str> = f.path.iter().map(|n| n.text.as_str()).collect();
                let n = keys.len().min(path.len());
                if keys.get(..n) != path.get(..n).map(|p| p.iter().map(String::as_str).collect::<Vec<_>>()).as_deref() {
                    continue;
                }
                if keys.len() >= path.len() {
                    found = f.path.get(path.len().saturating_sub(1)).map(|n| n.span).or(found);
                } else if let ExprKind::Map(inner) = &f.value.kind {
                    found = find_key(inner, path.get(keys.len()..).unwrap_or_default()).or(found);
                }
            }
            Item::Target(t)
                if path.first().map(String::as_str) == Some("targets") && path.get(1) == Some(&t.name.text) =>
            {
                found = match path.get(2..) {
                    Some(rest) if !rest.is_empty() => find_key(&t.body, rest).or(found),
                    _ => Some(t.name.span),
                };
            }
            _ => {}
        }
    }
    found
}

/// The declared type of a key path, when a schema declares it.
pub fn type_of(schemas: &Schemas<'_>, root: Type, path: &[String]) -> Option<String> {
    let t = path.iter().fold(root, |t, seg| schemas.child_type(&t, seg));
    match t {
        Type::Inferred | Type::Any => None,
        t => Some(t.describe(schemas)),
    }
}

/// An LSP diagnostic from ours (the file is the primary label's).
pub fn to_lsp(analysis: &Analysis, d: &Diagnostic, uri_of: &dyn Fn(FileId) -> Option<lsp::Url>) -> lsp::Diagnostic {
    let range = d
        .primary
        .as_ref()
        .and_then(|p| analysis.sources().get(p.span.file).map(|f| convert::range(f, p.span)))
        .unwrap_or_default();
    let related = d
        .labels
        .iter()
        .filter_map(|l| {
            let file = analysis.sources().get(l.span.file)?;
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location { uri: uri_of(l.span.file)?, range: convert::range(file, l.span) },
                message: l.message.to_string(),
            })
        })
        .collect::<Vec<_>>();
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    lsp::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        source: Some("facs".into()),
        message,
        related_information: if related.is_empty() { None } else { Some(related) },
        ..Default::default()
    }
}

/// Document symbols: declarations, with targets, module overlays and
/// top-level fields as children.
#[allow(deprecated)]
pub fn symbols(analysis: &Analysis, file: &File) -> Vec<lsp::DocumentSymbol> {
    let Some(source) = analysis.sources().get(file.id) else { return Vec::new() };
    let symbol = |name: &str, kind, span: Span, sel: Span, children: Vec<lsp::DocumentSymbol>| lsp::DocumentSymbol {
        name: name.to_string(),
        detail: None,
        kind,
        tags: None,
        deprecated: None,
        range: convert::range(source, span),
        selection_range: convert::range(source, sel),
        children: if children.is_empty() { None } else { Some(children) },
    };
    let items = |block: &Block| -> Vec<lsp::DocumentSymbol> {
        block
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Field(f) => {
                    let name: Vec<&str> = f.path.iter().map(|n| n.text.as_str()).collect();
                    let sel = f.path.first().map_or(f.span, |n| n.span);
                    Some(symbol(&name.join("."), lsp::SymbolKind::FIELD, f.span, sel, Vec::new()))
                }
                Item::Target(t) => Some(symbol(
                    &format!("target {}", t.name.text),
                    lsp::SymbolKind::OBJECT,
                    t.span,
                    t.name.span,
                    Vec::new(),
                )),
                Item::Component(c) => Some(symbol(
                    &format!("component {}", c.name.text),
                    lsp::SymbolKind::PACKAGE,
                    c.span,
                    c.name.span,
                    Vec::new(),
                )),
                Item::Module(m) => Some(symbol(
                    &format!("module {}", m.name.text),
                    lsp::SymbolKind::MODULE,
                    m.span,
                    m.name.span,
                    Vec::new(),
                )),
                Item::Unset(_) => None,
            })
            .collect()
    };
    file.decls
        .iter()
        .map(|decl| match decl {
            Decl::Project(p) => symbol(
                &format!("project {}", p.name.text),
                lsp::SymbolKind::PACKAGE,
                p.span,
                p.name.span,
                items(&p.body),
            ),
            Decl::Module(m) => {
                symbol(&format!("module {}", m.name.text), lsp::SymbolKind::MODULE, m.span, m.name.span, items(&m.body))
            }
            Decl::Schema(s) => {
                symbol(&format!("schema {}", s.name.text), lsp::SymbolKind::STRUCT, s.span, s.name.span, Vec::new())
            }
            Decl::Instance(i) => {
                let kind = i.kind();
                symbol(&format!("{kind} {}", i.name.text), lsp::SymbolKind::CLASS, i.span, i.name.span, items(&i.body))
            }
            Decl::Generator(g) => {
                symbol(&format!("for {}", g.var.text), lsp::SymbolKind::NAMESPACE, g.span, g.var.span, Vec::new())
            }
        })
        .collect()
}
