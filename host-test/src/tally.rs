//! What a replay's output says, for the summary on stderr and `malhost report`: the alerts per
//! rule, the hosts ranked by risk (the highest `malhost.host_risk` alert about each, then their
//! alerts), and the input lines that were not JSON events (with a guess at the log format they
//! are in, when none was).

use std::collections::{BTreeMap, HashMap};

use memchr::memmem;
use serde_json::Value;

/// An alert line names its dataset so (input claiming it becomes an error record, so only
/// the detector's own alerts carry it unescaped at `event.dataset`; each candidate is parsed).
const ALERT_MARK: &[u8] = br#""dataset":"malhost.alert""#;
/// How an error record for a line that was not a JSON event starts.
const INPUT_ERROR_START: &[u8] = br#"{"event":{"kind":"pipeline_error"},"error":{"type":"malhost.input""#;
/// Lines that were not JSON kept for guessing their format.
const SAMPLE_LINES: usize = 20;

/// The rule id of host risk alerts.
pub const HOST_RISK: &str = "malhost.host_risk";
/// Evidence lines kept per host (the most severe alerts, earliest first among equals).
const EVIDENCE_LINES: usize = 3;

/// Counts over the output lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Output lines that answer an input line (events and error records; alerts not counted).
    pub answers: u64,
    /// Alerts written.
    pub alerts: u64,
    /// Alerts per `rule.id`.
    pub by_rule: BTreeMap<String, u64>,
    /// Alerts per suspected host (`source.ip`; a mail alert without one: its sender).
    pub by_host: HashMap<String, HostAlerts>,
    /// Error records of lines that were not JSON events (`malhost.input`).
    pub input_errors: u64,
    /// The first such lines, as the records kept them.
    pub not_json: Vec<String>,
}

/// One host's alerts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostAlerts {
    /// Alerts of the rules naming it (host risk alerts not counted).
    pub alerts: u64,
    /// Of which, per `rule.id`.
    pub rules: BTreeMap<String, u64>,
    /// Its highest risk: the `malhost.host_risk` alert with the highest score about it.
    pub risk: Option<Risk>,
    /// `@timestamp` of its first and last alert.
    pub first_seen: String,
    /// See `first_seen`.
    pub last_seen: String,
    /// The messages of its most severe alerts: (event.severity, message).
    pub evidence: Vec<(u64, String)>,
}

/// A host's risk as a `malhost.host_risk` alert said it.
#[derive(Clone, Debug, PartialEq)]
pub struct Risk {
    /// `low`, `moderate`, `high` or `critical`.
    pub level: String,
    /// 0–100.
    pub score: f64,
    /// How the score was reached (its evidence's `explanation`).
    pub explanation: String,
}

fn alert_finder() -> &'static memmem::Finder<'static> {
    static FINDER: std::sync::OnceLock<memmem::Finder<'static>> = std::sync::OnceLock::new();
    FINDER.get_or_init(|| memmem::Finder::new(ALERT_MARK))
}

