//! `fw.beacon`: an internal host connects to one rare external address and port like a timer
//! — beaconing seen in connection logs (Zeek conn, Argus, firewall logs), not only proxies.
//!
//! Per (host, address, port) the rule keeps the newest contacts at two scales, each as a
//! [`Series`]: every connection, and contacts (connections less than `contact_gap` apart taken
//! as one, so an implant that opens two connections per check-in checks in once; the
//! connections scale is for beacons faster than that gap). Once a scale
//! holds `min_contacts` contacts whose median interval is at least `min_interval`, its score is
//! the periodicity score of the intervals ([`super::periodicity`]: median, MAD, skew), averaged
//! with the regularity of the bytes each contact sent (RITA's data-size score) when the events
//! say them. A score of at least `min_score` alerts, at most once per (host, address, port) per
//! `dedup_window`: a beacon that keeps going keeps adding evidence to the host's verdict.
//!
//! Inbound traffic, ICMP, internal destinations, multicast and broadcast, `ignore_ports` (DNS
//! and NTP, which machines poll by design) and destinations reached by more than
//! `rare_destinations.max_hosts` hosts (update servers, time services) are not followed; the
//! reach is counted in the table the proxy rules share, so a destination popular through the
//! proxy is popular here too. At most `state.max_keys_per_host` pairs are followed per host, the
//! least recently active dropped first.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::event::{Event, Field, SourceKind, Transport, flags, time::format_ms};
use crate::output::{Attack, attack};
use crate::output::Alert;
use crate::values::{ConfigError, Duration, PositiveInt, Severity};

use super::RuleMeta;
use super::context::{AlertBuilder, IfNoHost, RuleContext};
use super::periodicity::{Dispersion, Periodicity, Series, round3};
use super::registry::{Compile, CompileContext, Rule, RuleInfo, RuleState};
use super::shared::PortSet;
use super::track_map::{TrackMap, Tracked};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "fw.beacon",
    name: "Periodic connections to a rare external address",
    description: "An internal host connected to one rarely reached external address and port at regular intervals, with contacts of regular size, as malware checking in with its controller does.",
    category: "command_and_control",
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL),
};

/// Largest `min_contacts` (the contacts kept per scale).
pub const MAX_CONTACTS: u32 = 24;

/// `rules.fw_beacon` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Contacts a scale needs before its regularity is judged (at most 24).
    #[schemars(range(min = 4, max = 24))]
    pub min_contacts: PositiveInt,
    /// Lowest score (0–1) that alerts.
    #[schemars(range(min = 0, max = 1))]
    pub min_score: f64,
    /// Connections less than this apart are one contact (at the contacts scale).
    pub contact_gap: Duration,
    /// Median intervals shorter than this are retries or floods, not a beacon (`fw.c2_port`
    /// and `fw.outbound_deny` judge those).
    pub min_interval: Duration,
    /// Destination ports not followed: services machines poll by design.
    pub ignore_ports: PortSet,
    /// At most one alert per (host, address, port) within this time.
    pub dedup_window: Duration,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_contacts: PositiveInt::new(8),
            min_score: 0.9,
            contact_gap: Duration::secs(60),
            min_interval: Duration::secs(5),
            ignore_ports: PortSet::of(&[53, 123]),
            dedup_window: Duration::secs(86_400),
            severity: Severity::High,
        }
    }
}

/// `rules.fw_beacon`, compiled: the settings, their ranges checked.
#[derive(Clone, Debug)]
pub struct FwBeaconConfig(Settings);

impl Compile<FwBeaconConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<FwBeaconConfig>, ConfigError> {
        let n = self.min_contacts.get();
        if !(4..=MAX_CONTACTS).contains(&n) {
            return Err(cx.err("min_contacts", format!("expected 4 to {MAX_CONTACTS} contacts, found {n}")));
        }
        if !(0.0..=1.0).contains(&self.min_score) {
            return Err(cx.err("min_score", format!("expected a score from 0 to 1, found {}", self.min_score)));
        }
        Ok(Some(FwBeaconConfig(self)))
    }
}

