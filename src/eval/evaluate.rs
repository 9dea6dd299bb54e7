//! Late-bound evaluation of a merged tree (spec §5): references and
//! interpolations see the final instance; each node is evaluated once and
//! cached; a node met again while it is being evaluated is a reference cycle
//! (E011), reported once with every step.

use super::merge::{Derived, Node, NodeKind, Slot};
use super::operators::{self, At, Fault};
use super::value::Value;
use crate::diagnostic::{article, closest, Code, Diagnostic, Reported};
use crate::map::IndexMap;
use crate::source::Span;
use crate::state::State;
use crate::syntax::ast::{BinOp, CompBody, Comprehension, Expr, ExprKind, Item, Name, StrPart};

/// How deep references may chain before evaluation gives up (no stack overflow).
pub const MAX_EVAL_DEPTH: usize = 400;

/// The most service copies one module may ask for.
const MAX_SERVICE_COPIES: i64 = 10_000;

/// The roots an instance's references resolve against.
pub struct Roots<'a, 'e> {
    /// `project`
    pub project: &'e Node<'a>,
    /// `instance` / `env`
    pub instance: &'e Node<'a>,
    /// `module.NAME`, in declaration order.
    pub modules: &'e [Node<'a>],
    /// Module names, in declaration order.
    pub module_names: &'e [&'a str],
    /// Where each module is declared (E021).
    pub module_spans: &'e [Span],
    /// `facs`
    pub facs: &'e Node<'a>,
    /// Roots also used as field names (E013 reported): see `resolve`.
    pub shadowed: &'e [&'a str],
}

/// Evaluates the nodes of one instance.
pub struct Evaluator<'a, 'e> {
    roots: Roots<'a, 'e>,
    state: &'e mut State,
    /// Errors found.
    pub errors: Vec<Diagnostic>,
    stack: Vec<(*const Node<'a>, &'a str, Span)>,
    services: Vec<Option<Result<Vec<crate::state::ServiceInstance>, Reported>>>,
    /// The values of `unique` fields, checked across instances by the driver.
    pub uniques: Vec<UniqueValue>,
    /// Comprehension variables in scope, innermost last.
    locals: Vec<(&'a str, Local<'a, 'e>)>,
    /// For schema defaults that read `self`: the record each fills.
    selves: Selves<'a>,
    /// The record `self` means while such a default is evaluated.
    self_record: Vec<&'e Node<'a>>,
}

/// For each default expression that reads `self` (by the node's address,
/// used only as a key: nodes do not move during evaluation), the root and
/// path of the record it fills.
pub type Selves<'a> = std::collections::HashMap<*const Node<'a>, (super::merge::Scope, Vec<String>)>;

/// The value of a `unique` field in one instance (spec §7).
#[derive(Clone, Debug)]
pub struct UniqueValue {
    /// `instance.web_port`, `module.api.port`.
    pub field: String,
    /// The value as `==` compares it ([`Value::canonical`]).
    pub key: String,
    /// The value as JSON, unless it is secret.
    pub shown: Option<String>,
    /// Where it was set.
    pub span: Span,
    /// The `unique` of the declaration.
    pub constraint: Span,
}

/// What a comprehension variable stands for: a node of the instance (read
/// lazily, so `m.enabled` does not evaluate all of `m`), or a computed value.
#[derive(Clone)]
enum Local<'a, 'e> {
    Node(&'e Node<'a>),
    Value(Value),
}

impl<'a, 'e> Evaluator<'a, 'e> {
    /// Where `self` points for the defaults that read it (see `eval::collect_selves`).
    pub fn set_selves(&mut self, selves: Selves<'a>) {
        self.selves = selves;
    }

    /// The state being read (and extended).
    pub fn state(&self) -> &State {
        self.state
    }

    /// An evaluator over the roots, reading and extending `state`.
    pub fn new(roots: Roots<'a, 'e>, state: &'e mut State) -> Evaluator<'a, 'e> {
        let n = roots.modules.len();
        Evaluator {
            roots,
            state,
            errors: Vec::new(),
            stack: Vec::new(),
            services: vec![None; n],
            locals: Vec::new(),
            uniques: Vec::new(),
            selves: Selves::default(),
            self_record: Vec::new(),
        }
    }

    /// Allocates every module's service instances in declaration order, so
    /// uiids do not depend on which value happens to be evaluated first.
    pub fn allocate_services(&mut self) {
        for idx in 0..self.roots.modules.len() {
            let _ = self.services(idx);
        }
    }

    /// The value of a node (`None` for a derived value that does not apply,
    /// such as `service.uiid` of a service without `logical_name`).
    pub fn eval_child(&mut self, node: &Node<'a>) -> Result<Option<Value>, Reported> {
        if let NodeKind::Derived(d) = &node.kind {
            if self.is_absent(d)? {
                return Ok(None);
            }
        }
        self.eval_node(node).map(Some)
    }

    fn is_absent(&mut self, d: &Derived) -> Result<bool, Reported> {
        Ok(match d {
            Derived::ServiceInstanceName(m) | Derived::ServiceUiid(m) | Derived::ServiceInstances(m) => {
                self.services(*m)?.is_empty()
            }
            _ => false,
        })
    }

