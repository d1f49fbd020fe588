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
    // Each alert about a host raises its risk (one high alert: moderate).
    assert_eq!(rules, ["fw.outbound_deny", "malhost.host_risk", "fw.c2_ip", "malhost.host_risk"]);
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
    assert!(stderr(&o).contains("\"alerts\":4"), "{}", stderr(&o));
    // The summary names the rules and the hosts, not only counters.
    let alerts: Vec<_> = common::alerts(&std::fs::read(&out).unwrap()).into_iter().filter(|a| a["rule"]["id"] != "malhost.host_risk").collect();
    assert_eq!(alerts.len(), 2);
    let mut rules: Vec<&str> = alerts.iter().map(|a| a["rule"]["id"].as_str().unwrap()).collect();
    rules.sort();
    assert!(stderr(&o).contains(&format!("malhost: 4 alert(s): malhost.host_risk 2, {} 1, {} 1", rules[0], rules[1])), "{}", stderr(&o));
    let host = alerts[0]["source"]["ip"].as_str().unwrap();
    assert!(stderr(&o).contains(&format!("malhost: hosts by risk: {host} risk moderate 40, 1 alert(s)")), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn report_ranks_the_hosts_of_replay_output_or_replays_itself() {
    let dir = std::env::temp_dir().join(format!("malhost-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.jsonl");
    let o = malhost(&["replay", "-q", "--config", "examples/config.json", "-o", out.to_str().unwrap(), "examples/firewall.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = malhost(&["report", out.to_str().unwrap()]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("RANK  HOST") && lines[1].starts_with("   1  10.0.2.99       moderate    40      1"), "{text}");
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{text}");
    // --replay gives the same report from the events.
    let again = malhost(&["report", "--replay", "--config", "examples/config.json", "examples/firewall.jsonl"]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);
    let csv = malhost(&["report", "--format", "csv", out.to_str().unwrap()]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("rank,host,level,score,alerts,rules,first_seen,last_seen,explanation,evidence\n1,10.0.2.99,moderate,40,1,fw.outbound_deny 1,"), "{csv}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_raw_log_given_to_replay_exits_3_and_names_the_import_format() {
    // A Squid access log is not JSON events: every line becomes an error record, and the
    // operator is told to import it first.
    let o = malhost(&["replay", "-q", "-o", "/dev/null", "host-test/import-fixtures/squid/access.log"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no input line was a JSON event; they look like squid logs: did you mean `malhost import --format squid FILE | malhost replay`?"),
        "{}",
        stderr(&o)
    );
    // Lines that are JSON, with a few bad ones among them, are not that case.
    let o = malhost(&["replay", "-q", "-o", "/dev/null", "host-test/fixtures/bad_input/input.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn an_import_in_the_wrong_format_exits_3_and_names_the_format_the_lines_are_in() {
    // An ASA log read as Squid: every line is refused, and the operator is told which reader
    // takes them.
    let o = malhost(&["import", "--format", "squid", "-o", "/dev/null", "host-test/import-fixtures/asa/asa.log"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no line could be read as squid; they look like asa logs: did you mean `malhost import --format asa`?"),
        "{}",
        stderr(&o)
    );
    // The name the hint gives for the Windows Firewall is accepted as it is written.
    let o = malhost(&["import", "--format", "windows_firewall", "-o", "/dev/null", "host-test/import-fixtures/windows_firewall/pfirewall.log"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Lines that are JSON already are sent to replay.
    let o = malhost(&["import", "--format", "asa", "-o", "/dev/null", "examples/firewall.jsonl"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("they look like JSON lines already"), "{}", stderr(&o));
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

#[test]
fn synth_train_evaluate_pipeline() {
    let dir = std::env::temp_dir().join(format!("malhost-cli-lists-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let o = malhost(&["synth", "--samples", "400", "--hosts", "150", "--days", "2", "--seed", "3", "--out-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (m, n) = (format!("{d}/malware.jsonl"), format!("{d}/normal.jsonl"));
    let lists = format!("{d}/lists.json");
    let o = malhost(&["train", "--malware", &m, "--normal", &n, "--t-m", "0.01", "--t-l", "0.02", "-o", &lists]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&lists).unwrap()).unwrap();
    assert_eq!(doc["malware"]["entities"], 400);
    assert_eq!(doc["normal"]["entities"], 150);
    assert_eq!(doc["malware"]["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    for f in doc["fields"].as_array().unwrap() {
        for v in f["values"].as_array().unwrap() {
            assert!(v["pm"].as_f64().unwrap() > 0.01 && v["pl"].as_f64().unwrap() < 0.02, "{v}");
        }
    }
    let ports: Vec<&str> = doc["fields"][1]["values"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap()).collect();
    assert!(ports.contains(&"tcp/139"), "{ports:?}");
    // The list loads into the config as is, and the module replays with it.
    let cfg = serde_json::json!({"rules": {"learned_lists": {"list": doc, "thresholds": {"dst_port": {"count": 3}, "http_url": {"types": 1}}}}});
    let cfg_path = format!("{d}/config.json");
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let o = malhost(&["replay", "-q", "--config", &cfg_path, &m]);
    assert!(o.status.success(), "{}", stderr(&o));
    let alerts = common::alerts(&o.stdout);
    assert!(alerts.iter().any(|a| a["rule"]["id"] == "list.count"), "count alerts on the sandbox log");
    assert!(alerts.iter().any(|a| a["rule"]["id"] == "list.types"), "types alerts on the sandbox log");
    let report = format!("{d}/report.json");
    let o = malhost(&["evaluate", "--malware", &m, "--normal", &n, "--folds", "3", "--t-m", "0.01", "--t-l", "0.02", "--json", &report]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("dst_port") && table.contains("union TPR"), "{table}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["folds"], 3);
    assert_eq!(r["results"].as_array().unwrap().len(), 6);
    assert!(r["union_tpr"].as_f64().unwrap() > 0.3);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn training_errors_are_clear() {
    let dir = std::env::temp_dir().join(format!("malhost-cli-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = dir.join("m.jsonl");
    let n = dir.join("n.jsonl");
    std::fs::write(&m, "{\"destination.ip\":\"1.2.3.4\",\"destination.port\":80}\n").unwrap();
    std::fs::write(&n, "").unwrap();
    let o = malhost(&["train", "--malware", m.to_str().unwrap(), "--normal", n.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("m.jsonl:1: malware event without a sample id in `malhost.sample`"), "{}", stderr(&o));
    std::fs::write(&m, "{\"malhost.sample\":\"s1\",\"destination.ip\":\"1.2.3.4\",\"destination.port\":80}\n").unwrap();
    let o = malhost(&["train", "--malware", m.to_str().unwrap(), "--normal", n.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no normal events with a source.ip"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn imported_mail_files_replay_into_the_mail_alerts() {
    let o = malhost(&["import", "--format", "eml", "examples/mail"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("imported 3 events, 0 error records"), "{}", stderr(&o));
    let events = common::json_lines(&o.stdout);
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["email"]["attachments"][0]["file"]["name"], "請求書.pdf.exe");
    let dir = std::env::temp_dir().join(format!("malhost-cli-mail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let imported = dir.join("mail.jsonl");
    std::fs::write(&imported, &o.stdout).unwrap();
    let r = malhost(&["replay", "-q", imported.to_str().unwrap()]);
    assert!(r.status.success(), "{}", stderr(&r));
    let rules: Vec<String> = common::alerts(&r.stdout).iter().map(|a| a["rule"]["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(rules, ["mail.display_name_spoof", "mail.executable_attachment"]);
    // A file that is not a message becomes an error record, and the others still come out.
    std::fs::write(dir.join("junk.eml"), b"").unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/mail/03-benign-look-alike.eml"), dir.join("ok.eml")).unwrap();
    let o = malhost(&["import", "--format", "eml", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = common::json_lines(&o.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["error"]["type"], "malhost.import");
    assert!(lines[0]["error"]["message"].as_str().unwrap().contains("junk.eml"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn training_takes_one_file_per_sample() {
    let dir = std::env::temp_dir().join(format!("malhost-cli-persample-{}", std::process::id()));
    let samples = dir.join("samples");
    std::fs::create_dir_all(&samples).unwrap();
    let ev = |src: &str, dst: &str, port: u16| {
        format!(r#"{{"@timestamp":"2024-05-01T10:00:00Z","event.action":"deny","source.ip":"{src}","destination.ip":"{dst}","destination.port":{port},"network.transport":"tcp"}}"#)
    };
    // Two samples without any sample field: the file names are the ids.
    std::fs::write(samples.join("sample-a.jsonl"), ev("10.9.9.9", "198.51.100.1", 6667) + "\n").unwrap();
    std::fs::write(samples.join("sample-b.jsonl"), ev("10.9.9.9", "198.51.100.2", 6667) + "\n").unwrap();
    std::fs::write(dir.join("normal.jsonl"), ev("10.0.0.1", "192.0.2.1", 445) + "\n" + &ev("10.0.0.2", "192.0.2.1", 445) + "\n").unwrap();
    let out = dir.join("lists.json");
    let o = malhost(&["train", "--sample-per-file", "--malware", samples.to_str().unwrap(), "--normal",
        dir.join("normal.jsonl").to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let port = doc["fields"].as_array().unwrap().iter().find(|f| f["field"] == "dst_port").unwrap();
    assert_eq!(port["m_total"], 2, "{port}");
    assert_eq!(port["values"][0]["value"], "tcp/6667");
    assert_eq!(port["values"][0]["m"], 2);
    // Without the flag the same files are an error that says what to do.
    let o = malhost(&["train", "--malware", samples.to_str().unwrap(), "--normal", dir.join("normal.jsonl").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--sample-per-file"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_answers_each_line_at_once_and_exits_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::time::Duration;
    let wasm = common::runtime().path().expect("module path").to_path_buf();
    let mut child = Command::new(env!("CARGO_BIN_EXE_malhost"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("MALHOST_WASM", wasm)
        .args(["run", "--config", "examples/config.json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn malhost run");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let first = r#"{"@timestamp":"2024-05-01T10:00:00Z","event.action":"deny","source.ip":"10.0.2.99","destination.ip":"203.0.113.5","destination.port":445,"network.transport":"tcp"}"#;
    writeln!(stdin, "{first}").unwrap();
    stdin.flush().unwrap();
    // The answer comes while stdin is still open: nothing waits for a full batch.
    let got = rx.recv_timeout(Duration::from_secs(60)).expect("an output line before end of input");
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(v["source.ip"], "10.0.2.99");
    assert!(v["malhost"]["findings"].is_array(), "{got}");
    writeln!(stdin, "not json").unwrap();
    stdin.flush().unwrap();
    let got = rx.recv_timeout(Duration::from_secs(60)).expect("the error record");
    assert!(got.contains("pipeline_error"), "{got}");
    // SIGTERM: a clean exit, stdin still open.
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "malhost run did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    drop(stdin);
}

#[test]
fn run_processes_everything_before_end_of_input() {
    use std::io::Write;
    use std::process::Stdio;
    let wasm = common::runtime().path().expect("module path").to_path_buf();
    let input = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/firewall.jsonl")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_malhost"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("MALHOST_WASM", wasm)
        .args(["run", "--config", "examples/config.json", "--batch-lines", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let replayed = malhost(&["replay", "-q", "--config", "examples/config.json", "examples/firewall.jsonl"]);
    assert_eq!(o.stdout, replayed.stdout, "run and replay give the same bytes");
}

#[test]
fn help_lists_the_user_commands_in_order_and_hides_the_developer_ones() {
    let o = malhost(&["--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let help = String::from_utf8_lossy(&o.stdout);
    // The names in a section: its lines that start with two spaces and a name (wrapped help
    // text is indented further).
    let section = |heading: &str| -> Vec<String> {
        help.lines()
            .skip_while(|l| !l.starts_with(heading))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(section("Commands:"), ["replay", "report", "run", "import", "check-config", "schema", "train", "evaluate", "synth", "bench", "help"], "{help}");
    assert_eq!(section("Developer commands:"), ["synth-stream", "plot-samples", "bench-import"], "{help}");
    for hidden in ["synth-stream", "plot-samples", "bench-import"] {
        let o = malhost(&[hidden, "--help"]);
        assert!(o.status.success(), "{hidden}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("Usage: malhost {hidden}")), "{hidden}");
    }
    let o = malhost(&["synth-stream", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--events <EVENTS>"));
}
