//! Event time: `@timestamp` as RFC 3339 (any offset) or as epoch seconds / milliseconds.
//!
//! Numbers (or numeric strings) below 10^11 are seconds (10^11 s is the year 5138), larger
//! ones milliseconds; fractions are kept to the millisecond. Every window and dedup decision
//! uses this time, never the wall clock, so a replay always gives the same output.

use super::Scalar;

const MS_THRESHOLD: f64 = 1e11;

/// Milliseconds since the Unix epoch, or a sentence saying what is wrong.
pub fn timestamp_ms(v: Option<&Scalar>) -> Result<i64, String> {
    match v {
        None | Some(Scalar::Null) => Err("missing; rules need event time".into()),
        Some(Scalar::U64(n)) => from_number(*n as f64),
        Some(Scalar::I64(n)) => from_number(*n as f64),
        Some(Scalar::F64(x)) => from_number(*x),
        Some(Scalar::Str(s)) => parse_str(s),
        Some(Scalar::Num(s)) => Err(format!("not a valid epoch time: {s}")),
        Some(_) => Err("expected an RFC 3339 string or epoch seconds/milliseconds".into()),
    }
}

fn from_number(x: f64) -> Result<i64, String> {
    if !x.is_finite() || x < 0.0 {
        return Err(format!("not a valid epoch time: {x}"));
    }
    let ms = if x < MS_THRESHOLD { x * 1000.0 } else { x };
    // jiff's range (year 9999) bounds what we accept, so later formatting cannot fail.
    if ms > 253_402_300_799_999.0 {
        return Err(format!("epoch time out of range: {x}"));
    }
    Ok(ms.floor() as i64)
}

fn parse_str(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return match t.parse::<f64>() {
            Ok(x) => from_number(x),
            Err(_) => Err(format!("not a valid epoch time: {:?}", t)),
        };
    }
    match t.parse::<jiff::Timestamp>() {
        Ok(ts) => Ok(ts.as_millisecond()),
        Err(e) => Err(format!("not an RFC 3339 time with offset: {:?} ({e})", super::truncate(t, 64))),
    }
}

/// Formats epoch milliseconds as RFC 3339 in UTC (`2024-05-01T10:00:00.250Z`).
pub fn format_ms(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn s(v: &str) -> Scalar<'_> {
        Scalar::Str(Cow::Borrowed(v))
    }

    #[test]
    fn rfc3339_with_any_offset() {
        let z = timestamp_ms(Some(&s("2024-05-01T10:00:00Z"))).unwrap();
        assert_eq!(timestamp_ms(Some(&s("2024-05-01T19:00:00+09:00"))).unwrap(), z);
        assert_eq!(timestamp_ms(Some(&s("2024-05-01T10:00:00.250Z"))).unwrap(), z + 250);
        assert_eq!(timestamp_ms(Some(&s("2024-05-01 10:00:00Z"))).unwrap(), z);
    }

    #[test]
    fn epoch_seconds_and_millis() {
        let z = 1_714_557_600_000;
        assert_eq!(timestamp_ms(Some(&Scalar::U64(1_714_557_600))).unwrap(), z);
        assert_eq!(timestamp_ms(Some(&Scalar::U64(1_714_557_600_000))).unwrap(), z);
        assert_eq!(timestamp_ms(Some(&Scalar::F64(1_714_557_600.5))).unwrap(), z + 500);
        assert_eq!(timestamp_ms(Some(&s("1714557600"))).unwrap(), z);
    }

    #[test]
    fn bad_times_are_errors() {
        assert!(timestamp_ms(None).is_err());
        assert!(timestamp_ms(Some(&s("2024-05-01T10:00:00"))).is_err(), "no offset");
        assert!(timestamp_ms(Some(&s("yesterday"))).is_err());
        assert!(timestamp_ms(Some(&Scalar::I64(-5))).is_err());
        assert!(timestamp_ms(Some(&Scalar::F64(1e300))).is_err());
        assert!(timestamp_ms(Some(&Scalar::Bool(true))).is_err());
    }

    #[test]
    fn formats_utc_millis() {
        assert_eq!(format_ms(1_714_557_600_250), "2024-05-01T10:00:00.250Z");
    }
}
