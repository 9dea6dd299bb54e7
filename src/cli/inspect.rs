//! Read-only commands that answer questions about a project: `explain`,
//! `diff`, `list`, `graph`. They evaluate with the state as it is (missing
//! secrets as placeholders) and write nothing.

use super::{open, Ui};
use crate::build::{Mode, Options, Session};
use crate::eval::explain::{self, ExplainError, Explanation};
use crate::eval::Value;
use crate::resolve::InstanceId;
use crate::source::SourceMap;
use crate::state::StateDir;

/// Loads and analyses, printing errors; `None` when that failed.
fn analysed<T>(options: &Options, ui: &mut Ui, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
    let mut session = open(options, ui).ok()?;
    let result = f(&mut session);
    let diagnostics = session.sink.into_sorted();
    if diagnostics.iter().any(|d| d.is_error()) {
        ui.diagnostics(&session.sources, &diagnostics);
        return None;
    }
    Some(result)
}

fn place(sources: &SourceMap, span: crate::source::Span) -> (String, usize, String) {
    let file = sources.get(span.file);
    let (line, _) = file.map_or((0, 0), |f| f.line_col(span.start as usize));
    // Shown on a terminal like a diagnostic's excerpt: a bidi or control
    // character in the line (or the name) is escaped.
    let text = file.map(|f| crate::diagnostic::visible(f.line_text(line).trim())).unwrap_or_default();
    (file.map_or(String::new(), |f| crate::diagnostic::visible(&f.name)), line, text)
}

/// A table cell: a value computed from a secret is redacted, as in manifests.
fn cell(value: &Value) -> String {
    if value.contains_secret() {
        crate::eval::value::REDACTED.to_string()
    } else {
        value.interpolated().unwrap_or_else(|| "-".into())
    }
}

/// A source line set a secret: its string literals are shown redacted (the
/// `${...}` references in them stay, they are names, not values).
fn redact_literals(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    let mut depth = 0usize;
    let mut hid = false;
    while let Some(c) = chars.next() {
        if !in_string {
            out.push(c);
            if c == '"' {
                in_string = true;
                hid = false;
            }
            continue;
        }
        match c {
            '\\' if depth == 0 => {
                chars.next();
                if !hid {
                    out.push_str(crate::eval::value::REDACTED);
                    hid = true;
                }
            }
            '$' if depth == 0 && chars.peek() == Some(&'{') => {
                chars.next();
                depth = 1;
                out.push_str("${");
                hid = false;
            }
            '{' if depth > 0 => {
                depth += 1;
                out.push(c);
            }
            '}' if depth > 0 => {
                depth -= 1;
                out.push(c);
            }
            c if depth > 0 => out.push(c),
            '"' => {
                in_string = false;
                out.push(c);
            }
            _ => {
                if !hid {
                    out.push_str(crate::eval::value::REDACTED);
                    hid = true;
                }
            }
        }
    }
    out
}

fn shown(value: &Option<Value>) -> String {
    match value {
        Some(v) => serde_json::to_string(&v.json(false)).unwrap_or_default(),
        None => "(does not evaluate: run `facs check`)".into(),
    }
}

/// The step whose value is the final one: the last, when it sets the whole
/// value (a merge or an append combines every step, so none wins alone).
fn winning_step(e: &Explanation) -> Option<usize> {
    use crate::eval::merge::Action;
    let last = e.steps.len().checked_sub(1)?;
    let sets = matches!(e.steps.get(last)?.action, Action::Set | Action::Replace | Action::Default | Action::Derived);
    (sets && e.steps.len() > 1).then_some(last)
}

/// Where a stored value lives, in words: "generated, kept in the state of `prod`".
fn kept(origin: &str, owner: &str) -> String {
    format!("{origin}, kept in the state of `{owner}`")
}

