//! Invariants over random input: random mixes of firewall, proxy and mail events (mail
//! headers with encoded words, attachment names with tricks, and broken forms of both),
//! random JSON values and random bytes.
//!
//! - Every non-blank input line comes out as exactly one non-alert line, in input order:
//!   byte-identical, or an error record carrying the line, or the same object with fields
//!   added. Everything else in the output is an alert.
//! - The native detector never panics; the module never traps and gives the same bytes.
//! - Config parsing never panics, whatever the document.

mod common;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

const CONFIG: &[u8] = br#"{
  "state": {"max_hosts": 4, "max_keys_per_host": 8},
  "rules": {
    "fw_outbound_deny": {"watched_ports": [80, 445], "min_count": 2, "window": "5m", "allow": ["203.0.113.0/30"]},
    "fw_c2_ip": {"dedup_window": 60, "lists": [{"name": "c2", "entries": ["198.51.100.0/28", "192.0.2.7:8443", "2001:db8:bad::/48"]}]}
  }
}"#;

fn firewall_event() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec!["10.0.0.1", "10.0.0.2", "192.168.1.9", "fd00::5", "203.0.113.200", "::ffff:10.0.0.3", "bad-ip"]),
        prop::sample::select(vec!["198.51.100.3", "192.0.2.7", "203.0.113.1", "8.8.8.8", "2001:db8:bad::1", "10.1.1.1", "x"]),
        prop::sample::select(vec![json!(80), json!("445"), json!(8443), json!(53), json!(70000), json!(null)]),
        prop::sample::select(vec!["deny", "DENIED", "allow", "drop", "accept"]),
        -400i64..4000,
        any::<bool>(),
        prop::sample::select(vec![json!("tcp"), json!("udp"), json!(6), json!("icmp")]),
    )
        .prop_map(|(src, dst, port, action, t, nested, transport)| {
            let ts = json!(1_714_557_600 + t);
            let v = if nested {
                json!({"@timestamp": ts, "event": {"action": action}, "observer": {"type": "firewall"},
                       "source": {"ip": src}, "destination": {"ip": dst, "port": port},
                       "network": {"transport": transport}})
            } else {
                json!({"@timestamp": ts, "event.action": action, "source.ip": src,
                       "destination.ip": dst, "destination.port": port, "network.transport": transport})
            };
            serde_json::to_vec(&v).unwrap()
        })
}

fn proxy_event() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec!["10.0.0.1", "10.0.0.2", "fd00::5", "bad-ip"]),
        prop::sample::select(vec![
            "http://rare.example/a", "HTTP://RARE.EXAMPLE/%41", "http://[2001:db8::1]/x", "evil.example:8443",
            "https://a.b.example.co.uk/", "http://%zz/", "", "http://3232235777/",
        ]),
        prop::sample::select(vec!["GET", "POST", "CONNECT", "connect"]),
        prop::sample::select(vec![json!(100), json!("5000000"), json!("lots"), json!(null)]),
        -400i64..(5 * 86_400),
    )
        .prop_map(|(src, url, method, bytes, t)| {
            let v = json!({"@timestamp": 1_714_557_600 + t, "observer": {"type": "proxy"}, "source": {"ip": src},
                           "url": {"original": url}, "http": {"request": {"method": method, "bytes": bytes}},
                           "user_agent": {"original": "x"}});
            serde_json::to_vec(&v).unwrap()
        })
}

