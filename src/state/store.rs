//! Reading and writing state files on disk.

use super::State;
use fs4::fs_std::FileExt;
use serde_json::{Map, Value as Json};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

/// The largest state file read; a bigger one is refused (it cannot be ours).
pub const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a state file was refused.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io(PathBuf, io::Error),
    /// The file is not a state document (empty, truncated, zero-filled, too big...).
    Corrupt(PathBuf, String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(path, e) => write!(f, "cannot read state file {}: {e}", path.display()),
            LoadError::Corrupt(path, why) => write!(
                f,
                "state file {} is not valid state ({why}); refusing to continue, because starting from empty state would \
                 replace every generated password and secret. To recover: restore the previous generation with \
                 `cp {}.bak {}` (or from your backups), then build again",
                path.display(),
                path.display(),
                path.display()
            ),
        }
    }
}

/// A state directory (`<state>/<owner>/state.json`).
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

/// An exclusive lock on one owner's state; released on drop.
pub struct StateLock {
    _file: File,
}

/// An owner's open lock file, not yet locked.
pub struct LockFile {
    file: File,
}

impl LockFile {
    /// Blocks until the exclusive lock is held.
    pub fn acquire(self) -> io::Result<StateLock> {
        FileExt::lock_exclusive(&self.file)?;
        Ok(StateLock { _file: self.file })
    }
}

impl StateDir {
    /// The state directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// `<root>/<owner>`
    pub fn owner_dir(&self, owner: &str) -> PathBuf {
        self.root.join(owner)
    }

    /// `<root>/<owner>/state.json`
    pub fn state_path(&self, owner: &str) -> PathBuf {
        self.owner_dir(owner).join("state.json")
    }

    /// Takes the exclusive lock of an owner, creating its directory (0700).
    pub fn lock(&self, owner: &str) -> io::Result<StateLock> {
        self.lock_file(owner)?.acquire()
    }

    /// Creates (or opens) an owner's directory and lock file without locking
    /// it. Creating files is the slow part on most disks and needs no order,
    /// so a batch creates them in parallel and then acquires them in order.
    pub fn lock_file(&self, owner: &str) -> io::Result<LockFile> {
        let dir = self.owner_dir(owner);
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(dir.join(".lock"))?;
        Ok(LockFile { file })
    }

    /// Reads an owner's state; a missing file is empty state.
    pub fn load(&self, owner: &str) -> Result<State, LoadError> {
        self.load_versioned(owner).map(|(state, _)| state)
    }

    /// Reads an owner's state with a fingerprint of the file's bytes (0 when
    /// absent), to tell later whether another build has written it since.
    pub fn load_versioned(&self, owner: &str) -> Result<(State, u64), LoadError> {
        let path = self.state_path(owner);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((State::default(), 0)),
            Err(e) => return Err(LoadError::Io(path, e)),
        };
        if meta.len() > MAX_STATE_BYTES {
            return Err(LoadError::Corrupt(
                path,
                format!("{} bytes, more than the {} byte limit", meta.len(), MAX_STATE_BYTES),
            ));
        }
        let bytes = fs::read(&path).map_err(|e| LoadError::Io(path.clone(), e))?;
        let fingerprint = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            h.finish() | 1
        };
        parse(&bytes).map(|doc| (State::from_doc(doc), fingerprint)).map_err(|why| LoadError::Corrupt(path, why))
    }

    /// Writes an owner's state atomically, keeping the previous generation as
    /// `state.json.bak`. Call with the owner's lock held.
    pub fn save(&self, owner: &str, state: &State, lock: &StateLock) -> io::Result<()> {
        let staged = self.stage(owner, state, lock)?;
        self.sync()?;
        self.commit(staged)?;
        self.sync()
    }

    /// Writes the new state beside the old one (not yet durable, not yet live).
    /// Many owners can be staged and then made durable with one [`StateDir::sync`].
    pub fn stage(&self, owner: &str, state: &State, _lock: &StateLock) -> io::Result<Staged> {
        // `lock` created the directory. Writers hold the lock, so one fixed temp
        // name suffices: truncating it overwrites whatever a killed writer left.
        let dir = self.owner_dir(owner);
        let mut text = serde_json::to_string_pretty(state.doc()).map_err(io::Error::other)?;
        text.push('\n');
        let tmp = dir.join(TEMP_NAME);
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        if let Err(e) = file.write_all(text.as_bytes()) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let replaces = fs::symlink_metadata(dir.join("state.json")).is_ok();
        Ok(Staged { dir, tmp, replaces })
    }

    /// Makes the staged state live: the old file becomes `state.json.bak` and
    /// the new one replaces it in one rename. Call after [`StateDir::sync`], so
    /// the new contents are on disk before they can become live.
    pub fn commit(&self, staged: Staged) -> io::Result<()> {
        let path = staged.dir.join("state.json");
        if staged.replaces {
            let backup = staged.dir.join("state.json.bak");
            if let Err(e) = fs::hard_link(&path, &backup) {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    fs::remove_file(&backup)?;
                }
                if fs::hard_link(&path, &backup).is_err() {
                    fs::copy(&path, &backup)?;
                }
            }
        }
        fs::rename(&staged.tmp, &path).inspect_err(|_| {
            let _ = fs::remove_file(&staged.tmp);
        })
    }

    /// Flushes everything written on the state directory's file system (one
    /// `syncfs` instead of an fsync per file and per directory).
    pub fn sync(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let root = File::open(&self.root)?;
        // SAFETY: `root` is an open descriptor for the duration of the call.
        if unsafe { libc::syncfs(root.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// State written by [`StateDir::stage`], waiting for [`StateDir::commit`].
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    tmp: PathBuf,
    replaces: bool,
}

/// The temp file state is staged in (only ever written under the lock).
const TEMP_NAME: &str = "state.json.tmp";

/// Parses and validates a state document.
pub fn parse(bytes: &[u8]) -> Result<Map<String, Json>, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return Err(if bytes.is_empty() { "the file is empty".into() } else { "the file holds no data".into() });
    }
    let doc: Json = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let Json::Object(doc) = doc else {
        return Err("the document is not a JSON object".into());
    };
    for section in ["passwd", "secrets"] {
        match doc.get(section) {
            None => {}
            Some(Json::Object(m)) => {
                if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                    return Err(format!("`{section}.{k}` is not a string"));
                }
            }
            Some(_) => return Err(format!("`{section}` is not an object")),
        }
    }
    match doc.get("instances") {
        None => {}
        Some(Json::Object(m)) => {
            for sub in ["inmap", "uiidmap"] {
                if m.get(sub).is_some_and(|v| !v.is_object()) {
                    return Err(format!("`instances.{sub}` is not an object"));
                }
            }
        }
        Some(_) => return Err("`instances` is not an object".into()),
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_state() {
        for bad in [&b""[..], b"\0\0\0\0", b"{\"passwd\": {\"a\": ", b"[]", b"{\"passwd\": []}"] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse(b"{}").is_ok());
    }

    #[test]
    fn save_is_atomic_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::new(tmp.path());
        let mut state = dir.load("dev").expect("empty");
        let pw = state.password("app");
        let lock = dir.lock("dev").expect("lock");
        dir.save("dev", &state, &lock).expect("save");
        let mode = fs::metadata(dir.state_path("dev")).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = dir.load("dev").expect("load").password("app");
        assert_eq!(again, pw);
        dir.save("dev", &state, &lock).expect("save again");
        assert!(dir.owner_dir("dev").join("state.json.bak").exists());
    }
}
