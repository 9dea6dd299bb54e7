//! Evaluated values, and their JSON form with or without secrets.

use crate::map::IndexMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A concrete value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer (kept as written: `2` stays an integer).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Value>),
    /// A map in manifest order.
    Map(IndexMap<String, Value>),
    /// A secret, or a value computed from one (spec §5, §9): printed only with
    /// `--reveal-secrets` and in the files that need it.
    Secret(Box<Value>),
}

/// The redaction text.
pub const REDACTED: &str = "********";

impl Value {
    /// The value without a secret wrapper.
    pub fn unwrap_secret(&self) -> &Value {
        match self {
            Value::Secret(inner) => inner.unwrap_secret(),
            v => v,
        }
    }

    /// True for secrets and values derived from them.
    pub fn is_secret(&self) -> bool {
        matches!(self, Value::Secret(_))
    }

    /// True when the value is or holds a secret.
    pub fn contains_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(items) => items.iter().any(Value::contains_secret),
            Value::Map(map) => map.values().any(Value::contains_secret),
            _ => false,
        }
    }

    /// Every secret string in the value (4 characters or more), to recognise
    /// a secret in text that should not hold one.
    pub fn secret_strings(&self) -> Vec<String> {
        self.secret_strings_from(4)
    }

    /// Every secret string of `min` bytes or more.
    pub fn secret_strings_from(&self, min: usize) -> Vec<String> {
        fn walk(v: &Value, min: usize, out: &mut Vec<String>) {
            match v {
                Value::Secret(inner) => {
                    if let Some(s) = inner.as_str().filter(|s| s.len() >= min) {
                        out.push(s.to_string());
                    }
                    walk(inner, min, out);
                }
                Value::List(items) => items.iter().for_each(|i| walk(i, min, out)),
                Value::Map(m) => m.values().for_each(|i| walk(i, min, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, min, &mut out);
        out
    }

    /// The kind of value as messages name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Secret(inner) => inner.kind(),
        }
    }

    /// The string, when the value is one (secret or not).
    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_secret() {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up a dotted path.
    pub fn get_path<'v>(&'v self, path: &[&str]) -> Option<&'v Value> {
        let mut v = self;
        for seg in path {
            v = match v.unwrap_secret() {
                Value::Map(m) => m.get(*seg)?,
                Value::List(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// Looks up a dotted path of maps, for changing the value there (a
    /// secret is not looked into).
    pub fn get_path_mut<'v>(&'v mut self, path: &[&str]) -> Option<&'v mut Value> {
        let mut v = self;
        for seg in path {
            v = match v {
                Value::Map(m) => m.get_mut(*seg)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// The value as JSON text exactly as interpolation prints it (`None` for
    /// lists, maps and null, which cannot be interpolated).
    pub fn interpolated(&self) -> Option<String> {
        match self.unwrap_secret() {
            Value::Str(s) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::Float(f) => serde_json::to_string(f).ok(),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Compact JSON text with secrets written out: for `string(x)`, whose
    /// result is itself a secret when `x` holds one.
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(&self.json(true)).unwrap_or_default()
    }

    /// A text that two values share exactly when `==` calls them equal
    /// (numbers by value, maps in any order), to find repeats in linear time.
    pub fn canonical(&self) -> String {
        fn walk(v: &Value, out: &mut String) {
            match v.unwrap_secret() {
                Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => out.push_str(&format!("n{}", *f as i64)),
                Value::Float(f) => out.push_str(&format!("n{f:?}")),
                Value::Int(n) => out.push_str(&format!("n{n}")),
                Value::List(items) => {
                    out.push('[');
                    for i in items {
                        walk(i, out);
                        out.push(',');
                    }
                    out.push(']');
                }
                Value::Map(m) => {
                    let mut keys: Vec<&String> = m.keys().collect();
                    keys.sort();
                    out.push('{');
                    for k in keys {
                        out.push_str(&serde_json::to_string(k).unwrap_or_default());
                        out.push(':');
                        if let Some(item) = m.get(k) {
                            walk(item, out);
                        }
                        out.push(',');
                    }
                    out.push('}');
                }
                other => out.push_str(&other.to_json_text()),
            }
        }
        let mut out = String::new();
        walk(self, &mut out);
        out
    }

    /// A serializable view: secrets written out, or replaced by [`REDACTED`].
    pub fn json(&self, reveal_secrets: bool) -> Json<'_> {
        Json { value: self, reveal: reveal_secrets }
    }

    /// Pretty JSON (2 spaces) with a trailing newline, as manifests are written.
    pub fn to_pretty_json(&self, reveal_secrets: bool) -> String {
        // A manifest is kilobytes: start there instead of serde_json's 128
        // bytes, which grew by reallocation and copying (callgrind).
        let mut out = Vec::with_capacity(16 * 1024);
        if serde_json::to_writer_pretty(&mut out, &self.json(reveal_secrets)).is_err() {
            return "\n".to_string();
        }
        out.push(b'\n');
        out.shrink_to_fit();
        // serde_json writes UTF-8 only.
        String::from_utf8(out).unwrap_or_default()
    }
}

/// See [`Value::json`].
pub struct Json<'v> {
    value: &'v Value,
    reveal: bool,
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&item.json(self.reveal))?;
                }
                seq.end()
            }
            Value::Map(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, &v.json(self.reveal))?;
                }
                m.end()
            }
            Value::Secret(inner) => {
                if self.reveal {
                    inner.json(true).serialize(s)
                } else {
                    s.serialize_str(REDACTED)
                }
            }
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> serde_json::Value {
        serde_json::to_value(v.json(true)).unwrap_or(serde_json::Value::Null)
    }
}
