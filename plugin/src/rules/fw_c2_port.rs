//! `fw.c2_port`: an internal host keeps connecting to one external address on a port outside
//! the business ports, allowed or denied — how implants retry their controller (Remcos on
//! TCP/5888, njRAT on TCP/1177).
//!
//! Per host the rule follows each (external address, port) outside `business_ports`: the
//! connections since the first one of the current window (`window` long; a connection after it
//! starts a new one). When `min_count` fall in one window the host alerts, at most once per
//! (address, port) per `dedup_window`. ICMP, inbound traffic, internal destinations and
//! addresses nobody connects to as a controller (multicast such as SSDP's 239.255.255.250,
//! broadcast, link-local) are not followed. A host talking to more than `max_peers` external
//! addresses on such ports within a window is a peer-to-peer client (BitTorrent keeps hundreds
//! of peers an hour), not an implant with one controller, and does not alert while it is.
//! Events are not enriched: one connection to an odd port says little, the repetition does.
//! At most `state.max_keys_per_host` pairs are followed per host, the least recently active
//! dropped first.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::event::{Event, SourceKind, Transport, time::format_ms};
use crate::values::{Duration, PositiveInt, Severity};

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, OutboundConnection, RuleContext};
use super::registry::{Rule, RuleInfo, RuleState};
use super::shared::PortSet;

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "fw.c2_port",
    name: "Repeated connections to an external address on an unusual port",
    description: "An internal host kept connecting, or trying to connect, to one external address on a port that business traffic does not use, as malware retrying its command-and-control server does.",
    category: "command_and_control",
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::NON_STANDARD_PORT),
};

/// `rules.fw_c2_port` as the config document writes it, and the compiled rule: nothing in it
/// needs compiling.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Ports business traffic uses: connections to them are not followed.
    pub business_ports: PortSet,
    /// Connections to one (address, port) within `window` that raise an alert.
    pub min_count: PositiveInt,
    /// Counted from the first connection of the window; a connection after it starts a new one.
    pub window: Duration,
    /// At most one alert per (host, address, port) within this time.
    pub dedup_window: Duration,
    /// A host connecting to more than this many external addresses on ports outside
    /// `business_ports` within one `window` behaves like a peer-to-peer client, not like an
    /// implant retrying its controller: it raises no alert while it does.
    pub max_peers: PositiveInt,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // Well-known services, and the push channels every desktop keeps open (Google's
            // 5228, MQTT over TLS 8883).
            business_ports: PortSet::of(&[20, 21, 22, 25, 53, 80, 110, 123, 143, 443, 465, 587, 853, 993, 995, 5228, 8883]),
            min_count: PositiveInt::new(10),
            window: Duration::secs(3600),
            dedup_window: Duration::secs(86_400),
            max_peers: PositiveInt::new(20),
            severity: Severity::High,
        }
    }
}

/// Connections of one host to one (address, port) in the current window.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct PortTrack {
    dst: IpAddr,
    port: u16,
    transport: Option<Transport>,
    first_ms: i64,
    last_ms: i64,
    count: u32,
    denied: u32,
}

/// A host's followed (address, port) pairs, least recently active first.
#[derive(Clone, Debug, Default, serde::Serialize, Deserialize)]
pub struct PortTracks(Vec<PortTrack>);

impl RuleState for PortTracks {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn repair(&mut self, cap: usize) {
        self.0.sort_by_key(|t| t.last_ms);
        let excess = self.0.len().saturating_sub(cap.max(1));
        self.0.drain(..excess);
        for t in &mut self.0 {
            t.first_ms = t.first_ms.min(t.last_ms);
            t.denied = t.denied.min(t.count);
        }
    }
}

impl PortTracks {
    /// Counts a connection at `ts`; returns the pair's track once it reached `min_count`
    /// within the window.
    fn record(&mut self, key: (IpAddr, u16, Option<Transport>), ts: i64, denied: bool, rc: &Settings, cap: usize) -> Option<&PortTrack> {
        let (dst, port, transport) = key;
        let i = match self.0.iter().position(|t| t.dst == dst && t.port == port) {
            Some(i) => i,
            None => {
                if self.0.len() >= cap.max(1) {
                    self.0.remove(0);
                }
                self.0.push(PortTrack { dst, port, transport, first_ms: ts, last_ms: ts, count: 0, denied: 0 });
                self.0.len() - 1
            }
        };
        // The most recently active pair goes last.
        let mut t = self.0.remove(i);
        if ts.saturating_sub(t.first_ms) > rc.window.ms {
            t = PortTrack { first_ms: ts, last_ms: ts, count: 0, denied: 0, ..t };
        }
        t.first_ms = t.first_ms.min(ts);
        t.last_ms = t.last_ms.max(ts);
        t.count = t.count.saturating_add(1);
        t.denied = t.denied.saturating_add(u32::from(denied));
        t.transport = t.transport.or(transport);
        self.0.push(t);
        self.0.last().filter(|t| t.count >= rc.min_count.get())
    }

