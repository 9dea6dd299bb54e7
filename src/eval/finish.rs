//! The typed walk that turns an evaluated tree into the manifest value,
//! checking it against its schema (spec §7): E007 type mismatches, E008
//! unknown fields of closed records, E009 missing required fields, W001
//! probable typos.

use super::evaluate::Evaluator;
use super::merge::{Node, NodeKind, Shape};
use super::value::Value;
use crate::diagnostic::{article, Code, Diagnostic, Reported};
use crate::map::IndexMap;
use crate::source::Span;
use crate::types::constraints::{bad_name, bad_port, plain_name, Check, CheckKind};
use crate::types::{Record, Schemas, Type};

/// Where missing required fields are reported (spec §11: the declaration's name).
pub struct Owner<'r> {
    /// `instance prod`, `module app`, `project demo`.
    pub what: &'r str,
    /// The path root of its fields: `instance`, `module.app`, `project`.
    pub root: &'r str,
    /// The declaration's name span.
    pub span: Span,
}

/// The typed walk over one root.
pub struct Finisher<'a, 'e, 'r> {
    /// The evaluator holding the roots.
    pub eval: &'r mut Evaluator<'a, 'e>,
    /// Record types.
    pub schemas: &'a Schemas<'a>,
    /// Who missing fields are reported against.
    pub owner: Owner<'r>,
    path: Vec<String>,
    /// Where the schema declares the field being checked (E007 labels it).
    field_span: Option<Span>,
}

impl<'a, 'e, 'r> Finisher<'a, 'e, 'r> {
    /// A walk reporting against `owner`.
    pub fn new(eval: &'r mut Evaluator<'a, 'e>, schemas: &'a Schemas<'a>, owner: Owner<'r>) -> Self {
        Finisher { eval, schemas, owner, path: Vec::new(), field_span: None }
    }

    fn record_for(&self, node: &Node<'a>, ty: &Type) -> Option<&'a Record<'a>> {
        match ty {
            Type::Record(id) => Some(self.schemas.record(*id)),
            Type::Nullable(inner) => self.record_for(node, inner),
            Type::Install => {
                let is_tmpl = node.map().and_then(|m| m.get("type")).is_some_and(
                    |t| matches!(&t.kind, NodeKind::Expr(e) if e.as_plain_str().as_deref() == Some("tmpl")),
                );
                Some(self.schemas.record(if is_tmpl { self.schemas.tmpl_group } else { self.schemas.copy_group }))
            }
            _ => None,
        }
    }

    /// The final value of `node` checked against `ty` (`None`: a derived
    /// value that does not apply).
    pub fn finish(&mut self, node: &Node<'a>, ty: &Type, required: bool) -> Result<Option<Value>, Reported> {
        match &node.kind {
            NodeKind::Map(map) => self.finish_map(node, map, ty).map(Some),
            NodeKind::List(items) => {
                let elem = match strip_nullable(ty) {
                    Type::List(t) => (**t).clone(),
                    Type::Any => Type::Any,
                    Type::Inferred => Type::Inferred,
                    other => {
                        self.mismatch(node.span, other, "list", None);
                        return Err(Reported);
                    }
                };
                let mut out = Vec::with_capacity(items.len());
                let mut failed = false;
                for (idx, item) in items.iter().enumerate() {
                    self.path.push(idx.to_string());
                    match self.finish(item, &elem, true) {
                        Ok(Some(v)) => out.push(v),
                        Ok(None) => {}
                        Err(Reported) => failed = true,
                    }
                    self.path.pop();
                }
                if failed {
                    Err(Reported)
                } else {
                    Ok(Some(Value::List(out)))
                }
            }
            _ => {
                let Some(value) = self.eval.eval_child(node)? else {
                    return Ok(None);
                };
                if *ty == Type::Inferred {
                    self.check_inferred_reference(node, &value)?;
                }
                self.check_value(value, ty, node.span, required).map(Some)
            }
        }
    }

