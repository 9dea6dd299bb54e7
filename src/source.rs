//! Stage 0, sources: finds the `.facs` files of a definition directory and owns
//! their text.
//!
//! Input: a definition directory (through the [`Fs`] trait, so tests can use
//! memory). Output: a [`SourceMap`] of files in declaration order (relative path,
//! bytewise). Invariant: a [`Span`] is a byte range into one file of the map;
//! line and column are computed only when a diagnostic is reported.

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start: start as u32, end: end as u32 }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// One loaded source: a `.facs` file or a template.
#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the definition directory, with `/` separators.
    pub name: String,
    /// The text (lossily decoded when the file was not UTF-8; a diagnostic says so).
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(name: String, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile { name, text, line_starts }
    }

    /// 0-based index of the line a byte offset is on.
    pub fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The bytes of a 0-based line, its line end included (empty past the end).
    pub fn line_range(&self, line_idx: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.line_starts.get(line_idx) else { return self.text.len()..self.text.len() };
        start..self.line_starts.get(line_idx + 1).copied().unwrap_or(self.text.len())
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = self.line_index(offset);
        let line_start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let column = self.text.get(line_start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line_idx + 1, column)
    }

    /// The byte offset of a 1-based line and (character) column.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let start = self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len());
        let rest = self.text.get(start..).unwrap_or("");
        let within: usize = rest.chars().take(column.saturating_sub(1)).map(char::len_utf8).sum();
        start + within
    }

    /// The text of a 1-based line, without its line end ("" past the end).
    /// Found through the line starts: `text.lines().nth(n)` scans the file
    /// from its start, which made a table of 100,000 rows quadratic.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(line_idx) = line.checked_sub(1) else { return "" };
        self.text.get(self.line_range(line_idx)).unwrap_or("").trim_end_matches(['\n', '\r'])
    }

    /// Byte offsets at which lines start.
    pub fn line_starts(&self) -> &[usize] {
        &self.line_starts
    }
}

/// All sources of one run. Files are appended; ids stay valid.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile::new(name.into(), text.into()));
        id
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The text a span covers ("" when out of range).
    pub fn snippet(&self, span: Span) -> &str {
        self.get(span.file).and_then(|f| f.text.get(span.start as usize..span.end as usize)).unwrap_or("")
    }

    /// Every file id, in order of addition.
    pub fn ids(&self) -> impl Iterator<Item = FileId> {
        (0..self.files.len() as u32).map(FileId)
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file was added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Finds a file by its relative name.
    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files.iter().position(|f| f.name == name).map(|i| FileId(i as u32))
    }
}

