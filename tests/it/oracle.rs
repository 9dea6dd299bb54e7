//! The oracle test: `facs import` checked against the original facsimile
//! 1.1.1 itself, not against our reading of it.
//!
//! Each project in `tests/oracle/projects/<name>/repo/` is a repository in
//! the original's own layout (`config/facsimile/`). For every environment of
//! the project the test runs the original's install stage
//! (`tests/oracle/original.py`, in a Python 3.9 virtualenv made once in
//! `target/oracle-venv-1.1.1`), then imports the repository with
//! `facs import REPO --name NAME --env E... --state TOP/state -o FACSDIR`,
//! builds it with `facs -p FACSDIR build -o OUT`, and compares:
//!
//! 1. the rendered tree, file by file and byte for byte (the original's
//!    release directory against `OUT/<instance>/<project>/`);
//! 2. the instance data: the manifest's `instance` against the original's
//!    merged definition, after the documented conversion (see
//!    [`compare_instance`]);
//! 3. the modules: each module's `username` and `password` against the
//!    original's template context, and each service's uiid against the
//!    original's `instances.inmap`;
//! 4. the state both ways: (a) facs keeps every password and uiid of the
//!    original's state it imported; (b) the original, run on the state a
//!    fresh facs build wrote, uses facs's passwords and uiids and adds no
//!    password of its own.
//!
//! Every check is a row of a table (check, original, facs, equal) printed
//! as Markdown at the end; a failure names the project, environment and
//! check, and for a file the first line that differs. When the import or
//! the build fails, the rows that need its output are marked `blocked`
//! and only the failing command is reported.
//!
//! An environment `a.b` becomes the instance `b`, or `a-b` when another
//! environment of the project also ends in `.b`.
//!
//! Without Python 3.9 (`$FACS_ORACLE_PYTHON`, `~/.pyenv/versions/3.9*`,
//! `python3.9` on PATH) or without a package registry for the first
//! `pip install`, the tests are skipped (`common::may_skip`).

use crate::common;

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PROJECTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/projects");
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/original.py");
const VENV_NAME: &str = "oracle-venv-1.1.1";
const PIP_PACKAGES: &[&str] = &["facsimile==1.1.1", "jinja2"];

/// Every fixture project and the environments the test runs, in order.
const PROJECTS: &[(&str, &[&str])] =
    &[("shopfront", &["dev.dev0", "dev.dev1", "prod"]), ("ledger", &["stage.eu", "prod.eu", "prod.us"])];

/// Top-level keys `.facs` reserves; the import may keep such a key of the
/// original's data under `<key>_`.
const RESERVED: &[&str] = &["name", "project", "module", "instance", "env", "facs"];

#[test]
fn shopfront() {
    run_project("oracle::shopfront", "shopfront");
}

#[test]
fn ledger() {
    run_project("oracle::ledger", "ledger");
}

/// Tidy check: every directory under `tests/oracle/projects/` is in
/// [`PROJECTS`] and has a test above (a fixture nobody runs proves nothing).
#[test]
fn every_project_is_run() {
    let mut on_disk: Vec<String> = std::fs::read_dir(PROJECTS_DIR)
        .expect("tests/oracle/projects/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = PROJECTS.iter().map(|(name, _)| name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/oracle/projects/ and PROJECTS in tests/it/oracle.rs disagree");
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/oracle.rs")).expect("oracle.rs");
    for (name, _) in PROJECTS {
        assert!(source.contains(&format!("fn {name}()")), "project {name} has no #[test] fn {name}() in oracle.rs");
    }
}

#[test]
fn instance_names_follow_the_import_rule() {
    assert_eq!(instance_names(&["dev.dev0", "dev.dev1", "prod"]), ["dev0", "dev1", "prod"]);
    assert_eq!(instance_names(&["stage.eu", "prod.eu", "prod.us"]), ["stage-eu", "prod-eu", "us"]);
}

