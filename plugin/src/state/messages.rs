//! Which mail messages already alerted, so that a message logged more than once (one line per
//! recipient, or per delivery attempt) alerts once per rule. Keyed by the seeded hash of
//! `email.message_id`; at most `state.max_messages` are remembered, least recently seen
//! evicted first (and counted). A message alerts again once the rule's dedup window has
//! passed since it last alerted, so an id chosen by an attacker cannot silence a rule for good.

use std::ops::Deref;

use super::{BoundedLru, SeededState};

/// Rules that can deduplicate by message (one bit each, given by the rule registry).
pub const RULE_BITS: usize = 8;

/// What is remembered of one message: a bit per rule that alerted on it, and when each rule
/// last did (event time, ms), for the first 8 rule bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seen {
    bits: u8,
    at_ms: [i64; RULE_BITS],
}

/// Message ids seen, with a bit per rule that alerted on the message.
pub struct SeenMessages {
    map: BoundedLru<u64, Seen>,
}

/// Read-only, the table is its map: messages remembered (`len`), forgotten to stay within the
/// cap (`evictions`) and exported with their rule bits for a snapshot (`export`, least
/// recently seen first) are the map's.
impl Deref for SeenMessages {
    type Target = BoundedLru<u64, Seen>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl SeenMessages {
    /// Remembers at most `cap` messages.
    pub fn new(cap: usize, hasher: SeededState) -> Self {
        SeenMessages { map: BoundedLru::new(cap, hasher) }
    }

    /// Whether rule `bit` (0–7) has not alerted on message `id` yet; records that it has.
    pub fn first_alert(&mut self, id: u64, bit: u8) -> bool {
        self.first_alert_at(id, bit, 0, i64::MAX)
    }

    /// Whether rule `bit` (0–7) should alert on message `id` at event time `ts_ms`: it has not
    /// alerted on it, or not within `window_ms` either side of `ts_ms`. Records the alert.
    pub fn first_alert_at(&mut self, id: u64, bit: u8, ts_ms: i64, window_ms: i64) -> bool {
        let seen = self.map.get_or_insert_mut(id, Seen::default);
        let i = usize::from(bit & 7);
        let mask = 1u8 << i;
        if seen.bits & mask != 0 && ts_ms.abs_diff(seen.at_ms[i]) < window_ms.max(0) as u64 {
            return false;
        }
        seen.bits |= mask;
        seen.at_ms[i] = ts_ms;
        true
    }

    /// Changes the cap.
    pub fn resize(&mut self, cap: usize) {
        self.map.resize(cap);
    }

    /// Puts back what [`BoundedLru::export`] gave (oldest first).
    pub fn import(&mut self, entries: Vec<(u64, Seen)>, evictions: u64) {
        self.map.import(entries, evictions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_message_and_rule() {
        let mut m = SeenMessages::new(2, super::super::seeded(1));
        assert!(m.first_alert(1, 0));
        assert!(!m.first_alert(1, 0));
        assert!(m.first_alert(1, 1), "another rule");
        m.first_alert(2, 0);
        m.first_alert(3, 0); // evicts 1
        assert_eq!(m.evictions(), 1);
        assert!(m.first_alert(1, 0), "forgotten");
    }

    #[test]
    fn a_message_alerts_again_after_the_window() {
        let mut m = SeenMessages::new(8, super::super::seeded(1));
        let day = 86_400_000;
        assert!(m.first_alert_at(7, 0, 0, day));
        assert!(!m.first_alert_at(7, 0, day - 1, day));
        assert!(!m.first_alert_at(7, 0, -5, day), "a late copy within the window");
        assert!(m.first_alert_at(7, 0, 30 * day, day), "the same id a month later");
        assert!(m.first_alert_at(7, 1, 30 * day, day), "another rule");
    }
}
