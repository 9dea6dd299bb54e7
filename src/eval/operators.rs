//! Operators and built-in functions on evaluated values (spec §5): pure
//! functions from values to a value or a `Fault`. The evaluator decides what
//! to evaluate and where a fault is reported; this file only computes.
//!
//! Secrets: a result computed from a secret is a secret. Faults never quote
//! a value, only kinds, so no secret reaches a diagnostic.

use super::value::Value;
use crate::diagnostic::{article, Code};
use crate::map::IndexMap;
use crate::syntax::ast::{BinOp, UnOp};
use crate::syntax::functions::Function;

/// Which part of the expression a fault is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// The whole expression.
    Whole,
    /// The left operand (or the only one).
    Left,
    /// The right operand.
    Right,
    /// Argument `n` of a call.
    Arg(usize),
}

/// Why an operation has no value.
#[derive(Debug)]
pub struct Fault {
    /// E007, E010, E024, E026 or E027.
    pub code: Code,
    /// What went wrong.
    pub message: String,
    /// Where the label goes.
    pub at: At,
    /// How to fix it.
    pub help: String,
}

fn fault(code: Code, at: At, message: impl Into<String>, help: impl Into<String>) -> Fault {
    Fault { code, message: message.into(), at, help: help.into() }
}

/// Most items `range` may produce (the limit on one value's entries).
pub const MAX_RANGE: i64 = 100_000;

/// `value`, as a secret when `secret`.
pub fn secret_if(value: Value, secret: bool) -> Value {
    if secret && !value.is_secret() {
        Value::Secret(Box::new(value))
    } else {
        value
    }
}

/// A prefix operator.
pub fn unary(op: UnOp, v: &Value) -> Result<Value, Fault> {
    let secret = v.contains_secret();
    let out = match (op, v.unwrap_secret()) {
        (UnOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnOp::Neg, Value::Int(n)) => Value::Int(n.checked_neg().ok_or_else(|| overflow("-", At::Whole))?),
        (UnOp::Neg, Value::Float(x)) => Value::Float(-x),
        (UnOp::Not, other) => {
            return Err(fault(
                Code::E007,
                At::Left,
                format!("`!` needs a bool, found {}", article(other.kind())),
                "Compare first to get a bool, such as `!(count == 0)`.",
            ))
        }
        (UnOp::Neg, other) => {
            return Err(fault(
                Code::E007,
                At::Left,
                format!("`-` needs a number, found {}", article(other.kind())),
                "Only ints and floats can be negated.",
            ))
        }
    };
    Ok(secret_if(out, secret))
}

fn overflow(op: &str, at: At) -> Fault {
    fault(
        Code::E026,
        at,
        format!("integer overflow in `{op}`"),
        "Ints are 64-bit (up to 9223372036854775807); use smaller values, or floats where precision may be lost.",
    )
}

fn not_finite(op: &str) -> Fault {
    fault(
        Code::E026,
        At::Whole,
        format!("`{op}` gives a float that is not finite"),
        "JSON has no infinity or NaN; keep float results in range.",
    )
}

fn float(x: f64, op: &str) -> Result<Value, Fault> {
    if x.is_finite() {
        Ok(Value::Float(x))
    } else {
        Err(not_finite(op))
    }
}

/// Two numbers as floats, when either is one.
fn as_floats(a: &Value, b: &Value) -> Option<(f64, f64)> {
    let f = |v: &Value| match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    };
    Some((f(a)?, f(b)?))
}

/// Equality as `==` sees it: numbers by value (`1 == 1.0`), secrets by what
/// they hold, lists and maps item by item (map order does not matter).
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a.unwrap_secret(), b.unwrap_secret()) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        (x, y) => x == y,
    }
}

fn ordering(op: BinOp, a: &Value, b: &Value) -> Result<std::cmp::Ordering, Fault> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        _ => match as_floats(a, b) {
            Some((x, y)) => Ok(x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)),
            None => Err(fault(
                Code::E007,
                At::Whole,
                format!(
                    "`{}` compares numbers or strings, not {} and {}",
                    op.as_str(),
                    article(a.kind()),
                    article(b.kind())
                ),
                "Both sides must be numbers, or both strings (compared byte by byte).",
            )),
        },
    }
}

