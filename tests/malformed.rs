//! Malformed and hostile input: every case gets a diagnostic with a code (and a
//! place, where the input has one) and exit status 1, or builds; never a
//! panic, a hang, a stack overflow or exponential time. Deep structures are
//! far past any limit so the guards, not luck, are what is tested.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// Runs `facs check` on one `main.facs` (raw bytes); returns the output, the
/// JSON diagnostics and how long it took.
fn check_bytes(bytes: &[u8], envs: &[(&str, &str)]) -> (Output, Vec<serde_json::Value>, Duration) {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("main.facs"), bytes).expect("write");
    let start = Instant::now();
    let out = common::facs_env(tmp.path(), &["--message-format", "json", "check"], envs);
    let took = start.elapsed();
    let diagnostics =
        String::from_utf8_lossy(&out.stderr).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    (out, diagnostics, took)
}

/// Exit 1 with at least one error diagnostic of `code`, placed in main.facs.
fn assert_diagnosed(bytes: &[u8], code: &str) -> Duration {
    let (out, diagnostics, took) = check_bytes(bytes, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit status (101 is a panic, none a signal): {stderr}");
    let found = diagnostics.iter().find(|d| d["code"] == code);
    let d = found.unwrap_or_else(|| panic!("no {code} in {stderr}"));
    assert_eq!(d["file"], "main.facs", "{d}");
    assert!(d["line"].as_u64().is_some_and(|l| l >= 1), "{d}");
    took
}

fn valid() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/deploy/project/main.facs"))
        .expect("fixture")
}

