//! Finding the definition directory when `-p` is not given (spec §12): the
//! nearest of the current directory and its ancestors in which a `*.facs`
//! file directly in it declares `project`, as cargo finds `Cargo.toml`.
//!
//! The check is lexical, not a parse: a file declares `project` when, outside
//! comments and strings, it holds the whole word `project` followed by a name
//! and a `{` (see [`declares_project`]). That is the start of the only
//! grammar rule where an unquoted `project` is followed by a name, so a
//! reference such as `project.version` or a quoted key `"project"` never
//! counts; a file whose declaration is broken after the `{` still counts, and
//! the build then reports its syntax error against the right directory.
//! `docs/decisions/cli-discovery-and-color.md` records what it does not check.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Where the definition directory came from.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// `-p DIR`, as given.
    Given(PathBuf),
    /// The directory discovery started in (the current directory).
    Here(PathBuf),
    /// An ancestor of the start directory.
    Ancestor(PathBuf),
}

impl Found {
    /// The definition directory.
    pub fn dir(&self) -> &Path {
        match self {
            Found::Given(dir) | Found::Here(dir) | Found::Ancestor(dir) => dir,
        }
    }
}

/// Why there is no definition directory.
#[derive(Debug, PartialEq, Eq)]
pub enum NotFound {
    /// `-p` names something that is not a directory (a usage error).
    NotADirectory(PathBuf),
    /// No directory from `start` up to `/` declares a project.
    NoProject(PathBuf),
}

impl NotFound {
    /// The message for people (a full sentence with the fix).
    pub fn message(&self) -> String {
        match self {
            NotFound::NotADirectory(path) if path.exists() => {
                format!("-p {}: not a directory", path.display())
            }
            NotFound::NotADirectory(path) => format!("-p {}: no such directory", path.display()),
            NotFound::NoProject(start) => format!(
                "no definition directory found: no `*.facs` file directly in {} or in any of its parent \
                 directories up to / declares `project`; pass the directory with `-p DIR`",
                start.display()
            ),
        }
    }

    /// The exit status: 2 for a bad `-p` (spec §12), 1 for nothing found.
    pub fn status(&self) -> i32 {
        match self {
            NotFound::NotADirectory(_) => 2,
            NotFound::NoProject(_) => 1,
        }
    }
}

/// The definition directory: `given` when set (it must be a directory), else
/// the nearest of `start` and its ancestors that declares a project.
pub fn project_dir(given: Option<&Path>, start: &Path) -> Result<Found, NotFound> {
    if let Some(dir) = given {
        return if dir.is_dir() {
            Ok(Found::Given(dir.to_path_buf()))
        } else {
            Err(NotFound::NotADirectory(dir.to_path_buf()))
        };
    }
    for dir in start.ancestors() {
        if has_project_file(dir) {
            return Ok(if dir == start { Found::Here(dir.to_path_buf()) } else { Found::Ancestor(dir.to_path_buf()) });
        }
    }
    Err(NotFound::NoProject(start.to_path_buf()))
}

/// Whether a `*.facs` file directly in `dir` declares `project`. Unreadable
/// directories and files count as not declaring one (discovery goes on
/// upwards, like cargo past an unreadable directory); each file is read up
/// to the `.facs` size limit, so a huge file in an ancestor cannot stall it.
fn has_project_file(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    let limit = crate::limits::current().file_bytes;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "facs") && path.is_file())
        .collect();
    paths.sort();
    paths.iter().any(|path| {
        let mut bytes = Vec::new();
        let read = std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes));
        read.is_ok() && declares_project(&String::from_utf8_lossy(&bytes))
    })
}

/// Whether `text` holds, outside comments and strings, the whole word
/// `project`, then a name, then `{` (comments and whitespace between them).
pub fn declares_project(text: &str) -> bool {
    let tokens = tokens(text);
    tokens
        .windows(3)
        .any(|w| matches!(w, [Token::Word("project"), Token::Word(name), Token::Open] if !is_keyword(name)))
}

/// The few tokens the check needs; everything else is `Other`.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Open,
    Other,
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "project"
            | "schema"
            | "module"
            | "abstract"
            | "instance"
            | "inherits"
            | "overlay"
            | "on"
            | "target"
            | "unset"
            | "true"
            | "false"
            | "null"
    )
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Splits `text` as the grammar does (`grammar/facs.pest`): `//` and `/* */`
/// comments, `"..."` strings (no raw newline; `\` escapes) and `"""..."""`
/// strings are skipped; names are `[A-Za-z_][A-Za-z0-9_-]*`.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() || c == '\u{feff}' {
            rest = &rest[c.len_utf8()..];
        } else if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |i| &after[i..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |i| &after[i + 2..]);
        } else if let Some(after) = rest.strip_prefix("\"\"\"") {
            rest = skip_string(after, true);
            tokens.push(Token::Other);
        } else if let Some(after) = rest.strip_prefix('"') {
            rest = skip_string(after, false);
            tokens.push(Token::Other);
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            tokens.push(Token::Word(&rest[..end]));
            rest = &rest[end..];
        } else {
            tokens.push(if c == '{' { Token::Open } else { Token::Other });
            rest = &rest[c.len_utf8()..];
        }
    }
    tokens
}

/// The text after a string whose opening quote(s) were just consumed.
fn skip_string(text: &str, multiline: bool) -> &str {
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' if !multiline => return &text[i + 1..],
            '"' if text[i..].starts_with("\"\"\"") => return &text[i + 3..],
            // An unclosed one-line string ends at the line end, as the
            // grammar's error recovery sees it.
            '\n' if !multiline => return &text[i..],
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_declaration_counts() {
        assert!(declares_project("project demo { version: \"1\" }"));
        assert!(declares_project("/// doc\nproject demo\n{\n}"));
        assert!(declares_project("schema S {} project p /* here */ {}"));
        assert!(declares_project("\u{feff}project _p-1 {"));
    }

    #[test]
    fn lookalikes_do_not_count() {
        assert!(!declares_project("// project demo {}"));
        assert!(!declares_project("/* project demo {} */"));
        assert!(!declares_project("instance a { x: \"project demo {}\" }"));
        assert!(!declares_project("instance a { x: \"\"\"\nproject demo {\n\"\"\" }"));
        assert!(!declares_project("instance a { v: project.version }"));
        assert!(!declares_project("projects demo {}"));
        assert!(!declares_project("instance a { \"project\" demo {} }"));
        assert!(!declares_project("project instance {}"));
        assert!(!declares_project("schema S { x: \"a\\\"project p {\" }"));
        assert!(!declares_project("project"));
    }

    #[test]
    fn discovery_walks_up_and_stops_at_the_nearest() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        let inner = root.join("a/b/c");
        std::fs::create_dir_all(&inner).expect("mkdir");
        std::fs::write(root.join("a/main.facs"), "project outer {}").expect("write");
        std::fs::write(root.join("a/b/lib.facs"), "schema S {}").expect("write");
        assert_eq!(project_dir(None, &inner), Ok(Found::Ancestor(root.join("a"))));
        assert_eq!(project_dir(None, &root.join("a")), Ok(Found::Here(root.join("a"))));
        std::fs::write(root.join("a/b/c/p.facs"), "project inner {}").expect("write");
        assert_eq!(project_dir(None, &inner), Ok(Found::Here(inner.clone())));
        assert_eq!(project_dir(Some(&root.join("nope")), &inner), Err(NotFound::NotADirectory(root.join("nope"))));
    }
}
