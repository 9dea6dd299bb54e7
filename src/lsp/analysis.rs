//! One analysis of the workspace: the pipeline of `facs check` over the files
//! on disk with the editor's open buffers in their place.
//!
//! After an edit of one file, only the instances whose lineage has a
//! declaration in that file are compiled again; the others keep their
//! manifests and diagnostics from the previous analysis. Anything that can
//! reach every instance (a change to the project, modules or schemas, a file
//! added or removed, a template error) falls back to a full analysis.

use crate::build::{self, Front, Mode, Options, Session};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Value;
use crate::resolve::{InstanceId, Resolved};
use crate::source::{DiskFs, Fs, SourceMap};
use crate::syntax::ast::{self, Decl};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The disk with open buffers laid over it.
pub struct OverlayFs<'o> {
    disk: DiskFs,
    /// Relative path → buffer text.
    open: &'o BTreeMap<String, String>,
}

impl Fs for OverlayFs<'_> {
    fn facs_files(&self) -> std::io::Result<Vec<String>> {
        let mut files = self.disk.facs_files()?;
        for name in self.open.keys() {
            if name.ends_with(".facs") && !name.starts_with("../") && !files.contains(name) {
                files.push(name.clone());
            }
        }
        files.sort();
        Ok(files)
    }

    fn read(&self, relative: &str) -> std::io::Result<Vec<u8>> {
        match self.open.get(relative) {
            Some(text) => Ok(text.clone().into_bytes()),
            None => self.disk.read(relative),
        }
    }

    fn escaping_links(&self) -> Vec<(String, String)> {
        self.disk.escaping_links()
    }

    fn include(&self, dir: &str) -> std::io::Result<(Box<dyn Fs>, std::path::PathBuf)> {
        self.disk.include(dir)
    }

    fn location(&self) -> Option<std::path::PathBuf> {
        self.disk.location()
    }
}

/// What one instance's compilation left, for reuse by the next analysis.
#[derive(Clone)]
struct Cached {
    footprint: Footprint,
    manifest: Arc<Value>,
    diagnostics: Vec<Diagnostic>,
}

/// What an instance's compilation read: its lineage's declarations.
#[derive(Clone, PartialEq, Eq)]
struct Footprint {
    /// Its lineage by name.
    lineage: Vec<String>,
    /// Files holding the declarations of its lineage (sorted, unique).
    files: Vec<String>,
    /// Per lineage member: where its declaration starts and a hash of its text.
    decls: Vec<(u32, u64)>,
}

impl Footprint {
    /// True when a compilation with footprint `self` (and `diagnostics`) can
    /// stand for one with footprint `now` after an edit of `changed`.
    fn still_holds(&self, now: &Footprint, changed: Option<&str>, diagnostics: &[Diagnostic]) -> bool {
        if self.lineage != now.lineage || self.files != now.files {
            return false;
        }
        if !changed.is_some_and(|f| now.files.iter().any(|x| x == f)) {
            return true;
        }
        // The edited file holds part of the lineage: reusable when none of
        // its declarations changed and, since diagnostics carry byte spans,
        // none moved (unless there are no diagnostics to move).
        let same_text = self.decls.iter().map(|d| d.1).eq(now.decls.iter().map(|d| d.1));
        let same_place = self.decls.iter().map(|d| d.0).eq(now.decls.iter().map(|d| d.0));
        same_text && (same_place || diagnostics.is_empty())
    }
}

/// What one analysis found. Requests (hover, definition, completion) read
/// its session; nothing is analysed again until the next edit.
pub struct Analysis {
    /// The session: sources, parsed files and their analysis.
    pub session: Session,
    /// Every diagnostic, as `facs check` reports it.
    pub diagnostics: Vec<Diagnostic>,
    /// Concrete instance name → (lineage names, manifest), shared with the
    /// cache so reusing an instance copies nothing.
    pub instances: BTreeMap<String, (Vec<String>, Arc<Value>)>,
    cache: BTreeMap<String, Cached>,
    file_names: Vec<String>,
    /// Why the workspace could not be read, when it could not.
    pub failure: Option<String>,
    /// Instances compiled by this analysis (the rest came from the cache);
    /// the tests use it to prove an edit recompiles only what it touches.
    #[cfg_attr(not(test), allow(dead_code))]
    pub n_compiled: usize,
}

impl Analysis {
    /// Every source (`.facs` files and templates).
    pub fn sources(&self) -> &SourceMap {
        &self.session.sources
    }

    /// The parsed files.
    pub fn files(&self) -> &[ast::File] {
        self.session.program.files()
    }

    /// Declarations and types.
    pub fn front(&self) -> &Front<'_> {
        self.session.front()
    }
}

fn file_names(sources: &SourceMap, files: &[ast::File]) -> Vec<String> {
    files.iter().filter_map(|f| sources.get(f.id).map(|s| s.name.clone())).collect()
}

