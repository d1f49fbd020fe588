//! How many distinct hosts reach each web destination: the "rare destination" test shared by
//! `proxy.daily_beacon` and `proxy.off_hours`.
//!
//! One table for the whole detector (not per host), keyed by the seeded hash of the
//! destination (registered domain or IP). For each destination it remembers at most `keep`
//! hosts (the largest `max_hosts` of the config plus one) with the last time each was seen:
//! that is all a "reached by at most `max_hosts` hosts in the tracking period" test needs, so
//! a popular site costs the same few bytes as a rare one. The table holds at most
//! `state.max_destinations` destinations and evicts the least recently seen beyond that,
//! counting evictions.

use std::ops::Deref;

use super::{BoundedLru, HostTable, SeededState};

/// The seeded hash a destination (its registered domain or address, as
/// `WebDestination::key` gives it) is counted under.
pub fn destination_hash<S: Default>(hosts: &HostTable<S>, dest_key: &str) -> u64 {
    hosts.key_hash("destination", dest_key)
}

/// The hash the table's map files `dest_hash` under when the seed is `seed`. Someone who knew
/// the seed could pick destinations whose slots collide and make every insertion walk one
/// long probe chain; the hash-flooding benchmark (`malhost bench --workload flood`) does just
/// that, to show that a secret seed defeats it.
pub fn slot_hash(seed: u64, dest_hash: u64) -> u64 {
    use std::hash::BuildHasher;
    super::seeded(seed).hash_one(dest_hash)
}

/// Hosts remembered for one destination: (host hash, last seen ms).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Reach {
    /// (host hash, last seen ms), at most `keep`.
    pub hosts: Vec<(u64, i64)>,
}

/// Distinct-host counts per destination, bounded.
pub struct DestinationTable {
    map: BoundedLru<u64, Reach>,
    keep: usize,
}

/// Read-only, the table is its map: destinations tracked (`len`), evicted (`evictions`) and
/// exported for a snapshot (`export`, least recently seen first) are the map's.
impl Deref for DestinationTable {
    type Target = BoundedLru<u64, Reach>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl DestinationTable {
    /// A table of at most `max_destinations`, remembering `keep` hosts per destination.
    pub fn new(max_destinations: usize, keep: usize, hasher: SeededState) -> Self {
        DestinationTable { map: BoundedLru::new(max_destinations, hasher), keep: keep.max(1) }
    }

    /// Records that `host` reached `dest` at `ts`, and returns how many distinct hosts
    /// (this one included, at most `keep`) reached it within `period_ms` before `ts`.
    pub fn record(&mut self, dest: u64, host: u64, ts: i64, period_ms: i64) -> usize {
        self.record_seen(dest, host, ts, period_ms).0
    }

    /// [`DestinationTable::record`], and whether `host` was already remembered for `dest`
    /// (it reached it before, and neither has been evicted since).
    pub fn record_seen(&mut self, dest: u64, host: u64, ts: i64, period_ms: i64) -> (usize, bool) {
        let keep = self.keep;
        let reach = self.map.get_or_insert_mut(dest, Reach::default);
        let position = reach.hosts.iter().position(|h| h.0 == host);
        match position {
            Some(i) => reach.hosts[i].1 = reach.hosts[i].1.max(ts),
            None if reach.hosts.len() < keep => reach.hosts.push((host, ts)),
            None => {
                // Full: the host seen longest ago makes room (the count stays at `keep`).
                if let Some(oldest) = reach.hosts.iter_mut().min_by_key(|h| h.1) {
                    *oldest = (host, ts);
                }
            }
        }
        let since = ts.saturating_sub(period_ms);
        (reach.hosts.iter().filter(|h| h.1 >= since).count(), position.is_some())
    }

    /// Changes how many hosts are remembered per destination (a new config); lists longer
    /// than that are cut, keeping the most recently seen hosts.
    pub fn set_keep(&mut self, keep: usize) {
        let keep = keep.max(1);
        if keep < self.keep {
            for r in self.map.values_mut() {
                if r.hosts.len() > keep {
                    r.hosts.sort_unstable_by_key(|h| std::cmp::Reverse(h.1));
                    r.hosts.truncate(keep);
                }
            }
        }
        self.keep = keep;
    }

    /// Changes the cap, evicting least recently seen destinations if it shrank.
    pub fn resize(&mut self, max_destinations: usize) {
        self.map.resize(max_destinations);
    }

    /// Puts back what [`BoundedLru::export`] gave (oldest first), counting evictions
    /// beyond the cap.
    pub(crate) fn import(&mut self, entries: Vec<(u64, Reach)>, evictions: u64) {
        let keep = self.keep;
        self.map.import(
            entries.into_iter().map(|(k, mut r)| {
                r.hosts.truncate(keep);
                (k, r)
            }),
            evictions,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_hosts_within_the_period() {
        let mut t = DestinationTable::new(10, 4, super::super::seeded(1));
        assert_eq!(t.record(1, 100, 1_000, 10_000), 1);
        assert_eq!(t.record(1, 100, 2_000, 10_000), 1, "same host again");
        assert_eq!(t.record(1, 101, 3_000, 10_000), 2);
        assert_eq!(t.record(1, 102, 20_000, 10_000), 1, "the others fell out of the period");
        assert_eq!(t.record(2, 100, 20_000, 10_000), 1, "another destination");
    }

    #[test]
    fn counts_saturate_at_keep_and_the_table_is_capped() {
        let mut t = DestinationTable::new(2, 3, super::super::seeded(1));
        for h in 0..10 {
            t.record(7, h, 1_000 + h as i64, 1_000_000);
        }
        assert_eq!(t.record(7, 99, 2_000, 1_000_000), 3);
        t.record(8, 1, 0, 10);
        t.record(9, 1, 0, 10);
        assert_eq!(t.len(), 2);
        assert_eq!(t.evictions(), 1);
        t.set_keep(1);
        assert_eq!(t.record(9, 2, 1, 10), 1);
    }
}
