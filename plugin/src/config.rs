//! The operator's configuration: one JSON document (schema: `schemas/config.schema.json`).
//!
//! Parsing is two-staged, as in Vector: serde reads the raw document (unknown keys are
//! errors), then [`Config::from_json`] compiles lists into matchers and checks values that
//! depend on each other. Every error names the JSON path of the problem, e.g.
//! `rules.fw_outbound_deny.min_count: expected a positive integer, found 0`. Compilation is
//! all-or-nothing: the caller swaps a config in only once it compiled.

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::netlist::{NetMatcher, NetSpec};

pub use crate::rules::shared::{ADDRESS_SPACE_BYTES, DestinationAllow, MAX_KEYS_PER_HOST, MAX_TABLE_ENTRIES, MemoryEstimate, RareDestinations, Shared, StateLimits};
pub use crate::webhost::normalise_domain;
pub use crate::values::{ConfigError, Duration, PositiveInt, Severity};
use crate::rules::registry::{CompileContext, RawRules, Rules};
use crate::values::{NetEntry, err};

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
    #[serde(default = "d_max_future")]
    max_future: Duration,
}
fn d_max_line() -> PositiveInt {
    PositiveInt::new(1 << 20)
}
fn d_max_future() -> Duration {
    Duration::secs(2 * 86_400)
}
impl Default for RawLimits {
    fn default() -> Self {
        RawLimits { max_line_bytes: d_max_line(), max_future: d_max_future() }
    }
}

















// ---- compiled configuration --------------------------------------------------------------























/// A compiled configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seed of the hashers keyed by attacker-controlled values; `None` takes the seed the
    /// host supplies ([`crate::Detector::set_host_seed`]), which should be secret and random.
    pub hash_seed: Option<u64>,
    /// Lines longer than this become error records.
    pub max_line_bytes: usize,
    /// Event times further than this ahead of the host's clock are not used by the rules
    /// over time (`limits.max_future`; no check without a host clock).
    pub max_future_ms: i64,
    /// Formats tried on the `message` of events of no known source (none by default), and
    /// their settings.
    pub raw_messages: (Vec<crate::import::Format>, crate::import::ImportOptions),
    /// What the rules share: internal networks, state limits, calendar, rare destinations.
    pub shared: Shared,
    /// Every rule, compiled (`None` when off).
    pub rules: Rules,
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
        for (name, v, max) in [
            ("max_hosts", raw.state.max_hosts, MAX_TABLE_ENTRIES),
            ("max_keys_per_host", raw.state.max_keys_per_host, MAX_KEYS_PER_HOST),
            ("max_destinations", raw.state.max_destinations, MAX_TABLE_ENTRIES),
            ("max_messages", raw.state.max_messages, MAX_TABLE_ENTRIES),
        ] {
            if v.get() > max {
                return Err(err(&format!("state.{name}"), format!("expected at most {max}, found {}", v.get())));
            }
        }
        let state = StateLimits {
            max_hosts: raw.state.max_hosts.get() as usize,
            max_keys_per_host: raw.state.max_keys_per_host.get() as usize,
            max_destinations: raw.state.max_destinations.get() as usize,
            max_messages: raw.state.max_messages.get() as usize,
        };
        let full = state.memory_estimate(u64::from(raw.rare_destinations.max_hosts.get()) + 1).tables_full;
        if full > ADDRESS_SPACE_BYTES {
            return Err(err(
                "state",
                format!(
                    "full tables would take about {} MiB, more than the module's 4 GiB address space: lower max_hosts, max_destinations or max_messages",
                    full >> 20
                ),
            ));
        }

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
        let shared = Shared { internal, state, calendar, rare_destinations };
        let cx = CompileContext { key: "", state: &shared.state, calendar: &shared.calendar, rare: &shared.rare_destinations };
        let rules = Rules::compile(raw.rules, &cx)?;
        Ok(Config {
            hash_seed: raw.hash_seed,
            max_line_bytes: raw.limits.max_line_bytes.get() as usize,
            max_future_ms: raw.limits.max_future.ms,
            raw_messages,
            shared,
            rules,
        })
    }

    /// Whether an address belongs to the internal networks.
    pub fn is_internal(&self, ip: std::net::IpAddr) -> bool {
        self.shared.is_internal(ip)
    }
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
        let d = c.rules.fw_outbound_deny.unwrap();
        assert_eq!(d.watched_ports, vec![25, 80, 443, 8080]);
        assert_eq!(d.min_count, 5);
        assert_eq!(d.window_ms, 600_000);
        assert!(c.shared.internal.contains("10.1.2.3".parse().unwrap(), None));
        assert!(c.shared.internal.contains("fd00::1".parse().unwrap(), None));
        assert!(!c.shared.internal.contains("8.8.8.8".parse().unwrap(), None));
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
        let d = c.rules.fw_outbound_deny.unwrap();
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
        assert_eq!(c.shared.calendar.offset_ms, 9 * 3_600_000);
        assert_eq!(c.shared.calendar.business_days, [false, false, false, false, false, true, false]);
    }

    #[test]
    fn disabled_rules_compile_to_none() {
        let c = Config::from_json(br#"{"rules":{"fw_outbound_deny":{"enabled":false},"fw_c2_ip":{"enabled":false}}}"#).unwrap();
        assert!(c.rules.fw_outbound_deny.is_none() && c.rules.fw_c2_ip.is_none());
    }
}
