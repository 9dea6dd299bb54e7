//! The command line (spec §12). The only module that prints, reads arguments
//! or touches the terminal; it maps results to exit statuses: 0 success
//! (warnings allowed), 1 errors reported, 2 usage error (clap's own status).

mod commands;
mod complete;
mod deploy;
mod discover;
mod eval;
mod explain_code;
mod fmt;
mod import;
mod init;
mod inspect;
mod man;
mod progress;
mod secret;
mod stale;
mod watch;
mod write;

use crate::build::{Options, Session, Unopened};
use crate::diagnostic::{render_human, render_json, Diagnostic};
use crate::source::{DiskFs, SourceMap};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// facsimile: compile `.facs` environment definitions into manifests and file trees.
#[derive(Parser, Debug)]
#[command(name = "facs", version, about, long_about = None)]
pub struct Cli {
    /// The definition directory (default: the nearest of the current directory and its
    /// ancestors with a `*.facs` file that declares `project`).
    #[arg(short = 'p', long = "project", global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// How diagnostics are printed on stderr.
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// Colour diagnostics (default: auto, which honours NO_COLOR and CLICOLOR_FORCE, then
    /// colours when stderr is a terminal).
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorWhen>,
    /// Print what each stage does and how long it takes (on stderr; secrets redacted).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print errors only: no warnings, notes, progress or summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Report every warning as an error: the run fails and writes nothing.
    #[arg(long, global = true)]
    pub deny_warnings: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--message-format`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// rustc-style text with source excerpts.
    Human,
    /// One JSON object per line.
    Json,
}

/// `--color`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// NO_COLOR, then CLICOLOR_FORCE, then whether stderr is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Whether diagnostics are coloured (spec §12): `--color always|never` wins;
/// otherwise (`auto` or no flag) a non-empty `NO_COLOR` turns colour off, a
/// non-empty `CLICOLOR_FORCE` other than `0` turns it on, and else colour
/// follows whether stderr is a terminal. The one place colour is decided.
pub fn use_color(
    flag: Option<ColorWhen>,
    no_color: Option<&std::ffi::OsStr>,
    clicolor_force: Option<&std::ffi::OsStr>,
    stderr_is_terminal: bool,
) -> bool {
    match flag {
        Some(ColorWhen::Always) => true,
        Some(ColorWhen::Never) => false,
        Some(ColorWhen::Auto) | None => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if clicolor_force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                stderr_is_terminal
            }
        }
    }
}

/// Writes `text` to stdout and flushes it. A reader that closed the pipe
/// (`facs list | head -1`) has read all it wants: that is not an error, so a
/// broken pipe is `Ok` and every later write is skipped. (Rust ignores
/// SIGPIPE, so `print!` would panic instead.) Other failures, such as a full
/// disk behind `>`, are returned for the caller to report.
pub(crate) fn write_stdout(text: &[u8]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLOSED: AtomicBool = AtomicBool::new(false);
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and type-check everything and evaluate every instance; writes nothing.
    Check,
    /// Write manifests, state and trees for the named (default: all) instances.
    Build {
        /// Instances and overlays to build (default: every non-abstract one).
        #[arg(add = complete::instances())]
        names: Vec<String>,
        /// Output directory (default: DIR/.facsimile/out).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
        /// First clone or update the project's source (`project.repo`) at the
        /// tag `project.version`, into DIR/.facsimile/src/<project>-<version>.
        #[arg(long)]
        checkout: bool,
        /// With --checkout: the default branch (pulled) instead of the tag.
        #[arg(long, requires = "checkout")]
        devel: bool,
    },
    /// Build an instance, then copy its deploy tree to its nodes with rsync over ssh.
    Deploy {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// Only the nodes of this target.
        #[arg(long, add = complete::targets())]
        target: Option<String>,
        /// Print every command and what rsync would change on each node (it
        /// runs `rsync --dry-run --itemize-changes`); write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Deploy one node at a time, stopping at the first that fails (`--batch 1`).
        #[arg(long, conflicts_with = "batch")]
        serial: bool,
        /// Rolling deploy: N nodes at a time, stopping after the first batch
        /// in which a node failed (later nodes are not touched).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        batch: Option<u64>,
        /// Deploy the tree as last built (refused if the definitions changed since).
        #[arg(long)]
        no_build: bool,
        /// With --dry-run: print secrets instead of `********`.
        #[arg(long)]
        reveal_secrets: bool,
        /// Push passwords and secrets generated since the last deploy (a
        /// first deploy, or state deliberately reset) to remote nodes.
        #[arg(long)]
        allow_new_secrets: bool,
        /// Output directory (default: DIR/.facsimile/out).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Run the stages checkout, build, install, deploy (or some of them) for one instance.
    Run {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// Run only this stage.
        #[arg(long, value_enum, conflicts_with_all = ["start", "end"])]
        only: Option<deploy::Stage>,
        /// The first stage to run (default: checkout).
        #[arg(long, value_enum)]
        start: Option<deploy::Stage>,
        /// The last stage to run (default: deploy).
        #[arg(long, value_enum)]
        end: Option<deploy::Stage>,
        /// Check out the default branch (pulled) instead of the version's tag.
        #[arg(long)]
        devel: bool,
        /// Deploy only the nodes of this target.
        #[arg(long, add = complete::targets())]
        target: Option<String>,
        /// Push passwords and secrets generated since the last deploy (a
        /// first deploy, or state deliberately reset) to remote nodes.
        #[arg(long)]
        allow_new_secrets: bool,
        /// Print what each stage would do and the deploy's commands (with
        /// what rsync would change); write and run nothing.
        #[arg(long)]
        dry_run: bool,
        /// Deploy one node at a time, stopping at the first that fails (`--batch 1`).
        #[arg(long, conflicts_with = "batch")]
        serial: bool,
        /// Rolling deploy: N nodes at a time, stopping after the first batch
        /// in which a node failed (later nodes are not touched).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        batch: Option<u64>,
        /// Output directory (default: DIR/.facsimile/out).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Print one instance's manifest (secrets redacted).
    Manifest {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// Print secrets instead of `********`.
        #[arg(long)]
        reveal_secrets: bool,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Print the value of an expression or path for an instance, as JSON (secrets redacted).
    Eval {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// An expression as a field would hold it: `db.url`, `module.web.port + 1`,
        /// `[for m in module: m.username]`.
        expr: String,
        /// Print secrets instead of `********`.
        #[arg(long)]
        reveal_secrets: bool,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Show the value at PATH for an instance and every place that set it.
    Explain {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// A dotted path: `db.url`, `instance.db.url`, `module.web.password`, `project.version`.
        #[arg(add = complete::paths())]
        path: String,
        /// `human` (default) or `json`.
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        format: MessageFormat,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Show how two instances' manifests differ (secrets redacted).
    Diff {
        /// The first instance.
        #[arg(add = complete::instances())]
        a: String,
        /// The second instance.
        #[arg(add = complete::instances())]
        b: String,
        /// `human` (default) or `json`.
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        format: MessageFormat,
        /// Exit 1 when the manifests differ (0 when they are equal), like `diff`.
        #[arg(long)]
        exit_code: bool,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// List instances, modules, targets, nodes or components.
    List {
        /// What to list.
        #[arg(value_enum, default_value_t = ListWhat::Instances)]
        what: ListWhat,
        /// Only this instance (for modules, targets and nodes).
        #[arg(add = complete::instances())]
        name: Option<String>,
        /// `human` (a table, default) or `json`.
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        format: MessageFormat,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Print the inheritance and overlay graph.
    Graph {
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Rewrite `.facs` files in the canonical layout (comments kept).
    Fmt {
        /// Write nothing; list the files that are not formatted and exit 1 if any.
        #[arg(long)]
        check: bool,
        /// Write nothing; print what would change as a unified diff and exit 1 if anything would.
        #[arg(long)]
        diff: bool,
        /// Files (or directories) to format (default: every `.facs` file of the project);
        /// `-` formats stdin to stdout.
        files: Vec<PathBuf>,
    },
    /// Create a small working project (and a .gitignore for .facsimile/) in DIR.
    Init {
        /// The directory (default: the current one); created when missing.
        dir: Option<PathBuf>,
    },
    /// Run `check` (default) or `build` again on every change of the definitions,
    /// templates, extra and copied files.
    Watch {
        /// `check` or `build`, then the instances to build (default: all).
        #[arg(value_name = "build|check [NAME...]")]
        args: Vec<String>,
        /// Output directory for `build` (default: DIR/.facsimile/out).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Explain a diagnostic code (`E007`) with an example and its fix; without CODE, list them.
    ExplainCode {
        /// The code.
        code: Option<String>,
    },
    /// Print a shell completion script (it completes instance, module and target names too).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Convert an original facsimile directory (facsimile.json, <env>.json, tmpl/) to .facs files.
    Import {
        /// The original's definition directory (config/facsimile/), or the repository holding it.
        legacy_dir: PathBuf,
        /// Output directory (default: <repository>-facs next to it); must be empty or absent.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// The project name (the original took it from its command line).
        #[arg(long)]
        name: Option<String>,
        /// A release environment as given to the original (`dev.dev0`); repeat for more
        /// (default: one per definition file, and each directory of the original's state).
        #[arg(long = "env", value_name = "ENV")]
        envs: Vec<String>,
        /// The original's state directory, holding <env>/state.json (default:
        /// <repository>/.facsimile/state when it exists). Copied, never moved.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
    },
    /// Run the language server on stdin/stdout (Language Server Protocol).
    Lsp,
    /// Set, rotate or list the stored secrets of an instance.
    Secret {
        /// What to do.
        #[command(subcommand)]
        action: SecretAction,
    },
    /// Move state to a renamed instance, list orphaned state, record a deploy.
    State {
        /// What to do.
        #[command(subcommand)]
        action: StateAction,
    },
}

/// `facs secret` actions.
#[derive(Debug, Subcommand)]
pub enum SecretAction {
    /// Replace a stored secret with a value read from stdin (or --from-file), never argv.
    Set {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// The secret's path: `module.db.password`, `instance.api_key` (or `api_key`).
        path: String,
        /// Read the value from this file instead of stdin (one trailing newline is dropped).
        #[arg(long)]
        from_file: Option<PathBuf>,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Replace a stored secret with a newly generated one (the old one stays in state.json.bak).
    Rotate {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// The secret's path.
        path: String,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// List the stored secrets an instance uses and where each came from (never the values).
    List {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
}

/// `facs state` actions.
#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Give the state of OLD (a renamed instance) to NEW, keeping every value.
    Mv {
        /// The old owner (no longer an instance).
        old: String,
        /// The new instance.
        new: String,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// List state that no instance of the definition uses (deletes nothing).
    Orphans {
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Record that the nodes have the stored values (deployed by other means).
    Deployed {
        /// The instance or overlay.
        #[arg(add = complete::instances())]
        name: String,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
}

/// `facs list` subjects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    /// Instances and overlays, with their parents and state owners.
    Instances,
    /// Modules with their user and service names.
    Modules,
    /// Targets of every concrete instance.
    Targets,
    /// One row per node of every target.
    Nodes,
    /// The components of a conglomerate: project, source, deploy targets.
    Components,
}

/// `facs graph --format`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// JSON: nodes (name, kind, declared at) and edges (from, to, kind).
    Json,
}

/// Answers a shell's completion request and exits, when there is one
/// (see `cli/complete.rs`); returns at once otherwise.
pub fn answer_completion_request() {
    complete::answer_request();
}

/// Runs the command line and returns the exit status.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let color = use_color(
        cli.color,
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("CLICOLOR_FORCE").as_deref(),
        std::io::stderr().is_terminal(),
    );
    let mut ui = Ui {
        format: cli.message_format,
        color,
        verbose: cli.verbose,
        quiet: cli.quiet,
        started: std::time::Instant::now(),
        progress: None,
    };
    if let Err(why) = crate::limits::init_from_env() {
        ui.failure(&why);
        return 2;
    }
    // Commands that read no project run without discovery; a `-p` that
    // names no directory is still a usage error for them (it is a typo).
    let need = match &cli.command {
        Command::Completions { .. }
        | Command::Man
        | Command::Import { .. }
        | Command::Lsp
        | Command::Init { .. }
        | Command::ExplainCode { .. } => Need::No,
        // `fmt FILES` names files relative to the project when there is one.
        Command::Fmt { files, .. } if !files.is_empty() => Need::IfFound,
        _ => Need::Yes,
    };
    let project = match find_project(cli.project.as_deref(), need, &mut ui) {
        Ok(project) => project,
        Err(status) => return status,
    };
    let project = project.as_path();
    let deny = cli.deny_warnings;
    let opts = |out: Option<&Path>, state: Option<&Path>| Options::new(project, out, state).deny_warnings(deny);
    match &cli.command {
        Command::Check => commands::check(&opts(None, None), &mut ui),
        Command::Build { names, out, state, checkout, devel } => {
            let options = opts(out.as_deref(), state.as_deref());
            if *checkout {
                let status = deploy::checkout(&options, *devel, &mut ui);
                if status != 0 {
                    return status;
                }
            }
            commands::build(&options, names, &mut ui)
        }
        Command::Deploy {
            name,
            target,
            dry_run,
            serial,
            batch,
            no_build,
            reveal_secrets,
            allow_new_secrets,
            out,
            state,
        } => {
            let options = opts(out.as_deref(), state.as_deref());
            let args = deploy::DeployArgs {
                name,
                target: target.as_deref(),
                dry_run: *dry_run,
                no_build: *no_build,
                reveal: *reveal_secrets,
                allow_new_secrets: *allow_new_secrets,
                pace: deploy::pace(*serial, *batch),
            };
            deploy::deploy(&options, &args, &mut ui)
        }
        Command::Run {
            name,
            only,
            start,
            end,
            devel,
            target,
            allow_new_secrets,
            dry_run,
            serial,
            batch,
            out,
            state,
        } => {
            let range = match deploy::stage_range(*only, *start, *end) {
                Ok(range) => range,
                Err(why) => {
                    ui.failure(&why);
                    return 2;
                }
            };
            let options = opts(out.as_deref(), state.as_deref());
            let args = deploy::RunArgs {
                name,
                range,
                devel: *devel,
                target: target.as_deref(),
                allow_new_secrets: *allow_new_secrets,
                pace: deploy::pace(*serial, *batch),
                dry_run: *dry_run,
            };
            deploy::run(&options, &args, &mut ui)
        }
        Command::Manifest { name, reveal_secrets, state } => {
            let options = opts(None, state.as_deref());
            commands::manifest(&options, name, *reveal_secrets, &mut ui)
        }
        Command::Eval { name, expr, reveal_secrets, state } => {
            eval::eval(&opts(None, state.as_deref()), name, expr, *reveal_secrets, &mut ui)
        }
        Command::Explain { name, path, format, state } => {
            inspect::explain(&opts(None, state.as_deref()), name, path, *format == MessageFormat::Json, &mut ui)
        }
        Command::Diff { a, b, format, exit_code, state } => {
            let options = opts(None, state.as_deref());
            inspect::diff(&options, a, b, *format == MessageFormat::Json, *exit_code, &mut ui)
        }
        Command::List { what, name, format, state } => {
            let what = match what {
                ListWhat::Instances => "instances",
                ListWhat::Modules => "modules",
                ListWhat::Targets => "targets",
                ListWhat::Nodes => "nodes",
                ListWhat::Components => "components",
            };
            let json = *format == MessageFormat::Json;
            inspect::list(&opts(None, state.as_deref()), what, name.as_deref(), json, &mut ui)
        }
        Command::Graph { format } => inspect::graph(&opts(None, None), *format, &mut ui),
        Command::Completions { shell } => complete::script(*shell, &mut ui),
        Command::Init { dir } => init::run(dir.as_deref(), &mut ui),
        Command::ExplainCode { code } => explain_code::run(code.as_deref(), &mut ui),
        Command::Watch { args, out, state } => watch::run(&opts(out.as_deref(), state.as_deref()), args, &mut ui),
        Command::Lsp => crate::lsp::run(),
        Command::Secret { action } => match action {
            SecretAction::Set { name, path, from_file, state } => {
                let options = opts(None, state.as_deref());
                secret::change(&options, name, path, secret::Input::Given(from_file.as_deref()), &mut ui)
            }
            SecretAction::Rotate { name, path, state } => {
                let options = opts(None, state.as_deref());
                secret::change(&options, name, path, secret::Input::Generated, &mut ui)
            }
            SecretAction::List { name, state } => secret::list(&opts(None, state.as_deref()), name, &mut ui),
        },
        Command::State { action } => match action {
            StateAction::Mv { old, new, state } => secret::mv(&opts(None, state.as_deref()), old, new, &mut ui),
            StateAction::Orphans { state } => secret::orphans(&opts(None, state.as_deref()), &mut ui),
            StateAction::Deployed { name, state } => secret::deployed(&opts(None, state.as_deref()), name, &mut ui),
        },
        Command::Fmt { check, diff, files } => {
            let mode = match (check, diff) {
                (_, true) => fmt::Mode::Diff,
                (true, false) => fmt::Mode::Check,
                (false, false) => fmt::Mode::Write,
            };
            fmt::run(project, mode, files, &mut ui)
        }
        Command::Import { legacy_dir, out, name, envs, state } => import::run(&import::Args {
            legacy: legacy_dir,
            out: out.as_deref(),
            name: name.as_deref(),
            envs,
            state: state.as_deref(),
        }),
        Command::Man => match man::page() {
            Ok(page) => ui.out(&page),
            Err(e) => {
                ui.failure(&format!("cannot render the man page: {e}"));
                1
            }
        },
    }
}

/// Whether a command reads the definition directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// It must be found.
    Yes,
    /// It is used when found, else the current directory.
    IfFound,
    /// Not at all (only `-p` is checked).
    No,
}

/// The definition directory: `-p` (which must be a directory: else exit 2),
/// else discovered from the current directory when the command needs one
/// (none found: exit 1), else the current directory. `-v` says when
/// discovery chose an ancestor.
fn find_project(given: Option<&Path>, need: Need, ui: &mut Ui) -> Result<PathBuf, i32> {
    if given.is_none() && need == Need::No {
        return Ok(PathBuf::from("."));
    }
    let start = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(e) if given.is_none() && need == Need::Yes => {
            ui.failure(&format!("cannot read the current directory: {e}; pass the definition directory with `-p DIR`"));
            return Err(1);
        }
        Err(_) => PathBuf::from("."),
    };
    match discover::project_dir(given, &start) {
        Ok(discover::Found::Ancestor(dir)) => {
            ui.verbose(&format!("definition directory: {} (found above {})", dir.display(), start.display()));
            Ok(dir)
        }
        Ok(found) => Ok(found.dir().to_path_buf()),
        Err(discover::NotFound::NoProject(_)) if need == Need::IfFound => Ok(PathBuf::from(".")),
        Err(not_found) => {
            ui.failure(&not_found.message());
            Err(not_found.status())
        }
    }
}

/// Terminal output settings.
pub struct Ui {
    format: MessageFormat,
    color: bool,
    verbose: bool,
    /// `-q`: errors only.
    quiet: bool,
    started: std::time::Instant,
    /// The spinner of a long build, while it runs (see `cli/progress.rs`).
    progress: Option<indicatif::ProgressBar>,
}

impl Ui {
    /// Writes command output to stdout through [`write_stdout`]; returns the
    /// exit status (0, or 1 with a message when stdout cannot be written).
    pub fn out(&mut self, text: &[u8]) -> i32 {
        match write_stdout(text) {
            Ok(()) => 0,
            Err(e) => {
                self.failure(&format!("cannot write to stdout: {e}"));
                1
            }
        }
    }

    /// Prints diagnostics on stderr (with `-q`, errors only).
    pub fn diagnostics(&mut self, sources: &SourceMap, diagnostics: &[Diagnostic]) {
        let kept: Vec<Diagnostic>;
        let diagnostics = if self.quiet {
            kept = diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
            &kept[..]
        } else {
            diagnostics
        };
        self.above_progress(|| {
            let mut err = std::io::stderr().lock();
            match self.format {
                MessageFormat::Human => {
                    let _ = err.write_all(render_human(sources, diagnostics, self.color).as_bytes());
                }
                MessageFormat::Json => {
                    for d in diagnostics {
                        let _ = writeln!(err, "{}", render_json(sources, d));
                    }
                }
            }
        });
    }

    /// Prints an error that has no place in a source file.
    pub fn failure(&mut self, message: &str) {
        let message = &crate::diagnostic::visible(message);
        self.above_progress(|| {
            let mut err = std::io::stderr().lock();
            match self.format {
                MessageFormat::Human => {
                    let _ = writeln!(err, "error: {message}");
                }
                MessageFormat::Json => {
                    let obj = serde_json::json!({"severity": "error", "code": null, "message": message, "file": null, "line": null, "column": null, "labels": [], "help": null});
                    let _ = writeln!(err, "{obj}");
                }
            }
        });
    }

    /// A progress or information line for people (not printed in JSON mode or with `-q`).
    pub fn note(&mut self, message: &str) {
        if self.format == MessageFormat::Human && !self.quiet {
            let line = format!("note: {}", crate::diagnostic::visible(message));
            self.above_progress(|| writeln!(std::io::stderr().lock(), "{line}")).ok();
        }
    }

    /// A status line for people, without a prefix (`formatted FILE`): not
    /// printed in JSON mode or with `-q`.
    pub fn status(&mut self, message: &str) {
        if self.format == MessageFormat::Human && !self.quiet {
            let line = crate::diagnostic::visible(message);
            self.above_progress(|| writeln!(std::io::stderr().lock(), "{line}")).ok();
        }
    }

    /// A line for `-v`: what a stage did, with the time since the start.
    pub fn verbose(&mut self, message: &str) {
        if self.verbose && self.format == MessageFormat::Human {
            let ms = self.started.elapsed().as_secs_f64() * 1000.0;
            let line = format!("[{ms:8.1} ms] {}", crate::diagnostic::visible(message));
            self.above_progress(|| writeln!(std::io::stderr().lock(), "{line}")).ok();
        }
    }

    /// True when progress bars may be drawn: people at a terminal, not `-q`
    /// or JSON.
    pub fn shows_progress(&self) -> bool {
        self.format == MessageFormat::Human && !self.quiet && std::io::stderr().is_terminal()
    }

    /// A closing summary for people (not printed in JSON mode or with `-q`).
    pub fn summary(&mut self, sink_errors: usize, warnings: usize) {
        self.progress_clear();
        if self.format == MessageFormat::Human && !self.quiet && (sink_errors > 0 || warnings > 0) {
            let plural = |n: usize, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
            let mut parts = Vec::new();
            if sink_errors > 0 {
                parts.push(plural(sink_errors, "error"));
            }
            if warnings > 0 {
                parts.push(plural(warnings, "warning"));
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", parts.join(", "));
        }
    }
}

/// Opens a session on the definition directory: loaded, parsed and
/// analysed. What stops it (an unreadable directory, syntax errors) is
/// printed, and the exit status returned.
pub(crate) fn open(options: &Options, ui: &mut Ui) -> Result<Session, i32> {
    if !options.project_dir.is_dir() {
        ui.failure(&format!("{} is not a directory", options.project_dir.display()));
        return Err(1);
    }
    let fs = DiskFs::new(&options.project_dir, &[options.out_dir.clone(), options.state_dir.clone()]);
    match Session::open(&fs, options.clone()) {
        Ok(session) => Ok(session),
        Err(Unopened::Failed(why)) => {
            ui.failure(&why);
            Err(1)
        }
        Err(Unopened::Syntax { sources, sink }) => Err(commands::finish(ui, &sources, sink, &[])),
    }
}
