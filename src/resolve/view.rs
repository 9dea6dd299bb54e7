//! A component's view of a conglomerate (spec §4, `docs/decisions/components.md`).
//!
//! Input: the conglomerate's [`Resolved`] and the component's own (each
//! resolved from its own files). Output: one [`Resolved`] in which every
//! conglomerate instance keeps its id, and its lineage is the conglomerate's
//! followed by the lineage of the component's `instance X` when the
//! component declares one (component-specific data wins, applied last).
//! The component's own declarations follow the conglomerate's, with ids
//! shifted past them. Modules are the conglomerate's (shared) then the
//! component's; a module both declare is one module, the component's body
//! applied after the conglomerate's. Schemas merge part by part as repeated
//! schemas do.
//!
//! Invariant: a conglomerate instance whose component lineage is broken has
//! no lineage in the view (the component's resolution reported why).

use super::{InstanceInfo, Instances, Resolved};
use crate::map::IndexMap;
use crate::syntax::ast::BlockDecl;

/// The view component `component` has of the conglomerate `conglomerate`.
pub fn component_view<'a>(conglomerate: &Resolved<'a>, component: &Resolved<'a>) -> Resolved<'a> {
    let shift = conglomerate.instances.len();
    let mut schemas = conglomerate.schemas.clone();
    let mut schema_parts = conglomerate.schema_parts.clone();
    for (name, parts) in &component.schema_parts {
        schema_parts.entry(name).or_default().extend(parts.iter().copied());
    }
    for (name, decl) in &component.schemas {
        schemas.entry(name).or_insert(decl);
    }
    let mut modules = conglomerate.modules.clone();
    let mut module_parts: IndexMap<&'a str, Vec<&'a BlockDecl>> = IndexMap::default();
    for (&name, &decl) in &component.modules {
        if modules.contains_key(name) {
            // One module, shared: the component's body applies after the
            // conglomerate's, like its `instance X` after the conglomerate's X.
            module_parts.entry(name).or_default().push(decl);
        } else {
            modules.insert(name, decl);
        }
    }
    let mut instances: Vec<InstanceInfo<'a>> = conglomerate
        .instances
        .iter()
        .map(|info| {
            let own = component.by_name.get(info.name()).map(|&c| &component.instances[c]);
            let lineage = match (&info.lineage, own) {
                (Some(base), None) => Some(base.clone()),
                (Some(base), Some(own)) => own.lineage.as_ref().map(|tail| {
                    let mut lineage = base.clone();
                    lineage.extend(tail.iter().map(|&i| i.shifted(shift)));
                    lineage
                }),
                (None, _) => None,
            };
            InstanceInfo { decl: info.decl, lineage, state_owner: info.state_owner }
        })
        .collect();
    instances.extend(component.instances.iter().map(|info| InstanceInfo {
        decl: info.decl,
        lineage: info.lineage.as_ref().map(|l| l.iter().map(|&i| i.shifted(shift)).collect()),
        state_owner: info.state_owner.shifted(shift),
    }));
    let mut by_name = conglomerate.by_name.clone();
    for (name, &id) in &component.by_name {
        by_name.entry(name).or_insert(id.shifted(shift));
    }
    Resolved {
        project: component.project,
        schemas,
        schema_parts,
        modules,
        module_parts,
        instances: Instances::new(instances),
        by_name,
    }
}
