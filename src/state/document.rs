//! The state file as text: what facs reads, validates and writes back.
//!
//! facs owns three sections (`passwd`, `secrets`, `instances`); anything else
//! in the file belongs to someone else (the original tool, a script, a later
//! version) and is written back exactly as read: a number too large for a
//! float keeps its digits, a key that appears twice stays twice, in its
//! place. Only the sections facs changes are re-serialized.
//!
//! Within its own sections facs refuses what it cannot keep faithfully: a key
//! that appears twice (which of two passwords is the right one?) and a uiid
//! that is not an integer (reallocating it would change a service's id).

use super::MAX_UIID;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

/// The sections facs reads and writes. `provenance` is facs's own (the
/// original tool keeps it as an unknown key): who set a stored value by hand.
/// `encryption` records the age recipients an encrypted file was written to.
pub const SECTIONS: [&str; 5] = ["passwd", "secrets", "instances", "provenance", "encryption"];

/// A JSON value kept as its text.
#[derive(Clone, Debug)]
pub struct Raw(Box<RawValue>);

impl PartialEq for Raw {
    fn eq(&self, other: &Raw) -> bool {
        self.0.get() == other.0.get()
    }
}

/// One top-level entry, in file order.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// One of [`SECTIONS`], held parsed.
    Section(String),
    /// Any other key, with its value as written.
    Kept(String, Raw),
}

/// A parsed state file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// facs's sections.
    pub sections: Map<String, Json>,
    /// Every top-level entry in file order.
    pub entries: Vec<Entry>,
}

/// A JSON object's entries in order, duplicates included.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Entries, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn entries(text: &str, what: &str) -> Result<Vec<(String, Box<RawValue>)>, String> {
    match serde_json::from_str::<Entries>(text) {
        Ok(e) => Ok(e.0),
        Err(_) => Err(format!("{what} is not an object")),
    }
}

/// An object whose keys are unique (`what` names it in the refusal).
fn unique_object(raw: &RawValue, what: &str) -> Result<Map<String, Json>, String> {
    let mut out = Map::new();
    for (key, value) in entries(raw.get(), what)? {
        if out.contains_key(&key) {
            return Err(format!("{what} holds `{key}` twice: facs cannot tell which value is right"));
        }
        let value: Json = serde_json::from_str(value.get()).map_err(|e| format!("{what}.{key}: {e}"))?;
        out.insert(key, value);
    }
    Ok(out)
}

/// Parses and validates a state document.
pub fn parse(bytes: &[u8]) -> Result<Document, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return Err(if bytes.is_empty() {
            "the file is empty".into()
        } else {
            format!("the file holds no data: {} bytes of zeros or blanks", bytes.len())
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    // Syntax first, for the parser's own message and position.
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| format!("not JSON: {e}"))?;
    let top = entries(text, "the document").map_err(|_| "the document is not a JSON object".to_string())?;
    let mut doc = Document::default();
    for (key, value) in top {
        if SECTIONS.contains(&key.as_str()) {
            if doc.sections.contains_key(&key) {
                return Err(format!("`{key}` appears twice: facs cannot tell which one is right"));
            }
            let section = section(&key, &value)?;
            doc.sections.insert(key.clone(), Json::Object(section));
            doc.entries.push(Entry::Section(key));
        } else {
            doc.entries.push(Entry::Kept(key, Raw(value)));
        }
    }
    Ok(doc)
}

fn section(key: &str, raw: &RawValue) -> Result<Map<String, Json>, String> {
    let what = format!("`{key}`");
    if !raw.get().trim_start().starts_with('{') {
        return Err(format!("{what} is not an object"));
    }
    match key {
        "provenance" | "encryption" => unique_object(raw, &what),
        "passwd" | "secrets" => {
            let map = unique_object(raw, &what)?;
            if let Some((k, _)) = map.iter().find(|(_, v)| !v.is_string()) {
                return Err(format!("`{key}.{k}` is not a string"));
            }
            Ok(map)
        }
        _ => {
            // `instances`: `inmap` and `uiidmap` are checked entry by entry.
            let mut out = Map::new();
            for (sub, value) in entries(raw.get(), &what)? {
                if out.contains_key(&sub) {
                    return Err(format!("`instances` holds `{sub}` twice: facs cannot tell which one is right"));
                }
                let value = match sub.as_str() {
                    "inmap" | "uiidmap" => {
                        let what = format!("`instances.{sub}`");
                        if !value.get().trim_start().starts_with('{') {
                            return Err(format!("{what} is not an object"));
                        }
                        let map = unique_object(&value, &what)?;
                        for (name, entry) in &map {
                            check_uiid(&sub, name, entry)?;
                        }
                        Json::Object(map)
                    }
                    _ => serde_json::from_str(value.get()).map_err(|e| format!("`instances.{sub}`: {e}"))?,
                };
                out.insert(sub, value);
            }
            Ok(out)
        }
    }
}

