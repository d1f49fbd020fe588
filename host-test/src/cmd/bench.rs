//! `malhost bench`: throughput of the native detector and of the module (and the hash-flooding
//! benchmark, `--workload flood`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use malhost_host::bench::{self, Workload};

use super::{ModuleArgs, read_config};

/// Measure throughput of the native detector and of the module on synthetic events.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Synthetic stream: firewall or web proxy events.
    #[arg(long, value_enum, default_value = "firewall")]
    pub workload: Workload,
    /// Events to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Events per call.
    #[arg(long, default_value_t = 100)]
    pub batch_lines: usize,
    /// Distinct hosts in the stream (firewall default 2,000; proxy 5,000).
    #[arg(long)]
    pub hosts: Option<u32>,
    /// PRNG seed of the synthetic stream.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Config document (default for firewall: defaults plus a 5,000-entry C&C list; for
    /// proxy: every proxy rule on, a 10,000-domain indicator list).
    #[arg(long, value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Measure the native detector only.
    #[arg(long)]
    pub native_only: bool,
    /// flood: the hash seed the colliding domains are crafted against (flood takes
    /// --events up to 100000, builds its own configs and ignores --config, --hosts, --seed).
    #[arg(long, default_value_t = 0)]
    pub flood_seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub module: ModuleArgs,
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let BenchArgs { workload, events, batch_lines, hosts, seed, config, native_only, flood_seed, json, module } = args;
    if workload == Workload::Flood {
        let rt = if native_only { None } else { Some(module.runtime()?) };
        let report = malhost_host::flood::run(rt.as_ref(), module.limits(), events.max(1), batch_lines.max(1), flood_seed)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.table());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = match &config {
        Some(p) => read_config(p)?,
        None => bench::default_config_for(workload),
    };
    let rt = if native_only { None } else { Some(module.runtime()?) };
    let report = bench::run(rt.as_ref(), module.limits(), workload, &cfg, events.max(1), hosts, batch_lines, seed)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
