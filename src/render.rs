//! Stage 6, render: manifests → file trees in memory (spec §10).
//!
//! Input: each instance's manifest, lineage and install-group spans, and the
//! definition and source directories. Output: a [`FileTree`] per instance
//! (paths relative to `<out>/<instance>/`, contents, modes). Templates are
//! read and compiled once per build (not once per instance) into one
//! Handlebars registry in strict mode without HTML escaping.
//!
//! Invariants: this stage reads templates, extra files and copy sources but
//! writes nothing (the CLI writes the tree); nothing is read from outside the
//! definition directory and `facs.src_dir`, and no tree path leaves the
//! release directory: a path, `replace` result or symlink that would is E018.

mod copy;
mod helpers;
mod hints;
mod jinja;
mod partials;
pub mod paths;
mod reads;
mod unused;

pub use unused::unused_folders;

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{Manifest, Value};
use crate::source::{SourceMap, Span};
use handlebars::Handlebars;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A rendered file.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeFile {
    /// Contents.
    pub bytes: Vec<u8>,
    /// Holds a secret: written with mode 0600.
    pub secret: bool,
    /// The source was executable: written with mode 0755 (0700 with a secret).
    pub executable: bool,
    /// A file copied verbatim keeps its source's permission bits (a 0600 key
    /// stays 0600 in the tree and, through `rsync -p`, on the nodes).
    pub source_mode: Option<u32>,
}

impl TreeFile {
    /// A rendered (or generated) file: its mode follows `secret` and `executable`.
    pub fn rendered(bytes: Vec<u8>, secret: bool, executable: bool) -> TreeFile {
        TreeFile { bytes, secret, executable, source_mode: None }
    }

    /// A file copied from `path` unchanged, keeping its permission bits.
    pub fn copied(bytes: Vec<u8>, path: &Path) -> TreeFile {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).ok();
        TreeFile { bytes, secret: false, executable: mode.is_some_and(|m| m & 0o111 != 0), source_mode: mode }
    }

    /// The mode the file is written with. A secret is never readable by
    /// group or others, whatever its source's bits.
    pub fn mode(&self) -> u32 {
        match (self.source_mode, self.secret, self.executable) {
            (Some(m), true, _) => m & 0o700 | 0o600,
            (Some(m), false, _) => m | 0o400,
            (None, true, true) => 0o700,
            (None, true, false) => 0o600,
            (None, false, true) => 0o755,
            (None, false, false) => 0o644,
        }
    }
}

/// True when a file has an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A rendered tree: path relative to `<out>/<instance>/` → file.
pub type FileTree = BTreeMap<String, TreeFile>;

/// One instance to render.
pub struct Job<'j> {
    /// The instance's name.
    pub instance: &'j str,
    /// Names of its lineage, most-base first.
    pub lineage: Vec<String>,
    /// Its manifest, and where its `install` entries were written.
    pub manifest: &'j Manifest,
    /// `<out>/<instance>/<project>` (absolute), for `facs.release_dir`.
    pub release_dir: String,
}

impl Job<'_> {
    /// The whole `install` list (else the instance's name), for errors
    /// about the tree rather than one entry.
    fn install_span(&self) -> Span {
        self.manifest.spans.span("install")
    }
}

enum Template {
    Text(String),
    /// A template of an `engine: "jinja"` group: its name, source file, text.
    Jinja(String, crate::source::FileId, String),
    Binary(Vec<u8>),
    Broken,
}

/// Templates of one build, compiled once.
pub struct Renderer {
    registry: Handlebars<'static>,
    templates: HashMap<PathBuf, Template>,
    roots: HashMap<PathBuf, Result<Vec<(String, PathBuf)>, String>>,
    definition_dir: PathBuf,
    /// Where `tmpl/` and `extra/` are looked up: the included directories
    /// (with the prefix their files are shown under), then the definition
    /// directory, whose files win (spec §2).
    bases: Vec<(PathBuf, String)>,
    src_dir: PathBuf,
    /// The state and output directories (canonical): never inputs.
    protected: Vec<PathBuf>,
    /// Template syntax errors (reported once per file).
    pub errors: Vec<Diagnostic>,
    /// Set once the template count limit was reached (reported once).
    over_count: bool,
}