/// The instance each environment becomes: its last dotted segment, or the
/// whole name with `-` for `.` when two environments share that segment.
fn instance_names(envs: &[&str]) -> Vec<String> {
    let last = |env: &str| env.rsplit('.').next().unwrap_or(env).to_string();
    envs.iter()
        .map(|env| {
            let shared = envs.iter().filter(|other| last(other) == last(env)).count() > 1;
            if shared {
                env.replace('.', "-")
            } else {
                last(env)
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Python and the original

/// The virtualenv's python, made once per machine (and once per test
/// process: the other test threads wait on the lock).
fn venv_python() -> &'static Result<PathBuf, String> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(make_venv)
}

/// A command for a Python of ours: none of the caller's Python settings, and
/// no LD_LIBRARY_PATH (the original refuses to run with one).
fn python_command(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.env_remove("LD_LIBRARY_PATH")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("PYTHONSTARTUP")
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0");
    cmd
}

fn imports_ok(python: &Path) -> bool {
    python.is_file()
        && python_command(python)
            .args(["-c", "import facsimile.base, jinja2"])
            .output()
            .is_ok_and(|out| out.status.success())
}

/// The last `n` lines of a process's stderr (or stdout when stderr is
/// empty), for failure messages.
fn tail(out: &std::process::Output, n: usize) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = if stderr.trim().is_empty() { String::from_utf8_lossy(&out.stdout) } else { stderr };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `target/oracle-venv-1.1.1` with facsimile 1.1.1 and jinja2. It is built
/// under a temporary name and renamed into place, so a run that is killed
/// halfway or races another `cargo test` never leaves a half-made venv
/// under the real name. A venv keeps working after the rename: its python
/// finds `pyvenv.cfg` next to itself, and only pip's scripts (unused) have
/// the old path.
fn make_venv() -> Result<PathBuf, String> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let venv = target.join(VENV_NAME);
    let python = venv.join("bin/python");
    if imports_ok(&python) {
        return Ok(python);
    }
    let base = find_python()?;
    let version = python_command(&base)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", base.display()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    if version != "3.9" {
        return Err(format!(
            "needs Python 3.9 for facsimile 1.1.1 (collections.MutableMapping), but {} is Python {version:?}",
            base.display()
        ));
    }
    std::fs::create_dir_all(&target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let tmp = target.join(format!("{VENV_NAME}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let made = python_command(&base)
        .args(["-m", "venv"])
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", base.display()))?;
    if !made.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("`{} -m venv` failed: {}", base.display(), tail(&made, 5)));
    }
    let tmp_python = tmp.join("bin/python");
    let pip = python_command(&tmp_python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--retries",
            "1",
            "--timeout",
            "30",
        ])
        .args(PIP_PACKAGES)
        .output()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !pip.status.success() || !imports_ok(&tmp_python) {
        let _ = std::fs::remove_dir_all(&tmp);
        // pip ends with its reason (`ERROR: ...`) after pages of retries.
        let stderr = String::from_utf8_lossy(&pip.stderr);
        let reason =
            stderr.lines().rev().find(|l| l.starts_with("ERROR")).map_or_else(|| tail(&pip, 5), str::to_string);
        return Err(format!("`pip install {}` failed (no package registry?): {reason}", PIP_PACKAGES.join(" ")));
    }
    if venv.exists() {
        // A venv under the real name that cannot import facsimile is broken.
        let _ = std::fs::remove_dir_all(&venv);
    }
    if std::fs::rename(&tmp, &venv).is_err() {
        // Another test process won the race; use its venv.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if imports_ok(&python) {
        Ok(python)
    } else {
        Err(format!("{} cannot import facsimile after installing it", python.display()))
    }
}

/// `$FACS_ORACLE_PYTHON`, else the newest `~/.pyenv/versions/3.9*`, else
/// `python3.9` on PATH.
fn find_python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("FACS_ORACLE_PYTHON") {
        let python = PathBuf::from(python);
        if !python.is_file() {
            return Err(format!("FACS_ORACLE_PYTHON={} is not a file", python.display()));
        }
        return Ok(python);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let versions = Path::new(&home).join(".pyenv/versions");
        let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(&versions)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                let rest = name.strip_prefix("3.9")?;
                if rest.starts_with(|c: char| c.is_ascii_digit()) {
                    return None;
                }
                let python = versions.join(&name).join("bin/python");
                let key = name.split(['.', '-']).map(|part| part.parse().unwrap_or(0)).collect();
                python.is_file().then_some((key, python))
            })
            .collect();
        found.sort();
        if let Some((_, python)) = found.pop() {
            return Ok(python);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(python) = std::env::split_paths(&path).map(|dir| dir.join("python3.9")).find(|p| p.is_file()) {
        return Ok(python);
    }
    Err("needs Python 3.9 (set FACS_ORACLE_PYTHON, install ~/.pyenv/versions/3.9.x, or put python3.9 on PATH)".into())
}

/// What the original computed for one environment (see original.py).
struct Original {
    data: Map<String, Value>,
    /// The template context's `module`, keyed by daemon, else name.
    module: Map<String, Value>,
    release_dir: PathBuf,
    state: Value,
}

