//! The pest parser derived from `grammar/facs.pest`, and the translation of
//! pest's errors into readable E001 text. No pest type leaves `syntax`.

use pest::error::{ErrorVariant, InputLocation};

/// The derived parser.
#[derive(pest_derive::Parser)]
#[grammar = "grammar/facs.pest"]
pub(crate) struct FacsParser;

const DECLARATION: &str = "a declaration (`project`, `schema`, `module`, `instance`, `overlay`)";
const FIELD_OP: &str = "`:`, `:=`, `+=` or `{`";

/// What a rule means to a user, for "expected ..." messages.
fn describe(rule: &Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::project_decl | Rule::schema_decl | Rule::module_decl | Rule::instance_decl | Rule::overlay_decl => {
            DECLARATION
        }
        Rule::abstract_kw => "`abstract`",
        Rule::name | Rule::ident | Rule::type_name => "a name",
        Rule::key_path | Rule::field | Rule::string | Rule::field_decl => "a field",
        Rule::field_op => FIELD_OP,
        Rule::block | Rule::body | Rule::schema_block | Rule::project_block => "`{`",
        Rule::component_item | Rule::w_component => "`component`",
        Rule::unset_item | Rule::w_unset => "`unset`",
        Rule::target_item | Rule::w_target => "`target`",
        Rule::module_item | Rule::w_module => "`module`",
        Rule::inherits_clause | Rule::w_inherits => "`inherits`",
        Rule::w_on => "`on`",
        Rule::list
        | Rule::boolean
        | Rule::null
        | Rule::reference
        | Rule::ref_root
        | Rule::float
        | Rule::int
        | Rule::ml_string
        | Rule::expr
        | Rule::if_expr
        | Rule::paren
        | Rule::paren_inner
        | Rule::call
        | Rule::list_comp
        | Rule::map_comp
        | Rule::op_not
        | Rule::op_neg => "a value",
        Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_mod => "an operator",
        Rule::call_args => "`(`",
        Rule::index => "`[`",
        Rule::member => "`.`",
        Rule::w_then => "`then`",
        Rule::w_else => "`else`",
        Rule::w_in => "`in`",
        Rule::w_if | Rule::comp_filter => "`if`",
        Rule::w_for | Rule::comp_head => "`for`",
        Rule::type_expr | Rule::type_term | Rule::list_type | Rule::record_type | Rule::map_type => "a type",
        Rule::open_marker => "`...`",
        Rule::optional_mark | Rule::nullable_mark => "`?`",
        _ => return None,
    })
}

/// A pest error as (byte offset, message, help).
pub(crate) fn explain_error(err: &pest::error::Error<Rule>, text: &str) -> (usize, usize, String, String) {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = found_token(text, pos);
    let mut expected: Vec<&str> = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.iter().filter_map(describe).collect(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort();
    expected.dedup();
    // "a value" subsumes the narrower alternatives a value position offers;
    // each token is listed once, in the first phrase that names it.
    if expected.contains(&"a value") {
        expected.retain(|e| *e != "`{`" && *e != "a field");
    }
    if expected.contains(&FIELD_OP) {
        expected.retain(|e| *e != "`{`");
    }
    if expected.contains(&DECLARATION) {
        expected.retain(|e| *e != "`module`");
    }
    let wanted = match expected.len() {
        0 => "something else".to_string(),
        1 => expected.join(""),
        _ => match expected.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "something else".to_string(),
        },
    };
    let message = format!("expected {wanted}, found {}", found.0);
    let help = match expected.as_slice() {
        ["a value"] => {
            "Write a value here: a string, number, `true`/`false`, `null`, a list, a map or a reference.".to_string()
        }
        _ if found.0 == "end of file" => {
            "The file ended early: close the open block or finish the declaration.".to_string()
        }
        // `home "/srv"`: a key and a value with nothing between them.
        _ if expected.contains(&FIELD_OP) && starts_value(&found.1) => {
            let gap = text.get(..pos).map_or(pos, |before| before.trim_end_matches([' ', '\t']).len());
            let key =
                text.get(..gap).unwrap_or("").rsplit(|c: char| c.is_whitespace() || c == '{').next().unwrap_or("");
            let line = text.get(pos..).unwrap_or("").lines().next().unwrap_or("").trim_end();
            let help = format!("Insert `:` between the key and its value: `{key}: {line}`.");
            return (gap, pos.max(gap + 1), format!("expected {wanted}, found {}", found.0), help);
        }
        _ if expected.contains(&DECLARATION) && closest_keyword(&found.1).is_some() => {
            format!("Did you mean `{}`?", closest_keyword(&found.1).unwrap_or_default())
        }
        _ if is_keyword(&found.1) => {
            format!("`{}` is a keyword; to use it as a field name, quote it: `\"{}\"`.", found.1, found.1)
        }
        _ => format!("Replace {} with {wanted}.", found.0),
    };
    (pos, pos + found.1.len().max(1), message, help)
}

