//! Reading and writing state files on disk.
//!
//! An owner's directory holds `state.json` (live), `state.json.bak` (the
//! previous generation), `.lock`, and, only while a writer holds the lock,
//! `state.json.tmp` and `state.json.bak.tmp`. Every step of a write leaves a
//! live `state.json` that is the old or the new generation and a
//! `state.json.bak` that is an older one, so a writer killed at any point
//! loses nothing a manifest was written with.
//!
//! Files are created with mode 0600 and directories with 0700 by the system
//! call that creates them, never by a chmod afterwards: under umask 000 a
//! chmod would leave a window in which other users can open the file.

use super::State;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest state file read; a bigger one is refused (it cannot be ours).
pub const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// The live state file of an owner.
const STATE_NAME: &str = "state.json";
/// The previous generation, kept for recovery.
const BACKUP_NAME: &str = "state.json.bak";
/// The new state, staged beside the live file (only ever written under the lock).
const TEMP_NAME: &str = "state.json.tmp";
/// How many secrets builds generated since the last remote deploy.
const UNDEPLOYED_NAME: &str = "undeployed-secrets";
/// The next backup, linked here and renamed over `state.json.bak`, so that a
/// writer killed in between never leaves the owner without a backup.
const BACKUP_TEMP_NAME: &str = "state.json.bak.tmp";

/// Why a state file was refused.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io(PathBuf, io::Error),
    /// The file is not a state document (empty, truncated, zero-filled, too big...).
    Corrupt {
        /// The refused file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
        /// What `state.json.bak` beside it holds, for the recovery steps.
        backup: Backup,
    },
    /// `state.json` is gone but `state.json.bak` is there: the state was
    /// lost (deleted, a partial restore), not never made.
    Lost {
        /// The missing file.
        path: PathBuf,
        /// What the backup holds.
        backup: Backup,
    },
    /// The state is encrypted and cannot be decrypted here (why).
    Sealed(PathBuf, String),
    /// `state.json` is gone but another file facs writes beside it is there
    /// (a backup's temp file, the undeployed-secrets count): state was made
    /// here once.
    Orphaned {
        /// The missing file.
        path: PathBuf,
        /// The file that shows state existed.
        leftover: PathBuf,
    },
}

/// What the backup beside a refused state file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backup {
    /// No `state.json.bak` (the refused file was the first generation).
    Missing,
    /// A valid state document.
    Valid,
    /// Not valid state either, or unreadable (why).
    Invalid(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(path, e) => {
                write!(f, "cannot read state file {}: {e}; it was left untouched", path.display())
            }
            LoadError::Lost { path, backup } => {
                let bak = path.with_file_name(BACKUP_NAME);
                write!(
                    f,
                    "state file {} is missing but its backup {} is there; refusing to continue, because starting \
                     from empty state would replace every generated password and secret, and the next build would \
                     overwrite the backup. To recover: ",
                    path.display(),
                    bak.display()
                )?;
                match backup {
                    Backup::Valid => write!(
                        f,
                        "restore the previous generation with `cp -p {bak} {path}` (or restore {path} from your \
                         backups), then build again; to start over deliberately, move {bak} aside first",
                        bak = bak.display(),
                        path = path.display()
                    ),
                    Backup::Missing | Backup::Invalid(_) => write!(
                        f,
                        "{bak} is not usable state ({why}); restore {path} from your backups, then build again",
                        bak = bak.display(),
                        path = path.display(),
                        why = match backup {
                            Backup::Invalid(why) => why.as_str(),
                            _ => "unreadable",
                        }
                    ),
                }
            }
            LoadError::Sealed(path, why) => write!(f, "cannot read state file {}: {why}", path.display()),
            LoadError::Orphaned { path, leftover } => write!(
                f,
                "state file {} is missing but {} (which facs writes beside it) is there: the state was lost, not \
                 never made. Refusing to continue, because starting from empty state would replace every generated \
                 password and secret. To recover: restore {} from your backups, then build again; to start over \
                 deliberately, remove {} first",
                path.display(),
                leftover.display(),
                path.display(),
                leftover.display()
            ),
            LoadError::Corrupt { path, why, backup } => {
                let bak = path.with_file_name(BACKUP_NAME);
                write!(
                    f,
                    "state file {} is not valid state ({why}); refusing to continue, because starting from empty \
                     state would replace every generated password and secret. To recover: ",
                    path.display()
                )?;
                // The steps depend on what the backup holds: pointing at a
                // backup that does not exist would send the user in circles.
                match backup {
                    Backup::Valid => write!(
                        f,
                        "{bak} holds the previous generation and is valid state: keep the refused file and restore \
                         the backup with `mv {path} {path}.refused && cp -p {bak} {path}`, then build again (only \
                         values first generated by the last build that wrote the file will be generated anew); or \
                         restore {path} from your backups",
                        bak = bak.display(),
                        path = path.display()
                    ),
                    Backup::Missing => write!(
                        f,
                        "there is no {bak} (facs keeps one from the second generation on): restore {path} from your \
                         backups, then build again. Only if no copy exists, move the file aside to start over, which \
                         generates every password and secret anew",
                        bak = bak.display(),
                        path = path.display()
                    ),
                    Backup::Invalid(bak_why) => write!(
                        f,
                        "{bak} is not usable either ({bak_why}); restore {path} (or {bak}) from your backups, then \
                         build again",
                        bak = bak.display(),
                        path = path.display()
                    ),
                }
            }
        }
    }
}

