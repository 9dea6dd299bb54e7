//! Constraints of schema fields (spec §7): `int(1024..65535)`, `int(>= 1)`,
//! `float(0.0..1.0)`, `string(/REGEX/)`, `string(N..M)`, `[T](N..M)`, and
//! `unique`. Built once per field declaration here (regexes compiled, bounds
//! parsed), checked on every concrete instance's final values by `eval`.

use super::Type;
use crate::diagnostic::{Code, Diagnostic, Sink};
use crate::source::Span;
use crate::syntax::ast::{ConstraintKind, TypeExpr, TypeExprKind};

/// A field's constraint, ready to check.
#[derive(Clone, Debug)]
pub struct Check {
    /// What it checks.
    pub kind: CheckKind,
    /// The constraint as written (`(1024..65535)`); `None` for a built-in one.
    pub span: Option<Span>,
    /// How messages name it (`1024..65535`, `/^[a-z]+$/`).
    pub text: String,
    /// A range's bounds as written (`0.0`, not `0`).
    pub bounds: (Option<String>, Option<String>),
}

/// The kinds of check.
#[derive(Clone, Debug)]
pub enum CheckKind {
    /// The number lies within the bounds (inclusive).
    Number(Option<f64>, Option<f64>),
    /// The string's characters or the list's items number within the bounds.
    Length(Option<u64>, Option<u64>),
    /// The whole string matches.
    Pattern(regex::Regex),
    /// `secret(external)`: never generated; `facs secret set` supplies it.
    External,
    /// Built in: a host name ssh and rsync take without surprises (a
    /// target's `nodes`; E023, spec §11).
    Host,
    /// Built in: a login name (`user` of a target or of `deploy`; E023).
    Login,
    /// Built in: an ssh port, 1 to 65535 (a target's `port`; E023).
    Port,
}

impl Check {
    /// One of the built-in checks of the names and numbers deploy puts on
    /// ssh's and rsync's command lines: checked on every build like any
    /// constraint, so a bad name is caught before anyone deploys.
    pub fn builtin(kind: CheckKind) -> Check {
        Check { kind, span: None, text: String::new(), bounds: (None, None) }
    }
}

/// A host or login name as ssh and rsync take it without surprises, else
/// why not.
pub fn plain_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else { return Err("it is empty".into()) };
    if first == '-' {
        return Err("it starts with `-`, so ssh and rsync would read it as an option".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))) {
        return Err(format!("it contains {c:?}; only letters, digits, `.`, `-` and `_` are allowed"));
    }
    if !first.is_ascii_alphanumeric() && first != '_' {
        return Err("it must start with a letter, a digit or `_`".into());
    }
    Ok(())
}

/// E023 for a host or login name `plain_name` refuses.
pub fn bad_name(span: Span, kind: &CheckKind, name: &str, why: &str) -> Diagnostic {
    let (what, help) = if matches!(kind, CheckKind::Host) {
        (
            "node",
            "A node is a host name, an address or an ssh alias (set its login name with the target's `user`; \
             options and IPv6 addresses go in ~/.ssh/config under an alias).",
        )
    } else {
        ("user", "A user is a login name: letters, digits, `.`, `-` and `_`.")
    };
    let plain = if what == "node" { "host" } else { "login" };
    Diagnostic::error(Code::E023, span, format!("{what} `{}` is not a plain {plain} name: {why}", name.escape_debug()))
        .with_primary_label(format!("this {what}"))
        .with_help(help)
}

/// E023 for an ssh port out of range.
pub fn bad_port(span: Span, port: i64) -> Diagnostic {
    Diagnostic::error(Code::E023, span, format!("ssh port {port} is out of range"))
        .with_primary_label("not a TCP port")
        .with_help("A target's `port` is the ssh port of its nodes: a number from 1 to 65535 (ssh's default is 22).")
}

fn bad(span: Span, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::E017, span, message).with_primary_label("this constraint").with_help(help)
}

/// The checks of a field declared with type `t` (typed `ty`): the one on
/// the field's own type (`[int](1..)`) and the one on each item of a list
/// or map field (`[int(1..9)]`, `{string(/^[a-z]+$/)}`). Constraints any
/// deeper are reported.
pub fn check_of(t: &TypeExpr, ty: &Type, sink: &mut Sink) -> (Option<Check>, Option<Check>) {
    let own = strip_nullable(t);
    nested(own, 0, sink);
    let ty = strip_nullable_type(ty);
    let check = own.constraint.as_ref().and_then(|c| build(c, ty, sink));
    let items = match (&own.kind, ty) {
        (TypeExprKind::List(inner), Type::List(item)) | (TypeExprKind::Map(inner), Type::Map(item)) => {
            strip_nullable(inner).constraint.as_ref().and_then(|c| build(c, strip_nullable_type(item), sink))
        }
        _ => None,
    };
    (check, items)
}

fn strip_nullable(t: &TypeExpr) -> &TypeExpr {
    match &t.kind {
        TypeExprKind::Nullable(inner) => inner,
        _ => t,
    }
}

