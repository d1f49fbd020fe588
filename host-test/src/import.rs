//! `malhost import`: real log files → ECS JSON lines, one output line per input record, in
//! order; a record that cannot be read becomes an error record naming the file and line.
//! The parsers live in the plugin crate ([`malhost::import`]); this is the file handling.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

/// Refused lines kept for [`ImportSummary::wrong_format_hint`].
const REFUSED_SAMPLE: usize = 32;

/// Counts of one import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Events written.
    pub events: u64,
    /// Error records written.
    pub errors: u64,
    /// The first refused lines (up to 32), to tell which format they are in.
    pub refused: Vec<String>,
}

impl ImportSummary {
    /// When no record was read (there were lines and all were refused): what the lines look
    /// like instead, as a sentence for stderr.
    pub fn wrong_format_hint(&self, format: &str) -> Option<String> {
        if self.events > 0 || self.refused.is_empty() {
            return None;
        }
        let already_json = self.refused.iter().filter(|l| l.trim_start().starts_with('{')).count();
        let what = match malhost::import::guess_format(&self.refused) {
            Some(f) if f.name() != format => format!("they look like {} logs: did you mean `malhost import --format {}`?", f.name(), f.name()),
            _ if already_json * 2 > self.refused.len() => {
                "they look like JSON lines already: if they are ECS events, give them to `malhost replay` as they are".to_owned()
            }
            _ => "no format malhost imports takes them (zeek, squid, asa, iptables, windows_firewall, argus, eml)".to_owned(),
        };
        Some(format!("no line could be read as {format}; {what}"))
    }
}

/// The message files named: files as given, directories expanded to their `*.eml` files in
/// name order.
pub fn eml_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    crate::inputs::expand_dirs(inputs, |f| f.extension().is_some_and(|x| x.eq_ignore_ascii_case("eml")))
}

/// Writes an import error record. The record keeps the line in `message`; a line that is not
/// UTF-8 also keeps its exact bytes in `malhost.original_base64`, as the detector's error
/// records do.
pub fn write_error(out: &mut dyn Write, location: &str, message: &str, original: Option<&[u8]>) -> std::io::Result<()> {
    let mut rec = json!({
        "event": {"kind": "pipeline_error"},
        "error": {"type": "malhost.import", "message": format!("{location}: {message}")},
    });
    if let Some(o) = original {
        rec["message"] = json!(String::from_utf8_lossy(o));
        if std::str::from_utf8(o).is_err() {
            rec["malhost"] = json!({"original_base64": malhost::output::base64(o)});
        }
    }
    serde_json::to_writer(&mut *out, &rec)?;
    out.write_all(b"\n")
}

/// Imports message files, one event per file.
pub fn import_eml(files: &[PathBuf], out: &mut dyn Write) -> Result<ImportSummary> {
    let mut s = ImportSummary::default();
    for f in files {
        let path = f.display().to_string();
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        match malhost::import::eml::to_event(&bytes, &path) {
            Ok(v) => {
                serde_json::to_writer(&mut *out, &v)?;
                out.write_all(b"\n")?;
                s.events += 1;
            }
            Err(e) => {
                write_error(out, &path, &e, None)?;
                s.errors += 1;
            }
        }
    }
    Ok(s)
}

/// The display name of a path for messages.
pub fn shown(p: &Path) -> String {
    p.display().to_string()
}

/// Imports line-based logs: every line read by `format`, one event (or one error record
/// naming the file and line) per record; header and comment lines give nothing. `-` reads
/// standard input.
pub fn import_lines(
    format: &mut dyn malhost::import::LineFormat,
    opts: &malhost::import::ImportOptions,
    inputs: &[PathBuf],
    out: &mut dyn Write,
) -> Result<ImportSummary> {
    use std::io::BufRead;
    let mut s = ImportSummary::default();
    let stdin = [PathBuf::from("-")];
    let inputs = if inputs.is_empty() { &stdin[..] } else { inputs };
    for path in inputs {
        let name = if path.as_os_str() == "-" { "<stdin>".to_string() } else { shown(path) };
        let mut reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
            ))
        };
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).with_context(|| format!("cannot read {name}"))? == 0 {
                break;
            }
            n += 1;
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let result = format.parse_bytes(line, opts);
            match result {
                Ok(None) => {}
                Ok(Some(v)) => {
                    serde_json::to_writer(&mut *out, &v)?;
                    out.write_all(b"\n")?;
                    s.events += 1;
                }
                Err(e) => {
                    write_error(out, &format!("{name}:{n}"), &e, Some(line))?;
                    s.errors += 1;
                    if s.refused.len() < REFUSED_SAMPLE {
                        s.refused.push(String::from_utf8_lossy(line).into_owned());
                    }
                }
            }
        }
    }
    Ok(s)
}

/// Throughput of one line importer over a file held in memory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ImportBench {
    /// Bytes parsed (the file times the passes).
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Events produced.
    pub events: u64,
    /// Error records.
    pub errors: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Input megabytes (10^6) per second.
    pub mb_per_second: f64,
    /// Lines per second.
    pub lines_per_second: f64,
}

/// Parses `data` `passes` times with a fresh importer each pass (from `make`), serialising
/// every event as `malhost import` does.
pub fn bench_lines(
    make: &dyn Fn() -> Box<dyn malhost::import::LineFormat>,
    opts: &malhost::import::ImportOptions,
    data: &[u8],
    passes: u32,
) -> ImportBench {
    let text = String::from_utf8_lossy(data);
    let mut b = ImportBench { bytes: 0, lines: 0, events: 0, errors: 0, seconds: 0.0, mb_per_second: 0.0, lines_per_second: 0.0 };
    let mut out = Vec::with_capacity(1 << 20);
    let t = std::time::Instant::now();
    for _ in 0..passes.max(1) {
        let mut f = make();
        for line in text.lines() {
            b.lines += 1;
            match f.parse_line(line, opts) {
                Ok(Some(v)) => {
                    out.clear();
                    let _ = serde_json::to_writer(&mut out, &v);
                    b.events += 1;
                }
                Ok(None) => {}
                Err(_) => b.errors += 1,
            }
        }
        b.bytes += data.len() as u64;
    }
    b.seconds = t.elapsed().as_secs_f64().max(1e-9);
    b.mb_per_second = b.bytes as f64 / b.seconds / 1e6;
    b.lines_per_second = b.lines as f64 / b.seconds;
    b
}