/// An I/O error that names the path it happened on (the raw error does not,
/// and "No space left on device" alone does not say where).
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Removes a file; one that does not exist is not an error.
fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(at(path)(e)),
        _ => Ok(()),
    }
}

/// Creates `path` with mode 0600, replacing a leftover of a killed writer.
/// The leftover is removed rather than truncated: `O_CREAT`'s mode applies
/// only to a file it creates, and the leftover's mode is not ours to trust.
fn create_private(path: &Path) -> io::Result<File> {
    let create = || OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            remove_if_exists(path)?;
            create().map_err(at(path))
        }
        result => result.map_err(at(path)),
    }
}

/// A state directory (`<state>/<owner>/state.json`).
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
    /// age recipients the state is written encrypted to (none: plaintext).
    recipients: Vec<String>,
}

/// An exclusive lock on one owner's state; released on drop.
pub struct StateLock {
    _file: File,
}

/// An owner's open lock file, not yet locked.
pub struct LockFile {
    file: File,
    path: PathBuf,
}

impl LockFile {
    /// Blocks until the exclusive lock is held.
    pub fn acquire(self) -> io::Result<StateLock> {
        self.file.lock().map_err(at(&self.path))?;
        Ok(StateLock { _file: self.file })
    }
}

impl StateDir {
    /// The state directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into(), recipients: Vec::new() }
    }

    /// The same directory, written encrypted to `recipients` (age X25519
    /// public keys, already checked) when there are any.
    pub fn with_recipients(mut self, recipients: Vec<String>) -> StateDir {
        self.recipients = recipients;
        self
    }

    /// The recipients state is written encrypted to.
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// The state directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<owner>`
    pub fn owner_dir(&self, owner: &str) -> PathBuf {
        self.root.join(owner)
    }

    /// `<root>/<owner>/state.json`
    pub fn state_path(&self, owner: &str) -> PathBuf {
        self.owner_dir(owner).join(STATE_NAME)
    }

    /// Takes the exclusive lock of an owner, creating its directory (0700).
    pub fn lock(&self, owner: &str) -> io::Result<StateLock> {
        self.lock_file(owner)?.acquire()
    }

    /// Creates (or opens) an owner's directory and lock file without locking
    /// it. Creating files is the slow part on most disks and needs no order,
    /// so a batch creates them in parallel and then acquires them in order.
    pub(super) fn lock_file(&self, owner: &str) -> io::Result<LockFile> {
        let dir = self.owner_dir(owner);
        // `mode` applies to every directory created, the state root included.
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(at(&dir))?;
        let path = dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(at(&path))?;
        Ok(LockFile { file, path })
    }

    /// `<root>/<owner>/undeployed-secrets`: how many secret values builds
    /// generated for the owner since its last deploy to remote nodes. The
    /// original facsimile ignores the file; `facs deploy` reads it.
    pub fn undeployed_path(&self, owner: &str) -> PathBuf {
        self.owner_dir(owner).join(UNDEPLOYED_NAME)
    }

    /// The count in [`StateDir::undeployed_path`] (0 when absent; an
    /// unreadable count is read as 1: refusing a deploy is the safe mistake).
    pub fn undeployed(&self, owner: &str) -> usize {
        match fs::read_to_string(self.undeployed_path(owner)) {
            Ok(text) => text.trim().parse().unwrap_or(1),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(_) => 1,
        }
    }

    /// Adds `count` freshly generated values to the owner's undeployed count.
    pub fn add_undeployed(&self, owner: &str, count: usize) -> io::Result<()> {
        let path = self.undeployed_path(owner);
        let total = self.undeployed(owner).saturating_add(count);
        let mut file =
            OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(&path).map_err(at(&path))?;
        writeln!(file, "{total}").map_err(at(&path))
    }

    /// Forgets the undeployed count after a deploy pushed the values.
    pub fn clear_undeployed(&self, owner: &str) -> io::Result<()> {
        remove_if_exists(&self.undeployed_path(owner))
    }

    /// Makes an owner's state private again: the original facsimile wrote
    /// its files 0644, so a copied state directory is readable by every user.
    /// Returns what was tightened, as (path, old mode), for W003.
    pub fn tighten(&self, owner: &str) -> io::Result<Vec<(PathBuf, u32)>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.owner_dir(owner);
        let mut done = Vec::new();
        let candidates = [(dir.clone(), 0o700)]
            .into_iter()
            .chain([STATE_NAME, BACKUP_NAME, UNDEPLOYED_NAME].map(|n| (dir.join(n), 0o600)));
        for (path, private) in candidates {
            // Never through a symlink: it would chmod whatever it points at.
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            if meta.file_type().is_symlink() {
                continue;
            }
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                fs::set_permissions(&path, fs::Permissions::from_mode(private)).map_err(at(&path))?;
                done.push((path, mode));
            }
        }
        Ok(done)
    }

    /// Reads an owner's state; a missing file is empty state.
    pub fn load(&self, owner: &str) -> Result<State, LoadError> {
        self.load_versioned(owner).map(|(state, _)| state)
    }

    /// Reads an owner's state with a fingerprint of the file's bytes (0 when
    /// absent), to tell later whether another build has written it since.
    pub fn load_versioned(&self, owner: &str) -> Result<(State, u64), LoadError> {
        let path = self.state_path(owner);
        let bytes = match read_bounded(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                let bak = path.with_file_name(BACKUP_NAME);
                if fs::symlink_metadata(&bak).is_ok() {
                    return Err(LoadError::Lost { backup: backup_of(&path), path });
                }
                // `.lock` alone holds nothing (a first build that failed
                // leaves it); the others exist only once state was written.
                for name in [BACKUP_TEMP_NAME, UNDEPLOYED_NAME] {
                    let leftover = path.with_file_name(name);
                    if fs::symlink_metadata(&leftover).is_ok() {
                        return Err(LoadError::Orphaned { path, leftover });
                    }
                }
                return Ok((State::default(), 0));
            }
            Err(Refused::Io(e)) => return Err(LoadError::Io(path, e)),
            Err(Refused::Corrupt(why)) => return Err(corrupt(path, why)),
        };
        let fingerprint = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            h.finish() | 1
        };
        let encrypted = crypt::is_encrypted(&bytes);
        let plain = if encrypted {
            match crypt::decrypt(&bytes) {
                Ok(plain) => plain,
                Err(why) => return Err(LoadError::Sealed(path, why)),
            }
        } else {
            bytes
        };
        match parse(&plain) {
            Ok(doc) => {
                let mut state = State::from_doc(doc);
                state.encrypted = encrypted;
                Ok((state, fingerprint))
            }
            Err(why) => Err(corrupt(path, why)),
        }
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
    /// Dropping the result without committing it removes the temp file.
    pub(super) fn stage(&self, owner: &str, state: &State, _lock: &StateLock) -> io::Result<Staged> {
        // `lock` created the directory. Writers hold the lock, so one fixed temp
        // name suffices.
        let dir = self.owner_dir(owner);
        let text = state.to_text_for(&self.recipients).map_err(io::Error::other)?;
        let bytes = if self.recipients.is_empty() {
            text.into_bytes()
        } else {
            crypt::encrypt(&self.recipients, text.as_bytes()).map_err(io::Error::other)?
        };
        let tmp = dir.join(TEMP_NAME);
        let mut file = create_private(&tmp)?;
        let replaces = fs::symlink_metadata(dir.join(STATE_NAME)).is_ok();
        let staged = Staged { dir, tmp: Some(tmp.clone()), replaces };
        // On error `staged` is dropped here, which removes the partial file.
        file.write_all(&bytes).map_err(at(&tmp))?;
        Ok(staged)
    }

    /// Makes the staged state live: the old file becomes `state.json.bak` and
    /// the new one replaces it in one rename. Call after [`StateDir::sync`], so
    /// the new contents are on disk before they can become live.
    pub(super) fn commit(&self, mut staged: Staged) -> io::Result<()> {
        let path = staged.dir.join(STATE_NAME);
        if staged.replaces {
            // Without a backup there is no commit: a write that cannot keep
            // the previous generation fails with the old state live.
            backup(&staged.dir, &self.recipients)?;
        }
        if let Some(tmp) = &staged.tmp {
            fs::rename(tmp, &path).map_err(at(&path))?;
        }
        staged.tmp = None;
        Ok(())
    }

    /// Moves `old`'s state to `new` (`facs state mv`), under `old`'s lock.
    /// The caller has checked that `new` has no state of its own: an empty
    /// directory left by a lock is replaced by the rename.
    pub fn rename_owner(&self, old: &str, new: &str) -> io::Result<()> {
        let _old_lock = self.lock(old)?;
        let target = self.owner_dir(new);
        if target.exists() {
            let _ = fs::remove_file(target.join(".lock"));
            fs::remove_dir(&target)?;
        }
        fs::rename(self.owner_dir(old), &target)?;
        self.sync()
    }

    /// Flushes everything written on the state directory's file system (one
    /// `syncfs` instead of an fsync per file and per directory).
    pub(super) fn sync(&self) -> io::Result<()> {
        let root = File::open(&self.root).map_err(at(&self.root))?;
        rustix::fs::syncfs(&root).map_err(|e| at(&self.root)(e.into()))
    }
}

