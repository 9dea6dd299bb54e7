//! Stage 5, state: the generated passwords, secrets and service uiids that
//! make every build of an instance reproduce the same values (spec §9).
//!
//! Input: `<state>/<owner>/state.json` in the original facsimile's format.
//! Output: the same document with only new entries added. Invariants: a value
//! once written is never changed or dropped (unknown keys are kept as read);
//! the file is replaced atomically (temp file, sync, rename, sync) with mode
//! 0600 under an exclusive lock on `<owner>/.lock`; the previous generation is
//! kept as `state.json.bak`; a writer killed at any point leaves the old or the
//! new generation live; a file that cannot be read as state is refused with
//! recovery steps, never treated as empty (that would silently rotate every
//! password).

mod commit;
pub mod crypt;
mod document;
mod store;

pub use commit::{CommitError, Pending, Redone};
pub use document::{Document, Entry};
pub use store::{Backup, LoadError, LockFile, Staged, StateDir, StateLock, MAX_STATE_BYTES};

use serde_json::{Map, Value as Json};

/// The state of one owner, in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    doc: Document,
    /// True when a value was generated or allocated since loading.
    pub changed: bool,
    /// `facs check`: generate placeholders, never real secrets.
    pub placeholders: bool,
    /// `facs secret set`: a missing external secret reads as a placeholder
    /// (so the command can find where it goes) instead of failing.
    pub external_placeholders: bool,
    /// How many passwords and secrets were generated since loading: a build
    /// says so every time (spec §10, nothing silent), and `facs deploy`
    /// refuses to push them to remote nodes unasked.
    pub generated: usize,
    /// The file was encrypted (age) when loaded.
    pub encrypted: bool,
    /// The stored values evaluation asked for, in order (`facs secret` and
    /// `facs state` tell used values from left-over ones with it).
    pub used: Vec<StateKey>,
}

/// Where a stored value lives: `passwd[user]` or `secrets[path]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    /// `passwd` or `secrets`.
    pub section: &'static str,
    /// The user name or the secret's path.
    pub key: String,
}

impl StateKey {
    /// The key of a provenance record (`passwd.www`, `secrets.instance.token`).
    fn provenance_key(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }
}

/// The uiid space is 1..=255 (spec §9).
pub const MAX_UIID: u64 = 255;

/// A service instance as state records it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceInstance {
    /// `<module>d.<i>`
    pub instance_name: String,
    /// Its unique id.
    pub uiid: u64,
    /// The service's logical name.
    pub logical_name: String,
    /// The logical name is computed from a secret (so is the manifest's copy).
    pub logical_secret: bool,
}

/// The placeholder `facs check` uses for secrets it does not generate.
pub const PLACEHOLDER: &str = "00000000-0000-4000-8000-000000000000";

impl State {
    /// State from a parsed document.
    pub fn from_doc(doc: Document) -> State {
        State {
            doc,
            changed: false,
            placeholders: false,
            external_placeholders: false,
            generated: 0,
            encrypted: false,
            used: Vec::new(),
        }
    }

    /// The document.
    pub fn doc(&self) -> &Document {
        &self.doc
    }

    /// The file's text.
    pub fn to_text(&self) -> Result<String, serde_json::Error> {
        document::to_text(&self.doc)
    }

    /// The file's text when written encrypted to `recipients` (none:
    /// plaintext): the document records them, so a build notices when the
    /// project's list changes and encrypts again.
    pub fn to_text_for(&self, recipients: &[String]) -> Result<String, serde_json::Error> {
        let mut doc = self.doc.clone();
        doc.sections.shift_remove("encryption");
        doc.entries.retain(|e| e != &document::Entry::Section("encryption".into()));
        if !recipients.is_empty() {
            doc.sections.insert("encryption".into(), serde_json::json!({ "recipients": recipients }));
            doc.entries.push(document::Entry::Section("encryption".into()));
        }
        document::to_text(&doc)
    }

    /// True when the file on disk is not in the form `recipients` ask for
    /// (plaintext, or encrypted to another list): it must be written again
    /// even when no value changed.
    pub fn needs_sealing(&self, recipients: &[String]) -> bool {
        if recipients.is_empty() {
            return self.encrypted;
        }
        let recorded: Vec<&str> = self
            .doc
            .sections
            .get("encryption")
            .and_then(|e| e.get("recipients"))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        !self.encrypted || recorded != recipients.iter().map(String::as_str).collect::<Vec<_>>()
    }

