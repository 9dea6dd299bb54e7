//! Keeps the documentation true.
//!
//! - ARCHITECTURE.md: every backticked path in it must exist.
//! - `docs/reference.md` and `docs/errors.md`: every fenced code block tagged `facs` is
//!   compiled by the real binary. The block is written as `main.facs` into an empty
//!   directory and `facs -p DIR --message-format json check` runs on it. The info string
//!   (the words after the opening fence, separated by commas or spaces) says what must
//!   happen:
//!   - `facs`: exit 0 and no diagnostic at all, not even a warning;
//!   - `facs,fails=E012`: exit 1, E012 reported, and no other code;
//!   - `facs,warns=W001`: exit 0, W001 reported, and no other code;
//!   - `env=KEY=VALUE` (repeatable) sets a variable for that run (`env=FACS_MAX_TREE_SIZE=64`);
//!   - `build` runs `facs build` instead of `check` (for what only a build does, such as
//!     tightening a state file given with `file=.facsimile/state/...`);
//!   - `git` makes the directory a git work tree first (skipped without git).
//!
//!   A block of any language with `file=PATH` (`text,file=tmpl/_ALL_/app.conf`) is not
//!   checked: its text is written to PATH (relative, without `..`) in the directory of the
//!   next `facs` block of the same document, then forgotten. That is how examples get
//!   templates, files to copy and extra `.facs` files.
//! - `docs/errors.md` has one `## CODE: meaning` section for every `Code`
//!   (`facs::diagnostic::Code::ALL`) and none for a code that does not exist; each section
//!   holds an example tagged with its own code and a clean example (the fix).

use facs::diagnostic::Code;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn architecture_paths_exist() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    let mut checked = 0;
    for (i, chunk) in text.split('`').enumerate() {
        let is_path = i % 2 == 1
            && !chunk.contains(' ')
            && !chunk.contains('<')
            && (chunk.starts_with("src/")
                || chunk.starts_with("tests/")
                || chunk.starts_with("grammar/")
                || chunk.starts_with("docs/")
                || chunk.starts_with("editors/")
                || chunk.starts_with("benches/")
                || chunk.starts_with("../shared/"));
        // The shared contract lies beside the checkout, not in it: a clone
        // elsewhere has none, which is a skip, not a stale page.
        if is_path && chunk.starts_with("../shared/") && !root().join("../shared").is_dir() {
            crate::common::may_skip(
                "architecture_paths_exist",
                &format!("`{chunk}` needs ../shared beside the checkout"),
            );
            continue;
        }
        if is_path {
            checked += 1;
            if !root().join(chunk.trim_end_matches('/')).exists() {
                missing.push(chunk.to_string());
            }
        }
    }
    assert!(checked > 20, "expected ARCHITECTURE.md to name its files ({checked} found)");
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}

/// What a `facs` block must do when checked.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Clean,
    Fails(String),
    Warns(String),
}

/// One fenced block of a document.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string's first word (`facs`, `text`, `sh`...).
    lang: String,
    /// `file=PATH`, if any.
    file: Option<String>,
    expect: Expect,
    envs: Vec<(String, String)>,
    /// Run `facs build`, not `facs check`.
    build: bool,
    /// Make the directory a git work tree first (`git init`).
    git: bool,
    text: String,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((idx, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else { continue };
        let mut words = info.split([',', ' ']).filter(|w| !w.is_empty());
        let lang = words.next().unwrap_or("").to_string();
        let mut block = Block {
            line: idx + 1,
            lang,
            file: None,
            expect: Expect::Clean,
            envs: Vec::new(),
            build: false,
            git: false,
            text: String::new(),
        };
        for word in words {
            if let Some(path) = word.strip_prefix("file=") {
                block.file = Some(path.to_string());
            } else if let Some(code) = word.strip_prefix("fails=") {
                block.expect = Expect::Fails(code.to_string());
            } else if let Some(code) = word.strip_prefix("warns=") {
                block.expect = Expect::Warns(code.to_string());
            } else if word == "build" {
                block.build = true;
            } else if word == "git" {
                block.git = true;
            } else if let Some((key, value)) = word.strip_prefix("env=").and_then(|kv| kv.split_once('=')) {
                block.envs.push((key.to_string(), value.to_string()));
            } else {
                panic!("line {}: unknown word `{word}` in the info string `{info}`", idx + 1);
            }
        }
        for (_, body) in lines.by_ref() {
            if body.starts_with("```") {
                break;
            }
            block.text.push_str(body);
            block.text.push('\n');
        }
        out.push(block);
    }
    out
}

