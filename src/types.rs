//! Stage 3, types: schemas → record types, built-in and user-declared.
//!
//! Input: the resolved schemas. Output: [`Schemas`], where the built-in
//! `Project`, `Instance`, `Module` and `Target` records are extended (never
//! replaced) by user schemas of those names (spec §7). Invariants: every type
//! name resolves (E017 otherwise, and the field becomes `any`); a record with
//! no user schema is *inferred*: unknown fields are typed by their first
//! definition instead of being rejected.

mod builtin;
pub mod constraints;
mod records;
#[cfg(test)]
mod tests;

use crate::diagnostic::{closest, Code, Diagnostic, Sink};
use crate::map::IndexMap;
use crate::resolve::{Resolved, PRIMITIVE_TYPES};
use crate::source::Span;
use crate::syntax::ast::{Expr, RecordTypeExpr, TypeExpr, TypeExprKind};

pub use records::{RecordId, Records};

/// A type.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `string`
    String,
    /// `int`
    Int,
    /// `float` (an int is accepted)
    Float,
    /// `bool`
    Bool,
    /// `secret`: a string, generated when absent
    Secret,
    /// `any`
    Any,
    /// `[T]`
    List(Box<Type>),
    /// `{T}`: string keys
    Map(Box<Type>),
    /// `T?`
    Nullable(Box<Type>),
    /// `"a" | "b"`
    Enum(Vec<String>),
    /// A record (schema or inline)
    Record(RecordId),
    /// The built-in `Install` union of `tmpl` and `copy` groups
    Install,
    /// No declared type: inferred from the first definition
    Inferred,
}

impl Type {
    /// How the type reads in messages.
    pub fn describe(&self, schemas: &Schemas<'_>) -> String {
        match self {
            Type::String => "string".into(),
            Type::Int => "int".into(),
            Type::Float => "float".into(),
            Type::Bool => "bool".into(),
            Type::Secret => "secret".into(),
            Type::Any | Type::Inferred => "any".into(),
            Type::List(t) => format!("[{}]", t.describe(schemas)),
            Type::Map(t) => format!("{{{}}}", t.describe(schemas)),
            Type::Nullable(t) => format!("{}?", t.describe(schemas)),
            Type::Enum(v) => v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(" | "),
            Type::Record(id) => schemas.records[*id].name.clone(),
            Type::Install => "Install".into(),
        }
    }
}

/// A constant default of a built-in field.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    /// `""`
    EmptyString,
    /// `false`
    False,
    /// An integer.
    Int(i64),
    /// `[]`
    EmptyList,
    /// `{}`
    EmptyMap,
}

/// A field's default value.
#[derive(Clone, Debug)]
pub enum DefaultValue<'a> {
    /// Written in a user schema.
    Expr(&'a Expr),
    /// Built in.
    Const(Const),
}

/// One field of a record.
#[derive(Clone, Debug)]
pub struct FieldType<'a> {
    /// Its type.
    pub type_: Type,
    /// Must be present in a concrete instance (no `?`, no default, not derived).
    pub required: bool,
    /// The default, when declared.
    pub default: Option<DefaultValue<'a>>,
    /// Computed by facs (module `username`, `password`): set or generated.
    pub derived: bool,
    /// Declared with `?`: may be absent (an absent `secret?` stays absent).
    pub optional: bool,
    /// Where it was declared (`None` for built-ins).
    pub span: Option<Span>,
    /// Its doc comment.
    pub doc: Option<&'a str>,
    /// A constraint on its value (spec §7).
    pub check: Option<constraints::Check>,
    /// A constraint on each item of its list or map value (`[int(1..9)]`).
    pub items: Option<constraints::Check>,
    /// Declared `unique`: no two concrete instances may hold one value here.
    pub unique: Option<Span>,
}

/// A record type.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// The schema name (or `{...}` for inline records).
    pub name: String,
    /// Fields in declaration order (user extension fields first, then built-in).
    pub fields: IndexMap<String, FieldType<'a>>,
    /// A `...` line: unknown fields are `any`.
    pub open: bool,
    /// No user schema declares this built-in: unknown fields are inferred.
    pub inferred: bool,
}

impl<'a> Record<'a> {
    /// True when unknown fields are rejected (E008).
    pub fn is_closed(&self) -> bool {
        !self.open && !self.inferred
    }

