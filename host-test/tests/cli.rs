//! The `malhost` command as an operator meets it: exit codes and messages for good and bad
//! configs, missing modules and unreadable inputs, and a replay of the bundled example.

mod common;

use std::process::{Command, Output};

fn malhost(args: &[&str]) -> Output {
    let wasm = common::runtime().path().expect("module path").to_path_buf();
    Command::new(env!("CARGO_BIN_EXE_malhost"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("MALHOST_WASM", wasm)
        .args(args)
        .output()
        .expect("run malhost")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn replaying_the_example_prints_events_and_alerts() {
    let o = malhost(&["replay", "-q", "--config", "examples/config.json", "examples/firewall.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let input = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/firewall.jsonl")).unwrap();
    let lines: Vec<&[u8]> = o.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let alerts = common::alerts(&o.stdout);
    assert_eq!(lines.len(), common::counted_lines(&input) + alerts.len());
    let rules: Vec<&str> = alerts.iter().map(|a| a["rule"]["id"].as_str().unwrap()).collect();
    assert_eq!(rules, ["fw.outbound_deny", "fw.c2_ip"]);
    assert!(stderr(&o).is_empty(), "quiet: {}", stderr(&o));
}

#[test]
fn replay_writes_to_a_file_and_summarises_on_stderr() {
    let dir = std::env::temp_dir().join(format!("malhost-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.jsonl");
    let o = malhost(&["replay", "--config", "examples/config.json", "-o", out.to_str().unwrap(), "examples/firewall.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("\"alerts\":2"), "{}", stderr(&o));
    assert_eq!(common::alerts(&std::fs::read(&out).unwrap()).len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_config_is_rejected_with_its_json_path() {
    let dir = std::env::temp_dir().join(format!("malhost-cli-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.json");
    std::fs::write(&cfg, r#"{"rules":{"fw_outbound_deny":{"min_count":0}}}"#).unwrap();
    for args in [vec!["check-config", cfg.to_str().unwrap()], vec!["replay", "--config", cfg.to_str().unwrap(), "examples/firewall.jsonl"]] {
        let o = malhost(&args);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("rules.fw_outbound_deny.min_count: expected a positive integer, found 0"), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    let o = malhost(&["check-config", "examples/config.json"]);
    assert!(o.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_module_and_unreadable_input_are_explained() {
    let o = malhost(&["replay", "--wasm", "/nonexistent/m.wasm", "examples/firewall.jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("module not found: /nonexistent/m.wasm"), "{}", stderr(&o));
    let o = malhost(&["replay", "/nonexistent/input.jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot open input /nonexistent/input.jsonl"), "{}", stderr(&o));
    let o = malhost(&["replay", "--wasm", "examples/config.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a WebAssembly module"), "{}", stderr(&o));
}
