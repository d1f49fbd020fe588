//! The destination of a web proxy request, as `proxy.daily_beacon`, `proxy.off_hours` and
//! `proxy.upload_volume` compare it: the registered domain of the requested host (by the
//! public suffix list, so `a.cdn.example.co.uk` and `b.cdn.example.co.uk` are one
//! destination, `example.co.uk`), or the address for IP-literal URLs.
//!
//! The host comes from `url.domain`, else from the authority of `url.full` / `url.original`
//! (so CONNECT targets `host:port` work too), else `destination.ip`. Hosts are compared after
//! percent-decoding, IDNA and lower-casing; `HTTP://RARE.Example/` and
//! `http://%72are.example/` are the same destination.

use std::net::IpAddr;

use super::shared::DestinationAllow;
use crate::webhost::normalise_domain;
use crate::event::{Event, Field, parse_ip};

/// Where a proxy request went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebDestination {
    /// The normalised host: a domain, or an address.
    pub host: String,
    /// Where the registered domain starts in `host` (0 for addresses).
    key_start: usize,
    /// The address, for IP-literal hosts.
    pub ip: Option<IpAddr>,
}

impl WebDestination {
    /// The destination of a proxy event, if it names one.
    pub fn of(ev: &Event) -> Option<WebDestination> {
        let from_domain = ev.str(Field::UrlDomain).and_then(Self::from_host);
        from_domain
            .or_else(|| {
                let url = ev.str(Field::UrlFull).or_else(|| ev.str(Field::UrlOriginal))?;
                super::proxy_connect_port::authority(url).and_then(|a| Self::from_host(a.0))
            })
            .or_else(|| ev.destination_ip().ok().flatten().map(Self::from_ip))
    }

    fn from_ip(ip: IpAddr) -> WebDestination {
        WebDestination { host: ip.to_string(), key_start: 0, ip: Some(ip) }
    }

    /// The destination of a host name or address (brackets around IPv6 optional).
    pub fn from_host(h: &str) -> Option<WebDestination> {
        let h = h.trim().trim_end_matches('.');
        if h.is_empty() {
            return None;
        }
        let bare = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(h);
        if let Some(ip) = parse_ip(bare) {
            return Some(Self::from_ip(ip));
        }
        if let Some(d) = normalise_domain(h) {
            let key_start = psl::domain_str(&d).map_or(0, |k| d.len() - k.len());
            return Some(WebDestination { host: d, key_start, ip: None });
        }
        // What the URL parser reads as an address: `3232235777`, `0x7f.1`.
        match url::Host::parse(h).ok()? {
            url::Host::Ipv4(a) => Some(Self::from_ip(IpAddr::V4(a))),
            url::Host::Ipv6(a) => Some(Self::from_ip(IpAddr::V6(a))),
            url::Host::Domain(_) => None,
        }
    }

    /// The destination as the rules count it: the registered domain, or the address.
    pub fn key(&self) -> &str {
        &self.host[self.key_start..]
    }

    /// Whether an allowlist covers this destination (the host or any parent domain; the
    /// address or a block holding it).
    pub fn is_allowed(&self, allow: &DestinationAllow) -> bool {
        if let Some(ip) = self.ip {
            return allow.nets.contains(ip, None);
        }
        if allow.domains.is_empty() {
            return false;
        }
        let mut d = self.host.as_str();
        loop {
            if allow.domains.contains(d) {
                return true;
            }
            match d.find('.') {
                Some(i) => d = &d[i + 1..],
                None => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(line: &str) -> Option<(String, String)> {
        let ev = Event::parse(line.as_bytes()).unwrap();
        WebDestination::of(&ev).map(|d| (d.host.clone(), d.key().to_string()))
    }

    #[test]
    fn registered_domains_and_addresses() {
        let p = |h: &str, k: &str| Some((h.to_string(), k.to_string()));
        assert_eq!(dest(r#"{"url.full":"HTTP://WWW.Rare.Example/a?b"}"#), p("www.rare.example", "rare.example"));
        assert_eq!(dest(r#"{"url.full":"http://%72are.example/"}"#), p("rare.example", "rare.example"));
        assert_eq!(dest(r#"{"url.original":"a.cdn.example.co.uk:443"}"#), p("a.cdn.example.co.uk", "example.co.uk"));
        assert_eq!(dest(r#"{"url.full":"http://[2001:DB8::1]:8080/x"}"#), p("2001:db8::1", "2001:db8::1"));
        assert_eq!(dest(r#"{"url.full":"http://user@198.51.100.7/x"}"#), p("198.51.100.7", "198.51.100.7"));
        assert_eq!(dest(r#"{"url.domain":"Rare.Example.","url.full":"http://other.example/"}"#), p("rare.example", "rare.example"));
        assert_eq!(dest(r#"{"destination.ip":"203.0.113.9"}"#), p("203.0.113.9", "203.0.113.9"));
        assert_eq!(dest(r#"{"url.full":"http:///"}"#), None);
        assert_eq!(dest(r#"{"url.full":"http://3232235777/"}"#), p("192.168.1.1", "192.168.1.1"));
        assert_eq!(dest(r#"{"url.domain":"","url.full":"http://b.example/"}"#), p("b.example", "b.example"));
        assert_eq!(dest(r#"{"url.domain":"bad host","destination.ip":"192.0.2.1"}"#), p("192.0.2.1", "192.0.2.1"));
    }

    #[test]
    fn allowlists_cover_subdomains_and_blocks() {
        let mut a = DestinationAllow::default();
        a.domains.insert("windowsupdate.com".into());
        a.nets.insert(crate::netlist::NetSpec::parse("198.51.100.0/24").unwrap(), ());
        let d = |h: &str| WebDestination::from_host(h).unwrap();
        assert!(d("dl.delivery.windowsupdate.com").is_allowed(&a));
        assert!(!d("windowsupdate.com.evil.example").is_allowed(&a));
        assert!(d("198.51.100.7").is_allowed(&a));
        assert!(!d("198.51.101.7").is_allowed(&a));
    }
}
