//! `facs deploy`, `facs build --checkout` and `facs run`: the stages after
//! compiling (spec §12), like the original facsimile's checkout, build,
//! install and deploy.

use super::commands::{compile_and_write, finish, Writes};
use super::{open, Ui};
use crate::build::{self, Options};
use crate::checkout;
use crate::deploy::{self, exec, Request};
use crate::diagnostic::Sink;
use crate::state::StateDir;
use clap::ValueEnum;

/// What `facs deploy` was asked.
pub struct DeployArgs<'a> {
    /// The instance or overlay.
    pub name: &'a str,
    /// Only this target's nodes.
    pub target: Option<&'a str>,
    /// Print the commands, run nothing.
    pub dry_run: bool,
    /// Deploy the tree as last built.
    pub no_build: bool,
    /// Show secrets in printed commands.
    pub reveal: bool,
    /// Push secrets generated since the owner's last remote deploy.
    pub allow_new_secrets: bool,
}

/// `facs deploy NAME`
pub fn deploy(options: &Options, args: &DeployArgs<'_>, ui: &mut Ui) -> i32 {
    let writes = match (args.dry_run, args.no_build) {
        (true, _) => Writes::Nothing,
        (false, true) => Writes::Compare,
        (false, false) => Writes::All,
    };
    let built = match compile_and_write(options, &[args.name.to_string()], writes, true, ui) {
        Ok(built) => built,
        Err(status) => return status,
    };
    let Some(instance) = built.instances.first() else { return 1 };
    let project = instance.compiled.manifest.get_path(&["facs", "project"]).and_then(|v| v.as_str()).unwrap_or("");
    let deploy_dir = crate::layout::deploy_path(&options.out_dir, &instance.name, project);
    if args.no_build && !args.dry_run {
        if let Err(why) = super::stale::built_is_current(options, instance) {
            ui.failure(&why);
            return 1;
        }
    }
    let subdir = format!("{}/{project}/", crate::layout::tree_deploy_dir(project));
    let has_project_dir = if args.dry_run {
        instance.tree.iter().any(|p| p.starts_with(&subdir))
    } else {
        deploy_dir.join(project).is_dir()
    };
    let ssh = match ssh_command() {
        Ok(words) => words,
        Err(why) => {
            ui.failure(&why);
            return 2;
        }
    };
    let exclude = options.project_dir.join("exclude.rsync");
    let request = Request {
        manifest: &instance.compiled.manifest,
        spans: &instance.compiled.deploy_spans,
        fallback: instance.span,
        target: args.target,
        deploy_dir: deploy_dir.clone(),
        has_project_dir,
        exclude_from: exclude.is_file().then_some(exclude),
        ssh,
        project_dir: options.project_dir.clone(),
        protected: vec![options.out_dir.clone(), options.state_dir.clone()],
    };
    let plan = match deploy::plan(&request) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            let mut sink = Sink::new();
            sink.extend(diagnostics);
            return finish(ui, &built.sources, sink, &[]);
        }
    };
    let state_dir = StateDir::new(&options.state_dir);
    // A dry run writes no state: what its build would generate counts too.
    let would_generate = if args.dry_run { instance.new_secrets } else { 0 };
    let undeployed = if plan.remote { state_dir.undeployed(&instance.owner) + would_generate } else { 0 };
    if undeployed > 0 && !args.allow_new_secrets {
        let why = new_secrets_refusal(&instance.owner, undeployed, &state_dir);
        if !args.dry_run {
            ui.failure(&why);
            return 1;
        }
        ui.note(&format!("without --dry-run this deploy is refused: {why}"));
    }
    if args.dry_run {
        let mut out = String::new();
        for (node, cmds) in &plan.nodes {
            out.push_str(&format!("# {node}\n"));
            for cmd in cmds {
                out.push_str(&format!("{}\n", cmd.display(args.reveal)));
            }
        }
        return ui.out(out.as_bytes());
    }
    if !deploy_dir.is_dir() {
        ui.failure(&format!(
            "{} does not exist: build `{}` first (or deploy without --no-build)",
            deploy_dir.display(),
            instance.name
        ));
        return 1;
    }
    for (node, cmds) in &plan.nodes {
        for cmd in cmds {
            ui.verbose(&format!("{node}: {}", cmd.display(false)));
        }
    }
    let secrets = instance.compiled.manifest.secret_strings();
    let outcomes = exec::run(&plan.nodes, &secrets);
    ui.verbose(&format!("deployed to {} destinations", outcomes.len()));
    let status = report(ui, &instance.name, &outcomes);
    if status == 0 && undeployed > 0 {
        // Every node has the new values now.
        if let Err(e) = state_dir.clear_undeployed(&instance.owner) {
            ui.failure(&format!(
                "deployed, but cannot record it in {}: {e}",
                state_dir.undeployed_path(&instance.owner).display()
            ));
            return 1;
        }
    }
    status
}

