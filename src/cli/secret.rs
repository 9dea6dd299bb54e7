//! `facs secret set|rotate|list` and `facs state mv|orphans|deployed`: the
//! only ways a stored value changes or an owner's state moves (spec §12).
//!
//! A value to set is read from stdin or a file, never from argv (which every
//! user of the machine can read in /proc). Every change goes through the
//! state store (lock, atomic replace, previous generation kept as
//! `state.json.bak`), is recorded in the state's `provenance` section, and
//! counts as not yet deployed, so `facs deploy` asks for
//! `--allow-new-secrets` before pushing it to remote nodes.

use super::inspect::table;
use super::{open, Ui};
use crate::build::Options;
use crate::eval::Value;
use crate::state::{State, StateDir, StateKey, PLACEHOLDER};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Where a secret command's new value comes from.
pub enum Input<'a> {
    /// `facs secret set`: stdin, or `--from-file`.
    Given(Option<&'a Path>),
    /// `facs secret rotate`: a fresh UUID v4.
    Generated,
}

/// A stored value an instance uses, and the paths that read it.
struct Stored {
    key: StateKey,
    paths: Vec<String>,
}

/// What compiling one instance tells about its stored values.
struct Uses {
    owner: String,
    /// Instances sharing the owner's state (the owner and its overlays).
    sharing: Vec<String>,
    stored: Vec<Stored>,
    /// `project.state_recipients`: a change is written encrypted to them.
    recipients: Vec<String>,
}

/// Loads the definition, compiles `name` against a copy of its owner's state
/// (generating nothing) and reports the stored values it uses.
fn uses(options: &Options, name: &str, ui: &mut Ui) -> Result<Uses, i32> {
    let mut session = open(options, ui)?;
    let selected = session.select(&[name.to_string()]);
    let recipients = session.recipients();
    if session.has_errors() {
        ui.diagnostics(&session.sources, &session.sink.into_sorted());
        return Err(1);
    }
    let resolved = session.resolved();
    let Some(&id) = selected.first() else { return Err(1) };
    let owner_id = resolved.instances[id].state_owner;
    let owner = resolved.instances[owner_id].name().to_string();
    let mut state = match StateDir::new(&options.state_dir).load(&owner) {
        Ok(state) => state,
        Err(e) => {
            ui.failure(&e.to_string());
            return Err(1);
        }
    };
    state.placeholders = true;
    state.external_placeholders = true;
    let Some(compiled) = session.compile_one(id, &mut state) else {
        ui.failure(&format!("`{name}` does not compile: run `facs check`"));
        return Err(1);
    };
    if compiled.diagnostics.iter().any(crate::diagnostic::Diagnostic::is_error) {
        ui.diagnostics(&session.sources, &compiled.diagnostics);
        return Err(1);
    }
    let sharing = resolved
        .instances
        .iter()
        .filter(|i| i.state_owner == owner_id && !i.decl.is_abstract)
        .map(|i| i.name().to_string())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut stored = Vec::new();
    for key in std::mem::take(&mut state.used) {
        if !seen.insert(key.clone()) {
            continue;
        }
        let paths = paths_of(&key, &compiled.manifest.value, &state);
        if !paths.is_empty() {
            stored.push(Stored { key, paths });
        }
    }
    Ok(Uses { owner, sharing, stored, recipients })
}

/// The manifest paths whose value is the stored one at `key`: a password
/// is shared by every module with that user name (unless a module sets its
/// own); a secret's key is its path.
fn paths_of(key: &StateKey, manifest: &Value, state: &State) -> Vec<String> {
    let value = state.stored(key).unwrap_or(PLACEHOLDER);
    let is_stored = |v: Option<&Value>| v.map(Value::unwrap_secret).and_then(Value::as_str) == Some(value);
    match key.section {
        "passwd" => match manifest.get_path(&["module"]) {
            Some(Value::Map(modules)) => modules
                .iter()
                .filter(|(_, m)| {
                    m.get_path(&["username"]).map(Value::unwrap_secret).and_then(Value::as_str)
                        == Some(key.key.as_str())
                        && is_stored(m.get_path(&["password"]))
                })
                .map(|(name, _)| format!("module.{name}.password"))
                .collect(),
            _ => Vec::new(),
        },
        _ => vec![key.key.clone()],
    }
}