/// Points `state.json.bak` at the live file's generation. The link is made
/// under a temp name and renamed over the old backup, so at every instant
/// some backup exists (after the first generation).
fn backup(dir: &Path, recipients: &[String]) -> io::Result<()> {
    let live = dir.join(STATE_NAME);
    let bak = dir.join(BACKUP_NAME);
    let tmp = dir.join(BACKUP_TEMP_NAME);
    let meta = fs::symlink_metadata(&live).map_err(at(&live))?;
    // Turning encryption on: the previous generation is plaintext, and a
    // plaintext backup beside encrypted state would be committed with it.
    // It is kept encrypted instead.
    if !recipients.is_empty() {
        let old = fs::read(&live).map_err(at(&live))?;
        if !crypt::is_encrypted(&old) {
            let sealed = crypt::encrypt(recipients, &old).map_err(io::Error::other)?;
            let mut to = create_private(&tmp)?;
            if let Err(e) = to.write_all(&sealed).and_then(|()| to.sync_all()) {
                let _ = fs::remove_file(&tmp);
                return Err(at(&tmp)(e));
            }
            return fs::rename(&tmp, &bak).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                at(&bak)(e)
            });
        }
    }
    if fs::symlink_metadata(&bak).is_ok_and(|b| b.dev() == meta.dev() && b.ino() == meta.ino()) {
        // Already the backup (a writer failed after making it). Linking
        // again would leave the temp name behind: rename(2) of a hard link
        // onto another link of the same file does nothing.
        return Ok(());
    }
    // A hard link shares the live file's mode. State written by facs is 0600;
    // a legacy file may be readable by others, and then the backup is a copy
    // created 0600. A file system without hard links gets a copy too.
    let private = meta.is_file() && meta.mode() & 0o077 == 0;
    let link = || match fs::hard_link(&live, &tmp) {
        // A leftover of a killed writer.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(&tmp);
            fs::hard_link(&live, &tmp)
        }
        result => result,
    };
    let linked = private
        && match link() {
            Ok(()) => true,
            // No hard links here (or too many): copy. Any other error, such
            // as a full disk, would fail the copy too.
            Err(e)
                if [
                    rustix::io::Errno::PERM,
                    rustix::io::Errno::OPNOTSUPP,
                    rustix::io::Errno::MLINK,
                    rustix::io::Errno::NOSYS,
                ]
                .iter()
                .any(|errno| e.raw_os_error() == Some(errno.raw_os_error())) =>
            {
                false
            }
            Err(e) => return Err(at(&tmp)(e)),
        };
    if !linked {
        let mut from = File::open(&live).map_err(at(&live))?;
        let mut to = create_private(&tmp)?;
        if let Err(e) = io::copy(&mut from, &mut to) {
            let _ = fs::remove_file(&tmp);
            return Err(at(&tmp)(e));
        }
    }
    fs::rename(&tmp, &bak).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        at(&bak)(e)
    })
}

