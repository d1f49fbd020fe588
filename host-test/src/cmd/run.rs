//! `malhost run`: the long-running stdin → stdout filter for pipe-based pipelines.

use std::io::{self, BufReader};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

use malhost_host::replay::ReplayOptions;

use super::{BatchArgs, ConfigArg, ModuleArgs, exit_code};

/// Filter standard input to standard output until end of input or SIGTERM (for pipe-based
/// pipelines: rsyslog, Logstash `pipe`, shell).
#[derive(clap::Args)]
#[command(mut_arg("batch_lines", |a| a.help("Events per call into the module at most (fewer when input is quiet)")))]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub batch: BatchArgs,
    #[command(flatten)]
    pub module: ModuleArgs,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let RunArgs { config, batch, module } = args;
    let cfg = config.read()?;
    let mut guest = module.configured_guest(cfg.as_deref(), "the module failed while configuring")?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("cannot install the SIGTERM handler")?;
    let opts = ReplayOptions { batch_lines: batch.batch_lines.max(1), max_line_bytes: batch.max_line_bytes, ..Default::default() };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let summary =
        malhost_host::run::run(&mut guest, Box::new(BufReader::new(io::stdin())), &mut out, &opts, stop, &mut |m| eprintln!("malhost: {m}"))?;
    super::print_tally(&summary, false);
    Ok(exit_code(&summary))
}
