//! `proxy.upload_volume`: a POST to a destination followed by consecutive CONNECTs to the
//! same destination — how tools push large uploads out through a proxy — whose request bytes
//! together exceed `max_bytes`.
//!
//! Per host the rule keeps one open run: a POST starts it; POSTs and CONNECTs to the same
//! destination (registered domain or address) add their request bytes (`http.request.bytes`,
//! else `source.bytes`; a request without either counts with 0 bytes); other methods to it
//! keep it open without adding. The run ends when the host makes a request to another
//! destination, or after `idle_gap` without a POST or CONNECT. The alert fires once per run,
//! on the request that crosses `max_bytes`. Destinations on the rule's allowlist are
//! invisible to it.

use serde_json::json;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, Field, SourceKind, time::format_ms};
use crate::values::{ConfigError, Duration, Severity};

use super::registry::{Compile, CompileContext, Rule, RuleInfo, RuleState};
use super::shared::DestinationAllow;

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, OverTime, RuleContext};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "proxy.upload_volume",
    name: "Large upload through the web proxy",
    description: "A host sent a POST followed by CONNECT tunnels to one destination whose request bytes add up to more than the configured volume, as data exfiltration does.",
    category: "exfiltration",
    attack: Attack::technique(attack::EXFILTRATION, attack::EXFILTRATION_OVER_WEB_SERVICE),
};

/// `rules.proxy_upload_volume` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// A run whose summed request bytes exceed this alerts.
    pub max_bytes: u64,
    /// A run ends after this long without a POST or CONNECT to its destination.
    pub idle_gap: Duration,
    /// Destinations uploads may go to: domains (their subdomains too), IP addresses or CIDR
    /// blocks.
    #[schemars(inner(length(min = 1)))]
    pub allow: Vec<String>,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { max_bytes: 10 * 1024 * 1024, idle_gap: Duration::secs(600), allow: Vec::new(), severity: Severity::High }
    }
}

/// `rules.proxy_upload_volume`, compiled.
#[derive(Clone, Debug)]
pub struct UploadVolumeConfig {
    /// The settings (`allow` taken out).
    pub settings: Settings,
    /// Destinations uploads may go to (backup, corporate cloud storage).
    pub allow: DestinationAllow,
}


/// The open upload run of a host.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct UploadRun {
    dest_hash: u64,
    start_ms: i64,
    last_ms: i64,
    requests: u32,
    bytes: u64,
    alerted: bool,
}

/// The open run, if any.
impl RuleState for Option<UploadRun> {
    fn is_empty(&self) -> bool {
        self.is_none()
    }
}

impl Compile<UploadVolumeConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<UploadVolumeConfig>, ConfigError> {
        let mut v = self;
        let allow = DestinationAllow::compile(std::mem::take(&mut v.allow), &cx.path("allow"))?;
        Ok(Some(UploadVolumeConfig { settings: v, allow }))
    }
}

impl Rule for UploadVolumeConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Proxy], message_dedup: false };
    type Settings = Settings;
    type HostState = Option<UploadRun>;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let Some(ot) = super::over_time(cx) else { return };
        let OverTime { host, ts, dest_hash, .. } = ot;
        let Some(Some(dest)) = &cx.web else { return };
        let (st, ann) = (cx.hosts.get_mut(host), &mut *cx.ann);
        if dest.is_allowed(&self.allow) {
            return;
        }
        let method = ev.str(Field::HttpRequestMethod).map(str::trim).unwrap_or("");
        let is_post = method.eq_ignore_ascii_case("POST");
        let is_connect = method.eq_ignore_ascii_case("CONNECT");
        let run = &mut st.rules.proxy_upload_volume;
        if let Some(r) = run {
            if r.dest_hash != dest_hash || ts.abs_diff(r.last_ms) > self.settings.idle_gap.ms.max(0) as u64 {
                *run = None;
            }
        }
        if !is_post && !(is_connect && run.is_some()) {
            return;
        }
        let bytes = match ev.byte_count(Field::HttpRequestBytes) {
            Ok(Some(b)) => b,
            Ok(None) => match ev.byte_count(Field::SourceBytes) {
                Ok(b) => b.unwrap_or(0),
                Err(e) => {
                    ann.field_error(META.id, e);
                    0
                }
            },
            Err(e) => {
                ann.field_error(META.id, e);
                0
            }
        };
        let r = run.get_or_insert(UploadRun { dest_hash, start_ms: ts, last_ms: ts, requests: 0, bytes: 0, alerted: false });
        r.start_ms = r.start_ms.min(ts);
        r.last_ms = r.last_ms.max(ts);
        r.requests = r.requests.saturating_add(1);
        r.bytes = r.bytes.saturating_add(bytes);
        if r.alerted || r.bytes <= self.settings.max_bytes {
            return;
        }
        r.alerted = true;
        let reason = format!("{} bytes sent to {} in a POST and {} further request(s)", r.bytes, dest.key(), r.requests - 1);
        ann.findings.push(crate::output::Finding { rule: META.id, severity: self.settings.severity, reason: reason.clone() });
        let alert = AlertBuilder::new(&META, ts, self.settings.severity)
            .host(Some(host))
            .destination(dest.ip.map(|ip| (ip, None)))
            .related(dest.ip)
            .message(format!("{host}: {reason} (more than {} bytes)", self.settings.max_bytes))
            .evidence(json!({
                "destination": dest.key(),
                "host": dest.host,
                "run_start": format_ms(r.start_ms),
                "run_end": format_ms(r.last_ms),
                "requests": r.requests,
                "bytes": r.bytes,
                "max_bytes": self.settings.max_bytes,
                "idle_gap_s": self.settings.idle_gap.ms / 1000,
                "user_agent": ev.str(Field::UserAgentOriginal),
                "user": ev.str(Field::UserName),
            }))
            .build();
        ann.alerts.push(alert);
    }
}
