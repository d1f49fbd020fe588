//! Config edge cases: every `config-cases/NAME.json` goes through `schemas/config.schema.json`
//! and `malhost::Config::from_json`, and the two verdicts (with malhost's full error message)
//! must be what `NAME.expected` says and what the group prefix of NAME stands for
//! (`config-cases/README.md`). One test per case (libtest-mimic), named after the file stem, so
//! a single case can be run alone: `cargo test -p malhost-host --test config_cases -- gap-duplicate-key`.
//!
//! After a deliberate change, rewrite the expected files and review them in `git diff`:
//! `MALHOST_BLESS=1 cargo test -p malhost-host --test config_cases`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::schema::{config_verdicts, errors, parse_json, schemas};
use libtest_mimic::{Arguments, Failed, Trial};

/// Each group's name prefix, and the verdicts its cases must have: valid under the schema,
/// accepted by malhost.
const GROUPS: [(&str, bool, bool); 4] =
    [("accepted-", true, true), ("rejected-", false, false), ("gap-", true, false), ("stricter-", false, true)];

const BLESS_HINT: &str = "MALHOST_BLESS=1 cargo test -p malhost-host --test config_cases";

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config-cases")
}

/// The group of a case name (`Err` when the name has no known prefix or is not kebab-case).
fn group(name: &str) -> Result<(&'static str, bool, bool), String> {
    let kebab = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match GROUPS.iter().find(|(prefix, ..)| name.starts_with(prefix)) {
        Some(&(prefix, schema, malhost)) if kebab && name.len() > prefix.len() => Ok((prefix, schema, malhost)),
        _ => Err(format!(
            "a case is named GROUP-what-it-checks in lower-case kebab-case, GROUP one of accepted, rejected, gap, stricter; `{name}` is not"
        )),
    }
}

/// The verdicts as `NAME.expected` holds them: two lines. A line break inside malhost's
/// message (there is none today) would be written as `\n` to keep it two lines.
fn render(schema_ok: bool, code: &Result<(), String>) -> String {
    let schema = if schema_ok { "valid" } else { "invalid" };
    let malhost = match code {
        Ok(()) => "accepted".to_string(),
        Err(e) => format!("rejected: {}", e.replace('\n', "\\n")),
    };
    format!("schema: {schema}\nmalhost: {malhost}\n")
}

fn verdict_words(schema_ok: bool, accepted: bool) -> String {
    format!(
        "schema {}, malhost {}",
        if schema_ok { "valid" } else { "invalid" },
        if accepted { "accepted" } else { "rejected" }
    )
}

/// The lines of `expected` and `actual` that differ, numbered.
fn line_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.split('\n').collect(), actual.split('\n').collect());
    let show = |line: Option<&&str>| match line {
        None => "<no line>".to_string(),
        Some(l) if l.is_empty() => "<empty line>".to_string(),
        Some(l) => l.to_string(),
    };
    (0..e.len().max(a.len()))
        .filter(|&i| e.get(i) != a.get(i))
        .map(|i| format!("  line {}:\n    - {}\n    + {}\n", i + 1, show(e.get(i)), show(a.get(i))))
        .collect()
}

/// Why the schema rejects `doc` (empty when it does not), for failure messages.
fn schema_reasons(doc: &[u8]) -> String {
    match parse_json(doc) {
        Ok(v) => errors(&schemas().config, &v),
        Err(e) => format!("\n      not JSON: {e}"),
    }
}

/// Checks one case (or, blessing, rewrites its `.expected` and checks only its group).
fn check_case(name: &str, json: &Path, has_expected: bool, bless: bool) -> Result<(), Failed> {
    let (prefix, want_schema, want_accepted) = group(name)?;
    let doc = fs::read(json).map_err(|e| format!("{}: {e}", json.display()))?;
    let (schema_ok, code) = config_verdicts(&doc);
    let actual = render(schema_ok, &code);
    let expected_path = json.with_extension("expected");
    let mut wrong = Vec::new();
    if bless {
        fs::write(&expected_path, &actual).map_err(|e| format!("{}: {e}", expected_path.display()))?;
    } else if !has_expected {
        wrong.push(format!("{name}.json has no {name}.expected; write it with {BLESS_HINT} and review it"));
    } else {
        let expected = fs::read_to_string(&expected_path).map_err(|e| format!("{}: {e}", expected_path.display()))?;
        if expected != actual {
            wrong.push(format!(
                "the verdicts differ from {name}.expected (- expected, + actual):\n{}If the change is deliberate: {BLESS_HINT}",
                line_diff(&expected, &actual)
            ));
        }
    }
    if (schema_ok, code.is_ok()) != (want_schema, want_accepted) {
        wrong.push(format!(
            "a {prefix}* case must be {}, but this one is {}; rename the pair to the group it now belongs to, or fix the schema or the loader",
            verdict_words(want_schema, want_accepted),
            verdict_words(schema_ok, code.is_ok())
        ));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let why = schema_reasons(&doc);
    if !why.is_empty() {
        wrong.push(format!("the schema's reasons:{why}"));
    }
    Err(wrong.join("\n").into())
}

fn main() {
    let args = Arguments::from_args();
    let bless = std::env::var_os("MALHOST_BLESS").is_some();
    let dir = cases_dir();
    // Case name → (has NAME.json, has NAME.expected); any other file is a stray.
    let mut cases: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut strays = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("read config-cases").path();
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let stem = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        match path.extension().and_then(|e| e.to_str()) {
            _ if file.starts_with('.') || file == "README.md" => {}
            Some("json") if path.is_file() => cases.entry(stem).or_default().0 = true,
            Some("expected") if path.is_file() => cases.entry(stem).or_default().1 = true,
            _ => strays.push(file),
        }
    }
    assert!(cases.len() >= 10, "config cases missing in {}: found {}", dir.display(), cases.len());
    let mut trials = Vec::new();
    for (name, (has_json, has_expected)) in cases {
        let json = dir.join(format!("{name}.json"));
        trials.push(if has_json {
            Trial::test(name.clone(), move || check_case(&name, &json, has_expected, bless))
        } else {
            Trial::test(name.clone(), move || {
                Err(format!("{name}.expected has no {name}.json: restore the case or delete the file").into())
            })
        });
    }
    for file in strays {
        trials.push(Trial::test(file.clone(), move || {
            Err(format!("config-cases/ holds only NAME.json, NAME.expected and README.md, not {file}").into())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
