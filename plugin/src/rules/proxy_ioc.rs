//! `proxy.ioc`: a proxy request whose URL, domain (or any parent domain) or destination
//! address is in an indicator list.
//!
//! URLs are compared normalised (the learned lists' normaliser), with and without their query;
//! domains are those of [`super::web_destination`] (percent-decoded, IDNA, lower case). Every
//! label suffix of the requested host is looked up, `a.b.evil.example` → `b.evil.example` →
//! `evil.example` → `example` (at most [`crate::indicators::MAX_LABELS`]), so a listed
//! `evil.example` matches its subdomains wherever the public suffix list puts the
//! registered-domain boundary (`x.trycloudflare.com`, `a.github.io`), and `*.evil.example`
//! matches the subdomains only (see [`crate::indicators`]); the most specific entry wins.
//! Lookups are hash lookups: the list size does not matter. Each match is a
//! `threat.enrichments[]` entry; a host alerts once per list per `dedup_window` (a DGA
//! malware resolving hundreds of listed domains is one alert per list, not hundreds), the
//! alert naming every entry of the list the request matched.

use serde_json::json;

use serde::Deserialize;

use crate::event::{Event, Field, SourceKind, time::format_ms};
use crate::indicators;
use crate::lists::extract::{ExtractOptions, normalise_url};
use crate::netlist::NetMatcher;
use crate::values::{ConfigError, NetEntry};
use crate::output::{Indicator, IndicatorUrl, Matched, ThreatEnrichment};

use super::context::{AlertBuilder, RuleContext};
use super::indicator_lists::{ListSettings, list_provider};
use super::registry::{Compile, CompileContext, Rule, RuleInfo};
use super::web_destination::WebDestination;
use super::RuleMeta;
use crate::output::{Attack, attack};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "proxy.ioc",
    name: "Web request to a known malicious indicator",
    description: "A host requested a URL, domain or address listed as malicious.",
    category: "command_and_control",
    attack: Attack::subtechnique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL, attack::WEB_PROTOCOLS),
};

/// `rules.proxy_ioc` as the config document writes it.
pub type Settings = ListSettings<IocList>;

/// One indicator list: domains, URLs and addresses.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct IocList {
    /// The list's name, shown in findings and evidence. Must not be blank while the rule is
    /// enabled.
    name: String,
    /// ECS threat.enrichments.indicator.provider. `null` or absent: the list's name.
    #[serde(default)]
    provider: Option<String>,
    /// Domain indicators.
    #[serde(default)]
    domains: indicators::DomainList,
    /// URL indicators: a request whose URL, normalised, is one of them matches.
    #[serde(default)]
    #[schemars(inner(regex(pattern = "^[A-Za-z][A-Za-z0-9+.-]*://")))]
    urls: Vec<String>,
    /// Destination addresses and CIDR blocks (and IP:port pairs).
    #[serde(default)]
    ips: Vec<NetEntry>,
}

/// `rules.proxy_ioc`, compiled: the entries of every list, each pointing to its list (a later
/// list naming the same entry wins); domains and URLs are their own entry text.
#[derive(Clone, Debug)]
pub struct ProxyIocConfig {
    /// Domain (lower-case, IDNA) → the lists naming it as itself-and-subdomains and as
    /// subdomains only ([`crate::indicators`]).
    pub domains: indicators::StrTable<indicators::DomainMatch>,
    /// Normalised URL → list.
    pub urls: indicators::StrTable<u32>,
    /// Addresses and blocks → (list, the entry as written).
    pub ips: NetMatcher<(u32, Box<str>)>,
    /// Each list's name and provider.
    pub lists: Vec<(String, String)>,
    /// The settings (`lists` taken out).
    pub settings: Settings,
}

impl ProxyIocConfig {
    /// Distinct entries of all lists.
    pub fn entries(&self) -> usize {
        self.domains.len() + self.urls.len() + self.ips.len()
    }
}

