//! What each fuzz target does with its input, in one place.
//!
//! The fuzz targets (`fuzz/fuzz_targets/*.rs`) and the replay test
//! (`tests/it/fuzz_regressions.rs`) both include this file with `#[path]`, so a
//! saved input is replayed through exactly the code that found it. It uses
//! only `facs`' public API, `serde_json` and `std`.

// Each fuzz target uses one of these functions.
#![allow(dead_code)]

use facs::build::{self, Mode, Options, Session};
use facs::diagnostic::{render_human, render_json, Diagnostic, Sink};
use facs::source::{DiskFs, MemoryFs, SourceMap};
use facs::state::{State, StateDir};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The stack `facs` runs on (src/main.rs): the pipeline is run on a thread
/// this big, so that a stack overflow found here would also happen in `facs`.
const CLI_STACK: usize = 256 * 1024 * 1024;

type Task = Box<dyn FnOnce() + Send>;

/// Runs `f` on one long-lived thread with the CLI's stack size (spawning a
/// thread per input would halve the executions per second). A panic in `f`
/// is resumed in the caller.
pub fn on_cli_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    static WORKER: OnceLock<mpsc::Sender<Task>> = OnceLock::new();
    let worker = WORKER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Task>();
        std::thread::Builder::new()
            .name("facs".into())
            .stack_size(CLI_STACK)
            .spawn(move || rx.into_iter().for_each(|task| task()))
            .expect("cannot start the worker thread");
        tx
    });
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let task: Task = Box::new(move || {
        let _ = done_tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    worker.send(task).expect("the worker thread is gone");
    match done_rx.recv().expect("the worker thread is gone") {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Prints nothing, but formats every diagnostic both ways the CLI can print
/// it (`ui.diagnostics`, src/cli.rs): a span that does not fit its file must
/// not panic there either.
fn show(sources: &SourceMap, sink: Sink) {
    let diagnostics: Vec<Diagnostic> = sink.into_sorted();
    let human = render_human(sources, &diagnostics, false);
    assert!(diagnostics.is_empty() || !human.is_empty());
    for d in &diagnostics {
        let json = render_json(sources, d);
        assert!(json.starts_with('{'), "render_json: {json}");
    }
}

// ------------------------------------------------------------------ parse

/// `parse`: the bytes are one `.facs` file (not necessarily UTF-8: `load`
/// reports E001 for that), loaded and parsed; diagnostics are formatted.
pub fn parse(data: &[u8]) {
    let mut fs = MemoryFs::default();
    fs.files.insert("main.facs".to_string(), data.to_vec());
    let mut sink = Sink::new();
    let loaded = build::load(&fs, &mut sink).expect("MemoryFs cannot fail to read");
    show(&loaded.sources, sink);
}

// ------------------------------------------------------------------ check_dir

/// Separates the files of a `check_dir` input.
pub const FILE_SEPARATOR: &[u8] = b"\n----\n";

/// At most this many files per `check_dir` input.
pub const MAX_FILES: usize = 4;

/// Splits a `check_dir` input into `a.facs`, `b.facs`, ... (the last file
/// keeps whatever follows the fourth separator).
pub fn split_files(data: &[u8]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut rest = data;
    while files.len() + 1 < MAX_FILES {
        let Some(at) = rest.windows(FILE_SEPARATOR.len()).position(|w| w == FILE_SEPARATOR) else { break };
        files.push(&rest[..at]);
        rest = &rest[at + FILE_SEPARATOR.len()..];
    }
    files.push(rest);
    files
        .into_iter()
        .zip(b'a'..)
        .map(|(bytes, letter)| (format!("{}.facs", letter as char), String::from_utf8_lossy(bytes).into_owned()))
        .collect()
}

/// `check_dir`: up to four files through `build::compile_memory` (parse,
/// resolve, types, body checks, evaluation of every concrete instance with
/// placeholder secrets).
pub fn check_dir(data: &[u8]) {
    let files = split_files(data);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let (manifests, diagnostics) = build::compile_memory(&refs);
    for (name, manifest) in &manifests {
        assert!(!name.is_empty(), "an instance without a name");
        let _ = manifest.to_string();
    }
    for (code, file, _line) in &diagnostics {
        assert!(code.starts_with('E') || code.starts_with('W'), "odd diagnostic code {code}");
        assert!(file.is_empty() || files.iter().any(|(n, _)| n == file), "diagnostic in unknown file {file}");
    }
}

// ------------------------------------------------------------------ state_load

/// `state_load`: the bytes are `<dir>/owner/state.json`, read with
/// `StateDir::load` (which validates them with `state::document::parse`; that
/// function is private, so it is reached only this way), then used the way
/// a build uses state and saved and read again the way `persist` does.
/// `dir` is a scratch state directory.
pub fn state_load(dir: &Path, data: &[u8]) {
    let state_dir = StateDir::new(dir);
    let path = state_dir.state_path("owner");
    std::fs::create_dir_all(state_dir.owner_dir("owner")).expect("create the owner dir");
    std::fs::write(&path, data).expect("write state.json");
    match state_dir.load("owner") {
        Ok(mut state) => {
            use_state(&mut state);
            // What a build saves (`StateDir::stage`) must load again, unchanged.
            let text = state.to_text().expect("state serializes");
            std::fs::create_dir_all(state_dir.owner_dir("again")).expect("create the owner dir");
            std::fs::write(state_dir.state_path("again"), &text).expect("write state.json");
            match state_dir.load("again") {
                Ok(again) => assert!(again.doc() == state.doc(), "saved state reads back different: {text}"),
                Err(e) => panic!("saved state does not load again: {e}"),
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// What evaluation asks of state (spec §9), checking that nothing read is
/// changed or dropped.
fn use_state(state: &mut State) {
    state.placeholders = true;
    let before = state.doc().clone();
    let password = state.password("app");
    assert_eq!(state.password("app"), password, "a password changed between two reads");
    let secret = state.secret("instance.session_key");
    assert_eq!(state.secret("instance.session_key"), secret, "a secret changed between two reads");
    for i in 0..2 {
        let name = format!("appd.{i}");
        let uiid = state.service_uiid(&name, "app");
        if let Err(n) = uiid {
            assert!(n > facs::state::MAX_UIID, "refused uiid {n}");
        }
        assert_eq!(state.service_uiid(&name, "app"), uiid, "the uiid of {name} changed between two reads");
    }
    let after = state.doc();
    // Entries facs does not own are kept as read, in place.
    let kept = |d: &facs::state::Document| {
        d.entries.iter().filter(|e| matches!(e, facs::state::Entry::Kept(..))).cloned().collect::<Vec<_>>()
    };
    assert_eq!(kept(after), kept(&before), "an entry facs does not own changed");
    for (key, old) in &before.sections {
        let new = after.sections.get(key);
        match (key.as_str(), old, new) {
            ("passwd" | "secrets", Json::Object(old), Some(Json::Object(new))) => {
                for (k, v) in old {
                    assert_eq!(new.get(k), Some(v), "`{key}.{k}` changed");
                }
            }
            ("instances", Json::Object(old), Some(Json::Object(new))) => {
                for (sub, old) in old {
                    let new = new.get(sub);
                    match (sub.as_str(), old, new) {
                        ("inmap" | "uiidmap", Json::Object(old), Some(Json::Object(new))) => {
                            for (k, v) in old {
                                // An `inmap` entry without a readable uiid is not
                                // one facs wrote; it is replaced (see the README).
                                let readable = sub == "uiidmap" || v.get("uiid").is_some_and(readable_uiid);
                                if readable {
                                    assert_eq!(new.get(k), Some(v), "`instances.{sub}.{k}` changed");
                                }
                            }
                        }
                        _ => assert_eq!(new, Some(old), "`instances.{sub}` changed"),
                    }
                }
            }
            _ => assert_eq!(new, Some(old), "`{key}` changed"),
        }
    }
}

/// A uiid `State::service_uiid` reuses: a number, or a string of one.
fn readable_uiid(v: &Json) -> bool {
    v.as_u64().is_some() || v.as_str().is_some_and(|s| s.parse::<u64>().is_ok())
}

// ------------------------------------------------------------------ render

/// The definition directory of the `render` target: a project with a
/// service, a daemon, a secret and fields of every kind; the fuzz input
/// becomes `tmpl/_ALL_/f.txt`.
pub const RENDER_PROJECT: &str = r#"project web { version: "1.0.0" }

schema Instance { session_key: secret  ... }

module api { service { logical_name: "api", n_instances: 2 } }
module db { daemon: "postgres" }

instance beta {
  home: "/srv/beta"
  empty: ""
  proxy: null
  ports: [80, 443]
  limits { cpu: 2  memory: "1G" }
  markup: "<a href=\"x?a=1&b=2\">'quoted'</a>"
  workers: 3
  ratio: 0.5
  enabled: true
  dsn: "postgres://${module.db.username}:${module.db.password}@localhost/app"
  install: [ { type: "tmpl", dir: "tmpl" } ]
}
"#;

/// Creates the `render` definition directory in `dir` (empty or absent).
pub fn render_setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("tmpl/_ALL_")).expect("create tmpl/_ALL_");
    std::fs::write(dir.join("main.facs"), RENDER_PROJECT).expect("write main.facs");
}

/// The template file the `render` input is written to.
pub fn render_template_path(dir: &Path) -> PathBuf {
    dir.join("tmpl/_ALL_/f.txt")
}

/// `render`: writes the bytes as a template in `dir` (see [`render_setup`])
/// and runs what `facs check` runs (`compile_and_write` with
/// `Writes::Nothing`, src/cli/commands.rs): load, analyse, select, compile in
/// check mode, render the trees in memory, format the diagnostics. Nothing
/// is written outside `dir` (nothing at all, in fact, but the template).
pub fn render(dir: &Path, data: &[u8]) {
    std::fs::write(render_template_path(dir), data).expect("write the template");
    let options = Options::new(dir, None, None);
    let fs = DiskFs::new(&options.project_dir, &[options.out_dir.clone(), options.state_dir.clone()]);
    let Ok(mut session) = Session::open(&fs, options) else { panic!("the render project does not parse") };
    let selected = session.select(&[]);
    assert!(!session.has_errors() && !selected.is_empty(), "the render project does not check");
    let compilation = session.compile(&selected, Mode::Check);
    assert!(!session.has_errors() && compilation.failures.is_empty(), "the render project does not compile");
    let trees = session.render(&compilation, None);
    if !session.has_errors() {
        let tree = &trees.first().expect("one tree").1;
        assert!(tree.keys().any(|k| k.ends_with("/f.txt")), "the template was not rendered");
    }
    show(&session.sources, session.sink);
}
