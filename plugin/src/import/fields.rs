//! Helpers shared by the importers: building an event through dotted paths ([`Ev`]),
//! protocol names, syslog and civil times to RFC 3339 in UTC, and short excerpts for error
//! messages. Address parsing and the deny words are the detector's own
//! ([`crate::event::parse_ip`], [`crate::event::is_deny_word`]), so imported events read the
//! way the rules read them.

use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::ImportOptions;

/// An event under construction: a JSON object written through dotted paths.
pub(crate) struct Ev(Map<String, Value>);

impl Ev {
    /// `@timestamp`, `event.kind: event`, `event.dataset`, `event.original`.
    pub(crate) fn new(ts: &str, dataset: &str, original: &str) -> Self {
        let mut ev = Ev(Map::new());
        ev.set("@timestamp", json!(ts));
        ev.set("event.kind", json!("event"));
        ev.set("event.dataset", json!(dataset));
        ev.set("event.original", json!(original));
        ev
    }

    /// Sets a nested field (`a.b.c`), creating the objects on the way.
    pub(crate) fn set(&mut self, path: &str, v: Value) {
        let mut obj = &mut self.0;
        let mut parts = path.split('.').peekable();
        while let Some(p) = parts.next() {
            if parts.peek().is_none() {
                obj.insert(p.to_string(), v);
                return;
            }
            let slot = obj.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(next) = slot else { return };
            obj = next;
        }
    }

    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// A protocol name or IANA number → (`network.transport`, `network.iana_number`). `ip` and
/// unreadable words give neither.
pub(crate) fn transport(raw: &str) -> (Option<String>, Option<u8>) {
    let l = raw.trim().to_ascii_lowercase();
    if let Ok(n) = l.parse::<u8>() {
        let name = match n {
            1 => Some("icmp"),
            2 => Some("igmp"),
            6 => Some("tcp"),
            17 => Some("udp"),
            47 => Some("gre"),
            50 => Some("esp"),
            51 => Some("ah"),
            58 => Some("ipv6-icmp"),
            132 => Some("sctp"),
            _ => None,
        };
        return (name.map(str::to_string), Some(n));
    }
    let (name, n) = match l.as_str() {
        "icmp" => ("icmp", Some(1)),
        "igmp" => ("igmp", Some(2)),
        "tcp" => ("tcp", Some(6)),
        "udp" => ("udp", Some(17)),
        "gre" => ("gre", Some(47)),
        "esp" => ("esp", Some(50)),
        "ah" => ("ah", Some(51)),
        "icmpv6" | "icmp6" | "ipv6-icmp" => ("ipv6-icmp", Some(58)),
        "sctp" => ("sctp", Some(132)),
        "" | "ip" | "ipv6" => return (None, None),
        other => {
            if other.len() > 16 || !other.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return (None, None);
            }
            (other, None)
        }
    };
    (Some(name.to_string()), n)
}

/// Sets `network.transport` and `network.iana_number` from a protocol word.
pub(crate) fn set_transport(ev: &mut Ev, raw: &str) {
    let (name, n) = transport(raw);
    if let Some(name) = name {
        ev.set("network.transport", json!(name));
    }
    if let Some(n) = n {
        ev.set("network.iana_number", json!(n.to_string()));
    }
}

/// At most `max` ASCII digits → a number.
pub(crate) fn digits<T: std::str::FromStr>(s: &str, max: usize) -> Option<T> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A short, char-boundary-safe excerpt for error messages.
pub(crate) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// `Jan`..`Dec` or the full English name (any case) → 1..12.
pub(crate) fn month_number(s: &str) -> Option<i8> {
    const M: [&str; 12] = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
        "december",
    ];
    if s.len() < 3 || s.len() > 9 || !s.is_ascii() {
        return None;
    }
    let l = s.to_ascii_lowercase();
    M.iter().position(|m| *m == l || (l.len() == 3 && m.starts_with(l.as_str()))).map(|i| i as i8 + 1)
}

/// `YYYY-MM-DD`, the parts split by any of `separators` → (year, month, day), not checked
/// against the calendar.
pub(crate) fn date_parts(s: &str, separators: &[char]) -> Option<(i32, i8, i8)> {
    let mut it = s.split(separators);
    let y = digits(it.next()?, 4)?;
    let m = digits(it.next()?, 2)?;
    let d = digits(it.next()?, 2)?;
    if it.next().is_some() {
        return None;
    }
    Some((y, m, d))
}

/// `hh:mm:ss[.fraction]` → (hour, minute, second, nanosecond).
pub(crate) fn clock(s: &str) -> Option<(i8, i8, i8, i32)> {
    let mut it = s.splitn(3, ':');
    let h = digits(it.next()?, 2)?;
    let m = digits(it.next()?, 2)?;
    let rest = it.next()?;
    let (sec, frac) = match rest.split_once(['.', ',']) {
        Some((s, f)) => (s, f),
        None => (rest, ""),
    };
    let sec = digits(sec, 2)?;
    let nanos = if frac.is_empty() {
        0
    } else {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: i32 = frac.parse().ok()?;
        n * 10i32.pow(9 - frac.len() as u32)
    };
    Some((h, m, sec, nanos))
}

