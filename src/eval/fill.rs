//! Before evaluation: schema defaults, generated secrets and derived module
//! fields become nodes of the merged tree, so references can see them
//! (`${db.port}` where `port` has a default) exactly as the manifest will.

use super::merge::{Action, Derived, Merger, Node, NodeKind, Scope, Step, NO_BODY};
use super::value::Value;
use crate::source::Span;
use crate::types::{DefaultValue, Schemas, Type};

/// True for `secret` and `secret?`.
pub fn is_secret_type(t: &Type) -> bool {
    match t {
        Type::Secret => true,
        Type::Nullable(inner) => is_secret_type(inner),
        _ => false,
    }
}

/// Fills defaults and secrets into `node` (of type `ty`). `state_key` is the
/// node's path as state names secrets (`instance.api_key`).
pub fn fill<'a>(
    merger: &mut Merger<'a, '_>,
    schemas: &'a Schemas<'a>,
    node: &mut Node<'a>,
    ty: &Type,
    state_key: &str,
) {
    let ty = match ty {
        Type::Nullable(inner) => inner,
        other => other,
    };
    match ty {
        Type::Record(id) => fill_record(merger, schemas, node, *id, state_key),
        Type::Install => {
            let group = match node.map().and_then(|m| m.get("type")).map(|t| &t.kind) {
                Some(NodeKind::Expr(e)) if e.as_plain_str().as_deref() == Some("tmpl") => schemas.tmpl_group,
                _ => schemas.copy_group,
            };
            fill_record(merger, schemas, node, group, state_key);
        }
        Type::Map(elem) => {
            if let Some(map) = node.map_mut() {
                for (k, child) in map.iter_mut() {
                    fill(merger, schemas, child, elem, &format!("{state_key}.{k}"));
                }
            }
        }
        Type::List(elem) => {
            if let NodeKind::List(items) = &mut node.kind {
                for (i, child) in items.iter_mut().enumerate() {
                    fill(merger, schemas, child, elem, &format!("{state_key}.{i}"));
                }
            }
        }
        _ => {}
    }
}

fn fill_record<'a>(
    merger: &mut Merger<'a, '_>,
    schemas: &'a Schemas<'a>,
    node: &mut Node<'a>,
    id: crate::types::RecordId,
    state_key: &str,
) {
    let record = schemas.record(id);
    let scope = node.scope;
    let span = node.span;
    let Some(map) = node.map_mut() else { return };
    for (k, field) in &record.fields {
        let key_path = format!("{state_key}.{}", state_segment(k));
        if let Some(child) = map.get_mut(k.as_str()) {
            if is_secret_type(&field.type_) {
                child.secret = true;
            }
            fill(merger, schemas, child, &field.type_, &key_path);
            continue;
        }
        let mut child = match &field.default {
            Some(DefaultValue::Const(c)) => Node::new(NodeKind::Const(super::fill_const(c)), k, span, span, scope),
            Some(DefaultValue::Expr(e)) => {
                let saved = merger.scope;
                merger.scope = scope;
                let built = merger.build_expr(e, k, field.span.unwrap_or(span), &field.type_);
                merger.scope = saved;
                built
            }
            None if field.type_ == Type::Secret && !field.derived && !field.optional => {
                let external = field
                    .check
                    .as_ref()
                    .is_some_and(|c| matches!(c.kind, crate::types::constraints::CheckKind::External));
                let derived = if external {
                    Derived::ExternalSecret(key_path.clone())
                } else {
                    Derived::Secret(key_path.clone())
                };
                // An external secret's errors point at its declaration.
                let at = if external { field.span.unwrap_or(span) } else { span };
                Node::new(NodeKind::Derived(derived), k, at, at, scope)
            }
            None => continue,
        };
        // A generated secret is not a schema default: it comes from state.
        let action = if matches!(child.kind, NodeKind::Derived(_)) { Action::Derived } else { Action::Default };
        child.history.push(Step { body: NO_BODY, span: field.span.unwrap_or(span), action });
        if is_secret_type(&field.type_) {
            child.secret = true;
        }
        fill(merger, schemas, &mut child, &field.type_, &key_path);
        map.insert(k.clone(), child);
    }
}

/// A field name as a segment of a state key: quoted when it holds a dot (or
/// a quote or backslash), so `a.b` nested and a field named `"a.b"` are two
/// keys, never one secret shared by both.
fn state_segment(k: &str) -> std::borrow::Cow<'_, str> {
    if k.is_empty() || k.contains(['.', '"', '\\']) {
        format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\"")).into()
    } else {
        k.into()
    }
}

/// Puts `name` first in a root map (instance, module, project).
pub fn insert_name<'a>(node: &mut Node<'a>, name: &'a str, span: Span) {
    let scope = node.scope;
    if let Some(map) = node.map_mut() {
        let mut name_node = Node::new(NodeKind::Const(Value::Str(name.to_string())), "name", span, span, scope);
        name_node.history.push(Step { body: NO_BODY, span, action: Action::Derived });
        map.shift_insert(0, "name".to_string(), name_node);
    }
}

fn derived<'a>(d: Derived, key: &'a str, span: Span, scope: Scope) -> Node<'a> {
    let mut node = Node::new(NodeKind::Derived(d), key, span, span, scope);
    node.history.push(Step { body: NO_BODY, span, action: Action::Derived });
    node
}

/// Adds a module's derived fields: `username`, `password` (unless set) and the
/// service's name and instances (spec §9).
pub fn module_derived<'a>(node: &mut Node<'a>, m: usize, span: Span) {
    let scope = node.scope;
    let Some(map) = node.map_mut() else { return };
    map.insert("username".into(), derived(Derived::Username(m), "username", span, scope));
    match map.get_mut("password") {
        Some(p) => p.secret = true,
        None => {
            let mut p = derived(Derived::Password(m), "password", span, scope);
            p.secret = true;
            map.insert("password".into(), p);
        }
    }
    if let Some(service) = map.get_mut("service").and_then(Node::map_mut) {
        if !service.contains_key("name") {
            service.shift_insert(0, "name".into(), derived(Derived::ServiceName(m), "name", span, scope));
        }
        service.insert("instance_name".into(), derived(Derived::ServiceInstanceName(m), "instance_name", span, scope));
        service.insert("uiid".into(), derived(Derived::ServiceUiid(m), "uiid", span, scope));
        service.insert("instances".into(), derived(Derived::ServiceInstances(m), "instances", span, scope));
    }
}
