//! Path confinement: every path render reads must stay inside the
//! definition or source directory, and every tree path inside the release
//! directory (spec §10, E018).

use std::path::{Component, Path, PathBuf};

/// A relative path with no `..` that could climb out; `Err` explains why not.
pub fn relative_inside(path: &str) -> Result<PathBuf, String> {
    if path.contains('\0') {
        return Err(format!("path `{}` contains a NUL byte", path.escape_debug()));
    }
    let p = Path::new(path);
    if p.is_absolute() {
        return Err(format!("`{path}` is absolute; it must be relative to the definition directory"));
    }
    dash_free(path)?;
    normalize(p).ok_or_else(|| format!("`{path}` climbs out of its directory with `..`"))
}

/// Refuses a path with a component starting with `-`: the trees facs writes
/// are handed to rsync, shells and scripts, which would read such a name as
/// an option.
pub fn dash_free(path: &str) -> Result<(), String> {
    match path.split('/').find(|c| c.starts_with('-')) {
        Some(c) => Err(format!(
            "`{}` has a component starting with `-` (`{c}`), which tools read as an option",
            path.escape_debug()
        )),
        None => Ok(()),
    }
}

/// Resolves `.` and `..` of an absolute path lexically (`/a/b/../c` →
/// `/a/c`), without touching the disk: a path is judged before it is read.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Removes `.` and resolves `..` lexically; `None` when `..` would climb above the start.
pub fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// An absolute path as it really is: `..` resolved lexically, then symlinks
/// followed as far as the path exists (the rest appended as written), so a
/// destination is judged by where it leads even before it is created.
pub fn resolve(path: &Path) -> PathBuf {
    let path = lexical(path);
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return path.clone(),
        }
    }
    let mut out = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    out.extend(rest.iter().rev());
    out
}

/// Every regular file below `root` as (relative `/` path, canonical path),
/// sorted. A missing root is empty. Symlinks are followed only while they stay
/// inside `allowed`; loops, escapes and special files (FIFOs, devices) are errors.
pub fn walk_files(root: &Path, allowed: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    if !root.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| match e.loop_ancestor() {
            Some(_) => format!("symlink loop below {}", root.display()),
            None => format!("cannot read below {}: {e}", root.display()),
        })?;
        let canonical = std::fs::canonicalize(entry.path())
            .map_err(|e| format!("cannot resolve {}: {e}", entry.path().display()))?;
        if !canonical.starts_with(allowed) {
            return Err(format!(
                "`{}` leads outside the definition directory (to {})",
                entry.path().display(),
                canonical.display()
            ));
        }
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        if !file_type.is_file() {
            return Err(format!("`{}` is not a regular file", entry.path().display()));
        }
        let rel = entry.path().strip_prefix(root).map(crate::source::relative_name).unwrap_or_default();
        dash_free(&rel)?;
        out.push((rel, canonical));
    }
    Ok(out)
}

/// Opens `path` (canonical, as [`walk_files`] returns it) for reading only if
/// it is still a regular file beneath `allowed` (canonical) when it is
/// opened. Checking the path and then reading it by name would race: a
/// directory swapped for a symlink in between would make facs read, and
/// put in a tree, a file from anywhere. So the open itself is confined:
/// `openat2` from a descriptor of `allowed` with `RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS` (a canonical path has no symlinks; one that appears
/// is the race). Where the kernel lacks `openat2` (before 5.6, or a seccomp
/// filter), the opened descriptor's own path (`/proc/self/fd`) is checked
/// instead, which is race-free too.
pub fn open_confined(path: &Path, allowed: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;
    use std::io::{Error, ErrorKind};
    use std::os::fd::AsRawFd;
    let outside =
        || Error::new(ErrorKind::PermissionDenied, format!("{} is not beneath {}", path.display(), allowed.display()));
    let rel = path.strip_prefix(allowed).map_err(|_| outside())?;
    // `allowed` is canonical: if it is a symlink now, it was swapped for one.
    let dir = rustix::fs::open(
        allowed,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| if e == Errno::LOOP || e == Errno::NOTDIR { outside() } else { e.into() })?;
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let file = match rustix::fs::openat2(&dir, rel, flags, Mode::empty(), resolve) {
        Ok(fd) => std::fs::File::from(fd),
        Err(Errno::XDEV | Errno::LOOP) => return Err(outside()),
        Err(Errno::NOSYS | Errno::PERM | Errno::TOOBIG) => {
            let fd = rustix::fs::open(
                path,
                OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY,
                Mode::empty(),
            )?;
            let file = std::fs::File::from(fd);
            let real = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
            if !real.starts_with(allowed) {
                return Err(outside());
            }
            file
        }
        Err(e) => return Err(e.into()),
    };
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, format!("{} is not a regular file", path.display())));
    }
    Ok(file)
}

/// `path` canonicalized, or made absolute lexically when it does not exist
/// (yet): the output directory of a first build, say.
pub fn canonical_or_lexical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
        };
        lexical(&absolute)
    })
}

/// True when `path` is one of `protected`, inside one, or holds one.
pub fn overlaps(path: &Path, protected: &[PathBuf]) -> bool {
    let path = canonical_or_lexical(path);
    protected.iter().any(|p| path.starts_with(p) || p.starts_with(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbing_out_is_refused() {
        assert!(relative_inside("a/../../b").is_err());
        assert!(relative_inside("/etc/shadow").is_err());
        assert!(relative_inside("../../etc/passwd").is_err());
        assert_eq!(relative_inside("a/./b/../c").ok(), Some(PathBuf::from("a/c")));
        assert!(relative_inside("a/-rf").is_err());
        assert!(relative_inside("a\0b").is_err());
        assert_eq!(lexical(Path::new("/src/../../etc/./passwd")), PathBuf::from("/etc/passwd"));
    }
}
