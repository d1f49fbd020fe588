//! `proxy.user_agent`: a request whose User-Agent is not one of the organisation's standard
//! agents (exact strings or `*`/`?` patterns in `allowed`), or is empty or missing. Every
//! such request is enriched; a host alerts once per (host, agent) per `dedup_window`. With no
//! `allowed` list only empty and missing agents are flagged.

use serde_json::json;

use crate::config::{Config, UserAgentConfig};
use crate::event::{Event, Field, FieldError, Scalar, time::format_ms};
use crate::output::{Alert, Finding};
use crate::state::HostTable;

use super::{Annotations, RuleMeta};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "proxy.user_agent",
    name: "Unusual User-Agent",
    description: "A host made web requests with a User-Agent that is not one of the organisation's standard agents, or with none.",
    category: "command_and_control",
};

/// Applies the rule to one proxy event.
pub fn apply(ev: &Event, config: &Config, rc: &UserAgentConfig, hosts: &mut HostTable, ann: &mut Annotations) {
    let agent: Option<&str> = match ev.get(Field::UserAgentOriginal) {
        None | Some(Scalar::Null) => {
            if !rc.flag_missing {
                return;
            }
            None
        }
        Some(Scalar::Str(s)) => Some(s),
        Some(_) => {
            return ann.field_error(META.id, FieldError { field: "user_agent.original", problem: "not a string".into() });
        }
    };
    let reason = match agent {
        None => "no User-Agent".to_string(),
        Some(a) if a.trim().is_empty() => "empty User-Agent".to_string(),
        Some(a) => {
            if rc.exact.is_empty() && rc.patterns.is_empty() {
                return;
            }
            if rc.exact.contains(a) || rc.patterns.iter().any(|(_, m)| m.matches(a)) {
                return;
            }
            let shown: String = a.chars().take(120).collect();
            format!("User-Agent {shown:?} is not a standard agent")
        }
    };
    ann.findings.push(Finding { rule: META.id, severity: rc.severity, reason: reason.clone() });
    let src = match ev.source_ip() {
        Ok(Some(ip)) => ip,
        Ok(None) => return,
        Err(e) => return ann.field_error(META.id, e),
    };
    let ts = match ev.timestamp_ms() {
        Ok(t) => t,
        Err(e) => return ann.field_error(META.id, e),
    };
    let key = hosts.key_hash(META.id, agent.unwrap_or("\u{0}missing"));
    let cap = config.state.max_keys_per_host;
    if !hosts.get_mut(src).dedup.should_alert(key, ts, rc.dedup_ms, cap) {
        return;
    }
    ann.alerts.push(Alert {
        timestamp_ms: ts,
        rule: &META,
        severity: rc.alert_severity,
        host: Some(src),
        destination: ev.destination_ip().ok().flatten().map(|ip| (ip, None)),
        related_ips: vec![src],
        message: format!("{src}: {reason}"),
        evidence: json!({
            "user_agent": agent,
            "url": ev.str(Field::UrlFull).or_else(|| ev.str(Field::UrlOriginal)),
            "method": ev.str(Field::HttpRequestMethod),
            "first_seen": format_ms(ts),
            "standard_agents": rc.exact.len() + rc.patterns.len(),
        }),
        email: None,
    });
}
