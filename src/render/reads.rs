//! Which values a template reads, to tell a secret file by provenance
//! (spec §10): a rendered file is secret when anything its template reads is
//! a secret or derived from one, whatever the output looks like. Looking for
//! the secret's text in the output misses `{{upper password}}`, a token
//! escaped by `{{json ...}}`, a secret too short to search for, and a
//! `{{#if}}` on a password that leaks one bit.
//!
//! The template is walked before rendering, against a taint tree of the
//! instance's own context: `{{#each}}` and `{{#with}}` move the scope to the
//! values they name, block parameters and partial hash arguments bind
//! names, `lookup` follows its key (every key when it is computed), partials
//! are followed with their context. Whatever cannot be followed (a helper's
//! result, a `../` whose level Handlebars decides, a runaway walk) counts as
//! read when any of its inputs is secret: the analysis may call a file
//! secret that is not, never the other way round.

use crate::eval::Value;
use handlebars::template::{BlockParam, HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::Path;
use std::collections::HashMap;

/// The secrecy of a context value and of what lies under it.
#[derive(Clone, Debug, Default)]
pub struct Taint {
    /// The value is a secret, lies in one, or holds one.
    secret: bool,
    children: HashMap<String, Taint>,
}

impl Taint {
    /// The taint of a value; everything inside a secret is secret.
    pub fn of(value: &Value) -> Taint {
        Taint::build(value, false)
    }

    /// The taint of a render context built from `manifest`: `env` is the
    /// instance under another name (see `Renderer::context`).
    pub fn context(manifest: &Value) -> Taint {
        let mut t = Taint::of(manifest);
        if let Some(instance) = t.children.get("instance").cloned() {
            t.children.insert("env".into(), instance);
        }
        t
    }

    fn build(value: &Value, inside: bool) -> Taint {
        match value {
            Value::Secret(inner) => Taint::build(inner, true),
            Value::Map(map) => {
                let children: HashMap<String, Taint> =
                    map.iter().map(|(k, v)| (k.clone(), Taint::build(v, inside))).collect();
                Taint { secret: inside || children.values().any(|c| c.secret), children }
            }
            Value::List(items) => {
                let children: HashMap<String, Taint> =
                    items.iter().enumerate().map(|(i, v)| (i.to_string(), Taint::build(v, inside))).collect();
                Taint { secret: inside || children.values().any(|c| c.secret), children }
            }
            _ => Taint { secret: inside, children: HashMap::new() },
        }
    }
}

/// Where a path may lead.
#[derive(Clone, Copy, Debug)]
enum Loc<'t> {
    /// A value of the context.
    At(&'t Taint),
    /// Nothing there: reads nothing.
    Missing,
    /// A computed value that is secret or not as a whole.
    Computed(bool),
}

impl<'t> Loc<'t> {
    fn secret(self) -> bool {
        match self {
            Loc::At(t) => t.secret,
            Loc::Missing => false,
            Loc::Computed(s) => s,
        }
    }

    fn child(self, key: &str) -> Loc<'t> {
        match self {
            Loc::At(t) => t.children.get(key).map_or(Loc::Missing, Loc::At),
            other => other,
        }
    }

    /// What `{{#each}}` iterates over.
    fn items(self, out: &mut Vec<Loc<'t>>) {
        match self {
            Loc::At(t) => out.extend(t.children.values().map(Loc::At)),
            Loc::Missing => {}
            c @ Loc::Computed(_) => out.push(c),
        }
    }
}

