//! `malhost train`: learned malicious lists from malware (sandbox) logs and normal logs.
//!
//! Malware files are read first, then normal files, each streamed line by line through the
//! plugin's [`Trainer`] (the same extractors the detector uses). Input files are hashed
//! (SHA-256) while they are read, and a progress bar shows bytes read on a terminal.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use malhost::event::{Event, Field};
use malhost::lists::document::{InputDigest, InputSummary, ListDocument};
use malhost::lists::extract::{ExtractOptions, ListField};
use malhost::lists::training::{Skip, Trainer};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Training settings.
#[derive(Clone, Debug)]
pub struct TrainSettings {
    /// Fields to learn.
    pub fields: Vec<ListField>,
    /// PM threshold.
    pub t_m: f64,
    /// PL threshold.
    pub t_l: f64,
    /// Extractor options.
    pub extract: ExtractOptions,
    /// Field naming the sample of a malware event (nested or dotted path).
    pub sample_field: String,
    /// Each malware file is one sample, named by its file name (sandbox captures); the
    /// sample field is then not read.
    pub sample_per_file: bool,
    /// Show a progress bar.
    pub progress: bool,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            fields: ListField::ALL.to_vec(),
            t_m: 0.001,
            t_l: 0.005,
            extract: ExtractOptions::default(),
            sample_field: "malhost.sample".into(),
            sample_per_file: false,
            progress: false,
        }
    }
}

/// Reads a field by dotted path from a parsed event, nested or flat.
pub fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(x) = v.get(path) {
        return Some(x);
    }
    let (head, rest) = path.split_once('.')?;
    let mut cur = v.get(head)?;
    let mut rest = rest;
    loop {
        if let Some(x) = cur.get(rest) {
            return Some(x);
        }
        let (h, r) = rest.split_once('.')?;
        cur = cur.get(h)?;
        rest = r;
    }
}

/// The sample id of a malware event.
pub fn sample_id(line: &[u8], ev: &Event, field: &str) -> Option<String> {
    if field == "malhost.sample" {
        return ev.str(Field::MalhostSample).map(str::to_owned);
    }
    let v: Value = serde_json::from_slice(line).ok()?;
    match lookup(&v, field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
    bar: Option<ProgressBar>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
        Ok(n)
    }
}

/// Streams the lines of `path` to `f`, returning the file's digest.
pub fn for_each_line(path: &Path, progress: bool, mut f: impl FnMut(u64, &[u8]) -> Result<()>) -> Result<InputDigest> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress.then(|| {
        let b = ProgressBar::new(len);
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_message(path.display().to_string());
        b
    });
    let mut r = BufReader::with_capacity(1 << 16, Hashing { inner: file, hash: Sha256::new(), bytes: 0, bar: bar.clone() });
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).with_context(|| format!("cannot read {}", path.display()))? == 0 {
            break;
        }
        n += 1;
        let l = line.strip_suffix(b"\n").unwrap_or(&line);
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(n, l)?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let h = r.into_inner();
    Ok(InputDigest { path: path.display().to_string(), bytes: h.bytes, sha256: hex(&h.hash.finalize()) })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The sample id of a file that holds one sample: its name without the extension(s) that
/// `malhost import` and captures add (`.jsonl`, `.json`, `.binetflow`, `.log`).
pub fn file_sample_id(p: &Path) -> String {
    let mut name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for ext in [".jsonl", ".json", ".binetflow", ".log"] {
        if let Some(stem) = name.strip_suffix(ext) {
            name = stem.to_string();
        }
    }
    name
}

/// Files named on the command line, directories expanded to the files in them (name order).
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    crate::inputs::expand_dirs(inputs, Path::is_file)
}

/// Trains lists from the files.
pub fn train(malware: &[PathBuf], normal: &[PathBuf], s: &TrainSettings) -> Result<ListDocument> {
    if malware.is_empty() || normal.is_empty() {
        bail!("training needs malware logs (--malware) and normal logs (--normal)");
    }
    let mut t = Trainer::new(&s.fields, s.extract);
    let (mut mal, mut nor) = (InputSummary::default(), InputSummary::default());
    for p in malware {
        let file_id = s.sample_per_file.then(|| file_sample_id(p));
        let d = for_each_line(p, s.progress, |n, l| {
            let ev = match Event::parse(l) {
                Ok(ev) => ev,
                Err(_) => {
                    mal.skipped += 1;
                    return Ok(());
                }
            };
            let Some(id) = file_id.clone().or_else(|| sample_id(l, &ev, &s.sample_field)) else {
                bail!(
                    "{}:{n}: malware event without a sample id in `{}` (set --sample-field, or --sample-per-file)",
                    p.display(),
                    s.sample_field
                );
            };
            t.add_malware(&id, &ev);
            Ok(())
        })?;
        mal.inputs.push(d);
    }
    if t.samples() == 0 {
        bail!("no malware events in {} file(s)", malware.len());
    }
    for p in normal {
        let d = for_each_line(p, s.progress, |_, l| {
            match Event::parse(l) {
                Ok(ev) => match t.add_normal(&ev) {
                    Ok(()) => {}
                    Err(Skip::NoHost) | Err(Skip::OutOfOrder) => nor.skipped += 1,
                },
                Err(_) => nor.skipped += 1,
            }
            Ok(())
        })?;
        nor.inputs.push(d);
    }
    if t.hosts() == 0 {
        bail!("no normal events with a source.ip in {} file(s)", normal.len());
    }
    Ok(t.finish(s.t_m, s.t_l, &s.sample_field, mal, nor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_nested_dotted_and_mixed() {
        let v = json!({"a": {"b.c": 1, "b": {"d": 2}}, "x.y": 3});
        assert_eq!(lookup(&v, "a.b.c"), Some(&json!(1)));
        assert_eq!(lookup(&v, "a.b.d"), Some(&json!(2)));
        assert_eq!(lookup(&v, "x.y"), Some(&json!(3)));
        assert_eq!(lookup(&v, "a.z"), None);
    }
}
