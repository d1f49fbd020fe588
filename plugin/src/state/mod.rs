//! Bounded per-host state, and the one table shared by all hosts ([`destinations`]).
//!
//! Hosts are keyed by IP address in an LRU map capped at `state.max_hosts`: when a new host
//! arrives and the map is full, the least recently seen host is evicted and counted. Within a
//! host every collection is capped at `state.max_keys_per_host` (oldest first). The hasher is
//! seeded from the config, because keys come from logs that an attacker can shape.

use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::ops::Deref;

pub mod bounded;
pub mod destinations;
pub mod messages;
pub mod risk;
pub mod stats;

pub use bounded::BoundedLru;
pub use destinations::DestinationTable;
pub use messages::SeenMessages;
pub use stats::Stats;

/// Hasher for maps keyed by attacker-controlled values: keyed SipHash-1-3 (the hash std's
/// `HashMap` uses against flooding), seeded from the config's `hash_seed` or the host's seed.
/// Its output is the same on every target, so a snapshot taken in the module reads the same
/// natively, and the flooding benchmark's keys, crafted natively against a known seed,
/// collide in the module exactly as they would natively.
#[derive(Clone, Copy, Debug)]
pub struct SeededState {
    k0: u64,
    k1: u64,
}

impl BuildHasher for SeededState {
    type Hasher = PortableSipHasher;

    fn build_hasher(&self) -> PortableSipHasher {
        PortableSipHasher(siphasher::sip::SipHasher13::new_with_keys(self.k0, self.k1))
    }
}

/// SipHash-1-3 that writes `usize`/`isize` (lengths, enum discriminants) as 64-bit values,
/// so that 32-bit wasm and 64-bit native hosts hash alike.
#[derive(Clone, Debug)]
pub struct PortableSipHasher(siphasher::sip::SipHasher13);

impl Hasher for PortableSipHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    fn write_u64(&mut self, i: u64) {
        self.0.write(&i.to_le_bytes());
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// Builds the seeded hasher.
pub fn seeded(seed: u64) -> SeededState {
    SeededState { k0: seed, k1: seed.rotate_left(32) ^ 0x243f_6a88_85a3_08d3 }
}

/// An item with an event time.
pub trait Timed: Copy {
    /// Event time, ms.
    fn ts(&self) -> i64;
}

/// Items of one host sorted by event time, so that out-of-order events land where they
/// belong. Inserting an item drops the items more than two windows older than it, and at most
/// `cap` are kept, oldest first out. A late item is kept and counted like any other (it only
/// drops what is even older), so one item far in the future cannot make every later one
/// "too late" — the window follows each item, not the newest time ever seen. Shared by the
/// windowed rules.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TimeOrdered<T> {
    items: Vec<T>,
}

impl<T> Default for TimeOrdered<T> {
    fn default() -> Self {
        TimeOrdered { items: Vec::new() }
    }
}

impl<T: Timed> TimeOrdered<T> {
    /// Inserts `item`; returns its index, or `None` if it fell to the cap (it was the oldest).
    pub fn insert(&mut self, item: T, window_ms: i64, cap: usize) -> Option<usize> {
        let ts = item.ts();
        let horizon = ts.saturating_sub(window_ms.saturating_mul(2));
        let stale = self.items.partition_point(|h| h.ts() < horizon);
        self.items.drain(..stale);
        let mut pos = self.items.partition_point(|h| h.ts() <= ts);
        self.items.insert(pos, item);
        let cap = cap.max(1);
        if self.items.len() > cap {
            let excess = self.items.len() - cap;
            self.items.drain(..excess);
            if pos < excess {
                return None;
            }
            pos -= excess;
        }
        Some(pos)
    }

    /// Restores the invariants after the items came from outside (a snapshot): sorted by
    /// time, at most `cap`.
    pub fn repair(&mut self, cap: usize) {
        self.items.sort_by_key(|h| h.ts());
        let cap = cap.max(1);
        if self.items.len() > cap {
            let excess = self.items.len() - cap;
            self.items.drain(..excess);
        }
    }

    /// Keeps the items `f` accepts (it may change them, but not their time).
    pub fn retain_mut(&mut self, f: impl FnMut(&mut T) -> bool) {
        self.items.retain_mut(f);
    }

    /// Index of the first item at or after `ts`.
    pub fn first_at_or_after(&self, ts: i64) -> usize {
        self.items.partition_point(|h| h.ts() < ts)
    }

    /// Index one past the last item at or before `ts`.
    pub fn end_at_or_before(&self, ts: i64) -> usize {
        self.items.partition_point(|h| h.ts() <= ts)
    }