#[test]
fn encodings_and_control_bytes() {
    assert_diagnosed(b"project p {}\ninstance a { x: \"\xff\xfe\" }\n", "E001");
    assert_diagnosed(b"project p {}\ninstance a { x: \x00 }\n", "E001");
    assert_diagnosed(b"project p {}\ninstance a { x: \"a\x00b\" }\n", "E001");
    assert_diagnosed(b"project p {}\ninstance a { x: \"\x1b[2J\" }\n", "E001");
    // A BOM and CRLF line ends are text editors' habits, not errors: the
    // manifest is the one of the plain file.
    let plain = "project p {}\ninstance a {\n  x: 1\n  s: \"\"\"\n    one\n    two\n    \"\"\"\n}\n";
    for variant in [format!("\u{feff}{plain}"), plain.replace('\n', "\r\n")] {
        let (out, diagnostics, _) = check_bytes(variant.as_bytes(), &[]);
        assert_eq!(out.status.code(), Some(0), "{diagnostics:?}");
    }
    // An empty file: no project (E009, which has no place by the spec).
    let (out, diagnostics, _) = check_bytes(b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(diagnostics.iter().any(|d| d["code"] == "E009"), "{diagnostics:?}");
}

#[test]
fn terminal_escapes_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("main.facs"), "project p {}\ninstance a { x: \"\x1b]0;pwned\x07\" }\n")
        .expect("write");
    let out = common::facs_env(tmp.path(), &["check"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\x1b') && !stderr.contains('\x07'), "{stderr:?}");
    assert!(stderr.contains("raw control character U+001B"), "{stderr}");
}

#[test]
fn every_prefix_of_a_valid_file_is_diagnosed_or_compiles() {
    // In process (thousands of prefixes): the library entry point the binary uses.
    let text = valid();
    let mut cut = 0;
    for (i, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if i < cut {
            continue;
        }
        cut = i + 1;
        let prefix = text.get(..i).unwrap_or("");
        let (_, diagnostics) = facs::build::compile_memory(&[("main.facs", prefix)]);
        for (code, file, line) in &diagnostics {
            if code == "E009" && file.is_empty() {
                continue; // no `project` yet: the one diagnostic without a place
            }
            assert!(file == "main.facs" && *line >= 1, "prefix of {i} bytes: {code} at {file}:{line}");
        }
    }
}

#[test]
fn deep_nesting_is_an_error_in_well_under_a_second() {
    let header = "project p {}\ninstance a { x: ";
    let cases = [
        format!("{header}{}", "[".repeat(100_000)),
        format!("{header}{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("project p {{}}\ninstance a {{ {} }}", "x { ".repeat(100_000)),
        format!("project p {{}}\ninstance a {{ {}{} }}", "x { ".repeat(100_000), "}".repeat(100_000)),
        // 2 KB of every kind of unclosed opener: no exponential backtracking.
        format!("{header}{}", "{[(\"${".repeat(400)),
        format!("{header}{}", "[{\"\"\"".repeat(500)),
    ];
    for case in &cases {
        let took = assert_diagnosed(case.as_bytes(), "E001");
        // Generous against a loaded CI machine; measured well under 0.1 s.
        assert!(took < Duration::from_secs(3), "{took:?} for {}...", case.get(..40).unwrap_or(""));
    }
}

#[test]
fn a_20000_deep_inheritance_chain_is_an_error_not_a_stack_overflow() {
    let mut text = String::from("project p {}\ninstance i0 { x: 0 }\n");
    for i in 1..20_000 {
        text.push_str(&format!("instance i{i} inherits i{} {{ x: {i} }}\n", i - 1));
    }
    let took = assert_diagnosed(text.as_bytes(), "E005");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Just under the limit it compiles: the limit, not the stack, decides.
    let mut text = String::from("project p {}\ninstance i0 { x: 0 }\n");
    for i in 1..999 {
        text.push_str(&format!("instance i{i} inherits i{} {{ x: {i} }}\n", i - 1));
    }
    let (out, diagnostics, _) = check_bytes(text.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(0), "{diagnostics:?}");
}

#[test]
fn out_of_range_numbers() {
    for number in ["99999999999999999999999", "-9223372036854775809", "1e999", "-1e999"] {
        let text = format!("project p {{}}\ninstance a {{ x: {number} }}\n");
        let (out, diagnostics, _) = check_bytes(text.as_bytes(), &[]);
        assert_eq!(out.status.code(), Some(1), "{number}");
        assert!(diagnostics.iter().any(|d| d["code"] == "E001" || d["code"] == "E007"), "{number}: {diagnostics:?}");
    }
    let (out, _, _) = check_bytes(b"project p {}\ninstance a { x: 9223372036854775807 y: 1e308 }\n", &[]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn size_limits_are_errors_that_name_the_limit() {
    // A source file over the limit is refused before it is read.
    let (out, diagnostics, _) = check_bytes(valid().as_bytes(), &[("FACS_MAX_FILE_SIZE", "100")]);
    assert_eq!(out.status.code(), Some(1));
    let d = diagnostics.iter().find(|d| d["code"] == "E024").expect("E024");
    assert!(d["message"].as_str().unwrap_or("").contains("over the 100 bytes limit"), "{d}");
    assert!(d["help"].as_str().unwrap_or("").contains("FACS_MAX_FILE_SIZE"), "{d}");

    // A 1 GB sparse file costs nothing to refuse.
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("main.facs"), "project p {}\n").expect("write");
    let big = std::fs::File::create(tmp.path().join("huge.facs")).expect("create");
    big.set_len(1 << 30).expect("sparse");
    let start = Instant::now();
    let out = common::facs_env(tmp.path(), &["check"], &[]);
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`huge.facs` is 1.0 GiB, over the 16.0 MiB limit"));

    // Too many templates.
    let dir = tmp.path().join("many");
    std::fs::create_dir_all(dir.join("tmpl/_ALL_")).expect("mkdir");
    std::fs::write(
        dir.join("main.facs"),
        "project p {}\ninstance a { install: [{ type: \"tmpl\", dir: \"tmpl\" }] }\n",
    )
    .expect("write");
    for i in 0..50 {
        std::fs::write(dir.join(format!("tmpl/_ALL_/t{i}")), "x").expect("write");
    }
    let out = common::facs_env(&dir, &["build"], &[("FACS_MAX_TEMPLATES", "20")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("more than 20 templates to read (the limit), under `tmpl/_ALL_`"), "{stderr}");
    assert!(!dir.join(".facsimile").exists(), "nothing written");

    // A bad limit value is a usage error, not a silent default.
    let out = common::facs_env(&dir, &["check"], &[("FACS_MAX_TREE_SIZE", "big")]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_template_that_multiplies_its_output_is_stopped_at_the_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("tmpl/_ALL_")).expect("mkdir");
    std::fs::write(
        dir.join("main.facs"),
        "project p {}\ninstance a { install: [{ type: \"tmpl\", dir: \"tmpl\" }] ports: [1, 2, 3, 4, 5, 6, 7, 8] }\n",
    )
    .expect("write");
    // 8^12 copies of "x": the writer, not the result, has to stop it.
    let nested = format!("{}x{}", "{{#each @root.instance.ports}}".repeat(12), "{{/each}}".repeat(12));
    std::fs::write(dir.join("tmpl/_ALL_/t"), nested).expect("write");
    let start = Instant::now();
    let out = common::facs_env(dir, &["check"], &[("FACS_MAX_FILE_SIZE", "256K")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("produced more than 256.0 KiB, the limit for one file"), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(5));
}
