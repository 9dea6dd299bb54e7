//! Crash safety of state and outputs (spec §9, §10; issue 7), proved by
//! fault injection rather than by timing: a build is traced once with
//! strace, then run again once per system call that touches the state or
//! output directory, killed (SIGKILL) or failed (ENOSPC) at exactly that
//! call. After each, state must be the old or the new generation with a
//! backup, each tree whole (old or new) with a manifest never newer than it,
//! and the next build must succeed, sweep what was left and agree with the
//! committed state. Also: unwritable directories, umask 000, and builds
//! sharing an output directory.
//!
//! strace counts injections per system call name and per thread, so
//! `when=N` names one call only if no other thread makes its own N-th call
//! of that name first. The builds have one owner and one tree (rayon then
//! runs every write on the calling thread) and use `RAYON_NUM_THREADS=1`,
//! so the sequence is the same on every run. The dynamic loader's `openat`s
//! on the main thread still come first: such calls are named with `-P` and
//! one of their paths instead. `targets` fails when a call cannot be named
//! at all, and every run checks that the call it hit is the one meant.
//!
//! The tests run as root here, where permission bits do not stop writes:
//! unwritable directories are made with `chattr +i` (`chmod` when not root;
//! a read-only bind mount in a private mount namespace where `chattr` is
//! not supported).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const FACS: &str = env!("CARGO_BIN_EXE_facs");

/// Every system call that creates, changes, removes or flushes a file, and
/// `openat`/`open` of any kind. `?` lets strace skip names the architecture
/// lacks (`open`, `rename`, `mkdir`... on aarch64).
const TOUCHING: &[&str] = &[
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "fsync",
    "fdatasync",
    "syncfs",
    "sync_file_range",
    "rename",
    "renameat",
    "renameat2",
    "open",
    "openat",
    "creat",
    "unlink",
    "unlinkat",
    "rmdir",
    "mkdir",
    "mkdirat",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "truncate",
    "ftruncate",
    "fallocate",
    "chmod",
    "fchmod",
    "fchmodat",
    "copy_file_range",
    "sendfile",
];

/// The calls that can fail with ENOSPC: writes, flushes, and calls that
/// create a name (`openat` only with `O_CREAT`).
const CAN_BE_FULL: &[&str] = &[
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "fsync",
    "fdatasync",
    "syncfs",
    "rename",
    "renameat",
    "renameat2",
    "open",
    "openat",
    "creat",
    "mkdir",
    "mkdirat",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "ftruncate",
    "fallocate",
    "copy_file_range",
];

fn strace_set(names: &[&str]) -> String {
    names.iter().map(|n| format!("?{n}")).collect::<Vec<_>>().join(",")
}

// ---------------------------------------------------------------------------
// The project: three generations, each adding generated values and changing
// the tree, so that every generation writes state and a tree.

fn write_generation(project: &Path, generation: u32) {
    let etc = project.join("tmpl/_ALL_/_DEPLOY_/etc");
    std::fs::create_dir_all(&etc).expect("mkdir");
    let mut facs = String::from(
        "project demo { version: \"1.0.0\" }\nschema Instance { api_key: secret }\nmodule web { daemon: \"www\" }\n",
    );
    let mut app = format!("gen{generation} key={{{{instance.api_key}}}} web={{{{module.web.password}}}}");
    if generation >= 2 {
        facs.push_str("module db {}\n");
        app.push_str(" db={{module.db.password}}");
    }
    if generation >= 3 {
        facs.push_str("module cache { service { logical_name: \"cache\" } }\n");
        app.push_str(" cache={{module.cache.password}} uiid={{module.cache.service.uiid}}");
    }
    facs.push_str("instance prod { home: \"/srv/prod\", install: [ { type: \"tmpl\", dir: \"tmpl\" } ] }\n");
    std::fs::write(project.join("main.facs"), facs).expect("main.facs");
    std::fs::write(etc.join("app.conf"), format!("{app}\n")).expect("template");
    std::fs::write(etc.join("plain.conf"), format!("gen{generation} plain\n")).expect("template");
}

/// A file tree: relative path to (mode, contents).
type Tree = BTreeMap<String, (u32, Vec<u8>)>;

fn read_tree(dir: &Path) -> Option<Tree> {
    fn walk(base: &Path, dir: &Path, tree: &mut Tree) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            if meta.is_dir() {
                walk(base, &path, tree);
            } else {
                let rel = path.strip_prefix(base).expect("prefix").to_string_lossy().into_owned();
                tree.insert(rel, (meta.permissions().mode() & 0o777, std::fs::read(&path).expect("read")));
            }
        }
    }
    if !dir.exists() {
        return None;
    }
    let mut tree = Tree::new();
    walk(dir, dir, &mut tree);
    Some(tree)
}

fn entries(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => BTreeSet::new(),
    }
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// One build's directories: `<root>/p` (definitions), `<root>/state`, `<root>/out`.
struct Sandbox {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

/// What the sandbox held after the second generation.
#[derive(Clone)]
struct Before {
    state1: Vec<u8>,
    state2: Vec<u8>,
    manifest2: Vec<u8>,
    tree2: Tree,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Readable by an unprivileged user, for the read-only fallback.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let root = tmp.path().to_path_buf();
        Sandbox { _tmp: tmp, root }
    }