impl Tally {
    /// Counts what complete output lines hold.
    pub fn add(&mut self, out: &[u8]) {
        for line in out.split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            if alert_finder().find(line).is_some() && serde_json::from_slice::<Value>(line).is_ok_and(|v| self.alert(&v)) {
                continue;
            }
            self.answers += 1;
            if line.starts_with(INPUT_ERROR_START) {
                self.input_errors += 1;
                if self.not_json.len() < SAMPLE_LINES {
                    if let Some(m) = serde_json::from_slice::<Value>(line).ok().and_then(|v| v["message"].as_str().map(str::to_owned)) {
                        self.not_json.push(m);
                    }
                }
            }
        }
    }

    /// Counts `v` if it is an alert the detector raised; says whether it was.
    fn alert(&mut self, v: &Value) -> bool {
        if v["event"]["dataset"] != "malhost.alert" || v["event"]["kind"] != "alert" {
            return false;
        }
        let rule = v["rule"]["id"].as_str().unwrap_or("(no rule.id)").to_owned();
        let from = &v["email"]["from"]["address"];
        let host = match (v["source"]["ip"].as_str(), from.as_str().or(from[0].as_str())) {
            (Some(ip), _) => ip.to_owned(),
            (None, Some(sender)) => format!("mail from {sender}"),
            (None, None) => "(no host)".to_owned(),
        };
        self.alerts += 1;
        *self.by_rule.entry(rule.clone()).or_default() += 1;
        let h = self.by_host.entry(host).or_default();
        if rule == HOST_RISK {
            let ev = &v["malhost"]["evidence"];
            let score = ev["score"].as_f64().unwrap_or(0.0);
            if h.risk.as_ref().is_none_or(|r| score > r.score) {
                let text = |k: &str| ev[k].as_str().unwrap_or("").to_owned();
                h.risk = Some(Risk { level: text("level"), score, explanation: text("explanation") });
            }
            return true;
        }
        h.alerts += 1;
        *h.rules.entry(rule).or_default() += 1;
        if let Some(ts) = v["@timestamp"].as_str() {
            if h.first_seen.is_empty() || ts < h.first_seen.as_str() {
                h.first_seen = ts.to_owned();
            }
            if ts > h.last_seen.as_str() {
                h.last_seen = ts.to_owned();
            }
        }
        let severity = v["event"]["severity"].as_u64().unwrap_or(0);
        let message = v["message"].as_str().unwrap_or("").to_owned();
        // Most severe first; among equals the earliest stays.
        let at = h.evidence.partition_point(|(s, _)| *s >= severity);
        if at < EVIDENCE_LINES && !h.evidence.iter().any(|(_, m)| *m == message) {
            h.evidence.insert(at, (severity, message));
            h.evidence.truncate(EVIDENCE_LINES);
        }
        true
    }

    /// The hosts ranked by risk: the highest risk score first, then the most alerts (ties by
    /// name); at most `n`.
    pub fn top_hosts(&self, n: usize) -> Vec<(&str, &HostAlerts)> {
        let mut hosts: Vec<(&str, &HostAlerts)> = self.by_host.iter().map(|(h, a)| (h.as_str(), a)).collect();
        let score = |a: &HostAlerts| a.risk.as_ref().map_or(-1.0, |r| r.score);
        hosts.sort_by(|a, b| score(b.1).total_cmp(&score(a.1)).then(b.1.alerts.cmp(&a.1.alerts)).then_with(|| a.0.cmp(b.0)));
        hosts.truncate(n);
        hosts
    }

    /// The summary lines for stderr: alerts per rule, then the top hosts.
    pub fn summary(&self) -> Vec<String> {
        let counts = |m: &BTreeMap<String, u64>| {
            let mut v: Vec<(&String, &u64)> = m.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            v.iter().map(|(r, c)| format!("{r} {c}")).collect::<Vec<_>>().join(", ")
        };
        let mut lines = Vec::new();
        if self.alerts == 0 {
            lines.push("no alerts".to_owned());
        } else {
            lines.push(format!("{} alert(s): {}", self.alerts, counts(&self.by_rule)));
            let top = self.top_hosts(5);
            let hosts: Vec<String> = top
                .iter()
                .map(|(h, a)| {
                    let risk = a.risk.as_ref().map_or("no risk level".to_owned(), |r| format!("risk {} {}", r.level, r.score));
                    format!("{h} {risk}, {} alert(s) ({})", a.alerts, counts(&a.rules))
                })
                .collect();
            let more = self.by_host.len().saturating_sub(top.len());
            let more = if more > 0 { format!(", and {more} more") } else { String::new() };
            lines.push(format!("hosts by risk: {}{more}", hosts.join("; ")));
        }
        if self.input_errors > 0 {
            lines.push(format!("{} line(s) were not JSON events (error records of type malhost.input)", self.input_errors));
        }
        lines
    }

    /// Whether there was input and none of it was a JSON event.
    pub fn nothing_was_json(&self) -> bool {
        self.input_errors > 0 && self.input_errors == self.answers
    }

    /// When no line was a JSON event: the log format the lines look like (the one whose reader
    /// takes most of the sample), for a hint to run `malhost import` first.
    pub fn guess_format(&self) -> Option<malhost::import::Format> {
        malhost::import::guess_format(&self.not_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALERT: &str = r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"kind":"alert","dataset":"malhost.alert"},"rule":{"id":"fw.c2_port"},"source":{"ip":"10.0.0.5"}}"#;

    #[test]
    fn alerts_are_counted_per_rule_and_host_and_input_errors_apart() {
        let mut t = Tally::default();
        let other = ALERT.replace("fw.c2_port", "proxy.ioc");
        let second = ALERT.replace("10.0.0.5", "10.0.0.9");
        // An input event naming the dataset elsewhere is not an alert.
        let decoy = r#"{"x":{"dataset":"malhost.alert"},"source":{"ip":"10.0.0.7"}}"#;
        let err = r#"{"event":{"kind":"pipeline_error"},"error":{"type":"malhost.input","message":"not a JSON object"},"message":"Jun 25 10:23:39 fw kernel: x"}"#;
        t.add(format!("{ALERT}\n{other}\n{decoy}\n").as_bytes());
        t.add(format!("{second}\n{err}\n").as_bytes());
        assert_eq!(t.alerts, 3);
        assert_eq!(t.by_rule.get("fw.c2_port"), Some(&2));
        assert_eq!(t.input_errors, 1);
        assert_eq!(t.answers, 2, "the decoy and the error record");
        assert!(!t.nothing_was_json());
        assert_eq!(t.not_json, ["Jun 25 10:23:39 fw kernel: x"]);
        let top = t.top_hosts(5);
        assert_eq!(top[0].0, "10.0.0.5");
        assert_eq!(top[0].1.alerts, 2);
        assert_eq!(
            t.summary()[..2],
            [
                "3 alert(s): fw.c2_port 2, proxy.ioc 1",
                "hosts by risk: 10.0.0.5 no risk level, 2 alert(s) (fw.c2_port 1, proxy.ioc 1); 10.0.0.9 no risk level, 1 alert(s) (fw.c2_port 1)"
            ]
        );
        // A host risk alert ranks its host first, whatever the counts.
        let risk = r#"{"@timestamp":"2024-05-01T11:00:00.000Z","event":{"kind":"alert","dataset":"malhost.alert","severity":3},"rule":{"id":"malhost.host_risk"},"source":{"ip":"10.0.0.9"},"malhost":{"evidence":{"score":80.0,"level":"high","explanation":"x"}}}"#;
        t.add(format!("{risk}\n").as_bytes());
        let top = t.top_hosts(5);
        assert_eq!((top[0].0, top[0].1.alerts), ("10.0.0.9", 1));
        assert_eq!(top[0].1.risk.as_ref().map(|r| (r.level.as_str(), r.score)), Some(("high", 80.0)));
        assert_eq!(top[0].1.first_seen, "2024-05-01T10:00:00.000Z");
    }

    #[test]
    fn lines_of_a_known_log_format_are_recognised() {
        let mut t = Tally::default();
        t.not_json = vec![
            "1714557600.123    215 10.0.0.5 TCP_MISS/200 1234 GET http://dl.example.net/a.exe - HIER_DIRECT/203.0.113.9 application/octet-stream".into();
            4
        ];
        assert_eq!(t.guess_format(), Some(malhost::import::Format::Squid));
        t.not_json = vec!["hello world".into(); 4];
        assert_eq!(t.guess_format(), None);
    }
}
