//! Why a template path is missing (E015, spec §10): the scope Handlebars
//! looked the path up in, what it lacks there, and the closest name.
//!
//! Input: the compiled template, the position Handlebars reports for the
//! failing expression, the written path and the render context. Output: a
//! label ("module `api` has no field `prot`") and, when one fits, a help
//! sentence ("Did you mean `port`?", or `@root`/`../` for a top-level key
//! named inside a loop). Only names (keys) are ever shown, never values, so a
//! secret cannot reach a message. When this walk cannot find the failure
//! itself (a path its simple model of scopes resolves), it says nothing
//! rather than guess.

use super::reads::{split_path, Base};
use crate::diagnostic::closest;
use handlebars::template::{BlockParam, HelperTemplate, Parameter, Template, TemplateElement};
use serde_json::Value as Json;

/// What the failing path lacks.
#[derive(Debug, PartialEq)]
pub struct Missing {
    /// What is wrong at the expression.
    pub label: String,
    /// A proposed fix, when one fits.
    pub help: Option<String>,
}

/// The most loop items considered: nested loops over a large context
/// multiply them, and the first few failures are what a user needs.
const MAX_ITEMS: usize = 10_000;

/// One value a scope may stand for, and how a message names it.
#[derive(Clone)]
struct Item<'j> {
    /// "module `api`", "item 0 of `instance.nodes`"; empty for the root.
    name: String,
    value: &'j Json,
}

/// The scopes an element sees: one frame per enclosing `#each`/`#with`.
struct Scopes<'j> {
    frames: Vec<Vec<Item<'j>>>,
    bindings: Vec<(String, Vec<Item<'j>>)>,
}

/// An enclosing block helper, and whether the element is in its `{{else}}`.
struct Enclosing<'t> {
    helper: &'t HelperTemplate,
    inverse: bool,
}

/// True when the element Handlebars reports at `at` is a plain expression
/// (`{{path}}`, `{{helper args}}`, `{{{path}}}`): one that can be blanked
/// to look for the next failure.
pub fn is_expression(template: &Template, at: (usize, usize)) -> bool {
    let mut blocks = Vec::new();
    matches!(find(template, at, &mut blocks), Some(TemplateElement::Expression(_) | TemplateElement::HtmlExpression(_)))
}

/// Explains why `path` is missing at `at` (line, column) of `template`,
/// rendered with `context`.
pub fn explain(template: &Template, at: (usize, usize), path: &str, context: &Json) -> Option<Missing> {
    let mut blocks = Vec::new();
    find(template, at, &mut blocks)?;
    let scopes = scopes(&blocks, context);
    let depth = scopes.frames.len().saturating_sub(1);
    let ups = count_ups(path);
    let (base, segments) = split_path(path);
    let (start, bound): (Vec<Item<'_>>, bool) = match base {
        Base::Local => return None,
        Base::Root => (vec![Item { name: String::new(), value: context }], false),
        Base::Up => (scopes.frames.get(depth.checked_sub(ups)?).cloned().unwrap_or_default(), false),
        Base::This => (scopes.frames.last().cloned().unwrap_or_default(), false),
        Base::Current => {
            let binding = segments.first().and_then(|first| scopes.bindings.iter().rev().find(|(n, _)| n == first));
            match binding {
                Some((_, items)) => (items.clone(), true),
                None => (scopes.frames.last().cloned().unwrap_or_default(), false),
            }
        }
    };
    let walked = if bound { segments.get(1..).unwrap_or(&[]) } else { &segments[..] };
    let (item, failed_at, parent) = start.iter().find_map(|item| {
        let mut at = item.value;
        for (idx, seg) in walked.iter().enumerate() {
            match child(at, seg) {
                Some(next) => at = next,
                None => return Some((item, idx, at)),
            }
        }
        None
    })?;
    let failing = walked.get(failed_at)?;
    let owner = match (failed_at, item.name.is_empty()) {
        (0, true) => String::new(),
        (0, false) => item.name.clone(),
        (n, true) => format!("`{}`", walked.get(..n).unwrap_or_default().join(".")),
        (n, false) => format!("`{}` of {}", walked.get(..n).unwrap_or_default().join("."), item.name),
    };
    let Json::Object(map) = parent else {
        let what = match parent {
            Json::Array(items) => format!("a list of {} items", items.len()),
            Json::Null => "null".to_string(),
            Json::Bool(_) => "a bool".to_string(),
            Json::Number(_) => "a number".to_string(),
            Json::String(_) => "a string".to_string(),
            Json::Object(_) => return None,
        };
        let owner = if owner.is_empty() { "the value".to_string() } else { owner };
        return Some(Missing { label: format!("{owner} is {what}, it has no `{failing}`"), help: None });
    };
    let label = if owner.is_empty() {
        format!("there is no top-level `{failing}`")
    } else {
        format!("{owner} has no field `{failing}`")
    };
    // `{{instance.name}}` inside `{{#each module}}` looks `instance` up in
    // the module: the top-level key needs `@root.` or `../`.
    let top_level = matches!(context, Json::Object(root) if root.contains_key(failing.as_str()));
    if failed_at == 0 && depth > 0 && !bound && matches!(base, Base::Current | Base::This) && top_level {
        let rest = segments.join(".");
        let up = "../".repeat(depth);
        let block = blocks
            .iter()
            .rev()
            .find(|b| !b.inverse && matches!(helper_name(b.helper), "each" | "with"))
            .map_or("each", |b| helper_name(b.helper));
        return Some(Missing {
            label,
            help: Some(format!(
                "`{failing}` is a top-level key, but inside `{{{{#{block}}}}}` a path is looked up in the current \
                 item: write `{{{{@root.{rest}}}}}` or `{{{{{up}{rest}}}}}`."
            )),
        });
    }
    let help = closest(failing, map.keys().map(String::as_str)).map(|s| format!("Did you mean `{s}`?"));
    Some(Missing { label, help })
}

