//! Generators (spec §4): `for who, i in LIST { declarations }` becomes one
//! copy of its declarations per element, before resolution. The list is
//! known without evaluating anything: a literal, or a `project` field whose
//! value is one (else E028). In each copy the variables are constants: a
//! reference `who` (or `who.field` for a map element) is replaced by the
//! element's own expression, `${who}` by its text, and quoted names
//! (`instance "dev-${who}"`) by the name they spell (E001 when that is not
//! a name). Each copy remembers its origin for `explain` and for E002.

use super::ast::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

/// The most declarations the generators of one project may produce.
const MAX_GENERATED: usize = 1_000_000;

/// One bound variable: its name and the constant expression it stands for.
struct Binding {
    name: String,
    value: Expr,
}

/// Replaces every generator of `files` by its copies, in place (declaration
/// order: each copy where its generator stood).
pub fn expand(files: &mut [File], errors: &mut Vec<Diagnostic>) {
    if !files.iter().any(|f| f.decls.iter().any(|d| matches!(d, Decl::Generator(_)))) {
        return;
    }
    let project = project_fields(files);
    let mut count = 0usize;
    for file in files.iter_mut() {
        let decls = std::mem::take(&mut file.decls);
        let mut out = Vec::with_capacity(decls.len());
        for decl in decls {
            match decl {
                Decl::Generator(g) => {
                    let mut cx = Expander {
                        project: &project,
                        errors,
                        count: &mut count,
                        bindings: Vec::new(),
                        origins: Vec::new(),
                    };
                    cx.generator(&g, &mut out);
                }
                Decl::Instance(i) if !i.templates.is_empty() => {
                    let span = i.templates.first().and_then(|t| interp_span(&t.parts)).unwrap_or(i.name.span);
                    errors.push(
                        Diagnostic::error(Code::E001, span, "`${...}` in a name outside a generator")
                            .with_primary_label("nothing to interpolate here")
                            .with_help("Interpolated names stand in `for VAR in [...] { ... }`; elsewhere write the name itself."),
                    );
                }
                other => out.push(other),
            }
        }
        file.decls = out;
    }
}

fn interp_span(parts: &[StrPart]) -> Option<Span> {
    parts.iter().find_map(|p| match p {
        StrPart::Interp(_, span) => Some(*span),
        StrPart::Lit(_) => None,
    })
}

/// The top-level fields of the (first) project declaration, as written.
fn project_fields(files: &[File]) -> Vec<(String, Expr)> {
    let Some(project) = files.iter().flat_map(|f| &f.decls).find_map(|d| match d {
        Decl::Project(p) => Some(p),
        _ => None,
    }) else {
        return Vec::new();
    };
    project
        .body
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Field(f) if f.path.len() == 1 && f.op != Op::Append => {
                f.path.first().map(|k| (k.text.clone(), f.value.clone()))
            }
            _ => None,
        })
        .collect()
}

struct Expander<'x> {
    project: &'x [(String, Expr)],
    errors: &'x mut Vec<Diagnostic>,
    count: &'x mut usize,
    bindings: Vec<Binding>,
    /// `who = "bob"` per enclosing generator, and the innermost element.
    origins: Vec<(Span, String, Span)>,
}