    /// The items, oldest first.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// Items kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}



/// Last alert time per (rule, key) of one host, capped; the oldest entry goes first.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct DedupLog {
    entries: Vec<(u64, i64)>,
}

impl DedupLog {
    /// Whether an alert for `key` at `now_ms` is new (none within `window_ms` either side, so
    /// out-of-order events do not repeat an alert). Records it if so.
    pub fn should_alert(&mut self, key: u64, now_ms: i64, window_ms: i64, cap: usize) -> bool {
        if let Some(e) = self.entries.iter_mut().find(|e| e.0 == key) {
            if (now_ms - e.1).abs() < window_ms {
                return false;
            }
            e.1 = e.1.max(now_ms);
            return true;
        }
        if self.entries.len() >= cap.max(1) {
            if let Some(oldest) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.1).map(|(i, _)| i) {
                self.entries.swap_remove(oldest);
            }
        }
        self.entries.push((key, now_ms));
        true
    }

    /// Keeps the `cap` most recent entries (after a snapshot).
    pub fn repair(&mut self, cap: usize) {
        let cap = cap.max(1);
        if self.entries.len() > cap {
            self.entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.1));
            self.entries.truncate(cap);
        }
    }

    /// Number of keys remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Per-host state for every host, bounded; `S` is what is kept per host (the rules' state,
/// [`crate::rules::host_state::HostState`]).
pub struct HostTable<S> {
    map: BoundedLru<IpAddr, S>,
    hasher: SeededState,
}

/// Read-only, the table is its map: hosts tracked (`len`), evicted (`evictions`) and exported
/// with their state for a snapshot (`export`, least recently seen first) are the map's.
impl<S> Deref for HostTable<S> {
    type Target = BoundedLru<IpAddr, S>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<S: Default> HostTable<S> {
    /// A table holding at most `max_hosts` hosts.
    pub fn new(max_hosts: usize, seed: u64) -> Self {
        HostTable { map: BoundedLru::new(max_hosts, seeded(seed)), hasher: seeded(seed) }
    }

    /// The state of `host`, created if new (evicting the least recently seen host if full).
    pub fn get_mut(&mut self, host: IpAddr) -> &mut S {
        self.map.get_or_insert_mut(host, S::default)
    }

    /// Changes the cap, evicting least recently seen hosts if it shrank.
    pub fn resize(&mut self, max_hosts: usize) {
        self.map.resize(max_hosts);
    }

    /// A table holding `entries` (least recently seen first), as [`BoundedLru::export`] gave
    /// them; beyond `max_hosts` the oldest are evicted and counted.
    pub fn import(max_hosts: usize, seed: u64, entries: Vec<(IpAddr, S)>, evictions: u64) -> Self {
        let mut t = HostTable::new(max_hosts, seed);
        t.map.import(entries, evictions);
        t
    }

    /// Every host's state, to adjust it to a new config (does not change recency).
    pub fn states_mut(&mut self) -> impl Iterator<Item = &mut S> {
        self.map.values_mut()
    }

    /// The tracked hosts' state (for statistics; does not change recency).
    pub fn states(&self) -> impl Iterator<Item = &S> {
        self.map.values()
    }

    /// A 64-bit key for a (rule, key) pair, for [`DedupLog`].
    pub fn key_hash<K: Hash + ?Sized>(&self, rule: &str, key: &K) -> u64 {
        self.hasher.hash_one((rule, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_suppresses_within_window_either_side() {
        let mut d = DedupLog::default();
        assert!(d.should_alert(9, 1_000, 500, 4));
        assert!(!d.should_alert(9, 1_400, 500, 4));
        assert!(!d.should_alert(9, 600, 500, 4), "late event within the window");
        assert!(d.should_alert(9, 1_500, 500, 4));
        assert!(d.should_alert(10, 1_500, 500, 4));
    }

    #[test]
    fn dedup_log_is_capped() {
        let mut d = DedupLog::default();
        for k in 0..10 {
            d.should_alert(k, k as i64, 100, 3);
        }
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn hashes_are_pinned() {
        // Pinned, so a change of hash shows (snapshots hold these keys: bump their format).
        // That the 32-bit module computes the same values is checked through the module in
        // host-test/tests/abi.rs.
        assert_eq!(HostTable::<()>::new(1, 0).key_hash("destination", "example.com"), PINNED);
    }

    /// `HostTable::<()>::new(1, 0).key_hash("destination", "example.com")`.
    const PINNED: u64 = 14_582_187_992_252_627_204;

    #[test]
    fn seeds_change_hashes() {
        let a = HostTable::<()>::new(1, 1).key_hash("r", "k");
        let b = HostTable::<()>::new(1, 2).key_hash("r", "k");
        assert_ne!(a, b);
    }
}
