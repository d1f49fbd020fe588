//! `list.count` and `list.types`: a host's events hit a learned malicious list too often
//! (w = max_k w_k > t_w) or with too many distinct values (s > t_s) within the window.
//!
//! Every event whose value (by the shared extractor, [`crate::lists::extract`]) is listed gets
//! `malhost.list_hits[]`; fields with a threshold keep a per-host [`ListWindow`] and alert at
//! most once per (host, rule, field) per `dedup_window`, with the values hit and their counts.

use serde_json::json;

use serde::Deserialize;

use crate::event::{Event, SourceKind, time::format_ms};
use crate::lists::document::ListDocument;
use crate::lists::extract::{ExtractOptions, ListField};
use crate::values::{ConfigError, Duration, Severity, err};

use super::registry::{Compile, CompileContext, Rule, RuleInfo, RuleState};
use crate::lists::window::{Hit, ListWindow};
use crate::output::ListHit;

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, IfNoHost, RuleContext};

/// Count detection.
pub static COUNT_META: RuleMeta = RuleMeta {
    id: "list.count",
    name: "Repeated traffic to a learned malicious value",
    description: "A host's events carried one value of a learned malicious list more often than the threshold within the window (w > t_w).",
    category: "malware",
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL),
};

/// Type detection.
pub static TYPES_META: RuleMeta = RuleMeta {
    id: "list.types",
    name: "Traffic to many learned malicious values",
    description: "A host's events carried more distinct values of a learned malicious list than the threshold within the window (s > t_s).",
    category: "malware",
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL),
};

/// A host's learned-list windows, one per field it hit.
#[derive(Clone, Debug, Default, serde::Serialize, Deserialize)]
pub struct ListWindows(pub Vec<(ListField, ListWindow)>);

impl RuleState for ListWindows {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One window per field, each sorted and within `cap`.
    fn repair(&mut self, cap: usize) {
        let mut seen = Vec::new();
        self.0.retain(|(f, _)| {
            let first = !seen.contains(f);
            seen.push(*f);
            first
        });
        for (_, w) in &mut self.0 {
            w.repair(cap);
        }
    }
}

/// `rules.learned_lists` as the config document writes it.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Sliding event-time window of w and s.
    window: Duration,
    /// At most one alert per (host, rule, field) within this time. `null` or absent: the same
    /// as `window`.
    dedup_window: Option<Duration>,
    /// Severity of the alerts.
    severity: Severity,
    /// The document `malhost train` wrote, as is.
    #[schemars(schema_with = "list_document_schema")]
    list: Option<ListDocument>,
    /// Per field: count = t_w (alert when w > t_w), types = t_s (alert when s > t_s). A field
    /// without thresholds is only enriched.
    thresholds: Thresholds,
}

/// `list`: the document of `schemas/lists.schema.json`, which `malhost train` writes.
fn list_document_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "The document `malhost train` wrote, as is.",
        "anyOf": [{"$ref": "https://malhost.invalid/schemas/lists.schema.json"}, {"type": "null"}]
    })
}

impl Default for Settings {
    fn default() -> Self {
        Settings { window: Duration::secs(86_400), dedup_window: None, severity: Severity::High, list: None, thresholds: Thresholds::default() }
    }
}

/// `thresholds`: t_w and t_s per field.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(inline)]
struct Thresholds {
    /// Destination IPs of TCP/80 connections.
    dst_ip_tcp80: Option<Threshold>,
    /// Destination ports.
    dst_port: Option<Threshold>,
    /// URLs of web requests.
    http_url: Option<Threshold>,
}

/// One field's thresholds.
#[derive(Deserialize, Default, Clone, Copy, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(inline)]
struct Threshold {
    /// t_w: `list.count` fires when w > count.
    count: Option<u32>,
    /// t_s: `list.types` fires when s > types.
    types: Option<u32>,
}

/// One field of a learned list, compiled.
#[derive(Clone, Debug)]
pub struct ListFieldConfig {
    /// The field.
    pub field: ListField,
    /// Listed values, by index.
    pub values: Vec<String>,
    /// Value → index.
    pub index: std::collections::HashMap<String, u32>,
    /// t_w, if count detection is on.
    pub count: Option<u32>,
    /// t_s, if type detection is on.
    pub types: Option<u32>,
}

/// `rules.learned_lists`, compiled.
#[derive(Clone, Debug)]
pub struct LearnedListsConfig {
    /// Sliding window, ms.
    pub window_ms: i64,
    /// At most one alert per (host, rule, field) within this time, ms.
    pub dedup_ms: i64,
    /// Severity of alerts.
    pub severity: Severity,
    /// Extractor options of the list.
    pub extract: ExtractOptions,
    /// The fields with a list.
    pub fields: Vec<ListFieldConfig>,
}


