//! The value types a config document is written in, shared by every part of the config (the
//! document itself and each rule's settings): positive integers, durations, ports, address
//! entries, severities, and the error that names the JSON path of a bad value. Each type also
//! says how the config schema writes it (`JsonSchema`) and how a default is shown there
//! (`Serialize`).

use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::netlist::NetSpec;

/// A configuration that failed to load, with the JSON path of the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted JSON path (`rules.fw_c2_ip.lists[0].entries[3]`), or `(root)`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A [`ConfigError`] at `path`.
pub fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { path: path.into(), message: message.into() }
}

/// One JSON scalar, as a [`FromScalar`] type is given it.
#[derive(Clone, Copy)]
pub(crate) enum Scalar<'a> {
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Signed(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A string.
    Text(&'a str),
}

/// A config value read from one JSON scalar (through [`ScalarVisitor`]): what it expects,
/// for error messages, and how it reads each kind of scalar it takes. A kind it does not take
/// (`read` gives `None`) is refused as serde refuses it ("invalid type: …, expected …").
pub(crate) trait FromScalar: Sized {
    /// What a value is, as serde's errors say after "expected".
    const EXPECTING: &'static str;
    /// Whether only a JSON string is read (`deserialize_str`) rather than any value.
    const TEXT_ONLY: bool = false;
    /// Reads `v`, or `None` when this type takes no scalar of its kind.
    fn read<E: de::Error>(v: Scalar) -> Option<Result<Self, E>>;
}

/// The serde visitor of a [`FromScalar`] type.
pub(crate) struct ScalarVisitor<T>(PhantomData<T>);

impl<T: FromScalar> ScalarVisitor<T> {
    /// Reads `T` from `d` (the body of `T`'s `Deserialize` impl).
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let v = ScalarVisitor(PhantomData);
        if T::TEXT_ONLY { d.deserialize_str(v) } else { d.deserialize_any(v) }
    }

    fn take<E: de::Error>(self, v: Scalar) -> Result<T, E> {
        let unexpected = match v {
            Scalar::Unsigned(n) => Unexpected::Unsigned(n),
            Scalar::Signed(n) => Unexpected::Signed(n),
            Scalar::Float(n) => Unexpected::Float(n),
            Scalar::Text(s) => Unexpected::Str(s),
        };
        T::read(v).unwrap_or_else(|| Err(E::invalid_type(unexpected, &self)))
    }
}

impl<T: FromScalar> Visitor<'_> for ScalarVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.take(Scalar::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.take(Scalar::Signed(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        self.take(Scalar::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        self.take(Scalar::Text(v))
    }
}

/// `impl Deserialize` through [`ScalarVisitor`] for each [`FromScalar`] type named (the
/// orphan rule allows no blanket impl over the trait).
macro_rules! deserialize_from_scalar {
    ($($t:ty),+) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::values::ScalarVisitor::<$t>::deserialize(d)
            }
        }
    )+};
}
pub(crate) use deserialize_from_scalar;

deserialize_from_scalar!(Severity, PositiveInt, Duration, Port);

/// Severity of a finding or alert, mapped to ECS `event.severity` and `event.risk_score`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 1, risk 21.
    Low,
    /// 2, risk 47.
    Medium,
    /// 3, risk 73.
    High,
    /// 4, risk 99.
    Critical,
}