impl Compile<ProxyIocConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<ProxyIocConfig>, ConfigError> {
        let mut p = self;
        let lists = std::mem::take(&mut p.lists);
        if lists.is_empty() {
            return Ok(None);
        }
        let mut cfg = ProxyIocConfig {
            domains: Default::default(),
            urls: Default::default(),
            ips: NetMatcher::new(),
            lists: Vec::new(),
            settings: p,
        };
        let opts = ExtractOptions { keep_query: true };
        let (keys, bytes) = lists.iter().map(|l| l.domains.size()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        cfg.domains.reserve(keys, bytes);
        for (i, list) in lists.into_iter().enumerate() {
            let provider = list_provider(&list.name, list.provider, cx, i)?;
            let id = cfg.lists.len() as u32;
            cfg.lists.push((list.name, provider));
            for (name, subdomains_only) in list.domains.iter() {
                let none = indicators::NONE;
                cfg.domains.upsert(name, [none, none], |v| v[subdomains_only as usize] = id);
            }
            for (j, u) in list.urls.into_iter().enumerate() {
                let Some(n) = normalise_url(&u, None, &opts) else {
                    return Err(cx.err(&format!("lists[{i}].urls[{j}]"), format!("not an absolute http(s) URL: {u:?}")));
                };
                cfg.urls.upsert(&n, id, |v| *v = id);
            }
            for e in list.ips {
                cfg.ips.insert(e.0, (id, e.1.trim().into()));
            }
        }
        cfg.domains.shrink();
        cfg.urls.shrink();
        Ok(Some(cfg))
    }
}

impl Rule for ProxyIocConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Proxy], message_dedup: false };
    type Settings = Settings;
    type HostState = ();

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        cx.web_destination();
        let hits = self.hits(ev, cx.web.as_ref().and_then(Option::as_ref));
        if hits.is_empty() {
            return;
        }
        let raw = ev.str(Field::UrlFull).or_else(|| ev.str(Field::UrlOriginal));
        // Host and time are read quietly: an indicator match is worth its enrichment even when
        // no alert can name the host.
        let src = ev.source_ip().ok().flatten().filter(|ip| cx.shared.is_internal(*ip));
        let ts = ev.timestamp_ms().ok();
        let mut reasons = Vec::with_capacity(hits.len());
        for h in &hits {
            let (list, provider) = &self.lists[h.list as usize];
            let url = match h.kind {
                "url" => Some(IndicatorUrl { full: Some(h.entry.clone()), domain: None }),
                "domain-name" => Some(IndicatorUrl { full: None, domain: h.domain.clone() }),
                _ => None,
            };
            cx.ann.enrichments.push(ThreatEnrichment {
                indicator: Indicator {
                    kind: h.kind,
                    ip: (h.field == "destination.ip").then(|| h.atomic.clone()),
                    url,
                    port: None,
                    name: h.entry.clone(),
                    provider: provider.clone(),
                },
                matched: Matched { atomic: h.atomic.clone(), field: h.field, kind: "indicator_match_rule" },
            });
            let reason = format!("{} {} is in indicator list {:?} (entry {})", h.field, h.atomic, list, h.entry);
            cx.finding(&META, self.settings.severity, reason.clone());
            reasons.push(reason);
        }
        let (Some(src), Some(ts)) = (src, ts) else { return };
        // One alert per (host, list) per dedup window, with every entry of that list the
        // request matched.
        for (i, h) in hits.iter().enumerate() {
            if hits[..i].iter().any(|e| e.list == h.list) {
                continue;
            }
            let (list, provider) = &self.lists[h.list as usize];
            if !cx.once_per(&META, src, list.as_str(), ts, self.settings.dedup_window.ms) {
                continue;
            }
            let of_list: Vec<&Hit> = hits.iter().filter(|e| e.list == h.list).collect();
            let indicators: Vec<_> =
                of_list.iter().map(|e| json!({"indicator": e.entry, "type": e.kind, "matched": e.atomic, "field": e.field})).collect();
            let mut reason = reasons[i].clone();
            match of_list.len() {
                1 => {}
                2 => reason += ", and 1 more entry of the list",
                n => reason += &format!(", and {} more entries of the list", n - 1),
            }
            let alert = AlertBuilder::new(&META, ts, self.settings.severity)
                .about(src, &reason)
                .destination(ev.destination_ip().ok().flatten().map(|ip| (ip, None)))
                .evidence(json!({
                    "indicator": h.entry,
                    "type": h.kind,
                    "list": list,
                    "provider": provider,
                    "matched": h.atomic,
                    "field": h.field,
                    "indicators": indicators,
                    "url": raw,
                    "first_seen": format_ms(ts),
                    "dedup_window_seconds": self.settings.dedup_window.ms / 1000,
                }))
                .build();
            cx.raise(alert);
        }
    }
}

struct Hit {
    /// The entry as shown (`evil.example`, `*.evil.example`, a URL, an address or block).
    entry: String,
    /// The domain of a domain entry (ECS `indicator.url.domain`).
    domain: Option<String>,
    /// Index of the list in [`ProxyIocConfig::lists`].
    list: u32,
    kind: &'static str,
    atomic: String,
    field: &'static str,
}

