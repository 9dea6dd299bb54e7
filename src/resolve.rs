//! Stage 2, resolve: every file's declarations → one table of named
//! declarations with each instance's lineage.
//!
//! Input: the parsed files in declaration order. Output: [`Resolved`].
//! Invariants: names are unique per kind (E002); every instance whose
//! `inherits`/`on` graph is sound has its lineage, the reverse of its C3
//! linearization, most-base first (spec §6); an instance that depends on a
//! broken one gets no lineage and no further error, so each mistake is
//! reported once.

mod c3;
mod diagnostics;
mod ids;
mod view;

pub use view::component_view;

use crate::diagnostic::{closest, Sink};
use crate::map::IndexMap;
use crate::syntax::ast::{BlockDecl, Decl, File, InstanceDecl, Name, SchemaDecl};

pub use ids::{InstanceId, Instances};

/// A node of the `inherits`/`on` graph while it is built: a plain index,
/// private to resolution, which hands out [`InstanceId`]s only for the
/// table it returns.
type Node = usize;

/// One instance or overlay with what resolution learnt about it.
#[derive(Debug)]
pub struct InstanceInfo<'a> {
    /// The declaration.
    pub decl: &'a InstanceDecl,
    /// Most-base first, itself last; `None` when its graph is broken.
    pub lineage: Option<Vec<InstanceId>>,
    /// The instance whose state it uses (itself, or the root of an overlay's `on` chain).
    pub state_owner: InstanceId,
}

impl InstanceInfo<'_> {
    /// The instance's name.
    pub fn name(&self) -> &str {
        &self.decl.name.text
    }

    /// True for `overlay NAME on BASE`.
    pub fn is_overlay(&self) -> bool {
        self.decl.overlay_base.is_some()
    }

    /// True when a manifest is built for it.
    pub fn is_concrete(&self) -> bool {
        !self.decl.is_abstract
    }
}

/// The declarations of a definition directory, by kind, in declaration order.
#[derive(Debug)]
pub struct Resolved<'a> {
    /// The one `project` (absent: E009 was reported).
    pub project: Option<&'a BlockDecl>,
    /// User schemas by name (the first declaration of each).
    pub schemas: IndexMap<&'a str, &'a SchemaDecl>,
    /// Every declaration of each schema, in declaration order: repeated
    /// `schema NAME { }` declarations merge field by field (spec §4).
    pub schema_parts: IndexMap<&'a str, Vec<&'a SchemaDecl>>,
    /// Modules by name, in declaration order.
    pub modules: IndexMap<&'a str, &'a BlockDecl>,
    /// In a component's view (spec §4), the component's declarations of a
    /// module the conglomerate also declares: applied after its body
    /// (component-specific data wins). Empty otherwise.
    pub module_parts: IndexMap<&'a str, Vec<&'a BlockDecl>>,
    /// Instances and overlays in declaration order.
    pub instances: Instances<'a>,
    /// Name → index into `instances`.
    pub by_name: std::collections::HashMap<&'a str, InstanceId>,
}

/// Names the built-in schemas take; all but `Install` may be extended.
/// Spec v2 §7 closes `Deploy` and `Service`, but the original facsimile let
/// both carry any key (a service's `port`, deploy's `libcheck_ignorelist`)
/// and `facs import` must keep them: see docs/decisions/import.md.
pub const EXTENSIBLE_SCHEMAS: &[&str] = &["Project", "Instance", "Module", "Target", "Deploy", "Service"];
/// Built-in record names that a user schema may not redeclare.
pub const CLOSED_SCHEMAS: &[&str] = &["Install"];
/// Primitive type names.
pub const PRIMITIVE_TYPES: &[&str] = &["string", "int", "float", "bool", "secret", "any"];

/// Resolves the declarations of all files (given in declaration order).
pub fn resolve<'a>(files: &'a [File], sink: &mut Sink) -> Resolved<'a> {
    let mut project: Option<&BlockDecl> = None;
    let mut schemas: IndexMap<&str, &SchemaDecl> = IndexMap::default();
    let mut schema_parts: IndexMap<&str, Vec<&SchemaDecl>> = IndexMap::default();
    let mut modules: IndexMap<&str, &BlockDecl> = IndexMap::default();
    let mut instance_decls: Vec<&InstanceDecl> = Vec::new();
    let mut by_name: std::collections::HashMap<&str, Node> = std::collections::HashMap::new();

    for decl in files.iter().flat_map(|f| f.decls.iter()) {
        match decl {
            Decl::Project(p) => match project {
                Some(first) => sink.push(diagnostics::second_project(first, p)),
                None => project = Some(p),
            },
            Decl::Module(m) => {
                if let Some(first) = modules.get(m.name.text.as_str()) {
                    sink.push(diagnostics::duplicate("module", &first.name, &m.name));
                } else {
                    modules.insert(&m.name.text, m);
                }
            }
            Decl::Schema(s) => {
                let name = s.name.text.as_str();
                if CLOSED_SCHEMAS.contains(&name) || PRIMITIVE_TYPES.contains(&name) {
                    sink.push(diagnostics::builtin_schema_redeclared(&s.name));
                } else {
                    schemas.entry(name).or_insert(s);
                    schema_parts.entry(name).or_default().push(s);
                }
            }
            // Expanded before resolution (`syntax::generate`): one still
            // here failed to expand, and that was reported.
            Decl::Generator(_) => {}
            Decl::Instance(i) => {
                if let Some(&first) = by_name.get(i.name.text.as_str()) {
                    if let Some(first) = instance_decls.get(first) {
                        let mut d = diagnostics::duplicate("instance", &first.name, &i.name);
                        // Generated copies share their name's span: the elements tell them apart.
                        for (decl, what) in [(*first, "first generated"), (i, "generated again")] {
                            if let Some(o) = &decl.origin {
                                d = d.with_label(
                                    o.element,
                                    format!("{what} from this element ({})", o.bindings.join(", ")),
                                );
                            }
                        }
                        sink.push(d);
                    }
                } else {
                    by_name.insert(&i.name.text, instance_decls.len());
                    instance_decls.push(i);
                }
            }
        }
    }
    if project.is_none() {
        sink.push(diagnostics::no_project());
    }

    let graph = Graph::build(&instance_decls, &by_name, sink);
    let lineages = graph.lineages(&instance_decls, sink);
    let instances = Instances::new(
        instance_decls
            .iter()
            .enumerate()
            .map(|(id, decl)| InstanceInfo {
                decl,
                lineage: lineages.get(id).cloned().flatten().map(|l| l.into_iter().map(InstanceId::new).collect()),
                state_owner: InstanceId::new(graph.state_owner(id)),
            })
            .collect(),
    );
    let by_name = by_name.into_iter().map(|(name, id)| (name, InstanceId::new(id))).collect();
    Resolved { project, schemas, schema_parts, modules, module_parts: IndexMap::default(), instances, by_name }
}

