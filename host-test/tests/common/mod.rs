//! Helpers shared by the integration tests: the module (built from this workspace once per
//! test binary), and replaying bytes through it or through the native detector; the JSON
//! Schemas in [`schema`].
#![allow(dead_code)]

pub mod schema;

use std::path::PathBuf;
use std::sync::OnceLock;

use malhost_host::module_path;
use malhost_host::replay::{self, Input, ReplayOptions};
use malhost_host::runtime::{Guest, Limits, Runtime};

/// The module built from the current source, compiled once per test binary.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let path = match std::env::var_os("MALHOST_WASM") {
            Some(p) => PathBuf::from(p),
            None => module_path::build_workspace_module().expect("build the module"),
        };
        Runtime::from_file(&path).expect("load the module")
    })
}

/// A configured guest.
pub fn guest(config: &[u8]) -> Guest {
    let mut g = Guest::new(runtime(), Limits::default()).expect("instantiate");
    g.configure(config).expect("configure call").expect("config accepted");
    g
}

/// Replays `input` through the module as `malhost replay` does; returns output and log.
pub fn replay_wasm(config: &[u8], input: &[u8], batch_lines: usize) -> (Vec<u8>, Vec<String>) {
    let mut g = guest(config);
    let mut out = Vec::new();
    let mut log = Vec::new();
    let opts = ReplayOptions { batch_lines, ..Default::default() };
    replay::replay(
        &mut g,
        vec![Input { name: "input".into(), reader: Box::new(std::io::Cursor::new(input.to_vec())) }],
        &mut out,
        &opts,
        &mut |m| log.push(m),
    )
    .expect("replay");
    (out, log)
}

/// The same input through the native detector, line by line.
pub fn replay_native(config: &[u8], input: &[u8]) -> Vec<u8> {
    let cfg = malhost::Config::from_json(config).expect("config");
    let mut d = malhost::Detector::new(cfg);
    let mut out = Vec::new();
    d.process_batch(input, &mut out);
    d.flush(&mut out);
    out
}

/// Output lines parsed as JSON.
pub fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap_or_else(|e| panic!("output line is not JSON ({e}): {}", String::from_utf8_lossy(l))))
        .collect()
}

/// Alerts in the output.
pub fn alerts(out: &[u8]) -> Vec<serde_json::Value> {
    json_lines(out).into_iter().filter(|v| v["event"]["kind"] == "alert").collect()
}

/// The alerts of one rule in the output.
pub fn alerts_of(out: &[u8], rule: &str) -> Vec<serde_json::Value> {
    alerts(out).into_iter().filter(|v| v["rule"]["id"] == rule).collect()
}

/// Input lines the detector answers ([`malhost::event::framing::records`]).
pub fn counted_lines(input: &[u8]) -> usize {
    malhost::event::framing::records(input)
}

/// `host-test/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}
