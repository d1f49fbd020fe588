//! Shared by the `guest` and `differential` targets: the one compiled module of the process,
//! the fixed configs, the program an input decodes to, and the output contract as an oracle.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use malhost_host::runtime::Runtime;
use serde_json::Value;

pub use malhost_fuzz_oracle::*;

/// The module: `$MALHOST_WASM`, else the workspace's build output next to this crate.
pub fn module_path() -> PathBuf {
    match std::env::var_os("MALHOST_WASM") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-unknown-unknown/wasm/malhost.wasm"),
    }
}

/// One compiled module (and one epoch thread) for the whole fuzzing process.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let p = module_path();
        if !p.is_file() {
            panic!(
                "malhost fuzz: no module at {} (set $MALHOST_WASM, or build it from the repository root with \
                 `cargo build -p malhost-plugin --target wasm32-unknown-unknown --profile wasm`)",
                p.display()
            );
        }
        Runtime::from_file(&p).unwrap_or_else(|e| panic!("malhost fuzz: cannot load {}: {e:#}", p.display()))
    })
}

/// A config with tight state caps (evictions on every few lines) and every firewall rule.
const TIGHT: &str = r#"{"state":{"max_hosts":2,"max_keys_per_host":2,"max_destinations":2,"max_messages":2},"rare_destinations":{"max_hosts":1},"rules":{"fw_outbound_deny":{"min_count":2,"window":"1m","watched_ports":[80,445]},"fw_c2_ip":{"lists":[{"name":"c2","entries":["198.51.100.0/24","192.0.2.1:443"]}]}}}"#;

/// The fixed valid configs a program can pick: the tight one, the defaults, and the fixtures'
/// (every rule family: firewall, proxy, mail, learned lists, raw messages).
const FIXED: &[&str] = &[
    TIGHT,
    "{}",
    include_str!("../../../host-test/fixtures/state_eviction/config.json"),
    include_str!("../../../host-test/fixtures/fw_ipv6/config.json"),
    include_str!("../../../host-test/fixtures/proxy_daily_beacon/config.json"),
    include_str!("../../../host-test/fixtures/proxy_off_hours/config.json"),
    include_str!("../../../host-test/fixtures/proxy_ioc/config.json"),
    include_str!("../../../host-test/fixtures/proxy_upload_volume/config.json"),
    include_str!("../../../host-test/fixtures/mail_display_name_spoof/config.json"),
    include_str!("../../../host-test/fixtures/learned_lists/config.json"),
    include_str!("../../../host-test/fixtures/raw_messages/config.json"),
    include_str!("../../../host-test/fixtures/reserved_keys_merge/config.json"),
];

/// The fixed configs, each with `hash_seed` 7 and the largest `limits.max_future` (so that
/// both sides of the differential agree on which event times are too far ahead).
pub fn configs() -> &'static [Vec<u8>] {
    static C: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| FIXED.iter().map(|c| with_seed(c.as_bytes()).expect("fixed configs are JSON objects")).collect())
}

/// `json` with `"hash_seed": 7` (unless it names one) and `limits.max_future` of 366 days
/// (unless it names one); `None` if it is not a JSON object.
pub fn with_seed(json: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(json) else { return None };
    m.entry("hash_seed").or_insert(Value::from(7));
    if let Value::Object(l) = m.entry("limits").or_insert(Value::Object(Default::default())) {
        l.entry("max_future").or_insert(Value::from("366d"));
    }
    serde_json::to_vec(&Value::Object(m)).ok()
}

/// Resets a detector's per-host state without a new instance: two configs with different
/// seeds empty every table (a seed change always does), the third is the one wanted.
pub const RESET_A: &[u8] = br#"{"hash_seed":1}"#;
pub const RESET_B: &[u8] = br#"{"hash_seed":2}"#;

/// One operation of a program.
#[derive(Debug)]
pub enum Op<'a> {
    /// A batch of input bytes.
    Process(&'a [u8]),
    /// One of [`configs`].
    ConfigureFixed(usize),
    /// Fuzzed config bytes.
    Configure(&'a [u8]),
    Checkpoint,
    /// Snapshot, apply the edits (3 bytes each: position lo, hi, value), restore.
    SnapshotRestore(&'a [u8]),
    Recover,
    /// Replay a stream under tight limits; the first byte picks the options.
    Replay(&'a [u8]),
    Flush,
}

/// Decodes an input: its first byte picks the initial config; the rest is segments separated
/// by `\n~`, each naming its operation by its first byte (the first segment and any unknown
/// letter are a batch), so that a fixture's JSON lines are a valid program as they are.
pub fn decode(data: &[u8]) -> (usize, Vec<Op<'_>>) {
    let Some((&first, rest)) = data.split_first() else { return (0, Vec::new()) };
    let mut ops = Vec::new();
    let mut segs = split_segments(rest);
    if let Some(s) = segs.next() {
        if !s.is_empty() {
            ops.push(Op::Process(s));
        }
    }
    for s in segs {
        let (&op, body) = match s.split_first() {
            Some(x) => x,
            None => continue,
        };
        ops.push(match op {
            b'p' => Op::Process(body),
            b'C' => Op::ConfigureFixed(body.first().map_or(0, |&b| b as usize)),
            b'c' => Op::Configure(body),
            b'k' => Op::Checkpoint,
            b's' => Op::SnapshotRestore(body),
            b'r' => Op::Recover,
            b'R' => Op::Replay(body),
            b'f' => Op::Flush,
            _ => Op::Process(s),
        });
        if ops.len() >= 32 {
            break;
        }
    }
    (first as usize, ops)
}

fn split_segments(mut rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match memchr::memmem::find(rest, b"\n~") {
            Some(i) => {
                let s = &rest[..i];
                rest = &rest[i + 2..];
                Some(s)
            }
            None => {
                done = true;
                Some(rest)
            }
        }
    })
}

/// Applies snapshot edits: every 3 bytes set one byte (position little-endian, modulo the
/// length); a leftover byte cuts the document at that fraction of its length.
pub fn mutate(doc: &mut Vec<u8>, edits: &[u8]) {
    let mut chunks = edits.chunks_exact(3);
    for c in &mut chunks {
        if doc.is_empty() {
            return;
        }
        let pos = u16::from_le_bytes([c[0], c[1]]) as usize % doc.len();
        doc[pos] = c[2];
    }
    if let [cut] = chunks.remainder() {
        let keep = doc.len() * *cut as usize / 256;
        doc.truncate(keep);
    }
}

