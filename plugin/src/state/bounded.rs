//! The one bounded map behind every table of the state: an LRU map with a seeded hasher that
//! counts what it evicts, whether a new key pushed the least recently seen one out or a
//! smaller cap cut the table, and that can be exported and rebuilt in recency order for a
//! snapshot. Memory follows the entries held, not the cap: a cap of millions reserves
//! nothing up front. Each table derefs to its map, read-only: how many entries it holds and
//! has evicted, and its snapshot export, are read off the map, while changes go through the
//! table's own methods, which keep its invariants.

use std::hash::Hash;

use lru::LruCache;

use super::SeededState;

/// An LRU map capped at a number of entries, counting evictions.
pub struct BoundedLru<K: Hash + Eq, V> {
    /// Unbounded in `lru`'s terms (so that it grows with use); the cap is kept here.
    map: LruCache<K, V, SeededState>,
    cap: usize,
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedLru<K, V> {
    /// A map of at most `max` entries (at least one).
    pub fn new(max: usize, hasher: SeededState) -> Self {
        BoundedLru { map: LruCache::unbounded_with_hasher(hasher), cap: max.max(1), evictions: 0 }
    }

    /// Evicts the least recently seen entry if the map is full and `k` is new.
    fn make_room_for(&mut self, k: &K) {
        if self.map.len() >= self.cap && !self.map.contains(k) {
            while self.map.len() >= self.cap {
                self.map.pop_lru();
                self.evictions = self.evictions.saturating_add(1);
            }
        }
    }

    /// The entry of `k`, created by `f` if new (evicting the least recently seen entry if
    /// full); it becomes the most recently seen.
    pub fn get_or_insert_mut(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        self.make_room_for(&k);
        self.map.get_or_insert_mut(k, f)
    }

    /// Changes the cap, evicting the least recently seen entries if it shrank.
    pub fn resize(&mut self, max: usize) {
        self.cap = max.max(1);
        while self.map.len() > self.cap {
            self.map.pop_lru();
            self.evictions = self.evictions.saturating_add(1);
        }
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
            self.make_room_for(&k);
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