    fn finish_map(&mut self, node: &Node<'a>, map: &IndexMap<String, Node<'a>>, ty: &Type) -> Result<Value, Reported> {
        let record = self.record_for(node, ty);
        let stripped = strip_nullable(ty);
        if record.is_none() && !matches!(stripped, Type::Map(_) | Type::Any | Type::Inferred) {
            self.mismatch(node.span, stripped, "map", None);
            return Err(Reported);
        }
        let mut out = crate::map::with_capacity(map.len());
        let mut failed = false;
        // Unknown keys whose closest field is a required one: the E009 for
        // that field is their consequence and is reported after their E008.
        let mut misspelt: Vec<(String, String, Span)> = Vec::new();
        for (idx, (key, child)) in map.iter().enumerate() {
            let mut field = None;
            let (child_ty, child_required, declared) = match record {
                Some(r) => match r.fields.get(key) {
                    Some(f) => {
                        field = Some(f);
                        (f.type_.clone(), f.required, true)
                    }
                    None if r.is_closed() => {
                        if let Some(meant) = r.closest_field(key) {
                            misspelt.push((meant.to_string(), key.clone(), child.key_span));
                        }
                        self.unknown_field(child, key, r);
                        failed = true;
                        continue;
                    }
                    None if r.open => (Type::Any, false, false),
                    None => (Type::Inferred, false, false),
                },
                None => match stripped {
                    Type::Map(t) => ((**t).clone(), true, true),
                    Type::Any => (Type::Any, false, true),
                    _ => (Type::Inferred, false, false),
                },
            };
            if !declared {
                self.typo_warning(map, idx, key, child, record);
            }
            self.path.push(key.clone());
            let outer = self.field_span;
            if let Some(at) = field.and_then(|f| f.span) {
                self.field_span = Some(at);
            }
            let finished = self.finish(child, &child_ty, child_required);
            self.field_span = outer;
            match finished {
                Ok(Some(v)) => {
                    if let Some(f) = field {
                        if let Some(check) = f.check.as_ref() {
                            if let Some(why) = violation(check, &v) {
                                self.violated(key, child.span, check, &why);
                                // A built-in check (a host, login or port) keeps the
                                // value, so deploy's checks of the same instance are
                                // reported in the same run; the error fails the build.
                                failed |= check.span.is_some();
                            }
                        }
                        if let Some(check) = f.items.as_ref() {
                            for (label, item, span) in items_of(key, &v, child) {
                                if let Some(why) = violation(check, item) {
                                    self.violated(&label, span, check, &why);
                                    failed |= check.span.is_some();
                                }
                            }
                        }
                        if let (Some(at), false) = (f.unique, v == Value::Null) {
                            self.eval.uniques.push(super::evaluate::UniqueValue {
                                field: format!("{}.{}", self.owner.root, self.path.join(".")),
                                key: v.canonical(),
                                shown: if v.contains_secret() { None } else { Some(v.to_json_text()) },
                                span: child.span,
                                constraint: at,
                            });
                        }
                    }
                    out.insert(key.clone(), v);
                }
                Ok(None) => {}
                Err(Reported) => failed = true,
            }
            self.path.pop();
        }
        if let Some(r) = record {
            for (key, field) in &r.fields {
                if field.required && !map.contains_key(key) {
                    let cause = misspelt.iter().find(|(meant, _, _)| meant == key).map(|(_, k, s)| (k.as_str(), *s));
                    self.missing(key, field.span, cause);
                    failed = true;
                }
            }
        }
        if failed {
            Err(Reported)
        } else {
            Ok(Value::Map(out))
        }
    }

    /// E025 at the value, with a label on the constraint (spec §7). A
    /// secret's value is not quoted.
    fn violated(&mut self, key: &str, span: Span, check: &Check, (is, must): &(String, String)) {
        match &check.kind {
            kind @ (CheckKind::Host | CheckKind::Login) => return self.eval.report(bad_name(span, kind, is, must)),
            CheckKind::Port => return self.eval.report(bad_port(span, is.parse().unwrap_or_default())),
            _ => {}
        }
        let mut d =
            Diagnostic::error(Code::E025, span, format!("`{key}` {is}, but {must}")).with_primary_label(must.clone());
        if let Some(at) = check.span {
            d = d.with_label(at, "the constraint");
        }
        let d = d.with_help(match &check.kind {
            CheckKind::Pattern(_) => "The pattern must match the whole value (Rust `regex` syntax).".to_string(),
            _ => format!("Change the value, or the constraint `{}` in the schema if it is too strict.", check.text),
        });
        self.eval.report(d);
    }

