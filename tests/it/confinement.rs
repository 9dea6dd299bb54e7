//! Nothing is read from outside the definition and source directories, and
//! nothing is written outside the release directory (spec §10, E018): symlinks
//! and special files are made here at run time rather than committed.

use std::path::Path;
use std::process::Command;

fn project(dir: &Path, install: &str) {
    std::fs::create_dir_all(dir.join("tmpl/_ALL_")).expect("mkdir");
    std::fs::write(
        dir.join("main.facs"),
        format!("project web {{}}\nmodule app {{}}\ninstance beta {{\n  install: [ {install} ]\n}}\n"),
    )
    .expect("main.facs");
    std::fs::write(dir.join("tmpl/_ALL_/ok.conf"), "name={{instance.name}}\n").expect("template");
}

/// Builds and returns (exit status, JSON diagnostics); asserts nothing was written.
fn refused(dir: &Path) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(dir)
        .args(["--message-format", "json", "build"])
        .output()
        .expect("run facs");
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!dir.join(".facsimile/out").exists(), "output written despite E018");
    assert!(!dir.join(".facsimile/state").exists(), "state written despite E018");
    String::from_utf8_lossy(&output.stderr).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn has_code(diagnostics: &[serde_json::Value], code: &str, line: u64) -> bool {
    diagnostics.iter().any(|d| d["code"] == code && d["line"] == line)
}

const TMPL: &str = r#"{ type: "tmpl", dir: "tmpl" }"#;

#[test]
fn symlink_in_tmpl_pointing_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    std::os::unix::fs::symlink("/etc/passwd", dir.join("tmpl/_ALL_/passwd")).expect("symlink");
    let d = refused(&dir);
    assert!(has_code(&d, "E018", 4), "{d:?}");
}

#[test]
fn symlinked_directory_pointing_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    std::fs::create_dir_all(tmp.path().join("secret")).expect("mkdir");
    std::fs::write(tmp.path().join("secret/key"), "k").expect("write");
    std::os::unix::fs::symlink(tmp.path().join("secret"), dir.join("tmpl/_ALL_/etc")).expect("symlink");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn symlink_loop_in_tmpl() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    std::os::unix::fs::symlink(dir.join("tmpl/_ALL_/loop"), dir.join("tmpl/_ALL_/loop")).expect("symlink");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn fifo_among_templates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    let fifo = std::ffi::CString::new(dir.join("tmpl/_ALL_/pipe").to_string_lossy().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn template_dir_climbing_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "tmpl", dir: "../outside" }"#);
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn copy_of_an_absolute_path_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "copy", files: ["/etc/hostname"] }"#);
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn copy_through_a_symlink_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "copy", files: ["files/link"] }"#);
    std::fs::create_dir_all(dir.join("files")).expect("mkdir");
    std::os::unix::fs::symlink("/etc/hostname", dir.join("files/link")).expect("symlink");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn copy_replace_climbing_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "copy", files: ["f/a.txt"], pattern: "^f/", replace: "a/../../../x/" }"#);
    std::fs::create_dir_all(dir.join("f")).expect("mkdir");
    std::fs::write(dir.join("f/a.txt"), "A").expect("write");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn hostile_copy_sources_are_refused_before_any_read() {
    // Each is E018 whether or not the path exists: `../../etc/passwd` from a
    // temporary directory may not exist, and the answer must not depend on it.
    for source in [
        "../../etc/passwd",
        "/etc/shadow",
        "a/../../b",
        "a\\u{0}b",
        "-rf",
        "files/--delete",
        "/dev/zero",
        "/proc/self/environ",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("p");
        project(&dir, &format!(r#"{{ type: "copy", files: ["{source}"] }}"#));
        let d = refused(&dir);
        assert!(has_code(&d, "E018", 4), "{source}: {d:?}");
    }
}

#[test]
fn template_named_like_an_option_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    std::fs::write(dir.join("tmpl/_ALL_/--delete"), "x").expect("write");
    assert!(has_code(&refused(&dir), "E018", 4));
}

#[test]
fn dangerous_output_and_state_directories_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    std::os::unix::fs::symlink(&elsewhere, tmp.path().join("outlink")).expect("symlink");
    // A home of the test's own: if the check ever broke, nothing lands in the real one.
    let home = tmp.path().join("home").display().to_string();
    std::fs::create_dir_all(&home).expect("mkdir");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--out".into(), "/".into()], "it is the root directory"),
        (vec!["--out".into(), home.clone()], "it is your home directory"),
        (vec!["--out".into(), dir.display().to_string()], "it holds the definition directory"),
        (vec!["--out".into(), tmp.path().display().to_string()], "it holds the definition directory"),
        (vec!["--state".into(), "/".into()], "it is the root directory"),
        (vec!["--out".into(), tmp.path().join("outlink").display().to_string()], "is a symlink"),
        (
            vec![
                "--out".into(),
                tmp.path().join("s/out").display().to_string(),
                "--state".into(),
                tmp.path().join("s").display().to_string(),
            ],
            "must not lie inside one another",
        ),
    ];
    for (args, why) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(&dir)
            .arg("build")
            .args(&args)
            .env("HOME", &home)
            .output()
            .expect("run facs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(&elsewhere).expect("ls").count(), 0, "nothing written through the symlink");
    assert!(!tmp.path().join("s").exists());
    assert!(!dir.join("beta.json").exists());
    assert_eq!(std::fs::read_dir(&home).expect("ls").count(), 0);
}

