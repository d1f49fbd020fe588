//! `list.count` and `list.types`: a host's events hit a learned malicious list too often
//! (w = max_k w_k > t_w) or with too many distinct values (s > t_s) within the window.
//!
//! Every event whose value (by the shared extractor, [`crate::lists::extract`]) is listed gets
//! `malhost.list_hits[]`; fields with a threshold keep a per-host [`ListWindow`] and alert at
//! most once per (host, rule, field) per `dedup_window`, with the values hit and their counts.

use serde_json::json;

use crate::config::{Config, LearnedListsConfig};
use crate::event::{Event, FieldError, SourceKind, time::format_ms};
use crate::lists::window::{Hit, ListWindow};
use crate::output::{Alert, Finding, ListHit};
use crate::state::HostTable;

use super::{Annotations, RuleMeta};

/// Count detection.
pub static COUNT_META: RuleMeta = RuleMeta {
    id: "list.count",
    name: "Repeated traffic to a learned malicious value",
    description: "A host's events carried one value of a learned malicious list more often than the threshold within the window (w > t_w).",
    category: "malware",
};

/// Type detection.
pub static TYPES_META: RuleMeta = RuleMeta {
    id: "list.types",
    name: "Traffic to many learned malicious values",
    description: "A host's events carried more distinct values of a learned malicious list than the threshold within the window (s > t_s).",
    category: "malware",
};

/// Applies the learned lists to one event.
pub fn apply(ev: &Event, kind: SourceKind, config: &Config, rc: &LearnedListsConfig, hosts: &mut HostTable, ann: &mut Annotations) {
    for cf in &rc.fields {
        let Some(value) = crate::lists::extract::extract(cf.field, ev, kind, &rc.extract) else { continue };
        let Some(&idx) = cf.index.get(value.as_ref()) else { continue };
        ann.list_hits.push(ListHit { field: cf.field.name(), value: value.into_owned() });
        if cf.count.is_none() && cf.types.is_none() {
            continue;
        }
        let host = match ev.source_ip() {
            Ok(Some(ip)) => ip,
            Ok(None) => {
                ann.field_error(COUNT_META.id, FieldError { field: "source.ip", problem: "missing; list hits cannot be counted per host".into() });
                continue;
            }
            Err(e) => {
                ann.field_error(COUNT_META.id, e);
                continue;
            }
        };
        let ts = match ev.timestamp_ms() {
            Ok(t) => t,
            Err(e) => {
                ann.field_error(COUNT_META.id, e);
                continue;
            }
        };
        let cap = config.state.max_keys_per_host;
        let keys = [hosts.key_hash(COUNT_META.id, cf.field.name()), hosts.key_hash(TYPES_META.id, cf.field.name())];
        let state = hosts.get_mut(host);
        let pos = match state.lists.iter().position(|(f, _)| *f == cf.field) {
            Some(p) => p,
            None => {
                state.lists.push((cf.field, ListWindow::default()));
                state.lists.len() - 1
            }
        };
        let Some(scores) = state.lists[pos].1.record(Hit { ts, value: idx }, rc.window_ms, cap) else { continue };
        let checks = [(&COUNT_META, cf.count, scores.w, "w", keys[0]), (&TYPES_META, cf.types, scores.s, "s", keys[1])];
        for (meta, threshold, score, name, key) in checks {
            let Some(t) = threshold else { continue };
            if score <= t {
                continue;
            }
            let reason = format!("{name} = {score} > {t} for learned list {} within {}", cf.field.name(), window_text(rc.window_ms));
            ann.findings.push(Finding { rule: meta.id, severity: rc.severity, reason: reason.clone() });
            if !state.dedup.should_alert(key, ts, rc.dedup_ms, cap) {
                continue;
            }
            let values: Vec<_> = scores
                .counts
                .iter()
                .take(20)
                .map(|(i, n)| json!({"value": cf.values.get(*i as usize), "count": n}))
                .collect();
            ann.alerts.push(Alert {
                timestamp_ms: ts,
                rule: meta,
                severity: rc.severity,
                host: Some(host),
                destination: None,
                related_ips: vec![host],
                message: format!("{host}: {reason}"),
                evidence: json!({
                    "field": cf.field.name(),
                    name: score,
                    "threshold": t,
                    "condition": format!("{name} > {t}"),
                    "w": scores.w,
                    "s": scores.s,
                    "values": values,
                    "distinct_values": scores.counts.len(),
                    "first_seen": format_ms(scores.first_ms),
                    "last_seen": format_ms(scores.last_ms),
                    "window_seconds": rc.window_ms / 1000,
                }),
                email: None,
            });
        }
    }
}

fn window_text(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}
