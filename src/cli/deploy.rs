//! `facs deploy`, `facs build --checkout` and `facs run`: the stages after
//! compiling (spec §12), like the original facsimile's checkout, build,
//! install and deploy.

use super::commands::{compile_and_write, finish, BuiltInstance, Writes};
use super::{open, Ui};
use crate::build::{self, Options};
use crate::checkout;
use crate::deploy::{self, exec, preview, Request};
use crate::diagnostic::{closest, Code, Diagnostic, Sink};
use crate::eval::Value;
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
    /// All nodes at once, or a rolling deploy.
    pub pace: exec::Pace,
}

/// `facs deploy NAME`
pub fn deploy(options: &Options, args: &DeployArgs<'_>, ui: &mut Ui) -> i32 {
    // A dry run renders in memory with the stored secrets (generating
    // none), so that rsync can say what would change.
    let writes = match (args.dry_run, args.no_build) {
        (true, _) => Writes::Compare,
        (false, true) => Writes::Compare,
        (false, false) => Writes::All,
    };
    let built = match compile_and_write(options, &[args.name.to_string()], writes, true, ui) {
        Ok(built) => built,
        Err(status) => return status,
    };
    let Some(instance) = built.instances.first() else { return 1 };
    if args.no_build {
        if let Err(why) = super::stale::built_is_current(options, instance) {
            if !args.dry_run {
                ui.failure(&why);
                return 1;
            }
            ui.note(&format!("without --dry-run this deploy is refused: {why}"));
        }
    }
    let units = match units(instance, args.target) {
        Ok(units) => units,
        Err(diagnostics) => {
            let mut sink = Sink::new();
            sink.extend(diagnostics);
            return finish(ui, &built.sources, sink, &[]);
        }
    };
    let ssh = match ssh_command() {
        Ok(words) => words,
        Err(why) => {
            ui.failure(&why);
            return 2;
        }
    };
    let exclude = options.project_dir.join("exclude.rsync");
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for unit in &units {
        let project = unit.project.as_str();
        let deploy_dir = crate::layout::deploy_path(&options.out_dir, &instance.name, project);
        let subdir = format!("{}/{project}/", crate::layout::tree_deploy_dir(project));
        let has_project_dir = if args.dry_run {
            instance.tree.iter().any(|p| p.starts_with(&subdir))
        } else {
            deploy_dir.join(project).is_dir()
        };
        let request = Request {
            manifest: &unit.manifest,
            target: args.target,
            deploy_dir: deploy_dir.clone(),
            has_project_dir,
            exclude_from: exclude.is_file().then(|| exclude.clone()),
            ssh: ssh.clone(),
            project_dir: options.project_dir.clone(),
            protected: vec![options.out_dir.clone(), options.state_dir.clone()],
        };
        match deploy::plan(&request) {
            Ok(plan) => planned.push((unit, request, plan)),
            Err(diagnostics) => errors.extend(diagnostics),
        }
    }
    if !errors.is_empty() {
        let mut sink = Sink::new();
        sink.extend(errors);
        return finish(ui, &built.sources, sink, &[]);
    }
    let state_dir = StateDir::new(&options.state_dir);
    // A dry run writes no state: what its build would generate counts too.
    let would_generate = if args.dry_run { instance.new_secrets } else { 0 };
    let remote = planned.iter().any(|(_, _, plan)| plan.remote);
    let undeployed = if remote { state_dir.undeployed(&instance.owner) + would_generate } else { 0 };
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
        let mut failures = Vec::new();
        for (unit, request, plan) in &planned {
            if let Some(label) = &unit.label {
                out.push_str(&format!("### {label}: {}\n", request.deploy_dir.display()));
            }
            let secrets = unit.manifest.value.secret_strings();
            let tree = instance.rendered.as_ref();
            let (changes, failed) = dry_run_changes(request, tree, &unit.project, &secrets);
            failures.extend(failed);
            let size = match args.pace {
                exec::Pace::All => plan.nodes.len().max(1),
                exec::Pace::Rolling(n) => n,
            };
            let batches = plan.nodes.len().div_ceil(size);
            for (i, (node, cmds)) in plan.nodes.iter().enumerate() {
                if args.pace != exec::Pace::All && i % size == 0 {
                    let members: Vec<&str> = plan.nodes.iter().skip(i).take(size).map(|(n, _)| n.as_str()).collect();
                    out.push_str(&format!("## batch {} of {batches}: {}\n", i / size + 1, members.join(", ")));
                }
                out.push_str(&format!("# {node}\n"));
                for cmd in cmds {
                    out.push_str(&format!("{}\n", cmd.display(args.reveal)));
                }
                out.push_str(&show_changes(node, changes.get(i).and_then(Option::as_ref)));
            }
        }
        let status = ui.out(out.as_bytes());
        for failure in &failures {
            ui.failure(failure);
        }
        if !failures.is_empty() {
            ui.summary(failures.len(), 0);
            return 1;
        }
        return status;
    }
    let mut status = 0;
    for (unit, request, plan) in &planned {
        if !request.deploy_dir.is_dir() {
            ui.failure(&format!(
                "{} does not exist: build `{}` first (or deploy without --no-build)",
                request.deploy_dir.display(),
                instance.name
            ));
            return 1;
        }
        if let Some(label) = &unit.label {
            ui.note(&format!("deploying {label}"));
        }
        for (node, cmds) in &plan.nodes {
            for cmd in cmds {
                ui.verbose(&format!("{node}: {}", cmd.display(false)));
            }
        }
        let secrets = unit.manifest.value.secret_strings();
        let outcomes = run_with_progress(ui, &instance.name, &plan.nodes, &secrets, args.pace);
        ui.verbose(&format!("deployed to {} destinations", outcomes.ran.len()));
        status = conclude(ui, &instance.name, &outcomes, args.pace);
        if status != 0 {
            // The next component's tree is not sent after a failure.
            return status;
        }
    }
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