/// How many `../` a path starts with.
fn count_ups(path: &str) -> usize {
    let mut rest = path.trim();
    let mut n = 0;
    while let Some(r) = rest.strip_prefix("../") {
        n += 1;
        rest = r;
    }
    n
}

fn child<'j>(value: &'j Json, key: &str) -> Option<&'j Json> {
    match value {
        Json::Object(map) => map.get(key),
        Json::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

fn helper_name(h: &HelperTemplate) -> &str {
    match &h.name {
        Parameter::Name(n) => n.as_str(),
        _ => "",
    }
}

/// The element at `at`, with the blocks around it (outermost first).
fn find<'t>(
    template: &'t Template,
    at: (usize, usize),
    blocks: &mut Vec<Enclosing<'t>>,
) -> Option<&'t TemplateElement> {
    for (idx, element) in template.elements.iter().enumerate() {
        if template.mapping.get(idx).is_some_and(|m| (m.0, m.1) == at) {
            return Some(element);
        }
        if let TemplateElement::HelperBlock(h) = element {
            for (inner, inverse) in [(&h.template, false), (&h.inverse, true)] {
                if let Some(t) = inner {
                    blocks.push(Enclosing { helper: h, inverse });
                    if let Some(found) = find(t, at, blocks) {
                        return Some(found);
                    }
                    blocks.pop();
                }
            }
        }
    }
    None
}

/// The scopes inside `blocks`, over the real context.
fn scopes<'j>(blocks: &[Enclosing<'_>], context: &'j Json) -> Scopes<'j> {
    let mut scopes = Scopes { frames: vec![vec![Item { name: String::new(), value: context }]], bindings: Vec::new() };
    for block in blocks {
        let name = helper_name(block.helper);
        // The `{{else}}` of a loop runs in the outer scope; `#if` and other
        // blocks keep the scope.
        if block.inverse || !matches!(name, "each" | "with") {
            continue;
        }
        let Some(subject) = block.helper.params.first() else { continue };
        let Some(raw) = param_path(subject) else {
            // A computed subject: nothing is known about the items.
            scopes.frames.push(Vec::new());
            continue;
        };
        let subjects = resolve(&scopes, context, raw);
        let mut items = Vec::new();
        for subject in subjects {
            if name == "with" {
                items.push(Item { name: format!("`{raw}`"), value: subject.value });
                continue;
            }
            match subject.value {
                Json::Object(map) => items.extend(map.iter().map(|(k, v)| Item { name: entry_name(raw, k), value: v })),
                Json::Array(list) => items.extend(
                    list.iter().enumerate().map(|(i, v)| Item { name: format!("item {i} of `{raw}`"), value: v }),
                ),
                _ => {}
            }
            if items.len() > MAX_ITEMS {
                items.truncate(MAX_ITEMS);
                break;
            }
        }
        if let Some(BlockParam::Single(p) | BlockParam::Pair((p, _))) = &block.helper.block_param {
            if let Some(bound) = param_name(p) {
                scopes.bindings.push((bound, items.clone()));
            }
        }
        scopes.frames.push(items);
    }
    scopes
}