/// Runs the original's install stage for `env` with top directory `top`.
fn run_original(
    python: &Path,
    repo: &Path,
    name: &str,
    env: &str,
    version: &str,
    top: &Path,
) -> Result<Original, String> {
    std::fs::create_dir_all(top).map_err(|e| format!("mkdir {}: {e}", top.display()))?;
    let out_json = top.join(format!("original-{env}.json"));
    let out = python_command(python)
        .arg(DRIVER)
        .arg("--repo")
        .arg(repo)
        .args(["--name", name, "--env", env, "--version", version])
        .arg("--top")
        .arg(top)
        .arg("--out")
        .arg(&out_json)
        .current_dir(repo)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!("the original failed for {env}:\n{}", tail(&out, 25)));
    }
    let result = read_json(&out_json)?;
    let field = |key: &str| result.get(key).cloned().ok_or_else(|| format!("original.py wrote no `{key}`"));
    let state_file = PathBuf::from(field("state_file")?.as_str().unwrap_or_default());
    Ok(Original {
        data: object(field("data")?),
        module: object(field("module")?),
        release_dir: PathBuf::from(field("release_dir")?.as_str().unwrap_or_default()),
        state: read_json(&state_file)?,
    })
}

// ---------------------------------------------------------------------------
// facs

/// `facs import REPO --name NAME --env E... [--state DIR] -o OUT`.
fn facs_import(repo: &Path, name: &str, envs: &[&str], state: Option<&Path>, out: &Path) -> Result<(), String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facs"));
    cmd.arg("import").arg(repo).args(["--name", name]).env("NO_COLOR", "1");
    for env in envs {
        cmd.args(["--env", env]);
    }
    if let Some(state) = state {
        cmd.arg("--state").arg(state);
    }
    cmd.arg("-o").arg(out);
    let run = cmd.output().map_err(|e| format!("cannot run facs: {e}"))?;
    if run.status.success() {
        Ok(())
    } else {
        Err(format!("`facs import` exited with {:?}: {}", run.status.code(), tail(&run, 12)))
    }
}

/// `facs -p FACSDIR build -o OUT`.
fn facs_build(facs_dir: &Path, out: &Path) -> Result<(), String> {
    let out = out.to_str().expect("utf-8 temp path");
    let (code, stdout, stderr) = common::facs_run(facs_dir, &["build", "-o", out]);
    if code == Some(0) {
        Ok(())
    } else {
        let text = if stderr.trim().is_empty() { stdout } else { stderr };
        let lines: Vec<&str> = text.lines().collect();
        Err(format!("`facs build` exited with {code:?}: {}", lines[lines.len().saturating_sub(12)..].join("\n")))
    }
}

/// What facs produced for one instance; `None` where it wrote nothing.
struct Facs {
    manifest: Option<Value>,
    tree: Option<PathBuf>,
    state: Option<Value>,
}

fn facs_side(facs_dir: &Path, out: &Path, project: &str, instance: &str) -> Facs {
    let tree = out.join(instance).join(project);
    Facs {
        manifest: read_json(&out.join(format!("{instance}.json"))).ok(),
        tree: tree.is_dir().then_some(tree),
        state: read_json(&state_path(facs_dir, instance)).ok(),
    }
}

fn state_path(facs_dir: &Path, instance: &str) -> PathBuf {
    facs_dir.join(".facsimile/state").join(instance).join("state.json")
}

// ---------------------------------------------------------------------------
// The report

#[derive(PartialEq)]
enum Status {
    Equal,
    Differs,
    /// facs produced nothing to compare because an earlier step failed.
    Blocked,
}

struct Row {
    env: String,
    check: String,
    original: String,
    facs: String,
    status: Status,
}

struct Report {
    project: String,
    rows: Vec<Row>,
    failures: Vec<String>,
    /// Set while the facs side is missing because import or build failed.
    blocked: bool,
}

impl Report {
    /// One check: `facs` is `None` when facs wrote nothing there. `detail`
    /// explains a difference better than the two cells can.
    fn row(
        &mut self,
        env: &str,
        check: &str,
        original: String,
        facs: Option<String>,
        equal: bool,
        detail: Option<String>,
    ) {
        let status = match (&facs, equal) {
            (None, _) if self.blocked => Status::Blocked,
            (Some(_), true) => Status::Equal,
            _ => Status::Differs,
        };
        if status == Status::Differs {
            let what = detail.unwrap_or_else(|| match &facs {
                Some(f) => format!("original {original}, facs {f}"),
                None => format!("original {original}, facs wrote nothing"),
            });
            self.failures.push(format!("project {}, env {env}, {check}: {what}", self.project));
        }
        let facs = facs.unwrap_or_else(|| "(missing)".into());
        self.rows.push(Row { env: env.into(), check: check.into(), original, facs, status });
    }