    /// Inferred typing for a reference (spec §7): merge checks literals against
    /// the first definition's shape; a reference's shape is known only now.
    fn check_inferred_reference(&mut self, node: &Node<'a>, value: &Value) -> Result<(), Reported> {
        let NodeKind::Expr(expr) = &node.kind else { return Ok(()) };
        let (Some((first, first_span)), None) = (node.first, Shape::of(expr)) else { return Ok(()) };
        match Shape::of_value(value) {
            Some(found) if found != first && first_span != node.span => {
                self.eval.errors.push(
                    Diagnostic::error(
                        Code::E007,
                        node.span,
                        format!(
                            "`{}` was first defined as {}, here it is {} (the value of this reference)",
                            node.key,
                            first.describe(),
                            found.describe()
                        ),
                    )
                    .with_primary_label(format!("{} here", found.describe()))
                    .with_label(first_span, format!("first defined as {} here", first.describe()))
                    .with_help(format!(
                        "Refer to {} here as the first definition has, or `unset` `{}` before redefining it.",
                        first.describe(),
                        node.key
                    )),
                );
                Err(Reported)
            }
            _ => Ok(()),
        }
    }

    /// Checks an evaluated value (from an expression or a reference).
    fn check_value(&mut self, value: Value, ty: &Type, span: Span, required: bool) -> Result<Value, Reported> {
        let secret = value.is_secret();
        let inner = value.unwrap_secret();
        let ok = match (strip_nullable(ty), inner) {
            (_, Value::Null) => !required || matches!(ty, Type::Nullable(_) | Type::Any | Type::Inferred),
            (Type::Any | Type::Inferred, _) => true,
            (Type::String | Type::Secret, Value::Str(_)) => true,
            (Type::Int, Value::Int(_)) => true,
            (Type::Float, Value::Int(_) | Value::Float(_)) => true,
            (Type::Bool, Value::Bool(_)) => true,
            (Type::Enum(options), Value::Str(s)) => {
                if !options.contains(s) {
                    let opts: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
                    self.eval.errors.push(
                        Diagnostic::error(
                            Code::E007,
                            span,
                            if secret {
                                format!("expected one of {}, found a value computed from a secret", opts.join(" | "))
                            } else {
                                format!("expected one of {}, found \"{s}\"", opts.join(" | "))
                            },
                        )
                        .with_primary_label("not an allowed value")
                        .with_help(format!("Use one of {}.", opts.join(", "))),
                    );
                    self.label_schema_field();
                    return Err(Reported);
                }
                true
            }
            (Type::List(elem), Value::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.check_value(item.clone(), elem, span, true)?);
                }
                return Ok(rewrap(Value::List(out), secret));
            }
            (Type::Map(elem), Value::Map(m)) => {
                let mut out = IndexMap::default();
                for (k, v) in m {
                    out.insert(k.clone(), self.check_value(v.clone(), elem, span, true)?);
                }
                return Ok(rewrap(Value::Map(out), secret));
            }
            (Type::Record(_) | Type::Install, Value::Map(m)) => {
                let record = match strip_nullable(ty) {
                    Type::Record(id) => Some(self.schemas.record(*id)),
                    _ => {
                        let tmpl = m.get("type").and_then(Value::as_str) == Some("tmpl");
                        Some(self.schemas.record(if tmpl { self.schemas.tmpl_group } else { self.schemas.copy_group }))
                    }
                };
                return self.check_record_value(m, record, span).map(|v| rewrap(v, secret));
            }
            _ => false,
        };
        if !ok {
            // A secret is never quoted back, not even in a hint.
            self.mismatch(span, strip_nullable(ty), inner.kind(), Some(inner).filter(|_| !secret));
            return Err(Reported);
        }
        let secret_type = matches!(strip_nullable(ty), Type::Secret);
        Ok(rewrap(value.clone(), secret || (secret_type && !matches!(inner, Value::Null))))
    }

    /// A map that arrived through a reference, checked against a record.
    fn check_record_value(
        &mut self,
        m: &IndexMap<String, Value>,
        record: Option<&'a Record<'a>>,
        span: Span,
    ) -> Result<Value, Reported> {
        let Some(record) = record else {
            return Ok(Value::Map(m.clone()));
        };
        let mut out = IndexMap::default();
        for (k, v) in m {
            match record.fields.get(k) {
                Some(f) => {
                    out.insert(k.clone(), self.check_value(v.clone(), &f.type_, span, f.required)?);
                }
                None if record.is_closed() => {
                    let d = Diagnostic::error(Code::E008, span, format!("unknown field `{k}` in {}", record.name))
                        .with_primary_label(format!("this value has a field `{k}`"));
                    self.eval.errors.push(match record.closest_field(k) {
                        Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                        None => d.with_help(format!("{} declares no such field.", record.name)),
                    });
                    return Err(Reported);
                }
                None => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        for (k, f) in &record.fields {
            if out.contains_key(k) {
                continue;
            }
            if let Some(crate::types::DefaultValue::Const(c)) = &f.default {
                out.insert(k.clone(), super::fill_const(c));
            } else if f.required {
                self.missing(k, f.span, None);
                return Err(Reported);
            }
        }
        Ok(Value::Map(out))
    }

    fn mismatch(&mut self, span: Span, expected: &Type, found: &str, value: Option<&Value>) {
        let expected_text = expected.describe(self.schemas);
        let field = self.path.last().cloned().unwrap_or_default();
        let mut help = format!("Give `{field}` a value of type {expected_text}.");
        if let (Type::Int | Type::Float, Some(Value::Str(s))) = (expected, value) {
            if s.parse::<f64>().is_ok() {
                help = format!("Remove the quotes: write `{s}` as a number.");
            }
        }
        self.eval.errors.push(
            Diagnostic::error(Code::E007, span, format!("expected {expected_text}, found {found}"))
                .with_primary_label(format!("this is {}", article(found)))
                .with_help(help),
        );
        self.label_schema_field();
    }

    /// Labels the schema field behind the E007 just reported.
    fn label_schema_field(&mut self) {
        let (Some(at), Some(d)) = (self.field_span, self.eval.errors.last_mut()) else { return };
        let field = self.path.last().cloned().unwrap_or_default();
        d.labels.push(crate::diagnostic::Label {
            span: at,
            message: format!("the schema declares `{field}` here").into_boxed_str(),
        });
    }

    fn unknown_field(&mut self, child: &Node<'a>, key: &str, record: &Record<'a>) {
        let d = Diagnostic::error(Code::E008, child.key_span, format!("unknown field `{key}` in {}", record.name))
            .with_primary_label(format!("{} declares no field `{key}`", record.name));
        let d = match record.closest_field(key) {
            Some(s) => d.with_help(format!("Did you mean `{s}`?")),
            None => d.with_help(format!(
                "Declare `{key}` in `schema {} {{ ... }}`, or add a `...` line to the schema to allow any field.",
                record.name
            )),
        };
        self.eval.errors.push(d);
    }

    fn missing(&mut self, key: &str, declared: Option<Span>, cause: Option<(&str, Span)>) {
        let mut path = self.path.join(".");
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        let mut d = Diagnostic::error(
            Code::E009,
            self.owner.span,
            format!("{} is missing required field `{path}`", self.owner.what),
        )
        .with_primary_label(format!("`{path}` is never set"));
        if let Some(span) = declared {
            d = d.with_label(span, "declared here without a default");
        }
        if let Some((wrong, span)) = cause {
            d = d
                .with_label(span, format!("`{wrong}` is probably meant as `{key}` (see the E008 above)"))
                .caused_by(span);
        }
        self.eval.errors.push(d.with_help(format!(
            "Set `{path}` in this declaration or one of its parents, or give it a default in the schema."
        )));
    }

    /// W001 (spec §7): an undeclared key set in exactly one body, at least 4
    /// characters, within edit distance 1–2 of an earlier sibling that its
    /// own body did not also set, or of a declared field. Siblings written side by side in
    /// one body (`host` and `port`) are deliberate, and so are names that
    /// differ only in digits (`web1`, `web2`): see
    /// docs/decisions/w001-typo-warning.md.
    fn typo_warning(
        &mut self,
        map: &IndexMap<String, Node<'a>>,
        idx: usize,
        key: &str,
        child: &Node<'a>,
        record: Option<&Record<'a>>,
    ) {
        if child.setters != 1 || key.chars().count() < 4 || child.history.is_empty() {
            return;
        }
        let body = child.history.first().map(|s| s.body);
        // A sibling that is itself a candidate (set once, undeclared) and
        // comes later is left to warn about this key: a pair warns once, at
        // the later of the two.
        let siblings = map.iter().enumerate().filter(|&(i, (k, sibling))| {
            i != idx
                && k != key
                && !(i > idx && sibling.setters == 1 && !record.is_some_and(|r| r.fields.contains_key(k)))
        });
        let declared = record.into_iter().flat_map(|r| r.fields.keys().map(|k| (k.as_str(), false)));
        let mut candidates = declared.chain(siblings.map(|(_, (k, sibling))| {
            let same_body = sibling.history.iter().any(|s| Some(s.body) == body);
            (k.as_str(), same_body)
        }));
        let near = candidates.find(|&(s, same_body)| close_names(key, s, same_body)).map(|(s, _)| s);
        if let Some(similar) = near {
            self.eval.errors.push(
                Diagnostic::error(
                    Code::W001,
                    child.key_span,
                    format!("`{key}` is set only here and is close to `{similar}`"),
                )
                .with_primary_label("probable typo")
                .with_help(format!(
                    "Did you mean `{similar}`? If `{key}` is intended, declaring it in a schema silences this warning."
                )),
            );
        }
    }
}

/// The items of a list or map field's value, each with how messages name
/// it (`ports[1]`, `by_region.eu`) and where it was written: its own
/// node when the list or map was written out, else the whole value's.
fn items_of<'v>(key: &str, value: &'v Value, node: &Node<'_>) -> Vec<(String, &'v Value, Span)> {
    match value.unwrap_secret() {
        Value::List(items) => {
            let nodes = match &node.kind {
                NodeKind::List(nodes) if nodes.len() == items.len() => Some(nodes),
                _ => None,
            };
            let span = |i: usize| nodes.and_then(|n| n.get(i)).map_or(node.span, |n| n.span);
            items.iter().enumerate().map(|(i, item)| (format!("{key}[{i}]"), item, span(i))).collect()
        }
        Value::Map(entries) => {
            let nodes = match &node.kind {
                NodeKind::Map(nodes) => Some(nodes),
                _ => None,
            };
            let span = |k: &str| nodes.and_then(|n| n.get(k)).map_or(node.span, |n| n.span);
            entries.iter().map(|(k, item)| (format!("{key}.{k}"), item, span(k))).collect()
        }
        _ => Vec::new(),
    }
}