/// An infix operator other than `&&` and `||` (which the evaluator
/// short-circuits).
pub fn binary(op: BinOp, left: &Value, right: &Value) -> Result<Value, Fault> {
    let secret = left.contains_secret() || right.contains_secret();
    let (a, b) = (left.unwrap_secret(), right.unwrap_secret());
    let out = match op {
        BinOp::Eq => Value::Bool(equal(a, b)),
        BinOp::Ne => Value::Bool(!equal(a, b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let o = ordering(op, a, b)?;
            Value::Bool(match op {
                BinOp::Lt => o.is_lt(),
                BinOp::Le => o.is_le(),
                BinOp::Gt => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        BinOp::Add => match (a, b) {
            (Value::Str(x), Value::Str(y)) => Value::Str(format!("{x}{y}")),
            // Items keep their own secret wrappers; only a secret list as a
            // whole makes the result secret.
            (Value::List(x), Value::List(y)) => {
                let joined = Value::List(x.iter().chain(y).cloned().collect());
                return Ok(secret_if(joined, left.is_secret() || right.is_secret()));
            }
            _ => arithmetic(op, a, b)?,
        },
        BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => arithmetic(op, a, b)?,
        BinOp::And | BinOp::Or => match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => Value::Bool(if op == BinOp::And { *x && *y } else { *x || *y }),
            _ => {
                return Err(needs_bool(
                    op,
                    if matches!(a, Value::Bool(_)) { b } else { a },
                    !matches!(a, Value::Bool(_)),
                ))
            }
        },
    };
    Ok(secret_if(out, secret))
}

/// `&&`/`||` on something that is not a bool.
pub fn needs_bool(op: BinOp, found: &Value, left: bool) -> Fault {
    fault(
        Code::E007,
        if left { At::Left } else { At::Right },
        format!("`{}` needs bools, found {}", op.as_str(), article(found.kind())),
        "Compare to get a bool, such as `len(list) > 0` or `name != \"\"`.",
    )
}

fn arithmetic(op: BinOp, a: &Value, b: &Value) -> Result<Value, Fault> {
    let sym = op.as_str();
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        if matches!(op, BinOp::Div | BinOp::Rem) && *y == 0 {
            return Err(fault(
                Code::E026,
                At::Right,
                format!("division by zero in `{sym}`"),
                "The right side of `/` and `%` must not be 0; guard it with `if d == 0 then ... else ...`.",
            ));
        }
        let r = match op {
            BinOp::Add => x.checked_add(*y),
            BinOp::Sub => x.checked_sub(*y),
            BinOp::Mul => x.checked_mul(*y),
            BinOp::Div => x.checked_div(*y),
            _ => x.checked_rem(*y),
        };
        return r.map(Value::Int).ok_or_else(|| overflow(sym, At::Whole));
    }
    let Some((x, y)) = as_floats(a, b) else {
        let bad_left = !matches!(a, Value::Int(_) | Value::Float(_));
        let help = if op == BinOp::Add {
            "`+` adds two numbers, joins two strings or joins two lists; to put a number into a string, interpolate it (`\"${port}\"`) or use `string(port)`."
        } else {
            "Arithmetic needs ints or floats on both sides."
        };
        let what = if op == BinOp::Add { "numbers, strings or lists of one kind" } else { "numbers" };
        let at = match (op, bad_left) {
            // Which side of `"a" + 1` is wrong depends on what was meant.
            (BinOp::Add, _) => At::Whole,
            (_, true) => At::Left,
            _ => At::Right,
        };
        return Err(fault(
            Code::E007,
            at,
            format!("`{sym}` needs {what}, found {} and {}", article(a.kind()), article(b.kind())),
            help,
        ));
    };
    if matches!(op, BinOp::Div | BinOp::Rem) && y == 0.0 {
        return Err(fault(
            Code::E026,
            At::Right,
            format!("division by zero in `{sym}`"),
            "The right side of `/` and `%` must not be 0.",
        ));
    }
    float(
        match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => x / y,
            _ => x % y,
        },
        sym,
    )
}

/// `container[key]`: a map by a string, a list by an int.
pub fn index(container: &Value, key: &Value) -> Result<Value, Fault> {
    let secret = container.is_secret() || key.contains_secret();
    let found = match (container.unwrap_secret(), key.unwrap_secret()) {
        (Value::Map(m), Value::Str(k)) => match m.get(k) {
            Some(v) => v.clone(),
            None => {
                let help = if key.contains_secret() {
                    "The key is not in the map.".to_string()
                } else {
                    match crate::diagnostic::closest(k, m.keys().map(String::as_str)) {
                        Some(s) => format!("Did you mean `{s}`? The map has {}.", key_list(m)),
                        None => format!("The map has {}.", key_list(m)),
                    }
                };
                let message = if key.contains_secret() {
                    "no such key in the map".to_string()
                } else {
                    format!("no key `{k}` in the map")
                };
                return Err(fault(Code::E010, At::Right, message, help));
            }
        },
        (Value::List(items), Value::Int(i)) => match usize::try_from(*i).ok().and_then(|i| items.get(i)) {
            Some(v) => v.clone(),
            None => {
                return Err(fault(
                    Code::E010,
                    At::Right,
                    format!("index out of range: the list has {} items", items.len()),
                    "List indexes run from 0 to the length minus one; check with `len(list)`.",
                ))
            }
        },
        (Value::Map(_), other) => {
            return Err(fault(
                Code::E007,
                At::Right,
                format!("a map is indexed by a string, found {}", article(other.kind())),
                "Use `map[\"key\"]`, or `map[string(n)]` for a number.",
            ))
        }
        (Value::List(_), other) => {
            return Err(fault(
                Code::E007,
                At::Right,
                format!("a list is indexed by an int, found {}", article(other.kind())),
                "Use `list[0]` for the first item.",
            ))
        }
        (other, _) => {
            return Err(fault(
                Code::E007,
                At::Left,
                format!("only maps and lists can be indexed, found {}", article(other.kind())),
                "Index a map by a string key (`ports[\"web\"]`) or a list by a position (`nodes[0]`).",
            ))
        }
    };
    Ok(secret_if(found, secret))
}

fn key_list(m: &IndexMap<String, Value>) -> String {
    if m.is_empty() {
        return "no keys".into();
    }
    let mut keys: Vec<String> = m.keys().take(8).map(|k| format!("`{k}`")).collect();
    if m.len() > 8 {
        keys.push(format!("{} more", m.len() - 8));
    }
    format!("keys {}", keys.join(", "))
}

/// The items a comprehension runs over: `(first, second)` per element
/// (element and index for lists, key and value for maps).
pub fn iterate(source: &Value) -> Result<Vec<(Value, Value)>, Fault> {
    let secret = source.is_secret();
    match source.unwrap_secret() {
        Value::List(items) => {
            Ok(items.iter().enumerate().map(|(i, v)| (secret_if(v.clone(), secret), Value::Int(i as i64))).collect())
        }
        Value::Map(m) => Ok(m
            .iter()
            .map(|(k, v)| (secret_if(Value::Str(k.clone()), secret), secret_if(v.clone(), secret)))
            .collect()),
        other => Err(fault(
            Code::E007,
            At::Whole,
            format!("`for` runs over a list or a map, found {}", article(other.kind())),
            "Iterate a list (`for x in nodes`), a map (`for k, v in ports`) or `module`.",
        )),
    }
}

fn arg_type(f: &Function, n: usize, wanted: &str, found: &Value) -> Fault {
    fault(
        Code::E027,
        At::Arg(n),
        format!("`{}` needs {wanted} as argument {}, found {}", f.name, n + 1, article(found.kind())),
        format!("The signature is `{}`.", f.signature),
    )
}

fn str_arg<'v>(f: &Function, args: &'v [Value], n: usize) -> Result<&'v str, Fault> {
    match args.get(n).map(Value::unwrap_secret) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(arg_type(f, n, "a string", other)),
        None => Err(arity(f, args.len())),
    }
}