/// `api_key` → `instance.api_key`; paths from the roots stay as written.
fn full_path(path: &str) -> String {
    let rooted = ["instance.", "module.", "project."].iter().any(|r| path.starts_with(r));
    if rooted {
        path.to_string()
    } else {
        format!("instance.{path}")
    }
}

/// `facs secret set NAME PATH` and `facs secret rotate NAME PATH`.
pub fn change(options: &Options, name: &str, path: &str, input: Input<'_>, ui: &mut Ui) -> i32 {
    let uses = match uses(options, name, ui) {
        Ok(u) => u,
        Err(status) => return status,
    };
    let wanted = full_path(path);
    let Some(stored) = uses.stored.iter().find(|s| s.paths.contains(&wanted)) else {
        let known: Vec<String> = uses.stored.iter().flat_map(|s| s.paths.iter().cloned()).collect();
        ui.failure(&format!(
            "`{wanted}` is not a stored secret of `{name}`: {}",
            if known.is_empty() {
                "it uses none (values set in the definition change there)".to_string()
            } else {
                format!(
                    "its stored secrets are {} (a value set in the definition changes there; see `facs secret list {name}`)",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                )
            }
        ));
        return 1;
    };
    let (value, by) = match input {
        Input::Generated => (State::fresh_value(), "facs secret rotate"),
        Input::Given(file) => match read_value(file) {
            Ok(v) => (v, "facs secret set"),
            Err(why) => {
                ui.failure(&why);
                return 1;
            }
        },
    };
    if let Err(why) = options.check_writable_dirs() {
        ui.failure(&why);
        return 1;
    }
    let dir = StateDir::new(&options.state_dir).with_recipients(uses.recipients.clone());
    let result = (|| -> Result<bool, String> {
        let lock = dir.lock(&uses.owner).map_err(|e| e.to_string())?;
        let mut state = dir.load(&uses.owner).map_err(|e| e.to_string())?;
        let existed = state.stored(&stored.key).is_some();
        state.replace(&stored.key, value, by, &now_utc());
        dir.save(&uses.owner, &state, &lock).map_err(|e| e.to_string())?;
        dir.add_undeployed(&uses.owner, 1).map_err(|e| e.to_string())?;
        Ok(existed)
    })();
    let existed = match result {
        Ok(existed) => existed,
        Err(why) => {
            ui.failure(&why);
            return 1;
        }
    };
    let verb = if by == "facs secret rotate" { "rotated" } else { "set" };
    let shared =
        if stored.paths.len() > 1 { format!(" (shared by {})", stored.paths.join(", ")) } else { String::new() };
    let mut text = format!(
        "{verb} `{wanted}`{shared} in the state of `{}` ({}); the next build uses it{}.\n",
        uses.owner,
        dir.state_path(&uses.owner).display(),
        if uses.sharing.len() > 1 { format!(" in {}", uses.sharing.join(", ")) } else { String::new() }
    );
    let bak = dir.state_path(&uses.owner).with_file_name("state.json.bak");
    if existed {
        text.push_str(&format!(
            "The previous value is kept in {}: to undo, `cp -p {} {}` before anything else writes this state.\n",
            bak.display(),
            bak.display(),
            dir.state_path(&uses.owner).display()
        ));
    }
    text.push_str(&format!(
        "Deploy it with `facs deploy {name} --allow-new-secrets`: the nodes still have the old value.\n"
    ));
    ui.out(text.as_bytes())
}

