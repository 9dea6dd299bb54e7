//! Stage 0, checkout: the project's source at the version the definitions
//! name, cloned from `project.repo` into `.facsimile/src/<project>-<version>`
//! (then `facs.src_dir` points there, spec §10).
//!
//! Input: `project.repo` (a git URL, or a path to a git repository relative
//! to the definition directory), `project.version` (the tag) or `--devel`
//! (the default branch, pulled). Output: the checkout directory.
//!
//! Invariants: a clone is made in a temporary directory beside its final
//! place and renamed there only when complete, so a failed or killed clone
//! leaves no half-made checkout (leftovers are swept under the lock on the
//! next run); a checkout with local changes to tracked files is never
//! touched; git never prompts (a prompt nobody answers would hang the run).

use crate::deploy::command::{Cmd, Word};
use crate::deploy::exec::run_one;
use fs4::fs_std::FileExt;
use std::fs;
use std::path::{Path, PathBuf};

/// A git repository to check out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// What git is given: the URL, or the repository's absolute path.
    pub url: String,
    /// The same for messages: a password in the URL replaced by `********`.
    pub shown: String,
}

/// The git source named by `repo`, if it is one: a URL (`scheme://...` or
/// scp-like `user@host:path`) or a directory holding a git repository.
pub fn git_source(repo: &str, project_dir: &Path) -> Option<Source> {
    let scp_like = repo.split_once(':').is_some_and(|(host, _)| host.contains('@') && !host.contains('/'));
    if repo.contains("://") || scp_like {
        return Some(Source { url: repo.to_string(), shown: hide_password(repo) });
    }
    let dir = project_dir.join(repo);
    let is_repo = dir.join(".git").exists() || (dir.join("HEAD").is_file() && dir.join("objects").is_dir());
    if !is_repo {
        return None;
    }
    let dir = fs::canonicalize(&dir).unwrap_or(dir);
    let url = dir.to_string_lossy().into_owned();
    Some(Source { shown: url.clone(), url })
}

/// `https://user:secret@host/x` → `https://user:********@host/x`.
fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:********@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The password part of a URL, to redact from git's own messages.
fn password(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, p)| p.to_string()).filter(|p| !p.is_empty())
}

/// Why `version` is not a tag name git accepts (`git check-ref-format`), or
/// `None`. Checked before git runs and before the name becomes part of a
/// directory path: `../../x` would otherwise clone outside `.facsimile/src`,
/// and a leading `-` would reach git as an option.
pub fn tag_name_problem(version: &str) -> Option<&'static str> {
    let bad_char = |c: char| c.is_control() || " ~^:?*[\\".contains(c);
    if version.starts_with('-') {
        Some("it starts with `-`")
    } else if version.contains("..") {
        Some("it contains `..`")
    } else if version.contains("@{") || version == "@" {
        Some("it contains `@{` or is `@`")
    } else if version.chars().any(bad_char) {
        Some("it contains a space, a control character or one of ~ ^ : ? * [ \\")
    } else if version.ends_with('/') || version.ends_with('.') || version.starts_with('/') || version.contains("//") {
        Some("it starts or ends with `/`, ends with `.` or has an empty component")
    } else if version.split('/').any(|c| c.starts_with('.') || c.ends_with(".lock")) {
        Some("a component starts with `.` or ends with `.lock`")
    } else {
        None
    }
}

/// `<definition dir>/.facsimile/src/<project>-<version>` (`<project>` alone
/// while the version is empty).
pub fn checkout_dir(project_dir: &Path, project: &str, version: &str) -> PathBuf {
    let name = if version.is_empty() { project.to_string() } else { format!("{project}-{version}") };
    project_dir.join(".facsimile/src").join(name)
}