/// Why `value` breaks a field's constraint (spec §7), if it does: what
/// the value is and what it must be. Null and values of another kind
/// (reported as E007) pass.
fn violation(check: &Check, value: &Value) -> Option<(String, String)> {
    let length = matches!(check.kind, CheckKind::Length(..));
    let bounds = || -> String {
        match &check.bounds {
            (Some(l), Some(h)) if length => format!("{l} to {h}"),
            (Some(l), Some(h)) => format!("from {l} to {h}"),
            (Some(l), None) => format!("at least {l}"),
            (None, Some(h)) => format!("at most {h}"),
            (None, None) => "anything".into(),
        }
    };
    let within = |x: f64, lo: &Option<f64>, hi: &Option<f64>| lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h);
    let count = |n: u64, lo: &Option<u64>, hi: &Option<u64>| lo.is_none_or(|l| n >= l) && hi.is_none_or(|h| n <= h);
    let shown = || if value.contains_secret() { "secret".to_string() } else { format!("`{}`", value.to_json_text()) };
    match (&check.kind, value.unwrap_secret()) {
        (CheckKind::Number(lo, hi), Value::Int(_) | Value::Float(_)) => {
            let x = match value.unwrap_secret() {
                Value::Int(n) => *n as f64,
                Value::Float(f) => *f,
                _ => 0.0,
            };
            (!within(x, lo, hi)).then(|| (format!("is {}", shown()), format!("it must be {}", bounds())))
        }
        (CheckKind::Length(lo, hi), Value::Str(s)) => {
            let n = s.chars().count() as u64;
            (!count(n, lo, hi)).then(|| {
                (format!("has {n} character{}", if n == 1 { "" } else { "s" }), format!("it must have {}", bounds()))
            })
        }
        (CheckKind::Length(lo, hi), Value::List(items)) => {
            let n = items.len() as u64;
            (!count(n, lo, hi)).then(|| {
                (format!("has {n} item{}", if n == 1 { "" } else { "s" }), format!("it must have {}", bounds()))
            })
        }
        (CheckKind::Pattern(re), Value::Str(s)) if !re.is_match(s) => {
            Some((format!("is {}", shown()), format!("it must match {}", check.text)))
        }
        // A name or port computed from a secret is deploy's E023 ("computed
        // from a secret"), never quoted here. For these kinds the pair is
        // the value and why it is refused.
        _ if value.contains_secret() => None,
        (CheckKind::Host | CheckKind::Login, Value::Str(s)) => plain_name(s).err().map(|why| (s.clone(), why)),
        (CheckKind::Port, Value::Int(port)) if !(1..=65535).contains(port) => Some((port.to_string(), String::new())),
        _ => None,
    }
}

