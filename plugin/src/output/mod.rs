//! Output lines: events (passed through, or enriched), alert events and error records.
//!
//! An event no rule touched is written as its original bytes. An enriched event is its
//! original bytes with the added fields spliced in before the closing brace, so nothing the
//! sender wrote is re-encoded; only when the event already has top-level `malhost`, `threat`
//! or `error` keys is it parsed into a tree and merged, to avoid duplicate keys. Alerts and
//! error records are serialised from the types below (schemas: `schemas/*.schema.json`).

use std::net::IpAddr;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::values::Severity;
use crate::event::{Event, FieldError, time::format_ms};

pub mod attack;

pub use attack::Attack;

/// Identity of a rule, copied into alerts (`rule.*`).
#[derive(Debug)]
pub struct RuleMeta {
    /// `rule.id`, e.g. `fw.outbound_deny`.
    pub id: &'static str,
    /// `rule.name`.
    pub name: &'static str,
    /// `rule.description`.
    pub description: &'static str,
    /// `rule.category`.
    pub category: &'static str,
    /// Its place in MITRE ATT&CK (`threat.*` of its alerts).
    pub attack: Attack,
}

/// What the rules found on one event; cleared and reused for the next one.
#[derive(Default, Debug)]
pub struct Annotations {
    /// `malhost.findings[]`.
    pub findings: Vec<Finding>,
    /// `threat.enrichments[]`.
    pub enrichments: Vec<ThreatEnrichment>,
    /// `malhost.list_hits[]`.
    pub list_hits: Vec<ListHit>,
    /// Fields a rule needed but could not use (`error.message`).
    pub field_errors: Vec<(&'static str, FieldError)>,
    /// Alerts raised by this event.
    pub alerts: Vec<Alert>,
}

impl Annotations {
    /// Forgets the previous event (keeps the allocations).
    pub fn clear(&mut self) {
        self.findings.clear();
        self.enrichments.clear();
        self.list_hits.clear();
        self.field_errors.clear();
        self.alerts.clear();
    }

    /// Whether the event comes out changed.
    pub fn changes_event(&self) -> bool {
        !self.findings.is_empty()
            || !self.enrichments.is_empty()
            || !self.list_hits.is_empty()
            || !self.field_errors.is_empty()
    }

    /// Records that `rule` could not use a field.
    pub fn field_error(&mut self, rule: &'static str, e: FieldError) {
        if !self.field_errors.iter().any(|(_, x)| x.field == e.field) {
            self.field_errors.push((rule, e));
        }
    }
}

/// One `malhost.findings[]` entry.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Finding {
    /// Rule id.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// A short sentence with the concrete values.
    pub reason: String,
}

/// One `malhost.list_hits[]` entry: a value of a learned list.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ListHit {
    /// The list's field (`dst_port`, …).
    pub field: &'static str,
    /// The value.
    pub value: String,
}

/// ECS `threat.enrichments[].indicator`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Indicator {
    /// `ipv4-addr`, `ipv6-addr`, `url`, `domain-name`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The matched address (address indicators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The indicator's URL or domain (`url.full`, `url.domain`; URL and domain indicators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<IndicatorUrl>,
    /// The port, for `IP:port` indicators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The list entry as written (`203.0.113.0/24`).
    pub name: String,
    /// The list's provider.
    pub provider: String,
}

/// ECS `threat.enrichments[].indicator.url`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IndicatorUrl {
    /// A URL indicator, normalised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// A domain indicator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// ECS `threat.enrichments[].matched`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Matched {
    /// The value of the event that matched.
    pub atomic: String,
    /// The event field that matched.
    pub field: &'static str,
    /// `indicator_match_rule`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// One `threat.enrichments[]` entry.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ThreatEnrichment {
    /// The indicator.
    pub indicator: Indicator,
    /// What matched it.
    pub matched: Matched,
}

