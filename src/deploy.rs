//! Stage 7, deploy: one built instance → the commands that copy its deploy
//! tree to its nodes (spec §12 `facs deploy`), and running them.
//!
//! Input: the instance's manifest (secrets marked) and the spans of the
//! fields deploy reads. Output: a [`Plan`], one list of [`Cmd`]s per
//! destination: `rsync -aLp` of `_DEPLOY_/` into `home`, a second
//! `rsync --delete` of the project's own directory when the tree has one, then
//! each `deploy.postcmd` run by `sh` in `home`, then the `postcmd` of each
//! target the node belongs to (in target order). Remote destinations are
//! reached over ssh (`FACS_SSH` replaces the `ssh` command, for a config file
//! or key); an instance without targets deploys into a local directory.
//!
//! Invariants: planning runs nothing, so `--dry-run` prints exactly what a
//! deploy runs; every host and user name is checked before it reaches an
//! argv (a leading `-` would be read as an option), and `--` ends the
//! options of rsync and ssh anyway; a postcmd reaches the shell on stdin,
//! never in an argv, since it may hold a secret.

pub mod exec;
pub mod home;
pub mod preview;

use crate::diagnostic::{closest, Code, Diagnostic};
use crate::eval::{Manifest, Spans, Value};
use crate::process::{self as command, quote, Cmd, Word};
use crate::render::paths::resolve;
use crate::source::Span;
use home::{Dest, Refusal};
use std::path::{Path, PathBuf};

/// Everything a plan depends on besides the manifest.
#[derive(Clone)]
pub struct Request<'a> {
    /// The instance's manifest, and where `home`, `deploy.*` and `targets.*` were written.
    pub manifest: &'a Manifest,
    /// Only the nodes of this target.
    pub target: Option<&'a str>,
    /// `<out>/<instance>/<project>/_DEPLOY_` (absolute).
    pub deploy_dir: PathBuf,
    /// Whether the deploy tree holds a directory named like the project.
    pub has_project_dir: bool,
    /// The definition directory's `exclude.rsync`, when it has one.
    pub exclude_from: Option<PathBuf>,
    /// The ssh command's words (`ssh`, or `FACS_SSH` split like a shell would).
    pub ssh: Vec<String>,
    /// The definition directory: relative local destinations start there.
    pub project_dir: PathBuf,
    /// Directories a local deploy must neither hold nor fall inside of (the
    /// output and state directories; the definition directory may hold the
    /// destination but not be inside it).
    pub protected: Vec<PathBuf>,
}

/// The commands of a deploy, one list per destination, in target order.
#[derive(Debug)]
pub struct Plan {
    /// `(destination label, commands)`: the label is `user@node`, `node`
    /// (either followed by ` (port N)` when the target sets `port`), or
    /// `local`.
    pub nodes: Vec<(String, Vec<Cmd>)>,
    /// True when the commands reach other machines over ssh.
    pub remote: bool,
}

/// Options every ssh connection gets: never prompt (a prompt nobody answers
/// would hang the deploy), and give up on an unreachable node.
const SSH_OPTIONS: [&str; 4] = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=20"];