    /// True when every password and secret was generated since loading: the
    /// owner had none (a new or renamed instance, a fresh clone, deleted state).
    pub fn had_no_secrets(&self) -> bool {
        let count = |section: &str| self.doc.sections.get(section).and_then(Json::as_object).map_or(0, Map::len);
        count("passwd") + count("secrets") == self.generated
    }

    fn new_secret(&mut self) -> String {
        self.generated += 1;
        if self.placeholders {
            PLACEHOLDER.to_string()
        } else {
            // UUID v4 from the OS random generator (uuid uses getrandom).
            uuid::Uuid::new_v4().to_string()
        }
    }

    /// A top-level section, created when missing. `load` has already refused
    /// documents whose sections are not objects, so `None` cannot occur for
    /// loaded state; it is still handled rather than overwriting data.
    fn section(&mut self, name: &str) -> Option<&mut Map<String, Json>> {
        if !self.doc.sections.contains_key(name) {
            self.doc.entries.push(document::Entry::Section(name.to_string()));
        }
        self.doc.sections.entry(name.to_string()).or_insert_with(|| Json::Object(Map::new())).as_object_mut()
    }

    /// The key under which `value` is stored in `section`, if it is.
    pub fn key_of(&self, section: &'static str, value: &str) -> Option<StateKey> {
        let map = self.doc.sections.get(section)?.as_object()?;
        map.iter().find(|(_, v)| v.as_str() == Some(value)).map(|(k, _)| StateKey { section, key: k.clone() })
    }

    /// Where a stored value came from, for people: `generated by a build`,
    /// `set by facs secret set 2026-12-07T05:49:51Z`...
    pub fn origin(&self, key: &StateKey) -> String {
        match (self.stored(key), self.provenance(key)) {
            (None, _) => "not generated yet (the next build generates it)".to_string(),
            (Some(_), Some((by, at))) => format!("set by {by} {at}").trim_end().to_string(),
            (Some(_), None) => "generated by a build (or the original facsimile)".to_string(),
        }
    }

    /// How many passwords and secrets are stored.
    pub fn value_count(&self) -> usize {
        ["passwd", "secrets"]
            .iter()
            .filter_map(|s| self.doc.sections.get(*s))
            .filter_map(Json::as_object)
            .map(Map::len)
            .sum()
    }

    /// The stored value at `key`, if any.
    pub fn stored(&self, key: &StateKey) -> Option<&str> {
        self.doc.sections.get(key.section).and_then(|s| s.get(&key.key)).and_then(Json::as_str)
    }

    /// Replaces (or adds) the value at `key` by hand (`facs secret set` and
    /// `rotate`), recording who did it and when: the only ways a stored
    /// value changes (spec §12).
    pub fn replace(&mut self, key: &StateKey, value: String, by: &str, at: &str) {
        if let Some(section) = self.section(key.section) {
            section.insert(key.key.clone(), Json::String(value));
        }
        let record = serde_json::json!({ "by": by, "at": at });
        if let Some(provenance) = self.section("provenance") {
            provenance.insert(key.provenance_key(), record);
        }
        self.changed = true;
    }

    /// Who last set the value at `key` by hand, and when; `None` for a
    /// value a build generated (or the original facsimile wrote).
    pub fn provenance(&self, key: &StateKey) -> Option<(String, String)> {
        let record = self.doc.sections.get("provenance")?.get(key.provenance_key())?;
        let field = |f: &str| record.get(f).and_then(Json::as_str).map(str::to_string);
        Some((field("by")?, field("at").unwrap_or_default()))
    }

    /// A freshly generated value (UUID v4), for `facs secret rotate`.
    pub fn fresh_value() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// `passwd[username]`, generated when missing.
    pub fn password(&mut self, username: &str) -> String {
        self.used.push(StateKey { section: "passwd", key: username.to_string() });
        if let Some(p) = self.doc.sections.get("passwd").and_then(|p| p.get(username)).and_then(Json::as_str) {
            return p.to_string();
        }
        let fresh = self.new_secret();
        if let Some(passwd) = self.section("passwd") {
            passwd.insert(username.to_string(), Json::String(fresh.clone()));
        }
        self.changed = true;
        fresh
    }

