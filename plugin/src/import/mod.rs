//! Real log formats → the ECS events of SPEC §3, so that operators and CI can replay the
//! logs they have. Each importer documents, in a table, which source field becomes which ECS
//! field.
//!
//! Line formats implement [`LineFormat`]: one input line in, at most one event out (header
//! and comment lines give none), a bad record an `Err` with a sentence saying why. No parser
//! panics on any input (fuzzed: `fuzz/fuzz_targets/import.rs`).
//!
//! - [`eml`]: a message file (RFC 5322/MIME) → one mail event;
//! - [`zeek`]: Zeek `conn.log`, `http.log`, `smtp.log`, TSV or JSON;
//! - [`squid`]: Squid's native `access.log`;
//! - [`asa`]: Cisco ASA / FTD syslog lines (`%ASA-4-106023` denies, `106100` access lists,
//!   `302013`–`302016` connections, Dynamic Filter drops, …) → firewall events;
//! - [`iptables`]: Linux netfilter (iptables, nftables, UFW) kernel log lines → firewall
//!   events; the log prefix and [`ImportOptions::deny_prefixes`] decide deny;
//! - [`windows_firewall`]: Windows Defender Firewall `pfirewall.log` rows → firewall events;
//! - [`argus`]: Argus `binetflow` CSV flows (Stratosphere captures) → flow events.

pub mod argus;
pub mod asa;
pub mod eml;
mod fields;
pub mod iptables;
pub mod squid;
pub mod windows_firewall;
pub mod zeek;

use serde_json::Value;

/// The line formats, by name (`malhost import --format`, config `raw_messages.formats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// [`zeek`] (JSON records only when read one line at a time: TSV needs its header).
    Zeek,
    /// [`squid`].
    Squid,
    /// [`asa`].
    Asa,
    /// [`iptables`].
    Iptables,
    /// [`windows_firewall`] (rows in the standard `#Fields` order).
    WindowsFirewall,
    /// [`argus`] (rows in the standard column order).
    Argus,
}

impl Format {
    /// Every line format.
    pub const ALL: [Format; 6] = [Format::Zeek, Format::Squid, Format::Asa, Format::Iptables, Format::WindowsFirewall, Format::Argus];

    /// The name in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Zeek => "zeek",
            Format::Squid => "squid",
            Format::Asa => "asa",
            Format::Iptables => "iptables",
            Format::WindowsFirewall => "windows_firewall",
            Format::Argus => "argus",
        }
    }

    /// Parses a name (`windows-firewall` and `windows_firewall` both work).
    pub fn from_name(s: &str) -> Option<Format> {
        let s = s.trim().replace('-', "_");
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// A fresh reader.
    pub fn reader(self) -> Box<dyn LineFormat> {
        match self {
            Format::Zeek => Box::new(zeek::Zeek::default()),
            Format::Squid => Box::new(squid::Squid),
            Format::Asa => Box::new(asa::Asa),
            Format::Iptables => Box::new(iptables::Iptables),
            Format::WindowsFirewall => Box::new(windows_firewall::WindowsFirewall::default()),
            Format::Argus => Box::new(argus::Argus::default()),
        }
    }
}

/// Reads one raw log line (an event's `message`) with the first of `formats` that takes it.
pub fn parse_raw(formats: &[Format], line: &str, opts: &ImportOptions) -> Option<Value> {
    formats.iter().find_map(|f| f.reader().parse_line(line, opts).ok().flatten())
}

/// Settings shared by the importers.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Offset from UTC of times written without one (syslog, Windows Firewall), ms.
    pub utc_offset_ms: i64,
    /// Year of syslog times that do not name one (`Jun 25 10:23:39`).
    pub syslog_year: i32,
    /// iptables/nftables log prefixes that mean the packet was dropped (matched
    /// case-insensitively as substrings of the prefix, e.g. `BLOCK`, `DROP`, `REJECT`).
    pub deny_prefixes: Vec<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            utc_offset_ms: 0,
            syslog_year: 1970,
            deny_prefixes: ["block", "drop", "deny", "reject"].iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// A line-oriented log format.
pub trait LineFormat {
    /// Reads one line (without its terminator). `Ok(None)` for lines that are not records
    /// (headers, comments, blank lines); `Err` for a record that cannot be read.
    fn parse_line(&mut self, line: &str, opts: &ImportOptions) -> Result<Option<Value>, String>;

    /// Reads one line given as bytes. Formats whose records can carry bytes that are not
    /// UTF-8 (a Squid URL) read them; by default such a line is an `Err` (the caller keeps its
    /// bytes in the error record).
    fn parse_bytes(&mut self, line: &[u8], opts: &ImportOptions) -> Result<Option<Value>, String> {
        match std::str::from_utf8(line) {
            Ok(text) => self.parse_line(text, opts),
            Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
        }
    }
}

/// What the importers' tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use serde_json::Value;

    use super::fields::clip;
    use super::{ImportOptions, LineFormat};

    /// What the detector (default config) writes for one imported event.
    pub fn detector_output(v: &Value) -> String {
        let mut d = crate::Detector::default();
        let mut out = Vec::new();
        d.process_line(serde_json::to_string(v).unwrap().as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The options the syslog importers' tests read with: a time that names no year is in 2024.
    pub fn syslog_2024() -> ImportOptions {
        ImportOptions { syslog_year: 2024, ..ImportOptions::default() }
    }

    /// Reads the lines of a sample file through one `format` reader, giving each event to
    /// `on_event`; returns how many lines were errors, the first few printed under `name`.
    pub fn read_sample(name: &str, format: &mut dyn LineFormat, text: &str, opts: &ImportOptions, mut on_event: impl FnMut(&Value)) -> usize {
        let mut errors = 0;
        for line in text.lines() {
            match format.parse_line(line, opts) {
                Ok(Some(v)) => on_event(&v),
                Ok(None) => {}
                Err(e) => {
                    errors += 1;
                    if errors < 5 {
                        eprintln!("{name}: {e}: {}", clip(line));
                    }
                }
            }
        }
        errors
    }
}