/// A service's uiid as state records it: an integer (the original tool
/// writes one; a string of digits is read too) in 1..=255.
pub fn uiid_of(v: &Json) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).filter(|u| (1..=MAX_UIID).contains(u))
}

fn check_uiid(sub: &str, name: &str, entry: &Json) -> Result<(), String> {
    if sub == "uiidmap" && name.parse::<u64>().ok().filter(|u| (1..=MAX_UIID).contains(u)).is_none() {
        return Err(format!("`instances.uiidmap` has the key `{name}`, which is not a uiid (1 to {MAX_UIID})"));
    }
    match entry.get("uiid") {
        Some(v) if uiid_of(v).is_some() => Ok(()),
        Some(v) => Err(format!(
            "`instances.{sub}.{name}.uiid` is {v}, not a uiid (an integer from 1 to {MAX_UIID}); facs will not \
             give the service a new id"
        )),
        None if sub == "inmap" => Err(format!("`instances.inmap.{name}` has no `uiid`")),
        None => Ok(()),
    }
}

/// The document as the file's text: facs's sections pretty-printed, every
/// other entry as it was read.
pub fn to_text(doc: &Document) -> Result<String, serde_json::Error> {
    let mut parts: Vec<String> = Vec::new();
    let mut written: Vec<&str> = Vec::new();
    let section_text = |key: &str, value: &Json| -> Result<String, serde_json::Error> {
        let pretty = serde_json::to_string_pretty(value)?;
        Ok(format!("{}: {}", serde_json::to_string(key)?, pretty.replace('\n', "\n  ")))
    };
    for entry in &doc.entries {
        match entry {
            Entry::Section(key) => {
                if let Some(value) = doc.sections.get(key) {
                    parts.push(section_text(key, value)?);
                    written.push(key);
                }
            }
            Entry::Kept(key, raw) => parts.push(format!("{}: {}", serde_json::to_string(key)?, raw.0.get())),
        }
    }
    for (key, value) in &doc.sections {
        if !written.contains(&key.as_str()) {
            parts.push(section_text(key, value)?);
        }
    }
    if parts.is_empty() {
        return Ok("{}\n".into());
    }
    Ok(format!("{{\n  {}\n}}\n", parts.join(",\n  ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        to_text(&parse(text.as_bytes()).expect("parses")).expect("serializes")
    }

    #[test]
    fn unknown_entries_are_written_back_as_read() {
        let text = r#"{"note": 123456789012345678901234567890, "passwd": {"app": "p"}, "x": {"a": 1, "a": 2.50}, "x": [1e400]}"#;
        let out = round_trip(text);
        assert!(out.contains(r#""note": 123456789012345678901234567890"#), "{out}");
        assert!(out.contains(r#""x": {"a": 1, "a": 2.50}"#), "{out}");
        assert!(out.contains(r#""x": [1e400]"#), "{out}");
        // Order kept, and the result parses to the same document.
        assert!(out.find("note") < out.find("passwd") && out.find("passwd") < out.find("\"x\""));
        assert_eq!(parse(out.as_bytes()), parse(text.as_bytes()));
        assert_eq!(round_trip(&out), out);
    }

    #[test]
    fn duplicates_and_bad_uiids_in_facs_sections_are_refused() {
        for (text, why) in [
            (r#"{"passwd": {"a": "1", "a": "2"}}"#, "twice"),
            (r#"{"passwd": {}, "passwd": {}}"#, "twice"),
            (r#"{"instances": {"inmap": {"w.0": {"uiid": 7.0}}}}"#, "not a uiid"),
            (r#"{"instances": {"inmap": {"w.0": {"uiid": null}}}}"#, "not a uiid"),
            (r#"{"instances": {"inmap": {"w.0": {"uiid": "x"}}}}"#, "not a uiid"),
            (r#"{"instances": {"inmap": {"w.0": {"uiid": 256}}}}"#, "not a uiid"),
            (r#"{"instances": {"inmap": {"w.0": {}}}}"#, "no `uiid`"),
            (r#"{"instances": {"uiidmap": {"x": {"uiid": 1}}}}"#, "not a uiid"),
            (r#"{"secrets": {"k": 1}}"#, "not a string"),
            (r#"[]"#, "not a JSON object"),
        ] {
            let err = parse(text.as_bytes()).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
        assert!(parse(br#"{"instances": {"inmap": {"w.0": {"uiid": "7"}}, "uiidmap": {"7": {}}}}"#).is_ok());
    }
}
