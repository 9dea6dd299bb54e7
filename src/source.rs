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

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
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
}

/// The real file system, rooted at a definition directory.
pub struct DiskFs {
    root: PathBuf,
    skip: Vec<PathBuf>,
}

impl DiskFs {
    /// A file system rooted at `root` that skips the given directories (output and
    /// state dirs) when looking for `.facs` files.
    pub fn new(root: &Path, skip: &[PathBuf]) -> DiskFs {
        let skip = skip.iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
        DiskFs { root: root.to_path_buf(), skip }
    }
}

impl Fs for DiskFs {
    fn facs_files(&self) -> std::io::Result<Vec<String>> {
        let mut found = Vec::new();
        let walker = walkdir::WalkDir::new(&self.root).follow_links(false).into_iter();
        let root = self.root.clone();
        let skip = self.skip.clone();
        let walker = walker.filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
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
        for entry in walker {
            let entry = entry.map_err(std::io::Error::other)?;
            if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "facs") {
                if let Ok(rel) = entry.path().strip_prefix(&root) {
                    found.push(relative_name(rel));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    fn read(&self, relative: &str) -> std::io::Result<Vec<u8>> {
        read_limited(&self.root.join(relative))
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

/// The diagnostic for a file over the size limit.
pub fn too_large(name: &str, size: &str) -> crate::diagnostic::Diagnostic {
    let limit = crate::limits::current().file_bytes;
    crate::diagnostic::Diagnostic::global(
        crate::diagnostic::Code::E024,
        format!("`{name}` is {size}, over the {} limit for one file", crate::limits::human(limit)),
    )
    .with_help(format!(
        "A hand-written file is far smaller: check that `{name}` is the right file, or raise the limit with {}=<size>.",
        crate::limits::FILE_VAR
    ))
}

/// A relative path as the `/`-separated name diagnostics show.
pub fn relative_name(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
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
