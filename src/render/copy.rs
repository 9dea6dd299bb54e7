//! `copy` install groups (spec §10): `files` (must exist, E022), `optfiles`
//! (copied when present), `pattern`/`replace` renaming.

use super::paths;
use super::{bad_regex, escape_error, FileTree, TreeFile};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Value;
use crate::source::Span;
use regex::Regex;
use std::path::Path;

/// Where copies come from and go.
pub struct CopyCtx<'c> {
    /// Canonical definition directory.
    pub definition_dir: &'c Path,
    /// Canonical `facs.src_dir`: relative sources are relative to it.
    pub src_dir: &'c Path,
    /// The state and output directories (canonical): never copied.
    pub protected: &'c [std::path::PathBuf],
    /// The deploy dir's path in the tree (`<project>/_DEPLOY_`).
    pub deploy: &'c str,
}

fn strings(group: &Value, key: &str) -> Vec<String> {
    match group.get_path(&[key]).map(Value::unwrap_secret) {
        Some(Value::List(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// Copies one group into the tree.
pub fn copy_group(
    ctx: &CopyCtx<'_>,
    g: usize,
    group: &Value,
    span_of: &dyn Fn(&str) -> Span,
    tree: &mut FileTree,
    errors: &mut Vec<Diagnostic>,
) {
    let pattern = match group.get_path(&["pattern"]).and_then(Value::as_str).map(Regex::new) {
        None => None,
        Some(Ok(re)) => Some(re),
        Some(Err(e)) => {
            errors.push(bad_regex(span_of(&format!("{g}.pattern")), "pattern", &e));
            return;
        }
    };
    let replace = group.get_path(&["replace"]).and_then(Value::as_str).unwrap_or("").to_string();
    for (list, required) in [("files", true), ("optfiles", false), ("dirs", true)] {
        // `dirs` (spec §10): like the original's `dir` walk, `pattern`
        // applies to each file's path (the directory as written, then the
        // file's path inside it), not to the directory's.
        let walked = list == "dirs";
        for (j, source) in strings(group, list).iter().enumerate() {
            let span = span_of(&format!("{g}.{list}.{j}"));
            let source_path = ctx.src_dir.join(source);
            // Judge the path as written before touching the disk: whether
            // `../../etc/passwd` exists must not change the answer.
            let lexical = paths::lexical(&source_path);
            if source.contains('\0') {
                errors.push(escape_error(span, &format!("`{}` contains a NUL byte", source.escape_debug())));
                continue;
            }
            if let Err(why) = paths::dash_free(source) {
                errors.push(escape_error(span, &why));
                continue;
            }
            if !lexical.starts_with(ctx.definition_dir) && !lexical.starts_with(ctx.src_dir) {
                errors
                    .push(escape_error(span, &format!("`{source}` is outside the definition and source directories")));
                continue;
            }
            if !source_path.exists() {
                if required {
                    errors.push(
                        Diagnostic::error(Code::E022, span, format!("file to copy does not exist: `{source}`"))
                            .with_primary_label(format!("not found in {}", ctx.src_dir.display()))
                            .with_help("Fix the path (relative sources are relative to facs.src_dir), or list it under `optfiles` if it may be absent."),
                    );
                }
                continue;
            }
            let canonical = match std::fs::canonicalize(&source_path) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(escape_error(span, &format!("cannot resolve `{source}`: {e}")));
                    continue;
                }
            };
            if !canonical.starts_with(ctx.definition_dir) && !canonical.starts_with(ctx.src_dir) {
                errors
                    .push(escape_error(span, &format!("`{source}` is outside the definition and source directories")));
                continue;
            }
            if paths::overlaps(&canonical, ctx.protected) {
                errors.push(super::protected_input(span, source));
                continue;
            }
            let destination = match &pattern {
                Some(re) => re.replace_all(source, replace.as_str()).into_owned(),
                None if Path::new(source).is_absolute() => {
                    Path::new(source).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                }
                None => source.clone(),
            };
            let dest_span = if pattern.is_some() { span_of(&format!("{g}.replace")) } else { span };
            let Ok(dest) = paths::relative_inside(&destination) else {
                errors.push(escape_error(
                    dest_span,
                    &format!("copying `{source}` to `{destination}` would leave the deploy directory"),
                ));
                continue;
            };
            let dest = crate::source::relative_name(&dest);
            if dest.is_empty() {
                errors.push(escape_error(dest_span, &format!("copying `{source}` has an empty destination")));
                continue;
            }
            // Files are opened beneath the source or definition directory,
            // not beneath `canonical` itself: a directory swapped for a
            // symlink after the check would otherwise become the root.
            let base = if canonical.starts_with(ctx.src_dir) { ctx.src_dir } else { ctx.definition_dir };
            if walked && !canonical.is_dir() {
                errors.push(
                    Diagnostic::error(Code::E022, span, format!("directory to copy is not a directory: `{source}`"))
                        .with_help("List single files under `files`."),
                );
                continue;
            }
            if canonical.is_dir() {
                match paths::walk_files(&canonical, &canonical) {
                    Ok(files) => {
                        for (rel, path) in files {
                            let file = (path.as_path(), base);
                            let key = match (&pattern, walked) {
                                (Some(re), true) => {
                                    let renamed =
                                        re.replace_all(&format!("{source}/{rel}"), replace.as_str()).into_owned();
                                    match paths::relative_inside(&renamed) {
                                        Ok(d) => crate::source::relative_name(&d),
                                        Err(_) => {
                                            errors.push(escape_error(
                                                dest_span,
                                                &format!("copying `{source}/{rel}` to `{renamed}` would leave the deploy directory"),
                                            ));
                                            continue;
                                        }
                                    }
                                }
                                _ => format!("{dest}/{rel}"),
                            };
                            read_into(tree, &format!("{}/{key}", ctx.deploy), file, span, errors);
                        }
                    }
                    Err(why) => errors.push(escape_error(span, &why)),
                }
            } else if canonical.is_file() {
                read_into(tree, &format!("{}/{dest}", ctx.deploy), (&canonical, base), span, errors);
            } else {
                errors.push(escape_error(span, &format!("`{source}` is not a regular file")));
            }
        }
    }
}

/// Reads one file into the tree (E024 when it alone is over the tree limit).
/// `file` is (canonical path, canonical directory it must still be beneath
/// when it is opened: see [`paths::open_confined`]).
pub(super) fn read_into(
    tree: &mut FileTree,
    key: &str,
    (path, allowed): (&Path, &Path),
    span: Span,
    errors: &mut Vec<Diagnostic>,
) {
    // A copied file may be a large asset, but never larger than a whole tree
    // may be: checked before reading it into memory.
    let limit = crate::limits::current().tree_bytes;
    if let Some(size) = std::fs::metadata(path).ok().map(|m| m.len()).filter(|size| *size > limit) {
        errors.push(
            Diagnostic::error(
                Code::E024,
                span,
                format!(
                    "`{}` is {}, over the {} limit for one tree",
                    path.display(),
                    crate::limits::human(size),
                    crate::limits::human(limit)
                ),
            )
            .with_help(format!(
                "Raise the limit with {}=<size> if this file belongs in the tree.",
                crate::limits::TREE_VAR
            )),
        );
        return;
    }
    let read = paths::open_confined(path, allowed).and_then(|mut f| {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut bytes).map(|_| bytes)
    });
    match read {
        Ok(bytes) => {
            tree.insert(key.to_string(), TreeFile::copied(bytes, path));
        }
        Err(e) => errors.push(Diagnostic::error(Code::E022, span, format!("cannot read `{}`: {e}", path.display()))),
    }
}
