//! Event normalisation: the fields a rule reads, typed on demand, and the source of the event.
//!
//! [`Event::parse`] scans a line once ([`scan`]); the typed accessors ([`Event::source_ip`],
//! [`Event::destination_port`], [`Event::timestamp_ms`], …) turn the raw JSON values into
//! what rules need and say which field was wrong when they cannot. Ports and numbers may be
//! JSON numbers or strings; keyword fields are compared case-insensitively.

pub mod framing;
pub mod scan;
pub mod time;

use std::borrow::Cow;
use std::net::IpAddr;

pub use scan::Field;

/// A raw JSON value of a known field, borrowed from the input where possible.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// A number with a fraction or exponent.
    F64(f64),
    /// A number no machine type holds (`18446744073709551616`, `1e400`), as written.
    Num(Cow<'a, str>),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array (keyword arrays are folded into flags while scanning).
    Array,
    /// An object where a value was expected.
    Object,
}

impl Scalar<'_> {
    fn describe(&self) -> String {
        match self {
            Scalar::Str(s) => format!("{:?}", truncate(s, 64)),
            Scalar::U64(v) => v.to_string(),
            Scalar::I64(v) => v.to_string(),
            Scalar::F64(v) => v.to_string(),
            Scalar::Num(s) => truncate(s, 64).to_string(),
            Scalar::Bool(v) => v.to_string(),
            Scalar::Null => "null".into(),
            Scalar::Array => "an array".into(),
            Scalar::Object => "an object".into(),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Bits collected while scanning: keyword meanings and presence of field groups.
pub mod flags {
    /// `event.action` / `event.type` says the connection was denied.
    pub const DENIED: u32 = 1 << 0;
    /// `event.category` contains `network`.
    pub const CAT_NETWORK: u32 = 1 << 1;
    /// `event.category` contains `web`.
    pub const CAT_WEB: u32 = 1 << 2;
    /// `event.category` contains `email`.
    pub const CAT_EMAIL: u32 = 1 << 3;
    /// `observer.type` names a firewall.
    pub const OBS_FIREWALL: u32 = 1 << 4;
    /// `observer.type` names a proxy.
    pub const OBS_PROXY: u32 = 1 << 5;
    /// `observer.type` names a mail server.
    pub const OBS_MAIL: u32 = 1 << 6;
    /// `event.dataset` names a firewall log.
    pub const DS_FIREWALL: u32 = 1 << 7;
    /// `event.dataset` names a proxy log.
    pub const DS_PROXY: u32 = 1 << 8;
    /// `event.dataset` names a mail log.
    pub const DS_MAIL: u32 = 1 << 9;
    /// `network.direction` is inbound / ingress.
    pub const DIR_INBOUND: u32 = 1 << 10;
    /// `url.*`, `http.*` or `user_agent.*` fields are present.
    pub const HAS_WEB_FIELDS: u32 = 1 << 11;
    /// `email.*` fields are present.
    pub const HAS_EMAIL_FIELDS: u32 = 1 << 12;
    /// A top-level key `threat`, `malhost` or `error` (nested or dotted) is present, so the
    /// enrichment must be merged rather than appended.
    pub const RESERVED_KEYS: u32 = 1 << 13;
    /// `event.kind` is `alert` (another tool's alert, or a line claiming to be ours).
    pub const KIND_ALERT: u32 = 1 << 14;
    /// `event.outcome` is `failure`.
    pub const OUTCOME_FAILURE: u32 = 1 << 15;
    /// `event.dataset` is `malhost.alert`, the dataset of the alerts malhost writes.
    pub const DS_MALHOST_ALERT: u32 = 1 << 16;
    /// `event.module` is `malhost`.
    pub const MODULE_MALHOST: u32 = 1 << 17;
}

/// Where an event comes from, which decides the rule families that look at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Firewall / netflow connection logs.
    Firewall,
    /// Web proxy logs.
    Proxy,
    /// Mail server logs.
    Mail,
    /// Anything else: passed through untouched.
    Other,
}

/// Transport protocol of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Transport {
    /// TCP (IANA 6).
    Tcp,
    /// UDP (IANA 17).
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Any other protocol, by IANA number when known.
    Other(u8),
}

