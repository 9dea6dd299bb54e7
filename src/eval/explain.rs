//! `facs explain`: where a value came from (issue "Everyday tooling").
//!
//! Builds an instance's trees as a build does, evaluates the node at a path,
//! and reports every step of its history (the bodies that set, merged,
//! appended to or replaced it, schema defaults, derived values) and, for a
//! computed value, the references it was computed from, recursively.

use super::evaluate::{Evaluator, Roots};
use super::merge::{Action, Derived, Node, NodeKind, NO_BODY};
use super::{build_trees, Paths, Value};
use crate::resolve::{InstanceId, Resolved};
use crate::source::Span;
use crate::state::State;
use crate::types::Schemas;

/// How deep "computed from" recurses.
const MAX_INPUT_DEPTH: usize = 8;

/// The answer to "where did this value come from?".
#[derive(Debug)]
pub struct Explanation {
    /// The path as asked (`instance.db.url`).
    pub path: String,
    /// The final value (`None` when it failed to evaluate).
    pub value: Option<Value>,
    /// What set it, in lineage order.
    pub steps: Vec<Origin>,
    /// For computed values: the values it was computed from.
    pub inputs: Vec<Explanation>,
    /// For a value kept in state: where (`passwd[www]`) and its origin.
    pub stored: Option<(String, String)>,
}

/// One step of a value's history.
#[derive(Debug)]
pub struct Origin {
    /// `instance dev0`, `module web`, `overlay of module web in dev`, `schema default`...
    pub body: String,
    /// Where.
    pub span: Span,
    /// What it did.
    pub action: Action,
}

/// Why explaining failed.
#[derive(Debug)]
pub enum ExplainError {
    /// The instance has no lineage (its errors were reported by check).
    Broken,
    /// Nothing is at that path; the closest existing key, if any.
    NoSuchPath(String, Option<String>),
    /// The path was set, then removed by an `unset` of the lineage.
    Unset {
        /// The path as asked.
        path: String,
        /// The instance whose body holds the `unset`.
        body: String,
        /// The `unset` item.
        span: Span,
    },
}

/// Explains `path` in instance `id`.
pub fn explain<'a>(
    resolved: &'a Resolved<'a>,
    schemas: &'a Schemas<'a>,
    id: InstanceId,
    state: &mut State,
    paths: &Paths,
    path: &str,
) -> Result<Explanation, ExplainError> {
    let trees = build_trees(resolved, schemas, id, paths).ok_or(ExplainError::Broken)?;
    let lineage = resolved.instances[id].lineage.clone().ok_or(ExplainError::Broken)?;
    let roots = Roots {
        project: &trees.project,
        instance: &trees.instance,
        modules: &trees.modules,
        module_names: &trees.module_names,
        module_spans: &trees.module_spans,
        facs: &trees.facs,
        shadowed: &trees.shadowed,
    };
    let mut eval = Evaluator::new(roots, state);
    eval.allocate_services();
    let ctx = Ctx { resolved, lineage: &lineage, trees: &trees };
    let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    let (node, root_desc) = match ctx.find(&segments, None) {
        Ok(found) => found,
        Err(ExplainError::NoSuchPath(at, suggestion)) => {
            // A value an `unset` removed is not a typo: say which one did.
            return Err(
                unset_of(resolved, &lineage, &segments, path).unwrap_or(ExplainError::NoSuchPath(at, suggestion))
            );
        }
        Err(e) => return Err(e),
    };
    let mut seen = Vec::new();
    Ok(ctx.explain_node(&mut eval, node, &root_desc, path, 0, &mut seen))
}

struct Ctx<'a, 't> {
    resolved: &'a Resolved<'a>,
    lineage: &'t [InstanceId],
    trees: &'t super::Trees<'a>,
}

/// Which tree a node lives in, for naming its bodies.
#[derive(Clone)]
enum RootKind {
    Instance,
    Module(String),
    Project,
    Facs,
}

