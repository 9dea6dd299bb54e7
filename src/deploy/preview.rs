//! `facs deploy --dry-run`'s list of what rsync would change on each node.
//!
//! A dry run writes no tree into the output directory, so the tree it
//! rendered in memory is written to a private temporary directory (0700,
//! removed when the run ends: it may hold secrets), with the modes a build
//! gives its files, and each node's rsync commands run against it with
//! `--dry-run --itemize-changes --checksum` (see [`super::preview`]). The
//! first rsync lists every addition and change; the second (`--delete` of
//! the project's own directory) adds only its deletions.

use crate::render::FileTree;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Writes the files of `tree` below `prefix/` (the tree's `<project>/_DEPLOY_`)
/// into `into/_DEPLOY_` and returns that directory.
pub fn materialise(tree: &FileTree, prefix: &str, into: &Path) -> io::Result<PathBuf> {
    let root = into.join(crate::layout::DEPLOY);
    DirBuilder::new().mode(0o755).create(&root)?;
    let prefix = format!("{}/", prefix.trim_end_matches('/'));
    for (rel, file) in tree {
        let Some(rel) = rel.strip_prefix(&prefix) else { continue };
        let path = root.join(crate::source::path_of_name(rel));
        if let Some(parent) = path.parent() {
            DirBuilder::new().recursive(true).mode(0o755).create(parent)?;
        }
        let mut f = OpenOptions::new().write(true).create_new(true).mode(file.mode()).open(&path)?;
        f.write_all(&file.bytes)?;
    }
    Ok(root)
}

/// What rsync said it would change on one node.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// rsync's lines (`>f+++++++++ etc/app.conf`, `*deleting   app/old.conf`),
    /// without those that change a modification time only.
    pub lines: Vec<String>,
    /// Files and directories whose content is unchanged and that would only
    /// get a new modification time (every build writes the tree anew).
    pub times_only: usize,
}

/// The changes of one node from the output of its first rsync and, when the
/// tree has the project's directory, of its second (`--delete` of that
/// directory, whose paths are relative to it).
pub fn changes(first: &str, second: Option<&str>, project: &str) -> Changes {
    let mut out = Changes::default();
    for line in first.lines().filter(|l| !l.is_empty()) {
        if times_only(line) {
            out.times_only += 1;
        } else if !line.starts_with("*deleting") {
            out.lines.push(line.to_string());
        }
    }
    for line in second.unwrap_or("").lines() {
        if let Some(path) = line.strip_prefix("*deleting").map(str::trim_start) {
            out.lines.push(format!("{:<11} {project}/{path}", "*deleting"));
        }
    }
    out
}

/// An itemized line (`YXcstpoguax name`) that transfers nothing and changes
/// only a modification time: `.f..t...... name`, `.d..t...... dir/`.
fn times_only(line: &str) -> bool {
    let Some(flags) = line.get(..11).filter(|_| line.as_bytes().get(11) == Some(&b' ')) else { return false };
    let mut chars = flags.chars();
    chars.next() == Some('.')
        && chars.next().is_some()
        && flags[2..].chars().all(|c| matches!(c, '.' | 't' | 'T'))
        && flags[2..].contains(['t', 'T'])
}

/// Removes a directory tree, for the temporary one (best effort).
pub fn remove(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::TreeFile;

    #[test]
    fn only_the_deploy_tree_is_written_with_the_build_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut tree = FileTree::new();
        tree.insert("p/_DEPLOY_/etc/a.conf".into(), TreeFile::rendered(b"a\n".to_vec(), false, false));
        tree.insert("p/_DEPLOY_/key".into(), TreeFile::rendered(b"k\n".to_vec(), true, false));
        tree.insert("p/_BUILD_/b".into(), TreeFile::rendered(b"b\n".to_vec(), false, false));
        let root = materialise(&tree, "p/_DEPLOY_", dir.path()).expect("write");
        assert_eq!(fs::read_to_string(root.join("etc/a.conf")).expect("a"), "a\n");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&root.join("key")), 0o600);
        assert!(!dir.path().join("p").exists() && !root.join("b").exists());
    }

    #[test]
    fn time_only_lines_are_counted_and_deletions_come_from_the_second_rsync() {
        let first = "created directory deploy/shop\ncd+++++++++ ./\n>f+++++++++ etc/new.conf\n\
                     .f..t...... etc/same.conf\n>fcst...... shop/conf/main.conf\n.d..t...... shop/\n\
                     .f...p..... etc/mode\n";
        let second = ">fcst...... conf/main.conf\n*deleting   conf/extra.conf\n";
        let got = changes(first, Some(second), "shop");
        assert_eq!(
            got.lines,
            [
                "created directory deploy/shop",
                "cd+++++++++ ./",
                ">f+++++++++ etc/new.conf",
                ">fcst...... shop/conf/main.conf",
                ".f...p..... etc/mode",
                "*deleting   shop/conf/extra.conf",
            ]
        );
        assert_eq!(got.times_only, 2);
    }
}
