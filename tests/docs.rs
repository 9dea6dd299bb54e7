//! Keeps ARCHITECTURE.md true: every backticked path in it must exist.

#[test]
fn architecture_paths_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
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
        if is_path {
            checked += 1;
            if !root.join(chunk.trim_end_matches('/')).exists() {
                missing.push(chunk.to_string());
            }
        }
    }
    assert!(checked > 20, "expected ARCHITECTURE.md to name its files ({checked} found)");
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}