impl Severity {
    /// ECS `event.severity` (1–4).
    pub fn level(self) -> u8 {
        self as u8 + 1
    }
    /// ECS `event.risk_score` (0–100).
    pub fn risk_score(self) -> u8 {
        [21, 47, 73, 99][self as usize]
    }
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
    const NAMES: [&'static str; 4] = ["low", "medium", "high", "critical"];
    const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
}

/// Read from its name only. (serde's derived enum reader also takes `{"low": null}`, and
/// serde_json reports a number or `null` given for an enum as a syntax error, which would
/// make the config loader say the document is not JSON.)
impl FromScalar for Severity {
    const EXPECTING: &'static str = "a severity: \"low\", \"medium\", \"high\" or \"critical\"";
    const TEXT_ONLY: bool = true;
    fn read<E: de::Error>(v: Scalar) -> Option<Result<Severity, E>> {
        let Scalar::Text(v) = v else { return None };
        let i = Severity::NAMES.iter().position(|n| *n == v);
        Some(i.map(|i| Severity::ALL[i]).ok_or_else(|| E::unknown_variant(v, &Severity::NAMES)))
    }
}

/// A strictly positive integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositiveInt(pub NonZeroU32);

impl FromScalar for PositiveInt {
    const EXPECTING: &'static str = "a positive integer";
    fn read<E: de::Error>(v: Scalar) -> Option<Result<PositiveInt, E>> {
        Some(match v {
            Scalar::Unsigned(0) => Err(E::custom("expected a positive integer, found 0")),
            Scalar::Unsigned(v) => u32::try_from(v)
                .ok()
                .and_then(NonZeroU32::new)
                .map(PositiveInt)
                .ok_or_else(|| E::custom(format!("expected a positive integer below 2^32, found {v}"))),
            Scalar::Signed(v) => Err(E::custom(format!("expected a positive integer, found {v}"))),
            Scalar::Float(v) => Err(E::custom(format!("expected a positive integer, found {v:?}"))),
            Scalar::Text(_) => return None,
        })
    }
}

impl PositiveInt {
    /// `v`, or 1 for 0.
    pub fn new(v: u32) -> Self {
        PositiveInt(NonZeroU32::new(v.max(1)).unwrap_or(NonZeroU32::MIN))
    }
    /// The value.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

/// A positive duration: `"10m"`, `"1h 30m"`, `"24h"` or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    /// Milliseconds.
    pub ms: i64,
}

impl Duration {
    /// `s` seconds.
    pub const fn secs(s: i64) -> Self {
        Duration { ms: s * 1000 }
    }
}

impl FromScalar for Duration {
    const EXPECTING: &'static str = "a duration such as \"10m\" or \"24h\", or a number of seconds";
    fn read<E: de::Error>(v: Scalar) -> Option<Result<Duration, E>> {
        const MAX_MS: u128 = 366 * 86_400_000;
        Some(match v {
            Scalar::Unsigned(v) if v == 0 || u128::from(v) * 1000 > MAX_MS => {
                Err(E::custom(format!("expected a duration between 1 second and 366 days, found {v}")))
            }
            Scalar::Unsigned(v) => Ok(Duration { ms: v as i64 * 1000 }),
            Scalar::Signed(v) => Err(E::custom(format!("expected a positive duration, found {v}"))),
            Scalar::Float(v) => {
                Err(E::custom(format!("expected a whole number of seconds or a string such as \"10m\", found {v:?}")))
            }
            Scalar::Text(v) => humantime::parse_duration(v.trim())
                .map_err(|e| E::custom(format!("expected a duration such as \"10m\" or \"24h\", found {v:?} ({e})")))
                .and_then(|d| match d.as_millis() {
                    ms if ms == 0 || ms > MAX_MS => {
                        Err(E::custom(format!("expected a duration between 1ms and 366 days, found {v:?}")))
                    }
                    ms => Ok(Duration { ms: ms as i64 }),
                }),
        })
    }
}

/// A list entry given as a string and compiled to a [`NetSpec`].
#[derive(Clone, Debug)]
pub struct NetEntry(pub NetSpec, pub String);

impl<'de> Deserialize<'de> for NetEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NetSpec::parse(&s).map(|n| NetEntry(n, s)).map_err(de::Error::custom)
    }
}

/// A port number, as a JSON number or a numeric string.
#[derive(Clone, Copy, Debug)]
pub struct Port(pub u16);

impl FromScalar for Port {
    const EXPECTING: &'static str = "a port number (1-65535)";
    fn read<E: de::Error>(v: Scalar) -> Option<Result<Port, E>> {
        let number = |p: Option<u16>, found: &dyn fmt::Display| match p {
            Some(p) if p > 0 => Ok(Port(p)),
            _ => Err(E::custom(format!("expected a port number (1-65535), found {found}"))),
        };
        Some(match v {
            Scalar::Unsigned(v) => number(u16::try_from(v).ok(), &v),
            Scalar::Signed(v) => number(None, &v),
            Scalar::Text(v) => number(v.trim().parse::<u16>().ok(), &format_args!("{v:?}")),
            Scalar::Float(_) => return None,
        })
    }
}

// ---- how the config schema writes them ---------------------------------------------------

impl JsonSchema for Severity {
    fn schema_name() -> Cow<'static, str> {
        "severity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Severity of a finding or alert; in alerts it becomes event.severity 1-4 and event.risk_score 21, 47, 73 or 99.",
            "type": "string",
            "enum": ["low", "medium", "high", "critical"]
        })
    }
}

impl Serialize for PositiveInt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.get())
    }
}

impl JsonSchema for PositiveInt {
    fn schema_name() -> Cow<'static, str> {
        "positiveInt".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number from 1 to 2^32-1, written as a JSON integer.",
            "type": "integer",
            "minimum": 1,
            "maximum": u32::MAX
        })
    }
}