/// The L1 distance between the byte histograms of two names. One edit
/// changes it by at most 2, so a distance above 4 rules out 2 edits.
fn histogram_distance(a: &str, b: &str) -> u32 {
    let mut counts = [0i16; 64];
    let slot = |c: u8| usize::from(c & 63);
    for c in a.bytes() {
        if let Some(n) = counts.get_mut(slot(c)) {
            *n += 1;
        }
    }
    for c in b.bytes() {
        if let Some(n) = counts.get_mut(slot(c)) {
            *n -= 1;
        }
    }
    counts.iter().map(|n| n.unsigned_abs() as u32).sum()
}

/// Spec §7 (v2): an optimal-string-alignment distance of 1 when the
/// shorter name has fewer than 8 characters, 2 otherwise; never for names
/// that differ only in digits (`web1`/`web2`) or by a trailing `s`
/// (`host`/`hosts`); and for two keys of one body only a transposition of
/// adjacent characters (`timeout`/`timeuot`: `host`/`port` were both meant).
fn close_names(key: &str, sibling: &str, same_body: bool) -> bool {
    if same_body {
        return is_adjacent_transposition(key, sibling);
    }
    let shorter = key.chars().count().min(sibling.chars().count());
    let limit = if shorter < 8 { 1 } else { 2 };
    // Edit distance is at least the length difference, and at least half the
    // difference of the character histograms: both are far cheaper than the
    // distance itself and reject almost every pair.
    if sibling.len().abs_diff(key.len()) > limit || histogram_distance(key, sibling) > 2 * limit as u32 {
        return false;
    }
    let d = strsim::osa_distance(key, sibling);
    (1..=limit).contains(&d) && !differ_only_in_digits(key, sibling) && !differ_by_trailing_s(key, sibling)
}