impl Expander<'_> {
    fn generator(&mut self, g: &Generator, out: &mut Vec<Decl>) {
        // The list may use the variables of enclosing generators.
        let mut list = g.list.clone();
        if !self.subst_expr(&mut list, &mut Vec::new()) {
            return;
        }
        let Some(items) = self.elements(&list) else {
            return;
        };
        let head = Span::new(g.span.file, g.span.start as usize, list.span.end as usize);
        for other in g.decls.iter().filter(|d| !matches!(d, Decl::Instance(_) | Decl::Generator(_))) {
            self.errors.push(
                Diagnostic::error(Code::E001, other.name().span, "a generator holds instances, overlays and generators")
                    .with_primary_label("not allowed in a generator")
                    .with_help("Declare projects, modules and schemas once, outside the generator; generated instances can inherit from a shared abstract instance."),
            );
        }
        for (i, item) in items.iter().enumerate() {
            let depth = self.bindings.len();
            let mut shown = format!("{} = {}", g.var.text, constant_text(item));
            self.bindings.push(Binding { name: g.var.text.clone(), value: item.clone() });
            if let Some(index) = &g.index {
                self.bindings.push(Binding {
                    name: index.text.clone(),
                    value: Expr { kind: ExprKind::Int(i as i64), span: item.span },
                });
                shown.push_str(&format!(", {} = {i}", index.text));
            }
            self.origins.push((head, shown, item.span));
            for decl in &g.decls {
                match decl {
                    Decl::Generator(inner) => self.generator(inner, out),
                    Decl::Instance(inst) => {
                        if let Some(copy) = self.instance(inst) {
                            *self.count += 1;
                            if *self.count > MAX_GENERATED {
                                self.errors.push(
                                    Diagnostic::error(
                                        Code::E024,
                                        g.span,
                                        format!("generators make more than {MAX_GENERATED} declarations"),
                                    )
                                    .with_primary_label("this generator goes over the limit")
                                    .with_help("Generate fewer instances; nested generators multiply."),
                                );
                                self.origins.pop();
                                self.bindings.truncate(depth);
                                return;
                            }
                            out.push(Decl::Instance(copy));
                        }
                    }
                    // Reported once, above.
                    Decl::Project(_) | Decl::Module(_) | Decl::Schema(_) => {}
                }
            }
            self.origins.pop();
            self.bindings.truncate(depth);
        }
    }

    /// The elements of a generator's list, or E028.
    fn elements(&mut self, list: &Expr) -> Option<Vec<Expr>> {
        let (items, span) = match &list.kind {
            ExprKind::List(items) => (items.clone(), list.span),
            ExprKind::Ref(path) => {
                let field = match path.as_slice() {
                    [root, field] if root.text == "project" => Some(field),
                    _ => None,
                };
                let found = field.and_then(|f| self.project.iter().find(|(k, _)| *k == f.text));
                match found {
                    Some((_, Expr { kind: ExprKind::List(items), span })) => (items.clone(), *span),
                    Some((_, value)) => {
                        self.errors.push(
                            not_known(list.span, "the project field is not a literal list")
                                .with_label(value.span, "set here"),
                        );
                        return None;
                    }
                    None if field.is_some() => {
                        self.errors.push(
                            Diagnostic::error(Code::E010, list.span, "no such project field")
                                .with_primary_label("the project does not set this")
                                .with_help("Set the list in the project declaration: `project p { devs: [\"alice\", \"bob\"] }`."),
                        );
                        return None;
                    }
                    None => {
                        self.errors.push(not_known(
                            list.span,
                            "a generator's list must be a literal list or a `project` field",
                        ));
                        return None;
                    }
                }
            }
            _ => {
                self.errors
                    .push(not_known(list.span, "a generator's list must be a literal list or a `project` field"));
                return None;
            }
        };
        if let Some(bad) = items.iter().find_map(non_constant) {
            self.errors.push(
                not_known(bad, "an element of a generator's list must be a literal").with_label(span, "in this list"),
            );
            return None;
        }
        Some(items)
    }

    fn instance(&mut self, inst: &InstanceDecl) -> Option<InstanceDecl> {
        let mut copy = inst.clone();
        for template in &inst.templates {
            let text = self.name_text(&template.parts)?;
            let target = match template.slot {
                None => &mut copy.name,
                Some(i) => match copy.overlay_base.as_mut() {
                    Some(base) => base,
                    None => copy.parents.get_mut(i)?,
                },
            };
            if !super::lower::is_name(&text) {
                self.errors.push(super::lower::not_a_name(target.span, &text));
                return None;
            }
            target.text = text;
        }
        copy.templates.clear();
        if !self.subst_block(&mut copy.body) {
            return None;
        }
        if let Some((generator, _, element)) = self.origins.last() {
            copy.origin = Some(Box::new(Origin {
                generator: *generator,
                bindings: self.origins.iter().map(|(_, b, _)| b.clone()).collect(),
                element: *element,
            }));
        }
        Some(copy)
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.bindings.iter().rev().find(|b| b.name == name)
    }

    /// A template's text with the variables' values in it.
    fn name_text(&mut self, parts: &[StrPart]) -> Option<String> {
        let mut out = String::new();
        for part in parts {
            match part {
                StrPart::Lit(s) => out.push_str(s),
                StrPart::Interp(path, span) => out.push_str(&self.scalar(path, *span)?),
            }
        }
        Some(out)
    }

    /// The text of `${path}` when `path` starts with a variable.
    fn scalar(&mut self, path: &[Name], span: Span) -> Option<String> {
        let value = self.value_of(path, span)?;
        match &value.kind {
            ExprKind::Str(_) => value.as_plain_str(),
            ExprKind::Int(n) => Some(n.to_string()),
            ExprKind::Float(f) => serde_json::to_string(f).ok(),
            ExprKind::Bool(b) => Some(b.to_string()),
            _ => {
                self.errors.push(
                    Diagnostic::error(Code::E020, span, "cannot interpolate a list, map or null")
                        .with_primary_label("this element is not a string, number or bool")
                        .with_help("Interpolate a field of the element (`${who.name}`), or use a list of strings."),
                );
                None
            }
        }
    }

    /// The constant a variable path stands for (`who`, `who.port`).
    fn value_of(&mut self, path: &[Name], span: Span) -> Option<Expr> {
        let first = path.first()?;
        let mut value = self.lookup(&first.text)?.value.clone();
        for seg in path.get(1..).unwrap_or_default() {
            let next = match &value.kind {
                ExprKind::Map(block) => block.items.iter().find_map(|item| match item {
                    Item::Field(f) if f.path.len() == 1 && f.path.first().is_some_and(|k| k.text == seg.text) => {
                        Some(f.value.clone())
                    }
                    _ => None,
                }),
                _ => None,
            };
            match next {
                Some(v) => value = v,
                None => {
                    self.errors.push(
                        Diagnostic::error(Code::E010, seg.span, format!("the element has no field `{}`", seg.text))
                            .with_primary_label("not in this element")
                            .with_label(value.span, "the element")
                            .with_help("Every element of the list must set the fields the generator reads."),
                    );
                    return None;
                }
            }
        }
        Some(Expr { kind: value.kind, span: if path.len() == 1 { value.span } else { span } })
    }

    fn is_bound(&self, path: &[Name], shadowed: &[String]) -> bool {
        path.first().is_some_and(|n| !shadowed.contains(&n.text) && self.lookup(&n.text).is_some())
    }

    fn subst_block(&mut self, block: &mut Block) -> bool {
        let mut ok = true;
        for item in &mut block.items {
            ok &= match item {
                Item::Field(f) => self.subst_expr(&mut f.value, &mut Vec::new()),
                Item::Target(b) | Item::Module(b) | Item::Component(b) => self.subst_block(&mut b.body),
                Item::Unset(_) => true,
            };
        }
        ok
    }

    /// Replaces the variables in `e`; `shadowed` holds the comprehension
    /// variables in scope, which hide generator variables of their name.
    fn subst_expr(&mut self, e: &mut Expr, shadowed: &mut Vec<String>) -> bool {
        match &mut e.kind {
            ExprKind::Ref(path) if self.is_bound(path, shadowed) => {
                let path = std::mem::take(path);
                match self.value_of(&path, e.span) {
                    Some(v) => {
                        // Errors in the copy point at the use, not the list.
                        let span = e.span;
                        *e = v;
                        e.span = span;
                        true
                    }
                    None => false,
                }
            }
            ExprKind::Str(parts) => {
                let mut ok = true;
                for part in parts.iter_mut() {
                    if let StrPart::Interp(path, span) = part {
                        if self.is_bound(path, shadowed) {
                            match self.scalar(&path.clone(), *span) {
                                Some(text) => *part = StrPart::Lit(text),
                                None => ok = false,
                            }
                        }
                    }
                }
                ok
            }
            ExprKind::Map(block) => self.subst_block(block),
            ExprKind::Comp(c) => {
                let mut ok = self.subst_expr(&mut c.source, shadowed);
                let depth = shadowed.len();
                shadowed.push(c.var.text.clone());
                shadowed.extend(c.second.as_ref().map(|n| n.text.clone()));
                if let Some(f) = &mut c.filter {
                    ok &= self.subst_expr(f, shadowed);
                }
                match &mut c.body {
                    CompBody::List(x) => ok &= self.subst_expr(x, shadowed),
                    CompBody::Map(k, v) => {
                        ok &= self.subst_expr(k, shadowed);
                        ok &= self.subst_expr(v, shadowed);
                    }
                }
                shadowed.truncate(depth);
                ok
            }
            ExprKind::List(items) | ExprKind::Call(_, items) => {
                let mut ok = true;
                for x in items {
                    ok &= self.subst_expr(x, shadowed);
                }
                ok
            }
            ExprKind::Unary(_, x) | ExprKind::Member(x, _) => self.subst_expr(x, shadowed),
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
                let l = self.subst_expr(a, shadowed);
                self.subst_expr(b, shadowed) && l
            }
            ExprKind::If(parts) => {
                let mut ok = true;
                for x in parts.iter_mut() {
                    ok &= self.subst_expr(x, shadowed);
                }
                ok
            }
            ExprKind::Null | ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Ref(_) => true,
        }
    }
}