    /// Distinct addresses of the pairs active since `since_ms`.
    fn peers(&self, since_ms: i64) -> usize {
        let mut seen: Vec<IpAddr> = self.0.iter().filter(|t| t.last_ms >= since_ms).map(|t| t.dst).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

impl Rule for Settings {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Firewall], message_dedup: false };
    type Settings = Self;
    type HostState = PortTracks;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let Some(OutboundConnection { src, dst, port, transport, ts }) = cx.outbound_connection(&META, &self.business_ports) else { return };
        let cap = cx.shared.state.max_keys_per_host;
        let tracks = &mut cx.host_state(src).rules.fw_c2_port;
        let Some(t) = tracks.record((dst, port, transport), ts, ev.is_denied(), self, cap).cloned() else {
            return;
        };
        let peers = tracks.peers(ts.saturating_sub(self.window.ms));
        if peers > self.max_peers.get() as usize {
            return;
        }
        if !cx.once_per(&META, src, &(dst, port), ts, self.dedup_window.ms) {
            return;
        }
        let to = match t.transport {
            Some(tr) => format!("{}/{port}", tr.name().to_uppercase()),
            None => format!("port {port}"),
        };
        let window = humantime::format_duration(std::time::Duration::from_millis(self.window.ms.max(0) as u64));
        let alert = AlertBuilder::new(&META, ts, self.severity)
            .host(Some(src))
            .destination(Some((dst, Some(port))))
            .related([dst])
            .message(format!(
                "{src}: {} connections to {dst} on {to} within {window} ({} denied); {port} is not a business port",
                t.count, t.denied
            ))
            .evidence(json!({
                "destination": {"ip": dst.to_string(), "port": port},
                "transport": t.transport.map(|tr| tr.name()),
                "count": t.count,
                "denied": t.denied,
                "allowed": t.count - t.denied,
                "min_count": self.min_count.get(),
                "window_seconds": self.window.ms / 1000,
                "first_seen": format_ms(t.first_ms),
                "last_seen": format_ms(t.last_ms),
                "threshold": format!("count {} >= min_count {}", t.count, self.min_count.get()),
                "peers_in_window": peers,
                "max_peers": self.max_peers.get(),
            }))
            .build();
        cx.raise(alert);
    }
}

#[cfg(test)]
mod tests {
    fn alerts(lines: impl Iterator<Item = String>) -> Vec<String> {
        let mut d = crate::Detector::new(crate::Config::from_json(br#"{"host_risk":{"enabled":false}}"#).unwrap());
        let mut out = Vec::new();
        for l in lines {
            d.process_line(l.as_bytes(), &mut out);
        }
        String::from_utf8(out).unwrap().lines().filter(|l| l.contains(r#""id":"fw.c2_port""#)).map(str::to_owned).collect()
    }

    fn conn(i: u32, dst: &str, port: u16) -> String {
        format!(r#"{{"@timestamp":{},"event.action":"allow","source.ip":"10.0.0.5","destination.ip":"{dst}","destination.port":{port},"network.transport":"udp"}}"#, 1_714_557_600 + i)
    }

    #[test]
    fn a_controller_retried_alerts_but_ssdp_multicast_does_not() {
        assert_eq!(alerts((0..10).map(|i| conn(i, "203.0.113.7", 5888))).len(), 1);
        assert!(alerts((0..10).map(|i| conn(i, "239.255.255.250", 1900))).is_empty());
        assert!(alerts((0..10).map(|i| conn(i, "255.255.255.255", 1900))).is_empty());
    }

    #[test]
    fn a_peer_to_peer_client_does_not_alert() {
        // 30 peers, each reached ten times within the hour, beside one address reached ten times.
        let p2p = (0..300).map(|i| conn(i, &format!("198.51.100.{}", i % 30), 51413));
        let got = alerts(p2p.chain((300..310).map(|i| conn(i, "203.0.113.7", 5888))));
        assert!(got.is_empty(), "{got:#?}");
        // 20 peers are still within max_peers: each repeated pair alerts.
        assert_eq!(alerts((0..200).map(|i| conn(i, &format!("198.51.100.{}", i % 20), 51413))).len(), 20);
    }
}