/// Connections per contact at the fine scale (each connection its own contact).
const CONNECTIONS: usize = 16;
/// Contacts kept at the coarse scale.
const CONTACTS: usize = MAX_CONTACTS as usize;

/// What the rule remembers of one (host, address, port).
#[derive(Clone, Debug, PartialEq, serde::Serialize, Deserialize)]
pub struct Track {
    dst: IpAddr,
    port: u16,
    transport: Option<Transport>,
    first_ms: i64,
    last_ms: i64,
    /// Seconds that contact times are relative to.
    base_s: i64,
    connections: u32,
    denied: u32,
    /// Every connection.
    each: Series<CONNECTIONS>,
    /// Connections less than `contact_gap` apart merged.
    merged: Series<CONTACTS>,
    /// When it last alerted, ms.
    alerted_ms: Option<i64>,
}

impl Tracked for Track {
    fn last_ms(&self) -> i64 {
        self.last_ms
    }
}

/// A host's followed (address, port) pairs, by seeded hash.
pub type BeaconTracks = TrackMap<Track>;

impl RuleState for BeaconTracks {
    fn is_empty(&self) -> bool {
        TrackMap::is_empty(self)
    }

    fn repair(&mut self, cap: usize) {
        for t in self.tracks_mut() {
            t.first_ms = t.first_ms.min(t.last_ms);
            t.denied = t.denied.min(t.connections);
        }
        self.shrink_to(cap);
    }
}

/// The scale a beacon was seen at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    Connections,
    Contacts,
}

/// A scale's judgement.
#[derive(Clone, Copy, Debug)]
struct Judged {
    scale: Scale,
    timing: Periodicity,
    size: Option<Dispersion>,
    score: f64,
}

