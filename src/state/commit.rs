//! Saving the new state of many owners at once: the one protocol every
//! writer of state follows (spec §9).
//!
//! Owners are handled in batches, locked in name order (every writer locks in
//! the same order, so concurrent builds cannot deadlock). Under the locks each
//! owner's file is read again: if another build wrote it since the caller's
//! snapshot, the caller computes the owner's values again from what that
//! build wrote (both then agree on every secret). The batch's files are
//! staged, made durable with one `syncfs`, renamed into place and synced
//! again: the crash safety of a per-file fsync at a fraction of the cost.

use super::{State, StateDir};
use rayon::prelude::*;
use std::io;

/// How many owners are locked and made durable together.
const BATCH: usize = 256;

/// One owner's new state, computed against the state file as it was when
/// its fingerprint was `snapshot` (see [`StateDir::load_versioned`]).
pub struct Pending {
    /// The owner.
    pub owner: String,
    /// Fingerprint of the state the new one was computed from.
    pub snapshot: u64,
    /// The new state.
    pub state: State,
}

/// What the caller computed again for an owner another build wrote.
pub enum Redone {
    /// Save this state.
    Save(State),
    /// Nothing new to save for this owner.
    Unchanged,
    /// Computing failed (the caller reported why): write none of the batch.
    Failed,
}

/// Where saving stopped.
#[derive(Debug)]
pub struct CommitError {
    /// The owner being handled (the batch's first, after staging).
    pub owner: String,
    /// True when the new state had already been renamed into place: it may
    /// not be on disk yet, but the previous state is no longer the live one.
    pub in_place: bool,
    /// The cause.
    pub error: io::Error,
}

impl CommitError {
    /// What the failure left on disk, for the user.
    pub fn outcome(&self) -> &'static str {
        if self.in_place {
            "the new state is in place but may not be on disk yet; run the build again"
        } else {
            "the previous state is intact"
        }
    }
}

impl StateDir {
    /// Saves every pending owner's state. `redo(index, current)` is called
    /// for an owner whose file changed since its snapshot, with what is
    /// there now; it returns what to save instead. A batch in which `redo`
    /// failed writes nothing, and saving stops there.
    pub fn save_all(
        &self,
        pending: Vec<Pending>,
        mut redo: impl FnMut(usize, State) -> Redone,
    ) -> Result<(), CommitError> {
        // Remember each owner's place in the caller's list, then sort by name.
        let mut rest: Vec<(usize, Pending)> = pending.into_iter().enumerate().collect();
        rest.sort_by(|(_, a), (_, b)| a.owner.cmp(&b.owner));
        while !rest.is_empty() {
            let later = rest.split_off(rest.len().min(BATCH));
            let batch = std::mem::replace(&mut rest, later);
            if !self.save_batch(batch, &mut redo)? {
                break;
            }
        }
        Ok(())
    }

    /// One batch; false when `redo` failed and nothing was written.
    fn save_batch(
        &self,
        batch: Vec<(usize, Pending)>,
        redo: &mut impl FnMut(usize, State) -> Redone,
    ) -> Result<bool, CommitError> {
        let failed = |owner: &str, in_place: bool| {
            let owner = owner.to_string();
            move |error: io::Error| CommitError { owner, in_place, error }
        };
        let first = batch.first().map(|(_, p)| p.owner.clone()).unwrap_or_default();
        // Create directories and lock files in parallel, then lock in name order.
        let files: Vec<io::Result<super::LockFile>> = batch.par_iter().map(|(_, p)| self.lock_file(&p.owner)).collect();
        let mut locks = Vec::with_capacity(batch.len());
        for ((_, p), file) in batch.iter().zip(files) {
            locks.push(file.and_then(super::LockFile::acquire).map_err(failed(&p.owner, false))?);
        }
        // Owners nobody else wrote meanwhile (the common case) are staged in parallel.
        let current: Vec<_> = batch.par_iter().map(|(_, p)| self.load_versioned(&p.owner)).collect();
        let mut staged = Vec::new();
        let mut fresh = Vec::new();
        let mut redo_failed = false;
        for (((index, p), lock), current) in batch.into_iter().zip(&locks).zip(current) {
            let (now, fingerprint) = current.map_err(|e| failed(&p.owner, false)(io::Error::other(e.to_string())))?;
            if fingerprint == p.snapshot {
                fresh.push((p, lock));
                continue;
            }
            // Another build wrote this owner's state since the snapshot.
            match redo(index, now) {
                Redone::Save(state) if !redo_failed => {
                    staged.push(self.stage(&p.owner, &state, lock).map_err(failed(&p.owner, false))?);
                }
                Redone::Save(_) | Redone::Unchanged => {}
                Redone::Failed => redo_failed = true,
            }
        }
        if redo_failed {
            // The staged temp files are swept under the lock by the next writer.
            return Ok(false);
        }
        let fresh_staged: Vec<_> = fresh
            .par_iter()
            .map(|(p, lock)| self.stage(&p.owner, &p.state, lock).map_err(failed(&p.owner, false)))
            .collect::<Result<_, _>>()?;
        staged.extend(fresh_staged);
        if staged.is_empty() {
            return Ok(true);
        }
        self.sync().map_err(failed(&first, false))?;
        // Renames of distinct owners are independent: overlap their latency.
        staged
            .into_par_iter()
            .map(|s| self.commit(s))
            .collect::<io::Result<Vec<()>>>()
            .map_err(failed(&first, false))?;
        self.sync().map_err(failed(&first, true))?;
        Ok(true)
    }
}