    /// The type of field `key`: declared, `any` for open records, inferred otherwise.
    pub fn field_type(&self, key: &str) -> Option<&FieldType<'a>> {
        self.fields.get(key)
    }

    /// The closest declared field name, for "did you mean".
    pub fn closest_field(&self, key: &str) -> Option<&str> {
        closest(key, self.fields.keys().map(String::as_str))
    }
}

/// All record types of a project.
#[derive(Debug)]
pub struct Schemas<'a> {
    /// Records by id.
    pub records: Records<'a>,
    /// Schema name → record.
    pub by_name: std::collections::HashMap<String, RecordId>,
    /// The root records.
    pub project: RecordId,
    /// The root records.
    pub instance: RecordId,
    /// The root records.
    pub module: RecordId,
    /// The root records.
    pub target: RecordId,
    /// `Service`.
    pub service: RecordId,
    /// The `tmpl` install group.
    pub tmpl_group: RecordId,
    /// The `copy` install group.
    pub copy_group: RecordId,
}

impl<'a> Schemas<'a> {
    /// The record with this id.
    pub fn record(&self, id: RecordId) -> &Record<'a> {
        &self.records[id]
    }

    /// The declared type of `key` inside a value of type `parent`, or
    /// [`Type::Inferred`]/[`Type::Any`] when nothing declares it.
    pub fn child_type(&self, parent: &Type, key: &str) -> Type {
        match parent {
            Type::Record(id) => {
                let r = self.record(*id);
                match r.field_type(key) {
                    Some(f) => f.type_.clone(),
                    None if r.open => Type::Any,
                    None => Type::Inferred,
                }
            }
            Type::Map(t) => (**t).clone(),
            Type::Nullable(t) => self.child_type(t, key),
            Type::Inferred => Type::Inferred,
            _ => Type::Any,
        }
    }
}

/// Names an instance field may not have (spec §5): path roots and `name`.
pub const RESERVED_INSTANCE_FIELDS: &[&str] = &["project", "module", "instance", "env", "facs", "name"];

/// Names a module field may not have: both are derived.
pub const RESERVED_MODULE_FIELDS: &[&str] = &["name", "username"];

/// Builds the schemas: built-ins, then user schemas, then extensions.
pub fn build<'a>(resolved: &Resolved<'a>, sink: &mut Sink) -> Schemas<'a> {
    let mut schemas = builtin::schemas();
    // Register user record names first so schemas may refer to each other in any order.
    let mut pending: Vec<(RecordId, Vec<&'a RecordTypeExpr>)> = Vec::new();
    for (name, parts) in &resolved.schema_parts {
        // Repeated declarations merge (spec §4): one `...` opens the record.
        let open = parts.iter().any(|d| d.record.open);
        let id = match schemas.by_name.get(*name) {
            Some(&builtin_id) => {
                let r = &mut schemas.records[builtin_id];
                r.inferred = false;
                r.open = open;
                builtin_id
            }
            None => {
                let id = schemas.records.push(Record {
                    name: name.to_string(),
                    fields: IndexMap::default(),
                    open,
                    inferred: false,
                });
                schemas.by_name.insert(name.to_string(), id);
                id
            }
        };
        pending.push((id, parts.iter().map(|d| &d.record).collect()));
    }
    for (id, records) in pending {
        let mut fields: IndexMap<String, FieldType<'a>> = IndexMap::default();
        for record in records {
            for (k, f) in record_fields(&mut schemas, record, sink) {
                if let Some(first) = fields.get(&k) {
                    if let Some(span) = f.span {
                        let mut d = Diagnostic::error(Code::E002, span, format!("field `{k}` is declared twice"))
                            .with_primary_label("declared again here");
                        if let Some(first) = first.span {
                            d = d.with_label(first, "first declared here (another declaration of the same schema)");
                        }
                        sink.push(d.with_help(
                            "Declarations of one schema merge field by field; declare each field in one of them.",
                        ));
                    }
                    continue;
                }
                fields.insert(k, f);
            }
        }
        {
            let r = &mut schemas.records[id];
            // User extension fields come first, then the built-in ones.
            let builtin = std::mem::take(&mut r.fields);
            let mut merged = IndexMap::default();
            let reserved: &[&str] = match r.name.as_str() {
                "Instance" => RESERVED_INSTANCE_FIELDS,
                "Module" => RESERVED_MODULE_FIELDS,
                _ => &[],
            };
            for (k, f) in fields {
                // The same names bodies may not set (spec §5): a schema
                // field named `env` would shadow the `env` root in paths.
                if reserved.contains(&k.as_str()) {
                    if let Some(span) = f.span {
                        sink.push(
                            Diagnostic::error(
                                Code::E013,
                                span,
                                format!("`{k}` is reserved and cannot be declared in schema {}", r.name),
                            )
                            .with_primary_label("reserved name")
                            .with_help(format!("Rename the field, for example `{k}_value`.")),
                        );
                    }
                    continue;
                }
                if builtin.contains_key(&k) {
                    if let Some(span) = f.span {
                        sink.push(
                            Diagnostic::error(
                                Code::E002,
                                span,
                                format!("field `{k}` is already declared by the built-in {} schema", r.name),
                            )
                            .with_help(
                                "Built-in fields cannot be redeclared; remove this line or choose another name.",
                            ),
                        );
                    }
                    continue;
                }
                merged.insert(k, f);
            }
            merged.extend(builtin);
            r.fields = merged;
        }
    }
    schemas
}

