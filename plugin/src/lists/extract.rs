//! The value extractors: what a learned list's field means for one event.
//!
//! | field | events | value |
//! |---|---|---|
//! | `dst_ip_tcp80` | firewall, TCP (or no transport given) to port 80 | `destination.ip` |
//! | `dst_port` | firewall, TCP or UDP | `tcp/445`, `udp/53` |
//!
//! Firewall values are taken only for destinations a connection can leave the host's own
//! link for: multicast, limited broadcast, link-local, loopback and unspecified destinations
//! (SSDP, LLMNR, mDNS, DHCPv6 chatter that every capture holds) give no value. A firewall's
//! outbound-deny log has none of them; packet captures are full of them.
//! | `http_url` | proxy | `url.full` (or `url.original`, or `url.domain` + path), normalised |
//!
//! URLs are normalised with the `url` crate (WHATWG parsing): scheme and host lower-case,
//! default port and fragment removed; the query is kept or dropped by option. A new field is
//! one more [`ListField`] variant and one more arm in [`extract`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::event::{Event, Field, SourceKind, Transport};

/// A field that lists can be learned for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListField {
    /// Destination IP of TCP connections to port 80 (firewall).
    DstIpTcp80,
    /// Transport and destination port, `tcp/445` (firewall).
    DstPort,
    /// Normalised URL (proxy).
    HttpUrl,
}

impl ListField {
    /// Every field, in report order.
    pub const ALL: [ListField; 3] = [ListField::DstIpTcp80, ListField::DstPort, ListField::HttpUrl];

    /// The field's name in documents and alerts.
    pub fn name(self) -> &'static str {
        match self {
            ListField::DstIpTcp80 => "dst_ip_tcp80",
            ListField::DstPort => "dst_port",
            ListField::HttpUrl => "http_url",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<ListField> {
        ListField::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Which log the field comes from (`firewall` or `proxy`).
    pub fn source(self) -> SourceKind {
        match self {
            ListField::DstIpTcp80 | ListField::DstPort => SourceKind::Firewall,
            ListField::HttpUrl => SourceKind::Proxy,
        }
    }
}

/// Options of the extractors (recorded in the list document, so detection uses the same).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractOptions {
    /// Keep the query string of URLs (default: dropped).
    #[serde(default)]
    pub keep_query: bool,
}

/// Whether a destination is on the local link only (never a firewall's outbound traffic).
fn link_only(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.is_link_local() || a.is_loopback() || a.is_unspecified(),
        std::net::IpAddr::V6(a) => a.is_multicast() || a.is_unicast_link_local() || a.is_loopback() || a.is_unspecified(),
    }
}

/// The value of `field` in `ev`, if the event carries one.
pub fn extract<'e>(field: ListField, ev: &'e Event<'_>, kind: SourceKind, opts: &ExtractOptions) -> Option<Cow<'e, str>> {
    if kind != field.source() {
        return None;
    }
    match field {
        ListField::DstIpTcp80 => {
            let tcp = matches!(ev.transport(), Ok(Some(Transport::Tcp)) | Ok(None));
            if tcp && ev.destination_port().ok()? == Some(80) {
                let ip = ev.destination_ip().ok()??;
                (!link_only(ip)).then(|| Cow::Owned(ip.to_string()))
            } else {
                None
            }
        }
        ListField::DstPort => {
            if ev.destination_ip().ok().flatten().is_some_and(link_only) {
                return None;
            }
            let t = match ev.transport().ok()?? {
                Transport::Tcp => "tcp",
                Transport::Udp => "udp",
                _ => return None,
            };
            let p = ev.destination_port().ok()??;
            Some(Cow::Owned(format!("{t}/{p}")))
        }
        ListField::HttpUrl => {
            let raw = ev.str(Field::UrlFull).or_else(|| ev.str(Field::UrlOriginal))?;
            normalise_url(raw, ev.str(Field::UrlDomain), opts).map(Cow::Owned)
        }
    }
}

/// Normalises a URL; `None` when it is not an absolute http(s)/ftp URL (after joining a bare
/// path to `domain`). The WHATWG parser of the `url` crate lower-cases the scheme and host,
/// applies IDNA, drops default ports and resolves dot segments; on top of it, percent-encoded
/// unreserved characters are decoded and the hex digits of the other escapes upper-cased
/// (RFC 3986 §6.2.2), so `/%70ayload` and `/payload` are one URL.
pub fn normalise_url(raw: &str, domain: Option<&str>, opts: &ExtractOptions) -> Option<String> {
    let raw = raw.trim();
    let mut u = match url::Url::parse(raw) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let d = domain?.trim();
            url::Url::parse(&format!("http://{d}")).ok()?.join(raw).ok()?
        }
        Err(_) => return None,
    };
    if !matches!(u.scheme(), "http" | "https" | "ftp") || u.host().is_none() {
        return None;
    }
    u.set_fragment(None);
    if !opts.keep_query {
        u.set_query(None);
    }
    Some(normalise_escapes(u.into()))
}