/// An alert, written as its own event.
#[derive(Clone, Debug)]
pub struct Alert {
    /// Event time of the event that triggered it.
    pub timestamp_ms: i64,
    /// The rule.
    pub rule: &'static RuleMeta,
    /// Severity.
    pub severity: Severity,
    /// The suspected host (`source.ip`); mail alerts without a client address have none and
    /// name the message instead (`email`).
    pub host: Option<IpAddr>,
    /// The destination, when the alert is about one.
    pub destination: Option<(IpAddr, Option<u16>)>,
    /// `related.ip`.
    pub related_ips: Vec<IpAddr>,
    /// `message`: one human sentence.
    pub message: String,
    /// `malhost.evidence`.
    pub evidence: Value,
    /// `email.*` of the message a mail alert is about.
    pub email: Option<Value>,
    /// Its place in ATT&CK when it is not its rule's (`malhost.host_risk` takes its strongest
    /// rule's).
    pub attack: Option<Attack>,
    /// `host.risk.*` of a host risk alert.
    pub risk: Option<RiskFields>,
}

/// ECS `host.risk.*`: the score and level of a host (`crate::verdict`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskFields {
    /// `low`, `moderate`, `high` or `critical`.
    pub calculated_level: &'static str,
    /// The score before the cap at 100.
    pub calculated_score: f64,
    /// The score, 0–100.
    pub calculated_score_norm: f64,
}

#[derive(Serialize)]
struct HostFields<'a> {
    ip: String,
    risk: &'a RiskFields,
}

#[derive(Serialize)]
struct AlertRecord<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    event: AlertEventFields,
    rule: RuleFields<'a>,
    threat: attack::ThreatFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<IpField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<HostFields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<DestinationFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    related: Option<RelatedFields>,
    message: &'a str,
    malhost: EvidenceFields<'a>,
}

#[derive(Serialize)]
struct AlertEventFields {
    kind: &'static str,
    category: [&'static str; 1],
    #[serde(rename = "type")]
    kind_type: [&'static str; 1],
    severity: u8,
    risk_score: u8,
    module: &'static str,
    dataset: &'static str,
}

#[derive(Serialize)]
struct RuleFields<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    category: &'a str,
    ruleset: &'static str,
}

#[derive(Serialize)]
struct IpField {
    ip: String,
}

#[derive(Serialize)]
struct DestinationFields {
    ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

#[derive(Serialize)]
struct RelatedFields {
    ip: Vec<String>,
}

#[derive(Serialize)]
struct EvidenceFields<'a> {
    evidence: &'a Value,
}

/// Writes an alert line.
pub fn write_alert(out: &mut Vec<u8>, a: &Alert) {
    let mut related: Vec<String> = Vec::with_capacity(a.related_ips.len());
    for ip in &a.related_ips {
        let s = ip.to_string();
        if !related.contains(&s) {
            related.push(s);
        }
    }
    let rec = AlertRecord {
        timestamp: format_ms(a.timestamp_ms),
        event: AlertEventFields {
            kind: "alert",
            category: ["intrusion_detection"],
            kind_type: ["indicator"],
            severity: a.severity.level(),
            risk_score: a.severity.risk_score(),
            module: "malhost",
            dataset: "malhost.alert",
        },
        rule: RuleFields {
            id: a.rule.id,
            name: a.rule.name,
            description: a.rule.description,
            category: a.rule.category,
            ruleset: "malhost",
        },
        threat: a.attack.unwrap_or(a.rule.attack).threat(),
        source: a.host.map(|ip| IpField { ip: ip.to_string() }),
        host: a.risk.as_ref().zip(a.host).map(|(risk, ip)| HostFields { ip: ip.to_string(), risk }),
        destination: a.destination.map(|(ip, port)| DestinationFields { ip: ip.to_string(), port }),
        email: a.email.as_ref(),
        related: (!related.is_empty()).then_some(RelatedFields { ip: related }),
        message: &a.message,
        malhost: EvidenceFields { evidence: &a.evidence },
    };
    write_json(out, &rec);
    out.push(b'\n');
}

/// Serialises into `out`. Our own types always serialise; should that ever fail, a valid
/// error object is written instead so the line is still JSON.
fn write_json<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(start);
        out.extend_from_slice(br#"{"event":{"kind":"pipeline_error"},"error":{"type":"malhost.internal","message":"serialisation failed"}}"#);
    }
}

/// Writes an event that no rule changed: its original bytes.
pub fn write_passthrough(out: &mut Vec<u8>, line: &[u8]) {
    out.extend_from_slice(line);
    out.push(b'\n');
}

