//! Host verdicts: every alert about a host goes into its evidence ledger
//! ([`crate::state::risk`]), the ledger is scored, and a host whose score reaches a higher
//! risk level than it last reported gets a `malhost.host_risk` alert saying why, point by point.
//!
//! The score of a host at the time of an alert about it, over the alerts of the last
//! `horizon` (default 7 days):
//! 1. each rule that alerted counts once, with the weight of its strongest alert's severity
//!    (`weights`: low 5, medium 15, high 40, critical 70), times a repeat factor for how often
//!    it alerted (1 alert ×1, 2 alerts ×1.5, 3 or more ×2);
//! 2. the points of the rules are added up; when they come from two or more log layers
//!    (firewall, proxy, mail, learned lists) the sum is multiplied by `multi_layer_factor`
//!    (1.5): evidence that two layers agree on is what the paper's multi-layer detection is for;
//! 3. the score is that, capped at 100; its level is the highest of `levels` it reaches (low
//!    20, moderate 40, high 70, critical 90).
//!
//! One medium alert (15) is no level; one high alert (40) is moderate; a high alert repeated
//! three times (80), or high alerts of two rules (80), is high; a high and a medium alert from
//! two layers ((40 + 15) × 1.5 = 82.5) is high. A host alerts when its level rises above the
//! one it last reported; when old alerts leave the horizon the level falls silently, so a new
//! rise alerts again.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::event::time::format_ms;
use crate::output::{Alert, Annotations, Attack, RiskFields, RuleMeta, attack};
use crate::rules::host_state::HostTable;
use crate::state::risk::RiskLedger;
use crate::values::{ConfigError, Duration, Severity, err};

/// Identity of the host risk alert.
pub static META: RuleMeta = RuleMeta {
    id: "malhost.host_risk",
    name: "Host risk level raised",
    description: "The alerts about a host within the risk horizon add up to a higher risk level than it had: the evidence, rule by rule, says why.",
    category: "risk",
    // Never written: the alert carries the ATT&CK place of its strongest rule.
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL),
};

/// The levels, lowest first (a host below the first has none).
pub const LEVELS: [&str; 4] = ["low", "moderate", "high", "critical"];

/// `host_risk` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// How far back from a host's newest alert its alerts count.
    pub horizon: Duration,
    /// Points of a rule's strongest alert within the horizon, by its severity.
    pub weights: Weights,
    /// Lowest score of each level; increasing, from 1 to 100.
    pub levels: Levels,
    /// Factor on the sum of points when the alerts come from two or more log layers (firewall,
    /// proxy, mail, learned lists); from 1 to 10.
    #[schemars(range(min = 1, max = 10))]
    pub multi_layer_factor: f64,
}

/// Points by severity.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// Of a low alert.
    #[schemars(range(max = 100))]
    pub low: u32,
    /// Of a medium alert.
    #[schemars(range(max = 100))]
    pub medium: u32,
    /// Of a high alert.
    #[schemars(range(max = 100))]
    pub high: u32,
    /// Of a critical alert.
    #[schemars(range(max = 100))]
    pub critical: u32,
}

/// Lowest score of each level.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Levels {
    /// Of level low.
    #[schemars(range(min = 1, max = 100))]
    pub low: u32,
    /// Of level moderate.
    #[schemars(range(min = 1, max = 100))]
    pub moderate: u32,
    /// Of level high.
    #[schemars(range(min = 1, max = 100))]
    pub high: u32,
    /// Of level critical.
    #[schemars(range(min = 1, max = 100))]
    pub critical: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { horizon: Duration::secs(7 * 86_400), weights: Weights::default(), levels: Levels::default(), multi_layer_factor: 1.5 }
    }
}

impl Default for Weights {
    fn default() -> Self {
        Weights { low: 5, medium: 15, high: 40, critical: 70 }
    }
}

impl Default for Levels {
    fn default() -> Self {
        Levels { low: 20, moderate: 40, high: 70, critical: 90 }
    }
}

/// `host_risk`, compiled.
#[derive(Clone, Debug)]
pub struct HostRisk {
    horizon_ms: i64,
    weights: [u32; 4],
    levels: [u32; 4],
    multi_layer_factor: f64,
}