#[test]
fn planted_symlinks_in_the_output_are_replaced_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    let out = dir.join(".facsimile/out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let victim_file = tmp.path().join("victim.txt");
    let victim_dir = tmp.path().join("victim");
    std::fs::write(&victim_file, "precious\n").expect("write");
    std::fs::create_dir_all(victim_dir.join("web")).expect("mkdir");
    std::fs::write(victim_dir.join("web/ok.conf"), "precious\n").expect("write");
    std::os::unix::fs::symlink(&victim_file, out.join("beta.json")).expect("symlink");
    std::os::unix::fs::symlink(&victim_dir, out.join("beta")).expect("symlink");
    // Not facs's outputs (spec §12): refused, and neither followed nor
    // replaced; once they are gone the build writes real outputs.
    let build =
        || Command::new(env!("CARGO_BIN_EXE_facs")).arg("-p").arg(&dir).arg("build").output().expect("run facs");
    let output = build();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`beta.json`") && stderr.contains("facs did not write"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim_file).expect("victim"), "precious\n");
    assert_eq!(std::fs::read_to_string(victim_dir.join("web/ok.conf")).expect("victim"), "precious\n");
    for path in [out.join("beta.json"), out.join("beta")] {
        assert!(std::fs::symlink_metadata(&path).expect("meta").file_type().is_symlink(), "{}", path.display());
    }
    std::fs::remove_file(out.join("beta.json")).expect("rm");
    std::fs::remove_file(out.join("beta")).expect("rm");
    assert!(build().status.success());
    assert_eq!(std::fs::read_to_string(out.join("beta/web/ok.conf")).expect("tree"), "name=beta\n");
    assert_eq!(std::fs::read_to_string(&victim_file).expect("victim"), "precious\n");
}

/// The state and output directories are never inputs: copying them (or a
/// directory holding them) or using them as a template dir is E018, after a
/// build wrote real state there.
#[test]
fn state_and_outputs_are_never_inputs() {
    for install in [
        r#"{ type: "copy", files: [".facsimile/state/beta/state.json"] }"#,
        r#"{ type: "copy", files: [".facsimile"] }"#,
        r#"{ type: "copy", files: [".facsimile/out"] }"#,
        r#"{ type: "tmpl", dir: ".facsimile/state" }"#,
        r#"{ type: "tmpl", dir: ".facsimile" }"#,
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("p");
        project(&dir, TMPL);
        let first = Command::new(env!("CARGO_BIN_EXE_facs")).arg("-p").arg(&dir).arg("build").output().expect("run");
        assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
        project(&dir, install);
        let output = Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(&dir)
            .args(["--message-format", "json", "build"])
            .output()
            .expect("run facs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{install}: {stderr}");
        let d: Vec<serde_json::Value> = stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert!(has_code(&d, "E018", 4), "{install}: {d:?}");
        let leaked = walkdir::WalkDir::new(dir.join(".facsimile/out"))
            .into_iter()
            .filter_map(Result::ok)
            .any(|e| e.file_name() == "state.json");
        assert!(!leaked, "{install}: a state.json reached a tree");
    }
}

/// Spec §12: the output directory is facs's own. A user's directory is
/// refused untouched; in facs's own directory a user's file stays; a file
/// named like an output but not written by facs is never replaced.
/// (Ownership is read from the outputs: docs/decisions/output-ownership.md.)
#[test]
fn the_output_directory_is_facs_own() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, TMPL);
    let build = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(&dir)
            .args(["build", "--out"])
            .arg(out)
            .output()
            .expect("run facs")
    };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // A user's directory, even one without a conflicting name: refused,
    // nothing in it touched or added, and no state written either.
    let docs = tmp.path().join("docs");
    std::fs::create_dir_all(&docs).expect("mkdir");
    std::fs::write(docs.join("todo.txt"), "x\n").expect("write");
    let out = build(&docs);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("refusing to write into") && stderr(&out).contains("`todo.txt`"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&docs).expect("dir").count(), 1, "something was added");
    assert!(!dir.join(".facsimile/state").exists(), "state written before the refusal");

    // A new directory is facs's; building again is fine, and a user's
    // file in it stays.
    let fresh = tmp.path().join("fresh");
    assert!(build(&fresh).status.success());
    std::fs::write(fresh.join("README"), "mine\n").expect("write");
    let out = build(&fresh);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(fresh.join("README")).expect("kept"), "mine\n");

    // A file named like an output that facs did not write: refused, kept.
    std::fs::write(fresh.join("beta.json"), "my notes\n").expect("write");
    let out = build(&fresh);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("`beta.json`"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(fresh.join("beta.json")).expect("kept"), "my notes\n");

    // An empty directory is taken as it is.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    assert!(build(&empty).status.success());
}

