//! `fw.beacon`: an internal host checks in with one rare external address and port like a
//! timer — beaconing seen in connection logs (Zeek conn, Argus, firewall logs), not only
//! through proxies.
//!
//! Per (host, address, port) the rule keeps the newest [`CONTACTS`] contacts as a [`Series`]:
//! connections less than `contact_gap` apart are one contact, so an implant that opens two
//! connections per check-in checks in once (faster retries are `fw.c2_port`'s and
//! `fw.outbound_deny`'s). Once `min_contacts` contacts are kept, the beacon score is the
//! periodicity of the intervals ([`super::periodicity`]: median, MAD and skew, check-ins missed
//! on the timer's grid folded in) times the regularity of the bytes each contact sent
//! (`1 − MAD/median`; RITA's data-size score) when the events say them: both must be regular.
//!
//! A score of at least `min_score` alerts when the beacon goes unanswered (3 in 4 connections
//! denied or answered with no byte: an implant retrying a controller that is down or blocked),
//! or when it has kept its timer for `min_span` (two days): ordinary software keeps the
//! connections it is answered on alive too (telemetry, push, sync), but to destinations many
//! hosts reach. It alerts at most once per (host, address, port) per `dedup_window`, so a
//! beacon that keeps going keeps adding evidence to the host's verdict.
//!
//! Not followed: inbound traffic, ICMP, internal destinations, multicast and broadcast,
//! `ignore_ports` (DNS and NTP, which machines poll by design), `rare_destinations.allow`, and
//! destinations reached by more than `rare_destinations.max_hosts` hosts (update servers,
//! cloud services), counted in the table the proxy rules share. A host with unanswered beacons
//! to more than `max_unanswered_peers` addresses within an hour is a peer-to-peer client, not
//! an implant, and raises none while it is. At most `state.max_keys_per_host` pairs are
//! followed per host, the least recently active dropped first; a pair is followed from the
//! host's second connection to the address (the shared table remembers the first), so the
//! addresses a host reaches once cost no track.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::event::{Event, Field, SourceKind, Transport, time::format_ms};
use crate::output::{Attack, attack};
use crate::output::Alert;
use crate::values::{ConfigError, Duration, PositiveInt, Severity};

use super::RuleMeta;
use super::context::{AlertBuilder, OutboundConnection, RuleContext};
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
    /// Connections less than this apart are one contact.
    pub contact_gap: Duration,
    /// Destination ports not followed: services machines poll by design.
    pub ignore_ports: PortSet,
    /// How long an answered beacon must have kept its timer (first to last contact) to alert.
    /// Ordinary software keeps the connections it is answered on alive too (telemetry, push,
    /// sync), to destinations many hosts reach; a beacon that goes unanswered (connections
    /// denied or answered with no byte) alerts as soon as it is regular.
    pub min_span: Duration,
    /// A host with unanswered beacons to more than this many addresses within an hour is a
    /// peer-to-peer client retrying peers that went away (BitTorrent), not an implant: it
    /// raises no alert while it is.
    pub max_unanswered_peers: PositiveInt,
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
            ignore_ports: PortSet::of(&[53, 123]),
            min_span: Duration::secs(2 * 86_400),
            max_unanswered_peers: PositiveInt::new(20),
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

/// Contacts kept per (host, address, port).
pub const CONTACTS: usize = MAX_CONTACTS as usize;

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
    /// Connections the destination sent bytes back on.
    answered: u32,
    /// Connections denied, or that the destination sent no byte back on.
    unanswered: u32,
    /// The contacts: connections less than `contact_gap` apart merged.
    contacts: Series<CONTACTS>,
    /// When it last alerted, ms.
    alerted_ms: Option<i64>,
}

impl Track {
    /// Whether most connections whose outcome is known went unanswered (3 in 4 or more). A
    /// log that says neither (no byte counts, no denies) counts as answered.
    fn unanswered(&self) -> bool {
        self.unanswered > 0 && 4 * u64::from(self.unanswered) >= 3 * (u64::from(self.answered) + u64::from(self.unanswered))
    }
}

/// The window of [`Settings::max_unanswered_peers`], ms.
const PEER_WINDOW_MS: i64 = 3_600_000;

impl Tracked for Track {
    fn last_ms(&self) -> i64 {
        self.last_ms
    }
}

/// What the rule keeps per host: its followed (address, port) pairs by seeded hash, and the
/// addresses it reached for the first time without an answer in the current hour (not followed
/// yet, but peers all the same for `max_unanswered_peers`).
#[derive(Clone, Debug, Default, serde::Serialize, Deserialize)]
pub struct BeaconTracks {
    tracks: TrackMap<Track>,
    /// Start of the hour `new_unanswered` counts in, ms.
    hour_ms: i64,
    new_unanswered: u32,
}

