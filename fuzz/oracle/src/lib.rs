//! The output contract as an oracle, for the `guest` and `differential` fuzz targets. Its own
//! crate so that fuzz/rustc-wrapper.sh can leave it uninstrumented: it parses every output
//! line, and with coverage hooks on each byte compare that cost several times the module's
//! own work, for coverage that says nothing about the detector.

use malhost::event::framing;
use serde_json::Value;

/// One input record: its line as cut by the framing (terminator removed) and its content
/// (byte order mark removed); `cut` when a host truncated it (replay's `max_line_bytes`).
pub struct Record<'a> {
    pub line: &'a [u8],
    pub content: &'a [u8],
    pub cut: bool,
}

/// The records of a batch, as [`framing::records`] counts them.
pub fn records(batch: &[u8]) -> Vec<Record<'_>> {
    framing::lines(batch).filter_map(|l| framing::content(l).map(|c| Record { line: l, content: c, cut: false })).collect()
}

/// How an output line answered its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The same bytes.
    Passed,
    /// An object built from the event (enriched).
    Enriched,
    /// An error record holding the line.
    Error,
}

/// An output line: valid JSON; parsed into a tree only when it may be an alert or an error
/// record (it names one), which keeps the check cheap.
pub struct Line<'a> {
    pub bytes: &'a [u8],
    pub json: Option<Value>,
    pub object: bool,
}

fn is_alert(l: &Line) -> bool {
    l.json.as_ref().and_then(|v| v.pointer("/event/dataset")).and_then(Value::as_str) == Some("malhost.alert")
}

/// The `error.type` of an error record that holds `r`'s line.
fn error_record_type<'v>(v: &'v Value, r: &Record) -> Option<&'v str> {
    if v.pointer("/event/kind").and_then(Value::as_str) != Some("pipeline_error") {
        return None;
    }
    let msg = v.get("message")?.as_str()?;
    let holds = |b: &[u8]| {
        if String::from_utf8_lossy(b) != msg {
            return false;
        }
        match v.pointer("/malhost/original_base64").and_then(Value::as_str) {
            Some(b64) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b64).is_ok_and(|d| d == b)
            }
            None => std::str::from_utf8(b).is_ok(),
        }
    };
    let stripped = r.content.strip_suffix(b"\r").unwrap_or(r.content);
    (holds(r.content) || holds(r.line) || holds(stripped)).then(|| v.pointer("/error/type").and_then(Value::as_str)).flatten()
}

fn answers(o: &Line, r: &Record) -> Option<Answer> {
    if !r.cut && o.bytes == r.content {
        return Some(Answer::Passed);
    }
    if o.json.as_ref().is_some_and(|v| error_record_type(v, r).is_some()) {
        return Some(Answer::Error);
    }
    let starts_object = r.content.trim_ascii_start().first() == Some(&b'{');
    (!r.cut && o.object && starts_object).then_some(Answer::Enriched)
}

/// The contract, checked from outside: every output line is terminated JSON, and the lines are
/// one answer per record, in order (the same bytes, an object made from it, or an error record
/// holding its line), each followed by its alerts (`event.dataset` `malhost.alert`). Returns
/// the answers' kinds; panics with the batch and the output when the contract is broken.
pub fn check(what: &str, input: &[u8], recs: &[Record], out: &[u8]) -> Vec<(Answer, Option<String>)> {
    macro_rules! fail {
        ($why:expr) => {
            contract_failure(what, input, recs.len(), out, $why)
        };
    }
    if !out.is_empty() && out.last() != Some(&b'\n') {
        fail!("the output's last line is not terminated".into());
    }
    let mut lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    lines.pop();
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let named = |s: &[u8]| memchr::memmem::find(l, s).is_some();
            let json = if named(b"malhost.alert") || named(b"pipeline_error") {
                serde_json::from_slice::<Value>(l).map(Some)
            } else {
                serde_json::from_slice::<serde::de::IgnoredAny>(l).map(|_| None)
            };
            match json {
                Ok(json) => Line { bytes: l, object: l.trim_ascii_start().first() == Some(&b'{'), json },
                Err(e) => fail!(format!("output line {} is not JSON ({e}): {:?}", i + 1, String::from_utf8_lossy(l))),
            }
        })
        .collect();
    let events = lines.iter().filter(|l| !is_alert(l)).count();
    let alerts = lines.len() - events;
    // Which records the first j lines can answer (an alert may also be an event passed on).
    let n = recs.len();
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    let mut reaches: Vec<Vec<bool>> = Vec::with_capacity(lines.len());
    for (j, o) in lines.iter().enumerate() {
        let alert = is_alert(o);
        let mut next = vec![false; n + 1];
        for i in 0..=n {
            if !reach[i] {
                continue;
            }
            if alert && i > 0 {
                next[i] = true;
            }
            if i < n && answers(o, &recs[i]).is_some() {
                next[i + 1] = true;
            }
        }
        if !next.iter().any(|&b| b) {
            fail!(format!("output line {} answers no record in order ({events} event lines, {alerts} alerts for {n} records)", j + 1));
        }
        reaches.push(std::mem::replace(&mut reach, next));
    }
    if !reach[n] {
        fail!(format!("{events} event lines and {alerts} alerts do not answer {n} records once each, in order"));
    }
    // Walk back along one way of reading the lines, for the kinds of the answers.
    let mut kinds = vec![(Answer::Passed, None); n];
    let mut i = n;
    for j in (0..lines.len()).rev() {
        let before = &reaches[j];
        match (i > 0 && before[i - 1]).then(|| answers(&lines[j], &recs[i - 1])).flatten() {
            Some(a) => {
                let t = if a == Answer::Error { lines[j].json.as_ref().and_then(|v| error_record_type(v, &recs[i - 1])).map(str::to_owned) } else { None };
                kinds[i - 1] = (a, t);
                i -= 1;
            }
            None => debug_assert!(before[i] && is_alert(&lines[j])),
        }
    }
    kinds
}

fn contract_failure(what: &str, input: &[u8], records: usize, out: &[u8], why: String) -> ! {
    panic!(
        "{what}: {why}\n--- input ({} bytes, {records} records) ---\n{:?}\n--- output ---\n{}",
        input.len(),
        String::from_utf8_lossy(input),
        String::from_utf8_lossy(out)
    )
}

/// Milliseconds since the Unix epoch, as the host's clock reads them.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