/// What one deploy sends: the instance's tree, or one component's
/// (spec §4) with the targets its `component` item allows.
struct Unit<'b> {
    /// `component `shop` (project `shop`)` for a component's tree.
    label: Option<String>,
    manifest: std::borrow::Cow<'b, crate::eval::Manifest>,
    project: String,
}

/// The trees a deploy of `instance` sends. A conglomerate's instance sends
/// each component's tree to the targets its `targets` list names (E023 for
/// one its view lacks); with `--target T`, only the components that deploy
/// to T.
fn units<'b>(instance: &'b BuiltInstance, target: Option<&str>) -> Result<Vec<Unit<'b>>, Vec<Diagnostic>> {
    let project = |m: &Value| m.get_path(&["facs", "project"]).and_then(Value::as_str).unwrap_or("").to_string();
    if instance.components.is_empty() {
        let manifest = &instance.compiled.manifest;
        return Ok(vec![Unit {
            label: None,
            manifest: std::borrow::Cow::Borrowed(manifest),
            project: project(&manifest.value),
        }]);
    }
    let mut units = Vec::new();
    let mut errors = Vec::new();
    for component in &instance.components {
        let manifest = &component.compiled.manifest;
        let has_tree = matches!(
            manifest.value.get_path(&["instance", "install"]).map(Value::unwrap_secret),
            Some(Value::List(groups)) if !groups.is_empty()
        );
        if !has_tree {
            continue;
        }
        let mut manifest = manifest.clone();
        if let Some(allowed) = &component.targets {
            let known: Vec<String> = match manifest.value.get_path(&["instance", "targets"]).map(Value::unwrap_secret) {
                Some(Value::Map(m)) => m.keys().cloned().collect(),
                _ => Vec::new(),
            };
            for (name, span) in allowed {
                if !known.contains(name) {
                    let d = Diagnostic::error(
                        Code::E023,
                        *span,
                        format!(
                            "instance `{}` has no target `{name}` for component `{}`",
                            instance.name, component.name
                        ),
                    )
                    .with_primary_label("listed in the component's `targets`");
                    errors.push(match closest(name, known.iter().map(String::as_str)) {
                        Some(s) => d.with_help(format!("Did you mean `{s}`? Known targets: {}.", known.join(", "))),
                        None => d.with_help(format!(
                            "Known targets of `{}`: {}; list those the component's tree goes to.",
                            instance.name,
                            if known.is_empty() { "none".to_string() } else { known.join(", ") }
                        )),
                    });
                }
            }
            if let Some(Value::Map(targets)) = manifest.value.get_path_mut(&["instance", "targets"]) {
                targets.retain(|name, _| allowed.iter().any(|(a, _)| a == name));
            }
        }
        if let Some(wanted) = target {
            let deploys_there = matches!(
                manifest.value.get_path(&["instance", "targets"]).map(Value::unwrap_secret),
                Some(Value::Map(m)) if m.contains_key(wanted)
            );
            if !deploys_there {
                continue;
            }
        }
        units.push(Unit {
            label: Some(format!("component `{}` (project `{}`)", component.name, component.project)),
            project: component.project.clone(),
            manifest: std::borrow::Cow::Owned(manifest),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if units.is_empty() {
        let why = match target {
            Some(t) => format!("no component of `{}` deploys to target `{t}`", instance.name),
            None => format!("no component of `{}` has a deploy tree", instance.name),
        };
        return Err(vec![Diagnostic::error(Code::E023, instance.span, why)
            .with_primary_label("nothing to deploy")
            .with_help("A component's tree is deployed when its view of the instance has an `install` list; `targets` in its `component` item limits where it goes.")]);
    }
    Ok(units)
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

/// What rsync would change on each node (`None` where its dry run failed),
/// in plan order, and a message per failed node. The tree rendered in memory
/// is written to a private temporary directory for rsync to read.
fn dry_run_changes(
    request: &Request<'_>,
    tree: Option<&crate::render::FileTree>,
    project: &str,
    secrets: &[String],
) -> (Vec<Option<preview::Changes>>, Vec<String>) {
    let Some(tree) = tree else { return (Vec::new(), Vec::new()) };
    let temp = match tempfile::Builder::new().prefix("facs-dry-run-").tempdir() {
        Ok(temp) => temp,
        Err(e) => return (Vec::new(), vec![format!("cannot make a temporary directory for the dry run: {e}")]),
    };
    let source = match preview::materialise(tree, &crate::layout::tree_deploy_dir(project), temp.path()) {
        Ok(source) => source,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("cannot write the tree for the dry run in {}: {e}", temp.path().display())],
            )
        }
    };
    let request = Request { deploy_dir: source, ..request.clone() };
    let Ok(plan) = deploy::plan(&request) else { return (Vec::new(), Vec::new()) };
    let nodes: Vec<(String, Vec<crate::process::Cmd>)> =
        plan.nodes.iter().map(|(node, cmds)| (node.clone(), deploy::preview(cmds))).collect();
    let outcomes = exec::run(&nodes, secrets, exec::Pace::All, &mut |_| {});
    let mut failures = Vec::new();
    let changes = outcomes
        .ran
        .iter()
        .map(|outcome| match &outcome.failure {
            None => {
                let second = outcome.outputs.get(1).map(String::as_str);
                Some(preview::changes(outcome.outputs.first().map_or("", String::as_str), second, project))
            }
            Some(f) => {
                failures.push(format!(
                    "cannot tell what would change on {}: its dry run ({} `{}`) ended with {}{}",
                    outcome.node,
                    f.purpose,
                    f.program,
                    f.status,
                    detail(&f.stderr)
                ));
                None
            }
        })
        .collect();
    (changes, failures)
}

