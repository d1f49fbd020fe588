//! `malhost`: replay logs through the detector module on wasmtime, check configs, benchmark.
//!
//! Exit codes: 0 success; 1 a fatal error (bad config, missing module, unreadable input, output
//! closed before everything was written); 2 usage error (from clap); 3 the replay finished but
//! something was not kept: the module failed on some lines (they were written as error
//! records) or a recovery could not rebuild the per-host state.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};

use malhost_host::replay::{self, Input, ReplayOptions};
use malhost_host::runtime::{Guest, Limits, Runtime};
use malhost::lists::extract::{ExtractOptions, ListField};
use malhost_host::{bench, evaluate, module_path, train};

#[derive(Parser)]
#[command(name = "malhost", version, about = "Find malware-infected hosts in firewall, proxy and mail logs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ModuleArgs {
    /// The detector module (default: $MALHOST_WASM, malhost.wasm beside this program, or the
    /// workspace build output).
    #[arg(long, value_name = "MODULE")]
    wasm: Option<PathBuf>,
    /// Largest guest memory, MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    max_memory: usize,
    /// Time limit per call into the module, milliseconds; 0 for none (the module then runs
    /// without interruption checks, about 18% faster).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    timeout_ms: u64,
}

impl ModuleArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_memory_bytes: self.max_memory << 20,
            call_timeout: (self.timeout_ms > 0).then(|| Duration::from_millis(self.timeout_ms)),
        }
    }
    fn runtime(&self) -> Result<Runtime> {
        let path = module_path::locate(self.wasm.as_deref())?;
        Runtime::from_file_with(&path, self.timeout_ms > 0)
    }
}

#[derive(clap::Args, Clone)]
struct ListArgs {
    /// A value is listed when PM > t_m …
    #[arg(long, default_value_t = 0.001)]
    t_m: f64,
    /// … and PL < t_l.
    #[arg(long, default_value_t = 0.005)]
    t_l: f64,
    /// Fields to learn (dst_ip_tcp80, dst_port, http_url).
    #[arg(long, value_delimiter = ',', default_value = "dst_ip_tcp80,dst_port,http_url")]
    fields: Vec<String>,
    /// Keep the query string of URLs.
    #[arg(long)]
    keep_query: bool,
    /// Field naming the sample of a malware event.
    #[arg(long, default_value = "malhost.sample")]
    sample_field: String,
    /// Each malware file is one sample, named by its file name (sandbox captures, one file
    /// per sample); --malware may then name directories.
    #[arg(long)]
    sample_per_file: bool,
    /// Each normal file is one host, named by its file name (evaluate only; training counts
    /// hosts by source.ip).
    #[arg(long)]
    host_per_file: bool,
}

impl ListArgs {
    fn fields(&self) -> Result<Vec<ListField>> {
        self.fields
            .iter()
            .map(|f| ListField::from_name(f.trim()).ok_or_else(|| anyhow!("unknown field {f:?} (dst_ip_tcp80, dst_port, http_url)")))
            .collect()
    }
}