fn mail_event() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![
            "=?ISO-2022-JP?B?GyRCPFJEORsoQiBjZW9AeW91cmNvcnAuZXhhbXBsZQ==?= <a@evil.example>",
            "\"ceo@yourcorp.example\" <ceo@yourcorp.example>",
            "\"unterminated <x@y.example>",
            "=?UTF-8?B?!!!?= <b@evil.example>",
            "=?X-NOPE?Q?a=40b.example?= <c@evil.example>",
            "Team: \"it@yourcorp.example\" <g@x.example>, h@x.example;",
            "",
            "<<<@@@>>>",
        ]),
        prop::sample::select(vec![
            "invoice.pdf.exe", "report.exe.pdf", "invoice\u{202E}fdp.exe", "A.ExE. . ", "=?UTF-8?B?!!?=.exe", "",
        ]),
        prop::sample::select(vec![
            "application/octet-stream; name*=UTF-8''%E8%AB%8B.pdf.exe",
            "attachment; filename*0*=UTF-8''%E8; filename*1*=.scr",
            "attachment; filename=\"Email.htm",
            "text/plain; name*=bogus",
            ";;;=\"",
        ]),
        prop::sample::select(vec![json!("<m1@x>"), json!("<m2@x>"), json!(null)]),
        "[ -~]{0,20}",
    )
        .prop_map(|(from, att, ct, id, noise)| {
            let v = json!({"@timestamp": 1_714_557_600, "event": {"dataset": "mail"}, "source": {"ip": "203.0.113.9"},
                           "email": {"message_id": id, "headers": {"from": format!("{from}{noise}"), "content_type": [ct]},
                                     "attachments": [{"file": {"name": att}}, {"file": {"name": noise}}]}});
            serde_json::to_vec(&v).unwrap()
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z.@ ]{0,12}".prop_map(Value::String),
        Just(json!("10.0.0.1")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (prop::sample::select(vec!["source", "source.ip", "destination", "event", "event.action", "malhost", "threat", "error", "x", "ip", "port",
                                            "email", "headers", "from", "email.attachments", "file", "name", "url"]), inner),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => firewall_event(),
        2 => proxy_event(),
        2 => mail_event(),
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..80),
        1 => prop::collection::vec(prop::sample::select(b"{}[]\":,0123 \\\n\r\tnul".to_vec()), 0..40),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(line(), 1..40).prop_map(|lines| {
        let mut s = Vec::new();
        for l in lines {
            s.extend_from_slice(&l);
            s.push(b'\n');
        }
        s
    })
}

/// The input's records as the contract defines them (LF, CRLF or a lone CR end a line; a
/// byte order mark is not content; blank lines are no record).
fn input_lines(input: &[u8]) -> Vec<&[u8]> {
    malhost::event::framing::lines(input).filter_map(malhost::event::framing::content).collect()
}

fn is_our_alert(v: &Value) -> bool {
    v["event"]["kind"] == "alert" && v["rule"]["ruleset"] == "malhost" && v["event"]["dataset"] == "malhost.alert"
}

/// Whether `out` is what the detector may write for input line `inp`.
fn corresponds(inp: &[u8], out: &[u8]) -> bool {
    if inp == out {
        return true;
    }
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(out) else { return false };
    if o.get("event").and_then(|e| e.get("kind")) == Some(&json!("pipeline_error")) {
        return o.get("message") == Some(&Value::String(String::from_utf8_lossy(inp).into_owned()));
    }
    let Ok(Value::Object(i)) = serde_json::from_slice::<Value>(inp) else { return false };
    // Enriched: every original top-level field kept (objects we merge into may only grow).
    i.iter().all(|(k, v)| match (v, o.get(k)) {
        (_, None) => false,
        (Value::Object(a), Some(Value::Object(b))) if matches!(k.as_str(), "malhost" | "threat" | "error") => {
            a.keys().all(|kk| b.contains_key(kk))
        }
        (_, Some(w)) if matches!(k.as_str(), "malhost" | "threat" | "error") && !v.is_object() => {
            w == v || w.get("original_value") == Some(v)
        }
        (_, Some(w)) => w == v,
    })
}