    /// A step that failed outright (import, build, a run of the original on
    /// facs's state).
    fn fail(&mut self, env: &str, check: &str, why: String) {
        let first = why.lines().next().unwrap_or_default().to_string();
        self.failures.push(format!("project {}, env {env}, {check}: {why}", self.project));
        self.rows.push(Row {
            env: env.into(),
            check: check.into(),
            original: "-".into(),
            facs: first,
            status: Status::Differs,
        });
    }

    fn table(&self) -> String {
        let mut text = format!(
            "\n### oracle: {}\n\n| env | check | original | facs | equal |\n|---|---|---|---|---|\n",
            self.project
        );
        for row in &self.rows {
            let status = match row.status {
                Status::Equal => "yes",
                Status::Differs => "**NO**",
                Status::Blocked => "blocked",
            };
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {status} |",
                cell(&row.env),
                cell(&row.check),
                cell(&row.original),
                cell(&row.facs)
            );
        }
        let n_equal = self.rows.iter().filter(|r| r.status == Status::Equal).count();
        let n_blocked = self.rows.iter().filter(|r| r.status == Status::Blocked).count();
        let _ = writeln!(
            text,
            "\n{} checks: {n_equal} equal, {} differ, {n_blocked} blocked",
            self.rows.len(),
            self.rows.len() - n_equal - n_blocked
        );
        text
    }
}

/// A table cell: one line, no `|`, at most 60 characters.
fn cell(text: &str) -> String {
    let one_line = text.replace('\n', "\\n").replace('|', "\\|");
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(59).collect::<String>())
    } else {
        one_line
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn opt_compact(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".into(), compact)
}

/// A password for the table: the first 8 characters, enough to see which.
fn short_secret(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => format!("{}…", s.chars().take(8).collect::<String>()),
        other => opt_compact(other),
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------------------
// The run

fn run_project(test: &str, project: &str) {
    let python = match venv_python() {
        Ok(python) => python.clone(),
        Err(why) => {
            common::may_skip(test, why);
            return;
        }
    };
    let envs: Vec<&str> = PROJECTS.iter().find(|(name, _)| *name == project).expect("listed in PROJECTS").1.to_vec();
    let instances = instance_names(&envs);
    let tmp = tempfile::tempdir().expect("tempdir");
    // The repository's directory name says nothing about the project: the
    // name comes from --name only.
    let repo = tmp.path().join("checkout");
    common::copy_dir(&Path::new(PROJECTS_DIR).join(project).join("repo"), &repo);
    let define_dir = repo.join("config/facsimile");
    let version = read_json(&define_dir.join("facsimile.json"))
        .ok()
        .and_then(|f| f.get("version").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| panic!("project {project}: facsimile.json needs a string `version` (the original takes it on its command line, facs from the definition)"));
    let modules: Vec<Value> = match read_json(&define_dir.join("modules.json")) {
        Ok(Value::Array(list)) => list,
        other => panic!("project {project}: modules.json must be a list: {other:?}"),
    };

    let mut report = Report { project: project.into(), rows: Vec::new(), failures: Vec::new(), blocked: false };

    // The original first, on fresh state, for every environment.
    let top = tmp.path().join("original");
    let originals: Vec<Original> = envs
        .iter()
        .map(|env| {
            run_original(&python, &repo, project, env, &version, &top)
                .unwrap_or_else(|e| panic!("project {project}: the fixture does not run under the original: {e}"))
        })
        .collect();

    // facs, importing the original's state.
    let facs_dir = tmp.path().join("facs");
    let out = tmp.path().join("out");
    let imported = facs_import(&repo, project, &envs, Some(&top.join("state")), &facs_dir)
        .and_then(|()| facs_build(&facs_dir, &out));
    if let Err(why) = &imported {
        report.fail("all", "facs import + build (with the original's state)", why.clone());
    }
    report.blocked = imported.is_err();
    for ((env, instance), original) in envs.iter().zip(&instances).zip(&originals) {
        let facs = facs_side(&facs_dir, &out, project, instance);
        compare_tree(&mut report, env, &original.release_dir, facs.tree.as_deref());
        // Without a manifest every data and module row would fail; one row
        // says why, and the rest are blocked.
        let no_manifest = !report.blocked && facs.manifest.is_none();
        if no_manifest {
            let check = format!("manifest {instance}.json");
            report.row(
                env,
                &check,
                "-".into(),
                None,
                false,
                Some(format!("facs wrote no manifest for instance {instance}")),
            );
            report.blocked = true;
        }
        compare_instance(&mut report, env, &original.data, facs.manifest.as_ref().and_then(|m| m.get("instance")));
        compare_modules(&mut report, env, &modules, original, facs.manifest.as_ref());
        report.blocked = imported.is_err();
        compare_imported_state(&mut report, env, &original.state, facs.state.as_ref());
    }

    // A fresh facs build first, then the original on facs's state.
    let fresh_dir = tmp.path().join("facs-fresh");
    let fresh_out = tmp.path().join("out-fresh");
    let fresh = facs_import(&repo, project, &envs, None, &fresh_dir).and_then(|()| facs_build(&fresh_dir, &fresh_out));
    if let Err(why) = &fresh {
        report.fail("all", "facs import + build (fresh state)", why.clone());
    }
    report.blocked = fresh.is_err();
    let top2 = tmp.path().join("original-on-facs-state");
    for (env, instance) in envs.iter().zip(&instances) {
        let facs = facs_side(&fresh_dir, &fresh_out, project, instance);
        check_original_on_facs_state(&mut report, env, &python, &repo, project, &version, &top2, &modules, &facs);
    }

    println!("{}", report.table());
    if !report.failures.is_empty() {
        let n_failures = report.failures.len();
        let mut shown: Vec<String> = report.failures.iter().take(40).map(|f| format!("  - {f}")).collect();
        if n_failures > 40 {
            shown.push(format!("  ... and {} more (see the table above)", n_failures - 40));
        }
        panic!("oracle: project {project}: {n_failures} check(s) failed:\n{}", shown.join("\n"));
    }
}

// ---------------------------------------------------------------------------
// (1) The rendered tree

/// Every file under `root`, by path relative to it (with `/`).
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
            (rel, std::fs::read(e.path()).expect("read rendered file"))
        })
        .collect()
}

