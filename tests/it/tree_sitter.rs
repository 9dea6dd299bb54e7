//! The tree-sitter grammar in `editors/tree-sitter-facs/`, checked through the
//! tree-sitter runtime crate (no CLI, no network), so CI always runs it:
//! - every case of `test/corpus/*.txt` parses to its expected S-expression,
//!   field names included, compared ignoring whitespace as `tree-sitter test`
//!   does;
//! - tree-sitter and the compiler's parser (`facs::syntax::parse_file`) accept
//!   the same files: every `.facs` file of the repository and every `facs`
//!   block of `docs/*.md`. A file the compiler rejects with E001 must hold an
//!   ERROR or MISSING node; any other file must hold none. `EXCEPTIONS` lists,
//!   with the reason, each file where the two may differ;
//! - the three query files compile, and `highlights.scm` gives the expected
//!   captures on a sample.
//!
//! The corpus runner above stands in for `tree-sitter test`, which needs the
//! CLI (its npm package downloads a binary from GitHub, which CI cannot reach):
//! a grammar author runs `tree-sitter test` by hand after `tree-sitter
//! generate` (editors/README.md). No test here skips.

use facs::diagnostic::Code;
use facs::source::SourceMap;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn grammar_dir() -> PathBuf {
    root().join("editors/tree-sitter-facs")
}

fn language() -> tree_sitter::Language {
    tree_sitter_facs::LANGUAGE.into()
}

fn parse(text: &str) -> tree_sitter::Tree {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&language()).expect("load the facs grammar");
    parser.parse(text, None).expect("tree-sitter returns a tree without a timeout")
}

/// Files (relative to the repository root, or `docs/<doc>.md:<line>` for a
/// code block) where tree-sitter and the compiler's parser may disagree, with
/// why. Each entry must still disagree, so a fixed one has to be removed.
const EXCEPTIONS: &[(&str, &str)] = &[
    ("docs/reference.md:188", UNDERINDENTED),
    ("fuzz/corpus/check_dir/seed-errors_E001_multiline_underindented", UNDERINDENTED),
    ("fuzz/corpus/parse/seed-errors_E001_multiline_underindented", UNDERINDENTED),
    ("tests/fixtures/errors/E001_multiline_underindented/main.facs", UNDERINDENTED),
];

const UNDERINDENTED: &str = "a multi-line string line indented less than its closing `\"\"\"`: the compiler finds it while decoding the string (E001 from `syntax::strings`), after the parse; a context-free grammar cannot compare indentations";

/// One corpus case.
struct Case {
    file: String,
    name: String,
    input: String,
    expected: String,
}

fn is_rule(line: &str, ch: char) -> bool {
    line.len() >= 3 && line.chars().all(|c| c == ch)
}

/// Splits a corpus file in the `tree-sitter test` format: a `===` line, the
/// name, a `===` line, the input, a `---` line, the expected tree.
fn corpus_cases(file: &str, text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut idx = 0;
    while idx < lines.len() {
        if !is_rule(lines[idx].trim_end(), '=') {
            idx += 1;
            continue;
        }
        let name = lines.get(idx + 1).map_or("", |l| l.trim()).to_string();
        assert!(
            lines.get(idx + 2).is_some_and(|l| is_rule(l.trim_end(), '=')),
            "{file}: case `{name}` has no closing `===` line"
        );
        idx += 3;
        let mut input = Vec::new();
        while idx < lines.len() && !is_rule(lines[idx].trim_end(), '-') {
            input.push(lines[idx]);
            idx += 1;
        }
        idx += 1;
        let mut expected = Vec::new();
        while idx < lines.len() && !is_rule(lines[idx].trim_end(), '=') {
            expected.push(lines[idx]);
            idx += 1;
        }
        // `tree-sitter test` drops the line break before the `---` line.
        let input = input.join("\n").trim_end_matches('\n').to_string() + "\n";
        cases.push(Case { file: file.to_string(), name, input, expected: expected.join("\n") });
    }
    cases
}

/// An S-expression with its whitespace normalised the way `tree-sitter test`
/// does: runs become one space, none before `)`.
fn normalise(sexp: &str) -> String {
    let one_space = sexp.split_whitespace().collect::<Vec<_>>().join(" ");
    one_space.replace(" )", ")")
}

#[test]
fn tree_sitter_corpus() {
    let corpus = grammar_dir().join("test/corpus");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&corpus).expect("test/corpus").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut n_cases = 0;
    let mut failures = Vec::new();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "txt")) {
        let file = path.file_name().expect("name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("read corpus file");
        for case in corpus_cases(&file, &text) {
            n_cases += 1;
            let actual = normalise(&parse(&case.input).root_node().to_sexp());
            let expected = normalise(&case.expected);
            if actual != expected {
                failures.push(format!("{}: `{}`\n  expected: {expected}\n  actual:   {actual}", case.file, case.name));
            }
        }
    }
    assert!(n_cases >= 20, "only {n_cases} corpus cases found in {}", corpus.display());
    assert!(failures.is_empty(), "{} corpus case(s) fail:\n{}", failures.len(), failures.join("\n"));
}

/// Every `.facs` file of the repository, and the fuzz corpus of the parser.
fn repository_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let skip = |name: &str| matches!(name, "target" | ".git" | "node_modules");
    for entry in walkdir::WalkDir::new(root())
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !skip(&e.file_name().to_string_lossy()))
    {
        let entry = entry.expect("walk the repository");
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root()).expect("inside the root").to_string_lossy().into_owned();
        let in_fuzz_corpus = rel.starts_with("fuzz/corpus/");
        if !(rel.ends_with(".facs") || in_fuzz_corpus) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).expect("read");
        // The compiler reads files as UTF-8 text; a fuzz input that is not
        // would be refused before parsing, by both.
        if let Ok(text) = String::from_utf8(bytes) {
            out.push((rel, text));
        }
    }
    out
}

