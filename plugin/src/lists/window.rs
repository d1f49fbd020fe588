//! w and s of one host and one field over a sliding event-time window (SPEC §5.1).
//!
//! For values k of the list, w_k is the number of the host's events with value k in the
//! window; w = max_k w_k ("count detection" fires when w > t_w) and s = |{k : w_k > 0}|
//! ("type detection" fires when s > t_s). Hits are kept sorted by time, so out-of-order
//! events count; a hit drops the hits more than two windows older than it, and at most `cap`
//! are kept ([`TimeOrdered`]). The rule and the evaluation both use this type.

use crate::state::TimeOrdered;

/// One list hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// Event time, ms.
    pub ts: i64,
    /// Index of the value in the field's list.
    pub value: u32,
}

/// w, s and the span of the window that produced them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scores {
    /// max_k w_k.
    pub w: u32,
    /// Number of distinct values.
    pub s: u32,
    /// (value index, count) for every value in the window, by count descending.
    pub counts: Vec<(u32, u32)>,
    /// Earliest and latest hit in the window, ms.
    pub first_ms: i64,
    /// Latest hit in the window, ms.
    pub last_ms: i64,
}

impl crate::state::Timed for Hit {
    fn ts(&self) -> i64 {
        self.ts
    }
}

/// A host's hits for one field.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ListWindow {
    hits: TimeOrdered<Hit>,
}

impl ListWindow {
    /// Renumbers the hits for a new list: `map` gives a value's new index, or `None` when the
    /// value is no longer listed (its hits are dropped).
    pub fn remap(&mut self, map: &dyn Fn(u32) -> Option<u32>) {
        self.hits.retain_mut(|h| match map(h.value) {
            Some(v) => {
                h.value = v;
                true
            }
            None => false,
        });
    }

    /// Adds a hit and returns the scores of the window `[ts - window, ts]` ending at it (with
    /// hits that arrived late included). `None` if the hit is too late to count.
    pub fn record(&mut self, hit: Hit, window_ms: i64, cap: usize) -> Option<Scores> {
        self.hits.insert(hit, window_ms, cap)?;
        // Score the window ending at the latest hit within one window after this one, so
        // that a late hit completes the window it belongs to.
        let h = &self.hits;
        let end = h.end_at_or_before(hit.ts.saturating_add(window_ms));
        let end_ts = h.items()[end - 1].ts;
        let start = h.first_at_or_after(end_ts.saturating_sub(window_ms));
        Some(score(&h.items()[start..end]))
    }

    /// Restores the invariants after a snapshot (sorted, at most `cap`).
    pub fn repair(&mut self, cap: usize) {
        self.hits.repair(cap);
    }

    /// Hits kept.
    pub fn len(&self) -> usize {
        self.hits.len()
    }

    /// Whether no hit is kept.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }
}

fn score(hits: &[Hit]) -> Scores {
    let mut counts: Vec<(u32, u32)> = Vec::new();
    for h in hits {
        match counts.iter_mut().find(|c| c.0 == h.value) {
            Some(c) => c.1 += 1,
            None => counts.push((h.value, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Scores {
        w: counts.first().map_or(0, |c| c.1),
        s: counts.len() as u32,
        counts,
        first_ms: hits.first().map_or(0, |h| h.ts),
        last_ms: hits.last().map_or(0, |h| h.ts),
    }
}

/// The largest w and s a host reaches over its hits (given in any order), as the rule
/// would compute them event by event. Used by evaluation.
pub fn peak_scores(hits: &[Hit], window_ms: i64, cap: usize) -> (u32, u32) {
    let mut w = ListWindow::default();
    let (mut pw, mut ps) = (0, 0);
    for h in hits {
        if let Some(s) = w.record(*h, window_ms, cap) {
            pw = pw.max(s.w);
            ps = ps.max(s.s);
        }
    }
    (pw, ps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(ts: i64, value: u32) -> Hit {
        Hit { ts, value }
    }

    /// A window that has recorded `hits` in order (a window of 100 ms, a cap of 64 hits).
    fn window_with(hits: &[Hit]) -> ListWindow {
        let mut w = ListWindow::default();
        for &hit in hits {
            w.record(hit, 100, 64);
        }
        w
    }

    #[test]
    fn w_is_the_largest_count_and_s_the_number_of_values() {
        let mut w = ListWindow::default();
        let s = w.record(h(0, 1), 100, 64).unwrap();
        assert_eq!((s.w, s.s), (1, 1));
        w.record(h(10, 1), 100, 64);
        w.record(h(20, 2), 100, 64);
        let s = w.record(h(30, 3), 100, 64).unwrap();
        assert_eq!((s.w, s.s), (2, 3));
        assert_eq!(s.counts, vec![(1, 2), (2, 1), (3, 1)]);
        assert_eq!((s.first_ms, s.last_ms), (0, 30));
    }

    #[test]
    fn hits_leave_the_window() {
        let mut w = window_with(&[h(0, 1), h(50, 1)]);
        let s = w.record(h(100, 2), 100, 64).unwrap();
        assert_eq!((s.w, s.s), (2, 2), "edge inclusive");
        let s = w.record(h(151, 2), 100, 64).unwrap();
        assert_eq!((s.w, s.s), (2, 1), "0 and 50 are out of [51, 151]");
    }

    #[test]
    fn late_hits_count_in_their_window() {
        let mut w = window_with(&[h(100, 1), h(150, 2)]);
        let s = w.record(h(90, 3), 100, 64).unwrap();
        assert_eq!(s.s, 3);
        let s = w.record(h(-500, 4), 100, 64).unwrap();
        assert_eq!((s.w, s.s), (1, 1), "far behind the others: counted alone in its own window");
    }

    #[test]
    fn peaks() {
        let hits = [h(0, 1), h(10, 1), h(20, 1), h(1000, 2), h(1001, 3), h(1002, 4)];
        assert_eq!(peak_scores(&hits, 100, 64), (3, 3));
        assert_eq!(peak_scores(&hits, 10_000, 64), (3, 4));
        assert_eq!(peak_scores(&[], 100, 64), (0, 0));
    }
}
