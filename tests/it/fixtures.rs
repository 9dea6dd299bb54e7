//! The fixture harness: runs the real `facs` binary on every definition
//! directory `tests/fixtures/<group>/<case>/` and snapshots what a user sees.
//!
//! A case directory holds `.facs` files (and `tmpl/`, `extra/`, files to
//! copy), optionally `state/` (copied in as the starting state, to fix
//! secrets), `args` (extra words for `facs build`) and `env` (`KEY=VALUE`
//! lines set for the run). The snapshot shows the
//! sources, the exit status, the human diagnostics, and every manifest and
//! rendered file with a `//// path` header. See tests/README.md.
//!
//! Every case is a test of its own, `fixtures::<group>::<case>`, so
//! `cargo test --release E007_` runs the E007 cases and a failure names its
//! case. The cases are listed below, one line each: a case directory missing
//! from the lists (or listed without a directory) fails
//! [`every_case_directory_is_listed`], so a new case cannot be forgotten.

use crate::common;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One module per group and one `#[test]` per case, named after the case
/// directory, plus `CASES`, the list the tidy test compares with the disk.
macro_rules! cases {
    ($group:ident: $($case:ident,)*) => {
        #[allow(non_snake_case)] // E007_inferred_mismatch: the case's name as is
        mod $group {
            /// The cases of this group, as listed.
            pub(super) const CASES: &[&str] = &[$(stringify!($case)),*];
            $(
                #[test]
                fn $case() {
                    super::check_case(stringify!($group), stringify!($case));
                }
            )*
        }
    };
}

cases! { build:
    build_abstract_required,
    build_components,
    build_comprehensions,
    build_constraints_hold,
    build_diamond_append,
    build_env_variables,
    build_expressions,
    build_facs_refs,
    build_generators,
    build_late_binding,
    build_module_overlays,
    build_multi_file,
    build_multiline_strings,
    build_named_instances,
    build_no_typo_warning,
    build_optional_secret,
    build_overlay_shared_state,
    build_repeated_schemas,
    build_replace_merge,
    build_schema_default_self,
    build_schema_defaults_secret,
    build_side_by_side_keys_no_warning,
    build_targets,
    build_unset,
    build_values,
}

cases! { errors:
    E001_bad_escape,
    E001_keyword_key,
    E001_keyword_typo,
    E001_missing_colon,
    E001_missing_value_before_brace,
    E001_missing_value_min,
    E001_module_in_generator,
    E001_multiline_underindented,
    E001_unclosed_block_min,
    E001_unclosed_brace_at_eof,
    E001_unclosed_list_by_indent,
    E001_unclosed_multiline,
    E001_unclosed_string,
    E002_component_twice,
    E002_duplicate_instance_min,
    E002_generated_name_twice,
    E002_schema_field_in_two_declarations,
    E002_second_project,
    E003_beside_independent_E010,
    E003_overlay_on_unknown,
    E003_unknown_parent_min,
    E004_component_cycle,
    E004_component_is_the_conglomerate,
    E004_cycle_min,
    E004_cycle_two_files,
    E005_no_c3_order_min,
    E006_set_twice_min,
    E006_comprehension_key_twice,
    E006_target_twice,
    E007_component_setting_not_literal,
    E007_enum_value,
    E007_inferred_mismatch,
    E007_inferred_nested_map,
    E007_inferred_reference,
    E007_operator_operands,
    E007_schema_type_min,
    E008_before_the_E009_it_causes,
    E008_component_setting,
    E008_install_field,
    E008_nested_schema_field,
    E008_unknown_field_min,
    E009_component_without_project,
    E009_env_variable_not_set,
    E009_external_secret_not_set,
    E009_no_project,
    E009_no_project_no_module_cascade,
    E009_required_missing_min,
    E009_target_without_nodes,
    E010_abstract_beside_template_E015,
    E010_bare_reference,
    E010_env_variable_not_declared,
    E010_index_missing_key,
    E010_independent_instances,
    E010_subtraction_without_spaces,
    E010_unquoted_union_value,
    E010_unresolved_min,
    E010_unset_missing,
    E010_unset_then_field,
    E010_unset_typo,
    E011_cycle_across_module,
    E011_cycle_through_parent,
    E011_reference_cycle_min,
    E012_append_non_list_min,
    E012_append_string_value,
    E013_env_field_no_cascade,
    E013_module_username,
    E013_name_field,
    E013_reserved_field_min,
    E013_reserved_schema_field,
    E014_inherits_overlay_min,
    E015_dynamic_partial_name,
    E015_every_missing_variable,
    E015_helper_arity,
    E015_missing_helper_argument,
    E015_jinja_did_you_mean,
    E015_jinja_missing_variable,
    E015_missing_variable_min,
    E015_partials_include_each_other,
    E015_path_did_you_mean,
    E015_root_inside_each,
    E015_template_syntax_min,
    E015_unknown_helper_min,
    E016_unknown_module_in_overlay,
    E016_unknown_module_min,
    E017_constraint_does_not_fit,
    E017_unknown_builtin_type,
    E017_unknown_type_min,
    E018_replace_escapes_min,
    E018_tmpl_dir_escapes,
    E019_bad_pattern,
    E019_bad_regex_min,
    E020_interpolate_list,
    E020_interpolate_map_min,
    E020_interpolate_null,
    E021_seeded_state_near_limit,
    E021_uiid_exhausted_min,
    E022_component_dir_missing,
    E022_missing_copy_min,
    E022_missing_in_second_group,
    E022_missing_tmpl_dir,
    E023_component_version_not_a_tag,
    E023_node_starts_with_dash,
    E024_tree_over_limit,
    E025_bad_state_recipient,
    E025_pattern_and_length,
    E025_range_constraint,
    E025_item_constraint,
    E025_unique_clash,
    E026_division_by_zero,
    E026_overflow,
    E027_unknown_function,
    E027_wrong_arguments,
    E028_generator_list_from_instance,
    W001_module_overlay_typo,
    W001_typo_min,
    W002_unused_template_folder,
    W003_legacy_world_readable_state,
    W004_state_not_ignored_by_git,
}