fn print_explanation(sources: &SourceMap, e: &Explanation, owner: &str, depth: usize, out: &mut String) {
    use std::fmt::Write;
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}{} = {}", e.path, shown(&e.value));
    let winner = winning_step(e);
    for (i, step) in e.steps.iter().enumerate() {
        let (file, line, text) = place(sources, step.span);
        let text = if e.value.as_ref().is_some_and(Value::contains_secret) { redact_literals(&text) } else { text };
        let action = format!("{:?}", step.action).to_lowercase();
        let mark = if winner == Some(i) { "*" } else { " " };
        let _ = writeln!(out, "{pad} {mark}{action:<8} {:<28} {file}:{line}  {text}", step.body);
    }
    if let Some((at, origin)) = &e.stored {
        let _ = writeln!(out, "{pad}  {:<8} {at:<28} {}", "state", kept(origin, owner));
    }
    if winner.is_some() {
        let _ = writeln!(out, "{pad}  (* is the step whose value is used; the others were overridden)");
    }
    if !e.inputs.is_empty() {
        let _ = writeln!(out, "{pad}  computed from:");
        for input in &e.inputs {
            print_explanation(sources, input, owner, depth + 2, out);
        }
    }
}

/// An explanation as JSON (`explain --format json`); secrets redacted as in
/// the human form.
fn explanation_json(sources: &SourceMap, e: &Explanation, owner: &str) -> serde_json::Value {
    let secret = e.value.as_ref().is_some_and(Value::contains_secret);
    let winner = winning_step(e);
    let steps: Vec<serde_json::Value> = e
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (file, line, text) = place(sources, step.span);
            let text = if secret { redact_literals(&text) } else { text };
            serde_json::json!({
                "action": format!("{:?}", step.action).to_lowercase(),
                "body": step.body,
                "file": file,
                "line": line,
                "text": text,
                "wins": winner == Some(i),
            })
        })
        .collect();
    let stored = e.stored.as_ref().map(
        |(at, origin)| serde_json::json!({"entry": at, "origin": origin, "owner": owner, "text": kept(origin, owner)}),
    );
    serde_json::json!({
        "path": e.path,
        "value": e.value.as_ref().map(|v| serde_json::to_value(v.json(false)).unwrap_or_default()),
        "secret": secret,
        "steps": steps,
        "state": stored,
        "computed_from": e.inputs.iter().map(|i| explanation_json(sources, i, owner)).collect::<Vec<_>>(),
    })
}

/// The schema field a path (`instance.web_port`, `module.api.port`) is
/// declared by, when one declares it.
fn declared_field<'s>(schemas: &'s crate::types::Schemas<'s>, path: &str) -> Option<&'s crate::types::FieldType<'s>> {
    use crate::types::Type;
    let segs: Vec<&str> = path.split('.').collect();
    let (root, rest) = match segs.as_slice() {
        ["instance" | "env", rest @ ..] => (schemas.instance, rest),
        ["project", rest @ ..] => (schemas.project, rest),
        ["module", _, rest @ ..] => (schemas.module, rest),
        rest => (schemas.instance, rest),
    };
    let (last, parents) = rest.split_last()?;
    let mut ty = Type::Record(root);
    for seg in parents {
        ty = schemas.child_type(&ty, seg);
    }
    let ty = match ty {
        Type::Nullable(inner) => *inner,
        other => other,
    };
    match ty {
        Type::Record(id) => schemas.record(id).field_type(last),
        _ => None,
    }
}

