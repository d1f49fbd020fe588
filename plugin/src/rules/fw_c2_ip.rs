//! `fw.c2_ip`: the destination address (or address and port) is in a C&C indicator list.
//!
//! Applies to firewall events, allowed or denied, and to proxy events that carry
//! `destination.ip`. The event gets a `threat.enrichments[]` entry (ECS `indicator.*`,
//! `matched.*`) and a finding; the host (`source.ip`) gets one alert per list per
//! `dedup_window` (the events after it are enriched, not alerted).

use serde_json::json;

use serde::Deserialize;

use crate::event::{Event, SourceKind};
use crate::netlist::NetMatcher;
use crate::output::{Indicator, Matched, ThreatEnrichment};
use crate::values::{ConfigError, NetEntry};

use super::indicator_lists::{IndicatorSource, ListSettings, list_provider};
use super::registry::{Compile, CompileContext, Rule, RuleInfo};

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, IfNoHost, RuleContext};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "fw.c2_ip",
    name: "Connection to a C&C address",
    description: "A host connected, or tried to connect, to an address listed as malware command-and-control.",
    category: "command_and_control",
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL),
};

/// `rules.fw_c2_ip` as the config document writes it.
pub type Settings = ListSettings<IndicatorList>;

/// One named list of C&C indicators.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct IndicatorList {
    /// The list's name, shown in findings and evidence. Must not be blank while the rule is
    /// enabled.
    name: String,
    /// ECS threat.enrichments.indicator.provider. `null` or absent: the list's name.
    #[serde(default)]
    provider: Option<String>,
    /// Addresses, CIDR blocks and IP:port pairs.
    entries: Vec<NetEntry>,
}

/// `rules.fw_c2_ip`, compiled: every entry of every list.
#[derive(Clone, Debug)]
pub struct C2IpConfig {
    /// Every entry of every list.
    pub indicators: NetMatcher<IndicatorSource>,
    /// The settings (`lists` taken out).
    pub settings: Settings,
}


impl Compile<C2IpConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<C2IpConfig>, ConfigError> {
        let mut c = self;
        let mut indicators = NetMatcher::new();
        for (i, list) in std::mem::take(&mut c.lists).into_iter().enumerate() {
            let provider = list_provider(&list.name, list.provider, cx, i)?;
            for e in list.entries {
                indicators.insert(e.0, IndicatorSource { entry: e.1.trim().to_string(), list: list.name.clone(), provider: provider.clone() });
            }
        }
        Ok(Some(C2IpConfig { indicators, settings: c }))
    }
}

impl Rule for C2IpConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Firewall, SourceKind::Proxy], message_dedup: false };
    type Settings = Settings;
    type HostState = ();

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        if self.indicators.is_empty() {
            return;
        }
        let Some(dst) = cx.optional(&META, ev.destination_ip()) else { return };
        let port = cx.optional(&META, ev.destination_port());
        let Some((spec, source)) = self.indicators.lookup(dst, port) else { return };
        let kind = if dst.is_ipv4() { "ipv4-addr" } else { "ipv6-addr" };
        cx.ann.enrichments.push(ThreatEnrichment {
            indicator: Indicator {
                kind,
                ip: Some(dst.to_string()),
                url: None,
                port: match spec {
                    crate::netlist::NetSpec::Socket(_, p) => Some(*p),
                    _ => None,
                },
                name: source.entry.clone(),
                provider: source.provider.clone(),
            },
            matched: Matched { atomic: dst.to_string(), field: "destination.ip", kind: "indicator_match_rule" },
        });
        let reason = format!(
            "destination {} is in C&C list {:?} (entry {})",
            match port {
                Some(p) if matches!(spec, crate::netlist::NetSpec::Socket(..)) => std::net::SocketAddr::new(dst, p).to_string(),
                _ => dst.to_string(),
            },
            source.list,
            source.entry
        );
        cx.finding(&META, self.settings.severity, reason.clone());
        let Some(host) = cx.host(&META, IfNoHost::Report("missing; no fw.c2_ip alert can name the host")) else { return };
        let Some(ts) = cx.time(&META) else { return };
        if !cx.once_per(&META, host, source.list.as_str(), ts, self.settings.dedup_window.ms) {
            return;
        }
        let alert = AlertBuilder::new(&META, ts, self.settings.severity)
            .about(host, &reason)
            .destination(Some((dst, port)))
            .related([dst])
            .evidence(json!({
                "indicator": source.entry,
                "indicators": [{"indicator": source.entry, "type": kind, "matched": dst.to_string(), "field": "destination.ip"}],
                "list": source.list,
                "provider": source.provider,
                "destination": {"ip": dst.to_string(), "port": port},
                "action": ev.str(crate::event::Field::EventAction),
                "denied": ev.is_denied(),
                "first_seen": crate::event::time::format_ms(ts),
                "dedup_window_seconds": self.settings.dedup_window.ms / 1000,
            }))
            .build();
        cx.raise(alert);
    }
}
