//! `facs fmt`: properties over generated sources, and the real binary on
//! temporary projects (including a copy of `examples/shop`).
//!
//! The generator builds valid `.facs` files (every declaration kind, the
//! three operators, dotted and quoted keys, nested blocks and lists, strings
//! with escapes and interpolation, multi-line strings, `unset`, `target` and
//! `module` items, schemas with every type form) as a stream of tokens, then
//! joins the tokens with random whitespace, commas and comments of every
//! kind. For each file it checks that formatting (1) is idempotent, (2)
//! keeps every comment exactly once, (3) changes no manifest and no
//! diagnostic code.

use crate::common;

use facs::build::compile_memory;
use facs::fmt::format_file;
use facs::source::SourceMap;
use proptest::prelude::*;
use proptest::sample::select;
use std::path::Path;
use std::process::Command;

// ------------------------------------------------------------------ generator

/// A token, or a place between tokens that gets random trivia.
#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    /// Whitespace and comments only.
    Gap,
    /// Between items, list elements or declarations: a comma may go here too.
    ItemGap,
}

type Tokens = Vec<Piece>;

fn text(s: &str) -> Piece {
    Piece::Text(s.to_string())
}

fn one(s: impl Into<String>) -> Tokens {
    vec![Piece::Text(s.into())]
}

const NUMBERS: &[&str] = &["0", "42", "-7", "1_000", "2.5", "-0.25", "1e3", "6.02E+2"];
// Mostly references that resolve everywhere; a few that may not (E010).
const REFS: &[&str] =
    &["facs.instance", "facs.instance", "project.name", "project.name", "project.version", "home", "module.m1.port"];
const KEYS: &[&str] = &[
    "home",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "port",
    "host",
    "db",
    "tags",
    "\"quoted key\"",
    "\"x.y\"",
    "\"target\"",
];
const STR_PARTS: &[&str] = &[
    "plain",
    " ",
    "\\n",
    "\\t",
    "\\\"",
    "\\\\",
    "\\$",
    "\\u{1F600}",
    "$x",
    "${facs.instance}",
    "${project.name}",
    "é",
    "// not a comment",
    "/* nor this */",
];

fn string_lit() -> impl Strategy<Value = String> {
    prop::collection::vec(select(STR_PARTS), 0..5).prop_map(|parts| format!("\"{}\"", parts.concat()))
}

/// A `"""` string: content lines indented at least as much as the closing
/// line, or closed on its last line (common indentation removed).
fn multiline_lit() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        3 => (0usize..4, select(STR_PARTS)).prop_map(|(extra, part)| format!("{}line {part}", " ".repeat(extra))),
        1 => Just(String::new()),
    ];
    (0usize..7, prop::collection::vec(line, 1..4), any::<bool>()).prop_map(|(indent, lines, closing_alone)| {
        let pad = " ".repeat(indent);
        let body: Vec<String> =
            lines.iter().map(|l| if l.is_empty() { String::new() } else { format!("{pad}{l}") }).collect();
        if closing_alone || body.last().is_none_or(|l| l.is_empty()) {
            format!("\"\"\"\n{}\n{pad}\"\"\"", body.join("\n"))
        } else {
            format!("\"\"\"\n{}\"\"\"", body.join("\n"))
        }
    })
}

fn scalar() -> impl Strategy<Value = Tokens> {
    prop_oneof![
        select(NUMBERS).prop_map(one),
        select(&["true", "false", "null"][..]).prop_map(one),
        string_lit().prop_map(one),
        select(REFS).prop_map(one),
    ]
}

fn key_path() -> impl Strategy<Value = Tokens> {
    prop::collection::vec(select(KEYS), 1..4).prop_map(|keys| {
        let mut out = Vec::new();
        for (idx, key) in keys.into_iter().enumerate() {
            if idx > 0 {
                out.extend([Piece::Gap, text("."), Piece::Gap]);
            }
            out.push(text(key));
        }
        out
    })
}

/// `{ items }` or `[ elements ]`.
fn enclosed(open: &str, items: Vec<Tokens>, close: &str) -> Tokens {
    let mut out = vec![text(open), Piece::ItemGap];
    for item in items {
        out.extend(item);
        out.push(Piece::ItemGap);
    }
    out.push(text(close));
    out
}

fn value() -> BoxedStrategy<Tokens> {
    let leaf = prop_oneof![6 => scalar(), 1 => multiline_lit().prop_map(one)];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|items| enclosed("[", items, "]")),
            prop::collection::vec(field(inner), 0..4).prop_map(|items| enclosed("{", items, "}")),
        ]
    })
    .boxed()
}

