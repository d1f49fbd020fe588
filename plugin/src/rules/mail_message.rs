//! What the mail rules share: the message an alert is about (`email.*` copied into the
//! alert), once-per-message deduplication, mail alerts, and a message's attachment names and
//! how one matched a list of extensions.
//!
//! A message is known by what its sender chose as a whole, not by its `Message-ID` alone
//! (which the sender picks too): the id, the From header (`email.headers.from`, else the
//! `email.from.address` values) and the rule's finding (the offending attachment names, the
//! spoofed display name). The same message logged again — once per recipient, per delivery
//! attempt — alerts once; another message reusing the id with another sender or attachment
//! alerts. Deduplication is bounded in time by the rule's `dedup_window` (default one day): a
//! repeat within the window either side of the last alert is suppressed, a repeat after it
//! alerts again ([`SeenMessages::first_alert_at`]). Recipients are not part of the key: a
//! message logged once per recipient is one message.

use serde_json::{Map, Value, json};

use crate::values::{ConfigError, Severity};
use crate::event::{Event, Field, FieldError};
use super::host_state::HostTable;
use crate::state::SeenMessages;

use super::context::{AlertBuilder, RuleContext};
use super::registry::{CompileContext, message_bit};
use super::{Annotations, RuleMeta};

/// The `email` object of a mail alert: the fields that identify the message (`None` when the
/// event has none of them).
pub fn email_fields(ev: &Event) -> Option<Value> {
    let mut m = Map::new();
    if let Some(id) = ev.str(Field::EmailMessageId) {
        m.insert("message_id".into(), json!(id));
    }
    let from: Vec<&str> = ev.texts(Field::EmailFromAddress).collect();
    if !from.is_empty() {
        m.insert("from".into(), json!({ "address": from }));
    }
    if let Some(s) = ev.str(Field::EmailSubject) {
        m.insert("subject".into(), json!(s));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// The dedup key of a message for a rule: the message id, the From header (raw, else the From
/// addresses) and the rule's finding.
fn message_key(ev: &Event, id: &str, finding: &str, hosts: &HostTable) -> u64 {
    let from_addresses: Vec<&str>;
    let from: (&str, &[&str]) = match ev.str(Field::EmailHeadersFrom) {
        Some(raw) => (raw.trim(), &[]),
        None => {
            from_addresses = ev.texts(Field::EmailFromAddress).map(str::trim).collect();
            ("", &from_addresses)
        }
    };
    hosts.key_hash("message", &(id, from, finding))
}

/// Whether this message (id, sender and finding) should alert for the rule at `ts`: not if it
/// alerted within `window_ms` either side. Events without a message id always do.
fn first_alert(ev: &Event, finding: &str, rule_bit: u8, ts: i64, window_ms: i64, hosts: &HostTable, messages: &mut SeenMessages) -> bool {
    let Some(id) = ev.str(Field::EmailMessageId).map(str::trim).filter(|s| !s.is_empty()) else { return true };
    messages.first_alert_at(message_key(ev, id, finding, hosts), rule_bit, ts, window_ms)
}

/// Raises a mail alert of `rule` unless the same message (id, sender, finding) already raised
/// one for it within `window_ms`; events without a message id are each their own message.
pub fn alert(cx: &mut RuleContext, rule: &'static RuleMeta, severity: Severity, window_ms: i64, message: String, evidence: Value) {
    let ev = cx.ev;
    let Some(ts) = cx.time(rule) else { return };
    if !first_alert(ev, &message, message_bit(rule), ts, window_ms, cx.hosts, cx.messages) {
        return;
    }
    // The client that handed the message over, ours or not (inbound mail comes from outside).
    let host = cx.need(rule, ev.source_ip()).flatten();
    let alert = AlertBuilder::new(rule, ts, severity).host(host).message(message).evidence(evidence).email(email_fields(ev)).build();
    cx.raise(alert);
}

/// The attachment names of a message, each with the field it came from, without repeats:
/// `email.attachments[].file.name` (RFC 2047 decoded), then `name=` / `filename=` of the raw
/// Content-Type and Content-Disposition headers. Header problems become field errors of `rule`.
pub fn attachment_names(cx: &mut RuleContext, rule: &'static RuleMeta) -> Vec<(String, Field)> {
    let (ev, ann) = (cx.ev, &mut *cx.ann);
    let mut names: Vec<(String, Field)> = Vec::new();
    let mut add = |n: String, f: Field| {
        if !n.is_empty() && !names.iter().any(|(x, _)| *x == n) {
            names.push((n, f));
        }
    };
    for raw in ev.texts(Field::EmailAttachmentFileName) {
        let d = crate::mail::decode_encoded_words(raw);
        if let Some(p) = d.problems.first() {
            header_problem(rule, Field::EmailAttachmentFileName, p, ann);
        }
        add(d.value, Field::EmailAttachmentFileName);
    }
    for field in [Field::EmailHeadersContentType, Field::EmailHeadersContentDisposition] {
        for raw in ev.texts(field) {
            let parsed = crate::mail::attachment_names_lenient(raw);
            if let Some(p) = parsed.problems.first() {
                header_problem(rule, field, p, ann);
            }
            for n in parsed.value {
                add(n, field);
            }
        }
    }
    names
}

/// A list of file extensions from the config (`path[i]`): trimmed, lower case, a leading dot
/// dropped, no repeats; an empty one or one with a dot, slash or space inside is an error.
pub fn compile_extensions(list: Vec<String>, path: &str, cx: &CompileContext) -> Result<Vec<String>, ConfigError> {
    let mut extensions = Vec::new();
    for (i, e) in list.into_iter().enumerate() {
        let e = e.trim().trim_start_matches('.').to_ascii_lowercase();
        if e.is_empty() || e.contains(['.', '/', '\\']) || e.chars().any(char::is_whitespace) {
            return Err(cx.err(&format!("{path}[{i}]"), format!("expected an extension such as \"exe\", found {e:?}")));
        }
        if !extensions.contains(&e) {
            extensions.push(e);
        }
    }
    Ok(extensions)
}

/// The JSON of how an attachment name matched: its extension, whether the system or only the
/// reader sees it (`basis`) and the tricks that hid it.
pub fn match_evidence(m: &crate::mail::ExecutableMatch) -> (&'static str, Vec<&'static str>) {
    let basis = match m.basis {
        crate::mail::MatchBasis::Real => "real",
        crate::mail::MatchBasis::Displayed => "displayed",
    };
    (basis, m.tricks.iter().map(|t| t.as_str()).collect())
}

/// Records a header problem as a field error (the rule still runs on its best reading).
pub fn header_problem(rule: &'static RuleMeta, field: Field, problem: &crate::mail::MailError, ann: &mut Annotations) {
    ann.field_error(rule.id, FieldError { field: field.name(), problem: problem.message.clone() });
}

#[cfg(test)]
mod tests {
    fn alerts(lines: &[String]) -> Vec<String> {
        let mut d = crate::Detector::default();
        let mut out = Vec::new();
        for l in lines {
            d.process_line(l.as_bytes(), &mut out);
        }
        String::from_utf8(out).unwrap().lines().filter(|l| l.contains(r#""kind":"alert""#)).map(str::to_string).collect()
    }

    fn mail(ts: &str, id: &str, from: &str, to: &str, attachment: &str) -> String {
        format!(
            r#"{{"@timestamp":"{ts}","event":{{"dataset":"mail"}},"email":{{"message_id":"{id}","headers":{{"from":"{from}"}},"to":{{"address":["{to}"]}},"attachments":[{{"file":{{"name":"{attachment}"}}}}]}}}}"#
        )
    }

    #[test]
    fn a_reused_message_id_does_not_hide_another_message() {
        let a = "Billing <billing@vendor.example>";
        let lines = [
            mail("2024-05-01T09:00:00Z", "<x@mx>", a, "alice@corp.example", "invoice.exe"),
            // The same message logged once per recipient: one message.
            mail("2024-05-01T09:00:01Z", "<x@mx>", a, "bob@corp.example", "invoice.exe"),
            // The same id, another sender and attachment, the same day: another message.
            mail("2024-05-01T10:00:00Z", "<x@mx>", "Boss <boss@evil.example>", "alice@corp.example", "payload.scr"),
            // The first message again a month later: the dedup window (1 day) has passed.
            mail("2024-06-01T09:00:00Z", "<x@mx>", a, "alice@corp.example", "invoice.exe"),
        ];
        let got = alerts(&lines);
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(got[1].contains("payload.scr") && got[2].contains("2024-06-01"), "{got:#?}");
    }

    #[test]
    fn a_repeat_within_the_window_alerts_once_even_across_a_period_boundary() {
        // One message logged for four recipients over four days; the window is one day.
        let times = ["2024-05-01T23:59:00Z", "2024-05-02T00:01:00Z", "2024-05-02T20:00:00Z", "2024-05-05T00:00:00Z"];
        let lines: Vec<String> = times
            .iter()
            .zip(["alice", "bob", "carol", "dave"])
            .map(|(ts, to)| mail(ts, "<y@mx>", "Billing <billing@vendor.example>", &format!("{to}@corp.example"), "invoice.exe"))
            .collect();
        let got = alerts(&lines);
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[1].contains("2024-05-05"), "{got:#?}");
    }

    #[test]
    fn the_window_is_configurable() {
        let c = crate::Config::from_json(br#"{"rules":{"mail_executable_attachment":{"dedup_window":"1h"},"mail_display_name_spoof":{"dedup_window":60}}}"#).unwrap();
        assert_eq!(c.rules.mail_executable_attachment.unwrap().settings.dedup_window.ms, 3_600_000);
        assert_eq!(c.rules.mail_display_name_spoof.unwrap().dedup_window.ms, 60_000);
        assert_eq!(crate::Config::default().rules.mail_executable_attachment.unwrap().settings.dedup_window.ms, 86_400_000);
    }
}