    /// The value of an external secret (spec §7: `secret(external)`),
    /// which facs never generates: `None` until `facs secret set` stores it.
    pub fn external_secret(&mut self, key: &str) -> Option<String> {
        self.used.push(StateKey { section: "secrets", key: key.to_string() });
        match self.doc.sections.get("secrets").and_then(|p| p.get(key)).and_then(Json::as_str) {
            Some(s) => Some(s.to_string()),
            None if self.external_placeholders => Some(PLACEHOLDER.to_string()),
            None => None,
        }
    }

    /// `secrets[key]`, generated when missing.
    pub fn secret(&mut self, key: &str) -> String {
        self.used.push(StateKey { section: "secrets", key: key.to_string() });
        if let Some(s) = self.doc.sections.get("secrets").and_then(|p| p.get(key)).and_then(Json::as_str) {
            return s.to_string();
        }
        let fresh = self.new_secret();
        if let Some(secrets) = self.section("secrets") {
            secrets.insert(key.to_string(), Json::String(fresh.clone()));
        }
        self.changed = true;
        fresh
    }

    /// The uiid of a service instance: kept from `inmap`, else the largest
    /// uiid of `uiidmap` plus one. `Err(n)` when `n` would pass [`MAX_UIID`].
    pub fn service_uiid(&mut self, instance_name: &str, logical_name: &str) -> Result<u64, u64> {
        let existing = self
            .doc
            .sections
            .get("instances")
            .and_then(|i| i.get("inmap"))
            .and_then(|m| m.get(instance_name))
            .and_then(|e| e.get("uiid"))
            .and_then(json_uiid);
        if let Some(uiid) = existing {
            return Ok(uiid);
        }
        let max = self
            .doc
            .sections
            .get("instances")
            .and_then(|i| i.get("uiidmap"))
            .and_then(Json::as_object)
            .map(|m| m.keys().filter_map(|k| k.parse::<u64>().ok()).max().unwrap_or(0))
            .unwrap_or(0);
        let uiid = max + 1;
        if uiid > MAX_UIID {
            return Err(uiid);
        }
        let entry = serde_json::json!({"uiid": uiid, "logical_name": logical_name, "instance_name": instance_name});
        if let Some(instances) = self.section("instances") {
            for (name, key) in [("inmap", instance_name.to_string()), ("uiidmap", uiid.to_string())] {
                let map = instances.entry(name.to_string()).or_insert_with(|| Json::Object(Map::new()));
                if let Json::Object(m) = map {
                    m.insert(key, entry.clone());
                }
            }
        }
        self.changed = true;
        Ok(uiid)
    }
}

fn json_uiid(v: &Json) -> Option<u64> {
    document::uiid_of(v)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// Generated secrets come from the OS generator: whatever the keys,
        /// no two are equal, each is a v4 UUID, and asking again returns the
        /// stored one.
        #[test]
        fn generated_secrets_are_distinct(keys in proptest::collection::hash_set("[a-z][a-z0-9_]{0,12}", 1..64)) {
            let mut state = State::default();
            let mut seen = std::collections::HashSet::new();
            for key in &keys {
                let password = state.password(key);
                let secret = state.secret(key);
                prop_assert!(uuid::Uuid::parse_str(&password).is_ok_and(|u| u.get_version_num() == 4));
                prop_assert!(seen.insert(password.clone()));
                prop_assert!(seen.insert(secret.clone()));
                prop_assert_eq!(state.password(key), password);
                prop_assert_eq!(state.secret(key), secret);
            }
        }
    }

    use super::*;

    #[test]
    fn legacy_values_are_reused_and_new_ones_added() {
        let doc = document::parse(
            br#"{"passwd":{"app":"p1"},"instances":{"inmap":{"appd.0":{"uiid":7,"logical_name":"app","instance_name":"appd.0"}},"uiidmap":{"7":{}}}}"#,
        )
        .expect("json");
        let mut s = State::from_doc(doc);
        assert_eq!(s.password("app"), "p1");
        assert_eq!(s.service_uiid("appd.0", "app"), Ok(7));
        assert!(!s.changed);
        assert_eq!(s.service_uiid("appd.1", "app"), Ok(8));
        assert!(s.changed);
        let fresh = s.password("other");
        assert_eq!(uuid::Uuid::parse_str(&fresh).map(|u| u.get_version_num()), Ok(4));
    }

    #[test]
    fn uiids_stop_at_255() {
        let mut s = State::default();
        for i in 0..255 {
            assert!(s.service_uiid(&format!("x.{i}"), "x").is_ok());
        }
        assert_eq!(s.service_uiid("x.255", "x"), Err(256));
    }
}
