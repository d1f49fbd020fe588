//! `mail.display_name_spoof`: the display name of the From header contains an e-mail address
//! other than the one the message is from — `"ceo@yourcorp.example" <attacker@example.net>`,
//! the classic trick that works because mail clients show only the name.
//!
//! Input: `email.headers.from` (the raw header value: RFC 5322 with RFC 2047 encoded words in
//! any charset, see [`crate::mail`]); without it, `email.from.display_name` (encoded words
//! allowed) with the first `email.from.address`. A header with problems (an unterminated
//! quote, bad base64, an unknown charset) gets a field error naming them, and the check still
//! runs on the best reading, so a malformed header cannot switch the rule off. One alert per
//! message (id, From and the finding; see [`super::mail_message`]) per `dedup_window`.

use serde_json::json;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, SourceKind};
use crate::values::{Duration, Severity};

use super::context::RuleContext;
use super::registry::{Rule, RuleInfo};
use crate::event::Field;
use crate::mail::{self, FromHeader};

use super::{RuleMeta, mail_message};
use crate::output::{Attack, attack};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "mail.display_name_spoof",
    name: "From display name shows another address",
    description: "The display name of a message's From header contains an e-mail address other than the sender's, so the reader sees a trusted address.",
    category: "initial_access",
    attack: Attack::technique(attack::INITIAL_ACCESS, attack::PHISHING),
};

/// `rules.mail_display_name_spoof` as the config document writes it, and the compiled rule: nothing in it
/// needs compiling.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Severity of the finding and the alert.
    pub severity: Severity,
    /// A message (its Message-ID, From header and this rule's finding together) alerts at most
    /// once within this time; the same message seen again after it alerts again.
    pub dedup_window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { severity: Severity::High, dedup_window: Duration::secs(86_400) }
    }
}

impl Rule for Settings {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Mail], message_dedup: true };
    type Settings = Self;
    type HostState = ();

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let (from, field) = if let Some(raw) = ev.str(Field::EmailHeadersFrom) {
            let parsed = mail::parse_from_lenient(raw);
            if let Some(p) = parsed.problems.first() {
                mail_message::header_problem(&META, Field::EmailHeadersFrom, p, cx.ann);
            }
            (parsed.value, Field::EmailHeadersFrom)
        } else if let Some(name) = ev.str(Field::EmailFromDisplayName) {
            let decoded = mail::decode_encoded_words(name);
            if let Some(p) = decoded.problems.first() {
                mail_message::header_problem(&META, Field::EmailFromDisplayName, p, cx.ann);
            }
            let address = ev.texts(Field::EmailFromAddress).next().map(|a| a.trim().to_string());
            (FromHeader { display_name: Some(decoded.value), address, group: None }, Field::EmailFromDisplayName)
        } else {
            return;
        };
        let Some(spoof) = mail::display_name_spoof(&from) else { return };
        let shown: String = spoof.display_name.chars().take(200).collect();
        let reason = format!(
            "From display name {shown:?} shows {} but the message is from {}",
            spoof.found.join(", "),
            spoof.address
        );
        cx.finding(&META, self.severity, reason.clone());
        let evidence = json!({
            "display_name": spoof.display_name,
            "address": spoof.address,
            "addresses_in_display_name": spoof.found,
            "field": field.name(),
        });
        mail_message::alert(cx, &META, self.severity, self.dedup_window.ms, reason, evidence);
    }
}