/// `ab` and `ba` at one place, everything else equal. Called for every pair
/// of keys set in one body, for every instance: it allocates nothing and
/// rejects on length first (a transposition keeps the byte length).
fn is_adjacent_transposition(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a.chars(), b.chars());
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x1), Some(y1)) => {
                let (Some(x2), Some(y2)) = (a.next(), b.next()) else { return false };
                return x1 == y2 && x2 == y1 && a.as_str() == b.as_str();
            }
            _ => return false,
        }
    }
}

fn differ_by_trailing_s(a: &str, b: &str) -> bool {
    a.strip_suffix('s') == Some(b) || b.strip_suffix('s') == Some(a)
}

fn differ_only_in_digits(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.chars().filter(|c| !c.is_ascii_digit()).collect::<String>();
    strip(a) == strip(b)
}

fn strip_nullable(t: &Type) -> &Type {
    match t {
        Type::Nullable(inner) => strip_nullable(inner),
        other => other,
    }
}

fn rewrap(v: Value, secret: bool) -> Value {
    if secret && !v.is_secret() {
        Value::Secret(Box::new(v))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::is_adjacent_transposition as swapped;

    #[test]
    fn adjacent_transpositions_and_nothing_else() {
        assert!(swapped("timeout", "timeuot"));
        assert!(swapped("abc", "bac"));
        assert!(swapped("xab", "xba"));
        assert!(swapped("éa", "aé"), "characters, not bytes");
        assert!(!swapped("host", "port"));
        assert!(!swapped("same", "same"));
        assert!(!swapped("abcd", "badc"), "two transpositions");
        assert!(!swapped("abc", "acbx"));
        assert!(!swapped("abc", "axc"), "a substitution");
        assert!(!swapped("", ""));
    }
}