/// The value from `--from-file` or stdin: one trailing newline dropped,
/// never empty, never echoed.
fn read_value(file: Option<&Path>) -> Result<String, String> {
    let mut bytes = Vec::new();
    match file {
        Some(path) => {
            bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        }
        None => {
            let _quiet = NoEcho::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| format!("cannot read stdin: {e}"))?;
        }
    }
    let mut text = String::from_utf8(bytes).map_err(|_| "the value is not UTF-8 text".to_string())?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err("the value is empty: give it on stdin (`printf %s \"$VALUE\" | facs secret set ...`) or with \
                    `--from-file`"
            .into());
    }
    if text.contains('\0') {
        return Err("the value holds a NUL byte, which no configuration file can carry".into());
    }
    Ok(text)
}

/// Turns terminal echo off while a value is typed, and back on.
struct NoEcho(Option<rustix::termios::Termios>);

impl NoEcho {
    fn new() -> NoEcho {
        use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
        let stdin = std::io::stdin();
        if !rustix::termios::isatty(&stdin) {
            return NoEcho(None);
        }
        let Ok(saved) = tcgetattr(&stdin) else { return NoEcho(None) };
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        eprintln!("Type the value, then Enter and Ctrl-D (it is not shown):");
        let _ = tcsetattr(&stdin, OptionalActions::Now, &quiet);
        NoEcho(Some(saved))
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, saved);
        }
    }
}

/// `facs secret list NAME`: each stored value the instance uses, the paths
/// that read it and where it came from; never a value.
pub fn list(options: &Options, name: &str, ui: &mut Ui) -> i32 {
    let uses = match uses(options, name, ui) {
        Ok(u) => u,
        Err(status) => return status,
    };
    let dir = StateDir::new(&options.state_dir);
    let state = match dir.load(&uses.owner) {
        Ok(s) => s,
        Err(e) => {
            ui.failure(&e.to_string());
            return 1;
        }
    };
    let mut rows = vec![["PATH".to_string(), "STORED AS".to_string(), "ORIGIN".to_string()]];
    for s in &uses.stored {
        let origin = state.origin(&s.key);
        for path in &s.paths {
            rows.push([path.clone(), format!("{}[{}]", s.key.section, s.key.key), origin.clone()]);
        }
    }
    let mut text = table(&rows);
    let undeployed = dir.undeployed(&uses.owner);
    text.push_str(&format!("state of `{}`: {}\n", uses.owner, dir.state_path(&uses.owner).display()));
    if undeployed > 0 {
        text.push_str(&format!(
            "{undeployed} value(s) changed since the last remote deploy: `facs deploy {name} --allow-new-secrets` pushes them\n"
        ));
    }
    ui.out(text.as_bytes())
}

/// The owners of the definition's instances: name → whether it is an overlay's base only.
fn owners(options: &Options, ui: &mut Ui) -> Result<BTreeMap<String, Vec<String>>, i32> {
    let session = open(options, ui)?;
    if session.has_errors() {
        ui.diagnostics(&session.sources, &session.sink.into_sorted());
        return Err(1);
    }
    let resolved = session.resolved();
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for info in resolved.instances.iter().filter(|i| !i.decl.is_abstract) {
        let owner = resolved.instances[info.state_owner].name().to_string();
        owners.entry(owner).or_default().push(info.name().to_string());
    }
    Ok(owners)
}

/// The owner directories under the state directory (those holding state).
fn state_owners(dir: &StateDir) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.root()) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| {
            dir.owner_dir(name).join("state.json").exists() || dir.owner_dir(name).join("state.json.bak").exists()
        })
        .collect();
    out.sort();
    out
}

/// `facs state orphans`: owners with state that no instance uses (a renamed
/// or deleted instance); lists them, deletes nothing.
pub fn orphans(options: &Options, ui: &mut Ui) -> i32 {
    let owners = match owners(options, ui) {
        Ok(o) => o,
        Err(status) => return status,
    };
    let dir = StateDir::new(&options.state_dir);
    let orphaned: Vec<String> = state_owners(&dir).into_iter().filter(|o| !owners.contains_key(o)).collect();
    if orphaned.is_empty() {
        return ui.out(format!("no orphaned state in {}\n", dir.root().display()).as_bytes());
    }
    let mut rows = vec![["OWNER".to_string(), "VALUES".to_string(), "STATE".to_string()]];
    for owner in &orphaned {
        let values = match dir.load(owner) {
            Ok(state) => state.value_count().to_string(),
            Err(_) => "unreadable".to_string(),
        };
        rows.push([owner.clone(), values, dir.state_path(owner).display().to_string()]);
    }
    let mut text = table(&rows);
    text.push_str(
        "No instance of the definition uses these. If one was renamed, `facs state mv OLD NEW` gives its state to \
         the new name; otherwise keep or archive the directory (facs never deletes state).\n",
    );
    ui.out(text.as_bytes())
}

