//! Fluent Bit's `filter_wasm` (JSON event format), as safe Rust: one record in, one record
//! out. The `extern "C"` export `malhost_filter` (in `exports`) wraps [`FluentBitFilter`].
//!
//! - The record comes back with the detector's enrichment. Fluent Bit can return only one
//!   record per input record, so the alerts it raised are attached as `malhost.alerts[]`.
//! - A record without `@timestamp` gets Fluent Bit's record time (`time_sec.time_nsec`), so
//!   event-time rules work on inputs that keep the time outside the record.
//! - Invalid JSON, a record that is not an object, or `rec_ptr == 0` (Fluent Bit could not
//!   copy the record into the module, typically because `Wasm_Heap_Size` is too small) give
//!   an error record, never an empty string (which would drop the record) and never a trap.
//! - Configuration: the module has no file system (it imports nothing), so a config cannot
//!   be read from a path. A record whose tag is [`CONFIG_TAG`] is taken as a config document
//!   instead (e.g. a `tail` input on the config file with `Read_from_Head On`, or a `dummy`
//!   input); the record comes back as the configure result (`{"ok":…}`), and a rejected
//!   config changes nothing. Until then the defaults apply, or a config embedded at build
//!   time (`MALHOST_EMBED_CONFIG=path cargo build …`, see `plugin/build.rs`).
//!
//! The result is NUL-terminated and lives in one buffer the module reuses, so nothing leaks
//! per record.

use serde_json::{Map, Value};

use crate::config::Config;
use crate::detector::Detector;

/// Records with this tag are config documents.
pub const CONFIG_TAG: &str = "malhost.config";

/// The state behind `malhost_filter`.
pub struct FluentBitFilter {
    detector: Detector,
    out: Vec<u8>,
    lines: Vec<u8>,
    record: Vec<u8>,
}

impl Default for FluentBitFilter {
    fn default() -> Self {
        let config = embedded_config().and_then(|c| Config::from_json(c).ok()).unwrap_or_default();
        FluentBitFilter { detector: Detector::new(config), out: Vec::new(), lines: Vec::new(), record: Vec::new() }
    }
}

/// The config built into the module, if any.
pub fn embedded_config() -> Option<&'static [u8]> {
    let c: &'static [u8] = include_bytes!(concat!(env!("OUT_DIR"), "/embedded_config.json"));
    (!c.iter().all(u8::is_ascii_whitespace)).then_some(c)
}

impl FluentBitFilter {
    /// Filters one record; `None` for the record means Fluent Bit passed no record
    /// (`rec_ptr == 0`). Returns the NUL-terminated result.
    pub fn filter(&mut self, tag: &[u8], time_sec: u64, time_nsec: u32, record: Option<&[u8]>) -> &[u8] {
        self.out.clear();
        let Some(record) = record else {
            self.lines.clear();
            crate::output::write_input_error(
                &mut self.lines,
                b"",
                "malhost.input",
                "Fluent Bit passed no record (rec_ptr is 0): it could not copy the record into the module; raise Wasm_Heap_Size",
            );
            self.finish_single();
            return &self.out;
        };
        if tag == CONFIG_TAG.as_bytes() {
            let result = match Config::from_json(record) {
                Ok(c) => {
                    self.detector.reconfigure(c);
                    serde_json::json!({"ok": true, "abi_version": crate::ABI_VERSION})
                }
                Err(e) => serde_json::json!({"ok": false, "abi_version": crate::ABI_VERSION,
                                             "error": {"path": e.path, "message": e.message}}),
            };
            let _ = serde_json::to_writer(&mut self.out, &result);
            self.out.push(0);
            return &self.out;
        }
        self.lines.clear();
        if record.iter().all(u8::is_ascii_whitespace) {
            // The detector skips blank lines; a record must come back as something.
            crate::output::write_input_error(&mut self.lines, record, "malhost.input", "empty record: expected a JSON object");
        } else {
            // One record is one line: the detector reads it whole, newlines inside and all.
            let line = with_time(&mut self.record, record, time_sec, time_nsec);
            self.detector.process_line(line, &mut self.lines);
        }
        self.finish_single();
        &self.out
    }