/// A misspelt declaration keyword (`instnce`).
fn closest_keyword(word: &str) -> Option<&'static str> {
    const KEYWORDS: [&str; 6] = ["project", "schema", "module", "abstract", "instance", "overlay"];
    if word.is_empty() || is_keyword(word) {
        return None;
    }
    crate::diagnostic::closest(word, KEYWORDS)
}

/// True when a token can start a value (so a `:` before it is what is missing).
fn starts_value(token: &str) -> bool {
    token.chars().next().is_some_and(|c| c == '"' || c == '[' || c == '-' || c.is_ascii_alphanumeric())
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "project" | "schema" | "module" | "abstract" | "instance" | "inherits" | "overlay" | "on" | "target" | "unset"
    )
}

/// The token at `pos`, described for a message, and its text.
fn found_token(text: &str, pos: usize) -> (String, String) {
    let rest = text.get(pos..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return ("end of file".into(), String::new());
    };
    if first == '"' {
        return ("a string".into(), "\"".into());
    }
    let word: String = if first.is_ascii_alphanumeric() || first == '_' || first == '-' {
        rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || *c == '.').collect()
    } else if rest.starts_with(":=") || rest.starts_with("+=") || rest.starts_with("...") {
        rest.chars().take(if rest.starts_with("...") { 3 } else { 2 }).collect()
    } else {
        first.to_string()
    };
    (format!("`{}`", word.escape_debug()), word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pest::Parser;

    fn parses(rule: Rule, text: &str) -> bool {
        FacsParser::parse(rule, text).is_ok_and(|mut p| p.next().is_some_and(|p| p.as_str() == text))
    }

    #[test]
    fn names_exclude_keywords_but_references_do_not() {
        assert!(parses(Rule::name, "dev-0_x"));
        assert!(!parses(Rule::name, "module"));
        assert!(parses(Rule::name, "modules"));
        assert!(parses(Rule::reference, "module.app.port"));
        assert!(!parses(Rule::reference, "true"));
    }

    #[test]
    fn numbers() {
        assert!(parses(Rule::int, "1_000"));
        assert!(parses(Rule::int, "-5"));
        assert!(parses(Rule::float, "2.5"));
        assert!(parses(Rule::float, "1e-3"));
        assert!(!parses(Rule::int, "1.5"));
    }

    #[test]
    fn strings_do_not_cross_lines() {
        assert!(parses(Rule::string, r#""a \" ${b}""#));
        assert!(FacsParser::parse(Rule::string, "\"a\nb\"").is_err());
        assert!(parses(Rule::ml_string, "\"\"\"\n  x \"quoted\"\n  \"\"\""));
    }

    #[test]
    fn fields_and_blocks() {
        assert!(parses(Rule::field, "a.b.c: 1"));
        assert!(parses(Rule::field, "\"on\": 1"));
        assert!(parses(Rule::field, "db { host: \"h\" port: 1, }"));
        assert!(parses(Rule::field, "tags += [\"a\" \"b\"]"));
        assert!(parses(Rule::field, "x := { a: 1 }"));
    }

    #[test]
    fn types() {
        assert!(parses(Rule::type_expr, "[string]"));
        assert!(parses(Rule::type_expr, "{int}"));
        assert!(parses(Rule::type_expr, "{ a: string, b?: int }"));
        assert!(parses(Rule::type_expr, "\"ro\" | \"rw\""));
        assert!(parses(Rule::type_expr, "Db?"));
    }

    #[test]
    fn errors_name_what_was_expected() {
        let text = "instance a {\n  home: = 1\n}";
        let err = FacsParser::parse(Rule::file, text).expect_err("invalid");
        let (pos, _, message, _) = explain_error(&err, text);
        assert_eq!(pos, text.find('=').expect("="));
        assert!(message.contains("expected a value"), "{message}");
    }
}
