//! The operator's configuration: one JSON document (schema: `schemas/config.schema.json`).
//!
//! Parsing is two-staged, as in Vector: serde reads the raw document (unknown keys are
//! errors), then [`Config::from_json`] compiles lists into matchers and checks values that
//! depend on each other. Every error names the JSON path of the problem, e.g.
//! `rules.fw_outbound_deny.min_count: expected a positive integer, found 0`. Compilation is
//! all-or-nothing: the caller swaps a config in only once it compiled.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::netlist::{NetMatcher, NetSpec};

pub use crate::rules::shared::{ADDRESS_SPACE_BYTES, DestinationAllow, MAX_KEYS_PER_HOST, MAX_TABLE_ENTRIES, MemoryEstimate, RareDestinations, Shared, StateLimits};
pub use crate::webhost::normalise_domain;
pub use crate::values::{ConfigError, Duration, PositiveInt, Severity};
use crate::rules::registry::{CompileContext, RawRules, Rules};
use crate::values::{NetEntry, err};

// ---- raw document ----------------------------------------------------------------------

/// The one JSON document an operator gives the detector (module `configure`, `malhost replay
/// --config`). Every key is optional; an absent key takes the stated default, so `{}` is a
/// valid configuration. Unknown keys are errors at every level. Some checks are beyond JSON
/// Schema and made only by malhost (see `host-test/config-cases/README.md`):
/// `rules.fw_outbound_deny.min_count` must not exceed `state.max_keys_per_host` (while the
/// rule is enabled), full tables must fit in the module's address space, a duration written
/// as a string must come to between 1 ms and 366 days, business hours must end after they
/// start, and integers must be written without a fraction (`600`, not `600.0`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
#[schemars(title = "malhost configuration", extend("$id" = "https://malhost.invalid/schemas/config.schema.json"))]
struct RawConfig {
    /// Where editors find this schema. Ignored by malhost.
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    /// Networks whose hosts are ours: the hosts that fw.outbound_deny watches, and the
    /// destinations it does not count. `null` or absent means the default.
    #[serde(default)]
    #[schemars(extend("default" = DEFAULT_INTERNAL_NETWORKS))]
    internal_networks: Option<Vec<NetEntry>>,
    /// Seed of the hash functions (keyed SipHash-1-3) keyed by attacker-controlled values
    /// (host and destination tables, dedup keys). Leave it out to take the host's secret
    /// random seed (malhost_seed; the CLI and the WASI flavour draw one); a fixed value lets
    /// anyone who learns it craft colliding keys. Changing it at run time starts from empty
    /// state.
    #[serde(default)]
    #[schemars(extend("maximum" = u64::MAX))]
    hash_seed: Option<u64>,
    /// Bounds of the per-host state. Tables grow with use, not with their caps; a config whose
    /// full tables would not fit in the module's 4 GiB address space is refused, and `malhost
    /// check-config` says how much memory a config can need.
    #[serde(default)]
    state: RawState,
    /// Input limits.
    #[serde(default)]
    limits: RawLimits,
    /// Local time of the organisation: the UTC offset that local days follow
    /// (proxy.daily_beacon) and the business hours (proxy.off_hours).
    #[serde(default)]
    calendar: RawCalendar,
    /// What a rare web destination is, for proxy.daily_beacon and proxy.off_hours. A
    /// destination is a registered domain (public suffix list) or an IP address.
    #[serde(default)]
    rare_destinations: RawRareDestinations,
    /// Events of no known source whose `message` is a raw log line: the first of these formats
    /// that reads the line turns it into ECS fields (the event's own keys win), and the event
    /// is detected and written out normalised. Off by default.
    #[serde(default)]
    raw_messages: RawRawMessages,
    /// Per-rule settings: one section per rule, `rules.<key>`.
    #[serde(default)]
    rules: RawRules,
    /// Host verdicts: how the alerts about a host add up to its risk score and level, and
    /// when a malhost.host_risk alert says so (see the README's "Host verdicts").
    #[serde(default)]
    host_risk: crate::rules::registry::Section<crate::verdict::Settings>,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object")]
#[schemars(inline)]
struct RawRawMessages {
    /// Raw-message formats to try, in order.
    #[serde(default)]
    #[schemars(schema_with = "raw_formats_schema")]
    formats: Vec<String>,
    /// Offset of times written without one.
    #[serde(default = "d_offset")]
    utc_offset: UtcOffset,
    /// Year of syslog times that name none.
    #[serde(default)]
    #[schemars(range(min = 1970, max = 9999), extend("default" = crate::import::ImportOptions::default().syslog_year))]
    syslog_year: Option<i32>,
    /// iptables/nftables log prefixes that mean dropped (case-insensitive substrings).
    #[serde(default)]
    #[schemars(extend("default" = crate::import::ImportOptions::default().deny_prefixes))]
    deny_prefixes: Option<Vec<String>>,
}

/// `raw_messages.formats`: the names [`crate::import::Format::from_name`] reads.
fn raw_formats_schema(_: &mut SchemaGenerator) -> Schema {
    let mut names: Vec<String> = Vec::new();
    for f in crate::import::Format::ALL {
        let name = f.name();
        names.push(name.to_owned());
        let dashed = name.replace('_', "-");
        if dashed != name && crate::import::Format::from_name(&dashed).is_some() {
            names.push(dashed);
        }
    }
    json_schema!({
        "description": "Raw-message formats to try, in order.",
        "type": "array",
        "items": {"type": "string", "enum": names},
        "default": []
    })
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object")]
#[schemars(inline)]
struct RawCalendar {
    /// Offset of local time from UTC: "+09:00", "-05:30", "+0900", "Z" or "UTC"; at most
    /// ±18:00.
    #[serde(default = "d_offset")]
    utc_offset: UtcOffset,
    /// Days of the week with business hours.
    #[serde(default = "d_business_days")]
    business_days: Vec<WeekdayName>,
    /// First hour of business (local).
    #[serde(default = "d_start_hour")]
    #[schemars(range(max = 23))]
    start_hour: u8,
    /// Hour business ends (local, exclusive; after start_hour).
    #[serde(default = "d_end_hour")]
    #[schemars(range(min = 1, max = 24))]
    end_hour: u8,
    /// Local dates without business hours.
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

/// The schema of an offset: what [`crate::calendar::parse_offset`] reads.
const UTC_OFFSET_PATTERN: &str = r"^\s*(?:[Zz]|[Uu][Tt][Cc]|[+-][0-9]{1,2}(?::?[0-9]{2})?)\s*$";

impl JsonSchema for UtcOffset {
    fn schema_name() -> Cow<'static, str> {
        "utcOffset".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": UTC_OFFSET_PATTERN})
    }
}

impl Serialize for UtcOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let minutes = self.0 / 60_000;
        let sign = if minutes < 0 { '-' } else { '+' };
        s.collect_str(&format_args!("{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60))
    }
}

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

impl JsonSchema for WeekdayName {
    fn schema_name() -> Cow<'static, str> {
        "weekday".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Each name in any case: the full names first, so that "monday" is not read as "mon".
        const FULL: [&str; 7] = ["wednesday", "thursday", "saturday", "tuesday", "monday", "friday", "sunday"];
        let any_case = |name: &str| -> String {
            name.chars().map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c)).collect()
        };
        let names: Vec<String> = FULL.iter().chain(crate::calendar::WEEKDAYS.iter()).map(|n| any_case(n)).collect();
        json_schema!({"type": "string", "pattern": format!(r"^\s*(?:{})\s*$", names.join("|"))})
    }
}

