//! The JavaScript API (feature `js`, built with wasm-bindgen for Node and browsers): the same
//! detector behind a class.
//!
//! ```js
//! const { Detector } = require("./pkg/malhost.js");
//! const d = new Detector(configJson);        // throws with the JSON path of a bad config
//! d.setHashSeed(crypto.getRandomValues(new BigUint64Array(1))[0]); // a secret seed
//! const out = d.process(jsonl);               // output lines, as `malhost replay` writes them
//! const raw = d.processBytes(uint8array);     // the same on bytes (logs that are not UTF-8)
//! const tail = d.flush();                     // end of input
//! d.configure(newConfigJson);                 // keeps per-host state; throws if rejected
//! JSON.parse(d.stats());
//! ```

use wasm_bindgen::prelude::*;

use crate::config::Config;

/// A detector instance.
#[wasm_bindgen(js_name = Detector)]
pub struct JsDetector {
    inner: crate::Detector,
    out: Vec<u8>,
}

fn config(json: &str) -> Result<Config, JsError> {
    Config::from_json(json.as_bytes()).map_err(|e| JsError::new(&e.to_string()))
}

fn text(out: &[u8]) -> String {
    // Output lines are JSON written from valid UTF-8 input, or error records (ASCII).
    String::from_utf8_lossy(out).into_owned()
}

#[wasm_bindgen(js_class = Detector)]
impl JsDetector {
    /// A detector with this config (`"{}"` for the defaults).
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str) -> Result<JsDetector, JsError> {
        Ok(JsDetector { inner: crate::Detector::new(config(config_json)?), out: Vec::new() })
    }

    /// Swaps in a new config, keeping per-host state; a rejected config changes nothing.
    pub fn configure(&mut self, config_json: &str) -> Result<(), JsError> {
        self.inner.reconfigure(config(config_json)?);
        Ok(())
    }

    /// The hash seed used when the config names none: give it a secret random value (from
    /// `crypto.getRandomValues`) before the first event, so that log values an attacker
    /// chooses cannot be crafted to collide in the state's hash tables.
    #[wasm_bindgen(js_name = setHashSeed)]
    pub fn set_hash_seed(&mut self, seed: u64) {
        self.inner.set_host_seed(seed);
    }

    /// Processes newline-separated events; returns the output lines.
    pub fn process(&mut self, jsonl: &str) -> String {
        self.out.clear();
        self.inner.process_batch(jsonl.as_bytes(), &mut self.out);
        text(&self.out)
    }

    /// Processes newline-separated events given as bytes (logs that are not valid UTF-8
    /// become error records carrying the original bytes, as in the core ABI).
    #[wasm_bindgen(js_name = processBytes)]
    pub fn process_bytes(&mut self, jsonl: &[u8]) -> Vec<u8> {
        self.out.clear();
        self.inner.process_batch(jsonl, &mut self.out);
        self.out.clone()
    }

    /// End of input: returns lines held back until then.
    pub fn flush(&mut self) -> String {
        self.out.clear();
        self.inner.flush(&mut self.out);
        text(&self.out)
    }

    /// Counters as a JSON object.
    pub fn stats(&self) -> String {
        serde_json::to_string(&self.inner.stats()).unwrap_or_else(|_| "{}".into())
    }
}
