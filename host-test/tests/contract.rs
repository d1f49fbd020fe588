//! "Every input line comes out exactly once, in order": the audit's reproducers (issue 17)
//! through the real module. Checkpoints and restores that fail under tight memory or time
//! limits, a recovery that must keep the state it had, and exit codes that say when something
//! could not be kept.

mod common;

use std::process::{Command, Output};

use malhost_host::replay::{self, Input, ReplayOptions};
use malhost_host::runtime::{Guest, Limits, Recovery};

fn malhost(args: &[&str]) -> Output {
    let wasm = common::runtime().path().expect("module path").to_path_buf();
    Command::new(env!("CARGO_BIN_EXE_malhost")).env("MALHOST_WASM", wasm).args(args).output().expect("run malhost")
}

fn deny(i: usize, host: usize) -> String {
    format!(
        r#"{{"@timestamp":{},"event.action":"deny","source.ip":"10.{}.{}.{}","destination.ip":"203.0.113.{}","destination.port":80,"network.transport":"tcp"}}"#,
        1_714_557_600 + i,
        host / 62_500,
        (host / 250) % 250,
        host % 250,
        i % 200
    )
}

/// The output's event lines (alerts left out) answer the input lines one for one, in order:
/// each is the line itself, the line enriched (same time and host), or an error record that
/// holds the line. Returns how many are error records.
fn assert_answers_every_line(input: &str, out: &[u8]) -> usize {
    let events: Vec<serde_json::Value> =
        common::json_lines(out).into_iter().filter(|v| v["event"]["dataset"] != "malhost.alert").collect();
    let lines: Vec<&str> = input.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(events.len(), lines.len(), "one answer per input line");
    let mut errors = 0;
    for (i, (line, ev)) in lines.iter().zip(&events).enumerate() {
        if ev["event"]["kind"] == "pipeline_error" {
            assert_eq!(ev["message"], *line, "error record {i} holds its line");
            errors += 1;
            continue;
        }
        let orig: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(ev["@timestamp"], orig["@timestamp"], "line {i} in order");
        assert_eq!(ev["source.ip"], orig["source.ip"], "line {i} in order");
    }
    errors
}

