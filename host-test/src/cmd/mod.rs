//! The commands of `malhost`, one module each, and the option groups they share.
//!
//! Every command is a `#[derive(Args)]` struct (its doc comment is the command's help) and a
//! `run` returning the process's exit code. Options that several commands take are the groups
//! below, flattened into them: [`ConfigArg`] (`--config`), [`BatchArgs`] (`--batch-lines`,
//! `--max-line-bytes`), [`OutputArg`] (`-o/--output`), [`ModuleArgs`] (the module and its
//! limits: `--wasm`, `--max-memory`, `--timeout-ms`), [`CorpusArgs`] (`--malware`, `--normal`)
//! and [`ListArgs`] (learned lists).
//!
//! User commands come first in `--help`; developer commands (soak runs, importer throughput)
//! are hidden from it and named in a short "Developer commands:" list after it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;

use malhost::lists::extract::ListField;
use malhost_host::module_path;
use malhost_host::replay::ReplaySummary;
use malhost_host::runtime::{Guest, Limits, Runtime};
use malhost_host::train::expand_inputs;

pub mod bench;
pub mod bench_import;
pub mod check_config;
pub mod evaluate;
pub mod import;
pub mod plot_samples;
pub mod replay;
pub mod report;
pub mod run;
pub mod schema;
pub mod synth;
pub mod synth_stream;
pub mod train;

/// The subcommands, in the order `--help` lists them.
#[derive(Subcommand)]
pub enum Command {
    Replay(replay::ReplayArgs),
    Report(report::ReportArgs),
    Run(run::RunArgs),
    Import(import::ImportArgs),
    CheckConfig(check_config::CheckConfigArgs),
    Schema(schema::SchemaArgs),
    Train(train::TrainArgs),
    Evaluate(evaluate::EvaluateArgs),
    Synth(synth::SynthArgs),
    Bench(bench::BenchArgs),
    // Developer commands: hidden from `--help`, named in DEVELOPER_COMMANDS.
    #[command(hide = true)]
    SynthStream(synth_stream::SynthStreamArgs),
    #[command(hide = true)]
    PlotSamples(plot_samples::PlotSamplesArgs),
    #[command(hide = true)]
    BenchImport(bench_import::BenchImportArgs),
}

/// The inputs a command names, opened: `-` (or none at all) is stdin.
pub fn open_inputs(paths: &[PathBuf]) -> Result<Vec<malhost_host::replay::Input>> {
    use malhost_host::replay::Input;
    use std::io::{BufRead, BufReader};
    let stdin = || Input { name: "-".into(), reader: Box::new(BufReader::new(io::stdin())) };
    let mut readers = Vec::new();
    if paths.is_empty() {
        readers.push(stdin());
    }
    for p in paths {
        if p.as_os_str() == "-" {
            readers.push(stdin());
            continue;
        }
        let f = File::open(p).with_context(|| format!("cannot open input {}", p.display()))?;
        readers.push(Input { name: p.display().to_string(), reader: Box::new(BufReader::with_capacity(1 << 16, f)) as Box<dyn BufRead> });
    }
    Ok(readers)
}

/// The hidden commands, for the end of `malhost --help`.
const DEVELOPER_COMMANDS: &str = concat!(
    "  synth-stream  Write the soak stream (proxy, firewall and mail events) to stdout\n",
    "  plot-samples  Plot the samples of a replay (`replay --samples`)\n",
    "  bench-import  Measure an importer's throughput on a file held in memory",
);

/// `malhost --help`'s after-help: the developer commands under a heading styled like clap's.
pub fn developer_help() -> String {
    let h = clap::builder::styling::Styles::default().get_header().to_owned();
    format!("{h}Developer commands:{h:#}\n{DEVELOPER_COMMANDS}\n\nSee `malhost help <COMMAND>` for any of them.")
}

// --config, for the commands whose config is optional. (No doc comment: a flattened group's
// doc comment would become the help of the command it is flattened into.)
#[derive(clap::Args, Clone)]
pub struct ConfigArg {
    /// Config document (JSON). Defaults apply when omitted.
    #[arg(long, short, value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Indicator feed, file or directory (repeatable): plain lists, maltrail trails, IPsum,
    /// abuse.ch Feodo Tracker CSV, STIX 2.1 bundles. Each file becomes a proxy.ioc list and, for
    /// its addresses, an fw.c2_ip list named after its directory and file (maltrail/njrat).
    #[arg(long, value_name = "PATH")]
    pub intel: Vec<PathBuf>,
}

