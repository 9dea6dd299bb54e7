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
