//! Importers on fixtures written in each real format (`host-test/import-fixtures/<case>/`):
//! the output must match `expected.jsonl`, every event must be valid under
//! `schemas/event.schema.json`, and every record must come out (events plus error records
//! equal the records of the input). After a deliberate change:
//! `MALHOST_BLESS=1 cargo test -p malhost-host --test import`.

use std::fs;
use std::path::{Path, PathBuf};

use malhost::import::{ImportOptions, LineFormat};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("import-fixtures")
}

fn event_schema() -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/event.schema.json");
    let doc: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    jsonschema::options().offline().build(&doc).unwrap()
}

/// The line format a case's directory name starts with.
fn format_of(case: &str) -> Option<Box<dyn LineFormat>> {
    use malhost::import::*;
    let f: Box<dyn LineFormat> = if case.starts_with("zeek") {
        Box::new(zeek::Zeek::default())
    } else if case.starts_with("squid") {
        Box::new(squid::Squid)
    } else if case.starts_with("asa") {
        Box::new(asa::Asa)
    } else if case.starts_with("iptables") {
        Box::new(iptables::Iptables)
    } else if case.starts_with("windows_firewall") {
        Box::new(windows_firewall::WindowsFirewall::default())
    } else if case.starts_with("argus") {
        Box::new(argus::Argus::default())
    } else {
        return None;
    };
    Some(f)
}

fn input_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !matches!(p.file_name().and_then(|n| n.to_str()), Some("expected.jsonl" | "options.json")))
        .collect();
    files.sort();
    assert_eq!(files.len(), 1, "{}: one input file expected, found {files:?}", dir.display());
    files.remove(0)
}

#[test]
fn import_fixtures() {
    let bless = std::env::var_os("MALHOST_BLESS").is_some();
    let schema = event_schema();
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures()).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 4, "{cases:?}");
    let mut failures = String::new();
    for dir in &cases {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(mut format) = format_of(&case) else { panic!("{case}: unknown format prefix") };
        // `options.json` may set the UTC offset and the syslog year of a case.
        let mut opts = ImportOptions::default();
        if let Ok(o) = fs::read(dir.join("options.json")) {
            let o: Value = serde_json::from_slice(&o).unwrap();
            if let Some(off) = o["utc_offset"].as_str() {
                opts.utc_offset_ms = malhost::calendar::parse_offset(off).unwrap();
            }
            if let Some(y) = o["syslog_year"].as_i64() {
                opts.syslog_year = y as i32;
            }
        }
        // Relative to the package (the tests' working directory), so that error records name
        // the same path in every checkout.
        let input = Path::new("import-fixtures").join(&case).join(input_file(dir).file_name().unwrap());
        let mut out = Vec::new();
        let summary = malhost_host::import::import_lines(format.as_mut(), &opts, &[input.clone()], &mut out).unwrap();
        let text = String::from_utf8_lossy(&fs::read(&input).unwrap()).into_owned();
        // Header lines (Zeek and W3C `#…`, the Argus column line) are not records.
        let records = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("StartTime,")).count() as u64;
        // A JSON record split over two lines counts as the two lines it is.
        if summary.events + summary.errors != records {
            failures += &format!("\n{case}: {} events + {} errors for {records} records", summary.events, summary.errors);
        }
        for (i, line) in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            let v: Value = serde_json::from_slice(line).unwrap();
            if v["event"]["kind"] == "pipeline_error" {
                assert_eq!(v["error"]["type"], "malhost.import");
                continue;
            }
            let errs: Vec<String> = schema.iter_errors(&v).map(|e| format!("{e} at {}", e.instance_path())).collect();
            if !errs.is_empty() {
                failures += &format!("\n{case} output line {}: invalid under event.schema.json: {errs:?}", i + 1);
            }
        }
        let expected = dir.join("expected.jsonl");
        if bless {
            fs::write(&expected, &out).unwrap();
        } else if fs::read(&expected).unwrap_or_default() != out {
            failures += &format!("\n{case}: output differs from expected.jsonl:\n{}", String::from_utf8_lossy(&out));
        }
    }
    assert!(failures.is_empty(), "{failures}\nIf deliberate: MALHOST_BLESS=1 cargo test -p malhost-host --test import");
}

#[test]
fn importers_never_panic_on_hostile_lines() {
    let hostile: Vec<String> = vec![
        String::new(),
        "#fields".into(),
        "#separator \\xZZ".into(),
        "\t\t\t\t".into(),
        "{".into(),
        "{}".into(),
        "[1,2]".into(),
        "é".repeat(100_000),
        format!("1.0 1 10.0.0.1 TCP_MISS/200 1 GET http://{}/", "a".repeat(1 << 20)),
        "1.0\u{0}\u{1}\u{7f}".into(),
    ];
    for case in ["zeek", "squid", "asa", "iptables", "windows_firewall", "argus"] {
        let mut f = format_of(case).unwrap();
        for l in &hostile {
            let _ = f.parse_line(l, &ImportOptions::default());
        }
    }
}