/// Checks the host and login names of an instance's targets and deploy block.
/// Run on every build, so a bad name is caught before anyone deploys.
pub fn check(manifest: &Manifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let span = |path: &str| manifest.spans.span(path);
    let (manifest, spans) = (&manifest.value, &manifest.spans);
    // Plain host and login names and ports are checked with the schema
    // (types::constraints, `CheckKind::Host`...).
    let targets = manifest.get_path(&["instance", "targets"]).map(Value::unwrap_secret);
    // These end up in rsync's and ssh's argv, which every user of the machine
    // can read (/proc/*/cmdline): none may come from a secret.
    let mut secret_paths = Vec::new();
    if let Some(Value::Map(targets)) = targets {
        for (name, target) in targets {
            if target.get_path(&["nodes"]).is_some_and(Value::contains_secret) {
                secret_paths.push(format!("targets.{name}.nodes"));
            }
            if target.get_path(&["user"]).is_some_and(Value::contains_secret) {
                secret_paths.push(format!("targets.{name}.user"));
            }
            if target.get_path(&["port"]).is_some_and(Value::contains_secret) {
                secret_paths.push(format!("targets.{name}.port"));
            }
        }
    }
    for path in ["home", "deploy.user", "deploy.destdir"] {
        let segments: Vec<&str> = std::iter::once("instance").chain(path.split('.')).collect();
        if manifest.get_path(&segments).is_some_and(Value::contains_secret) {
            secret_paths.push(path.to_string());
        }
    }
    for path in secret_paths {
        out.push(
            Diagnostic::error(Code::E023, span(&path), format!("`{path}` is computed from a secret"))
                .with_primary_label("this value uses a secret")
                .with_help(
                    "Hosts, users and directories are passed to rsync and ssh on their command lines, which \
                     other users can read: use plain values here (a postcmd may use secrets: it is sent on stdin).",
                ),
        );
    }
    out.extend(destination_check(manifest, spans));
    out
}

/// The destination a deploy would use, refused on every build when it
/// normalises to `/`, a home directory itself, a path above it or a system
/// directory: the value is known now, and finding out at deploy time is late.
/// An instance with nothing to install never deploys, so its `home` is
/// only data.
fn destination_check(manifest: &Value, spans: &Spans) -> Option<Diagnostic> {
    if !has_install(manifest) {
        return None;
    }
    let remote = matches!(
        manifest.get_path(&["instance", "targets"]).map(Value::unwrap_secret),
        Some(Value::Map(targets)) if !targets.is_empty()
    );
    let instance = manifest.get_path(&["instance"])?;
    let key = match instance.get_path(&["deploy", "destdir"]) {
        Some(_) if !remote => "deploy.destdir",
        _ => "home",
    };
    let value = instance.get_path(&key.split('.').collect::<Vec<_>>())?;
    // A secret one is refused above without being quoted; an empty one is
    // E009 at deploy time.
    let text = Some(value).filter(|v| !v.contains_secret()).and_then(Value::interpolated)?;
    if text.is_empty() {
        return None;
    }
    let refusal = home::normalise(&text, remote).err()?;
    Some(refused(spans.span(key), &text, &refusal, remote))
}

fn has_install(manifest: &Value) -> bool {
    matches!(
        manifest.get_path(&["instance", "install"]).map(Value::unwrap_secret),
        Some(Value::List(groups)) if !groups.is_empty()
    )
}

/// E023 for a destination facs will not deploy into.
fn refused(span: Span, shown: &str, refusal: &Refusal, remote: bool) -> Diagnostic {
    let why = refusal.why(remote);
    Diagnostic::error(Code::E023, span, format!("refusing to deploy into `{}`: {why}", shown.escape_debug()))
        .with_primary_label(refusal.label())
        .with_help(refusal.help(remote))
}

/// A target's ssh `port`: `Ok(None)` when unset, `Err(n)` outside 1..=65535.
fn target_port(target: &Value) -> Result<Option<u16>, i64> {
    match target.get_path(&["port"]).map(Value::unwrap_secret) {
        Some(Value::Int(port)) => u16::try_from(*port).ok().filter(|p| *p != 0).map(Some).ok_or(*port),
        _ => Ok(None),
    }
}

