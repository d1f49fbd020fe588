//! The value types a config document is written in, shared by every part of the config (the
//! document itself and each rule's settings): positive integers, durations, ports, address
//! entries, severities, and the error that names the JSON path of a bad value.

use std::fmt;
use std::num::NonZeroU32;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

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

/// Severity of a finding or alert, mapped to ECS `event.severity` and `event.risk_score`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
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
        ["low", "medium", "high", "critical"][self as usize]
    }
}

/// A strictly positive integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositiveInt(pub NonZeroU32);

impl<'de> Deserialize<'de> for PositiveInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PositiveInt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a positive integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PositiveInt, E> {
                if v == 0 {
                    return Err(E::custom("expected a positive integer, found 0"));
                }
                u32::try_from(v)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .map(PositiveInt)
                    .ok_or_else(|| E::custom(format!("expected a positive integer below 2^32, found {v}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PositiveInt, E> {
                Err(E::custom(format!("expected a positive integer, found {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PositiveInt, E> {
                Err(E::custom(format!("expected a positive integer, found {v}")))
            }
        }
        d.deserialize_any(V)
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

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const MAX_MS: u128 = 366 * 86_400_000;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"10m\" or \"24h\", or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                if v == 0 || u128::from(v) * 1000 > MAX_MS {
                    return Err(E::custom(format!("expected a duration between 1 second and 366 days, found {v}")));
                }
                Ok(Duration { ms: v as i64 * 1000 })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!("expected a positive duration, found {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format!("expected a whole number of seconds or a string such as \"10m\", found {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                let d = humantime::parse_duration(v.trim()).map_err(|e| {
                    E::custom(format!("expected a duration such as \"10m\" or \"24h\", found {v:?} ({e})"))
                })?;
                let ms = d.as_millis();
                if ms == 0 || ms > MAX_MS {
                    return Err(E::custom(format!("expected a duration between 1ms and 366 days, found {v:?}")));
                }
                Ok(Duration { ms: ms as i64 })
            }
        }
        d.deserialize_any(V)
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

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number (1-65535)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                match u16::try_from(v) {
                    Ok(p) if p > 0 => Ok(Port(p)),
                    _ => Err(E::custom(format!("expected a port number (1-65535), found {v}"))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                Err(E::custom(format!("expected a port number (1-65535), found {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                match v.trim().parse::<u16>() {
                    Ok(p) if p > 0 => Ok(Port(p)),
                    _ => Err(E::custom(format!("expected a port number (1-65535), found {v:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}
