//! The built-in schemas of spec §7.

use super::constraints::{Check, CheckKind};
use super::{Const, DefaultValue, FieldType, Record, RecordId, Records, Schemas, Type};
use crate::map::IndexMap;

fn field(type_: Type, default: Option<Const>, required: bool) -> FieldType<'static> {
    FieldType {
        type_,
        required,
        default: default.map(DefaultValue::Const),
        derived: false,
        optional: !required,
        span: None,
        doc: None,
        check: None,
        items: None,
        unique: None,
    }
}

/// `field` with a built-in check on its value and one on each of its items.
fn checked(mut field: FieldType<'static>, check: Option<CheckKind>, items: Option<CheckKind>) -> FieldType<'static> {
    field.check = check.map(Check::builtin);
    field.items = items.map(Check::builtin);
    field
}

fn optional(type_: Type) -> FieldType<'static> {
    field(type_, None, false)
}

fn record(name: &str, inferred: bool, fields: Vec<(&str, FieldType<'static>)>) -> Record<'static> {
    Record {
        name: name.into(),
        fields: fields.into_iter().map(|(k, f)| (k.to_string(), f)).collect::<IndexMap<_, _>>(),
        open: false,
        inferred,
    }
}

/// The built-in records, with ids recorded in [`Schemas`].
pub fn schemas<'a>() -> Schemas<'a> {
    let strings = || Type::List(Box::new(Type::String));
    let mut records = Records::default();
    let mut push = |r: Record<'a>| -> RecordId { records.push(r) };
    let derived = |type_| FieldType {
        type_,
        required: false,
        default: None,
        derived: true,
        optional: false,
        span: None,
        doc: None,
        check: None,
        items: None,
        unique: None,
    };
    let project = push(record(
        "Project",
        true,
        vec![
            ("name", derived(Type::String)),
            ("version", field(Type::String, Some(Const::EmptyString), false)),
            ("repo", optional(Type::String)),
            ("src_dir", optional(Type::String)),
            ("state_recipients", optional(strings())),
        ],
    ));
    let deploy = push(record(
        "Deploy",
        false,
        vec![
            ("user", checked(optional(Type::String), Some(CheckKind::Login), None)),
            ("destdir", optional(Type::String)),
            ("postcmd", field(strings(), Some(Const::EmptyList), false)),
        ],
    ));
    let target = push(record(
        "Target",
        true,
        vec![
            ("nodes", checked(field(strings(), None, true), None, Some(CheckKind::Host))),
            ("user", checked(optional(Type::String), Some(CheckKind::Login), None)),
            ("port", checked(optional(Type::Int), Some(CheckKind::Port), None)),
            // Absent = none, so manifests of targets without it keep their v1
            // shape; run on the target's nodes after `deploy.postcmd`.
            ("postcmd", optional(strings())),
        ],
    ));
    let instance = push(record(
        "Instance",
        true,
        vec![
            ("name", derived(Type::String)),
            ("home", optional(Type::String)),
            ("deploy", optional(Type::Record(deploy))),
            ("install", field(Type::List(Box::new(Type::Install)), Some(Const::EmptyList), false)),
            ("targets", field(Type::Map(Box::new(Type::Record(target))), Some(Const::EmptyMap), false)),
        ],
    ));
    let service = push(record(
        "Service",
        false,
        vec![
            ("name", optional(Type::String)),
            ("logical_name", optional(Type::String)),
            ("n_instances", field(Type::Int, Some(Const::Int(1)), false)),
            ("instance_name", derived(Type::String)),
            ("uiid", derived(Type::String)),
            ("instances", derived(Type::List(Box::new(Type::Any)))),
        ],
    ));
    let module = push(record(
        "Module",
        true,
        vec![
            ("name", derived(Type::String)),
            ("daemon", optional(Type::String)),
            ("genconfig", field(Type::Bool, Some(Const::False), false)),
            ("service", optional(Type::Record(service))),
            ("username", derived(Type::String)),
            ("password", derived(Type::Secret)),
        ],
    ));
    let tmpl_group = push(record(
        "Install (tmpl)",
        false,
        vec![
            ("type", field(Type::Enum(vec!["tmpl".into()]), None, true)),
            ("dir", field(Type::String, None, true)),
            ("skip", optional(Type::String)),
            // Absent means "handlebars" (kept out of manifests that do not choose).
            ("engine", optional(Type::Enum(vec!["handlebars".into(), "jinja".into()]))),
        ],
    ));
    let copy_group = push(record(
        "Install (copy)",
        false,
        vec![
            ("type", optional(Type::Enum(vec!["copy".into()]))),
            ("files", field(strings(), Some(Const::EmptyList), false)),
            ("optfiles", field(strings(), Some(Const::EmptyList), false)),
            // Optional (absent = none), so manifests of groups without it keep
            // their v1 shape (the conformance suite compares them key for key).
            ("dirs", optional(strings())),
            ("pattern", optional(Type::String)),
            ("replace", optional(Type::String)),
        ],
    ));
    let by_name = [
        ("Project", project),
        ("Instance", instance),
        ("Module", module),
        ("Target", target),
        ("Deploy", deploy),
        ("Service", service),
    ]
    .into_iter()
    .map(|(n, id)| (n.to_string(), id))
    .collect();
    Schemas { records, by_name, project, instance, module, target, service, tmpl_group, copy_group }
}