impl<'a, 't> Ctx<'a, 't> {
    /// The node at a path (absolute, or relative to `scope_module` / the instance).
    fn find(&self, segments: &[&str], scope_module: Option<usize>) -> Result<(&'t Node<'a>, RootKind), ExplainError> {
        let t = self.trees;
        let (root, kind, rest): (&Node<'a>, RootKind, &[&str]) = match segments.first().copied() {
            Some("instance" | "env") => (&t.instance, RootKind::Instance, segments.get(1..).unwrap_or_default()),
            Some("project") => (&t.project, RootKind::Project, segments.get(1..).unwrap_or_default()),
            Some("facs") => (&t.facs, RootKind::Facs, segments.get(1..).unwrap_or_default()),
            Some("module") => {
                let name = segments.get(1).copied().unwrap_or("");
                let idx = t.module_names.iter().position(|m| *m == name).ok_or_else(|| {
                    ExplainError::NoSuchPath(
                        format!("module.{name}"),
                        crate::diagnostic::closest(name, t.module_names.iter().copied()).map(str::to_string),
                    )
                })?;
                let node = t.modules.get(idx).ok_or(ExplainError::Broken)?;
                (node, RootKind::Module(name.to_string()), segments.get(2..).unwrap_or_default())
            }
            _ => match scope_module.and_then(|m| t.modules.get(m).map(|n| (m, n))) {
                Some((m, node)) => {
                    (node, RootKind::Module(t.module_names.get(m).copied().unwrap_or("").to_string()), segments)
                }
                None => (&t.instance, RootKind::Instance, segments),
            },
        };
        let mut node = root;
        for (idx, seg) in rest.iter().enumerate() {
            match node.map().and_then(|m| m.get(*seg)) {
                Some(child) => node = child,
                None => {
                    let keys = node.map().map(|m| m.keys().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default();
                    let so_far = rest.get(..=idx).unwrap_or_default().join(".");
                    let parent = rest.get(..idx).unwrap_or_default();
                    let suggestion = crate::diagnostic::closest(seg, keys)
                        .map(|k| parent.iter().copied().chain(std::iter::once(k)).collect::<Vec<_>>().join("."));
                    return Err(ExplainError::NoSuchPath(so_far, suggestion));
                }
            }
        }
        Ok((node, kind))
    }

    fn body_name(&self, kind: &RootKind, body: u32, action: Action) -> String {
        if body == NO_BODY {
            return match action {
                Action::Default => "schema default".into(),
                _ => "derived by facs".into(),
            };
        }
        let instance_name = |idx: usize| self.lineage.get(idx).map_or("?", |&i| self.resolved.instances[i].name());
        match kind {
            RootKind::Instance => format!("instance {}", instance_name(body as usize)),
            RootKind::Module(m) if body == 0 => format!("module {m}"),
            RootKind::Module(m) => format!("module {m} in instance {}", instance_name(body as usize - 1)),
            RootKind::Project => "project".into(),
            RootKind::Facs => "facs".into(),
        }
    }

    fn explain_node(
        &self,
        eval: &mut Evaluator<'a, '_>,
        node: &'t Node<'a>,
        kind: &RootKind,
        path: &str,
        depth: usize,
        seen: &mut Vec<*const Node<'a>>,
    ) -> Explanation {
        let value = eval.eval_child(node).ok().flatten();
        // A generated password or secret: which state entry, set how.
        let stored = match &node.kind {
            NodeKind::Derived(Derived::Secret(key)) => {
                Some(crate::state::StateKey { section: "secrets", key: key.clone() })
            }
            NodeKind::Derived(Derived::Password(_)) => {
                value.as_ref().and_then(|v| v.unwrap_secret().as_str()).and_then(|v| eval.state().key_of("passwd", v))
            }
            _ => None,
        }
        .map(|key| (format!("{}[{}]", key.section, key.key), eval.state().origin(&key)));
        let steps = node
            .history
            .iter()
            .map(|s| Origin { body: self.body_name(kind, s.body, s.action), span: s.span, action: s.action })
            .collect();
        let mut inputs = Vec::new();
        let ptr = node as *const Node<'a>;
        if depth < MAX_INPUT_DEPTH && !seen.contains(&ptr) {
            seen.push(ptr);
            let scope_module = match node.scope {
                super::merge::Scope::Module(m) => Some(m),
                _ => None,
            };
            for reference in references(node) {
                let segs: Vec<&str> = reference.iter().map(String::as_str).collect();
                if let Ok((input, input_kind)) = self.find(&segs, scope_module) {
                    inputs.push(self.explain_node(eval, input, &input_kind, &reference.join("."), depth + 1, seen));
                }
            }
        }
        Explanation { path: path.to_string(), value, steps, inputs, stored }
    }
}

/// The last `unset` of the lineage that removed the instance path `segments`
/// (`instance.x.y`, or `x.y`): written as `unset x.y`, or inside `x { }`.
fn unset_of(resolved: &Resolved<'_>, lineage: &[InstanceId], segments: &[&str], path: &str) -> Option<ExplainError> {
    use crate::syntax::ast::{Block, ExprKind, Item};
    let rel = match segments {
        ["instance" | "env", rest @ ..] => rest,
        ["project" | "module" | "facs", ..] => return None,
        rest => rest,
    };
    fn find(block: &Block, prefix: &mut Vec<String>, wanted: &[&str], found: &mut Option<Span>) {
        for item in &block.items {
            match item {
                Item::Unset(u) => {
                    let full: Vec<&str> =
                        prefix.iter().map(String::as_str).chain(u.path.iter().map(|n| n.text.as_str())).collect();
                    if full == wanted {
                        *found = Some(u.span);
                    }
                }
                Item::Field(f) => {
                    if let ExprKind::Map(inner) = &f.value.kind {
                        let depth = prefix.len();
                        prefix.extend(f.path.iter().map(|n| n.text.clone()));
                        find(inner, prefix, wanted, found);
                        prefix.truncate(depth);
                    }
                }
                Item::Target(_) | Item::Module(_) | Item::Component(_) => {}
            }
        }
    }
    // The lineage runs most-base first: the value is absent, so the last
    // body that unset it did so after every body that set it.
    for &id in lineage.iter().rev() {
        let info = &resolved.instances[id];
        let mut found = None;
        find(&info.decl.body, &mut Vec::new(), rel, &mut found);
        if let Some(span) = found {
            return Some(ExplainError::Unset { path: path.to_string(), body: info.name().to_string(), span });
        }
    }
    None
}

/// The paths a node's expression refers to (bare references and `${...}`).
fn references(node: &Node<'_>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut collect = |n: &Node<'_>| {
        if let NodeKind::Expr(e) = &n.kind {
            e.visit_refs(&mut |path, _| out.push(path.iter().map(|p| p.text.clone()).collect()));
        }
    };
    match &node.kind {
        NodeKind::Append(base, tail) => {
            collect(base);
            collect(tail);
        }
        NodeKind::List(items) => items.iter().for_each(&mut collect),
        _ => collect(node),
    }
    out
}

/// Why an expression could not be evaluated for `facs eval`.
#[derive(Debug)]
pub enum QueryError {
    /// The instance has no lineage (its errors were reported by check).
    Broken,
    /// The expression failed: its diagnostics.
    Failed(Vec<crate::diagnostic::Diagnostic>),
}

/// Evaluates `expr` as if it were a field of instance `id` (`facs eval`,
/// spec §12): its references resolve against the final instance, modules,
/// project and `facs`, exactly as a field's would. Nothing is stored; the
/// caller decides whether `state` generates placeholders.
pub fn evaluate_expression<'a>(
    resolved: &'a Resolved<'a>,
    schemas: &'a Schemas<'a>,
    id: InstanceId,
    state: &mut State,
    paths: &Paths,
    expr: &'a crate::syntax::ast::Expr,
) -> Result<Value, QueryError> {
    let trees = build_trees(resolved, schemas, id, paths).ok_or(QueryError::Broken)?;
    if !trees.errors.is_empty() {
        return Err(QueryError::Broken);
    }
    let roots = Roots {
        project: &trees.project,
        instance: &trees.instance,
        modules: &trees.modules,
        module_names: &trees.module_names,
        module_spans: &trees.module_spans,
        facs: &trees.facs,
        shadowed: &trees.shadowed,
    };
    let mut eval = Evaluator::new(roots, state);
    eval.allocate_services();
    match eval.eval_expr(expr, super::merge::Scope::Instance) {
        Ok(value) if eval.errors.is_empty() => Ok(value),
        _ => Err(QueryError::Failed(std::mem::take(&mut eval.errors))),
    }
}