impl ProxyIocConfig {
    /// The entries of the lists that the request matches: its URL, its domain (or a parent),
    /// its destination address.
    fn hits(&self, ev: &Event, dest: Option<&WebDestination>) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        let raw = ev.str(Field::UrlFull).or_else(|| ev.str(Field::UrlOriginal));
        let domain_field = ev.str(Field::UrlDomain);
        if let (Some(raw), false) = (raw, self.urls.is_empty()) {
            // Parse once; the form without the query is a prefix of the one with it (the
            // normaliser drops the fragment, and `?` cannot occur unescaped before the query).
            if let Some(full) = normalise_url(raw, domain_field, &ExtractOptions { keep_query: true }) {
                let bare = full.split_once('?').map(|(b, _)| b);
                let hit = self.urls.get(&full).map(|id| (id, full.as_str())).or_else(|| bare.and_then(|b| self.urls.get(b).map(|id| (id, b))));
                if let Some((list, n)) = hit {
                    hits.push(Hit { entry: n.to_owned(), domain: None, list, kind: "url", atomic: n.to_owned(), field: "url.full" });
                }
            }
        }
        if let (Some(d), false) = (dest.filter(|d| d.ip.is_none()), self.domains.is_empty())
            && let Some((list, name, subdomains_only)) = indicators::match_domain(&self.domains, &d.host)
        {
            let entry = if subdomains_only { format!("*.{name}") } else { name.to_owned() };
            hits.push(Hit { entry, domain: Some(name.to_owned()), list, kind: "domain-name", atomic: d.host.clone(), field: "url.domain" });
        }
        if !self.ips.is_empty() {
            let ip = ev.destination_ip().ok().flatten().or_else(|| dest.and_then(|d| d.ip));
            if let Some(ip) = ip {
                let port = ev.destination_port().ok().flatten();
                if let Some((_, &(list, ref entry))) = self.ips.lookup(ip, port) {
                    let kind = if ip.is_ipv4() { "ipv4-addr" } else { "ipv6-addr" };
                    hits.push(Hit { entry: entry.to_string(), domain: None, list, kind, atomic: ip.to_string(), field: "destination.ip" });
                }
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    fn alerts(lines: &[String]) -> Vec<serde_json::Value> {
        let cfg = br#"{"host_risk":{"enabled":false},"rules":{"proxy_ioc":{"lists":[
            {"name":"dga","domains":["a.example","b.example","c.example"]},
            {"name":"c2","domains":["c.example"],"ips":["203.0.113.9"]}]}}}"#;
        let mut d = crate::Detector::new(crate::Config::from_json(cfg).unwrap());
        let mut out = Vec::new();
        for l in lines {
            d.process_line(l.as_bytes(), &mut out);
        }
        let text = String::from_utf8(out).unwrap();
        text.lines().filter(|l| l.contains(r#""id":"proxy.ioc""#)).map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn get(t: i64, url: &str, ip: &str) -> String {
        format!(r#"{{"@timestamp":{t},"event.category":"web","source.ip":"10.0.0.9","url.full":"{url}","destination.ip":"{ip}"}}"#)
    }

    #[test]
    fn one_alert_per_host_and_list_with_every_entry_the_request_matched() {
        let t = 1_714_557_600;
        let got = alerts(&[
            get(t, "http://x.a.example/", "198.51.100.1"),
            get(t + 60, "http://b.example/", "198.51.100.2"),
            // Another list: its own alert, naming both of its entries this request matched.
            get(t + 120, "http://c.example/", "203.0.113.9"),
            // After the hour, the dga list alerts again.
            get(t + 3700, "http://b.example/", "198.51.100.2"),
        ]);
        let lists: Vec<&str> = got.iter().map(|a| a["malhost"]["evidence"]["list"].as_str().unwrap()).collect();
        assert_eq!(lists, ["dga", "c2", "dga"], "{got:#?}");
        let c2 = &got[1]["malhost"]["evidence"];
        assert_eq!(c2["indicators"].as_array().unwrap().len(), 2, "{c2}");
        assert!(got[1]["message"].as_str().unwrap().ends_with("and 1 more entry of the list"), "{}", got[1]["message"]);
        assert_eq!(got[0]["malhost"]["evidence"]["dedup_window_seconds"], 3600);
    }
}