fn has_shared_decls(file: Option<&ast::File>) -> bool {
    file.is_some_and(|f| f.decls.iter().any(|d| !matches!(d, Decl::Instance(_))))
}

/// Runs the pipeline over `root` with `open` buffers. With a previous
/// analysis and the one file that changed since, only affected instances
/// are compiled.
pub fn analyse(
    root: &Path,
    open: &BTreeMap<String, String>,
    previous: Option<&Analysis>,
    changed: Option<&str>,
) -> Analysis {
    let options = Options::new(root, None, None);
    let fs = OverlayFs { disk: DiskFs::new(root, &[options.out_dir.clone(), options.state_dir.clone()]), open };
    // An unreadable workspace has no file to attach a diagnostic to: the
    // reason goes to the editor as a message (`failure`).
    let (mut session, failure) = match Session::open_anyway(&fs, options.clone()) {
        Ok(session) => (session, None),
        Err(why) => (Session::empty(options), Some(why)),
    };
    let names = file_names(&session.sources, session.program.files());
    let mut instances = BTreeMap::new();
    let mut cache = BTreeMap::new();
    let mut n_compiled = 0;
    if session.parsed {
        let selected = session.select(&[]);
        let resolved = session.resolved();
        let footprint = |id: InstanceId| -> Footprint {
            let members: Vec<_> = resolved.instances[id].lineage.clone().unwrap_or_default();
            let infos: Vec<_> = members.iter().map(|&m| &resolved.instances[m]).collect();
            let lineage = infos.iter().map(|i| i.name().to_string()).collect();
            let mut files: Vec<String> =
                infos.iter().filter_map(|i| session.sources.get(i.decl.span.file).map(|f| f.name.clone())).collect();
            files.sort();
            files.dedup();
            let decls = infos
                .iter()
                .map(|i| {
                    let span = i.decl.span;
                    let text =
                        session.sources.get(span.file).and_then(|f| f.text.get(span.start as usize..span.end as usize));
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    std::hash::Hash::hash(&text, &mut hasher);
                    (span.start, std::hash::Hasher::finish(&hasher))
                })
                .collect();
            Footprint { lineage, files, decls }
        };
        let reusable = reusable(previous, changed, &names, &session);
        let mut affected = Vec::new();
        let mut reused = Vec::new();
        for &id in &selected {
            let name = resolved.instances[id].name();
            let now = footprint(id);
            let cached = reusable
                .and_then(|p| p.cache.get(name))
                .filter(|c| c.footprint.still_holds(&now, changed, &c.diagnostics));
            match cached {
                Some(c) => {
                    reused.extend(c.diagnostics.iter().cloned());
                    instances.insert(name.to_string(), (now.lineage, Arc::clone(&c.manifest)));
                    cache.insert(name.to_string(), c.clone());
                }
                None => affected.push((id, now)),
            }
        }
        session.sink.extend(reused);
        let ids: Vec<InstanceId> = affected.iter().map(|(id, _)| *id).collect();
        n_compiled = ids.len();
        let compilation = session.compile(&ids, Mode::Check);
        if !session.has_errors() {
            session.render(&compilation, Some(&ids));
        }
        remember(session.resolved(), &compilation, affected, &mut instances, &mut cache);
    }
    let diagnostics = std::mem::take(&mut session.sink).into_sorted();
    Analysis { session, diagnostics, failure, instances, cache, file_names: names, n_compiled }
}

/// The previous analysis, when its cached instances can be trusted.
fn reusable<'p>(
    previous: Option<&'p Analysis>,
    changed: Option<&str>,
    names: &[String],
    session: &Session,
) -> Option<&'p Analysis> {
    let previous = previous?;
    let changed = changed?;
    let same_files = previous.file_names == names;
    let template_errors = previous.diagnostics.iter().any(|d| d.code == Code::E015);
    let old = previous.files().iter().find(|f| previous.sources().get(f.id).is_some_and(|s| s.name == changed));
    let new = session.program.files().iter().find(|f| session.sources.get(f.id).is_some_and(|s| s.name == changed));
    (same_files && !template_errors && !has_shared_decls(old) && !has_shared_decls(new)).then_some(previous)
}

fn remember(
    resolved: &Resolved<'_>,
    compilation: &build::Compilation,
    affected: Vec<(InstanceId, Footprint)>,
    instances: &mut BTreeMap<String, (Vec<String>, Arc<Value>)>,
    cache: &mut BTreeMap<String, Cached>,
) {
    let mut affected: std::collections::HashMap<InstanceId, Footprint> = affected.into_iter().collect();
    for (id, compiled) in compilation.instances() {
        let info = &resolved.instances[id];
        // Only the affected instances were compiled.
        let Some(footprint) = affected.remove(&id) else { continue };
        let manifest = Arc::new(compiled.manifest.value.clone());
        instances.insert(info.name().to_string(), (footprint.lineage.clone(), Arc::clone(&manifest)));
        let diagnostics = compiled.diagnostics.clone();
        cache.insert(info.name().to_string(), Cached { footprint, manifest, diagnostics });
    }
}

