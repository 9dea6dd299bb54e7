//! The driver: the one place that knows the order of the stages. Every
//! command and the language server go through a [`Session`]:
//! `open` (load and parse, then resolve, types and body checks) → `select`
//! → `compile(selection, mode)` → `render` → `commit` (state), and nothing
//! else calls the stages' front half.
//!
//! Concurrency and state (spec §9): instances are grouped by state owner and
//! compiled in parallel, each group against a snapshot of its owner's state
//! read without a lock. Nothing is written unless the whole run (templates
//! included) is free of errors. Then each group that generated values takes
//! its owner's lock, re-reads the state and, if another build wrote it
//! meanwhile, compiles the group again against what that build wrote (so
//! both agree on every secret) before saving. One lock is held at a time.

use crate::diagnostic::{Code, Diagnostic, Sink};
use crate::eval::{self, Compiled, Paths};
use crate::render::{self, FileTree, Job, Renderer};
use crate::resolve::{self, InstanceId, Resolved};
use crate::source::{Fs, SourceMap, Span};
use crate::state::{Pending, Redone, State, StateDir};
use crate::syntax::{self, ast};
use crate::types::{self, Schemas};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

mod components;

pub use components::Component;

/// Where a run reads and writes.
#[derive(Clone, Debug)]
pub struct Options {
    /// The definition directory (absolute).
    pub project_dir: PathBuf,
    /// Output directory (absolute).
    pub out_dir: PathBuf,
    /// State directory (absolute).
    pub state_dir: PathBuf,
    /// `--deny-warnings`: warnings fail the run like errors.
    pub deny_warnings: bool,
}

impl Options {
    /// Options with the default output and state directories under `.facsimile/`.
    pub fn new(project_dir: &Path, out_dir: Option<&Path>, state_dir: Option<&Path>) -> Options {
        let project_dir = absolute(project_dir);
        let out_dir = out_dir.map_or_else(|| project_dir.join(".facsimile/out"), absolute);
        let state_dir = state_dir.map_or_else(|| project_dir.join(".facsimile/state"), absolute);
        Options { project_dir, out_dir, state_dir, deny_warnings: false }
    }

    /// The same options, failing on warnings when `deny` is set.
    pub fn deny_warnings(self, deny: bool) -> Options {
        Options { deny_warnings: deny, ..self }
    }

    /// The sink every stage of a session reports into.
    fn sink(&self) -> Sink {
        if self.deny_warnings {
            Sink::denying_warnings()
        } else {
            Sink::new()
        }
    }
}

impl Options {
    /// Refuses output and state directories a build must not write to: the
    /// root, the home directory, the definition directory (or one holding
    /// it), one inside the other, or a symlink (which could be re-pointed
    /// between the check and the writes).
    pub fn check_writable_dirs(&self) -> Result<(), String> {
        let home = std::env::var_os("HOME").map(|h| real(Path::new(&h)));
        let project = real(&self.project_dir);
        for (what, flag, dir) in [("output", "--out", &self.out_dir), ("state", "--state", &self.state_dir)] {
            if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
                let target = std::fs::read_link(dir).map(|t| t.display().to_string()).unwrap_or_default();
                return Err(format!(
                    "the {what} directory {} is a symlink (to {target}); give {flag} the real directory",
                    dir.display()
                ));
            }
            let dir_real = real(dir);
            let why = if dir_real.parent().is_none() {
                Some("it is the root directory".to_string())
            } else if home.as_ref() == Some(&dir_real) {
                Some("it is your home directory".to_string())
            } else if project.starts_with(&dir_real) {
                Some(format!("it holds the definition directory {}", self.project_dir.display()))
            } else {
                None
            };
            if let Some(why) = why {
                return Err(format!(
                    "refusing to use {} as the {what} directory: {why}; give {flag} a directory of its own",
                    dir.display()
                ));
            }
        }
        let (out, state) = (real(&self.out_dir), real(&self.state_dir));
        if out.starts_with(&state) || state.starts_with(&out) {
            return Err(format!(
                "the output directory {} and the state directory {} must not lie inside one another",
                self.out_dir.display(),
                self.state_dir.display()
            ));
        }
        Ok(())
    }
}

fn real(path: &Path) -> PathBuf {
    crate::render::paths::resolve(&absolute(path))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The parsed sources of a definition directory.
pub struct Loaded {
    /// Every source text (`.facs` files, then templates as they are read).
    pub sources: SourceMap,
    /// The parsed files, in declaration order.
    pub files: Vec<ast::File>,
    /// The directories the project includes, in `include` order.
    pub includes: Vec<Include>,
    /// The project's components (spec §4), in declaration order; their
    /// files follow the project's own in `files`.
    pub components: Vec<Component>,
}

/// A directory the project includes (spec §2).
#[derive(Clone, Debug)]
pub struct Include {
    /// Where it is.
    pub dir: PathBuf,
    /// As `include` lists it (file names are shown under it).
    pub shown: String,
}

/// Stack size of the worker threads. Nesting and reference depth are bounded
/// (`syntax::MAX_DEPTH`, `eval` depth limits), but the bounded recursion
/// still needs more than the 2 MiB a thread gets by default.
const WORKER_STACK: usize = 64 * 1024 * 1024;

/// Sets up the worker thread pool once (later calls do nothing).
pub fn init_threads() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK).build_global();
    });
}

/// Reads and parses every `.facs` file, then those of the directories the
/// project includes (spec §2), then those of its components (spec §4).
/// Syntax errors go to `sink`.
pub fn load(fs: &dyn Fs, sink: &mut Sink) -> Result<Loaded, String> {
    init_threads();
    let mut sources = SourceMap::new();
    let mut invalid_utf8 = Vec::new();
    let (mut files, includes) = load_dir(fs, "", &mut sources, &mut invalid_utf8, sink)?;
    let components = components::load(fs, &mut files, &mut sources, &mut invalid_utf8, sink)?;
    Ok(Loaded { sources, files, includes, components })
}

