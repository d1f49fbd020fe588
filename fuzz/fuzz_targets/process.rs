//! Any bytes through the core ABI's `process`, as the module receives them: must not panic
//! (a panic is a trap in wasm), and every non-blank line must give at least one output line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use malhost::abi::core::CoreAbi;

const CONFIG: &[u8] = br#"{"state":{"max_hosts":8,"max_keys_per_host":4},"rules":{"fw_outbound_deny":{"min_count":2,"window":"1m","watched_ports":[80,445]},"fw_c2_ip":{"lists":[{"name":"c2","entries":["198.51.100.0/24","192.0.2.1:443"]}]}}}"#;

fuzz_target!(|data: &[u8]| {
    let mut abi = CoreAbi::default();
    abi.configure(CONFIG);
    let lines = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.strip_suffix(b"\r").unwrap_or(l).iter().all(u8::is_ascii_whitespace))
        .count();
    let out = abi.process(data);
    let out_lines = out.iter().filter(|&&b| b == b'\n').count();
    assert!(out_lines >= lines, "{out_lines} output lines for {lines} input lines");
    let _ = abi.flush();
});
