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

/// The line format most of `sample` looks like: the one whose reader takes more than half of
/// the lines (and most of them), for a hint when lines were given to the wrong reader.
pub fn guess_format<S: AsRef<str>>(sample: &[S]) -> Option<Format> {
    let opts = ImportOptions::default();
    Format::ALL
        .into_iter()
        .map(|f| (f, sample.iter().filter(|l| parse_raw(&[f], l.as_ref(), &opts).is_some()).count()))
        .filter(|&(_, n)| n * 2 > sample.len())
        .max_by_key(|&(_, n)| n)
        .map(|(f, _)| f)
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

    /// The event a reader makes of `line` (default options), which must be a record.
    pub fn ev(format: &mut dyn LineFormat, line: &str) -> Value {
        format.parse_line(line, &ImportOptions::default()).unwrap().unwrap()
    }

    /// Asserts that `v` has each field of `want` (a JSON object, nested as the event is) with
    /// the value given there; `v`'s other fields are not looked at.
    pub fn assert_fields(v: &Value, want: Value) {
        fn walk(v: &Value, want: &Value, path: &str) {
            match want {
                Value::Object(fields) => {
                    for (key, w) in fields {
                        walk(&v[key.as_str()], w, &format!("{path}.{key}"));
                    }
                }
                _ => assert_eq!(v, want, "{path}"),
            }
        }
        walk(v, &want, "");
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

#[cfg(test)]
mod tests {
    use super::test_support::syslog_2024;
    use super::{Format, ImportOptions};

    /// Records each importer refuses, read by a fresh reader of the format (the standard
    /// columns; the syslog year only matters to ASA and iptables).
    #[test]
    fn malformed_records_are_errors() {
        let cases = [
            // Argus: cut short, a column too many, no time, a port above 65535, no source; non-ASCII.
            (Format::Argus, "2012/03/04 05:06:07.250000,3.0,tcp,10.0.2.15,4916"),
            (Format::Argus, "2012/03/04 05:06:07,3.0,tcp,10.0.2.15,1,  ->,198.51.100.80,80,S_RA,0,0,4,240,120,lbl,extra"),
            (Format::Argus, "2012/03/04,3.0,tcp,10.0.2.15,1,  ->,198.51.100.80,80,S_RA,0,0,4,240,120,lbl"),
            (Format::Argus, "2012/03/04 05:06:07,3.0,tcp,10.0.2.15,99999,  ->,198.51.100.80,80,S_RA,0,0,4,240,120,lbl"),
            (Format::Argus, "2012/03/04 05:06:07,3.0,tcp,,1,  ->,198.51.100.80,80,S_RA,0,0,4,240,120,lbl"),
            (Format::Argus, "ÄÖÜ,☃,ünï"),
            (Format::Argus, "２０１２/03/04 05:06:07,1,tcp,1.2.3.4,1,->,1.2.3.4,1,CON,0,0,1,1,1,"),
            // Windows Firewall: cut short, a field too many, a bad port or date, no date; non-ASCII; an
            // action the firewall does not log.
            (Format::WindowsFirewall, "2023-05-06 07:08:09 DROP TCP 198.51.100.7 192.168"),
            (Format::WindowsFirewall, "2023-05-06 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 51000 3389 52 - - - - - - - RECEIVE extra"),
            (Format::WindowsFirewall, "2023-05-06"),
            (Format::WindowsFirewall, "2023-05-06 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 port 3389 52 - - - - - - - RECEIVE"),
            (Format::WindowsFirewall, "2023-02-30 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 1 3389 52 - - - - - - - RECEIVE"),
            (Format::WindowsFirewall, "- 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 1 3389 52 - - - - - - - RECEIVE"),
            (Format::WindowsFirewall, "ÄÖÜ ☃ ünïcödé"),
            (Format::WindowsFirewall, "２０２３-05-06 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 1 3389 52 - - - - - - - RECEIVE"),
            (Format::WindowsFirewall, "2023-05-06 07:08:09 BLOCK TCP 10.0.0.7 198.51.100.1 1 8080 52 - - - - - - - SEND"),
            // iptables: another program, cut short, a bad port or address, non-ASCII, a bad tag.
            (Format::Iptables, "Jun 25 10:23:39 gw sshd[1]: Accepted publickey for root"),
            (Format::Iptables, "Jun 25 10:23:39 gw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:11"),
            (Format::Iptables, "Jun 25 10:23:39 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.11"),
            (Format::Iptables, "Jun 25 10:2"),
            (Format::Iptables, "Jun 25 10:23:39 gw kernel: X IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP SPT=70000 DPT=1"),
            (Format::Iptables, "Jun 25 10:23:39 gw kernel: X IN=eth0 OUT= SRC=1.2.3.4 DST=nothere PROTO=TCP"),
            (Format::Iptables, "ÄÖÜ ☃ IN=é SRC=ü"),
            (Format::Iptables, "\u{feff}\u{0}IN=\u{10ffff}"),
            (Format::Iptables, "Jun 25 10:33:00 gw ulogd[x]: DROP IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8"),
            // ASA: another program, a bad id, a bad month, cut short, a bad port, an endpoint too few;
            // non-ASCII.
            (Format::Asa, "Jun 25 10:23:39 host sshd[1]: Accepted password for root"),
            (Format::Asa, "Jun 25 10:23:39 %ASA-4-abc: x"),
            (Format::Asa, "Junk 25 10:23:39 %ASA-5-111008: x"),
            (Format::Asa, "Jun 25 10:23:39 fw %ASA-4-106023: Deny tcp src outside:198.51.100.1/400"),
            (Format::Asa, "Jun 25 10:23:39 fw %ASA-6-106100: access-list a permitted tcp inside/10.0.0.1(1000) ->"),
            (Format::Asa, "Jun 25 10:23:39 fw %ASA-6-302013: Built outbound TCP connection 1 for outside:"),
            (Format::Asa, "Jun 25 10:2"),
            (Format::Asa, "Jun 25 10:23:39 fw %ASA-"),
            (Format::Asa, "Jun 25 10:23:39 fw %ASA-4-106023: Deny tcp src outside:198.51.100.1/99999 dst inside:10.0.0.1/1 by access-group \"x\""),
            (Format::Asa, "Jun 25 10:23:39 fw %ASA-6-106100: access-list a denied tcp -> outside/10.0.0.1(1)"),
            (Format::Asa, "Ünïcødé ☃ %ASA-4-106023: Déný"),
            (Format::Asa, "Jun 25 10:23:39 h %ASA-4-106023: Deny tcp src é:ü/ö dst ß:ä/☃"),
            (Format::Asa, "\u{0}\u{7f}\u{feff}%ASA-\u{10ffff}"),
        ];
        for (format, line) in cases {
            assert!(format.reader().parse_line(line, &syslog_2024()).is_err(), "{}: {line}", format.name());
        }
    }

    /// A record or a header with more columns than the reader takes is refused.
    #[test]
    fn too_many_columns_are_errors() {
        let o = ImportOptions::default();
        for (format, many, header) in [(Format::Argus, vec!["1"; 1000].join(","), "StartTime,"), (Format::WindowsFirewall, vec!["x"; 100].join(" "), "#Fields: ")] {
            let mut reader = format.reader();
            assert!(reader.parse_line(&many, &o).unwrap_err().contains("more than"), "{}", format.name());
            assert!(reader.parse_line(&format!("{header}{many}"), &o).is_err(), "{}", format.name());
        }
    }
}