fn strip_nullable_type(ty: &Type) -> &Type {
    match ty {
        Type::Nullable(inner) => inner,
        other => other,
    }
}

/// One written constraint on a value of type `ty`, ready to check.
fn build(c: &crate::syntax::ast::Constraint, ty: &Type, sink: &mut Sink) -> Option<Check> {
    let span = c.span;
    let kind = match (&c.kind, ty) {
        (ConstraintKind::Range(lo, hi), Type::Int | Type::Float) => {
            let parse = |b: &Option<String>| -> Result<Option<f64>, ()> {
                match b {
                    None => Ok(None),
                    Some(text) if *ty == Type::Int && text.contains('.') => Err(()),
                    Some(text) => text.parse::<f64>().map(Some).map_err(|_| ()),
                }
            };
            match (parse(lo), parse(hi)) {
                (Ok(lo), Ok(hi)) => CheckKind::Number(lo, hi),
                _ => {
                    sink.push(bad(
                        span,
                        "the bounds of an `int` range are integers",
                        "Write `int(1..10)`, or make the field a `float`.",
                    ));
                    return None;
                }
            }
        }
        (ConstraintKind::Range(lo, hi), Type::String | Type::Secret | Type::List(_)) => {
            let parse = |b: &Option<String>| -> Result<Option<u64>, ()> {
                match b {
                    None => Ok(None),
                    Some(text) => text.parse::<u64>().map(Some).map_err(|_| ()),
                }
            };
            match (parse(lo), parse(hi)) {
                (Ok(lo), Ok(hi)) => CheckKind::Length(lo, hi),
                _ => {
                    sink.push(bad(
                        span,
                        "a length is a whole number of characters or items",
                        "Write lengths such as `string(1..63)` or `[string](1..)`.",
                    ));
                    return None;
                }
            }
        }
        (ConstraintKind::Pattern(re), Type::String | Type::Secret) => {
            match regex::Regex::new(&format!("^(?:{re})$")) {
                Ok(compiled) => CheckKind::Pattern(compiled),
                Err(e) => {
                    sink.push(
                    Diagnostic::error(Code::E019, span, "invalid regular expression")
                        .with_primary_label(e.to_string().lines().last().unwrap_or("invalid").trim().to_string())
                        .with_help("Constraints use the Rust `regex` crate's syntax; the pattern must match the whole value."),
                );
                    return None;
                }
            }
        }
        (ConstraintKind::External, Type::Secret) => CheckKind::External,
        (kind, _) => {
            let what = match kind {
                ConstraintKind::Range(..) => "a range applies to `int`, `float` (values), `string` and lists (lengths)",
                ConstraintKind::Pattern(_) => "a pattern applies to `string`",
                ConstraintKind::External => "`external` applies to `secret`",
            };
            sink.push(bad(
                span,
                format!("this constraint does not fit the field's type: {what}"),
                "Move the constraint to a field of that type, or remove it.",
            ));
            return None;
        }
    };
    if let CheckKind::Number(Some(lo), Some(hi)) = kind {
        if lo > hi {
            sink.push(bad(span, "the range is empty", "Write the lower bound first: `int(1..10)`."));
            return None;
        }
    }
    if let CheckKind::Length(Some(lo), Some(hi)) = kind {
        if lo > hi {
            sink.push(bad(span, "the range is empty", "Write the lower bound first: `string(1..63)`."));
            return None;
        }
    }
    let text = match &c.kind {
        ConstraintKind::Range(lo, hi) => match (lo, hi) {
            (Some(l), None) => format!(">= {l}"),
            (None, Some(h)) => format!("<= {h}"),
            (l, h) => format!("{}..{}", l.as_deref().unwrap_or(""), h.as_deref().unwrap_or("")),
        },
        ConstraintKind::Pattern(re) => format!("/{re}/"),
        ConstraintKind::External => "external".into(),
    };
    let bounds = match &c.kind {
        ConstraintKind::Range(lo, hi) => (lo.clone(), hi.clone()),
        _ => (None, None),
    };
    Some(Check { kind, span: Some(span), text, bounds })
}

/// Constraints deeper than a list's or map's items (`[[int(1..3)]]`) are
/// not supported: each is reported. `depth` 0 is the field's own type, 1
/// its items (a `?` adds no depth).
fn nested(t: &TypeExpr, depth: usize, sink: &mut Sink) {
    if depth > 1 {
        if let Some(c) = &t.constraint {
            sink.push(bad(
                c.span,
                "constraints apply to a field's own type or to its items",
                "Constrain the field (`ports: [int](1..)`) or its items (`ports: [int(1..65535)]`); items of nested lists or maps cannot be constrained.",
            ));
        }
    }
    match &t.kind {
        TypeExprKind::List(inner) | TypeExprKind::Map(inner) => nested(inner, depth + 1, sink),
        TypeExprKind::Nullable(inner) => nested(inner, depth, sink),
        _ => {}
    }
}