/// Shown in the largest unit that divides it: `"10m"`, `"24h"`, `"2d"` (a day as `"24h"`).
impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const UNITS: [(i64, &str); 5] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")];
        let (size, unit) = UNITS
            .into_iter()
            .find(|&(size, _)| self.ms % size == 0 && (size != 86_400_000 || self.ms > size))
            .unwrap_or((1, "ms"));
        s.collect_str(&format_args!("{}{unit}", self.ms / size))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // The units humantime reads (`Duration::deserialize`), longest spelling first.
        const UNITS: &str = "nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y";
        json_schema!({
            "description": "A positive duration: a string of number-unit spans such as \"10m\", \"1h 30m\" or \"1.5d\" (units ns, us, ms, s/sec, m/min, h/hr, d/day, w/week, M/month, y/year and their spelled-out forms), or a whole number of seconds. At most 366 days; a string must come to at least 1 ms.",
            "oneOf": [
                {"type": "string", "pattern": format!(r"^\s*(?:[0-9][0-9\s]*(?:\.[0-9\s]*[0-9][0-9\s]*)?(?:{UNITS})\s*)+$")},
                {"type": "integer", "minimum": 1, "maximum": 366 * 86_400}
            ],
            "examples": ["10m", "1h 30m", "24h", 600]
        })
    }
}

impl Serialize for NetEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.1)
    }
}

impl JsonSchema for NetEntry {
    fn schema_name() -> Cow<'static, str> {
        "netEntry".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An IP address (\"203.0.113.7\", \"2001:db8::1\"; an IPv6 zone such as \"%eth0\" is ignored), a CIDR block (\"198.51.100.0/24\"; host bits are dropped) or an address and port (\"198.51.100.7:8443\", \"[2001:db8::1]:443\"), which then matches that port only.",
            "type": "string",
            "pattern": net_entry_pattern()
        })
    }
}

/// What [`NetSpec::parse`] reads, as a regular expression: an address (with an IPv6 zone), a
/// CIDR block (whose IPv4 octets and prefix may have leading zeros) or an address and port.
fn net_entry_pattern() -> String {
    const OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    const OCTET_ZEROS: &str = "(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])";
    const PORT: &str = "0*(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    let v4 = |octet: &str| format!(r"(?:{octet}\.){{3}}{octet}");
    // RFC 4291 text forms: eight groups, `::` standing for one or more, and an IPv4 tail.
    let v6 = |tail: &str| {
        let two = format!("(?:H:H|{tail})");
        let forms = [
            format!("(?:H:){{6}}{two}"),
            format!("::(?:H:){{5}}{two}"),
            format!("(?:H)?::(?:H:){{4}}{two}"),
            format!("(?:(?:H:){{0,1}}H)?::(?:H:){{3}}{two}"),
            format!("(?:(?:H:){{0,2}}H)?::(?:H:){{2}}{two}"),
            format!("(?:(?:H:){{0,3}}H)?::H:{two}"),
            format!("(?:(?:H:){{0,4}}H)?::{two}"),
            "(?:(?:H:){0,5}H)?::H".to_owned(),
            "(?:(?:H:){0,6}H)?::".to_owned(),
        ];
        format!("(?:{})", forms.join("|").replace('H', "[0-9A-Fa-f]{1,4}"))
    };
    let (a4, a6) = (v4(OCTET), v6(&v4(OCTET)));
    let (z4, z6) = (v4(OCTET_ZEROS), v6(&v4(OCTET_ZEROS)));
    let forms = [
        format!("(?:{a4}|{a6})"),
        format!("(?:{z4})/(?:3[0-2]|[12][0-9]|0?[0-9])"),
        format!("(?:{z6})/(?:12[0-8]|1[01][0-9]|0?[1-9][0-9]|0{{0,2}}[0-9])"),
        format!(r"(?:{a4}|{a6})%[\s\S]*"),
        format!("(?:{a4}):{PORT}"),
        format!(r"\[(?:{a6})(?:%[0-9]+)?\]:{PORT}"),
    ];
    format!(r"^\s*(?:{})\s*$", forms.join("|"))
}

impl Serialize for Port {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}

impl JsonSchema for Port {
    fn schema_name() -> Cow<'static, str> {
        "port".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A port number from 1 to 65535, as a JSON integer or a string of digits.",
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string", "pattern": r"^\s*\+?0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])\s*$"}
            ]
        })
    }
}