/// `facs explain NAME PATH [--format json]`
pub fn explain(options: &Options, name: &str, path: &str, json: bool, ui: &mut Ui) -> i32 {
    let result = analysed(options, ui, |session| {
        let selected = session.select(&[name.to_string()]);
        let id = *selected.first()?;
        // `component.C.PATH`: the value as component C sees NAME (spec §4).
        let component = match split_component(session, path) {
            None => None,
            Some(Ok((index, rest))) => Some((index, rest, session.component_paths(index)?)),
            Some(Err(message)) => return Some(Err(message)),
        };
        let (sources, front) = (&session.sources, session.program.front());
        let owner = front.resolved.instances.owner(id).name().to_string();
        let viewed = match &component {
            Some((index, rest, paths)) => {
                Some((session.components.get(*index)?, front.components.get(*index)?, *rest, paths.clone()))
            }
            None => None,
        };
        let (resolved, schemas, paths, path) = match &viewed {
            Some((_, view, rest, paths)) => (&view.resolved, &view.schemas, paths.clone(), *rest),
            None => (&front.resolved, &front.schemas, session.paths(), path),
        };
        // Corrupt state is refused, never read as empty: explain would show
        // values that the next build would not produce.
        let mut state = match StateDir::new(&options.state_dir).load(&owner) {
            Ok(state) => state,
            Err(e) => return Some(Err(e.to_string())),
        };
        state.placeholders = true;
        Some(match explain::explain(resolved, schemas, id, &mut state, &paths, path) {
            Ok(e) => {
                let mut out = match &viewed {
                    Some((c, view, rest, _)) => {
                        let mut out = format!("component.{}.{rest} in {name}:\n", c.name);
                        let lineage = view.resolved.instances[id].lineage.as_deref().unwrap_or_default();
                        let own = front.resolved.instances.len();
                        let (base, tail): (Vec<_>, Vec<_>) = lineage.iter().partition(|i| i.index() < own);
                        let names =
                            |ids: &[InstanceId]| view.resolved.instances.names(ids).collect::<Vec<_>>().join(" -> ");
                        out.push_str(&format!(
                            "  as component `{}` (project {}, {}) sees it: {}{}\n",
                            c.name,
                            c.project,
                            c.shown,
                            names(&base),
                            if tail.is_empty() {
                                format!(", then nothing of its own (it declares no `instance {name}`)")
                            } else {
                                format!(", then its own {}", names(&tail))
                            }
                        ));
                        out
                    }
                    None => format!("{path} in {name}:\n"),
                };
                let mut generated = None;
                // A generated instance says where it came from (spec §4).
                if let Some(origin) = resolved.instances[id].decl.origin.as_deref() {
                    let (file, line, head) = place(sources, origin.generator);
                    let head = head.trim_end_matches('{').trim_end().to_string();
                    out.push_str(&format!(
                        "  {name} is generated by `{head}` ({file}:{line}), {}\n",
                        origin.bindings.join(", ")
                    ));
                    generated = Some(serde_json::json!({
                        "generator": head, "file": file, "line": line, "bindings": origin.bindings,
                    }));
                }
                print_explanation(sources, &e, &owner, 0, &mut out);
                // The constraint the value must meet (spec §7), from its schema.
                let mut constraint = None;
                if let Some(field) = declared_field(schemas, path) {
                    let mut what: Vec<String> = Vec::new();
                    let mut at = None;
                    // Written constraints only: a built-in check has no span.
                    if let Some((check, span)) = field.check.as_ref().and_then(|c| Some((c, c.span?))) {
                        what.push(format!("`{}`", check.text));
                        at = Some(span);
                    }
                    if let Some((check, span)) = field.items.as_ref().and_then(|c| Some((c, c.span?))) {
                        what.push(format!("`{}` on each item", check.text));
                        at = at.or(Some(span));
                    }
                    if let Some(unique) = field.unique {
                        what.push("unique across instances".to_string());
                        at = at.or(Some(unique));
                    }
                    if let Some(span) = at {
                        let (file, line, _) = place(sources, span);
                        out.push_str(&format!("  must meet {}  ({file}:{line})\n", what.join(", ")));
                        constraint = Some(serde_json::json!({"must": what, "file": file, "line": line}));
                    }
                }
                if json {
                    let mut obj = explanation_json(sources, &e, &owner);
                    if let Some(map) = obj.as_object_mut() {
                        map.insert("instance".into(), name.into());
                        map.insert("generated_by".into(), generated.unwrap_or_default());
                        map.insert("constraint".into(), constraint.unwrap_or_default());
                    }
                    out = format!("{obj}\n");
                }
                Ok(out)
            }
            Err(ExplainError::Unset { path: at, body, span }) => {
                let (file, line, text) = place(sources, span);
                Err(format!("`{at}` is not set in `{name}`: `{text}` in instance {body} ({file}:{line}) removed it"))
            }
            Err(ExplainError::Broken) => Err(format!("`{name}` does not compile: run `facs check`")),
            Err(ExplainError::NoSuchPath(at, suggestion)) => Err(match suggestion {
                Some(s) => format!("nothing is set at `{at}` in `{name}`; did you mean `{s}`?"),
                None => format!("nothing is set at `{at}` in `{name}`"),
            }),
        })
    });
    match result.flatten() {
        Some(Ok(text)) => ui.out(text.as_bytes()),
        Some(Err(message)) => {
            ui.failure(&message);
            1
        }
        None => 1,
    }
}