#[derive(Subcommand)]
enum Command {
    /// Stream JSONL events through the module; write events, enrichments and alerts as JSONL.
    Replay {
        /// Config document (JSON). Defaults apply when omitted.
        #[arg(long, short, value_name = "CONFIG")]
        config: Option<PathBuf>,
        /// Write output here instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Events per call into the module.
        #[arg(long, default_value_t = 128)]
        batch_lines: usize,
        /// Lines longer than this many bytes are cut by the host and become error records.
        #[arg(long, default_value_t = 64 << 20)]
        max_line_bytes: usize,
        /// Do not print the summary to stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Snapshot the module's state every this many batches, so that a recovery after a
        /// trap or limit restores it (0: never; recovery then starts from empty state). A
        /// checkpoint is skipped until ten times the last one's duration has passed, so a
        /// large state costs at most about a tenth of the time.
        #[arg(long, default_value_t = 256, value_name = "BATCHES")]
        checkpoint_every: u64,
        /// Start from this state snapshot (written by --snapshot-out with the same hash_seed).
        #[arg(long, value_name = "FILE")]
        snapshot_in: Option<PathBuf>,
        /// Write the detector's state here at the end, to continue later with --snapshot-in.
        #[arg(long, value_name = "FILE")]
        snapshot_out: Option<PathBuf>,
        /// Write samples of the module's memory and counters here as JSON lines (soak runs;
        /// plot them with `malhost plot-samples`).
        #[arg(long, value_name = "FILE")]
        samples: Option<PathBuf>,
        /// Lines between samples.
        #[arg(long, default_value_t = 1_000_000, value_name = "LINES")]
        sample_every: u64,
        #[command(flatten)]
        module: ModuleArgs,
        /// JSONL inputs; `-` or none for stdin.
        inputs: Vec<PathBuf>,
    },
    /// Write the soak stream to stdout: day after day of proxy, firewall and mail events
    /// (about 2 M a day; whole days until at least --events).
    SynthStream {
        /// Events to write at least.
        #[arg(long, default_value_t = 100_000_000)]
        events: u64,
        /// PRNG seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Plot the samples of a replay (`--samples`) as PREFIX.png and PREFIX.svg: memory and
    /// throughput against events replayed.
    PlotSamples {
        /// Samples file (JSON lines).
        samples: PathBuf,
        /// Output path prefix.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Filter standard input to standard output until end of input or SIGTERM (for pipe-based
    /// pipelines: rsyslog, Logstash `pipe`, shell).
    Run {
        /// Config document (JSON). Defaults apply when omitted.
        #[arg(long, short, value_name = "CONFIG")]
        config: Option<PathBuf>,
        /// Events per call into the module at most (fewer when input is quiet).
        #[arg(long, default_value_t = 128)]
        batch_lines: usize,
        /// Lines longer than this many bytes are cut by the host and become error records.
        #[arg(long, default_value_t = 64 << 20)]
        max_line_bytes: usize,
        #[command(flatten)]
        module: ModuleArgs,
    },
    /// Learn malicious lists from malware (sandbox) logs and normal logs.
    Train {
        /// Malware logs (JSONL; each event names its sample in --sample-field).
        #[arg(long, required = true, num_args = 1..)]
        malware: Vec<PathBuf>,
        /// Normal logs (JSONL; hosts by source.ip).
        #[arg(long, required = true, num_args = 1..)]
        normal: Vec<PathBuf>,
        /// Write the list document here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        opts: ListArgs,
    },
    /// k-fold cross-validation of learned lists: TPR, FPR, thresholds, union and increment.
    Evaluate {
        /// Malware logs (JSONL; each event names its sample in --sample-field).
        #[arg(long, required = true, num_args = 1..)]
        malware: Vec<PathBuf>,
        /// Normal logs (JSONL; hosts by source.ip).
        #[arg(long, required = true, num_args = 1..)]
        normal: Vec<PathBuf>,
        /// Folds.
        #[arg(long, default_value_t = 7)]
        folds: usize,
        /// Seed of the fold assignment.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Thresholds are chosen so that the FPR on the training folds is at most this.
        #[arg(long, default_value_t = 0.005)]
        target_fpr: f64,
        /// Window of w and s (e.g. "24h").
        #[arg(long, default_value = "24h")]
        window: String,
        /// Also write the report (with ROC points) as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write ROC curves as PNG and SVG with this path prefix (`PREFIX.png`, `PREFIX.svg`).
        #[arg(long)]
        roc: Option<PathBuf>,
        #[command(flatten)]
        opts: ListArgs,
    },
    /// Generate a seeded sandbox log and enterprise log shaped like the paper's data set.
    Synth {
        /// Malware samples.
        #[arg(long, default_value_t = 20_000)]
        samples: usize,
        /// Normal hosts.
        #[arg(long, default_value_t = 3_000)]
        hosts: usize,
        /// Days of enterprise traffic.
        #[arg(long, default_value_t = 3)]
        days: u32,
        /// PRNG seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Directory for malware.jsonl and normal.jsonl.
        #[arg(long, default_value = "out/synth")]
        out_dir: PathBuf,
    },
    /// Turn real log files into ECS JSON lines (one line per record; bad records become error
    /// records naming the file and line).
    Import {
        /// Input format.
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// Write output here instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Offset from UTC of times written without one (syslog, Windows Firewall, Argus).
        #[arg(long, default_value = "+00:00", value_name = "OFFSET")]
        utc_offset: String,
        /// Year of syslog times that do not name one.
        #[arg(long, default_value_t = 1970)]
        syslog_year: i32,
        /// iptables/nftables log prefixes that mean dropped (case-insensitive substrings).
        #[arg(long = "deny-prefix", value_name = "WORD", default_values_t = ["block".to_string(), "drop".to_string(), "deny".to_string(), "reject".to_string()])]
        deny_prefixes: Vec<String>,
        /// Inputs: files (`-` for stdin), or directories for `eml` (every *.eml file in them).
        inputs: Vec<PathBuf>,
    },
    /// Measure an importer's throughput (MB/s) on a file held in memory.
    BenchImport {
        /// Input format (a line format).
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// Passes over the file.
        #[arg(long, default_value_t = 10)]
        passes: u32,
        /// The sample file.
        file: PathBuf,
    },
    /// Check a config document; print the JSON path of the first problem.
    CheckConfig {
        /// Config document (JSON).
        config: PathBuf,
        /// The guest memory limit the config will run under, MiB (as `replay --max-memory`).
        #[arg(long, default_value_t = 1024, value_name = "MIB")]
        max_memory: usize,
    },
    /// Measure throughput of the native detector and of the module on synthetic events.
    Bench {
        /// Synthetic stream: firewall or web proxy events.
        #[arg(long, value_enum, default_value = "firewall")]
        workload: bench::Workload,
        /// Events to generate.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Events per call.
        #[arg(long, default_value_t = 100)]
        batch_lines: usize,
        /// Distinct hosts in the stream (firewall default 2,000; proxy 5,000).
        #[arg(long)]
        hosts: Option<u32>,
        /// PRNG seed of the synthetic stream.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Config document (default for firewall: defaults plus a 5,000-entry C&C list; for
        /// proxy: every proxy rule on, a 10,000-domain indicator list).
        #[arg(long, value_name = "CONFIG")]
        config: Option<PathBuf>,
        /// Measure the native detector only.
        #[arg(long)]
        native_only: bool,
        /// flood: the hash seed the colliding domains are crafted against (flood takes
        /// --events up to 100000, builds its own configs and ignores --config, --hosts, --seed).
        #[arg(long, default_value_t = 0)]
        flood_seed: u64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        module: ModuleArgs,
    },
}

/// Formats `malhost import` reads.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ImportFormat {
    /// Mail message files (RFC 5322/MIME, `.eml`): one mail event per file.
    Eml,
    /// Zeek conn.log, http.log, smtp.log (TSV with its header, or JSON lines).
    Zeek,
    /// Squid native access.log.
    Squid,
    /// Cisco ASA / FTD syslog.
    Asa,
    /// Linux iptables / nftables kernel log lines.
    Iptables,
    /// Windows Defender Firewall pfirewall.log.
    WindowsFirewall,
    /// Argus binetflow CSV (Stratosphere captures).
    Argus,
}

impl ImportFormat {
    /// A fresh reader for a line format (`None` for eml).
    fn line_format(self) -> Option<Box<dyn malhost::import::LineFormat>> {
        use malhost::import::*;
        Some(match self {
            ImportFormat::Eml => return None,
            ImportFormat::Zeek => Box::new(zeek::Zeek::default()),
            ImportFormat::Squid => Box::new(squid::Squid),
            ImportFormat::Asa => Box::new(asa::Asa),
            ImportFormat::Iptables => Box::new(iptables::Iptables),
            ImportFormat::WindowsFirewall => Box::new(windows_firewall::WindowsFirewall::default()),
            ImportFormat::Argus => Box::new(argus::Argus::default()),
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
                eprintln!("malhost: the output was closed before everything was written (broken pipe): output lines are lost");
            } else {
                eprintln!("malhost: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// 3 when a replay did not keep everything ([`replay::ReplaySummary::degraded`]).
fn exit_code(summary: &replay::ReplaySummary) -> ExitCode {
    if summary.degraded() { ExitCode::from(3) } else { ExitCode::SUCCESS }
}

/// What the state can grow to under `config`, against a memory limit in MiB; and whether the
/// full tables fit in it.
fn memory_report(config: &malhost::Config, max_memory_mib: usize) -> (String, bool) {
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

/// A duration as the config writes it ("24h", "10m", seconds), in ms.
fn humantime_ms(s: &str) -> Result<i64> {
    serde_json::from_value::<malhost::config::Duration>(serde_json::Value::String(s.to_owned()))
        .map(|d| d.ms)
        .map_err(|e| anyhow!("--window: {e}"))
}

fn read_config(path: &PathBuf) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read config {}", path.display()))?;
    // Check natively first, for a precise message before the module is even loaded.
    malhost::Config::from_json(&bytes).map_err(|e| anyhow!("config {}: {e}", path.display()))?;
    Ok(bytes)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Train { malware, normal, output, opts } => {
            let settings = train::TrainSettings {
                fields: opts.fields()?,
                t_m: opts.t_m,
                t_l: opts.t_l,
                extract: ExtractOptions { keep_query: opts.keep_query },
                sample_field: opts.sample_field.clone(),
                sample_per_file: opts.sample_per_file,
                progress: std::io::IsTerminal::is_terminal(&io::stderr()),
            };
            if opts.host_per_file {
                bail!("--host-per-file applies to evaluate; training counts normal hosts by source.ip");
            }
            let (malware, normal) = (train::expand_inputs(&malware)?, train::expand_inputs(&normal)?);
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
            eprintln!(
                "malhost: {} samples, {} normal hosts; listed/candidates: {}",
                doc.malware.entities,
                doc.normal.entities,
                sizes.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate { malware, normal, folds, seed, target_fpr, window, json, roc, opts } => {
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
                progress: std::io::IsTerminal::is_terminal(&io::stderr()),
                ..Default::default()
            };
            let (malware, normal) = (train::expand_inputs(&malware)?, train::expand_inputs(&normal)?);
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
        Command::Synth { samples, hosts, days, seed, out_dir } => {
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
        Command::Import { format, output, utc_offset, syslog_year, deny_prefixes, inputs } => {
            let opts = malhost::import::ImportOptions {
                utc_offset_ms: malhost::calendar::parse_offset(&utc_offset)
                    .ok_or_else(|| anyhow!("--utc-offset: expected an offset such as +09:00, found {utc_offset:?}"))?,
                syslog_year,
                deny_prefixes,
            };
            let mut out: Box<dyn Write> = match &output {
                Some(p) => Box::new(BufWriter::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)),
                None => Box::new(BufWriter::new(io::stdout().lock())),
            };
            let summary = match format {
                ImportFormat::Eml => {
                    if inputs.is_empty() {
                        bail!("import --format eml needs message files or directories");
                    }
                    let files = malhost_host::import::eml_files(&inputs)?;
                    malhost_host::import::import_eml(&files, &mut out)?
                }
                other => {
                    let Some(mut f) = other.line_format() else { bail!("{other:?} is not a line format") };
                    malhost_host::import::import_lines(f.as_mut(), &opts, &inputs, &mut out)?
                }
            };
            out.flush()?;
            eprintln!("malhost: imported {} events, {} error records", summary.events, summary.errors);
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchImport { format, passes, file } => {
            let data = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            if format.line_format().is_none() {
                bail!("bench-import measures line formats; eml is one message per file");
            }
            let make = move || format.line_format().expect("a line format");
            let b = malhost_host::import::bench_lines(&make, &malhost::import::ImportOptions::default(), &data, passes);
            println!(
                "{:?}: {} lines ({} events, {} errors), {:.1} MB in {:.3} s: {:.1} MB/s, {:.0} lines/s",
                format, b.lines, b.events, b.errors, b.bytes as f64 / 1e6, b.seconds, b.mb_per_second, b.lines_per_second
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config, batch_lines, max_line_bytes, module } => {
            let cfg = config.as_ref().map(read_config).transpose()?;
            let rt = module.runtime()?;
            let mut guest = Guest::new(&rt, module.limits())?;
            if let Some(cfg) = &cfg {
                match guest.configure(cfg) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => bail!("the module rejected the config: {e}"),
                    Err(e) => bail!("the module failed while configuring: {e}"),
                }
            }
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = stop.clone();
            ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst))
                .context("cannot install the SIGTERM handler")?;
            let opts = ReplayOptions { batch_lines: batch_lines.max(1), max_line_bytes, ..Default::default() };
            let stdout = io::stdout();
            let mut out = stdout.lock();
            let summary = malhost_host::run::run(&mut guest, Box::new(BufReader::new(io::stdin())), &mut out, &opts, stop, &mut |m| {
                eprintln!("malhost: {m}")
            })?;
            Ok(exit_code(&summary))
        }
        Command::CheckConfig { config, max_memory } => {
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
        Command::SynthStream { events, seed } => {
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
            match malhost_host::soak::write_stream(events, seed, &mut out) {
                Ok(_) => Ok(ExitCode::SUCCESS),
                // The reader went away (e.g. `| head`): not an error.
                Err(e) if e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) => Ok(ExitCode::SUCCESS),
                Err(e) => Err(e),
            }
        }
        Command::PlotSamples { samples, output } => {
            let text = std::fs::read_to_string(&samples).with_context(|| format!("cannot read {}", samples.display()))?;
            let parsed: Vec<malhost_host::soak::Sample> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .enumerate()
                .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}: not a sample", samples.display(), i + 1)))
                .collect::<Result<_>>()?;
            let (png, svg) = (output.with_extension("png"), output.with_extension("svg"));
            for w in malhost_host::soak::plot(&parsed, &png, &svg)? {
                eprintln!("malhost: {w}");
            }
            println!("wrote {} and {}", png.display(), svg.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { config, output, batch_lines, max_line_bytes, quiet, checkpoint_every, snapshot_in, snapshot_out, samples, sample_every, module, inputs } => {
            let cfg = config.as_ref().map(read_config).transpose()?;
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
            let rt = module.runtime()?;
            let mut guest = Guest::new(&rt, module.limits())?;
            if let Some(cfg) = &cfg {
                match guest.configure(cfg) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => bail!("the module rejected the config: {e}"),
                    Err(e) => bail!("configure failed: {e}"),
                }
            }
            if let Some(p) = &snapshot_in {
                let doc = std::fs::read(p).with_context(|| format!("cannot read snapshot {}", p.display()))?;
                match guest.restore(&doc) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => bail!("snapshot {}: {e}", p.display()),
                    Err(e) => bail!("restore failed: {e}"),
                }
            }
            let mut readers = Vec::new();
            if inputs.is_empty() {
                readers.push(Input { name: "-".into(), reader: Box::new(BufReader::new(io::stdin())) });
            }
            for p in &inputs {
                if p.as_os_str() == "-" {
                    readers.push(Input { name: "-".into(), reader: Box::new(BufReader::new(io::stdin())) });
                    continue;
                }
                let f = File::open(p).with_context(|| format!("cannot open input {}", p.display()))?;
                readers.push(Input {
                    name: p.display().to_string(),
                    reader: Box::new(BufReader::with_capacity(1 << 16, f)) as Box<dyn BufRead>,
                });
            }
            let mut out: Box<dyn Write> = match &output {
                Some(p) => Box::new(BufWriter::with_capacity(
                    1 << 16,
                    File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
            };
            let opts = ReplayOptions {
                batch_lines: batch_lines.max(1),
                max_line_bytes: max_line_bytes.max(1),
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
            if summary.degraded() {
                eprintln!(
                    "malhost: not everything was kept: {} line(s) written as error records because the module failed on them, {} recovery(ies) lost per-host state ({} failed batch(es), {} failed checkpoint(s))",
                    summary.failed_lines, summary.state_losses, summary.failed_batches, summary.failed_checkpoints
                );
            }
            Ok(exit_code(&summary))
        }
        Command::Bench { workload, events, batch_lines, hosts, seed, config, native_only, json, module, flood_seed } => {
            if workload == bench::Workload::Flood {
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
    }
}