fn record_fields<'a>(
    schemas: &mut Schemas<'a>,
    record: &'a RecordTypeExpr,
    sink: &mut Sink,
) -> IndexMap<String, FieldType<'a>> {
    let mut fields: IndexMap<String, FieldType<'a>> = IndexMap::default();
    for decl in &record.fields {
        let type_ = type_of(schemas, &decl.type_, sink);
        if let Some(first) = fields.get(&decl.name.text) {
            let mut d =
                Diagnostic::error(Code::E002, decl.name.span, format!("field `{}` is declared twice", decl.name.text));
            if let Some(span) = first.span {
                d = d.with_label(span, "first declared here");
            }
            sink.push(d.with_help("Remove one of the declarations."));
            continue;
        }
        let nullable = matches!(type_, Type::Nullable(_) | Type::Any);
        let (check, items) = constraints::check_of(&decl.type_, &type_, sink);
        fields.insert(
            decl.name.text.clone(),
            FieldType {
                required: !decl.optional && decl.default.is_none() && !nullable && type_ != Type::Secret,
                type_,
                default: decl.default.as_ref().map(DefaultValue::Expr),
                derived: false,
                optional: decl.optional,
                span: Some(decl.name.span),
                doc: decl.doc.as_deref(),
                check,
                items,
                unique: decl.unique,
            },
        );
    }
    fields
}

fn type_of<'a>(schemas: &mut Schemas<'a>, t: &'a TypeExpr, sink: &mut Sink) -> Type {
    match &t.kind {
        TypeExprKind::Named(name) => match name.as_str() {
            "string" => Type::String,
            "int" => Type::Int,
            "float" => Type::Float,
            "bool" => Type::Bool,
            "secret" => Type::Secret,
            "any" => Type::Any,
            "Install" => Type::Install,
            other => match schemas.by_name.get(other) {
                Some(&id) => Type::Record(id),
                None => {
                    let candidates: Vec<&str> =
                        schemas.by_name.keys().map(String::as_str).chain(PRIMITIVE_TYPES.iter().copied()).collect();
                    let mut d = Diagnostic::error(Code::E017, t.span, format!("unknown type `{other}`"))
                        .with_primary_label("no schema or built-in type has this name");
                    let alias = match other {
                        "integer" | "i64" | "long" => Some("int"),
                        "str" | "String" | "text" => Some("string"),
                        "boolean" | "Bool" => Some("bool"),
                        "number" | "double" | "f64" => Some("float"),
                        "password" => Some("secret"),
                        _ => None,
                    };
                    d = match alias.or_else(|| closest(other, candidates)) {
                        Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                        None => d.with_help(format!(
                            "Declare `schema {other} {{ ... }}`, or use one of string, int, float, bool, secret, any."
                        )),
                    };
                    sink.push(d);
                    Type::Any
                }
            },
        },
        TypeExprKind::List(inner) => Type::List(Box::new(type_of(schemas, inner, sink))),
        TypeExprKind::Map(inner) => Type::Map(Box::new(type_of(schemas, inner, sink))),
        TypeExprKind::Nullable(inner) => Type::Nullable(Box::new(type_of(schemas, inner, sink))),
        TypeExprKind::Enum(values) => Type::Enum(values.clone()),
        TypeExprKind::Record(record) => {
            let id = schemas.records.push(Record {
                name: "{...}".into(),
                fields: IndexMap::default(),
                open: record.open,
                inferred: false,
            });
            let fields = record_fields(schemas, record, sink);
            schemas.records[id].fields = fields;
            Type::Record(id)
        }
    }
}