/// A node's changes as shell comments (the output stays a script).
fn show_changes(node: &str, changes: Option<&preview::Changes>) -> String {
    let Some(changes) = changes else {
        return format!("# {node}: rsync --dry-run failed (see the error below): changes unknown\n");
    };
    let mut out = if changes.lines.is_empty() {
        format!("# {node}: rsync would change no file\n")
    } else {
        format!("# {node}: rsync would change:\n")
    };
    for line in &changes.lines {
        out.push_str(&format!("#   {line}\n"));
    }
    if changes.times_only > 0 {
        let what = if changes.times_only == 1 { "1 file or directory" } else { "files and directories" };
        let n = if changes.times_only == 1 { String::new() } else { format!("{} ", changes.times_only) };
        out.push_str(&format!("#   ({n}{what} with unchanged content would get a new modification time)\n"));
    }
    out
}

fn detail(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(":\n{stderr}")
    }
}

/// Runs the deploy, telling as each node finishes: a progress bar on a
/// terminal (not with `--message-format json`), else a line per node.
fn run_with_progress(
    ui: &mut Ui,
    name: &str,
    nodes: &[(String, Vec<crate::process::Cmd>)],
    secrets: &[String],
    pace: exec::Pace,
) -> exec::Outcomes {
    // The same rule as a build's spinner (`Ui::shows_progress`): people at
    // a terminal, not `-q`, not JSON.
    let bar = (ui.shows_progress() && nodes.len() > 1).then(|| {
        let bar =
            indicatif::ProgressBar::with_draw_target(Some(nodes.len() as u64), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} deploying `{prefix}` [{bar:30}] {pos}/{len} nodes {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let mut done = |outcome: &exec::NodeOutcome| match &bar {
        Some(bar) => {
            bar.suspend(|| announce(ui, name, outcome));
            bar.set_message(outcome.node.clone());
            bar.inc(1);
        }
        None => announce(ui, name, outcome),
    };
    let outcomes = exec::run(nodes, secrets, pace, &mut done);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcomes
}

/// Prints one node's output and outcome, as it finishes.
fn announce(ui: &mut Ui, name: &str, outcome: &exec::NodeOutcome) {
    // The deploy already happened: a closed or full stdout loses only the
    // nodes' output, and the outcome lines still say what happened on stderr.
    let lines: String = outcome.stdout.lines().map(|line| format!("[{}] {line}\n", outcome.node)).collect();
    let _ = super::write_stdout(lines.as_bytes());
    match &outcome.failure {
        None => ui.note(&format!("deployed `{name}` to {}", outcome.node)),
        Some(f) => ui.failure(&format!(
            "deploying `{name}` to {} failed: {} (`{}`) ended with {}{}",
            outcome.node,
            f.purpose,
            f.program,
            f.status,
            detail(&f.stderr)
        )),
    }
}

/// Says which nodes were deployed, failed and skipped; 1 if any failed.
fn conclude(ui: &mut Ui, name: &str, outcomes: &exec::Outcomes, pace: exec::Pace) -> i32 {
    let list = |pick: &dyn Fn(&exec::NodeOutcome) -> bool| -> Vec<&str> {
        outcomes.ran.iter().filter(|o| pick(o)).map(|o| o.node.as_str()).collect()
    };
    let deployed = list(&|o| o.failure.is_none());
    let failed = list(&|o| o.failure.is_some());
    let none = |names: &[&str]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
    if !outcomes.skipped.is_empty() {
        let skipped: Vec<&str> = outcomes.skipped.iter().map(String::as_str).collect();
        let (ran, total) = outcomes.batches;
        ui.failure(&format!(
            "deploying `{name}` stopped after batch {ran} of {total}, which failed: deployed to {}; failed on {}; \
             skipped (not touched) {}",
            none(&deployed),
            none(&failed),
            none(&skipped)
        ));
    } else if failed.is_empty() && matches!(pace, exec::Pace::Rolling(_)) && outcomes.batches.0 > 1 {
        ui.note(&format!("deployed `{name}` to {} nodes in {} batches", deployed.len(), outcomes.batches.0));
    }
    if !failed.is_empty() {
        ui.summary(failed.len() + usize::from(!outcomes.skipped.is_empty()), 0);
    }
    i32::from(!failed.is_empty())
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
    /// All nodes at once, or a rolling deploy.
    pub pace: exec::Pace,
    /// Print what each stage would do and the deploy's commands; write and
    /// run nothing.
    pub dry_run: bool,
}

/// `facs run NAME`: the stages from `range.0` to `range.1`.
pub fn run(options: &Options, args: &RunArgs<'_>, ui: &mut Ui) -> i32 {
    let (start, end) = args.range;
    let wanted = |s: Stage| start <= s && s <= end;
    let names = [args.name.to_string()];
    let dry = if args.dry_run { " (dry run: nothing is written)" } else { "" };
    if wanted(Stage::Checkout) {
        ui.note(&format!("stage checkout: {}{dry}", args.name));
        let status =
            if args.dry_run { checkout_dry_run(options, args.devel, ui) } else { checkout(options, args.devel, ui) };
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
        ui.note(&format!("stage {stages}: {}{dry}", args.name));
        if args.dry_run {
            let status = build_dry_run(options, &names, writes, stages, ui);
            if status != 0 {
                return status;
            }
        } else if let Err(status) = compile_and_write(options, &names, writes, false, ui) {
            return status;
        }
    }
    if wanted(Stage::Deploy) {
        ui.note(&format!("stage deploy: {}{dry}", args.name));
        if args.dry_run {
            let _ = super::write_stdout(b"# stage deploy\n");
        }
        let deploy_args = DeployArgs {
            name: args.name,
            target: args.target,
            dry_run: args.dry_run,
            // A dry run of the build stages wrote nothing: its deploy shows
            // the tree they would write.
            no_build: !(args.dry_run && writes.is_some()),
            reveal: false,
            allow_new_secrets: args.allow_new_secrets,
            pace: args.pace,
        };
        return deploy(options, &deploy_args, ui);
    }
    0
}

/// The checkout stage of `run --dry-run`: what `checkout` would do, on stdout.
fn checkout_dry_run(options: &Options, devel: bool, ui: &mut Ui) -> i32 {
    let session = match open(options, ui) {
        Ok(session) => session,
        Err(status) => return status,
    };
    if session.has_errors() {
        return finish(ui, &session.sources, session.sink, &[]);
    }
    let resolved = session.resolved();
    let literals = build::project_literals(resolved);
    let project = resolved.project.map(|p| p.name.text.clone()).unwrap_or_default();
    let line = if literals.src_dir.is_some() {
        "`project.src_dir` is set: nothing to check out".to_string()
    } else if let Some(repo) = &literals.repo {
        match checkout::git_source(repo, &options.project_dir) {
            None => "`project.repo` is neither a git URL nor a git repository: nothing to check out".to_string(),
            Some(source) => {
                let version = literals.version.as_deref().unwrap_or("");
                let dir = checkout::checkout_dir(&options.project_dir, &project, version);
                let what = if devel { "the default branch".to_string() } else { format!("the tag `{version}`") };
                let how = if dir.is_dir() { "update the checkout" } else { "clone into" };
                format!("would {how} {} at {what} of {}", dir.display(), source.shown)
            }
        }
    } else {
        "the project has no `repo`: nothing to check out".to_string()
    };
    ui.out(format!("# stage checkout\n# {line}\n").as_bytes())
}

/// The build and install stages of `run --dry-run`: compiled and rendered in
/// memory (errors are reported as a build would), and what would be written
/// said on stdout.
fn build_dry_run(options: &Options, names: &[String], writes: Writes, stages: &str, ui: &mut Ui) -> i32 {
    let built = match compile_and_write(options, names, Writes::Nothing, false, ui) {
        Ok(built) => built,
        Err(status) => return status,
    };
    let mut out = format!("# stage {stages}\n");
    for instance in &built.instances {
        let manifest = crate::layout::manifest_path(&options.out_dir, &instance.name);
        out.push_str(&format!("# would write {}\n", manifest.display()));
        out.push_str(&format!(
            "# would save the state of `{}` in {}\n",
            instance.owner,
            StateDir::new(&options.state_dir).owner_dir(&instance.owner).display()
        ));
        if writes == Writes::All {
            let dir = options.out_dir.join(&instance.name);
            let n = instance.tree.len();
            let files = if n == 1 { "1 file".to_string() } else { format!("{n} files") };
            out.push_str(&format!("# would write the tree {}/ ({files})\n", dir.display()));
        }
    }
    ui.out(out.as_bytes())
}

/// The pace of `--serial` / `--batch N` (neither: every node, as before).
pub fn pace(serial: bool, batch: Option<u64>) -> exec::Pace {
    match (serial, batch) {
        (true, _) => exec::Pace::Rolling(1),
        (false, Some(n)) => exec::Pace::Rolling(usize::try_from(n).unwrap_or(usize::MAX).max(1)),
        (false, None) => exec::Pace::All,
    }
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