/// The `inherits`/`on` edges, with unknown names and overlay parents already
/// reported.
struct Graph {
    /// Parents in `inherits` order, or the one `on` base.
    parents: Vec<Vec<Node>>,
    /// Instances with a bad edge of their own.
    broken: Vec<bool>,
    /// Which nodes are overlays (their one parent is their `on` base).
    overlay: Vec<bool>,
}

impl Graph {
    fn build(decls: &[&InstanceDecl], by_name: &std::collections::HashMap<&str, Node>, sink: &mut Sink) -> Graph {
        let mut parents = vec![Vec::new(); decls.len()];
        let mut broken = vec![false; decls.len()];
        for (id, decl) in decls.iter().enumerate() {
            let names: Vec<&Name> = decl.overlay_base.iter().chain(decl.parents.iter()).collect();
            for parent in names {
                match by_name.get(parent.text.as_str()) {
                    None => {
                        let suggestion = closest(&parent.text, by_name.keys().copied());
                        sink.push(diagnostics::unknown_parent(parent, decl.overlay_base.is_some(), suggestion));
                        if let Some(flag) = broken.get_mut(id) {
                            *flag = true;
                        }
                    }
                    Some(&pid) => {
                        let parent_decl = decls.get(pid);
                        if decl.overlay_base.is_none() && parent_decl.is_some_and(|p| p.overlay_base.is_some()) {
                            sink.push(diagnostics::inherits_overlay(parent, parent_decl.map(|p| &p.name)));
                            if let Some(flag) = broken.get_mut(id) {
                                *flag = true;
                            }
                        }
                        if let Some(list) = parents.get_mut(id) {
                            list.push(pid);
                        }
                    }
                }
            }
        }
        let overlay = decls.iter().map(|d| d.overlay_base.is_some()).collect();
        Graph { parents, broken, overlay }
    }

    fn state_owner(&self, mut id: Node) -> Node {
        // Follow `on` links while the node is an overlay. Cycles were
        // reported; the step bound keeps a cyclic graph from looping.
        let mut steps = 0;
        while let Some(&[base]) = self.parents.get(id).map(Vec::as_slice) {
            if steps > self.parents.len() || !self.is_overlay_edge(id) {
                break;
            }
            id = base;
            steps += 1;
        }
        id
    }

    fn is_overlay_edge(&self, id: Node) -> bool {
        self.overlay.get(id).copied().unwrap_or(false)
    }

    /// Lineage of every instance, or `None` for broken ones. Iterative, so a
    /// very deep chain cannot overflow the stack.
    fn lineages(&self, decls: &[&InstanceDecl], sink: &mut Sink) -> Vec<Option<Vec<Node>>> {
        let n = decls.len();
        let cycles = c3::find_cycles(&self.parents);
        let mut in_cycle = vec![false; n];
        for cycle in &cycles {
            for &id in cycle {
                if let Some(flag) = in_cycle.get_mut(id) {
                    *flag = true;
                }
            }
            sink.push(diagnostics::cycle(cycle, decls));
        }
        let order = c3::topological(&self.parents);
        let mut mros: Vec<Option<Vec<Node>>> = vec![None; n];
        for id in order {
            if self.broken.get(id).copied().unwrap_or(true) || in_cycle.get(id).copied().unwrap_or(true) {
                continue;
            }
            let parent_ids = self.parents.get(id).cloned().unwrap_or_default();
            let mut parent_mros = Vec::with_capacity(parent_ids.len());
            let mut ok = true;
            for &p in &parent_ids {
                match mros.get(p).cloned().flatten() {
                    Some(m) => parent_mros.push(m),
                    None => ok = false,
                }
            }
            if !ok {
                continue;
            }
            let Some(decl) = decls.get(id) else { continue };
            match c3::linearize(id, &parent_ids, parent_mros) {
                Ok(mro) if mro.len() > c3::MAX_LINEAGE => {
                    sink.push(diagnostics::lineage_too_long(decl, c3::MAX_LINEAGE));
                }
                Ok(mro) => {
                    if let Some(slot) = mros.get_mut(id) {
                        *slot = Some(mro);
                    }
                }
                Err(c3::NoOrder) => sink.push(diagnostics::no_c3_order(decl)),
            }
        }
        mros.into_iter()
            .map(|m| {
                m.map(|mut mro| {
                    mro.reverse();
                    mro
                })
            })
            .collect()
    }
}
