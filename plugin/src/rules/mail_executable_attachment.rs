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

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, SourceKind};
use crate::values::{ConfigError, Duration, Severity};

use super::context::RuleContext;
use super::registry::{Compile, CompileContext, Rule, RuleInfo};
use crate::mail::{self, MatchBasis};

use super::{RuleMeta, mail_message};
use crate::output::{Attack, attack};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "mail.executable_attachment",
    name: "Executable mail attachment",
    description: "A message carries an attachment whose name is, or is disguised as, an executable file type.",
    category: "initial_access",
    attack: Attack::subtechnique(attack::INITIAL_ACCESS, attack::PHISHING, attack::SPEARPHISHING_ATTACHMENT),
};

/// `rules.mail_executable_attachment` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Executable extensions (case-insensitive, a leading dot allowed); replaces the default list.
    #[schemars(inner(regex(pattern = r"^\s*\.?[^.\s/\\]+\s*$")), extend("default" = crate::mail::DEFAULT_EXECUTABLE_EXTENSIONS))]
    pub extensions: Option<Vec<String>>,
    /// Also flag names that only look executable to the reader (right-to-left override, look-alike
    /// characters) while the system would open them as something else.
    pub displayed: bool,
    /// Severity of the finding and the alert.
    pub severity: Severity,
    /// A message (its Message-ID, From header and this rule's finding together) alerts at most
    /// once within this time; the same message seen again after it alerts again.
    pub dedup_window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { extensions: None, displayed: true, severity: Severity::High, dedup_window: Duration::secs(86_400) }
    }
}

/// `rules.mail_executable_attachment`, compiled: the settings, with the extensions (default or
/// configured) lower case and without the dot.
#[derive(Clone, Debug)]
pub struct ExecutableAttachmentConfig {
    /// The settings (`extensions` taken out).
    pub settings: Settings,
    /// Executable extensions, lower case, without the dot.
    pub extensions: Vec<String>,
}

impl Compile<ExecutableAttachmentConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<ExecutableAttachmentConfig>, ConfigError> {
        let mut settings = self;
        let extensions = match settings.extensions.take() {
            None => crate::mail::DEFAULT_EXECUTABLE_EXTENSIONS.iter().map(|e| e.to_string()).collect(),
            Some(list) => mail_message::compile_extensions(list, "extensions", cx)?,
        };
        Ok(Some(ExecutableAttachmentConfig { settings, extensions }))
    }
}

impl Rule for ExecutableAttachmentConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Mail], message_dedup: true };
    type Settings = Settings;
    type HostState = ();

    fn apply(&self, _: &Event, cx: &mut RuleContext) {
        let s = &self.settings;
        let names = mail_message::attachment_names(cx, &META);
        let mut hits = Vec::new();
        for (name, field) in &names {
            let Some(m) = mail::executable_match(name, &self.extensions) else { continue };
            if m.basis == MatchBasis::Displayed && !s.displayed {
                continue;
            }
            hits.push((name, *field, m));
        }
        if hits.is_empty() {
            return;
        }
        let listed: Vec<String> = hits.iter().map(|(n, _, m)| format!("{:?} (.{})", n.as_str(), m.extension)).collect();
        let reason = format!("executable attachment{}: {}", if hits.len() > 1 { "s" } else { "" }, listed.join(", "));
        cx.finding(&META, s.severity, reason.clone());
        let attachments: Vec<_> = hits
            .iter()
            .map(|(n, f, m)| {
                let (basis, tricks) = mail_message::match_evidence(m);
                json!({ "name": n, "extension": m.extension, "basis": basis, "tricks": tricks, "field": f.name() })
            })
            .collect();
        let evidence = json!({ "attachments": attachments, "attachments_seen": names.len() });
        mail_message::alert(cx, &META, s.severity, s.dedup_window.ms, reason, evidence);
    }
}