fn write_input(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("malhost-contract-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("in.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn failing_checkpoints_under_tight_limits_lose_no_line_and_exit_non_zero_if_anything_was_lost() {
    // One deny per host: the state, and so the snapshot, grows with every line until the
    // checkpoints (every batch) fail. Before, the instance stayed broken and every later call
    // answered nothing: 6,784 of 20,000 lines came out, exit code 0.
    let input: String = (0..6000).map(|i| deny(i, i) + "\n").collect();
    let path = write_input("limits", &input);
    for limit in [["--max-memory", "8"], ["--timeout-ms", "1"]] {
        let o = malhost(&["replay", "-q", limit[0], limit[1], "--checkpoint-every", "1", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let errors = assert_answers_every_line(&input, &o.stdout);
        match o.status.code() {
            Some(0) => assert_eq!(errors, 0, "{limit:?}: exit 0 only when everything was kept"),
            Some(3) => assert!(stderr.contains("not everything was kept"), "{limit:?}: {stderr}"),
            c => panic!("{limit:?}: exit code {c:?}: {stderr}"),
        }
    }
}

#[test]
fn a_failed_instance_is_replaced_with_its_state_rebuilt_from_checkpoint_and_journal() {
    // Denies 1 and 2, a checkpoint, denies 3 and 4; the instance is replaced (as after a trap)
    // and the fifth deny must still see the four before it.
    let cfg = br#"{"hash_seed":5,"rules":{"fw_outbound_deny":{"min_count":5,"watched_ports":[80]}}}"#;
    let mut g = Guest::new(common::runtime(), Limits::default()).unwrap();
    g.configure(cfg).unwrap().unwrap();
    let one = |i: usize| format!("{}\n", deny(i, 7));
    let mut out = Vec::new();
    for i in 0..2 {
        out.extend(g.process(one(i).as_bytes()).unwrap());
    }
    g.checkpoint().unwrap();
    for i in 2..4 {
        out.extend(g.process(one(i).as_bytes()).unwrap());
    }
    assert_eq!(g.recover().unwrap(), Recovery::Complete);
    out.extend(g.process(one(4).as_bytes()).unwrap());
    let alerts = common::alerts_of(&out, "fw.outbound_deny");
    assert_eq!(alerts.len(), 1, "the fifth deny alerts only if the four before it survived");
    assert_eq!(alerts[0]["malhost"]["evidence"]["count"], 5);
}

#[test]
fn a_snapshot_given_at_start_survives_a_recovery() {
    // The audit: a line too big for guest memory (no trap) used to recover the instance and
    // drop the state restored from --snapshot-in.
    let cfg = br#"{"hash_seed":5,"limits":{"max_line_bytes":67108864},"rules":{"fw_outbound_deny":{"min_count":3,"watched_ports":[80]}}}"#;
    let mut a = Guest::new(common::runtime(), Limits::default()).unwrap();
    a.configure(cfg).unwrap().unwrap();
    a.process(format!("{}\n{}\n", deny(0, 7), deny(1, 7)).as_bytes()).unwrap();
    let snap = a.snapshot().unwrap();

    let mut g = Guest::new(common::runtime(), Limits { max_memory_bytes: 24 << 20, ..Limits::default() }).unwrap();
    g.configure(cfg).unwrap().unwrap();
    g.restore(&snap).unwrap().unwrap();
    let big = format!("{{\"message\":\"{}\"}}", "y".repeat(30 << 20));
    let input = format!("{big}\n{}\n", deny(2, 7));
    let mut out = Vec::new();
    let mut log = Vec::new();
    let summary = replay::replay(
        &mut g,
        vec![Input { name: "in".into(), reader: Box::new(std::io::Cursor::new(input.into_bytes())) }],
        &mut out,
        &ReplayOptions { batch_lines: 1, ..Default::default() },
        &mut |m| log.push(m),
    )
    .unwrap();
    assert_eq!(summary.failed_lines, 1, "{log:?}");
    assert_eq!(summary.state_losses, 0, "{log:?}");
    assert_eq!(common::alerts_of(&out, "fw.outbound_deny").len(), 1, "the restored denies count: {log:?}");
}

#[test]
fn a_guest_that_failed_is_never_called_again_before_it_is_recovered() {
    let mut g = Guest::new(common::runtime(), Limits { call_timeout: Some(std::time::Duration::from_millis(1)), ..Limits::default() }).unwrap();
    g.configure(b"{}").unwrap().unwrap();
    let big: String = (0..200_000).map(|i| deny(i, i) + "\n").collect();
    let Err(first) = g.process(big.as_bytes()) else {
        return; // this machine was fast enough: nothing to show
    };
    assert!(!first.instance_intact(), "{first}");
    let again = g.process(b"{}\n").unwrap_err();
    assert!(again.to_string().contains("failed earlier"), "{again}");
    assert!(g.recover().is_ok());
    assert!(g.process(b"{}\n").is_ok());
}

#[test]
fn a_broken_output_pipe_is_an_error() {
    let input: String = (0..50_000).map(|i| deny(i, i % 100) + "\n").collect();
    let path = write_input("pipe", &input);
    let wasm = common::runtime().path().unwrap().to_path_buf();
    let mut child = Command::new(env!("CARGO_BIN_EXE_malhost"))
        .env("MALHOST_WASM", wasm)
        .args(["replay", "-q", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken pipe"));
}

#[test]
fn a_byte_order_mark_and_carriage_returns_lose_no_event() {
    let text = format!("\u{FEFF}{}\r{}\r{}\r", deny(0, 1), deny(1, 2), deny(2, 3));
    let path = write_input("cr", &text);
    let o = malhost(&["replay", "-q", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = common::json_lines(&o.stdout);
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["event"]["kind"] != "pipeline_error"), "{lines:?}");
}

#[test]
fn check_config_says_how_much_memory_the_state_can_take_and_refuses_what_cannot_fit() {
    let dir = write_input("cfg", "").parent().unwrap().to_path_buf();
    let big = dir.join("big.json");
    std::fs::write(&big, br#"{"state":{"max_hosts":4000000}}"#).unwrap();
    let o = malhost(&["check-config", "--max-memory", "512", big.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("state memory: about 1286 MiB with every table full"), "{stdout}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("can outgrow --max-memory 512 MiB"));
    // The audit's config: accepted by check-config, then a trap when the module reserved its caps.
    let huge = dir.join("huge.json");
    std::fs::write(&huge, br#"{"hash_seed":1,"state":{"max_hosts":4294967295}}"#).unwrap();
    let o = malhost(&["check-config", huge.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("state.max_hosts: expected at most 16777216"), "{}", String::from_utf8_lossy(&o.stderr));
    // The largest caps accepted configure without a trap: tables grow with use.
    let max = dir.join("max.json");
    std::fs::write(&max, br#"{"hash_seed":1,"state":{"max_hosts":10000000,"max_keys_per_host":65536,"max_destinations":1000000,"max_messages":1000000}}"#).unwrap();
    let mut g = Guest::new(common::runtime(), Limits { max_memory_bytes: 64 << 20, ..Limits::default() }).unwrap();
    g.configure(&std::fs::read(&max).unwrap()).unwrap().unwrap();
    assert!(g.memory_bytes() < 8 << 20, "nothing reserved up front: {} bytes", g.memory_bytes());
}

#[test]
fn a_recovery_rebuilds_exactly_the_state_before_it_configs_and_clock_included() {
    // Found by the `guest` fuzz target: the journal was replayed without the clock each batch
    // had (a future-dated deny refused then entered the rebuilt state) and under the last
    // config instead of the one each batch ran under.
    let a = br#"{"hash_seed":9,"limits":{"max_future":"1d"},"rules":{"fw_outbound_deny":{"min_count":3,"watched_ports":[445]}}}"#;
    let b = br#"{"hash_seed":9,"limits":{"max_future":"1d"},"rules":{"fw_outbound_deny":{"min_count":3,"watched_ports":[80]}}}"#;
    let deny = |t: i64| {
        format!(r#"{{"@timestamp":{t},"event.action":"deny","source.ip":"10.0.0.7","destination.ip":"203.0.113.5","destination.port":445,"network.transport":"tcp"}}"#) + "\n"
    };
    let mut g = Guest::new(common::runtime(), Limits::default()).unwrap();
    g.configure(a).unwrap().unwrap();
    g.checkpoint().unwrap();
    g.process(deny(1_714_557_600).as_bytes()).unwrap();
    g.process(deny(4_070_908_800).as_bytes()).unwrap(); // 2099: refused by the clock
    g.configure(b).unwrap().unwrap();
    g.process(deny(1_714_557_700).as_bytes()).unwrap(); // not watched under b
    g.configure(a).unwrap().unwrap();
    let before = g.snapshot().unwrap();
    assert_eq!(g.recover().unwrap(), Recovery::Complete);
    assert_eq!(String::from_utf8(g.snapshot().unwrap()).unwrap(), String::from_utf8(before).unwrap());
    // And it goes on as it would have: one more watched deny makes only the second (2 < 3).
    let out = g.process(deny(1_714_557_800).as_bytes()).unwrap();
    assert!(common::alerts(&out).is_empty());
}

#[test]
fn a_recovery_keeps_the_seed_a_restore_adopted_for_configs_without_one() {
    // Found by the `guest` fuzz target: a restore under a config without `hash_seed` makes the
    // snapshot's seed the instance's; a checkpoint taken later under a configured seed does
    // not record it, so a recovery's fresh instance (the guest's first random seed) rebuilt
    // the state under another seed once a replayed config dropped `hash_seed` again.
    let mut g = Guest::new(common::runtime(), Limits::default()).unwrap();
    g.configure(b"{}").unwrap().unwrap();
    let empty: serde_json::Value = serde_json::from_slice(&g.snapshot().unwrap()).unwrap();
    let mut adopted = empty.clone();
    adopted["hash_seed"] = 123_456_789u64.into();
    g.restore(adopted.to_string().as_bytes()).unwrap().unwrap();
    g.configure(br#"{"hash_seed":7}"#).unwrap().unwrap();
    g.checkpoint().unwrap();
    g.configure(b"{}").unwrap().unwrap();
    g.process(deny(0, 3).as_bytes()).unwrap();
    let before = g.snapshot().unwrap();
    let seed = |d: &[u8]| serde_json::from_slice::<serde_json::Value>(d).unwrap()["hash_seed"].as_u64();
    assert_eq!(seed(&before), Some(123_456_789));
    assert_eq!(g.recover().unwrap(), Recovery::Complete);
    assert_eq!(String::from_utf8(g.snapshot().unwrap()).unwrap(), String::from_utf8(before).unwrap());
}

#[test]
fn a_guest_without_a_time_limit_runs_once_the_epoch_ticker_has_ticked() {
    // The deadline of "no time limit" was u64::MAX ticks, to which wasmtime adds the current
    // epoch: an overflow (a panic in a debug build, an immediate interrupt in a release one)
    // for every guest made after the ticker's first tick.
    let rt = common::runtime();
    assert!(rt.interruptible());
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut g = Guest::new(rt, Limits { call_timeout: None, ..Limits::default() }).unwrap();
    g.configure(b"{}").unwrap().unwrap();
    let out = g.process(deny(0, 1).as_bytes()).unwrap();
    assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
    g.checkpoint().unwrap();
}
