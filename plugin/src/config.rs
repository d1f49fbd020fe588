//! The operator's configuration: one JSON document (schema: `schemas/config.schema.json`).
//!
//! Parsing is two-staged, as in Vector: serde reads the raw document (unknown keys are
//! errors), then [`Config::from_json`] compiles lists into matchers and checks values that
//! depend on each other. Every error names the JSON path of the problem, e.g.
//! `rules.fw_outbound_deny.min_count: expected a positive integer, found 0`. Compilation is
//! all-or-nothing: the caller swaps a config in only once it compiled.

use std::fmt;
use std::num::NonZeroU32;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::lists::document::ListDocument;
use crate::lists::extract::{ExtractOptions, ListField};
use crate::netlist::{NetMatcher, NetSpec};

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

fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
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
    fn new(v: u32) -> Self {
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
    const fn secs(s: i64) -> Self {
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
struct NetEntry(NetSpec, String);

impl<'de> Deserialize<'de> for NetEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NetSpec::parse(&s).map(|n| NetEntry(n, s)).map_err(de::Error::custom)
    }
}

/// A port number, as a JSON number or a numeric string.
#[derive(Clone, Copy, Debug)]
struct Port(u16);

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

// ---- raw document ----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    #[serde(default)]
    internal_networks: Option<Vec<NetEntry>>,
    #[serde(default)]
    hash_seed: Option<u64>,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    rare_destinations: RawRareDestinations,
    #[serde(default)]
    raw_messages: RawRawMessages,
    #[serde(default)]
    rules: RawRules,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRawMessages {
    #[serde(default)]
    formats: Vec<String>,
    #[serde(default = "d_offset")]
    utc_offset: UtcOffset,
    #[serde(default)]
    syslog_year: Option<i32>,
    #[serde(default)]
    deny_prefixes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[serde(default = "d_offset")]
    utc_offset: UtcOffset,
    #[serde(default = "d_business_days")]
    business_days: Vec<WeekdayName>,
    #[serde(default = "d_start_hour")]
    start_hour: u8,
    #[serde(default = "d_end_hour")]
    end_hour: u8,
    #[serde(default)]
    holidays: Vec<HolidayDate>,
}
fn d_offset() -> UtcOffset {
    UtcOffset(0)
}
fn d_business_days() -> Vec<WeekdayName> {
    (0..5).map(WeekdayName).collect()
}
fn d_start_hour() -> u8 {
    9
}
fn d_end_hour() -> u8 {
    18
}
impl Default for RawCalendar {
    fn default() -> Self {
        RawCalendar {
            utc_offset: d_offset(),
            business_days: d_business_days(),
            start_hour: d_start_hour(),
            end_hour: d_end_hour(),
            holidays: Vec::new(),
        }
    }
}

/// A value written as a string and read by `parse`; the error says what was `expected`.
fn from_text<'de, D: Deserializer<'de>, T>(d: D, parse: impl FnOnce(&str) -> Option<T>, expected: &str) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).ok_or_else(|| de::Error::custom(format!("expected {expected}, found {s:?}")))
}

/// A UTC offset such as `"+09:00"`.
#[derive(Clone, Copy, Debug, Default)]
struct UtcOffset(i64);

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, |s| crate::calendar::parse_offset(s).map(UtcOffset), "a UTC offset such as \"+09:00\" (at most ±18:00)")
    }
}

/// A day of the week, `"mon"` … `"sun"` (any case, or the full English name).
#[derive(Clone, Copy, Debug)]
struct WeekdayName(usize);

impl<'de> Deserialize<'de> for WeekdayName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const FULL: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
        let day = |s: &str| {
            let l = s.trim().to_ascii_lowercase();
            (0..7).find(|&i| l == crate::calendar::WEEKDAYS[i] || l == FULL[i]).map(WeekdayName)
        };
        from_text(d, day, "a day of the week such as \"mon\"")
    }
}

/// A date `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug)]
struct HolidayDate(i32);