    fn project(&self) -> PathBuf {
        self.root.join("p")
    }
    fn state(&self) -> PathBuf {
        self.root.join("state")
    }
    fn owner(&self) -> PathBuf {
        self.root.join("state/prod")
    }
    fn out(&self) -> PathBuf {
        self.root.join("out")
    }
    fn root_str(&self) -> String {
        self.root.to_string_lossy().into_owned()
    }

    fn facs_args(&self) -> Vec<String> {
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        vec![
            "-p".into(),
            s(self.project()),
            "build".into(),
            "--out".into(),
            s(self.out()),
            "--state".into(),
            s(self.state()),
        ]
    }

    fn build(&self) -> Output {
        Command::new(FACS)
            .args(self.facs_args())
            .env("RAYON_NUM_THREADS", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run facs")
    }

    fn build_ok(&self) {
        let out = self.build();
        assert!(out.status.success(), "build failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// facs under strace, writing the trace to `<root>/trace.txt`.
    fn strace(&self, strace_args: &[String]) -> Output {
        Command::new("strace")
            .args(["-f", "-y", "-qq", "-o"])
            .arg(self.root.join("trace.txt"))
            .args(strace_args)
            .arg(FACS)
            .args(self.facs_args())
            .env("RAYON_NUM_THREADS", "1")
            // cargo's library path makes the loader try dozens of files,
            // every one an `openat` that shadows the build thread's.
            .env_remove("LD_LIBRARY_PATH")
            .stdin(Stdio::null())
            .output()
            .expect("run strace")
    }

    fn trace(&self) -> Vec<Event> {
        parse_trace(&std::fs::read_to_string(self.root.join("trace.txt")).expect("trace"))
    }

    fn read(&self, path: PathBuf) -> Vec<u8> {
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Builds generations 1 and 2 and writes the definitions of generation 3.
    fn at_generation_2() -> (Sandbox, Before) {
        let sb = Sandbox::new();
        write_generation(&sb.project(), 1);
        sb.build_ok();
        let state1 = sb.read(sb.owner().join("state.json"));
        write_generation(&sb.project(), 2);
        sb.build_ok();
        let before = Before {
            state1,
            state2: sb.read(sb.owner().join("state.json")),
            manifest2: sb.read(sb.out().join("prod.json")),
            tree2: read_tree(&sb.out().join("prod")).expect("tree of generation 2"),
        };
        assert_eq!(sb.read(sb.owner().join("state.json.bak")), before.state1, "generation 1 kept as backup");
        write_generation(&sb.project(), 3);
        (sb, before)
    }
}

// ---------------------------------------------------------------------------
// Traces.

/// One system call of a trace.
#[derive(Clone, Debug)]
struct Event {
    tid: u32,
    name: String,
    /// The call as strace printed it (arguments and result).
    text: String,
    /// 1-based count of calls of this name by this thread so far: strace's `when`.
    ordinal: u32,
}

fn parse_trace(text: &str) -> Vec<Event> {
    let mut counts: BTreeMap<(u32, String), u32> = BTreeMap::new();
    let mut events = Vec::new();
    for line in text.lines() {
        let Some((tid, rest)) = line.split_once(' ') else { continue };
        let Ok(tid) = tid.parse::<u32>() else { continue };
        let rest = rest.trim_start();
        if rest.starts_with("<...") || rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        let Some((name, _)) = rest.split_once('(') else { continue };
        let count = counts.entry((tid, name.to_string())).or_insert(0);
        *count += 1;
        events.push(Event { tid, name: name.to_string(), text: rest.to_string(), ordinal: *count });
    }
    events
}

/// Replaces the process id in temp names (`.prod.staging.<pid>`,
/// `.prod.json.tmp.<pid>`), which differs from run to run.
fn without_pid(text: &str) -> String {
    let mut text = text.to_string();
    for marker in [".staging.", ".json.tmp."] {
        let mut from = 0;
        while let Some(at) = text[from..].find(marker) {
            let digits = from + at + marker.len();
            let end = text[digits..].find(|c: char| !c.is_ascii_digit()).map_or(text.len(), |n| digits + n);
            text.replace_range(digits..end, "PID");
            from = digits;
        }
    }
    text
}

/// The arguments of a call as strace printed it, without its result (whose
/// fd annotation strace's `-P` does not look at).
fn args(text: &str) -> &str {
    text.rfind(") = ").map_or(text, |end| &text[..end])
}

/// The absolute paths a call names in its arguments (quoted, or an fd's
/// `<path>` annotation), under `root`.
fn paths_in<'t>(text: &'t str, root: &str) -> Vec<&'t str> {
    let mut paths = Vec::new();
    let mut rest = args(text);
    while let Some(at) = rest.find(root) {
        let tail = &rest[at..];
        let end = tail.find(['"', '>']).unwrap_or(tail.len());
        paths.push(&tail[..end]);
        rest = &tail[end..];
    }
    paths
}

/// Whether strace's `-P path` selects a call: it names `path` as an
/// argument or through a descriptor.
fn names_path(text: &str, path: &str) -> bool {
    let args = args(text);
    args.contains(&format!("\"{path}\"")) || args.contains(&format!("<{path}>"))
}

/// What identifies a call across runs: its name, the paths it names (root
/// and process id replaced) and the flags that tell its kind.
fn key(event: &Event, root: &str) -> String {
    let mut paths: Vec<String> =
        paths_in(&event.text, root).iter().map(|p| without_pid(&p.replacen(root, "ROOT", 1))).collect();
    // Names relative to a directory descriptor (`unlinkat(fd, "app.conf")`);
    // the quoted data of writes differs from run to run.
    if !event.name.contains("write") {
        let quoted = args(&event.text).split('"').skip(1).step_by(2).filter(|q| !q.starts_with('/'));
        paths.extend(quoted.map(without_pid));
    }
    let flags: Vec<&str> =
        ["O_CREAT", "RENAME_EXCHANGE", "AT_REMOVEDIR"].into_iter().filter(|f| event.text.contains(f)).collect();
    format!("{} {} {}", event.name, paths.join(" "), flags.join("|"))
}

/// A call to inject at: `inject=<name>:...:when=<when>`, counting only the
/// calls on `filter` (strace's `-P`) when set.
#[derive(Clone, Debug)]
struct Target {
    name: String,
    when: u32,
    /// A path with the sandbox root as `ROOT`.
    filter: Option<String>,
    key: String,
    /// Position in the reference trace (to order targets against the commit).
    index: usize,
    /// The call is on state (else on outputs).
    state: bool,
    /// `O_CREAT` on an open.
    creates: bool,
}

impl Target {
    /// strace's arguments to trace this call's name and inject `action` at
    /// it, in the sandbox `sb`.
    fn strace_args(&self, sb: &Sandbox, action: &str) -> Vec<String> {
        let mut args = vec![
            "-e".to_string(),
            format!("trace={}", self.name),
            "-e".to_string(),
            format!("inject={}:{action}:when={}", self.name, self.when),
        ];
        if let Some(path) = &self.filter {
            args.extend(["-P".to_string(), path.replacen("ROOT", &sb.root_str(), 1)]);
        }
        args
    }
}

/// strace's `when` for `events[index]` counting the calls `selected` picks:
/// per name and per thread. `None` when another thread reaches that count
/// first, so that the injection would hit another call.
fn nameable(events: &[Event], index: usize, selected: impl Fn(&Event) -> bool) -> Option<u32> {
    let target = &events[index];
    let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
    let mut when = None;
    for (i, e) in events.iter().enumerate() {
        if e.name != target.name || !selected(e) {
            continue;
        }
        let count = counts.entry(e.tid).or_insert(0);
        *count += 1;
        if i == index {
            when = Some(*count);
            break;
        }
    }
    let when = when?;
    // Another thread's call with the same count, earlier, would be hit instead.
    let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
    for e in &events[..index] {
        if e.name == target.name && selected(e) {
            let count = counts.entry(e.tid).or_insert(0);
            *count += 1;
            if *count == when {
                return None;
            }
        }
    }
    Some(when)
}

/// The calls of a reference trace that touch the state or output directory,
/// each with a way to name it for injection. strace counts per name and per
/// thread, so the main thread's `openat`s of the dynamic loader shadow the
/// build thread's first ones: those are named through `-P` with one of
/// their paths instead (one without the process id, the same in every run).
fn targets(sb: &Sandbox, events: &[Event]) -> Vec<Target> {
    let root = sb.root_str();
    let state = format!("{root}/state");
    let out = format!("{root}/out");
    let mut found = Vec::new();
    for (index, e) in events.iter().enumerate() {
        let paths = paths_in(&e.text, &root);
        let under = |dir: &str| paths.iter().any(|p| *p == dir || p.starts_with(&format!("{dir}/")));
        let (on_state, on_out) = (under(&state), under(&out));
        if !on_state && !on_out {
            continue;
        }
        // Reading an output (the ownership check of spec §12 opens each
        // manifest it would replace) changes nothing on disk.
        let read_only = e.name.starts_with("open") && e.text.contains("O_RDONLY") && !e.text.contains("O_CREAT");
        if on_out && !on_state && read_only {
            continue;
        }
        let mut named = nameable(events, index, |_| true).map(|when| (when, None));
        for path in &paths {
            if named.is_some() {
                break;
            }
            if without_pid(path) == *path {
                named = nameable(events, index, |o| names_path(&o.text, path))
                    .map(|when| (when, Some(path.replacen(&root, "ROOT", 1))));
            }
        }
        let Some((when, filter)) = named else {
            panic!("no injection can name {e:?}: other threads make the same calls first")
        };
        found.push(Target {
            name: e.name.clone(),
            when,
            filter,
            key: key(e, &root),
            index,
            state: on_state,
            creates: e.text.contains("O_CREAT"),
        });
    }
    found
}

/// Checks that the first call named by `target` in the last trace is the
/// one it was computed from, and returns the call.
fn assert_hit(sb: &Sandbox, target: &Target) -> Event {
    let events = sb.trace();
    let hit = events
        .iter()
        .find(|e| e.name == target.name && e.ordinal == target.when)
        .unwrap_or_else(|| panic!("{target:?} was never reached"))
        .clone();
    assert_eq!(key(&hit, &sb.root_str()), target.key, "injected at another call than meant");
    hit
}

/// Runs `f` over the targets on two threads (each target has its own sandbox).
fn in_parallel(targets: &[Target], f: impl Fn(&Target) + Sync) {
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..2).map(|part| s.spawn(move || targets.iter().skip(part).step_by(2).for_each(f))).collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

/// The reference trace of the generation-3 build, with its targets.
fn reference() -> (Vec<Target>, usize) {
    let (sb, _) = Sandbox::at_generation_2();
    let out = sb.strace(&["-e".into(), format!("trace={}", strace_set(TOUCHING))]);
    assert!(out.status.success(), "reference build: {}", String::from_utf8_lossy(&out.stderr));
    let events = sb.trace();
    let found = targets(&sb, &events);
    // The commit: the rename of the new state over the live file.
    let commit = found
        .iter()
        .find(|t| {
            t.state && t.key.starts_with("rename") && t.key.contains("state.json.tmp ROOT/state/prod/state.json ")
        })
        .map(|t| t.index)
        .expect("the state commit is traced");
    (found, commit)
}

// ---------------------------------------------------------------------------
// What must hold after an interrupted generation-3 build, and after the
// build that follows it.

fn passwords(state: &serde_json::Value) -> (String, String, String, String, u64) {
    let s = |v: &serde_json::Value| v.as_str().expect("a string").to_string();
    (
        s(&state["secrets"]["instance.api_key"]),
        s(&state["passwd"]["www"]),
        s(&state["passwd"]["db"]),
        s(&state["passwd"]["cache"]),
        state["instances"]["inmap"]["cached.0"]["uiid"].as_u64().expect("uiid"),
    )
}

/// The generation-3 tree that `state` must produce.
fn tree_of(state: &serde_json::Value) -> Tree {
    let (key, web, db, cache, uiid) = passwords(state);
    let app = format!("gen3 key={key} web={web} db={db} cache={cache} uiid={uiid}\n");
    [
        ("demo/_DEPLOY_/etc/app.conf", (0o600, app.into_bytes())),
        ("demo/_DEPLOY_/etc/plain.conf", (0o644, b"gen3 plain\n".to_vec())),
        ("demo/_DEPLOY_/etc/demo.version", (0o644, b"1.0.0\n".to_vec())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// What an interrupted build left. Returns whether the new state is live.
fn assert_consistent(sb: &Sandbox, before: &Before, what: &str) -> bool {
    let state_bytes = sb.read(sb.owner().join("state.json"));
    let state = json(&state_bytes);
    let old_state = json(&before.state2);
    let new = state_bytes != before.state2;
    if new {
        // A superset of generation 2 with every old value unchanged.
        for section in ["passwd", "secrets"] {
            for (k, v) in old_state[section].as_object().expect("section") {
                assert_eq!(&state[section][k], v, "{what}: {section}.{k} changed");
            }
        }
        passwords(&state);
        assert_eq!(sb.read(sb.owner().join("state.json.bak")), before.state2, "{what}: backup of the new state");
    } else {
        let bak = sb.read(sb.owner().join("state.json.bak"));
        assert!(bak == before.state1 || bak == before.state2, "{what}: backup is neither generation 1 nor 2");
    }
    for name in entries(&sb.owner()) {
        assert!(
            [".lock", "state.json", "state.json.bak", "state.json.tmp", "state.json.bak.tmp", "undeployed-secrets"]
                .contains(&name.as_str()),
            "{what}: unexpected {name} in the state directory"
        );
    }
    let tree = read_tree(&sb.out().join("prod")).unwrap_or_else(|| panic!("{what}: no tree"));
    let tree_new = tree != before.tree2;
    if tree_new {
        assert!(new, "{what}: a new tree with the old state");
        assert_eq!(tree, tree_of(&state), "{what}: the tree is neither the old one nor the whole new one");
    }
    let manifest = sb.read(sb.out().join("prod.json"));
    if manifest != before.manifest2 {
        assert!(tree_new, "{what}: a new manifest beside the old tree");
        let m = json(&manifest);
        let (key, _, _, cache, _) = passwords(&state);
        assert_eq!(m["instance"]["api_key"], key.as_str(), "{what}: manifest and state differ");
        assert_eq!(m["module"]["cache"]["password"], cache.as_str(), "{what}: manifest and state differ");
    }
    new
}

/// The build after an interrupted one: succeeds, sweeps what was left,
/// and agrees with the state that was committed (never a second password).
fn assert_recovers(sb: &Sandbox, before: &Before, what: &str) {
    let committed = sb.read(sb.owner().join("state.json"));
    let out = sb.build();
    assert!(out.status.success(), "{what}: the next build failed: {}", String::from_utf8_lossy(&out.stderr));
    let state_bytes = sb.read(sb.owner().join("state.json"));
    if committed != before.state2 {
        assert_eq!(state_bytes, committed, "{what}: the next build rewrote committed state");
    }
    let state = json(&state_bytes);
    assert_eq!(sb.read(sb.owner().join("state.json.bak")), before.state2, "{what}: backup after the next build");
    assert_eq!(read_tree(&sb.out().join("prod")).expect("tree"), tree_of(&state), "{what}: tree after the next build");
    let m = json(&sb.read(sb.out().join("prod.json")));
    let (key, web, db, cache, _) = passwords(&state);
    assert_eq!(m["instance"]["api_key"], key.as_str(), "{what}");
    assert_eq!(m["module"]["web"]["password"], web.as_str(), "{what}");
    assert_eq!(m["module"]["db"]["password"], db.as_str(), "{what}");
    assert_eq!(m["module"]["cache"]["password"], cache.as_str(), "{what}");
    let expect = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        entries(&sb.owner()),
        expect(&[".lock", "state.json", "state.json.bak", "undeployed-secrets"]),
        "{what}: state leftovers"
    );
    assert_eq!(entries(&sb.state()), expect(&["prod"]), "{what}: state root leftovers");
    assert_eq!(entries(&sb.out()), expect(&["prod", "prod.json"]), "{what}: output leftovers");
}

fn killed(out: &Output) -> bool {
    out.status.signal() == Some(libc::SIGKILL) || out.status.code() == Some(128 + libc::SIGKILL)
}

/// Kills the generation-3 build at `target` and checks what it left and the
/// build after it. Returns whether the new state was committed.
fn kill_at(target: &Target) -> bool {
    let (sb, before) = Sandbox::at_generation_2();
    let out = sb.strace(&target.strace_args(&sb, "signal=SIGKILL"));
    let what = format!("killed at {}", target.key);
    assert!(killed(&out), "{what}: not killed: {target:?} {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_hit(&sb, target);
    let new = assert_consistent(&sb, &before, &what);
    assert_recovers(&sb, &before, &what);
    new
}

// Items 1 to 3 of issue 7: SIGKILL at every call on state, then on outputs.

#[test]
fn killed_at_every_call_of_a_state_write() {
    if !common::have_tools("killed_at_every_call_of_a_state_write", &["strace"]) {
        return;
    }
    let (found, commit) = reference();
    let on_state: Vec<Target> = found.into_iter().filter(|t| t.state).collect();
    assert!(on_state.len() >= 12, "too few calls on state to be a state write: {on_state:?}");
    eprintln!("SIGKILL at {} calls on state", on_state.len());
    in_parallel(&on_state, |t| {
        let new = kill_at(t);
        // Before the rename of the new state the old one is live, after it the new one.
        assert_eq!(new, t.index > commit, "killed at {}: wrong generation live", t.key);
    });
}

#[test]
fn killed_at_every_call_of_a_tree_write_or_swap() {
    if !common::have_tools("killed_at_every_call_of_a_tree_write_or_swap", &["strace"]) {
        return;
    }
    let (found, commit) = reference();
    let on_out: Vec<Target> = found.into_iter().filter(|t| !t.state).collect();
    assert!(on_out.len() >= 15, "too few calls on outputs: {on_out:?}");
    assert!(on_out.iter().all(|t| t.index > commit), "outputs written before state was committed");
    assert!(on_out.iter().any(|t| t.key.starts_with("renameat2")), "the swap is traced");
    eprintln!("SIGKILL at {} calls on outputs", on_out.len());
    in_parallel(&on_out, |t| assert!(kill_at(t), "state not committed before outputs"));
}

/// Item 2: killed after the secrets are committed and before any output is
/// written, the next build writes the very values state holds.
#[test]
fn killed_before_the_tree_is_written_the_rerun_reuses_the_secrets() {
    if !common::have_tools("killed_before_the_tree_is_written_the_rerun_reuses_the_secrets", &["strace"]) {
        return;
    }
    let (found, _) = reference();
    let first_out = found.iter().find(|t| !t.state).expect("an output call").clone();
    let (sb, before) = Sandbox::at_generation_2();
    let out = sb.strace(&first_out.strace_args(&sb, "signal=SIGKILL"));
    assert!(killed(&out), "not killed");
    assert_hit(&sb, &first_out);
    let generated = json(&sb.read(sb.owner().join("state.json")));
    assert_ne!(generated, json(&before.state2), "the new secrets were committed");
    assert_eq!(sb.read(sb.out().join("prod.json")), before.manifest2, "no manifest written yet");
    assert_eq!(read_tree(&sb.out().join("prod")).expect("tree"), before.tree2, "no tree written yet");
    assert_recovers(&sb, &before, "killed before outputs");
    assert_eq!(json(&sb.read(sb.owner().join("state.json"))), generated);
}

// ---------------------------------------------------------------------------
// Item 4: disk full at every write, flush and creation of state and outputs.

#[test]
fn disk_full_at_every_write_of_state_and_trees() {
    if !common::have_tools("disk_full_at_every_write_of_state_and_trees", &["strace"]) {
        return;
    }
    let (found, commit) = reference();
    let full: Vec<Target> = found
        .into_iter()
        .filter(|t| CAN_BE_FULL.contains(&t.name.as_str()) && (!t.name.starts_with("open") || t.creates))
        .collect();
    assert!(full.iter().filter(|t| t.state).count() >= 6 && full.iter().filter(|t| !t.state).count() >= 10);
    eprintln!(
        "ENOSPC at {} calls on state and {} on outputs",
        full.iter().filter(|t| t.state).count(),
        full.iter().filter(|t| !t.state).count()
    );
    in_parallel(&full, |t| {
        let (sb, before) = Sandbox::at_generation_2();
        let out = sb.strace(&t.strace_args(&sb, "error=ENOSPC"));
        let what = format!("ENOSPC at {}", t.key);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        let hit = assert_hit(&sb, t);
        assert!(hit.text.contains("ENOSPC") && hit.text.contains("INJECTED"), "{what}: {hit:?}");
        assert!(stderr.contains("No space left on device"), "{what}: {stderr}");
        let area = if t.state { sb.state() } else { sb.out() };
        assert!(stderr.contains(&*area.to_string_lossy()), "{what}: the message names no path: {stderr}");
        // Nothing partial: no temp file, no staging directory.
        assert!(entries(&sb.owner()).iter().all(|n| !n.contains(".tmp")), "{what}: {:?}", entries(&sb.owner()));
        assert!(entries(&sb.out()).iter().all(|n| !n.starts_with('.')), "{what}: {:?}", entries(&sb.out()));
        let new = assert_consistent(&sb, &before, &what);
        assert_eq!(new, t.index > commit, "{what}: wrong generation live");
        let swapping = t.name.starts_with("rename");
        if !swapping {
            // A failure before any rename replaced nothing.
            assert_eq!(sb.read(sb.out().join("prod.json")), before.manifest2, "{what}: manifest replaced");
            assert_eq!(read_tree(&sb.out().join("prod")).expect("tree"), before.tree2, "{what}: tree replaced");
        }
        assert_recovers(&sb, &before, &what);
    });
}

// ---------------------------------------------------------------------------
// Item 4: unwritable directories.

/// How this machine makes a directory unwritable to facs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lock {
    /// Not root: permission bits suffice.
    Chmod,
    /// Root: the immutable attribute (ext4, xfs, btrfs...).
    Chattr,
    /// Root on a file system without it: a read-only bind mount in a
    /// private mount namespace that only the facs process sees.
    BindMount,
}

fn lock_method() -> Lock {
    probe_lock()
        .expect("no way to make a directory unwritable to root here (chattr +i, unshare -m + mount --bind -o ro)")
}

/// How this machine can make a directory unwritable to facs, if at all.
fn probe_lock() -> Option<Lock> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(Lock::Chmod);
    }
    let probe = tempfile::tempdir().expect("tempdir");
    let chattr = |flag: &str| {
        Command::new("chattr").arg(flag).arg(probe.path()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    };
    if chattr("+i") {
        let blocked = std::fs::write(probe.path().join("f"), "x").is_err();
        assert!(chattr("-i"), "cannot clear the immutable attribute of {}", probe.path().display());
        if blocked {
            return Some(Lock::Chattr);
        }
    }
    let bind = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --bind -o ro \"$0\" \"$0\" && ! touch \"$0/f\" 2>/dev/null"])
        .arg(probe.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    bind.then_some(Lock::BindMount)
}

/// False (after printing `skipped:`) when no directory can be made
/// unwritable here: root without chattr and without mount namespaces.
fn can_lock(test: &str) -> bool {
    probe_lock().is_some()
        || common::may_skip(test, "needs chattr +i or unshare -m to make a directory unwritable to root")
}

/// Runs a build of `sb` with `dir` unwritable, restoring it afterwards.
fn build_with_unwritable(sb: &Sandbox, dir: &Path) -> Output {
    let method = lock_method();
    let set = |on: bool| {
        let ok = match method {
            Lock::Chmod => {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(if on { 0o555 } else { 0o755 })).is_ok()
            }
            Lock::Chattr => {
                Command::new("chattr").arg(if on { "+i" } else { "-i" }).arg(dir).status().is_ok_and(|s| s.success())
            }
            Lock::BindMount => true,
        };
        assert!(ok, "cannot change {}", dir.display());
    };
    set(true);
    let out = if method == Lock::BindMount {
        Command::new("unshare")
            .args(["-m", "sh", "-c", "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\""])
            .arg(dir)
            .arg(FACS)
            .args(sb.facs_args())
            .output()
            .expect("run facs")
    } else {
        sb.build()
    };
    set(false);
    out
}

fn assert_refused_naming(out: &Output, path: &Path, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert!(
        stderr.contains(&*path.to_string_lossy()),
        "{what}: the message does not name {}: {stderr}",
        path.display()
    );
}

#[test]
fn an_unwritable_state_directory_fails_with_everything_intact() {
    if !can_lock("an_unwritable_state_directory_fails_with_everything_intact") {
        return;
    }
    let (sb, before) = Sandbox::at_generation_2();
    let out = build_with_unwritable(&sb, &sb.owner());
    assert_refused_naming(&out, &sb.owner(), "unwritable owner directory");
    assert_eq!(sb.read(sb.owner().join("state.json")), before.state2, "state changed");
    assert_eq!(sb.read(sb.owner().join("state.json.bak")), before.state1, "backup changed");
    // The build of generation 1 recorded its secrets as not yet deployed.
    let expected = [".lock", "state.json", "state.json.bak", "undeployed-secrets"];
    assert_eq!(entries(&sb.owner()), expected.map(String::from).into());
    assert_eq!(sb.read(sb.out().join("prod.json")), before.manifest2, "manifest written without state");
    assert_eq!(read_tree(&sb.out().join("prod")).expect("tree"), before.tree2, "tree written without state");
    assert_recovers(&sb, &before, "after an unwritable owner directory");
}

#[test]
fn an_unwritable_state_root_fails_before_the_first_generation() {
    if !can_lock("an_unwritable_state_root_fails_before_the_first_generation") {
        return;
    }
    let sb = Sandbox::new();
    write_generation(&sb.project(), 1);
    std::fs::create_dir(sb.state()).expect("mkdir");
    let out = build_with_unwritable(&sb, &sb.state());
    assert_refused_naming(&out, &sb.owner(), "unwritable state root");
    assert!(entries(&sb.state()).is_empty(), "{:?}", entries(&sb.state()));
    assert!(!sb.out().exists(), "outputs written without state");
}

#[test]
fn an_unwritable_output_directory_fails_with_the_old_outputs_intact() {
    if !can_lock("an_unwritable_output_directory_fails_with_the_old_outputs_intact") {
        return;
    }
    let (sb, before) = Sandbox::at_generation_2();
    let out = build_with_unwritable(&sb, &sb.out());
    assert_refused_naming(&out, &sb.out(), "unwritable output directory");
    assert_eq!(entries(&sb.out()), ["prod", "prod.json"].map(String::from).into());
    assert_eq!(sb.read(sb.out().join("prod.json")), before.manifest2, "manifest replaced");
    assert_eq!(read_tree(&sb.out().join("prod")).expect("tree"), before.tree2, "tree replaced");
    // State is committed before outputs are written (a manifest must never
    // hold a secret state could lose), so the new values are kept, the
    // previous generation as backup, and the next build writes them.
    assert!(assert_consistent(&sb, &before, "unwritable output directory"), "state committed first");
    assert_recovers(&sb, &before, "after an unwritable output directory");
}

// ---------------------------------------------------------------------------
// Item 6: umask 000. Files holding secrets are created 0600 and state
// directories 0700 by the call that creates them.

/// `(path, mode)` of every `open(O_CREAT)`/`creat`/`mkdir` in a trace, and
/// every chmod-like call.
fn creations(events: &[Event]) -> (Vec<(String, u32, bool)>, Vec<String>) {
    let mut created = Vec::new();
    let mut chmods = Vec::new();
    for e in events {
        let quoted: Vec<&str> = e.text.split('"').skip(1).step_by(2).collect();
        let path = quoted.first().map(|s| s.to_string()).unwrap_or_default();
        // The mode is the last argument, before `) = <result>`.
        let args = e.text.rfind(") = ").map_or("", |end| &e.text[..end]);
        let mode = args.rsplit(", ").next().and_then(|m| u32::from_str_radix(m.trim(), 8).ok());
        match e.name.as_str() {
            "openat" | "open" if e.text.contains("O_CREAT") => {
                created.push((path, mode.expect("open(O_CREAT) has a mode"), false))
            }
            "creat" => created.push((path, mode.expect("creat has a mode"), false)),
            "mkdir" | "mkdirat" => created.push((path, mode.expect("mkdir has a mode"), true)),
            "chmod" | "fchmod" | "fchmodat" => chmods.push(e.text.clone()),
            _ => {}
        }
    }
    (created, chmods)
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Builds under umask 000 (set in the child before exec, inherited by facs
/// through strace), tracing every call that creates a file or sets a mode.
fn umask_000_build(sb: &Sandbox) {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(sb.root.join("trace.txt"))
        .arg("-e")
        .arg(format!(
            "trace={}",
            strace_set(&["open", "openat", "creat", "mkdir", "mkdirat", "chmod", "fchmod", "fchmodat"])
        ))
        .arg(FACS)
        .args(sb.facs_args());
    // SAFETY: umask is async-signal-safe, and nothing else runs in the child
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let out = cmd.output().expect("strace");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn with_umask_000_secrets_are_private_from_creation() {
    if !common::have_tools("with_umask_000_secrets_are_private_from_creation", &["strace"]) {
        return;
    }
    let sb = Sandbox::new();
    let root = sb.root_str();
    let mut all = Vec::new();
    // Generations 1 and 2 (the second makes state.json.bak), then a build
    // over a leftover temp file of a killed writer.
    for generation in 1..=3 {
        write_generation(&sb.project(), generation);
        if generation == 3 {
            std::fs::write(sb.owner().join("state.json.tmp"), "leftover").expect("seed");
            std::fs::set_permissions(sb.owner().join("state.json.tmp"), std::fs::Permissions::from_mode(0o666))
                .expect("chmod");
        }
        umask_000_build(&sb);
        all.extend(sb.trace());
    }
    let (created, chmods) = creations(&all);
    let state = format!("{root}/state");
    let out = format!("{root}/out");
    let mut checked = BTreeSet::new();
    for (path, mode, dir) in &created {
        let want = if path.starts_with(&state) {
            Some(if *dir { 0o700 } else { 0o600 })
        } else if path.starts_with(&out) {
            let name = path.rsplit('/').next().unwrap_or_default();
            if *dir {
                Some(0o755)
            } else if name.ends_with(".json") || name.contains(".json.tmp.") || name == "app.conf" {
                Some(0o600)
            } else {
                Some(0o644)
            }
        } else {
            None
        };
        if let Some(want) = want {
            assert_eq!(*mode, want, "{path} created with mode {mode:o}");
            let name = path.rsplit('/').next().unwrap_or_default();
            checked.insert(if name.contains(".json.tmp.") { ".NAME.json.tmp.PID".into() } else { name.to_string() });
        }
    }
    for must in ["state", "prod", ".lock", "state.json.tmp", "out", ".NAME.json.tmp.PID", "app.conf"] {
        assert!(checked.contains(must), "no creation of {must} traced: {checked:?}");
    }
    let touching: Vec<&String> = chmods.iter().filter(|c| c.contains(&state) || c.contains(&out)).collect();
    assert!(touching.is_empty(), "modes fixed after creation: {touching:?}");
    // And the final modes.
    for (path, want) in [
        (sb.state(), 0o700),
        (sb.owner(), 0o700),
        (sb.owner().join("state.json"), 0o600),
        (sb.owner().join("state.json.bak"), 0o600),
        (sb.owner().join(".lock"), 0o600),
        (sb.out(), 0o755),
        (sb.out().join("prod.json"), 0o600),
        (sb.out().join("prod/demo/_DEPLOY_/etc/app.conf"), 0o600),
        (sb.out().join("prod/demo/_DEPLOY_/etc/plain.conf"), 0o644),
    ] {
        assert_eq!(mode_of(&path), want, "{}", path.display());
    }
    assert!(!sb.owner().join("state.json.tmp").exists());
}

/// A legacy state file readable by others: its backup is still created 0600.
#[test]
fn with_umask_000_the_backup_of_a_legacy_state_file_is_private() {
    if !common::have_tools("with_umask_000_the_backup_of_a_legacy_state_file_is_private", &["strace"]) {
        return;
    }
    let sb = Sandbox::new();
    write_generation(&sb.project(), 1);
    std::fs::create_dir_all(sb.owner()).expect("mkdir");
    let legacy = "{\"passwd\": {\"www\": \"11111111-1111-4111-8111-111111111111\"}}\n";
    std::fs::write(sb.owner().join("state.json"), legacy).expect("seed");
    std::fs::set_permissions(sb.owner().join("state.json"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    umask_000_build(&sb);
    // The build tightens the legacy directory and file first (W003: the only
    // chmods), so the backup made from the file is private too.
    let (_, chmods) = creations(&sb.trace());
    let expected = [
        format!("chmod(\"{}\", 0700) = 0", sb.owner().display()),
        format!("chmod(\"{}\", 0600) = 0", sb.owner().join("state.json").display()),
    ];
    assert_eq!(chmods, expected);
    assert_eq!(std::fs::read_to_string(sb.owner().join("state.json.bak")).expect("bak"), legacy);
    assert_eq!(mode_of(&sb.owner().join("state.json.bak")), 0o600);
    assert_eq!(mode_of(&sb.owner().join("state.json")), 0o600);
}

// ---------------------------------------------------------------------------
// Builds into one output directory at the same time: each one's staging is
// its own, so none removes another's work in progress or fails for it.

#[test]
fn concurrent_builds_into_one_output_directory_all_succeed() {
    const FILES: usize = 400;
    let sb = Sandbox::new();
    write_generation(&sb.project(), 3);
    // A tree big enough for one build's sweep to meet another's staging.
    let many = sb.project().join("tmpl/_ALL_/many");
    std::fs::create_dir_all(&many).expect("mkdir");
    for i in 0..FILES {
        std::fs::write(many.join(format!("f{i}")), format!("{i} {{{{instance.home}}}}\n").repeat(50)).expect("write");
    }
    sb.build_ok();
    // Before the sweep spared running builds, the first round failed every time.
    for round in 0..2 {
        let children: Vec<_> = (0..6)
            .map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(3));
                Command::new(FACS)
                    .args(sb.facs_args())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn facs")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("wait");
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let tree = read_tree(&sb.out().join("prod")).expect("tree");
        assert_eq!(tree.len(), 3 + FILES, "round {round}: files missing from the tree");
        let expect: BTreeSet<String> = ["prod", "prod.json"].map(String::from).into();
        assert_eq!(entries(&sb.out()), expect, "round {round}: leftovers");
    }
}