impl Settings {
    /// The better-scoring scale that qualifies (enough contacts, a long enough interval).
    fn judge(&self, t: &Track) -> Option<Judged> {
        let min = self.min_contacts.get() as usize;
        let min_interval_s = self.min_interval.ms as f64 / 1000.0;
        let one = |scale, timing: Option<Periodicity>, size: Option<Dispersion>| {
            let timing = timing.filter(|p| p.contacts >= min && p.median_s >= min_interval_s)?;
            let score = size.map_or(timing.score, |s| (timing.score + s.score) / 2.0);
            Some(Judged { scale, timing, size, score })
        };
        // The connections scale is for beacons faster than `contact_gap`, which the contacts
        // scale merges into one: three quarters of its intervals must be shorter than the gap.
        // (Two connections 20 s apart every 6 h have a median interval of 20 s, but that is
        // the contacts scale's beacon.)
        let gap_s = self.contact_gap.ms / 1000;
        let iv = t.each.times().windows(2).filter(|w| i64::from(w[1]) - i64::from(w[0]) < gap_s).count();
        let fast = 4 * iv >= 3 * t.each.len().saturating_sub(1);
        let each = if fast { one(Scale::Connections, t.each.periodicity(), t.each.size_regularity()) } else { None };
        let merged = one(Scale::Contacts, t.merged.periodicity(), t.merged.size_regularity());
        match (each, merged) {
            (Some(a), Some(b)) => Some(if b.score >= a.score { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

impl Rule for FwBeaconConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Firewall], message_dedup: false };
    type Settings = Settings;
    type HostState = BeaconTracks;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let s = &self.0;
        if ev.flags() & flags::DIR_INBOUND != 0 {
            return;
        }
        let Some(dst) = cx.optional(&META, ev.destination_ip()) else { return };
        let Some(port) = cx.optional(&META, ev.destination_port()) else { return };
        let transport = cx.optional(&META, ev.transport());
        if transport == Some(Transport::Icmp) || !cx.shared.is_external(dst) || s.ignore_ports.contains(port) {
            return;
        }
        let Some(src) = cx.host(&META, IfNoHost::Skip) else { return };
        let Some(ts) = cx.time(&META) else { return };
        let bytes = ev.byte_count(Field::SourceBytes).ok().flatten();
        let dest_hash = crate::state::destinations::destination_hash(cx.hosts, &dst.to_string());
        let rare = &cx.shared.rare_destinations;
        if rare.allow.nets.contains(dst, None) {
            return;
        }
        let reach = cx.dests.record(dest_hash, cx.hosts.key_hash("host", &src), ts, rare.period_ms);
        let key = cx.hosts.key_hash(META.id, &(dst, port));
        let cap = cx.shared.state.max_keys_per_host;
        let tracks = &mut cx.host_state(src).rules.fw_beacon;
        if reach > rare.max_hosts as usize {
            tracks.remove(key);
            return;
        }
        let t = tracks.entry(key, cap, || Track {
            dst,
            port,
            transport,
            first_ms: ts,
            last_ms: ts,
            base_s: ts.div_euclid(1000),
            connections: 0,
            denied: 0,
            each: Series::default(),
            merged: Series::default(),
            alerted_ms: None,
        });
        t.first_ms = t.first_ms.min(ts);
        t.last_ms = t.last_ms.max(ts);
        t.connections = t.connections.saturating_add(1);
        t.denied = t.denied.saturating_add(u32::from(ev.is_denied()));
        t.transport = t.transport.or(transport);
        let rel = (ts.div_euclid(1000) - t.base_s).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        let added_each = t.each.add(rel, bytes, 1);
        let added_merged = t.merged.add(rel, bytes, s.contact_gap.ms / 1000);
        if !(added_each || added_merged) || t.alerted_ms.is_some_and(|a| ts.saturating_sub(a) < s.dedup_window.ms) {
            return;
        }
        let Some(j) = s.judge(t).filter(|j| j.score >= s.min_score) else { return };
        t.alerted_ms = Some(ts);
        let t = t.clone();
        let alert = s.alert(&t, src, ts, &j, reach, rare.max_hosts);
        cx.raise(alert);
    }
}

impl Settings {
    fn alert(&self, t: &Track, src: IpAddr, ts: i64, j: &Judged, reach: usize, max_hosts: u32) -> Alert {
        let to = match t.transport {
            Some(tr) => format!("{}/{}", tr.name().to_uppercase(), t.port),
            None => format!("port {}", t.port),
        };
        let every = human_secs(j.timing.median_s);
        let jitter = human_secs(j.timing.mad_s);
        let size = match j.size {
            Some(s) => format!(", {} bytes sent per contact (MAD {})", s.median.round(), s.mad.round()),
            None => String::new(),
        };
        let scale = match j.scale {
            Scale::Connections => "connections".to_owned(),
            Scale::Contacts => format!("contacts (connections less than {} apart as one)", human_secs(self.contact_gap.ms as f64 / 1000.0)),
        };
        AlertBuilder::new(&META, ts, self.severity)
            .host(Some(src))
            .destination(Some((t.dst, Some(t.port))))
            .related([t.dst])
            .message(format!(
                "{src}: {} {} to {} on {to} every {every} (MAD {jitter}){size}; beacon score {} >= {}",
                j.timing.contacts,
                if j.scale == Scale::Connections { "connections" } else { "contacts" },
                t.dst,
                round3(j.score),
                self.min_score
            ))
            .evidence(json!({
                "destination": {"ip": t.dst.to_string(), "port": t.port},
                "transport": t.transport.map(|tr| tr.name()),
                "scale": scale,
                "score": round3(j.score),
                "min_score": self.min_score,
                "intervals": j.timing.evidence(),
                "bytes_per_contact": j.size.map(|s| s.evidence("bytes")),
                "connections": t.connections,
                "denied": t.denied,
                "first_seen": format_ms(t.first_ms),
                "last_seen": format_ms(t.last_ms),
                "hosts_reaching_destination": reach,
                "max_hosts": max_hosts,
                "threshold": format!("score {} >= min_score {} over {} contacts (min_contacts {})", round3(j.score), self.min_score, j.timing.contacts, self.min_contacts.get()),
            }))
            .build()
    }
}

/// Seconds as `6h 0m 12s`, to the second.
fn human_secs(s: f64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(s.max(0.0).round() as u64)).to_string()
}

