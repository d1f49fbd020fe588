//! `malhost import`: real log files (Zeek, Squid, ASA, iptables, …, mail messages) → ECS JSON lines.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use super::OutputArg;

/// Turn real log files into ECS JSON lines (one line per record; bad records become error
/// records naming the file and line).
#[derive(clap::Args)]
pub struct ImportArgs {
    /// Input format.
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    #[command(flatten)]
    pub output: OutputArg,
    /// Offset from UTC of times written without one (syslog, Windows Firewall, Argus).
    #[arg(long, default_value = "+00:00", value_name = "OFFSET")]
    pub utc_offset: String,
    /// Year of syslog times that do not name one (asa, iptables). Default: the year the first
    /// input file was last modified (this year for stdin), with a warning.
    #[arg(long, value_name = "YEAR")]
    pub syslog_year: Option<i32>,
    /// iptables/nftables log prefixes that mean dropped (case-insensitive substrings).
    #[arg(long = "deny-prefix", value_name = "WORD", default_values_t = ["block".to_string(), "drop".to_string(), "deny".to_string(), "reject".to_string()])]
    pub deny_prefixes: Vec<String>,
    /// Inputs: files (`-` for stdin), or directories for `eml` (every *.eml file in them).
    pub inputs: Vec<PathBuf>,
}

/// Formats `malhost import` reads.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ImportFormat {
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
    #[value(alias = "windows_firewall")]
    WindowsFirewall,
    /// Argus binetflow CSV (Stratosphere captures).
    Argus,
}

impl ImportFormat {
    /// The name on the command line (and of the line format).
    pub fn name(self) -> &'static str {
        match self {
            ImportFormat::Eml => "eml",
            ImportFormat::Zeek => "zeek",
            ImportFormat::Squid => "squid",
            ImportFormat::Asa => "asa",
            ImportFormat::Iptables => "iptables",
            ImportFormat::WindowsFirewall => "windows_firewall",
            ImportFormat::Argus => "argus",
        }
    }

    /// A fresh reader for a line format (`None` for eml).
    pub fn line_format(self) -> Option<Box<dyn malhost::import::LineFormat>> {
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

pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let ImportArgs { format, output, utc_offset, syslog_year, deny_prefixes, inputs } = args;
    let opts = malhost::import::ImportOptions {
        utc_offset_ms: malhost::calendar::parse_offset(&utc_offset)
            .ok_or_else(|| anyhow!("--utc-offset: expected an offset such as +09:00, found {utc_offset:?}"))?,
        syslog_year: match syslog_year {
            Some(y) => y,
            None => {
                let (year, from) = default_syslog_year(&inputs);
                if matches!(format, ImportFormat::Asa | ImportFormat::Iptables) {
                    eprintln!("malhost: syslog times name no year: taking {year}, {from}; set --syslog-year if it is another");
                }
                year
            }
        },
        deny_prefixes,
    };
    let mut out = output.open()?;
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
    match summary.wrong_format_hint(format.name()) {
        Some(hint) => {
            eprintln!("malhost: {hint}");
            Ok(ExitCode::from(3))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The year syslog times are taken to be in when `--syslog-year` is not given: the year the
/// first input file was last modified, or this year (stdin, or no modification time); and
/// where it came from, for the warning.
fn default_syslog_year(inputs: &[PathBuf]) -> (i32, String) {
    let year_of = |t: std::time::SystemTime| -> Option<i32> {
        let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        malhost::calendar::format_day(i32::try_from(secs / 86_400).ok()?).get(..4)?.parse().ok()
    };
    let file = inputs.first().filter(|p| p.as_os_str() != "-");
    if let Some(p) = file
        && let Some(y) = std::fs::metadata(p).and_then(|m| m.modified()).ok().and_then(year_of)
    {
        return (y, format!("the year {} was last modified", p.display()));
    }
    let now = year_of(std::time::SystemTime::now()).unwrap_or(1970);
    (now, "this year".to_owned())
}