impl<'de> Deserialize<'de> for HolidayDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, |s| crate::calendar::parse_day(s).map(HolidayDate), "a date such as \"2026-01-01\"")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRareDestinations {
    #[serde(default = "d_rare_max_hosts")]
    max_hosts: PositiveInt,
    #[serde(default = "d_rare_period")]
    period: Duration,
    #[serde(default)]
    allow: Vec<String>,
}
fn d_rare_max_hosts() -> PositiveInt {
    PositiveInt::new(3)
}
fn d_rare_period() -> Duration {
    Duration::secs(30 * 86_400)
}
impl Default for RawRareDestinations {
    fn default() -> Self {
        RawRareDestinations { max_hosts: d_rare_max_hosts(), period: d_rare_period(), allow: Vec::new() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    #[serde(default = "d_max_hosts")]
    max_hosts: PositiveInt,
    #[serde(default = "d_max_keys")]
    max_keys_per_host: PositiveInt,
    #[serde(default = "d_max_destinations")]
    max_destinations: PositiveInt,
    #[serde(default = "d_max_destinations")]
    max_messages: PositiveInt,
}
fn d_max_hosts() -> PositiveInt {
    PositiveInt::new(100_000)
}
fn d_max_destinations() -> PositiveInt {
    PositiveInt::new(100_000)
}
fn d_max_keys() -> PositiveInt {
    PositiveInt::new(1024)
}
impl Default for RawState {
    fn default() -> Self {
        RawState {
            max_hosts: d_max_hosts(),
            max_keys_per_host: d_max_keys(),
            max_destinations: d_max_destinations(),
            max_messages: d_max_destinations(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default = "d_max_line")]
    max_line_bytes: PositiveInt,
}
fn d_max_line() -> PositiveInt {
    PositiveInt::new(1 << 20)
}
impl Default for RawLimits {
    fn default() -> Self {
        RawLimits { max_line_bytes: d_max_line() }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    fw_outbound_deny: RawOutboundDeny,
    #[serde(default)]
    fw_c2_ip: RawC2Ip,
    #[serde(default)]
    learned_lists: RawLearnedLists,
    #[serde(default)]
    proxy_ioc: RawProxyIoc,
    #[serde(default)]
    proxy_connect_port: RawConnectPort,
    #[serde(default)]
    proxy_user_agent: RawUserAgent,
    #[serde(default)]
    proxy_daily_beacon: RawDailyBeacon,
    #[serde(default)]
    proxy_off_hours: RawOffHours,
    #[serde(default)]
    proxy_upload_volume: RawUploadVolume,
    #[serde(default)]
    mail_display_name_spoof: RawDisplayNameSpoof,
    #[serde(default)]
    mail_executable_attachment: RawExecutableAttachment,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisplayNameSpoof {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_high")]
    severity: Severity,
    #[serde(default = "d_day")]
    dedup_window: Duration,
}
impl Default for RawDisplayNameSpoof {
    fn default() -> Self {
        RawDisplayNameSpoof { enabled: true, severity: Severity::High, dedup_window: d_day() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutableAttachment {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    extensions: Option<Vec<String>>,
    #[serde(default = "yes")]
    displayed: bool,
    #[serde(default = "d_high")]
    severity: Severity,
    #[serde(default = "d_day")]
    dedup_window: Duration,
}
impl Default for RawExecutableAttachment {
    fn default() -> Self {
        RawExecutableAttachment { enabled: true, extensions: None, displayed: true, severity: Severity::High, dedup_window: d_day() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDailyBeacon {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_min_days")]
    min_days: PositiveInt,
    #[serde(default = "d_high")]
    severity: Severity,
}
fn d_min_days() -> PositiveInt {
    PositiveInt::new(3)
}
impl Default for RawDailyBeacon {
    fn default() -> Self {
        RawDailyBeacon { enabled: true, min_days: d_min_days(), severity: Severity::High }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffHours {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_off_hours_min_count")]
    min_count: PositiveInt,
    #[serde(default = "d_low")]
    severity: Severity,
    #[serde(default = "d_medium")]
    alert_severity: Severity,
}
fn d_off_hours_min_count() -> PositiveInt {
    PositiveInt::new(10)
}
impl Default for RawOffHours {
    fn default() -> Self {
        RawOffHours { enabled: true, min_count: d_off_hours_min_count(), severity: Severity::Low, alert_severity: Severity::Medium }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUploadVolume {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_max_bytes")]
    max_bytes: u64,
    #[serde(default = "d_idle_gap")]
    idle_gap: Duration,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default = "d_high")]
    severity: Severity,
}
fn d_max_bytes() -> u64 {
    10 * 1024 * 1024
}
fn d_idle_gap() -> Duration {
    Duration::secs(600)
}
impl Default for RawUploadVolume {
    fn default() -> Self {
        RawUploadVolume {
            enabled: true,
            max_bytes: d_max_bytes(),
            idle_gap: d_idle_gap(),
            allow: Vec::new(),
            severity: Severity::High,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxyIoc {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_dedup")]
    dedup_window: Duration,
    #[serde(default = "d_high")]
    severity: Severity,
    #[serde(default)]
    lists: Vec<RawProxyIocList>,
}
impl Default for RawProxyIoc {
    fn default() -> Self {
        RawProxyIoc { enabled: true, dedup_window: d_dedup(), severity: Severity::High, lists: Vec::new() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxyIocList {
    name: String,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    domains: crate::indicators::DomainList,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    ips: Vec<NetEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnectPort {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_connect_ports")]
    allowed_ports: Vec<Port>,
    #[serde(default = "d_dedup")]
    dedup_window: Duration,
    #[serde(default = "d_medium")]
    severity: Severity,
}
fn d_connect_ports() -> Vec<Port> {
    vec![Port(80), Port(443)]
}
impl Default for RawConnectPort {
    fn default() -> Self {
        RawConnectPort { enabled: true, allowed_ports: d_connect_ports(), dedup_window: d_dedup(), severity: Severity::Medium }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUserAgent {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    allowed: Vec<String>,
    #[serde(default = "yes")]
    flag_missing: bool,
    #[serde(default = "d_day")]
    dedup_window: Duration,
    #[serde(default = "d_low")]
    severity: Severity,
    #[serde(default = "d_medium")]
    alert_severity: Severity,
}
fn d_day() -> Duration {
    Duration::secs(86_400)
}
fn d_low() -> Severity {
    Severity::Low
}
impl Default for RawUserAgent {
    fn default() -> Self {
        RawUserAgent {
            enabled: true,
            allowed: Vec::new(),
            flag_missing: true,
            dedup_window: d_day(),
            severity: Severity::Low,
            alert_severity: Severity::Medium,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLearnedLists {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_list_window")]
    window: Duration,
    #[serde(default)]
    dedup_window: Option<Duration>,
    #[serde(default = "d_high")]
    severity: Severity,
    #[serde(default)]
    list: Option<ListDocument>,
    #[serde(default)]
    thresholds: RawListThresholds,
}
fn d_list_window() -> Duration {
    Duration::secs(86_400)
}
impl Default for RawLearnedLists {
    fn default() -> Self {
        RawLearnedLists {
            enabled: true,
            window: d_list_window(),
            dedup_window: None,
            severity: Severity::High,
            list: None,
            thresholds: RawListThresholds::default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawListThresholds {
    #[serde(default)]
    dst_ip_tcp80: Option<RawThreshold>,
    #[serde(default)]
    dst_port: Option<RawThreshold>,
    #[serde(default)]
    http_url: Option<RawThreshold>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    /// t_w: `list.count` fires when w > count.
    #[serde(default)]
    count: Option<u32>,
    /// t_s: `list.types` fires when s > types.
    #[serde(default)]
    types: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutboundDeny {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_watched_ports")]
    watched_ports: Vec<Port>,
    #[serde(default = "d_deny_min_count")]
    min_count: PositiveInt,
    #[serde(default = "d_deny_window")]
    window: Duration,
    #[serde(default)]
    dedup_window: Option<Duration>,
    #[serde(default)]
    allow: Vec<NetEntry>,
    #[serde(default = "d_medium")]
    severity: Severity,
    #[serde(default = "d_high")]
    watched_severity: Severity,
    #[serde(default = "d_high")]
    alert_severity: Severity,
}
fn yes() -> bool {
    true
}
fn d_watched_ports() -> Vec<Port> {
    [25, 80, 443, 8080].into_iter().map(Port).collect()
}
fn d_deny_min_count() -> PositiveInt {
    PositiveInt::new(5)
}
fn d_deny_window() -> Duration {
    Duration::secs(600)
}
fn d_medium() -> Severity {
    Severity::Medium
}
fn d_high() -> Severity {
    Severity::High
}
impl Default for RawOutboundDeny {
    fn default() -> Self {
        RawOutboundDeny {
            enabled: true,
            watched_ports: d_watched_ports(),
            min_count: d_deny_min_count(),
            window: d_deny_window(),
            dedup_window: None,
            allow: Vec::new(),
            severity: Severity::Medium,
            watched_severity: Severity::High,
            alert_severity: Severity::High,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawC2Ip {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_dedup")]
    dedup_window: Duration,
    #[serde(default = "d_high")]
    severity: Severity,
    #[serde(default)]
    lists: Vec<RawIndicatorList>,
}
fn d_dedup() -> Duration {
    Duration::secs(3600)
}
impl Default for RawC2Ip {
    fn default() -> Self {
        RawC2Ip { enabled: true, dedup_window: d_dedup(), severity: Severity::High, lists: Vec::new() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicatorList {
    name: String,
    #[serde(default)]
    provider: Option<String>,
    entries: Vec<NetEntry>,
}

// ---- compiled configuration --------------------------------------------------------------

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

/// `rules.fw_outbound_deny`, compiled.
#[derive(Clone, Debug)]
pub struct OutboundDenyConfig {
    /// Destination ports whose denies count toward the alert.
    pub watched_ports: Vec<u16>,
    /// Denied attempts to watched ports within `window_ms` that raise an alert.
    pub min_count: u32,
    /// Sliding window, milliseconds.
    pub window_ms: i64,
    /// At most one alert per host within this time, milliseconds.
    pub dedup_ms: i64,
    /// Business destinations: neither enriched nor counted.
    pub allow: NetMatcher<String>,
    /// Severity of an enriched deny to an unwatched port.
    pub severity: Severity,
    /// Severity of an enriched deny to a watched port.
    pub watched_severity: Severity,
    /// Severity of the alert.
    pub alert_severity: Severity,
}

/// Where an indicator came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorSource {
    /// The entry as written in the config.
    pub entry: String,
    /// The list's name.
    pub list: String,
    /// The list's provider (ECS `indicator.provider`), defaulting to the list name.
    pub provider: String,
}

/// `rules.fw_c2_ip`, compiled.
#[derive(Clone, Debug)]
pub struct C2IpConfig {
    /// Every entry of every list.
    pub indicators: NetMatcher<IndicatorSource>,
    /// At most one alert per (host, indicator) within this time, milliseconds.
    pub dedup_ms: i64,
    /// Severity of finding and alert.
    pub severity: Severity,
}

/// One field of a learned list, compiled.
#[derive(Clone, Debug)]
pub struct ListFieldConfig {
    /// The field.
    pub field: ListField,
    /// Listed values, by index.
    pub values: Vec<String>,
    /// Value → index.
    pub index: std::collections::HashMap<String, u32>,
    /// t_w, if count detection is on.
    pub count: Option<u32>,
    /// t_s, if type detection is on.
    pub types: Option<u32>,
}

/// `rules.learned_lists`, compiled.
#[derive(Clone, Debug)]
pub struct LearnedListsConfig {
    /// Sliding window, ms.
    pub window_ms: i64,
    /// At most one alert per (host, rule, field) within this time, ms.
    pub dedup_ms: i64,
    /// Severity of alerts.
    pub severity: Severity,
    /// Extractor options of the list.
    pub extract: ExtractOptions,
    /// The fields with a list.
    pub fields: Vec<ListFieldConfig>,
}

/// `rules.proxy_ioc`, compiled. Entries refer to their list by index in `lists` (a later
/// list naming the same entry wins); domains and URLs are their own entry text.
#[derive(Clone, Debug)]
pub struct ProxyIocConfig {
    /// Domain (lower-case, IDNA) → the lists naming it as itself-and-subdomains and as
    /// subdomains only ([`crate::indicators`]).
    pub domains: crate::indicators::StrTable<crate::indicators::DomainMatch>,
    /// Normalised URL → list.
    pub urls: crate::indicators::StrTable<u32>,
    /// Addresses and blocks → (list, the entry as written).
    pub ips: NetMatcher<(u32, Box<str>)>,
    /// Each list's name and provider.
    pub lists: Vec<(String, String)>,
    /// At most one alert per (host, indicator) within this time, ms.
    pub dedup_ms: i64,
    /// Severity.
    pub severity: Severity,
}

impl ProxyIocConfig {
    /// Distinct entries of all lists.
    pub fn entries(&self) -> usize {
        self.domains.len() + self.urls.len() + self.ips.len()
    }
}

/// Normalises a domain as the proxy rules compare it: percent-decoding, IDNA, lower case, no
/// trailing dot (the WHATWG host parser of the `url` crate). `None` for anything that is not
/// a domain (addresses included).
pub fn normalise_domain(d: &str) -> Option<String> {
    let d = d.trim().trim_end_matches('.');
    if d.is_empty() {
        return None;
    }
    if let Some(fast) = plain_ascii_domain(d) {
        return Some(fast);
    }
    match url::Host::parse(d).ok()? {
        url::Host::Domain(s) => Some(s),
        _ => None,
    }
}

/// The hot path of [`normalise_domain`]: a host of ASCII letters, digits, hyphens and dots,
/// with no empty label, no label that starts or ends with a hyphen or has one in its third and
/// fourth place (punycode `xn--` and reserved forms), and an alphabetic last label (so it
/// cannot be read as an IPv4 address), is its own IDNA form once lower-cased. Anything else
/// takes the full parser. A test checks the two agree.
fn plain_ascii_domain(d: &str) -> Option<String> {
    let mut last = "";
    for label in d.split('.') {
        let b = label.as_bytes();
        if b.is_empty()
            || b[0] == b'-'
            || b[b.len() - 1] == b'-'
            || (b.len() >= 4 && b[2] == b'-' && b[3] == b'-')
            || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        {
            return None;
        }
        last = label;
    }
    if !last.bytes().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(d.to_ascii_lowercase())
}

/// `rules.proxy_connect_port`, compiled.
#[derive(Clone, Debug)]
pub struct ConnectPortConfig {
    /// Ports CONNECT may use.
    pub allowed_ports: Vec<u16>,
    /// At most one alert per (host, destination:port) within this time, ms.
    pub dedup_ms: i64,
    /// Severity of finding and alert.
    pub severity: Severity,
}

/// `rules.proxy_user_agent`, compiled.
#[derive(Clone, Debug)]
pub struct UserAgentConfig {
    /// Exact strings of the organisation's standard agents.
    pub exact: std::collections::HashSet<String>,
    /// Glob patterns (`*`, `?`) of standard agents.
    pub patterns: Vec<(String, wildmatch::WildMatch)>,
    /// Flag requests with no `user_agent.original` at all (an empty string is always flagged).
    pub flag_missing: bool,
    /// At most one alert per (host, agent) within this time, ms.
    pub dedup_ms: i64,
    /// Severity of the finding.
    pub severity: Severity,
    /// Severity of the alert.
    pub alert_severity: Severity,
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
    fn compile(entries: Vec<String>, path: &str) -> Result<Self, ConfigError> {
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

/// `rules.proxy_daily_beacon`, compiled.
#[derive(Clone, Debug)]
pub struct DailyBeaconConfig {
    /// Consecutive local days that make a beacon (1–16).
    pub min_days: u32,
    /// Severity of finding and alert.
    pub severity: Severity,
}

/// `rules.proxy_off_hours`, compiled.
#[derive(Clone, Debug)]
pub struct OffHoursConfig {
    /// Off-hours requests to rare destinations in one off-hours period that raise an alert.
    pub min_count: u32,
    /// Severity of the finding.
    pub severity: Severity,
    /// Severity of the alert.
    pub alert_severity: Severity,
}

/// `rules.proxy_upload_volume`, compiled.
#[derive(Clone, Debug)]
pub struct UploadVolumeConfig {
    /// A run whose request bytes exceed this alerts.
    pub max_bytes: u64,
    /// A run ends after this long without a POST or CONNECT to its destination, ms.
    pub idle_gap_ms: i64,
    /// Destinations uploads may go to (backup, corporate cloud storage).
    pub allow: DestinationAllow,
    /// Severity of finding and alert.
    pub severity: Severity,
}

/// `rules.mail_display_name_spoof`, compiled.
#[derive(Clone, Debug)]
pub struct DisplayNameSpoofConfig {
    /// Severity of finding and alert.
    pub severity: Severity,
    /// The same message alerts at most once within this time, ms.
    pub dedup_ms: i64,
}

/// `rules.mail_executable_attachment`, compiled.
#[derive(Clone, Debug)]
pub struct ExecutableAttachmentConfig {
    /// Executable extensions, lower case, without the dot.
    pub extensions: Vec<String>,
    /// Also flag names that only look executable to the reader (right-to-left override,
    /// look-alike characters) while the system would open them as something else.
    pub displayed: bool,
    /// Severity of finding and alert.
    pub severity: Severity,
    /// The same message alerts at most once within this time, ms.
    pub dedup_ms: i64,
}

/// A compiled configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Networks whose hosts are ours (default RFC 1918, 100.64/10, fc00::/7).
    pub internal: NetMatcher<()>,
    /// Seed of the hashers keyed by attacker-controlled values; `None` takes the seed the
    /// host supplies ([`crate::Detector::set_host_seed`]), which should be secret and random.
    pub hash_seed: Option<u64>,
    /// State limits.
    pub state: StateLimits,
    /// Lines longer than this become error records.
    pub max_line_bytes: usize,
    /// `None` when disabled.
    pub fw_outbound_deny: Option<OutboundDenyConfig>,
    /// `None` when disabled.
    pub fw_c2_ip: Option<C2IpConfig>,
    /// `None` when disabled or no list is loaded.
    pub learned_lists: Option<LearnedListsConfig>,
    /// `None` when disabled or without lists.
    pub proxy_ioc: Option<ProxyIocConfig>,
    /// `None` when disabled.
    pub proxy_connect_port: Option<ConnectPortConfig>,
    /// `None` when disabled.
    pub proxy_user_agent: Option<UserAgentConfig>,
    /// Business days and hours, time zone.
    pub calendar: crate::calendar::Calendar,
    /// What a rare destination is.
    pub rare_destinations: RareDestinations,
    /// `None` when disabled.
    pub proxy_daily_beacon: Option<DailyBeaconConfig>,
    /// `None` when disabled.
    pub proxy_off_hours: Option<OffHoursConfig>,
    /// `None` when disabled.
    pub proxy_upload_volume: Option<UploadVolumeConfig>,
    /// Formats tried on the `message` of events of no known source (none by default), and
    /// their settings.
    pub raw_messages: (Vec<crate::import::Format>, crate::import::ImportOptions),
    /// `None` when disabled.
    pub mail_display_name_spoof: Option<DisplayNameSpoofConfig>,
    /// `None` when disabled.
    pub mail_executable_attachment: Option<ExecutableAttachmentConfig>,
}

impl Default for Config {
    fn default() -> Self {
        // The empty document is valid; compiling it cannot fail.
        match Config::from_json(b"{}") {
            Ok(c) => c,
            Err(e) => unreachable!("default config must compile: {e}"),
        }
    }
}

/// Default `internal_networks`.
pub const DEFAULT_INTERNAL_NETWORKS: [&str; 6] =
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"];

impl Config {
    /// Parses and compiles a configuration document.
    pub fn from_json(json: &[u8]) -> Result<Config, ConfigError> {
        // serde would also read a struct from an array; a config is an object.
        match json.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {}
            _ => return Err(err("(root)", "expected a JSON object")),
        }
        let mut de = serde_json::Deserializer::from_slice(json);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let path = if path == "." || path.is_empty() { "(root)".to_string() } else { path };
            if inner.is_syntax() || inner.is_eof() {
                err("(root)", format!("not valid JSON: {inner}"))
            } else {
                err(path, strip_position(&inner.to_string()))
            }
        })?;
        de.end().map_err(|e| err("(root)", format!("not valid JSON: {e}")))?;
        Self::compile(raw)
    }

    fn compile(raw: RawConfig) -> Result<Config, ConfigError> {
        let mut internal = NetMatcher::new();
        match raw.internal_networks {
            Some(list) => {
                for e in list {
                    internal.insert(e.0, ());
                }
            }
            None => {
                for s in DEFAULT_INTERNAL_NETWORKS {
                    if let Ok(n) = NetSpec::parse(s) {
                        internal.insert(n, ());
                    }
                }
            }
        }
        let state = StateLimits {
            max_hosts: raw.state.max_hosts.get() as usize,
            max_keys_per_host: raw.state.max_keys_per_host.get() as usize,
            max_destinations: raw.state.max_destinations.get() as usize,
            max_messages: raw.state.max_messages.get() as usize,
        };

        let d = raw.rules.fw_outbound_deny;
        let fw_outbound_deny = if d.enabled {
            if d.min_count.get() as usize > state.max_keys_per_host {
                return Err(err(
                    "rules.fw_outbound_deny.min_count",
                    format!(
                        "must not exceed state.max_keys_per_host ({}), found {}",
                        state.max_keys_per_host,
                        d.min_count.get()
                    ),
                ));
            }
            let mut allow = NetMatcher::new();
            for e in d.allow {
                allow.insert(e.0, e.1);
            }
            let mut ports: Vec<u16> = d.watched_ports.into_iter().map(|p| p.0).collect();
            ports.sort_unstable();
            ports.dedup();
            Some(OutboundDenyConfig {
                watched_ports: ports,
                min_count: d.min_count.get(),
                window_ms: d.window.ms,
                dedup_ms: d.dedup_window.map(|x| x.ms).unwrap_or(d.window.ms),
                allow,
                severity: d.severity,
                watched_severity: d.watched_severity,
                alert_severity: d.alert_severity,
            })
        } else {
            None
        };

        let c = raw.rules.fw_c2_ip;
        let fw_c2_ip = if c.enabled {
            let mut indicators = NetMatcher::new();
            for (i, list) in c.lists.into_iter().enumerate() {
                let provider = list_provider(&list.name, list.provider, "fw_c2_ip", i)?;
                for e in list.entries {
                    indicators.insert(
                        e.0,
                        IndicatorSource { entry: e.1.trim().to_string(), list: list.name.clone(), provider: provider.clone() },
                    );
                }
            }
            Some(C2IpConfig { indicators, dedup_ms: c.dedup_window.ms, severity: c.severity })
        } else {
            None
        };

        let l = raw.rules.learned_lists;
        let learned_lists = match (l.enabled, l.list) {
            (true, Some(doc)) => Some(compile_lists(doc, l.thresholds, l.window, l.dedup_window, l.severity)?),
            (true, None) => {
                let t = l.thresholds;
                if t.dst_ip_tcp80.is_some() || t.dst_port.is_some() || t.http_url.is_some() {
                    return Err(err("rules.learned_lists.thresholds", "thresholds given but no list loaded (rules.learned_lists.list)"));
                }
                None
            }
            (false, _) => None,
        };

        let p = raw.rules.proxy_ioc;
        let proxy_ioc = if p.enabled && !p.lists.is_empty() {
            let mut cfg = ProxyIocConfig {
                domains: Default::default(),
                urls: Default::default(),
                ips: NetMatcher::new(),
                lists: Vec::new(),
                dedup_ms: p.dedup_window.ms,
                severity: p.severity,
            };
            let opts = ExtractOptions { keep_query: true };
            let (keys, bytes) = p.lists.iter().map(|l| l.domains.size()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            cfg.domains.reserve(keys, bytes);
            for (i, list) in p.lists.into_iter().enumerate() {
                let provider = list_provider(&list.name, list.provider, "proxy_ioc", i)?;
                let id = cfg.lists.len() as u32;
                cfg.lists.push((list.name, provider));
                for (name, subdomains_only) in list.domains.iter() {
                    let none = crate::indicators::NONE;
                    cfg.domains.upsert(name, [none, none], |v| v[subdomains_only as usize] = id);
                }
                for (j, u) in list.urls.into_iter().enumerate() {
                    let Some(n) = crate::lists::extract::normalise_url(&u, None, &opts) else {
                        return Err(err(format!("rules.proxy_ioc.lists[{i}].urls[{j}]"), format!("not an absolute http(s) URL: {u:?}")));
                    };
                    cfg.urls.upsert(&n, id, |v| *v = id);
                }
                for e in list.ips {
                    cfg.ips.insert(e.0, (id, e.1.trim().into()));
                }
            }
            cfg.domains.shrink();
            cfg.urls.shrink();
            Some(cfg)
        } else {
            None
        };
        let c = raw.rules.proxy_connect_port;
        let proxy_connect_port = c.enabled.then(|| {
            let mut ports: Vec<u16> = c.allowed_ports.iter().map(|p| p.0).collect();
            ports.sort_unstable();
            ports.dedup();
            ConnectPortConfig { allowed_ports: ports, dedup_ms: c.dedup_window.ms, severity: c.severity }
        });
        let u = raw.rules.proxy_user_agent;
        let proxy_user_agent = if u.enabled {
            let mut exact = std::collections::HashSet::new();
            let mut patterns = Vec::new();
            for (i, a) in u.allowed.into_iter().enumerate() {
                if a.is_empty() {
                    return Err(err(format!("rules.proxy_user_agent.allowed[{i}]"), "an empty agent cannot be standard"));
                }
                if a.contains(['*', '?']) {
                    let m = wildmatch::WildMatch::new(&a);
                    patterns.push((a, m));
                } else {
                    exact.insert(a);
                }
            }
            Some(UserAgentConfig {
                exact,
                patterns,
                flag_missing: u.flag_missing,
                dedup_ms: u.dedup_window.ms,
                severity: u.severity,
                alert_severity: u.alert_severity,
            })
        } else {
            None
        };

        let cal = raw.calendar;
        if cal.start_hour > 23 {
            return Err(err("calendar.start_hour", format!("expected an hour 0-23, found {}", cal.start_hour)));
        }
        if cal.end_hour > 24 || cal.end_hour <= cal.start_hour {
            return Err(err(
                "calendar.end_hour",
                format!("expected an hour after start_hour ({}) and at most 24, found {}", cal.start_hour, cal.end_hour),
            ));
        }
        let mut business_days = [false; 7];
        for d in cal.business_days {
            business_days[d.0] = true;
        }
        let calendar = crate::calendar::Calendar {
            offset_ms: cal.utc_offset.0,
            business_days,
            start_hour: cal.start_hour,
            end_hour: cal.end_hour,
            holidays: cal.holidays.into_iter().map(|h| h.0).collect(),
        };
        let r = raw.rare_destinations;
        if r.max_hosts.get() > 64 {
            return Err(err("rare_destinations.max_hosts", format!("expected at most 64, found {}", r.max_hosts.get())));
        }
        let rare_destinations = RareDestinations {
            max_hosts: r.max_hosts.get(),
            period_ms: r.period.ms,
            allow: DestinationAllow::compile(r.allow, "rare_destinations.allow")?,
        };
        let b = raw.rules.proxy_daily_beacon;
        let proxy_daily_beacon = if b.enabled {
            if b.min_days.get() > crate::rules::proxy_daily_beacon::MAX_MIN_DAYS {
                return Err(err(
                    "rules.proxy_daily_beacon.min_days",
                    format!("expected at most {} days, found {}", crate::rules::proxy_daily_beacon::MAX_MIN_DAYS, b.min_days.get()),
                ));
            }
            Some(DailyBeaconConfig { min_days: b.min_days.get(), severity: b.severity })
        } else {
            None
        };
        let o = raw.rules.proxy_off_hours;
        let proxy_off_hours = o.enabled.then_some(OffHoursConfig {
            min_count: o.min_count.get(),
            severity: o.severity,
            alert_severity: o.alert_severity,
        });
        let v = raw.rules.proxy_upload_volume;
        let proxy_upload_volume = if v.enabled {
            Some(UploadVolumeConfig {
                max_bytes: v.max_bytes,
                idle_gap_ms: v.idle_gap.ms,
                allow: DestinationAllow::compile(v.allow, "rules.proxy_upload_volume.allow")?,
                severity: v.severity,
            })
        } else {
            None
        };
        let rm = raw.raw_messages;
        let mut formats = Vec::new();
        for (i, f) in rm.formats.iter().enumerate() {
            let Some(fmt) = crate::import::Format::from_name(f) else {
                let names: Vec<&str> = crate::import::Format::ALL.iter().map(|f| f.name()).collect();
                return Err(err(format!("raw_messages.formats[{i}]"), format!("unknown format {f:?} (expected one of {})", names.join(", "))));
            };
            formats.push(fmt);
        }
        let mut import_opts = crate::import::ImportOptions { utc_offset_ms: rm.utc_offset.0, ..Default::default() };
        if let Some(y) = rm.syslog_year {
            if !(1970..=9999).contains(&y) {
                return Err(err("raw_messages.syslog_year", format!("expected a year 1970-9999, found {y}")));
            }
            import_opts.syslog_year = y;
        }
        if let Some(p) = rm.deny_prefixes {
            import_opts.deny_prefixes = p;
        }
        let raw_messages = (formats, import_opts);
        let m = raw.rules.mail_display_name_spoof;
        let mail_display_name_spoof = m.enabled.then_some(DisplayNameSpoofConfig { severity: m.severity, dedup_ms: m.dedup_window.ms });
        let x = raw.rules.mail_executable_attachment;
        let mail_executable_attachment = if x.enabled {
            let mut extensions = Vec::new();
            match x.extensions {
                None => extensions.extend(crate::mail::DEFAULT_EXECUTABLE_EXTENSIONS.iter().map(|e| e.to_string())),
                Some(list) => {
                    for (i, e) in list.into_iter().enumerate() {
                        let e = e.trim().trim_start_matches('.').to_ascii_lowercase();
                        if e.is_empty() || e.contains(['.', '/', '\\']) || e.chars().any(char::is_whitespace) {
                            return Err(err(
                                format!("rules.mail_executable_attachment.extensions[{i}]"),
                                format!("expected an extension such as \"exe\", found {e:?}"),
                            ));
                        }
                        if !extensions.contains(&e) {
                            extensions.push(e);
                        }
                    }
                }
            }
            Some(ExecutableAttachmentConfig { extensions, displayed: x.displayed, severity: x.severity, dedup_ms: x.dedup_window.ms })
        } else {
            None
        };

        Ok(Config {
            internal,
            hash_seed: raw.hash_seed,
            state,
            max_line_bytes: raw.limits.max_line_bytes.get() as usize,
            fw_outbound_deny,
            fw_c2_ip,
            learned_lists,
            proxy_ioc,
            proxy_connect_port,
            proxy_user_agent,
            calendar,
            rare_destinations,
            proxy_daily_beacon,
            proxy_off_hours,
            proxy_upload_volume,
            raw_messages,
            mail_display_name_spoof,
            mail_executable_attachment,
        })
    }

    /// Whether an address belongs to the internal networks.
    pub fn is_internal(&self, ip: std::net::IpAddr) -> bool {
        self.internal.contains(ip, None)
    }
}

fn compile_lists(
    doc: ListDocument,
    t: RawListThresholds,
    window: Duration,
    dedup: Option<Duration>,
    severity: Severity,
) -> Result<LearnedListsConfig, ConfigError> {
    if doc.malhost_lists != crate::lists::document::LIST_FORMAT {
        return Err(err(
            "rules.learned_lists.list.malhost_lists",
            format!("list format {} is not supported (expected {})", doc.malhost_lists, crate::lists::document::LIST_FORMAT),
        ));
    }
    let thresholds = [(ListField::DstIpTcp80, t.dst_ip_tcp80), (ListField::DstPort, t.dst_port), (ListField::HttpUrl, t.http_url)];
    for (f, th) in thresholds {
        if th.is_some() && doc.field(f).is_none() {
            return Err(err(
                format!("rules.learned_lists.thresholds.{}", f.name()),
                format!("the list has no {} field", f.name()),
            ));
        }
    }
    let mut fields = Vec::new();
    for (i, fl) in doc.fields.iter().enumerate() {
        if doc.fields[..i].iter().any(|x| x.field == fl.field) {
            return Err(err(format!("rules.learned_lists.list.fields[{i}].field"), format!("{} appears twice", fl.field.name())));
        }
        let th = thresholds.iter().find(|(f, _)| *f == fl.field).and_then(|(_, t)| *t).unwrap_or_default();
        let values: Vec<String> = fl.values.iter().map(|v| v.value.clone()).collect();
        let index = values.iter().enumerate().map(|(i, v)| (v.clone(), i as u32)).collect();
        fields.push(ListFieldConfig { field: fl.field, values, index, count: th.count, types: th.types });
    }
    Ok(LearnedListsConfig {
        window_ms: window.ms,
        dedup_ms: dedup.map(|d| d.ms).unwrap_or(window.ms),
        severity,
        extract: doc.options.extract,
        fields,
    })
}

/// Checks an indicator list's name; its provider defaults to the name.
fn list_provider(name: &str, provider: Option<String>, rule: &str, i: usize) -> Result<String, ConfigError> {
    if name.trim().is_empty() {
        return Err(err(format!("rules.{rule}.lists[{i}].name"), "must not be empty"));
    }
    Ok(provider.unwrap_or_else(|| name.to_owned()))
}

/// serde_json appends " at line L column C" to data errors; the JSON path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(json: &str) -> String {
        Config::from_json(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn empty_document_gives_defaults() {
        let c = Config::from_json(b"{}").unwrap();
        let d = c.fw_outbound_deny.unwrap();
        assert_eq!(d.watched_ports, vec![25, 80, 443, 8080]);
        assert_eq!(d.min_count, 5);
        assert_eq!(d.window_ms, 600_000);
        assert!(c.internal.contains("10.1.2.3".parse().unwrap(), None));
        assert!(c.internal.contains("fd00::1".parse().unwrap(), None));
        assert!(!c.internal.contains("8.8.8.8".parse().unwrap(), None));
    }

    #[test]
    fn errors_name_the_json_path() {
        assert_eq!(
            e(r#"{"rules":{"fw_outbound_deny":{"min_count":0}}}"#),
            "rules.fw_outbound_deny.min_count: expected a positive integer, found 0"
        );
        assert_eq!(
            e(r#"{"rules":{"fw_outbound_deny":{"min_count":-3}}}"#),
            "rules.fw_outbound_deny.min_count: expected a positive integer, found -3"
        );
        assert!(e(r#"{"rules":{"fw_c2_ip":{"lists":[{"name":"x","entries":["1.2.3.4","nope"]}]}}}"#)
            .starts_with("rules.fw_c2_ip.lists[0].entries[1]: expected an IP address"));
        assert!(e(r#"{"internal_networks":["10.0.0.0/33"]}"#).starts_with("internal_networks[0]: "));
        assert!(e(r#"{"rules":{"fw_outbound_deny":{"window":"ten minutes"}}}"#)
            .starts_with("rules.fw_outbound_deny.window: expected a duration"));
        assert!(e(r#"{"rules":{"fw_outbound_deny":{"watched_ports":[80,0]}}}"#)
            .starts_with("rules.fw_outbound_deny.watched_ports[1]: expected a port number"));
        assert!(e(r#"{"rules":{"fw_outbound_deny":{"severity":"urgent"}}}"#)
            .starts_with("rules.fw_outbound_deny.severity: unknown variant `urgent`"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path() {
        let m = e(r#"{"rules":{"fw_outbound_deny":{"min_cout":3}}}"#);
        assert!(m.starts_with("rules.fw_outbound_deny"), "{m}");
        assert!(m.contains("unknown field `min_cout`"), "{m}");
        let m = e(r#"{"rulez":{}}"#);
        assert!(m.contains("unknown field `rulez`"), "{m}");
    }

    #[test]
    fn an_empty_key_still_gives_a_path() {
        // Found by fuzzing: the unknown key "" made an empty path.
        let e = Config::from_json(b"\r{\r\r\r\"\" \x8c").unwrap_err();
        assert_eq!(e.path, "(root)");
        let e = Config::from_json(br#"{"":1}"#).unwrap_err();
        assert_eq!(e.path, "(root)");
        assert!(e.message.contains("unknown field ``"), "{e}");
    }

    #[test]
    fn syntax_errors_and_cross_checks() {
        assert!(e("{").starts_with("(root): not valid JSON"));
        assert_eq!(e("[]"), "(root): expected a JSON object");
        assert!(e(r#"{} x"#).starts_with("(root): not valid JSON"));
        assert_eq!(
            e(r#"{"state":{"max_keys_per_host":4},"rules":{"fw_outbound_deny":{"min_count":5}}}"#),
            "rules.fw_outbound_deny.min_count: must not exceed state.max_keys_per_host (4), found 5"
        );
    }

    #[test]
    fn durations_accept_strings_and_seconds() {
        let c = Config::from_json(br#"{"rules":{"fw_outbound_deny":{"window":"1h 30m","dedup_window":90}}}"#).unwrap();
        let d = c.fw_outbound_deny.unwrap();
        assert_eq!(d.window_ms, 5_400_000);
        assert_eq!(d.dedup_ms, 90_000);
    }

    #[test]
    fn calendar_and_proxy_sections_name_their_paths() {
        assert_eq!(
            e(r#"{"calendar":{"start_hour":18,"end_hour":9}}"#),
            "calendar.end_hour: expected an hour after start_hour (18) and at most 24, found 9"
        );
        assert!(e(r#"{"calendar":{"business_days":["mon","funday"]}}"#).starts_with("calendar.business_days[1]: expected a day of the week"));
        assert!(e(r#"{"calendar":{"utc_offset":"JST"}}"#).starts_with("calendar.utc_offset: expected a UTC offset"));
        assert!(e(r#"{"calendar":{"holidays":["2026-02-30"]}}"#).starts_with("calendar.holidays[0]: expected a date"));
        assert!(e(r#"{"rare_destinations":{"allow":["ok.example","bad host"]}}"#).starts_with("rare_destinations.allow[1]: "));
        assert!(e(r#"{"rules":{"proxy_upload_volume":{"allow":["@"]}}}"#).starts_with("rules.proxy_upload_volume.allow[0]: "));
        assert_eq!(e(r#"{"rules":{"proxy_daily_beacon":{"min_days":17}}}"#), "rules.proxy_daily_beacon.min_days: expected at most 16 days, found 17");
        let c = Config::from_json(br#"{"calendar":{"utc_offset":"+09:00","business_days":["sat"]}}"#).unwrap();
        assert_eq!(c.calendar.offset_ms, 9 * 3_600_000);
        assert_eq!(c.calendar.business_days, [false, false, false, false, false, true, false]);
    }

    #[test]
    fn the_ascii_fast_path_agrees_with_the_url_host_parser() {
        let full = |d: &str| match url::Host::parse(d) {
            Ok(url::Host::Domain(s)) => Some(s),
            _ => None,
        };
        let cases = ["WWW.Example.COM", "a-b.example", "x.y.z.example", "Site9.example", "a.b", "ab--cd.example",
            "xn--nxasmq6b.example", "-a.example", "a-.example", "a..b", "1.2.3", "a.123", "0x7f.1", "a.0x1", "_dmarc.example"];
        for d in cases {
            if let Some(fast) = plain_ascii_domain(d) {
                assert_eq!(Some(fast), full(d), "{d}");
            }
        }
        assert!(plain_ascii_domain("WWW.Example.COM").is_some() && plain_ascii_domain("1.2.3").is_none());
        proptest::proptest!(|(d in "[a-zA-Z0-9.-]{1,24}")| {
            if let Some(fast) = plain_ascii_domain(&d) {
                proptest::prop_assert_eq!(Some(fast), full(&d), "{}", d);
            }
        });
    }

    #[test]
    fn disabled_rules_compile_to_none() {
        let c = Config::from_json(br#"{"rules":{"fw_outbound_deny":{"enabled":false},"fw_c2_ip":{"enabled":false}}}"#).unwrap();
        assert!(c.fw_outbound_deny.is_none() && c.fw_c2_ip.is_none());
    }
}