    /// `self.lines` holds the event line and its alerts: one object into `self.out`.
    fn finish_single(&mut self) {
        let mut parts = self.lines.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        let event = parts.next().unwrap_or(b"{}");
        let alerts: Vec<&[u8]> = parts.collect();
        if alerts.is_empty() {
            self.out.extend_from_slice(event);
        } else {
            let mut obj: Map<String, Value> = serde_json::from_slice(event).unwrap_or_default();
            let list: Vec<Value> = alerts.iter().filter_map(|a| serde_json::from_slice(a).ok()).collect();
            match obj.get_mut("malhost") {
                Some(Value::Object(m)) => {
                    m.insert("alerts".into(), Value::Array(list));
                }
                _ => {
                    obj.insert("malhost".into(), serde_json::json!({ "alerts": list }));
                }
            }
            let _ = serde_json::to_writer(&mut self.out, &obj);
        }
        self.out.push(0);
        self.lines.clear();
    }
}

/// The record, with `@timestamp` from Fluent Bit when it has none (built in `buf`).
fn with_time<'a>(buf: &'a mut Vec<u8>, record: &'a [u8], sec: u64, nsec: u32) -> &'a [u8] {
    let needs_time = matches!(crate::event::Event::parse(record), Ok(ev) if ev.get(crate::event::Field::Timestamp).is_none());
    if !needs_time {
        return record;
    }
    let Some(open) = record.iter().position(|b| *b == b'{') else { return record };
    let rest = &record[open + 1..];
    let empty = rest.iter().all(|b| b.is_ascii_whitespace() || *b == b'}');
    buf.clear();
    buf.extend_from_slice(&record[..=open]);
    buf.extend_from_slice(format!("\"@timestamp\":{sec}.{:03}", nsec.min(999_999_999) / 1_000_000).as_bytes());
    if !empty {
        buf.push(b',');
    }
    buf.extend_from_slice(rest);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &[u8]) -> String {
        let (last, body) = b.split_last().unwrap();
        assert_eq!(*last, 0, "NUL-terminated");
        assert!(!body.contains(&0));
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[test]
    fn alerts_ride_on_the_record_and_time_comes_from_fluent_bit() {
        let mut f = FluentBitFilter::default();
        let cfg = text(f.filter(b"malhost.config", 0, 0, Some(br#"{"rules":{"fw_outbound_deny":{"min_count":2}}}"#)));
        assert_eq!(cfg, r#"{"ok":true,"abi_version":1}"#);
        let rec = br#"{"event.action":"deny","source.ip":"10.0.0.5","destination.ip":"203.0.113.9","destination.port":80,"network.transport":"tcp"}"#;
        let first: Value = serde_json::from_str(&text(f.filter(b"fw", 1_714_557_600, 0, Some(rec)))).unwrap();
        assert_eq!(first["@timestamp"], 1_714_557_600.0);
        assert!(first["malhost"]["alerts"].is_null());
        let second: Value = serde_json::from_str(&text(f.filter(b"fw", 1_714_557_601, 500_000_000, Some(rec)))).unwrap();
        assert_eq!(second["malhost"]["alerts"][0]["rule"]["id"], "fw.outbound_deny");
        assert!(second["malhost"]["findings"].is_array());
    }

    #[test]
    fn bad_input_gives_error_records() {
        let mut f = FluentBitFilter::default();
        let none: Value = serde_json::from_str(&text(f.filter(b"x", 0, 0, None))).unwrap();
        assert_eq!(none["event"]["kind"], "pipeline_error");
        assert!(none["error"]["message"].as_str().unwrap().contains("Wasm_Heap_Size"));
        let bad: Value = serde_json::from_str(&text(f.filter(b"x", 0, 0, Some(b"{not json")))).unwrap();
        assert_eq!(bad["error"]["type"], "malhost.input");
        let empty: Value = serde_json::from_str(&text(f.filter(b"x", 5, 0, Some(b"{}")))).unwrap();
        assert_eq!(empty, serde_json::json!({"@timestamp": 5.0}));
        let rejected: Value = serde_json::from_str(&text(f.filter(b"malhost.config", 0, 0, Some(b"[]")))).unwrap();
        assert_eq!(rejected["ok"], false);
    }
}
