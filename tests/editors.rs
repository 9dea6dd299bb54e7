//! Runs the editor tests (editors/tests/run.sh) from `cargo test`: the
//! TextMate grammar through VS Code's own tokenizer (vscode-textmate with
//! vscode-oniguruma under node) and the Vim syntax file in a headless Vim.
//! Both tools are required: .ci/run installs them on a fresh machine.

#[test]
fn textmate_and_vim_grammars() {
    let root = env!("CARGO_MANIFEST_DIR");
    for tool in ["node", "npm", "vim"] {
        let found = std::process::Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output();
        assert!(found.is_ok_and(|o| o.status.success()), "`{tool}` is needed for the editor tests (see .ci/run)");
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
