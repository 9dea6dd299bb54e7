//! `facs deploy` with the real tools: rsync into a local directory, and rsync
//! plus ssh to two "nodes" served by a real sshd on 127.0.0.1.
//!
//! The sshd listens on two ports; a `Match LocalPort` block per port runs
//! every session in its own directory (`ForceCommand cd <root> && ...`), so
//! the two ssh aliases `node-a` and `node-b` behave like two machines with
//! their own file systems, without root or containers. `node-c` points at a
//! port nobody listens on: a node that fails.

use crate::common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn facs(project: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    common::facs_env(project, args, envs)
}

use crate::common::text;

fn project_copy(work: &Path) -> PathBuf {
    let project = work.join("project");
    common::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/deploy/project"), &project);
    project
}

/// Every file below `root`, relative, sorted, with its content.
fn tree(root: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).expect("below").to_string_lossy().into_owned();
            (rel, std::fs::read_to_string(e.path()).unwrap_or_default())
        })
        .collect();
    out.sort();
    out
}

fn names(tree: &[(String, String)]) -> Vec<&str> {
    tree.iter().map(|(n, _)| n.as_str()).collect()
}

/// The password facs generated for module `web` (from the state file).
fn web_password(project: &Path, owner: &str) -> String {
    let state = std::fs::read_to_string(project.join(format!(".facsimile/state/{owner}/state.json"))).expect("state");
    let json: serde_json::Value = serde_json::from_str(&state).expect("json");
    json["passwd"]["shop-web"].as_str().expect("web password").to_string()
}

/// What a first deploy of tests/deploy/project puts in `home`.
const DEPLOYED: [&str; 7] = [
    "etc/outside.txt",
    "etc/shop.conf",
    "etc/shop.version",
    "postcmd.out",
    "secret.out",
    "shop/conf/extra.conf",
    "shop/conf/main.conf",
];