/// Every `facs` code block of `docs/*.md`, named `docs/<doc>.md:<line>`.
fn doc_blocks() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    for doc in docs {
        let name = format!("docs/{}", doc.file_name().expect("name").to_string_lossy());
        let text = std::fs::read_to_string(&doc).expect("read doc");
        let mut lines = text.lines().enumerate();
        while let Some((idx, line)) = lines.next() {
            let Some(info) = line.strip_prefix("```") else { continue };
            let mut block = String::new();
            for (_, body) in lines.by_ref() {
                if body.starts_with("```") {
                    break;
                }
                block.push_str(body);
                block.push('\n');
            }
            let mut words = info.split([',', ' ']).filter(|w| !w.is_empty());
            let is_facs = words.next() == Some("facs");
            let other_file = info.split(',').any(|w| w.starts_with("file=") && !w.ends_with(".facs"));
            if is_facs && !other_file {
                out.push((format!("{name}:{}", idx + 1), block));
            }
        }
    }
    out
}

/// Whether the compiler's parser reports a syntax error (E001).
fn compiler_rejects(name: &str, text: &str) -> bool {
    let mut sources = SourceMap::new();
    let id = sources.add(name, text);
    let (_, diagnostics) = facs::syntax::parse_file(&sources, id);
    diagnostics.iter().any(|d| d.code == Code::E001)
}

#[test]
fn tree_sitter_accepts_what_the_compiler_accepts() {
    let mut inputs = repository_files();
    let n_repo = inputs.len();
    inputs.extend(doc_blocks());
    assert!(n_repo > 100, "only {n_repo} .facs files found");
    let mut disagreements = Vec::new();
    let mut unneeded = Vec::new();
    let (mut both_accept, mut both_reject) = (0, 0);
    for (name, text) in &inputs {
        let compiler = compiler_rejects(name, text);
        let tree = parse(text);
        let tree_sitter = tree.root_node().has_error();
        let exception = EXCEPTIONS.iter().find(|(file, _)| file == name);
        match (compiler == tree_sitter, exception) {
            (true, None) if compiler => both_reject += 1,
            (true, None) => both_accept += 1,
            (true, Some(_)) => unneeded.push(name.clone()),
            (false, Some(_)) => {}
            (false, None) => disagreements.push(format!(
                "{name}: the compiler {} it, tree-sitter {} it{}",
                if compiler { "rejects" } else { "accepts" },
                if tree_sitter { "rejects" } else { "accepts" },
                first_error(&tree).map_or(String::new(), |at| format!(" (first ERROR/MISSING at byte {at})")),
            )),
        }
    }
    println!(
        "{} inputs ({n_repo} files, {} doc blocks): both accept {both_accept}, both reject {both_reject}, {} listed exceptions",
        inputs.len(),
        inputs.len() - n_repo,
        EXCEPTIONS.len()
    );
    assert!(unneeded.is_empty(), "exceptions that both parsers now agree on (remove them): {unneeded:?}");
    assert!(
        disagreements.is_empty(),
        "{} input(s) where tree-sitter and the compiler disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

fn first_error(tree: &tree_sitter::Tree) -> Option<usize> {
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            return Some(node.start_byte());
        }
        if node.has_error() {
            let mut children: Vec<_> = node.children(&mut cursor).collect();
            children.reverse();
            stack.extend(children);
        }
    }
    None
}

#[test]
fn tree_sitter_queries_compile_and_highlight() {
    let language = language();
    for (name, source) in [
        ("highlights.scm", tree_sitter_facs::HIGHLIGHTS_QUERY),
        ("locals.scm", tree_sitter_facs::LOCALS_QUERY),
        ("injections.scm", tree_sitter_facs::INJECTIONS_QUERY),
    ] {
        if let Err(err) = tree_sitter::Query::new(&language, source) {
            panic!("queries/{name} does not compile: {err}");
        }
    }
    let sample = "// note\ninstance dev {\n  port: 8080\n  url: \"http://${host}/\"\n  n: len(port)\n}\n";
    let query = tree_sitter::Query::new(&language, tree_sitter_facs::HIGHLIGHTS_QUERY).expect("compiled above");
    let tree = parse(sample);
    let mut cursor = tree_sitter::QueryCursor::new();
    let mut captures: Vec<(String, String)> = Vec::new();
    use tree_sitter::StreamingIterator;
    let mut matches = cursor.captures(&query, tree.root_node(), sample.as_bytes());
    while let Some((m, idx)) = matches.next() {
        let capture = m.captures[*idx];
        let text = sample.get(capture.node.byte_range()).expect("a node's range").to_string();
        captures.push((text, query.capture_names()[capture.index as usize].to_string()));
    }
    let has = |text: &str, name: &str| captures.iter().any(|(t, n)| t == text && n == name);
    for (text, name) in [
        ("// note", "comment"),
        ("instance", "keyword"),
        ("\"http://${host}/\"", "string"),
        ("${host}", "embedded"),
        ("8080", "number"),
        ("len", "function.call"),
        ("dev", "constant"),
        ("port", "property"),
    ] {
        assert!(has(text, name), "highlights.scm gives `{text}` no @{name}; captures: {captures:?}");
    }
}