/// Reads and parses the `.facs` files of one definition directory and of the
/// directories it includes, naming them under `prefix` (`""` for the
/// project's own, `../shop/` for a component's). Returns them in declaration
/// order.
fn load_dir(
    fs: &dyn Fs,
    prefix: &str,
    sources: &mut SourceMap,
    invalid_utf8: &mut Vec<(crate::source::FileId, usize)>,
    sink: &mut Sink,
) -> Result<(Vec<ast::File>, Vec<Include>), String> {
    let names = fs.facs_files().map_err(|e| format!("cannot list the definition directory: {e}"))?;
    escaping_links(fs, prefix.trim_end_matches('/'), sink);
    let own = read_sources(fs, &names, prefix, sources, invalid_utf8, sink)?;
    let mut files = parse_sources(sources, &own, invalid_utf8, sink);
    let mut includes = Vec::new();
    for (dir, span) in included_dirs(&files, sink) {
        let listed = dir.trim_end_matches('/').to_string();
        let shown = format!("{prefix}{listed}");
        let (sub, root) = match fs.include(&listed) {
            Ok(found) => found,
            Err(e) => {
                sink.push(
                    Diagnostic::error(Code::E022, span, format!("included directory `{listed}` cannot be read: {e}"))
                        .with_primary_label("listed in `include`")
                        .with_help("Paths in `include` are relative to the definition directory; check the path, or check out the shared definitions there."),
                );
                continue;
            }
        };
        // A directory inside the definition directory (`vendor/net`) has
        // its `.facs` files loaded already; it adds its `tmpl/` and `extra/`.
        let inside = fs.location().is_some_and(|here| root.starts_with(here));
        if inside {
            includes.push(Include { dir: root, shown });
            continue;
        }
        let names = sub.facs_files().map_err(|e| format!("cannot list the included directory {shown}: {e}"))?;
        escaping_links(sub.as_ref(), &shown, sink);
        let sub_prefix = format!("{shown}/");
        let ids = read_sources(sub.as_ref(), &names, &sub_prefix, sources, invalid_utf8, sink)?;
        let parsed = parse_sources(sources, &ids, invalid_utf8, sink);
        for file in &parsed {
            for decl in &file.decls {
                if let ast::Decl::Project(p) = decl {
                    sink.push(
                        Diagnostic::error(Code::E002, p.name.span, "an included directory may not declare `project`")
                            .with_primary_label("a second project")
                            .with_label(span, "included here")
                            .with_help("Shared definitions hold schemas, modules and abstract instances; the including project declares the one `project`."),
                    );
                }
            }
        }
        files.extend(parsed);
        includes.push(Include { dir: root, shown });
    }
    // Declaration order (spec §2): files by relative path, bytewise, includes too.
    files.sort_by(|a, b| {
        let name = |f: &ast::File| sources.get(f.id).map(|s| s.name.as_bytes().to_vec()).unwrap_or_default();
        name(a).cmp(&name(b))
    });
    Ok((files, includes))
}

/// E018 for each symbolic link `fs` did not follow.
fn escaping_links(fs: &dyn Fs, prefix: &str, sink: &mut Sink) {
    for (link, target) in fs.escaping_links() {
        let link = if prefix.is_empty() { link } else { format!("{prefix}/{link}") };
        sink.push(
            Diagnostic::global(Code::E018, format!("`{link}` is a symbolic link out of the definition directory (to {target})"))
                .with_help("facs follows links that stay inside the definition directory (or an included one); copy the files in, point the link inside, or list the directory in `project { include: [...] }`."),
        );
    }
}

/// The directories `project { include: [...] }` lists, with their spans; the
/// list is read before anything is evaluated, so it is a literal.
fn included_dirs(files: &[ast::File], sink: &mut Sink) -> Vec<(String, Span)> {
    let Some(field) = files.iter().flat_map(|f| &f.decls).find_map(|d| match d {
        ast::Decl::Project(p) => p.field("include"),
        _ => None,
    }) else {
        return Vec::new();
    };
    let help = "List directories relative to the definition directory: `include: [\"../platform-base\"]` (a literal list: it is read before anything is evaluated).";
    let ast::ExprKind::List(items) = &field.value.kind else {
        sink.push(
            Diagnostic::error(Code::E007, field.value.span, "`include` must be a list of directory paths")
                .with_primary_label("not a literal list")
                .with_help(help),
        );
        return Vec::new();
    };
    let mut out: Vec<(String, Span)> = Vec::new();
    for item in items {
        match item.as_plain_str().filter(|d| !d.trim().is_empty()) {
            Some(dir) if out.iter().any(|(d, _)| *d == dir) => {}
            Some(dir) => out.push((dir, item.span)),
            None => sink.push(
                Diagnostic::error(Code::E007, item.span, "not a directory path")
                    .with_primary_label("expected a string such as \"../platform-base\"")
                    .with_help(help),
            ),
        }
    }
    out
}

/// Reads `names` of `fs` into `sources`, shown with `prefix`; returns their ids.
fn read_sources(
    fs: &dyn Fs,
    names: &[String],
    prefix: &str,
    sources: &mut SourceMap,
    invalid_utf8: &mut Vec<(crate::source::FileId, usize)>,
    sink: &mut Sink,
) -> Result<Vec<crate::source::FileId>, String> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let shown = format!("{prefix}{name}");
        let bytes = match fs.read(name) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                sink.push(crate::limits::too_large(&shown, &e.to_string()));
                continue;
            }
            Err(e) => return Err(format!("cannot read {shown}: {e}")),
        };
        let (text, bad_at) = match String::from_utf8(bytes) {
            Ok(t) => (t, None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                (String::from_utf8_lossy(e.as_bytes()).into_owned(), Some(at))
            }
        };
        let id = sources.add(shown, text);
        if let Some(at) = bad_at {
            invalid_utf8.push((id, at));
            sink.push(
                Diagnostic::error(Code::E001, Span::new(id, at, at + 1), "file is not valid UTF-8")
                    .with_primary_label("invalid byte here")
                    .with_help("Save the file as UTF-8."),
            );
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Parses `ids` in parallel.
fn parse_sources(
    sources: &SourceMap,
    ids: &[crate::source::FileId],
    invalid_utf8: &[(crate::source::FileId, usize)],
    sink: &mut Sink,
) -> Vec<ast::File> {
    let parsed: Vec<(ast::File, Vec<Diagnostic>)> =
        ids.to_vec().into_par_iter().map(|id| syntax::parse_file(sources, id)).collect();
    let mut files = Vec::with_capacity(parsed.len());
    for (file, diagnostics) in parsed {
        if !invalid_utf8.iter().any(|(id, _)| *id == file.id) {
            sink.extend(diagnostics);
        }
        files.push(file);
    }
    files
}

/// How a run treats state and manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Evaluate with placeholders; write nothing.
    Check,
    /// Like `Check`, keeping manifest values only where a tree is rendered:
    /// `facs check` prints no manifest, and at 100,000 instances the values
    /// are most of its memory.
    CheckOnly,
    /// Generate, persist; keep manifest values only where a tree is rendered
    /// (the others are kept as JSON text, which is all a build writes).
    Build,
    /// Like `Build`, keeping every manifest value (to print it redacted).
    Manifest,
}

/// What analysis knows of a program: its declarations and their types.
pub struct Front<'a> {
    /// Declarations, lineages and state owners.
    pub resolved: Resolved<'a>,
    /// Record types.
    pub schemas: Schemas<'a>,
    /// Each component's view of the conglomerate (spec §4), in the order of
    /// [`Session::components`].
    pub components: Vec<View<'a>>,
}

/// A component's view of the conglomerate's instances
/// (`resolve::component_view`) and its types.
pub struct View<'a> {
    /// `component NAME`.
    pub name: String,
    /// The component's own declarations, resolved alone.
    pub own: Resolved<'a>,
    /// The view: conglomerate instances with the component's bodies after theirs.
    pub resolved: Resolved<'a>,
    /// Record types of the view.
    pub schemas: Schemas<'a>,
}

