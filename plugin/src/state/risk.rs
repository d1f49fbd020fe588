//! The evidence ledger of one host: the alerts the rules raised about it, by rule, newest
//! kept, from which [`crate::verdict`] scores the host over its risk horizon; and the level
//! its last `malhost.host_risk` alert reported.

use serde::{Deserialize, Serialize};

use crate::values::Severity;

/// Alerts kept per rule (the newest): the repeat factor of the score stops growing at three,
/// and the strongest severity within the horizon is looked for among these.
pub const ALERTS_PER_RULE: usize = 8;

/// Rules kept per host, at most (the registry has fewer alert identities than this); a rule
/// beyond it replaces the one whose last alert is oldest.
pub const RULES_PER_HOST: usize = 16;

/// What the rules alerted about one host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskLedger {
    /// One entry per alerting rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rules: Vec<RuleAlerts>,
    /// Index of the level last reported (0: none), see `crate::verdict::LEVELS`.
    #[serde(skip_serializing_if = "is_zero")]
    pub reported: u8,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// The alerts of one rule about one host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleAlerts {
    /// `rule.id`.
    pub rule: Box<str>,
    /// The newest alerts (event time ms, severity), in time order.
    pub alerts: Vec<(i64, Severity)>,
    /// Every alert of the rule about the host since it was first tracked.
    pub total: u64,
}

impl RiskLedger {
    /// Whether nothing is kept (left out of snapshots).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.reported == 0
    }

    /// Records an alert of `rule` at event time `ts`.
    pub fn record(&mut self, rule: &str, ts: i64, severity: Severity) {
        let i = match self.rules.iter().position(|r| &*r.rule == rule) {
            Some(i) => i,
            None => {
                if self.rules.len() >= RULES_PER_HOST {
                    let oldest = (0..self.rules.len()).min_by_key(|&i| self.rules[i].last_ms());
                    if let Some(o) = oldest {
                        self.rules.swap_remove(o);
                    }
                }
                self.rules.push(RuleAlerts { rule: rule.into(), alerts: Vec::new(), total: 0 });
                self.rules.len() - 1
            }
        };
        let r = &mut self.rules[i];
        let at = r.alerts.partition_point(|&(t, _)| t <= ts);
        r.alerts.insert(at, (ts, severity));
        if r.alerts.len() > ALERTS_PER_RULE {
            r.alerts.remove(0);
        }
        r.total = r.total.saturating_add(1);
    }

    /// Every rule's kept alerts.
    pub fn rules(&self) -> &[RuleAlerts] {
        &self.rules
    }

    /// Restores the invariants after the ledger came from a snapshot: alerts sorted and
    /// capped, no rule twice, at most [`RULES_PER_HOST`] rules.
    pub fn repair(&mut self) {
        let mut seen: Vec<Box<str>> = Vec::new();
        self.rules.retain(|r| {
            let fresh = !seen.contains(&r.rule);
            if fresh {
                seen.push(r.rule.clone());
            }
            fresh
        });
        self.rules.truncate(RULES_PER_HOST);
        for r in &mut self.rules {
            r.alerts.sort_by_key(|&(t, _)| t);
            let excess = r.alerts.len().saturating_sub(ALERTS_PER_RULE);
            r.alerts.drain(..excess);
            r.total = r.total.max(r.alerts.len() as u64);
        }
    }
}

impl RuleAlerts {
    /// Time of the newest alert kept.
    pub fn last_ms(&self) -> i64 {
        self.alerts.last().map_or(i64::MIN, |&(t, _)| t)
    }

    /// The kept alerts at or after `since_ms`.
    pub fn since(&self, since_ms: i64) -> &[(i64, Severity)] {
        &self.alerts[self.alerts.partition_point(|&(t, _)| t < since_ms)..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_stay_in_time_order_and_the_newest_are_kept() {
        let mut l = RiskLedger::default();
        for t in [50, 10, 30, 20, 40, 60, 70, 80, 90, 5] {
            l.record("fw.c2_port", t, Severity::High);
        }
        let r = &l.rules()[0];
        assert_eq!(r.total, 10);
        assert_eq!(r.alerts.iter().map(|a| a.0).collect::<Vec<_>>(), [20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(r.since(65).len(), 3);
    }

    #[test]
    fn a_rule_beyond_the_cap_replaces_the_stalest() {
        let mut l = RiskLedger::default();
        for i in 0..RULES_PER_HOST as i64 {
            l.record(&format!("r{i}"), 100 + i, Severity::Low);
        }
        l.record("new", 1, Severity::Low);
        assert_eq!(l.rules().len(), RULES_PER_HOST);
        assert!(l.rules().iter().any(|r| &*r.rule == "new") && !l.rules().iter().any(|r| &*r.rule == "r0"));
    }

    #[test]
    fn repair_sorts_caps_and_drops_repeated_rules() {
        let r = RuleAlerts { rule: "a".into(), alerts: (0..20).rev().map(|t| (t, Severity::Low)).collect(), total: 0 };
        let mut l = RiskLedger { rules: vec![r.clone(), r], reported: 2 };
        l.repair();
        assert_eq!(l.rules().len(), 1);
        assert_eq!(l.rules()[0].alerts.first().map(|a| a.0), Some(12));
        assert_eq!(l.rules()[0].total, ALERTS_PER_RULE as u64);
    }
}
