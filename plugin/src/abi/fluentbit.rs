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
//! - Configuration, read once when the first record arrives:
//!   - the WASI flavour (`malhost_fluentbit.wasm`, target `wasm32-wasip1`) reads
//!     `malhost.json` from the first directory of Fluent Bit's `Accessible_Paths` that has
//!     one ([`super::wasi_host`]);
//!   - otherwise a config embedded at build time applies (`MALHOST_EMBED_CONFIG=path cargo
//!     build …`, see `plugin/build.rs`), else the defaults.
//!
//!   A config that is found but rejected is not replaced by the defaults: every record then
//!   comes back as an error record (`error.type` `malhost.config`, carrying the record in
//!   `message`) whose message names the file and the JSON path of the problem, so a broken
//!   config cannot go unnoticed. Either flavour also takes a record tagged [`CONFIG_TAG`] as
//!   a new config document (e.g. from a `tail` input on a config file): it comes back as the
//!   configure result (`{"ok":…}`), and a rejected one changes nothing.
//! - Hash seed: the WASI flavour draws a random one from its host (`random_get`) when the
//!   config names none; the core flavour has no entropy, so set `hash_seed` in its config.
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
    /// Why the startup config was rejected; records come back as error records until a
    /// config record is accepted.
    config_error: Option<String>,
    out: Vec<u8>,
    lines: Vec<u8>,
    record: Vec<u8>,
    /// Set when this filter replaced one that trapped: the next record says so.
    restarted: bool,
}

/// What the first record after a trap carries in `malhost.restarted`.
pub const RESTART_NOTICE: &str =
    "the module trapped on the previous record (Fluent Bit dropped that record); the filter restarted with empty per-host state";

impl Default for FluentBitFilter {
    fn default() -> Self {
        Self::new(startup_config(&super::wasi_host::accessible_dirs()), super::wasi_host::random_seed())
    }
}

/// The config to start with: `malhost.json` from the first accessible directory that has
/// one, else the embedded config, else the defaults; `Err` says why one found was rejected.
pub fn startup_config(dirs: &[std::path::PathBuf]) -> Result<Config, String> {
    if let Some((path, bytes)) = super::wasi_host::read_config_file(dirs) {
        let bytes = bytes.map_err(|e| format!("config file {}: cannot be read: {e}", path.display()))?;
        return Config::from_json(&bytes)
            .map_err(|e| format!("config file {} rejected at {}: {}", path.display(), e.path, e.message));
    }
    match embedded_config() {
        Some(c) => Config::from_json(c).map_err(|e| format!("embedded config rejected at {}: {}", e.path, e.message)),
        None => Ok(Config::default()),
    }
}

/// The config built into the module, if any.
pub fn embedded_config() -> Option<&'static [u8]> {
    let c: &'static [u8] = include_bytes!(concat!(env!("OUT_DIR"), "/embedded_config.json"));
    (!c.iter().all(u8::is_ascii_whitespace)).then_some(c)
}

impl FluentBitFilter {
    /// A filter starting from `config` (or, if it was rejected, refusing records until a
    /// config record arrives), with the host's hash seed if there is one.
    pub fn new(config: Result<Config, String>, seed: Option<u64>) -> Self {
        let (config, config_error) = match config {
            Ok(c) => (c, None),
            Err(e) => (Config::default(), Some(e)),
        };
        let mut detector = Detector::new(config);
        if let Some(seed) = seed {
            detector.set_host_seed(seed);
        }
        FluentBitFilter { detector, config_error, out: Vec::new(), lines: Vec::new(), record: Vec::new(), restarted: false }
    }

    /// Marks this filter as the replacement of one that trapped (Fluent Bit reuses the
    /// instance after a trap): the next record carries [`RESTART_NOTICE`].
    pub fn note_restart_after_trap(&mut self) {
        self.restarted = true;
    }

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
                    self.config_error = None;
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
        if let Some(problem) = &self.config_error {
            crate::output::write_input_error(&mut self.lines, record, "malhost.config", problem);
        } else if record.iter().all(u8::is_ascii_whitespace) {
            // The detector skips blank lines; a record must come back as something.
            crate::output::write_input_error(&mut self.lines, record, "malhost.input", "empty record: expected a JSON object");
        } else {
            // One record is one line: the detector reads it whole, newlines inside and all.
            if let Some(now) = super::wasi_host::wall_clock_ms() {
                self.detector.set_clock(now);
            }
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
        if alerts.is_empty() && !self.restarted {
            self.out.extend_from_slice(event);
        } else {
            let mut obj: Map<String, Value> = serde_json::from_slice(event).unwrap_or_default();
            let mut add = Map::new();
            if !alerts.is_empty() {
                let list: Vec<Value> = alerts.iter().filter_map(|a| serde_json::from_slice(a).ok()).collect();
                add.insert("alerts".into(), Value::Array(list));
            }
            if std::mem::take(&mut self.restarted) {
                add.insert("restarted".into(), Value::from(RESTART_NOTICE));
            }
            match obj.get_mut("malhost") {
                Some(Value::Object(m)) => m.extend(add),
                _ => {
                    obj.insert("malhost".into(), Value::Object(add));
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
    fn a_config_file_is_read_from_the_accessible_directories_and_a_rejected_one_is_loud() {
        let base = std::env::temp_dir().join(format!("malhost-fluentbit-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let file = base.join(super::super::wasi_host::CONFIG_FILE);
        std::fs::write(&file, br#"{"rules":{"fw_outbound_deny":{"min_count":1}}}"#).unwrap();
        let cfg = startup_config(std::slice::from_ref(&base)).unwrap();
        assert_eq!(cfg.rules.fw_outbound_deny.as_ref().unwrap().settings.min_count.get(), 1);
        assert!(startup_config(&[]).is_ok(), "no file: embedded config or defaults");

        std::fs::write(&file, br#"{"rules":{"fw_outbound_deny":{"min_count":"two"}}}"#).unwrap();
        let problem = startup_config(std::slice::from_ref(&base)).unwrap_err();
        assert!(problem.contains("malhost.json rejected at rules.fw_outbound_deny.min_count"), "{problem}");
        let mut f = FluentBitFilter::new(Err(problem), Some(3));
        let rec = br#"{"event.action":"deny","source.ip":"10.0.0.5","destination.ip":"203.0.113.9","destination.port":80}"#;
        let refused: Value = serde_json::from_str(&text(f.filter(b"fw", 1, 0, Some(rec)))).unwrap();
        assert_eq!(refused["error"]["type"], "malhost.config");
        assert_eq!(refused["message"], std::str::from_utf8(rec).unwrap(), "the record is kept");
        // A config record fixes it.
        assert_eq!(text(f.filter(b"malhost.config", 0, 0, Some(b"{}"))), r#"{"ok":true,"abi_version":1}"#);
        let passed: Value = serde_json::from_str(&text(f.filter(b"fw", 1, 0, Some(rec)))).unwrap();
        assert_eq!(passed["source.ip"], "10.0.0.5");
        std::fs::remove_dir_all(&base).unwrap();
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
