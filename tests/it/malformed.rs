//! Malformed and hostile input: every case gets a diagnostic with a code (and a
//! place, where the input has one) and exit status 1, or builds; never a
//! panic, a hang, a stack overflow or exponential time. Deep structures are
//! far past any limit so the guards, not luck, are what is tested.

use crate::common;

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

/// The bidirectional controls of "Trojan Source" (CVE-2021-42574): each one
/// in a string literal reorders how a terminal shows the line around it.
const BIDI: [char; 12] = [
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    '\u{200e}', '\u{200f}', '\u{061c}',
];

#[test]
fn bidi_controls_are_escaped_in_excerpts_messages_and_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let literal: String = BIDI.iter().collect();
    // The error is after the literal, so the caret is placed past every
    // escape; a second one quotes a bidi control in its message.
    let text = format!(
        "project p {{}}\ninstance a {{\n  s: \"{literal}\" x: nope\n}}\ninstance b {{ \"a\u{202e}b\": 1 \"a\u{202e}b\": 2 }}\n"
    );
    std::fs::write(tmp.path().join("main.facs"), &text).expect("write");
    let out = common::facs_env(tmp.path(), &["check"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.chars().any(|c| BIDI.contains(&c)), "a raw bidi control reached the terminal: {stderr}");
    let escaped: String = BIDI.iter().map(|c| c.escape_unicode().to_string()).collect();
    let shown = format!("  s: \"{escaped}\" x: nope");
    let line = stderr.lines().find(|l| l.ends_with(&shown)).unwrap_or_else(|| panic!("no escaped line in {stderr}"));
    // The location is the original column (characters); the caret sits under
    // `nope` in the escaped line.
    let column = text.lines().nth(2).and_then(|l| l.split("nope").next()).map_or(0, |p| p.chars().count() + 1);
    assert!(stderr.contains(&format!("main.facs:3:{column}")), "{stderr}");
    assert_caret_under(&stderr, line, "nope");
    assert!(stderr.contains("a\\u{202e}b"), "the message quotes the reference escaped: {stderr}");

    // JSON: the same diagnostics, the controls as JSON escapes (a reader gets
    // the exact text back, a terminal shows no raw control).
    let out = common::facs_env(tmp.path(), &["--message-format", "json", "check"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.chars().any(|c| BIDI.contains(&c)), "{stderr}");
    assert!(stderr.contains("\\u202e"), "{stderr}");
    let messages: Vec<String> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|d| d["message"].as_str().map(str::to_string))
        .collect();
    assert!(messages.iter().any(|m| m.contains("a\u{202e}b")), "{messages:?}");
}

/// The line after `line` in `stderr` has its first `^` under `token`
/// (counted in characters: the gutter's `│` and a cut's `…` are multi-byte).
fn assert_caret_under(stderr: &str, line: &str, token: &str) {
    let column = |text: &str, pattern: &str| text.split(pattern).next().map(|p| p.chars().count());
    let carets = stderr.lines().skip_while(|l| *l != line).nth(1).unwrap_or("");
    assert_eq!(column(carets, "^"), column(line, token), "caret under `{token}`:\n{line}\n{carets}");
}

/// A definition with one line of `len` bytes (a string literal) that has an
/// unresolved reference just before it and one just after it.
fn one_huge_line(len: usize) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = format!("project p {{}} instance a {{ early: nope_start s: \"{}\" late: nope_end }}\n", "a".repeat(len));
    std::fs::write(tmp.path().join("main.facs"), &text).expect("write");
    (tmp, text)
}

