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

    /// Processes a batch of newline-separated events; returns the output lines.
    pub fn process(&mut self, batch: &[u8]) -> &[u8] {
        self.out.clear();
        self.detector.process_batch(batch, &mut self.out);
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

    /// Restores a snapshot. Returns `{"ok":true}` or `{"ok":false,"error":{"message":…}}`; on
    /// error the state is unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> &[u8] {
        self.out.clear();
        let v = match self.detector.restore(bytes) {
            Ok(()) => serde_json::json!({"ok": true}),
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
    fn rejected_config_keeps_the_previous_one() {
        let mut abi = CoreAbi::default();
        let ok = abi.configure(br#"{"rules":{"fw_outbound_deny":{"min_count":2}}}"#).to_vec();
        assert_eq!(ok, br#"{"ok":true,"abi_version":1}"#);
        let bad = String::from_utf8(abi.configure(br#"{"rules":{"fw_outbound_deny":{"min_count":"x"}}}"#).to_vec()).unwrap();
        assert!(bad.starts_with(r#"{"ok":false,"abi_version":1,"error":{"path":"rules.fw_outbound_deny.min_count""#), "{bad}");
        assert_eq!(abi.detector.config().fw_outbound_deny.as_ref().unwrap().min_count, 2);
    }
}
