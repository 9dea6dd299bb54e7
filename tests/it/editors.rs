//! Runs the editor tests (editors/tests/run.sh) from `cargo test`: the
//! TextMate grammar through VS Code's own tokenizer (vscode-textmate with
//! vscode-oniguruma under node) and the Vim syntax file in a headless Vim.
//! Without node, vim or the pinned packages (`npm ci` in editors/tests, which
//! .ci/run does) the test prints `skipped: <why>`; under
//! `FACS_TEST_REQUIRE_ALL=1` it fails instead.

use crate::common;

#[test]
fn textmate_and_vim_grammars() {
    let root = env!("CARGO_MANIFEST_DIR");
    if !common::have_tools("textmate_and_vim_grammars", &["bash", "node", "vim"]) {
        return;
    }
    let modules = std::path::Path::new(root).join("editors/tests/node_modules");
    if !modules.is_dir()
        && !common::may_skip(
            "textmate_and_vim_grammars",
            "editors/tests/node_modules is missing (run `npm ci` in editors/tests)",
        )
    {
        return;
    }
    let output = std::process::Command::new("bash")
        .arg(format!("{root}/editors/tests/run.sh"))
        .output()
        .expect("run editors/tests/run.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "editor tests failed:\n{stdout}\n{stderr}");
    println!("{}", stdout.lines().last().unwrap_or_default());
}

/// Both grammars highlight exactly the built-in functions the compiler has.
#[test]
fn grammars_list_every_builtin_function() {
    let names: Vec<&str> = facs::syntax::functions::FUNCTIONS.iter().map(|f| f.name).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("editors");
    let textmate = std::fs::read_to_string(root.join("vscode/syntaxes/facs.tmLanguage.json")).expect("tmLanguage");
    let vim = std::fs::read_to_string(root.join("vim/syntax/facs.vim")).expect("vim syntax");
    let alternation = |text: &str, start: &str, sep: &str, end: &str| -> Vec<String> {
        let from = text.find(start).map(|i| i + start.len()).expect("the builtin alternation");
        let rest = text.get(from..).unwrap_or("");
        let to = rest.find(end).expect("its end");
        rest.get(..to).unwrap_or("").split(sep).map(str::to_string).collect()
    };
    let tm = alternation(&textmate, "support.function.builtin.facs\", \"match\": \"(?<![A-Za-z0-9_.-])(?:", "|", ")");
    let vi = alternation(&vim, "syn match facsFunction \"[A-Za-z0-9_.-]\\@1<!\\%(", "\\|", "\\)");
    assert_eq!(tm, names, "TextMate builtin functions");
    assert_eq!(vi, names, "Vim builtin functions");
}

/// The VS Code extension packages into a `.vsix` with `@vscode/vsce` (the
/// pinned one in editors/vscode, `npm ci` there, which .ci/run does), and the
/// package holds the extension, its grammar, its licence and the language
/// client it starts `facs lsp` with — and nothing built or tested.
#[test]
fn vscode_extension_packages_into_a_vsix() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/vscode");
    if !common::have_tools("vscode_extension_packages_into_a_vsix", &["node"]) {
        return;
    }
    let vsce = root.join("node_modules/@vscode/vsce/vsce");
    if !vsce.is_file()
        && !common::may_skip(
            "vscode_extension_packages_into_a_vsix",
            "editors/vscode/node_modules is missing (run `npm ci` in editors/vscode)",
        )
    {
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let vsix = out.path().join("facs.vsix");
    let run = |args: &[&std::ffi::OsStr]| {
        let output =
            std::process::Command::new("node").arg(&vsce).args(args).current_dir(&root).output().expect("run vsce");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "vsce {args:?} failed:\n{text}");
        text
    };
    run(&["package".as_ref(), "--allow-missing-repository".as_ref(), "-o".as_ref(), vsix.as_os_str()]);
    let bytes = std::fs::read(&vsix).expect("the .vsix");
    assert!(bytes.starts_with(b"PK"), "a .vsix is a zip file");
    let listed = run(&["ls".as_ref()]);
    let files: Vec<&str> = listed.lines().collect();
    for wanted in [
        "package.json",
        "extension.js",
        "language-configuration.json",
        "syntaxes/facs.tmLanguage.json",
        "LICENSE",
        "README.md",
        "node_modules/vscode-languageclient/package.json",
    ] {
        assert!(files.contains(&wanted), "{wanted} is not packaged:\n{listed}");
    }
    for line in &files {
        assert!(!line.ends_with(".vsix") && !line.starts_with("node_modules/@vscode/vsce/"), "{line} is packaged");
    }
}
