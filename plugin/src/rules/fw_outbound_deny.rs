//! `fw.outbound_deny`: connections from an internal host to an external address that the
//! firewall denied.
//!
//! Every such event is enriched (higher severity for the watched ports malware favours). Denies
//! to watched ports are kept per host in an event-time window sorted by time, so events that
//! arrive out of order still count; a host alerts when `min_count` of them fall within
//! `window`, at most once per `dedup_window`. Destinations in `allow` (business traffic) are
//! neither enriched nor counted.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::json;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, FieldError, SourceKind, Transport, flags, time::format_ms};
use crate::netlist::NetMatcher;
use crate::state::TimeOrdered;
use crate::values::{ConfigError, Duration, NetEntry, PositiveInt, Severity};

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, RuleContext};
use super::registry::{Compile, CompileContext, Rule, RuleInfo, RuleState};
use super::shared::PortSet;

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "fw.outbound_deny",
    name: "Repeated outbound connections denied by the firewall",
    description: "An internal host kept trying to reach external addresses on ports that malware favours, and the firewall denied it.",
    category: "network",
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL),
};

/// `rules.fw_outbound_deny` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Destination ports malware favours: denies to them get `watched_severity` and count toward
    /// the alert.
    pub watched_ports: PortSet,
    /// Denied attempts to watched ports within `window` that raise an alert. Must not exceed
    /// `state.max_keys_per_host` (checked by malhost).
    pub min_count: PositiveInt,
    /// Sliding event-time window of the count.
    pub window: Duration,
    /// At most one alert per host within this time. `null` or absent: the same as `window`.
    pub dedup_window: Option<Duration>,
    /// Business destinations: denies to them are neither enriched nor counted.
    pub allow: Vec<NetEntry>,
    /// Severity of the finding on a deny to an unwatched port.
    pub severity: Severity,
    /// Severity of the finding on a deny to a watched port.
    pub watched_severity: Severity,
    /// Severity of the alert.
    pub alert_severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            watched_ports: PortSet::of(&[25, 80, 443, 8080]),
            min_count: PositiveInt::new(5),
            window: Duration::secs(600),
            dedup_window: None,
            allow: Vec::new(),
            severity: Severity::Medium,
            watched_severity: Severity::High,
            alert_severity: Severity::High,
        }
    }
}

/// `rules.fw_outbound_deny`, compiled.
#[derive(Clone, Debug)]
pub struct OutboundDenyConfig {
    /// The settings (`allow` taken out).
    pub settings: Settings,
    /// `dedup_window`, or `window` when it is not set, ms.
    pub dedup_ms: i64,
    /// Business destinations: neither enriched nor counted.
    pub allow: NetMatcher<String>,
}


impl RuleState for DenyWindow {
    fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    fn repair(&mut self, cap: usize) {
        self.hits.repair(cap);
    }
}

/// One counted deny.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DenyHit {
    /// Event time, ms.
    pub ts: i64,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub port: u16,
    /// Transport, when the event said.
    pub transport: Option<Transport>,
}

impl crate::state::Timed for DenyHit {
    fn ts(&self) -> i64 {
        self.ts
    }
}

/// A host's recent denies to watched ports, sorted by event time.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct DenyWindow {
    hits: TimeOrdered<DenyHit>,
}

impl DenyWindow {
    /// Adds a hit and returns the index range of `min_count` or more hits within `window_ms`
    /// that includes it, if any. Hits older than two windows before the newest one seen are
    /// dropped (and a hit that late is not counted); at most `cap` hits are kept.
    pub fn record(&mut self, hit: DenyHit, window_ms: i64, min_count: usize, cap: usize) -> Option<(usize, usize)> {
        let pos = self.hits.insert(hit, window_ms, cap)?;
        let h = &self.hits;
        let lo = h.first_at_or_after(hit.ts.saturating_sub(window_ms));
        let j_max = h.end_at_or_before(hit.ts.saturating_add(window_ms)) - 1;
        for i in lo..=pos {
            if j_max + 1 - i < min_count {
                break;
            }
            let j = h.end_at_or_before(h.items()[i].ts.saturating_add(window_ms)) - 1;
            if j >= pos && j + 1 - i >= min_count {
                return Some((i, j));
            }
        }
        None
    }