impl Renderer {
    /// Finds, reads and compiles every template the jobs use. Template texts
    /// are added to `sources` so diagnostics can show them.
    pub fn prepare(
        sources: &mut SourceMap,
        definition_dir: &Path,
        src_dir: &Path,
        protected: &[PathBuf],
        includes: &[(PathBuf, String)],
        definition_shown: &str,
        jobs: &[Job<'_>],
    ) -> Renderer {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut registry);
        let definition_dir = std::fs::canonicalize(definition_dir).unwrap_or_else(|_| definition_dir.to_path_buf());
        let src_dir = std::fs::canonicalize(src_dir).unwrap_or_else(|_| src_dir.to_path_buf());
        let mut bases: Vec<(PathBuf, String)> = includes.to_vec();
        // Template files are named relative to the definition directory, or
        // under `definition_shown` (`../shop/`) for a component's.
        bases.push((definition_dir.clone(), definition_shown.to_string()));
        let mut renderer = Renderer {
            registry,
            templates: HashMap::new(),
            roots: HashMap::new(),
            bases,
            definition_dir,
            src_dir,
            protected: protected.iter().map(|p| paths::canonical_or_lexical(p)).collect(),
            errors: Vec::new(),
            over_count: false,
        };
        for job in jobs {
            for group in tmpl_groups(&job.manifest.value) {
                let Some(dir) = group.get_path(&["dir"]).and_then(Value::as_str) else { continue };
                let Ok(dir) = paths::relative_inside(dir) else { continue };
                // Never read state or outputs as templates (E018 at render).
                if paths::overlaps(&renderer.definition_dir.join(&dir), &renderer.protected) {
                    continue;
                }
                let jinja = group.get_path(&["engine"]).and_then(Value::as_str) == Some("jinja");
                for name in std::iter::once("_ALL_").chain(job.lineage.iter().map(String::as_str)) {
                    for (base, shown) in renderer.bases.clone() {
                        let root = base.join(&dir).join(name);
                        renderer.discover(sources, &root, &base, &shown, jinja);
                    }
                }
            }
        }
        // Before anything renders: an include cycle would overflow the stack.
        let names: Vec<String> = renderer
            .templates
            .values()
            .filter_map(|t| match t {
                Template::Text(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let refused = partials::check(&renderer.registry, &names, sources, &mut renderer.errors);
        for template in renderer.templates.values_mut() {
            if matches!(template, Template::Text(name) if refused.contains(name)) {
                *template = Template::Broken;
            }
        }
        renderer
    }

    fn discover(&mut self, sources: &mut SourceMap, root: &Path, base: &Path, shown: &str, jinja: bool) {
        if self.roots.contains_key(root) {
            return;
        }
        let found = paths::walk_files(root, base);
        if let Ok(files) = &found {
            let limit = crate::limits::current().templates;
            for (_, path) in files {
                if self.templates.contains_key(path) {
                    continue;
                }
                if self.templates.len() >= limit {
                    if !self.over_count {
                        self.over_count = true;
                        self.errors.push(
                            Diagnostic::global(
                                Code::E024,
                                format!(
                                    "more than {limit} templates to read (the limit), under `{}`",
                                    crate::source::relative_name(
                                        root.strip_prefix(&self.definition_dir).unwrap_or(root)
                                    )
                                ),
                            )
                            .with_help(format!(
                                "Check that `dir` names the template directory, or raise the limit with {}=<count>.",
                                crate::limits::TEMPLATES_VAR
                            )),
                        );
                    }
                    break;
                }
                let template = self.load_template(sources, path, base, shown, jinja);
                self.templates.insert(path.clone(), template);
            }
        }
        self.roots.insert(root.to_path_buf(), found);
    }

    fn load_template(
        &mut self,
        sources: &mut SourceMap,
        path: &Path,
        base: &Path,
        shown: &str,
        jinja: bool,
    ) -> Template {
        // Opened beneath its directory (the definition directory or an
        // included one), so a directory swapped for a symlink since the walk
        // reads nothing outside it.
        let opened = paths::open_confined(path, base);
        let bytes = match opened.and_then(crate::source::read_limited_file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                let name = path.strip_prefix(&self.definition_dir).unwrap_or(path);
                self.errors.push(crate::limits::too_large(&crate::source::relative_name(name), &e.to_string()));
                return Template::Broken;
            }
            Err(e) => {
                let name = path.strip_prefix(&self.definition_dir).unwrap_or(path);
                self.errors.push(
                    Diagnostic::global(
                        Code::E018,
                        format!("template `{}` could not be read safely: {e}", crate::source::relative_name(name)),
                    )
                    .with_help("It changed while facs was reading the templates (a directory replaced by a symbolic link?): nothing outside the definition directory is read. Build again once the files are settled."),
                );
                return Template::Broken;
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => return Template::Binary(e.into_bytes()),
        };
        let name = path
            .strip_prefix(base)
            .map(|rel| format!("{shown}{}", crate::source::relative_name(rel)))
            .unwrap_or_else(|_| path.display().to_string());
        let file = sources.add(name.clone(), text.clone());
        if jinja {
            // Parsed when rendered: minijinja compiles per root (its loader
            // resolves includes inside the root being rendered).
            return Template::Jinja(name, file, text);
        }
        match self.registry.register_template_string(&name, &text) {
            Ok(()) => Template::Text(name),
            Err(e) => {
                let (line, column) = e.pos().unwrap_or((1, 1));
                let start = sources.get(file).map_or(0, |f| f.offset_of(line, column));
                let d = match unclosed_block(&text) {
                    // Handlebars reports an unclosed block where the file ends;
                    // point at the block that was left open instead.
                    Some((open, len, name)) if start + 2 >= text.trim_end().len() => Diagnostic::error(
                        Code::E015,
                        Span::new(file, open, open + len),
                        format!("template syntax error: unclosed `{{{{#{name}}}}}` block"),
                    )
                    .with_primary_label("opened here")
                    .with_label(Span::new(file, text.len(), text.len()), "the template ends here")
                    .with_help(format!("Close the block with `{{{{/{name}}}}}`.")),
                    _ => Diagnostic::error(
                        Code::E015,
                        Span::new(file, start, start + 1),
                        "template syntax error: invalid Handlebars syntax",
                    )
                    .with_primary_label("the template cannot be parsed here")
                    .with_help(
                        "Fix the Handlebars syntax: every `{{#block}}` needs its `{{/block}}` and every `{{` its `}}`.",
                    ),
                };
                self.errors.push(d);
                Template::Broken
            }
        }
    }

    /// Renders one instance's tree. Errors name the instance.
    pub fn render(&self, sources: &SourceMap, job: &Job<'_>) -> Result<FileTree, Vec<Diagnostic>> {
        let mut tree = FileTree::new();
        let mut errors = Vec::new();
        let project =
            job.manifest.value.get_path(&["facs", "project"]).and_then(Value::as_str).unwrap_or("").to_string();
        let version =
            job.manifest.value.get_path(&["facs", "version"]).and_then(Value::interpolated).unwrap_or_default();
        let release = project.clone();
        let deploy = crate::layout::tree_deploy_dir(&project);
        let context = self.context(job);
        let secrets = Secrets {
            taint: reads::Taint::context(&job.manifest.value),
            text: job.manifest.value.secret_strings(),
            all: job.manifest.value.secret_strings_from(1),
        };
        let span_of = |key: &str| job.manifest.spans.span(&format!("install.{key}"));
        let install = match job.manifest.value.get_path(&["instance", "install"]).map(Value::unwrap_secret) {
            Some(Value::List(groups)) => groups.clone(),
            _ => Vec::new(),
        };
        for (g, group) in install.iter().enumerate() {
            // File names and patterns are not secret: they show in listings,
            // in `facs plan`, in rsync's output and in diagnostics.
            if let Value::Map(fields) = group {
                let tainted: Vec<&String> =
                    fields.iter().filter(|(_, v)| v.contains_secret()).map(|(k, _)| k).collect();
                for field in &tainted {
                    errors.push(
                        Diagnostic::error(
                            Code::E023,
                            span_of(&format!("{g}.{field}")),
                            format!("install group {g}: `{field}` is computed from a secret"),
                        )
                        .with_primary_label("this value uses a secret")
                        .with_help(
                            "File names and patterns are shown in listings, plans and diagnostics: use plain values \
                             here, and put the secret inside a template instead.",
                        ),
                    );
                }
                if !tainted.is_empty() {
                    continue;
                }
            }
            let is_tmpl = group.get_path(&["type"]).and_then(Value::as_str) == Some("tmpl");
            if is_tmpl {
                self.render_tmpl_group(
                    sources,
                    job,
                    g,
                    group,
                    &context,
                    &secrets,
                    &release,
                    &mut tree,
                    &mut errors,
                    &span_of,
                );
            } else {
                let ctx = copy::CopyCtx {
                    definition_dir: &self.definition_dir,
                    src_dir: &self.src_dir,
                    protected: &self.protected,
                    deploy: &deploy,
                };
                copy::copy_group(&ctx, g, group, &span_of, &mut tree, &mut errors);
            }
            if let Err(e) = within_tree_limit(&tree, job) {
                errors.push(e);
                return Err(errors);
            }
        }
        for name in std::iter::once("_ALL_").chain(job.lineage.iter().map(String::as_str)) {
            // Included directories' `extra/` first: the project's own files win.
            for (base, _) in &self.bases {
                let root = base.join("extra").join(name);
                match paths::walk_files(&root, base) {
                    Ok(files) => {
                        for (rel, path) in files {
                            copy::read_into(
                                &mut tree,
                                &format!("{deploy}/{rel}"),
                                (&path, base),
                                job.install_span(),
                                &mut errors,
                            );
                        }
                    }
                    Err(why) => errors.push(escape_error(job.install_span(), &why)),
                }
            }
        }
        // A version computed from a secret makes the version file secret too.
        let version_secret = job.manifest.value.get_path(&["facs", "version"]).is_some_and(Value::contains_secret);
        tree.insert(
            format!("{deploy}/etc/{project}.version"),
            TreeFile::rendered(format!("{version}\n").into_bytes(), version_secret, false),
        );
        genconfig(&job.manifest.value, &deploy, &mut tree);
        if let Err(e) = within_tree_limit(&tree, job) {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(tree)
        } else {
            Err(errors)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn render_tmpl_group(
        &self,
        sources: &SourceMap,
        job: &Job<'_>,
        g: usize,
        group: &Value,
        context: &serde_json::Value,
        secrets: &Secrets,
        release: &str,
        tree: &mut FileTree,
        errors: &mut Vec<Diagnostic>,
        span_of: &dyn Fn(&str) -> Span,
    ) {
        let dir = group.get_path(&["dir"]).and_then(Value::as_str).unwrap_or("");
        let dir = match paths::relative_inside(dir) {
            Ok(d) => d,
            Err(why) => {
                errors.push(escape_error(span_of(&format!("{g}.dir")), &why));
                return;
            }
        };
        if paths::overlaps(&self.definition_dir.join(&dir), &self.protected) {
            errors.push(protected_input(span_of(&format!("{g}.dir")), &crate::source::relative_name(&dir)));
            return;
        }
        // Spec §10: a template directory that does not exist is an error,
        // not an empty tree (a typo in `dir` would otherwise drop every file).
        if !self.bases.iter().any(|(base, _)| base.join(&dir).is_dir()) {
            let shown = crate::source::relative_name(&dir);
            errors.push(
                Diagnostic::error(
                    Code::E022,
                    span_of(&format!("{g}.dir")),
                    format!("template directory `{shown}` does not exist"),
                )
                .with_help(format!(
                    "Create `{shown}/_ALL_/` or `{shown}/<instance>/` in the definition directory, or fix `dir`."
                )),
            );
            return;
        }
        let skip = match group.get_path(&["skip"]).and_then(Value::as_str).map(Regex::new) {
            None => None,
            Some(Ok(re)) => Some(re),
            Some(Err(e)) => {
                errors.push(bad_regex(span_of(&format!("{g}.skip")), "skip", &e));
                return;
            }
        };
        // Later roots replace earlier ones' files of the same path.
        let jinja = group.get_path(&["engine"]).and_then(Value::as_str) == Some("jinja");
        let mut chosen: BTreeMap<String, (&PathBuf, PathBuf)> = BTreeMap::new();
        for name in std::iter::once("_ALL_").chain(job.lineage.iter().map(String::as_str)) {
            // Included directories first: the project's own files win.
            for (base, _) in &self.bases {
                let root = base.join(&dir).join(name);
                match self.roots.get(&root) {
                    Some(Ok(files)) => {
                        for (rel, path) in files {
                            if skip.as_ref().is_some_and(|re| rel.split('/').any(|c| re.is_match(c))) {
                                continue;
                            }
                            chosen.insert(rel.clone(), (path, root.clone()));
                        }
                    }
                    Some(Err(why)) => errors.push(escape_error(span_of(&format!("{g}.dir")), why)),
                    None => {}
                }
            }
        }
        let jinja_ctx = jinja.then(|| minijinja::Value::from_serialize(jinja::context(context, job.instance)));
        let mut environments: HashMap<PathBuf, minijinja::Environment<'static>> = HashMap::new();
        for (rel, (path, root)) in chosen {
            let out_path = format!("{release}/{rel}");
            match self.templates.get(path) {
                Some(Template::Jinja(name, file, text)) => {
                    let env = environments.entry(root.clone()).or_insert_with(|| jinja::environment(&root));
                    let ctx = jinja_ctx.clone().unwrap_or_default();
                    match jinja::render(env, &rel, text, &ctx) {
                        Ok(out) if out.len() as u64 > crate::limits::current().file_bytes => {
                            errors.push(output_too_large(name, job));
                        }
                        Ok(out) => {
                            // Provenance is not traced through Jinja: a file of
                            // an instance that holds any secret is private.
                            let secret = !secrets.text.is_empty();
                            tree.insert(out_path, TreeFile::rendered(out.into_bytes(), secret, is_executable(path)));
                        }
                        Err(e) => errors.push(jinja_error(sources, *file, &rel, &e, job.instance, &ctx)),
                    }
                }
                Some(Template::Text(name)) => {
                    // Rendered into a bounded buffer: nested `{{#each}}` blocks
                    // multiply output, and the limit must stop the rendering
                    // itself, not only judge its result. One rendered file is
                    // bounded like one source file.
                    let limit = crate::limits::current().file_bytes;
                    let mut out = Bounded { bytes: Vec::new(), limit, exceeded: false };
                    match self.registry.render_to_write(name, context, &mut out) {
                        Ok(()) => {
                            let text = String::from_utf8_lossy(&out.bytes).into_owned();
                            // By provenance; the text search stays as a
                            // backstop for a secret written into a template.
                            let secret = reads::reads_secret(&self.registry, name, &secrets.taint)
                                || secrets.text.iter().any(|s| text.contains(s.as_str()));
                            let executable = is_executable(path);
                            tree.insert(out_path, TreeFile::rendered(text.into_bytes(), secret, executable));
                        }
                        Err(_) if out.over() => errors.push(output_too_large(name, job)),
                        Err(e) => self.every_failure(sources, name, e, context, job, &secrets.all, errors),
                    }
                }
                Some(Template::Binary(bytes)) => {
                    tree.insert(out_path, TreeFile::copied(bytes.clone(), path));
                }
                Some(Template::Broken) | None => {}
            }
        }
    }

    /// Reports a failed rendering of template `name`, then the file's other
    /// failures: the failing expression is blanked (spaces, so every later
    /// position stays where it was) and the file rendered again, until it
    /// renders or fails somewhere this cannot blank (a block, a partial).
    #[allow(clippy::too_many_arguments)]
    fn every_failure(
        &self,
        sources: &SourceMap,
        name: &str,
        first: handlebars::RenderError,
        context: &serde_json::Value,
        job: &Job<'_>,
        secrets: &[String],
        errors: &mut Vec<Diagnostic>,
    ) {
        let template = self.registry.get_template(name);
        let mut text = sources.find(name).and_then(|f| sources.get(f)).map(|f| f.text.clone());
        let mut failure = first;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_FAILURES_PER_FILE {
            // An error inside a partial is reported where the partial is.
            let in_file = failure.template_name.as_deref().is_none_or(|n| n == name);
            let at = failure.line_no.zip(failure.column_no);
            errors.push(render_error(
                sources,
                name,
                &failure,
                job.instance,
                secrets,
                template.filter(|_| in_file),
                context,
            ));
            let (Some(at), Some(template), Some(source)) = (at, template, text.as_mut()) else { return };
            if !in_file || !seen.insert(at) || !hints::is_expression(template, at) || !blank(source, at) {
                return;
            }
            let mut out = Bounded { bytes: Vec::new(), limit: crate::limits::current().file_bytes, exceeded: false };
            match self.registry.render_template_to_write(source, context, &mut out) {
                Ok(()) => return,
                Err(_) if out.over() => return,
                Err(e) => failure = e,
            }
        }
    }

    fn context(&self, job: &Job<'_>) -> serde_json::Value {
        let mut ctx = serde_json::Value::from(&job.manifest.value);
        if let Some(obj) = ctx.as_object_mut() {
            if let Some(instance) = obj.get("instance").cloned() {
                obj.insert("env".into(), instance);
            }
            if let Some(serde_json::Value::Object(facs)) = obj.get_mut("facs") {
                facs.insert("src_dir".into(), self.src_dir.to_string_lossy().into_owned().into());
                facs.insert("release_dir".into(), job.release_dir.clone().into());
                facs.insert("deploy_dir".into(), crate::layout::deploy_dir(&job.release_dir).into());
            }
        }
        ctx
    }
}

/// What tells a rendered file secret (spec §10).
struct Secrets {
    /// Which context values are secrets or derived from one.
    taint: reads::Taint,
    /// Their text (4 characters or more).
    text: Vec<String>,
    /// Their text, however short: kept out of messages.
    all: Vec<String>,
}

fn tmpl_groups(manifest: &Value) -> Vec<&Value> {
    match manifest.get_path(&["instance", "install"]).map(Value::unwrap_secret) {
        Some(Value::List(groups)) => {
            groups.iter().filter(|g| g.get_path(&["type"]).and_then(Value::as_str) == Some("tmpl")).collect()
        }
        _ => Vec::new(),
    }
}

/// Every secret string of a manifest (to tell which rendered files hold one).
/// A render target that refuses to grow past `limit` bytes.
struct Bounded {
    bytes: Vec<u8>,
    limit: u64,
    exceeded: bool,
}

impl Bounded {
    fn over(&self) -> bool {
        self.exceeded
    }
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() as u64 + buf.len() as u64 > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, "rendered output over the limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A Jinja error as E015, pointing into the file (or the included file) at
/// fault.
fn jinja_error(
    sources: &SourceMap,
    file: crate::source::FileId,
    rel: &str,
    e: &minijinja::Error,
    instance: &str,
    ctx: &minijinja::Value,
) -> Diagnostic {
    let at_fault = e.name().unwrap_or(rel);
    let span = match (e.name() == Some(rel), e.range(), e.line()) {
        (true, Some(range), _) => Span::new(file, range.start, range.end.max(range.start + 1)),
        (true, None, Some(line)) => {
            let start = sources.get(file).map_or(0, |f| f.offset_of(line, 1));
            Span::new(file, start, start + 1)
        }
        _ => Span::new(file, 0, 0),
    };
    let what = match e.kind() {
        minijinja::ErrorKind::UndefinedError => "a variable or field is undefined".to_string(),
        minijinja::ErrorKind::SyntaxError => "template syntax error".to_string(),
        _ => e.kind().to_string(),
    };
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    let line = e.line().map(|l| format!(" (`{at_fault}` line {l})")).unwrap_or_default();
    let strict = "This group renders with `engine: \"jinja\"`, which is strict: a missing value is an error, not an \
                  empty string. Test it with `is defined` or give a `|default(...)`.";
    // Did-you-mean as for Handlebars templates, when the failing text is a
    // plain path of the context.
    let text = sources.get(span.file).and_then(|f| f.text.get(span.start as usize..span.end as usize));
    let explained = match (e.kind(), e.name() == Some(rel)) {
        (minijinja::ErrorKind::UndefinedError, true) => text.and_then(|t| jinja::explain_undefined(ctx, t)),
        _ => None,
    };
    let (label, help) = match explained {
        Some((label, Some(close))) => (label, format!("{close} {strict}")),
        Some((label, None)) => (label, strict.to_string()),
        None => ("here".to_string(), strict.to_string()),
    };
    Diagnostic::error(Code::E015, span, format!("{what} while rendering for instance `{instance}`{detail}{line}"))
        .with_primary_label(label)
        .with_help(help)
}

fn output_too_large(template: &str, job: &Job<'_>) -> Diagnostic {
    let limit = crate::limits::current().file_bytes;
    Diagnostic::error(
        Code::E024,
        job.install_span(),
        format!(
            "rendering `{template}` for instance `{}` produced more than {}, the limit for one file",
            job.instance,
            crate::limits::human(limit)
        ),
    )
    .with_primary_label("rendering this instance")
    .with_help(format!(
        "Check the template for nested `{{{{#each}}}}` blocks that multiply its output, or raise {}=<size>.",
        crate::limits::FILE_VAR
    ))
}

/// Checks a tree (so far) against the tree size limit.
fn within_tree_limit(tree: &FileTree, job: &Job<'_>) -> Result<(), Diagnostic> {
    let limit = crate::limits::current().tree_bytes;
    let size: u64 = tree.values().map(|f| f.bytes.len() as u64).sum();
    if size <= limit {
        return Ok(());
    }
    Err(Diagnostic::error(
        Code::E024,
        job.install_span(),
        format!(
            "the tree of instance `{}` would be over {} ({} so far), the limit for one tree",
            job.instance,
            crate::limits::human(limit),
            crate::limits::human(size)
        ),
    )
    .with_primary_label("rendering this instance")
    .with_help(format!(
        "Check the install groups for a template or copy that multiplies its output, or raise the limit with {}=<size>.",
        crate::limits::TREE_VAR
    )))
}

/// `D/etc/<instance_name>.json` per service instance of each `genconfig` module.
fn genconfig(manifest: &Value, deploy: &str, tree: &mut FileTree) {
    let Some(Value::Map(modules)) = manifest.get_path(&["module"]) else { return };
    for (name, module) in modules {
        if module.get_path(&["genconfig"]) != Some(&Value::Bool(true)) {
            continue;
        }
        let copies = match module.get_path(&["service", "instances"]).map(Value::unwrap_secret) {
            Some(Value::List(items)) => items.clone(),
            _ => Vec::new(),
        };
        if copies.is_empty() {
            tree.insert(
                format!("{deploy}/etc/{name}.json"),
                TreeFile::rendered(module.to_pretty_json(true).into_bytes(), true, false),
            );
            continue;
        }
        for copy in copies {
            let Some(instance_name) = copy.get_path(&["instance_name"]).and_then(Value::as_str) else { continue };
            let mut entry = module.clone();
            if let Value::Map(m) = &mut entry {
                if let Some(Value::Map(service)) = m.get_mut("service") {
                    service.insert("instance_name".into(), Value::Str(instance_name.to_string()));
                    if let Some(uiid) = copy.get_path(&["uiid"]).and_then(Value::interpolated) {
                        service.insert("uiid".into(), Value::Str(uiid));
                    }
                }
            }
            tree.insert(
                format!("{deploy}/etc/{instance_name}.json"),
                TreeFile::rendered(entry.to_pretty_json(true).into_bytes(), true, false),
            );
        }
    }
}

/// The most failures reported for one template file and instance.
const MAX_FAILURES_PER_FILE: usize = 50;

/// Blanks the expression starting at `at` (line, column) of a template's
/// text with spaces, keeping line ends: false when there is none there.
fn blank(text: &mut String, at: (usize, usize)) -> bool {
    let line_start = text.split_inclusive('\n').take(at.0.saturating_sub(1)).map(str::len).sum::<usize>();
    let rest = text.get(line_start..).unwrap_or("");
    let start = line_start + rest.chars().take(at.1.saturating_sub(1)).map(char::len_utf8).sum::<usize>();
    let tag = text.get(start..).unwrap_or("");
    let close = if tag.starts_with("{{{") { "}}}" } else { "}}" };
    let Some(end) = tag.strip_prefix("{{").and_then(|t| t.find(close)).map(|e| start + 2 + e + close.len()) else {
        return false;
    };
    let blanked: String = text.get(start..end).unwrap_or("").chars().map(|c| if c == '\n' { c } else { ' ' }).collect();
    text.replace_range(start..end, &blanked);
    true
}

fn render_error(
    sources: &SourceMap,
    template: &str,
    e: &handlebars::RenderError,
    instance: &str,
    secrets: &[String],
    compiled: Option<&handlebars::template::Template>,
    context: &serde_json::Value,
) -> Diagnostic {
    use handlebars::RenderErrorReason as Reason;
    let file = e.template_name.as_deref().and_then(|n| sources.find(n)).or_else(|| sources.find(template));
    let mut label = "while rendering this expression".to_string();
    let (message, help) = match e.reason() {
        Reason::MissingVariable(Some(path)) => {
            let set = format!(
                "Set `{path}` for this instance, or guard it with `{{{{#if {path}}}}}` or `{{{{default {path} \"...\"}}}}`."
            );
            let why = compiled.zip(e.line_no.zip(e.column_no)).and_then(|(t, at)| hints::explain(t, at, path, context));
            let help = match why {
                Some(why) => {
                    label = why.label;
                    match why.help {
                        // A close name may still be the wrong guess.
                        Some(guess) if guess.starts_with("Did you mean") => {
                            format!("{guess} If not, set the field, or guard it with `{{{{#if {path}}}}}`.")
                        }
                        Some(help) => help,
                        None => set,
                    }
                }
                None => set,
            };
            (format!("missing variable `{path}`"), help)
        }
        // Arity and type errors of helpers, in our words.
        Reason::ParamNotFoundForIndex(helper, _)
        | Reason::ParamNotFoundForName(helper, _)
        | Reason::ParamTypeMismatchForName(helper, _, _)
            if helpers::usage(helper).is_some() =>
        {
            let (needs, example) = helpers::usage(helper).unwrap_or_default();
            let found = match e.reason() {
                Reason::ParamTypeMismatchForName(..) => ", found a value of another type",
                _ => "",
            };
            (format!("`{helper}` needs {needs}{found}"), format!("Write it as `{example}`."))
        }
        Reason::Other(why) if helpers::ours(why).is_some() => {
            let (_, example) = helpers::ours(why).and_then(helpers::usage).unwrap_or_default();
            (why.clone(), format!("Write it as `{example}`."))
        }
        handlebars::RenderErrorReason::MissingVariable(None) => (
            "missing variable".to_string(),
            "Set the value for this instance, or guard it with `{{#if ...}}` or `{{default ... \"...\"}}`.".to_string(),
        ),
        handlebars::RenderErrorReason::HelperNotFound(name) => (
            format!("unknown helper `{name}`"),
            "Available helpers: the Handlebars built-ins and eq ne lt gt and or not json join upper lower default."
                .to_string(),
        ),
        // Handlebars quotes the values it refuses (`log level=...`, an
        // index): a reason that holds a secret's text is not shown.
        other if secrets.iter().any(|s| other.to_string().contains(s.as_str())) => (
            "a helper refused a value computed from a secret (the reason quotes it, so it is not shown)".to_string(),
            "Check what the expression passes to the helper; secrets are printed only in files that use them."
                .to_string(),
        ),
        other => (other.to_string(), "Fix the template expression.".to_string()),
    };
    let message = format!("{message} while rendering instance `{instance}`");
    match file {
        Some(file) => {
            let (start, end) = sources.get(file).map_or((0, 0), |f| {
                let start = f.offset_of(e.line_no.unwrap_or(1), e.column_no.unwrap_or(1));
                let rest = f.text.get(start..).unwrap_or("");
                let line_len = rest.find('\n').unwrap_or(rest.len());
                let end = rest.get(..line_len).and_then(|l| l.find("}}")).map_or(start + 1, |p| start + p + 2);
                (start, end)
            });
            Diagnostic::error(Code::E015, Span::new(file, start, end), message)
                .with_primary_label(label)
                .with_help(help)
        }
        None => Diagnostic::global(Code::E015, format!("{message} in {template}")).with_help(help),
    }
}

/// The innermost `{{#name ...}}` without its `{{/name}}`: (offset, length, name).
fn unclosed_block(text: &str) -> Option<(usize, usize, String)> {
    let mut stack: Vec<(usize, usize, String)> = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(pos) = rest.find("{{") {
        let tag_start = offset + pos;
        let after = rest.get(pos + 2..).unwrap_or("");
        let end = after.find("}}").map_or(after.len(), |e| e + 2);
        let inner = after.get(..end.saturating_sub(2)).unwrap_or("").trim_start_matches('~').trim();
        if let Some(open) = inner.strip_prefix('#') {
            let name = open.split_whitespace().next().unwrap_or("").to_string();
            stack.push((tag_start, end + 2, name));
        } else if let Some(close) = inner.strip_prefix('/') {
            let name = close.trim();
            if let Some(idx) = stack.iter().rposition(|(_, _, n)| n == name) {
                stack.truncate(idx);
            }
        }
        let advance = pos + 2 + end;
        offset += advance;
        rest = rest.get(advance..).unwrap_or("");
    }
    stack.pop()
}

/// E018 for a template dir or copy source that is, or holds, the state or
/// output directory: another instance's `state.json` must never reach a tree.
fn protected_input(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(Code::E018, span, format!("`{what}` is or holds facs's state or output directory"))
        .with_primary_label("never an input")
        .with_help("Name the files to copy (or the template directory) without the `.facsimile` directory: state and outputs hold every instance's secrets.")
}

fn escape_error(span: Span, why: &str) -> Diagnostic {
    Diagnostic::error(Code::E018, span, why.to_string())
        .with_primary_label("this path would leave the allowed directories")
        .with_help("Keep templates, extra files and copy sources inside the definition directory or facs.src_dir, and destinations inside the release directory.")
}

fn bad_regex(span: Span, what: &str, e: &regex::Error) -> Diagnostic {
    let detail = e.to_string().lines().last().unwrap_or("").trim().trim_start_matches("error: ").to_string();
    Diagnostic::error(Code::E019, span, format!("invalid regular expression in `{what}`: {detail}"))
        .with_primary_label("not a valid regex")
        .with_help("Use Rust `regex` syntax; in a `.facs` string, a literal dot is written `\\\\.` (the string escape and the regex escape).")
}

/// Merges E015 errors that differ only in the instance being rendered, so a
/// template broken for a thousand instances is one error naming a few.
pub fn group_template_errors(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    let mut instances: Vec<Vec<String>> = Vec::new();
    for d in diagnostics {
        let split = d.message.rsplit_once(" while rendering instance ").map(|(a, b)| (a.to_string(), b.to_string()));
        match (d.code, split) {
            (Code::E015, Some((base, inst))) => {
                let found = out.iter().position(|o| {
                    o.code == Code::E015
                        && o.primary == d.primary
                        && o.message.starts_with(&format!("{base} while rendering instance"))
                });
                match found {
                    Some(i) => {
                        if let Some(list) = instances.get_mut(i) {
                            list.push(inst);
                        }
                    }
                    None => {
                        out.push(d);
                        instances.push(vec![inst]);
                    }
                }
            }
            _ => {
                out.push(d);
                instances.push(Vec::new());
            }
        }
    }
    for (d, names) in out.iter_mut().zip(instances) {
        if names.len() > 1 {
            let base =
                d.message.rsplit_once(" while rendering instance ").map_or(d.message.clone(), |(a, _)| a.to_string());
            let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
            let more = names.len().saturating_sub(3);
            let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
            d.message = format!("{base} while rendering instances {}{tail}", shown.join(", "));
        }
    }
    out
}
