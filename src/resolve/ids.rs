//! Typed instance ids: an [`InstanceId`] is made only by resolution, for the
//! [`Instances`] table it returns, so indexing that table with one cannot
//! fail and no caller needs a `get(id) else { continue }` path that would
//! hide a bug (rust-analyzer's `la_arena` is the model; its ids carry the
//! element type, and ours outlive the borrowed declarations, so a plain
//! newtype fits better).

use super::InstanceInfo;

/// Index of an instance or overlay in [`super::Resolved::instances`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(u32);

impl InstanceId {
    /// Only resolution numbers instances (its `Node`s become ids once the
    /// table exists).
    pub(super) fn new(index: usize) -> InstanceId {
        // More than 4 billion instances cannot be parsed in memory; a
        // truncation here would be a bug, so it is one loudly.
        InstanceId(u32::try_from(index).expect("fewer than 2^32 instances"))
    }

    /// The same instance in a table that has `by` entries before its own
    /// (a component's view appends the component's instances).
    pub(super) fn shifted(self, by: usize) -> InstanceId {
        InstanceId::new(self.index() + by)
    }

    /// The position in declaration order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Instances and overlays in declaration order, indexed by [`InstanceId`].
#[derive(Debug, Default)]
pub struct Instances<'a>(Vec<InstanceInfo<'a>>);

impl<'a> Instances<'a> {
    pub(super) fn new(infos: Vec<InstanceInfo<'a>>) -> Instances<'a> {
        debug_assert!(u32::try_from(infos.len()).is_ok());
        Instances(infos)
    }

    /// Every instance and overlay, in declaration order.
    pub fn iter(&self) -> std::slice::Iter<'_, InstanceInfo<'a>> {
        self.0.iter()
    }

    /// Every id with its instance, in declaration order.
    pub fn enumerate(&self) -> impl Iterator<Item = (InstanceId, &InstanceInfo<'a>)> + '_ {
        self.0.iter().enumerate().map(|(i, info)| (InstanceId::new(i), info))
    }

    /// How many instances and overlays were declared.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no instance was declared.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names of `ids`, in their order.
    pub fn names<'s>(&'s self, ids: &'s [InstanceId]) -> impl Iterator<Item = &'s str> + 's {
        ids.iter().map(move |&id| self[id].name())
    }

    /// The instance whose state `id` uses.
    pub fn owner(&self, id: InstanceId) -> &InstanceInfo<'a> {
        &self[self[id].state_owner]
    }
}

impl<'a> std::ops::Index<InstanceId> for Instances<'a> {
    type Output = InstanceInfo<'a>;

    // The one index that cannot be out of range: ids are made only for
    // this table (see the module comment).
    #[allow(clippy::indexing_slicing)]
    fn index(&self, id: InstanceId) -> &InstanceInfo<'a> {
        &self.0[id.index()]
    }
}

impl<'s, 'a> IntoIterator for &'s Instances<'a> {
    type Item = &'s InstanceInfo<'a>;
    type IntoIter = std::slice::Iter<'s, InstanceInfo<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