    /// Hits in an index range.
    pub fn hits(&self, range: (usize, usize)) -> &[DenyHit] {
        &self.hits.items()[range.0..=range.1]
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

impl Compile<OutboundDenyConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<OutboundDenyConfig>, ConfigError> {
        let mut d = self;
        if d.min_count.get() as usize > cx.state.max_keys_per_host {
            return Err(cx.err(
                "min_count",
                format!("must not exceed state.max_keys_per_host ({}), found {}", cx.state.max_keys_per_host, d.min_count.get()),
            ));
        }
        let mut allow = NetMatcher::new();
        for e in std::mem::take(&mut d.allow) {
            allow.insert(e.0, e.1);
        }
        Ok(Some(OutboundDenyConfig {
            dedup_ms: d.dedup_window.map(|x| x.ms).unwrap_or(d.window.ms),
            allow,
            settings: d,
        }))
    }
}

impl Rule for OutboundDenyConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Firewall], message_dedup: false };
    type Settings = Settings;
    type HostState = DenyWindow;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        if !ev.is_denied() || ev.flags() & flags::DIR_INBOUND != 0 {
            return;
        }
        let need = |r: Result<Option<IpAddr>, FieldError>, field: &'static str, cx: &mut RuleContext| match cx.need(&META, r)? {
            Some(ip) => Some(ip),
            None => {
                cx.field_error(&META, FieldError { field, problem: "missing on a denied connection".into() });
                None
            }
        };
        let Some(src) = need(ev.source_ip(), "source.ip", cx) else { return };
        let Some(dst) = need(ev.destination_ip(), "destination.ip", cx) else { return };
        if !cx.shared.is_internal(src) || !cx.shared.is_external(dst) {
            return;
        }
        let port = cx.optional(&META, ev.destination_port());
        let transport = cx.optional(&META, ev.transport());
        if self.allow.contains(dst, port) {
            return;
        }
        let watched = match (port, transport) {
            (_, Some(Transport::Icmp)) | (None, _) => None,
            (Some(p), _) => self.settings.watched_ports.contains(p).then_some(p),
        };
        let to = match (port, transport) {
            (_, Some(Transport::Icmp)) => format!("ICMP to {dst}"),
            (Some(p), Some(t)) => format!("{}/{p} to {dst}", t.name().to_uppercase()),
            (Some(p), None) => format!("port {p} to {dst}"),
            (None, Some(t)) => format!("{} to {dst}", t.name().to_uppercase()),
            (None, None) => format!("connection to {dst}"),
        };
        let (severity, reason) = if watched.is_some() {
            (self.settings.watched_severity, format!("outbound {to} denied (watched port)"))
        } else {
            (self.settings.severity, format!("outbound {to} denied"))
        };
        cx.finding(&META, severity, reason);

        let Some(port) = watched else { return };
        let Some(ts) = cx.time(&META) else { return };
        let cap = cx.shared.state.max_keys_per_host;
        let hit = DenyHit { ts, dst, port, transport };
        let Some(range) = cx.host_state(src).rules.fw_outbound_deny.record(hit, self.settings.window.ms, self.settings.min_count.get() as usize, cap) else { return };
        if !cx.once_per(&META, src, "", ts, self.dedup_ms) {
            return;
        }
        let hits = cx.host_state(src).rules.fw_outbound_deny.hits(range);
        let mut ports: BTreeMap<String, u64> = BTreeMap::new();
        let mut dsts: BTreeMap<IpAddr, u64> = BTreeMap::new();
        for h in hits {
            let key = match h.transport {
                Some(t) => format!("{}/{}", t.name(), h.port),
                None => h.port.to_string(),
            };
            *ports.entry(key).or_default() += 1;
            *dsts.entry(h.dst).or_default() += 1;
        }
        let mut top: Vec<(IpAddr, u64)> = dsts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let distinct = top.len();
        top.truncate(10);
        let (count, first, last) = (hits.len(), hits[0].ts, hits[hits.len() - 1].ts);
        let window_text = humantime::format_duration(std::time::Duration::from_millis(self.settings.window.ms as u64)).to_string();
        let alert = AlertBuilder::new(&META, ts, self.settings.alert_severity)
            .host(Some(src))
            .related(top.iter().map(|(ip, _)| *ip))
            .message(format!(
                "{src}: {count} outbound connections to watched ports denied within {window_text} ({})",
                ports.iter().map(|(p, n)| format!("{p} x{n}")).collect::<Vec<_>>().join(", ")
            ))
            .evidence(json!({
                "count": count,
                "min_count": self.settings.min_count.get(),
                "window_seconds": self.settings.window.ms / 1000,
                "first_seen": format_ms(first),
                "last_seen": format_ms(last),
                "ports": ports,
                "destinations": top.iter().map(|(ip, n)| json!({"ip": ip.to_string(), "count": n})).collect::<Vec<_>>(),
                "distinct_destinations": distinct,
                "threshold": format!("count {count} >= min_count {}", self.settings.min_count.get()),
            }))
            .build();
        cx.raise(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(ts: i64) -> DenyHit {
        DenyHit { ts, dst: "203.0.113.1".parse().unwrap(), port: 445, transport: Some(Transport::Tcp) }
    }

    #[test]
    fn fires_when_min_count_fall_within_window() {
        let mut w = DenyWindow::default();
        assert_eq!(w.record(hit(0), 100, 3, 64), None);
        assert_eq!(w.record(hit(50), 100, 3, 64), None);
        assert_eq!(w.record(hit(100), 100, 3, 64), Some((0, 2)), "window edge is inclusive");
    }

    #[test]
    fn spread_out_hits_do_not_fire() {
        let mut w = DenyWindow::default();
        for t in [0, 101, 202, 303] {
            assert_eq!(w.record(hit(t), 100, 2, 64), None);
        }
    }

    #[test]
    fn out_of_order_hit_completes_a_window() {
        let mut w = DenyWindow::default();
        assert_eq!(w.record(hit(1000), 100, 3, 64), None);
        assert_eq!(w.record(hit(1080), 100, 3, 64), None);
        let r = w.record(hit(990), 100, 3, 64);
        assert_eq!(r, Some((0, 2)));
        assert_eq!(w.hits(r.unwrap()).iter().map(|h| h.ts).collect::<Vec<_>>(), vec![990, 1000, 1080]);
    }

    #[test]
    fn late_hits_count_only_with_their_neighbours_and_state_is_bounded() {
        let mut w = DenyWindow::default();
        w.record(hit(10_000), 100, 2, 64);
        assert_eq!(w.record(hit(9_700), 100, 2, 64), None, "no neighbour within the window");
        assert_eq!(w.record(hit(9_750), 100, 2, 64), Some((0, 1)), "two late hits together");
        for t in 0..1000 {
            w.record(hit(20_000 + t), 1_000_000, 5000, 64);
        }
        assert_eq!(w.len(), 64);
    }

    #[test]
    fn one_hit_far_in_the_future_does_not_switch_the_window_off() {
        // A forged deny dated 2099, then real ones in 2024: they still fire.
        let mut w = DenyWindow::default();
        let (y2099, y2024) = (4_070_908_800_000, 1_714_557_600_000);
        assert_eq!(w.record(hit(y2099), 600_000, 3, 64), None);
        assert_eq!(w.record(hit(y2024), 600_000, 3, 64), None);
        assert_eq!(w.record(hit(y2024 + 1_000), 600_000, 3, 64), None);
        assert_eq!(w.record(hit(y2024 + 2_000), 600_000, 3, 64), Some((0, 2)));
    }
}
