//! `malhost synth`: a seeded synthetic data set (sandbox log and enterprise log) for train and evaluate.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// Generate a seeded sandbox log and enterprise log shaped like the paper's data set.
#[derive(clap::Args)]
pub struct SynthArgs {
    /// Malware samples.
    #[arg(long, default_value_t = 20_000)]
    pub samples: usize,
    /// Normal hosts.
    #[arg(long, default_value_t = 3_000)]
    pub hosts: usize,
    /// Days of enterprise traffic.
    #[arg(long, default_value_t = 3)]
    pub days: u32,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for malware.jsonl and normal.jsonl.
    #[arg(long, default_value = "out/synth")]
    pub out_dir: PathBuf,
}

pub fn run(args: SynthArgs) -> Result<ExitCode> {
    let SynthArgs { samples, hosts, days, seed, out_dir } = args;
    std::fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mp = out_dir.join("malware.jsonl");
    let np = out_dir.join("normal.jsonl");
    let mut m = BufWriter::new(File::create(&mp).with_context(|| format!("cannot create {}", mp.display()))?);
    let mut n = BufWriter::new(File::create(&np).with_context(|| format!("cannot create {}", np.display()))?);
    let o = malhost_host::synth::PaperOptions { samples, hosts, days, seed };
    malhost_host::synth::paper_dataset(&o, &mut m, &mut n)?;
    m.flush()?;
    n.flush()?;
    eprintln!("malhost: wrote {} and {}", mp.display(), np.display());
    Ok(ExitCode::SUCCESS)
}
