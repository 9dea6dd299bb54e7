//! Writing `.facs` text for `facs import`: keys, strings, values and bodies.
//!
//! Input: JSON values. Output: `.facs` source that evaluates back to the same
//! values. Strings escape `"`, `\`, control characters and every `$` (so
//! nothing is interpolated), except the interpolations the import itself put
//! in with [`interpolation`]; numbers keep their kind (ints stay ints, floats
//! keep a decimal point or an exponent). [`body`] writes one legacy file's
//! fields against what the parents already set: `key: {...}` deep-merges like
//! the original's recursive update, a list or scalar replaces, and a map that
//! replaces a non-map (or the reverse) is written `key := value`.

use serde_json::{Map, Value};

/// The keywords of the language (spec §3): a key named like one is quoted.
pub const KEYWORDS: &[&str] = &[
    "project", "schema", "module", "abstract", "instance", "inherits", "overlay", "on", "target", "unset", "true",
    "false", "null",
];

/// True for `[A-Za-z_][A-Za-z0-9_-]*`.
pub fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// True when `text` may be written unquoted as a key or used as a declaration name.
pub fn is_plain_name(text: &str) -> bool {
    is_name(text) && !KEYWORDS.contains(&text)
}

/// A key: bare when it is a plain name, quoted otherwise.
pub fn key(text: &str) -> String {
    if is_plain_name(text) {
        text.to_string()
    } else {
        string(text)
    }
}

/// Opens an interpolation inside a converted string value (a private-use
/// character: the import refuses legacy text that holds one).
pub const OPEN: char = '\u{E000}';
/// Closes an interpolation opened by [`OPEN`].
pub const CLOSE: char = '\u{E001}';

/// The text that [`string`] writes as the interpolation `${path}`.
pub fn interpolation(path: &str) -> String {
    format!("{OPEN}{path}{CLOSE}")
}

/// A `"..."` literal whose value is exactly `text`, where each
/// [`interpolation`] becomes `${path}`.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            OPEN => out.push_str("${"),
            CLOSE => out.push('}'),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as `.facs` writes it, or `None` for an integer beyond i64.
pub fn number(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    // `{:?}` prints the shortest text that reads back as the same f64 and
    // always keeps a `.` or an exponent (`1.0`, `1e20`, `2.5e-7`).
    let text = format!("{f:?}");
    Some(if text.contains(['.', 'e', 'E']) { text } else { format!("{text}.0") })
}

/// Writes one value. Nested maps and long lists span several lines, indented
/// from `indent` levels.
pub fn value(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n).unwrap_or_else(|| format!("{:?}", n.as_f64().unwrap_or(0.0))),
        Value::String(s) => string(s),
        Value::Array(items) => list(items, indent),
        Value::Object(map) => {
            if map.is_empty() {
                return "{}".into();
            }
            let mut out = String::from("{\n");
            body(&mut out, map, None, indent + 1);
            out.push_str(&"  ".repeat(indent));
            out.push('}');
            out
        }
    }
}

fn list(items: &[Value], indent: usize) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let scalars = items.iter().all(|i| !matches!(i, Value::Array(_) | Value::Object(_)));
    if scalars {
        let inline: Vec<String> = items.iter().map(|i| value(i, indent)).collect();
        let text = format!("[{}]", inline.join(", "));
        if text.len() + indent * 2 <= 90 {
            return text;
        }
    }
    let pad = "  ".repeat(indent + 1);
    let mut out = String::from("[\n");
    for item in items {
        out.push_str(&format!("{pad}{},\n", value(item, indent + 1)));
    }
    out.push_str(&"  ".repeat(indent));
    out.push(']');
    out
}

/// Writes the fields of `data` as body lines at `indent` levels. `inherited`
/// is what the lineage already holds at this place: a map given where the
/// parents have a map merges into it (`key { ... }`); a map replacing a
/// non-map, or a non-map replacing a map, is written with `:=`.
pub fn body(out: &mut String, data: &Map<String, Value>, inherited: Option<&Map<String, Value>>, indent: usize) {
    let pad = "  ".repeat(indent);
    for (k, v) in data {
        let before = inherited.and_then(|m| m.get(k));
        let name = key(k);
        match (v, before) {
            (Value::Object(map), Some(Value::Object(parent))) => {
                if map.is_empty() {
                    out.push_str(&format!("{pad}{name} {{}}\n"));
                } else {
                    out.push_str(&format!("{pad}{name} {{\n"));
                    body(out, map, Some(parent), indent + 1);
                    out.push_str(&format!("{pad}}}\n"));
                }
            }
            (Value::Object(_), None) => out.push_str(&format!("{pad}{name}: {}\n", value(v, indent))),
            (Value::Object(_), Some(_)) | (_, Some(Value::Object(_))) => {
                out.push_str(&format!("{pad}{name} := {}\n", value(v, indent)));
            }
            _ => out.push_str(&format!("{pad}{name}: {}\n", value(v, indent))),
        }
    }
}

/// The original's merge: recursive dict update, lists and scalars replaced.
pub fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}
