//! `malhost plot-samples` (developer): plot a soak replay's samples (memory, throughput).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use malhost_host::soak;

/// Plot the samples of a replay (`--samples`) as PREFIX.png and PREFIX.svg: memory and
/// throughput against events replayed.
#[derive(clap::Args)]
pub struct PlotSamplesArgs {
    /// Samples file (JSON lines).
    pub samples: PathBuf,
    /// Output path prefix.
    #[arg(long, short)]
    pub output: PathBuf,
}

pub fn run(args: PlotSamplesArgs) -> Result<ExitCode> {
    let PlotSamplesArgs { samples, output } = args;
    let text = std::fs::read_to_string(&samples).with_context(|| format!("cannot read {}", samples.display()))?;
    let parsed: Vec<soak::Sample> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}: not a sample", samples.display(), i + 1)))
        .collect::<Result<_>>()?;
    let (png, svg) = (output.with_extension("png"), output.with_extension("svg"));
    for w in soak::plot(&parsed, &png, &svg)? {
        eprintln!("malhost: {w}");
    }
    println!("wrote {} and {}", png.display(), svg.display());
    Ok(ExitCode::SUCCESS)
}
