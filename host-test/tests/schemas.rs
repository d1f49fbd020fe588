//! The JSON Schemas in `schemas/` against the code and the fixtures:
//!
//! - every schema is a valid draft 2020-12 schema and compiles, cross-file `$ref`s resolving
//!   by `$id` from the files themselves (no network);
//! - `config.schema.json` accepts the example and fixture configs (its edge cases, with what
//!   `malhost::Config::from_json` says of them, are the fixtures in `config-cases/`, checked by
//!   `config_cases.rs`);
//! - every output line of every fixture (`expected.jsonl`) is valid under
//!   `output-line.schema.json`, alerts also directly under `alert.schema.json`;
//! - fixture inputs and `event.schema.json` agree with the detector: a line that is not a JSON
//!   object becomes an error record, an event valid under the schema comes out without a field
//!   error, an object that is not valid comes out with `error.type: "malhost.field"` or
//!   untouched; and on a set of edge values of the fields the detector checks, schema validity
//!   and "no field error" coincide.

mod common;

use std::fs;
use std::path::PathBuf;

use common::schema::{SCHEMA_FILES, build_all, errors, load_schema, parse_json, schemas, schemas_dir};
use serde_json::{Value, json};

struct Case {
    name: String,
    config: Vec<u8>,
    input: Vec<u8>,
    expected: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(common::fixtures_dir())
        .expect("fixtures dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("input.jsonl").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no fixture cases");
    dirs.iter()
        .map(|d| Case {
            name: d.file_name().unwrap().to_string_lossy().into_owned(),
            config: fs::read(d.join("config.json")).unwrap_or_else(|_| b"{}".to_vec()),
            input: fs::read(d.join("input.jsonl")).expect("input.jsonl"),
            expected: fs::read(d.join("expected.jsonl")).unwrap_or_default(),
        })
        .collect()
}

/// The input lines the detector counts, as it sees them (`\r` stripped, blank lines skipped).
fn counted(input: &[u8]) -> Vec<&[u8]> {
    let lines: Vec<&[u8]> = input
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    assert_eq!(lines.len(), common::counted_lines(input));
    lines
}

/// Output lines, each with its parsed value.
fn output_lines(out: &[u8]) -> Vec<(&[u8], Value)> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v = parse_json(l)
                .unwrap_or_else(|e| panic!("output line is not JSON ({e}): {}", String::from_utf8_lossy(l)));
            (l, v)
        })
        .collect()
}

/// An alert malhost wrote (as opposed to an event, or another tool's alert passing through).
fn is_alert(v: &Value) -> bool {
    v["event"]["kind"] == "alert" && v["event"]["module"] == "malhost"
}

fn is_error_record(v: &Value) -> bool {
    v["event"]["kind"] == "pipeline_error"
}

fn has_field_error(v: &Value) -> bool {
    v["error"]["type"] == "malhost.field"
}

/// A field error about the syntax inside a raw mail header value.
fn is_mail_header_problem(v: &Value) -> bool {
    let m = v["error"]["message"].as_str().unwrap_or("");
    ["email.headers.", "email.from.display_name:", "email.attachments.file.name:"].iter().any(|p| m.starts_with(p))
}

fn show(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    if s.len() > 300 {
        format!("{}…", &s[..s.char_indices().nth(300).map_or(s.len(), |(i, _)| i)])
    } else {
        s.into_owned()
    }
}

// ---- a) the schemas themselves ---------------------------------------------------------------