impl Settings {
    /// Checks the settings (errors at `host_risk.<field>`).
    pub fn compile(self) -> Result<HostRisk, ConfigError> {
        let w = &self.weights;
        let weights = [w.low, w.medium, w.high, w.critical];
        for (name, v) in ["low", "medium", "high", "critical"].iter().zip(weights) {
            if v > 100 {
                return Err(err(format!("host_risk.weights.{name}"), format!("expected at most 100, found {v}")));
            }
        }
        let l = &self.levels;
        let levels = [l.low, l.moderate, l.high, l.critical];
        let mut previous = 0;
        for (name, v) in LEVELS.iter().zip(levels) {
            if v <= previous || v > 100 {
                return Err(err(
                    format!("host_risk.levels.{name}"),
                    format!("expected a score above the level below ({previous}) and at most 100, found {v}"),
                ));
            }
            previous = v;
        }
        let f = self.multi_layer_factor;
        if !(1.0..=10.0).contains(&f) {
            return Err(err("host_risk.multi_layer_factor", format!("expected a factor from 1 to 10, found {f}")));
        }
        Ok(HostRisk { horizon_ms: self.horizon.ms, weights, levels, multi_layer_factor: f })
    }
}

/// The log layer of a rule, from its id (`fw.` firewall, `proxy.`, `mail.`, `list.` learned
/// lists).
pub fn layer(rule: &str) -> &'static str {
    match rule.split_once('.').map_or(rule, |(p, _)| p) {
        "fw" => "firewall",
        "proxy" => "proxy",
        "mail" => "mail",
        "list" => "learned_lists",
        _ => "other",
    }
}

/// The repeat factor of a rule that alerted `n` times within the horizon.
fn repeat_factor(n: usize) -> f64 {
    match n {
        0 | 1 => 1.0,
        2 => 1.5,
        _ => 2.0,
    }
}

/// One rule's part in a score.
struct Part<'a> {
    rule: &'a str,
    alerts: usize,
    total: u64,
    strongest: Severity,
    points: f64,
    first_ms: i64,
    last_ms: i64,
}

/// A host's score at one time, with how it was reached.
struct Score<'a> {
    parts: Vec<Part<'a>>,
    layers: Vec<&'static str>,
    sum: f64,
    factor: f64,
    score: f64,
    /// Index in [`LEVELS`] + 1; 0 for none.
    level: u8,
}