fn n_lines(bytes: &[u8]) -> String {
    let n = bytes.split_inclusive(|b| *b == b'\n').count();
    format!("{n} lines")
}

/// Where two files first differ: the line number and both lines.
fn first_difference(original: &[u8], facs: &[u8]) -> (String, String) {
    let lines_o: Vec<&[u8]> = original.split_inclusive(|b| *b == b'\n').collect();
    let lines_f: Vec<&[u8]> = facs.split_inclusive(|b| *b == b'\n').collect();
    let show = |line: Option<&&[u8]>| match line {
        Some(l) => format!("{:?}", String::from_utf8_lossy(l)),
        None => "(end of file)".into(),
    };
    for idx in 0..lines_o.len().max(lines_f.len()) {
        let (o, f) = (lines_o.get(idx), lines_f.get(idx));
        if o != f {
            let line = idx + 1;
            return (format!("line {line}: {}", show(o)), format!("line {line}: {}", show(f)));
        }
    }
    ("same lines".into(), "same lines".into())
}

fn compare_tree(report: &mut Report, env: &str, original_dir: &Path, facs_dir: Option<&Path>) {
    let original = files(original_dir);
    let Some(facs_dir) = facs_dir else {
        report.row(env, "tree", format!("{} files", original.len()), None, false, Some("facs rendered no tree".into()));
        return;
    };
    let facs = files(facs_dir);
    let paths: BTreeSet<&String> = original.keys().chain(facs.keys()).collect();
    for path in paths {
        let check = format!("tree: {path}");
        match (original.get(path), facs.get(path)) {
            (Some(o), Some(f)) if o == f => report.row(env, &check, n_lines(o), Some("same".into()), true, None),
            (Some(o), Some(f)) => {
                let (line_o, line_f) = first_difference(o, f);
                let detail = format!("files differ, first at {line_o} (original) vs {line_f} (facs)");
                report.row(env, &check, line_o, Some(line_f), false, Some(detail));
            }
            (Some(o), None) => report.row(
                env,
                &check,
                n_lines(o),
                Some("(missing)".into()),
                false,
                Some("facs did not write it".into()),
            ),
            (None, Some(f)) => {
                report.row(env, &check, "(absent)".into(), Some(n_lines(f)), false, Some("only facs wrote it".into()))
            }
            (None, None) => {}
        }
    }
}

// ---------------------------------------------------------------------------
// (2) The instance data

