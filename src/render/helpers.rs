//! Template helpers beyond Handlebars' built-ins (spec §10): `json`, `join`,
//! `upper`, `lower` and `default`. Strict mode applies to them too: only
//! `default` (like the built-in `if` and `unless`) accepts a missing value.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use serde_json::Value as Json;

/// Our helpers, by name.
const OURS: [&str; 5] = ["json", "join", "upper", "lower", "default"];

/// What a helper (ours or a Handlebars built-in) is called with, and an
/// example call: for arity and type errors in our words.
pub fn usage(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "json" => ("one value", "{{json instance.hosts}}"),
        "join" => ("a list and a separator", "{{join instance.hosts \", \"}}"),
        "upper" => ("one value", "{{upper instance.name}}"),
        "lower" => ("one value", "{{lower instance.name}}"),
        "default" => ("a value and a fallback", "{{default instance.port \"8080\"}}"),
        "eq" | "ne" => ("two values to compare", "{{#if (eq instance.mode \"prod\")}}"),
        "lt" | "gt" | "lte" | "gte" => ("two numbers to compare", "{{#if (gt instance.workers 1)}}"),
        "and" | "or" => ("two values", "{{#if (and instance.tls instance.domain)}}"),
        "not" => ("one value", "{{#if (not instance.debug)}}"),
        "len" => ("a list, map or string", "{{len instance.nodes}}"),
        "each" => ("a list or map to loop over", "{{#each module}}...{{/each}}"),
        "with" => ("a value", "{{#with instance.db}}...{{/with}}"),
        "if" | "unless" => ("a value to test", "{{#if instance.tls}}...{{/if}}"),
        "lookup" => ("a map or list and a key", "{{lookup module \"api\"}}"),
        _ => return None,
    })
}

/// The helper of ours an error message of ours is about.
pub fn ours(message: &str) -> Option<&str> {
    let name = message.strip_prefix('`')?.split('`').next()?;
    OURS.contains(&name).then_some(name)
}

fn needs(name: &str) -> &'static str {
    usage(name).map_or("other arguments", |(needs, _)| needs)
}

fn arguments(n: usize) -> String {
    match n {
        0 => "no arguments".to_string(),
        1 => "1 argument".to_string(),
        n => format!("{n} arguments"),
    }
}

/// Refuses a call with more arguments than the helper takes: a second
/// argument to `upper` is a mistake, not something to ignore.
fn at_most(h: &Helper<'_>, name: &'static str, n: usize) -> Result<(), RenderError> {
    if h.params().len() > n {
        let found = arguments(h.params().len());
        return Err(RenderErrorReason::Other(format!("`{name}` needs {}, found {found}", needs(name))).into());
    }
    Ok(())
}

fn param<'rc>(h: &'rc Helper<'rc>, idx: usize, name: &'static str) -> Result<&'rc Json, RenderError> {
    match h.param(idx) {
        Some(p) if !p.is_value_missing() => Ok(p.value()),
        Some(p) => Err(RenderErrorReason::MissingVariable(p.relative_path().cloned()).into()),
        None => {
            let found = arguments(h.params().len());
            Err(RenderErrorReason::Other(format!("`{name}` needs {}, found {found}", needs(name))).into())
        }
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

struct JsonHelper;
impl HelperDef for JsonHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        at_most(h, "json", 1)?;
        let v = param(h, 0, "json")?;
        out.write(&v.to_string()).map_err(|e| RenderErrorReason::Other(e.to_string()).into())
    }
}

struct JoinHelper;
impl HelperDef for JoinHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        at_most(h, "join", 2)?;
        let list = param(h, 0, "join")?;
        let sep = param(h, 1, "join").map(text)?;
        let joined = match list {
            Json::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(&sep),
            other => {
                let found = kind(other);
                return Err(RenderErrorReason::Other(format!(
                    "`join` needs a list and a separator, found {found} for the list"
                ))
                .into());
            }
        };
        out.write(&joined).map_err(|e| RenderErrorReason::Other(e.to_string()).into())
    }
}

struct CaseHelper {
    upper: bool,
}
impl HelperDef for CaseHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let name = if self.upper { "upper" } else { "lower" };
        at_most(h, name, 1)?;
        let s = text(param(h, 0, name)?);
        let s = if self.upper { s.to_uppercase() } else { s.to_lowercase() };
        out.write(&s).map_err(|e| RenderErrorReason::Other(e.to_string()).into())
    }
}

struct DefaultHelper;
impl HelperDef for DefaultHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        at_most(h, "default", 2)?;
        let value = h.param(0).filter(|p| !p.is_value_missing()).map(|p| p.value());
        let fallback = param(h, 1, "default")?;
        let chosen = match value {
            None | Some(Json::Null) => fallback,
            Some(Json::String(s)) if s.is_empty() => fallback,
            Some(v) => v,
        };
        Ok(ScopedJson::Derived(chosen.clone()))
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

/// Registers the helpers on a registry.
pub fn register(registry: &mut Handlebars<'_>) {
    registry.register_helper("json", Box::new(JsonHelper));
    registry.register_helper("join", Box::new(JoinHelper));
    registry.register_helper("upper", Box::new(CaseHelper { upper: true }));
    registry.register_helper("lower", Box::new(CaseHelper { upper: false }));
    registry.register_helper("default", Box::new(DefaultHelper));
}