/// Plans a deploy. Errors are diagnostics (a missing `home`, an unknown
/// target, a destination facs must not write to).
pub fn plan(req: &Request<'_>) -> Result<Plan, Vec<Diagnostic>> {
    let span = |path: &str| req.manifest.spans.span(path);
    let manifest = &req.manifest.value;
    let targets: Vec<(&String, &Value)> = match manifest.get_path(&["instance", "targets"]).map(Value::unwrap_secret) {
        Some(Value::Map(m)) => m.iter().collect(),
        _ => Vec::new(),
    };
    if let Some(wanted) = req.target {
        if !targets.iter().any(|(name, _)| name.as_str() == wanted) {
            let names: Vec<&str> = targets.iter().map(|(n, _)| n.as_str()).collect();
            let instance = manifest.get_path(&["facs", "instance"]).and_then(Value::as_str).unwrap_or("");
            let d = Diagnostic::global(Code::E023, format!("instance `{instance}` has no target `{wanted}`"));
            let help = match (closest(wanted, names.iter().copied()), names.is_empty()) {
                (_, true) => "It has no targets: it deploys locally; drop `--target`.".to_string(),
                (Some(s), false) => format!("Did you mean `{s}`? Known targets: {}.", names.join(", ")),
                (None, false) => format!("Known targets: {}.", names.join(", ")),
            };
            return Err(vec![d.with_help(help)]);
        }
    }
    if !has_install(manifest) {
        let d = Diagnostic::error(
            Code::E023,
            req.manifest.spans.instance(),
            "this instance has no deploy tree: its `install` is empty",
        )
        .with_primary_label("nothing to deploy")
        .with_help("Add an install group, such as `install: [{ type: \"tmpl\", dir: \"tmpl\" }]`.");
        return Err(vec![d]);
    }
    let postcmds = postcmd_words(manifest.get_path(&["instance", "deploy", "postcmd"]));
    let mut errors = Vec::new();
    let plan = if targets.is_empty() {
        local_plan(req, &postcmds, &mut errors)
    } else {
        let destinations = destinations(manifest, &targets, req.target);
        if destinations.is_empty() {
            errors.push(
                Diagnostic::error(Code::E023, span("targets"), "no target of this instance lists a node")
                    .with_primary_label("no nodes here")
                    .with_help("Add host names to a target's `nodes`, or remove `targets` to deploy locally."),
            );
        }
        remote_plan(req, &destinations, &postcmds, &mut errors)
    };
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// The words of a `postcmd` list, each secret when it or the list is.
fn postcmd_words(list: Option<&Value>) -> Vec<Word> {
    let Some(list) = list else { return Vec::new() };
    match list.unwrap_secret() {
        Value::List(items) => items
            .iter()
            .filter_map(|v| Some(Word { text: v.interpolated()?, secret: list.is_secret() || v.is_secret() }))
            .collect(),
        _ => Vec::new(),
    }
}

/// One place a deploy goes: an ssh login and the port its sshd listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Destination {
    /// `user@node`, or `node` when ssh picks the user.
    login: String,
    /// The target's `port`; `None` leaves it to ssh (22, or `~/.ssh/config`).
    port: Option<u16>,
    /// The postcmds of the selected targets that list this login and port,
    /// target by target in declaration order: `(target, its postcmds)`.
    target_postcmds: Vec<(String, Vec<Word>)>,
}

impl Destination {
    /// How messages and `--dry-run` name it: the login, and the port when set.
    fn label(&self) -> String {
        match self.port {
            Some(port) => format!("{} (port {port})", self.login),
            None => self.login.clone(),
        }
    }
}