impl BeaconTracks {
    /// Pairs followed.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Counts a first, unanswered connection to an address at `ts`.
    fn count_new_unanswered(&mut self, ts: i64) {
        if ts.saturating_sub(self.hour_ms) > PEER_WINDOW_MS || ts < self.hour_ms {
            (self.hour_ms, self.new_unanswered) = (ts, 0);
        }
        self.new_unanswered = self.new_unanswered.saturating_add(1);
    }

    /// Addresses with unanswered connections within the hour before `ts`: followed pairs that
    /// go unanswered, and addresses first reached without an answer this hour.
    fn unanswered_peers(&self, ts: i64) -> usize {
        let since = ts.saturating_sub(PEER_WINDOW_MS);
        let followed = self.tracks.tracks().filter(|p| p.last_ms >= since && p.unanswered()).map(|p| p.dst).collect::<std::collections::BTreeSet<_>>().len();
        let new = if self.hour_ms >= since { self.new_unanswered as usize } else { 0 };
        followed + new
    }
}

impl RuleState for BeaconTracks {
    fn is_empty(&self) -> bool {
        self.tracks.is_empty() && self.new_unanswered == 0
    }

    fn repair(&mut self, cap: usize) {
        for t in self.tracks.tracks_mut() {
            t.first_ms = t.first_ms.min(t.last_ms);
            t.denied = t.denied.min(t.connections);
            t.unanswered = t.unanswered.min(t.connections);
            t.answered = t.answered.min(t.connections - t.unanswered);
        }
        self.tracks.shrink_to(cap);
    }
}

/// A beacon's judgement.
#[derive(Clone, Copy, Debug)]
struct Judged {
    timing: Periodicity,
    size: Option<Dispersion>,
    score: f64,
}

impl Settings {
    /// The beacon score of the contacts kept, once there are `min_contacts`.
    fn judge(&self, t: &Track) -> Option<Judged> {
        let timing = t.contacts.periodicity().filter(|p| p.contacts >= self.min_contacts.get() as usize)?;
        let size = t.contacts.size_regularity();
        let score = timing.score * size.map_or(1.0, |s| s.mad_score());
        Some(Judged { timing, size, score })
    }
}

impl Rule for FwBeaconConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Firewall], message_dedup: false };
    type Settings = Settings;
    type HostState = BeaconTracks;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let s = &self.0;
        let Some(OutboundConnection { src, dst, port, transport, ts }) = cx.outbound_connection(&META, &s.ignore_ports) else { return };
        let bytes = ev.byte_count(Field::SourceBytes).ok().flatten();
        let reply = ev.byte_count(Field::DestinationBytes).ok().flatten();
        // The address as text (the key the proxy rules count it under), without allocating.
        let mut buf = [0u8; 48];
        let text = {
            use std::io::Write as _;
            let mut w = &mut buf[..];
            let _ = write!(w, "{dst}");
            let n = 48 - w.len();
            std::str::from_utf8(&buf[..n]).unwrap_or_default()
        };
        let dest_hash = crate::state::destinations::destination_hash(cx.hosts, text);
        let rare = &cx.shared.rare_destinations;
        if rare.allow.nets.contains(dst, None) {
            return;
        }
        let (reach, seen) = cx.dests.record_seen(dest_hash, cx.hosts.key_hash("host", &src), ts, rare.period_ms);
        let key = cx.hosts.key_hash(META.id, &(dst, port));
        let cap = cx.shared.state.max_keys_per_host;
        let state = &mut cx.host_state(src).rules.fw_beacon;
        if reach > rare.max_hosts as usize {
            state.tracks.remove(key);
            return;
        }
        let denied = ev.is_denied();
        let no_answer = denied || reply == Some(0);
        // A pair is followed from the host's second connection to the address: most addresses
        // a host reaches it reaches once, and they cost no track.
        if !seen {
            if no_answer {
                state.count_new_unanswered(ts);
            }
            return;
        }
        let tracks = &mut state.tracks;
        let t = tracks.entry(key, cap, || Track {
            dst,
            port,
            transport,
            first_ms: ts,
            last_ms: ts,
            base_s: ts.div_euclid(1000),
            connections: 0,
            denied: 0,
            answered: 0,
            unanswered: 0,
            contacts: Series::default(),
            alerted_ms: None,
        });
        t.first_ms = t.first_ms.min(ts);
        t.last_ms = t.last_ms.max(ts);
        t.connections = t.connections.saturating_add(1);
        t.denied = t.denied.saturating_add(u32::from(denied));
        match (denied, reply) {
            (true, _) | (false, Some(0)) => t.unanswered = t.unanswered.saturating_add(1),
            (false, Some(_)) => t.answered = t.answered.saturating_add(1),
            (false, None) => {}
        }
        t.transport = t.transport.or(transport);
        let rel = (ts.div_euclid(1000) - t.base_s).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        let added = t.contacts.add(rel, bytes, s.contact_gap.ms / 1000);
        if !added || t.contacts.len() < s.min_contacts.get() as usize || t.alerted_ms.is_some_and(|a| ts.saturating_sub(a) < s.dedup_window.ms) {
            return;
        }
        let unanswered = t.unanswered();
        let lasted = t.last_ms.saturating_sub(t.first_ms) >= s.min_span.ms;
        let Some(j) = s.judge(t).filter(|j| j.score >= s.min_score && (unanswered || lasted)) else { return };
        let t = t.clone();
        if unanswered && cx.host_state(src).rules.fw_beacon.unanswered_peers(ts) > s.max_unanswered_peers.get() as usize {
            return;
        }
        if let Some(t) = cx.host_state(src).rules.fw_beacon.tracks.get_mut(key) {
            t.alerted_ms = Some(ts);
        }
        let alert = s.alert(&t, src, ts, &j, unanswered, reach, rare.max_hosts);
        cx.raise(alert);
    }
}

