//! `facs build --checkout` against a real git repository made by the test:
//! the tag `project.version` is checked out into
//! `.facsimile/src/<project>-<version>`, which then is `facs.src_dir`.

use crate::common::{self, git};

use std::path::Path;
use std::process::{Command, Output};

fn commit(repo: &Path, robots: &str, message: &str) {
    std::fs::create_dir_all(repo.join("files")).expect("mkdir");
    std::fs::write(repo.join("files/robots.txt"), robots).expect("write");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

fn facs(project: &Path, args: &[&str]) -> Output {
    common::facs_env(project, args, &[])
}

use crate::common::text;

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

/// An existing checkout's own `.git/config` and `.git/hooks` never run:
/// `git status` would start a `core.fsmonitor` program and `git checkout` a
/// `post-checkout` hook, both planted where anyone who can write the
/// definition directory can put them.
#[test]
fn a_checkouts_own_hooks_and_fsmonitor_never_run() {
    if !common::have_tools("a_checkouts_own_hooks_and_fsmonitor_never_run", &["git"]) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().expect("tempdir");
    let (_, defs) = setup(work.path(), "1.0");
    assert_eq!(facs(&defs, &["build", "--checkout", "--devel"]).status.code(), Some(0));
    let checkout = defs.join(".facsimile/src/shop-1.0");
    let (fsmonitor_ran, hook_ran) = (work.path().join("fsmonitor-ran"), work.path().join("hook-ran"));
    let fsmonitor = work.path().join("fsmonitor.sh");
    std::fs::write(&fsmonitor, format!("#!/bin/sh\ntouch '{}'\nexit 1\n", fsmonitor_ran.display())).expect("write");
    let hook = checkout.join(".git/hooks/post-checkout");
    std::fs::create_dir_all(hook.parent().expect("hooks dir")).expect("mkdir");
    std::fs::write(&hook, format!("#!/bin/sh\ntouch '{}'\n", hook_ran.display())).expect("write");
    for script in [&fsmonitor, &hook] {
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    git(&checkout, &["config", "core.fsmonitor", &fsmonitor.to_string_lossy()]);
    // The plants work: plain git runs both.
    git(&checkout, &["status", "--porcelain"]);
    assert!(fsmonitor_ran.exists(), "git itself runs the fsmonitor program");
    std::fs::remove_file(&fsmonitor_ran).expect("rm");

    // Back from the default branch to the tag: `status`, then `checkout`.
    let out = facs(&defs, &["build", "--checkout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("checked out tag 1.0"), "{}", text(&out));
    assert_eq!(robots(&defs), "v1\n");
    assert!(!fsmonitor_ran.exists(), "core.fsmonitor ran");
    assert!(!hook_ran.exists(), "the post-checkout hook ran");
}

/// A dumb-HTTP git server on 127.0.0.1 serving `root` to requests that carry
/// `Authorization: Basic <auth>` (401 otherwise), as a host with a private
/// repository does. It counts the authorised requests.
struct HttpServer {
    port: u16,
    authorised: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl HttpServer {
    fn start(root: &Path, auth: &'static str) -> HttpServer {
        use std::io::{BufRead, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let authorised = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (root, count) = (root.to_path_buf(), authorised.clone());
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(&stream);
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut allowed = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    allowed |= line.trim() == format!("Authorization: Basic {auth}");
                }
                let path = request.split(' ').nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_string();
                let file = root.join(path.trim_start_matches('/'));
                let (status, body) = if !allowed {
                    ("401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"", Vec::new())
                } else if path.contains("..") || !file.is_file() {
                    count.fetch_add(1, Ordering::SeqCst);
                    ("404 Not Found", Vec::new())
                } else {
                    count.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", std::fs::read(&file).unwrap_or_default())
                };
                let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let mut stream = &stream;
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
            }
        });
        HttpServer { port, authorised }
    }
}

/// The password of [`http_setup`]'s server, and its `alice:...` in base64.
const PASSWORD: &str = "s3cretZq81";
const BASIC_AUTH: &str = "YWxpY2U6czNjcmV0WnE4MQ==";

/// The source repository served as `http://127.0.0.1:<port>/repo.git` to
/// alice only, and a definition directory whose `repo` holds her password.
fn http_setup(work: &Path) -> (std::path::PathBuf, std::path::PathBuf, HttpServer) {
    let (repo, defs) = setup(work, "1.0");
    let served = work.join("served");
    std::fs::create_dir_all(&served).expect("mkdir");
    let bare = served.join("repo.git");
    let out = Command::new("git").args(["clone", "-q", "--bare"]).arg(&repo).arg(&bare).output().expect("git");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    git(&bare, &["update-server-info"]);
    let server = HttpServer::start(&served, BASIC_AUTH);
    let url = format!("http://alice:{PASSWORD}@127.0.0.1:{}/repo.git", server.port);
    let main = defs.join("main.facs");
    let source = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, source.replace("../src-repo", &url)).expect("write");
    (bare, defs, server)
}

/// The user name and password in an `http://user:password@` `repo` reach
/// git through its credential interface: the server gets them, the
/// checkout's `.git/config` and facs's messages never hold them, and a
/// later fetch (`--devel` pulls) gets them again.
#[test]
fn credentials_in_repo_reach_git_through_its_credential_interface() {
    if !common::have_tools("credentials_in_repo_reach_git_through_its_credential_interface", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (bare, defs, server) = http_setup(work.path());
    let out = facs(&defs, &["build", "--checkout"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains(&format!("cloned http://alice:********@127.0.0.1:{}/repo.git at tag 1.0", server.port)));
    assert!(!all.contains(PASSWORD), "{all}");
    assert_eq!(robots(&defs), "v1\n");
    let served = server.authorised.load(std::sync::atomic::Ordering::SeqCst);
    assert!(served > 0, "the server saw alice's credentials");
    let config_path = defs.join(".facsimile/src/shop-1.0/.git/config");
    let config = std::fs::read_to_string(&config_path).expect("config");
    assert!(config.contains(&format!("url = http://127.0.0.1:{}/repo.git", server.port)), "{config}");
    assert!(!config.contains(PASSWORD) && !config.contains("alice"), "{config}");

    // A fetch from the stored URL needs the credentials again.
    let work_copy = work.path().join("src-repo");
    commit(&work_copy, "v3\n", "third");
    git(&work_copy, &["push", "-q", &bare.to_string_lossy(), "main"]);
    git(&bare, &["update-server-info"]);
    let out = facs(&defs, &["build", "--checkout", "--devel"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(robots(&defs), "v3\n");
    assert!(!std::fs::read_to_string(&config_path).expect("config").contains(PASSWORD));

    // A checkout an older facs made keeps the password in its remote URL:
    // it is taken out on the next run.
    let url = format!("http://alice:{PASSWORD}@127.0.0.1:{}/repo.git", server.port);
    git(&defs.join(".facsimile/src/shop-1.0"), &["remote", "set-url", "origin", &url]);
    let out = facs(&defs, &["build", "--checkout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("removed the credentials"), "{}", text(&out));
    assert!(!std::fs::read_to_string(&config_path).expect("config").contains(PASSWORD));

    // Wrong credentials fail without showing them.
    let main = defs.join("main.facs");
    let source = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, source.replace(PASSWORD, "wr0ngPassw0rd").replace("version: \"1.0\"", "version: \"0.9\""))
        .expect("write");
    let out = facs(&defs, &["build", "--checkout"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("checkout failed") && !all.contains("wr0ngPassw0rd"), "{all}");
    assert!(all.contains("Authentication failed for 'http://127.0.0.1:"), "{all}");
}

/// No process facs starts has the password in its argv (which every user
/// can read in /proc/*/cmdline): every execve is traced with strace.
#[test]
fn credentials_in_repo_never_reach_an_argv() {
    if !common::have_tools("credentials_in_repo_never_reach_an_argv", &["git", "strace"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (_, defs, _server) = http_setup(work.path());
    let trace = work.path().join("execve.trace");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-s", "65536", "-e", "trace=execve", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(&defs)
        .args(["build", "--checkout"])
        .env("NO_COLOR", "1")
        .output()
        .expect("strace");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let trace = std::fs::read_to_string(&trace).expect("trace");
    let execs: Vec<&str> = trace.lines().filter(|l| l.contains("execve(")).collect();
    assert!(execs.iter().any(|l| l.contains("\"clone\"")), "git clone was traced:\n{trace}");
    assert!(execs.iter().any(|l| l.contains("git-remote-http")), "the http transport was traced:\n{trace}");
    for line in &execs {
        assert!(!line.contains(PASSWORD), "password in an argv: {line}");
        assert!(!line.contains("alice"), "user name in an argv: {line}");
    }
}