/// "module `api`" for an entry of `module`, else "`path.key`".
fn entry_name(raw: &str, key: &str) -> String {
    let last = raw.rsplit(['.', '/']).next().unwrap_or(raw);
    if last == "module" {
        format!("module `{key}`")
    } else {
        format!("`{raw}.{key}`")
    }
}

fn param_path(p: &Parameter) -> Option<&str> {
    match p {
        Parameter::Path(handlebars::Path::Relative((_, raw))) => Some(raw.as_str()),
        Parameter::Name(n) => Some(n.as_str()),
        _ => None,
    }
}

fn param_name(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Path(handlebars::Path::Relative((_, raw))) => Some(raw.clone()),
        _ => None,
    }
}

/// The values a loop subject may name in `scopes`.
fn resolve<'j>(scopes: &Scopes<'j>, context: &'j Json, raw: &str) -> Vec<Item<'j>> {
    let (base, segments) = split_path(raw);
    let depth = scopes.frames.len().saturating_sub(1);
    let mut walked: &[String] = &segments;
    let start: Vec<Item<'j>> = match base {
        Base::Local => return Vec::new(),
        Base::Root => vec![Item { name: String::new(), value: context }],
        Base::Up => depth.checked_sub(count_ups(raw)).and_then(|d| scopes.frames.get(d)).cloned().unwrap_or_default(),
        Base::This => scopes.frames.last().cloned().unwrap_or_default(),
        Base::Current => {
            match segments.first().and_then(|first| scopes.bindings.iter().rev().find(|(n, _)| n == first)) {
                Some((_, items)) => {
                    walked = segments.get(1..).unwrap_or(&[]);
                    items.clone()
                }
                None => scopes.frames.last().cloned().unwrap_or_default(),
            }
        }
    };
    start
        .into_iter()
        .filter_map(|item| {
            let mut at = item.value;
            for seg in walked {
                at = child(at, seg)?;
            }
            Some(Item { name: item.name, value: at })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explain_at(text: &str, path: &str) -> Option<Missing> {
        let template = Template::compile(text).expect("template");
        let context = serde_json::json!({
            "instance": { "name": "beta", "domain": "example.org", "port": 80 },
            "module": { "api": { "port": 8080 }, "web": { "port": 80 } },
        });
        // The failing expression is the first that names the path.
        let offset = text.find(&format!("{{{{{path}")).expect("an expression");
        let line = text.get(..offset).unwrap_or("").matches('\n').count() + 1;
        let col = offset - text.get(..offset).unwrap_or("").rfind('\n').map_or(0, |p| p + 1) + 1;
        explain(&template, (line, col), path, &context)
    }

    #[test]
    fn a_misspelt_field_gets_the_closest_name() {
        let m = explain_at("x={{instance.domian}}", "instance.domian").expect("explained");
        assert_eq!(m.label, "`instance` has no field `domian`");
        assert_eq!(m.help.as_deref(), Some("Did you mean `domain`?"));
    }

    #[test]
    fn inside_a_loop_the_item_is_named() {
        let m = explain_at("{{#each module}}\n  {{prot}}\n{{/each}}", "prot").expect("explained");
        assert_eq!(m.label, "module `api` has no field `prot`");
        assert_eq!(m.help.as_deref(), Some("Did you mean `port`?"));
        let m = explain_at("{{#each module as |m|}}{{m.prot}}{{/each}}", "m.prot").expect("explained");
        assert_eq!(m.label, "module `api` has no field `prot`");
    }

    #[test]
    fn a_top_level_key_inside_a_loop_needs_root() {
        let m = explain_at("{{#each module}}{{instance.name}}{{/each}}", "instance.name").expect("explained");
        let help = m.help.expect("help");
        assert!(help.contains("`{{@root.instance.name}}`") && help.contains("`{{../instance.name}}`"), "{help}");
    }

    #[test]
    fn a_path_that_resolves_here_is_not_explained() {
        assert_eq!(explain_at("{{instance.name}}", "instance.name"), None);
        assert_eq!(explain_at("{{@index}}", "@index"), None);
    }
}
