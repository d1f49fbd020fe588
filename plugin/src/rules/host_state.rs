//! What malhost remembers about one host: the state of every stateful rule and the host's
//! alert dedup log, kept in the bounded host table of [`crate::state`], snapshotted whole.

/// The host table of the detector: every host's [`HostState`].
pub type HostTable = crate::state::HostTable<HostState>;

/// Everything malhost remembers about one host.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostState {
    /// When each (rule, key) last alerted, for deduplication.
    pub dedup: crate::state::DedupLog,
    /// What each rule keeps about the host (generated from the registry).
    #[serde(default)]
    pub rules: super::registry::RuleStates,
    /// The alerts about the host, for its risk score (`crate::verdict`).
    #[serde(default, skip_serializing_if = "crate::state::risk::RiskLedger::is_empty")]
    pub risk: crate::state::risk::RiskLedger,
}

impl HostState {
    /// Restores every invariant the rules rely on after the state came from outside (a
    /// snapshot, which may have been edited): windows sorted, collections within `cap`. A
    /// state that passed this cannot make a rule fail later.
    pub fn repair(&mut self, cap: usize) {
        self.dedup.repair(cap);
        self.rules.repair(cap);
        self.risk.repair();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_seen_host_is_evicted_and_counted() {
        use std::net::IpAddr;
        let mut t = HostTable::new(2, 7);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        t.get_mut(a).dedup.should_alert(1, 0, 10, 8);
        t.get_mut(b);
        t.get_mut(a); // a is now the most recent
        t.get_mut(c); // evicts b
        assert_eq!(t.evictions(), 1);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get_mut(a).dedup.len(), 1, "a kept its state");
        assert_eq!(t.evictions(), 1);
        t.get_mut(b); // b comes back fresh, evicting c
        assert_eq!(t.evictions(), 2);
    }

}