impl ConfigArg {
    /// The config document's bytes with the `--intel` feeds added, checked ([`read_config`]);
    /// `None` without `--config` and `--intel`. What each feed gave goes to standard error.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        let own = self.config.as_deref().map(read_config).transpose()?;
        if self.intel.is_empty() {
            return Ok(own);
        }
        let mut feeds = Vec::new();
        for f in malhost_host::intel::feed_files(&self.intel)? {
            let feed = malhost_host::intel::load(&f)?;
            eprintln!("malhost: {}", feed.summary());
            feeds.push(feed);
        }
        let doc = malhost_host::intel::add_feeds(own.as_deref(), &feeds)?;
        malhost::Config::from_json(&doc).map_err(|e| anyhow!("config with the --intel feeds: {e}"))?;
        Ok(Some(doc))
    }
}

/// A config document's bytes, after checking them natively (for a precise message, with the
/// JSON path of the first problem, before the module is even loaded).
pub fn read_config(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read config {}", path.display()))?;
    malhost::Config::from_json(&bytes).map_err(|e| anyhow!("config {}: {e}", path.display()))?;
    Ok(bytes)
}

// How input lines are batched into calls to the module.
#[derive(clap::Args, Clone)]
pub struct BatchArgs {
    /// Events per call into the module.
    #[arg(long, default_value_t = 128)]
    pub batch_lines: usize,
    /// Lines longer than this many bytes are cut by the host and become error records.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_line_bytes: usize,
}

// -o/--output, a stream written to a file or stdout.
#[derive(clap::Args, Clone)]
pub struct OutputArg {
    /// Write output here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArg {
    /// A buffered writer to `--output`, created (truncated), or to stdout.
    pub fn open(&self) -> Result<Box<dyn Write>> {
        Ok(match &self.output {
            Some(p) => Box::new(BufWriter::with_capacity(
                1 << 16,
                File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
            )),
            None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
        })
    }
}

// The detector module and the limits it runs under.
#[derive(clap::Args, Clone)]
pub struct ModuleArgs {
    /// The detector module (default: $MALHOST_WASM, malhost.wasm beside this program, or the
    /// workspace build output).
    #[arg(long, value_name = "MODULE")]
    pub wasm: Option<PathBuf>,
    /// Largest guest memory, MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub max_memory: usize,
    /// Time limit per call into the module, milliseconds; 0 for none (the module then runs
    /// without interruption checks, about 18% faster).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub timeout_ms: u64,
}

impl ModuleArgs {
    /// The module loaded and instantiated under these limits, with `config` applied if given;
    /// a config the module refuses or a failed call is fatal (`failed` opens that message).
    pub fn configured_guest(&self, config: Option<&[u8]>, failed: &str) -> Result<Guest> {
        let rt = self.runtime()?;
        let mut guest = Guest::new(&rt, self.limits())?;
        if let Some(cfg) = config {
            match guest.configure(cfg) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => bail!("the module rejected the config: {e}"),
                Err(e) => bail!("{failed}: {e}"),
            }
        }
        Ok(guest)
    }

    /// The guest's memory and time limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_memory_bytes: self.max_memory << 20,
            call_timeout: (self.timeout_ms > 0).then(|| Duration::from_millis(self.timeout_ms)),
        }
    }

    /// The module, located and compiled (with interruption checks when there is a timeout).
    pub fn runtime(&self) -> Result<Runtime> {
        let path = module_path::locate(self.wasm.as_deref())?;
        Runtime::from_file_with(&path, self.timeout_ms > 0)
    }
}

// The logs learned lists are trained or evaluated on (train, evaluate).
#[derive(clap::Args)]
pub struct CorpusArgs {
    /// Malware logs (JSONL; each event names its sample in --sample-field).
    #[arg(long, required = true, num_args = 1..)]
    pub malware: Vec<PathBuf>,
    /// Normal logs (JSONL; hosts by source.ip).
    #[arg(long, required = true, num_args = 1..)]
    pub normal: Vec<PathBuf>,
}

