//! `mail.risky_attachment`: a message carries an attachment of a type that phishing uses to
//! carry its payload past filters for executables — disk images (`quotation.iso`), OneNote
//! notebooks, Office add-ins, HTML files (HTML smuggling, credential phishing pages) and
//! archives. Each class has its own severity; by default images, notebooks and add-ins are
//! high, HTML and archives low, since business mail carries them too.
//!
//! Names are read as `mail.executable_attachment` reads them (see [`super::mail_message`]),
//! through the same disguises (double extensions, trailing dots, bidi controls, look-alike
//! characters). A name takes the first class that lists its extension. One alert per message
//! (id, From and the offending names) per `dedup_window`, listing every offending name, with
//! the severity of the most severe class among them.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::event::{Event, SourceKind};
use crate::mail::MatchBasis;
use crate::output::{Attack, attack};
use crate::values::{ConfigError, Duration, Severity};

use super::context::RuleContext;
use super::registry::{Compile, CompileContext, Rule, RuleInfo};
use super::{RuleMeta, mail_message};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "mail.risky_attachment",
    name: "Mail attachment of a type phishing carries payloads in",
    description: "A message carries a disk image, OneNote notebook, Office add-in, HTML file or archive: types that phishing uses to get a payload past filters for executables.",
    category: "initial_access",
    attack: Attack::subtechnique(attack::INITIAL_ACCESS, attack::PHISHING, attack::SPEARPHISHING_ATTACHMENT),
};

/// `rules.mail_risky_attachment` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Attachment classes, each with its extensions and severity; a name takes the first class
    /// that lists its extension. Replaces the default classes.
    pub classes: Vec<ClassSettings>,
    /// Also flag names that only look like one of these types to the reader (right-to-left
    /// override, look-alike characters).
    pub displayed: bool,
    /// A message (its Message-ID, From header and this rule's finding together) alerts at most
    /// once within this time; the same message seen again after it alerts again.
    pub dedup_window: Duration,
}

/// One class of attachment types.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ClassSettings {
    /// The class's name, shown in findings and evidence.
    #[schemars(length(min = 1))]
    name: String,
    /// Its extensions (case-insensitive, a leading dot allowed).
    #[schemars(inner(regex(pattern = r"^\s*\.?[^.\s/\\]+\s*$")))]
    extensions: Vec<String>,
    /// Severity of a finding on a name of this class (the alert takes the highest).
    severity: Severity,
}

impl ClassSettings {
    fn new(name: &str, extensions: &[&str], severity: Severity) -> Self {
        ClassSettings { name: name.into(), extensions: extensions.iter().map(|e| e.to_string()).collect(), severity }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            classes: vec![
                ClassSettings::new("disk_image", &["iso", "img", "vhd", "vhdx"], Severity::High),
                ClassSettings::new("onenote", &["one", "onepkg"], Severity::High),
                ClassSettings::new("office_addin", &["xll", "xlam", "ppam"], Severity::High),
                ClassSettings::new("html", &["html", "htm", "shtml", "xhtml"], Severity::Low),
                ClassSettings::new("archive", &["zip", "rar", "7z"], Severity::Low),
            ],
            displayed: true,
            dedup_window: Duration::secs(86_400),
        }
    }
}

/// `rules.mail_risky_attachment`, compiled.
#[derive(Clone, Debug)]
pub struct RiskyAttachmentConfig {
    /// The settings (`classes` taken out).
    pub settings: Settings,
    /// (name, extensions lower case without the dot, severity), in the config's order.
    pub classes: Vec<(String, Vec<String>, Severity)>,
}

impl Compile<RiskyAttachmentConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<RiskyAttachmentConfig>, ConfigError> {
        let mut s = self;
        let mut classes = Vec::new();
        for (i, c) in std::mem::take(&mut s.classes).into_iter().enumerate() {
            let name = c.name.trim().to_owned();
            if name.is_empty() {
                return Err(cx.err(&format!("classes[{i}].name"), "must not be empty"));
            }
            let extensions = mail_message::compile_extensions(c.extensions, &format!("classes[{i}].extensions"), cx)?;
            classes.push((name, extensions, c.severity));
        }
        Ok((!classes.is_empty()).then_some(RiskyAttachmentConfig { settings: s, classes }))
    }
}

impl Rule for RiskyAttachmentConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Mail], message_dedup: true };
    type Settings = Settings;
    type HostState = ();

    fn apply(&self, _: &Event, cx: &mut RuleContext) {
        let names = mail_message::attachment_names(cx, &META);
        // (name, field, class, its severity, how it matched)
        let mut hits = Vec::new();
        for (name, field) in &names {
            let class = self.classes.iter().find_map(|(class, extensions, severity)| {
                let m = crate::mail::executable_match(name, extensions)?;
                (m.basis == MatchBasis::Real || self.settings.displayed).then_some((class, *severity, m))
            });
            if let Some((class, severity, m)) = class {
                hits.push((name, *field, class, severity, m));
            }
        }
        let Some(severity) = hits.iter().map(|h| h.3).max() else { return };
        let listed: Vec<String> = hits.iter().map(|(n, _, class, _, m)| format!("{:?} ({class}: .{})", n.as_str(), m.extension)).collect();
        let reason = format!("risky attachment{}: {}", if hits.len() > 1 { "s" } else { "" }, listed.join(", "));
        cx.finding(&META, severity, reason.clone());
        let attachments: Vec<_> = hits
            .iter()
            .map(|(n, f, class, severity, m)| {
                let (basis, tricks) = mail_message::match_evidence(m);
                json!({ "name": n, "class": class, "severity": severity.name(), "extension": m.extension, "basis": basis, "tricks": tricks, "field": f.name() })
            })
            .collect();
        let evidence = json!({ "attachments": attachments, "attachments_seen": names.len() });
        mail_message::alert(cx, &META, severity, self.settings.dedup_window.ms, reason, evidence);
    }
}
