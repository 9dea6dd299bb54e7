//! Stage 4, eval: one resolved instance → its manifest value (spec §5–§9).
//!
//! Input: the resolved declarations, the schemas, the instance's lineage and
//! its owner's [`State`]. Output: the manifest [`Value`] and diagnostics.
//! Steps: merge the lineage's bodies (and module overlays) into trees of
//! unevaluated nodes; fill schema defaults, generated secrets and derived
//! module fields; allocate service uiids in module order; evaluate late-bound
//! references against the final trees; check the result against the schemas.
//! Invariants: no I/O; state changes only by adding values.

mod bodies;
mod evaluate;
pub mod explain;
mod fill;
mod finish;
mod manifest;
pub mod merge;
pub(crate) mod operators;
pub mod value;

#[cfg(test)]
mod expression_tests;
#[cfg(test)]
mod tests;

pub use bodies::check_bodies;
pub use evaluate::UniqueValue;
pub use manifest::{Manifest, Spans};
pub use value::Value;

use crate::diagnostic::{Code, Diagnostic};
use crate::map::IndexMap;
use crate::resolve::{InstanceId, Resolved};
use crate::source::Span;
use crate::state::State;
use crate::syntax::ast::Item;
use crate::types::{Const, Schemas, Type};
use evaluate::{Evaluator, Roots};
use finish::{Finisher, Owner};
use merge::{Merger, Node, NodeKind, Scope};

/// Paths the `facs` root exposes during evaluation (absolute).
#[derive(Clone, Debug, Default)]
pub struct Paths {
    /// `facs.src_dir`
    pub src_dir: String,
    /// The output directory; `facs.release_dir` is `<out>/<instance>/<project>`.
    pub out_dir: String,
    /// The environment variables `project { env: [...] }` declares, read
    /// by the driver (`facs.env.X`; `None`: not set, E009 when used).
    pub env: Vec<EnvVar>,
}

/// A declared environment variable (spec §12).
#[derive(Clone, Debug)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value, when set.
    pub value: Option<String>,
    /// Where the project declares it.
    pub span: crate::source::Span,
}

/// One compiled instance.
#[derive(Debug)]
pub struct Compiled {
    /// The manifest (secrets wrapped) and the spans of its parts.
    pub manifest: Manifest,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// The manifest as written (pretty JSON, secrets revealed), once serialized.
    pub json: String,
    /// The values of its `unique` fields, compared across instances by the driver.
    pub uniques: Vec<evaluate::UniqueValue>,
}

impl Compiled {
    fn failed(spans: Spans, diagnostics: Vec<Diagnostic>) -> Self {
        Compiled { manifest: Manifest::failed(spans), diagnostics, json: String::new(), uniques: Vec::new() }
    }
}

/// The constant value of a built-in default.
pub fn fill_const(c: &Const) -> Value {
    match c {
        Const::EmptyString => Value::Str(String::new()),
        Const::False => Value::Bool(false),
        Const::Int(n) => Value::Int(*n),
        Const::EmptyList => Value::List(Vec::new()),
        Const::EmptyMap => Value::Map(IndexMap::default()),
    }
}

/// Compiles one instance with a complete lineage.
pub fn compile_instance<'a>(
    resolved: &'a Resolved<'a>,
    schemas: &'a Schemas<'a>,
    id: InstanceId,
    state: &mut State,
    paths: &Paths,
) -> Option<Compiled> {
    let trees = build_trees(resolved, schemas, id, paths)?;
    Some(evaluate_trees(resolved, schemas, id, state, trees))
}

/// The merged, filled trees of one instance, before evaluation.
pub struct Trees<'a> {
    /// The instance.
    pub instance: Node<'a>,
    /// Modules in declaration order.
    pub modules: Vec<Node<'a>>,
    /// Module names in declaration order.
    pub module_names: Vec<&'a str>,
    /// Module declaration name spans.
    pub module_spans: Vec<crate::source::Span>,
    /// The project.
    pub project: Node<'a>,
    /// The `facs` root.
    pub facs: Node<'a>,
    /// Errors found while merging.
    pub errors: Vec<Diagnostic>,
    /// Path roots (`env`, `project`...) that a lineage body or the Instance
    /// schema also uses as a field name: E013 reports them, and references
    /// through them fail quietly instead of cascading.
    pub shadowed: Vec<&'a str>,
    /// Helps the merge foresaw for errors at a span (see `Merger::hints`).
    pub hints: Vec<(Span, String)>,
}