/// Read access to a definition directory; `cli` uses the disk, tests use memory.
pub trait Fs {
    /// Relative paths (with `/`) of every `.facs` file, sorted bytewise.
    fn facs_files(&self) -> std::io::Result<Vec<String>>;
    /// The bytes of a relative path.
    fn read(&self, relative: &str) -> std::io::Result<Vec<u8>>;
    /// Symbolic links the last [`Fs::facs_files`] did not follow because
    /// they lead outside the definition directory: (link, target), both
    /// as shown to users (spec §2: E018, never skipped silently).
    fn escaping_links(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Where this file system is on disk, when it is.
    fn location(&self) -> Option<PathBuf> {
        None
    }
    /// The directory `dir` (relative to this one) as a file system of its
    /// own, and where it is (`project { include: [...] }`).
    fn include(&self, dir: &str) -> std::io::Result<(Box<dyn Fs>, PathBuf)> {
        Err(std::io::Error::new(std::io::ErrorKind::Unsupported, format!("`{dir}`: includes need a directory on disk")))
    }
}

/// The real file system, rooted at a definition directory.
pub struct DiskFs {
    root: PathBuf,
    skip: Vec<PathBuf>,
    escaping: std::sync::Mutex<Vec<(String, String)>>,
}

impl DiskFs {
    /// A file system rooted at `root` that skips the given directories (output and
    /// state dirs) when looking for `.facs` files.
    pub fn new(root: &Path, skip: &[PathBuf]) -> DiskFs {
        let skip = skip.iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
        DiskFs { root: root.to_path_buf(), skip, escaping: std::sync::Mutex::new(Vec::new()) }
    }
}

impl Fs for DiskFs {
    fn facs_files(&self) -> std::io::Result<Vec<String>> {
        let mut found = Vec::new();
        // Spec §2: symbolic links are followed while they stay inside the
        // definition directory; one that leads out is reported, not followed.
        let walker = walkdir::WalkDir::new(&self.root).follow_links(true).into_iter();
        let root = self.root.clone();
        let canonical_root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let skip = self.skip.clone();
        let escaping = std::cell::RefCell::new(Vec::new());
        let walker = walker.filter_entry(|entry| {
            if entry.depth() == 0 {
                return true;
            }
            // A link to a file that is not `.facs` (a copy source) is not
            // discovery's business: render confines those itself.
            let relevant = entry.file_type().is_dir() || entry.path().extension().is_some_and(|e| e == "facs");
            if entry.path_is_symlink() && relevant {
                let target = std::fs::canonicalize(entry.path());
                if !target.as_ref().is_ok_and(|t| t.starts_with(&canonical_root)) {
                    let link = entry.path().strip_prefix(&root).map(relative_name).unwrap_or_default();
                    let shown = match &target {
                        Ok(t) => t.display().to_string(),
                        Err(e) => format!("(unreadable: {e})"),
                    };
                    escaping.borrow_mut().push((link, shown));
                    return false;
                }
            }
            let name = entry.file_name().to_string_lossy();
            if entry.file_type().is_dir() {
                // Spec §2: skip hidden directories, top-level tmpl/ and extra/,
                // and the output and state directories.
                if name.starts_with('.') {
                    return false;
                }
                if entry.depth() == 1 && (name == "tmpl" || name == "extra") {
                    return false;
                }
                if let Ok(canonical) = std::fs::canonicalize(entry.path()) {
                    if skip.contains(&canonical) {
                        return false;
                    }
                }
            }
            true
        });
        let mut entries = Vec::new();
        for entry in walker {
            match entry {
                Ok(entry) => entries.push(entry),
                // A link back to a directory being walked: its files are
                // loaded through the real path already.
                Err(e) if e.loop_ancestor().is_some() => {}
                // A dangling link: nothing to load unless it names a `.facs`
                // file, which would otherwise be lost without a word.
                Err(e) if e.path().is_some_and(|p| p.is_symlink() && !p.exists()) => {
                    if e.path().is_some_and(|p| p.extension().is_some_and(|x| x == "facs")) {
                        return Err(std::io::Error::other(e));
                    }
                }
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        if let Ok(mut kept) = self.escaping.lock() {
            *kept = escaping.into_inner();
        }
        for entry in entries {
            if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "facs") {
                if let Ok(rel) = entry.path().strip_prefix(&root) {
                    found.push(rel.to_path_buf());
                }
            }
        }
        // Spec §2: declaration order is the relative path's bytes, which the
        // escaped names do not keep (a `\` sorts before letters, and `\xff` is not the byte 0xff).
        use std::os::unix::ffi::OsStrExt;
        found.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
        // A file reached twice (through a link to a directory that is loaded
        // anyway) is one file: the first name in declaration order keeps it.
        let mut seen = std::collections::HashSet::new();
        found.retain(|rel| seen.insert(std::fs::canonicalize(root.join(rel)).unwrap_or_else(|_| root.join(rel))));
        Ok(found.iter().map(|rel| relative_name(rel)).collect())
    }

    fn read(&self, relative: &str) -> std::io::Result<Vec<u8>> {
        read_limited(&self.root.join(path_of_name(relative)))
    }

    fn escaping_links(&self) -> Vec<(String, String)> {
        self.escaping.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn location(&self) -> Option<PathBuf> {
        std::fs::canonicalize(&self.root).ok()
    }

    fn include(&self, dir: &str) -> std::io::Result<(Box<dyn Fs>, PathBuf)> {
        let path = std::fs::canonicalize(self.root.join(dir))?;
        if !path.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"));
        }
        Ok((Box::new(DiskFs::new(&path, &self.skip)), path))
    }
}

/// Reads a file unless it is over the file size limit (then the error's kind
/// is `FileTooLarge` and its text the size): the size is checked before
/// reading, so a 1 GB file costs nothing.
pub fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    read_limited_file(std::fs::File::open(path)?)
}

/// [`read_limited`] on a file already opened (confined, say).
pub fn read_limited_file(file: std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let limit = crate::limits::current().file_bytes;
    let size = file.metadata()?.len();
    if size > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, crate::limits::human(size)));
    }
    // `take` also bounds a file that grows while it is read.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, crate::limits::human(bytes.len() as u64)));
    }
    Ok(bytes)
}

