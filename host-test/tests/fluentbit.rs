//! The Fluent Bit `filter_wasm` export, called through wasmtime the way Fluent Bit calls it:
//! the host copies the tag and the record (with a NUL after it) into guest memory, calls
//! `malhost_filter(tag_ptr, tag_len, time_sec, time_nsec, rec_ptr, rec_len)`, reads the
//! NUL-terminated JSON object at the returned address, and frees its copies. The instance
//! persists across records (Fluent Bit ≥ 4.1).
//!
//! Both flavours: the core module (imports nothing; config by record or embedded) and the
//! WASI flavour (`wasm32-wasip1`), which reads `malhost.json` from the directories Fluent Bit
//! opens for it (`Accessible_Paths`), here opened by wasmtime-wasi the same way.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

struct FluentBit<T: 'static> {
    store: Store<T>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    filter: TypedFunc<(u32, u32, u32, u32, u32, u32), u32>,
}

impl FluentBit<()> {
    fn new() -> FluentBit<()> {
        let path = common::runtime().path().expect("module path").to_path_buf();
        let engine = Engine::default();
        let module = Module::from_file(&engine, &path).expect("compile");
        let mut store = Store::new(&engine, ());
        let inst = Instance::new(&mut store, &module, &[]).expect("instantiate without imports");
        FluentBit::from_instance(store, inst)
    }
}

/// The WASI flavour with `dirs` opened for it under their own names, as Fluent Bit (WAMR)
/// opens `Accessible_Paths`; no arguments, no environment, no other access.
fn wasi_flavour(dirs: &[&Path]) -> FluentBit<WasiP1Ctx> {
    let path = malhost_host::module_path::workspace_wasi_module();
    assert!(path.is_file(), "{} is missing: build it with `{}` (scripts/test.sh does)", path.display(), malhost_host::module_path::WASI_BUILD_COMMAND);
    let engine = Engine::default();
    let module = Module::from_file(&engine, &path).expect("compile");
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).unwrap();
    let mut ctx = WasiCtxBuilder::new();
    for d in dirs {
        ctx.preopened_dir(d, d.to_str().unwrap(), FsPerms::ReadOnly).unwrap();
    }
    let mut store = Store::new(&engine, ctx.build_p1());
    let inst = linker.instantiate(&mut store, &module).expect("instantiate with WASI");
    // WAMR would run a reactor's `_initialize` here; the module exports none.
    assert!(inst.get_func(&mut store, "_initialize").is_none());
    FluentBit::from_instance(store, inst)
}

impl<T: 'static> FluentBit<T> {
    fn from_instance(mut store: Store<T>, inst: Instance) -> FluentBit<T> {
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

/// A fresh directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("malhost-fb-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `fw.outbound_deny` alerts of a record (its host risk alerts are not counted).
fn alerts_of(out: &str) -> usize {
    let v: Value = serde_json::from_str(out).expect("a JSON object");
    v["malhost"]["alerts"].as_array().map_or(0, |a| a.iter().filter(|a| a["rule"]["id"] == "fw.outbound_deny").count())
}

#[test]
fn the_wasi_flavour_reads_its_config_from_the_first_accessible_directory_that_has_one() {
    let (empty, with_config, later) = (temp_dir("empty"), temp_dir("cfg"), temp_dir("later"));
    std::fs::write(with_config.join("malhost.json"), br#"{"rules":{"fw_outbound_deny":{"min_count":2,"watched_ports":[80]}}}"#).unwrap();
    std::fs::write(later.join("malhost.json"), br#"{"rules":{"fw_outbound_deny":{"min_count":50}}}"#).unwrap();
    let mut fb = wasi_flavour(&[&empty, &with_config, &later]);
    assert_eq!(alerts_of(&fb.call("fw", 1_714_557_600, Some(&deny(80)))), 0);
    assert_eq!(alerts_of(&fb.call("fw", 1_714_557_601, Some(&deny(80)))), 1, "min_count 2 came from the file");

    // No file anywhere: the defaults (min_count 5 in ten minutes), not an error.
    let mut fb = wasi_flavour(&[&empty]);
    let counts: Vec<usize> = (0..5).map(|i| alerts_of(&fb.call("fw", 1_714_557_600 + i, Some(&deny(80))))).collect();
    assert_eq!(counts, [0, 0, 0, 0, 1]);
    for d in [empty, with_config, later] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn a_rejected_config_file_turns_records_into_error_records_until_a_config_record_fixes_it() {
    let dir = temp_dir("bad");
    std::fs::write(dir.join("malhost.json"), br#"{"rules":{"fw_outbound_deny":{"window":"ten minutes"}}}"#).unwrap();
    let mut fb = wasi_flavour(&[&dir]);
    let rec = deny(80);
    let out: Value = serde_json::from_str(&fb.call("fw", 1, Some(&rec))).unwrap();
    assert_eq!(out["error"]["type"], "malhost.config");
    let msg = out["error"]["message"].as_str().unwrap();
    let file = dir.join("malhost.json");
    assert!(msg.contains(&format!("config file {} rejected at rules.fw_outbound_deny.window", file.display())), "{msg}");
    assert_eq!(out["message"], std::str::from_utf8(&rec).unwrap(), "the record rides along, not lost");
    // Invalid JSON and a missing record still come back as records.
    assert!(fb.call("fw", 1, Some(b"{oops")).contains("pipeline_error"));
    assert!(fb.call("fw", 1, None).contains("pipeline_error"));
    assert_eq!(fb.call("malhost.config", 0, Some(b"{}")), r#"{"ok":true,"abi_version":1}"#);
    let out: Value = serde_json::from_str(&fb.call("fw", 2, Some(&rec))).unwrap();
    assert_eq!(out["destination.port"], 80);
    assert!(out.get("error").is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_wasi_flavour_asks_its_host_for_wasi_calls_only() {
    let engine = Engine::default();
    let module = Module::from_file(&engine, malhost_host::module_path::workspace_wasi_module()).expect("built by scripts/test.sh");
    let imports: Vec<String> = module.imports().map(|i| format!("{}::{}", i.module(), i.name())).collect();
    assert!(!imports.is_empty());
    assert!(imports.iter().all(|i| i.starts_with("wasi_snapshot_preview1::")), "{imports:?}");
    assert!(module.exports().any(|e| e.name() == "malhost_filter"));
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
        alerts += out["malhost"]["alerts"].as_array().map_or(0, |a| a.iter().filter(|a| a["rule"]["id"] == "fw.outbound_deny").count());
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
