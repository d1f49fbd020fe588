//! `list.count` and `list.types`: a host's events hit a learned malicious list too often
//! (w = max_k w_k > t_w) or with too many distinct values (s > t_s) within the window.
//!
//! Every event whose value (by the shared extractor, [`crate::lists::extract`]) is listed gets
//! `malhost.list_hits[]`; fields with a threshold keep a per-host [`ListWindow`] and alert at
//! most once per (host, rule, field) per `dedup_window`, with the values hit and their counts.

use serde_json::json;

use crate::config::LearnedListsConfig;
use crate::event::time::format_ms;
use crate::lists::window::{Hit, ListWindow};
use crate::output::ListHit;

use super::RuleMeta;
use super::context::{AlertBuilder, IfNoHost, RuleContext};

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
pub fn apply(rc: &LearnedListsConfig, cx: &mut RuleContext) {
    let ev = cx.ev;
    for cf in &rc.fields {
        let Some(value) = crate::lists::extract::extract(cf.field, ev, cx.kind, &rc.extract) else { continue };
        let Some(&idx) = cf.index.get(value.as_ref()) else { continue };
        cx.ann.list_hits.push(ListHit { field: cf.field.name(), value: value.into_owned() });
        if cf.count.is_none() && cf.types.is_none() {
            continue;
        }
        let Some(host) = cx.host(&COUNT_META, IfNoHost::Report("missing; list hits cannot be counted per host")) else { continue };
        let Some(ts) = cx.time(&COUNT_META) else { continue };
        let cap = cx.config.state.max_keys_per_host;
        let state = cx.hosts.get_mut(host);
        let pos = match state.lists.iter().position(|(f, _)| *f == cf.field) {
            Some(p) => p,
            None => {
                state.lists.push((cf.field, ListWindow::default()));
                state.lists.len() - 1
            }
        };
        let Some(scores) = state.lists[pos].1.record(Hit { ts, value: idx }, rc.window_ms, cap) else { continue };
        let checks = [(&COUNT_META, cf.count, scores.w, "w"), (&TYPES_META, cf.types, scores.s, "s")];
        for (meta, threshold, score, name) in checks {
            let Some(t) = threshold else { continue };
            if score <= t {
                continue;
            }
            let reason = format!("{name} = {score} > {t} for learned list {} within {}", cf.field.name(), window_text(rc.window_ms));
            cx.finding(meta, rc.severity, reason.clone());
            if !cx.once_per(meta, host, cf.field.name(), ts, rc.dedup_ms) {
                continue;
            }
            let values: Vec<_> = scores
                .counts
                .iter()
                .take(20)
                .map(|(i, n)| json!({"value": cf.values.get(*i as usize), "count": n}))
                .collect();
            let alert = AlertBuilder::new(meta, ts, rc.severity)
                .host(Some(host))
                .message(format!("{host}: {reason}"))
                .evidence(json!({
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
                }))
                .build();
            cx.raise(alert);
        }
    }
}

fn window_text(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}
