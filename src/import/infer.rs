//! Schema inference for `facs import`: the type of every field seen in the
//! legacy environment data, and whether every concrete environment has it.
//!
//! Input: JSON values, each observed either *counting* (a concrete
//! environment's merged data: it decides which fields are required) or not
//! (a file's own data: it only widens types). Output: a [`Shape`] per path,
//! printed as `.facs` type text by [`Shape::type_text`].
//!
//! Types join as follows: the same kind stays; `int` and `float` give `float`;
//! two lists join their element types; two maps become one inline record with
//! the union of their keys; anything else is `any`. `null` makes a field
//! optional (`name?: T`, which accepts `null`) or a list element nullable
//! (`[T?]`); a field seen only as `null` (or a list seen only empty) is `any`.
//! A record field is required when every counted map at that place has it and
//! it is never `null`.

use crate::map::IndexMap;
use serde_json::Value;

/// What kind of value a place holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Nothing but `null` (or nothing at all) seen yet.
    Unknown,
    /// `bool`
    Bool,
    /// `int`
    Int,
    /// `float` (also when ints and floats are mixed)
    Float,
    /// `string`
    String,
    /// `[T]`
    List(Box<Shape>),
    /// An inline record `{ a: T, ... }`.
    Record(Record),
    /// Mixed kinds: `any`.
    Any,
}

/// The inferred type of one place.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// Its kind.
    pub kind: Kind,
    /// `null` was seen here.
    pub nullable: bool,
}

/// An inline record: its fields and how often it was seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Fields in first-seen order.
    pub fields: IndexMap<String, Field>,
    /// How many counted maps were seen at this place.
    pub n_observed: usize,
}

/// One field of an inferred record.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Its type.
    pub shape: Shape,
    /// In how many counted maps of the record it was present.
    pub n_present: usize,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape::new()
    }
}

impl Field {
    /// True when the field must be present in every concrete instance.
    pub fn required(&self, record: &Record) -> bool {
        record.n_observed > 0 && self.n_present == record.n_observed && !self.shape.nullable
    }
}

impl Shape {
    /// A place where nothing was seen yet.
    pub fn new() -> Shape {
        Shape { kind: Kind::Unknown, nullable: false }
    }

    /// Widens the shape by one value. `counting` values decide which record
    /// fields are required; list elements always count.
    pub fn observe(&mut self, value: &Value, counting: bool) {
        match value {
            Value::Null => self.nullable = true,
            Value::Bool(_) => self.join_scalar(Kind::Bool),
            Value::Number(n) if n.is_i64() => self.join_scalar(Kind::Int),
            Value::Number(_) => self.join_scalar(Kind::Float),
            Value::String(_) => self.join_scalar(Kind::String),
            Value::Array(items) => {
                if self.kind == Kind::Unknown {
                    self.kind = Kind::List(Box::default());
                }
                match &mut self.kind {
                    Kind::List(element) => {
                        for item in items {
                            element.observe(item, true);
                        }
                    }
                    _ => self.kind = Kind::Any,
                }
            }
            Value::Object(map) => {
                if self.kind == Kind::Unknown {
                    self.kind = Kind::Record(Record::default());
                }
                match &mut self.kind {
                    Kind::Record(record) => {
                        if counting {
                            record.n_observed += 1;
                        }
                        for (key, child) in map {
                            let field = record
                                .fields
                                .entry(key.clone())
                                .or_insert_with(|| Field { shape: Shape::new(), n_present: 0 });
                            field.shape.observe(child, counting);
                            if counting {
                                field.n_present += 1;
                            }
                        }
                    }
                    _ => self.kind = Kind::Any,
                }
            }
        }
    }

    fn join_scalar(&mut self, kind: Kind) {
        self.kind = match (&self.kind, kind) {
            (Kind::Unknown, k) => k,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            (a, b) if *a == b => b,
            _ => Kind::Any,
        };
    }

    /// The record, when this place always held maps.
    pub fn record(&self) -> Option<&Record> {
        match &self.kind {
            Kind::Record(r) => Some(r),
            _ => None,
        }
    }

    /// The `.facs` type, multi-line records indented by `indent` levels.
    pub fn type_text(&self, indent: usize) -> String {
        match &self.kind {
            Kind::Unknown | Kind::Any => "any".into(),
            Kind::Bool => "bool".into(),
            Kind::Int => "int".into(),
            Kind::Float => "float".into(),
            Kind::String => "string".into(),
            Kind::List(element) => {
                let nullable = element.nullable && !matches!(element.kind, Kind::Unknown | Kind::Any);
                format!("[{}{}]", element.type_text(indent), if nullable { "?" } else { "" })
            }
            Kind::Record(record) => record_text(record, indent, &[]),
        }
    }
}

/// A record's fields as `.facs` field declarations between braces, leaving
/// out the names in `skip` (the built-in fields).
pub fn record_text(record: &Record, indent: usize, skip: &[&str]) -> String {
    let fields: Vec<(&String, &Field)> = record.fields.iter().filter(|(k, _)| !skip.contains(&k.as_str())).collect();
    if fields.is_empty() {
        return "{}".into();
    }
    let pad = "  ".repeat(indent + 1);
    let mut out = String::from("{\n");
    for (key, field) in fields {
        let mark = if field.required(record) { "" } else { "?" };
        out.push_str(&format!("{pad}{}{mark}: {}\n", super::facs::key(key), field.shape.type_text(indent + 1)));
    }
    out.push_str(&"  ".repeat(indent));
    out.push('}');
    out
}