/// Merges and fills one instance's trees (steps 1–4 of the module doc).
pub fn build_trees<'a>(
    resolved: &'a Resolved<'a>,
    schemas: &'a Schemas<'a>,
    id: InstanceId,
    paths: &Paths,
) -> Option<Trees<'a>> {
    let info = &resolved.instances[id];
    let lineage = info.lineage.as_ref()?;
    let project_decl = resolved.project?;
    let mut errors = Vec::new();
    let mut hints: Vec<(Span, String)> = Vec::new();
    let instance_ty = Type::Record(schemas.instance);
    let module_ty = Type::Record(schemas.module);

    // 1. Merge the lineage into the instance tree; collect module overlays.
    let mut instance = Node::empty_map("instance", info.decl.name.span, Scope::Instance);
    // The root's span is the whole declaration: diagnostics tell a reference
    // written in the instance itself from one inherited from a parent.
    instance.span = info.decl.span;
    let mut overlays = Vec::new();
    let mut shadowed: Vec<&'a str> = Vec::new();
    for schema in resolved.schema_parts.get("Instance").into_iter().flatten() {
        shadowed.extend(schema.record.fields.iter().map(|f| f.name.text.as_str()).filter(|k| is_root(k)));
    }
    for (body_idx, &ancestor_id) in lineage.iter().enumerate() {
        let ancestor = &resolved.instances[ancestor_id];
        let mut merger =
            Merger { schemas, errors: &mut errors, hints: &mut hints, body: body_idx as u32, scope: Scope::Instance };
        if let Some(map) = instance.map_mut() {
            merger.apply_block(map, &ancestor.decl.body, &instance_ty);
        }
        for item in &ancestor.decl.body.items {
            match item {
                Item::Module(overlay) => overlays.push((body_idx as u32 + 1, overlay)),
                Item::Field(f) => shadowed.extend(f.path.first().map(|n| n.text.as_str()).filter(|k| is_root(k))),
                _ => {}
            }
        }
    }

    // 2. Modules: the project-wide body, then this lineage's overlays.
    let module_names: Vec<&str> = resolved.modules.keys().copied().collect();
    let module_spans: Vec<_> = resolved.modules.values().map(|m| m.name.span).collect();
    let mut modules = Vec::with_capacity(module_names.len());
    for (idx, (name, decl)) in resolved.modules.iter().enumerate() {
        let mut node = Node::empty_map(name, decl.name.span, Scope::Module(idx));
        let mut merger = Merger { schemas, errors: &mut errors, hints: &mut hints, body: 0, scope: Scope::Module(idx) };
        if let Some(map) = node.map_mut() {
            merger.apply_block(map, &decl.body, &module_ty);
            // A component's own declaration of a shared module (spec §4).
            for part in resolved.module_parts.get(name).into_iter().flatten() {
                merger.apply_block(map, &part.body, &module_ty);
            }
            for (body, overlay) in overlays.iter().filter(|(_, o)| o.name.text == *name) {
                merger.body = *body;
                merger.apply_block(map, &overlay.body, &module_ty);
            }
        }
        fill::fill(&mut merger, schemas, &mut node, &module_ty, &format!("module.{name}"));
        fill::insert_name(&mut node, name, decl.name.span);
        fill::module_derived(&mut node, idx, decl.name.span);
        modules.push(node);
    }

    // 3. The project, and defaults of the instance.
    let project_ty = Type::Record(schemas.project);
    let mut project = Node::empty_map("project", project_decl.name.span, Scope::Project);
    {
        let mut merger = Merger { schemas, errors: &mut errors, hints: &mut hints, body: 0, scope: Scope::Project };
        if let Some(map) = project.map_mut() {
            merger.apply_block(map, &project_decl.body, &project_ty);
        }
        fill::fill(&mut merger, schemas, &mut project, &project_ty, "project");
        fill::insert_name(&mut project, &project_decl.name.text, project_decl.name.span);
        merger.scope = Scope::Instance;
        fill::fill(&mut merger, schemas, &mut instance, &instance_ty, "instance");
        fill::insert_name(&mut instance, info.name(), info.decl.name.span);
    }

    // 4. The `facs` root.
    let lineage_names: Vec<Value> = resolved.instances.names(lineage).map(|n| Value::Str(n.to_string())).collect();
    let owner_name = resolved.instances[info.state_owner].name();
    let release_dir = crate::layout::release_dir(&paths.out_dir, info.name(), &project_decl.name.text);
    let facs = facs_root(info, project_decl, &lineage_names, owner_name, paths, &release_dir);

    Some(Trees { instance, modules, module_names, module_spans, project, facs, errors, shadowed, hints })
}