fn any_secret(locs: &[Loc<'_>]) -> bool {
    locs.iter().any(|l| l.secret())
}

/// Set-like push: scopes over the same value are walked once.
fn dedup(locs: Vec<Loc<'_>>) -> Vec<Loc<'_>> {
    let mut out: Vec<Loc<'_>> = Vec::with_capacity(locs.len());
    let (mut plain, mut secret) = (false, false);
    let mut seen = std::collections::HashSet::new();
    for l in locs {
        let keep = match l {
            Loc::At(t) => seen.insert(std::ptr::from_ref(t)),
            Loc::Missing => false,
            Loc::Computed(s) => !std::mem::replace(if s { &mut secret } else { &mut plain }, true),
        };
        if keep {
            out.push(l);
        }
    }
    out
}

/// Walk steps before giving up (and calling the file secret): nested
/// `{{#each}}` over a large context multiplies scopes.
const STEP_BUDGET: usize = 1_000_000;

/// The scopes and names a template element sees.
#[derive(Clone)]
struct Env<'t> {
    /// Outermost first; the last is the current context.
    frames: Vec<Vec<Loc<'t>>>,
    /// Block parameters and partial arguments, innermost last.
    bindings: Vec<(String, Vec<Loc<'t>>)>,
}

struct Walk<'a, 't> {
    registry: &'a handlebars::Handlebars<'a>,
    root: &'t Taint,
    /// Inline partials of the file being rendered.
    inline: HashMap<String, &'a Template>,
    /// Partials being walked (include cycles are refused elsewhere, E015).
    active: Vec<String>,
    steps: usize,
}

/// True when rendering template `name` reads a secret of `root`.
pub fn reads_secret(registry: &handlebars::Handlebars<'_>, name: &str, root: &Taint) -> bool {
    let Some(template) = registry.get_template(name) else { return false };
    let mut inline = HashMap::new();
    collect_inline(template, &mut inline);
    let mut walk = Walk { registry, root, inline, active: vec![name.to_string()], steps: 0 };
    let mut env = Env { frames: vec![vec![Loc::At(root)]], bindings: Vec::new() };
    walk.template(template, &mut env)
}

fn collect_inline<'a>(template: &'a Template, out: &mut HashMap<String, &'a Template>) {
    for element in &template.elements {
        match element {
            TemplateElement::DecoratorBlock(d) => {
                if let (Parameter::Name(n), Some(t)) = (&d.name, &d.template) {
                    if n == "inline" {
                        if let Some(name) = d.params.first().and_then(literal) {
                            out.insert(name, t);
                        }
                    }
                    collect_inline(t, out);
                }
            }
            TemplateElement::HelperBlock(h) => {
                for t in [&h.template, &h.inverse].into_iter().flatten() {
                    collect_inline(t, out);
                }
            }
            TemplateElement::PartialBlock(d) => {
                if let Some(t) = &d.template {
                    collect_inline(t, out);
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
        Parameter::Literal(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl<'a, 't> Walk<'a, 't> {
    fn spend(&mut self, n: usize) -> bool {
        self.steps = self.steps.saturating_add(n.max(1));
        self.steps > STEP_BUDGET
    }

    /// True when the template reads a secret (stops at the first).
    fn template(&mut self, template: &'a Template, env: &mut Env<'t>) -> bool {
        template.elements.iter().any(|e| self.element(e, env))
    }

    fn element(&mut self, element: &'a TemplateElement, env: &mut Env<'t>) -> bool {
        if self.spend(1) {
            return true;
        }
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => false,
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                let bare = h.params.is_empty() && h.hash.is_empty();
                match &h.name {
                    // `{{name}}`: a value, or a helper without arguments.
                    Parameter::Name(n) if bare => any_secret(&self.path(n, env)),
                    Parameter::Path(p) if bare => any_secret(&self.path(raw(p), env)),
                    _ => any_secret(&self.call(h, env)),
                }
            }
            TemplateElement::HelperBlock(h) => {
                let name = match &h.name {
                    Parameter::Name(n) => n.as_str(),
                    _ => "",
                };
                let subject = h.params.first().map(|p| self.param(p, env)).unwrap_or_default();
                match name {
                    "each" | "with" => {
                        let mut inner = Vec::new();
                        if name == "each" {
                            subject.iter().for_each(|l| l.items(&mut inner));
                        } else {
                            inner.clone_from(&subject);
                        }
                        let inner = dedup(inner);
                        if self.spend(inner.len()) {
                            return true;
                        }
                        let mut body = env.clone();
                        body.frames.push(inner.clone());
                        match &h.block_param {
                            Some(BlockParam::Single(p)) => bind(&mut body, p, inner),
                            // `as |value key|`: keys are names, not values.
                            Some(BlockParam::Pair((value, key))) => {
                                bind(&mut body, value, inner);
                                bind(&mut body, key, vec![Loc::Computed(false)]);
                            }
                            _ => {}
                        }
                        if h.template.as_ref().is_some_and(|t| self.template(t, &mut body)) {
                            return true;
                        }
                        // The `{{else}}` part runs in the outer scope.
                        h.inverse.as_ref().is_some_and(|t| self.template(t, env))
                            || self.arguments(h.params.get(1..).unwrap_or(&[]), h.hash.values(), env)
                    }
                    // `if`, `unless` and any other block: the arguments are
                    // read (a branch on a secret tells something about it),
                    // the bodies run in the same scope.
                    _ => {
                        any_secret(&subject)
                            || self.arguments(h.params.get(1..).unwrap_or(&[]), h.hash.values(), env)
                            || [&h.template, &h.inverse].into_iter().flatten().any(|t| self.template(t, env))
                    }
                }
            }
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                let mut inner = env.clone();
                if let Some(p) = d.params.first() {
                    let ctx = self.param(p, env);
                    inner.frames.push(ctx);
                }
                for (k, v) in &d.hash {
                    let locs = self.param(v, env);
                    inner.bindings.push((k.clone(), locs));
                }
                // `{{#> layout}}body{{/layout}}`: the body may be rendered
                // through `{{> @partial-block}}`; count it as read.
                if d.template.as_ref().is_some_and(|t| self.template(t, env)) {
                    return true;
                }
                let Some(name) = literal(&d.name) else { return false };
                let target = self.inline.get(&name).copied().or_else(|| self.registry.get_template(&name));
                match target {
                    Some(t) if !self.active.contains(&name) => {
                        self.active.push(name);
                        let secret = self.template(t, &mut inner);
                        self.active.pop();
                        secret
                    }
                    _ => false,
                }
            }
            TemplateElement::DecoratorExpression(d) => self.arguments(&d.params, d.hash.values(), env),
            TemplateElement::DecoratorBlock(d) => {
                // Inline partials are walked where they are included.
                let is_inline = matches!(&d.name, Parameter::Name(n) if n == "inline");
                !is_inline
                    && (self.arguments(&d.params, d.hash.values(), env)
                        || d.template.as_ref().is_some_and(|t| self.template(t, env)))
            }
            // A kind of element this walk does not know: assume the worst.
            _ => true,
        }
    }

    fn arguments<'p>(
        &mut self,
        params: &'a [Parameter],
        hash: impl Iterator<Item = &'a Parameter>,
        env: &Env<'t>,
    ) -> bool
    where
        'a: 'p,
    {
        params.iter().chain(hash).any(|p| any_secret(&self.param(p, env)))
    }

    /// Where a parameter's value comes from.
    fn param(&mut self, p: &'a Parameter, env: &Env<'t>) -> Vec<Loc<'t>> {
        match p {
            Parameter::Name(n) => self.path(n, env),
            Parameter::Path(path) => self.path(raw(path), env),
            Parameter::Literal(_) => vec![Loc::Computed(false)],
            Parameter::Subexpression(s) => match s.element.as_ref() {
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => self.call(h, env),
                _ => vec![Loc::Computed(true)],
            },
            _ => vec![Loc::Computed(true)],
        }
    }

    /// Where a helper call's value comes from: `lookup` with a written key
    /// leads to that entry; any other result is computed from its arguments.
    fn call(&mut self, h: &'a HelperTemplate, env: &Env<'t>) -> Vec<Loc<'t>> {
        let is_lookup = matches!(&h.name, Parameter::Name(n) if n == "lookup");
        match (is_lookup, h.params.first(), h.params.get(1)) {
            (true, Some(subject), Some(key)) => {
                let subject = self.param(subject, env);
                let key_secret = match key {
                    Parameter::Literal(_) => false,
                    other => any_secret(&self.param(other, env)),
                };
                let mut out = Vec::new();
                match literal(key).filter(|_| matches!(key, Parameter::Literal(_))) {
                    Some(k) => out.extend(subject.iter().map(|l| l.child(&k))),
                    // A computed key may pick any entry.
                    None => subject.iter().for_each(|l| l.items(&mut out)),
                }
                if key_secret {
                    out.push(Loc::Computed(true));
                }
                dedup(out)
            }
            _ => vec![Loc::Computed(self.arguments(&h.params, h.hash.values(), env))],
        }
    }

    /// Where a written path leads in `env`.
    fn path(&mut self, raw: &str, env: &Env<'t>) -> Vec<Loc<'t>> {
        let (base, segments) = split_path(raw);
        let start: Vec<Loc<'t>> = match base {
            Base::Root => vec![Loc::At(self.root)],
            Base::Local => return vec![Loc::Computed(false)],
            // Which frame `../` names is Handlebars' business (blocks such
            // as `#if` may or may not count as a level): every enclosing one.
            Base::Up => dedup(env.frames.iter().flatten().copied().collect()),
            Base::This => env.frames.last().cloned().unwrap_or_default(),
            Base::Current => {
                let bound = segments
                    .first()
                    .and_then(|first| env.bindings.iter().rev().find(|(name, _)| name == first))
                    .map(|(_, locs)| locs.clone());
                if let Some(locs) = bound {
                    return self.follow(locs, segments.get(1..).unwrap_or(&[]));
                }
                env.frames.last().cloned().unwrap_or_default()
            }
        };
        self.follow(start, &segments)
    }

    fn follow(&mut self, mut locs: Vec<Loc<'t>>, segments: &[String]) -> Vec<Loc<'t>> {
        for seg in segments {
            if self.spend(locs.len()) {
                return vec![Loc::Computed(true)];
            }
            locs = dedup(locs.into_iter().map(|l| l.child(seg)).collect());
        }
        locs
    }
}

fn bind<'t>(env: &mut Env<'t>, p: &Parameter, locs: Vec<Loc<'t>>) {
    if let Some(name) = literal(p).or_else(|| match p {
        Parameter::Path(path) => Some(raw(path).to_string()),
        _ => None,
    }) {
        env.bindings.push((name, locs));
    }
}

fn raw(path: &Path) -> &str {
    match path {
        Path::Relative((_, raw)) => raw,
        Path::Local((_, _, raw)) => raw,
        #[allow(unreachable_patterns)]
        _ => "",
    }
}

/// Where a path starts.
#[derive(Debug, PartialEq)]
pub(super) enum Base {
    /// `@root.…`
    Root,
    /// `@index`, `@key`, `@first`, `../@key`: loop data, not values.
    Local,
    /// `../…`
    Up,
    /// `this…`, `./…`
    This,
    /// A name: a binding or a field of the current context.
    Current,
}

/// Splits `../a.[b c]/d` into its base and segments.
pub(super) fn split_path(raw: &str) -> (Base, Vec<String>) {
    let mut rest = raw.trim();
    let mut base = Base::Current;
    while let Some(r) = rest.strip_prefix("../") {
        base = Base::Up;
        rest = r;
    }
    if rest == ".." {
        return (Base::Up, Vec::new());
    }
    if let Some(r) = rest.strip_prefix("@root") {
        base = Base::Root;
        rest = r.trim_start_matches(['.', '/']);
    } else if rest.starts_with('@') {
        return (Base::Local, Vec::new());
    } else if base == Base::Current {
        for this in ["this.", "this/", "./"] {
            if let Some(r) = rest.strip_prefix(this) {
                base = Base::This;
                rest = r;
            }
        }
        if rest == "this" || rest == "." {
            return (Base::This, Vec::new());
        }
    }
    let mut segments = Vec::new();
    let mut chars = rest.chars().peekable();
    let mut current = String::new();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    current.push(c);
                }
            }
            '.' | '/' => segments.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if !current.is_empty() || !segments.is_empty() {
        segments.push(current);
    }
    segments.retain(|s| !s.is_empty());
    if segments.first().is_some_and(|s| s.starts_with('@')) {
        return (Base::Local, Vec::new());
    }
    (base, segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::IndexMap;

    fn secret(s: &str) -> Value {
        Value::Secret(Box::new(Value::Str(s.into())))
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<IndexMap<_, _>>())
    }

    fn manifest() -> Value {
        map(vec![
            (
                "module",
                map(vec![
                    ("app", map(vec![("name", Value::Str("app".into())), ("password", secret("ab"))])),
                    ("web", map(vec![("name", Value::Str("web".into()))])),
                ]),
            ),
            ("instance", map(vec![("token", secret("q\"x")), ("host", Value::Str("h".into()))])),
            ("list", Value::List(vec![Value::Int(1), secret("pw12")])),
        ])
    }

    fn secret_template(text: &str) -> bool {
        let mut registry = handlebars::Handlebars::new();
        registry.register_template_string("t", text).expect("template");
        registry.register_template_string("part", "{{module.app.password}}").expect("partial");
        registry.register_template_string("field", "{{x}}").expect("partial");
        registry.register_template_string("name", "{{name}}").expect("partial");
        reads_secret(&registry, "t", &Taint::context(&manifest()))
    }

    #[test]
    fn a_template_that_reads_a_secret_is_secret_however_it_shows_it() {
        for t in [
            "{{module.app.password}}",
            "{{upper module.app.password}}",
            "{{json env.token}}",
            "{{instance.token}}",
            "{{#if module.app.password}}yes{{/if}}",
            "{{#each module}}{{password}}{{/each}}",
            "{{#each module}}{{this}}{{/each}}",
            "{{#each module as |m|}}{{m.password}}{{/each}}",
            "{{#with module.app}}{{password}}{{/with}}",
            "{{#each module}}{{#with this}}{{../password}}{{/with}}{{/each}}",
            "{{> part}}",
            "{{> field x=module.app.password}}",
            "{{#*inline \"p\"}}{{env.token}}{{/inline}}{{> p}}",
            "{{lookup module.app \"password\"}}",
            "{{upper (lookup module.app \"password\")}}",
            "{{#each module}}{{lookup ../module @key}}{{/each}}",
            "{{list.[1]}}",
            "{{#each list}}{{this}}{{/each}}",
            "{{@root.module.app.password}}",
            "{{module}}",
            "{{json module}}",
        ] {
            assert!(secret_template(t), "{t} reads a secret");
        }
    }

    #[test]
    fn a_template_that_reads_no_secret_is_not() {
        for t in [
            "plain text",
            "{{module.app.name}}",
            "{{#each module}}{{@key}} {{name}}{{/each}}",
            "{{#each module as |m k|}}{{k}}{{m.name}}{{/each}}",
            "{{#with module.web}}{{name}}{{/with}}",
            "{{> name}}",
            "{{list.[0]}}",
            "{{upper instance.host}}",
            "{{lookup module.app \"name\"}}",
            "{{! module.app.password }}",
            "{{#each missing}}{{password}}{{/each}}",
        ] {
            assert!(!secret_template(t), "{t} reads no secret");
        }
    }

    #[test]
    fn paths_split_like_handlebars_writes_them() {
        assert_eq!(split_path("a.b/c"), (Base::Current, vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(split_path("../x"), (Base::Up, vec!["x".into()]));
        assert_eq!(split_path("@root.m.[a b]"), (Base::Root, vec!["m".into(), "a b".into()]));
        assert_eq!(split_path("this.p"), (Base::This, vec!["p".into()]));
        assert_eq!(split_path("this"), (Base::This, vec![]));
        assert_eq!(split_path("@key").0, Base::Local);
        assert_eq!(split_path("list.[1]"), (Base::Current, vec!["list".into(), "1".into()]));
    }
}