#[test]
fn local_deploy_copies_the_tree_and_deletes_stale_project_files() {
    if !common::have_tools("local_deploy_copies_the_tree_and_deletes_stale_project_files", &["rsync"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let out = facs(&project, &["deploy", "local"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dest = project.join("deployed");
    let deployed = tree(&dest);
    assert_eq!(names(&deployed), DEPLOYED, "exclude.rsync keeps *.bak out");
    let file = |name: &str| deployed.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap_or_default();
    assert_eq!(file("etc/shop.conf"), "port = local\n");
    assert_eq!(file("etc/shop.version"), "1.0\n");
    assert_eq!(file("shop/conf/main.conf"), "main config of local\n");
    let real_dest = std::fs::canonicalize(&dest).expect("dest");
    assert_eq!(file("postcmd.out"), format!("ran local in {}\n", real_dest.display()));
    // The postcmd had the secret; facs's own output never shows it.
    let password = web_password(&project, "local");
    assert_eq!(file("secret.out"), format!("{password}\n"));
    assert!(!text(&out).contains(&password), "{}", text(&out));

    // Second run: one template changed, one removed inside the project's
    // directory (deleted on the node), one removed outside it (kept: only the
    // project's own directory is synced with --delete).
    let tmpl = project.join("tmpl/_ALL_/_DEPLOY_");
    std::fs::write(tmpl.join("shop/conf/main.conf"), "changed {{instance.name}}\n").expect("write");
    std::fs::remove_file(tmpl.join("shop/conf/extra.conf")).expect("rm");
    std::fs::remove_file(tmpl.join("etc/outside.txt")).expect("rm");
    let out = facs(&project, &["deploy", "local"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = tree(&dest);
    assert_eq!(
        names(&again),
        ["etc/outside.txt", "etc/shop.conf", "etc/shop.version", "postcmd.out", "secret.out", "shop/conf/main.conf"]
    );
    let file = |name: &str| again.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap_or_default();
    assert_eq!(file("shop/conf/main.conf"), "changed local\n");
    assert_eq!(file("etc/outside.txt"), "kept\n");
}

#[test]
fn no_build_refuses_a_stale_or_missing_build() {
    if !common::have_tools("no_build_refuses_a_stale_or_missing_build", &["rsync"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let out = facs(&project, &["deploy", "local", "--no-build"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("has not been built"), "{}", text(&out));
    assert!(!project.join("deployed").exists());

    let out = facs(&project, &["build", "local"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let main = project.join("main.facs");
    let source = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, source.replace("home: \"deployed\"", "home: \"deployed\"\n  extra: 1")).expect("write");
    let out = facs(&project, &["deploy", "local", "--no-build"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("changed since it was built"), "{}", text(&out));

    std::fs::write(&main, source).expect("write");

    // A changed template, a new one and a removed one: each named, no content shown.
    let tmpl = project.join("tmpl/_ALL_/_DEPLOY_");
    let conf = std::fs::read_to_string(tmpl.join("etc/shop.conf")).expect("read");
    std::fs::write(tmpl.join("etc/shop.conf"), format!("{conf}# tuned\n")).expect("write");
    std::fs::write(tmpl.join("etc/added.conf"), "x\n").expect("write");
    std::fs::remove_file(tmpl.join("shop/conf/extra.conf")).expect("rm");
    std::fs::create_dir_all(project.join("extra/_ALL_")).expect("mkdir");
    std::fs::write(project.join("extra/_ALL_/motd"), "hello\n").expect("write");
    let out = facs(&project, &["deploy", "local", "--no-build"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("the templates, extra or copied files of `local` changed since it was built"), "{all}");
    for named in [
        "`shop/_DEPLOY_/etc/shop.conf` differs",
        "`shop/_DEPLOY_/etc/added.conf` is new",
        "`shop/_DEPLOY_/shop/conf/extra.conf` is gone",
        "`shop/_DEPLOY_/motd` is new",
    ] {
        assert!(all.contains(named), "{named}: {all}");
    }
    assert!(!all.contains("# tuned"), "{all}");
    assert!(!project.join("deployed").exists());
    let out = facs(&project, &["build", "local"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Deleted state: the build's secrets are not what a build makes now.
    let state = project.join(".facsimile/state/local");
    std::fs::rename(&state, project.join("state.saved")).expect("mv");
    let out = facs(&project, &["deploy", "local", "--no-build"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("the state of `local` lacks 1 secret value that `local` needs"), "{}", text(&out));
    assert!(!state.exists(), "--no-build wrote state");
    std::fs::rename(project.join("state.saved"), &state).expect("mv back");

    let out = facs(&project, &["deploy", "local", "--no-build"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(project.join("deployed/etc/shop.conf").is_file());
    assert!(project.join("deployed/etc/added.conf").is_file());
}

/// The commands are printed whether or not a node answers; what rsync would
/// change needs each node: one that cannot be reached (here: ssh has no
/// config file) is an error naming it, exit 1, after the commands.
#[test]
fn dry_run_prints_the_commands_and_changes_nothing() {
    if !common::have_tools("dry_run_prints_the_commands_and_changes_nothing", &["rsync", "ssh"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let mut outputs = String::new();
    for (args, status) in [
        (vec!["deploy", "remote", "--dry-run"], 1),
        (vec!["deploy", "remote", "--dry-run", "--target", "db", "--batch", "1"], 1),
        (vec!["deploy", "local", "--dry-run"], 0),
    ] {
        let out = facs(&project, &args, &[("FACS_SSH", "ssh -F '/etc/facs test/ssh_config'")]);
        assert_eq!(out.status.code(), Some(status), "{}", text(&out));
        if status == 1 {
            let err = String::from_utf8_lossy(&out.stderr);
            for node in ["node-a", "node-b"] {
                assert!(err.contains(&format!("error: cannot tell what would change on {node}: its dry run (rsync `rsync`) ended with exit status")), "{err}");
            }
        }
        outputs.push_str(&format!("$ facs {}\n{}\n", args.join(" "), String::from_utf8_lossy(&out.stdout)));
    }
    let entries: Vec<_> = std::fs::read_dir(&project).expect("ls").map(|e| e.expect("e").file_name()).collect();
    assert!(!entries.iter().any(|n| n == ".facsimile" || n == "deployed"), "a dry run wrote {entries:?}");
    let real = std::fs::canonicalize(&project).expect("canonical");
    let outputs = outputs.replace(&real.to_string_lossy().to_string(), "<project>");
    insta::assert_snapshot!("deploy_dry_run", outputs.replace(&project.to_string_lossy().to_string(), "<project>"));

    let out = facs(&project, &["deploy", "remote", "--dry-run", "--target", "wbe"], &[]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("deploy_unknown_target", text(&out));
}

/// An sshd on 127.0.0.1 serving two "nodes" (see the file's comment).
struct Sshd {
    child: Child,
    dir: PathBuf,
    /// The ports of node-a and node-b.
    ports: [u16; 2],
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (install openssh-client)");
    assert!(status.success());
}

impl Sshd {
    fn start(dir: &Path, roots: [&Path; 2]) -> Sshd {
        let sshd = common::sshd_path().expect("sshd not found: install openssh-server (.ci/run does)");
        keygen(&dir.join("host_key"));
        keygen(&dir.join("user_key"));
        std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).expect("authorized_keys");
        let ports = [free_port(), free_port(), free_port()];
        let mut config = format!(
            "ListenAddress 127.0.0.1:{}\nListenAddress 127.0.0.1:{}\nHostKey {}\nAuthorizedKeysFile {}\n\
             PidFile {}\nUsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n",
            ports[0],
            ports[1],
            dir.join("host_key").display(),
            dir.join("authorized_keys").display(),
            dir.join("sshd.pid").display(),
        );
        for (port, root) in ports.iter().zip(roots) {
            config.push_str(&format!(
                "Match LocalPort {port}\n  ForceCommand cd {} && exec sh -c \"$SSH_ORIGINAL_COMMAND\"\n",
                root.display()
            ));
        }
        std::fs::write(dir.join("sshd_config"), config).expect("sshd_config");
        // node-p has no Port: only a target's `port` makes it reachable.
        let client = format!(
            "Host node-a\n  HostName 127.0.0.1\n  Port {}\nHost node-b\n  HostName 127.0.0.1\n  Port {}\n\
             Host node-c\n  HostName 127.0.0.1\n  Port {}\nHost node-p\n  HostName 127.0.0.1\nHost *\n  IdentityFile {}\n  IdentitiesOnly yes\n\
             StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
            ports[0],
            ports[1],
            ports[2],
            dir.join("user_key").display()
        );
        std::fs::write(dir.join("ssh_config"), client).expect("ssh_config");
        // sshd started by root needs its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-f")
            .arg(dir.join("sshd_config"))
            .arg("-E")
            .arg(dir.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start sshd");
        let server = Sshd { child, dir: dir.to_path_buf(), ports: [ports[0], ports[1]] };
        let deadline = Instant::now() + Duration::from_secs(10);
        while ports[..2].iter().any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err()) {
            assert!(Instant::now() < deadline, "sshd did not start: {}", server.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    fn facs_ssh(&self) -> String {
        format!("ssh -F {}", self.dir.join("ssh_config").display())
    }
}

/// A copy of the test project, the roots of node-a and node-b, and the sshd
/// serving them.
fn two_nodes(work: &Path) -> (PathBuf, PathBuf, PathBuf, Sshd) {
    let project = project_copy(work);
    let (node_a, node_b) = (work.join("node-a"), work.join("node-b"));
    for root in [&node_a, &node_b] {
        std::fs::create_dir_all(root.join("deploy")).expect("node root");
    }
    let ssh_dir = work.join("ssh");
    std::fs::create_dir_all(&ssh_dir).expect("ssh dir");
    let sshd = Sshd::start(&ssh_dir, [&node_a, &node_b]);
    (project, node_a, node_b, sshd)
}

#[test]
fn remote_deploy_over_ssh_to_two_nodes_and_a_failing_one() {
    if !common::have_tools(
        "remote_deploy_over_ssh_to_two_nodes_and_a_failing_one",
        &["rsync", "ssh", "ssh-keygen", "sshd"],
    ) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (project, node_a, node_b, sshd) = two_nodes(work.path());
    let ssh = sshd.facs_ssh();

    // The build generates `remote`'s secrets: pushing them is refused unasked.
    let out = facs(&project, &["deploy", "remote"], &[("FACS_SSH", &ssh)]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("generated new secret values for an owner that had no state"), "{all}");
    assert!(all.contains("1 secret value of `remote` was generated since its last deploy"), "{all}");
    assert!(all.contains("--allow-new-secrets"), "{all}");
    assert!(!node_a.join("deploy/shop").exists(), "nothing was pushed");
    let out = facs(&project, &["deploy", "remote", "--allow-new-secrets"], &[("FACS_SSH", &ssh)]);
    assert_eq!(out.status.code(), Some(0), "{}\nsshd: {}", text(&out), sshd.log());
    assert!(!project.join(".facsimile/state/remote/undeployed-secrets").exists());
    let password = web_password(&project, "remote");
    for root in [&node_a, &node_b] {
        let home = root.join("deploy/shop");
        let deployed = tree(&home);
        assert_eq!(names(&deployed), DEPLOYED, "{}", root.display());
        let file = |name: &str| deployed.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap_or_default();
        assert_eq!(file("etc/shop.conf"), "port = remote\n");
        // The postcmd ran on that node, in its home.
        assert_eq!(file("postcmd.out"), format!("ran remote in {}\n", home.display()));
        assert_eq!(file("secret.out"), format!("{password}\n"));
    }
    assert!(!text(&out).contains(&password));

    // A changed and a removed file inside the project's directory, over ssh.
    let tmpl = project.join("tmpl/_ALL_/_DEPLOY_/shop/conf");
    std::fs::remove_file(tmpl.join("extra.conf")).expect("rm");
    std::fs::write(tmpl.join("main.conf"), "v2\n").expect("write");
    let out = facs(&project, &["deploy", "remote"], &[("FACS_SSH", &ssh)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for root in [&node_a, &node_b] {
        let conf = root.join("deploy/shop/shop/conf");
        assert!(!conf.join("extra.conf").exists(), "stale file kept on {}", root.display());
        assert_eq!(std::fs::read_to_string(conf.join("main.conf")).expect("main.conf"), "v2\n");
    }

    // node-c is down: reported by name with ssh's status; node-a still gets its copy.
    std::fs::remove_dir_all(node_a.join("deploy/shop")).expect("clean node-a");
    let out = facs(&project, &["deploy", "broken", "--allow-new-secrets"], &[("FACS_SSH", &ssh)]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("deploying `broken` to node-c failed: rsync (`rsync`) ended with exit status "), "{all}");
    assert!(all.contains("Connection refused"), "stderr of the tool is shown: {all}");
    assert!(all.contains("deployed `broken` to node-a"), "{all}");
    assert!(node_a.join("deploy/shop/etc/shop.conf").is_file());
}

#[test]
fn a_target_port_reaches_sshd_on_that_port() {
    if !common::have_tools("a_target_port_reaches_sshd_on_that_port", &["rsync", "ssh", "ssh-keygen", "sshd"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (project, node_a, node_b, sshd) = two_nodes(work.path());
    // node-p's ssh config names no port: the target's `port` picks node-b's.
    let ported = format!(
        "instance ported inherits base {{\n  home: \"deploy/shop\"\n  target web {{ nodes: [\"node-p\"], port: {} }}\n}}\n",
        sshd.ports[1]
    );
    std::fs::write(project.join("ported.facs"), ported).expect("write");
    let out = facs(&project, &["deploy", "ported", "--allow-new-secrets"], &[("FACS_SSH", &sshd.facs_ssh())]);
    assert_eq!(out.status.code(), Some(0), "{}\nsshd: {}", text(&out), sshd.log());
    assert!(text(&out).contains(&format!("deployed `ported` to node-p (port {})", sshd.ports[1])), "{}", text(&out));
    assert!(node_b.join("deploy/shop/etc/shop.conf").is_file(), "the tree is on the node behind that port");
    assert!(!node_a.join("deploy/shop").exists());
}

#[test]
fn hostile_node_names_are_refused_before_anything_runs() {
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let main = project.join("main.facs");
    let source = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, source.replace("\"node-b\", \"node-a\"", "\"-oProxyCommand=touch pwned\", \"node-a\""))
        .expect("write");
    let out = facs(&project, &["deploy", "remote", "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let all = text(&out);
    assert!(all.contains("error[E023]: node `-oProxyCommand=touch pwned` is not a plain host name"), "{all}");
    assert!(all.contains("main.facs:28:"), "points at the node: {all}");
    assert!(!project.join("pwned").exists());
}

#[test]
fn run_selects_stages_like_the_original() {
    if !common::have_tools("run_selects_stages_like_the_original", &["rsync"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let out_dir = project.join(".facsimile/out");
    let dest = project.join("deployed");

    // build alone: manifest and state, no tree.
    let out = facs(&project, &["run", "local", "--only", "build"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out_dir.join("local.json").is_file());
    assert!(!out_dir.join("local").exists());

    // install alone: the tree; nothing deployed.
    let out = facs(&project, &["run", "local", "--start", "install", "--end", "install"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out_dir.join("local/shop/_DEPLOY_/etc/shop.conf").is_file());
    assert!(!dest.exists());

    // deploy alone deploys the tree as built.
    let out = facs(&project, &["run", "local", "--start", "deploy"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dest.join("etc/shop.conf").is_file());

    // Every stage: checkout has nothing to do (no repo), then build, install, deploy.
    std::fs::remove_dir_all(&dest).expect("rm");
    let out = facs(&project, &["run", "local"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    for line in ["stage checkout: local", "nothing to check out", "stage build, install: local", "stage deploy: local"]
    {
        assert!(all.contains(line), "{line:?} in {all}");
    }
    assert!(dest.join("shop/conf/main.conf").is_file());

    // Usage errors: an unknown stage, an empty range, --only with a range.
    for args in [
        vec!["run", "local", "--only", "compile"],
        vec!["run", "local", "--start", "deploy", "--end", "build"],
        vec!["run", "local", "--only", "build", "--start", "checkout"],
    ] {
        let out = facs(&project, &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let out = facs(&project, &["run", "local", "--start", "deploy", "--end", "build"], &[]);
    assert!(text(&out).contains("the stage range deploy..build is empty"), "{}", text(&out));
    let out = facs(&project, &["run", "local", "--only", "compile"], &[]);
    assert!(text(&out).contains("[possible values: checkout, build, install, deploy]"), "{}", text(&out));
}

/// Copied files keep their permission bits: a 0600 key stays 0600 in the
/// tree and after a deploy, a 0750 script stays 0750.
#[test]
fn copied_files_keep_their_mode_in_the_tree_and_after_deploy() {
    use std::os::unix::fs::PermissionsExt;
    if !common::have_tools("copied_files_keep_their_mode_in_the_tree_and_after_deploy", &["rsync"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let extra = project.join("extra/_ALL_");
    std::fs::create_dir_all(&extra).expect("mkdir");
    for (name, mode) in [("id_key", 0o600), ("run.sh", 0o750), ("plain.txt", 0o644)] {
        std::fs::write(extra.join(name), name).expect("write");
        std::fs::set_permissions(extra.join(name), std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let out = facs(&project, &["deploy", "local"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let built = project.join(".facsimile/out/local/shop/_DEPLOY_");
    for (name, expected) in [("id_key", 0o600), ("run.sh", 0o750), ("plain.txt", 0o644)] {
        assert_eq!(mode(&built.join(name)), expected, "{name} in the tree");
        assert_eq!(mode(&project.join("deployed").join(name)), expected, "{name} deployed");
    }
}

/// A `home` that normalises to `/`, or a local destination that is the
/// user's home directory, is E023 before anything runs: `check` refuses what
/// it can see in the text, and `deploy` also what only the machine knows
/// (`$HOME`).
#[test]
fn destinations_that_are_root_or_a_home_directory_are_refused() {
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let extra = project.join("extra.facs");
    std::fs::write(
        &extra,
        "instance rooted inherits base {\n  home: \"/srv/../\"\n  target web { nodes: [\"node-a\"] }\n}\n",
    )
    .expect("write");
    let out = facs(&project, &["check"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error[E023]: refusing to deploy into `/srv/../`: it is the root directory `/`"), "{all}");
    assert!(all.contains("extra.facs:2:"), "points at `home`: {all}");
    assert!(all.contains("rsync --delete"), "the help says why: {all}");

    let user_home = work.path().join("me");
    std::fs::create_dir_all(user_home.join("work")).expect("mkdir");
    let me = user_home.to_string_lossy().into_owned();
    for (dest, why) in [
        (me.clone(), "your home directory itself"),
        (format!("{me}/work/.."), "your home directory itself"),
        (work.path().to_string_lossy().into_owned(), "it holds your home directory"),
    ] {
        std::fs::write(&extra, format!("instance mine inherits base {{\n  home: \"{dest}\"\n}}\n")).expect("write");
        // Not in the text: `check` cannot know whose home it is.
        let out = facs(&project, &["check"], &[("HOME", &me)]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let out = facs(&project, &["deploy", "mine", "--dry-run"], &[("HOME", &me)]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{dest}: {all}");
        assert!(all.contains("error[E023]: refusing to deploy into") && all.contains(why), "{dest}: {all}");
        assert!(!all.contains("rsync -aLp"), "no plan is printed: {all}");
    }
    // `~` is the home directory in any case: refused by `check` already.
    std::fs::write(&extra, "instance mine inherits base {\n  home: \"~/\"\n}\n").expect("write");
    let out = facs(&project, &["check"], &[("HOME", &me)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("refusing to deploy into `~/`: it is your home directory itself"), "{}", text(&out));
    assert_eq!(std::fs::read_dir(&user_home).expect("home").count(), 1, "nothing was written into the home");
}

/// rsync with `--secluded-args` takes a remote `~/x` literally while the
/// postcmd's shell expands it: facs gives both the normalised path, relative
/// to the login directory, so files and postcmd land in the same place.
#[test]
fn a_tilde_home_deploys_below_the_login_directory() {
    if !common::have_tools("a_tilde_home_deploys_below_the_login_directory", &["rsync", "ssh", "ssh-keygen", "sshd"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (project, node_a, _, sshd) = two_nodes(work.path());
    let tilde =
        "instance tilde inherits base {\n  home: \"~/./deploy//shop/\"\n  target web { nodes: [\"node-a\"] }\n}\n";
    std::fs::write(project.join("tilde.facs"), tilde).expect("write");
    let out = facs(&project, &["deploy", "tilde", "--allow-new-secrets"], &[("FACS_SSH", &sshd.facs_ssh())]);
    assert_eq!(out.status.code(), Some(0), "{}\nsshd: {}", text(&out), sshd.log());
    let home = node_a.join("deploy/shop");
    assert_eq!(names(&tree(&home)), DEPLOYED);
    let postcmd = std::fs::read_to_string(home.join("postcmd.out")).expect("postcmd ran there");
    assert_eq!(postcmd, format!("ran tilde in {}\n", home.display()));
    assert!(!node_a.join("~").exists(), "no literal `~` directory");
}

/// `--dry-run` runs rsync itself (`--dry-run --itemize-changes`) against
/// each node and lists what it would change there; a node that does not
/// answer is an error naming it (exit 1), and the other nodes are still
/// listed. Nothing changes on any node.
#[test]
fn dry_run_lists_what_rsync_would_change_on_each_node() {
    if !common::have_tools(
        "dry_run_lists_what_rsync_would_change_on_each_node",
        &["rsync", "ssh", "ssh-keygen", "sshd"],
    ) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (project, node_a, node_b, sshd) = two_nodes(work.path());
    let ssh = sshd.facs_ssh();
    let env = [("FACS_SSH", ssh.as_str())];

    // Nothing deployed yet: every file is new on both nodes (`<`: rsync would send it).
    let out = facs(&project, &["deploy", "remote", "--dry-run"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}\nsshd: {}", text(&out), sshd.log());
    for node in ["node-a", "node-b"] {
        assert!(stdout.contains(&format!("# {node}: rsync would change:\n")), "{stdout}");
    }
    assert_eq!(stdout.matches("#   <f+++++++++ shop/conf/main.conf\n").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("#   <f+++++++++ etc/shop.conf\n").count(), 2, "{stdout}");
    assert!(!stdout.contains("ignored.bak"), "exclude.rsync applies: {stdout}");
    assert!(!node_a.join("deploy/shop").exists() && !node_b.join("deploy/shop").exists(), "a dry run deployed");
    assert!(!project.join(".facsimile/out/remote").exists(), "a dry run wrote the tree");

    let out = facs(&project, &["deploy", "remote", "--allow-new-secrets"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Deployed and unchanged: rsync would change no file (only times: every
    // build writes the tree anew).
    let out = facs(&project, &["deploy", "remote", "--dry-run"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stdout.matches(": rsync would change no file\n").count(), 2, "{stdout}");
    assert!(stdout.contains("with unchanged content would get a new modification time)"), "{stdout}");

    // One file changed, one removed inside the project's directory, one new.
    let tmpl = project.join("tmpl/_ALL_/_DEPLOY_");
    std::fs::write(tmpl.join("shop/conf/main.conf"), "v2\n").expect("write");
    std::fs::remove_file(tmpl.join("shop/conf/extra.conf")).expect("rm");
    std::fs::write(tmpl.join("etc/new.conf"), "new\n").expect("write");
    let out = facs(&project, &["deploy", "remote", "--dry-run"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stdout.matches("#   <fcs").count(), 2, "{stdout}");
    assert_eq!(stdout.matches(" shop/conf/main.conf\n").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("#   *deleting   shop/conf/extra.conf\n").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("#   <f+++++++++ etc/new.conf\n").count(), 2, "{stdout}");
    assert!(!stdout.contains(" etc/shop.conf\n"), "unchanged content is not listed: {stdout}");
    for root in [&node_a, &node_b] {
        let conf = root.join("deploy/shop/shop/conf");
        assert!(conf.join("extra.conf").is_file(), "a dry run deleted on {}", root.display());
        assert_ne!(std::fs::read_to_string(conf.join("main.conf")).expect("main"), "v2\n");
        assert!(!root.join("deploy/shop/etc/new.conf").exists());
    }

    // node-c does not answer: named, exit 1; node-a is still listed.
    let out = facs(&project, &["deploy", "broken", "--dry-run"], &env);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(
            "error: cannot tell what would change on node-c: its dry run (rsync `rsync`) ended with exit status"
        ),
        "{all}"
    );
    assert!(all.contains("Connection refused"), "{all}");
    assert!(all.contains("# node-c: rsync --dry-run failed (see the error below): changes unknown"), "{all}");
    assert!(all.contains("# node-a: rsync would change:\n"), "{all}");
    assert!(all.contains("#   <f+++++++++ etc/new.conf\n"), "{all}");
}

/// `--batch N` deploys N nodes at a time and touches no node of a later
/// batch once one failed; `--serial` is `--batch 1`. The output names the
/// nodes deployed, failed and skipped.
#[test]
fn a_rolling_deploy_stops_at_the_first_failed_batch() {
    if !common::have_tools("a_rolling_deploy_stops_at_the_first_failed_batch", &["rsync", "ssh", "ssh-keygen", "sshd"])
    {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (project, node_a, node_b, sshd) = two_nodes(work.path());
    let ssh = sshd.facs_ssh();
    let env = [("FACS_SSH", ssh.as_str())];
    let rolling = "instance rolling inherits base {\n  home: \"deploy/shop\"\n  \
                   target web { nodes: [\"node-a\", \"node-c\", \"node-b\"] }\n}\n";
    std::fs::write(project.join("rolling.facs"), rolling).expect("write");

    // Batch 1 = node-a (deployed) and node-c (unreachable): node-b is never touched.
    let out = facs(&project, &["deploy", "rolling", "--allow-new-secrets", "--batch", "2"], &env);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(node_a.join("deploy/shop/etc/shop.conf").is_file(), "{all}");
    assert!(!node_b.join("deploy/shop").exists(), "a later batch was touched: {all}");
    assert!(all.contains("deployed `rolling` to node-a"), "{all}");
    assert!(all.contains("deploying `rolling` to node-c failed: rsync (`rsync`)"), "{all}");
    assert!(
        all.contains(
            "error: deploying `rolling` stopped after batch 1 of 2, which failed: deployed to node-a; failed on node-c; \
             skipped (not touched) node-b"
        ),
        "{all}"
    );

    // The same nodes without --batch: every node is tried, as before.
    let out = facs(&project, &["deploy", "rolling", "--allow-new-secrets"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(node_b.join("deploy/shop/etc/shop.conf").is_file(), "{}", text(&out));
    assert!(!text(&out).contains("skipped"), "{}", text(&out));

    // --serial, the first node's target postcmd fails: the second is not touched.
    std::fs::remove_dir_all(node_a.join("deploy/shop")).expect("clean");
    let serial = "instance serial inherits base {\n  home: \"deploy/shop\"\n  \
                  target web { nodes: [\"node-b\"], postcmd: [\"echo failing > failed.out; exit 7\"] }\n  \
                  target db { nodes: [\"node-a\"] }\n}\n";
    std::fs::write(project.join("serial.facs"), serial).expect("write");
    let out = facs(&project, &["deploy", "serial", "--allow-new-secrets", "--serial"], &env);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(node_b.join("deploy/shop/failed.out").is_file(), "{all}");
    assert!(!node_a.join("deploy/shop").exists(), "--serial went on after a failure: {all}");
    assert!(
        all.contains("deploying `serial` to node-b failed: postcmd 1 of target web (`ssh`) ended with exit status 7"),
        "{all}"
    );
    assert!(all.contains("stopped after batch 1 of 2, which failed: deployed to none; failed on node-b; skipped (not touched) node-a"), "{all}");

    // Both batches succeed: both nodes, in batches.
    let ok =
        "instance ok inherits base {\n  home: \"deploy/ok\"\n  target web { nodes: [\"node-a\", \"node-b\"] }\n}\n";
    std::fs::write(project.join("ok.facs"), ok).expect("write");
    let out = facs(&project, &["deploy", "ok", "--allow-new-secrets", "--serial"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("deployed `ok` to 2 nodes in 2 batches"), "{}", text(&out));
    assert!(node_a.join("deploy/ok/etc/shop.conf").is_file() && node_b.join("deploy/ok/etc/shop.conf").is_file());

    // Usage: --batch 0, and --serial with --batch.
    for args in [vec!["deploy", "ok", "--batch", "0"], vec!["deploy", "ok", "--serial", "--batch", "2"]] {
        let out = facs(&project, &args, &env);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}

/// A target's own `postcmd` runs on its nodes only, after `deploy.postcmd`;
/// a secret in it reaches the shell and never facs's output.
#[test]
fn a_target_postcmd_runs_on_its_nodes_after_the_instance_postcmd() {
    if !common::have_tools(
        "a_target_postcmd_runs_on_its_nodes_after_the_instance_postcmd",
        &["rsync", "ssh", "ssh-keygen", "sshd"],
    ) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (project, node_a, node_b, sshd) = two_nodes(work.path());
    let targets = "instance targeted inherits base {\n  home: \"deploy/shop\"\n  targets {\n    \
                   web { nodes: [\"node-a\"], postcmd: [\"cat postcmd.out > web.out\", \"echo ${module.web.password} > web-secret.out\"] }\n    \
                   db { nodes: [\"node-b\"] }\n  }\n}\n";
    std::fs::write(project.join("targeted.facs"), targets).expect("write");
    let out = facs(&project, &["deploy", "targeted", "--allow-new-secrets"], &[("FACS_SSH", &sshd.facs_ssh())]);
    assert_eq!(out.status.code(), Some(0), "{}\nsshd: {}", text(&out), sshd.log());
    let home_a = node_a.join("deploy/shop");
    // web.out copies what the instance's postcmd wrote: it ran first.
    assert_eq!(
        std::fs::read_to_string(home_a.join("web.out")).expect("web.out"),
        format!("ran targeted in {}\n", home_a.display())
    );
    let password = web_password(&project, "targeted");
    assert_eq!(std::fs::read_to_string(home_a.join("web-secret.out")).expect("secret"), format!("{password}\n"));
    assert!(!node_b.join("deploy/shop/web.out").exists(), "db's node ran web's postcmd");
    assert!(node_b.join("deploy/shop/postcmd.out").is_file());
    assert!(!text(&out).contains(&password));

    let out = facs(&project, &["deploy", "targeted", "--dry-run"], &[("FACS_SSH", &sshd.facs_ssh())]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("cd -- deploy/shop || exit 1\ncat postcmd.out > web.out\nEOF"), "{stdout}");
    assert!(stdout.contains("cd -- deploy/shop || exit 1\n********\nEOF"), "{stdout}");
    assert!(!stdout.contains(&password), "{stdout}");
}

/// `facs run --dry-run` says what each stage would do and prints the
/// deploy's commands, writing nothing.
#[test]
fn run_dry_run_prints_every_stage_and_writes_nothing() {
    if !common::have_tools("run_dry_run_prints_every_stage_and_writes_nothing", &["rsync"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let project = project_copy(work.path());
    let out = facs(&project, &["run", "local", "--dry-run"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let real = std::fs::canonicalize(&project).expect("canonical");
    let stdout =
        stdout.replace(&*real.to_string_lossy(), "<project>").replace(&*project.to_string_lossy(), "<project>");
    for line in [
        "# stage checkout\n# the project has no `repo`: nothing to check out\n",
        "# stage build, install\n# would write <project>/.facsimile/out/local.json\n",
        "# would save the state of `local` in <project>/.facsimile/state/local\n",
        "# would write the tree <project>/.facsimile/out/local/ (",
        "# stage deploy\n# local\nmkdir -p -- <project>/deployed\n",
        "# local: rsync would change:\n",
        "#   >f+++++++++ etc/shop.conf\n",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    assert!(text(&out).contains("stage deploy: local (dry run: nothing is written)"), "{}", text(&out));
    let entries: Vec<_> = std::fs::read_dir(&project).expect("ls").map(|e| e.expect("e").file_name()).collect();
    assert!(!entries.iter().any(|n| n == ".facsimile" || n == "deployed"), "a dry run wrote {entries:?}");

    // Only the deploy stage, nothing built: the tree as it would be built,
    // and a note that the real run would be refused.
    let out = facs(&project, &["run", "local", "--start", "deploy", "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("without --dry-run this deploy is refused"), "{}", text(&out));
    assert!(!project.join(".facsimile").exists() && !project.join("deployed").exists());
}

/// A progress bar on a terminal (stderr a pty), not in JSON mode and not
/// when stderr is a pipe (a plain line per node there).
#[test]
fn progress_is_shown_on_a_terminal_only() {
    if !common::have_tools("progress_is_shown_on_a_terminal_only", &["rsync", "ssh", "ssh-keygen", "sshd"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (project, _, _, sshd) = two_nodes(work.path());
    let ssh = sshd.facs_ssh();
    let on_tty = |args: &[&str]| -> String {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two descriptors into the given integers.
        let rc =
            unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
        assert_eq!(rc, 0, "openpty");
        use std::os::fd::FromRawFd;
        // SAFETY: both descriptors are ours and open.
        let (master, slave) = unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) };
        let child = Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(&project)
            .args(args)
            .env("NO_COLOR", "1")
            .env("FACS_SSH", &ssh)
            .stdout(Stdio::null())
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("facs");
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let mut master = master;
            let mut all = Vec::new();
            let mut buf = [0u8; 4096];
            // EIO once the child (the only holder of the slave) exits.
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
            }
            String::from_utf8_lossy(&all).into_owned()
        });
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0));
        reader.join().expect("reader")
    };
    let shown = on_tty(&["deploy", "remote", "--allow-new-secrets"]);
    assert!(shown.contains("deploying `remote` ["), "no progress bar: {shown:?}");
    assert!(shown.contains("/2 nodes"), "{shown:?}");
    assert!(shown.contains("deployed `remote` to node-a"), "the per-node lines stay: {shown:?}");
    let json = on_tty(&["--message-format", "json", "deploy", "remote"]);
    assert!(!json.contains("deploying `remote` ["), "a bar in JSON mode: {json:?}");
    let piped = facs(&project, &["deploy", "remote"], &[("FACS_SSH", &ssh)]);
    let err = String::from_utf8_lossy(&piped.stderr).into_owned();
    assert!(!err.contains("deploying `remote` [") && !err.contains('\u{1b}'), "{err:?}");
    assert!(
        err.contains("note: deployed `remote` to node-a\n") && err.contains("note: deployed `remote` to node-b\n"),
        "{err}"
    );
}

/// A conglomerate (spec §4): each component's tree goes to its own `home`
/// on the targets its `component` item names; `web` lists only `front`, so
/// node-b (target `back`) gets the shop's tree and not the web's.
#[test]
fn each_component_tree_goes_to_its_targets() {
    if !common::have_tools("each_component_tree_goes_to_its_targets", &["rsync", "ssh", "ssh-keygen", "sshd"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (node_a, node_b) = (work.path().join("node-a"), work.path().join("node-b"));
    for root in [&node_a, &node_b] {
        std::fs::create_dir_all(root.join("deploy")).expect("node root");
    }
    let ssh_dir = work.path().join("ssh");
    std::fs::create_dir_all(&ssh_dir).expect("ssh dir");
    let sshd = Sshd::start(&ssh_dir, [&node_a, &node_b]);
    let write = |path: &str, text: &str| {
        let path = work.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "platform/main.facs",
        "project platform {\n  component shop { dir: \"../shop\" }\n  component web { dir: \"../web\", targets: [\"front\"] }\n}\n\
         instance prod {\n  target front { nodes: [\"node-a\"] }\n  target back { nodes: [\"node-b\"] }\n}\n",
    );
    write(
        "shop/main.facs",
        "project shop {}\ninstance prod { home: \"deploy/shop\"  install: [{ type: \"tmpl\", dir: \"tmpl\" }] }\n",
    );
    write("shop/tmpl/_ALL_/shop.conf", "shop {{instance.name}}\n");
    write(
        "web/main.facs",
        "project web {}\ninstance prod { home: \"deploy/web\"  install: [{ type: \"tmpl\", dir: \"tmpl\" }] }\n",
    );
    write("web/tmpl/_ALL_/web.conf", "web {{instance.name}}\n");
    let platform = work.path().join("platform");
    let env = [("FACS_SSH", sshd.facs_ssh())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let out = facs(&platform, &["deploy", "prod", "--dry-run"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}\nsshd: {}", text(&out), sshd.log());
    let (shop, web) = stdout.split_once("### component `web`").expect("web's part");
    assert!(shop.starts_with("### component `shop` (project `shop`): "), "{stdout}");
    assert!(
        shop.contains("/prod/shop/_DEPLOY_/ node-a:deploy/shop/")
            && shop.contains("/prod/shop/_DEPLOY_/ node-b:deploy/shop/"),
        "{stdout}"
    );
    assert!(web.contains("/prod/web/_DEPLOY_/ node-a:deploy/web/"), "{stdout}");
    assert!(!web.contains("node-b"), "web's tree would go to node-b: {stdout}");
    assert!(!node_a.join("deploy/shop").exists(), "a dry run deployed");

    let out = facs(&platform, &["deploy", "prod", "--allow-new-secrets"], &env);
    assert_eq!(out.status.code(), Some(0), "{}\nsshd: {}", text(&out), sshd.log());
    assert_eq!(std::fs::read_to_string(node_a.join("deploy/shop/shop.conf")).ok(), None, "only _DEPLOY_ is sent");
    assert!(node_a.join("deploy/shop/etc/shop.version").is_file(), "{}", text(&out));
    assert!(node_b.join("deploy/shop/etc/shop.version").is_file(), "{}", text(&out));
    assert!(node_a.join("deploy/web/etc/web.version").is_file(), "{}", text(&out));
    assert!(!node_b.join("deploy/web").exists(), "web's tree went to node-b");

    // `--target back`: only the components that deploy there.
    let out = facs(&platform, &["deploy", "prod", "--dry-run", "--target", "back"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("### component `shop`") && !stdout.contains("### component `web`"), "{stdout}");
}
