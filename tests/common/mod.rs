//! Helpers shared by the integration tests. (A `mod.rs` under `tests/` is
//! cargo's way to share code without making it a test target of its own.)

use std::path::Path;

/// Copies a directory tree (files and directories; the tests' fixtures hold
/// no symlinks).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
