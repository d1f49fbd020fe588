//! The foundation's acceptance criteria, asserted directly (not only through golden files):
//! thresholds, allowlists, C&C CIDRs and garbage lines, through the `.wasm` on wasmtime.

mod common;

use serde_json::{Value, json};

const CONFIG: &[u8] = br#"{
  "rules": {
    "fw_outbound_deny": {"watched_ports": [80, 445], "min_count": 4, "window": "10m",
                          "allow": ["203.0.113.0/24"]},
    "fw_c2_ip": {"lists": [{"name": "c2", "entries": ["198.51.100.0/24"]}]}
  }
}"#;

fn deny(t: u32, src: &str, dst: &str, port: u16) -> String {
    json!({
        "@timestamp": format!("2024-05-01T10:{:02}:{:02}Z", t / 60, t % 60),
        "event": {"action": "deny"}, "observer": {"type": "firewall"},
        "source": {"ip": src}, "destination": {"ip": dst, "port": port},
        "network": {"transport": "tcp"}
    })
    .to_string()
}

fn rule_alerts<'a>(alerts: &'a [Value], rule: &str, host: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["rule"]["id"] == rule && a["source"]["ip"] == host).collect()
}

#[test]
fn repeated_denies_alert_once_per_host_and_spare_quiet_or_allowlisted_hosts() {
    let mut input = String::new();
    for i in 0..12 {
        let port = if i % 2 == 0 { 445 } else { 80 };
        input += &deny(i * 20, "10.0.0.5", &format!("192.0.2.{}", i + 1), port);
        input.push('\n');
    }
    for i in 0..3 {
        input += &deny(i * 20, "10.0.0.6", "192.0.2.50", 445); // below min_count
        input.push('\n');
    }
    for i in 0..12 {
        input += &deny(i * 20, "10.0.0.7", "203.0.113.8", 445); // allowlisted destination
        input.push('\n');
    }
    let (out, log) = common::replay_wasm(CONFIG, input.as_bytes(), 5);
    assert!(log.is_empty(), "{log:?}");
    let alerts = common::alerts(&out);
    let a = rule_alerts(&alerts, "fw.outbound_deny", "10.0.0.5");
    assert_eq!(a.len(), 1, "exactly one alert for the noisy host: {alerts:#?}");
    assert_eq!(a[0]["malhost"]["evidence"]["count"], 4);
    assert_eq!(a[0]["malhost"]["evidence"]["ports"], json!({"tcp/445": 2, "tcp/80": 2}));
    assert_eq!(a[0]["event"]["kind"], "alert");
    assert_eq!(a[0]["rule"]["ruleset"], "malhost");
    assert!(rule_alerts(&alerts, "fw.outbound_deny", "10.0.0.6").is_empty());
    assert!(rule_alerts(&alerts, "fw.outbound_deny", "10.0.0.7").is_empty());
    // The allowlist is fw.outbound_deny's: twelve SMB attempts from 10.0.0.7 to one external
    // address are, for fw.c2_port, repeated connections on a port outside the business ports.
    assert_eq!(rule_alerts(&alerts, "fw.c2_port", "10.0.0.7").len(), 1, "{alerts:#?}");
    // Each of the two hosts reaches risk level moderate with its one high alert.
    for host in ["10.0.0.5", "10.0.0.7"] {
        let risk = rule_alerts(&alerts, "malhost.host_risk", host);
        assert_eq!(risk.len(), 1, "{alerts:#?}");
        assert_eq!(risk[0]["host"]["risk"]["calculated_level"], "moderate");
    }
    assert_eq!(alerts.len(), 4);
    // Allowlisted events pass through byte for byte.
    let first_allowlisted = deny(0, "10.0.0.7", "203.0.113.8", 445);
    assert!(out.split(|&b| b == b'\n').any(|l| l == first_allowlisted.as_bytes()));
}

#[test]
fn c2_cidr_hit_alerts_and_enriches_the_event() {
    let ev = json!({
        "@timestamp": "2024-05-01T10:00:00Z", "event": {"action": "allow"},
        "observer": {"type": "firewall"}, "source": {"ip": "10.0.0.9"},
        "destination": {"ip": "198.51.100.200", "port": 443}
    })
    .to_string();
    let (out, _) = common::replay_wasm(CONFIG, ev.as_bytes(), 10);
    let lines = common::json_lines(&out);
    assert_eq!(lines.len(), 3, "the event, its alert and the host's risk alert");
    let e = &lines[0]["threat"]["enrichments"][0];
    assert_eq!(e["indicator"]["name"], "198.51.100.0/24");
    assert_eq!(e["matched"]["atomic"], "198.51.100.200");
    assert_eq!(e["matched"]["field"], "destination.ip");
    assert_eq!(lines[0]["destination"]["ip"], "198.51.100.200", "original fields kept");
    assert_eq!(lines[1]["rule"]["id"], "fw.c2_ip");
    assert_eq!(lines[1]["source"]["ip"], "10.0.0.9");
    assert_eq!(lines[2]["rule"]["id"], "malhost.host_risk");
    assert_eq!(lines[2]["threat"]["technique"]["id"], lines[1]["threat"]["technique"]["id"], "the strongest rule's ATT&CK place");
}

#[test]
fn garbage_lines_become_one_error_record_each_and_processing_continues() {
    let mut input = String::from("garbage one\n{not json\n[\"array\"]\n");
    for i in 0..4 {
        input += &deny(i, "10.0.0.5", "192.0.2.1", 445);
        input.push('\n');
    }
    let (out, _) = common::replay_wasm(CONFIG, input.as_bytes(), 2);
    let lines = common::json_lines(&out);
    assert_eq!(lines.len(), 3 + 4 + 2, "three error records, four events, the alert and the host's risk alert");
    for (i, msg) in ["garbage one", "{not json", "[\"array\"]"].iter().enumerate() {
        assert_eq!(lines[i]["event"]["kind"], "pipeline_error");
        assert_eq!(lines[i]["error"]["type"], "malhost.input");
        assert_eq!(lines[i]["message"], *msg);
    }
    assert_eq!(lines[3]["malhost"]["findings"][0]["rule"], "fw.outbound_deny");
    assert_eq!(lines[7]["rule"]["id"], "fw.outbound_deny");
}
