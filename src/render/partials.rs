//! Partials that include each other. Handlebars renders a partial by
//! recursing on the native stack with no depth limit, so `a` including `b`
//! including `a` overflows the stack and aborts the process: no diagnostic, no
//! cleanup, and in `facs lsp` unbounded memory first. The include graph is
//! known before rendering (a partial's name is written in the template), so
//! cycles are found here and reported as E015 with the chain, and the
//! templates in them are not rendered. A partial whose name is computed at
//! render time (`{{> (lookup ...)}}`) cannot be checked, so it is refused.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceMap, Span};
use handlebars::template::{Parameter, Template, TemplateElement, TemplateMapping};
use std::collections::{BTreeMap, BTreeSet};

/// A node of the include graph: a template file, or an inline partial
/// (`{{#*inline "x"}}`) declared in one (`file#x`).
type Node = String;

/// One `{{> name}}` and where it is written.
struct Include {
    /// The node it leads to.
    to: Node,
    /// The partial's name as written.
    written: String,
    /// Line and column in the file.
    at: (usize, usize),
}

/// The include graph of the registered templates `names`.
struct Graph {
    edges: BTreeMap<Node, Vec<Include>>,
    /// Dynamic partial names: (file, position).
    dynamic: Vec<(String, (usize, usize))>,
}

/// Reports include cycles and dynamic partial names as E015; returns the
/// template files that must not be rendered.
pub fn check(
    registry: &handlebars::Handlebars<'_>,
    names: &[String],
    sources: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> BTreeSet<String> {
    let mut graph = Graph { edges: BTreeMap::new(), dynamic: Vec::new() };
    for name in names {
        if let Some(template) = registry.get_template(name) {
            let inline = inline_names(template);
            graph.walk(name, name, template, &inline);
        }
    }
    let mut refused = BTreeSet::new();
    for (file, at) in &graph.dynamic {
        refused.insert(file.clone());
        errors.push(
            Diagnostic::error(Code::E015, span(sources, file, *at), "partial name computed at render time")
                .with_primary_label("facs cannot tell which template this includes")
                .with_help("Name the partial in the template (`{{> tmpl/_ALL_/part.txt}}`): facs checks includes for cycles before rendering."),
        );
    }
    for cycle in graph.cycles() {
        let Some(first) = cycle.first() else { continue };
        let Some(include) =
            graph.edges.get(first).and_then(|es| es.iter().find(|e| cycle.get(1).unwrap_or(first) == &e.to))
        else {
            continue;
        };
        let file = file_of(first);
        let chain: Vec<&str> = cycle.iter().map(String::as_str).chain(std::iter::once(first.as_str())).collect();
        for node in &cycle {
            refused.insert(file_of(node).to_string());
        }
        errors.push(
            Diagnostic::error(
                Code::E015,
                span(sources, file, include.at),
                format!("template partials include each other: {}", chain.join(" → ")),
            )
            .with_primary_label(format!("includes `{}`, which leads back here", include.written))
            .with_help("Break the cycle: a partial cannot include itself, directly or through others."),
        );
    }
    refused
}

fn file_of(node: &str) -> &str {
    node.split_once('#').map_or(node, |(file, _)| file)
}

fn span(sources: &SourceMap, file: &str, (line, column): (usize, usize)) -> Span {
    match sources.find(file) {
        Some(id) => {
            let Some(f) = sources.get(id) else { return Span::new(id, 0, 0) };
            let start = f.offset_of(line, column);
            // The whole `{{> name}}` when its end is on record.
            let end = f.text.get(start..).and_then(|rest| rest.find("}}")).map_or(start + 1, |i| start + i + 2);
            Span::new(id, start, end)
        }
        None => Span::new(crate::source::FileId(0), 0, 0),
    }
}

/// The inline partials a template declares, anywhere in it.
fn inline_names(template: &Template) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    visit(template, &mut |element, _| {
        if let TemplateElement::DecoratorBlock(d) | TemplateElement::DecoratorExpression(d) = element {
            if matches!(&d.name, Parameter::Name(n) if n == "inline") {
                if let Some(name) = d.params.first().and_then(literal) {
                    out.insert(name);
                }
            }
        }
    });
    out
}