/// Compares the manifest's `instance` with the original's merged data after
/// the documented conversion:
///
/// - facs's derived `name` is dropped;
/// - the original's `deploy.nodes` `{t: hosts}` is the manifest's `targets`
///   `{t: {nodes: hosts}}`, and `nodes` leaves `deploy`;
/// - the original's `install.groups` is the manifest's `install` list:
///   the number and kinds of groups, and each tmpl group's `dir` and `skip`
///   (what copy groups do is checked by the tree);
/// - schema defaults the original lacks are accepted: `install: []`,
///   `targets: {}`, `deploy.postcmd: []`;
/// - a reserved top-level key (`project`, ...) may be kept as `<key>_`;
/// - a dotted release environment's name is kept as `release_environment`.
fn compare_instance(report: &mut Report, env: &str, data: &Map<String, Value>, manifest_instance: Option<&Value>) {
    let mut original = data.clone();
    let mut facs = manifest_instance.cloned().map(object);
    if let Some(f) = facs.as_mut() {
        f.shift_remove("name");
        // The import keeps a dotted release environment's name here (the
        // Jinja context's `facs.release_environment`).
        if !original.contains_key("release_environment")
            && f.get("release_environment").and_then(Value::as_str) == Some(env)
        {
            f.shift_remove("release_environment");
        }
    }

    // install.groups ↔ install
    let groups = original.shift_remove("install").and_then(|i| i.get("groups").cloned());
    let groups: Vec<Value> = groups.and_then(|g| g.as_array().cloned()).unwrap_or_default();
    let facs_groups: Option<Vec<Value>> = facs.as_mut().map(|f| match f.shift_remove("install") {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    });
    let kind = |g: &Value| g.get("type").and_then(Value::as_str).unwrap_or("copy").to_string();
    let kinds = |list: &[Value]| format!("{} ({})", list.len(), list.iter().map(kind).collect::<Vec<_>>().join(", "));
    let facs_kinds = facs_groups.as_deref().map(kinds);
    let same_kinds = facs_kinds.as_deref() == Some(kinds(&groups).as_str());
    report.row(env, "instance.install: groups", kinds(&groups), facs_kinds, same_kinds, None);
    let tmpl_groups = |list: &[Value]| list.iter().filter(|g| kind(g) == "tmpl").cloned().collect::<Vec<_>>();
    let facs_tmpl = facs_groups.as_deref().map(tmpl_groups);
    for (idx, group) in tmpl_groups(&groups).iter().enumerate() {
        for key in ["dir", "skip"] {
            let o = group.get(key);
            let f = facs_tmpl.as_ref().map(|list| list.get(idx).and_then(|g| g.get(key)));
            let check = format!("instance.install: tmpl group {idx} {key}");
            report.row(env, &check, opt_compact(o), f.map(opt_compact), f == Some(o), None);
        }
    }

    // deploy.nodes ↔ targets
    let nodes = original.get_mut("deploy").and_then(Value::as_object_mut).and_then(|d| d.shift_remove("nodes"));
    let targets: Map<String, Value> = object(nodes.unwrap_or(Value::Null));
    let facs_targets: Option<Map<String, Value>> = facs.as_mut().map(|f| {
        object(f.shift_remove("targets").unwrap_or(Value::Null))
            .into_iter()
            .map(|(t, target)| (t, target.get("nodes").cloned().unwrap_or(Value::Null)))
            .collect()
    });
    let equal = facs_targets.as_ref() == Some(&targets);
    report.row(
        env,
        "instance.targets ← deploy.nodes",
        compact(&Value::Object(targets)),
        facs_targets.map(|t| compact(&Value::Object(t))),
        equal,
        None,
    );

    // Schema defaults and renames.
    if let (Some(Value::Object(deploy)), Some(Value::Object(original_deploy))) =
        (facs.as_mut().and_then(|f| f.get_mut("deploy")), original.get("deploy"))
    {
        if !original_deploy.contains_key("postcmd") && deploy.get("postcmd") == Some(&Value::Array(vec![])) {
            deploy.shift_remove("postcmd");
        }
    }
    if let Some(f) = &facs {
        for key in RESERVED {
            let renamed = format!("{key}_");
            if original.contains_key(*key) && !f.contains_key(*key) && f.contains_key(&renamed) {
                if let Some(value) = original.shift_remove(*key) {
                    original.insert(renamed, value);
                }
            }
        }
    }

    let mut keys: Vec<&String> = original.keys().collect();
    if let Some(f) = &facs {
        keys.extend(f.keys().filter(|k| !original.contains_key(*k)));
    }
    for key in keys {
        let o = original.get(key);
        let f = facs.as_ref().map(|f| f.get(key));
        let check = format!("instance.{key}");
        report.row(env, &check, opt_compact(o), f.map(opt_compact), f == Some(o), None);
    }
}

// ---------------------------------------------------------------------------
// (3) Modules

/// The original's key for a module: its daemon, else its name.
fn module_key(module: &Value) -> (String, String) {
    let name = module.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let key = module.get("daemon").and_then(Value::as_str).map_or_else(|| name.clone(), str::to_string);
    (name, key)
}

