//! The module boundary: no imports, hostile bytes never trap, limits and traps are recovered
//! from without losing a line, clear errors for wrong or missing modules.

mod common;

use std::time::Duration;

use malhost_host::replay::{self, Input, ReplayOptions};
use malhost_host::runtime::{Guest, GuestFailure, Limits, Runtime};

#[test]
fn module_imports_nothing() {
    assert_eq!(common::runtime().imports(), Vec::<String>::new());
}

#[test]
fn hostile_inputs_never_trap_and_give_one_line_each() {
    let deep_valid = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_open = format!("{{\"a\":{}", "{\"b\":".repeat(10_000));
    let deep_scope = format!("{{\"source\":{}1{}}}", "{\"ip\":".repeat(10_000), "}".repeat(10_000));
    let ten_mb = format!("{{\"message\":\"{}\"}}", "x".repeat(10 << 20));
    let cases: Vec<Vec<u8>> = vec![
        b"\xff\xfe\xfd".to_vec(),
        b"{\"a\":\"\xc3\x28\"}".to_vec(),
        b"{\"source.ip\": \"10.0.0.1\", \"destination".to_vec(),
        b"{\"a\":NaN}".to_vec(),
        b"{\"a\":Infinity}".to_vec(),
        b"{\"a\":-1e999999}".to_vec(),
        b"{\"a\":\"\\ud800\"}".to_vec(),
        b"{\"a\":\"\x01\"}".to_vec(),
        b"\0\0\0".to_vec(),
        deep_valid.into_bytes(),
        deep_open.into_bytes(),
        deep_scope.into_bytes(),
        ten_mb.into_bytes(),
    ];
    let mut g = common::guest(b"{}");
    for c in &cases {
        let mut batch = c.clone();
        batch.push(b'\n');
        let out = g.process(&batch).unwrap_or_else(|e| panic!("{e} on {:?}", String::from_utf8_lossy(&c[..c.len().min(40)])));
        // Exactly one line, ending in a newline; `-1e999999` is valid JSON text (out of f64
        // range) and passes through as its bytes, so lines are counted, not parsed.
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(out.last(), Some(&b'\n'));
    }
    // With a larger line limit, the 10 MB event is processed as an event.
    let mut g = common::guest(br#"{"limits":{"max_line_bytes":16777216}}"#);
    let out = g.process(cases.last().unwrap()).unwrap();
    assert_eq!(&out[..out.len() - 1], &cases.last().unwrap()[..], "passed through as its bytes");
    // Empty batches, blank lines and no trailing newline.
    assert_eq!(g.process(b"").unwrap(), b"");
    assert_eq!(g.process(b"\n\n\r\n  \n").unwrap(), b"");
    assert_eq!(g.process(b"{}").unwrap(), b"{}\n");
}

#[test]
fn bad_configs_are_rejected_with_a_path_and_change_nothing() {
    let mut g = common::guest(br#"{"rules":{"fw_outbound_deny":{"min_count":2,"watched_ports":[445]}}}"#);
    for (bad, path) in [
        (&b"\xff\xff"[..], "(root)"),
        (b"{\"rules\":{\"fw_outbound_deny\":{\"min_count\":0}}}", "rules.fw_outbound_deny.min_count"),
        (b"{\"rules\":{\"fw_c2_ip\":{\"lists\":[{\"name\":\"x\",\"entries\":[\"1.2.3.999\"]}]}}}", "rules.fw_c2_ip.lists[0].entries[0]"),
        (b"{\"surprise\":1}", "surprise: unknown field `surprise`"),
    ] {
        let msg = g.configure(bad).expect("no trap").expect_err("rejected");
        assert!(msg.starts_with(path), "{msg}");
    }
    let deny = |t: u32| format!("{{\"@timestamp\":{},\"event.action\":\"deny\",\"source.ip\":\"10.0.0.1\",\"destination.ip\":\"192.0.2.1\",\"destination.port\":445}}\n", 1_714_557_600 + t);
    let out = g.process((deny(0) + &deny(1)).as_bytes()).unwrap();
    assert_eq!(common::alerts_of(&out, "fw.outbound_deny").len(), 1, "min_count 2 still in force");
}

/// A stand-in module (WAT) that speaks the ABI, echoes its input, traps on a line containing
/// `T` and spins forever on a line containing `L`.
const MISBEHAVING: &str = r#"
(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 0) "{\"ok\":true}")
  (data (i32.const 16) "{}")
  (func (export "malhost_abi_version") (result i32) (i32.const VERSION))
  (func (export "malhost_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.lt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then (return (i32.const 0))))
        (br $grow)))
    (local.get $p))
  (func (export "malhost_free") (param i32 i32))
  (func (export "malhost_configure") (param i32 i32) (result i64) (i64.const 11))
  (func (export "malhost_flush") (result i64) (i64.const 0))
  (func (export "malhost_stats") (result i64) (i64.const 0x1000000002))
  (func (export "malhost_process") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $c i32)
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (if (i32.eq (local.get $c) (i32.const 84)) (then unreachable))
        (if (i32.eq (local.get $c) (i32.const 76)) (then (loop $forever (br $forever))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
)
"#;

fn misbehaving(version: u32) -> anyhow::Result<Runtime> {
    let wasm = wat::parse_str(MISBEHAVING.replace("VERSION", &version.to_string()))?;
    Runtime::from_bytes(&wasm)
}

#[test]
fn traps_and_timeouts_are_reported_recovered_and_lose_nothing() {
    let rt = misbehaving(1).unwrap();
    let limits = Limits { call_timeout: Some(Duration::from_millis(100)), ..Limits::default() };
    let mut g = Guest::new(&rt, limits).unwrap();
    g.configure(b"{}").unwrap().unwrap();
    let input = b"{\"n\":1}\n{\"n\":2}\n{\"n\":3,\"x\":\"T\"}\n{\"n\":4}\n{\"n\":5,\"x\":\"L\"}\n{\"n\":6}\n".to_vec();
    let mut out = Vec::new();
    let mut log = Vec::new();
    let summary = replay::replay(
        &mut g,
        vec![Input { name: "in.jsonl".into(), reader: Box::new(std::io::Cursor::new(input)) }],
        &mut out,
        &ReplayOptions { batch_lines: 2, ..Default::default() },
        &mut |m| log.push(m),
    )
    .unwrap();
    let lines = common::json_lines(&out);
    assert_eq!(lines.len(), 6, "{}", String::from_utf8_lossy(&out));
    for (i, n) in [(0, 1), (1, 2), (3, 4), (5, 6)] {
        assert_eq!(lines[i]["n"], n);
    }
    assert_eq!(lines[2]["error"]["type"], "malhost.guest_trap");
    assert_eq!(lines[2]["message"], "{\"n\":3,\"x\":\"T\"}");
    assert!(lines[2]["error"]["message"].as_str().unwrap().starts_with("in.jsonl:3: module trapped"));
    assert_eq!(lines[4]["error"]["type"], "malhost.guest_timeout");
    assert!(lines[4]["error"]["message"].as_str().unwrap().starts_with("in.jsonl:5: call exceeded the time limit"));
    assert_eq!(summary.failed_lines, 2);
    assert_eq!(summary.failed_batches, 2);
    assert!(log.iter().any(|m| m.starts_with("in.jsonl:3-4: module trapped")), "{log:?}");
    assert!(log.iter().any(|m| m.starts_with("in.jsonl:5-6: call exceeded")), "{log:?}");
}

#[test]
fn memory_limit_hit_becomes_error_records() {
    let limits = Limits { max_memory_bytes: 8 << 20, ..Limits::default() };
    let mut g = Guest::new(common::runtime(), limits).unwrap();
    g.configure(br#"{"limits":{"max_line_bytes":67108864}}"#).unwrap().unwrap();
    let big = format!("{{\"message\":\"{}\"}}\n", "y".repeat(12 << 20));
    match g.process(big.as_bytes()) {
        Err(GuestFailure::OutOfMemory(_)) | Err(GuestFailure::Trap(_)) => {}
        other => panic!("expected a memory failure, got {:?}", other.map(|o| o.len())),
    }
    g.recover().unwrap();
    let mut out = Vec::new();
    let input = format!("{{\"n\":1}}\n{big}{{\"n\":3}}\n");
    let summary = replay::replay(
        &mut g,
        vec![Input { name: "big".into(), reader: Box::new(std::io::Cursor::new(input.into_bytes())) }],
        &mut out,
        &ReplayOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let lines = common::json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["n"], 1);
    assert!(lines[1]["error"]["type"].as_str().unwrap().starts_with("malhost.guest"));
    assert_eq!(lines[2]["n"], 3);
    assert_eq!(summary.failed_lines, 1);
}

#[test]
fn wrong_or_missing_modules_are_explained() {
    let e = misbehaving(2).err().unwrap();
    assert!(format!("{e:#}").contains("ABI version 2"), "{e:#}");
    let e = Runtime::from_bytes(b"hello").err().unwrap();
    assert!(e.to_string().contains("not a WebAssembly module"));
    let e = malhost_host::module_path::locate(Some(std::path::Path::new("/nonexistent/malhost.wasm"))).unwrap_err();
    assert!(e.to_string().contains("module not found: /nonexistent/malhost.wasm"));
    let importing = wat::parse_str(r#"(module (import "env" "f" (func)))"#).unwrap();
    let e = Runtime::from_bytes(&importing).err().unwrap();
    assert!(e.to_string().contains("must import nothing"), "{e}");
}

#[test]
fn recovery_restores_the_last_checkpoint() {
    // Two denies, a checkpoint, a line that blows the memory limit, and a third deny: the
    // alert at the third deny needs the first two, i.e. the state the checkpoint kept.
    let limits = Limits { max_memory_bytes: 32 << 20, ..Limits::default() };
    let mut g = Guest::new(common::runtime(), limits).unwrap();
    g.configure(br#"{"limits":{"max_line_bytes":67108864},"rules":{"fw_outbound_deny":{"min_count":3,"watched_ports":[80]}}}"#)
        .unwrap()
        .unwrap();
    let deny = |i: u32| {
        format!(r#"{{"@timestamp":{},"event.action":"deny","source.ip":"10.0.0.5","destination.ip":"203.0.113.{i}","destination.port":80,"network.transport":"tcp"}}"#, 1_714_557_600 + i)
    };
    let big = format!("{{\"message\":\"{}\"}}", "y".repeat(40 << 20));
    let input = format!("{}\n{}\n{big}\n{}\n", deny(1), deny(2), deny(3));
    let mut out = Vec::new();
    let mut log = Vec::new();
    let summary = replay::replay(
        &mut g,
        vec![Input { name: "in.jsonl".into(), reader: Box::new(std::io::Cursor::new(input.into_bytes())) }],
        &mut out,
        &ReplayOptions { batch_lines: 2, checkpoint_batches: 1, ..Default::default() },
        &mut |m| log.push(m),
    )
    .unwrap();
    assert_eq!(summary.failed_lines, 1, "{log:?}");
    let lines = common::json_lines(&out);
    assert_eq!(lines[2]["error"]["type"], "malhost.guest_memory", "{log:?}");
    let alerts = common::alerts_of(&out, "fw.outbound_deny");
    assert_eq!(alerts.len(), 1, "the third deny alerts only if the first two survived: {log:?}");
    assert_eq!(alerts[0]["malhost"]["evidence"]["count"], 3);
    assert_eq!(g.recoveries, 0, "the line could not be placed in guest memory: no call failed, so the instance and its state were kept");
}

#[test]
fn the_module_hashes_like_the_native_core_and_takes_the_host_seed() {
    // Snapshots hold the state's keys as seeded hashes: the ones the module writes must be the
    // ones the native core computes (same SipHash on 32-bit wasm as on 64-bit native), or a
    // snapshot would not travel and the flood benchmark's crafted keys would not collide.
    let event = br#"{"@timestamp":"2024-05-01T10:00:00Z","source.ip":"10.0.0.5","url.full":"http://www.example.com/","http.request.method":"GET"}
"#;
    let mut g = Guest::new(common::runtime(), Limits::default()).unwrap();
    g.configure(br#"{"hash_seed":0,"rules":{"proxy_daily_beacon":{}}}"#).unwrap().unwrap();
    g.process_checked(event, &mut |_| {}).unwrap();
    let snap: serde_json::Value = serde_json::from_slice(&g.snapshot().unwrap()).unwrap();
    assert_eq!(snap["hash_seed"], 0);
    let native = malhost::state::destinations::destination_hash(&malhost::rules::host_state::HostTable::new(1, 0), "example.com");
    assert_eq!(snap["destinations"][0][0], native);

    // Without hash_seed in the config the host's random seed (malhost_seed) is in force, and
    // two guests draw different ones.
    let seed_of = || {
        let mut g = Guest::new(common::runtime(), Limits::default()).unwrap();
        g.configure(br#"{"rules":{"proxy_daily_beacon":{}}}"#).unwrap().unwrap();
        g.process_checked(event, &mut |_| {}).unwrap();
        let snap: serde_json::Value = serde_json::from_slice(&g.snapshot().unwrap()).unwrap();
        snap["hash_seed"].as_u64().unwrap()
    };
    let (a, b) = (seed_of(), seed_of());
    assert_ne!(a, b);
    assert!(a != 0 && b != 0);
}
