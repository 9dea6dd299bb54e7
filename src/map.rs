//! The insertion-ordered map every stage uses, a leaf module.
//!
//! `indexmap` with foldhash instead of std's SipHash: key lookups in merge
//! and evaluation were a tenth of all instructions of a build in callgrind
//! (benches/README.md), almost all of it hashing short keys. foldhash's
//! `RandomState` is seeded per process, so keys chosen to collide cannot be
//! prepared in advance.

/// An ordered map with a fast seeded hasher. Build one with `default()` or
/// [`with_capacity`] (`IndexMap::new` exists only for std's hasher).
pub type IndexMap<K, V> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;

/// An empty map with room for `n` entries.
pub fn with_capacity<K, V>(n: usize) -> IndexMap<K, V> {
    IndexMap::with_capacity_and_hasher(n, foldhash::fast::RandomState::default())
}