/// The names that start a path at a root (spec §5).
fn is_root(name: &str) -> bool {
    matches!(name, "instance" | "env" | "project" | "facs" | "module")
}

/// Evaluates and checks built trees into the manifest (step 5).
fn evaluate_trees<'a>(
    resolved: &'a Resolved<'a>,
    schemas: &'a Schemas<'a>,
    id: InstanceId,
    state: &mut State,
    trees: Trees<'a>,
) -> Compiled {
    let Trees { instance, modules, module_names, module_spans, project, facs, mut errors, shadowed, hints } = trees;
    let info = &resolved.instances[id];
    let (Some(project_decl), Some(_)) = (resolved.project, info.lineage.as_ref()) else {
        return Compiled::failed(Spans::root(info.decl.name.span), errors);
    };
    let instance_ty = Type::Record(schemas.instance);
    let module_ty = Type::Record(schemas.module);
    let project_ty = Type::Record(schemas.project);
    let roots = Roots {
        project: &project,
        instance: &instance,
        modules: &modules,
        module_names: &module_names,
        module_spans: &module_spans,
        facs: &facs,
        shadowed: &shadowed,
    };
    let mut eval = Evaluator::new(roots, state);
    // `self` in schema defaults (spec §5): the record each such default
    // fills, found once the trees are final (nodes no longer move).
    if resolved.schema_parts.values().flatten().any(|s| record_uses_self(&s.record)) {
        let mut selves = evaluate::Selves::default();
        collect_selves(&instance, Scope::Instance, &mut Vec::new(), &mut selves);
        collect_selves(&project, Scope::Project, &mut Vec::new(), &mut selves);
        for (idx, module) in modules.iter().enumerate() {
            collect_selves(module, Scope::Module(idx), &mut Vec::new(), &mut selves);
        }
        eval.set_selves(selves);
    }
    eval.allocate_services();
    let project_value =
        finish_root(&mut eval, schemas, &project, &project_ty, ("project", "project"), project_decl.name.span);
    let instance_what = format!("instance `{}`", info.name());
    let instance_value =
        finish_root(&mut eval, schemas, &instance, &instance_ty, (&instance_what, "instance"), info.decl.name.span);
    let mut module_values = IndexMap::default();
    for (idx, node) in modules.iter().enumerate() {
        let name = module_names.get(idx).copied().unwrap_or("");
        let what = format!("module `{name}`");
        let root = format!("module.{name}");
        let span = module_spans.get(idx).copied().unwrap_or(info.decl.name.span);
        if let Some(v) = finish_root(&mut eval, schemas, node, &module_ty, (&what, &root), span) {
            module_values
                .insert(name.to_string(), reorder(v, &["name", "daemon", "genconfig", "username", "password"]));
        }
    }
    errors.append(&mut eval.errors);
    // A better help for an E010 the merge foresaw (a bare union value).
    for d in &mut errors {
        let at = d.primary.as_ref().map(|p| p.span);
        if let Some((_, help)) = hints.iter().find(|(span, _)| d.code == Code::E010 && Some(*span) == at) {
            d.help = Some(help.clone().into_boxed_str());
        }
    }
    let uniques = std::mem::take(&mut eval.uniques);
    let spans = Spans::of(&instance, info.decl.name.span);
    let (Some(project_value), Some(instance_value)) = (project_value, instance_value) else {
        return Compiled::failed(spans, errors);
    };
    let project_value = reorder(project_value, &["name", "version", "repo", "src_dir"]);
    let version = project_value.get_path(&["version"]).cloned().unwrap_or(Value::Str(String::new()));
    let mut manifest = IndexMap::default();
    manifest.insert("facs".to_string(), Value::Map(manifest_facs(&facs, version)));
    manifest.insert("project".to_string(), project_value);
    manifest.insert("instance".to_string(), instance_value);
    manifest.insert("module".to_string(), Value::Map(module_values));
    Compiled {
        manifest: Manifest { value: Value::Map(manifest), spans },
        diagnostics: errors,
        json: String::new(),
        uniques,
    }
}

/// Whether a field default of `record` (or of its inline records) reads `self`.
fn record_uses_self(record: &crate::syntax::ast::RecordTypeExpr) -> bool {
    record.fields.iter().any(|f| {
        let mut uses = false;
        if let Some(d) = &f.default {
            d.visit_refs(&mut |path, _| uses |= path.first().is_some_and(|n| n.text == "self"));
        }
        uses || matches!(&f.type_.kind, crate::syntax::ast::TypeExprKind::Record(r) if record_uses_self(r))
    })
}