/// Reads are confined at open time: a thread swaps a template directory
/// with a symlink to a directory outside, back and forth, while builds run.
/// Whatever each build sees (the real file, an E018, an error), no tree ever
/// holds the outside file. Before reads went through `openat2`, some raced
/// builds rendered it.
#[test]
fn a_directory_swapped_for_a_symlink_mid_build_reads_nothing_outside() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    project(&dir, r#"{ type: "tmpl", dir: "tmpl" }, { type: "copy", files: ["data"] }"#);
    let outside = tmp.path().join("outside");
    for sub in ["tmpl/_ALL_/sub", "data"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        std::fs::write(dir.join(sub).join("f.txt"), "inside\n").expect("write");
    }
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("f.txt"), "OUTSIDE SECRET\n").expect("write");
    let stop = AtomicBool::new(false);
    let swaps = std::sync::atomic::AtomicUsize::new(0);
    let (mut builds, mut leaked) = (0, Vec::new());
    std::thread::scope(|s| {
        // Swapper: each directory alternates with a symlink to `outside`.
        s.spawn(|| {
            let links: Vec<(std::path::PathBuf, std::path::PathBuf)> = ["tmpl/_ALL_/sub", "data"]
                .iter()
                .map(|sub| {
                    let link = dir.join(format!("{sub}.link"));
                    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
                    (dir.join(sub), link)
                })
                .collect();
            while !stop.load(Ordering::Relaxed) {
                for (real, link) in &links {
                    let a = std::ffi::CString::new(real.to_str().expect("utf-8")).expect("c");
                    let b = std::ffi::CString::new(link.to_str().expect("utf-8")).expect("c");
                    // SAFETY: valid paths; exchanges two names atomically.
                    unsafe {
                        libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE)
                    };
                }
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        });
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(4) {
            let out = tmp.path().join(format!("out{builds}"));
            let _ = Command::new(env!("CARGO_BIN_EXE_facs"))
                .arg("-p")
                .arg(&dir)
                .args(["build", "--out"])
                .arg(&out)
                .arg("--state")
                .arg(tmp.path().join("state"))
                .output()
                .expect("run facs");
            for entry in walkdir::WalkDir::new(&out).into_iter().filter_map(Result::ok) {
                if entry.file_type().is_file()
                    && std::fs::read_to_string(entry.path()).is_ok_and(|t| t.contains("OUTSIDE"))
                {
                    leaked.push(entry.path().display().to_string());
                }
            }
            let _ = std::fs::remove_dir_all(&out);
            builds += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    eprintln!("{builds} builds during {} swaps", swaps.into_inner());
    assert!(builds >= 20, "too few builds to race: {builds}");
    assert!(leaked.is_empty(), "read outside the definition directory: {leaked:?}");
}

/// Spec §2: a symlinked directory that stays inside the definition
/// directory is followed (its files load once, even when their real
/// directory loads too); a link that leads out is E018, never skipped.
#[test]
fn symlinked_directories_inside_are_followed_and_links_out_are_e018() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("p");
    std::fs::create_dir_all(project.join(".shared")).expect("mkdir");
    std::fs::create_dir_all(project.join("real")).expect("mkdir");
    std::fs::create_dir_all(tmp.path().join("outside")).expect("mkdir");
    std::fs::write(project.join("main.facs"), "project p {}\n").expect("write");
    std::fs::write(project.join("real/a.facs"), "instance a {}\n").expect("write");
    std::fs::write(project.join(".shared/c.facs"), "instance c {}\n").expect("write");
    std::fs::write(tmp.path().join("outside/b.facs"), "instance b {}\n").expect("write");
    symlink("real", project.join("linked")).expect("symlink");
    symlink(".shared", project.join("shared")).expect("symlink");
    // A dangling link and a link back to an ancestor change nothing.
    symlink("/nonexistent", project.join("dangling")).expect("symlink");
    symlink("..", project.join("real/up")).expect("symlink");
    let (code, stdout, stderr) = crate::common::facs_run(&project, &["list"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("shared/c.facs:1"), "a link to a hidden directory inside is followed: {stdout}");
    assert_eq!(stdout.matches("\na ").count(), 1, "`a` is loaded once: {stdout}");
    symlink("../outside", project.join("ext")).expect("symlink");
    let (code, _, stderr) = crate::common::facs_run(&project, &["list"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("error[E018]: `ext` is a symbolic link out of the definition directory"), "{stderr}");
}