fn field(value: impl Strategy<Value = Tokens>) -> impl Strategy<Value = Tokens> {
    (key_path(), select(&[":", ":", ":", ":", ":", ":=", ":=", "+="][..]), value, any::<bool>()).prop_map(
        |(path, op, value, block_form)| {
            let mut out = path;
            let is_map = matches!(value.first(), Some(Piece::Text(t)) if t == "{");
            if !(op == ":" && is_map && block_form) {
                out.extend([Piece::Gap, text(op)]);
            }
            out.push(Piece::Gap);
            out.extend(value);
            out
        },
    )
}

fn list_append() -> impl Strategy<Value = Tokens> {
    (key_path(), prop::collection::vec(scalar(), 0..4)).prop_map(|(path, items)| {
        let mut out = path;
        out.extend([Piece::Gap, text("+="), Piece::Gap]);
        out.extend(enclosed("[", items, "]"));
        out
    })
}

fn named_block(keyword: &'static str, names: &'static [&'static str]) -> impl Strategy<Value = Tokens> {
    (select(names), prop::collection::vec(field(value()), 0..3))
        .prop_map(move |(name, fields)| block_decl(keyword, name, fields))
}

fn block_decl(keyword: &str, name: &str, fields: Vec<Tokens>) -> Tokens {
    {
        let mut out = vec![text(keyword), Piece::Gap, text(name), Piece::Gap];
        out.extend(enclosed("{", fields, "}"));
        out
    }
}

fn target_item() -> impl Strategy<Value = Tokens> {
    (select(&["t1", "t2"][..]), prop::collection::vec(string_lit(), 0..3)).prop_map(|(name, nodes)| {
        let nodes = enclosed("[", nodes.into_iter().map(one).collect(), "]");
        let mut body = vec![text("nodes"), Piece::Gap, text(":"), Piece::Gap];
        body.extend(nodes);
        let mut out = vec![text("target"), Piece::Gap, text(name), Piece::Gap];
        out.extend(enclosed("{", vec![body], "}"));
        out
    })
}

fn body_item() -> impl Strategy<Value = Tokens> {
    prop_oneof![
        8 => field(value()),
        2 => list_append(),
        1 => key_path().prop_map(|path| {
            let mut out = vec![text("unset"), Piece::Gap];
            out.extend(path);
            out
        }),
        1 => target_item(),
        1 => named_block("module", &["m1", "m2"]),
    ]
}

fn type_expr() -> BoxedStrategy<Tokens> {
    let leaf = prop_oneof![
        4 => select(&["int", "string", "bool", "float", "any", "secret", "S0"][..]).prop_map(one),
        1 => prop::collection::vec(select(&["\"ro\"", "\"rw\"", "\"x y\""][..]), 1..4).prop_map(|options| {
            let mut out = Vec::new();
            for (idx, option) in options.into_iter().enumerate() {
                if idx > 0 {
                    out.extend([Piece::Gap, text("|"), Piece::Gap]);
                }
                out.push(text(option));
            }
            out
        }),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| [vec![text("["), Piece::Gap], t, vec![Piece::Gap, text("]")]].concat()),
            inner.clone().prop_map(|t| [vec![text("{"), Piece::Gap], t, vec![Piece::Gap, text("}")]].concat()),
            inner.clone().prop_map(|t| {
                // `T??` and `"a" | "b"?` are not types.
                let nullable = matches!(t.last(), Some(Piece::Text(last)) if last == "?");
                let union = t.iter().any(|p| matches!(p, Piece::Text(s) if s == "|"))
                    && matches!(t.first(), Some(Piece::Text(first)) if first.starts_with('"'));
                if nullable || union {
                    t
                } else {
                    [t, vec![Piece::Gap, text("?")]].concat()
                }
            }),
            (prop::collection::vec(field_decl(inner), 0..3), any::<bool>()).prop_map(|(mut fields, open)| {
                if open {
                    fields.push(one("..."));
                }
                enclosed("{", fields, "}")
            }),
        ]
    })
    .boxed()
}

