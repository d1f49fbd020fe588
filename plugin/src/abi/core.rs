//! The core ABI's behaviour, independent of how bytes cross the boundary.
//!
//! A [`CoreAbi`] owns one detector and one output buffer. Each call takes bytes and returns a
//! slice of the output buffer that stays valid until the next call (`schemas/ABI.md`).

use serde::Serialize;

use crate::config::Config;
use crate::detector::Detector;
use crate::ABI_VERSION;

/// The state behind the module's exports.
#[derive(Default)]
pub struct CoreAbi {
    detector: Detector,
    out: Vec<u8>,
    frames: Vec<u32>,
}

#[derive(Serialize)]
struct ConfigureResult<'a> {
    ok: bool,
    abi_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ConfigureError<'a>>,
}

#[derive(Serialize)]
struct ConfigureError<'a> {
    path: &'a str,
    message: &'a str,
}

impl CoreAbi {
    /// Loads a config. Returns `{"ok":true,…}` or `{"ok":false,"error":{"path","message"}}`;
    /// a rejected config leaves the previous one in force.
    pub fn configure(&mut self, json: &[u8]) -> &[u8] {
        self.out.clear();
        let result = Config::from_json(json);
        let (ok, error) = match &result {
            Ok(_) => (true, None),
            Err(e) => (false, Some(ConfigureError { path: &e.path, message: &e.message })),
        };
        let _ = serde_json::to_writer(&mut self.out, &ConfigureResult { ok, abi_version: ABI_VERSION, error });
        if let Ok(c) = result {
            self.detector.reconfigure(c);
        }
        &self.out
    }

    /// A fresh instance seeded from the host's entropy where the target has some (WASI's
    /// `random_get`); elsewhere seed 0 until `malhost_seed`.
    pub fn with_host_entropy() -> Self {
        let mut abi = CoreAbi::default();
        if let Some(seed) = super::wasi_host::random_seed() {
            abi.set_host_seed(seed);
        }
        abi
    }

    /// Sets the hash seed used when the config names none (`malhost_seed`); call it before
    /// the first event, with a secret random value.
    pub fn set_host_seed(&mut self, seed: u64) {
        self.detector.set_host_seed(seed);
    }

    /// The host's wall clock, ms since the Unix epoch (`malhost_set_clock`).
    pub fn set_clock(&mut self, now_ms: i64) {
        self.detector.set_clock(now_ms);
    }

    /// Processes a batch of newline-separated events; returns the output lines.
    pub fn process(&mut self, batch: &[u8]) -> &[u8] {
        self.out.clear();
        self.detector.process_batch(batch, &mut self.out);
        &self.out
    }

    /// [`CoreAbi::process`] with the framing a host checks the contract by: a little-endian
    /// `u32` count of records (non-blank input lines), that many `u32` counts of the output
    /// lines each record produced (at least 1: its event line, then its alerts), then the
    /// output lines themselves.
    pub fn process_framed(&mut self, batch: &[u8]) -> &[u8] {
        self.frames.clear();
        self.out.clear();
        let n = crate::event::framing::records(batch);
        // The header's size is known up front; it is filled in once the lines are written.
        self.out.resize(4 * (n + 1), 0);
        self.detector.process_batch_framed(batch, &mut self.out, &mut self.frames);
        if self.frames.len() != n {
            // Cannot happen (the detector answers every record); a header that does not add up
            // makes the host treat the call as failed rather than trust it.
            self.out.clear();
            return &self.out;
        }
        self.out[..4].copy_from_slice(&(n as u32).to_le_bytes());
        for (i, f) in self.frames.iter().enumerate() {
            self.out[4 * (i + 1)..4 * (i + 2)].copy_from_slice(&f.to_le_bytes());
        }
        &self.out
    }

    /// End of input; returns any alerts held back until then.
    pub fn flush(&mut self) -> &[u8] {
        self.out.clear();
        self.detector.flush(&mut self.out);
        &self.out
    }

    /// The detector's whole state as a snapshot document (JSON).
    pub fn snapshot(&mut self) -> &[u8] {
        self.detector.snapshot_into(&mut self.out);
        &self.out
    }

    /// Restores a snapshot. Returns `{"ok":true,"host_seed":…}` (the seed now used when the
    /// config names none, which a restore may have taken from the snapshot: a host that
    /// re-creates the instance gives it this seed) or `{"ok":false,"error":{"message":…}}`; on
    /// error the state is unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> &[u8] {
        self.out.clear();
        let v = match self.detector.restore(bytes) {
            Ok(()) => serde_json::json!({"ok": true, "host_seed": self.detector.host_seed()}),
            Err(e) => serde_json::json!({"ok": false, "error": {"message": e}}),
        };
        let _ = serde_json::to_writer(&mut self.out, &v);
        &self.out
    }

    /// Counters as a JSON object.
    pub fn stats(&mut self) -> &[u8] {
        self.out.clear();
        let _ = serde_json::to_writer(&mut self.out, &self.detector.stats());
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_output_counts_the_lines_of_every_record() {
        let mut abi = CoreAbi::default();
        abi.configure(br#"{"hash_seed":1,"rules":{"fw_outbound_deny":{"min_count":2}}}"#);
        let deny = r#"{"@timestamp":1714557600,"event.action":"deny","source.ip":"10.0.0.5","destination.ip":"203.0.113.9","destination.port":80,"network.transport":"tcp"}"#;
        let batch = format!("{deny}\n\n\u{FEFF}{deny}\r\nnot json\r");
        let framed = abi.process_framed(batch.as_bytes()).to_vec();
        let word = |i: usize| u32::from_le_bytes(framed[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!(word(0), 3, "three records: the blank line is none");
        assert_eq!([word(1), word(2), word(3)], [1, 3, 1], "the second deny raised an alert and the host's risk alert");
        let lines = &framed[16..];
        assert_eq!(lines.iter().filter(|b| **b == b'\n').count(), 5);
        assert!(String::from_utf8_lossy(lines).contains("malhost.input"));
    }

    #[test]
    fn rejected_config_keeps_the_previous_one() {
        let mut abi = CoreAbi::default();
        let ok = abi.configure(br#"{"rules":{"fw_outbound_deny":{"min_count":2}}}"#).to_vec();
        assert_eq!(ok, br#"{"ok":true,"abi_version":1}"#);
        let bad = String::from_utf8(abi.configure(br#"{"rules":{"fw_outbound_deny":{"min_count":"x"}}}"#).to_vec()).unwrap();
        assert!(bad.starts_with(r#"{"ok":false,"abi_version":1,"error":{"path":"rules.fw_outbound_deny.min_count""#), "{bad}");
        assert_eq!(abi.detector.config().rules.fw_outbound_deny.as_ref().unwrap().settings.min_count.get(), 2);
    }
}
