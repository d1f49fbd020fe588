//! Each default is written once in code (the settings types' `Default`), and documented twice:
//! the README's defaults table and `schemas/config.schema.json`. This checks that both say
//! what the code does: for every row of the README table whose default is a JSON value, a
//! document setting just that key to it compiles to exactly `Config::default()`, and the
//! schema's `default` at that path (where it has one) is the same value.

use serde_json::{Map, Value};

fn readme_rows() -> Vec<(String, Value)> {
    let readme = include_str!("../../README.md");
    let table = readme.split("| key | default | meaning |").nth(1).expect("the README's defaults table");
    let mut rows = Vec::new();
    for line in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let (keys, values) = (cells[0].trim_start_matches("| "), cells[1]);
        let keys: Vec<&str> = keys.split(" / ").map(|k| k.trim().trim_matches('`')).collect();
        let values: Vec<&str> = values.split(" / ").collect();
        if keys.len() != values.len() {
            continue;
        }
        let parent = keys[0].rsplit_once('.').map_or("", |(p, _)| p);
        for (i, (k, v)) in keys.iter().zip(&values).enumerate() {
            let key = if i == 0 || parent.is_empty() { k.to_string() } else { format!("{parent}.{k}") };
            if key.contains('<') {
                continue;
            }
            let v = v.trim();
            let value = match serde_json::from_str::<Value>(v) {
                Ok(v) => v,
                // Bare words: severities and the like.
                Err(_) if v.chars().all(|c| c.is_ascii_lowercase()) && !["none"].contains(&v) => Value::String(v.into()),
                Err(_) => continue, // prose ("the host's", "= `window`", …)
            };
            rows.push((key, value));
        }
    }
    rows
}

fn document(key: &str, value: Value) -> Value {
    key.rsplit('.').fold(value, |inner, k| {
        let mut m = Map::new();
        m.insert(k.to_string(), inner);
        Value::Object(m)
    })
}

/// The schema node at a dotted path (local `$ref`s followed).
fn schema_at<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    let resolve = |mut n: &'a Value| {
        while let Some(r) = n.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/$defs/")?;
            let target = &schema["$defs"][name];
            if n.get("default").is_some() {
                return Some(n);
            }
            n = target;
        }
        Some(n)
    };
    let mut node = schema;
    for part in key.split('.') {
        node = resolve(node)?.get("properties")?.get(part)?;
    }
    Some(node)
}

#[test]
fn the_readme_defaults_and_the_schema_defaults_are_the_codes() {
    let schema: Value = serde_json::from_str(include_str!("../../schemas/config.schema.json")).unwrap();
    let default = format!("{:?}", malhost::Config::default());
    let rows = readme_rows();
    assert!(rows.len() >= 50, "only {} rows read from the README's defaults table", rows.len());
    let mut wrong = String::new();
    for (key, value) in &rows {
        let doc = document(key, value.clone());
        match malhost::Config::from_json(doc.to_string().as_bytes()) {
            Ok(c) if format!("{c:?}") == default => {}
            Ok(_) => wrong += &format!("\n  README says {key} defaults to {value}, but setting it changes the config"),
            Err(e) => wrong += &format!("\n  README's default of {key} ({value}) is refused: {e}"),
        }
        if let Some(d) = schema_at(&schema, key).and_then(|n| n.get("default")) {
            if d != value {
                wrong += &format!("\n  {key}: README says {value}, the schema {d}");
            }
        }
    }
    // Every rule in the registry has a row in the table and a section in the schema.
    for rule in malhost::rules::registry::REGISTRY {
        let key = format!("rules.{}", rule.key);
        if !rows.iter().any(|(k, _)| k.starts_with(&format!("{key}."))) {
            wrong += &format!("\n  the README's defaults table has no row for {key}");
        }
        if schema_at(&schema, &key).is_none() {
            wrong += &format!("\n  the config schema has no section for {key}");
        }
    }
    assert!(wrong.is_empty(), "defaults disagree:{wrong}");
}

/// The README's ATT&CK table names, for every rule id the registry knows, the tactic and
/// technique its alerts carry (`RuleMeta::attack`), and no rule twice or not at all.
#[test]
fn the_readme_attack_table_is_the_rules_attack_mapping() {
    let readme = include_str!("../../README.md");
    let table = readme.split("| rule | tactic | technique |").nth(1).expect("the README's ATT&CK table");
    let mut listed = std::collections::BTreeMap::new();
    for line in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let first_word = |c: &str| c.split_whitespace().next().unwrap_or("").to_owned();
        for rule in cells[0].split(", ") {
            assert!(listed.insert(rule.to_owned(), (first_word(cells[1]), first_word(cells[2]))).is_none(), "{rule} listed twice");
        }
    }
    let mut wrong = String::new();
    for entry in malhost::rules::registry::REGISTRY {
        for meta in entry.info.alerts {
            let a = meta.attack;
            let technique = a.subtechnique.unwrap_or(a.technique).id.to_owned();
            match listed.remove(meta.id) {
                Some(row) if row == (a.tactic.id.to_owned(), technique.clone()) => {}
                row => wrong += &format!("\n  {}: the code says {} {technique}, the README {row:?}", meta.id, a.tactic.id),
            }
        }
    }
    assert!(listed.is_empty(), "the README lists rules the registry does not have: {listed:?}");
    assert!(wrong.is_empty(), "ATT&CK table disagrees:{wrong}");
}
