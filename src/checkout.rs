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
//! touched; git never prompts (a prompt nobody answers would hang the run);
//! git runs without the repository's own hooks and fsmonitor; credentials in
//! `repo` reach git through its credential interface, never an argv (which
//! every user of the machine can read) nor the checkout's `.git/config`.

use crate::process::{redact, run_one, Cmd, Word};
use std::fs;
use std::path::{Path, PathBuf};

/// A git repository to check out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// What git is given: the URL without its credentials, or the
    /// repository's absolute path.
    pub url: String,
    /// The URL as `repo` spells it for messages, a password replaced by `********`.
    pub shown: String,
    /// The user name and password of an http(s) URL.
    pub credentials: Option<Credentials>,
}

/// Credentials taken out of a URL (percent-escapes decoded, as git does).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name; may be empty when only a password was given.
    pub username: String,
    /// The password, when the URL has one (`user:password@`).
    pub password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let password = self.password.as_ref().map(|_| crate::eval::value::REDACTED);
        f.debug_struct("Credentials").field("username", &self.username).field("password", &password).finish()
    }
}

/// Transports that authenticate with a user name and password, which git
/// asks its credential helpers for.
const CREDENTIAL_SCHEMES: [&str; 4] = ["http", "https", "ftp", "ftps"];

/// The options of every git command. The repository's own hooks and
/// fsmonitor never run: an existing checkout's `.git/hooks` and
/// `.git/config` are files anyone who can write the definition directory can
/// plant, and `git status` or `git checkout` would run them. The `ext::`
/// transport, which runs a command named in the URL, is refused even where a
/// user's configuration allows it.
const SAFE_OPTIONS: [&str; 4] =
    ["core.hooksPath=/dev/null", "core.fsmonitor=false", "protocol.ext.allow=never", "advice.detachedHead=false"];

/// The credential helper facs gives git: it prints the URL's credentials
/// from the variables below, which only git and its children see. It
/// answers `get` only, so nothing is stored.
const CREDENTIAL_HELPER: &str = "!f() { if test \"$1\" = get; then printf 'username=%s\\npassword=%s\\n' \
                                 \"$FACS_GIT_USERNAME\" \"$FACS_GIT_PASSWORD\"; fi; }; f";

/// The git source named by `repo`, if it is one: a URL (`scheme://...` or
/// scp-like `user@host:path`) or a directory holding a git repository.
pub fn git_source(repo: &str, project_dir: &Path) -> Option<Source> {
    let scp_like = repo.split_once(':').is_some_and(|(host, _)| host.contains('@') && !host.contains('/'));
    if repo.contains("://") || scp_like {
        let (url, credentials) = split_credentials(repo);
        return Some(Source { url, shown: hide_password(repo), credentials });
    }
    let dir = project_dir.join(repo);
    let is_repo = dir.join(".git").exists() || (dir.join("HEAD").is_file() && dir.join("objects").is_dir());
    if !is_repo {
        return None;
    }
    let dir = fs::canonicalize(&dir).unwrap_or(dir);
    let url = dir.to_string_lossy().into_owned();
    Some(Source { shown: url.clone(), url, credentials: None })
}

/// `scheme://userinfo@host/path` as `(scheme, userinfo, host, path)`.
fn url_parts(url: &str) -> Option<(&str, &str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (userinfo, host) = authority.rsplit_once('@')?;
    Some((scheme, userinfo, host, path))
}

/// The URL git is given and the credentials it gets separately: an http(s)
/// URL loses its whole user part (a token is often the user name); other
/// transports keep the user (ssh logs in as it) and lose a password, which
/// they could not use anyway.
fn split_credentials(url: &str) -> (String, Option<Credentials>) {
    let Some((scheme, userinfo, host, path)) = url_parts(url) else { return (url.to_string(), None) };
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    if CREDENTIAL_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
        let credentials = Credentials { username: percent_decode(user), password: password.map(percent_decode) };
        let credentials = Some(credentials).filter(|c| !c.username.is_empty() || c.password.is_some());
        (format!("{scheme}://{host}{path}"), credentials)
    } else if password.is_some() {
        (format!("{scheme}://{user}@{host}{path}"), None)
    } else {
        (url.to_string(), None)
    }
}

