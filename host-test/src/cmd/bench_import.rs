//! `malhost bench-import` (developer): an importer's throughput on a file held in memory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::import::ImportFormat;

/// Measure an importer's throughput (MB/s) on a file held in memory.
#[derive(clap::Args)]
pub struct BenchImportArgs {
    /// Input format (a line format).
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// Passes over the file.
    #[arg(long, default_value_t = 10)]
    pub passes: u32,
    /// The sample file.
    pub file: PathBuf,
}

pub fn run(args: BenchImportArgs) -> Result<ExitCode> {
    let BenchImportArgs { format, passes, file } = args;
    let data = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    if format.line_format().is_none() {
        bail!("bench-import measures line formats; eml is one message per file");
    }
    let make = move || format.line_format().expect("a line format");
    let b = malhost_host::import::bench_lines(&make, &malhost::import::ImportOptions::default(), &data, passes);
    println!(
        "{:?}: {} lines ({} events, {} errors), {:.1} MB in {:.3} s: {:.1} MB/s, {:.0} lines/s",
        format, b.lines, b.events, b.errors, b.bytes as f64 / 1e6, b.seconds, b.mb_per_second, b.lines_per_second
    );
    Ok(ExitCode::SUCCESS)
}
