//! Local time as the organisation lives it: the UTC offset, business days and hours, and
//! holidays (config section `calendar`).
//!
//! Everything is computed from event time, so replays are deterministic. A *local day* is a
//! day number since 1970-01-01 in local time. An *off-hours period* is the stretch between the
//! start of business on one local day and the start of business on the next: the evening and
//! night after a business day, or a whole non-business day. Its id is the local day on which
//! it starts, so Friday 19:00 and Saturday 03:00 both belong to "the night after Friday"
//! (with business from 09:00), and Saturday 10:00 to "Saturday".

use std::collections::HashSet;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Day-of-week names, Monday first, as written in the config.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Day-of-week names for people.
const WEEKDAY_LABELS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A compiled `calendar` section.
#[derive(Clone, Debug)]
pub struct Calendar {
    /// Offset of local time from UTC, ms.
    pub offset_ms: i64,
    /// Business days, Monday first.
    pub business_days: [bool; 7],
    /// First business hour (0–23).
    pub start_hour: u8,
    /// Hour business ends (1–24, after `start_hour`).
    pub end_hour: u8,
    /// Local days that are holidays.
    pub holidays: HashSet<i32>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            offset_ms: 0,
            business_days: [true, true, true, true, true, false, false],
            start_hour: 9,
            end_hour: 18,
            holidays: HashSet::new(),
        }
    }
}

impl Calendar {
    /// The local day of an event time.
    pub fn local_day(&self, ts_ms: i64) -> i32 {
        ts_ms.saturating_add(self.offset_ms).div_euclid(DAY_MS) as i32
    }

    /// Whether `day` is a business day (a business weekday that is not a holiday).
    pub fn is_business_day(&self, day: i32) -> bool {
        self.business_days[weekday(day)] && !self.holidays.contains(&day)
    }

    /// Whether an event time falls within business hours.
    pub fn is_business_time(&self, ts_ms: i64) -> bool {
        let local = ts_ms.saturating_add(self.offset_ms);
        let day = local.div_euclid(DAY_MS) as i32;
        let hour = (local.rem_euclid(DAY_MS) / HOUR_MS) as u8;
        self.is_business_day(day) && (self.start_hour..self.end_hour).contains(&hour)
    }

    /// The off-hours period an event time belongs to (meaningful outside business hours).
    pub fn off_hours_period(&self, ts_ms: i64) -> i32 {
        let shifted = ts_ms.saturating_add(self.offset_ms).saturating_sub(i64::from(self.start_hour) * HOUR_MS);
        shifted.div_euclid(DAY_MS) as i32
    }

    /// Describes an off-hours period for an analyst: `night after Fri 2026-11-20`,
    /// `Sat 2026-11-21 (non-business day)` or `Tue 2026-11-03 (holiday)`.
    pub fn describe_period(&self, period: i32) -> String {
        let day = format!("{} {}", WEEKDAY_LABELS[weekday(period)], format_day(period));
        if self.is_business_day(period) {
            format!("night after {day}")
        } else if self.holidays.contains(&period) {
            format!("{day} (holiday)")
        } else {
            format!("{day} (non-business day)")
        }
    }

    /// Local wall-clock time of an event, `HH:MM`.
    pub fn local_clock(&self, ts_ms: i64) -> String {
        let m = ts_ms.saturating_add(self.offset_ms).rem_euclid(DAY_MS) / 60_000;
        format!("{:02}:{:02}", m / 60, m % 60)
    }

    /// The offset as `+HH:MM`.
    pub fn offset_string(&self) -> String {
        format_offset(self.offset_ms)
    }
}

/// Day of week of a local day, Monday = 0 (1970-01-01 was a Thursday).
pub fn weekday(day: i32) -> usize {
    (i64::from(day) + 3).rem_euclid(7) as usize
}

/// `YYYY-MM-DD` of a local day.
pub fn format_day(day: i32) -> String {
    match jiff::Timestamp::from_second(i64::from(day) * 86_400) {
        Ok(ts) => jiff::tz::Offset::UTC.to_datetime(ts).date().to_string(),
        Err(_) => format!("day {day}"),
    }
}

