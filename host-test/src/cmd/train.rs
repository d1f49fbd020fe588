//! `malhost train`: learn malicious lists from malware (sandbox) logs and normal logs.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use malhost::lists::extract::ExtractOptions;
use malhost_host::train;

use super::{CorpusArgs, ListArgs};

/// Learn malicious lists from malware (sandbox) logs and normal logs.
#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub corpus: CorpusArgs,
    /// Write the list document here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub opts: ListArgs,
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let TrainArgs { corpus, output, opts } = args;
    let settings = train::TrainSettings {
        fields: opts.fields()?,
        t_m: opts.t_m,
        t_l: opts.t_l,
        extract: ExtractOptions { keep_query: opts.keep_query },
        sample_field: opts.sample_field.clone(),
        sample_per_file: opts.sample_per_file,
        progress: io::stderr().is_terminal(),
    };
    if opts.host_per_file {
        bail!("--host-per-file applies to evaluate; training counts normal hosts by source.ip");
    }
    let (malware, normal) = corpus.files()?;
    let doc = train::train(&malware, &normal, &settings)?;
    let json = serde_json::to_vec_pretty(&doc)?;
    match &output {
        Some(p) => std::fs::write(p, &json).with_context(|| format!("cannot write {}", p.display()))?,
        None => {
            io::stdout().write_all(&json)?;
            println!();
        }
    }
    let sizes: Vec<String> = doc.fields.iter().map(|f| format!("{} {}/{}", f.field.name(), f.values.len(), f.candidates)).collect();
    eprintln!("malhost: {} samples, {} normal hosts; listed/candidates: {}", doc.malware.entities, doc.normal.entities, sizes.join(", "));
    Ok(ExitCode::SUCCESS)
}
