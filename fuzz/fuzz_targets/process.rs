//! Any bytes through the core ABI's `process`, as the module receives them: must not panic
//! (a panic is a trap in wasm), and every record (non-blank line, `malhost::event::framing`)
//! must give at least one output line; the framed answer must count every record and its lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use malhost::abi::core::CoreAbi;

const CONFIG: &[u8] = br#"{"state":{"max_hosts":8,"max_keys_per_host":4},"rules":{"fw_outbound_deny":{"min_count":2,"window":"1m","watched_ports":[80,445]},"fw_c2_ip":{"lists":[{"name":"c2","entries":["198.51.100.0/24","192.0.2.1:443"]}]}}}"#;

fuzz_target!(|data: &[u8]| {
    let mut abi = CoreAbi::default();
    abi.configure(CONFIG);
    // Records as the detector and the hosts cut them: LF, CRLF or a lone CR ends a line, a
    // byte order mark is not content, blank lines are no record.
    let lines = malhost::event::framing::records(data);
    let out = abi.process(data).to_vec();
    let out_lines = out.iter().filter(|&&b| b == b'\n').count();
    assert!(out_lines >= lines, "{out_lines} output lines for {lines} input lines");
    // The framed answer (what the hosts check): one count per record, adding up to the lines.
    let framed = abi.process_framed(data);
    let word = |i: usize| u32::from_le_bytes(framed[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    assert_eq!(word(0), lines, "the framed answer counts {} records of {lines}", word(0));
    let announced: usize = (1..=lines).map(word).sum();
    let body = &framed[4 * (lines + 1)..];
    assert!((1..=lines).all(|i| word(i) >= 1), "a record gave no output line");
    assert_eq!(announced, body.iter().filter(|&&b| b == b'\n').count(), "announced lines differ from the output");
    let _ = abi.flush();
});