/// Runs `facs check` on one block (with the pending files) and returns what is wrong, if
/// anything.
fn check_block(doc: &str, block: &Block, files: &[(String, String)]) -> Option<String> {
    if block.git && !crate::common::have_tools(&format!("{doc} line {}", block.line), &["git"]) {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let rel = Path::new(path);
        let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
        assert!(plain, "{doc}: `file={path}` must be a relative path without `..`");
        let dest: PathBuf = dir.path().join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::write(&dest, text).expect("write file");
    }
    std::fs::write(dir.path().join("main.facs"), &block.text).expect("write main.facs");
    if block.git {
        let init = Command::new("git").args(["init", "-q"]).arg(dir.path()).status();
        assert!(init.is_ok_and(|s| s.success()), "{doc}: `git init` failed (the block needs git)");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(dir.path())
        .args(["--message-format", "json", if block.build { "build" } else { "check" }])
        .envs(block.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .expect("run facs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let codes: BTreeSet<String> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|d| d.get("code").and_then(|c| c.as_str()).unwrap_or("(no code)").to_string())
        .collect();
    let status = output.status.code();
    let (want_status, want_code) = match &block.expect {
        Expect::Clean => (0, None),
        Expect::Fails(code) => (1, Some(code)),
        Expect::Warns(code) => (0, Some(code)),
    };
    let ok = status == Some(want_status)
        && match want_code {
            None => codes.is_empty(),
            Some(code) => codes.len() == 1 && codes.contains(code),
        };
    (!ok).then(|| {
        format!(
            "{doc}:{}: expected exit {want_status} with {}, got exit {status:?} with {codes:?}\n{stderr}",
            block.line,
            want_code.map_or("no diagnostic".to_string(), |c| format!("exactly {c}")),
        )
    })
}

/// Checks every `facs` block of one document; returns the blocks and the failures.
fn check_doc(doc: &str) -> (Vec<Block>, Vec<String>) {
    let text = std::fs::read_to_string(root().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let all = blocks(&text);
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for block in &all {
        if let Some(path) = &block.file {
            pending.push((path.clone(), block.text.clone()));
        } else if block.lang == "facs" {
            failures.extend(check_block(doc, block, &pending));
            pending.clear();
        } else {
            assert!(
                block.expect == Expect::Clean && block.envs.is_empty() && !block.build,
                "{doc}:{}: only `facs` blocks can expect a code or set variables",
                block.line
            );
        }
    }
    assert!(pending.is_empty(), "{doc}: a `file=` block is not followed by a `facs` block");
    (all, failures)
}

#[test]
fn reference_examples_check() {
    let (all, failures) = check_doc("docs/reference.md");
    let n_checked = all.iter().filter(|b| b.lang == "facs" && b.file.is_none()).count();
    assert!(n_checked > 20, "expected docs/reference.md to hold examples ({n_checked} found)");
    assert!(failures.is_empty(), "{} example(s) disagree with facs:\n\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn error_examples_check() {
    let (_, failures) = check_doc("docs/errors.md");
    assert!(failures.is_empty(), "{} example(s) disagree with facs:\n\n{}", failures.len(), failures.join("\n"));
}

/// The internal-error code: no input may trigger it, so its section has no example.
const INTERNAL: &str = "E000";

#[test]
fn every_code_is_documented() {
    let text = std::fs::read_to_string(root().join("docs/errors.md")).expect("docs/errors.md");
    let known: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    // Split into `## ` sections; the part before the first one is the introduction.
    for section in text.split("\n## ").skip(1) {
        let heading = section.lines().next().unwrap_or("");
        let Some((code, meaning)) = heading.split_once(": ") else {
            problems.push(format!("heading `## {heading}` is not `## CODE: meaning`"));
            continue;
        };
        if !known.contains(code) {
            problems.push(format!("`## {heading}`: facs has no code {code}"));
        }
        if !seen.insert(code.to_string()) {
            problems.push(format!("{code} has two sections"));
        }
        if meaning.trim().is_empty() {
            problems.push(format!("{code}: the heading says nothing after the code"));
        }
        let section_blocks = blocks(section);
        if code == INTERNAL {
            continue;
        }
        let facs_blocks = || section_blocks.iter().filter(|b| b.lang == "facs" && b.file.is_none());
        let own = |b: &&Block| matches!(&b.expect, Expect::Fails(c) | Expect::Warns(c) if c == code);
        if !facs_blocks().any(|b| own(&b)) {
            problems.push(format!("{code}: no example tagged `fails={code}` or `warns={code}`"));
        }
        if let Some(b) = facs_blocks().find(|b| b.expect != Expect::Clean && !own(b)) {
            problems.push(format!("{code}: an example expects {:?}, not its own code", b.expect));
        }
        if !facs_blocks().any(|b| b.expect == Expect::Clean) {
            problems.push(format!("{code}: no clean example showing the fix"));
        }
    }
    for code in Code::ALL {
        if !seen.contains(code.as_str()) {
            problems.push(format!("{code} has no `## {code}: ...` section in docs/errors.md"));
        }
    }
    assert!(problems.is_empty(), "docs/errors.md:\n{}", problems.join("\n"));
}
