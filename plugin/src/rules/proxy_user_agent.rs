//! `proxy.user_agent`: a request whose User-Agent is not one of the organisation's standard
//! agents (exact strings or `*`/`?` patterns in `allowed`), or is empty or missing. Every
//! such request is enriched; a host alerts once per (host, agent) per `dedup_window`. With no
//! `allowed` list only empty and missing agents are flagged.

use serde_json::json;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, Field, FieldError, Scalar, SourceKind, time::format_ms};
use crate::values::{ConfigError, Duration, Severity};

use super::registry::{Compile, CompileContext, Rule, RuleInfo};

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, IfNoHost, RuleContext};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "proxy.user_agent",
    name: "Unusual User-Agent",
    description: "A host made web requests with a User-Agent that is not one of the organisation's standard agents, or with none.",
    category: "command_and_control",
    attack: Attack::subtechnique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL, attack::WEB_PROTOCOLS),
};

/// `rules.proxy_user_agent` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Exact agents, or patterns with * and ?.
    #[schemars(inner(length(min = 1)))]
    pub allowed: Vec<String>,
    /// Also flag requests with an empty or missing User-Agent.
    pub flag_missing: bool,
    /// Log formats (`event.dataset`) that never record a User-Agent, where a missing one says
    /// nothing: Squid's native access.log (`malhost import --format squid`).
    pub formats_without_user_agent: Vec<String>,
    /// At most one alert per (host, agent) within this time.
    pub dedup_window: Duration,
    /// Severity of the finding.
    pub severity: Severity,
    /// Severity of the alert.
    pub alert_severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed: Vec::new(),
            flag_missing: true,
            formats_without_user_agent: vec!["squid.access".to_owned()],
            dedup_window: Duration::secs(86_400),
            severity: Severity::Low,
            alert_severity: Severity::Medium,
        }
    }
}

/// `rules.proxy_user_agent`, compiled.
#[derive(Clone, Debug)]
pub struct UserAgentConfig {
    /// The settings (`allowed` taken out).
    pub settings: Settings,
    /// Exact strings of the organisation's standard agents.
    pub exact: std::collections::HashSet<String>,
    /// Glob patterns (`*`, `?`) of standard agents.
    pub patterns: Vec<(String, wildmatch::WildMatch)>,
}


impl Compile<UserAgentConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<UserAgentConfig>, ConfigError> {
        let mut u = self;
        let mut exact = std::collections::HashSet::new();
        let mut patterns = Vec::new();
        for (i, a) in std::mem::take(&mut u.allowed).into_iter().enumerate() {
            if a.is_empty() {
                return Err(cx.err(&format!("allowed[{i}]"), "an empty agent cannot be standard"));
            }
            if a.contains(['*', '?']) {
                let m = wildmatch::WildMatch::new(&a);
                patterns.push((a, m));
            } else {
                exact.insert(a);
            }
        }
        Ok(Some(UserAgentConfig { settings: u, exact, patterns }))
    }
}

impl Rule for UserAgentConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Proxy], message_dedup: false };
    type Settings = Settings;
    type HostState = ();

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let agent: Option<&str> = match ev.get(Field::UserAgentOriginal) {
            None | Some(Scalar::Null) => {
                if !self.settings.flag_missing {
                    return;
                }
                if let Some(ds) = ev.str(Field::EventDataset)
                    && self.settings.formats_without_user_agent.iter().any(|f| f == ds)
                {
                    return;
                }
                None
            }
            Some(Scalar::Str(s)) => Some(s),
            Some(_) => {
                return cx.field_error(&META, FieldError { field: "user_agent.original", problem: "not a string".into() });
            }
        };
        let reason = match agent {
            None => "no User-Agent".to_string(),
            Some(a) if a.trim().is_empty() => "empty User-Agent".to_string(),
            Some(a) => {
                if self.exact.is_empty() && self.patterns.is_empty() {
                    return;
                }
                if self.exact.contains(a) || self.patterns.iter().any(|(_, m)| m.matches(a)) {
                    return;
                }
                let shown: String = a.chars().take(120).collect();
                format!("User-Agent {shown:?} is not a standard agent")
            }
        };
        cx.finding(&META, self.settings.severity, reason.clone());
        let Some(src) = cx.host(&META, IfNoHost::Skip) else { return };
        let Some(ts) = cx.time(&META) else { return };
        if !cx.once_per(&META, src, agent.unwrap_or("\u{0}missing"), ts, self.settings.dedup_window.ms) {
            return;
        }
        let alert = AlertBuilder::new(&META, ts, self.settings.alert_severity)
            .about(src, &reason)
            .destination(ev.destination_ip().ok().flatten().map(|ip| (ip, None)))
            .evidence(json!({
                "user_agent": agent,
                "url": ev.str(Field::UrlFull).or_else(|| ev.str(Field::UrlOriginal)),
                "method": ev.str(Field::HttpRequestMethod),
                "first_seen": format_ms(ts),
                "standard_agents": self.exact.len() + self.patterns.len(),
            }))
            .build();
        cx.raise(alert);
    }
}

#[cfg(test)]
mod tests {
    fn alerts(line: &str) -> usize {
        let mut d = crate::Detector::new(crate::Config::from_json(br#"{"host_risk":{"enabled":false}}"#).unwrap());
        let mut out = Vec::new();
        d.process_line(line.as_bytes(), &mut out);
        String::from_utf8(out).unwrap().lines().filter(|l| l.contains(r#""id":"proxy.user_agent""#)).count()
    }

    #[test]
    fn a_missing_agent_is_not_flagged_where_the_format_never_records_one() {
        let req = |dataset: &str| format!(r#"{{"@timestamp":1714557600,"event":{{"category":["web"],"dataset":"{dataset}"}},"source":{{"ip":"10.0.0.5"}},"url":{{"full":"http://example.com/"}}}}"#);
        assert_eq!(alerts(&req("squid.access")), 0, "Squid's native log has no User-Agent field");
        assert_eq!(alerts(&req("zeek.http")), 1, "Zeek's http.log records it: a request without one is odd");
    }
}
