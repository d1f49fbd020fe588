//! What every rule may read of the config besides its own settings: the internal networks,
//! the state limits, the calendar and what a rare web destination is. Compiled by
//! [`crate::config`], handed to each rule's compile step and, per event, in the rule context.

use crate::calendar::Calendar;
use crate::netlist::{NetMatcher, NetSpec};
use crate::values::{ConfigError, err};

use crate::webhost::normalise_domain;

/// The parts of the config the rules share.
#[derive(Clone, Debug)]
pub struct Shared {
    /// Networks whose hosts are ours (default RFC 1918, 100.64/10, fc00::/7, fe80::/10).
    pub internal: NetMatcher<()>,
    /// State limits.
    pub state: StateLimits,
    /// Business days and hours, time zone.
    pub calendar: Calendar,
    /// What a rare destination is.
    pub rare_destinations: RareDestinations,
}

impl Shared {
    /// Whether `ip` is one of ours.
    pub fn is_internal(&self, ip: std::net::IpAddr) -> bool {
        self.internal.contains(ip, None)
    }

    /// Whether `ip` is a host outside our networks that one can connect to: not ours, and not
    /// multicast, broadcast, loopback, link-local or unspecified (SSDP's 239.255.255.250 is
    /// no controller).
    pub fn is_external(&self, ip: std::net::IpAddr) -> bool {
        let special = match ip {
            std::net::IpAddr::V4(v) => v.is_multicast() || v.is_broadcast() || v.is_loopback() || v.is_link_local() || v.is_unspecified(),
            std::net::IpAddr::V6(v) => v.is_multicast() || v.is_loopback() || v.is_unspecified() || v.is_unicast_link_local(),
        };
        !special && !self.is_internal(ip)
    }
}

/// State limits.
#[derive(Clone, Debug)]
pub struct StateLimits {
    /// Hosts tracked at most; the least recently seen is evicted beyond.
    pub max_hosts: usize,
    /// Keys (window entries, dedup keys) per host and rule at most.
    pub max_keys_per_host: usize,
    /// Web destinations whose distinct hosts are counted, at most.
    pub max_destinations: usize,
    /// Message ids remembered so that a message alerts once per rule, at most.
    pub max_messages: usize,
}

/// Largest `state.max_hosts`, `max_destinations` and `max_messages`.
pub const MAX_TABLE_ENTRIES: u32 = 1 << 24;

/// Largest `state.max_keys_per_host`.
pub const MAX_KEYS_PER_HOST: u32 = 1 << 16;

/// The module's address space (wasm32): state that cannot fit in it is refused.
pub const ADDRESS_SPACE_BYTES: u64 = 4 << 30;

/// What the state can grow to under a config, in bytes (estimates from measured costs: a
/// tracked host with a little state of each rule about 330 B; a counted destination about
/// 130 B plus 8 B per host it remembers; a remembered message about 120 B; one more key of one
/// host in every keyed collection — deny window, dedup log, learned-list windows, beacon
/// track, off-hours period — about 350 B; a host's risk ledger at its caps about 3 KB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Every table full (hosts, destinations, messages), each host with a little state.
    pub tables_full: u64,
    /// Besides, every host at `max_keys_per_host` in every rule: the ceiling, far above what
    /// real traffic reaches, since windows and dedup periods expire keys.
    pub every_key_full: u64,
}

impl StateLimits {
    /// The memory the state can take under these limits, with destinations remembering
    /// `keep_per_destination` hosts each.
    pub fn memory_estimate(&self, keep_per_destination: u64) -> MemoryEstimate {
        const HOST: u64 = 330;
        const DESTINATION: u64 = 130;
        const MESSAGE: u64 = 120;
        const KEY: u64 = 350;
        let tables_full = self.max_hosts as u64 * HOST
            + self.max_destinations as u64 * (DESTINATION + 8 * keep_per_destination)
            + self.max_messages as u64 * MESSAGE;
        // A host's risk ledger at its caps: every rule with its newest alerts.
        const LEDGER: u64 = (crate::state::risk::RULES_PER_HOST * (crate::state::risk::ALERTS_PER_RULE * 16 + 56)) as u64;
        let every_key_full = tables_full + self.max_hosts as u64 * (self.max_keys_per_host as u64 * KEY + LEDGER);
        MemoryEstimate { tables_full, every_key_full }
    }
}

/// Web destinations an operator vouches for: domains (with their subdomains) and address
/// blocks.
#[derive(Clone, Debug, Default)]
pub struct DestinationAllow {
    /// Normalised domains.
    pub domains: std::collections::HashSet<String>,
    /// Addresses and blocks.
    pub nets: NetMatcher<()>,
}

impl DestinationAllow {
    /// Compiles the entries at JSON path `path`.
    pub fn compile(entries: Vec<String>, path: &str) -> Result<Self, ConfigError> {
        let mut a = DestinationAllow::default();
        for (i, e) in entries.into_iter().enumerate() {
            if let Ok(n) = NetSpec::parse(&e) {
                a.nets.insert(n, ());
            } else if let Some(d) = normalise_domain(&e) {
                a.domains.insert(d);
            } else {
                return Err(err(format!("{path}[{i}]"), format!("expected a domain name, an IP address or a CIDR block, found {e:?}")));
            }
        }
        Ok(a)
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty() && self.nets.is_empty()
    }
}

/// Largest `rare_destinations.max_hosts`: each destination keeps one more host than that
/// (to know it is no longer rare), and a destination's hosts are scanned on every request.
pub const MAX_RARE_HOSTS: u32 = 64;

/// `rare_destinations`, compiled: what "rare" means for the proxy rules.
#[derive(Clone, Debug)]
pub struct RareDestinations {
    /// A destination reached by at most this many hosts is rare.
    pub max_hosts: u32,
    /// ...within this tracking period before the request, ms.
    pub period_ms: i64,
    /// Destinations never treated as rare (business services).
    pub allow: DestinationAllow,
}

/// A set of ports as the config lists them (`watched_ports`, `business_ports`,
/// `allowed_ports`: port numbers or strings of digits): kept sorted and without repeats,
/// shown as the sorted list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct PortSet(Vec<u16>);

impl PortSet {
    /// The set of `ports`.
    pub fn of(ports: &[u16]) -> Self {
        let mut v = ports.to_vec();
        v.sort_unstable();
        v.dedup();
        PortSet(v)
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.0.binary_search(&port).is_ok()
    }

    /// The ports, ascending.
    pub fn as_slice(&self) -> &[u16] {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for PortSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ports = Vec::<crate::values::Port>::deserialize(d)?;
        Ok(PortSet::of(&ports.iter().map(|p| p.0).collect::<Vec<_>>()))
    }
}

impl schemars::JsonSchema for PortSet {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Vec::<crate::values::Port>::schema_name()
    }
    fn inline_schema() -> bool {
        Vec::<crate::values::Port>::inline_schema()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Vec::<crate::values::Port>::json_schema(generator)
    }
}