/// State written by [`StateDir::stage`], waiting for [`StateDir::commit`].
/// Dropped uncommitted (a failed batch), it removes its temp file; the owner's
/// lock is still held then, since the lock outlives what was staged under it.
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    /// The temp file, until it has been renamed into place.
    tmp: Option<PathBuf>,
    replaces: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Why reading a state file failed.
enum Refused {
    Io(io::Error),
    Corrupt(String),
}

/// Reads a state file of at most [`MAX_STATE_BYTES`] (`None` when absent).
/// The size is checked on the open file before reading, so a huge or sparse
/// file is refused at once, and the read stops at the limit should the file
/// grow meanwhile.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, Refused> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Refused::Io(e)),
    };
    let meta = file.metadata().map_err(Refused::Io)?;
    if !meta.is_file() {
        return Err(Refused::Corrupt("it is not a regular file".into()));
    }
    let too_big = |len: u64| format!("{len} bytes, more than the limit of {MAX_STATE_BYTES} bytes (64 MiB)");
    if meta.len() > MAX_STATE_BYTES {
        return Err(Refused::Corrupt(too_big(meta.len())));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_STATE_BYTES + 1).read_to_end(&mut bytes).map_err(Refused::Io)?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(Refused::Corrupt(too_big(bytes.len() as u64)));
    }
    Ok(Some(bytes))
}