self_cell::self_cell!(
    /// Parsed files and their analysis, kept together so that a command or
    /// the language server can hold both (the analysis borrows the files).
    pub struct Program {
        owner: Vec<ast::File>,
        #[covariant]
        dependent: Front,
    }
);

impl Program {
    /// Resolves, types and checks the bodies of `files`.
    pub fn analyse(files: Vec<ast::File>, sink: &mut Sink) -> Program {
        Program::new(files, |files| analyse(files, &[], sink))
    }

    /// Like [`Program::analyse`] for a conglomerate whose components' files
    /// follow its own (`components` says where).
    pub fn analyse_components(files: Vec<ast::File>, components: &[Component], sink: &mut Sink) -> Program {
        Program::new(files, |files| analyse(files, components, sink))
    }

    /// The parsed files, in declaration order.
    pub fn files(&self) -> &[ast::File] {
        self.borrow_owner()
    }

    /// The analysis.
    pub fn front(&self) -> &Front<'_> {
        self.borrow_dependent()
    }
}

impl Mode {
    /// True when nothing is written: missing secrets are placeholders.
    pub fn placeholders(self) -> bool {
        matches!(self, Mode::Check | Mode::CheckOnly)
    }
}

/// Front half: resolve, types, body checks; then each component's view.
fn analyse<'a>(files: &'a [ast::File], components: &[Component], sink: &mut Sink) -> Front<'a> {
    let own_end = components.first().map_or(files.len(), |c| c.files.start);
    let resolved = resolve::resolve(files.get(..own_end).unwrap_or(files), sink);
    let schemas = types::build(&resolved, sink);
    eval::check_bodies(&resolved, sink);
    let components = components
        .iter()
        .map(|component| {
            let own = resolve::resolve(files.get(component.files.clone()).unwrap_or_default(), sink);
            let view = resolve::component_view(&resolved, &own);
            let schemas = types::build(&view, sink);
            // The conglomerate's bodies are checked again here; the sink
            // keeps one copy of each diagnostic.
            eval::check_bodies(&view, sink);
            View { name: component.name.clone(), own, resolved: view, schemas }
        })
        .collect();
    Front { resolved, schemas, components }
}

/// One run of the pipeline over a definition directory. Diagnostics of
/// every step collect in `sink`; the caller decides when to print them.
pub struct Session {
    /// Where the run reads and writes.
    pub options: Options,
    /// Every source text (`.facs` files, then templates as render reads them).
    pub sources: SourceMap,
    /// The parsed and analysed program.
    pub program: Program,
    /// Diagnostics so far.
    pub sink: Sink,
    /// False when a file had syntax errors.
    pub parsed: bool,
    /// The directories the project includes.
    pub includes: Vec<Include>,
    /// The project's components (spec §4); empty for an ordinary project.
    pub components: Vec<Component>,
}

/// Why [`Session::open`] stopped before analysis.
pub enum Unopened {
    /// The definition directory could not be listed or read.
    Failed(String),
    /// Syntax errors (in `sink`): analysing broken files would only cascade.
    Syntax {
        /// The sources, for printing the diagnostics.
        sources: SourceMap,
        /// The syntax errors.
        sink: Sink,
    },
}

impl Session {
    /// Loads and parses every `.facs` file of `fs`, then analyses them;
    /// stops at syntax errors (analysing broken files would only cascade).
    pub fn open(fs: &dyn Fs, options: Options) -> Result<Session, Unopened> {
        let session = Session::open_anyway(fs, options).map_err(Unopened::Failed)?;
        if !session.parsed {
            return Err(Unopened::Syntax { sources: session.sources, sink: session.sink });
        }
        Ok(session)
    }

    /// A session over no files (parsed: false, so nothing compiles), for a
    /// workspace that cannot be read.
    pub fn empty(options: Options) -> Session {
        let program = Program::analyse(Vec::new(), &mut Sink::new());
        Session {
            options,
            sources: SourceMap::new(),
            program,
            sink: Sink::new(),
            parsed: false,
            includes: Vec::new(),
            components: Vec::new(),
        }
    }

    /// Like [`Session::open`], but analyses what parsed even after syntax
    /// errors, for the language server (hover and definition still work in
    /// a file being typed). Analysis diagnostics are then dropped: they
    /// would be cascades of the syntax errors.
    pub fn open_anyway(fs: &dyn Fs, options: Options) -> Result<Session, String> {
        let mut sink = options.sink();
        let mut loaded = load(fs, &mut sink)?;
        let parsed = !sink.has_errors();
        let mut analysis = Sink::new();
        let mut generated = Vec::new();
        syntax::generate::expand(&mut loaded.files, &mut generated);
        analysis.extend(generated);
        let program = Program::analyse_components(loaded.files, &loaded.components, &mut analysis);
        if parsed {
            sink.extend(analysis.into_sorted());
        }
        Ok(Session {
            options,
            sources: loaded.sources,
            program,
            sink,
            parsed,
            includes: loaded.includes,
            components: loaded.components,
        })
    }

    /// The analysis.
    pub fn front(&self) -> &Front<'_> {
        self.program.front()
    }

    /// The declarations.
    pub fn resolved(&self) -> &Resolved<'_> {
        &self.program.front().resolved
    }

    /// True when any step so far reported an error.
    pub fn has_errors(&self) -> bool {
        self.sink.has_errors()
    }

    /// The instances `names` name (default: every concrete one); E003 for
    /// names that are unknown or abstract.
    pub fn select(&mut self, names: &[String]) -> Vec<InstanceId> {
        select(&self.program.front().resolved, names, &mut self.sink)
    }

    /// Compiles `selected` against their owners' state; writes nothing.
    pub fn compile(&mut self, selected: &[InstanceId], mode: Mode) -> Compilation {
        compile(self.program.front(), &self.components, selected, &self.options, mode, &mut self.sink)
    }

    /// What `facs.src_dir` and `facs.out_dir` evaluate to.
    pub fn paths(&self) -> Paths {
        paths(self.resolved(), &self.options)
    }

    /// What `facs.src_dir` and `facs.out_dir` evaluate to in component
    /// `index`'s view (spec §4: its own directory).
    pub fn component_paths(&mut self, index: usize) -> Option<Paths> {
        component_paths(self.program.front(), &self.components, &self.options, &mut self.sink).into_iter().nth(index)
    }

    /// `project.state_recipients` (E025 for a bad one).
    pub fn recipients(&mut self) -> Vec<String> {
        state_recipients(&self.program.front().resolved, &mut self.sink)
    }

    /// Compiles one instance against `state`, which records what it read:
    /// for commands that look at the state afterwards (`explain`, `secret`).
    pub fn compile_one(&self, id: InstanceId, state: &mut State) -> Option<Compiled> {
        let front = self.program.front();
        eval::compile_instance(&front.resolved, &front.schemas, id, state, &self.paths())
    }

    /// Renders the trees of the compiled instances (`only`: of these).
    pub fn render(&mut self, compilation: &Compilation, only: Option<&[InstanceId]>) -> Vec<(String, FileTree)> {
        let front = self.program.front();
        let mut trees = if self.components.is_empty() {
            let resolved = &front.resolved;
            render_trees(&mut self.sources, resolved, compilation, only, &self.options, &self.includes, &mut self.sink)
        } else {
            Vec::new()
        };
        trees.extend(render_parts(
            &mut self.sources,
            front,
            &self.components,
            compilation,
            only,
            &self.options,
            &mut self.sink,
        ));
        trees
    }

    /// Saves the state of every owner that generated values. Returns the
    /// instances compiled again because another build wrote their state
    /// meanwhile (render them again).
    pub fn commit(&mut self, compilation: &mut Compilation) -> Vec<InstanceId> {
        // Spec §12: W004 once per run that writes state. git matches `dir/`
        // patterns only against directories that exist, so a first build
        // asks after writing; later ones ask before, so that
        // `--deny-warnings` refuses before anything is written.
        let unignored = |dir: &Path| crate::checkout::git_ignores(dir) == Some(false);
        let existed = self.options.state_dir.is_dir();
        if existed && unignored(&self.options.state_dir) {
            self.sink.push(unignored_state(&self.options.state_dir));
            if self.sink.has_errors() {
                return Vec::new();
            }
        }
        let front = self.program.front();
        let recompiled = persist(compilation, front, &self.options, &mut self.sink);
        if !existed && unignored(&self.options.state_dir) {
            self.sink.push(unignored_state(&self.options.state_dir));
        }
        recompiled
    }
}