/// The path of `file` relative to `root`, with `/`.
pub fn relative(root: &Path, file: &Path) -> Option<String> {
    file.strip_prefix(root).ok().map(crate::source::relative_name)
}

/// `root/relative`.
pub fn absolute(root: &Path, relative: &str) -> PathBuf {
    root.join(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(a: &Analysis) -> Vec<(String, String)> {
        a.diagnostics
            .iter()
            .map(|d| {
                let file = d
                    .primary
                    .as_ref()
                    .and_then(|p| a.sources().get(p.span.file))
                    .map_or(String::new(), |f| f.name.clone());
                (d.code.as_str().to_string(), file)
            })
            .collect()
    }

    #[test]
    fn an_edit_recompiles_only_instances_whose_lineage_it_touches() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::write(root.join("project.facs"), "project p {}\nmodule app {}\nabstract instance base { x: 1 }\n")
            .expect("write");
        std::fs::write(root.join("a.facs"), "instance a1 inherits base {}\ninstance a2 inherits a1 {}\n")
            .expect("write");
        std::fs::write(root.join("b.facs"), "instance b1 inherits base { y: \"${nope}\" }\n").expect("write");
        let first = analyse(root, &BTreeMap::new(), None, None);
        assert_eq!(first.n_compiled, 3);
        assert_eq!(codes(&first), vec![("E010".to_string(), "b.facs".to_string())]);

        let mut open = BTreeMap::new();
        open.insert(
            "a.facs".to_string(),
            "instance a1 inherits base { z: \"${gone}\" }\ninstance a2 inherits a1 {}\n".to_string(),
        );
        let second = analyse(root, &open, Some(&first), Some("a.facs"));
        assert_eq!(second.n_compiled, 2, "b1 does not inherit from a.facs");
        let full = analyse(root, &open, None, None);
        assert_eq!(codes(&second), codes(&full), "incremental and full analyses agree");
        assert_eq!(second.instances.keys().collect::<Vec<_>>(), full.instances.keys().collect::<Vec<_>>());
        for (name, (_, manifest)) in &full.instances {
            assert_eq!(second.instances.get(name).map(|(_, m)| m.as_ref()), Some(manifest.as_ref()), "{name}");
        }

        // A change to a file with shared declarations recompiles everything.
        open.insert(
            "project.facs".to_string(),
            "project p {}\nmodule app {}\nabstract instance base { x: 2 }\n".to_string(),
        );
        let third = analyse(root, &open, Some(&second), Some("project.facs"));
        assert_eq!(third.n_compiled, 3);
    }

    #[test]
    fn an_edit_recompiles_only_the_declarations_it_changes_and_their_children() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::write(root.join("project.facs"), "project p {}\nmodule app {}\n").expect("write");
        let mut text = String::new();
        for i in 0..20 {
            text.push_str(&format!("instance i{i} {{ x: {i} }}\n"));
        }
        text.push_str("instance child inherits i19 {}\n");
        std::fs::write(root.join("many.facs"), &text).expect("write");
        let first = analyse(root, &BTreeMap::new(), None, None);
        assert_eq!(first.n_compiled, 21);

        // The last parent changes (same length, so nothing after it moves).
        let mut open = BTreeMap::new();
        open.insert("many.facs".to_string(), text.replace("i19 { x: 19 }", "i19 { x: 91 }"));
        let second = analyse(root, &open, Some(&first), Some("many.facs"));
        assert_eq!(second.n_compiled, 2, "i19 and its child, not the 19 others");
        let full = analyse(root, &open, None, None);
        assert_eq!(codes(&second), codes(&full));
        for (name, (_, manifest)) in &full.instances {
            assert_eq!(second.instances.get(name).map(|(_, m)| m.as_ref()), Some(manifest.as_ref()), "{name}");
        }

        // An error in the first declaration moves every later one: those
        // without diagnostics are reused anyway, and the error is reported
        // where it is.
        open.insert("many.facs".to_string(), text.replace("i0 { x: 0 }", "i0 { x: \"${nope}\" }"));
        let third = analyse(root, &open, Some(&second), Some("many.facs"));
        assert_eq!(third.n_compiled, 1 + 2, "i0, plus i19 and child whose text differs from the second analysis");
        assert_eq!(codes(&third), codes(&analyse(root, &open, None, None)));
    }

    #[test]
    fn an_unreadable_workspace_is_a_failure_not_an_empty_project() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let gone = tmp.path().join("gone");
        let analysis = analyse(&gone, &BTreeMap::new(), None, None);
        assert!(analysis.failure.as_deref().is_some_and(|f| f.contains("cannot list")), "{:?}", analysis.failure);
        assert!(analysis.instances.is_empty());
    }
}