/// The span of the first part of `e` that is not a literal, if any.
fn non_constant(e: &Expr) -> Option<Span> {
    match &e.kind {
        ExprKind::Null | ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Float(_) => None,
        ExprKind::Str(_) => e.as_plain_str().is_none().then_some(e.span),
        ExprKind::List(items) => items.iter().find_map(non_constant),
        ExprKind::Map(block) => block.items.iter().find_map(|item| match item {
            Item::Field(f) if f.op == Op::Set && f.path.len() == 1 => non_constant(&f.value),
            Item::Field(f) => Some(f.span),
            _ => Some(block.span),
        }),
        _ => Some(e.span),
    }
}

/// An element as `explain` shows it: `"bob"`, `3`, `{…}`.
fn constant_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Str(_) => serde_json::to_string(&e.as_plain_str().unwrap_or_default()).unwrap_or_default(),
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Float(f) => serde_json::to_string(f).unwrap_or_default(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "null".into(),
        ExprKind::List(items) => format!("[{}]", items.iter().map(constant_text).collect::<Vec<_>>().join(", ")),
        ExprKind::Map(block) => {
            let fields: Vec<String> = block
                .items
                .iter()
                .filter_map(|item| match item {
                    Item::Field(f) => {
                        let key: Vec<&str> = f.path.iter().map(|n| n.text.as_str()).collect();
                        Some(format!("{}: {}", key.join("."), constant_text(&f.value)))
                    }
                    _ => None,
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        _ => "…".into(),
    }
}

fn not_known(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(Code::E028, span, format!("{what}: it must be known before any instance is evaluated"))
        .with_primary_label("not known before evaluation")
        .with_help("Generators run before evaluation, so their list is a literal (`[\"alice\", \"bob\"]`) or a `project` field holding one; compute per-instance values inside the generated bodies instead.")
}