/// RFC 3986 §6.2.2.1–2: decodes `%XX` escapes of unreserved characters (letters, digits,
/// `-._~`) and upper-cases the hex digits of the escapes that stay.
fn normalise_escapes(s: String) -> String {
    if !s.contains('%') {
        return s;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let v = (h * 16 + l) as u8;
                if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                    out.push(v);
                } else {
                    out.extend_from_slice(&[b'%', b[i + 1].to_ascii_uppercase(), b[i + 2].to_ascii_uppercase()]);
                }
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII bytes, so the text is still UTF-8.
    String::from_utf8(out).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Event<'_> {
        Event::parse(s.as_bytes()).unwrap()
    }

    fn x(field: ListField, line: &str, keep_query: bool) -> Option<String> {
        let e = ev(line);
        extract(field, &e, e.source_kind(), &ExtractOptions { keep_query }).map(|c| c.into_owned())
    }

    #[test]
    fn link_local_destinations_give_no_firewall_value() {
        for dst in ["239.255.255.250", "255.255.255.255", "169.254.1.1", "ff02::fb", "fe80::1", "127.0.0.1"] {
            let l = format!(r#"{{"destination.ip":"{dst}","destination.port":80,"network.transport":"udp"}}"#);
            assert_eq!(x(ListField::DstPort, &l, false), None, "{dst}");
        }
        let l = r#"{"destination.ip":"192.168.1.9","destination.port":1900,"network.transport":"udp"}"#;
        assert_eq!(x(ListField::DstPort, l, false).as_deref(), Some("udp/1900"), "a private unicast address is kept");
    }

    #[test]
    fn escapes_of_unreserved_characters_are_decoded() {
        let n = |u: &str| normalise_url(u, None, &ExtractOptions { keep_query: true });
        assert_eq!(n("http://a.example/%70ayload.exe?q=%7e%2f"), Some("http://a.example/payload.exe?q=~%2F".into()));
        assert_eq!(n("http://a.example/%E8%AB%8B"), Some("http://a.example/%E8%AB%8B".into()));
        assert_eq!(n("http://a.example/50%"), Some("http://a.example/50%".into()));
        assert_eq!(n("http://a.example/%zz%4"), Some("http://a.example/%zz%4".into()));
    }

    #[test]
    fn firewall_fields() {
        let l = r#"{"destination.ip":"203.0.113.9","destination.port":"80","network.transport":"tcp"}"#;
        assert_eq!(x(ListField::DstIpTcp80, l, false).as_deref(), Some("203.0.113.9"));
        assert_eq!(x(ListField::DstPort, l, false).as_deref(), Some("tcp/80"));
        let l = r#"{"destination.ip":"203.0.113.9","destination.port":53,"network.iana_number":17}"#;
        assert_eq!(x(ListField::DstIpTcp80, l, false), None);
        assert_eq!(x(ListField::DstPort, l, false).as_deref(), Some("udp/53"));
        let l = r#"{"destination.ip":"203.0.113.9","destination.port":80}"#;
        assert_eq!(x(ListField::DstIpTcp80, l, false).as_deref(), Some("203.0.113.9"), "no transport: assumed TCP for port 80");
        assert_eq!(x(ListField::DstPort, l, false), None, "no transport: no port value");
        assert_eq!(x(ListField::HttpUrl, l, false), None);
    }

    #[test]
    fn urls_are_normalised() {
        let l = r#"{"url.full":"HTTP://Evil.Example:80/Gate.php?id=7#frag","source.ip":"10.0.0.1"}"#;
        assert_eq!(x(ListField::HttpUrl, l, false).as_deref(), Some("http://evil.example/Gate.php"));
        assert_eq!(x(ListField::HttpUrl, l, true).as_deref(), Some("http://evil.example/Gate.php?id=7"));
        let l = r#"{"url":{"original":"/a/b","domain":"Example.COM"}}"#;
        assert_eq!(x(ListField::HttpUrl, l, false).as_deref(), Some("http://example.com/a/b"));
        let l = r#"{"url.original":"example.com:443","http.request.method":"CONNECT"}"#;
        assert_eq!(x(ListField::HttpUrl, l, false), None, "CONNECT authority is not a URL");
        assert_eq!(x(ListField::DstPort, l, false), None, "proxy event has no firewall fields");
    }
}