/// Why a deploy of freshly generated secrets is refused, and what to do.
fn new_secrets_refusal(owner: &str, count: usize, dir: &StateDir) -> String {
    let values = if count == 1 { "1 secret value".to_string() } else { format!("{count} secret values") };
    let were = if count == 1 { "was" } else { "were" };
    format!(
        "{values} of `{owner}` {were} generated since its last deploy (see {}): pushing them would replace \
         the passwords its services run with. If this is a first deploy or a deliberate reset, run again with \
         --allow-new-secrets; if state was lost, restore {} (state.json.bak, a backup) first",
        dir.undeployed_path(owner).display(),
        dir.owner_dir(owner).display()
    )
}

/// Prints each node's output and outcome; 1 if any node failed.
fn report(ui: &mut Ui, name: &str, outcomes: &[exec::NodeOutcome]) -> i32 {
    let mut failed = 0;
    for outcome in outcomes {
        // The deploy already happened: a closed or full stdout loses
        // only the nodes' output, and the outcome lines below still say
        // what happened on stderr.
        let lines: String = outcome.stdout.lines().map(|line| format!("[{}] {line}\n", outcome.node)).collect();
        let _ = super::write_stdout(lines.as_bytes());
        match &outcome.failure {
            None => ui.note(&format!("deployed `{name}` to {}", outcome.node)),
            Some(f) => {
                failed += 1;
                let stderr = f.stderr.trim();
                let detail = if stderr.is_empty() { String::new() } else { format!(":\n{stderr}") };
                ui.failure(&format!(
                    "deploying `{name}` to {} failed: {} (`{}`) ended with {}{detail}",
                    outcome.node, f.purpose, f.program, f.status
                ));
            }
        }
    }
    if failed > 0 {
        ui.summary(failed, 0);
    }
    i32::from(failed > 0)
}

/// The ssh command: `FACS_SSH` split like a shell would (for `-F config`,
/// `-i key`, a port), else `ssh`.
fn ssh_command() -> Result<Vec<String>, String> {
    match std::env::var("FACS_SSH") {
        Ok(text) if !text.trim().is_empty() => shlex::split(&text)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| format!("FACS_SSH is not a valid command: {text}")),
        _ => Ok(vec!["ssh".to_string()]),
    }
}

/// `facs build --checkout`: the project's source at `project.version` (or
/// the default branch with `devel`).
pub fn checkout(options: &Options, devel: bool, ui: &mut Ui) -> i32 {
    let mut session = match open(options, ui) {
        Ok(session) => session,
        Err(status) => return status,
    };
    if session.has_errors() {
        return finish(ui, &session.sources, session.sink, &[]);
    }
    let resolved = session.resolved();
    let literals = build::project_literals(resolved);
    let Some(project) = resolved.project.map(|p| p.name.text.clone()) else {
        return finish(ui, &session.sources, session.sink, &[]);
    };
    // Also with --devel: the version names the checkout's directory.
    if let Some(version) = literals.version.as_deref() {
        if let Some(why) = checkout::tag_name_problem(version) {
            let span = build::project_field_span(resolved, "version").unwrap_or_else(|| {
                resolved.project.map_or(crate::source::Span::new(crate::source::FileId(0), 0, 0), |p| p.name.span)
            });
            session.sink.push(
                crate::diagnostic::Diagnostic::error(
                    crate::diagnostic::Code::E023,
                    span,
                    format!("`project.version` is not a valid git tag name: {why}"),
                )
                .with_primary_label("checked out as a tag by --checkout")
                .with_help("Use a tag name git accepts (`git check-ref-format`), such as `1.4.0` or `v1.4.0`."),
            );
            return finish(ui, &session.sources, session.sink, &[]);
        }
    }
    // Warnings are left to the build that follows.
    checkout_project(options, &project, &literals, devel, ui)
}

