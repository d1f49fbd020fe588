//! `malhost check-config`: check a config document and say how much memory its state can take.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};

use super::{memory_report, read_config};

/// Check a config document; print the JSON path of the first problem.
#[derive(clap::Args)]
pub struct CheckConfigArgs {
    /// Config document (JSON).
    pub config: PathBuf,
    /// The guest memory limit the config will run under, MiB (as `replay --max-memory`).
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub max_memory: usize,
}

pub fn run(args: CheckConfigArgs) -> Result<ExitCode> {
    let CheckConfigArgs { config, max_memory } = args;
    let bytes = read_config(&config)?;
    let parsed = malhost::Config::from_json(&bytes).map_err(|e| anyhow!("{e}"))?;
    println!("{}: ok", config.display());
    let (line, fits) = memory_report(&parsed, max_memory);
    println!("{line}");
    if !fits {
        eprintln!("malhost: warning: the state can outgrow --max-memory {max_memory} MiB; lower the state caps or raise the limit");
    }
    Ok(ExitCode::SUCCESS)
}
