//! `facs init [DIR]` (spec §12): a small project that builds as it is, so a
//! new user's first command succeeds and every later one has something to
//! act on. It never overwrites: when any file it would write exists, it
//! writes nothing and names the file.

use super::Ui;
use std::path::{Path, PathBuf};

/// The files of a new project, relative to its directory. `{name}` is the
/// project's name.
const FILES: &[(&str, &str)] = &[
    (
        "project.facs",
        r#"// The project: what is deployed. Every *.facs file of this directory is
// loaded; the order of files and declarations does not matter.
project {name} {
  version: "0.1.0"
}

/// A service. It gets a system user (`username`: the module name) and a
/// generated password, kept in .facsimile/state/ and identical in every build.
module app {
  port: 8000
}
"#,
    ),
    (
        "instances.facs",
        r#"// Instances are the environments. `abstract` ones are only inherited.
abstract instance base {
  home: "/srv/{name}"
  log_level: "info"
  // Render tmpl/_ALL_/ and then tmpl/<instance>/ into each instance's tree.
  install: [ { type: "tmpl", dir: "tmpl" } ]
}

instance dev inherits base {
  log_level: "debug"
}

instance production inherits base {
  targets {
    web { nodes: ["web1.example.com"], user: "deploy" }
  }
}
"#,
    ),
    (
        "tmpl/_ALL_/_DEPLOY_/etc/app.conf",
        r#"# Rendered by facs for {{instance.name}} ({{project.name}} {{project.version}}).
port = {{module.app.port}}
log_level = {{instance.log_level}}
user = {{module.app.username}}
password = {{module.app.password}}
"#,
    ),
    (".gitignore", "# Built manifests, trees and generated state (passwords): never commit them.\n.facsimile/\n"),
];

/// `facs init [DIR]`
pub fn run(dir: Option<&Path>, ui: &mut Ui) -> i32 {
    let dir = dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let absolute = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
    let name = project_name(&absolute);
    if let Some(existing) = FILES.iter().map(|(path, _)| dir.join(path)).find(|p| p.symlink_metadata().is_ok()) {
        ui.failure(&format!(
            "{} already exists; `facs init` writes only into a directory without its files (nothing was written)",
            existing.display()
        ));
        return 1;
    }
    if let Some(facs) = first_facs_file(&dir) {
        ui.failure(&format!(
            "{} already holds a definition ({}); `facs init` starts a new project in a directory of its own",
            dir.display(),
            facs.display()
        ));
        return 1;
    }
    for (path, text) in FILES {
        let path = dir.join(path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text.replace("{name}", &name)));
        if let Err(e) = written {
            ui.failure(&format!("cannot write {}: {e}", path.display()));
            return 1;
        }
    }
    let shown = dir.display();
    let text = format!(
        "created project `{name}` in {shown}:\n\
         \x20 project.facs                       the project and its module `app`\n\
         \x20 instances.facs                     an abstract `base`, `dev` and `production`\n\
         \x20 tmpl/_ALL_/_DEPLOY_/etc/app.conf   a template rendered for every instance\n\
         \x20 .gitignore                         keeps .facsimile/ (outputs and state) out of git\n\
         next: `facs -p {shown} build` writes .facsimile/out/<instance>.json and a tree per instance\n"
    );
    ui.out(text.as_bytes())
}

/// The directory's name as a project name: letters, digits and `_`/`-`,
/// starting with a letter (`my app` → `my_app`, `2024` → `p2024`).
fn project_name(dir: &Path) -> String {
    let raw = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut name: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    name = name.trim_matches(|c| c == '_' || c == '-').to_string();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert(0, 'p');
    }
    // A keyword cannot name a project (spec §3); the grammar's list.
    let keywords =
        ["project", "schema", "module", "abstract", "instance", "inherits", "overlay", "on", "target", "unset"];
    if keywords.contains(&name.as_str()) || ["true", "false", "null"].contains(&name.as_str()) {
        name.push_str("_project");
    }
    name
}

/// A `.facs` file directly in `dir`, if any.
fn first_facs_file(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut found: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "facs")).collect();
    found.sort();
    found.into_iter().next()
}