/// Picks the instances a command names (default: every concrete one).
fn select(resolved: &Resolved<'_>, names: &[String], sink: &mut Sink) -> Vec<InstanceId> {
    if names.is_empty() {
        return resolved
            .instances
            .enumerate()
            .filter(|(_, info)| info.is_concrete() && info.lineage.is_some())
            .map(|(id, _)| id)
            .collect();
    }
    let mut out = Vec::new();
    for name in names {
        match resolved.by_name.get(name.as_str()) {
            Some(&id) => {
                let info = &resolved.instances[id];
                if !info.is_concrete() {
                    sink.push(
                        Diagnostic::global(Code::E003, format!("`{name}` is abstract and has no manifest"))
                            .with_help("Name a concrete instance or overlay that inherits from it."),
                    );
                } else if info.lineage.is_some() && !out.contains(&id) {
                    out.push(id);
                }
            }
            None => {
                let d = Diagnostic::global(Code::E003, format!("no instance or overlay named `{name}`"));
                // Suggest only what the command can take: concrete instances and overlays.
                let concrete =
                    resolved.by_name.iter().filter(|(_, &id)| resolved.instances[id].is_concrete()).map(|(n, _)| *n);
                sink.push(match crate::diagnostic::closest(name, concrete) {
                    Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                    None => d.with_help("Run `facs list instances` to see the declared instances."),
                });
            }
        }
    }
    out
}

/// The `project` fields checkout reads, when written as plain strings.
#[derive(Clone, Debug, Default)]
pub struct ProjectLiterals {
    /// `project.repo`
    pub repo: Option<String>,
    /// `project.version`
    pub version: Option<String>,
    /// `project.src_dir`
    pub src_dir: Option<String>,
}

/// Reads `repo`, `version` and `src_dir` from the project declaration. They
/// are needed before evaluation (they decide `facs.src_dir`), so only plain
/// string literals count.
pub fn project_literals(resolved: &Resolved<'_>) -> ProjectLiterals {
    let literal = |key: &str| {
        resolved.project.and_then(|p| {
            p.body.items.iter().find_map(|item| match item {
                ast::Item::Field(f) if f.path.len() == 1 && f.path.first().is_some_and(|n| n.text == key) => {
                    f.value.as_plain_str()
                }
                _ => None,
            })
        })
    };
    ProjectLiterals { repo: literal("repo"), version: literal("version"), src_dir: literal("src_dir") }
}

/// `project.state_recipients`: the age recipients state is encrypted to
/// (spec-silent; `docs/decisions/state-encryption.md`). Like `repo`, read
/// before evaluation, so only a list of string literals counts; each must be
/// an age X25519 public key (E025).
pub fn state_recipients(resolved: &Resolved<'_>, sink: &mut Sink) -> Vec<String> {
    let Some(field) = resolved.project.and_then(|p| p.field("state_recipients")) else {
        return Vec::new();
    };
    let ast::ExprKind::List(items) = &field.value.kind else {
        sink.push(
            Diagnostic::error(Code::E025, field.value.span, "`state_recipients` must be a list of string literals")
                .with_primary_label("not a literal list")
                .with_help("Write the age public keys themselves: `state_recipients: [\"age1...\"]` (the state is read before any reference is evaluated)."),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match item.as_plain_str().map(|text| (crate::state::crypt::parse_recipient(&text).map(|_| ()), text)) {
            Some((Ok(()), text)) => out.push(text.trim().to_string()),
            Some((Err(why), _)) => sink.push(
                Diagnostic::error(Code::E025, item.span, format!("not an age recipient: {why}"))
                    .with_primary_label("expected an age X25519 public key")
                    .with_help("Give each recipient's public key as `age-keygen -y KEYFILE` prints it: `age1` followed by 58 letters and digits."),
            ),
            None => sink.push(
                Diagnostic::error(Code::E025, item.span, "a recipient must be a string literal")
                    .with_primary_label("not a literal")
                    .with_help("Write the age public key itself (`\"age1...\"`)."),
            ),
        }
    }
    out
}

/// The span of the value of a top-level field of the project declaration.
pub fn project_field_span(resolved: &Resolved<'_>, key: &str) -> Option<crate::source::Span> {
    resolved.project.and_then(|p| {
        p.body.items.iter().find_map(|item| match item {
            ast::Item::Field(f) if f.path.len() == 1 && f.path.first().is_some_and(|n| n.text == key) => {
                Some(f.value.span)
            }
            _ => None,
        })
    })
}

/// Where `facs.src_dir` came from: a build that reads files from anywhere
/// but the definition directory says so (spec §10, nothing silent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrcOrigin {
    /// `project.src_dir`.
    SrcDir,
    /// A checkout made by `facs build --checkout` in `.facsimile/src`.
    Checkout,
    /// `project.repo`, a local directory.
    Repo,
    /// The definition directory itself.
    Definitions,
}

/// The `facs.src_dir` of a project (spec §10): `project.src_dir`, else the
/// checkout of `project.repo` at `project.version` when `facs build
/// --checkout` made one, else `project.repo` when it is a local directory,
/// else the definition directory.
pub fn src_dir(resolved: &Resolved<'_>, project_dir: &Path) -> PathBuf {
    src_dir_and_origin(resolved, project_dir).0
}