#[derive(Serialize)]
struct Additions<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    malhost: Option<MalhostAdd<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threat: Option<ThreatAdd<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorAdd>,
}

#[derive(Serialize)]
struct MalhostAdd<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    list_hits: &'a [ListHit],
}

#[derive(Serialize)]
struct ThreatAdd<'a> {
    enrichments: &'a [ThreatEnrichment],
}

#[derive(Serialize)]
struct ErrorAdd {
    #[serde(rename = "type")]
    kind: &'static str,
    message: String,
}

fn additions(ann: &Annotations) -> Additions<'_> {
    Additions {
        malhost: (!ann.findings.is_empty() || !ann.list_hits.is_empty())
            .then_some(MalhostAdd { findings: &ann.findings, list_hits: &ann.list_hits }),
        threat: (!ann.enrichments.is_empty()).then_some(ThreatAdd { enrichments: &ann.enrichments }),
        error: (!ann.field_errors.is_empty()).then(|| ErrorAdd {
            kind: "malhost.field",
            message: ann
                .field_errors
                .iter()
                .map(|(rule, e)| format!("{e} ({rule})"))
                .collect::<Vec<_>>()
                .join("; "),
        }),
    }
}

/// Writes an event with the fields the rules added.
pub fn write_enriched(out: &mut Vec<u8>, line: &[u8], ev: &Event, ann: &Annotations, scratch: &mut Vec<u8>) {
    let adds = additions(ann);
    if !ev.has_reserved_keys() {
        // Splice `,"malhost":{…},…` in before the closing brace of the original object.
        let end = line.iter().rposition(|b| !b.is_ascii_whitespace()).unwrap_or(0);
        if line.get(end) == Some(&b'}') {
            scratch.clear();
            write_json(scratch, &adds);
            if scratch.len() >= 2 {
                out.extend_from_slice(&line[..end]);
                if !ev.is_empty_object() {
                    out.push(b',');
                }
                out.extend_from_slice(&scratch[1..scratch.len() - 1]);
                out.push(b'}');
                out.push(b'\n');
                return;
            }
        }
    }
    write_merged(out, line, &adds);
}

/// The slow path: parse the event into a tree and merge our fields into theirs.
fn write_merged(out: &mut Vec<u8>, line: &[u8], adds: &Additions) {
    let Ok(Value::Object(ours)) = serde_json::to_value(adds) else {
        return write_passthrough(out, line);
    };
    let Ok(Value::Object(mut root)) = serde_json::from_slice::<Value>(line) else {
        // serde_json's tree refuses what its scanner skips (a lone surrogate escape, a number
        // out of range, in a field no rule reads): merge at the top level only, keeping every
        // other value as written.
        return write_merged_raw(out, line, ours);
    };
    for (k, v) in ours {
        merge_into(&mut root, k, v);
    }
    write_json(out, &root);
    out.push(b'\n');
}

/// [`write_merged`] for an event whose values cannot all be parsed: the top-level entries are
/// kept as raw JSON text, and only our keys are parsed and merged (an entry of ours whose
/// value cannot be parsed either is kept under `<key>.original_value`, as raw text).
fn write_merged_raw(out: &mut Vec<u8>, line: &[u8], ours: Map<String, Value>) {
    let Ok(text) = std::str::from_utf8(line) else { return write_passthrough(out, line) };
    let Ok(entries) = top_level_entries(text) else {
        return write_passthrough(out, line);
    };
    let start = out.len();
    out.push(b'{');
    let mut first = true;
    let mut ours = ours;
    let mut sep = |out: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
    };
    for (k, raw) in entries {
        sep(out);
        write_json(out, &k);
        out.push(b':');
        match ours.remove(&k) {
            None => out.extend_from_slice(raw.get().as_bytes()),
            Some(mine) => {
                let mut holder = Map::new();
                match serde_json::from_str::<Value>(raw.get()) {
                    Ok(theirs) => {
                        holder.insert(k.clone(), theirs);
                        merge_into(&mut holder, k.clone(), mine);
                        write_json(out, &holder[&k]);
                    }
                    Err(_) => {
                        // Keep their value byte for byte beside ours.
                        let mut v = Vec::new();
                        write_json(&mut v, &mine);
                        if v.len() >= 2 {
                            out.extend_from_slice(&v[..v.len() - 1]);
                            if v.len() > 2 {
                                out.push(b',');
                            }
                            out.extend_from_slice(br#""original_value":"#);
                            out.extend_from_slice(raw.get().as_bytes());
                            out.push(b'}');
                        } else {
                            out.extend_from_slice(raw.get().as_bytes());
                        }
                    }
                }
            }
        }
    }
    for (k, v) in ours {
        sep(out);
        write_json(out, &k);
        out.push(b':');
        write_json(out, &v);
    }
    out.push(b'}');
    if serde_json::from_slice::<serde::de::IgnoredAny>(&out[start..]).is_err() {
        out.truncate(start);
        return write_passthrough(out, line);
    }
    out.push(b'\n');
}