/// Parses `YYYY-MM-DD` into a day number.
pub fn parse_day(s: &str) -> Option<i32> {
    let d: jiff::civil::Date = s.trim().parse().ok()?;
    let ts = jiff::tz::Offset::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())).ok()?;
    Some(ts.as_second().div_euclid(86_400) as i32)
}

/// Parses a UTC offset: `+09:00`, `-05:30`, `+0900`, `Z` or `UTC`. At most ±18 hours.
pub fn parse_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None if rest.len() <= 2 => (rest, "0"),
        None => return None,
    };
    if h.is_empty() || h.len() > 2 || m.is_empty() || m.len() > 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h * 60 + m > 18 * 60 {
        return None;
    }
    Some(sign * (h * HOUR_MS + m * 60_000))
}

/// Formats an offset as `+HH:MM`.
pub fn format_offset(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let m = ms.abs() / 60_000;
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+09:00"), Some(9 * HOUR_MS));
        assert_eq!(parse_offset("-0530"), Some(-(5 * HOUR_MS + 30 * 60_000)));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("+9"), Some(9 * HOUR_MS));
        for bad in ["09:00", "+19:00", "+09:60", "+", "+a:00", "+123:00", "+09:00:00"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        assert_eq!(format_offset(-(5 * HOUR_MS + 30 * 60_000)), "-05:30");
    }

    #[test]
    fn local_days_follow_the_offset() {
        let tokyo = Calendar { offset_ms: 9 * HOUR_MS, ..Calendar::default() };
        // 2026-11-20T15:30Z is 2026-11-21 00:30 in Tokyo.
        let t = ts("2026-11-20T15:30:00Z");
        assert_eq!(format_day(Calendar::default().local_day(t)), "2026-11-20");
        assert_eq!(format_day(tokyo.local_day(t)), "2026-11-21");
        assert_eq!(parse_day("2026-11-21"), Some(tokyo.local_day(t)));
        assert_eq!(tokyo.local_clock(t), "00:30");
        // Before 1970 floors, not truncates.
        assert_eq!(Calendar::default().local_day(-1), -1);
    }

    #[test]
    fn business_hours_days_and_holidays() {
        let mut c = Calendar { offset_ms: 9 * HOUR_MS, ..Calendar::default() };
        // 2026-11-20 is a Friday.
        assert_eq!(WEEKDAYS[weekday(parse_day("2026-11-20").unwrap())], "fri");
        assert!(c.is_business_time(ts("2026-11-20T00:00:00Z"))); // 09:00 Fri JST
        assert!(!c.is_business_time(ts("2026-11-19T23:59:59Z"))); // 08:59 Fri JST
        assert!(!c.is_business_time(ts("2026-11-20T09:00:00Z"))); // 18:00 Fri JST
        assert!(!c.is_business_time(ts("2026-11-21T01:00:00Z"))); // 10:00 Sat JST
        c.holidays.insert(parse_day("2026-11-20").unwrap());
        assert!(!c.is_business_time(ts("2026-11-20T01:00:00Z")), "holiday");
    }

    #[test]
    fn off_hours_periods_run_from_business_start_to_business_start() {
        let c = Calendar { offset_ms: 9 * HOUR_MS, ..Calendar::default() };
        let fri = parse_day("2026-11-20").unwrap();
        let fri_evening = c.off_hours_period(ts("2026-11-20T10:00:00Z")); // Fri 19:00 JST
        let sat_night = c.off_hours_period(ts("2026-11-20T18:00:00Z")); // Sat 03:00 JST
        let sat_day = c.off_hours_period(ts("2026-11-21T01:00:00Z")); // Sat 10:00 JST
        assert_eq!((fri_evening, sat_night, sat_day), (fri, fri, fri + 1));
        assert_eq!(c.describe_period(fri), "night after Fri 2026-11-20");
        assert_eq!(c.describe_period(fri + 1), "Sat 2026-11-21 (non-business day)");
    }
}
