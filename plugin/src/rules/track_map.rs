//! The tracks a rule keeps per host, keyed by the seeded hash of what they follow (a web
//! destination, an address and port), bounded: `proxy.daily_beacon` and `fw.beacon` keep one
//! per (host, destination).
//!
//! The keys are already hashed with the secret `hash_seed`, so the map's own hasher only
//! spreads them and needs no secret of its own. When the map is full, the least recently
//! active eighth of the tracks (at least one) is dropped, so the scan is paid once per
//! `cap / 8` new keys. A snapshot holds the tracks as a list sorted by key, so that snapshots
//! are reproducible.

use std::collections::HashMap;

/// A track that knows when it was last active.
pub trait Tracked {
    /// Time of its newest event, ms.
    fn last_ms(&self) -> i64;
}

/// The hasher of the map: its keys are already secret-seeded hashes, so it only spreads them
/// (a fixed, cheap ahash).
type Spreader = ahash::RandomState;

fn spreader() -> Spreader {
    ahash::RandomState::with_seeds(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344)
}

/// Tracks by key hash, at most a cap of them.
#[derive(Clone, Debug)]
pub struct TrackMap<T> {
    map: HashMap<u64, T, Spreader>,
}

impl<T> Default for TrackMap<T> {
    fn default() -> Self {
        TrackMap { map: HashMap::with_hasher(spreader()) }
    }
}

impl<T: serde::Serialize> serde::Serialize for TrackMap<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v: Vec<(&u64, &T)> = self.map.iter().collect();
        v.sort_by_key(|e| *e.0);
        s.collect_seq(v)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for TrackMap<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<(u64, T)> = serde::Deserialize::deserialize(d)?;
        let mut map = HashMap::with_capacity_and_hasher(v.len(), spreader());
        map.extend(v);
        Ok(TrackMap { map })
    }
}

impl<T: Tracked> TrackMap<T> {
    /// The track of `key`, made by `new` when there is none; room is made first when the map
    /// holds `cap` tracks.
    pub fn entry(&mut self, key: u64, cap: usize, new: impl FnOnce() -> T) -> &mut T {
        let cap = cap.max(1);
        if self.map.len() >= cap && !self.map.contains_key(&key) {
            self.evict_oldest(cap);
        }
        self.map.entry(key).or_insert_with(new)
    }

    /// Stops following `key`.
    pub fn remove(&mut self, key: u64) {
        self.map.remove(&key);
    }

    /// The track of `key`, if there is one.
    pub fn get_mut(&mut self, key: u64) -> Option<&mut T> {
        self.map.get_mut(&key)
    }

    /// Every track.
    pub fn tracks(&self) -> impl Iterator<Item = &T> {
        self.map.values()
    }

    /// Every track, for repairs after a snapshot.
    pub fn tracks_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.map.values_mut()
    }

    /// Drops the least recently active until at most `cap` are left.
    pub fn shrink_to(&mut self, cap: usize) {
        let cap = cap.max(1);
        while self.map.len() > cap {
            self.evict_oldest(cap);
        }
    }

    /// Tracks kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops the least recently active eighth of `cap` (at least one).
    fn evict_oldest(&mut self, cap: usize) {
        let n = (cap / 8).max(1);
        let mut last: Vec<i64> = self.map.values().map(|t| t.last_ms()).collect();
        if last.is_empty() {
            return;
        }
        let k = n.min(last.len()) - 1;
        let (_, &mut cut, _) = last.select_nth_unstable(k);
        let mut dropped = 0;
        self.map.retain(|_, t| {
            if dropped < n && t.last_ms() <= cut {
                dropped += 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Tracked for i64 {
        fn last_ms(&self) -> i64 {
            *self
        }
    }

    #[test]
    fn eviction_drops_the_least_recent() {
        let mut m = TrackMap::<i64>::default();
        for k in 0..16u64 {
            m.entry(k, 16, || k as i64);
        }
        m.entry(99, 16, || 99);
        assert_eq!(m.len(), 15, "two dropped, one added");
        assert!(!m.map.contains_key(&0) && !m.map.contains_key(&1) && m.map.contains_key(&2));
        m.shrink_to(4);
        assert_eq!(m.len(), 4);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "[[13,13],[14,14],[15,15],[99,99]]");
        assert_eq!(serde_json::from_str::<TrackMap<i64>>(&json).unwrap().len(), 4);
    }
}