/// The event of a raw log line (`raw_messages`): `parsed`, the fields a parser read from the
/// event's `message`, with the event's own top-level keys on top (its `event` object merged
/// into the parsed one). `None` when `line` is not a JSON object. A line whose values
/// serde_json's tree refuses (a lone surrogate escape, a number beyond `f64`) keeps those
/// values as written instead of losing the whole event.
pub fn overlay_raw(mut parsed: Map<String, Value>, line: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(line).ok()?;
    if let Ok(Value::Object(orig)) = serde_json::from_str::<Value>(text) {
        for (k, v) in orig {
            match (parsed.get_mut(&k), v) {
                (Some(Value::Object(p)), Value::Object(o)) => p.extend(o),
                (_, v) => {
                    parsed.insert(k, v);
                }
            }
        }
        return serde_json::to_vec(&parsed).ok();
    }
    // Their values as raw text where they cannot be parsed.
    let entries = top_level_entries(text).ok()?;
    let mut raw: Vec<(String, &serde_json::value::RawValue)> = Vec::new();
    for (k, r) in entries {
        match (parsed.get_mut(&k), serde_json::from_str::<Value>(r.get())) {
            (Some(Value::Object(p)), Ok(Value::Object(o))) => p.extend(o),
            (_, Ok(v)) => {
                parsed.insert(k, v);
            }
            (_, Err(_)) => {
                parsed.shift_remove(&k);
                raw.retain(|(x, _)| *x != k);
                raw.push((k, r));
            }
        }
    }
    let mut out = serde_json::to_vec(&parsed).ok()?;
    out.pop();
    for (k, r) in raw {
        if out.len() > 1 {
            out.push(b',');
        }
        write_json(&mut out, &k);
        out.push(b':');
        out.extend_from_slice(r.get().as_bytes());
    }
    out.push(b'}');
    Some(out)
}

/// The entries of a JSON object, values as raw text.
fn top_level_entries(text: &str) -> Result<Vec<(String, &serde_json::value::RawValue)>, serde_json::Error> {
    use serde::de::{MapAccess, Visitor};
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<(String, &'de serde_json::value::RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut v = Vec::new();
            while let Some(e) = map.next_entry()? {
                v.push(e);
            }
            Ok(v)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let v = serde::Deserializer::deserialize_map(&mut de, V)?;
    de.end()?;
    Ok(v)
}

/// Merges one of our objects into the event: arrays are appended to, strings joined, keys
/// the event already has are kept. A non-object value under our key is kept as
/// `<key>.original_value`.
fn merge_into(root: &mut Map<String, Value>, key: String, ours: Value) {
    let Value::Object(ours) = ours else { return };
    match root.get_mut(&key) {
        None => {
            root.insert(key, Value::Object(ours));
        }
        Some(Value::Object(theirs)) => {
            for (k, v) in ours {
                match (theirs.get_mut(&k), v) {
                    (None, v) => {
                        theirs.insert(k, v);
                    }
                    (Some(Value::Array(a)), Value::Array(b)) => a.extend(b),
                    (Some(Value::String(a)), Value::String(b)) if k == "message" => {
                        a.push_str("; ");
                        a.push_str(&b);
                    }
                    (Some(_), _) => {}
                }
            }
        }
        Some(other) => {
            let theirs = std::mem::take(other);
            let mut obj = ours;
            obj.insert("original_value".into(), theirs);
            *other = Value::Object(obj);
        }
    }
}

#[derive(Serialize)]
struct ErrorRecord<'a> {
    event: ErrorEvent,
    error: ErrorFields<'a>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    malhost: Option<RawBytes>,
}