#[cfg(test)]
mod tests {
    fn alerts(lines: impl Iterator<Item = String>) -> Vec<serde_json::Value> {
        let mut d = crate::Detector::new(crate::Config::from_json(br#"{"host_risk":{"enabled":false}}"#).unwrap());
        let mut out = Vec::new();
        for l in lines {
            d.process_line(l.as_bytes(), &mut out);
        }
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| l.contains(r#""id":"fw.beacon""#))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn conn(t: i64, dst: &str, port: u16, bytes: u64) -> String {
        format!(r#"{{"@timestamp":{t},"event.action":"allow","source.ip":"10.0.0.5","destination.ip":"{dst}","destination.port":{port},"network.transport":"tcp","source.bytes":{bytes}}}"#)
    }

    const T0: i64 = 1_714_557_600;

    #[test]
    fn a_six_hourly_check_in_of_two_connections_alerts_once_a_day() {
        // Two connections 20 s apart every 6 h (± 30 s), 1.6 KB each, for three days.
        let lines = (0..12).flat_map(|i| {
            let t = T0 + i * 21_600 + (i % 3) * 15;
            [conn(t, "185.56.145.73", 80, 1628), conn(t + 20, "185.56.145.73", 80, 1682)]
        });
        let got = alerts(lines);
        assert_eq!(got.len(), 2, "day 2 and day 3: {got:#?}");
        let e = &got[0]["malhost"]["evidence"];
        assert!(e["scale"].as_str().unwrap().starts_with("contacts"), "{e}");
        assert_eq!(e["intervals"]["contacts"], 8);
        assert!(e["score"].as_f64().unwrap() > 0.95, "{e}");
        assert_eq!(e["bytes_per_contact"]["median_bytes"], 3310.0);
        let msg = got[0]["message"].as_str().unwrap();
        assert!(msg.starts_with("10.0.0.5: 8 contacts to 185.56.145.73 on TCP/80 every 6h"), "{msg}");
    }

    #[test]
    fn retries_every_ten_seconds_are_a_beacon_at_the_connections_scale() {
        // njRAT's SYNs: 9 s, then 14 s, then 9 s…, nothing sent.
        let got = alerts((0..16).map(|i| conn(T0 + i / 2 * 23 + i % 2 * 9, "41.108.179.197", 1177, 0)));
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0]["malhost"]["evidence"]["scale"], "connections");
    }

    #[test]
    fn irregular_browsing_ntp_and_floods_do_not_alert() {
        // A person: visits at irregular times, of irregular sizes.
        let gaps = [300, 4000, 90, 12_000, 700, 2500, 60_000, 150, 9000, 400, 30_000, 1200];
        let mut t = T0;
        let browsing = gaps.iter().enumerate().map(|(i, g)| {
            t += g;
            conn(t, "198.51.100.7", 8080, 500 + (i as u64 * 7919) % 20_000)
        });
        assert!(alerts(browsing.collect::<Vec<_>>().into_iter()).is_empty());
        assert!(alerts((0..30).map(|i| conn(T0 + i * 64, "192.0.2.123", 123, 48))).is_empty(), "NTP is ignored");
        assert!(alerts((0..30).map(|i| conn(T0 + i, "203.0.113.9", 9999, 60))).is_empty(), "once a second is a flood");
        assert!(alerts((0..30).map(|i| conn(T0 + i * 600, "10.1.2.3", 9999, 60))).is_empty(), "internal destination");
    }
}
