//! `mail.executable_attachment`: a message carries an attachment whose name is executable
//! (default list of SPEC §5.4, configurable), seeing through double extensions
//! (`invoice.pdf.exe`), trailing dots and spaces, mixed case, bidi controls such as the
//! right-to-left override (`invoice\u{202E}fdp.exe`), zero-width and full-width characters
//! (see [`crate::mail::extension`]).
//!
//! Names come from `email.attachments[].file.name` (RFC 2047 encoded words decoded), and from
//! `name=` / `filename=` in the raw `email.headers.content_type` and
//! `email.headers.content_disposition` values (RFC 2231 `name*=` with charsets and
//! continuations, RFC 2047 inside quotes). A name that only *looks* executable to the reader
//! (the system would open it as something else) is flagged too unless `displayed` is off.
//! Header problems become a field error and the check runs on the best reading. One alert per
//! message (id, From and the offending names; see [`super::mail_message`]) per
//! `dedup_window`, listing every offending name.

use serde_json::json;

use crate::config::ExecutableAttachmentConfig;
use crate::event::{Event, Field};
use crate::mail::{self, MatchBasis};
use crate::state::{HostTable, SeenMessages};

use super::{Annotations, RuleMeta, mail_message};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "mail.executable_attachment",
    name: "Executable mail attachment",
    description: "A message carries an attachment whose name is, or is disguised as, an executable file type.",
    category: "initial_access",
};

/// Applies the rule to one mail event.
pub fn apply(ev: &Event, rc: &ExecutableAttachmentConfig, hosts: &HostTable, messages: &mut SeenMessages, ann: &mut Annotations) {
    let mut names: Vec<(String, Field)> = Vec::new();
    let add = |n: String, f: Field, names: &mut Vec<(String, Field)>| {
        if !n.is_empty() && !names.iter().any(|(x, _)| *x == n) {
            names.push((n, f));
        }
    };
    for raw in ev.texts(Field::EmailAttachmentFileName) {
        let d = mail::decode_encoded_words(raw);
        if let Some(p) = d.problems.first() {
            mail_message::header_problem(&META, Field::EmailAttachmentFileName, p, ann);
        }
        add(d.value, Field::EmailAttachmentFileName, &mut names);
    }
    for field in [Field::EmailHeadersContentType, Field::EmailHeadersContentDisposition] {
        for raw in ev.texts(field) {
            let parsed = mail::attachment_names_lenient(raw);
            if let Some(p) = parsed.problems.first() {
                mail_message::header_problem(&META, field, p, ann);
            }
            for n in parsed.value {
                add(n, field, &mut names);
            }
        }
    }
    let mut hits = Vec::new();
    for (name, field) in &names {
        let Some(m) = mail::executable_match(name, &rc.extensions) else { continue };
        if m.basis == MatchBasis::Displayed && !rc.displayed {
            continue;
        }
        hits.push((name, *field, m));
    }
    if hits.is_empty() {
        return;
    }
    let listed: Vec<String> = hits.iter().map(|(n, _, m)| format!("{:?} (.{})", n.as_str(), m.extension)).collect();
    let reason = format!("executable attachment{}: {}", if hits.len() > 1 { "s" } else { "" }, listed.join(", "));
    mail_message::finding(&META, rc.severity, reason.clone(), ann);
    let attachments: Vec<_> = hits
        .iter()
        .map(|(n, f, m)| {
            json!({
                "name": n,
                "extension": m.extension,
                "basis": match m.basis { MatchBasis::Real => "real", MatchBasis::Displayed => "displayed" },
                "tricks": m.tricks.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "field": f.name(),
            })
        })
        .collect();
    let evidence = json!({ "attachments": attachments, "attachments_seen": names.len() });
    mail_message::alert(ev, &META, 1, rc.severity, rc.dedup_ms, reason, evidence, hosts, messages, ann);
}
