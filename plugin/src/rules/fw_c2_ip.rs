//! `fw.c2_ip`: the destination address (or address and port) is in a C&C indicator list.
//!
//! Applies to firewall events, allowed or denied, and to proxy events that carry
//! `destination.ip`. The event gets a `threat.enrichments[]` entry (ECS `indicator.*`,
//! `matched.*`) and a finding; the host (`source.ip`) gets one alert per indicator entry per
//! `dedup_window`.

use serde_json::json;

use crate::config::{C2IpConfig, Config};
use crate::event::{Event, FieldError};
use crate::output::{Alert, Finding, Indicator, Matched, ThreatEnrichment};
use crate::state::HostTable;

use super::{Annotations, RuleMeta};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "fw.c2_ip",
    name: "Connection to a C&C address",
    description: "A host connected, or tried to connect, to an address listed as malware command-and-control.",
    category: "command_and_control",
};

/// Applies the rule to one event.
pub fn apply(ev: &Event, config: &Config, rc: &C2IpConfig, hosts: &mut HostTable, ann: &mut Annotations) {
    if rc.indicators.is_empty() {
        return;
    }
    let dst = match ev.destination_ip() {
        Ok(Some(ip)) => ip,
        Ok(None) => return,
        Err(e) => return ann.field_error(META.id, e),
    };
    let port = match ev.destination_port() {
        Ok(p) => p,
        Err(e) => {
            ann.field_error(META.id, e);
            None
        }
    };
    let Some((spec, source)) = rc.indicators.lookup(dst, port) else { return };
    let kind = if dst.is_ipv4() { "ipv4-addr" } else { "ipv6-addr" };
    ann.enrichments.push(ThreatEnrichment {
        indicator: Indicator {
            kind,
            ip: Some(dst.to_string()),
            url: None,
            port: match spec {
                crate::netlist::NetSpec::Socket(_, p) => Some(*p),
                _ => None,
            },
            name: source.entry.clone(),
            provider: source.provider.clone(),
        },
        matched: Matched { atomic: dst.to_string(), field: "destination.ip", kind: "indicator_match_rule" },
    });
    let reason = format!(
        "destination {} is in C&C list {:?} (entry {})",
        match port {
            Some(p) if matches!(spec, crate::netlist::NetSpec::Socket(..)) => std::net::SocketAddr::new(dst, p).to_string(),
            _ => dst.to_string(),
        },
        source.list,
        source.entry
    );
    ann.findings.push(Finding { rule: META.id, severity: rc.severity, reason: reason.clone() });

    let host = match ev.source_ip() {
        Ok(Some(ip)) => ip,
        Ok(None) => {
            return ann.field_error(
                META.id,
                FieldError { field: "source.ip", problem: "missing; no fw.c2_ip alert can name the host".into() },
            );
        }
        Err(e) => return ann.field_error(META.id, e),
    };
    let ts = match ev.timestamp_ms() {
        Ok(t) => t,
        Err(e) => return ann.field_error(META.id, e),
    };
    let key = hosts.key_hash(META.id, source.entry.as_str());
    let cap = config.state.max_keys_per_host;
    if !hosts.get_mut(host).dedup.should_alert(key, ts, rc.dedup_ms, cap) {
        return;
    }
    ann.alerts.push(Alert {
        timestamp_ms: ts,
        rule: &META,
        severity: rc.severity,
        host: Some(host),
        destination: Some((dst, port)),
        related_ips: vec![host, dst],
        message: format!("{host}: {reason}"),
        evidence: json!({
            "indicator": source.entry,
            "list": source.list,
            "provider": source.provider,
            "destination": {"ip": dst.to_string(), "port": port},
            "action": ev.str(crate::event::Field::EventAction),
            "denied": ev.is_denied(),
            "first_seen": crate::event::time::format_ms(ts),
            "dedup_window_seconds": rc.dedup_ms / 1000,
        }),
        email: None,
    });
}