/// `facs state mv OLD NEW`: gives the state of owner OLD (a renamed
/// instance) to NEW, which must be an owner of the definition with no state.
pub fn mv(options: &Options, old: &str, new: &str, ui: &mut Ui) -> i32 {
    let owners = match owners(options, ui) {
        Ok(o) => o,
        Err(status) => return status,
    };
    let dir = StateDir::new(&options.state_dir);
    let problem = if !dir.owner_dir(old).join("state.json").exists() {
        Some(format!("there is no state of `{old}` ({} does not exist)", dir.state_path(old).display()))
    } else if owners.contains_key(old) {
        Some(format!(
            "`{old}` is still an instance of the definition: moving its state would make its next build generate new \
             passwords; rename the instance first"
        ))
    } else if !owners.contains_key(new) {
        let member = owners.iter().find(|(_, members)| members.iter().any(|m| m == new)).map(|(o, _)| o.clone());
        Some(match member {
            Some(owner) => {
                format!("`{new}` keeps its state with `{owner}` (it is an overlay); move to `{owner}` instead")
            }
            None => format!("`{new}` is not an instance of the definition"),
        })
    } else if std::fs::symlink_metadata(dir.owner_dir(new)).is_ok_and(|_| {
        std::fs::read_dir(dir.owner_dir(new)).map_or(true, |mut d| d.any(|e| e.is_ok_and(|e| e.file_name() != ".lock")))
    }) {
        Some(format!("`{new}` already has state ({}): facs will not merge or replace it", dir.owner_dir(new).display()))
    } else {
        None
    };
    if let Some(why) = problem {
        ui.failure(&why);
        return 1;
    }
    let result = dir.rename_owner(old, new);
    match result {
        Ok(()) => ui.out(
            format!(
                "moved the state of `{old}` to `{new}` ({}); `{new}` keeps every password, secret and uiid\n",
                dir.owner_dir(new).display()
            )
            .as_bytes(),
        ),
        Err(e) => {
            ui.failure(&format!("cannot move the state of `{old}`: {e}"));
            1
        }
    }
}

/// `facs state deployed NAME`: records that the nodes have the stored
/// values (deployed by other means), so `facs deploy` stops asking for
/// `--allow-new-secrets`.
pub fn deployed(options: &Options, name: &str, ui: &mut Ui) -> i32 {
    let owners = match owners(options, ui) {
        Ok(o) => o,
        Err(status) => return status,
    };
    let Some(owner) = owners.iter().find(|(_, members)| members.iter().any(|m| m == name)).map(|(o, _)| o.clone())
    else {
        ui.failure(&format!("`{name}` is not an instance of the definition"));
        return 1;
    };
    let dir = StateDir::new(&options.state_dir);
    let count = dir.undeployed(&owner);
    if let Err(e) = dir.clear_undeployed(&owner) {
        ui.failure(&e.to_string());
        return 1;
    }
    ui.out(format!("recorded the {count} undeployed value(s) of `{owner}` as deployed\n").as_bytes())
}

/// Now as `2026-12-07T05:50:00Z`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_rooted_at_the_instance_unless_written_from_a_root() {
        assert_eq!(full_path("api_key"), "instance.api_key");
        assert_eq!(full_path("module.db.password"), "module.db.password");
        assert_eq!(full_path("instance.a.b"), "instance.a.b");
    }

    #[test]
    fn the_timestamp_is_iso_8601_utc() {
        let t = now_utc();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && t.get(10..11) == Some("T"), "{t}");
    }
}
