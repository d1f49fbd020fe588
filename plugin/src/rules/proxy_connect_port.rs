//! `proxy.connect_port`: a `CONNECT` through the proxy to a port outside the allowed set
//! (default 80 and 443): tunnels to odd ports are how much malware reaches its C&C.
//!
//! The port comes from the CONNECT authority (`url.original` / `url.full`, `host:port` or
//! `[v6]:port`), else `url.port`, else `destination.port`. One alert per (host,
//! destination:port) per `dedup_window`.

use serde_json::json;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, Field, FieldError, SourceKind, time::format_ms};
use crate::values::{Duration, Severity};

use super::registry::{Rule, RuleInfo};
use super::shared::PortSet;

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, IfNoHost, RuleContext};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "proxy.connect_port",
    name: "CONNECT to an unusual port",
    description: "A host opened a tunnel through the web proxy to a port other than the ones web browsing uses.",
    category: "command_and_control",
    attack: Attack::technique(attack::COMMAND_AND_CONTROL, attack::PROTOCOL_TUNNELING),
};

/// `rules.proxy_connect_port` as the config document writes it, and the compiled rule: nothing in it
/// needs compiling.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Ports CONNECT may go to.
    pub allowed_ports: PortSet,
    /// At most one alert per (host, destination:port) within this time.
    pub dedup_window: Duration,
    /// Severity of the finding and the alert.
    pub severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { allowed_ports: PortSet::of(&[80, 443]), dedup_window: Duration::secs(3600), severity: Severity::Medium }
    }
}

/// Splits a CONNECT authority (or the authority of a URL) into host and port text.
pub fn authority(s: &str) -> Option<(&str, Option<&str>)> {
    let s = s.trim();
    // A scheme is a `:` followed by slashes (either way round, as browsers read them).
    let s = match s.find(':') {
        Some(i) if s[i + 1..].starts_with(['/', '\\']) => s[i + 1..].trim_start_matches(['/', '\\']),
        _ => s,
    };
    let s = s.split(['/', '\\', '?', '#']).next().unwrap_or(s);
    let s = s.rsplit_once('@').map_or(s, |(_, host)| host);
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, Some(p))),
        _ => Some((s, None)),
    }
}

impl Rule for Settings {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Proxy], message_dedup: false };
    type Settings = Self;
    type HostState = ();

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let Some(method) = ev.str(Field::HttpRequestMethod) else { return };
        if !method.trim().eq_ignore_ascii_case("CONNECT") {
            return;
        }
        let auth = ev.str(Field::UrlOriginal).or_else(|| ev.str(Field::UrlFull)).and_then(authority);
        let host_name = auth.map(|a| a.0).or_else(|| ev.str(Field::UrlDomain)).map(|h| h.trim().to_ascii_lowercase());
        let port = match auth.and_then(|a| a.1).filter(|p| !p.is_empty()) {
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    let field = if ev.str(Field::UrlOriginal).is_some() { "url.original" } else { "url.full" };
                    return cx.field_error(&META, FieldError { field, problem: format!("CONNECT port is not a number 1-65535: {p:?}") });
                }
            },
            None => match ev.port(Field::UrlPort) {
                Ok(Some(p)) => Some(p),
                Ok(None) => cx.optional(&META, ev.destination_port()),
                Err(e) => {
                    cx.field_error(&META, e);
                    None
                }
            },
        };
        let Some(port) = port else {
            return cx.field_error(&META, FieldError { field: "url.original", problem: "CONNECT without a port".into() });
        };
        if self.allowed_ports.contains(port) {
            return;
        }
        let dest = match &host_name {
            Some(h) if h.contains(':') => format!("[{h}]:{port}"),
            Some(h) => format!("{h}:{port}"),
            None => format!("port {port}"),
        };
        let reason = format!("CONNECT to {dest} (port {port} is not in {:?})", self.allowed_ports.as_slice());
        cx.finding(&META, self.severity, reason.clone());
        let Some(src) = cx.host(&META, IfNoHost::Report("missing; no alert can name the host")) else { return };
        let Some(ts) = cx.time(&META) else { return };
        if !cx.once_per(&META, src, dest.as_str(), ts, self.dedup_window.ms) {
            return;
        }
        let dst_ip = ev.destination_ip().ok().flatten();
        let alert = AlertBuilder::new(&META, ts, self.severity)
            .about(src, &reason)
            .destination(dst_ip.map(|ip| (ip, Some(port))))
            .related(dst_ip)
            .evidence(json!({
                "destination": dest,
                "host": host_name,
                "port": port,
                "allowed_ports": self.allowed_ports,
                "user_agent": ev.str(Field::UserAgentOriginal),
                "user": ev.str(Field::UserName),
                "first_seen": format_ms(ts),
            }))
            .build();
        cx.raise(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn connect_without_a_port_is_a_field_error() {
        // RFC 9110 requires host:port in a CONNECT target. (event.schema.json does not say
        // so, which is why this case is not among the golden fixtures.)
        let mut d = crate::Detector::default();
        let mut out = Vec::new();
        d.process_line(br#"{"@timestamp":1714557600,"observer.type":"proxy","source.ip":"10.0.0.1","http.request.method":"CONNECT","url.original":"noport.example","user_agent.original":"x"}"#, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["error"]["message"], "url.original: CONNECT without a port (proxy.connect_port)");
    }

    #[test]
    fn an_out_of_range_connect_port_is_named() {
        // Not a golden fixture for the same reason as above.
        let mut d = crate::Detector::default();
        let mut out = Vec::new();
        d.process_line(br#"{"@timestamp":1714557600,"observer.type":"proxy","source.ip":"10.0.0.1","http.request.method":"CONNECT","url.original":"evil.example:99999","user_agent.original":"x"}"#, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["error"]["message"], "url.original: CONNECT port is not a number 1-65535: \"99999\" (proxy.connect_port)");
    }

    #[test]
    fn authorities() {
        assert_eq!(authority("evil.example:8443"), Some(("evil.example", Some("8443"))));
        assert_eq!(authority("[2001:db8::1]:22"), Some(("2001:db8::1", Some("22"))));
        assert_eq!(authority("evil.example"), Some(("evil.example", None)));
        assert_eq!(authority("https://evil.example:8443/x"), Some(("evil.example", Some("8443"))));
        assert_eq!(authority("2001:db8::1"), Some(("2001:db8::1", None)));
        assert_eq!(authority(" "), None);
        assert_eq!(authority("http://user:pw@evil.example:81/x"), Some(("evil.example", Some("81"))));
        assert_eq!(authority("http:\\\\evil.example\\x"), Some(("evil.example", None)));
    }
}