/// `component.C.REST` in a conglomerate: C's index and REST, or an error
/// naming the components (with the closest one). `None` for any other
/// path, or in a project without components.
fn split_component<'p>(session: &Session, path: &'p str) -> Option<Result<(usize, &'p str), String>> {
    let rest = path.strip_prefix("component.").filter(|_| !session.components.is_empty())?;
    let (name, inner) = rest.split_once('.').unwrap_or((rest, ""));
    Some(match session.components.iter().position(|c| c.name == name) {
        Some(_) if inner.is_empty() => {
            Err(format!("`{path}` is a whole component: explain one value of it, such as `{path}.instance.name`"))
        }
        Some(index) => Ok((index, inner)),
        None => {
            let names = session.components.iter().map(|c| c.name.as_str());
            let known = names.clone().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            Err(match crate::diagnostic::closest(name, names) {
                Some(s) => format!("no component `{name}`; did you mean `{s}`? (components: {known})"),
                None => format!("no component `{name}` (components: {known})"),
            })
        }
    })
}

/// Every leaf of a manifest with its dotted path (lists by index).
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Map(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten(&format!("{prefix}{}{k}", if prefix.is_empty() { "" } else { "." }), v, out);
            }
        }
        Value::List(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// `facs diff A B [--format json] [--exit-code]`
pub fn diff(options: &Options, a: &str, b: &str, json: bool, exit_code: bool, ui: &mut Ui) -> i32 {
    let result = analysed(options, ui, |session| {
        let selected = session.select(&[a.to_string(), b.to_string()]);
        let compilation = session.compile(&selected, Mode::Check);
        let resolved = session.resolved();
        if let Some(failure) = compilation.failures.first() {
            // Unreadable state: refused, never diffed as if it were empty.
            return Some(Err(failure.clone()));
        }
        let manifest = |name: &str| {
            compilation
                .instances()
                .into_iter()
                .find(|(id, _)| resolved.instances[*id].name() == name)
                .map(|(_, c)| c.manifest.value.clone())
        };
        Some(Ok((manifest(a)?, manifest(b)?)))
    });
    let (ma, mb) = match result.flatten() {
        Some(Ok(pair)) => pair,
        Some(Err(failure)) => {
            ui.failure(&failure);
            return 1;
        }
        None => return 1,
    };
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    flatten("", &ma, &mut la);
    flatten("", &mb, &mut lb);
    // The instance's own name and lineage differ by definition: not news.
    let noise = |p: &str| p.starts_with("facs.") || p == "instance.name";
    let mut changes = Vec::new();
    for (path, va) in la.iter().filter(|(p, _)| !noise(p)) {
        match lb.iter().find(|(p, _)| p == path) {
            None => changes.push(("removed", path.clone(), Some(va), None)),
            Some((_, vb)) if vb != va => changes.push(("changed", path.clone(), Some(va), Some(vb))),
            Some(_) => {}
        }
    }
    for (path, vb) in lb.iter().filter(|(p, _)| !noise(p)) {
        if !la.iter().any(|(p, _)| p == path) {
            changes.push(("added", path.clone(), None, Some(vb)));
        }
    }
    let show = |v: Option<&Value>| v.map(|v| serde_json::to_value(v.json(false)).unwrap_or_default());
    // `--exit-code`: 1 when they differ, like `diff` and `git diff --exit-code`.
    let differs = i32::from(exit_code && !changes.is_empty());
    let status = if json {
        let items: Vec<serde_json::Value> = changes
            .iter()
            .map(|(op, path, va, vb)| {
                let secret = va.is_some_and(Value::contains_secret) || vb.is_some_and(Value::contains_secret);
                serde_json::json!({"path": path, "change": op, "a": show(*va), "b": show(*vb), "secret": secret})
            })
            .collect();
        ui.out(format!("{}\n", serde_json::Value::Array(items)).as_bytes())
    } else {
        let mut out = format!("--- {a}\n+++ {b}\n");
        for (op, path, va, vb) in &changes {
            let text = |v: Option<&Value>| show(v).map(|j| j.to_string()).unwrap_or_default();
            let secret_note = if va.is_some_and(|v| v.contains_secret()) || vb.is_some_and(|v| v.contains_secret()) {
                "  (secret, differs)"
            } else {
                ""
            };
            match *op {
                "changed" => out.push_str(&format!("~ {path}: {} -> {}{secret_note}\n", text(*va), text(*vb))),
                "removed" => out.push_str(&format!("- {path}: {}\n", text(*va))),
                _ => out.push_str(&format!("+ {path}: {}\n", text(*vb))),
            }
        }
        if changes.is_empty() {
            out.push_str("(no differences)\n");
        }
        ui.out(out.as_bytes())
    };
    status.max(differs)
}

/// `facs list instances|modules|targets|nodes [NAME] [--format json]`
pub fn list(options: &Options, what: &str, only: Option<&str>, json: bool, ui: &mut Ui) -> i32 {
    let rows = analysed(options, ui, |session| {
        // Modules and targets are read from compiled manifests: of NAME
        // only, when given (an unknown NAME is an E003 with did-you-mean).
        let names: Vec<String> = only.map(str::to_string).into_iter().collect();
        let compilation = matches!(what, "modules" | "targets" | "nodes").then(|| {
            let selected = session.select(&names);
            session.compile(&selected, Mode::Check)
        });
        // `list instances NAME` takes abstract names too; an unknown one is
        // E003 with the closest name, reported by `select`.
        if what == "instances" && only.is_some_and(|n| !session.resolved().by_name.contains_key(n)) {
            let _ = session.select(&names);
        }
        let (sources, resolved) = (&session.sources, session.resolved());
        let compiled = || compilation.iter().flat_map(|c| c.instances());
        let defined = |span| {
            let (file, line, _) = place(sources, span);
            format!("{file}:{line}")
        };
        let mut rows: Vec<Vec<String>> = Vec::new();
        match what {
            "instances" => {
                rows.push(vec!["NAME".into(), "KIND".into(), "FROM".into(), "STATE".into(), "DEFINED".into()]);
                for info in resolved.instances.iter().filter(|i| only.is_none_or(|n| i.name() == n)) {
                    let kind = if info.is_overlay() {
                        "overlay"
                    } else if info.decl.is_abstract {
                        "abstract"
                    } else {
                        "instance"
                    };
                    let from = match &info.decl.overlay_base {
                        Some(base) => format!("on {}", base.text),
                        None => info.decl.parents.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(", "),
                    };
                    let state = resolved.instances[info.state_owner].name();
                    rows.push(vec![
                        info.name().into(),
                        kind.into(),
                        from,
                        if info.decl.is_abstract { "-".into() } else { state.into() },
                        defined(info.decl.name.span),
                    ]);
                }
            }
            "modules" => {
                let first = compiled().next().map(|(_, c)| c.manifest.value.clone());
                let get = |module: Option<&Value>, p: &[&str]| {
                    module.and_then(|m| m.get_path(p)).map_or_else(|| "-".into(), cell)
                };
                if session.components.is_empty() {
                    rows.push(vec!["NAME".into(), "USER".into(), "SERVICE".into(), "DEFINED".into()]);
                } else {
                    rows.push(vec![
                        "NAME".into(),
                        "COMPONENT".into(),
                        "USER".into(),
                        "SERVICE".into(),
                        "DEFINED".into(),
                    ]);
                }
                for (name, decl) in &resolved.modules {
                    let module = first.as_ref().and_then(|m| m.get_path(&["module", name]));
                    let mut row = vec![
                        name.to_string(),
                        get(module, &["username"]),
                        get(module, &["service", "name"]),
                        defined(decl.name.span),
                    ];
                    if !session.components.is_empty() {
                        // A conglomerate's module is every component's (spec §4).
                        row.insert(1, "(shared)".into());
                    }
                    rows.push(row);
                }
                for (component, view) in session.components.iter().zip(&session.front().components) {
                    for (name, decl) in view.own.modules.iter().filter(|(m, _)| !resolved.modules.contains_key(*m)) {
                        let module =
                            first.as_ref().and_then(|m| m.get_path(&["component", &component.name, "module", name]));
                        rows.push(vec![
                            name.to_string(),
                            component.name.clone(),
                            get(module, &["username"]),
                            get(module, &["service", "name"]),
                            defined(decl.name.span),
                        ]);
                    }
                }
            }
            "components" => {
                rows.push(
                    ["NAME", "PROJECT", "SOURCE", "DIR", "TARGETS", "DECLARES", "DEFINED"].map(String::from).to_vec(),
                );
                for (component, view) in session.components.iter().zip(&session.front().components) {
                    let targets = component.targets.as_ref().map_or_else(
                        || "(all)".to_string(),
                        |t| t.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(" "),
                    );
                    let own: Vec<&str> = view.own.instances.iter().map(|i| i.name()).collect();
                    rows.push(vec![
                        component.name.clone(),
                        component.project.clone(),
                        component.checkout.clone().unwrap_or_else(|| "dir".into()),
                        component.shown.clone(),
                        targets,
                        if own.is_empty() { "-".into() } else { own.join(" ") },
                        defined(component.span),
                    ]);
                }
            }
            "targets" | "nodes" => {
                let header: &[&str] = if what == "targets" {
                    &["INSTANCE", "TARGET", "NODES", "USER"]
                } else {
                    &["INSTANCE", "TARGET", "NODE", "USER"]
                };
                rows.push(header.iter().map(|s| s.to_string()).collect());
                for (id, compiled) in compiled() {
                    let name = resolved.instances[id].name();
                    let Some(Value::Map(targets)) = compiled.manifest.value.get_path(&["instance", "targets"]) else {
                        continue;
                    };
                    let deploy_user = compiled.manifest.value.get_path(&["instance", "deploy", "user"]);
                    for (target, t) in targets {
                        let user = t.get_path(&["user"]).or(deploy_user).map_or_else(|| "-".into(), cell);
                        let nodes: Vec<String> = match t.get_path(&["nodes"]) {
                            Some(Value::List(n)) => n.iter().map(cell).collect(),
                            Some(v @ Value::Secret(_)) => vec![cell(v)],
                            _ => Vec::new(),
                        };
                        if what == "targets" {
                            rows.push(vec![name.into(), target.clone(), nodes.join(" "), user]);
                        } else {
                            for node in nodes {
                                rows.push(vec![name.into(), target.clone(), node, user.clone()]);
                            }
                        }
                    }
                }
            }
            _ => return None,
        }
        Some(rows)
    });
    match rows {
        Some(Some(rows)) if json => ui.out(format!("{}\n", json_rows(&rows)).as_bytes()),
        Some(Some(rows)) => {
            if what == "components" && rows.len() == 1 {
                ui.note("this project declares no components (`component NAME { dir: ... }` in its `project` block, spec §4)");
            }
            ui.out(table(&rows).as_bytes())
        }
        Some(None) => {
            ui.failure(&format!("unknown list `{what}`: use instances, modules, targets, nodes or components"));
            2
        }
        None => 1,
    }
}

/// `facs graph [--format dot|mermaid|json]`
pub fn graph(options: &Options, format: super::GraphFormat, ui: &mut Ui) -> i32 {
    let mermaid = format == super::GraphFormat::Mermaid;
    let text = analysed(options, ui, |session| {
        let resolved = session.resolved();
        let mut out = String::new();
        if format == super::GraphFormat::Json {
            let nodes: Vec<serde_json::Value> = resolved
                .instances
                .iter()
                .map(|info| {
                    let kind = if info.is_overlay() {
                        "overlay"
                    } else if info.decl.is_abstract {
                        "abstract"
                    } else {
                        "instance"
                    };
                    let (file, line, _) = place(&session.sources, info.decl.name.span);
                    serde_json::json!({"name": info.name(), "kind": kind, "file": file, "line": line})
                })
                .collect();
            let mut edges = Vec::new();
            for info in &resolved.instances {
                for parent in &info.decl.parents {
                    edges.push(serde_json::json!({"from": info.name(), "to": parent.text, "kind": "inherits"}));
                }
                if let Some(base) = &info.decl.overlay_base {
                    edges.push(serde_json::json!({"from": info.name(), "to": base.text, "kind": "on"}));
                }
            }
            let (mut nodes, mut edges) = (nodes, edges);
            for (component, view) in session.components.iter().zip(&session.front().components) {
                for info in &view.own.instances {
                    let (file, line, _) = place(&session.sources, info.decl.name.span);
                    nodes.push(serde_json::json!({
                        "name": format!("{}:{}", component.name, info.name()), "kind": kind_of(info),
                        "component": component.name, "file": file, "line": line,
                    }));
                }
                for (from, to, kind) in component_edges(&component.name, view, resolved) {
                    edges.push(serde_json::json!({"from": from, "to": to, "kind": kind}));
                }
            }
            return format!("{}\n", serde_json::json!({"nodes": nodes, "edges": edges}));
        }
        let id = |name: &str| format!("n_{}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
        if mermaid {
            out.push_str("graph BT\n");
            for info in &resolved.instances {
                let shape = if info.is_overlay() {
                    format!("{}([\"{}\"])", id(info.name()), info.name())
                } else if info.decl.is_abstract {
                    format!("{}[/\"{}\"/]", id(info.name()), info.name())
                } else {
                    format!("{}[\"{}\"]", id(info.name()), info.name())
                };
                out.push_str(&format!("  {shape}\n"));
            }
            for info in &resolved.instances {
                for parent in &info.decl.parents {
                    out.push_str(&format!("  {} --> {}\n", id(info.name()), id(&parent.text)));
                }
                if let Some(base) = &info.decl.overlay_base {
                    out.push_str(&format!("  {} -.->|on| {}\n", id(info.name()), id(&base.text)));
                }
            }
            for (component, view) in session.components.iter().zip(&session.front().components) {
                out.push_str(&format!(
                    "  subgraph {}[\"component {} (project {})\"]\n",
                    id(&format!("c_{}", component.name)),
                    component.name,
                    component.project
                ));
                for info in &view.own.instances {
                    let node = id(&format!("{}:{}", component.name, info.name()));
                    out.push_str(&format!("    {node}[\"{}\"]\n", info.name()));
                }
                out.push_str("  end\n");
                for (from, to, kind) in component_edges(&component.name, view, resolved) {
                    let arrow = if kind == "component" { "-.->|then|" } else { "-->" };
                    out.push_str(&format!("  {} {arrow} {}\n", id(&from), id(&to)));
                }
            }
        } else {
            out.push_str("digraph facs {\n  rankdir=BT;\n  node [shape=box];\n");
            for info in &resolved.instances {
                let style = if info.is_overlay() {
                    " [shape=ellipse]"
                } else if info.decl.is_abstract {
                    " [style=dashed]"
                } else {
                    ""
                };
                out.push_str(&format!("  \"{}\"{style};\n", info.name()));
            }
            for info in &resolved.instances {
                for parent in &info.decl.parents {
                    out.push_str(&format!("  \"{}\" -> \"{}\";\n", info.name(), parent.text));
                }
                if let Some(base) = &info.decl.overlay_base {
                    out.push_str(&format!(
                        "  \"{}\" -> \"{}\" [style=dashed, label=\"on\"];\n",
                        info.name(),
                        base.text
                    ));
                }
            }
            for (component, view) in session.components.iter().zip(&session.front().components) {
                out.push_str(&format!(
                    "  subgraph \"cluster_{0}\" {{\n    label=\"component {0} (project {1})\";\n",
                    component.name, component.project
                ));
                for info in &view.own.instances {
                    let style = if info.decl.is_abstract { ", style=dashed" } else { "" };
                    out.push_str(&format!(
                        "    \"{}:{}\" [label=\"{}\"{style}];\n",
                        component.name,
                        info.name(),
                        info.name()
                    ));
                }
                out.push_str("  }\n");
                for (from, to, kind) in component_edges(&component.name, view, resolved) {
                    let style = if kind == "component" { " [style=dotted, label=\"then\"]" } else { "" };
                    out.push_str(&format!("  \"{from}\" -> \"{to}\"{style};\n"));
                }
            }
            out.push_str("}\n");
        }
        out
    });
    match text {
        Some(t) => ui.out(t.as_bytes()),
        None => 1,
    }
}

/// `instance`, `abstract` or `overlay`.
fn kind_of(info: &crate::resolve::InstanceInfo<'_>) -> &'static str {
    if info.is_overlay() {
        "overlay"
    } else if info.decl.is_abstract {
        "abstract"
    } else {
        "instance"
    }
}

/// A component's edges for `facs graph`, its nodes named `C:NAME`: its own
/// inheritance (`inherits`, `on`), and `component` from its `instance X`
/// to the conglomerate's X, whose lineage it follows (spec §4).
fn component_edges(
    component: &str,
    view: &crate::build::View<'_>,
    conglomerate: &crate::resolve::Resolved<'_>,
) -> Vec<(String, String, &'static str)> {
    let node = |name: &str| format!("{component}:{name}");
    let mut edges = Vec::new();
    for info in &view.own.instances {
        for parent in &info.decl.parents {
            edges.push((node(info.name()), node(&parent.text), "inherits"));
        }
        if let Some(base) = &info.decl.overlay_base {
            edges.push((node(info.name()), node(&base.text), "on"));
        }
        if conglomerate.by_name.contains_key(info.name()) {
            edges.push((node(info.name()), info.name().to_string(), "component"));
        }
    }
    edges
}

/// Rows (the first one the header) as a JSON array of objects keyed by the
/// lower-cased header: `[{"name": "dev", "kind": "instance", ...}]`.
fn json_rows(rows: &[Vec<String>]) -> serde_json::Value {
    let Some((header, body)) = rows.split_first() else { return serde_json::Value::Array(Vec::new()) };
    let keys: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    body.iter()
        .map(|row| {
            let obj: serde_json::Map<String, serde_json::Value> =
                keys.iter().cloned().zip(row.iter().map(|c| serde_json::Value::from(c.as_str()))).collect();
            serde_json::Value::Object(obj)
        })
        .collect()
}

/// Rows as a table: columns padded to their widest cell, two spaces apart.
pub(super) fn table<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r.as_ref().get(c).map_or(0, |s| s.chars().count())).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.as_ref().iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