/// Checks out `source` into `dir`: the tag `version`, or with `devel` the
/// default branch, pulled. Returns what was done, for people.
pub fn checkout(source: &Source, dir: &Path, version: &str, devel: bool) -> Result<String, String> {
    if !devel && version.is_empty() {
        return Err("`project.version` is empty, so there is no tag to check out; set it, or use --devel \
                    for the default branch"
            .into());
    }
    let parent = dir.parent().ok_or("the checkout directory has no parent")?;
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(parent.join(".lock"))
        .and_then(|f| FileExt::lock_exclusive(&f).map(|()| f))
        .map_err(|e| format!("cannot lock {}: {e}", parent.display()))?;
    sweep(parent);
    let git = Git { secret: password(&source.url) };
    let result =
        if dir.exists() { git.update(source, dir, version, devel) } else { git.clone(source, dir, version, devel) };
    drop(lock);
    result
}

/// Removes temporary clones a killed run left behind (the lock is held, so
/// none of them is in use).
fn sweep(parent: &Path) {
    for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(".clone-") {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

struct Git {
    secret: Option<String>,
}

impl Git {
    /// Runs git in `dir` (or with no `-C`); returns its stdout.
    fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<String, String> {
        let mut argv = vec![Word::plain("git"), Word::plain("-c"), Word::plain("advice.detachedHead=false")];
        if let Some(dir) = dir {
            argv.push(Word::plain("-C"));
            argv.push(Word::plain(dir.to_string_lossy()));
        }
        argv.extend(args.iter().map(|a| Word::plain(*a)));
        let cmd = Cmd::new("git", argv);
        let secrets: Vec<String> = self.secret.iter().cloned().collect();
        match run_one(&cmd) {
            Ok((out, _)) => Ok(out),
            Err((_, status, err)) => {
                let shown = crate::deploy::command::redact(&cmd.display(false), &secrets);
                let err = crate::deploy::command::redact(err.trim(), &secrets);
                Err(format!("`{shown}` failed ({status}): {err}"))
            }
        }
    }

    fn clone(&self, source: &Source, dir: &Path, version: &str, devel: bool) -> Result<String, String> {
        let parent = dir.parent().ok_or("the checkout directory has no parent")?;
        let tmp = tempfile::Builder::new()
            .prefix(".clone-")
            .tempdir_in(parent)
            .map_err(|e| format!("cannot create a temporary directory in {}: {e}", parent.display()))?;
        let path = tmp.path().to_string_lossy().into_owned();
        let mut args = vec!["clone", "--quiet"];
        if !devel {
            args.push("--no-checkout");
        }
        args.extend(["--", source.url.as_str(), path.as_str()]);
        self.run(None, &args)?;
        if !devel {
            let commit = self.tag_commit(tmp.path(), source, version)?;
            self.run(Some(tmp.path()), &["checkout", "--quiet", "--detach", &commit])?;
        }
        // Complete: move it into place (the temporary directory is removed on
        // any error above, when `tmp` is dropped).
        let done = tmp.keep();
        fs::rename(&done, dir).map_err(|e| {
            let _ = fs::remove_dir_all(&done);
            format!("cannot move the clone to {}: {e}", dir.display())
        })?;
        Ok(match devel {
            true => format!("cloned {} (default branch) into {}", source.shown, dir.display()),
            false => format!("cloned {} at tag {version} into {}", source.shown, dir.display()),
        })
    }

    fn update(&self, source: &Source, dir: &Path, version: &str, devel: bool) -> Result<String, String> {
        if !dir.join(".git").exists() {
            return Err(format!("{} exists but is not a git checkout; move it away and run again", dir.display()));
        }
        let changes = self.run(Some(dir), &["status", "--porcelain", "--untracked-files=no"])?;
        if !changes.trim().is_empty() {
            return Err(format!(
                "{} has local changes to tracked files; commit, stash or discard them first \
                 (facs never discards work):\n{}",
                dir.display(),
                changes.trim_end()
            ));
        }
        if devel {
            let branch = self.default_branch(dir)?;
            self.run(Some(dir), &["checkout", "--quiet", &branch])?;
            self.run(Some(dir), &["pull", "--quiet", "--ff-only", "origin", &branch])?;
            return Ok(format!("updated {} to the latest {branch}", dir.display()));
        }
        let head = self.run(Some(dir), &["rev-parse", "HEAD"])?.trim().to_string();
        let commit = match self.local_tag(dir, version) {
            Some(c) => c,
            None => {
                self.run(Some(dir), &["fetch", "--quiet", "--tags", "origin"])?;
                self.tag_commit(dir, source, version)?
            }
        };
        if commit == head {
            return Ok(format!("{} is at tag {version}", dir.display()));
        }
        self.run(Some(dir), &["checkout", "--quiet", "--detach", &commit])?;
        Ok(format!("checked out tag {version} in {}", dir.display()))
    }

    fn local_tag(&self, dir: &Path, version: &str) -> Option<String> {
        let spec = format!("refs/tags/{version}^{{commit}}");
        self.run(Some(dir), &["rev-parse", "--verify", "--quiet", &spec]).ok().map(|s| s.trim().to_string())
    }

    /// The commit of tag `version`, or an error listing the tags there are.
    fn tag_commit(&self, dir: &Path, source: &Source, version: &str) -> Result<String, String> {
        if let Some(commit) = self.local_tag(dir, version) {
            return Ok(commit);
        }
        let tags = self.run(Some(dir), &["tag", "--list"]).unwrap_or_default();
        let tags: Vec<&str> = tags.lines().collect();
        let hint = match crate::diagnostic::closest(version, tags.iter().copied()) {
            Some(t) => format!("; did you mean `{t}`?"),
            None if tags.is_empty() => "; it has no tags (use --devel for the default branch)".to_string(),
            None => format!("; its tags: {}", tags.join(", ")),
        };
        Err(format!("{} has no tag `{version}` (`project.version`){hint}", source.shown))
    }

    fn default_branch(&self, dir: &Path) -> Result<String, String> {
        let head = |g: &Git| g.run(Some(dir), &["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]);
        let name = match head(self) {
            Ok(name) => name,
            Err(_) => {
                self.run(Some(dir), &["remote", "set-head", "origin", "--auto"])?;
                head(self)?
            }
        };
        let name = name.trim();
        Ok(name.strip_prefix("origin/").unwrap_or(name).to_string())
    }
}

/// The directory `facs.src_dir` names when a checkout of `repo` exists for
/// this version.
pub fn existing_checkout(project_dir: &Path, project: &str, repo: &str, version: &str) -> Option<PathBuf> {
    git_source(repo, project_dir)?;
    if tag_name_problem(version).is_some() {
        return None;
    }
    let dir = checkout_dir(project_dir, project, version);
    dir.join(".git").exists().then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_passwords_hidden() {
        let here = Path::new("/nonexistent");
        assert!(git_source("https://example.com/x.git", here).is_some());
        assert!(git_source("git@example.com:team/x.git", here).is_some());
        assert!(git_source("../proj0", here).is_none());
        assert_eq!(hide_password("https://bob:s3cret@example.com/x"), "https://bob:********@example.com/x");
        assert_eq!(password("https://bob:s3cret@example.com/x").as_deref(), Some("s3cret"));
        assert_eq!(hide_password("https://example.com/a@b"), "https://example.com/a@b");
    }

    #[test]
    fn only_tag_names_git_accepts_are_checked_out() {
        for good in ["1.4.0", "v1.4.0", "release/1.0", "1.0-rc1", "x_y"] {
            assert_eq!(tag_name_problem(good), None, "{good}");
        }
        for bad in [
            "../../x", "-x", "a..b", "a b", "a:b", "a~1", "a^", "a?", "a*", "a[", "a\\b", "/a", "a/", "a//b", "a.",
            ".a", "a/.b", "a.lock", "@", "a@{1}", "a\u{7}",
        ] {
            assert!(tag_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn checkout_dir_names_project_and_version() {
        let d = checkout_dir(Path::new("/defs"), "proj0", "0.6.0");
        assert_eq!(d, Path::new("/defs/.facsimile/src/proj0-0.6.0"));
    }
}