fn checkout_project(
    options: &Options,
    project: &str,
    literals: &build::ProjectLiterals,
    devel: bool,
    ui: &mut Ui,
) -> i32 {
    if literals.src_dir.is_some() {
        ui.note("`project.src_dir` is set, so facs.src_dir is that directory: nothing to check out");
        return 0;
    }
    let Some(repo) = &literals.repo else {
        ui.note("the project has no `repo`: nothing to check out");
        return 0;
    };
    let Some(source) = checkout::git_source(repo, &options.project_dir) else {
        ui.note(&format!("`project.repo` ({repo}) is neither a git URL nor a git repository: nothing to check out"));
        return 0;
    };
    let version = literals.version.as_deref().unwrap_or("");
    let dir = checkout::checkout_dir(&options.project_dir, project, version);
    match checkout::checkout(&source, &dir, version, devel) {
        Ok(done) => {
            ui.note(&done);
            0
        }
        Err(why) => {
            ui.failure(&format!("checkout failed: {why}"));
            1
        }
    }
}

/// The stages of `facs run`, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Stage {
    /// Clone or update the project's source (`facs build --checkout`).
    Checkout,
    /// Write the manifest and state.
    Build,
    /// Render and write the file tree.
    Install,
    /// Copy the deploy tree to the nodes.
    Deploy,
}

/// What `facs run` was asked.
pub struct RunArgs<'a> {
    /// The instance or overlay.
    pub name: &'a str,
    /// The first and last stage to run.
    pub range: (Stage, Stage),
    /// Check out the default branch instead of the version's tag.
    pub devel: bool,
    /// Deploy only this target's nodes.
    pub target: Option<&'a str>,
    /// Push secrets generated since the owner's last remote deploy.
    pub allow_new_secrets: bool,
}

/// `facs run NAME`: the stages from `range.0` to `range.1`.
pub fn run(options: &Options, args: &RunArgs<'_>, ui: &mut Ui) -> i32 {
    let (start, end) = args.range;
    let wanted = |s: Stage| start <= s && s <= end;
    let names = [args.name.to_string()];
    if wanted(Stage::Checkout) {
        ui.note(&format!("stage checkout: {}", args.name));
        let status = checkout(options, args.devel, ui);
        if status != 0 {
            return status;
        }
    }
    // Install writes manifests and state too, so build and install in one
    // range are one compilation.
    let writes = match (wanted(Stage::Build), wanted(Stage::Install)) {
        (_, true) => Some(Writes::All),
        (true, false) => Some(Writes::Manifests),
        (false, false) => None,
    };
    if let Some(writes) = writes {
        let stages = if writes == Writes::All && wanted(Stage::Build) {
            "build, install"
        } else if writes == Writes::All {
            "install"
        } else {
            "build"
        };
        ui.note(&format!("stage {stages}: {}", args.name));
        if let Err(status) = compile_and_write(options, &names, writes, false, ui) {
            return status;
        }
    }
    if wanted(Stage::Deploy) {
        ui.note(&format!("stage deploy: {}", args.name));
        let deploy_args = DeployArgs {
            name: args.name,
            target: args.target,
            dry_run: false,
            no_build: true,
            reveal: false,
            allow_new_secrets: args.allow_new_secrets,
        };
        return deploy(options, &deploy_args, ui);
    }
    0
}

/// Checks a stage range: an empty one (start after end) is a usage error.
pub fn stage_range(only: Option<Stage>, start: Option<Stage>, end: Option<Stage>) -> Result<(Stage, Stage), String> {
    if let Some(stage) = only {
        return Ok((stage, stage));
    }
    let start = start.unwrap_or(Stage::Checkout);
    let end = end.unwrap_or(Stage::Deploy);
    if start > end {
        let name = |s: Stage| s.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
        return Err(format!(
            "the stage range {}..{} is empty: stages run in the order checkout, build, install, deploy",
            name(start),
            name(end)
        ));
    }
    Ok((start, end))
}