cases! { render:
    render_copy_extra_genconfig,
    render_copy_groups,
    render_extra_layers,
    render_genconfig_overlay,
    render_helpers,
    render_jinja_dirs,
    render_roots_lineage,
    render_secret_modes,
    render_secret_provenance,
    render_tmpl_roots,
}

/// The groups and their listed cases.
const GROUPS: &[(&str, &[&str])] = &[("build", build::CASES), ("errors", errors::CASES), ("render", render::CASES)];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs the case `tests/fixtures/<group>/<case>/` and compares it with its
/// snapshot `snapshots/<case>.snap` (named after the case directory alone).
fn check_case(group: &str, case: &str) {
    let dir = root().join(group).join(case);
    assert!(dir.join("main.facs").is_file(), "{}: no main.facs (a listed case without its directory?)", dir.display());
    if dir.join("git").is_file() && !common::have_tools(case, &["git"]) {
        return;
    }
    let uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(uuid, "<uuid4>");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let text = run_case(&dir);
    settings.bind(|| insta::assert_snapshot!(case, text));
}

fn files_below(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn rel(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).expect("below root").to_string_lossy().replace('\\', "/")
}

/// Runs one case and returns the snapshot text.
fn run_case(case: &Path) -> String {
    let work = tempfile::tempdir().expect("tempdir");
    let project = work.path().join("project");
    common::copy_dir(case, &project);
    let _ = std::fs::remove_dir_all(project.join("state"));
    let _ = std::fs::remove_file(project.join("args"));
    let _ = std::fs::remove_file(project.join("env"));
    // `git`: the run's directory (project, state and outputs) is a git work
    // tree (W004). The caller skips such cases where git is missing.
    if case.join("git").is_file() {
        let _ = std::fs::remove_file(project.join("git"));
        let init = Command::new("git").args(["init", "-q"]).arg(work.path()).status();
        assert!(init.is_ok_and(|s| s.success()), "git init failed");
    }
    let state = work.path().join("state");
    if case.join("state").is_dir() {
        common::copy_dir(&case.join("state"), &state);
        // A checkout makes every file 0644, as the original facsimile wrote
        // state; facs would tighten it (W003). Only W003 cases keep that mode.
        if case.file_name().is_some_and(|n| n.to_string_lossy().starts_with("W003")) {
            // Whatever the checkout's umask: the legacy modes.
            for entry in walkdir::WalkDir::new(&state).min_depth(1) {
                let entry = entry.expect("walk state");
                let mode = if entry.file_type().is_dir() { 0o755 } else { 0o644 };
                std::fs::set_permissions(entry.path(), std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .expect("chmod");
            }
        } else {
            common::private_state(&state);
        }
    }
    let out = work.path().join("out");
    let args: Vec<String> = std::fs::read_to_string(case.join("args"))
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    // `env`: KEY=VALUE lines for the run (the size limits, say).
    let envs: Vec<(String, String)> = std::fs::read_to_string(case.join("env"))
        .map(|text| {
            text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().into(), v.trim().into())).collect()
        })
        .unwrap_or_default();
    let output = Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(&project)
        .arg("build")
        .arg("--out")
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .args(&args)
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .expect("run facs");

    // Spec §11: `check` and `build` report the same set of errors (a build
    // that fails goes on like check and writes nothing).
    // (Cases with seeded state are skipped: `check` reads the default state dir.)
    if !output.status.success() && args.is_empty() && !case.join("state").is_dir() {
        let checked = Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("-p")
            .arg(&project)
            .arg("check")
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("NO_COLOR", "1")
            .output()
            .expect("run facs check");
        assert_eq!(
            String::from_utf8_lossy(&checked.stderr),
            String::from_utf8_lossy(&output.stderr),
            "{}: `facs check` and `facs build` report different diagnostics",
            case.display()
        );
        assert_eq!(checked.status.code(), output.status.code(), "{}: exit status of check", case.display());
    }
    let mut snap = String::new();
    writeln!(snap, "----- SOURCE CODE").ok();
    for file in files_below(&project) {
        let name = rel(&file, &project);
        if name.ends_with(".facs") || name.starts_with("tmpl/") {
            if let Ok(text) = std::fs::read_to_string(&file) {
                writeln!(snap, "//// {name}\n{text}").ok();
            }
        }
    }
    writeln!(snap, "----- EXIT STATUS\n{}", output.status.code().unwrap_or(-1)).ok();
    // The closing pointer to `facs explain-code` is the same on every
    // failing case (tested in `everyday.rs`): left out of the snapshots.
    let stderr: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.starts_with("note: `facs explain-code "))
        .map(|l| format!("{l}\n"))
        .collect();
    writeln!(snap, "----- DIAGNOSTICS\n{stderr}").ok();
    writeln!(snap, "----- OUTPUT").ok();
    for file in files_below(&out) {
        let name = rel(&file, &out);
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => writeln!(snap, "//// {name} ({mode:o})\n{text}").ok(),
            Err(_) => writeln!(snap, "//// {name} ({mode:o}, binary)").ok(),
        };
    }
    snap.replace(&work.path().to_string_lossy().to_string(), "<tmp>")
}

