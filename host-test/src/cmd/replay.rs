//! `malhost replay`: stream JSONL files (or stdin) through the module, write its answers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};

use malhost_host::replay::{self, ReplayOptions};

use super::{BatchArgs, ConfigArg, ModuleArgs, OutputArg, exit_code, memory_report};

/// Stream JSONL events through the module; write events, enrichments and alerts as JSONL.
#[derive(clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Do not print the summary to stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Snapshot the module's state every this many batches, so that a recovery after a
    /// trap or limit restores it (0: never; recovery then starts from empty state). A
    /// checkpoint is skipped until ten times the last one's duration has passed, so a
    /// large state costs at most about a tenth of the time.
    #[arg(long, default_value_t = 256, value_name = "BATCHES")]
    pub checkpoint_every: u64,
    /// Start from this state snapshot (written by --snapshot-out with the same hash_seed).
    #[arg(long, value_name = "FILE")]
    pub snapshot_in: Option<PathBuf>,
    /// Write the detector's state here at the end, to continue later with --snapshot-in.
    #[arg(long, value_name = "FILE")]
    pub snapshot_out: Option<PathBuf>,
    /// Write samples of the module's memory and counters here as JSON lines (soak runs;
    /// plot them with `malhost plot-samples`).
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// Lines between samples.
    #[arg(long, default_value_t = 1_000_000, value_name = "LINES")]
    pub sample_every: u64,
    #[command(flatten)]
    pub module: ModuleArgs,
    /// JSONL inputs; `-` or none for stdin.
    pub inputs: Vec<PathBuf>,
}

pub fn run(args: ReplayArgs) -> Result<ExitCode> {
    let ReplayArgs { config, output, batch, quiet, checkpoint_every, snapshot_in, snapshot_out, samples, sample_every, module, inputs } =
        args;
    let cfg = config.read()?;
    let parsed = match cfg.as_deref() {
        Some(b) => malhost::Config::from_json(b).ok(),
        None => Some(malhost::Config::default()),
    };
    if let Some(c) = parsed {
        let (line, fits) = memory_report(&c, module.max_memory);
        if !fits {
            eprintln!("malhost: warning: {line}: the state can outgrow the limit, and the module would then fail on lines");
        }
    }
    let mut guest = module.configured_guest(cfg.as_deref(), "configure failed")?;
    if let Some(p) = &snapshot_in {
        let doc = std::fs::read(p).with_context(|| format!("cannot read snapshot {}", p.display()))?;
        match guest.restore(&doc) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => bail!("snapshot {}: {e}", p.display()),
            Err(e) => bail!("restore failed: {e}"),
        }
    }
    let readers = super::open_inputs(&inputs)?;
    let mut out = output.open()?;
    let opts = ReplayOptions {
        batch_lines: batch.batch_lines.max(1),
        max_line_bytes: batch.max_line_bytes.max(1),
        checkpoint_batches: checkpoint_every,
        sample_every: if samples.is_some() { sample_every.max(1) } else { 0 },
        ..Default::default()
    };
    let summary = replay::replay(&mut guest, readers, &mut out, &opts, &mut |m| eprintln!("malhost: {m}"))?;
    drop(out);
    if let Some(p) = &samples {
        let mut text = String::new();
        for s in &summary.samples {
            text.push_str(&serde_json::to_string(s)?);
            text.push('\n');
        }
        std::fs::write(p, text).with_context(|| format!("cannot write samples {}", p.display()))?;
    }
    if let Some(p) = &snapshot_out {
        let doc = guest.snapshot().map_err(|e| anyhow!("snapshot failed: {e}"))?;
        std::fs::write(p, doc).with_context(|| format!("cannot write snapshot {}", p.display()))?;
    }
    if !quiet {
        let stats = guest.stats().map(|s| s.to_string()).unwrap_or_else(|e| format!("unavailable ({e})"));
        eprintln!("malhost: {} lines replayed; module stats: {stats}", summary.lines);
    }
    super::print_tally(&summary, quiet);
    if summary.degraded() {
        eprintln!(
            "malhost: not everything was kept: {} line(s) written as error records because the module failed on them, {} recovery(ies) lost per-host state ({} failed batch(es), {} failed checkpoint(s))",
            summary.failed_lines, summary.state_losses, summary.failed_batches, summary.failed_checkpoints
        );
    }
    Ok(exit_code(&summary))
}
