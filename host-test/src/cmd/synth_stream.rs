//! `malhost synth-stream` (developer): the endless mixed event stream of soak runs, to stdout.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use anyhow::Result;

use super::is_broken_pipe;

/// Write the soak stream to stdout: day after day of proxy, firewall and mail events
/// (about 2 M a day; whole days until at least --events).
#[derive(clap::Args)]
pub struct SynthStreamArgs {
    /// Events to write at least.
    #[arg(long, default_value_t = 100_000_000)]
    pub events: u64,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(args: SynthStreamArgs) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    match malhost_host::soak::write_stream(args.events, args.seed, &mut out) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        // The reader went away (e.g. `| head`): not an error.
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
    }
}