/// A civil date-time at `offset_ms` from UTC → RFC 3339 in UTC.
pub(crate) fn utc_rfc3339(dt: DateTime, offset_ms: i64) -> Option<String> {
    let ts = jiff::tz::Offset::UTC.to_timestamp(dt).ok()?;
    let ts = ts.checked_sub(SignedDuration::from_millis(offset_ms)).ok()?;
    Some(ts.to_string())
}

/// Date parts → RFC 3339 in UTC, `None` when they are not a real date and time.
pub(crate) fn civil_rfc3339(y: i32, mo: i8, d: i8, (h, mi, s, ns): (i8, i8, i8, i32), offset_ms: i64) -> Option<String> {
    let y = i16::try_from(y).ok()?;
    let dt = DateTime::new(y, mo, d, h, mi, s, ns).ok()?;
    utc_rfc3339(dt, offset_ms)
}

/// ISO 8601 `2019-10-11T14:35:34[.f][Z|±hh:mm]` (or a space instead of `T`); without an
/// offset the time is local at `offset_ms`.
pub(crate) fn iso_rfc3339(s: &str, offset_ms: i64) -> Option<String> {
    if s.len() > 64 {
        return None;
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts.to_string());
    }
    let dt = s.parse::<DateTime>().ok()?;
    utc_rfc3339(dt, offset_ms)
}

/// Offsets (seconds) of unambiguous zone abbreviations.
fn zone_offset(name: &str) -> Option<i64> {
    Some(match name {
        "UTC" | "GMT" | "Z" => 0,
        "EST" => -5 * 3600,
        "EDT" => -4 * 3600,
        "MST" => -7 * 3600,
        "MDT" => -6 * 3600,
        "PST" => -8 * 3600,
        "PDT" => -7 * 3600,
        "CET" => 3600,
        "CEST" => 2 * 3600,
        _ => return None,
    })
}

/// Splits off the first whitespace-separated token: (token, rest after it).
pub(crate) fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Reads a syslog time at the start of `s` (after an optional `<PRI>` and RFC 5424 version):
/// `Jun 25 10:23:39`, `Jun 25 2019 10:23:39`, an ISO 8601 time, each optionally followed by
/// `:` and a zone abbreviation. Returns the time as RFC 3339 UTC and the rest of `s`.
pub(crate) fn leading_time<'a>(s: &'a str, opts: &ImportOptions) -> Option<(String, &'a str)> {
    let mut s = s.trim_start();
    if let Some(r) = s.strip_prefix('<')
        && let Some((pri, rest)) = r.split_once('>')
        && (1..=3).contains(&pri.len())
        && pri.bytes().all(|b| b.is_ascii_digit())
    {
        s = rest.trim_start();
    }
    if let Some(r) = s.strip_prefix("1 ")
        && r.as_bytes().get(4) == Some(&b'-')
    {
        s = r;
    }
    let (t1, rest) = token(s);
    let b = t1.as_bytes();
    if b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        let t1 = t1.trim_end_matches(':');
        if t1.len() == 10 {
            // `2019-10-11 14:35:34`
            let (t2, rest2) = token(rest);
            let joined = format!("{t1}T{}", t2.trim_end_matches(':'));
            let ts = iso_rfc3339(&joined, opts.utc_offset_ms)?;
            return Some((ts, rest2));
        }
        let ts = iso_rfc3339(t1, opts.utc_offset_ms)?;
        return Some((ts, rest));
    }
    let month = month_number(t1)?;
    let (t2, rest) = token(rest);
    let day: i8 = digits(t2, 2)?;
    let (t3, rest) = token(rest);
    let (year, time, rest) = if t3.len() == 4 && t3.bytes().all(|b| b.is_ascii_digit()) {
        let (t4, rest) = token(rest);
        (digits::<i32>(t3, 4)?, t4, rest)
    } else {
        (opts.syslog_year, t3, rest)
    };
    let hms = clock(time.trim_end_matches(':'))?;
    let (zone, after_zone) = token(rest);
    let (offset_ms, rest) = match zone_offset(zone.trim_end_matches(':')) {
        Some(secs) => (secs * 1000, after_zone),
        None => (opts.utc_offset_ms, rest),
    };
    let ts = civil_rfc3339(year, month, day, hms, offset_ms)?;
    Some((ts, rest))
}

/// Epoch seconds (with a fraction) → RFC 3339 in UTC with milliseconds; `None` out of range.
pub(crate) fn epoch_rfc3339(secs: f64) -> Option<String> {
    let ms = (secs * 1000.0).floor();
    if !(0.0..=253_402_300_799_999.0).contains(&ms) {
        return None;
    }
    let ts = Timestamp::from_millisecond(ms as i64).ok()?;
    Some(format!("{ts:.3}"))
}
