//! The Fluent Bit `filter_wasm` export, called through wasmtime the way Fluent Bit calls it:
//! the host copies the tag and the record (with a NUL after it) into guest memory, calls
//! `malhost_filter(tag_ptr, tag_len, time_sec, time_nsec, rec_ptr, rec_len)`, reads the
//! NUL-terminated JSON object at the returned address, and frees its copies. The instance
//! persists across records (Fluent Bit ≥ 4.1).

mod common;

use serde_json::Value;
use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc};

struct FluentBit {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    filter: TypedFunc<(u32, u32, u32, u32, u32, u32), u32>,
}

impl FluentBit {
    fn new() -> FluentBit {
        let path = common::runtime().path().expect("module path").to_path_buf();
        let engine = Engine::default();
        let module = Module::from_file(&engine, &path).expect("compile");
        let mut store = Store::new(&engine, ());
        let inst = Instance::new(&mut store, &module, &[]).expect("instantiate without imports");
        FluentBit {
            memory: inst.get_memory(&mut store, "memory").unwrap(),
            alloc: inst.get_typed_func(&mut store, "malhost_alloc").unwrap(),
            free: inst.get_typed_func(&mut store, "malhost_free").unwrap(),
            filter: inst.get_typed_func(&mut store, "malhost_filter").expect("malhost_filter export"),
            store,
        }
    }

    fn copy_in(&mut self, bytes: &[u8]) -> (u32, u32) {
        let len = bytes.len() as u32 + 1;
        let ptr = self.alloc.call(&mut self.store, len).unwrap();
        assert_ne!(ptr, 0);
        let mem = self.memory.data_mut(&mut self.store);
        mem[ptr as usize..ptr as usize + bytes.len()].copy_from_slice(bytes);
        mem[ptr as usize + bytes.len()] = 0;
        (ptr, len)
    }

    /// One record through the filter; `None` passes `rec_ptr == 0`.
    fn call(&mut self, tag: &str, sec: u32, record: Option<&[u8]>) -> String {
        let (tp, tl) = self.copy_in(tag.as_bytes());
        let (rp, rl) = match record {
            Some(r) => self.copy_in(r),
            None => (0, 1),
        };
        let out = self.filter.call(&mut self.store, (tp, tl - 1, sec, 0, if record.is_some() { rp } else { 0 }, rl - 1)).expect("no trap");
        assert_ne!(out, 0, "a record, not a null pointer");
        let mem = self.memory.data(&self.store);
        let tail = &mem[out as usize..];
        let end = tail.iter().position(|&b| b == 0).expect("NUL-terminated");
        let text = String::from_utf8(tail[..end].to_vec()).expect("UTF-8");
        self.free.call(&mut self.store, (tp, tl)).unwrap();
        if record.is_some() {
            self.free.call(&mut self.store, (rp, rl)).unwrap();
        }
        text
    }

    fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }
}

fn deny(port: u16) -> Vec<u8> {
    format!(r#"{{"event.action":"deny","source.ip":"10.0.0.5","destination.ip":"203.0.113.9","destination.port":{port},"network.transport":"tcp"}}"#).into_bytes()
}

#[test]
fn records_come_back_enriched_with_their_alerts() {
    let mut fb = FluentBit::new();
    let cfg = fb.call("malhost.config", 0, Some(br#"{"rules":{"fw_outbound_deny":{"min_count":3}}}"#));
    assert_eq!(cfg, r#"{"ok":true,"abi_version":1}"#);
    let mut alerts = 0;
    for i in 0..3 {
        let out: Value = serde_json::from_str(&fb.call("fw.syslog", 1_714_557_600 + i, Some(&deny(80)))).unwrap();
        assert_eq!(out["@timestamp"], 1_714_557_600.0 + f64::from(i), "Fluent Bit's time fills @timestamp");
        assert!(out["malhost"]["findings"].is_array());
        alerts += out["malhost"]["alerts"].as_array().map_or(0, Vec::len);
        if i == 2 {
            assert_eq!(out["malhost"]["alerts"][0]["rule"]["id"], "fw.outbound_deny");
        }
    }
    assert_eq!(alerts, 1, "state persists across records; one alert");
    // A record that matches nothing comes back as it went in.
    let plain = br#"{"@timestamp":"2024-05-01T10:00:00Z","message":"hello"}"#;
    assert_eq!(fb.call("app", 0, Some(plain)).as_bytes(), plain);
    // A rejected config names the path and changes nothing.
    let bad: Value = serde_json::from_str(&fb.call("malhost.config", 0, Some(br#"{"rules":{"fw_outbound_deny":{"min_count":0}}}"#))).unwrap();
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["error"]["path"], "rules.fw_outbound_deny.min_count");
}

#[test]
fn a_missing_record_invalid_json_and_a_5_mb_record_never_trap() {
    let mut fb = FluentBit::new();
    let none: Value = serde_json::from_str(&fb.call("t", 0, None)).unwrap();
    assert_eq!(none["event"]["kind"], "pipeline_error");
    assert!(none["error"]["message"].as_str().unwrap().contains("Wasm_Heap_Size"));
    for bad in [&b"{not json"[..], b"", b"[1,2]", b"\xff\xfe", b"{\"a\":"] {
        let out: Value = serde_json::from_str(&fb.call("t", 0, Some(bad))).expect("an object, never an empty string");
        assert_eq!(out["event"]["kind"], "pipeline_error", "{bad:?}");
    }
    let big = format!(r#"{{"@timestamp":"2024-05-01T10:00:00Z","message":"{}"}}"#, "x".repeat(5 << 20));
    // Over the default limits.max_line_bytes (1 MiB): an error record that still carries it.
    let out: Value = serde_json::from_str(&fb.call("t", 0, Some(big.as_bytes()))).unwrap();
    assert_eq!(out["event"]["kind"], "pipeline_error");
    assert!(out["error"]["message"].as_str().unwrap().contains("exceeds limits.max_line_bytes"));
    assert_eq!(out["message"].as_str().unwrap().len(), big.len());
    // With the limit raised, it comes back unchanged.
    let cfg = fb.call("malhost.config", 0, Some(br#"{"limits":{"max_line_bytes":8388608}}"#));
    assert!(cfg.contains(r#""ok":true"#), "{cfg}");
    assert_eq!(fb.call("t", 0, Some(big.as_bytes())), big);
}

#[test]
fn the_result_buffer_is_reused_not_leaked() {
    let mut fb = FluentBit::new();
    for i in 0..50 {
        fb.call("fw", i, Some(&deny(445)));
    }
    let warm = fb.memory_bytes();
    for i in 0..2_000 {
        fb.call("fw", 100 + i, Some(&deny(445)));
    }
    assert_eq!(fb.memory_bytes(), warm, "memory grew over 2,000 records");
}
