//! The one bounded map behind every table of the state: an LRU map with a seeded hasher that
//! counts what it evicts, whether a new key pushed the least recently seen one out or a
//! smaller cap cut the table, and that can be exported and rebuilt in recency order for a
//! snapshot.

use std::hash::Hash;
use std::num::NonZeroUsize;

use lru::LruCache;

use super::SeededState;

/// An LRU map capped at a number of entries, counting evictions.
pub struct BoundedLru<K: Hash + Eq, V> {
    map: LruCache<K, V, SeededState>,
    evictions: u64,
}

fn cap(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

impl<K: Hash + Eq + Clone, V> BoundedLru<K, V> {
    /// A map of at most `max` entries.
    pub fn new(max: usize, hasher: SeededState) -> Self {
        BoundedLru { map: LruCache::with_hasher(cap(max), hasher), evictions: 0 }
    }

    /// The entry of `k`, created by `f` if new (evicting the least recently seen entry if
    /// full); it becomes the most recently seen.
    pub fn get_or_insert_mut(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        if self.map.len() == self.map.cap().get() && !self.map.contains(&k) {
            self.evictions += 1;
        }
        self.map.get_or_insert_mut(k, f)
    }

    /// Changes the cap, evicting the least recently seen entries if it shrank.
    pub fn resize(&mut self, max: usize) {
        let before = self.map.len();
        self.map.resize(cap(max));
        self.evictions += before.saturating_sub(self.map.len()) as u64;
    }

    /// Every entry, least recently seen first (for a snapshot).
    pub fn export(&self) -> Vec<(&K, &V)> {
        self.map.iter().rev().collect()
    }

    /// Puts back what [`BoundedLru::export`] gave (oldest first) with the evictions counted
    /// so far; entries beyond the cap evict the oldest, counted too.
    pub fn import(&mut self, entries: impl IntoIterator<Item = (K, V)>, evictions: u64) {
        self.evictions = evictions;
        for (k, v) in entries {
            if self.map.len() == self.map.cap().get() && !self.map.contains(&k) {
                self.evictions += 1;
            }
            self.map.put(k, v);
        }
    }

    /// The values, without changing recency.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.iter().map(|(_, v)| v)
    }

    /// The values, mutable, without changing recency.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.iter_mut().map(|(_, v)| v)
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
}
