//! Checks of each body on its own, once per declaration rather than once per
//! instance that inherits it: E006 (a leaf set twice in one body), E013
//! (reserved names), E016 (module overlay for an unknown module), and the
//! checks of expressions that need no evaluation: unknown functions and
//! argument counts (E027), comprehension variables named like a root (E013).

use crate::diagnostic::{closest, Code, Diagnostic, Sink};
use crate::resolve::Resolved;
use crate::source::Span;
use crate::syntax::ast::{Block, Expr, ExprKind, Item, Name, Op};
use std::collections::HashMap;

/// Runs the body checks over every declaration.
pub fn check_bodies(resolved: &Resolved<'_>, sink: &mut Sink) {
    for schema in resolved.schema_parts.values().flatten() {
        for field in &schema.record.fields {
            record_defaults(field, sink);
        }
    }
    if let Some(project) = resolved.project {
        expressions(&project.body, sink);
        reserved(&project.body, &["name"], "a project", sink);
        duplicates(&project.body, sink);
    }
    for module in resolved.modules.values().chain(resolved.module_parts.values().flatten()) {
        module_body(&module.body, sink);
    }
    for info in &resolved.instances {
        let body = &info.decl.body;
        expressions(body, sink);
        reserved(body, crate::types::RESERVED_INSTANCE_FIELDS, "an instance", sink);
        duplicates(body, sink);
        for item in &body.items {
            if let Item::Module(overlay) = item {
                if !resolved.modules.contains_key(overlay.name.text.as_str()) {
                    let d = Diagnostic::error(
                        Code::E016,
                        overlay.name.span,
                        format!("unknown module `{}`", overlay.name.text),
                    )
                    .with_primary_label("no project module has this name");
                    sink.push(match closest(&overlay.name.text, resolved.modules.keys().copied()) {
                        Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                        None => d.with_help("Declare the module with `module NAME { ... }` at the top level first."),
                    });
                }
                module_body(&overlay.body, sink);
            }
        }
    }
}

fn module_body(body: &Block, sink: &mut Sink) {
    expressions(body, sink);
    reserved(body, crate::types::RESERVED_MODULE_FIELDS, "a module", sink);
    duplicates(body, sink);
}

fn reserved(body: &Block, names: &[&str], what: &str, sink: &mut Sink) {
    for item in &body.items {
        let key = match item {
            Item::Field(f) => f.path.first(),
            _ => None,
        };
        if let Some(key) = key.filter(|k| names.contains(&k.text.as_str())) {
            let help = match key.text.as_str() {
                "username" => "A module's user name is derived: set `daemon` to choose it.".to_string(),
                "name" => "The name comes from the declaration (`instance.name`, `module.NAME.name`); rename the field, for example `display_name`.".to_string(),
                "env" => "`env` is an alias of `instance` in paths; rename the field, for example `environment`.".to_string(),
                other => format!("`{other}` starts paths such as `{other}.x`; rename the field, for example `{other}_name`."),
            };
            sink.push(
                Diagnostic::error(
                    Code::E013,
                    key.span,
                    format!("`{}` is reserved and cannot be {what} field", key.text),
                )
                .with_primary_label("reserved name")
                .with_help(help),
            );
        }
    }
}

/// What one body has set so far at a path.
enum Seen {
    Leaf(Span),
    Map(Span, HashMap<String, Seen>),
}

fn duplicates(body: &Block, sink: &mut Sink) {
    let mut root = HashMap::new();
    let mut modules: HashMap<String, HashMap<String, Seen>> = HashMap::new();
    walk(body, &mut root, &mut modules, sink);
}

fn walk(
    block: &Block,
    seen: &mut HashMap<String, Seen>,
    modules: &mut HashMap<String, HashMap<String, Seen>>,
    sink: &mut Sink,
) {
    for item in &block.items {
        match item {
            Item::Field(f) => {
                let merges = f.op == Op::Set && matches!(f.value.kind, ExprKind::Map(_));
                let inner = match &f.value.kind {
                    ExprKind::Map(b) if merges => Some(b),
                    _ => None,
                };
                set_path(seen, &f.path, inner, modules, sink);
            }
            Item::Target(t) => {
                let targets = Name { text: "targets".into(), span: t.name.span };
                let path = [targets, t.name.clone()];
                set_path(seen, &path, Some(&t.body), modules, sink);
            }
            Item::Module(m) => {
                let mut module_seen = modules.remove(&m.name.text).unwrap_or_default();
                let mut nested = HashMap::new();
                walk(&m.body, &mut module_seen, &mut nested, sink);
                modules.insert(m.name.text.clone(), module_seen);
            }
            // Read before evaluation, by the driver (`build::components`).
            Item::Unset(_) | Item::Component(_) => {}
        }
    }
}

