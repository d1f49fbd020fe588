//! Golden fixtures: every `fixtures/<case>/` is replayed through the `.wasm` on wasmtime, and
//! through the native detector; both must agree, and match `expected.jsonl` line by line.
//! One test per case (libtest-mimic), named after its directory, so a single case can be run
//! alone: `cargo test -p malhost-host --test golden -- proxy_ioc`.
//!
//! After a deliberate change, rewrite the expected files and review them in `git diff`:
//! `MALHOST_BLESS=1 cargo test -p malhost-host --test golden`.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};

fn diff(expected: &[u8], actual: &[u8]) -> String {
    let e: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    let a: Vec<&[u8]> = actual.split(|&b| b == b'\n').collect();
    let mut s = String::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            let show = |l: Option<&&[u8]>| l.map(|l| String::from_utf8_lossy(l).into_owned()).unwrap_or_else(|| "<no line>".into());
            let _ = writeln!(s, "  line {}:\n    - {}\n    + {}", i + 1, show(x), show(y));
        }
    }
    s
}

/// Replays one case and compares (or, blessing, rewrites `expected.jsonl`).
fn check_case(dir: &Path, bless: bool) -> Result<(), Failed> {
    let config = fs::read(dir.join("config.json")).unwrap_or_else(|_| b"{}".to_vec());
    let input = fs::read(dir.join("input.jsonl")).map_err(|e| format!("input.jsonl: {e}"))?;
    // Small batches so that batch boundaries fall inside every case.
    let (wasm, log) = common::replay_wasm(&config, &input, 3);
    if !log.is_empty() {
        return Err(format!("the module failed: {log:?}").into());
    }
    let native = common::replay_native(&config, &input);
    if wasm != native {
        return Err(format!("native and wasm outputs differ (- native, + wasm):\n{}", diff(&native, &wasm)).into());
    }
    let expected_path = dir.join("expected.jsonl");
    if bless {
        fs::write(&expected_path, &wasm).map_err(|e| format!("write expected: {e}"))?;
        return Ok(());
    }
    let expected = fs::read(&expected_path).unwrap_or_default();
    if expected != wasm {
        return Err(format!(
            "output differs from expected.jsonl (- expected, + actual):\n{}\nIf the change is deliberate: MALHOST_BLESS=1 cargo test -p malhost-host --test golden",
            diff(&expected, &wasm)
        )
        .into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let bless = std::env::var_os("MALHOST_BLESS").is_some();
    let mut cases: Vec<PathBuf> = fs::read_dir(common::fixtures_dir())
        .expect("fixtures dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("input.jsonl").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "fixture cases missing: found {}", cases.len());
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            Trial::test(name, move || check_case(&dir, bless))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