/// Checks the one-line-per-input-line invariant; returns the number of alerts.
fn check_invariant(input: &[u8], output: &[u8]) -> Result<usize, TestCaseError> {
    prop_assert_eq!(output.last().copied().unwrap_or(b'\n'), b'\n', "output ends with a newline");
    let outs: Vec<&[u8]> = output.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let ins = input_lines(input);
    let mut j = 0;
    let mut alerts = 0;
    for (n, inp) in ins.iter().enumerate() {
        prop_assert!(j < outs.len(), "input line {} has no output", n + 1);
        prop_assert!(
            corresponds(inp, outs[j]),
            "input line {}: {:?}\noutput: {:?}",
            n + 1,
            String::from_utf8_lossy(inp),
            String::from_utf8_lossy(outs[j])
        );
        j += 1;
        while j < outs.len() && serde_json::from_slice::<Value>(outs[j]).is_ok_and(|v| is_our_alert(&v)) && outs[j] != ins.get(n + 1).copied().unwrap_or(b"") {
            alerts += 1;
            j += 1;
        }
    }
    prop_assert_eq!(j, outs.len(), "extra output lines");
    Ok(alerts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn native_output_has_one_line_per_input_line_in_order(input in stream()) {
        let out = common::replay_native(CONFIG, &input);
        check_invariant(&input, &out)?;
    }

    #[test]
    fn config_parsing_never_panics(doc in json_value(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = malhost::Config::from_json(&serde_json::to_vec(&json!({"rules": doc.clone()})).unwrap());
        let _ = malhost::Config::from_json(&serde_json::to_vec(&doc).unwrap());
        let _ = malhost::Config::from_json(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn module_never_traps_and_matches_native(chunks in prop::collection::vec(stream(), 1..5)) {
        let mut g = common::guest(CONFIG);
        let mut native = malhost::Detector::new(malhost::Config::from_json(CONFIG).unwrap());
        for input in &chunks {
            let wasm = g.process(input).map_err(|e| TestCaseError::fail(format!("module failed: {e}")))?;
            let mut expected = Vec::new();
            native.process_batch(input, &mut expected);
            prop_assert_eq!(&wasm, &expected);
            check_invariant(input, &wasm)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A stream replayed whole through the module gives the same output as the same stream
    /// cut in two, with the state snapshotted from one instance and restored into a fresh one.
    #[test]
    fn snapshot_and_restore_mid_stream_changes_nothing(input in stream(), cut_frac in 0.0f64..1.0) {
        let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
        let cut = ((lines.len() as f64) * cut_frac) as usize;
        let mut whole = common::guest(CONFIG);
        let mut expected = whole.process(&input).unwrap();
        expected.extend(whole.flush().unwrap());
        let mut a = common::guest(CONFIG);
        let mut got = a.process(&lines[..cut].concat()).unwrap();
        let snap = a.snapshot().unwrap();
        let mut b = common::guest(CONFIG);
        b.restore(&snap).unwrap().unwrap();
        got.extend(b.process(&lines[cut..].concat()).unwrap());
        got.extend(b.flush().unwrap());
        prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
        prop_assert_eq!(b.stats().unwrap(), whole.stats().unwrap());
    }
}

#[test]
fn the_generator_reaches_alerts() {
    // Guards the property tests against a generator that never exercises the rules.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut alerts = 0;
    let mut rules_seen = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let input = stream().new_tree(&mut runner).unwrap().current();
        let out = common::replay_native(CONFIG, &input);
        let pat = br#""ruleset":"malhost""#;
        alerts += out.split(|&b| b == b'\n').filter(|l| l.windows(pat.len()).any(|w| w == pat)).count();
        for rule in ["mail.display_name_spoof", "mail.executable_attachment", "proxy.connect_port"] {
            let p = format!(r#""id":"{rule}""#);
            if out.windows(p.len()).any(|w| w == p.as_bytes()) {
                rules_seen.insert(rule);
            }
        }
    }
    assert!(alerts > 0);
    assert_eq!(rules_seen.len(), 3, "rules reached: {rules_seen:?}");
}

#[test]
fn the_checker_rejects_lost_reordered_or_altered_lines() {
    let input = b"{\"a\":1}\n{\"b\":2}\nnot json\n";
    let good = common::replay_native(CONFIG, input);
    assert!(check_invariant(input, &good).is_ok());
    let lines: Vec<&[u8]> = good.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let join = |ls: &[&[u8]]| ls.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect::<Vec<u8>>();
    assert!(check_invariant(input, &join(&[lines[0], lines[2]])).is_err(), "lost line");
    assert!(check_invariant(input, &join(&[lines[1], lines[0], lines[2]])).is_err(), "reordered");
    assert!(check_invariant(input, &join(&[lines[0], b"{\"b\":3}", lines[2]])).is_err(), "altered");
    assert!(check_invariant(input, &join(&[lines[0], lines[1], lines[2], lines[2]])).is_err(), "duplicated");
}
