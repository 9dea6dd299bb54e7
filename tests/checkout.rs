//! `facs build --checkout` against a real git repository made by the test:
//! the tag `project.version` is checked out into
//! `.facsimile/src/<project>-<version>`, which then is `facs.src_dir`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git (install git)");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn commit(repo: &Path, robots: &str, message: &str) {
    std::fs::create_dir_all(repo.join("files")).expect("mkdir");
    std::fs::write(repo.join("files/robots.txt"), robots).expect("write");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

fn facs(project: &Path, args: &[&str]) -> Output {
    common::facs_env(project, args, &[])
}

use common::text;

/// A source repository with tag 1.0 (robots v1) and a later commit (v2),
/// and a definition directory whose `repo` names it.
fn setup(work: &Path, version: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = work.join("src-repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "v1\n", "first");
    git(&repo, &["tag", "1.0"]);
    commit(&repo, "v2\n", "second");
    let defs = work.join("defs");
    write_defs(&defs, version);
    (repo, defs)
}

fn write_defs(defs: &Path, version: &str) {
    std::fs::create_dir_all(defs).expect("mkdir");
    let text = format!(
        "project shop {{ version: \"{version}\"  repo: \"../src-repo\" }}\n\n\
         instance dev {{\n  install: [{{ type: \"copy\", files: [\"files/robots.txt\"] }}]\n}}\n"
    );
    std::fs::write(defs.join("main.facs"), text).expect("write");
}

fn robots(defs: &Path) -> String {
    std::fs::read_to_string(defs.join(".facsimile/out/dev/shop/_DEPLOY_/files/robots.txt")).expect("robots")
}

fn leftovers(defs: &Path) -> Vec<String> {
    let dir = defs.join(".facsimile/src");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.retain(|n| n != ".lock");
    names.sort();
    names
}

#[test]
fn checkout_of_the_version_tag_becomes_the_source_directory() {
    if !common::have_tools("checkout_of_the_version_tag_becomes_the_source_directory", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (repo, defs) = setup(work.path(), "1.0");
    // Without a checkout, the repository's working tree is the source.
    let out = facs(&defs, &["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(robots(&defs), "v2\n");

    let out = facs(&defs, &["build", "--checkout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("at tag 1.0"), "{}", text(&out));
    let checkout = defs.join(".facsimile/src/shop-1.0");
    assert_eq!(std::fs::read_to_string(checkout.join("files/robots.txt")).expect("checked out"), "v1\n");
    assert_eq!(robots(&defs), "v1\n", "facs.src_dir is the checkout");

    // A later plain build keeps using the checkout, and says so (the working
    // copy has v2); `-v` names the source directory of every build.
    let out = facs(&defs, &["build"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(robots(&defs), "v1\n");
    let note = format!("copy groups read files from the checkout {}, not from the working copy", checkout.display());
    assert!(text(&out).contains(&note), "{}", text(&out));
    let out = facs(&defs, &["-v", "build"]);
    assert!(text(&out).contains(&format!("source directory (facs.src_dir): {}", checkout.display())), "{}", text(&out));
    let out = facs(&defs, &["build", "--checkout"]);
    assert!(text(&out).contains("is at tag 1.0"), "{}", text(&out));

    // --devel: the default branch, pulled.
    let out = facs(&defs, &["build", "--checkout", "--devel"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(robots(&defs), "v2\n");
    commit(&repo, "v3\n", "third");
    assert_eq!(facs(&defs, &["build", "--checkout", "--devel"]).status.code(), Some(0));
    assert_eq!(robots(&defs), "v3\n");

    // Back to the tag.
    assert_eq!(facs(&defs, &["build", "--checkout"]).status.code(), Some(0));
    assert_eq!(robots(&defs), "v1\n");
    assert_eq!(leftovers(&defs), ["shop-1.0"]);
}

#[test]
fn a_missing_tag_or_failed_clone_leaves_no_half_made_checkout() {
    if !common::have_tools("a_missing_tag_or_failed_clone_leaves_no_half_made_checkout", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (_, defs) = setup(work.path(), "1.1");
    // A clone a killed run left behind is swept.
    std::fs::create_dir_all(defs.join(".facsimile/src/.clone-Xk3j9/files")).expect("mkdir");
    let out = facs(&defs, &["build", "--checkout"]);
    assert_eq!(out.status.code(), Some(1));
    let all = text(&out);
    assert!(all.contains("has no tag `1.1` (`project.version`); did you mean `1.0`?"), "{all}");
    assert!(leftovers(&defs).is_empty(), "{:?}", leftovers(&defs));
    assert!(!defs.join(".facsimile/out").exists(), "a failed checkout builds nothing");

    let main = defs.join("main.facs");
    let source = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, source.replace("../src-repo", "file:///nonexistent/repo.git")).expect("write");
    let out = facs(&defs, &["build", "--checkout"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("checkout failed: `git"), "{}", text(&out));
    assert!(leftovers(&defs).is_empty(), "{:?}", leftovers(&defs));
}

#[test]
fn local_changes_in_a_checkout_are_never_overwritten() {
    if !common::have_tools("local_changes_in_a_checkout_are_never_overwritten", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (_, defs) = setup(work.path(), "1.0");
    assert_eq!(facs(&defs, &["build", "--checkout"]).status.code(), Some(0));
    let file = defs.join(".facsimile/src/shop-1.0/files/robots.txt");
    std::fs::write(&file, "my work\n").expect("write");
    let out = facs(&defs, &["build", "--checkout", "--devel"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("has local changes to tracked files"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "my work\n");
}

#[test]
fn without_a_git_repository_there_is_nothing_to_check_out() {
    if !common::have_tools("without_a_git_repository_there_is_nothing_to_check_out", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let defs = work.path().join("defs");
    std::fs::create_dir_all(work.path().join("plain")).expect("mkdir");
    std::fs::create_dir_all(&defs).expect("mkdir");
    std::fs::write(defs.join("main.facs"), "project shop { version: \"1.0\"  repo: \"../plain\" }\ninstance dev { }\n")
        .expect("write");
    let out = facs(&defs, &["build", "--checkout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("neither a git URL nor a git repository: nothing to check out"), "{}", text(&out));
    // --devel needs --checkout.
    assert_eq!(facs(&defs, &["build", "--devel"]).status.code(), Some(2));
}

/// A version that is not a tag name is E023 at the version, before git runs
/// and before it becomes a directory name (`../../x` pointed outside
/// `.facsimile/src`; `-x` would reach git as an option).
#[test]
fn a_version_that_is_not_a_tag_name_is_refused() {
    if !common::have_tools("a_version_that_is_not_a_tag_name_is_refused", &["git"]) {
        return;
    }
    for version in ["../../x", "--upload-pack=touch pwned", "a b"] {
        let work = tempfile::tempdir().expect("tempdir");
        let (_, defs) = setup(work.path(), version);
        for args in [&["build", "--checkout"][..], &["build", "--checkout", "--devel"][..]] {
            let out = facs(&defs, args);
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{version}: {all}");
            assert!(all.contains("error[E023]: `project.version` is not a valid git tag name"), "{all}");
            assert!(all.contains("main.facs:1:"), "points at the version: {all}");
        }
        assert!(leftovers(&defs).is_empty(), "{version}: {:?}", leftovers(&defs));
        assert!(!work.path().join("x").exists() && !defs.join("pwned").exists());
    }
}
