//! Diagnostics of the resolve stage, built next to where they are detected.

use super::Node;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{BlockDecl, InstanceDecl, Name};

pub fn second_project(first: &BlockDecl, second: &BlockDecl) -> Diagnostic {
    Diagnostic::error(Code::E002, second.name.span, format!("a second project `{}`", second.name.text))
        .with_primary_label("second project declared here")
        .with_label(first.name.span, format!("the project `{}` is declared here", first.name.text))
        .with_help("A definition directory describes exactly one project: remove one of the declarations.")
}

pub fn duplicate(kind: &str, first: &Name, second: &Name) -> Diagnostic {
    Diagnostic::error(Code::E002, second.span, format!("{kind} `{}` is declared twice", second.text))
        .with_primary_label("declared again here")
        .with_label(first.span, "first declared here")
        .with_help(format!("Rename one of them, or merge the two {kind} declarations into one."))
}

pub fn builtin_schema_redeclared(name: &Name) -> Diagnostic {
    Diagnostic::error(Code::E002, name.span, format!("`{}` is a built-in type and cannot be redeclared", name.text))
        .with_primary_label("built-in name")
        .with_help("Only Project, Instance, Module, Target, Deploy and Service can be extended; choose another name for this schema.")
}

pub fn no_project() -> Diagnostic {
    Diagnostic::global(Code::E009, "no `project` declaration in the definition directory")
        .with_help("Add a file with `project NAME { version: \"1.0.0\" }`.")
}

pub fn unknown_parent(parent: &Name, is_overlay: bool, suggestion: Option<&str>) -> Diagnostic {
    let what = if is_overlay { "overlay base" } else { "parent" };
    let d = Diagnostic::error(Code::E003, parent.span, format!("unknown instance `{}`", parent.text))
        .with_primary_label(format!("no instance or overlay is named `{}`", parent.text));
    match suggestion {
        Some(s) => d.with_help(format!("Did you mean `{s}`?")),
        None => d.with_help(format!("Declare an instance named `{}`, or name an existing {what}.", parent.text)),
    }
}

pub fn inherits_overlay(parent: &Name, overlay_name: Option<&Name>) -> Diagnostic {
    let d = Diagnostic::error(Code::E014, parent.span, format!("cannot inherit from overlay `{}`", parent.text))
        .with_primary_label("this is an overlay");
    let d = match overlay_name {
        Some(n) => d.with_label(n.span, "declared as an overlay here"),
        None => d,
    };
    d.with_help("Overlays share their base's state and cannot be inherited; inherit from the overlay's base, or turn the overlay into an instance.")
}

pub fn cycle(members: &[Node], decls: &[&InstanceDecl]) -> Diagnostic {
    let named: Vec<&InstanceDecl> = members.iter().filter_map(|&m| decls.get(m).copied()).collect();
    // Report at the first member in declaration order (ids are declaration order).
    let first_pos = members.iter().enumerate().min_by_key(|(_, &m)| m).map_or(0, |(i, _)| i);
    let ordered: Vec<&InstanceDecl> = named.iter().cycle().skip(first_pos).take(named.len()).copied().collect();
    let mut chain: Vec<&str> = ordered.iter().map(|d| d.name.text.as_str()).collect();
    if let Some(first) = chain.first().copied() {
        chain.push(first);
    }
    let Some(first) = ordered.first() else {
        return Diagnostic::global(Code::E004, "inheritance cycle");
    };
    let mut d = Diagnostic::error(Code::E004, first.name.span, format!("inheritance cycle: {}", chain.join(" → ")))
        .with_primary_label("this instance is its own ancestor");
    for (idx, decl) in ordered.iter().enumerate() {
        let next = ordered.get((idx + 1) % ordered.len()).map_or("", |n| n.name.text.as_str());
        let edge = decl.parents.iter().chain(decl.overlay_base.iter()).find(|p| p.text == next);
        if let Some(edge) = edge {
            d = d.with_label(edge.span, format!("`{}` inherits `{}`", decl.name.text, next));
        }
    }
    d.with_help("Remove one of the `inherits`/`on` links so that the chain ends.")
}

pub fn no_c3_order(decl: &InstanceDecl) -> Diagnostic {
    let parents: Vec<&str> = decl.parents.iter().map(|p| p.text.as_str()).collect();
    Diagnostic::error(
        Code::E005,
        decl.name.span,
        format!("no consistent inheritance order for `{}`", decl.name.text),
    )
    .with_primary_label(format!("inherits {}", parents.join(", ")))
    .with_help("The parents' own orders conflict (one lists A before B, another B before A); reorder the `inherits` lists so they agree.")
}

pub fn lineage_too_long(decl: &InstanceDecl, limit: usize) -> Diagnostic {
    Diagnostic::error(
        Code::E005,
        decl.name.span,
        format!("the lineage of `{}` is longer than {limit} instances", decl.name.text),
    )
    .with_primary_label("inheritance chain too deep")
    .with_help("Flatten the hierarchy: a chain this deep cannot be a hand-written environment tree.")
}