/// [`src_dir`] and which rule chose it.
pub fn src_dir_and_origin(resolved: &Resolved<'_>, project_dir: &Path) -> (PathBuf, SrcOrigin) {
    let literals = project_literals(resolved);
    if let Some(dir) = literals.src_dir {
        // Lexically normal (`out/../repo` is `repo`): `${facs.src_dir}` is
        // text that copy patterns match, as the original's `$SRC_DIR$` was.
        return (crate::render::paths::lexical(&absolute(&project_dir.join(dir))), SrcOrigin::SrcDir);
    }
    if let (Some(repo), Some(project)) = (&literals.repo, resolved.project) {
        let version = literals.version.as_deref().unwrap_or("");
        if let Some(dir) = crate::checkout::existing_checkout(project_dir, &project.name.text, repo, version) {
            return (dir, SrcOrigin::Checkout);
        }
    }
    if let Some(repo) = literals.repo {
        let candidate = project_dir.join(&repo);
        if candidate.is_dir() {
            return (std::fs::canonicalize(&candidate).unwrap_or(candidate), SrcOrigin::Repo);
        }
    }
    (project_dir.to_path_buf(), SrcOrigin::Definitions)
}

fn paths(resolved: &Resolved<'_>, options: &Options) -> Paths {
    paths_from(&src_dir(resolved, &options.project_dir), options, declared_env(resolved, &mut Sink::new()))
}

fn paths_from(src_dir: &Path, options: &Options, env: Vec<eval::EnvVar>) -> Paths {
    Paths {
        src_dir: src_dir.to_string_lossy().into_owned(),
        out_dir: options.out_dir.to_string_lossy().into_owned(),
        env,
    }
}

/// Each component view's `facs.src_dir` (the component's directory, or its
/// own `src_dir`/checkout) and declared environment, in component order.
fn component_paths(front: &Front<'_>, components: &[Component], options: &Options, sink: &mut Sink) -> Vec<Paths> {
    front
        .components
        .iter()
        .zip(components)
        .map(|(view, component)| {
            let src = src_dir(&view.own, &component.dir);
            paths_from(&src, options, declared_env(&view.own, sink))
        })
        .collect()
}