/// A relative path as the `/`-separated name that diagnostics show and trees
/// are keyed by. A component that is not UTF-8, or that holds a `\`, is
/// escaped (`\xff` for a byte that is not UTF-8, `\\` for a backslash), so
/// two different byte names never give the same name (a lossy `U+FFFD` would
/// make `a\xff.facs` and `a\xfe.facs` one file); [`path_of_name`] gives the
/// bytes back.
pub fn relative_name(path: &Path) -> String {
    path.components().map(|c| component_name(c.as_os_str())).collect::<Vec<_>>().join("/")
}

fn component_name(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    if let Some(text) = name.to_str().filter(|t| !t.contains('\\')) {
        return text.to_string();
    }
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// The path a [`relative_name`] was made from, byte for byte.
pub fn path_of_name(name: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    if !name.contains('\\') {
        return PathBuf::from(name);
    }
    let mut bytes = Vec::with_capacity(name.len());
    let mut rest = name.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        rest = tail;
        if first != b'\\' {
            bytes.push(first);
            continue;
        }
        match rest {
            [b'\\', tail @ ..] => {
                bytes.push(b'\\');
                rest = tail;
            }
            [b'x', hi, lo, tail @ ..] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                let hex = [*hi, *lo];
                let byte = std::str::from_utf8(&hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                bytes.push(byte.unwrap_or(b'?'));
                rest = tail;
            }
            // Not made by `relative_name` (a name typed by hand): kept as written.
            _ => bytes.push(b'\\'),
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// An in-memory definition directory for tests.
#[derive(Default)]
pub struct MemoryFs {
    /// Relative path → contents.
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemoryFs {
    /// A directory holding the given `(path, text)` files.
    pub fn with(files: &[(&str, &str)]) -> MemoryFs {
        MemoryFs { files: files.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect() }
    }
}

impl Fs for MemoryFs {
    fn facs_files(&self) -> std::io::Result<Vec<String>> {
        Ok(self.files.keys().filter(|k| k.ends_with(".facs")).cloned().collect())
    }

    fn read(&self, relative: &str) -> std::io::Result<Vec<u8>> {
        self.files
            .get(relative)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, relative.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn names_are_unambiguous_and_give_the_bytes_back() {
        let paths: [&[u8]; 6] =
            [b"dir/a.facs", b"a\xff.facs", b"a\xfe.facs", b"a\\xff.facs", b"a\\\xff.facs", b"d\xc3/\xc3\xa9"];
        let names: Vec<String> =
            paths.iter().map(|p| relative_name(Path::new(std::ffi::OsStr::from_bytes(p)))).collect();
        assert_eq!(
            names,
            ["dir/a.facs", "a\\xff.facs", "a\\xfe.facs", "a\\\\xff.facs", "a\\\\\\xff.facs", "d\\xc3/\u{e9}"]
        );
        for (path, name) in paths.iter().zip(&names) {
            assert_eq!(path_of_name(name).as_os_str().as_bytes(), *path, "{name}");
        }
    }

    #[test]
    fn line_text_uses_the_line_starts() {
        let mut map = SourceMap::new();
        let id = map.add("t.facs", "one\r\ntwo\nthree");
        let file = map.get(id).expect("file");
        assert_eq!(
            [file.line_text(0), file.line_text(1), file.line_text(3), file.line_text(4)],
            ["", "one", "three", ""]
        );
    }
}