fn int_arg(f: &Function, args: &[Value], n: usize) -> Result<i64, Fault> {
    match args.get(n).map(Value::unwrap_secret) {
        Some(Value::Int(i)) => Ok(*i),
        Some(other) => Err(arg_type(f, n, "an int", other)),
        None => Err(arity(f, args.len())),
    }
}

fn list_arg<'v>(f: &Function, args: &'v [Value], n: usize) -> Result<&'v [Value], Fault> {
    match args.get(n).map(Value::unwrap_secret) {
        Some(Value::List(items)) => Ok(items),
        Some(other) => Err(arg_type(f, n, "a list", other)),
        None => Err(arity(f, args.len())),
    }
}

fn map_arg<'v>(f: &Function, args: &'v [Value], n: usize) -> Result<&'v IndexMap<String, Value>, Fault> {
    match args.get(n).map(Value::unwrap_secret) {
        Some(Value::Map(m)) => Ok(m),
        Some(other) => Err(arg_type(f, n, "a map", other)),
        None => Err(arity(f, args.len())),
    }
}

/// A call with the wrong number of arguments.
pub fn arity(f: &Function, given: usize) -> Fault {
    let wanted = match (f.min_args, f.max_args) {
        (a, Some(b)) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
        (a, Some(b)) => format!("{a} to {b} arguments"),
        (a, None) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
    };
    fault(
        Code::E027,
        At::Whole,
        format!("`{}` takes {wanted}, given {given}", f.name),
        format!("The signature is `{}`.", f.signature),
    )
}

