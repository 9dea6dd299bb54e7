//! Schema construction tests: extension of built-ins, closed/open/inferred
//! records, unknown type names.

use crate::build::compile_memory;
use crate::diagnostic::Sink;
use crate::source::MemoryFs;
use crate::types::{Schemas, Type};

fn with_schemas(text: &str, check: impl FnOnce(&Schemas<'_>, &Sink)) {
    let fs = MemoryFs::with(&[("main.facs", text)]);
    let mut sink = Sink::new();
    let loaded = crate::build::load(&fs, &mut sink).expect("load");
    let resolved = crate::resolve::resolve(&loaded.files, &mut sink);
    let schemas = super::build(&resolved, &mut sink);
    check(&schemas, &sink);
}

#[test]
fn user_schemas_extend_builtins_user_fields_first() {
    with_schemas("project p {}\nschema Instance { region: string = \"eu\" }", |s, sink| {
        assert!(!sink.has_errors());
        let instance = s.record(s.instance);
        let keys: Vec<&str> = instance.fields.keys().map(String::as_str).collect();
        assert_eq!(keys.first(), Some(&"region"));
        assert!(keys.contains(&"home") && keys.contains(&"targets"));
        assert!(instance.is_closed(), "a declared Instance schema is closed");
    });
}

#[test]
fn without_a_user_schema_builtins_are_inferred() {
    with_schemas("project p {}", |s, _| {
        let module = s.record(s.module);
        assert!(module.inferred && !module.is_closed());
        assert_eq!(s.child_type(&Type::Record(s.module), "anything"), Type::Inferred);
        assert_eq!(s.child_type(&Type::Record(s.module), "genconfig"), Type::Bool);
    });
}

#[test]
fn open_schemas_type_unknown_fields_any() {
    with_schemas("project p {}\nschema Db { host: string\n ... }", |s, _| {
        let db = *s.by_name.get("Db").expect("Db");
        assert_eq!(s.child_type(&Type::Record(db), "whatever"), Type::Any);
    });
}

#[test]
fn builtin_fields_cannot_be_redeclared_and_closed_builtins_not_extended() {
    let (_, d) =
        compile_memory(&[("main.facs", "project p {}\nschema Instance { home: int }\nschema Install { x: int }")]);
    let codes: Vec<&str> = d.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(codes, ["E002", "E002"]);
    // Service and Deploy take extra fields (docs/decisions/import.md).
    let (_, d) = compile_memory(&[(
        "main.facs",
        "project p {}\nschema Service { port: int }\nmodule api { service { port: 80 } }\ninstance x {}",
    )]);
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn types_resolve_in_any_order_and_unknown_names_are_e017() {
    let (_, d) =
        compile_memory(&[("main.facs", "project p {}\nschema A { b: B, c: [Cc] }\nschema B { x: int }\nschema C {}")]);
    assert_eq!(d, vec![("E017".to_string(), "main.facs".to_string(), 2)]);
}
