//! `malhost`: replay logs through the detector module on wasmtime, check configs, benchmark.
//!
//! The commands are in [`cmd`], one module each; this file parses the command line, runs the
//! command and turns its result into the exit code.
//!
//! Exit codes: 0 success; 1 a fatal error (bad config, missing module, unreadable input, output
//! closed before everything was written); 2 usage error (from clap); 3 the replay finished but
//! something was not kept: the module failed on some lines (they were written as error
//! records) or a recovery could not rebuild the per-host state.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cmd::Command;

#[derive(Parser)]
#[command(name = "malhost", version, about = "Find malware-infected hosts in firewall, proxy and mail logs")]
#[command(after_help = cmd::developer_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(a) => cmd::replay::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Import(a) => cmd::import::run(a),
        Command::CheckConfig(a) => cmd::check_config::run(a),
        Command::Schema(a) => cmd::schema::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Synth(a) => cmd::synth::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::SynthStream(a) => cmd::synth_stream::run(a),
        Command::PlotSamples(a) => cmd::plot_samples::run(a),
        Command::BenchImport(a) => cmd::bench_import::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if cmd::is_broken_pipe(&e) {
                eprintln!("malhost: the output was closed before everything was written (broken pipe): output lines are lost");
            } else {
                eprintln!("malhost: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
