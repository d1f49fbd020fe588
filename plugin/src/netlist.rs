//! Lists of IP addresses, CIDR blocks and `IP:port` pairs, matched by longest prefix.
//!
//! Used for internal networks, allowlists and C&C indicator lists. CIDRs and bare addresses
//! live in one prefix trie per address family (`prefix-trie`), so a lookup costs O(prefix
//! length) whatever the list size; `IP:port` entries live in a hash map beside it and win over
//! a CIDR when both match. Each entry keeps the text it was written as, for evidence.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

/// One parsed list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetSpec {
    /// An address or a CIDR block (a bare address is a /32 or /128).
    Net(IpNet),
    /// One address and one port.
    Socket(IpAddr, u16),
}

impl NetSpec {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`, `198.51.100.7:8443` or
    /// `[2001:db8::1]:443`.
    pub fn parse(s: &str) -> Result<NetSpec, String> {
        let t = s.trim();
        if let Ok(net) = t.parse::<IpNet>() {
            return Ok(NetSpec::Net(canonical_net(net)));
        }
        if let Some(ip) = crate::event::parse_ip(t) {
            return Ok(NetSpec::Net(IpNet::from(ip)));
        }
        if let Ok(sa) = t.parse::<SocketAddr>() {
            return Ok(NetSpec::Socket(sa.ip().to_canonical(), sa.port()));
        }
        Err(format!(
            "expected an IP address, a CIDR block or IP:port (e.g. \"198.51.100.0/24\", \"198.51.100.7:8443\"), found {t:?}"
        ))
    }
}

/// Truncates host bits and maps IPv4-mapped IPv6 blocks to IPv4.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) => {
            if let (Some(v4), true) = (v6.addr().to_ipv4_mapped(), v6.prefix_len() >= 96) {
                if let Ok(n) = Ipv4Net::new(v4, v6.prefix_len() - 96) {
                    return IpNet::V4(n.trunc());
                }
            }
            IpNet::V6(v6.trunc())
        }
        IpNet::V4(v4) => IpNet::V4(v4.trunc()),
    }
}

/// A matcher over list entries carrying a value `T` each (the entry's label, list name, …).
#[derive(Clone, Debug)]
pub struct NetMatcher<T> {
    v4: PrefixMap<Ipv4Net, u32>,
    v6: PrefixMap<Ipv6Net, u32>,
    sockets: HashMap<(IpAddr, u16), u32>,
    entries: Vec<(NetSpec, T)>,
}

impl<T> Default for NetMatcher<T> {
    fn default() -> Self {
        NetMatcher { v4: PrefixMap::new(), v6: PrefixMap::new(), sockets: HashMap::new(), entries: Vec::new() }
    }
}

impl<T> NetMatcher<T> {
    /// An empty matcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry. A duplicate entry replaces the earlier one's value.
    pub fn insert(&mut self, spec: NetSpec, value: T) {
        let idx = self.entries.len() as u32;
        match &spec {
            NetSpec::Net(IpNet::V4(n)) => {
                self.v4.insert(*n, idx);
            }
            NetSpec::Net(IpNet::V6(n)) => {
                self.v6.insert(*n, idx);
            }
            NetSpec::Socket(ip, port) => {
                self.sockets.insert((*ip, *port), idx);
            }
        }
        self.entries.push((spec, value));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most specific entry matching `ip` (and `port`, for `IP:port` entries).
    pub fn lookup(&self, ip: IpAddr, port: Option<u16>) -> Option<(&NetSpec, &T)> {
        if let Some(port) = port {
            if !self.sockets.is_empty() {
                if let Some(&i) = self.sockets.get(&(ip, port)) {
                    let (s, v) = &self.entries[i as usize];
                    return Some((s, v));
                }
            }
        }
        let idx = match ip {
            IpAddr::V4(a) => self.v4.get_lpm(&Ipv4Net::from(a)).map(|(_, i)| *i),
            IpAddr::V6(a) => self.v6.get_lpm(&Ipv6Net::from(a)).map(|(_, i)| *i),
        }?;
        let (s, v) = &self.entries[idx as usize];
        Some((s, v))
    }

    /// Whether any entry matches.
    pub fn contains(&self, ip: IpAddr, port: Option<u16>) -> bool {
        self.lookup(ip, port).is_some()
    }
}

impl std::fmt::Display for NetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetSpec::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr()),
            NetSpec::Net(n) => write!(f, "{n}"),
            NetSpec::Socket(ip, port) => write!(f, "{}", SocketAddr::new(*ip, *port)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(entries: &[&str]) -> NetMatcher<usize> {
        let mut m = NetMatcher::new();
        for (i, e) in entries.iter().enumerate() {
            m.insert(NetSpec::parse(e).unwrap(), i);
        }
        m
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let m = m(&["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3"]);
        assert_eq!(m.lookup(ip("10.9.9.9"), None).map(|x| *x.1), Some(0));
        assert_eq!(m.lookup(ip("10.1.9.9"), None).map(|x| *x.1), Some(1));
        assert_eq!(m.lookup(ip("10.1.2.3"), None).map(|x| *x.1), Some(2));
        assert!(m.lookup(ip("11.0.0.1"), None).is_none());
    }

    #[test]
    fn ip_port_entries_need_the_port() {
        let m = m(&["198.51.100.7:8443", "[2001:db8::1]:443"]);
        assert!(m.contains(ip("198.51.100.7"), Some(8443)));
        assert!(!m.contains(ip("198.51.100.7"), Some(443)));
        assert!(!m.contains(ip("198.51.100.7"), None));
        assert!(m.contains(ip("2001:db8::1"), Some(443)));
    }

    #[test]
    fn ipv6_and_mapped_blocks() {
        let m = m(&["2001:db8:bad::/48", "::ffff:192.0.2.0/120"]);
        assert!(m.contains(ip("2001:db8:bad::17"), None));
        assert!(!m.contains(ip("2001:db8:bae::17"), None));
        assert!(m.contains(ip("192.0.2.77"), None));
    }

    #[test]
    fn host_bits_are_truncated_and_bad_entries_explained() {
        assert_eq!(NetSpec::parse("10.1.2.3/8").unwrap(), NetSpec::Net("10.0.0.0/8".parse().unwrap()));
        let e = NetSpec::parse("10.0.0/8").unwrap_err();
        assert!(e.contains("\"10.0.0/8\""), "{e}");
        assert!(NetSpec::parse("300.1.1.1").is_err());
    }

    #[test]
    fn many_entries() {
        let mut m = NetMatcher::new();
        for i in 0..50_000u32 {
            let a = std::net::Ipv4Addr::from(0x0A00_0000 + i * 4);
            m.insert(NetSpec::Net(IpNet::V4(Ipv4Net::new(a, 30).unwrap())), i);
        }
        assert_eq!(m.lookup(ip("10.0.0.9"), None).map(|x| *x.1), Some(2));
        assert_eq!(m.len(), 50_000);
    }
}