fn field_decl(type_: impl Strategy<Value = Tokens>) -> impl Strategy<Value = Tokens> {
    (select(&["a", "b", "c", "\"d e\""][..]), any::<bool>(), type_, prop::option::of(scalar())).prop_map(
        |(name, optional, type_, default)| {
            let mut out = vec![text(name)];
            if optional {
                out.extend([Piece::Gap, text("?")]);
            }
            out.extend([Piece::Gap, text(":"), Piece::Gap]);
            out.extend(type_);
            if let Some(default) = default {
                out.extend([Piece::Gap, text("="), Piece::Gap]);
                out.extend(default);
            }
            out
        },
    )
}

fn schema_decl(name: &'static str) -> impl Strategy<Value = Tokens> {
    (prop::collection::vec(field_decl(type_expr()), 0..4), any::<bool>()).prop_map(move |(mut fields, open)| {
        if open {
            fields.insert(fields.len() / 2, one("..."));
        }
        let mut out = vec![text("schema"), Piece::Gap, text(name), Piece::Gap];
        out.extend(enclosed("{", fields, "}"));
        out
    })
}

/// Instance `idx` inherits some of the ones before it, so there is no cycle.
fn instance_decl(idx: usize) -> impl Strategy<Value = Tokens> {
    (any::<bool>(), any::<u8>(), prop::collection::vec(body_item(), 0..6)).prop_map(
        move |(is_abstract, mask, items)| {
            let mut out = Vec::new();
            if is_abstract {
                out.extend([text("abstract"), Piece::Gap]);
            }
            out.extend([text("instance"), Piece::Gap, text(&format!("i{idx}"))]);
            let parents: Vec<usize> = (0..idx).filter(|p| mask & (1 << p) != 0).collect();
            for (n, parent) in parents.iter().enumerate() {
                out.extend([
                    Piece::Gap,
                    text(if n == 0 { "inherits" } else { "," }),
                    Piece::Gap,
                    text(&format!("i{parent}")),
                ]);
            }
            out.push(Piece::Gap);
            out.extend(enclosed("{", items, "}"));
            out
        },
    )
}

fn source() -> impl Strategy<Value = Tokens> {
    let project = prop::collection::vec(field(value()), 0..3).prop_map(|mut fields| {
        fields.insert(0, vec![text("version"), Piece::Gap, text(":"), Piece::Gap, text("\"1.0\"")]);
        [vec![text("project"), Piece::Gap, text("p"), Piece::Gap], enclosed("{", fields, "}")].concat()
    });
    // Declarations with distinct names (a few duplicates come from `module`
    // items and fields, which is enough for E002/E006).
    let module_fields = || prop::collection::vec(field(value()), 0..3);
    let modules = (module_fields(), module_fields(), module_fields(), 0usize..4).prop_map(|(a, b, c, n)| {
        [("m1", a), ("m2", b), ("m3", c)]
            .into_iter()
            .take(n)
            .map(|(name, f)| block_decl("module", name, f))
            .collect::<Vec<_>>()
    });
    let schemas = (schema_decl("S0"), schema_decl("S1"), schema_decl("Target"), 0usize..4)
        .prop_map(|(a, b, c, n)| [a, b, c].into_iter().take(n).collect::<Vec<_>>());
    let instances = (instance_decl(0), instance_decl(1), instance_decl(2), 0usize..4);
    let overlay = prop::option::of((0usize..3, prop::collection::vec(body_item(), 0..3)));
    (project, modules, schemas, instances, overlay).prop_map(|(project, modules, schemas, instances, overlay)| {
        let mut decls = vec![project];
        decls.extend(modules);
        decls.extend(schemas);
        let (i0, i1, i2, n_instances) = instances;
        decls.extend([i0, i1, i2].into_iter().take(n_instances));
        if let (Some((base, items)), true) = (overlay, n_instances > 0) {
            let base = format!("i{}", base % n_instances);
            decls.push(
                [
                    vec![
                        text("overlay"),
                        Piece::Gap,
                        text("o1"),
                        Piece::Gap,
                        text("on"),
                        Piece::Gap,
                        text(&base),
                        Piece::Gap,
                    ],
                    enclosed("{", items, "}"),
                ]
                .concat(),
            );
        }
        let mut out = vec![Piece::ItemGap];
        for decl in decls {
            out.extend(decl);
            out.push(Piece::ItemGap);
        }
        out
    })
}

