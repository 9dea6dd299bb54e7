//! Template helpers beyond Handlebars' built-ins (spec §10): `json`, `join`,
//! `upper`, `lower` and `default`. Strict mode applies to them too: only
//! `default` (like the built-in `if` and `unless`) accepts a missing value.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use serde_json::Value as Json;

fn param<'rc>(h: &'rc Helper<'rc>, idx: usize, name: &'static str) -> Result<&'rc Json, RenderError> {
    match h.param(idx) {
        Some(p) if !p.is_value_missing() => Ok(p.value()),
        Some(p) => Err(RenderErrorReason::MissingVariable(p.relative_path().cloned()).into()),
        None => Err(RenderErrorReason::ParamNotFoundForIndex(name, idx).into()),
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
        let list = param(h, 0, "join")?;
        let sep = param(h, 1, "join").map(text)?;
        let joined = match list {
            Json::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(&sep),
            other => {
                return Err(RenderErrorReason::Other(format!("`join` needs a list, found {}", kind(other))).into());
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