/// Tidy check: the lists above are the case directories on disk, so a new
/// case cannot go untested (and a removed one cannot linger in the list).
/// Any `tests/fixtures/<group>/<case>/` with a `main.facs` is a case.
#[test]
fn every_case_directory_is_listed() {
    let mut problems = Vec::new();
    let on_disk_groups: Vec<String> = names_in(&root()).into_iter().filter(|g| root().join(g).is_dir()).collect();
    for group in &on_disk_groups {
        if !GROUPS.iter().any(|(g, _)| g == group) {
            problems.push(format!("group tests/fixtures/{group}/ has no `cases!` list in tests/it/fixtures.rs"));
        }
    }
    for (group, listed) in GROUPS {
        let dir = root().join(group);
        let on_disk: Vec<String> =
            names_in(&dir).into_iter().filter(|c| dir.join(c).join("main.facs").is_file()).collect();
        for case in &on_disk {
            if !listed.contains(&case.as_str()) {
                problems.push(format!(
                    "tests/fixtures/{group}/{case}/ is not listed: add `{case},` to `cases! {{ {group}: ... }}`"
                ));
            }
        }
        for case in *listed {
            if !on_disk.iter().any(|c| c == case) {
                problems.push(format!("`{case}` is listed in `cases! {{ {group}: ... }}` but tests/fixtures/{group}/{case}/main.facs does not exist"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Tidy check: every snapshot a case would write (`snapshots/<case>.snap`,
/// no module prefix) belongs to a listed case, so renaming or removing a case
/// cannot leave its old snapshot behind, unread.
#[test]
fn every_case_snapshot_has_a_case() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let stale: Vec<String> = names_in(&snapshots)
        .into_iter()
        .filter_map(|name| name.strip_suffix(".snap").map(str::to_string))
        .filter(|name| !name.contains("__"))
        .filter(|name| !GROUPS.iter().any(|(_, cases)| cases.contains(&name.as_str())))
        .collect();
    assert!(stale.is_empty(), "snapshots in tests/it/snapshots/ without a fixture case: {stale:?}");
}

/// The names of the entries of `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Tidy check (rust-analyzer style): every diagnostic code has an error fixture
/// named after it, so no code ships without a test of what users see.
#[test]
fn every_code_has_a_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/errors");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/errors")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = facs::diagnostic::Code::ALL
        .iter()
        .map(|c| c.as_str())
        // E000 is an internal error: an input that triggers it is a bug.
        .filter(|code| *code != "E000")
        .filter(|code| !names.iter().any(|n| n.starts_with(&format!("{code}_"))))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture in tests/fixtures/errors: {missing:?}");
}