/// Joins tokens with trivia chosen by `choices` (used round-robin).
/// Comments are numbered so each one's text is unique.
fn render(tokens: &[Piece], choices: &[u8]) -> String {
    let mut out = String::new();
    let mut n_comments = 0;
    let mut next = 0;
    // A comma may follow a token, but not an opener, another comma or nothing.
    let mut last_token = "";
    let mut choose = || {
        let c = choices.get(next % choices.len().max(1)).copied().unwrap_or(0);
        next += 1;
        c
    };
    for piece in tokens {
        let (gap, comma_before) = match piece {
            Piece::Text(t) => {
                out.push_str(t);
                last_token = t;
                continue;
            }
            Piece::Gap => (choose(), false),
            Piece::ItemGap => {
                let c = choose();
                (c, c % 3 == 0)
            }
        };
        // A comma goes before the trivia, or after it (`x /// doc` `,` `y`).
        let comma_after = matches!(piece, Piece::ItemGap) && !comma_before && gap % 7 == 1;
        let comma_allowed = !matches!(last_token, "" | "{" | "[" | ",");
        if comma_before && comma_allowed {
            out.push(',');
            last_token = ",";
        }
        n_comments += 1;
        let trivia = match gap % 16 {
            0..=4 => " ".to_string(),
            5 | 6 => "\n  ".to_string(),
            7 => "\n\n\n".to_string(),
            8 => " \t".to_string(),
            9 => format!(" /* block {n_comments} end */ "),
            10 => format!(" // line {n_comments} end\n"),
            11 => format!("\n/// doc {n_comments} end\n"),
            12 => format!("\n\n// own line {n_comments} end\n\n"),
            13 => format!("\n/* multi {n_comments}\n   line end */\n"),
            14 => " \r\n".to_string(),
            _ => "\n\t\t".to_string(),
        };
        out.push_str(&trivia);
        if comma_after && comma_allowed {
            out.push(',');
            last_token = ",";
        }
    }
    out
}

// ------------------------------------------------------------------ properties

fn format(text: &str) -> Result<String, String> {
    let mut sources = SourceMap::new();
    let id = sources.add("main.facs", text);
    format_file(&sources, id).map_err(|ds| facs::diagnostic::render_human(&sources, &ds, false))
}

fn comment_texts(text: &str) -> Vec<String> {
    facs::syntax::scan::scan(text).comments.iter().map(|&(_, s, e)| text.get(s..e).unwrap_or("").to_string()).collect()
}

