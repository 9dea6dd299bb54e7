//! One analysis of the workspace: the pipeline of `facs check` over the files
//! on disk with the editor's open buffers in their place.

use crate::build::{self, Mode, Options};
use crate::diagnostic::{Diagnostic, Sink};
use crate::source::{DiskFs, Fs, SourceMap};
use crate::syntax::ast;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The disk with open buffers laid over it.
pub struct OverlayFs<'o> {
    disk: DiskFs,
    /// Relative path → buffer text.
    open: &'o BTreeMap<String, String>,
}

impl Fs for OverlayFs<'_> {
    fn facs_files(&self) -> std::io::Result<Vec<String>> {
        let mut files = self.disk.facs_files().unwrap_or_default();
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
}

/// What one analysis found.
pub struct Analysis {
    /// Every source (`.facs` files and templates).
    pub sources: SourceMap,
    /// The parsed files (empty when a file did not parse).
    pub files: Vec<ast::File>,
    /// Every diagnostic, as `facs check` reports it.
    pub diagnostics: Vec<Diagnostic>,
    /// Concrete instance name → (lineage names, manifest). Converted to JSON
    /// (secrets redacted) only when a hover asks, not on every edit.
    pub instances: BTreeMap<String, (Vec<String>, crate::eval::Value)>,
}

/// Runs the pipeline over `root` with `open` buffers.
pub fn analyse(root: &Path, open: &BTreeMap<String, String>) -> Analysis {
    let options = Options::new(root, None, None);
    let fs = OverlayFs { disk: DiskFs::new(root, &[options.out_dir.clone(), options.state_dir.clone()]), open };
    let mut sink = Sink::new();
    let Ok(mut loaded) = build::load(&fs, &mut sink) else {
        return Analysis {
            sources: SourceMap::new(),
            files: Vec::new(),
            diagnostics: sink.into_sorted(),
            instances: BTreeMap::new(),
        };
    };
    let mut instances = BTreeMap::new();
    if !sink.has_errors() {
        let (resolved, schemas) = build::analyse(&loaded.files, &mut sink);
        let selected = build::select(&resolved, &[], &mut sink);
        let compilation = build::compile(&resolved, &schemas, &selected, &options, Mode::Check, &mut sink);
        if !sink.has_errors() {
            build::render_trees(&mut loaded.sources, &resolved, &compilation, None, &options, &mut sink);
        }
        for (id, compiled) in compilation.instances() {
            let Some(info) = resolved.instances.get(id) else { continue };
            let lineage = info
                .lineage
                .iter()
                .flatten()
                .filter_map(|&i| resolved.instances.get(i))
                .map(|i| i.name().to_string())
                .collect();
            instances.insert(info.name().to_string(), (lineage, compiled.manifest.clone()));
        }
    }
    Analysis { sources: loaded.sources, files: loaded.files, diagnostics: sink.into_sorted(), instances }
}

/// The path of `file` relative to `root`, with `/`.
pub fn relative(root: &Path, file: &Path) -> Option<String> {
    file.strip_prefix(root).ok().map(crate::source::relative_name)
}

/// `root/relative`.
pub fn absolute(root: &Path, relative: &str) -> PathBuf {
    root.join(relative)
}