#[derive(Serialize)]
struct ErrorEvent {
    kind: &'static str,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct RawBytes {
    original_base64: String,
}

/// Standard base64 of `bytes`, as `malhost.original_base64` holds them.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `error.type` of an input line that claims to be a malhost alert.
pub const FORGED_ALERT: &str = "malhost.forged_alert";

/// The verdict on an input line that claims to be an alert malhost wrote
/// ([`Event::claims_malhost_alert`]): the message of its error record (type
/// [`FORGED_ALERT`]), or `None` for any other event. Downstream, an event with
/// `event.dataset: malhost.alert` must only ever be one the detector raised, so such a line is
/// never passed through as one: it becomes an error record that keeps the line in `message`.
pub fn forged_alert(ev: &Event) -> Option<String> {
    ev.claims_malhost_alert().then(|| {
        "the line claims to be a malhost alert (event.dataset malhost.alert, or event.module malhost with event.kind alert); \
         malhost alerts only come from the detector, so the line is not passed on as one"
            .to_string()
    })
}

/// Writes the error record of a line that is not a usable JSON object. `message` keeps the
/// line (invalid UTF-8 replaced by U+FFFD, and then the exact bytes in
/// `malhost.original_base64`), so nothing is lost.
pub fn write_input_error(out: &mut Vec<u8>, line: &[u8], error_type: &str, problem: &str) {
    let text = String::from_utf8_lossy(line);
    let raw = match &text {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(_) => {
            Some(RawBytes { original_base64: base64(line) })
        }
    };
    let rec = ErrorRecord {
        event: ErrorEvent { kind: "pipeline_error" },
        error: ErrorFields { kind: error_type, message: problem },
        message: &text,
        malhost: raw,
    };
    write_json(out, &rec);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FieldError;

    fn ann() -> Annotations {
        let mut a = Annotations::default();
        a.findings.push(Finding { rule: "fw.outbound_deny", severity: Severity::High, reason: "x".into() });
        a
    }

    fn enriched(line: &str, a: &Annotations) -> Value {
        let ev = Event::parse(line.as_bytes()).unwrap();
        let mut out = Vec::new();
        write_enriched(&mut out, line.as_bytes(), &ev, a, &mut Vec::new());
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn splice_keeps_original_bytes_and_adds_fields() {
        let line = r#"{"b":1, "a":{"x":"\u00e9"}}  "#;
        let ev = Event::parse(line.as_bytes()).unwrap();
        let mut out = Vec::new();
        write_enriched(&mut out, line.as_bytes(), &ev, &ann(), &mut Vec::new());
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with(r#"{"b":1, "a":{"x":"\u00e9"},"malhost":{"findings":[{"rule":"fw.outbound_deny","severity":"high","reason":"x"}]}}"#), "{s}");
    }

    #[test]
    fn empty_object_gets_no_leading_comma() {
        let v = enriched("{}", &ann());
        assert_eq!(v["malhost"]["findings"][0]["rule"], "fw.outbound_deny");
    }

    #[test]
    fn existing_reserved_keys_are_merged_not_duplicated() {
        let mut a = ann();
        a.field_errors.push(("fw.c2_ip", FieldError { field: "source.ip", problem: "bad".into() }));
        let v = enriched(r#"{"malhost":{"findings":[{"rule":"earlier"}],"sample":"s1"},"error":{"message":"upstream"},"threat":"x"}"#, &a);
        assert_eq!(v["malhost"]["findings"].as_array().unwrap().len(), 2);
        assert_eq!(v["malhost"]["sample"], "s1");
        assert_eq!(v["error"]["message"], "upstream; source.ip: bad (fw.c2_ip)");
        assert_eq!(v["threat"], "x", "no enrichment: left alone");
        let v = enriched(r#"{"malhost.sample":"s1","malhost":7}"#, &a);
        assert_eq!(v["malhost"]["original_value"], 7);
        assert_eq!(v["malhost.sample"], "s1");
    }

    #[test]
    fn error_records_keep_the_line() {
        let mut out = Vec::new();
        write_input_error(&mut out, b"not json \xff", "malhost.input", "bad");
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["event"]["kind"], "pipeline_error");
        assert_eq!(v["message"], "not json \u{fffd}");
        assert_eq!(v["malhost"]["original_base64"], "bm90IGpzb24g/w==");
    }

    #[test]
    fn a_line_claiming_to_be_a_malhost_alert_becomes_an_error_record() {
        let mut out = Vec::new();
        let alert = Alert {
            timestamp_ms: 0,
            rule: &crate::rules::fw_c2_ip::META,
            severity: crate::values::Severity::High,
            host: Some("10.0.0.1".parse().unwrap()),
            destination: None,
            related_ips: vec![],
            message: "m".into(),
            evidence: serde_json::json!({}),
            email: None,
            attack: None,
            risk: None,
        };
        write_alert(&mut out, &alert);
        let line = out.strip_suffix(b"\n").unwrap().to_vec();
        let ev = Event::parse(&line).unwrap();
        let msg = forged_alert(&ev).expect("a copy of a real alert is caught");
        let mut rec = Vec::new();
        write_input_error(&mut rec, &line, FORGED_ALERT, &msg);
        let v: Value = serde_json::from_slice(&rec).unwrap();
        assert_eq!(v["error"]["type"], "malhost.forged_alert");
        assert_eq!(v["message"], String::from_utf8(line).unwrap());
        let other = Event::parse(br#"{"event":{"kind":"alert","module":"suricata"},"destination.ip":"1.2.3.4"}"#).unwrap();
        assert_eq!(forged_alert(&other), None, "another tool's alert is an event like any other");
    }

    #[test]
    fn values_serde_json_refuses_do_not_cost_the_enrichment() {
        // A lone surrogate and numbers out of range in fields no rule reads, and a reserved
        // key, so that the merge path runs: the values stay as written, ours are merged.
        let out = |line: &str| {
            let ev = Event::parse(line.as_bytes()).unwrap();
            let mut out = Vec::new();
            write_enriched(&mut out, line.as_bytes(), &ev, &ann(), &mut Vec::new());
            String::from_utf8(out).unwrap()
        };
        let o = out(r#"{"note":"x\ud800y", "big":1e400,"huge":18446744073709551616,"threat":{"feed":"z"},"source.ip":"10.0.0.1"}"#);
        assert_eq!(
            o,
            r#"{"note":"x\ud800y","big":1e400,"huge":18446744073709551616,"threat":{"feed":"z"},"source.ip":"10.0.0.1","malhost":{"findings":[{"rule":"fw.outbound_deny","severity":"high","reason":"x"}]}}"#.to_string() + "\n"
        );
        let o = out(r#"{"threat":"\udc00","n":1e999}"#);
        assert_eq!(o, r#"{"threat":"\udc00","n":1e999,"malhost":{"findings":[{"rule":"fw.outbound_deny","severity":"high","reason":"x"}]}}"#.to_string() + "\n");
        let o = out(r#"{"malhost":[1e999],"n":"\ud800"}"#);
        assert_eq!(o, r#"{"malhost":{"findings":[{"rule":"fw.outbound_deny","severity":"high","reason":"x"}],"original_value":[1e999]},"n":"\ud800"}"#.to_string() + "\n");
    }

    #[test]
    fn a_raw_message_event_with_odd_values_is_still_overlaid() {
        let parsed = || serde_json::json!({"event": {"dataset": "iptables"}, "source": {"ip": "10.0.0.1"}}).as_object().unwrap().clone();
        let o = overlay_raw(parsed(), br#"{"event":{"module":"syslog"},"message":"m"}"#).unwrap();
        assert_eq!(String::from_utf8(o).unwrap(), r#"{"event":{"dataset":"iptables","module":"syslog"},"source":{"ip":"10.0.0.1"},"message":"m"}"#);
        let o = overlay_raw(parsed(), br#"{"event":{"module":"syslog"},"note":"\ud800","n":1e400,"message":"m"}"#).unwrap();
        assert_eq!(
            String::from_utf8(o).unwrap(),
            r#"{"event":{"dataset":"iptables","module":"syslog"},"source":{"ip":"10.0.0.1"},"message":"m","note":"\ud800","n":1e400}"#
        );
        assert!(overlay_raw(parsed(), b"[1]").is_none());
    }
}