impl HostRisk {
    /// Scores `ledger` at `now_ms`.
    fn score<'a>(&self, ledger: &'a RiskLedger, now_ms: i64) -> Score<'a> {
        let since = now_ms.saturating_sub(self.horizon_ms);
        let mut parts = Vec::new();
        let mut layers: Vec<&'static str> = Vec::new();
        for r in ledger.rules() {
            let within = r.since(since);
            let Some(strongest) = within.iter().map(|a| a.1).max() else { continue };
            let points = f64::from(self.weights[strongest as usize]) * repeat_factor(within.len());
            let layer = layer(&r.rule);
            if !layers.contains(&layer) {
                layers.push(layer);
            }
            let (first_ms, last_ms) = (within[0].0, within[within.len() - 1].0);
            parts.push(Part { rule: &r.rule, alerts: within.len(), total: r.total, strongest, points, first_ms, last_ms });
        }
        parts.sort_by(|a, b| b.points.total_cmp(&a.points).then(a.rule.cmp(b.rule)));
        layers.sort_unstable();
        let sum: f64 = parts.iter().map(|p| p.points).sum();
        let factor = if layers.len() >= 2 { self.multi_layer_factor } else { 1.0 };
        let score = (sum * factor).min(100.0);
        let level = self.levels.iter().filter(|&&l| score >= f64::from(l)).count() as u8;
        Score { parts, layers, sum, factor, score, level }
    }

    /// Adds the event's alerts to their hosts' ledgers and raises a `malhost.host_risk` alert
    /// for each host whose level rose above the one it last reported.
    pub fn assess(&self, hosts: &mut HostTable, ann: &mut Annotations) {
        let mut raised = Vec::new();
        for a in &ann.alerts {
            let Some(host) = a.host else { continue };
            let ledger = &mut hosts.get_mut(host).risk;
            ledger.record(a.rule.id, a.timestamp_ms, a.severity);
            let s = self.score(ledger, a.timestamp_ms);
            let previous = ledger.reported;
            if s.level > previous {
                raised.push(self.alert(host, a.timestamp_ms, &s, previous));
            }
            // A fall is silent; a later rise alerts again.
            ledger.reported = s.level;
        }
        ann.alerts.extend(raised);
    }

    fn alert(&self, host: IpAddr, ts: i64, s: &Score, previous: u8) -> Alert {
        let level = LEVELS[usize::from(s.level) - 1];
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let rules: Vec<_> = s
            .parts
            .iter()
            .map(|p| {
                json!({
                    "rule": p.rule,
                    "layer": layer(p.rule),
                    "alerts": p.alerts,
                    "alerts_total": p.total,
                    "strongest": p.strongest.name(),
                    "weight": self.weights[p.strongest as usize],
                    "repeat_factor": repeat_factor(p.alerts),
                    "points": round(p.points),
                    "first_seen": format_ms(p.first_ms),
                    "last_seen": format_ms(p.last_ms),
                })
            })
            .collect();
        let terms: Vec<String> = s
            .parts
            .iter()
            .map(|p| {
                let w = self.weights[p.strongest as usize];
                let n = if p.alerts == 1 { "1 alert".to_string() } else { format!("{} alerts", p.alerts) };
                format!("{} {} {w} × {} ({n}) = {}", p.rule, p.strongest.name(), repeat_factor(p.alerts), round(p.points))
            })
            .collect();
        let mut explanation = format!("{}; sum {}", terms.join("; "), round(s.sum));
        if s.factor != 1.0 {
            explanation += &format!(" × {} ({} layers) = {}", round(s.factor), s.layers.len(), round(s.sum * s.factor));
        }
        if s.sum * s.factor > 100.0 {
            explanation += ", capped at 100";
        }
        explanation += &format!("; level {level} from {}", self.levels[usize::from(s.level) - 1]);
        let listed: Vec<String> = s.parts.iter().map(|p| format!("{} ×{}", p.rule, p.alerts)).collect();
        let strongest = s.parts.first().and_then(|p| rule_meta(p.rule));
        let levels: serde_json::Map<String, serde_json::Value> = LEVELS.iter().zip(self.levels).map(|(n, v)| (n.to_string(), json!(v))).collect();
        Alert {
            timestamp_ms: ts,
            rule: &META,
            severity: [Severity::Low, Severity::Medium, Severity::High, Severity::Critical][usize::from(s.level) - 1],
            host: Some(host),
            destination: None,
            related_ips: vec![host],
            message: format!("{host}: risk {level} (score {}): {} over {}", round(s.score), listed.join(", "), s.layers.join(" and ")),
            evidence: json!({
                "score": round(s.score),
                "level": level,
                "previous_level": previous.checked_sub(1).map(|i| LEVELS[usize::from(i)]),
                "rules": rules,
                "layers": s.layers,
                "sum": round(s.sum),
                "multi_layer_factor": round(s.factor),
                "horizon_seconds": self.horizon_ms / 1000,
                "levels": levels,
                "explanation": explanation,
            }),
            email: None,
            attack: strongest.map(|m| m.attack),
            risk: Some(RiskFields { calculated_level: level, calculated_score: round(s.sum * s.factor), calculated_score_norm: round(s.score) }),
        }
    }
}