fn codes(diagnostics: &[(String, String, usize)]) -> Vec<String> {
    let mut codes: Vec<String> = diagnostics.iter().map(|(code, _, _)| code.clone()).collect();
    codes.sort();
    codes
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn formatting_is_idempotent_keeps_comments_and_meaning(
        tokens in source(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let src = render(&tokens, &choices);
        let once = format(&src).map_err(|e| TestCaseError::fail(format!("{e}\n--- source\n{src}")))?;
        let twice = format(&once).map_err(|e| TestCaseError::fail(format!("{e}\n--- once\n{once}")))?;
        prop_assert_eq!(&twice, &once, "not idempotent; source:\n{}", src);

        for comment in comment_texts(&src) {
            let comment = comment.replace("\r\n", "\n");
            let before = src.replace("\r\n", "\n").matches(comment.as_str()).count();
            prop_assert_eq!(once.matches(comment.as_str()).count(), before, "comment {:?} lost or repeated:\n{}", comment, once);
        }

        let (manifests_before, diagnostics_before) = compile_memory(&[("main.facs", &src)]);
        let (manifests_after, diagnostics_after) = compile_memory(&[("main.facs", &once)]);
        prop_assert_eq!(manifests_after, manifests_before, "manifests changed; source:\n{}\n--- formatted\n{}", src, once);
        prop_assert_eq!(codes(&diagnostics_after), codes(&diagnostics_before), "diagnostics changed; source:\n{}", src);
    }
}

#[test]
fn the_generator_makes_files_that_compile() {
    // Guard against a generator that only makes errors: a fixed, small
    // sample must give some manifests.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut n_with_manifests = 0;
    for _ in 0..40 {
        let tokens = source().new_tree(&mut runner).expect("a value").current();
        let src = render(&tokens, &[0]);
        let (manifests, _) = compile_memory(&[("main.facs", &src)]);
        if let Err(e) = format(&src) {
            panic!("the generator made a syntax error:\n{e}\n{src}");
        }
        if !manifests.is_empty() {
            n_with_manifests += 1;
        }
    }
    assert!(n_with_manifests >= 10, "only {n_with_manifests} of 40 generated files compiled");
}

// ------------------------------------------------------------------ the binary

fn facs(project: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(project)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run facs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// Every manifest a build writes, by file name.
fn manifests(project: &Path) -> Vec<(String, String)> {
    let (code, _, stderr) = facs(project, &["build"]);
    assert_eq!(code, 0, "build failed: {stderr}");
    let out = project.join(".facsimile/out");
    let mut found: Vec<(String, String)> = std::fs::read_dir(&out)
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_name().unwrap_or_default().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no manifest");
    found
}

fn facs_files(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if entry.extension().is_some_and(|e| e == "facs") {
            found.push((entry.display().to_string(), std::fs::read_to_string(&entry).expect("read")));
        }
    }
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                out.extend(walk(&path));
            }
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn check_lists_unformatted_files_then_fmt_fixes_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path();
    std::fs::write(project.join("project.facs"), "project p {version:\"1.0\"}  // the project\n").expect("write");
    std::fs::create_dir(project.join("envs")).expect("mkdir");
    std::fs::write(
        project.join("envs/dev.facs"),
        "abstract instance base{home:\"/srv\",tags:[\"a\",\"b\"]}\ninstance dev inherits base{tags+=[\"c\"] /* more */ db{host:\"h\"}}",
    )
    .expect("write");
    std::fs::write(project.join("ok.facs"), "module m {}\n").expect("write");
    let before = manifests(project);
    let sources_before = facs_files(project);

    let (code, stdout, stderr) = facs(project, &["fmt", "--check"]);
    assert_eq!((code, stdout.as_str()), (1, "envs/dev.facs\nproject.facs\n"), "stderr: {stderr}");
    assert_eq!(facs_files(project), sources_before, "--check wrote something");

    let (code, stdout, stderr) = facs(project, &["fmt"]);
    // Spec §12: fmt names each file it rewrites.
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", "formatted envs/dev.facs\nformatted project.facs\n"));
    assert_eq!(
        std::fs::read_to_string(project.join("envs/dev.facs")).expect("read"),
        "abstract instance base {\n  home: \"/srv\"\n  tags: [\"a\", \"b\"]\n}\n\ninstance dev inherits base {\n  tags += [\"c\"] /* more */\n  db {\n    host: \"h\"\n  }\n}\n"
    );
    let (code, stdout, _) = facs(project, &["fmt", "--check"]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(manifests(project), before);
}

#[test]
fn explicit_files_keep_their_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("a.facs");
    std::fs::write(&file, "module m{port:1}").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let file_arg = file.to_string_lossy().into_owned();

    let (code, stdout, _) = facs(tmp.path(), &["fmt", "--check", &file_arg]);
    assert_eq!((code, stdout.as_str()), (1, "a.facs\n"));
    let (code, _, stderr) = facs(tmp.path(), &["fmt", &file_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "module m {\n  port: 1\n}\n");
    let mode = std::fs::metadata(&file).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let leftovers: Vec<_> = walk(tmp.path()).into_iter().filter(|p| p != &file).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_file_with_a_syntax_error_is_reported_and_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broken = "instance a { x: }\n";
    std::fs::write(tmp.path().join("broken.facs"), broken).expect("write");
    std::fs::write(tmp.path().join("fine.facs"), "module m{}").expect("write");
    let (code, _, stderr) = facs(tmp.path(), &["fmt"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("error[E001]") && stderr.contains("broken.facs"), "{stderr}");
    assert_eq!(std::fs::read_to_string(tmp.path().join("broken.facs")).expect("read"), broken);
    assert_eq!(std::fs::read_to_string(tmp.path().join("fine.facs")).expect("read"), "module m {}\n");

    let (code, _, stderr) = facs(tmp.path(), &["--message-format", "json", "fmt", "--check"]);
    assert_eq!(code, 1);
    assert!(stderr.lines().any(|l| l.contains("\"code\":\"E001\"") && l.contains("broken.facs")), "{stderr}");
}

#[test]
fn formatting_the_shop_example_keeps_its_manifests() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("shop");
    common::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop"), &project);
    let before = manifests(&project);

    let (code, _, stderr) = facs(&project, &["fmt"]);
    assert_eq!(code, 0, "{stderr}");
    let formatted = facs_files(&project);
    let (code, stdout, _) = facs(&project, &["fmt", "--check"]);
    assert_eq!((code, stdout.as_str()), (0, ""), "formatting the formatted shop changes it");
    assert_eq!(facs_files(&project), formatted);
    assert_eq!(manifests(&project), before);
}

// ------------------------------------------------------------------ keywords as name prefixes

const KEYWORDS: &[&str] = &[
    "project", "schema", "module", "abstract", "instance", "inherits", "overlay", "on", "target", "unset", "true",
    "false", "null",
];

/// Builtin instance fields that a keyword plus a suffix can spell; the
/// property test needs names that mean nothing yet.
const BUILTIN_INSTANCE_FIELDS: &[&str] = &["targets"];

/// A definition using `name` (a keyword plus a suffix) in every position a
/// field name can take: block key, dotted key, reference, interpolation,
/// module field and target name.
fn keyword_prefixed(name: &str) -> String {
    format!(
        "project demo {{}}\n\
         module api {{\n  {name}: 7\n  copy: {name}\n}}\n\
         instance a {{\n  {name} {{ inner: 1 }}\n  {name}_map: {{ {name}: true }}\n  {name}.dotted: 2\n  ref: {name}.inner\n  text: \"x${{{name}.dotted}}\"\n  \
         targets {{ {name} {{ nodes: [\"n1\"] }} }}\n  module api {{ {name}: 8 }}\n}}\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Spec §3 (v2): keywords are whole words. For every keyword K and
    /// suffix, `K<suffix>` is an ordinary name everywhere, the file builds to
    /// the values it says, and `fmt` keeps its meaning.
    #[test]
    fn keyword_prefixed_names_are_ordinary_names(
        keyword in select(KEYWORDS),
        suffix in "[a-z0-9_][a-z0-9_-]{0,5}",
    ) {
        let name = format!("{keyword}{suffix}");
        // `targets` is not an ordinary name but the builtin instance field
        // (a map of Target), so `targets { inner: 1 }` is rightly E007. CI
        // drew keyword `target` + suffix `s` and found the generator wrong.
        prop_assume!(!BUILTIN_INSTANCE_FIELDS.contains(&name.as_str()));
        keyword_prefixed_name_is_ordinary(&name)?;
    }
}

/// The check behind the property test; also run over every keyword with
/// fixed suffixes so each run covers the same ground, whatever proptest draws.
fn keyword_prefixed_name_is_ordinary(name: &str) -> Result<(), TestCaseError> {
    let src = keyword_prefixed(name);
    let (manifests, diagnostics) = compile_memory(&[("main.facs", &src)]);
    let errors: Vec<_> = diagnostics.iter().filter(|(c, _, _)| c.starts_with('E')).collect();
    prop_assert!(errors.is_empty(), "{:?}\n{}", errors, src);
    let manifest = &manifests.first().ok_or_else(|| TestCaseError::fail("no manifest"))?.1;
    let instance = &manifest["instance"];
    prop_assert_eq!(&instance[name], &serde_json::json!({ "inner": 1, "dotted": 2 }), "{}", src);
    prop_assert_eq!(&instance[&format!("{name}_map")], &serde_json::json!({ name: true }));
    prop_assert_eq!(&instance["ref"], &serde_json::json!(1));
    prop_assert_eq!(&instance["text"], &serde_json::json!("x2"));
    prop_assert_eq!(&instance["targets"][name]["nodes"], &serde_json::json!(["n1"]));
    prop_assert_eq!(&manifest["module"]["api"][name], &serde_json::json!(8));
    prop_assert_eq!(&manifest["module"]["api"]["copy"], &serde_json::json!(8));

    let formatted = format(&src).map_err(|e| TestCaseError::fail(format!("{e}\n{src}")))?;
    let (after, _) = compile_memory(&[("main.facs", &formatted)]);
    prop_assert_eq!(after, manifests, "fmt changed the meaning:\n{}", formatted);
    Ok(())
}

#[test]
fn every_keyword_with_fixed_suffixes_is_an_ordinary_name() {
    for keyword in KEYWORDS {
        for suffix in ["s", "_", "-x", "0", "ing", "ed_by"] {
            let name = format!("{keyword}{suffix}");
            if BUILTIN_INSTANCE_FIELDS.contains(&name.as_str()) {
                continue;
            }
            if let Err(e) = keyword_prefixed_name_is_ordinary(&name) {
                panic!("{name}: {e}");
            }
        }
    }
}

#[test]
fn the_builtin_targets_field_is_not_an_ordinary_name() {
    // The one keyword-plus-suffix the property test skips: it keeps its type.
    let (_, diagnostics) = compile_memory(&[("main.facs", &keyword_prefixed("targets"))]);
    assert!(diagnostics.iter().any(|(c, _, _)| c == "E007"), "{diagnostics:?}");
}