/// Every distinct login and port of the selected targets, in target order.
fn destinations(manifest: &Value, targets: &[(&String, &Value)], only: Option<&str>) -> Vec<Destination> {
    let default_user = manifest.get_path(&["instance", "deploy", "user"]).and_then(Value::as_str);
    let mut out: Vec<Destination> = Vec::new();
    for (name, target) in targets {
        if only.is_some_and(|t| t != name.as_str()) {
            continue;
        }
        // The target's own user is the more specific setting.
        let user = target.get_path(&["user"]).and_then(Value::as_str).or(default_user);
        // `check` has refused a port outside 1..=65535 on every build.
        let port = target_port(target).ok().flatten();
        let nodes = match target.get_path(&["nodes"]).map(Value::unwrap_secret) {
            Some(Value::List(nodes)) => nodes.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let postcmds = postcmd_words(target.get_path(&["postcmd"]));
        for node in nodes {
            let login = match user {
                Some(u) => format!("{u}@{node}"),
                None => node.to_string(),
            };
            let index = match out.iter().position(|d| d.login == login && d.port == port) {
                Some(i) => i,
                None => {
                    out.push(Destination { login, port, target_postcmds: Vec::new() });
                    out.len() - 1
                }
            };
            // A node listed twice in one target runs that target's postcmds once.
            if let Some(own) = out.get_mut(index).map(|d| &mut d.target_postcmds) {
                if !postcmds.is_empty() && !own.iter().any(|(t, _)| t == name.as_str()) {
                    own.push((name.to_string(), postcmds.clone()));
                }
            }
        }
    }
    out
}

fn home_word(req: &Request<'_>, key: &str) -> Option<Word> {
    let value =
        req.manifest.value.get_path(&["instance"]).and_then(|i| i.get_path(&key.split('.').collect::<Vec<_>>()))?;
    Some(Word { text: value.interpolated()?, secret: value.is_secret() })
}

fn rsync_base(req: &Request<'_>, delete: bool, remote: bool) -> Vec<Word> {
    let mut words = vec![Word::plain("rsync"), Word::plain("-aLp")];
    if remote {
        // The remote path travels in rsync's protocol, not in the remote
        // shell's command line: no shell on the node splits or expands it.
        words.push(Word::plain("--secluded-args"));
    }
    if delete {
        words.push(Word::plain("--delete"));
    }
    if let Some(file) = &req.exclude_from {
        words.push(Word::plain(format!("--exclude-from={}", file.display())));
    }
    words
}

/// The ssh command for one destination: `FACS_SSH` (or `ssh`), the fixed
/// options, then `-p PORT` when the target sets a port.
fn ssh_words(req: &Request<'_>, port: Option<u16>) -> Vec<String> {
    let mut words = req.ssh.clone();
    words.extend(SSH_OPTIONS.iter().map(|s| s.to_string()));
    if let Some(port) = port {
        words.extend(["-p".to_string(), port.to_string()]);
    }
    words
}

fn with_slash(dir: &str) -> String {
    format!("{}/", dir.trim_end_matches('/'))
}

fn remote_plan(
    req: &Request<'_>,
    destinations: &[Destination],
    postcmds: &[Word],
    errors: &mut Vec<Diagnostic>,
) -> Plan {
    let Some(home) = home_word(req, "home").filter(|h| !h.text.is_empty()) else {
        if !destinations.is_empty() {
            errors.push(
                Diagnostic::error(Code::E009, req.manifest.spans.instance(), "`home` is required to deploy to nodes")
                    .with_primary_label("this instance has targets but no `home`")
                    .with_help("Set `home: \"/srv/<name>\"`: the directory on each node the tree is copied into."),
            );
        }
        return Plan { nodes: Vec::new(), remote: true };
    };
    // rsync with `--secluded-args` takes `~` literally while a shell would
    // expand it: both get the normalised path, relative to the login's home.
    let home = match home::normalise(&home.text, true) {
        Ok(Dest::Absolute(path) | Dest::InHome(path) | Dest::InProject(path)) => Word { text: path, ..home },
        Err(refusal) => {
            let span = req.manifest.spans.span("home");
            errors.push(refused(span, if home.secret { "home" } else { &home.text }, &refusal, true));
            return Plan { nodes: Vec::new(), remote: true };
        }
    };
    let source = with_slash(&req.deploy_dir.to_string_lossy());
    let project = project_name(req);
    let mut nodes = Vec::new();
    for destination in destinations {
        let login = &destination.login;
        let ssh = ssh_words(req, destination.port);
        let rsh = command::join(&ssh);
        let mut cmds = Vec::new();
        let remote = |path: &str| Word { text: format!("{login}:{}", with_slash(path)), secret: home.secret };
        let mut first = rsync_base(req, false, true);
        first.extend([Word::plain("-e"), Word::plain(&rsh), Word::plain("--"), Word::plain(&source)]);
        first.push(remote(&home.text));
        cmds.push(Cmd::new(RSYNC, first));
        if req.has_project_dir {
            let mut second = rsync_base(req, true, true);
            second.extend([Word::plain("-e"), Word::plain(&rsh), Word::plain("--")]);
            second.push(Word::plain(format!("{source}{project}/")));
            second.push(remote(&format!("{}/{project}", home.text.trim_end_matches('/'))));
            cmds.push(Cmd::new(RSYNC_DELETE, second));
        }
        let own = postcmds.iter().enumerate().map(|(i, post)| (format!("postcmd {}", i + 1), post));
        let of_targets = destination.target_postcmds.iter().flat_map(|(target, posts)| {
            posts.iter().enumerate().map(move |(i, post)| (format!("postcmd {} of target {target}", i + 1), post))
        });
        for (purpose, post) in own.chain(of_targets) {
            let mut argv: Vec<Word> = ssh.iter().map(Word::plain).collect();
            argv.extend([Word::plain("--"), Word::plain(login), Word::plain("sh"), Word::plain("-s")]);
            let mut cmd = Cmd::new(purpose, argv);
            cmd.stdin = script(&home, post);
            cmds.push(cmd);
        }
        nodes.push((destination.label(), cmds));
    }
    Plan { nodes, remote: true }
}

/// The shell script of one postcmd: change into the destination, run it.
fn script(dir: &Word, post: &Word) -> Vec<Word> {
    vec![Word { text: format!("cd -- {} || exit 1", quote(&dir.text)), secret: dir.secret }, post.clone()]
}

fn project_name(req: &Request<'_>) -> String {
    req.manifest.value.get_path(&["facs", "project"]).and_then(Value::as_str).unwrap_or("").to_string()
}

fn local_plan(req: &Request<'_>, postcmds: &[Word], errors: &mut Vec<Diagnostic>) -> Plan {
    let (key, word) = match home_word(req, "deploy.destdir") {
        Some(w) => ("deploy.destdir", Some(w)),
        None => ("home", home_word(req, "home")),
    };
    let span = req.manifest.spans.span(key);
    let Some(word) = word.filter(|w| !w.text.is_empty()) else {
        errors.push(
            Diagnostic::error(
                Code::E009,
                req.manifest.spans.instance(),
                "`home` or `deploy.destdir` is required to deploy locally",
            )
            .with_primary_label("this instance has no targets and no destination")
            .with_help("Set `home` (or `deploy { destdir: \"...\" }`) to the directory to deploy into."),
        );
        return Plan { nodes: Vec::new(), remote: false };
    };
    let shown = if word.secret { key } else { word.text.as_str() };
    let checked = local_path(&word.text, &req.project_dir)
        .map_err(|refusal| refused(span, shown, &refusal, false))
        .and_then(|dest| check_local(&dest, req, span).map(|()| dest));
    let dest = match checked {
        Ok(dest) => dest,
        Err(d) => {
            errors.push(d);
            return Plan { nodes: Vec::new(), remote: false };
        }
    };
    let dest_text = dest.to_string_lossy().into_owned();
    let dest_word = Word { text: dest_text.clone(), secret: word.secret };
    let source = with_slash(&req.deploy_dir.to_string_lossy());
    let project = project_name(req);
    let mut cmds =
        vec![Cmd::new("mkdir", [Word::plain("mkdir"), Word::plain("-p"), Word::plain("--"), dest_word.clone()])];
    let mut first = rsync_base(req, false, false);
    first.extend([Word::plain("--"), Word::plain(&source), Word { text: with_slash(&dest_text), secret: word.secret }]);
    cmds.push(Cmd::new(RSYNC, first));
    if req.has_project_dir {
        let mut second = rsync_base(req, true, false);
        second.extend([
            Word::plain("--"),
            Word::plain(format!("{source}{project}/")),
            Word { text: format!("{}{project}/", with_slash(&dest_text)), secret: word.secret },
        ]);
        cmds.push(Cmd::new(RSYNC_DELETE, second));
    }
    for (i, post) in postcmds.iter().enumerate() {
        let mut cmd = Cmd::new(format!("postcmd {}", i + 1), [Word::plain("sh"), Word::plain("-s")]);
        cmd.stdin = script(&dest_word, post);
        cmds.push(cmd);
    }
    Plan { nodes: vec![("local".to_string(), cmds)], remote: false }
}

/// A local destination as an absolute path, symlinks of its existing part
/// resolved: `~/` is the user's home directory, a relative path starts at
/// the definition directory.
fn local_path(text: &str, project_dir: &Path) -> Result<PathBuf, Refusal> {
    let raw = match home::normalise(text, false)? {
        Dest::Absolute(path) => PathBuf::from(path),
        Dest::InProject(path) => project_dir.join(path),
        Dest::InHome(path) => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home).join(path),
            // Without a home, `~` names nothing.
            None => return Err(Refusal::NotExpanded("~".into())),
        },
    };
    Ok(resolve(&raw))
}

