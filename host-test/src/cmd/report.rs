//! `malhost report`: the hosts of a replay's output ranked by risk, as a table, JSON, CSV or
//! HTML.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use malhost_host::replay::{self, ReplayOptions};
use malhost_host::report::{self, Format};
use malhost_host::tally::Tally;

use super::{BatchArgs, ConfigArg, ModuleArgs, OutputArg, open_inputs};

/// Rank the hosts by risk: each with its level and score, its alerts per rule, first and last
/// alert, how the score was reached and its strongest evidence. Reads what `malhost replay`
/// wrote, or with --replay replays the inputs itself.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Hosts listed at most (0: all).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// The inputs are events to replay (with --config), not replay output.
    #[arg(long)]
    pub replay: bool,
    /// Title of the HTML page.
    #[arg(long, default_value = "malhost report")]
    pub title: String,
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub batch: BatchArgs,
    #[command(flatten)]
    pub module: ModuleArgs,
    #[command(flatten)]
    pub output: OutputArg,
    /// Replay output (JSONL), or with --replay the events; `-` or none for stdin.
    pub inputs: Vec<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let ReportArgs { format, top, replay: run_replay, title, config, batch, module, output, inputs } = args;
    let mut code = ExitCode::SUCCESS;
    let tally = if run_replay {
        let cfg = config.read()?;
        let mut guest = module.configured_guest(cfg.as_deref(), "configure failed")?;
        let opts = ReplayOptions { batch_lines: batch.batch_lines.max(1), max_line_bytes: batch.max_line_bytes.max(1), ..Default::default() };
        let summary = replay::replay(&mut guest, open_inputs(&inputs)?, &mut std::io::sink(), &opts, &mut |m| eprintln!("malhost: {m}"))?;
        super::print_tally(&summary, true);
        code = super::exit_code(&summary);
        summary.tally
    } else {
        read_output(&inputs)?
    };
    let rows = report::rows(&tally, top);
    let text = match format {
        Format::Table => report::table(&tally, &rows),
        Format::Json => report::json(&rows),
        Format::Csv => report::csv(&rows)?,
        Format::Html => report::html(&tally, &rows, &title),
    };
    let mut out = output.open()?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(code)
}

/// Tallies replay output, line by line.
fn read_output(inputs: &[PathBuf]) -> Result<Tally> {
    let mut tally = Tally::default();
    for mut input in open_inputs(inputs)? {
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = input.reader.read_until(b'\n', &mut line).with_context(|| format!("cannot read {}", input.name))?;
            if n == 0 {
                break;
            }
            tally.add(&line);
        }
    }
    Ok(tally)
}
