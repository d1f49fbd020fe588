//! The pipeline: lines in, lines out.
//!
//! For every input line, in order: one output line (the event, passed through or enriched, or
//! an error record), then the alerts it raised. Blank lines separate nothing and are skipped.
//! The detector never panics on input; a line it cannot read becomes an error record and the
//! next line is processed as usual.

use serde::Serialize;

use crate::config::Config;
use crate::event::Event;
use crate::output;
use crate::rules::{self, Annotations};
use crate::state::{DestinationTable, HostTable, SeenMessages};

/// Counters since the detector was created.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Input lines that were events or error records (blank lines excluded).
    pub lines: u64,
    /// Events written unchanged.
    pub passed_through: u64,
    /// Events written with added fields.
    pub enriched: u64,
    /// Alerts written.
    pub alerts: u64,
    /// Lines that were not usable JSON objects.
    pub input_errors: u64,
    /// Events with an `error.message` about a field.
    pub field_errors: u64,
    /// Hosts currently tracked.
    pub hosts_tracked: u64,
    /// Hosts evicted to stay within `state.max_hosts`.
    pub host_evictions: u64,
    /// Web destinations whose distinct hosts are counted.
    pub destinations_tracked: u64,
    /// Destinations evicted to stay within `state.max_destinations`.
    pub destination_evictions: u64,
    /// (host, rare destination) pairs followed by `proxy.daily_beacon`.
    pub beacon_tracks: u64,
}

/// The detector: a compiled config, per-host state and reusable buffers.
pub struct Detector {
    config: Config,
    hosts: HostTable,
    dests: DestinationTable,
    messages: SeenMessages,
    ann: Annotations,
    scratch: Vec<u8>,
    stats: Stats,
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new(Config::default())
    }
}

impl Detector {
    /// A detector with empty state.
    pub fn new(config: Config) -> Self {
        let hosts = HostTable::new(config.state.max_hosts, config.hash_seed);
        let dests = Self::destination_table(&config);
        let messages = SeenMessages::new(config.state.max_messages, crate::state::seeded(config.hash_seed));
        Detector { config, hosts, dests, messages, ann: Annotations::default(), scratch: Vec::new(), stats: Stats::default() }
    }

    fn destination_table(config: &Config) -> DestinationTable {
        let keep = config.rare_destinations.max_hosts as usize + 1;
        DestinationTable::new(config.state.max_destinations, keep, crate::state::seeded(config.hash_seed))
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Swaps in a new config, keeping per-host state (a smaller `state.max_hosts` evicts the
    /// least recently seen hosts). A new `hash_seed` starts from empty state, since every
    /// stored key was hashed with the old one.
    pub fn reconfigure(&mut self, config: Config) {
        if config.hash_seed != self.config.hash_seed {
            self.hosts = HostTable::new(config.state.max_hosts, config.hash_seed);
            self.dests = Self::destination_table(&config);
            self.messages = SeenMessages::new(config.state.max_messages, crate::state::seeded(config.hash_seed));
        } else {
            self.messages.resize(config.state.max_messages);
            self.hosts.resize(config.state.max_hosts);
            self.dests.resize(config.state.max_destinations);
            self.dests.set_keep(config.rare_destinations.max_hosts as usize + 1);
        }
        self.config = config;
    }

    /// Processes newline-separated events (a trailing newline is optional; `\r\n` works too),
    /// appending output lines to `out`.
    pub fn process_batch(&mut self, batch: &[u8], out: &mut Vec<u8>) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', batch) {
            self.process_line(&batch[start..end], out);
            start = end + 1;
        }
        if start < batch.len() {
            self.process_line(&batch[start..], out);
        }
    }

    /// Processes one line (without its terminator), appending its output lines to `out`.
    pub fn process_line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.stats.lines += 1;
        if line.len() > self.config.max_line_bytes {
            self.stats.input_errors += 1;
            let msg = format!(
                "line of {} bytes exceeds limits.max_line_bytes ({})",
                line.len(),
                self.config.max_line_bytes
            );
            return output::write_input_error(out, line, "malhost.input", &msg);
        }
        let ev = match Event::parse(line) {
            Ok(ev) => ev,
            Err(msg) => {
                self.stats.input_errors += 1;
                return output::write_input_error(out, line, "malhost.input", &msg);
            }
        };
        self.ann.clear();
        rules::run_all(&ev, &self.config, &mut self.hosts, &mut self.dests, &mut self.messages, &mut self.ann);
        if self.ann.changes_event() {
            self.stats.enriched += 1;
            if !self.ann.field_errors.is_empty() {
                self.stats.field_errors += 1;
            }
            output::write_enriched(out, line, &ev, &self.ann, &mut self.scratch);
        } else {
            self.stats.passed_through += 1;
            output::write_passthrough(out, line);
        }
        for a in &self.ann.alerts {
            output::write_alert(out, a);
        }
        self.stats.alerts += self.ann.alerts.len() as u64;
    }

    /// End of input. No firewall rule holds alerts back, so nothing is written today; rules
    /// that close open runs at the end of a stream write their alerts here.
    pub fn flush(&mut self, _out: &mut Vec<u8>) {}

    /// Counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.hosts_tracked = self.hosts.len() as u64;
        s.host_evictions = self.hosts.evictions();
        s.destinations_tracked = self.dests.len() as u64;
        s.destination_evictions = self.dests.evictions();
        s.beacon_tracks = self.hosts.states().filter_map(|h| h.beacons.as_ref()).map(|b| b.len() as u64).sum();
        s
    }
}
