//! The command line (spec §12). The only module that prints, reads arguments
//! or touches the terminal; it maps results to exit statuses: 0 success
//! (warnings allowed), 1 errors reported, 2 usage error (clap's own status).

mod commands;
mod deploy;
mod fmt;
mod import;
mod inspect;
mod stale;
mod write;

use crate::build::{self, Loaded, Options};
use crate::diagnostic::{render_human, render_json, Diagnostic, Sink};
use crate::source::{DiskFs, SourceMap};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// facsimile: compile `.facs` environment definitions into manifests and file trees.
#[derive(Parser, Debug)]
#[command(name = "facs", version, about, long_about = None)]
pub struct Cli {
    /// The definition directory.
    #[arg(short = 'p', long = "project", global = true, default_value = ".")]
    pub project: PathBuf,
    /// How diagnostics are printed on stderr.
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// Print what each stage does and how long it takes (on stderr; secrets redacted).
    #[arg(short, long, global = true)]
    pub verbose: bool,
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

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and type-check everything and evaluate every instance; writes nothing.
    Check,
    /// Write manifests, state and trees for the named (default: all) instances.
    Build {
        /// Instances and overlays to build (default: every non-abstract one).
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
        name: String,
        /// Only the nodes of this target.
        #[arg(long)]
        target: Option<String>,
        /// Print every command; build, write and run nothing.
        #[arg(long)]
        dry_run: bool,
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
        #[arg(long)]
        target: Option<String>,
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
    /// Print one instance's manifest (secrets redacted).
    Manifest {
        /// The instance or overlay.
        name: String,
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
        name: String,
        /// A dotted path: `db.url`, `instance.db.url`, `module.web.password`, `project.version`.
        path: String,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Show how two instances' manifests differ (secrets redacted).
    Diff {
        /// The first instance.
        a: String,
        /// The second instance.
        b: String,
        /// `human` (default) or `json`.
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        format: MessageFormat,
        /// State directory (default: DIR/.facsimile/state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// List instances, modules, targets or nodes.
    List {
        /// What to list.
        #[arg(value_enum, default_value_t = ListWhat::Instances)]
        what: ListWhat,
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
        /// Files (or directories) to format (default: every `.facs` file of the project).
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Convert an original facsimile directory (facsimile.json, <env>.json, tmpl/) to .facs files.
    Import {
        /// The legacy definition directory (holds facsimile.json).
        legacy_dir: PathBuf,
        /// Output directory (default: LEGACY_DIR-facs next to it); must be empty or absent.
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Run the language server on stdin/stdout (Language Server Protocol).
    Lsp,
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
}

/// `facs graph --format`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
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
    let mut ui = Ui {
        format: cli.message_format,
        color: std::io::stderr().is_terminal(),
        verbose: cli.verbose,
        started: std::time::Instant::now(),
    };
    if let Err(why) = crate::limits::init_from_env() {
        ui.failure(&why);
        return 2;
    }
    match &cli.command {
        Command::Check => commands::check(&cli, &mut ui),
        Command::Build { names, out, state, checkout, devel } => {
            let options = Options::new(&cli.project, out.as_deref(), state.as_deref());
            if *checkout {
                let status = deploy::checkout(&options, *devel, &mut ui);
                if status != 0 {
                    return status;
                }
            }
            commands::build(&options, names, &mut ui)
        }
        Command::Deploy { name, target, dry_run, no_build, reveal_secrets, allow_new_secrets, out, state } => {
            let options = Options::new(&cli.project, out.as_deref(), state.as_deref());
            let args = deploy::DeployArgs {
                name,
                target: target.as_deref(),
                dry_run: *dry_run,
                no_build: *no_build,
                reveal: *reveal_secrets,
                allow_new_secrets: *allow_new_secrets,
            };
            deploy::deploy(&options, &args, &mut ui)
        }
        Command::Run { name, only, start, end, devel, target, allow_new_secrets, out, state } => {
            let range = match deploy::stage_range(*only, *start, *end) {
                Ok(range) => range,
                Err(why) => {
                    ui.failure(&why);
                    return 2;
                }
            };
            let options = Options::new(&cli.project, out.as_deref(), state.as_deref());
            let args = deploy::RunArgs {
                name,
                range,
                devel: *devel,
                target: target.as_deref(),
                allow_new_secrets: *allow_new_secrets,
            };
            deploy::run(&options, &args, &mut ui)
        }
        Command::Manifest { name, reveal_secrets, state } => {
            let options = Options::new(&cli.project, None, state.as_deref());
            commands::manifest(&options, name, *reveal_secrets, &mut ui)
        }
        Command::Explain { name, path, state } => {
            inspect::explain(&Options::new(&cli.project, None, state.as_deref()), name, path, &mut ui)
        }
        Command::Diff { a, b, format, state } => {
            let options = Options::new(&cli.project, None, state.as_deref());
            inspect::diff(&options, a, b, *format == MessageFormat::Json, &mut ui)
        }
        Command::List { what, state } => {
            let what = match what {
                ListWhat::Instances => "instances",
                ListWhat::Modules => "modules",
                ListWhat::Targets => "targets",
                ListWhat::Nodes => "nodes",
            };
            inspect::list(&Options::new(&cli.project, None, state.as_deref()), what, &mut ui)
        }
        Command::Graph { format } => {
            inspect::graph(&Options::new(&cli.project, None, None), *format == GraphFormat::Mermaid, &mut ui)
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "facs", &mut std::io::stdout());
            0
        }
        Command::Lsp => crate::lsp::run(),
        Command::Fmt { check, files } => fmt::run(&cli.project, *check, files, &mut ui),
        Command::Import { legacy_dir, out } => import::run(legacy_dir, out.as_deref()),
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
                Ok(()) => 0,
                Err(e) => {
                    ui.failure(&format!("cannot write the man page: {e}"));
                    1
                }
            }
        }
    }
}

/// Terminal output settings.
pub struct Ui {
    format: MessageFormat,
    color: bool,
    verbose: bool,
    started: std::time::Instant,
}

impl Ui {
    /// Prints diagnostics on stderr.
    pub fn diagnostics(&mut self, sources: &SourceMap, diagnostics: &[Diagnostic]) {
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
    }

