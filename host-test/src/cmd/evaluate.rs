//! `malhost evaluate`: k-fold cross-validation of learned lists, with ROC curves.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};

use malhost::lists::extract::ExtractOptions;
use malhost_host::evaluate;

use super::{CorpusArgs, ListArgs};

/// k-fold cross-validation of learned lists: TPR, FPR, thresholds, union and increment.
#[derive(clap::Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub corpus: CorpusArgs,
    /// Folds.
    #[arg(long, default_value_t = 7)]
    pub folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Thresholds are chosen so that the FPR on the training folds is at most this.
    #[arg(long, default_value_t = 0.005)]
    pub target_fpr: f64,
    /// Window of w and s (e.g. "24h").
    #[arg(long, default_value = "24h")]
    pub window: String,
    /// Also write the report (with ROC points) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write ROC curves as PNG and SVG with this path prefix (`PREFIX.png`, `PREFIX.svg`).
    #[arg(long)]
    pub roc: Option<PathBuf>,
    #[command(flatten)]
    pub opts: ListArgs,
}

pub fn run(args: EvaluateArgs) -> Result<ExitCode> {
    let EvaluateArgs { corpus, folds, seed, target_fpr, window, json, roc, opts } = args;
    let window_ms = humantime_ms(&window)?;
    let s = evaluate::EvalSettings {
        folds,
        seed,
        t_m: opts.t_m,
        t_l: opts.t_l,
        target_fpr,
        window_ms,
        extract: ExtractOptions { keep_query: opts.keep_query },
        sample_field: opts.sample_field.clone(),
        sample_per_file: opts.sample_per_file,
        host_per_file: opts.host_per_file,
        progress: io::stderr().is_terminal(),
        ..Default::default()
    };
    let (malware, normal) = corpus.files()?;
    if folds < 2 {
        bail!("--folds must be at least 2");
    }
    let corpus = evaluate::load(&malware, &normal, &s)?;
    let report = evaluate::evaluate(&corpus, &s);
    print!("{}", report.table());
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_vec_pretty(&report)?).with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(prefix) = roc {
        let (png, svg) = (prefix.with_extension("png"), prefix.with_extension("svg"));
        for w in malhost_host::roc::write(&report, &png, &svg)? {
            eprintln!("malhost: {w}");
        }
        eprintln!("malhost: ROC curves in {} and {}", png.display(), svg.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A duration as the config writes it ("24h", "10m", seconds), in ms.
fn humantime_ms(s: &str) -> Result<i64> {
    serde_json::from_value::<malhost::config::Duration>(serde_json::Value::String(s.to_owned()))
        .map(|d| d.ms)
        .map_err(|e| anyhow!("--window: {e}"))
}
