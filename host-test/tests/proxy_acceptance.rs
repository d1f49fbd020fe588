//! The web proxy issue's acceptance criteria, asserted directly through the `.wasm` on
//! wasmtime: a beacon among 500 browsing hosts, CONNECT ports, and upload runs.

mod common;

use malhost_host::synth::{ProxyOptions, proxy_events, proxy_host_ip};
use serde_json::{Value, json};

const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

fn config() -> Vec<u8> {
    json!({"rules": {"proxy_user_agent": {"allowed": ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) *"]},
                     "proxy_upload_volume": {"max_bytes": 1_000_000}}})
    .to_string()
    .into_bytes()
}

fn request(t: &str, src: &str, method: &str, url: &str, bytes: u64) -> String {
    let key = if method == "CONNECT" { "original" } else { "full" };
    json!({"@timestamp": t, "observer": {"type": "proxy"}, "source": {"ip": src},
           "url": {key: url}, "http": {"request": {"method": method, "bytes": bytes}},
           "user_agent": {"original": UA}})
    .to_string()
}

fn by_rule<'a>(alerts: &'a [Value], rule: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["rule"]["id"] == rule).collect()
}

#[test]
fn one_six_hourly_beacon_among_500_browsing_hosts_gives_exactly_one_alert() {
    let mut input = Vec::new();
    let n = proxy_events(&ProxyOptions::default(), &mut input);
    assert!(n > 3_000, "{n} events");
    let (out, log) = common::replay_wasm(&config(), &input, 100);
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(common::json_lines(&out).len() - common::alerts(&out).len(), n, "every event comes out");
    let alerts = common::alerts(&out);
    let beacons = by_rule(&alerts, "proxy.daily_beacon");
    assert_eq!(beacons.len(), 1, "{beacons:#?}");
    let a = beacons[0];
    assert_eq!(a["source"]["ip"], proxy_host_ip(0));
    let ev = &a["malhost"]["evidence"];
    assert_eq!(ev["destination"], "c2-0.example");
    assert_eq!(ev["consecutive_days"], 3);
    assert_eq!(ev["hosts_reaching_destination"], 1);
    assert!(ev["periodicity"]["score"].as_f64().unwrap() > 0.9, "{ev}");
    assert!((ev["periodicity"]["interval_median_s"].as_f64().unwrap() - 21_600.0).abs() < 60.0, "{ev}");
    // Nothing else: popular sites are not beacons, and browsing raises no other alert; the
    // beaconing host's risk rises to moderate (one high alert).
    let risk = by_rule(&alerts, "malhost.host_risk");
    assert_eq!(risk.len(), 1, "{alerts:#?}");
    assert_eq!((&risk[0]["source"]["ip"], &risk[0]["host"]["risk"]["calculated_level"]), (&a["source"]["ip"], &json!("moderate")));
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
}

#[test]
fn connect_to_an_odd_port_alerts_and_to_443_does_not() {
    let input = [
        request("2024-05-01T10:00:00Z", "10.9.0.1", "CONNECT", "evil.example:8443", 500),
        request("2024-05-01T10:00:00Z", "10.9.0.2", "CONNECT", "good.example:443", 500),
    ]
    .join("\n");
    let (out, log) = common::replay_wasm(&config(), input.as_bytes(), 1);
    assert!(log.is_empty(), "{log:?}");
    let alerts = common::alerts(&out);
    let a = by_rule(&alerts, "proxy.connect_port");
    assert_eq!(a.len(), 1, "{alerts:#?}");
    assert_eq!(a[0]["source"]["ip"], "10.9.0.1");
    assert_eq!(a[0]["malhost"]["evidence"]["destination"], "evil.example:8443");
}

#[test]
fn an_upload_run_past_max_bytes_alerts_once_and_spread_volume_does_not() {
    let mut lines = vec![request("2024-05-01T10:00:00Z", "10.9.0.1", "POST", "http://drop.example/u", 300_000)];
    for i in 1..=6 {
        lines.push(request(&format!("2024-05-01T10:0{i}:00Z"), "10.9.0.1", "CONNECT", "drop.example:443", 300_000));
    }
    // The same 2.1 MB in runs to seven destinations.
    for i in 0..7 {
        let d = format!("share{i}.example");
        let (m, url) = if i % 2 == 0 { ("POST", format!("http://{d}/u")) } else { ("POST", format!("https://{d}/v")) };
        lines.push(request(&format!("2024-05-01T10:1{i}:00Z"), "10.9.0.2", m, &url, 200_000));
        lines.push(request(&format!("2024-05-01T10:1{i}:30Z"), "10.9.0.2", "CONNECT", &format!("{d}:443"), 100_000));
    }
    let (out, log) = common::replay_wasm(&config(), lines.join("\n").as_bytes(), 4);
    assert!(log.is_empty(), "{log:?}");
    let alerts = common::alerts(&out);
    let a = by_rule(&alerts, "proxy.upload_volume");
    assert_eq!(a.len(), 1, "{alerts:#?}");
    assert_eq!(a[0]["source"]["ip"], "10.9.0.1");
    assert_eq!(a[0]["malhost"]["evidence"]["bytes"], 1_200_000);
    assert_eq!(a[0]["malhost"]["evidence"]["requests"], 4);
    assert_eq!(by_rule(&alerts, "malhost.host_risk").len(), 1, "the uploading host's risk: {alerts:#?}");
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
}
