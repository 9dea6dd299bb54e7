//! The command line's own behaviour (spec §12): finding the definition
//! directory without `-p`, `-p` to a missing directory, `--color` and the
//! colour variables, the man page's sections, and a closed stdout.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `facs` with no `-p`, run in `dir`, with the colour variables removed (the
/// caller sets the ones it tests).
fn facs_in(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facs"));
    cmd.current_dir(dir).args(args).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("run facs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A copy of `tests/commands/project` (seeded state in `state/`) in a new
/// temporary directory, at `<tmp>/project`.
fn demo_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("project");
    common::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/commands/project"), &project);
    (tmp, project)
}

#[test]
fn without_p_the_nearest_ancestor_declaring_project_is_used() {
    let (_tmp, project) = demo_project();
    // A subdirectory whose own `.facs` file declares no project (a comment
    // and a string that mention one do not count) is passed over.
    let sub = project.join("envs/deep");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(
        project.join("envs/lib.facs"),
        "// project fake {}\nschema Note { text: string = \"project fake {\" }\n",
    )
    .expect("write");
    let out = output(facs_in(&sub, &["-v", "list"]).env("NO_COLOR", "1"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("canary"), "{}", common::text(&out));
    let real = std::fs::canonicalize(&project).expect("canonicalize");
    assert!(
        err.contains(&format!("definition directory: {}", real.display())),
        "-v does not say which ancestor was used:\n{err}"
    );
}

#[test]
fn the_current_directory_wins_over_an_ancestor() {
    let (_tmp, project) = demo_project();
    let inner = project.join("inner");
    std::fs::create_dir_all(&inner).expect("mkdir");
    std::fs::write(inner.join("p.facs"), "project inner {}\ninstance only_inner {}\n").expect("write");
    let out = output(facs_in(&inner, &["-v", "list"]).env("NO_COLOR", "1"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert!(stdout.contains("only_inner") && !stdout.contains("canary"), "{stdout}");
    assert!(!stderr(&out).contains("definition directory:"), "the current directory is not an ancestor");
}

#[test]
fn without_p_and_without_a_project_the_search_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let start = std::fs::canonicalize(tmp.path()).expect("canonicalize");
    std::fs::write(start.join("lib.facs"), "schema S { x: int }\n").expect("write");
    let out = output(facs_in(&start, &["check"]).env("NO_COLOR", "1"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&start.display().to_string()), "does not name the start directory:\n{err}");
    assert!(err.contains("up to /") && err.contains("-p DIR"), "does not say how far it looked or what to do:\n{err}");
}

#[test]
fn commands_without_a_project_need_no_discovery() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [&["man"][..], &["completions", "bash"], &["--help"]] {
        let out = output(&mut facs_in(tmp.path(), args));
        assert_eq!(out.status.code(), Some(0), "facs {}: {}", args.join(" "), common::text(&out));
        assert!(!stderr(&out).contains("definition directory"), "facs {} looked for a project", args.join(" "));
    }
    // import fails on its own terms, not on discovery.
    let out = output(&mut facs_in(tmp.path(), &["import", "legacy"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("legacy is not a directory"), "{}", stderr(&out));
}

#[test]
fn p_to_a_missing_directory_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("no-such-dir");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    for (path, why) in [(&missing, "no such directory"), (&file, "not a directory")] {
        for command in ["check", "list", "man"] {
            let out = common::facs_env(path, &[command], &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "facs -p {} {command}: {err}", path.display());
            assert!(err.contains(&path.display().to_string()) && err.contains(why), "{err}");
        }
    }
}

/// A project whose check fails with E001.
fn broken_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("main.facs"), "project demo {}\ninstance dev { x: }\n").expect("write");
    tmp
}

fn coloured(args: &[&str], envs: &[(&str, &str)]) -> bool {
    let tmp = broken_project();
    let mut cmd = facs_in(tmp.path(), args);
    cmd.stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = output(&mut cmd);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert!(stderr(&out).contains("E001"), "{}", stderr(&out));
    out.stderr.contains(&0x1b)
}

#[test]
fn color_flag_wins_over_the_environment() {
    assert!(coloured(&["--color", "always", "check"], &[]), "--color always");
    assert!(coloured(&["--color", "always", "check"], &[("NO_COLOR", "1")]), "--color always beats NO_COLOR");
    assert!(
        !coloured(&["--color", "never", "check"], &[("CLICOLOR_FORCE", "1")]),
        "--color never beats CLICOLOR_FORCE"
    );
    assert!(!coloured(&["check", "--color", "never"], &[]), "--color after the command");
}

#[test]
fn color_environment_decides_without_the_flag() {
    // stderr is a pipe here, so the default is no colour.
    assert!(!coloured(&["check"], &[]), "piped stderr is coloured by default");
    assert!(!coloured(&["--color", "auto", "check"], &[]), "auto on a pipe");
    assert!(coloured(&["check"], &[("CLICOLOR_FORCE", "1")]), "CLICOLOR_FORCE=1");
    assert!(coloured(&["--color", "auto", "check"], &[("CLICOLOR_FORCE", "yes")]), "auto honours CLICOLOR_FORCE");
    assert!(!coloured(&["check"], &[("CLICOLOR_FORCE", "0")]), "CLICOLOR_FORCE=0");
    assert!(!coloured(&["check"], &[("CLICOLOR_FORCE", "")]), "empty CLICOLOR_FORCE");
    assert!(!coloured(&["check"], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]), "NO_COLOR beats CLICOLOR_FORCE");
    assert!(coloured(&["check"], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]), "an empty NO_COLOR is unset");
}