fn compile_lists(
    doc: ListDocument,
    t: Thresholds,
    window: Duration,
    dedup: Option<Duration>,
    severity: Severity,
) -> Result<LearnedListsConfig, ConfigError> {
    if doc.malhost_lists != crate::lists::document::LIST_FORMAT {
        return Err(err(
            "rules.learned_lists.list.malhost_lists",
            format!("list format {} is not supported (expected {})", doc.malhost_lists, crate::lists::document::LIST_FORMAT),
        ));
    }
    let thresholds = [(ListField::DstIpTcp80, t.dst_ip_tcp80), (ListField::DstPort, t.dst_port), (ListField::HttpUrl, t.http_url)];
    for (f, th) in thresholds {
        if th.is_some() && doc.field(f).is_none() {
            return Err(err(
                format!("rules.learned_lists.thresholds.{}", f.name()),
                format!("the list has no {} field", f.name()),
            ));
        }
    }
    let mut fields = Vec::new();
    for (i, fl) in doc.fields.iter().enumerate() {
        if doc.fields[..i].iter().any(|x| x.field == fl.field) {
            return Err(err(format!("rules.learned_lists.list.fields[{i}].field"), format!("{} appears twice", fl.field.name())));
        }
        let th = thresholds.iter().find(|(f, _)| *f == fl.field).and_then(|(_, t)| *t).unwrap_or_default();
        let values: Vec<String> = fl.values.iter().map(|v| v.value.clone()).collect();
        let index = values.iter().enumerate().map(|(i, v)| (v.clone(), i as u32)).collect();
        fields.push(ListFieldConfig { field: fl.field, values, index, count: th.count, types: th.types });
    }
    Ok(LearnedListsConfig {
        window_ms: window.ms,
        dedup_ms: dedup.map(|d| d.ms).unwrap_or(window.ms),
        severity,
        extract: doc.options.extract,
        fields,
    })
}

impl Compile<LearnedListsConfig> for Settings {
    fn compile(self, _: &CompileContext) -> Result<Option<LearnedListsConfig>, ConfigError> {
        let l = self;
        match l.list {
            Some(doc) => Ok(Some(compile_lists(doc, l.thresholds, l.window, l.dedup_window, l.severity)?)),
            None => {
                let t = l.thresholds;
                if t.dst_ip_tcp80.is_some() || t.dst_port.is_some() || t.http_url.is_some() {
                    return Err(err("rules.learned_lists.thresholds", "thresholds given but no list loaded (rules.learned_lists.list)"));
                }
                Ok(None)
            }
        }
    }
}

impl Rule for LearnedListsConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&COUNT_META, &TYPES_META], sources: &[SourceKind::Firewall, SourceKind::Proxy, SourceKind::Mail], message_dedup: false };
    type Settings = Settings;
    type HostState = ListWindows;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        for cf in &self.fields {
            let Some(value) = crate::lists::extract::extract(cf.field, ev, cx.kind, &self.extract) else { continue };
            let Some(&idx) = cf.index.get(value.as_ref()) else { continue };
            cx.ann.list_hits.push(ListHit { field: cf.field.name(), value: value.into_owned() });
            if cf.count.is_none() && cf.types.is_none() {
                continue;
            }
            let Some(host) = cx.host(&COUNT_META, IfNoHost::Report("missing; list hits cannot be counted per host")) else { continue };
            let Some(ts) = cx.time(&COUNT_META) else { continue };
            let cap = cx.shared.state.max_keys_per_host;
            let state = cx.hosts.get_mut(host);
            let pos = match state.rules.learned_lists.0.iter().position(|(f, _)| *f == cf.field) {
                Some(p) => p,
                None => {
                    state.rules.learned_lists.0.push((cf.field, ListWindow::default()));
                    state.rules.learned_lists.0.len() - 1
                }
            };
            let Some(scores) = state.rules.learned_lists.0[pos].1.record(Hit { ts, value: idx }, self.window_ms, cap) else { continue };
            let checks = [(&COUNT_META, cf.count, scores.w, "w"), (&TYPES_META, cf.types, scores.s, "s")];
            for (meta, threshold, score, name) in checks {
                let Some(t) = threshold else { continue };
                if score <= t {
                    continue;
                }
                let reason = format!("{name} = {score} > {t} for learned list {} within {}", cf.field.name(), window_text(self.window_ms));
                cx.finding(meta, self.severity, reason.clone());
                if !cx.once_per(meta, host, cf.field.name(), ts, self.dedup_ms) {
                    continue;
                }
                let values: Vec<_> = scores
                    .counts
                    .iter()
                    .take(20)
                    .map(|(i, n)| json!({"value": cf.values.get(*i as usize), "count": n}))
                    .collect();
                let alert = AlertBuilder::new(meta, ts, self.severity)
                    .about(host, &reason)
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
                        "window_seconds": self.window_ms / 1000,
                    }))
                    .build();
                cx.raise(alert);
            }
        }
    }
}

fn window_text(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}