/// The environment variables `project { env: [...] }` declares, with their
/// values now (spec §12): a definition reads only those, as `facs.env.X`.
/// The list is read before evaluation, so it is a literal list of names.
fn declared_env(resolved: &Resolved<'_>, sink: &mut Sink) -> Vec<eval::EnvVar> {
    let Some(field) = resolved.project.and_then(|p| p.field("env")) else {
        return Vec::new();
    };
    let help = "Name the variables the definitions may read: `env: [\"USER\", \"HOME\"]` (a literal list: it is read before anything is evaluated).";
    let ast::ExprKind::List(items) = &field.value.kind else {
        sink.push(
            Diagnostic::error(Code::E007, field.value.span, "`env` must be a list of variable names")
                .with_primary_label("not a literal list")
                .with_help(help),
        );
        return Vec::new();
    };
    let mut out: Vec<eval::EnvVar> = Vec::new();
    for item in items {
        let name = item.as_plain_str().filter(|n| {
            let mut chars = n.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        let Some(name) = name else {
            sink.push(
                Diagnostic::error(Code::E007, item.span, "not an environment variable name")
                    .with_primary_label("expected a name such as \"HOME\"")
                    .with_help(help),
            );
            continue;
        };
        if out.iter().any(|v| v.name == name) {
            continue;
        }
        let value = std::env::var_os(&name).map(|v| v.to_string_lossy().into_owned());
        out.push(eval::EnvVar { name, value, span: item.span });
    }
    out
}

/// The instances of one state owner.
pub struct Group {
    /// The owner's name.
    pub owner: String,
    members: Vec<InstanceId>,
    /// Fingerprint of the state file as first read (see `StateDir::load_versioned`).
    snapshot: u64,
    state: State,
    /// Compiled members.
    pub compiled: Vec<(InstanceId, Compiled)>,
    /// Each component's view of each compiled member (spec §4).
    pub parts: Vec<Part>,
    /// The state is written again only to encrypt or decrypt it.
    pub resealed: bool,
}

/// One component's view of one conglomerate instance, compiled.
pub struct Part {
    /// The conglomerate instance.
    pub instance: InstanceId,
    /// Index into [`Session::components`].
    pub component: usize,
    /// The view's manifest (kept only when it renders a tree, in `Build`).
    pub compiled: Compiled,
    /// True when the view had errors (they are the instance's): no tree.
    pub failed: bool,
}

/// A compiled selection, not yet persisted.
pub struct Compilation {
    /// Groups by state owner.
    pub groups: Vec<Group>,
    /// Failures outside any source file (unreadable or unwritable state).
    pub failures: Vec<String>,
    paths: Paths,
    /// Each component's `facs.src_dir` and environment.
    component_paths: Vec<Paths>,
    /// Which rule chose `facs.src_dir`.
    pub src_origin: SrcOrigin,
    mode: Mode,
    /// `project.state_recipients` (empty: plaintext state).
    recipients: Vec<String>,
}

impl Group {
    /// True when compiling generated values that must be saved.
    pub fn state_changed(&self) -> bool {
        self.state.changed
    }

    /// The passwords and secrets compiling generated, and whether the owner
    /// had none before; `None` when nothing was generated.
    pub fn new_secrets(&self) -> Option<NewSecrets> {
        (self.state.generated > 0).then(|| NewSecrets {
            owner: self.owner.clone(),
            count: self.state.generated,
            had_none: self.state.had_no_secrets(),
        })
    }
}

/// Secrets a build generated for one owner (see [`Group::new_secrets`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSecrets {
    /// The state owner.
    pub owner: String,
    /// How many values (passwords and secrets).
    pub count: usize,
    /// True when the owner had no secrets before this build.
    pub had_none: bool,
}

impl Compilation {
    /// `project.state_recipients` (empty: plaintext state).
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// `facs.src_dir`, where copy groups read files.
    pub fn src_dir(&self) -> &str {
        &self.paths.src_dir
    }

    /// Every compiled instance, in declaration order.
    pub fn instances(&self) -> Vec<(InstanceId, &Compiled)> {
        let mut all: Vec<(InstanceId, &Compiled)> =
            self.groups.iter().flat_map(|g| g.compiled.iter().map(|(id, c)| (*id, c))).collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }
}

fn compile_group(
    front: &Front<'_>,
    component_paths: &[Paths],
    members: &[InstanceId],
    state: &mut State,
    paths: &Paths,
    mode: Mode,
) -> (Vec<(InstanceId, Compiled)>, Vec<Part>) {
    let (resolved, schemas) = (&front.resolved, &front.schemas);
    let mut parts = Vec::new();
    let compiled = members
        .iter()
        .filter_map(|&id| {
            let mut compiled = eval::compile_instance(resolved, schemas, id, state, paths)?;
            let found = crate::deploy::check(&compiled.manifest);
            compiled.diagnostics.extend(found);
            // Spec §4: each component's view, against the same state, after
            // the conglomerate's (so its modules' passwords come first).
            if !front.components.is_empty() {
                let mut entries = crate::map::IndexMap::default();
                for (index, (view, cpaths)) in front.components.iter().zip(component_paths).enumerate() {
                    let Some(mut part) = eval::compile_instance(&view.resolved, &view.schemas, id, state, cpaths)
                    else {
                        continue;
                    };
                    let found = crate::deploy::check(&part.manifest);
                    part.diagnostics.extend(found);
                    let failed = part.diagnostics.iter().any(Diagnostic::is_error);
                    compiled.diagnostics.append(&mut part.diagnostics);
                    // `unique` holds among the instances as each component
                    // sees them: its own schema's fields, and the
                    // conglomerate's as the component may override them.
                    for mut u in part.uniques.drain(..) {
                        u.field = format!("component.{}.{}", view.name, u.field);
                        compiled.uniques.push(u);
                    }
                    let mut entry = crate::map::IndexMap::default();
                    for key in ["project", "instance", "module"] {
                        if let Some(value) = part.manifest.value.get_path(&[key]) {
                            entry.insert(key.to_string(), value.clone());
                        }
                    }
                    entries.insert(view.name.clone(), eval::Value::Map(entry));
                    if matches!(mode, Mode::Build | Mode::CheckOnly) && !has_install(&part.manifest.value) {
                        part.manifest.forget_value();
                    }
                    parts.push(Part { instance: id, component: index, compiled: part, failed });
                }
                if let eval::Value::Map(top) = &mut compiled.manifest.value {
                    top.insert("component".to_string(), eval::Value::Map(entries));
                }
            }
            // Serialize here, in parallel, and keep the value only if something
            // still needs it: at 10,000 instances the values would dominate memory.
            if !mode.placeholders() {
                compiled.json = compiled.manifest.value.to_pretty_json(true);
            }
            if matches!(mode, Mode::Build | Mode::CheckOnly) && !has_install(&compiled.manifest.value) {
                compiled.manifest.forget_value();
            }
            Some((id, compiled))
        })
        .collect();
    (compiled, parts)
}

fn has_install(manifest: &eval::Value) -> bool {
    matches!(
        manifest.get_path(&["instance", "install"]).map(eval::Value::unwrap_secret),
        Some(eval::Value::List(l)) if !l.is_empty()
    )
}

/// Compiles the selected instances against their owners' state. Nothing is
/// written; diagnostics go to `sink`.
fn compile(
    front: &Front<'_>,
    components: &[Component],
    selected: &[InstanceId],
    options: &Options,
    mode: Mode,
    sink: &mut Sink,
) -> Compilation {
    let resolved = &front.resolved;
    // One lookup: choosing the source directory may stat a checkout.
    let (src, src_origin) = src_dir_and_origin(resolved, &options.project_dir);
    let paths = paths_from(&src, options, declared_env(resolved, sink));
    let component_paths = component_paths(front, components, options, sink);
    let recipients = state_recipients(resolved, sink);
    let state_dir = StateDir::new(&options.state_dir).with_recipients(recipients.clone());
    let mut groups: Vec<Group> = Vec::new();
    let mut by_owner: std::collections::HashMap<InstanceId, usize> = std::collections::HashMap::new();
    for &id in selected {
        let owner = resolved.instances[id].state_owner;
        let idx = *by_owner.entry(owner).or_insert_with(|| {
            groups.push(Group {
                owner: resolved.instances[owner].name().to_string(),
                members: Vec::new(),
                snapshot: 0,
                state: State::default(),
                compiled: Vec::new(),
                parts: Vec::new(),
                resealed: false,
            });
            groups.len() - 1
        });
        if let Some(g) = groups.get_mut(idx) {
            g.members.push(id);
        }
    }
    // Spec §9: state others can read is made private on a build (W003);
    // `check` writes nothing, so it leaves the modes alone.
    let mut unprivate = Vec::new();
    if !mode.placeholders() {
        for group in &groups {
            match tighten_state(&state_dir, &group.owner) {
                Ok(warnings) => sink.extend(warnings),
                Err(e) => unprivate.push(e),
            }
        }
    }
    let mut failures: Vec<String> = groups
        .par_iter_mut()
        .filter_map(|group| match state_dir.load_versioned(&group.owner) {
            Ok((state, fingerprint)) => {
                group.snapshot = fingerprint;
                group.state = state;
                group.state.placeholders = mode.placeholders();
                (group.compiled, group.parts) =
                    compile_group(front, &component_paths, &group.members, &mut group.state, &paths, mode);
                // Encryption turned on, off, or to other recipients: the
                // file is written again even when no value changed.
                if !mode.placeholders() && group.state.needs_sealing(&recipients) {
                    group.resealed = true;
                    group.state.changed = true;
                }
                if !group.state.changed {
                    group.state = State::default();
                }
                None
            }
            Err(e) => Some(e.to_string()),
        })
        .collect();
    failures.extend(unprivate);
    for group in &mut groups {
        for (_, compiled) in &mut group.compiled {
            sink.extend(compiled.diagnostics.iter().cloned());
        }
    }
    unique_clashes(resolved, &groups, sink);
    Compilation { groups, failures, paths, component_paths, src_origin, mode, recipients }
}

/// `unique` fields (spec §7): no two compiled instances hold one value at
/// one field. The later instance (in declaration order) gets the E025, with
/// labels on the first one's value and on the constraint. An overlay that
/// keeps its base's value unchanged (same state owner, value set at the same
/// place) is not a clash.
fn unique_clashes(resolved: &Resolved<'_>, groups: &[Group], sink: &mut Sink) {
    let mut all: Vec<(InstanceId, usize, &eval::Compiled)> = groups
        .iter()
        .enumerate()
        .flat_map(|(owner, g)| g.compiled.iter().map(move |(id, c)| (*id, owner, c)))
        .collect();
    if all.iter().all(|(_, _, c)| c.uniques.is_empty()) {
        return;
    }
    all.sort_by_key(|(id, _, _)| *id);
    let mut seen: std::collections::HashMap<(&str, &str), (InstanceId, usize, Span)> = std::collections::HashMap::new();
    // Components' views repeat the conglomerate's values (spec §4): a clash
    // between the same two places is reported once, under the first field.
    let mut reported: std::collections::HashSet<(Span, Span)> = std::collections::HashSet::new();
    for (id, owner, compiled) in all {
        for u in &compiled.uniques {
            match seen.get(&(u.field.as_str(), u.key.as_str())) {
                None => {
                    seen.insert((&u.field, &u.key), (id, owner, u.span));
                }
                Some(&(_, first_owner, first_span)) if first_owner == owner && first_span == u.span => {}
                Some(&(_, _, first_span)) if !reported.insert((first_span, u.span)) => {}
                Some(&(first, _, first_span)) => {
                    let name = |i: InstanceId| resolved.instances[i].name().to_string();
                    let value =
                        u.shown.as_deref().map_or_else(|| "the same secret value".to_string(), |v| format!("`{v}`"));
                    let mut d = Diagnostic::error(
                        Code::E025,
                        u.span,
                        format!(
                            "`{}` must be unique, but `{}` and `{}` both have {value}",
                            u.field,
                            name(first),
                            name(id)
                        ),
                    )
                    .with_primary_label(format!("`{}` gets {value} here", name(id)));
                    if first_span != u.span {
                        d = d.with_label(first_span, format!("`{}` gets it here", name(first)));
                    } else {
                        d = d.with_label(u.span, format!("`{}` gets it here too", name(first)));
                    }
                    d = d.with_label(resolved.instances[id].decl.name.span, format!("instance `{}`", name(id)));
                    sink.push(
                        d.with_label(u.constraint, "declared unique here")
                            .with_help("Give each instance its own value, for example computed from an index (`8000 + dev_index`) or a generator's position."),
                    );
                }
            }
        }
    }
}

/// W004: the state directory would be committed by `git add`.
fn unignored_state(dir: &Path) -> Diagnostic {
    Diagnostic::global(
        Code::W004,
        format!("the state directory {} is inside a git work tree and not ignored", dir.display()),
    )
    .with_help(
        "It holds every generated password and secret: `git add .` would commit them. Add `.facsimile/` (or \
         the state directory) to the repository's .gitignore; `facs init` writes one.",
    )
}

/// W003 for each state file or directory of `owner` that others could read;
/// an error when it cannot be made private.
fn tighten_state(dir: &StateDir, owner: &str) -> Result<Vec<Diagnostic>, String> {
    match dir.tighten(owner) {
        Ok(done) => Ok(done
            .into_iter()
            .map(|(path, old)| {
                let what = if path.is_dir() { "state directory" } else { "state file" };
                let new = if path.is_dir() { "0700" } else { "0600" };
                Diagnostic::global(
                    Code::W003,
                    format!("{what} {} was readable by others (mode {old:04o}); it is now {new}", path.display()),
                )
                .with_help(
                    "State holds every password and secret. Files copied from the original facsimile are 0644; \
                     check who could read them, and rotate the secrets if that matters (`facs secret rotate`).",
                )
            })
            .collect()),
        Err(e) => Err(format!("cannot make the state of `{owner}` private: {e}")),
    }
}

/// Saves the state of every group that generated values (the protocol is
/// [`StateDir::save_all`]'s). Returns the instances that had to be compiled
/// again because another build wrote their state meanwhile (their manifests
/// changed; render them again).
fn persist(compilation: &mut Compilation, front: &Front<'_>, options: &Options, sink: &mut Sink) -> Vec<InstanceId> {
    let dir = StateDir::new(&options.state_dir).with_recipients(compilation.recipients.clone());
    let mut recompiled = Vec::new();
    let (paths, component_paths, mode) = (&compilation.paths, &compilation.component_paths, compilation.mode);
    let mut indices = Vec::new();
    let mut pending = Vec::new();
    for (index, group) in compilation.groups.iter_mut().enumerate().filter(|(_, g)| g.state.changed) {
        indices.push(index);
        let state = std::mem::take(&mut group.state);
        pending.push(Pending { owner: group.owner.clone(), snapshot: group.snapshot, state });
    }
    let groups = &mut compilation.groups;
    let result = dir.save_all(pending, |i, mut state| {
        let Some(group) = indices.get(i).and_then(|&g| groups.get_mut(g)) else { return Redone::Failed };
        let (mut compiled, parts) = compile_group(front, component_paths, &group.members, &mut state, paths, mode);
        for (_, c) in &mut compiled {
            sink.extend(std::mem::take(&mut c.diagnostics));
        }
        recompiled.extend(group.members.iter().copied());
        group.compiled = compiled;
        group.parts = parts;
        match (state.changed, sink.has_errors()) {
            (_, true) => Redone::Failed,
            (true, false) => Redone::Save(state),
            (false, false) => Redone::Unchanged,
        }
    });
    if let Err(e) = result {
        compilation.failures.push(format!(
            "cannot write the state of `{}` in {}: {}; {}",
            e.owner,
            dir.owner_dir(&e.owner).display(),
            e.error,
            e.outcome()
        ));
    }
    recompiled
}

/// Renders the trees of the given instances (those with a non-empty
/// `install`). Template texts join `sources` for diagnostics.
fn render_trees(
    sources: &mut SourceMap,
    resolved: &Resolved<'_>,
    compilation: &Compilation,
    only: Option<&[InstanceId]>,
    options: &Options,
    includes: &[Include],
    sink: &mut Sink,
) -> Vec<(String, FileTree)> {
    let src = PathBuf::from(&compilation.paths.src_dir);
    let instances = compilation.instances();
    let jobs: Vec<Job<'_>> = instances
        .iter()
        .filter(|(id, _)| only.is_none_or(|o| o.contains(id)))
        .filter(|(_, c)| has_install(&c.manifest.value))
        // An instance with errors of its own is not rendered: its template
        // errors would be cascades. Every other one is (spec §11).
        .filter(|(_, c)| !c.diagnostics.iter().any(Diagnostic::is_error))
        .filter_map(|(id, c)| {
            let info = &resolved.instances[*id];
            let lineage = info.lineage.as_deref().map(|l| resolved.instances.names(l).map(str::to_string).collect())?;
            let project = resolved.project.map_or("", |p| p.name.text.as_str());
            Some(render_job(
                info,
                lineage,
                c,
                crate::layout::release_dir(&compilation.paths.out_dir, info.name(), project),
            ))
        })
        .collect();
    if only.is_none() {
        let names: Vec<&str> = resolved.instances.iter().map(|i| i.name()).collect();
        let mut roots: Vec<String> = instances.iter().flat_map(|(_, c)| template_dirs(&c.manifest.value)).collect();
        roots.sort();
        roots.dedup();
        roots.push("extra".to_string());
        sink.extend(render::unused_folders(&options.project_dir, &roots, &names));
    }
    if jobs.is_empty() {
        return Vec::new();
    }
    let protected = [options.state_dir.clone(), options.out_dir.clone()];
    let includes: Vec<(PathBuf, String)> = includes.iter().map(|i| (i.dir.clone(), format!("{}/", i.shown))).collect();
    let renderer = Renderer::prepare(sources, &options.project_dir, &src, &protected, &includes, "", &jobs);
    sink.extend(renderer.errors.iter().cloned());
    let sources: &SourceMap = sources;
    let results: Vec<(String, Result<FileTree, Vec<Diagnostic>>)> =
        jobs.par_iter().map(|job| (job.instance.to_string(), renderer.render(sources, job))).collect();
    let mut trees = Vec::new();
    let mut errors = Vec::new();
    for (name, result) in results {
        match result {
            Ok(tree) => trees.push((name, tree)),
            Err(e) => errors.extend(e),
        }
    }
    sink.extend(render::group_template_errors(errors));
    trees
}

/// Renders the trees of a conglomerate's instances (spec §4): for each
/// instance, one tree per component whose view has a non-empty `install`,
/// `<out>/<X>/<component project>/`, rendered from the component's
/// directory with its view's manifest; the conglomerate renders none.
fn render_parts(
    sources: &mut SourceMap,
    front: &Front<'_>,
    components: &[Component],
    compilation: &Compilation,
    only: Option<&[InstanceId]>,
    options: &Options,
    sink: &mut Sink,
) -> Vec<(String, FileTree)> {
    let resolved = &front.resolved;
    let failed: std::collections::HashSet<InstanceId> = compilation
        .instances()
        .into_iter()
        .filter(|(_, c)| c.diagnostics.iter().any(Diagnostic::is_error))
        .map(|(id, _)| id)
        .collect();
    let mut merged: std::collections::BTreeMap<InstanceId, FileTree> = std::collections::BTreeMap::new();
    let protected = [options.state_dir.clone(), options.out_dir.clone()];
    for (index, (component, view)) in components.iter().zip(&front.components).enumerate() {
        let Some(paths) = compilation.component_paths.get(index) else { continue };
        let parts: Vec<&Part> = compilation
            .groups
            .iter()
            .flat_map(|g| &g.parts)
            .filter(|p| p.component == index && !p.failed && !failed.contains(&p.instance))
            .filter(|p| only.is_none_or(|o| o.contains(&p.instance)))
            .filter(|p| has_install(&p.compiled.manifest.value))
            .collect();
        if only.is_none() {
            let names: Vec<&str> = view.resolved.instances.iter().map(|i| i.name()).collect();
            let mut roots: Vec<String> = compilation
                .groups
                .iter()
                .flat_map(|g| &g.parts)
                .filter(|p| p.component == index)
                .flat_map(|p| template_dirs(&p.compiled.manifest.value))
                .collect();
            roots.sort();
            roots.dedup();
            roots.push("extra".to_string());
            // Named from the conglomerate's directory, like the component's files.
            let roots: Vec<String> = roots.iter().map(|r| format!("{}/{r}", component.shown)).collect();
            sink.extend(render::unused_folders(&options.project_dir, &roots, &names));
        }
        let jobs: Vec<Job<'_>> = parts
            .iter()
            .filter_map(|part| {
                let info = &view.resolved.instances[part.instance];
                let mut lineage: Vec<String> = Vec::new();
                for name in view.resolved.instances.names(info.lineage.as_deref()?) {
                    // A name both the conglomerate and the component use is one template root.
                    if !lineage.iter().any(|l| l == name) {
                        lineage.push(name.to_string());
                    }
                }
                let c = &part.compiled;
                Some(render_job(
                    info,
                    lineage,
                    c,
                    crate::layout::release_dir(&paths.out_dir, info.name(), &component.project),
                ))
            })
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let includes: Vec<(PathBuf, String)> =
            component.includes.iter().map(|i| (i.dir.clone(), format!("{}/", i.shown))).collect();
        let src = PathBuf::from(&paths.src_dir);
        let shown = format!("{}/", component.shown);
        let renderer = Renderer::prepare(sources, &component.dir, &src, &protected, &includes, &shown, &jobs);
        sink.extend(renderer.errors.iter().cloned());
        let shared: &SourceMap = sources;
        let results: Vec<(InstanceId, Result<FileTree, Vec<Diagnostic>>)> =
            jobs.par_iter().zip(&parts).map(|(job, part)| (part.instance, renderer.render(shared, job))).collect();
        let mut errors = Vec::new();
        for (id, result) in results {
            match result {
                Ok(tree) => merged.entry(id).or_default().extend(tree),
                Err(e) => errors.extend(e),
            }
        }
        sink.extend(render::group_template_errors(errors));
    }
    merged.into_iter().map(|(id, tree)| (resolved.instances[id].name().to_string(), tree)).collect()
}

/// The `dir` of each `tmpl` group, normalised (`./tmpl/` → `tmpl`).
fn template_dirs(manifest: &eval::Value) -> Vec<String> {
    let Some(eval::Value::List(groups)) = manifest.get_path(&["instance", "install"]).map(eval::Value::unwrap_secret)
    else {
        return Vec::new();
    };
    groups
        .iter()
        .filter(|g| g.get_path(&["type"]).and_then(eval::Value::as_str) == Some("tmpl"))
        .filter_map(|g| g.get_path(&["dir"]).and_then(eval::Value::as_str))
        .filter_map(|dir| render::paths::relative_inside(dir).ok())
        .map(|dir| crate::source::relative_name(&dir))
        .filter(|dir| !dir.is_empty())
        .collect()
}

/// A diagnostic as tests compare it: code, file, line.
pub type Located = (String, String, usize);

/// Compiles an in-memory definition directory with placeholder secrets and
/// returns each concrete instance's manifest (as JSON, secrets revealed) and
/// every diagnostic as `(code, file, line)`. The one entry point stage tests
/// use, so they do not depend on internal APIs.
pub fn compile_memory(files: &[(&str, &str)]) -> (Vec<(String, serde_json::Value)>, Vec<Located>) {
    let fs = crate::source::MemoryFs::with(files);
    let options = Options {
        project_dir: PathBuf::from("/nonexistent/project"),
        out_dir: PathBuf::from("/nonexistent/out"),
        state_dir: PathBuf::from("/nonexistent/state"),
        deny_warnings: false,
    };
    let mut manifests = Vec::new();
    let (sources, sink) = match Session::open(&fs, options) {
        Err(Unopened::Failed(_)) => return (Vec::new(), Vec::new()),
        Err(Unopened::Syntax { sources, sink }) => (sources, sink),
        Ok(mut session) => {
            let selected = session.select(&[]);
            let compilation = session.compile(&selected, Mode::Check);
            for (id, compiled) in compilation.instances() {
                let name = session.resolved().instances[id].name().to_string();
                manifests.push((name, serde_json::Value::from(&compiled.manifest.value)));
            }
            (session.sources, session.sink)
        }
    };
    let diagnostics = sink
        .into_sorted()
        .into_iter()
        .map(|d| {
            let (file, line) = d.primary.as_ref().map_or((String::new(), 0), |p| {
                let f = sources.get(p.span.file);
                (f.map_or(String::new(), |f| f.name.clone()), f.map_or(0, |f| f.line_col(p.span.start as usize).0))
            });
            (d.code.as_str().to_string(), file, line)
        })
        .collect();
    (manifests, diagnostics)
}

/// What render needs of one compiled instance (or one component's view of
/// it): its install spans, and the whole `install` list's span for errors
/// about the list itself.
fn render_job<'j>(
    info: &'j resolve::InstanceInfo<'_>,
    lineage: Vec<String>,
    c: &'j Compiled,
    release_dir: String,
) -> Job<'j> {
    Job { instance: info.name(), lineage, manifest: &c.manifest, release_dir }
}