fn man_page() -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = output(&mut facs_in(tmp.path(), &["man"]));
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    // roff escapes hyphens; the reader sees plain ones.
    String::from_utf8_lossy(&out.stdout).replace("\\-", "-").replace("\\&", "")
}

/// The body of one `.SH` section (up to the next one).
fn man_section<'a>(page: &'a str, title: &str) -> &'a str {
    let header = format!("\n.SH {title}\n");
    let start = page.find(&header).map(|i| i + header.len()).unwrap_or_else(|| panic!("no {title} section"));
    let rest = page.get(start..).unwrap_or_default();
    rest.find("\n.SH ").map_or(rest, |end| rest.get(..end).unwrap_or_default())
}

#[test]
fn man_page_has_exit_status_environment_files_and_examples() {
    let page = man_page();
    let exit = man_section(&page, "EXIT STATUS");
    for status in ["0", "1", "2"] {
        assert!(exit.contains(&format!("\\fB{status}\\fR")), "EXIT STATUS lacks {status}:\n{exit}");
    }
    assert!(exit.contains("-p directory that does not exist"), "{exit}");
    let environment = man_section(&page, "ENVIRONMENT");
    let vars = facs::limits::VARS.iter().map(|(var, _)| *var).chain(["FACS_SSH", "NO_COLOR", "CLICOLOR_FORCE"]);
    for var in vars {
        assert!(environment.contains(&format!("\\fB{var}\\fR")), "ENVIRONMENT lacks {var}:\n{environment}");
    }
    // Every FACS_MAX_* the code reads is in limits::VARS (so in the page).
    let limits = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/limits.rs")).expect("read");
    let named = regex::Regex::new(r"FACS_MAX_[A-Z_]+").expect("regex");
    for var in named.find_iter(&limits) {
        assert!(environment.contains(var.as_str()), "{} is not in the man page", var.as_str());
    }
    let files = man_section(&page, "FILES");
    for file in [".facsimile/out", ".facsimile/state/<owner>/state.json", "exclude.rsync", "tmpl/", "extra/"] {
        assert!(files.contains(file), "FILES lacks {file}:\n{files}");
    }
    assert!(man_section(&page, "EXAMPLES").contains("facs "), "EXAMPLES has no example");
    assert!(man_section(&page, "OPTIONS").contains("--color"), "OPTIONS lacks --color");
}

#[test]
fn man_page_names_no_other_page() {
    let page = man_page();
    let reference = regex::Regex::new(r"[A-Za-z0-9_.-]+\([0-9][a-z]*\)").expect("regex");
    let names: Vec<&str> = reference.find_iter(&page).map(|m| m.as_str()).filter(|m| *m != "facs(1)").collect();
    assert!(names.is_empty(), "the man page names pages facs does not ship: {names:?}");
}

/// Runs facs with stdout a pipe whose read end is already closed, so its
/// first write fails with EPIPE.
fn with_closed_stdout(project: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut cmd = facs_in(project, args);
    cmd.env("NO_COLOR", "1").stdout(writer).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn facs");
    // `cmd` still holds the write end; the child has its own copy.
    drop(cmd);
    child.wait_with_output().expect("wait")
}

#[test]
fn a_closed_stdout_is_a_quiet_stop() {
    let (_tmp, project) = demo_project();
    let state = project.join("state").display().to_string();
    let runs: [&[&str]; 7] = [
        &["man"],
        &["completions", "bash"],
        &["list"],
        &["manifest", "prod", "--state", &state],
        &["explain", "prod", "db.url", "--state", &state],
        &["diff", "prod", "staging", "--state", &state],
        &["graph"],
    ];
    for args in runs {
        let out = with_closed_stdout(&project, args);
        let err = stderr(&out);
        assert!(
            !err.contains("panicked") && !err.to_lowercase().contains("broken pipe") && !err.contains("internal error"),
            "facs {}: {err}",
            args.join(" ")
        );
        assert_eq!(out.status.code(), Some(0), "facs {}: {err}", args.join(" "));
    }
}
