//! W002 (spec §10): a folder under a template directory or `extra/` whose
//! name is neither `_ALL_` nor an instance or overlay. Its files are never
//! used, which is almost always a misspelt or renamed instance.

use crate::diagnostic::{closest, Code, Diagnostic};
use std::path::Path;

/// Warnings for the folders of `roots` (template `dir`s and `extra`,
/// relative to `definition_dir`) that match none of `names`.
pub fn unused_folders(definition_dir: &Path, roots: &[String], names: &[&str]) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for root in roots {
        let Ok(entries) = std::fs::read_dir(definition_dir.join(root)) else { continue };
        let mut folders: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        folders.sort();
        for folder in folders {
            if folder == "_ALL_" || names.contains(&folder.as_str()) {
                continue;
            }
            let candidates = names.iter().copied().chain(std::iter::once("_ALL_"));
            let help = match closest(&folder, candidates) {
                Some(near) => format!("Did you mean `{near}`? Rename the folder to `{root}/{near}`, or remove it."),
                None => format!(
                    "Name the folder after an instance or overlay, or `_ALL_` for files every instance gets; known: {}.",
                    list(names)
                ),
            };
            found.push(
                Diagnostic::global(
                    Code::W002,
                    format!("folder `{root}/{folder}` matches no instance or overlay; its files are never used"),
                )
                .with_help(help),
            );
        }
    }
    found
}

fn list(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut text: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    if names.len() > SHOWN {
        text.push(format!("and {} more", names.len() - SHOWN));
    }
    text.join(", ")
}