/// Records, for every expression node that reads `self`, the path of the
/// record it belongs to (its parent map), keyed by the expression node's address.
fn collect_selves<'a>(node: &Node<'a>, root: Scope, path: &mut Vec<String>, out: &mut evaluate::Selves<'a>) {
    match &node.kind {
        NodeKind::Map(map) => {
            for (k, child) in map {
                path.push(k.clone());
                collect_selves(child, root, path, out);
                path.pop();
            }
        }
        NodeKind::List(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(i.to_string());
                collect_selves(child, root, path, out);
                path.pop();
            }
        }
        NodeKind::Expr(e) => {
            let mut uses = false;
            e.visit_refs(&mut |p, _| uses |= p.first().is_some_and(|n| n.text == "self"));
            // Only schema defaults have a `self` (spec §5).
            if uses && node.history.iter().any(|step| step.action == merge::Action::Default) {
                // The address is only a key; the record is found again by its path.
                let record = path.get(..path.len().saturating_sub(1)).unwrap_or_default().to_vec();
                out.insert(node as *const Node<'a>, (root, record));
            }
        }
        _ => {}
    }
}

fn finish_root<'a>(
    eval: &mut Evaluator<'a, '_>,
    schemas: &'a Schemas<'a>,
    node: &Node<'a>,
    ty: &Type,
    (what, root): (&str, &str),
    span: crate::source::Span,
) -> Option<Value> {
    let mut finisher = Finisher::new(eval, schemas, Owner { what, root, span });
    finisher.finish(node, ty, true).ok().flatten()
}

fn facs_root<'a>(
    info: &crate::resolve::InstanceInfo<'a>,
    project: &'a crate::syntax::ast::BlockDecl,
    lineage: &[Value],
    owner: &str,
    paths: &Paths,
    release_dir: &str,
) -> Node<'a> {
    let span = info.decl.name.span;
    let mut node = Node::empty_map("facs", span, Scope::Instance);
    let entries = [
        ("instance", Value::Str(info.name().to_string())),
        ("project", Value::Str(project.name.text.clone())),
        ("lineage", Value::List(lineage.to_vec())),
        ("state", Value::Str(owner.to_string())),
        ("src_dir", Value::Str(paths.src_dir.clone())),
        ("release_dir", Value::Str(release_dir.to_string())),
        ("deploy_dir", Value::Str(crate::layout::deploy_dir(release_dir))),
    ];
    if let Some(map) = node.map_mut() {
        for (key, value) in entries {
            map.insert(key.to_string(), Node::new(NodeKind::Const(value), key, span, span, Scope::Instance));
        }
        let mut env = Node::empty_map("env", span, Scope::Instance);
        if let Some(vars) = env.map_mut() {
            for var in &paths.env {
                let kind = match &var.value {
                    Some(v) => NodeKind::Const(Value::Str(v.clone())),
                    None => NodeKind::Derived(merge::Derived::UnsetEnv(var.name.clone())),
                };
                vars.insert(var.name.clone(), Node::new(kind, "env", var.span, var.span, Scope::Instance));
            }
        }
        map.insert("env".to_string(), env);
        // `facs.version` is the project's version, late-bound like any reference.
        let version =
            Node::new(NodeKind::Derived(merge::Derived::ProjectVersion), "version", span, span, Scope::Project);
        map.shift_insert(2, "version".to_string(), version);
    }
    node
}

/// The manifest's `facs` block: the entries of the `facs` root (built once,
/// by [`facs_root`]) that describe the build rather than this machine's
/// paths, with the project's evaluated version.
fn manifest_facs(facs: &Node<'_>, version: Value) -> IndexMap<String, Value> {
    let mut block = IndexMap::default();
    for key in ["instance", "project", "version", "lineage", "state"] {
        let value = match facs.map().and_then(|m| m.get(key)).map(|n| &n.kind) {
            _ if key == "version" => version.clone(),
            Some(NodeKind::Const(v)) => v.clone(),
            _ => continue,
        };
        block.insert(key.to_string(), value);
    }
    block
}

/// Moves the named keys (those present) to the front, in the given order.
fn reorder(value: Value, first: &[&str]) -> Value {
    match value {
        Value::Map(mut map) => {
            let mut out = crate::map::with_capacity(map.len());
            for key in first {
                if let Some(v) = map.shift_remove(*key) {
                    out.insert(key.to_string(), v);
                }
            }
            out.extend(map);
            Value::Map(out)
        }
        other => other,
    }
}
