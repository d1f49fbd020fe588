//! The JSON Schemas in `schemas/`, loaded and compiled once for the tests that check documents
//! against them (`schemas.rs`, `config_cases.rs`), and the JSON reading those tests share.

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

/// Every schema file, all checked by `schemas.rs`.
pub const SCHEMA_FILES: [&str; 7] = [
    "config.schema.json",
    "lists.schema.json",
    "event.schema.json",
    "enrichment.schema.json",
    "alert.schema.json",
    "error-record.schema.json",
    "output-line.schema.json",
];

/// `schemas/`.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// One schema file, parsed.
pub fn load_schema(name: &str) -> Value {
    let path = schemas_dir().join(name);
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// Validators for every schema, built once. All schema files are registered under their
/// `$id`, so `output-line.schema.json` finds the others without fetching anything.
pub struct Schemas {
    pub config: Validator,
    pub event: Validator,
    pub enrichment: Validator,
    pub alert: Validator,
    pub error_record: Validator,
    pub output_line: Validator,
}

/// Compiles every schema (offline, `$ref`s resolved by `$id` among the files).
pub fn build_all() -> Result<Schemas, String> {
    let docs: Vec<(String, Value)> = SCHEMA_FILES
        .iter()
        .map(|name| {
            let doc = load_schema(name);
            let id = doc["$id"].as_str().ok_or(format!("{name}: no $id"))?.to_owned();
            Ok((id, doc))
        })
        .collect::<Result<_, String>>()?;
    let mut builder = jsonschema::Registry::new();
    for (id, doc) in &docs {
        builder = builder.add(id, doc.clone()).map_err(|e| format!("register {id}: {e}"))?;
    }
    let registry = builder.prepare().map_err(|e| format!("registry: {e}"))?;
    let build = |name: &str| -> Result<Validator, String> {
        let doc = load_schema(name);
        jsonschema::options()
            .offline()
            .with_registry(&registry)
            .build(&doc)
            .map_err(|e| format!("{name} does not compile: {e}"))
    };
    Ok(Schemas {
        config: build("config.schema.json")?,
        event: build("event.schema.json")?,
        enrichment: build("enrichment.schema.json")?,
        alert: build("alert.schema.json")?,
        error_record: build("error-record.schema.json")?,
        output_line: build("output-line.schema.json")?,
    })
}

/// [`build_all`], once per test binary.
pub fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| build_all().unwrap_or_else(|e| panic!("{e}")))
}

/// Why a value is invalid, one line per error (empty when valid).
pub fn errors(v: &Validator, instance: &Value) -> String {
    v.iter_errors(instance).map(|e| format!("\n      {} (at {})", e, e.instance_path())).collect()
}

/// Parses one JSON text. The fixtures stay within what serde_json reads (nesting below 128)
/// except for what the detector reads and serde_json's tree refuses (fixture `odd_values`):
/// surrogate escapes and numbers beyond `f64`, which are checked as U+FFFD and 0.
pub fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8: {e}"))?;
    match serde_json::from_str(text) {
        Err(e) if ["surrogate", "hex escape", "number out of range"].iter().any(|m| e.to_string().contains(m)) => {
            serde_json::from_str(&serde_readable(text)).map_err(|e| e.to_string())
        }
        r => r.map_err(|e| e.to_string()),
    }
}

/// `text` with every surrogate escape replaced by `\ufffd` and every number outside `f64`
/// by 0 (strings and structure otherwise unchanged).
pub fn serde_readable(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut in_str) = (0, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' && b.get(i + 1) == Some(&b'u') && i + 6 <= b.len() {
                let hex = &text[i + 2..i + 6];
                if u16::from_str_radix(hex, 16).is_ok_and(|u| (0xD800..0xE000).contains(&u)) {
                    out.push_str("\\ufffd");
                    i += 6;
                    continue;
                }
            }
            if c == b'\\' {
                out.push_str(&text[i..i + 2]);
                i += 2;
                continue;
            }
            in_str = c != b'"';
        } else if c == b'"' {
            in_str = true;
        } else if c == b'-' || c.is_ascii_digit() {
            let end = (i..b.len()).find(|&j| !matches!(b[j], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')).unwrap_or(b.len());
            let num = &text[i..end];
            out.push_str(if num.parse::<f64>().is_ok_and(f64::is_finite) { num } else { "0" });
            i = end;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The two verdicts on a config document: valid under `config.schema.json` (a document that is
/// not JSON is not), and `malhost::Config::from_json`'s answer with its error message.
pub fn config_verdicts(doc: &[u8]) -> (bool, Result<(), String>) {
    let schema_ok = match parse_json(doc) {
        Ok(v) => schemas().config.is_valid(&v),
        Err(_) => false,
    };
    let code = malhost::Config::from_json(doc).map(|_| ()).map_err(|e| e.to_string());
    (schema_ok, code)
}
