//! What the mail rules share: the message an alert is about (`email.*` copied into the
//! alert), once-per-message deduplication by `email.message_id`, and mail alerts.

use serde_json::{Map, Value, json};

use crate::config::Severity;
use crate::event::{Event, Field, FieldError};
use crate::output::{Alert, Finding};
use crate::state::{HostTable, SeenMessages};

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

/// Raises a mail alert unless the same message (by `email.message_id`) already raised one for
/// this rule; events without a message id are each their own message.
#[allow(clippy::too_many_arguments)]
pub fn alert(
    ev: &Event,
    rule: &'static RuleMeta,
    rule_bit: u8,
    severity: Severity,
    message: String,
    evidence: Value,
    hosts: &HostTable,
    messages: &mut SeenMessages,
    ann: &mut Annotations,
) {
    let ts = match ev.timestamp_ms() {
        Ok(t) => t,
        Err(e) => return ann.field_error(rule.id, e),
    };
    if let Some(id) = ev.str(Field::EmailMessageId).map(str::trim).filter(|s| !s.is_empty()) {
        if !messages.first_alert(hosts.key_hash("message", id), rule_bit) {
            return;
        }
    }
    let host = match ev.source_ip() {
        Ok(h) => h,
        Err(e) => {
            ann.field_error(rule.id, e);
            None
        }
    };
    ann.alerts.push(Alert {
        timestamp_ms: ts,
        rule,
        severity,
        host,
        destination: None,
        related_ips: host.into_iter().collect(),
        message,
        evidence,
        email: email_fields(ev),
    });
}

/// Records a finding.
pub fn finding(rule: &'static RuleMeta, severity: Severity, reason: String, ann: &mut Annotations) {
    ann.findings.push(Finding { rule: rule.id, severity, reason });
}

/// Records a header problem as a field error (the rule still runs on its best reading).
pub fn header_problem(rule: &'static RuleMeta, field: Field, problem: &crate::mail::MailError, ann: &mut Annotations) {
    ann.field_error(rule.id, FieldError { field: field.name(), problem: problem.message.clone() });
}