impl Transport {
    /// Lower-case name used in keys such as `tcp/445`.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            Transport::Tcp => "tcp".into(),
            Transport::Udp => "udp".into(),
            Transport::Icmp => "icmp".into(),
            Transport::Other(n) => format!("ip{n}").into(),
        }
    }
}

/// A field that is present but cannot be used, or is missing where a rule needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// ECS name of the field.
    pub field: &'static str,
    /// What is wrong, e.g. `not an IP address: "10.0.0"`.
    pub problem: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Strings kept per event for multi-valued fields, at most.
pub const MAX_TEXTS: usize = 256;

/// The scanned view of one JSON event.
#[derive(Debug)]
pub struct Event<'a> {
    pub(crate) slots: [Option<Scalar<'a>>; Field::COUNT],
    /// Every string of the multi-valued fields ([`Field::is_multi`]), in input order.
    pub(crate) texts: Vec<(Field, Cow<'a, str>)>,
    pub(crate) flags: u32,
    pub(crate) top_level_keys: u32,
    /// The host's clock and `limits.max_future`, ms, when the host gave a clock.
    pub(crate) clock: Option<(i64, i64)>,
    /// Known fields are read from their raw text ([`scan::scan_raw`]).
    pub(crate) raw_fields: bool,
    /// A known field came as a float: scan again from the raw text.
    pub(crate) rescan: bool,
}

impl Default for Event<'_> {
    fn default() -> Self {
        Event {
            slots: std::array::from_fn(|_| None),
            texts: Vec::new(),
            flags: 0,
            top_level_keys: 0,
            clock: None,
            raw_fields: false,
            rescan: false,
        }
    }
}