    /// Prints an error that has no place in a source file.
    pub fn failure(&mut self, message: &str) {
        let message = &crate::diagnostic::visible(message);
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
    }

    /// A progress or information line for people (not printed in JSON mode).
    pub fn note(&mut self, message: &str) {
        if self.format == MessageFormat::Human {
            let _ = writeln!(std::io::stderr().lock(), "note: {}", crate::diagnostic::visible(message));
        }
    }

    /// A line for `-v`: what a stage did, with the time since the start.
    pub fn verbose(&mut self, message: &str) {
        if self.verbose && self.format == MessageFormat::Human {
            let ms = self.started.elapsed().as_secs_f64() * 1000.0;
            let _ = writeln!(std::io::stderr().lock(), "[{ms:8.1} ms] {}", crate::diagnostic::visible(message));
        }
    }

    /// A closing summary for people (not printed in JSON mode).
    pub fn summary(&mut self, sink_errors: usize, warnings: usize) {
        if self.format == MessageFormat::Human && (sink_errors > 0 || warnings > 0) {
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

/// Loads a definition directory, printing what goes wrong.
pub(crate) fn load(options: &Options, sink: &mut Sink, ui: &mut Ui) -> Option<Loaded> {
    if !options.project_dir.is_dir() {
        ui.failure(&format!("{} is not a directory", options.project_dir.display()));
        return None;
    }
    let fs = DiskFs::new(&options.project_dir, &[options.out_dir.clone(), options.state_dir.clone()]);
    match build::load(&fs, sink) {
        Ok(loaded) => Some(loaded),
        Err(e) => {
            ui.failure(&e);
            None
        }
    }
}