    /// The value of a node, cached.
    pub fn eval_node(&mut self, node: &Node<'a>) -> Result<Value, Reported> {
        match &*node.slot.borrow() {
            Slot::Done(v) => return Ok(v.clone()),
            Slot::Failed => return Err(Reported),
            Slot::InProgress => {}
            Slot::Empty => {}
        }
        if matches!(&*node.slot.borrow(), Slot::InProgress) {
            return self.cycle(node);
        }
        if self.stack.len() >= MAX_EVAL_DEPTH {
            self.errors.push(
                Diagnostic::error(
                    Code::E011,
                    node.span,
                    format!("references nested deeper than {MAX_EVAL_DEPTH} levels"),
                )
                .with_primary_label("while evaluating this")
                .with_help("Shorten the chain of references: copy values directly instead of through long chains."),
            );
            return Err(Reported);
        }
        *node.slot.borrow_mut() = Slot::InProgress;
        self.stack.push((node as *const Node<'a>, node.key, node.span));
        let mut result = self.compute(node);
        self.stack.pop();
        // References copy values: a chain where each level holds two copies of
        // the previous one doubles per line. Bound every computed value so such
        // a file fails with an error, not with memory exhausted.
        if let (Ok(v), NodeKind::Expr(_) | NodeKind::Append(..)) = (&result, &node.kind) {
            if let Some(why) = over_value_limit(v) {
                self.errors.push(value_too_large(node, &why));
                result = Err(Reported);
            }
        }
        let result = result.map(|v| if node.secret && !v.is_secret() { Value::Secret(Box::new(v)) } else { v });
        *node.slot.borrow_mut() = match &result {
            // Maps and lists are rebuilt from their (cached) children; caching them
            // too would hold every value twice.
            Ok(_) if matches!(node.kind, NodeKind::Map(_) | NodeKind::List(_)) => Slot::Empty,
            Ok(v) => Slot::Done(v.clone()),
            Err(Reported) => Slot::Failed,
        };
        result
    }

    fn compute(&mut self, node: &Node<'a>) -> Result<Value, Reported> {
        match &node.kind {
            NodeKind::Map(map) => {
                let mut out = crate::map::with_capacity(map.len());
                let mut failed = false;
                for (k, child) in map {
                    match self.eval_child(child) {
                        Ok(Some(v)) => {
                            out.insert(k.clone(), v);
                        }
                        Ok(None) => {}
                        Err(Reported) => failed = true,
                    }
                }
                if failed {
                    Err(Reported)
                } else {
                    Ok(Value::Map(out))
                }
            }
            NodeKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut failed = false;
                for item in items {
                    match self.eval_node(item) {
                        Ok(v) => out.push(v),
                        Err(Reported) => failed = true,
                    }
                }
                if failed {
                    Err(Reported)
                } else {
                    Ok(Value::List(out))
                }
            }
            NodeKind::Expr(expr) if !self.selves.is_empty() => {
                let record = self
                    .selves
                    .get(&(node as *const Node<'a>))
                    .cloned()
                    .and_then(|(root, path)| self.record_at(root, &path));
                let pushed = record.is_some();
                self.self_record.extend(record);
                let result = self.eval_expr(expr, node.scope);
                if pushed {
                    self.self_record.pop();
                }
                result
            }
            NodeKind::Expr(expr) => self.eval_expr(expr, node.scope),
            NodeKind::Append(base, tail) => {
                let b = self.eval_node(base)?;
                let t = self.eval_node(tail)?;
                let secret = b.is_secret() || t.is_secret();
                match (b.unwrap_secret(), t.unwrap_secret()) {
                    (Value::List(x), Value::List(y)) => {
                        let joined = Value::List(x.iter().chain(y.iter()).cloned().collect());
                        Ok(if secret { Value::Secret(Box::new(joined)) } else { joined })
                    }
                    (Value::List(_), other) => {
                        self.errors.push(not_a_list(tail.span, "the appended value", other.kind()));
                        Err(Reported)
                    }
                    (other, _) => {
                        self.errors.push(not_a_list(tail.span, &format!("`{}`", node.key), other.kind()));
                        Err(Reported)
                    }
                }
            }
            NodeKind::Const(v) => Ok(v.clone()),
            NodeKind::Derived(d) => match self.eval_derived(d)? {
                Some(v) => Ok(v),
                None => {
                    self.errors.push(
                        Diagnostic::error(Code::E010, node.span, format!("`service.{}` is not set for this module", node.key))
                            .with_help("Service instances exist only for a service with `logical_name`; set it in the module's `service` block."),
                    );
                    Err(Reported)
                }
            },
        }
    }

    /// Evaluates an expression in a scope.
    pub fn eval_expr(&mut self, expr: &'a Expr, scope: super::merge::Scope) -> Result<Value, Reported> {
        match &expr.kind {
            ExprKind::Null => Ok(Value::Null),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Str(parts) => {
                let mut out = String::new();
                let mut secret = false;
                let mut failed = false;
                for part in parts {
                    match part {
                        StrPart::Lit(s) => out.push_str(s),
                        StrPart::Interp(path, span) => {
                            let Ok(v) = self.resolve(path, scope, *span) else {
                                failed = true;
                                continue;
                            };
                            secret |= v.contains_secret();
                            match v.interpolated() {
                                Some(text) => out.push_str(&text),
                                None => {
                                    self.errors.push(cannot_interpolate(path, *span, v.kind()));
                                    failed = true;
                                }
                            }
                        }
                    }
                }
                if failed {
                    return Err(Reported);
                }
                Ok(if secret { Value::Secret(Box::new(Value::Str(out))) } else { Value::Str(out) })
            }
            ExprKind::List(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.push(self.eval_expr(item, scope)?);
                }
                Ok(Value::List(out))
            }
            ExprKind::Map(block) => {
                // Only schema defaults reach here (bodies become map nodes): a
                // default is a literal map of plain fields.
                let mut out = IndexMap::default();
                for item in &block.items {
                    if let Item::Field(f) = item {
                        let key: Vec<&str> = f.path.iter().map(|n| n.text.as_str()).collect();
                        out.insert(key.join("."), self.eval_expr(&f.value, scope)?);
                    }
                }
                Ok(Value::Map(out))
            }
            ExprKind::Ref(path) => self.resolve(path, scope, expr.span),
            ExprKind::Unary(op, operand) => {
                let v = self.eval_expr(operand, scope)?;
                operators::unary(*op, &v).map_err(|f| self.fault(f, expr.span, &[operand.span]))
            }
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let left = self.eval_expr(a, scope)?;
                let Value::Bool(l) = left.unwrap_secret() else {
                    return Err(self.fault(operators::needs_bool(*op, &left, true), expr.span, &[a.span, b.span]));
                };
                if (*op == BinOp::And) != *l {
                    return Ok(left);
                }
                let right = self.eval_expr(b, scope)?;
                if !matches!(right.unwrap_secret(), Value::Bool(_)) {
                    return Err(self.fault(operators::needs_bool(*op, &right, false), expr.span, &[a.span, b.span]));
                }
                Ok(operators::secret_if(right, left.contains_secret()))
            }
            ExprKind::Binary(op, a, b) => {
                // Both sides, so one run reports the errors of both.
                let left = self.eval_expr(a, scope);
                let right = self.eval_expr(b, scope);
                let (left, right) = (left?, right?);
                operators::binary(*op, &left, &right).map_err(|f| self.fault(f, expr.span, &[a.span, b.span]))
            }
            ExprKind::If(parts) => {
                let [cond, then, otherwise] = &**parts;
                let c = self.eval_expr(cond, scope)?;
                let chosen = match c.unwrap_secret() {
                    Value::Bool(true) => then,
                    Value::Bool(false) => otherwise,
                    other => {
                        let f = Fault {
                            code: Code::E007,
                            message: format!("`if` needs a bool condition, found {}", article(other.kind())),
                            at: At::Left,
                            help: "Compare to get a bool, such as `if tier == \"production\" then ...`.".into(),
                        };
                        return Err(self.fault(f, expr.span, &[cond.span]));
                    }
                };
                // A choice made on a secret tells something about it.
                Ok(operators::secret_if(self.eval_expr(chosen, scope)?, c.contains_secret()))
            }
            ExprKind::Index(container, key) => {
                let c = self.eval_expr(container, scope);
                let k = self.eval_expr(key, scope);
                let (c, k) = (c?, k?);
                operators::index(&c, &k).map_err(|f| self.fault(f, expr.span, &[container.span, key.span]))
            }
            ExprKind::Member(base, name) => {
                let b = self.eval_expr(base, scope)?;
                operators::index(&b, &Value::Str(name.text.clone()))
                    .map_err(|f| self.fault(f, expr.span, &[base.span, name.span]))
            }
            ExprKind::Call(name, args) => {
                // Unknown functions and wrong counts were reported once per
                // body (`bodies`), not once per instance.
                let Some(function) = crate::syntax::functions::lookup(&name.text).filter(|f| f.accepts(args.len()))
                else {
                    return Err(Reported);
                };
                let mut values = Vec::with_capacity(args.len());
                let mut failed = false;
                for a in args {
                    match self.eval_expr(a, scope) {
                        Ok(v) => values.push(v),
                        Err(Reported) => failed = true,
                    }
                }
                if failed {
                    return Err(Reported);
                }
                let spans: Vec<Span> = args.iter().map(|a| a.span).collect();
                operators::call(function, &values).map_err(|f| self.fault(f, expr.span, &spans))
            }
            ExprKind::Comp(comp) => self.comprehension(comp, scope, expr.span),
        }
    }

    /// The node at `path` below a root, walking maps and lists.
    fn record_at(&self, root: super::merge::Scope, path: &[String]) -> Option<&'e Node<'a>> {
        use super::merge::Scope;
        let mut node: &'e Node<'a> = match root {
            Scope::Instance => self.roots.instance,
            Scope::Project => self.roots.project,
            Scope::Module(m) => self.roots.modules.get(m)?,
        };
        for seg in path {
            node = match &node.kind {
                NodeKind::Map(map) => map.get(seg)?,
                NodeKind::List(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// A fault of an operator or function as a diagnostic on the part it is about.
    fn fault(&mut self, f: Fault, whole: Span, parts: &[Span]) -> Reported {
        let (span, label) = match f.at {
            At::Whole => (whole, "in this expression".to_string()),
            At::Left => (parts.first().copied().unwrap_or(whole), "this operand".to_string()),
            At::Right => (parts.get(1).copied().unwrap_or(whole), "this operand".to_string()),
            At::Arg(n) => (parts.get(n).copied().unwrap_or(whole), format!("argument {}", n + 1)),
        };
        let mut d = Diagnostic::error(f.code, span, f.message).with_primary_label(label).with_help(f.help);
        if span != whole {
            d = d.with_label(whole, "in this expression");
        }
        self.push_unresolved(d);
        Reported
    }

    /// `[for ...]` and `{ for ... }`: the elements of the source, each bound
    /// to the variables while the filter and the body are evaluated.
    fn comprehension(
        &mut self,
        comp: &'a Comprehension,
        scope: super::merge::Scope,
        span: Span,
    ) -> Result<Value, Reported> {
        let elements = self.elements(&comp.source, scope)?;
        let mut list = Vec::new();
        let mut map = IndexMap::default();
        let mut key_spans: Vec<Span> = Vec::new();
        let mut failed = false;
        for (first, second) in elements {
            let depth = self.locals.len();
            self.locals.push((comp.var.text.as_str(), first));
            if let Some(name) = &comp.second {
                self.locals.push((name.text.as_str(), second));
            }
            let result = self.element(comp, scope, span, &mut list, &mut map, &mut key_spans);
            self.locals.truncate(depth);
            failed |= result.is_err();
        }
        if failed {
            return Err(Reported);
        }
        Ok(match comp.body {
            CompBody::List(_) => Value::List(list),
            CompBody::Map(..) => Value::Map(map),
        })
    }

    fn element(
        &mut self,
        comp: &'a Comprehension,
        scope: super::merge::Scope,
        span: Span,
        list: &mut Vec<Value>,
        map: &mut IndexMap<String, Value>,
        key_spans: &mut Vec<Span>,
    ) -> Result<(), Reported> {
        if let Some(filter) = &comp.filter {
            let keep = self.eval_expr(filter, scope)?;
            match keep.unwrap_secret() {
                Value::Bool(true) => {}
                Value::Bool(false) => return Ok(()),
                other => {
                    let f = Fault {
                        code: Code::E007,
                        message: format!("a comprehension's `if` needs a bool, found {}", article(other.kind())),
                        at: At::Left,
                        help: "Compare to get a bool, such as `if m.enabled == true`.".into(),
                    };
                    return Err(self.fault(f, span, &[filter.span]));
                }
            }
        }
        match &comp.body {
            CompBody::List(item) => list.push(self.eval_expr(item, scope)?),
            CompBody::Map(key, value) => {
                let k = self.eval_expr(key, scope);
                let v = self.eval_expr(value, scope);
                let (k, v) = (k?, v?);
                let Value::Str(text) = k.unwrap_secret() else {
                    let f = Fault {
                        code: Code::E007,
                        message: format!("map keys are strings, found {}", article(k.kind())),
                        at: At::Left,
                        help: "Make the key a string, such as `string(i)` or `\"${name}\"`.".into(),
                    };
                    return Err(self.fault(f, span, &[key.span]));
                };
                if k.is_secret() {
                    let f = Fault {
                        code: Code::E007,
                        message: "a map key computed from a secret".into(),
                        at: At::Left,
                        help: "Keys are printed in every manifest; compute them from values that are not secret."
                            .into(),
                    };
                    return Err(self.fault(f, span, &[key.span]));
                }
                if map.contains_key(text) {
                    self.push_unresolved(
                        Diagnostic::error(Code::E006, key.span, format!("the comprehension gives the key `{text}` twice"))
                            .with_primary_label("this key repeats")
                            .with_label(span, "in this comprehension")
                            .with_help("Keys of a map comprehension must be distinct; add what tells the elements apart to the key, or filter with `if`."),
                    );
                    return Err(Reported);
                }
                key_spans.push(key.span);
                map.insert(text.clone(), v);
            }
        }
        Ok(())
    }

    /// The elements a comprehension runs over, as (variable, second
    /// variable) pairs. A path to a part of the instance is walked node by
    /// node, so only what the body reads is evaluated (and a body may read
    /// fields that refer back to other elements without a false cycle).
    fn elements(
        &mut self,
        source: &'a Expr,
        scope: super::merge::Scope,
    ) -> Result<Vec<(Local<'a, 'e>, Local<'a, 'e>)>, Reported> {
        if let ExprKind::Ref(path) = &source.kind {
            if path.len() == 1 && path.first().is_some_and(|n| n.text == "module") && !self.is_local("module") {
                let names = self.roots.module_names;
                return Ok(self
                    .roots
                    .modules
                    .iter()
                    .zip(names)
                    .map(|(node, name)| (Local::Value(Value::Str((*name).to_string())), Local::Node(node)))
                    .collect());
            }
            if let Some(node) = self.node_at(path, scope) {
                let node: &'e Node<'a> = node;
                match &node.kind {
                    NodeKind::Map(children) => {
                        let mut out = Vec::with_capacity(children.len());
                        for (k, child) in children {
                            if let NodeKind::Derived(d) = &child.kind {
                                if self.is_absent(d)? {
                                    continue;
                                }
                            }
                            out.push((Local::Value(Value::Str(k.clone())), Local::Node(child)));
                        }
                        if !node.secret {
                            return Ok(out);
                        }
                    }
                    NodeKind::List(items) if !node.secret => {
                        return Ok(items
                            .iter()
                            .enumerate()
                            .map(|(i, n)| (Local::Node(n), Local::Value(Value::Int(i as i64))))
                            .collect());
                    }
                    _ => {}
                }
            }
        }
        let value = self.eval_expr(source, scope)?;
        match operators::iterate(&value) {
            Ok(pairs) => Ok(pairs.into_iter().map(|(a, b)| (Local::Value(a), Local::Value(b))).collect()),
            Err(f) => Err(self.fault(f, source.span, &[source.span])),
        }
    }

    fn is_local(&self, name: &str) -> bool {
        self.locals.iter().any(|(n, _)| *n == name)
    }

    /// The node a path names without evaluating anything, when it is one
    /// (not a local, not inside a computed value).
    fn node_at(&self, path: &'a [Name], scope: super::merge::Scope) -> Option<&'e Node<'a>> {
        use super::merge::Scope;
        let first = path.first()?;
        if self.is_local(&first.text) || self.roots.shadowed.contains(&first.text.as_str()) {
            return None;
        }
        let roots = &self.roots;
        let (mut node, rest): (&'e Node<'a>, &[Name]) = match first.text.as_str() {
            "instance" | "env" => (roots.instance, path.get(1..)?),
            "project" => (roots.project, path.get(1..)?),
            "facs" => (roots.facs, path.get(1..)?),
            "module" => {
                let module = &path.get(1)?.text;
                let idx = roots.module_names.iter().position(|m| *m == module)?;
                (roots.modules.get(idx)?, path.get(2..)?)
            }
            _ => match scope {
                Scope::Instance => (roots.instance, path),
                Scope::Project => (roots.project, path),
                Scope::Module(m) => (roots.modules.get(m)?, path),
            },
        };
        for seg in rest {
            node = node.map()?.get(&seg.text)?;
        }
        Some(node)
    }

    /// Resolves a reference path (spec §5, "Paths").
    pub fn resolve(&mut self, path: &'a [Name], scope: super::merge::Scope, span: Span) -> Result<Value, Reported> {
        use super::merge::Scope;
        let Some(first) = path.first() else {
            return Err(Reported);
        };
        // `self` in a schema default: the record being filled (spec §5).
        if first.text == "self" {
            if let Some(record) = self.self_record.last().copied() {
                return self.walk(record, path, path.get(1..).unwrap_or_default(), span);
            }
        }
        if let Some(local) = self.locals.iter().rev().find(|(n, _)| *n == first.text).map(|(_, l)| l.clone()) {
            let rest = path.get(1..).unwrap_or_default();
            return match local {
                Local::Node(node) => self.walk(node, path, rest, span),
                Local::Value(value) => self.value_path(&value, path, 1, span),
            };
        }
        let roots = &self.roots;
        // An instance field named like a root (`env: "prod"`) is E013,
        // reported with the bodies; `${env}` then most likely means that
        // field, so resolving it to the root would only add an E010/E011
        // cascade. It fails quietly: the E013 is the root cause.
        if roots.shadowed.contains(&first.text.as_str()) {
            return Err(Reported);
        }
        let (node, rest): (&'e Node<'a>, &'a [Name]) = match first.text.as_str() {
            "instance" | "env" => (roots.instance, path.get(1..).unwrap_or_default()),
            "project" => (roots.project, path.get(1..).unwrap_or_default()),
            "facs" => (roots.facs, path.get(1..).unwrap_or_default()),
            "module" => {
                let Some(module) = path.get(1) else {
                    self.push_unresolved(unresolved(path, 0, span, roots.module_names.iter().copied(), "module"));
                    return Err(Reported);
                };
                match roots.module_names.iter().position(|m| *m == module.text) {
                    Some(idx) => match roots.modules.get(idx) {
                        Some(n) => (n, path.get(2..).unwrap_or_default()),
                        None => return Err(Reported),
                    },
                    None => {
                        self.push_unresolved(unresolved(path, 1, span, roots.module_names.iter().copied(), "module"));
                        return Err(Reported);
                    }
                }
            }
            _ => match scope {
                Scope::Instance => (roots.instance, path),
                Scope::Project => (roots.project, path),
                Scope::Module(m) => match roots.modules.get(m) {
                    Some(n) => (n, path),
                    None => return Err(Reported),
                },
            },
        };
        self.walk(node, path, rest, span)
    }

    /// Follows `rest` (the end of `path`) from `node`: through the nodes of
    /// maps, then into the value where a node is computed.
    fn walk(
        &mut self,
        mut node: &'e Node<'a>,
        path: &'a [Name],
        rest: &'a [Name],
        span: Span,
    ) -> Result<Value, Reported> {
        let offset = path.len() - rest.len();
        for (idx, seg) in rest.iter().enumerate() {
            match node.map() {
                Some(map) => match map.get(&seg.text) {
                    Some(child) if !matches!(&child.kind, NodeKind::Derived(d) if self.is_absent(d) == Ok(true)) => {
                        node = child
                    }
                    _ => {
                        self.push_unresolved(unresolved(
                            path,
                            offset + idx,
                            span,
                            map.keys().map(String::as_str),
                            "key",
                        ));
                        return Err(Reported);
                    }
                },
                None => {
                    let value = self.eval_node(node)?;
                    return self.value_path(&value, path, offset + idx, span);
                }
            }
        }
        self.eval_node(node)
    }

    /// `path[from..]` inside an evaluated value.
    fn value_path(&mut self, value: &Value, path: &'a [Name], from: usize, span: Span) -> Result<Value, Reported> {
        let mut v = value;
        let mut secret = value.is_secret();
        for (idx, seg) in path.iter().enumerate().skip(from) {
            let next = match v.unwrap_secret() {
                Value::Map(m) => m.get(&seg.text),
                Value::List(items) => seg.text.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => {
                    v = n;
                    secret |= n.is_secret();
                }
                None => {
                    let keys: Vec<String> = match v.unwrap_secret() {
                        Value::Map(m) => m.keys().cloned().collect(),
                        _ => Vec::new(),
                    };
                    self.push_unresolved(unresolved(path, idx, span, keys.iter().map(String::as_str), "key"));
                    return Err(Reported);
                }
            }
        }
        Ok(operators::secret_if(v.clone(), secret))
    }

    /// Reports an unresolved reference, naming the instance it failed for: a
    /// parent's reference may resolve in some children and not in others.
    pub(crate) fn report(&mut self, d: Diagnostic) {
        self.push_unresolved(d);
    }

    fn push_unresolved(&mut self, d: Diagnostic) {
        let name = match self.roots.facs.map().and_then(|m| m.get("instance")).map(|n| &n.kind) {
            Some(NodeKind::Const(Value::Str(name))) => name.clone(),
            _ => String::new(),
        };
        let decl = self.roots.instance.span;
        let written_here = d
            .primary
            .as_ref()
            .is_some_and(|p| p.span.file == decl.file && decl.start <= p.span.start && p.span.end <= decl.end);
        let label_span = self.roots.instance.key_span;
        self.errors.push(if written_here {
            d
        } else {
            d.with_label(label_span, format!("evaluated for instance `{name}`"))
        });
    }

    fn module_name(&self, m: usize) -> &'a str {
        self.roots.module_names.get(m).copied().unwrap_or("")
    }

    /// The module's user name, and whether it is computed from a secret
    /// (then everything derived from it is a secret too).
    fn daemon_or_name(&mut self, m: usize) -> Result<(String, bool), Reported> {
        let daemon = self.roots.modules.get(m).and_then(|n| n.map()).and_then(|map| map.get("daemon"));
        match daemon {
            Some(node) => match self.eval_node(node)? {
                Value::Null => Ok((self.module_name(m).to_string(), false)),
                v => match v.as_str() {
                    Some(s) => Ok((s.to_string(), v.contains_secret())),
                    None => {
                        self.errors.push(
                            Diagnostic::error(Code::E007, node.span, format!("expected string, found {}", v.kind()))
                                .with_primary_label("`daemon` must be a string")
                                .with_help("Set `daemon` to the daemon's user name, such as `daemon: \"www\"`."),
                        );
                        Err(Reported)
                    }
                },
            },
            None => Ok((self.module_name(m).to_string(), false)),
        }
    }

    fn eval_derived(&mut self, d: &Derived) -> Result<Option<Value>, Reported> {
        Ok(Some(match d {
            Derived::Username(m) => {
                let (user, secret) = self.daemon_or_name(*m)?;
                wrap_if(Value::Str(user), secret)
            }
            Derived::Password(m) => {
                let (user, _) = self.daemon_or_name(*m)?;
                Value::Secret(Box::new(Value::Str(self.state.password(&user))))
            }
            Derived::ServiceName(m) => {
                let (user, secret) = self.daemon_or_name(*m)?;
                wrap_if(Value::Str(format!("{user}d")), secret)
            }
            Derived::ServiceInstanceName(m) => match self.services(*m)?.first() {
                Some(s) => Value::Str(s.instance_name.clone()),
                None => return Ok(None),
            },
            Derived::ServiceUiid(m) => match self.services(*m)?.first() {
                Some(s) => Value::Str(s.uiid.to_string()),
                None => return Ok(None),
            },
            Derived::ServiceInstances(m) => {
                let all = self.services(*m)?;
                if all.is_empty() {
                    return Ok(None);
                }
                Value::List(
                    all.into_iter()
                        .map(|s| {
                            let mut entry = IndexMap::default();
                            entry.insert("instance_name".to_string(), Value::Str(s.instance_name));
                            entry.insert("uiid".to_string(), Value::Int(s.uiid as i64));
                            entry.insert(
                                "logical_name".to_string(),
                                wrap_if(Value::Str(s.logical_name), s.logical_secret),
                            );
                            Value::Map(entry)
                        })
                        .collect(),
                )
            }
            Derived::Secret(key) => Value::Secret(Box::new(Value::Str(self.state.secret(key)))),
            Derived::ExternalSecret(key) => match self.state.external_secret(key) {
                Some(v) => Value::Secret(Box::new(Value::Str(v))),
                None => {
                    let instance = match self.roots.facs.map().and_then(|m| m.get("instance")).map(|n| &n.kind) {
                        Some(NodeKind::Const(Value::Str(name))) => name.clone(),
                        _ => String::new(),
                    };
                    let span = self.stack.last().map_or(self.roots.instance.key_span, |(_, _, s)| *s);
                    let path = key.clone();
                    self.errors.push(
                        Diagnostic::error(Code::E009, self.roots.instance.key_span, format!("the external secret `{path}` is not set"))
                            .with_primary_label(format!("`{instance}` needs it"))
                            .with_label(span, "declared `secret(external)` here")
                            .with_help(format!("facs never generates an external secret: supply it with `facs secret set {instance} {path}` (it reads the value from standard input).")),
                    );
                    return Err(Reported);
                }
            },
            Derived::UnsetEnv(name) => {
                // The top of the stack is this node (the declaration); below it, the reader.
                let declared = self.stack.last().map_or(self.roots.instance.key_span, |(_, _, s)| *s);
                let span = self.stack.iter().rev().nth(1).map_or(declared, |(_, _, s)| *s);
                self.report(
                    Diagnostic::error(Code::E009, span, format!("the environment variable `{name}` is not set"))
                        .with_primary_label(format!("`facs.env.{name}` is read here"))
                        .with_label(declared, "declared in the project's `env`")
                        .with_help(format!(
                            "Set it for the run (`{name}=... facs build`), or stop reading `facs.env.{name}`."
                        )),
                );
                return Err(Reported);
            }
            Derived::ProjectVersion => match self.roots.project.map().and_then(|m| m.get("version")) {
                Some(node) => self.eval_node(node)?,
                None => Value::Str(String::new()),
            },
        }))
    }

    /// The service instances of module `m` (empty without `logical_name`).
    fn services(&mut self, m: usize) -> Result<Vec<crate::state::ServiceInstance>, Reported> {
        if let Some(Some(done)) = self.services.get(m) {
            return done.clone();
        }
        let result = self.allocate(m);
        if let Some(slot) = self.services.get_mut(m) {
            *slot = Some(result.clone());
        }
        result
    }

    fn allocate(&mut self, m: usize) -> Result<Vec<crate::state::ServiceInstance>, Reported> {
        let Some(service) = self.roots.modules.get(m).and_then(|n| n.map()).and_then(|map| map.get("service")) else {
            return Ok(Vec::new());
        };
        let Some(fields) = service.map() else {
            return Ok(Vec::new());
        };
        let Some(logical_node) = fields.get("logical_name") else {
            return Ok(Vec::new());
        };
        let (logical, logical_secret) = match self.eval_node(logical_node)? {
            Value::Null => return Ok(Vec::new()),
            v => (v.as_str().map(str::to_string).unwrap_or_default(), v.contains_secret()),
        };
        let count = match fields.get("n_instances") {
            Some(n) => match self.eval_node(n)?.unwrap_secret() {
                Value::Int(k) => *k,
                _ => 1,
            },
            None => 1,
        };
        let name = self.module_name(m);
        let mut out = Vec::new();
        for i in 0..count.clamp(0, MAX_SERVICE_COPIES) {
            let instance_name = format!("{name}d.{i}");
            match self.state.service_uiid(&instance_name, &logical) {
                Ok(uiid) => out.push(crate::state::ServiceInstance {
                    instance_name,
                    uiid,
                    logical_name: logical.clone(),
                    logical_secret,
                }),
                Err(next) => {
                    let span = self.roots.module_spans.get(m).copied().unwrap_or(service.span);
                    self.errors.push(
                        Diagnostic::error(Code::E021, span, format!("uiid space exhausted: `{instance_name}` would get uiid {next}"))
                            .with_primary_label(format!("module `{name}` asks for {count} service instances"))
                            .with_label(service.span, "service declared here")
                            .with_help("Service uiids run from 1 to 255 per state owner and are never reused; lower `n_instances`, or give the instance its own state by making it a non-overlay instance."),
                    );
                    return Err(Reported);
                }
            }
        }
        if count > MAX_SERVICE_COPIES {
            return Err(Reported);
        }
        Ok(out)
    }

    /// `instance.db.url`, `module.postgres.url`: where a node sits among the roots.
    fn path_of(&self, target: *const Node<'a>) -> Option<String> {
        fn find<'a>(node: &Node<'a>, target: *const Node<'a>, path: &mut Vec<String>) -> bool {
            if std::ptr::eq(node, target) {
                return true;
            }
            let children: Vec<(String, &Node<'a>)> = match &node.kind {
                NodeKind::Map(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
                NodeKind::List(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
                NodeKind::Append(a, b) => vec![(String::new(), &**a), (String::new(), &**b)],
                _ => Vec::new(),
            };
            for (key, child) in children {
                let pushed = !key.is_empty();
                if pushed {
                    path.push(key);
                }
                if find(child, target, path) {
                    return true;
                }
                if pushed {
                    path.pop();
                }
            }
            false
        }
        let mut roots: Vec<(String, &Node<'a>)> =
            vec![("instance".to_string(), self.roots.instance), ("project".to_string(), self.roots.project)];
        for (name, module) in self.roots.module_names.iter().zip(self.roots.modules) {
            roots.push((format!("module.{name}"), module));
        }
        roots.push(("facs".to_string(), self.roots.facs));
        roots.into_iter().find_map(|(root, node)| {
            let mut path = vec![root];
            find(node, target, &mut path).then(|| path.join("."))
        })
    }

    fn cycle(&mut self, node: &Node<'a>) -> Result<Value, Reported> {
        let ptr = node as *const Node<'a>;
        let start = self.stack.iter().position(|(p, _, _)| *p == ptr).unwrap_or(0);
        let members: Vec<(&'a str, Span)> =
            self.stack.get(start..).unwrap_or_default().iter().map(|(_, k, s)| (*k, *s)).collect();
        let first = members.iter().enumerate().min_by_key(|(_, (_, s))| (s.file, s.start)).map_or(0, |(i, _)| i);
        let ordered: Vec<(&str, Span)> = members.iter().cycle().skip(first).take(members.len()).copied().collect();
        // Full paths (`instance.db.url → module.postgres.url`): keys alone
        // repeat when the cycle crosses roots.
        let named: Vec<String> = self
            .stack
            .get(start..)
            .unwrap_or_default()
            .iter()
            .map(|(p, key, _)| self.path_of(*p).unwrap_or_else(|| (*key).to_string()))
            .collect();
        let named: Vec<String> = named.iter().cycle().skip(first).take(named.len()).cloned().collect();
        let ordered: Vec<(&str, Span)> =
            ordered.iter().zip(&named).map(|((_, span), name)| (name.as_str(), *span)).collect();
        let mut chain: Vec<String> = ordered.iter().map(|(k, _)| format!("`{k}`")).collect();
        if let Some(head) = chain.first().cloned() {
            chain.push(head);
        }
        let Some(&(head_key, head_span)) = ordered.first() else {
            return Err(Reported);
        };
        let mut d = Diagnostic::error(Code::E011, head_span, format!("reference cycle: {}", chain.join(" → ")))
            .with_primary_label(format!("`{head_key}` depends on itself"));
        for (idx, (key, span)) in ordered.iter().enumerate().skip(1) {
            let next = ordered.get((idx + 1) % ordered.len()).map_or("", |(k, _)| *k);
            d = d.with_label(*span, format!("`{key}` refers to `{next}`"));
        }
        self.errors.push(d.with_help("Break the cycle: give one of these fields a value that does not refer back."));
        Err(Reported)
    }
}

/// Most list items and map entries one value may hold.
const MAX_VALUE_ENTRIES: usize = 100_000;

/// Why a value is over the limits for one value, if it is: more than
/// `MAX_VALUE_ENTRIES` entries, or more text than a source file may hold.
/// Stops counting at the limit, so checking costs at most that much.
fn over_value_limit(value: &Value) -> Option<String> {
    let max_bytes = crate::limits::current().file_bytes;
    let (mut entries, mut bytes) = (0usize, 0u64);
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v.unwrap_secret() {
            Value::Str(s) => bytes += s.len() as u64,
            Value::List(items) => {
                entries += items.len();
                stack.extend(items);
            }
            Value::Map(map) => {
                entries += map.len();
                for (k, item) in map {
                    bytes += k.len() as u64;
                    stack.push(item);
                }
            }
            _ => {}
        }
        if entries > MAX_VALUE_ENTRIES {
            return Some(format!("more than {MAX_VALUE_ENTRIES} list items and map entries"));
        }
        if bytes > max_bytes {
            return Some(format!("more than {} of text", crate::limits::human(max_bytes)));
        }
    }
    None
}

fn value_too_large(node: &Node<'_>, why: &str) -> Diagnostic {
    Diagnostic::error(
        Code::E024,
        node.span,
        format!("the value of `{}` holds {why}, the limit for one value", node.key),
    )
    .with_primary_label("this value is too large")
    .with_help(format!(
        "A value this large comes from references multiplying (a list or string holding several copies of \
             another that does the same); check the definitions. The text limit is {}.",
        crate::limits::FILE_VAR
    ))
}

fn not_a_list(span: Span, what: &str, kind: &str) -> Diagnostic {
    Diagnostic::error(Code::E012, span, format!("`+=` needs lists, but {what} is a {kind}"))
        .with_primary_label("appended here")
        .with_help("Only lists can be appended to; use `:` to replace the value instead.")
}

fn cannot_interpolate(path: &[Name], span: Span, kind: &str) -> Diagnostic {
    let text: Vec<&str> = path.iter().map(|n| n.text.as_str()).collect();
    Diagnostic::error(Code::E020, span, format!("cannot interpolate `{}`: it is {}", text.join("."), article(kind)))
        .with_primary_label(format!("{} here", article(kind)))
        .with_help(format!(
            "Interpolate a string, number or bool; to copy the whole value, write the bare reference `{}` instead of a string.",
            text.join(".")
        ))
}

fn unresolved<'k>(
    path: &[Name],
    failed_at: usize,
    span: Span,
    candidates: impl Iterator<Item = &'k str>,
    what: &str,
) -> Diagnostic {
    let text: Vec<&str> = path.iter().map(|n| n.text.as_str()).collect();
    let failing = path.get(failed_at).map_or("", |n| n.text.as_str());
    let candidates: Vec<&str> = candidates.collect();
    let d = Diagnostic::error(Code::E010, span, format!("unresolved reference `{}`", text.join(".")))
        .with_primary_label(format!("no {what} `{failing}` here"));
    // `web_port-1`: names may hold `-`, so this is one name, not a subtraction.
    if let Some((left, right)) = failing.split_once('-') {
        if candidates.contains(&left) && !right.is_empty() {
            return d.with_help(format!(
                "`{failing}` is one name (names may contain `-`); to subtract, put spaces around the operator: `{left} - {right}`."
            ));
        }
    }
    if failed_at == 2 && text.first() == Some(&"facs") && text.get(1) == Some(&"env") {
        return d.with_help(format!(
            "A definition reads only the environment variables the project declares: add `\"{failing}\"` to `project {{ env: [...] }}`."
        ));
    }
    match closest(failing, candidates.iter().copied()) {
        Some(s) => d.with_help(format!("Did you mean `{s}`?")),
        None => d.with_help(format!(
            "Nothing in the final instance sets `{}`; set it in this instance or one of its parents, or fix the path.",
            text.get(..=failed_at).unwrap_or_default().join(".")
        )),
    }
}

/// `value`, as a secret when it is computed from one.
fn wrap_if(value: Value, secret: bool) -> Value {
    if secret {
        Value::Secret(Box::new(value))
    } else {
        value
    }
}