impl<'a> Event<'a> {
    /// Scans a line. Fails, with a sentence saying why, unless it is exactly one JSON object
    /// in valid UTF-8.
    pub fn parse(line: &'a [u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(line).map_err(|e| {
            format!("invalid UTF-8 at byte {} (JSON text must be UTF-8)", e.valid_up_to())
        })?;
        let mut ev = Event::default();
        match scan::scan(text, &mut ev) {
            Ok(()) if !ev.rescan => return Ok(ev),
            Err(e) if !scan::raw_scan_helps(&e) => return Err(format!("not a JSON object: {e}")),
            _ => {}
        }
        scan::scan_raw(text, &mut ev).map_err(|e| format!("not a JSON object: {e}"))?;
        Ok(ev)
    }

    /// The raw value of a field, if present.
    pub fn get(&self, field: Field) -> Option<&Scalar<'a>> {
        self.slots[field as usize].as_ref()
    }

    /// The field as a string, if it is one.
    pub fn str(&self, field: Field) -> Option<&str> {
        match self.get(field) {
            Some(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Every string value of a multi-valued field (attachment names, Content-Type values,
    /// From addresses), in input order; at most [`MAX_TEXTS`] per event.
    pub fn texts(&self, field: Field) -> impl Iterator<Item = &str> {
        self.texts.iter().filter(move |(f, _)| *f == field).map(|(_, s)| s.as_ref())
    }

    pub(crate) fn push_text(&mut self, field: Field, s: Cow<'a, str>) {
        if self.texts.len() < MAX_TEXTS {
            self.texts.push((field, s));
        }
    }

    /// Flags collected while scanning (see [`flags`]).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether the object had no keys at all (`{}`).
    pub fn is_empty_object(&self) -> bool {
        self.top_level_keys == 0
    }

    /// Whether `threat`, `malhost` or `error` already exist at the top level.
    pub fn has_reserved_keys(&self) -> bool {
        self.flags & flags::RESERVED_KEYS != 0
    }

    /// Whether the connection was denied: `event.action` / `event.type` has a deny word
    /// ([`is_deny_word`]), or a firewall connection event has `event.outcome: failure`.
    pub fn is_denied(&self) -> bool {
        self.flags & flags::DENIED != 0
            || (self.flags & flags::OUTCOME_FAILURE != 0 && self.source_kind() == SourceKind::Firewall)
    }

    /// Whether the line claims to be an alert written by malhost (`event.dataset`
    /// `malhost.alert`, or `event.module` `malhost` with `event.kind` `alert`). malhost's own
    /// alerts only come out of the detector: such an input line is a copy or a forgery.
    pub fn claims_malhost_alert(&self) -> bool {
        let f = self.flags;
        f & flags::DS_MALHOST_ALERT != 0 || (f & flags::MODULE_MALHOST != 0 && f & flags::KIND_ALERT != 0)
    }

    /// Records what a keyword value means, for fields whose meaning is a keyword.
    pub(crate) fn fold_keyword(&mut self, field: Field, s: &str) {
        let b = s.as_bytes();
        let padded = b.first().is_some_and(u8::is_ascii_whitespace) || b.last().is_some_and(u8::is_ascii_whitespace);
        let s = if padded { s.trim() } else { s };
        let bit = match field {
            Field::EventAction | Field::EventType if is_deny_word(s) => flags::DENIED,
            Field::EventCategory => {
                if s.eq_ignore_ascii_case("network") {
                    flags::CAT_NETWORK
                } else if s.eq_ignore_ascii_case("web") {
                    flags::CAT_WEB
                } else if s.eq_ignore_ascii_case("email") {
                    flags::CAT_EMAIL
                } else {
                    0
                }
            }
            Field::EventKind if s.eq_ignore_ascii_case("alert") => flags::KIND_ALERT,
            Field::EventOutcome if s.eq_ignore_ascii_case("failure") => flags::OUTCOME_FAILURE,
            Field::EventModule if s.eq_ignore_ascii_case("malhost") => flags::MODULE_MALHOST,
            Field::ObserverType => named_source_flag(s, OBSERVER_SOURCE_FLAGS),
            Field::EventDataset if s.eq_ignore_ascii_case("malhost.alert") => flags::DS_MALHOST_ALERT,
            Field::EventDataset => named_source_flag(s, DATASET_SOURCE_FLAGS),
            Field::NetworkDirection if s.eq_ignore_ascii_case("inbound") || s.eq_ignore_ascii_case("ingress") => flags::DIR_INBOUND,
            _ => 0,
        };
        self.flags |= bit;
    }

    /// Which log source this event comes from. Explicit metadata wins (`observer.type`, then
    /// `event.dataset`, then `event.category`); otherwise the fields present decide. Another
    /// tool's alert (`event.kind: alert`, `event.category: intrusion_detection`) is classified
    /// like any event, so that it cannot switch detection off; only a line claiming to be
    /// malhost's own alert ([`Event::claims_malhost_alert`]) is never detected.
    pub fn source_kind(&self) -> SourceKind {
        let f = self.flags;
        if self.claims_malhost_alert() {
            return SourceKind::Other;
        }
        for table in [OBSERVER_SOURCE_FLAGS, DATASET_SOURCE_FLAGS] {
            if let Some((kind, _)) = NAMED_SOURCES.into_iter().zip(table).find(|&(_, bit)| f & bit != 0) {
                return kind;
            }
        }
        if f & flags::CAT_EMAIL != 0 || f & flags::HAS_EMAIL_FIELDS != 0 {
            return SourceKind::Mail;
        }
        if f & flags::CAT_WEB != 0 || f & flags::HAS_WEB_FIELDS != 0 {
            return SourceKind::Proxy;
        }
        if f & flags::CAT_NETWORK != 0 || self.get(Field::DestinationIp).is_some() {
            return SourceKind::Firewall;
        }
        SourceKind::Other
    }

    /// An IP address field. `Ok(None)` when absent.
    pub fn ip(&self, field: Field) -> Result<Option<IpAddr>, FieldError> {
        match self.get(field) {
            None | Some(Scalar::Null) => Ok(None),
            Some(Scalar::Str(s)) => parse_ip(s).map(Some).ok_or_else(|| FieldError {
                field: field.name(),
                problem: format!("not an IP address: {:?}", truncate(s, 64)),
            }),
            Some(other) => Err(FieldError {
                field: field.name(),
                problem: format!("expected an IP address string, found {}", other.describe()),
            }),
        }
    }

    /// `source.ip`.
    pub fn source_ip(&self) -> Result<Option<IpAddr>, FieldError> {
        self.ip(Field::SourceIp)
    }

    /// `destination.ip`.
    pub fn destination_ip(&self) -> Result<Option<IpAddr>, FieldError> {
        self.ip(Field::DestinationIp)
    }

    /// A port field, as a number or a numeric string.
    pub fn port(&self, field: Field) -> Result<Option<u16>, FieldError> {
        let bad = |v: &Scalar| FieldError {
            field: field.name(),
            problem: format!("not a port number (0-65535): {}", v.describe()),
        };
        match self.get(field) {
            None | Some(Scalar::Null) => Ok(None),
            Some(v @ Scalar::U64(n)) => u16::try_from(*n).map(Some).map_err(|_| bad(v)),
            Some(v @ Scalar::Str(s)) => {
                let t = s.trim();
                if t.is_empty() { Ok(None) } else { t.parse::<u16>().map(Some).map_err(|_| bad(v)) }
            }
            Some(v @ Scalar::F64(x)) if x.fract() == 0.0 && (0.0..=65535.0).contains(x) => {
                let _ = v;
                Ok(Some(*x as u16))
            }
            Some(v) => Err(bad(v)),
        }
    }

    /// A byte count (`http.request.bytes`, `source.bytes`), as a number or numeric string.
    pub fn byte_count(&self, field: Field) -> Result<Option<u64>, FieldError> {
        let bad = |v: &Scalar| FieldError { field: field.name(), problem: format!("not a byte count: {}", v.describe()) };
        match self.get(field) {
            None | Some(Scalar::Null) => Ok(None),
            Some(Scalar::U64(n)) => Ok(Some(*n)),
            Some(v @ Scalar::Str(s)) => {
                let t = s.trim();
                if t.is_empty() { Ok(None) } else { t.parse::<u64>().map(Some).map_err(|_| bad(v)) }
            }
            Some(Scalar::F64(x)) if x.fract() == 0.0 && *x >= 0.0 && *x < 1.8e19 => Ok(Some(*x as u64)),
            Some(v) => Err(bad(v)),
        }
    }

    /// `destination.port`.
    pub fn destination_port(&self) -> Result<Option<u16>, FieldError> {
        self.port(Field::DestinationPort)
    }

    /// `network.transport`, else `network.iana_number`. `Ok(None)` when neither is present.
    pub fn transport(&self) -> Result<Option<Transport>, FieldError> {
        if let Some(s) = self.str(Field::NetworkTransport) {
            let s = s.trim();
            let t = if s.eq_ignore_ascii_case("tcp") {
                Transport::Tcp
            } else if s.eq_ignore_ascii_case("udp") {
                Transport::Udp
            } else if s.eq_ignore_ascii_case("icmp") || s.eq_ignore_ascii_case("ipv6-icmp") || s.eq_ignore_ascii_case("icmpv6") {
                Transport::Icmp
            } else if let Ok(n) = s.parse::<u8>() {
                Transport::from_iana(n)
            } else {
                Transport::Other(255)
            };
            return Ok(Some(t));
        }
        match self.get(Field::NetworkIanaNumber) {
            None | Some(Scalar::Null) => Ok(None),
            Some(Scalar::U64(n)) if *n <= 255 => Ok(Some(Transport::from_iana(*n as u8))),
            Some(Scalar::Str(s)) if s.trim().parse::<u8>().is_ok() => {
                Ok(Some(Transport::from_iana(s.trim().parse::<u8>().unwrap_or(255))))
            }
            Some(v) => Err(FieldError {
                field: Field::NetworkIanaNumber.name(),
                problem: format!("not an IANA protocol number: {}", v.describe()),
            }),
        }
    }

    /// Bounds the event time by the host's clock: an `@timestamp` more than `max_future_ms`
    /// after `clock_ms` is refused by [`Event::timestamp_ms`], so that one forged future time
    /// cannot move a host's windows ahead of the real stream.
    pub fn set_clock(&mut self, clock_ms: i64, max_future_ms: i64) {
        self.clock = Some((clock_ms, max_future_ms));
    }

    /// `@timestamp` in milliseconds since the Unix epoch. An error when missing, malformed, or
    /// too far ahead of the host's clock ([`Event::set_clock`]).
    pub fn timestamp_ms(&self) -> Result<i64, FieldError> {
        let ts = time::timestamp_ms(self.get(Field::Timestamp)).map_err(|problem| FieldError {
            field: Field::Timestamp.name(),
            problem,
        })?;
        match self.clock {
            Some((clock, max)) if ts > clock.saturating_add(max) => Err(FieldError {
                field: Field::Timestamp.name(),
                problem: format!(
                    "{} is more than {} ahead of the host's clock ({}); not used by the rules over time (limits.max_future)",
                    time::format_ms(ts),
                    humantime::format_duration(std::time::Duration::from_millis(max.max(0) as u64)),
                    time::format_ms(clock)
                ),
            }),
            _ => Ok(ts),
        }
    }
}

impl Transport {
    /// From an IANA protocol number.
    pub fn from_iana(n: u8) -> Self {
        match n {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 | 58 => Transport::Icmp,
            n => Transport::Other(n),
        }
    }
}

/// Whether an action value says the connection was denied (SPEC §3): one of its words (runs
/// of ASCII letters and digits, any case) is deny, denied, drop, dropped, reject, rejected,
/// block or blocked — `Deny (ACL)`, `denied-by-policy`, PAN-OS `drop-icmp` — or it has PAN-OS's
/// `reset-both` / `reset-client` / `reset-server` (a lone `reset` is a connection teardown).
pub fn is_deny_word(s: &str) -> bool {
    const WORDS: [&str; 8] =
        ["deny", "denied", "drop", "dropped", "reject", "rejected", "block", "blocked"];
    let mut after_reset = false;
    for w in s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if WORDS.iter().any(|d| w.eq_ignore_ascii_case(d)) {
            return true;
        }
        if after_reset && ["both", "client", "server"].iter().any(|x| w.eq_ignore_ascii_case(x)) {
            return true;
        }
        after_reset = w.eq_ignore_ascii_case("reset");
    }
    false
}

/// The source kinds a name can give, in the order [`Event::source_kind`] tries their flags;
/// the flag tables below follow it.
const NAMED_SOURCES: [SourceKind; 3] = [SourceKind::Firewall, SourceKind::Proxy, SourceKind::Mail];

/// The flag `observer.type` sets for each of [`NAMED_SOURCES`].
const OBSERVER_SOURCE_FLAGS: [u32; 3] = [flags::OBS_FIREWALL, flags::OBS_PROXY, flags::OBS_MAIL];

/// The flag `event.dataset` sets for each of [`NAMED_SOURCES`].
const DATASET_SOURCE_FLAGS: [u32; 3] = [flags::DS_FIREWALL, flags::DS_PROXY, flags::DS_MAIL];

/// The flag of `table` for the source kind that [`classify_name`] gives `s`; 0 for none.
fn named_source_flag(s: &str, table: [u32; 3]) -> u32 {
    let kind = classify_name(s);
    NAMED_SOURCES.into_iter().zip(table).find(|&(k, _)| k == kind).map_or(0, |(_, bit)| bit)
}

/// Classifies an `observer.type` or `event.dataset` value by the words it contains.
fn classify_name(s: &str) -> SourceKind {
    match s {
        "firewall" => return SourceKind::Firewall,
        "proxy" => return SourceKind::Proxy,
        "mail" => return SourceKind::Mail,
        _ => {}
    }
    let mut buf = [0u8; 48];
    let n = s.len().min(buf.len());
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    buf[..n].make_ascii_lowercase();
    let l = &buf[..n];
    let has = |w: &[u8]| l.windows(w.len()).any(|x| x == w);
    if has(b"firewall") || has(b"iptables") || has(b"netfilter") || has(b"asa") || has(b"panos") || has(b"fortigate") || l == b"fw" || has(b"conn") || has(b"flow") {
        SourceKind::Firewall
    } else if has(b"proxy") || has(b"squid") || has(b"bluecoat") || has(b"zscaler") || has(b"http") || has(b"web") {
        SourceKind::Proxy
    } else if has(b"mail") || has(b"smtp") || has(b"mta") || has(b"postfix") || has(b"exchange") {
        SourceKind::Mail
    } else {
        SourceKind::Other
    }
}

/// Parses an IP address, accepting an IPv6 zone (`fe80::1%eth0`) and mapping IPv4-mapped IPv6
/// (`::ffff:10.0.0.1`) to IPv4 so that lists written either way match.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s.split('%').next().unwrap_or(s);
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_dotted_and_mixed_fields_are_found() {
        let line = br#"{"@timestamp":"2024-05-01T10:00:00Z","source":{"ip":"10.0.0.5"},"destination.ip":"203.0.113.9","destination":{"port":"445"},"network":{"transport":"TCP"},"event":{"action":"Denied"}}"#;
        let ev = Event::parse(line).unwrap();
        assert_eq!(ev.source_ip().unwrap(), Some("10.0.0.5".parse().unwrap()));
        assert_eq!(ev.destination_ip().unwrap(), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(ev.destination_port().unwrap(), Some(445));
        assert_eq!(ev.transport().unwrap(), Some(Transport::Tcp));
        assert!(ev.is_denied());
        assert_eq!(ev.source_kind(), SourceKind::Firewall);
        assert_eq!(ev.timestamp_ms().unwrap(), 1_714_557_600_000);
    }

    #[test]
    fn partially_dotted_keys_inside_objects() {
        let ev = Event::parse(br#"{"http":{"request.method":"CONNECT"},"event.type":["connection","denied"]}"#).unwrap();
        assert_eq!(ev.str(Field::HttpRequestMethod), Some("CONNECT"));
        assert!(ev.is_denied());
        assert_eq!(ev.source_kind(), SourceKind::Proxy);
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let ev = Event::parse(br#"{"source.ip":"10.0.0.1","url.full":"http://x\/y"}"#).unwrap();
        assert!(matches!(ev.get(Field::SourceIp), Some(Scalar::Str(Cow::Borrowed(_)))));
        assert_eq!(ev.str(Field::UrlFull), Some("http://x/y"));
    }

    #[test]
    fn non_objects_and_trailing_garbage_are_errors() {
        for bad in [&b"[1,2]"[..], b"42", b"\"x\"", b"{\"a\":1} x", b"{\"a\":", b"", b"null", b"{\"a\":\"\xff\"}"] {
            assert!(Event::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursion() {
        // Values no rule reads are skipped iteratively by serde_json, so depth costs nothing;
        // a deeply nested value under a field we read is skipped the same way.
        let mut s = String::from("{\"a\":");
        s.push_str(&"[".repeat(10_000));
        s.push_str(&"]".repeat(10_000));
        s.push_str(",\"source.ip\":\"10.0.0.1\"}");
        let ev = Event::parse(s.as_bytes()).unwrap();
        assert_eq!(ev.source_ip().unwrap(), Some("10.0.0.1".parse().unwrap()));
        let mut s = String::from("{\"source\":{\"ip\":");
        s.push_str(&"{\"x\":".repeat(10_000));
        s.push('1');
        s.push_str(&"}".repeat(10_002));
        let ev = Event::parse(s.as_bytes()).unwrap();
        assert!(ev.source_ip().is_err(), "an object where an IP belongs");
        // Unbalanced deep nesting is a syntax error.
        let s = format!("{{\"a\":{}", "[".repeat(10_000));
        assert!(Event::parse(s.as_bytes()).is_err());
    }

    #[test]
    fn bad_values_name_their_field() {
        let ev = Event::parse(br#"{"source.ip":"10.0.0","destination.port":70000,"@timestamp":"yesterday"}"#).unwrap();
        assert_eq!(ev.source_ip().unwrap_err().to_string(), "source.ip: not an IP address: \"10.0.0\"");
        assert_eq!(ev.destination_port().unwrap_err().field, "destination.port");
        assert_eq!(ev.timestamp_ms().unwrap_err().field, "@timestamp");
    }

    #[test]
    fn classification_prefers_metadata() {
        let ev = Event::parse(br#"{"observer.type":"proxy","destination.ip":"1.2.3.4"}"#).unwrap();
        assert_eq!(ev.source_kind(), SourceKind::Proxy);
        let ev = Event::parse(br#"{"event.dataset":"cisco.asa","url.full":"http://a/"}"#).unwrap();
        assert_eq!(ev.source_kind(), SourceKind::Firewall);
        let ev = Event::parse(br#"{"message":"hello"}"#).unwrap();
        assert_eq!(ev.source_kind(), SourceKind::Other);
        // Another tool's alert is classified by its fields like any event; a line claiming to
        // be malhost's own alert is never detected.
        let ev = Event::parse(br#"{"event":{"kind":"alert"},"destination.ip":"1.2.3.4"}"#).unwrap();
        assert_eq!(ev.source_kind(), SourceKind::Firewall);
        let ev = Event::parse(br#"{"event":{"kind":"alert","category":["intrusion_detection","network"]},"url.full":"http://x.example/"}"#).unwrap();
        assert_eq!(ev.source_kind(), SourceKind::Proxy);
        for claim in [r#"{"event":{"dataset":"malhost.alert"},"destination.ip":"1.2.3.4"}"#,
                      r#"{"event.module":"MALHOST","event.kind":"alert","destination.ip":"1.2.3.4"}"#] {
            let ev = Event::parse(claim.as_bytes()).unwrap();
            assert!(ev.claims_malhost_alert(), "{claim}");
            assert_eq!(ev.source_kind(), SourceKind::Other, "{claim}");
        }
        let ev = Event::parse(br#"{"event":{"module":"malhost"},"destination.ip":"1.2.3.4"}"#).unwrap();
        assert!(!ev.claims_malhost_alert());
    }

    #[test]
    fn ipv4_mapped_ipv6_is_canonical() {
        assert_eq!(parse_ip("::ffff:10.1.2.3"), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(parse_ip("fe80::1%eth0"), Some("fe80::1".parse().unwrap()));
    }

    #[test]
    fn deny_vocabulary_is_word_based() {
        for yes in ["deny", "Deny (ACL)", "DENIED", "denied-by-policy", "drop", "drop-icmp", "reset-both", "reset-client",
            "Reset-Server", "blocked", "policy_reject", "block all"] {
            assert!(is_deny_word(yes), "{yes}");
        }
        for no in ["allow", "accept", "reset", "client-rst", "dropbox", "undenied", "", "permitted", "reset-done"] {
            assert!(!is_deny_word(no), "{no}");
        }
        let ev = Event::parse(br#"{"event":{"category":["network"],"outcome":"failure"},"destination.ip":"1.2.3.4"}"#).unwrap();
        assert!(ev.is_denied(), "failed firewall connection");
        let ev = Event::parse(br#"{"event":{"outcome":"failure"},"url.full":"http://x.example/"}"#).unwrap();
        assert!(!ev.is_denied(), "a failed proxy request is not a firewall deny");
        let ev = Event::parse(br#"{"event":{"action":"Deny (ACL)"},"destination.ip":"1.2.3.4"}"#).unwrap();
        assert!(ev.is_denied());
    }
}