fn compare_modules(report: &mut Report, env: &str, modules: &[Value], original: &Original, manifest: Option<&Value>) {
    let inmap = original.state.pointer("/instances/inmap");
    for module in modules {
        let (name, key) = module_key(module);
        let ours = original.module.get(&key);
        let theirs = manifest.map(|m| m.pointer(&format!("/module/{name}")));
        for field in ["username", "password"] {
            let o = ours.and_then(|m| m.get(field));
            let f = theirs.map(|m| m.and_then(|m| m.get(field)));
            let show = if field == "password" { short_secret } else { opt_compact };
            let check = format!("module.{name}.{field} (original module.{key})");
            report.row(env, &check, show(o), f.map(show), f == Some(o) && o.is_some(), None);
        }
        if module.get("service").is_some() && module.get("logical_name").is_some() {
            let instance_name = format!("{name}d.0");
            let uiid = inmap.and_then(|m| m.get(&instance_name)).and_then(|e| e.get("uiid"));
            // The original gives the module's service its uiid as a string.
            let expected = uiid.map(|u| Value::String(u.to_string()));
            let f = theirs.map(|m| m.and_then(|m| m.pointer("/service/uiid")));
            let check = format!("module.{name}.service.uiid (inmap {instance_name})");
            report.row(
                env,
                &check,
                opt_compact(expected.as_ref()),
                f.map(opt_compact),
                f == Some(expected.as_ref()),
                None,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// (4) State both ways

fn passwd(state: &Value) -> Map<String, Value> {
    state.get("passwd").cloned().map(object).unwrap_or_default()
}

fn inmap_uiids(state: &Value) -> BTreeMap<String, Value> {
    let inmap = state.pointer("/instances/inmap").cloned().map(object).unwrap_or_default();
    inmap.into_iter().map(|(name, entry)| (name, entry.get("uiid").cloned().unwrap_or(Value::Null))).collect()
}

/// (a) facs imported the original's state: every password and uiid is kept.
fn compare_imported_state(report: &mut Report, env: &str, original: &Value, facs: Option<&Value>) {
    if facs.is_none() && !report.blocked {
        report.row(
            env,
            "state (a): state.json",
            "-".into(),
            None,
            false,
            Some("facs has no state.json for this instance".into()),
        );
        return;
    }
    let facs_passwd = facs.map(passwd);
    for (user, password) in passwd(original) {
        let f = facs_passwd.as_ref().map(|p| p.get(&user));
        let check = format!("state (a): passwd.{user}");
        report.row(env, &check, short_secret(Some(&password)), f.map(short_secret), f == Some(Some(&password)), None);
    }
    let facs_uiids = facs.map(inmap_uiids);
    for (instance_name, uiid) in inmap_uiids(original) {
        let f = facs_uiids.as_ref().map(|u| u.get(&instance_name));
        let check = format!("state (a): inmap.{instance_name}.uiid");
        report.row(env, &check, compact(&uiid), f.map(opt_compact), f == Some(Some(&uiid)), None);
    }
}

/// (b) The original runs on the state a fresh facs build wrote: its module
/// passwords are facs's, it allocates no other uiid and writes back no new
/// password.
#[allow(clippy::too_many_arguments)]
fn check_original_on_facs_state(
    report: &mut Report,
    env: &str,
    python: &Path,
    repo: &Path,
    project: &str,
    version: &str,
    top: &Path,
    modules: &[Value],
    facs: &Facs,
) {
    let (Some(manifest), Some(facs_state)) = (&facs.manifest, &facs.state) else {
        let what = if facs.manifest.is_none() { "manifest" } else { "state.json" };
        report.row(
            env,
            "state (b): facs's state",
            "-".into(),
            None,
            false,
            Some(format!("the fresh facs build wrote no {what}")),
        );
        return;
    };
    let state_dir = top.join("state").join(env);
    std::fs::create_dir_all(&state_dir).expect("mkdir state");
    let facs_text = serde_json::to_string_pretty(facs_state).expect("json");
    std::fs::write(state_dir.join("state.json"), facs_text).expect("write state");
    let original = match run_original(python, repo, project, env, version, top) {
        Ok(original) => original,
        Err(why) => {
            report.fail(env, "state (b): the original on facs's state", why);
            return;
        }
    };
    for module in modules {
        let (name, key) = module_key(module);
        let o = original.module.get(&key).and_then(|m| m.get("password"));
        let f = manifest.pointer(&format!("/module/{name}/password"));
        let check = format!("state (b): module.{name}.password (original module.{key})");
        report.row(env, &check, short_secret(o), Some(short_secret(f)), o.is_some() && o == f, None);
    }
    let keys = |state: &Value| {
        let keys: Vec<String> = passwd(state).keys().cloned().collect();
        if keys.is_empty() {
            "(none)".to_string()
        } else {
            keys.join(", ")
        }
    };
    let (after, before) = (keys(&original.state), keys(facs_state));
    let equal = passwd(&original.state) == passwd(facs_state);
    let detail = (!equal)
        .then(|| format!("the original changed the passwords: facs wrote [{before}], the original left [{after}]"));
    report.row(env, "state (b): passwd entries after the original ran", after, Some(before), equal, detail);
    let (uiids_after, uiids_facs) = (inmap_uiids(&original.state), inmap_uiids(facs_state));
    let show = |u: &BTreeMap<String, Value>| {
        if u.is_empty() {
            return "(none)".to_string();
        }
        u.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    };
    report.row(
        env,
        "state (b): inmap uiids after the original ran",
        show(&uiids_after),
        Some(show(&uiids_facs)),
        uiids_after == uiids_facs,
        None,
    );
}

// ---------------------------------------------------------------------------
// The harness's own checks, on made-up data: they hold without Python, and
// show that a failure above is facs's and not a comparison gone wrong.

fn report() -> Report {
    Report { project: "p".into(), rows: Vec::new(), failures: Vec::new(), blocked: false }
}

#[test]
fn harness_names_the_first_differing_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (original, facs) = (tmp.path().join("o"), tmp.path().join("f"));
    for (dir, conf, extra) in
        [(&original, "a\nb = True\nc\n", "only-original"), (&facs, "a\nb = true\nc\n", "only-facs")]
    {
        std::fs::create_dir_all(dir.join("etc")).expect("mkdir");
        std::fs::write(dir.join("etc/app.ini"), conf).expect("write");
        std::fs::write(dir.join("same.txt"), "x\n").expect("write");
        std::fs::write(dir.join(extra), "").expect("write");
    }
    let mut report = report();
    compare_tree(&mut report, "dev.dev0", &original, Some(&facs));
    let checks: Vec<(&str, bool)> = report.rows.iter().map(|r| (r.check.as_str(), r.status == Status::Equal)).collect();
    assert_eq!(
        checks,
        [
            ("tree: etc/app.ini", false),
            ("tree: only-facs", false),
            ("tree: only-original", false),
            ("tree: same.txt", true)
        ]
    );
    assert_eq!(
        report.failures[0],
        r#"project p, env dev.dev0, tree: etc/app.ini: files differ, first at line 2: "b = True\n" (original) vs line 2: "b = true\n" (facs)"#
    );
    // A missing final newline is a difference at the last line.
    assert_eq!(first_difference(b"a\nb\n", b"a\nb"), (r#"line 2: "b\n""#.into(), r#"line 2: "b""#.into()));
    assert_eq!(first_difference(b"a\n", b"a\nb\n").1, r#"line 2: "b\n""#);
}

#[test]
fn harness_applies_the_documented_data_conversion() {
    let data = serde_json::json!({
        "project": "ledger",
        "deploy": {"user": "u", "destdir": "/d", "nodes": {"web": ["w1", "w2"]}},
        "install": {"groups": [{"type": "tmpl", "dir": "tmpl", "skip": "^_"}, {"files": ["a"]}]},
        "db": {"port": 1}
    });
    let manifest = serde_json::json!({
        "name": "dev0",
        "project_": "ledger",
        "deploy": {"user": "u", "destdir": "/d", "postcmd": []},
        "install": [{"type": "tmpl", "dir": "tmpl", "skip": "^_"}, {"type": "copy", "files": ["a"], "optfiles": []}],
        "targets": {"web": {"nodes": ["w1", "w2"]}},
        "db": {"port": 1}
    });
    let mut ok = report();
    compare_instance(&mut ok, "dev.dev0", &object(data.clone()), Some(&manifest));
    assert!(ok.failures.is_empty(), "{:#?}", ok.failures);

    // No install and no nodes in the original: facs's defaults are equal.
    let bare = serde_json::json!({"deploy": {"destdir": "/d"}});
    let defaults =
        serde_json::json!({"name": "x", "deploy": {"destdir": "/d", "postcmd": []}, "install": [], "targets": {}});
    let mut ok = report();
    compare_instance(&mut ok, "prod", &object(bare), Some(&defaults));
    assert!(ok.failures.is_empty(), "{:#?}", ok.failures);

    let mut wrong = manifest.clone();
    wrong["targets"]["web"]["nodes"] = serde_json::json!(["w1"]);
    wrong["install"][0]["skip"] = serde_json::json!("^\\.");
    wrong["db"]["port"] = serde_json::json!(1.0);
    let mut bad = report();
    compare_instance(&mut bad, "dev.dev0", &object(data), Some(&wrong));
    let failed: Vec<&str> = bad.rows.iter().filter(|r| r.status == Status::Differs).map(|r| r.check.as_str()).collect();
    assert_eq!(failed, ["instance.install: tmpl group 0 skip", "instance.targets ← deploy.nodes", "instance.db"]);
}