impl Serialize for WeekdayName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::calendar::WEEKDAYS[self.0 % 7])
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

impl JsonSchema for HolidayDate {
    fn schema_name() -> Cow<'static, str> {
        "date".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date", "pattern": r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$"})
    }
}

impl Serialize for HolidayDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::calendar::format_day(self.0))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object")]
#[schemars(inline)]
struct RawRareDestinations {
    /// A destination reached by at most this many distinct hosts within the period is rare.
    #[serde(default = "d_rare_max_hosts")]
    #[schemars(extend("maximum" = crate::rules::shared::MAX_RARE_HOSTS))]
    max_hosts: PositiveInt,
    /// Tracking period the distinct hosts are counted over, before each request.
    #[serde(default = "d_rare_period")]
    period: Duration,
    /// Destinations never treated as rare: domains (their subdomains too), IP addresses or
    /// CIDR blocks.
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object")]
#[schemars(inline)]
struct RawState {
    /// Hosts tracked at most; beyond it the least recently seen host is evicted.
    #[serde(default = "d_max_hosts")]
    #[schemars(extend("maximum" = MAX_TABLE_ENTRIES))]
    max_hosts: PositiveInt,
    /// Keys (window entries, dedup keys) kept per host and rule at most.
    #[serde(default = "d_max_keys")]
    #[schemars(extend("maximum" = MAX_KEYS_PER_HOST))]
    max_keys_per_host: PositiveInt,
    /// Web destinations whose distinct hosts are counted, at most; beyond it the least
    /// recently seen is evicted.
    #[serde(default = "d_max_destinations")]
    #[schemars(extend("maximum" = MAX_TABLE_ENTRIES))]
    max_destinations: PositiveInt,
    /// Mail message ids remembered so that a message logged several times alerts once per
    /// rule; least recently seen forgotten beyond.
    #[serde(default = "d_max_destinations")]
    #[schemars(extend("maximum" = MAX_TABLE_ENTRIES))]
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object")]
#[schemars(inline)]
struct RawLimits {
    /// An input line longer than this many bytes becomes an error record.
    #[serde(default = "d_max_line")]
    max_line_bytes: PositiveInt,
    /// Event times further than this ahead of the host's clock (the `malhost` CLI and Fluent
    /// Bit give the module one) are not used by the rules over time: the event gets a field
    /// error on `@timestamp` instead of poisoning per-host windows. No check where the host
    /// gives no clock.
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
    /// Host verdicts (`None` when off).
    pub host_risk: Option<crate::verdict::HostRisk>,
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

/// The config document's JSON Schema, generated from the settings types (their doc comments
/// are its descriptions, their `Default`s its defaults) and the rule registry (each rule's
/// section titled with its key and described by what its alerts mean). This is
/// `schemas/config.schema.json`; `malhost schema` prints it and a test keeps the file current.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut doc = generator.into_root_schema_for::<RawConfig>().to_value();
    unwrap_descriptions(&mut doc);
    if let Some(sections) = doc.pointer_mut("/properties/rules/properties").and_then(|v| v.as_object_mut()) {
        for rule in crate::rules::registry::REGISTRY {
            if let Some(section) = sections.get_mut(rule.key).and_then(|v| v.as_object_mut()) {
                let what: Vec<String> = rule.info.alerts.iter().map(|m| format!("`{}`: {}", m.id, m.description)).collect();
                section.insert("title".into(), format!("rules.{}", rule.key).into());
                section.insert("description".into(), what.join(" ").into());
            }
        }
    }
    doc
}

/// Joins the lines of every description (doc comments are wrapped at 96 columns; a schema's
/// reader wraps text itself), keeping paragraphs.
fn unwrap_descriptions(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    serde_json::Value::String(text) if key == "description" => {
                        let paragraphs: Vec<String> = text.split("\n\n").map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" ")).collect();
                        *text = paragraphs.join("\n\n");
                    }
                    _ => unwrap_descriptions(value),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
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
        if r.max_hosts.get() > crate::rules::shared::MAX_RARE_HOSTS {
            return Err(err("rare_destinations.max_hosts", format!("expected at most {}, found {}", crate::rules::shared::MAX_RARE_HOSTS, r.max_hosts.get())));
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
        let host_risk = match raw.host_risk {
            crate::rules::registry::Section { enabled: true, settings } => Some(settings.compile()?),
            _ => None,
        };
        Ok(Config {
            hash_seed: raw.hash_seed,
            max_line_bytes: raw.limits.max_line_bytes.get() as usize,
            max_future_ms: raw.limits.max_future.ms,
            raw_messages,
            shared,
            rules,
            host_risk,
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
        assert_eq!(d.settings.watched_ports.as_slice(), [25, 80, 443, 8080]);
        assert_eq!(d.settings.min_count.get(), 5);
        assert_eq!(d.settings.window.ms, 600_000);
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
        assert_eq!(d.settings.window.ms, 5_400_000);
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