#[test]
fn every_schema_is_valid_and_compiles() {
    let mut ids = Vec::new();
    for name in SCHEMA_FILES {
        let doc = load_schema(name);
        assert_eq!(doc["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}: $schema");
        assert_eq!(doc["$id"], format!("https://malhost.invalid/schemas/{name}"), "{name}: $id");
        assert!(doc["title"].is_string() && doc["description"].is_string(), "{name}: title and description");
        if let Err(e) = jsonschema::meta::validate(&doc) {
            panic!("{name} is not a valid schema: {e} (at {})", e.instance_path());
        }
        ids.push(doc["$id"].clone());
    }
    ids.sort_by_key(|v| v.to_string());
    ids.dedup();
    assert_eq!(ids.len(), SCHEMA_FILES.len(), "$ids must be distinct");
    // Also every schema compiles, with the other files as the only resources.
    build_all().unwrap_or_else(|e| panic!("{e}"));
}

/// Every JSON file under `schemas/` is one of the schemas above, so none goes untested.
#[test]
fn no_schema_file_is_left_out() {
    let mut found: Vec<String> = fs::read_dir(schemas_dir())
        .expect("schemas dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    let mut known: Vec<String> = SCHEMA_FILES.iter().map(|s| s.to_string()).collect();
    known.sort();
    assert_eq!(found, known, "every schemas/*.json belongs in SCHEMA_FILES (host-test/tests/common/schema.rs)");
}

// ---- b) configuration ------------------------------------------------------------------------

/// `schemas/config.schema.json` is generated from the settings types
/// (`malhost::config::json_schema`, also `malhost schema`): the committed file must be what the
/// code generates now. `MALHOST_BLESS=1` rewrites it.
#[test]
fn the_committed_config_schema_is_the_one_the_settings_types_generate() {
    let path = schemas_dir().join("config.schema.json");
    let generated = serde_json::to_string_pretty(&malhost::config::json_schema()).unwrap() + "\n";
    if std::env::var_os("MALHOST_BLESS").is_some() {
        fs::write(&path, &generated).unwrap();
    }
    let committed = fs::read_to_string(&path).unwrap();
    if committed != generated {
        let first = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "schemas/config.schema.json is stale (first difference at line {}: {:?} in the file, {:?} generated); regenerate it with `MALHOST_BLESS=1 cargo test -p malhost-host --test schemas` or `malhost schema > schemas/config.schema.json`",
            first + 1,
            committed.lines().nth(first).unwrap_or(""),
            generated.lines().nth(first).unwrap_or("")
        );
    }
}

#[test]
fn example_and_fixture_configs_are_valid_under_the_schema_and_accepted() {
    let mut docs = vec![(
        "examples/config.json".to_string(),
        fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/config.json"))
            .expect("examples/config.json"),
    )];
    for c in cases() {
        docs.push((format!("fixtures/{}/config.json", c.name), c.config));
    }
    for (name, doc) in docs {
        let v = parse_json(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let why = errors(&schemas().config, &v);
        assert!(why.is_empty(), "{name} is invalid under config.schema.json:{why}");
        if let Err(e) = malhost::Config::from_json(&doc) {
            panic!("{name} is rejected by malhost: {e}");
        }
    }
}

// ---- c) output lines -------------------------------------------------------------------------

#[test]
fn every_expected_output_line_is_valid() {
    let s = schemas();
    let mut wrong = String::new();
    let (mut alerts, mut records, mut events) = (0, 0, 0);
    for c in cases() {
        for (n, (line, v)) in output_lines(&c.expected).into_iter().enumerate() {
            let at = format!("{}/expected.jsonl:{}", c.name, n + 1);
            if !v.is_object() {
                wrong += &format!("\n  {at}: not a JSON object: {}", show(line));
                continue;
            }
            let why = errors(&s.output_line, &v);
            if !why.is_empty() {
                wrong += &format!("\n  {at}: invalid under output-line.schema.json:{why}\n    {}", show(line));
            }
            let (direct, name) = if is_alert(&v) {
                alerts += 1;
                (&s.alert, "alert")
            } else if is_error_record(&v) {
                records += 1;
                (&s.error_record, "error-record")
            } else {
                events += 1;
                (&s.enrichment, "enrichment")
            };
            let why = errors(direct, &v);
            if !why.is_empty() {
                wrong += &format!("\n  {at}: invalid under {name}.schema.json:{why}\n    {}", show(line));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong}");
    assert!(
        alerts > 0 && records > 0 && events > 0,
        "fixtures cover alerts ({alerts}), error records ({records}) and events ({events})"
    );
}

/// The output schemas are not vacuous: each rejects a broken copy of a real line.
#[test]
fn output_schemas_reject_broken_lines() {
    let s = schemas();
    let all: Vec<Value> = cases()
        .iter()
        .flat_map(|c| output_lines(&c.expected).into_iter().map(|(_, v)| v).collect::<Vec<_>>())
        .collect();
    let alert = all.iter().find(|v| is_alert(v) && v["destination"].is_object()).expect("a fw.c2_ip alert").clone();
    let record = all
        .iter()
        .find(|v| is_error_record(v) && v["malhost"].is_object())
        .expect("an error record with base64")
        .clone();
    let enriched = all
        .iter()
        .find(|v| {
            v["threat"]["enrichments"][0]["matched"]["type"] == "indicator_match_rule"
                && v["malhost"]["findings"].is_array()
        })
        .expect("an event with an indicator match and a finding")
        .clone();
    let with_error = all.iter().find(|v| has_field_error(v)).expect("an event with a field error").clone();

    let broken = |base: &Value, pointer: &str, value: Option<Value>| {
        let mut v = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let obj = v.pointer_mut(parent).and_then(Value::as_object_mut).unwrap_or_else(|| panic!("{pointer}"));
        match value {
            Some(x) => obj.insert(key.to_string(), x),
            None => obj.remove(key),
        };
        v
    };
    let alert_cases = [
        ("/event/severity", Some(json!(5))),
        ("/event/risk_score", Some(json!(50))),
        ("/event/dataset", Some(json!("other"))),
        ("/event/extra", Some(json!(1))),
        ("/rule/ruleset", Some(json!("sigma"))),
        ("/rule/id", None),
        ("/source/ip", Some(json!("10.0.0"))),
        ("/destination/port", Some(json!(70000))),
        ("/related/ip", Some(json!([]))),
        ("/malhost/evidence", Some(json!("x"))),
        ("/@timestamp", Some(json!("2024-05-01T10:00:00Z"))),
        ("/message", None),
        ("/extra", Some(json!(1))),
    ];
    for (p, x) in alert_cases {
        let v = broken(&alert, p, x.clone());
        assert!(!s.alert.is_valid(&v), "alert.schema.json accepts {p} = {x:?}");
        assert!(!s.output_line.is_valid(&v), "output-line.schema.json accepts an alert with {p} = {x:?}");
    }
    let record_cases = [
        ("/event/kind", Some(json!("alert"))),
        ("/error/type", Some(json!("input"))),
        ("/error/message", None),
        ("/message", None),
        ("/malhost/original_base64", Some(json!("not base64!"))),
        ("/extra", Some(json!(1))),
    ];
    for (p, x) in record_cases {
        let v = broken(&record, p, x.clone());
        assert!(!s.error_record.is_valid(&v), "error-record.schema.json accepts {p} = {x:?}");
    }
    let broken_record = broken(&record, "/message", None);
    assert!(!s.output_line.is_valid(&broken_record), "output-line.schema.json accepts an error record without message");
    let event_cases = [
        ("/threat/enrichments/0/indicator/provider", None),
        ("/threat/enrichments/0/indicator/ip", Some(json!("203.0.113"))),
        ("/threat/enrichments/0/matched/field", Some(json!(7))),
        ("/malhost/findings/0/severity", Some(json!("urgent"))),
        ("/malhost/findings/0/reason", None),
        ("/malhost/findings/0/extra", Some(json!(1))),
    ];
    for (p, x) in event_cases {
        let v = broken(&enriched, p, x.clone());
        assert!(!s.enrichment.is_valid(&v), "enrichment.schema.json accepts {p} = {x:?}");
        assert!(!s.output_line.is_valid(&v), "output-line.schema.json accepts an event with {p} = {x:?}");
    }
    let v = broken(&with_error, "/error/message", Some(json!("")));
    assert!(!s.output_line.is_valid(&v), "output-line.schema.json accepts an empty field error message");
    assert!(!s.output_line.is_valid(&json!([1])), "output-line.schema.json accepts an array");
}

// ---- d) inputs against event.schema.json and the detector ------------------------------------

/// What an input line should become, judged from the line and event.schema.json alone.
fn check_input_line(line: &[u8], max_line_bytes: usize, out_line: &[u8], out: &Value) -> Result<(), String> {
    let event = &schemas().event;
    if line.len() > max_line_bytes {
        return if is_error_record(out) {
            Ok(())
        } else {
            Err("longer than limits.max_line_bytes, but no error record".into())
        };
    }
    match parse_json(line) {
        Err(e) => {
            if is_error_record(out) && out["error"]["type"] == "malhost.input" {
                Ok(())
            } else {
                Err(format!("not JSON ({e}), but the output is not a malhost.input error record"))
            }
        }
        Ok(v) if !v.is_object() => {
            if is_error_record(out) && out["error"]["type"] == "malhost.input" {
                Ok(())
            } else {
                Err("not a JSON object, but the output is not a malhost.input error record".into())
            }
        }
        Ok(v) => {
            // A line claiming to be a malhost alert is never passed on as one.
            let claims_alert = v["event"]["dataset"] == "malhost.alert" || (v["event"]["module"] == "malhost" && v["event"]["kind"] == "alert");
            if claims_alert {
                return if is_error_record(out) && out["error"]["type"] == "malhost.forged_alert" {
                    Ok(())
                } else {
                    Err("claims to be a malhost alert, but the output is not a malhost.forged_alert error record".into())
                };
            }
            if is_error_record(out) {
                return Err("a JSON object, but the output is an error record".into());
            }
            let why = errors(event, &v);
            if why.is_empty() {
                // Mail header syntax (RFC 5322 quoting, RFC 2047 base64 and charsets) is beyond
                // JSON Schema: the schema only says these fields are strings.
                if has_field_error(out) && is_mail_header_problem(out) {
                    return Ok(());
                }
                // An event read from its raw `message` (config raw_messages): its fields came
                // from the log line, which the schema cannot see into.
                if has_field_error(out) && out["event"]["original"].is_string() && v["message"].is_string() {
                    return Ok(());
                }
                if has_field_error(out) {
                    return Err(format!(
                        "valid under event.schema.json, but the detector reports: {}",
                        out["error"]["message"]
                    ));
                }
                Ok(())
            } else if has_field_error(out) || out_line == line {
                Ok(())
            } else {
                Err(format!(
                    "invalid under event.schema.json, but the detector used it without a field error:{why}\n    output: {}",
                    show(out_line)
                ))
            }
        }
    }
}

#[test]
fn fixture_inputs_agree_with_event_schema_and_detector() {
    let mut wrong = String::new();
    let (mut valid, mut invalid, mut not_objects) = (0, 0, 0);
    for c in cases() {
        let max_line_bytes = malhost::Config::from_json(&c.config).expect("config").max_line_bytes;
        let out = common::replay_native(&c.config, &c.input);
        let outputs: Vec<(&[u8], Value)> = output_lines(&out).into_iter().filter(|(_, v)| !is_alert(v)).collect();
        let inputs = counted(&c.input);
        assert_eq!(
            outputs.len(),
            inputs.len(),
            "{}: {} counted input lines but {} non-alert output lines",
            c.name,
            inputs.len(),
            outputs.len()
        );
        for (n, (line, (out_line, out_v))) in inputs.iter().zip(&outputs).enumerate() {
            match parse_json(line) {
                Ok(v) if v.is_object() => {
                    if schemas().event.is_valid(&v) {
                        valid += 1
                    } else {
                        invalid += 1
                    }
                }
                _ => not_objects += 1,
            }
            if let Err(e) = check_input_line(line, max_line_bytes, out_line, out_v) {
                wrong += &format!("\n  {} input line {} (counted): {e}\n    input: {}", c.name, n + 1, show(line));
            }
        }
    }
    assert!(wrong.is_empty(), "event.schema.json and the detector disagree:{wrong}");
    assert!(
        valid > 0 && invalid > 0 && not_objects > 0,
        "coverage: {valid} valid, {invalid} invalid, {not_objects} not objects"
    );
}

/// The cases the detector rejects in the fixtures are rejected by the schema for the right
/// field (not just for any reason).
#[test]
fn event_schema_names_the_fields_the_detector_names() {
    let expect = [
        (r#"{"@timestamp":"yesterday"}"#, "/@timestamp"),
        (r#"{"@timestamp":null}"#, "/@timestamp"),
        (r#"{"@timestamp":1,"destination":{"ip":"not-an-ip"}}"#, "/destination/ip"),
        (r#"{"@timestamp":1,"destination.port":70000}"#, "/destination.port"),
        (r#"{"@timestamp":1,"source":{"ip":"10.9.0.1.5"}}"#, "/source/ip"),
    ];
    for (doc, path) in expect {
        let v: Value = serde_json::from_str(doc).unwrap();
        let paths: Vec<String> = schemas().event.iter_errors(&v).map(|e| e.instance_path().to_string()).collect();
        assert!(paths.iter().any(|p| p == path), "{doc}: errors at {paths:?}, expected one at {path}");
    }
}

// ---- event fields: schema validity == no field error -----------------------------------------

const EDGE_CONFIG: &[u8] =
    br#"{"rules": {"fw_c2_ip": {"lists": [{"name": "t", "entries": ["203.0.113.0/24", "2001:db8::/32"]}]}}}"#;

/// A denied outbound TCP/443 connection (a watched port) to a listed C&C address: both rules
/// read every field they know.
fn base_event() -> Value {
    json!({
        "@timestamp": "2024-05-01T10:00:00Z",
        "event": {"action": "deny"},
        "observer": {"type": "firewall"},
        "source": {"ip": "10.0.0.1"},
        "destination": {"ip": "203.0.113.1", "port": 443},
        "network": {"transport": "tcp"}
    })
}

/// `base_event` with `field` (dotted ECS name) set to `value`, or removed for `None`, written
/// nested (`flat == false`) or as a dotted key.
fn with_field(field: &str, value: Option<Value>, flat: bool) -> Value {
    let mut v = base_event();
    let obj = v.as_object_mut().unwrap();
    let parts: Vec<&str> = field.split('.').collect();
    if parts.len() == 2 {
        if let Some(Value::Object(inner)) = obj.get_mut(parts[0]) {
            inner.remove(parts[1]);
            if inner.is_empty() {
                obj.remove(parts[0]);
            }
        }
    } else {
        obj.remove(field);
    }
    if let Some(x) = value {
        if flat || parts.len() == 1 {
            obj.insert(field.to_string(), x);
        } else {
            let inner = obj.entry(parts[0]).or_insert_with(|| json!({}));
            inner.as_object_mut().unwrap().insert(parts[1].to_string(), x);
        }
    }
    v
}

/// Runs one event through the detector: `Ok(())` when it comes out without a field error.
fn detector_verdict(event: &Value) -> Result<(), String> {
    let line = serde_json::to_vec(event).unwrap();
    let out = common::replay_native(EDGE_CONFIG, &line);
    let first = output_lines(&out).into_iter().next().expect("an output line").1;
    if is_error_record(&first) || has_field_error(&first) {
        Err(first["error"]["message"].as_str().unwrap_or("?").to_string())
    } else {
        Ok(())
    }
}

fn agreement(field: &str, values: &[Value], wrong: &mut String) {
    for value in values {
        let forms: &[bool] = if field.contains('.') { &[false, true] } else { &[false] };
        for &flat in forms {
            let ev = with_field(field, Some(value.clone()), flat);
            let schema_ok = schemas().event.is_valid(&ev);
            let code = detector_verdict(&ev);
            if schema_ok != code.is_ok() {
                let form = if flat { "flat" } else { "nested" };
                *wrong += &format!(
                    "\n  {field} = {value} ({form}): schema says {}, detector says {}",
                    if schema_ok { "valid" } else { "invalid" },
                    match &code {
                        Ok(()) => "fine".to_string(),
                        Err(e) => e.clone(),
                    }
                );
            }
        }
    }
}

#[test]
fn event_schema_and_detector_agree_on_field_values() {
    let mut wrong = String::new();
    agreement(
        "@timestamp",
        &[
            json!("2024-05-01T10:00:00Z"),
            json!("2024-05-01T10:00:00.123456789Z"),
            json!("2024-05-01T19:00:00+09:00"),
            json!("2024-05-01T10:00:00-00:00"),
            json!("2024-05-01 10:00:00Z"),
            json!(" 2024-05-01T10:00:00Z "),
            json!("2024-02-29T10:00:00Z"),
            json!("2024-05-01t10:00:00z"),
            json!("2024-05-01T10:00Z"),
            json!("2024-05-01T10:00:00+0900"),
            json!("2024-05-01T10:00:00+09"),
            json!("2024-05-01T10:00:00,5Z"),
            json!("2016-12-31T23:59:60Z"),
            json!("2024-05-01T10:00:00.1234567891Z"),
            json!(1714557600),
            json!(1714557600000u64),
            json!(1714557600.5),
            json!(0),
            json!(253402300799999u64),
            json!("1714557600"),
            json!("1714557600000"),
            json!("1714557600.5"),
            json!("yesterday"),
            json!("2024-05-01T10:00:00"),
            json!("2024-05-01"),
            json!("2024-13-01T10:00:00Z"),
            json!("2024-05-32T10:00:00Z"),
            json!("2024-05-01T24:00:00Z"),
            json!("2024-05-01T10:60:00Z"),
            json!(""),
            json!(" "),
            json!("1.2.3"),
            json!("-1714557600"),
            json!("1714557600Z"),
            json!(-5),
            json!(253402300800000u64),
            json!(1e300),
            json!(true),
            json!(null),
            json!([]),
            json!({}),
        ],
        &mut wrong,
    );
    let ips = |more: &[Value]| {
        let mut v = vec![
            json!("10.0.0"),
            json!("10.0.0.1.5"),
            json!("010.0.0.1"),
            json!("256.0.0.1"),
            json!("not-an-ip"),
            json!(""),
            json!("1:2:3:4:5:6:7:8:9"),
            json!("1::2::3"),
            json!(":::"),
            json!("12345::"),
            json!("[::1]"),
            json!("10.0.0.1/32"),
            json!("10.0.0.1:80"),
            json!(5),
            json!(true),
            json!([]),
            json!({}),
        ];
        v.extend_from_slice(more);
        v
    };
    agreement(
        "source.ip",
        &ips(&[
            json!("10.0.0.1"),
            json!(" 10.0.0.1 "),
            json!("10.0.0.1%x"),
            json!("::ffff:10.0.0.1"),
            json!("fd00::1"),
            json!("fd00::1%eth0"),
            json!("FD00:0000::0001"),
            json!("1.2.3.4"),
            json!("::"),
            json!("::1"),
            json!("1:2:3:4:5:6:7:8"),
            json!("1:2:3:4:5:6:1.2.3.4"),
            json!("1::"),
            json!("1:2:3:4:5:6:7::"),
            json!(null),
        ]),
        &mut wrong,
    );
    agreement(
        "destination.ip",
        &ips(&[
            json!("203.0.113.1"),
            json!("198.51.100.1"),
            json!(" 203.0.113.1 "),
            json!("::ffff:203.0.113.1"),
            json!("2001:db8::1"),
            json!("2001:db8::1%2"),
            json!(null),
        ]),
        &mut wrong,
    );
    agreement(
        "destination.port",
        &[
            json!(443),
            json!(0),
            json!(65535),
            json!(70),
            json!("443"),
            json!(" 443 "),
            json!("+443"),
            json!("0443"),
            json!(443.0),
            json!(""),
            json!(null),
            json!(70000),
            json!(-1),
            json!("70000"),
            json!("65536"),
            json!("abc"),
            json!("44 3"),
            json!("-0"),
            json!(44.5),
            json!(true),
            json!([]),
            json!({}),
        ],
        &mut wrong,
    );
    // network.iana_number is read when network.transport is not a string.
    let mut no_transport = String::new();
    for value in [
        json!(6),
        json!(17),
        json!(1),
        json!(255),
        json!(0),
        json!("6"),
        json!(" 17 "),
        json!("+6"),
        json!(null),
        json!(256),
        json!(-1),
        json!("tcp"),
        json!("256"),
        json!(""),
        json!(6.5),
        json!(true),
        json!([]),
    ] {
        let mut ev = with_field("network.iana_number", Some(value.clone()), false);
        ev["network"].as_object_mut().unwrap().remove("transport");
        let schema_ok = schemas().event.is_valid(&ev);
        let code = detector_verdict(&ev);
        if schema_ok != code.is_ok() {
            no_transport += &format!("\n  network.iana_number = {value}: schema {schema_ok}, detector {code:?}");
        }
    }
    wrong += &no_transport;
    // Missing fields: the conditional requirements.
    let cases: Vec<(&str, Value)> = vec![
        ("denied firewall event without destination.ip", with_field("destination.ip", None, false)),
        ("denied firewall event without source.ip", with_field("source.ip", None, false)),
        ("destination.ip null", with_field("destination.ip", Some(Value::Null), true)),
        ("no @timestamp", with_field("@timestamp", None, false)),
        ("inbound, no destination.ip", {
            let mut v = with_field("destination.ip", None, false);
            v["network.direction"] = json!("Inbound");
            v
        }),
        ("proxy, denied, no destination.ip", {
            let mut v = with_field("destination.ip", None, false);
            v["observer"] = json!({"type": "proxy"});
            v
        }),
        ("no observer, category network, no destination.ip", {
            let mut v = with_field("destination.ip", None, false);
            v.as_object_mut().unwrap().remove("observer");
            v["event"]["category"] = json!(["network"]);
            v
        }),
        ("dataset cisco.asa, no destination.ip", {
            let mut v = with_field("destination.ip", None, false);
            v.as_object_mut().unwrap().remove("observer");
            v["event.dataset"] = json!("cisco.asa");
            v
        }),
        ("allowed, no destination.ip", {
            let mut v = with_field("destination.ip", None, false);
            v["event"]["action"] = json!("allow");
            v
        }),
        ("event.type [connection, Denied], no destination.ip", {
            let mut v = with_field("destination.ip", None, false);
            v["event"] = json!({"type": ["connection", " Denied "]});
            v
        }),
    ];
    for (what, ev) in cases {
        let schema_ok = schemas().event.is_valid(&ev);
        let code = detector_verdict(&ev);
        if schema_ok != code.is_ok() {
            wrong += &format!("\n  {what}: schema {schema_ok}, detector {code:?}");
        }
    }
    assert!(wrong.is_empty(), "event.schema.json and the detector disagree:{wrong}");
}

/// Where the event schema and the detector knowingly differ. The schema is stricter on purpose
/// in the first group (ECS types, and source.ip whenever a destination is named, since malhost
/// needs it only when the destination is listed, which the schema cannot know); the second
/// group is beyond a pattern (calendar dates) or a detector inconsistency (`destination.port`
/// takes 443.0, `network.iana_number` refuses 6.0).
#[test]
fn where_event_schema_and_detector_knowingly_differ() {
    let mut stricter = vec![
        ("event.action a number", with_field("event.action", Some(json!(5)), false)),
        ("no source.ip, destination not listed, allowed", {
            let mut v = with_field("source.ip", None, false);
            v["event"]["action"] = json!("allow");
            v["destination"]["ip"] = json!("192.0.2.1");
            v
        }),
    ];
    // ISO 8601 / RFC 9557 forms jiff reads beyond RFC 3339 (SPEC §3 promises RFC 3339).
    for ts in [
        "2024-05-01T10Z",
        "20240501T100000Z",
        "+002024-05-01T10:00:00Z",
        "2024-05-01T10:00:00Z[UTC]",
        "2024-05-01T10:00:00+09:00[Asia/Tokyo]",
    ] {
        stricter.push((ts, with_field("@timestamp", Some(json!(ts)), false)));
    }
    for (what, ev) in stricter {
        assert!(!schemas().event.is_valid(&ev) && detector_verdict(&ev).is_ok(), "no longer stricter: {what}");
    }
    let looser = [
        ("a day that does not exist", with_field("@timestamp", Some(json!("2024-02-30T10:00:00Z")), false)),
        ("network.iana_number 6.0", {
            let mut v = with_field("network.iana_number", Some(json!(6.0)), false);
            v["network"].as_object_mut().unwrap().remove("transport");
            v
        }),
    ];
    for (what, ev) in looser {
        assert!(schemas().event.is_valid(&ev) && detector_verdict(&ev).is_err(), "no longer looser: {what}");
    }
}
