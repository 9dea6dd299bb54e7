//! The record table: a [`RecordId`] is made only by [`Records::push`], so
//! looking one up cannot fail (as with `resolve`'s instance ids).

use super::Record;

/// Index of a record in [`super::Schemas::records`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordId(u32);

/// Every record type of a project, built-ins first.
#[derive(Debug, Default)]
pub struct Records<'a>(Vec<Record<'a>>);

impl<'a> Records<'a> {
    /// Adds a record and returns its id.
    pub fn push(&mut self, record: Record<'a>) -> RecordId {
        let id = RecordId(u32::try_from(self.0.len()).expect("fewer than 2^32 record types"));
        self.0.push(record);
        id
    }

    /// Every record in the order they were added.
    pub fn iter(&self) -> std::slice::Iter<'_, Record<'a>> {
        self.0.iter()
    }
}

// The one place a record index is taken: ids are made only by `push` on
// this table, which never removes, so the index is always in range.
#[allow(clippy::indexing_slicing)]
impl<'a> std::ops::Index<RecordId> for Records<'a> {
    type Output = Record<'a>;

    fn index(&self, id: RecordId) -> &Record<'a> {
        &self.0[id.0 as usize]
    }
}

#[allow(clippy::indexing_slicing)]
impl<'a> std::ops::IndexMut<RecordId> for Records<'a> {
    fn index_mut(&mut self, id: RecordId) -> &mut Record<'a> {
        &mut self.0[id.0 as usize]
    }
}