/// `%40` → `@`; a `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match hex.filter(|_| b == b'%').and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The environment that hands `credentials` to git, as configuration in
/// variables (`GIT_CONFIG_COUNT`, git 2.31) rather than `-c`, which would be
/// argv. With a password, the helpers configured elsewhere are reset first:
/// the URL's credentials win, and no helper of the user's stores them. A user
/// name alone becomes `credential.username`, so the user's helpers still find
/// the password. `inherited` is the caller's own `GIT_CONFIG_COUNT`, kept.
fn credential_env(credentials: &Credentials, inherited: usize) -> Vec<(String, String)> {
    let mut config = Vec::new();
    let mut env = Vec::new();
    match &credentials.password {
        Some(password) => {
            config.push(("credential.helper", String::new()));
            config.push(("credential.helper", CREDENTIAL_HELPER.to_string()));
            env.push(("FACS_GIT_USERNAME".to_string(), credentials.username.clone()));
            env.push(("FACS_GIT_PASSWORD".to_string(), password.clone()));
        }
        None => config.push(("credential.username", credentials.username.clone())),
    }
    for (i, (key, value)) in config.iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{}", inherited + i), (*key).to_string()));
        env.push((format!("GIT_CONFIG_VALUE_{}", inherited + i), value.clone()));
    }
    env.push(("GIT_CONFIG_COUNT".to_string(), (inherited + config.len()).to_string()));
    env
}

/// The argv of one git command: the safe options, `-C dir`, then `args`.
fn git_argv(dir: Option<&Path>, args: &[&str]) -> Vec<Word> {
    let mut argv = vec![Word::plain("git")];
    for option in SAFE_OPTIONS {
        argv.extend([Word::plain("-c"), Word::plain(option)]);
    }
    if let Some(dir) = dir {
        argv.push(Word::plain("-C"));
        argv.push(Word::plain(dir.to_string_lossy()));
    }
    argv.extend(args.iter().map(|a| Word::plain(*a)));
    argv
}

/// Whether git would commit `path` (spec §12: state must not be committed):
/// `Some(false)` when it lies in a git work tree and no ignore rule covers
/// it, `Some(true)` when one does, `None` outside a work tree or without git.
/// `path` need not exist. Read-only: `git check-ignore` runs with the same
/// safe options as every git command (no hooks, no fsmonitor).
pub fn git_ignores(path: &Path) -> Option<bool> {
    let mut dir = path.parent()?;
    // `-C` must name an existing directory: the nearest existing ancestor.
    while !dir.is_dir() {
        dir = dir.parent()?;
    }
    let cmd = crate::process::Cmd::new(
        "git check-ignore",
        git_argv(Some(dir), &["check-ignore", "-q", "--"]).into_iter().chain([Word::plain(path.to_string_lossy())]),
    );
    match crate::process::run_one(&cmd) {
        Ok(_) => Some(true),
        // 1: not ignored; 128: not a work tree (or another fatal error).
        Err((_, status, _)) if status == "exit status 1" => Some(false),
        Err(_) => None,
    }
}