fn set_path(
    seen: &mut HashMap<String, Seen>,
    path: &[Name],
    merge_block: Option<&Block>,
    modules: &mut HashMap<String, HashMap<String, Seen>>,
    sink: &mut Sink,
) {
    let Some((key, rest)) = path.split_first() else {
        return;
    };
    let is_map_here = !rest.is_empty() || merge_block.is_some();
    match seen.get_mut(&key.text) {
        Some(Seen::Leaf(first)) => {
            sink.push(twice(key, *first));
            return;
        }
        Some(Seen::Map(first, _)) if !is_map_here => {
            sink.push(twice(key, *first));
            return;
        }
        Some(Seen::Map(..)) => {}
        None => {
            let entry = if is_map_here { Seen::Map(key.span, HashMap::new()) } else { Seen::Leaf(key.span) };
            seen.insert(key.text.clone(), entry);
        }
    }
    if let Some(Seen::Map(_, children)) = seen.get_mut(&key.text) {
        if !rest.is_empty() {
            set_path(children, rest, merge_block, modules, sink);
        } else if let Some(block) = merge_block {
            walk(block, children, modules, sink);
        }
    }
}

fn twice(key: &Name, first: Span) -> Diagnostic {
    Diagnostic::error(Code::E006, key.span, format!("`{}` is set twice in this body", key.text))
        .with_primary_label("set again here")
        .with_label(first, "first set here")
        .with_help("Keep one of the two; to add to an inherited list use `+=`, to combine maps use one block.")
}

fn record_defaults(field: &crate::syntax::ast::FieldDecl, sink: &mut Sink) {
    if let Some(default) = &field.default {
        expression(default, sink);
    }
    if let crate::syntax::ast::TypeExprKind::Record(r) = &field.type_.kind {
        for f in &r.fields {
            record_defaults(f, sink);
        }
    }
}

/// Every expression of a body (module overlays are checked with modules).
fn expressions(block: &Block, sink: &mut Sink) {
    for item in &block.items {
        match item {
            Item::Field(f) => expression(&f.value, sink),
            Item::Target(t) => expressions(&t.body, sink),
            Item::Module(_) | Item::Unset(_) | Item::Component(_) => {}
        }
    }
}

const ROOTS: &[&str] = &["project", "module", "instance", "env", "facs", "self"];

fn expression(expr: &Expr, sink: &mut Sink) {
    match &expr.kind {
        ExprKind::Map(block) => expressions(block, sink),
        ExprKind::Call(name, args) => match crate::syntax::functions::lookup(&name.text) {
            None => {
                let names = crate::syntax::functions::FUNCTIONS.iter().map(|f| f.name);
                let d = Diagnostic::error(Code::E027, name.span, format!("unknown function `{}`", name.text))
                    .with_primary_label("not a built-in function");
                // `lenght` is three edits from `len` but plainly meant it.
                let prefix = crate::syntax::functions::FUNCTIONS
                    .iter()
                    .map(|f| f.name)
                    .filter(|f| f.len() >= 3 && name.text.starts_with(f))
                    .max_by_key(|f| f.len());
                sink.push(match closest(&name.text, names).or(prefix) {
                    Some(s) => {
                        let sig = crate::syntax::functions::lookup(s).map_or("", |f| f.signature);
                        d.with_help(format!("Did you mean `{s}`? `{sig}`"))
                    }
                    None => d.with_help(format!(
                        "facs has no user-defined functions; the built-in ones are {}.",
                        crate::syntax::functions::FUNCTIONS
                            .iter()
                            .map(|f| format!("`{}`", f.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                });
            }
            Some(f) if !f.accepts(args.len()) => {
                let fault = crate::eval::operators::arity(f, args.len());
                sink.push(
                    Diagnostic::error(Code::E027, expr.span, fault.message)
                        .with_primary_label("wrong number of arguments")
                        .with_help(fault.help),
                );
            }
            Some(_) => {}
        },
        ExprKind::Comp(c) => {
            for var in std::iter::once(&c.var).chain(&c.second) {
                if ROOTS.contains(&var.text.as_str()) {
                    sink.push(
                        Diagnostic::error(
                            Code::E013,
                            var.span,
                            format!("`{}` is reserved and cannot name a variable", var.text),
                        )
                        .with_primary_label("reserved name")
                        .with_help(
                            "It starts paths (`module.x`, `instance.x`); name the variable differently, such as `m`.",
                        ),
                    );
                }
            }
            if let Some(second) = c.second.as_ref().filter(|s| s.text == c.var.text) {
                sink.push(
                    Diagnostic::error(
                        Code::E002,
                        second.span,
                        format!("the variable `{}` is declared twice", second.text),
                    )
                    .with_primary_label("declared again here")
                    .with_label(c.var.span, "first declared here")
                    .with_help("Give the two variables different names, such as `for k, v in ...`."),
                );
            }
        }
        _ => {}
    }
    for child in expr.children() {
        expression(child, sink);
    }
}