impl CorpusArgs {
    /// The malware and the normal files, directories expanded ([`expand_inputs`]).
    pub fn files(&self) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
        Ok((expand_inputs(&self.malware)?, expand_inputs(&self.normal)?))
    }
}

// How lists are learned (train) and evaluated (evaluate).
#[derive(clap::Args, Clone)]
pub struct ListArgs {
    /// A value is listed when PM > t_m …
    #[arg(long, default_value_t = 0.001)]
    pub t_m: f64,
    /// … and PL < t_l.
    #[arg(long, default_value_t = 0.005)]
    pub t_l: f64,
    /// Fields to learn (dst_ip_tcp80, dst_port, http_url).
    #[arg(long, value_delimiter = ',', default_value = "dst_ip_tcp80,dst_port,http_url")]
    pub fields: Vec<String>,
    /// Keep the query string of URLs.
    #[arg(long)]
    pub keep_query: bool,
    /// Field naming the sample of a malware event.
    #[arg(long, default_value = "malhost.sample")]
    pub sample_field: String,
    /// Each malware file is one sample, named by its file name (sandbox captures, one file
    /// per sample); --malware may then name directories.
    #[arg(long)]
    pub sample_per_file: bool,
    /// Each normal file is one host, named by its file name (evaluate only; training counts
    /// hosts by source.ip).
    #[arg(long)]
    pub host_per_file: bool,
}

impl ListArgs {
    /// `--fields`, parsed.
    pub fn fields(&self) -> Result<Vec<ListField>> {
        self.fields
            .iter()
            .map(|f| ListField::from_name(f.trim()).ok_or_else(|| anyhow!("unknown field {f:?} (dst_ip_tcp80, dst_port, http_url)")))
            .collect()
    }
}

/// 3 when a replay did not keep everything ([`ReplaySummary::degraded`]), or when it had input
/// and no line of it was a JSON event (there was nothing to detect in).
pub fn exit_code(summary: &ReplaySummary) -> ExitCode {
    if summary.degraded() || summary.tally.nothing_was_json() { ExitCode::from(3) } else { ExitCode::SUCCESS }
}

/// Says on stderr what the output held (alerts per rule, the hosts with the most alerts; left
/// out with `quiet`) and, whatever `quiet` says, when no input line was a JSON event, which
/// log format the lines look like.
pub fn print_tally(summary: &ReplaySummary, quiet: bool) {
    let t = &summary.tally;
    if !quiet {
        for line in t.summary() {
            eprintln!("malhost: {line}");
        }
    }
    if t.nothing_was_json() {
        let hint = match t.guess_format() {
            Some(f) => format!("they look like {} logs: did you mean `malhost import --format {} FILE | malhost replay`?", f.name(), f.name()),
            None => "malhost reads JSON events (ECS field names), one per line; `malhost import --format …` turns zeek, squid, asa, iptables, windows_firewall and argus logs into them".to_owned(),
        };
        eprintln!("malhost: no input line was a JSON event; {hint}");
    }
}

/// What the state can grow to under `config`, against a memory limit in MiB; and whether the
/// full tables fit in it.
pub fn memory_report(config: &malhost::Config, max_memory_mib: usize) -> (String, bool) {
    let keep = u64::from(config.shared.rare_destinations.max_hosts) + 1;
    let e = config.shared.state.memory_estimate(keep);
    let mib = |b: u64| b.div_ceil(1 << 20);
    let line = format!(
        "state memory: about {} MiB with every table full (max_hosts {}, max_destinations {}, max_messages {}), at most about {} MiB if every host also filled max_keys_per_host ({}) in every rule; guest memory limit {} MiB",
        mib(e.tables_full),
        config.shared.state.max_hosts,
        config.shared.state.max_destinations,
        config.shared.state.max_messages,
        mib(e.every_key_full),
        config.shared.state.max_keys_per_host,
        max_memory_mib
    );
    (line, mib(e.tables_full) <= max_memory_mib as u64)
}

/// Whether `e` is a write to a closed pipe (the reader went away).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