#[test]
fn a_15_mb_line_is_cut_in_excerpts() {
    let (tmp, text) = one_huge_line(15_000_000);
    let start = Instant::now();
    let out = common::facs_env(tmp.path(), &["check"], &[]);
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", stderr.get(..2000).unwrap_or(&stderr));
    assert!(
        out.stderr.len() < 10_000,
        "{} bytes of diagnostics: {}",
        out.stderr.len(),
        stderr.get(..2000).unwrap_or("")
    );
    let column = |token: &str| text.find(token).map_or(0, |b| b + 1); // ASCII: bytes are characters
    for token in ["nope_start", "nope_end"] {
        assert!(stderr.contains(&format!("main.facs:1:{}", column(token))), "{token}: {stderr}");
        // The excerpt still shows the token, with the caret under it.
        let line = stderr.lines().find(|l| l.contains(&format!(": {token}"))).unwrap_or_else(|| panic!("{stderr}"));
        assert_caret_under(&stderr, line, token);
        assert!(line.contains('…'), "{line}");
    }
    // The whole check (reading and parsing 15 MB included); measured 0.75 s.
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// A file name from raw bytes (not UTF-8 when they are not).
fn byte_name(bytes: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[test]
fn source_files_whose_names_are_not_utf8_stay_two_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("main.facs"), "project p {}\n").expect("write");
    // A lossy name makes both `a\u{fffd}.facs`: one shadowed the other, or
    // neither could be read back.
    std::fs::write(tmp.path().join(byte_name(b"a\xff.facs")), "instance b { x: nope_ff }\n").expect("write");
    std::fs::write(tmp.path().join(byte_name(b"a\xfe.facs")), "instance c { x: nope_fe }\n").expect("write");
    let out = common::facs_env(tmp.path(), &["--message-format", "json", "check"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let places: Vec<(String, String)> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|d| (d["file"].as_str().unwrap_or("").to_string(), d["message"].as_str().unwrap_or("").to_string()))
        .collect();
    // Bytewise order (spec §2): 0xfe before 0xff.
    assert_eq!(
        places,
        [
            ("a\\xfe.facs".to_string(), "unresolved reference `nope_fe`".to_string()),
            ("a\\xff.facs".to_string(), "unresolved reference `nope_ff`".to_string()),
        ],
        "{stderr}"
    );
    let out = common::facs_env(tmp.path(), &["check"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("┌─ a\\xfe.facs:1:17") && stderr.contains("┌─ a\\xff.facs:1:17"), "{stderr}");
}

#[test]
fn templates_whose_names_are_not_utf8_render_to_their_own_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("tmpl/_ALL_")).expect("mkdir");
    std::fs::write(
        dir.join("main.facs"),
        "project p {}\ninstance a { install: [{ type: \"tmpl\", dir: \"tmpl\" }] v: 1 }\n",
    )
    .expect("write");
    // A backslash in a valid name is escaped too, so no UTF-8 name can
    // pass for an escaped byte.
    let names: [&[u8]; 3] = [b"t\xff", b"t\xfe", b"t\\xff"];
    for (i, name) in names.iter().enumerate() {
        std::fs::write(dir.join("tmpl/_ALL_").join(byte_name(name)), format!("{i} {{{{instance.v}}}}\n"))
            .expect("write");
    }
    let out = common::facs_env(dir, &["build"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let release = dir.join(".facsimile/out/a/p");
    for (i, name) in names.iter().enumerate() {
        let rendered = std::fs::read_to_string(release.join(byte_name(name))).unwrap_or_default();
        assert_eq!(rendered, format!("{i} 1\n"), "{}", String::from_utf8_lossy(name));
    }
}

/// A definition of `n` instances below one abstract base (with a module and
/// a target, so every table has rows), a tenth of them with an overlay.
fn many_instances(n: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut text = String::from(
        "project p {}\nmodule web { daemon: \"nginx\" }\nabstract instance base { target web { nodes: [\"n1\"] } }\n",
    );
    for i in 0..n {
        text.push_str(&format!("instance i{i:06} inherits base {{}}\n"));
    }
    for i in (0..n).step_by(10) {
        text.push_str(&format!("overlay o{i:06} on i{i:06} {{}}\n"));
    }
    std::fs::write(tmp.path().join("main.facs"), text).expect("write");
    tmp
}

/// The fastest of `runs` runs (the machine is shared), each checked to succeed.
fn timed(dir: &Path, args: &[&str], runs: usize) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = common::facs_env(dir, args, &[]);
            let took = start.elapsed();
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            took
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn list_and_graph_take_linear_time_in_the_number_of_instances() {
    // `list instances` read each row's source line with `lines().nth()`,
    // a scan from the file's start: 58 s over 100,000 instances.
    let (small, large) = (many_instances(10_000), many_instances(40_000));
    for args in [&["list", "instances"][..], &["graph"]] {
        let (t_small, t_large) = (timed(small.path(), args, 2), timed(large.path(), args, 2));
        // Four times the instances: about 4x when linear, 16x when quadratic.
        let ratio = t_large.as_secs_f64() / t_small.as_secs_f64().max(0.001);
        assert!(ratio < 8.0, "{args:?}: {t_small:?} for 10,000, {t_large:?} for 40,000");
    }
    let middle = many_instances(20_000);
    for args in [&["list", "instances"][..], &["list", "modules"], &["list", "targets"], &["list", "nodes"], &["graph"]]
    {
        // These compile every instance, as `check` does (0.9 s here).
        let took = timed(middle.path(), args, 1);
        // Measured under a second; generous for a loaded machine.
        assert!(took < Duration::from_secs(4), "{args:?} over 20,000 instances: {took:?}");
    }
}