/// Calls `f` on every element of `template` and of the blocks inside it,
/// with the element's position.
fn visit(template: &Template, f: &mut dyn FnMut(&TemplateElement, (usize, usize))) {
    for (i, element) in template.elements.iter().enumerate() {
        let at = template.mapping.get(i).map_or((1, 1), |m: &TemplateMapping| (m.0, m.1));
        f(element, at);
        match element {
            TemplateElement::HelperBlock(h) => {
                for t in [&h.template, &h.inverse].into_iter().flatten() {
                    visit(t, f);
                }
            }
            TemplateElement::DecoratorBlock(d) | TemplateElement::PartialBlock(d) => {
                if let Some(t) = &d.template {
                    visit(t, f);
                }
            }
            _ => {}
        }
    }
}

fn literal(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Literal(serde_json::Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

impl Graph {
    /// Adds the includes of `template` (the body of `node`, in `file`).
    fn walk(&mut self, file: &str, node: &str, template: &Template, inline: &BTreeSet<String>) {
        for (i, element) in template.elements.iter().enumerate() {
            let at = template.mapping.get(i).map_or((1, 1), |m: &TemplateMapping| (m.0, m.1));
            match element {
                TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                    match literal(&d.name) {
                        Some(written) => {
                            let to =
                                if inline.contains(&written) { format!("{file}#{written}") } else { written.clone() };
                            self.edges.entry(node.to_string()).or_default().push(Include { to, written, at });
                        }
                        None => self.dynamic.push((file.to_string(), at)),
                    }
                    if let Some(t) = &d.template {
                        self.walk(file, node, t, inline);
                    }
                }
                TemplateElement::DecoratorBlock(d) => {
                    let is_inline = matches!(&d.name, Parameter::Name(n) if n == "inline");
                    match (is_inline, d.params.first().and_then(literal), &d.template) {
                        (true, Some(name), Some(t)) => self.walk(file, &format!("{file}#{name}"), t, inline),
                        (_, _, Some(t)) => self.walk(file, node, t, inline),
                        _ => {}
                    }
                }
                TemplateElement::HelperBlock(h) => {
                    for t in [&h.template, &h.inverse].into_iter().flatten() {
                        self.walk(file, node, t, inline);
                    }
                }
                _ => {}
            }
        }
    }

    /// Every elementary cycle reported once, as its nodes from the smallest
    /// (iterative DFS: the graph itself may be deep).
    fn cycles(&self) -> Vec<Vec<Node>> {
        let mut found: BTreeSet<Vec<Node>> = BTreeSet::new();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        for start in self.edges.keys() {
            if done.contains(start.as_str()) {
                continue;
            }
            // (node, next edge index) and the path of nodes.
            let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
            let mut on_path: Vec<&str> = vec![start.as_str()];
            while let Some(&(node, next)) = stack.last() {
                let edges = self.edges.get(node).map_or(&[][..], Vec::as_slice);
                let Some(edge) = edges.get(next) else {
                    done.insert(node);
                    stack.pop();
                    on_path.pop();
                    continue;
                };
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let to = edge.to.as_str();
                if let Some(pos) = on_path.iter().position(|n| *n == to) {
                    let mut cycle: Vec<Node> = on_path.iter().skip(pos).map(|s| s.to_string()).collect();
                    let min = cycle.iter().enumerate().min_by_key(|(_, n)| n.as_str()).map_or(0, |(i, _)| i);
                    cycle.rotate_left(min);
                    found.insert(cycle);
                } else if !done.contains(to) && self.edges.contains_key(to) {
                    stack.push((to, 0));
                    on_path.push(to);
                }
            }
        }
        found.into_iter().collect()
    }
}