fn check_local(dest: &Path, req: &Request<'_>, span: Span) -> Result<(), Diagnostic> {
    // Again after symlinks are resolved: `/tmp/link` may be `/etc`.
    if let Some(refusal) = home::system_dir(&dest.to_string_lossy()) {
        return Err(refused(span, &dest.to_string_lossy(), &refusal, false));
    }
    // The user's home, spelled out (`/home/me`, or `$HOME` as a path), or a
    // directory holding it.
    if let Some(user_home) = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| resolve(Path::new(&h))) {
        if user_home == dest {
            return Err(refused(span, &dest.to_string_lossy(), &Refusal::Home, false));
        }
        if user_home.starts_with(dest) {
            let why = format!("it holds your home directory {}", user_home.display());
            return Err(Diagnostic::error(
                Code::E023,
                span,
                format!("refusing to deploy into {}: {why}", dest.display()),
            )
            .with_primary_label("this destination")
            .with_help(Refusal::Home.help(false)));
        }
    }
    let mut clash = None;
    if resolve(&req.project_dir).starts_with(dest) {
        clash = Some(format!("it holds the definition directory {}", req.project_dir.display()));
    }
    for dir in req.protected.iter().map(|d| resolve(d)) {
        if clash.is_none() && dir.starts_with(dest) {
            clash = Some(format!("it holds {}", dir.display()));
        } else if clash.is_none() && dest.starts_with(&dir) {
            clash = Some(format!("it is inside {}", dir.display()));
        }
    }
    match clash {
        None => Ok(()),
        Some(why) => {
            Err(Diagnostic::error(Code::E023, span, format!("refusing to deploy into {}: {why}", dest.display()))
                .with_primary_label("this destination")
                .with_help("A local deploy must not overwrite facs's own directories: choose a directory of its own."))
        }
    }
}

/// What `rsync` would change, for `--dry-run`: a node's rsync commands
/// (nothing else: no mkdir, no postcmd) with `--dry-run --itemize-changes`,
/// and `--checksum` so that a file whose content is unchanged shows as a
/// change of its modification time only (every build writes the tree anew).
/// The purposes stay `rsync` and `rsync --delete`.
pub fn preview(cmds: &[Cmd]) -> Vec<Cmd> {
    cmds.iter()
        .filter(|c| c.purpose == RSYNC || c.purpose == RSYNC_DELETE)
        .map(|c| {
            let mut c = c.clone();
            let flags = ["--dry-run", "--itemize-changes", "--checksum"].map(Word::plain);
            c.argv.splice(1..1, flags);
            c
        })
        .collect()
}

/// The purpose of the first rsync of a destination.
pub const RSYNC: &str = "rsync";
/// The purpose of the second one, of the project's own directory.
pub const RSYNC_DELETE: &str = "rsync --delete";

#[cfg(test)]
mod tests;