/// The refusal of `path`, with what its backup holds.
fn corrupt(path: PathBuf, why: String) -> LoadError {
    LoadError::Corrupt { backup: backup_of(&path), path, why }
}

/// What the `state.json.bak` beside `path` holds.
fn backup_of(path: &Path) -> Backup {
    match read_bounded(&path.with_file_name(BACKUP_NAME)) {
        Ok(None) => Backup::Missing,
        Ok(Some(bytes)) => {
            let plain = if crypt::is_encrypted(&bytes) { crypt::decrypt(&bytes) } else { Ok(bytes) };
            match plain.and_then(|p| parse(&p)) {
                Ok(_) => Backup::Valid,
                Err(why) => Backup::Invalid(why),
            }
        }
        Err(Refused::Io(e)) => Backup::Invalid(format!("cannot read it: {e}")),
        Err(Refused::Corrupt(why)) => Backup::Invalid(why),
    }
}

use super::crypt;
pub use super::document::parse;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn refuses_what_is_not_state() {
        for bad in [&b""[..], b"\0\0\0\0", b"{\"passwd\": {\"a\": ", b"[]", b"{\"passwd\": []}"] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse(b"{}").is_ok());
    }

    #[test]
    fn save_is_atomic_and_private() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::new(tmp.path());
        let mut state = dir.load("dev").expect("empty");
        let pw = state.password("app");
        let lock = dir.lock("dev").expect("lock");
        dir.save("dev", &state, &lock).expect("save");
        assert_eq!(mode(&dir.state_path("dev")), 0o600);
        let again = dir.load("dev").expect("load").password("app");
        assert_eq!(again, pw);
        dir.save("dev", &state, &lock).expect("save again");
        assert!(dir.owner_dir("dev").join(BACKUP_NAME).exists());
    }

    #[test]
    fn an_uncommitted_stage_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::new(tmp.path());
        let mut state = State::default();
        state.password("app");
        let lock = dir.lock("dev").expect("lock");
        let staged = dir.stage("dev", &state, &lock).expect("stage");
        assert!(dir.owner_dir("dev").join(TEMP_NAME).exists());
        drop(staged);
        assert!(!dir.owner_dir("dev").join(TEMP_NAME).exists());
        assert!(!dir.state_path("dev").exists());
    }

    #[test]
    fn a_leftover_temp_file_is_replaced_not_reused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::new(tmp.path());
        let lock = dir.lock("dev").expect("lock");
        let leftover = dir.owner_dir("dev").join(TEMP_NAME);
        fs::write(&leftover, "a much longer leftover of a killed writer").expect("seed");
        fs::set_permissions(&leftover, fs::Permissions::from_mode(0o644)).expect("chmod");
        dir.save("dev", &State::default(), &lock).expect("save");
        assert_eq!(mode(&dir.state_path("dev")), 0o600);
        assert_eq!(fs::read_to_string(dir.state_path("dev")).expect("read"), "{}\n");
    }

    #[test]
    fn the_backup_of_a_legacy_world_readable_file_is_private() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::new(tmp.path());
        let lock = dir.lock("dev").expect("lock");
        fs::write(dir.state_path("dev"), "{\"passwd\": {\"app\": \"old\"}}\n").expect("seed");
        fs::set_permissions(dir.state_path("dev"), fs::Permissions::from_mode(0o644)).expect("chmod");
        let mut state = dir.load("dev").expect("load");
        state.password("new");
        dir.save("dev", &state, &lock).expect("save");
        let bak = dir.owner_dir("dev").join(BACKUP_NAME);
        assert_eq!(mode(&bak), 0o600);
        assert_eq!(fs::read_to_string(bak).expect("read"), "{\"passwd\": {\"app\": \"old\"}}\n");
        assert!(!dir.owner_dir("dev").join(BACKUP_TEMP_NAME).exists());
    }

    #[test]
    fn the_refusal_says_what_the_backup_holds() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::new(tmp.path());
        fs::create_dir_all(dir.owner_dir("dev")).expect("mkdir");
        fs::write(dir.state_path("dev"), "").expect("seed");
        let refused = |dir: &StateDir| match dir.load("dev") {
            Err(LoadError::Corrupt { backup, .. }) => backup,
            other => panic!("not refused: {other:?}"),
        };
        assert_eq!(refused(&dir), Backup::Missing);
        let bak = dir.owner_dir("dev").join(BACKUP_NAME);
        fs::write(&bak, "{}").expect("seed");
        assert_eq!(refused(&dir), Backup::Valid);
        fs::write(&bak, "{").expect("seed");
        assert!(matches!(refused(&dir), Backup::Invalid(_)));
    }
}