/// The identity of the alerts with `id` among the registry's rules.
fn rule_meta(id: &str) -> Option<&'static RuleMeta> {
    crate::rules::registry::REGISTRY.iter().flat_map(|e| e.info.alerts.iter().copied()).find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn risk() -> HostRisk {
        Settings::default().compile().unwrap()
    }

    fn score_of(alerts: &[(&str, i64, Severity)]) -> (f64, u8) {
        let mut l = RiskLedger::default();
        for &(r, t, s) in alerts {
            l.record(r, t, s);
        }
        let now = alerts.iter().map(|a| a.1).max().unwrap_or(0);
        let s = risk().score(&l, now);
        (s.score, s.level)
    }

    const H: Severity = Severity::High;
    const M: Severity = Severity::Medium;

    #[test]
    fn the_worked_examples_of_the_module_doc() {
        assert_eq!(score_of(&[("proxy.user_agent", 0, M)]), (15.0, 0));
        assert_eq!(score_of(&[("fw.c2_port", 0, H)]), (40.0, 2));
        assert_eq!(score_of(&[("fw.c2_port", 0, H), ("fw.c2_port", 1, H), ("fw.c2_port", 2, H)]), (80.0, 3));
        assert_eq!(score_of(&[("fw.c2_port", 0, H), ("fw.c2_ip", 1, H)]), (80.0, 3));
        assert_eq!(score_of(&[("fw.c2_port", 0, H), ("proxy.user_agent", 1, M)]), (82.5, 3));
        assert_eq!(score_of(&[("fw.c2_port", 0, H), ("fw.c2_ip", 1, H), ("proxy.ioc", 2, H)]), (100.0, 4));
    }

    #[test]
    fn the_readme_worked_example_explains_itself() {
        let day = 86_400_000;
        let mut l = RiskLedger::default();
        let mut levels = Vec::new();
        for (rule, t) in [("fw.c2_port", 0), ("fw.c2_port", day), ("fw.c2_port", 2 * day), ("proxy.ioc", 2 * day + 1)] {
            l.record(rule, t, H);
            levels.push(risk().score(&l, t).level);
        }
        assert_eq!(levels, [2, 2, 3, 4], "moderate, moderate, high, critical");
        let s = risk().score(&l, 2 * day + 1);
        let a = risk().alert("10.0.0.5".parse().unwrap(), 2 * day + 1, &s, 3);
        assert_eq!(
            a.evidence["explanation"],
            "fw.c2_port high 40 × 2 (3 alerts) = 80; proxy.ioc high 40 × 1 (1 alert) = 40; sum 120 × 1.5 (2 layers) = 180, capped at 100; level critical from 90"
        );
        assert_eq!(a.evidence["previous_level"], "high");
        assert_eq!(a.message, "10.0.0.5: risk critical (score 100): fw.c2_port ×3, proxy.ioc ×1 over firewall and proxy");
        assert_eq!(score_of(&[("proxy.user_agent", 0, M), ("proxy.user_agent", 1, M)]), (22.5, 1));
    }

    #[test]
    fn alerts_older_than_the_horizon_do_not_count() {
        let week = 7 * 86_400_000;
        assert_eq!(score_of(&[("fw.c2_port", 0, H), ("fw.c2_ip", week + 1, H)]), (40.0, 2));
        assert_eq!(score_of(&[("fw.c2_port", 0, H), ("fw.c2_ip", week, H)]), (80.0, 3));
    }

    #[test]
    fn bad_settings_are_refused_with_their_path() {
        let e = |s: Settings| s.compile().unwrap_err().to_string();
        let mut s = Settings::default();
        s.levels.high = 30;
        assert_eq!(e(s), "host_risk.levels.high: expected a score above the level below (40) and at most 100, found 30");
        let mut s = Settings::default();
        s.multi_layer_factor = f64::NAN;
        assert!(e(s).starts_with("host_risk.multi_layer_factor: expected a factor from 1 to 10"));
        let mut s = Settings::default();
        s.weights.critical = 101;
        assert_eq!(e(s), "host_risk.weights.critical: expected at most 100, found 101");
    }

    #[test]
    fn a_host_alerts_once_per_rise_and_again_after_a_fall() {
        use crate::output::Annotations;
        let hr = risk();
        let mut hosts = HostTable::new(4, 1);
        let host: IpAddr = "10.0.0.5".parse().unwrap();
        let mut raise = |rule: &'static RuleMeta, ts: i64| {
            let mut ann = Annotations::default();
            ann.alerts.push(crate::rules::context::AlertBuilder::new(rule, ts, H).host(Some(host)).build());
            hr.assess(&mut hosts, &mut ann);
            ann.alerts.iter().filter(|a| a.rule.id == META.id).map(|a| a.evidence["level"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        };
        let week = 7 * 86_400_000;
        assert_eq!(raise(&crate::rules::fw_c2_port::META, 0), ["moderate"]);
        assert!(raise(&crate::rules::fw_c2_port::META, 1).is_empty(), "×1.5 = 60: still moderate");
        assert_eq!(raise(&crate::rules::fw_c2_ip::META, 2), ["critical"], "60 + 40");
        assert!(raise(&crate::rules::fw_c2_ip::META, 3).is_empty());
        // A week later only the new alert counts: moderate, below high, silently.
        assert!(raise(&crate::rules::fw_c2_ip::META, 3 + week + 10).is_empty());
        assert_eq!(raise(&crate::rules::fw_c2_port::META, 3 + week + 11), ["high"]);
    }
}