/// `https://user:secret@host/x` → `https://user:********@host/x`.
pub fn hide_password(url: &str) -> String {
    match url_parts(url) {
        Some((scheme, userinfo, host, path)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:********@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
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
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|e| format!("cannot lock {}: {e}", parent.display()))?;
    sweep(parent);
    let mut env = Vec::new();
    if let Some(credentials) = &source.credentials {
        let all = [Some(&credentials.username), credentials.password.as_ref()];
        if all.iter().flatten().any(|c| c.contains(['\n', '\0'])) {
            return Err("the user name or password in `project.repo` contains a line break, which git's \
                        credential interface cannot carry"
                .into());
        }
        let inherited = std::env::var("GIT_CONFIG_COUNT").ok().and_then(|n| n.parse().ok()).unwrap_or(0);
        env = credential_env(credentials, inherited);
    }
    let secrets = source.credentials.iter().filter_map(|c| c.password.clone()).filter(|p| !p.is_empty()).collect();
    let git = Git { secrets, env };
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
    /// Passwords to redact from git's messages.
    secrets: Vec<String>,
    /// The credentials' environment (see [`credential_env`]).
    env: Vec<(String, String)>,
}

impl Git {
    /// Runs git in `dir` (or with no `-C`); returns its stdout.
    fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<String, String> {
        let mut cmd = Cmd::new("git", git_argv(dir, args));
        cmd.env.clone_from(&self.env);
        match run_one(&cmd) {
            Ok((out, _)) => Ok(out),
            Err((_, status, err)) => {
                let shown = redact(&cmd.display(false), &self.secrets);
                let err = redact(err.trim(), &self.secrets);
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
        let scrubbed = self.scrub_remote(dir)?;
        let done = self.update_checkout(source, dir, version, devel)?;
        Ok(match scrubbed {
            true => format!("{done} (and removed the credentials its .git/config kept in the remote's URL)"),
            false => done,
        })
    }

    /// Takes credentials out of the `origin` URL a checkout keeps (an older
    /// facs stored `repo` as written); true when there were some.
    fn scrub_remote(&self, dir: &Path) -> Result<bool, String> {
        let Ok(stored) = self.run(Some(dir), &["config", "--get", "remote.origin.url"]) else { return Ok(false) };
        let stored = stored.trim();
        let (clean, _) = split_credentials(stored);
        if clean == stored {
            return Ok(false);
        }
        self.run(Some(dir), &["remote", "set-url", "origin", &clean])?;
        Ok(true)
    }

    fn update_checkout(&self, source: &Source, dir: &Path, version: &str, devel: bool) -> Result<String, String> {
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
        assert_eq!(hide_password("https://example.com/a@b"), "https://example.com/a@b");
    }

    #[test]
    fn credentials_leave_the_url_git_is_given() {
        let creds = |u: &str, p: Option<&str>| Some(Credentials { username: u.into(), password: p.map(String::from) });
        let cases = [
            ("https://bob:s3cret@example.com/x.git", "https://example.com/x.git", creds("bob", Some("s3cret"))),
            ("HTTP://bob:s3cret@127.0.0.1:8080", "HTTP://127.0.0.1:8080", creds("bob", Some("s3cret"))),
            ("https://ghp_token@github.com/t/x", "https://github.com/t/x", creds("ghp_token", None)),
            ("https://:tok@example.com/x", "https://example.com/x", creds("", Some("tok"))),
            ("https://b%40b:p%3As%2F@example.com/x", "https://example.com/x", creds("b@b", Some("p:s/"))),
            ("https://bob:a@b@example.com/x", "https://example.com/x", creds("bob", Some("a@b"))),
            ("https://example.com/a@b", "https://example.com/a@b", None),
            ("https://example.com?a@b", "https://example.com?a@b", None),
            ("ssh://git:pw@example.com/x", "ssh://git@example.com/x", None),
            ("ssh://git@example.com/x", "ssh://git@example.com/x", None),
            ("git@example.com:team/x.git", "git@example.com:team/x.git", None),
            ("file:///srv/git/x.git", "file:///srv/git/x.git", None),
        ];
        for (repo, url, credentials) in cases {
            let source = git_source(repo, Path::new("/nonexistent")).expect(repo);
            assert_eq!((source.url.as_str(), &source.credentials), (url, &credentials), "{repo}");
            assert!(!format!("{source:?}").contains("s3cret"), "Debug hides the password: {source:?}");
        }
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn credentials_reach_git_in_its_environment_only() {
        let both = Credentials { username: "bob".into(), password: Some("s3cret".into()) };
        let env = credential_env(&both, 2);
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("GIT_CONFIG_COUNT"), Some("4"), "after the caller's own two");
        assert_eq!((get("GIT_CONFIG_KEY_2"), get("GIT_CONFIG_VALUE_2")), (Some("credential.helper"), Some("")));
        assert_eq!(get("GIT_CONFIG_KEY_3"), Some("credential.helper"));
        assert_eq!(get("GIT_CONFIG_VALUE_3"), Some(CREDENTIAL_HELPER));
        assert!(!CREDENTIAL_HELPER.contains("s3cret"));
        assert_eq!((get("FACS_GIT_USERNAME"), get("FACS_GIT_PASSWORD")), (Some("bob"), Some("s3cret")));
        // The helper prints them as git's credential protocol wants.
        let script = CREDENTIAL_HELPER.strip_prefix('!').expect("shell helper");
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("{script} \"$@\""), "sh", "get"])
            .env("FACS_GIT_USERNAME", "bob")
            .env("FACS_GIT_PASSWORD", "s3 cr%et")
            .output()
            .expect("sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "username=bob\npassword=s3 cr%et\n");
        let store = std::process::Command::new("sh").args(["-c", &format!("{script} store")]).output().expect("sh");
        assert!(store.status.success() && store.stdout.is_empty());

        let user_only = Credentials { username: "ghp_token".into(), password: None };
        let env = credential_env(&user_only, 0);
        assert!(env.contains(&("GIT_CONFIG_KEY_0".into(), "credential.username".into())));
        assert!(env.contains(&("GIT_CONFIG_VALUE_0".into(), "ghp_token".into())));
        assert!(env.contains(&("GIT_CONFIG_COUNT".into(), "1".into())));
    }

    #[test]
    fn every_git_command_disables_hooks_and_fsmonitor() {
        let argv: Vec<String> = git_argv(Some(Path::new("/c")), &["status"]).into_iter().map(|w| w.text).collect();
        assert_eq!(
            argv,
            [
                "git",
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "core.fsmonitor=false",
                "-c",
                "protocol.ext.allow=never",
                "-c",
                "advice.detachedHead=false",
                "-C",
                "/c",
                "status"
            ]
        );
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