impl Settings {
    #[allow(clippy::too_many_arguments)]
    fn alert(&self, t: &Track, src: IpAddr, ts: i64, j: &Judged, unanswered: bool, reach: usize, max_hosts: u32) -> Alert {
        let to = match t.transport {
            Some(tr) => format!("{}/{}", tr.name().to_uppercase(), t.port),
            None => format!("port {}", t.port),
        };
        let size = match j.size {
            Some(s) => format!(", {} bytes sent per contact (MAD {})", s.median.round(), s.mad.round()),
            None => String::new(),
        };
        let missed = match j.timing.missed {
            0 => String::new(),
            1 => ", 1 check-in missed".to_owned(),
            n => format!(", {n} check-ins missed"),
        };
        let why = if unanswered {
            format!("unanswered ({} of {} connections denied or answered with no byte, {} answered)", t.unanswered, t.connections, t.answered)
        } else {
            format!("kept for {}", human_secs(t.last_ms.saturating_sub(t.first_ms) as f64 / 1000.0))
        };
        AlertBuilder::new(&META, ts, self.severity)
            .host(Some(src))
            .destination(Some((t.dst, Some(t.port))))
            .related([t.dst])
            .message(format!(
                "{src}: {} contacts to {} on {to} every {} (MAD {}){missed}{size}, {why}; beacon score {} >= {}",
                j.timing.contacts,
                t.dst,
                human_secs(j.timing.median_s),
                human_secs(j.timing.mad_s),
                round3(j.score),
                self.min_score
            ))
            .evidence(json!({
                "destination": {"ip": t.dst.to_string(), "port": t.port},
                "transport": t.transport.map(|tr| tr.name()),
                "score": round3(j.score),
                "min_score": self.min_score,
                "intervals": j.timing.evidence(),
                "missed_check_ins": j.timing.missed,
                "bytes_per_contact": j.size.map(|s| s.evidence("bytes")),
                "contact_gap_seconds": self.contact_gap.ms / 1000,
                "connections": t.connections,
                "denied": t.denied,
                "answered": t.answered,
                "unanswered": t.unanswered,
                "first_seen": format_ms(t.first_ms),
                "last_seen": format_ms(t.last_ms),
                "hosts_reaching_destination": reach,
                "max_hosts": max_hosts,
                "threshold": format!(
                    "score {} >= min_score {} over {} contacts (min_contacts {}), {}",
                    round3(j.score),
                    self.min_score,
                    j.timing.contacts,
                    self.min_contacts.get(),
                    if unanswered { "unanswered".to_owned() } else { format!("kept >= min_span {}", human_secs(self.min_span.ms as f64 / 1000.0)) }
                ),
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

    /// A connection that sent `bytes` and got `reply` bytes back.
    fn conn_reply(t: i64, dst: &str, port: u16, bytes: u64, reply: u64) -> String {
        format!(
            r#"{{"@timestamp":{t},"event.action":"allow","source.ip":"10.0.0.5","destination.ip":"{dst}","destination.port":{port},"network.transport":"tcp","source.bytes":{bytes},"destination.bytes":{reply}}}"#
        )
    }

    /// A connection that sent `bytes` and got an answer.
    fn conn(t: i64, dst: &str, port: u16, bytes: u64) -> String {
        conn_reply(t, dst, port, bytes, 9000)
    }

    const T0: i64 = 1_714_557_600;

    #[test]
    fn a_six_hourly_check_in_of_two_connections_alerts_once_it_kept_its_timer_two_days() {
        // Two connections 20 s apart every 6 h (± 30 s), 1.6 KB each, for four days, a
        // check-in missed now and then.
        let lines = (0..16).filter(|i| i % 5 != 3).flat_map(|i| {
            let t = T0 + i * 21_600 + (i % 3) * 15;
            [conn(t, "185.56.145.73", 80, 1628), conn(t + 20, "185.56.145.73", 80, 1682)]
        });
        let got = alerts(lines);
        assert_eq!(got.len(), 2, "day 3 and day 4: {got:#?}");
        let e = &got[0]["malhost"]["evidence"];
        assert_eq!(e["intervals"]["contacts"], 8);
        assert_eq!(e["missed_check_ins"], 2);
        assert!(e["score"].as_f64().unwrap() > 0.95, "{e}");
        assert_eq!(e["bytes_per_contact"]["median_bytes"], 3310.0);
        let msg = got[0]["message"].as_str().unwrap();
        // The first connection only marks the address as seen; the pair is followed from the
        // second, 20 s later.
        assert!(msg.starts_with("10.0.0.5: 8 contacts to 185.56.145.73 on TCP/80 every 5h 59m 55s (MAD 20s)"), "{msg}");
        assert!(msg.contains("2 check-ins missed") && msg.contains("kept for 2days"), "{msg}");
    }

    #[test]
    fn a_controller_that_does_not_answer_alerts_as_soon_as_the_timer_is_regular() {
        let retry = |i: i64, reply| conn_reply(T0 + i * 300 + i % 2 * 7, "66.63.168.35", 5888, 0, reply);
        let got = alerts((0..10).map(|i| retry(i, 0)));
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0]["malhost"]["evidence"]["unanswered"], 8);
        assert!(alerts((0..10).map(|i| retry(i, 700))).is_empty(), "answered every 5 minutes for an hour: a keepalive");
    }

    #[test]
    fn answered_keepalives_and_peer_to_peer_retries_do_not_alert() {
        // Telemetry: every 15 minutes for a day, answered, the same size.
        assert!(alerts((0..96).map(|i| conn(T0 + i * 900, "20.54.24.246", 443, 1314))).is_empty());
        // BitTorrent: 30 peers, each retried every two minutes without an answer.
        let peers = (0..300).map(|i| conn_reply(T0 + (i / 30) * 120 + i % 30, &format!("198.51.100.{}", i % 30), 51413, 74, 0));
        assert!(alerts(peers).is_empty());
        // Peers tried once each count too: 100 of them within the hour beside one retried
        // address make a peer-to-peer client.
        let once = (0..100).map(|i| conn_reply(T0 + i * 30, &format!("198.51.{}.{}", 101 + i / 200, i % 200), 6881, 74, 0));
        let retried = (0..10).map(|i| conn_reply(T0 + i * 120 + 7, "203.0.113.77", 6881, 74, 0));
        let mut mixed: Vec<String> = once.chain(retried).collect();
        mixed.sort_by_key(|l| l[14..24].to_owned());
        assert!(alerts(mixed.into_iter()).is_empty());
        // The same retries to 5 addresses are 5 beacons.
        let few = (0..50).map(|i| conn_reply(T0 + (i / 5) * 120 + i % 5, &format!("198.51.100.{}", i % 5), 51413, 74, 0));
        assert_eq!(alerts(few).len(), 5);
    }

    #[test]
    fn irregular_browsing_ntp_and_internal_destinations_do_not_alert() {
        // A person: visits at irregular times, of irregular sizes, over days.
        let gaps = [300, 40_000, 900, 12_000, 7000, 25_000, 60_000, 1500, 9000, 4000, 30_000, 1200, 80_000];
        let mut t = T0;
        let browsing: Vec<String> = gaps
            .iter()
            .enumerate()
            .map(|(i, g)| {
                t += g;
                conn(t, "198.51.100.7", 8080, 500 + (i as u64 * 7919) % 20_000)
            })
            .collect();
        assert!(alerts(browsing.into_iter()).is_empty());
        assert!(alerts((0..30).map(|i| conn_reply(T0 + i * 64, "192.0.2.123", 123, 48, 0))).is_empty(), "NTP is ignored");
        assert!(alerts((0..30).map(|i| conn_reply(T0 + i * 600, "10.1.2.3", 9999, 60, 0))).is_empty(), "internal destination");
    }
}
