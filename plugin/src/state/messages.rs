//! Which mail messages already alerted, so that a message logged more than once (one line per
//! recipient, or per delivery attempt) alerts once per rule. Keyed by the seeded hash of
//! `email.message_id`; at most `state.max_messages` are remembered, least recently seen
//! evicted first (and counted).

use super::{BoundedLru, SeededState};

/// Message ids seen, with a bit per rule that alerted on the message.
pub struct SeenMessages {
    map: BoundedLru<u64, u8>,
}

impl SeenMessages {
    /// Remembers at most `cap` messages.
    pub fn new(cap: usize, hasher: SeededState) -> Self {
        SeenMessages { map: BoundedLru::new(cap, hasher) }
    }

    /// Whether rule `bit` (0–7) has not alerted on message `id` yet; records that it has.
    pub fn first_alert(&mut self, id: u64, bit: u8) -> bool {
        let seen = self.map.get_or_insert_mut(id, || 0);
        let mask = 1u8 << (bit & 7);
        let first = *seen & mask == 0;
        *seen |= mask;
        first
    }

    /// Changes the cap.
    pub fn resize(&mut self, cap: usize) {
        self.map.resize(cap);
    }

    /// Every message id with its rule bits, least recently seen first (for a snapshot).
    pub fn export(&self) -> Vec<(&u64, &u8)> {
        self.map.export()
    }

    /// Puts back what [`SeenMessages::export`] gave (oldest first).
    pub fn import(&mut self, entries: Vec<(u64, u8)>, evictions: u64) {
        self.map.import(entries, evictions);
    }

    /// Messages remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Messages forgotten to stay within the cap.
    pub fn evictions(&self) -> u64 {
        self.map.evictions()
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
}