/// A built-in function on evaluated arguments.
pub fn call(f: &Function, args: &[Value]) -> Result<Value, Fault> {
    if !f.accepts(args.len()) {
        return Err(arity(f, args.len()));
    }
    let secret = args.iter().any(Value::contains_secret);
    // Functions that return parts of their arguments keep the parts' own
    // wrappers; the rest are secret when any argument holds a secret.
    let whole_secret = args.iter().any(Value::is_secret);
    let out = match f.name {
        "len" => match args.first().map(Value::unwrap_secret) {
            Some(Value::Str(s)) => Value::Int(s.chars().count() as i64),
            Some(Value::List(items)) => Value::Int(items.len() as i64),
            Some(Value::Map(m)) => Value::Int(m.len() as i64),
            Some(other) => return Err(arg_type(f, 0, "a string, list or map", other)),
            None => return Err(arity(f, 0)),
        },
        "keys" => {
            let m = map_arg(f, args, 0)?;
            return Ok(secret_if(Value::List(m.keys().map(|k| Value::Str(k.clone())).collect()), whole_secret));
        }
        "values" => {
            let m = map_arg(f, args, 0)?;
            return Ok(secret_if(Value::List(m.values().cloned().collect()), whole_secret));
        }
        "contains" => {
            let needle = args.get(1).ok_or_else(|| arity(f, args.len()))?;
            match args.first().map(Value::unwrap_secret) {
                Some(Value::List(items)) => Value::Bool(items.iter().any(|i| equal(i, needle))),
                Some(Value::Str(s)) => Value::Bool(s.contains(str_arg(f, args, 1)?)),
                Some(Value::Map(m)) => Value::Bool(m.contains_key(str_arg(f, args, 1)?)),
                Some(other) => return Err(arg_type(f, 0, "a list, string or map", other)),
                None => return Err(arity(f, 0)),
            }
        }
        "lower" => Value::Str(str_arg(f, args, 0)?.to_lowercase()),
        "upper" => Value::Str(str_arg(f, args, 0)?.to_uppercase()),
        "trim" => Value::Str(str_arg(f, args, 0)?.trim().to_string()),
        "replace" => {
            let (s, from, to) = (str_arg(f, args, 0)?, str_arg(f, args, 1)?, str_arg(f, args, 2)?);
            if from.is_empty() {
                return Err(fault(
                    Code::E027,
                    At::Arg(1),
                    "`replace` needs a non-empty text to find",
                    format!("The signature is `{}`.", f.signature),
                ));
            }
            Value::Str(s.replace(from, to))
        }
        "split" => {
            let (s, sep) = (str_arg(f, args, 0)?, str_arg(f, args, 1)?);
            if sep.is_empty() {
                return Err(fault(
                    Code::E027,
                    At::Arg(1),
                    "`split` needs a non-empty separator",
                    format!("The signature is `{}`.", f.signature),
                ));
            }
            Value::List(s.split(sep).map(|p| secret_if(Value::Str(p.to_string()), secret)).collect())
        }
        "join" => {
            let (items, sep) = (list_arg(f, args, 0)?, str_arg(f, args, 1)?);
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                match item.interpolated() {
                    Some(text) => parts.push(text),
                    None => {
                        return Err(fault(
                            Code::E027,
                            At::Arg(0),
                            format!(
                                "`join` joins strings, numbers and bools, found {} in the list",
                                article(item.kind())
                            ),
                            format!("The signature is `{}`.", f.signature),
                        ))
                    }
                }
            }
            Value::Str(parts.join(sep))
        }
        "starts_with" => Value::Bool(str_arg(f, args, 0)?.starts_with(str_arg(f, args, 1)?)),
        "ends_with" => Value::Bool(str_arg(f, args, 0)?.ends_with(str_arg(f, args, 1)?)),
        "min" | "max" => {
            let items: &[Value] = if args.len() == 1 { list_arg(f, args, 0)? } else { args };
            let mut best: Option<&Value> = None;
            for (i, item) in items.iter().enumerate() {
                let v = item.unwrap_secret();
                if !matches!(v, Value::Int(_) | Value::Float(_) | Value::Str(_)) {
                    let at = if args.len() == 1 { 0 } else { i };
                    return Err(arg_type(f, at, "numbers or strings", v));
                }
                best = Some(match best {
                    None => item,
                    Some(b) => {
                        let o = ordering(BinOp::Lt, v, b.unwrap_secret()).map_err(|mut e| {
                            e.code = Code::E027;
                            e.message = format!("`{}` compares numbers or strings of one kind", f.name);
                            e.help = format!("The signature is `{}`.", f.signature);
                            e
                        })?;
                        if (f.name == "min" && o.is_lt()) || (f.name == "max" && o.is_gt()) {
                            item
                        } else {
                            b
                        }
                    }
                });
            }
            match best {
                Some(v) => return Ok(secret_if(v.clone(), secret)),
                None => {
                    return Err(fault(
                        Code::E027,
                        At::Arg(0),
                        format!("`{}` of an empty list", f.name),
                        "Give at least one value, or guard with `if len(list) > 0 then ... else ...`.",
                    ))
                }
            }
        }
        "sum" => {
            let mut total = Value::Int(0);
            for item in list_arg(f, args, 0)? {
                let v = item.unwrap_secret();
                if !matches!(v, Value::Int(_) | Value::Float(_)) {
                    return Err(arg_type(f, 0, "a list of numbers", v));
                }
                total = arithmetic(BinOp::Add, &total, v)?;
            }
            total
        }
        "range" => {
            let (start, end) =
                if args.len() == 2 { (int_arg(f, args, 0)?, int_arg(f, args, 1)?) } else { (0, int_arg(f, args, 0)?) };
            let count = end.saturating_sub(start).max(0);
            if count > MAX_RANGE {
                return Err(fault(
                    Code::E024,
                    At::Whole,
                    format!("`range` would make {count} items, over the limit of {MAX_RANGE} for one value"),
                    "Ranges are for generating small lists (ports, indexes); use a smaller range.",
                ));
            }
            Value::List((start..end).map(Value::Int).collect())
        }
        "string" => {
            let v = args.first().ok_or_else(|| arity(f, 0))?;
            match v.interpolated() {
                Some(text) => Value::Str(text),
                None => Value::Str(v.to_json_text()),
            }
        }
        "int" => match args.first().map(Value::unwrap_secret) {
            Some(Value::Int(n)) => Value::Int(*n),
            Some(Value::Float(x)) => {
                let t = x.trunc();
                if t.is_finite() && t >= i64::MIN as f64 && t < i64::MAX as f64 {
                    Value::Int(t as i64)
                } else {
                    return Err(overflow("int", At::Arg(0)));
                }
            }
            Some(Value::Str(s)) => match s.trim().replace('_', "").parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) => {
                    return Err(fault(
                        Code::E027,
                        At::Arg(0),
                        "`int` needs a string that holds an integer",
                        "Only digits with an optional sign, such as \"8080\" or \"-1\".",
                    ))
                }
            },
            Some(other) => return Err(arg_type(f, 0, "a string or a number", other)),
            None => return Err(arity(f, 0)),
        },
        "sort" => {
            let items = list_arg(f, args, 0)?;
            let mut sorted: Vec<Value> = items.to_vec();
            let all_numbers = sorted.iter().all(|v| matches!(v.unwrap_secret(), Value::Int(_) | Value::Float(_)));
            let all_strings = sorted.iter().all(|v| matches!(v.unwrap_secret(), Value::Str(_)));
            if !all_numbers && !all_strings {
                return Err(fault(
                    Code::E027,
                    At::Arg(0),
                    "`sort` sorts a list of numbers or a list of strings",
                    format!("The signature is `{}`; the items must all be numbers or all strings.", f.signature),
                ));
            }
            sorted.sort_by(|a, b| {
                ordering(BinOp::Lt, a.unwrap_secret(), b.unwrap_secret()).unwrap_or(std::cmp::Ordering::Equal)
            });
            return Ok(secret_if(Value::List(sorted), whole_secret));
        }
        "unique" => {
            let items = list_arg(f, args, 0)?;
            let mut seen = std::collections::HashSet::with_capacity(items.len());
            let out: Vec<Value> = items.iter().filter(|item| seen.insert(item.canonical())).cloned().collect();
            return Ok(secret_if(Value::List(out), whole_secret));
        }
        other => {
            return Err(fault(
                Code::E027,
                At::Whole,
                format!("unknown function `{other}`"),
                "See the list of built-in functions in the language reference.",
            ))
        }
    };
    Ok(secret_if(out, secret))
}
