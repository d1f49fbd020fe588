//! The pipeline: lines in, lines out.
//!
//! For every input line, in order: one output line (the event, passed through or enriched, or
//! an error record), then the alerts it raised. Blank lines separate nothing and are skipped.
//! The detector never panics on input; a line it cannot read becomes an error record and the
//! next line is processed as usual.


use crate::config::Config;
use crate::event::Event;
use crate::output;
use crate::rules::{self, Annotations};
use crate::rules::host_state::HostTable;
use crate::state::{DestinationTable, SeenMessages};
pub use crate::state::Stats;


/// The detector: a compiled config, per-host state and reusable buffers.
pub struct Detector {
    config: Config,
    /// Seed for a config without `hash_seed` (see [`Detector::set_host_seed`]).
    host_seed: u64,
    hosts: HostTable,
    dests: DestinationTable,
    messages: SeenMessages,
    ann: Annotations,
    scratch: Vec<u8>,
    stats: Stats,
    /// The host's wall clock, ms, if it gave one ([`Detector::set_clock`]).
    clock_ms: Option<i64>,
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new(Config::default())
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    const CONFIG: &[u8] = br#"{"rules":{"fw_outbound_deny":{"min_count":2,"watched_ports":[80,445]},"proxy_daily_beacon":{"min_days":2},"proxy_off_hours":{"min_count":2},"proxy_upload_volume":{"max_bytes":100}}}"#;

    fn stream() -> Vec<u8> {
        (0..3).flat_map(stream_day).collect()
    }

    fn stream_day(d: i64) -> Vec<u8> {
        let mut s = String::new();
        {
            for h in 0..4 {
                let t = 1_714_521_600 + d * 86_400 + h * 600;
                s += &format!(r#"{{"@timestamp":{t},"event.action":"deny","source.ip":"10.0.0.{h}","destination.ip":"203.0.113.{d}","destination.port":445,"network.transport":"tcp"}}"#);
                s.push('\n');
                s += &format!(r#"{{"@timestamp":{},"observer.type":"proxy","source.ip":"10.0.0.{h}","url.full":"http://rare{h}.example/x","http.request.method":"POST","http.request.bytes":80,"user_agent.original":"x"}}"#, t + 79_200);
                s.push('\n');
                s += &format!(r#"{{"@timestamp":{t},"event.dataset":"mail","email.message_id":"<{h}@x>","email.headers.from":"\"ceo@corp.example\" <a@evil.example>"}}"#);
                s.push('\n');
            }
        }
        s.into_bytes()
    }

    #[test]
    fn a_stream_split_by_snapshot_and_restore_gives_the_same_output() {
        let input = stream();
        let whole = {
            let mut d = Detector::new(Config::from_json(CONFIG).unwrap());
            let mut out = Vec::new();
            d.process_batch(&input, &mut out);
            d.flush(&mut out);
            out
        };
        // The state that crosses the cut matters: beacons need two days, mail alerts once per id.
        let text = String::from_utf8_lossy(&whole);
        assert_eq!(text.matches(r#""id":"proxy.daily_beacon""#).count(), 4);
        // Each host's message comes again every day, a dedup window (1d) apart: once a day.
        assert_eq!(text.matches(r#""id":"mail.display_name_spoof""#).count(), 12);
        let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
        for cut in [1, lines.len() / 3, lines.len() / 2, lines.len() - 1] {
            let mut a = Detector::new(Config::from_json(CONFIG).unwrap());
            let mut out = Vec::new();
            a.process_batch(&lines[..cut].concat(), &mut out);
            let snap = a.snapshot();
            let mut b = Detector::new(Config::from_json(CONFIG).unwrap());
            b.restore(&snap).unwrap();
            assert_eq!(b.snapshot(), snap, "restore then snapshot gives the same document");
            b.process_batch(&lines[cut..].concat(), &mut out);
            b.flush(&mut out);
            assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&whole), "cut at {cut}");
            assert_eq!(a.stats().lines + b.stats().lines - a.stats().lines, b.stats().lines);
        }
    }

    /// Edits a snapshot document the way a tamperer or a corrupted file might: every number
    /// (but the format and seed) may become an extreme, every array may be reversed, cut or
    /// have an element repeated. `choices` drives the edits, one draw per node.
    fn tamper(v: &mut serde_json::Value, choices: &mut impl Iterator<Item = u8>, depth: usize) {
        use serde_json::Value;
        let c = choices.next().unwrap_or(0);
        match v {
            Value::Number(_) if depth > 1 => {
                let extremes = [serde_json::json!(i64::MAX), serde_json::json!(i64::MIN), serde_json::json!(u64::MAX), serde_json::json!(-1), serde_json::json!(0), serde_json::json!(255), serde_json::json!(u32::MAX)];
                if c % 3 == 0 {
                    *v = extremes[usize::from(c / 3) % extremes.len()].clone();
                }
            }
            Value::Array(a) => {
                match c % 5 {
                    0 => a.reverse(),
                    1 if !a.is_empty() => {
                        let e = a[usize::from(c) % a.len()].clone();
                        a.extend(std::iter::repeat_n(e, 40));
                    }
                    2 => a.truncate(a.len() / 2),
                    _ => {}
                }
                for e in a {
                    tamper(e, choices, depth + 1);
                }
            }
            Value::Object(o) => {
                for (_, e) in o.iter_mut() {
                    tamper(e, choices, depth + 1);
                }
            }
            _ => {}
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// A snapshot that restore accepts can never make a later event fail, however it was
        /// edited (natively, with overflow checks on, a failure is a panic: a trap in the module).
        #[test]
        fn a_tampered_snapshot_is_refused_or_repaired(choices in proptest::collection::vec(proptest::prelude::any::<u8>(), 64..2048), cut in 1usize..40) {
            let input = stream();
            let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
            let cut = cut.min(lines.len() - 1);
            let mut a = Detector::new(Config::from_json(CONFIG).unwrap());
            let mut out = Vec::new();
            a.process_batch(&lines[..cut].concat(), &mut out);
            let mut doc: serde_json::Value = serde_json::from_slice(&a.snapshot()).unwrap();
            tamper(&mut doc, &mut choices.into_iter().cycle(), 0);
            let mut b = Detector::new(Config::from_json(CONFIG).unwrap());
            if b.restore(&serde_json::to_vec(&doc).unwrap()).is_ok() {
                b.process_batch(&lines[cut..].concat(), &mut out);
                b.process_batch(&input, &mut out);
                let _ = b.snapshot();
            }
        }
    }

    #[test]
    fn an_unsorted_deny_window_in_a_snapshot_is_sorted_on_restore() {
        // The audit's case: reversed deny-window items used to underflow an index on the
        // host's next deny.
        let deny = |t: i64| format!(r#"{{"@timestamp":{t},"event.action":"deny","source.ip":"10.0.0.1","destination.ip":"203.0.113.9","destination.port":445,"network.transport":"tcp"}}"#);
        let mut a = Detector::new(Config::from_json(br#"{"rules":{"fw_outbound_deny":{"min_count":50,"watched_ports":[445]}}}"#).unwrap());
        let mut out = Vec::new();
        for t in 0..6 {
            a.process_line(deny(1_714_557_600 + t * 10).as_bytes(), &mut out);
        }
        let mut doc: serde_json::Value = serde_json::from_slice(&a.snapshot()).unwrap();
        let items = doc["hosts"][0][1]["rules"]["fw_outbound_deny"]["hits"]["items"].as_array_mut().unwrap();
        assert_eq!(items.len(), 6);
        items.reverse();
        let mut b = Detector::new(Config::from_json(br#"{"rules":{"fw_outbound_deny":{"min_count":50,"watched_ports":[445]}}}"#).unwrap());
        b.restore(&serde_json::to_vec(&doc).unwrap()).unwrap();
        let again: serde_json::Value = serde_json::from_slice(&b.snapshot()).unwrap();
        let times: Vec<i64> = again["hosts"][0][1]["rules"]["fw_outbound_deny"]["hits"]["items"].as_array().unwrap().iter().map(|h| h["ts"].as_i64().unwrap()).collect();
        assert!(times.is_sorted(), "restore sorted the window: {times:?}");
        let deny = deny(1_714_557_600 + 25);
        let deny = deny.as_bytes();
        b.process_line(deny, &mut out);
    }

    /// Snapshots of each format, committed: the current one must keep restoring exactly, the
    /// older ones must be refused with a message naming their format.
    const COMMITTED: [(u32, &[u8]); 3] = [
        (3, include_bytes!("../../host-test/snapshot-fixtures/format-3.json")),
        (4, include_bytes!("../../host-test/snapshot-fixtures/format-4.json")),
        (5, include_bytes!("../../host-test/snapshot-fixtures/format-5.json")),
    ];

    #[test]
    fn the_committed_snapshots_keep_restoring_or_are_refused_by_format() {
        let current = crate::snapshot::SNAPSHOT_FORMAT;
        if std::env::var_os("MALHOST_BLESS").is_some() {
            let mut a = Detector::new(Config::from_json(CONFIG).unwrap());
            a.set_host_seed(42);
            let mut out = Vec::new();
            a.process_batch(&stream(), &mut out);
            let mut doc = a.snapshot();
            doc.push(b'\n');
            let path = format!("{}/../host-test/snapshot-fixtures/format-{current}.json", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(path, doc).unwrap();
            return;
        }
        assert!(COMMITTED.iter().any(|(n, _)| *n == current), "commit a snapshot of format {current} (MALHOST_BLESS=1)");
        for (n, doc) in COMMITTED {
            let mut b = Detector::new(Config::from_json(CONFIG).unwrap());
            let r = b.restore(doc);
            if n != current {
                assert!(r.unwrap_err().contains(&format!("snapshot format {n} is not supported")));
                continue;
            }
            r.unwrap();
            assert_eq!(b.hash_seed(), 42);
            assert_eq!(b.snapshot(), doc.strip_suffix(b"\n").unwrap(), "restore then snapshot gives the committed bytes");
            // The state carries on: the fourth day goes as it would have without the cut.
            let mut whole = Detector::new(Config::from_json(CONFIG).unwrap());
            whole.set_host_seed(42);
            let (mut first, mut expected) = (Vec::new(), Vec::new());
            whole.process_batch(&stream(), &mut first);
            let next = stream_day(3);
            whole.process_batch(&next, &mut expected);
            let mut out = Vec::new();
            b.process_batch(&next, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(expected).unwrap());
        }
    }

    fn list_config(ports: &[&str]) -> Vec<u8> {
        let values: Vec<String> = ports.iter().map(|p| format!(r#"{{"value":"{p}","m":5,"n":0,"pm":0.5,"pl":0.0}}"#)).collect();
        format!(
            r#"{{"host_risk":{{"enabled":false}},"rules":{{"fw_outbound_deny":{{"enabled":false}},"learned_lists":{{"window":"1h","list":{{"malhost_lists":1,"options":{{"t_m":0.01,"t_l":0.005,"extract":{{"keep_query":false}},"sample_field":"malhost.sample"}},"malware":{{"entities":10,"events":10,"skipped":0,"inputs":[]}},"normal":{{"entities":10,"events":10,"skipped":0,"inputs":[]}},"fields":[{{"field":"dst_port","m_total":10,"n_total":10,"candidates":5,"values":[{}]}}]}},"thresholds":{{"dst_port":{{"count":2}}}}}}}}}}"#,
            values.join(",")
        )
        .into_bytes()
    }

    fn deny(t: u32, port: u16) -> Vec<u8> {
        format!(r#"{{"@timestamp":{},"event.action":"deny","source.ip":"10.0.0.1","destination.ip":"203.0.113.1","destination.port":{port},"network.transport":"tcp"}}"#, 1_714_557_600 + t).into_bytes()
    }

    fn alerts(d: &mut Detector, line: &[u8]) -> usize {
        let mut out = Vec::new();
        d.process_line(line, &mut out);
        String::from_utf8_lossy(&out).matches(r#""kind":"alert""#).count()
    }

    #[test]
    fn a_new_list_keeps_the_counts_of_values_it_still_lists() {
        // B (tcp/139) twice under [A, B, C]; the new list [B, D] still lists B, at another
        // index: the third B makes w = 3 > 2.
        let mut d = Detector::new(Config::from_json(&list_config(&["tcp/445", "tcp/139", "tcp/25"])).unwrap());
        assert_eq!(alerts(&mut d, &deny(0, 139)) + alerts(&mut d, &deny(1, 139)), 0);
        d.reconfigure(Config::from_json(&list_config(&["tcp/139", "tcp/6667"])).unwrap());
        assert_eq!(alerts(&mut d, &deny(2, 139)), 1, "the count carried over");
        // A (tcp/445) twice, then a list without A: A's hits are gone and must not be counted
        // as whatever sits at A's old index now.
        let mut d = Detector::new(Config::from_json(&list_config(&["tcp/445", "tcp/139"])).unwrap());
        assert_eq!(alerts(&mut d, &deny(0, 445)) + alerts(&mut d, &deny(1, 445)), 0);
        d.reconfigure(Config::from_json(&list_config(&["tcp/6667", "tcp/139"])).unwrap());
        assert_eq!(alerts(&mut d, &deny(2, 6667)), 0, "A's hits were dropped, not renamed");
        assert_eq!(alerts(&mut d, &deny(3, 6667)) + alerts(&mut d, &deny(4, 6667)), 1);
    }

    #[test]
    fn a_snapshot_under_another_seed_or_format_is_refused_and_changes_nothing() {
        let mut a = Detector::new(Config::from_json(CONFIG).unwrap());
        let mut out = Vec::new();
        a.process_batch(&stream(), &mut out);
        let snap = a.snapshot();
        let mut b = Detector::new(Config::from_json(br#"{"hash_seed":7}"#).unwrap());
        let before = b.snapshot();
        assert!(b.restore(&snap).unwrap_err().contains("hash_seed"));
        assert!(b.restore(b"{}").unwrap_err().starts_with("not a malhost snapshot"));
        let v1 = String::from_utf8(snap).unwrap().replacen("\"malhost_snapshot\":5", "\"malhost_snapshot\":1", 1);
        let mut c = Detector::new(Config::from_json(CONFIG).unwrap());
        assert!(c.restore(v1.as_bytes()).unwrap_err().contains("format 1"), "ahash-era keys");
        assert_eq!(b.snapshot(), before);
    }

    #[test]
    fn the_host_seed_applies_without_a_configured_one_and_a_snapshot_carries_it() {
        let stream = stream();
        let mid = stream[..stream.len() / 2].iter().rposition(|b| *b == b'\n').unwrap() + 1;
        let (first, second) = stream.split_at(mid);
        let mut whole = Detector::new(Config::from_json(CONFIG).unwrap());
        whole.set_host_seed(5);
        assert_eq!(whole.hash_seed(), 5);
        let mut expected = Vec::new();
        whole.process_batch(&stream, &mut expected);

        let mut a = Detector::new(Config::from_json(CONFIG).unwrap());
        a.set_host_seed(5);
        let mut out = Vec::new();
        a.process_batch(first, &mut out);
        // A fresh instance drew another seed; the snapshot's seed wins, and the output goes on
        // exactly as if nothing had happened.
        let mut b = Detector::new(Config::from_json(CONFIG).unwrap());
        b.set_host_seed(9);
        b.restore(&a.snapshot()).unwrap();
        assert_eq!(b.hash_seed(), 5);
        b.process_batch(second, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(expected.clone()).unwrap());

        // Output does not depend on the seed: another host seed gives the same lines.
        let mut c = Detector::new(Config::from_json(br#"{"hash_seed":11}"#).unwrap());
        c.reconfigure(Config::from_json(CONFIG).unwrap());
        c.set_host_seed(77);
        let mut other = Vec::new();
        c.process_batch(&stream, &mut other);
        assert_eq!(other, expected);
        let mut d = Detector::new(Config::from_json(br#"{"hash_seed":11}"#).unwrap());
        d.set_host_seed(77);
        assert_eq!(d.hash_seed(), 11, "a configured seed overrides the host's");
        // Restoring a snapshot taken under the configured seed keeps the host's own seed for
        // when the config no longer names one.
        let under_11 = Detector::new(Config::from_json(br#"{"hash_seed":11}"#).unwrap()).snapshot();
        d.restore(&under_11).unwrap();
        d.reconfigure(Config::from_json(CONFIG).unwrap());
        assert_eq!(d.hash_seed(), 77);
    }
}

impl Detector {
    /// A detector with empty state.
    ///
    /// Until the host supplies a seed ([`Detector::set_host_seed`]) a config without
    /// `hash_seed` hashes with seed 0, a key anyone can read in this source: hosts that face
    /// attacker-shaped logs give the detector a secret random seed.
    pub fn new(config: Config) -> Self {
        let seed = config.hash_seed.unwrap_or(0);
        let hosts = HostTable::new(config.shared.state.max_hosts, seed);
        let dests = Self::destination_table(&config, seed);
        let messages = SeenMessages::new(config.shared.state.max_messages, crate::state::seeded(seed));
        Detector {
            host_seed: 0,
            config,
            hosts,
            dests,
            messages,
            ann: Annotations::default(),
            scratch: Vec::new(),
            stats: Stats::default(),
            clock_ms: None,
        }
    }

    fn destination_table(config: &Config, seed: u64) -> DestinationTable {
        let keep = config.shared.rare_destinations.max_hosts as usize + 1;
        DestinationTable::new(config.shared.state.max_destinations, keep, crate::state::seeded(seed))
    }

    /// The seed the state's keys are hashed with: the config's `hash_seed`, else the host's.
    pub fn hash_seed(&self) -> u64 {
        self.config.hash_seed.unwrap_or(self.host_seed)
    }

    /// The seed used when the config names none: the host's ([`Detector::set_host_seed`]) or
    /// the one a restore took from its snapshot.
    pub fn host_seed(&self) -> u64 {
        self.host_seed
    }

    /// Sets the seed used when the config names none (a host draws it from its entropy
    /// source, so that an attacker cannot craft keys that collide). If that changes the seed
    /// in force the state starts empty, since every stored key was hashed with the old one:
    /// call it before the first event.
    pub fn set_host_seed(&mut self, seed: u64) {
        let before = self.hash_seed();
        self.host_seed = seed;
        if self.hash_seed() != before {
            self.reset_state();
        }
    }

    /// Empty tables hashed with the seed in force. One table at a time, so that each old one
    /// is freed before the next new one is allocated (they reserve their index arrays up
    /// front, and a module under a tight memory limit must not hold two sets at once).
    fn reset_state(&mut self) {
        let (c, seed) = (&self.config, self.hash_seed());
        self.hosts = HostTable::new(c.shared.state.max_hosts, seed);
        self.dests = Self::destination_table(c, seed);
        self.messages = SeenMessages::new(c.shared.state.max_messages, crate::state::seeded(seed));
    }

    /// The host's wall clock, ms since the Unix epoch: event times more than
    /// `limits.max_future` after it are not used by the rules over time. Hosts set it before
    /// each batch; without it no event time is refused for being in the future.
    pub fn set_clock(&mut self, now_ms: i64) {
        self.clock_ms = Some(now_ms);
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Swaps in a new config, keeping per-host state (a smaller `state.max_hosts` evicts the
    /// least recently seen hosts). A new `hash_seed` starts from empty state, since every
    /// stored key was hashed with the old one.
    pub fn reconfigure(&mut self, config: Config) {
        self.carry_list_windows(&config);
        let before = self.hash_seed();
        self.config = config;
        if self.hash_seed() != before {
            self.reset_state();
        } else {
            let c = &self.config;
            self.messages.resize(c.shared.state.max_messages);
            self.hosts.resize(c.shared.state.max_hosts);
            self.dests.resize(c.shared.state.max_destinations);
            self.dests.set_keep(c.shared.rare_destinations.max_hosts as usize + 1);
        }
    }

    /// A new learned list keeps the hosts' counts for values it still lists (renumbered to the
    /// new list) and drops the rest; new extractor options drop them all, since values then
    /// mean something else.
    fn carry_list_windows(&mut self, new: &Config) {
        let old = self.config.rules.learned_lists.as_ref();
        let same = match (old, new.rules.learned_lists.as_ref()) {
            (None, None) => true,
            (Some(o), Some(n)) => o.extract == n.extract && o.fields.iter().map(|f| (f.field, &f.values)).eq(n.fields.iter().map(|f| (f.field, &f.values))),
            _ => false,
        };
        if same {
            return;
        }
        let maps: Vec<(crate::lists::extract::ListField, Vec<Option<u32>>)> = match (old, new.rules.learned_lists.as_ref()) {
            (Some(o), Some(n)) if o.extract == n.extract => o
                .fields
                .iter()
                .map(|of| {
                    let nf = n.fields.iter().find(|f| f.field == of.field);
                    (of.field, of.values.iter().map(|v| nf.and_then(|nf| nf.index.get(v).copied())).collect())
                })
                .collect(),
            _ => Vec::new(),
        };
        for st in self.hosts.states_mut() {
            st.rules.learned_lists.0.retain_mut(|(field, window)| match maps.iter().find(|(f, _)| f == field) {
                Some((_, m)) => {
                    window.remap(&|i| m.get(i as usize).copied().flatten());
                    !window.is_empty()
                }
                None => false,
            });
        }
    }

    /// Processes a batch of events, one per line ([`crate::event::framing`]: `\n`, `\r\n` or
    /// a lone `\r` ends a line), appending output lines to `out`.
    pub fn process_batch(&mut self, batch: &[u8], out: &mut Vec<u8>) {
        for line in crate::event::framing::lines(batch) {
            self.process_line(line, out);
        }
    }

    /// [`Detector::process_batch`], also pushing to `frames` how many output lines each
    /// non-blank input line produced (its event line and its alerts), so that a host can check
    /// that every record was answered.
    pub fn process_batch_framed(&mut self, batch: &[u8], out: &mut Vec<u8>, frames: &mut Vec<u32>) {
        for line in crate::event::framing::lines(batch) {
            let n = self.process_line(line, out);
            if n > 0 {
                frames.push(n);
            }
        }
    }

    /// Processes one line (without its terminator), appending its output lines to `out`;
    /// returns how many lines it wrote: 0 for a blank line, else 1 plus its alerts.
    ///
    /// Three stages: the line is admitted (within `limits.max_line_bytes`, one JSON object) or
    /// answered with an error record; an event of no known source whose `message` one of
    /// `raw_messages.formats` reads is replaced by the parsed event; then the rules run on it.
    pub fn process_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> u32 {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(line) = crate::event::framing::content(line) else { return 0 };
        self.stats.lines = self.stats.lines.saturating_add(1);
        let Some(ev) = self.admit(line, out) else { return 1 };
        if let Some(normalised) = self.normalise_raw(line, &ev) {
            drop(ev);
            // The rewritten event comes out as rewritten, so that the fields the rules read
            // are in the output; it is not read as a raw message again.
            let Some(ev) = self.admit(&normalised, out) else { return 1 };
            return self.detect(&normalised, ev, out);
        }
        self.detect(line, ev, out)
    }

    /// The event of an admitted line, or `None` once an error record answered it.
    fn admit<'l>(&mut self, line: &'l [u8], out: &mut Vec<u8>) -> Option<Event<'l>> {
        let problem = if line.len() > self.config.max_line_bytes {
            format!("line of {} bytes exceeds limits.max_line_bytes ({})", line.len(), self.config.max_line_bytes)
        } else {
            match Event::parse(line) {
                // A line claiming to be one of malhost's alerts is not passed on as one.
                Ok(ev) => match output::forged_alert(&ev) {
                    None => return Some(ev),
                    Some(msg) => {
                        self.stats.input_errors = self.stats.input_errors.saturating_add(1);
                        output::write_input_error(out, line, output::FORGED_ALERT, &msg);
                        return None;
                    }
                },
                Err(msg) => msg,
            }
        };
        self.stats.input_errors = self.stats.input_errors.saturating_add(1);
        output::write_input_error(out, line, "malhost.input", &problem);
        None
    }

    /// Runs the rules on an admitted event and writes its line and alerts.
    fn detect(&mut self, line: &[u8], mut ev: Event<'_>, out: &mut Vec<u8>) -> u32 {
        if let Some(now) = self.clock_ms {
            ev.set_clock(now, self.config.max_future_ms);
        }
        self.ann.clear();
        rules::run_all(&ev, &self.config.shared, &self.config.rules, &mut self.hosts, &mut self.dests, &mut self.messages, &mut self.ann);
        if let (Some(risk), false) = (&self.config.host_risk, self.ann.alerts.is_empty()) {
            risk.assess(&mut self.hosts, &mut self.ann);
        }
        if self.ann.changes_event() {
            self.stats.enriched = self.stats.enriched.saturating_add(1);
            if !self.ann.field_errors.is_empty() {
                self.stats.field_errors = self.stats.field_errors.saturating_add(1);
            }
            output::write_enriched(out, line, &ev, &self.ann, &mut self.scratch);
        } else {
            self.stats.passed_through = self.stats.passed_through.saturating_add(1);
            output::write_passthrough(out, line);
        }
        for a in &self.ann.alerts {
            output::write_alert(out, a);
        }
        self.stats.alerts = self.stats.alerts.saturating_add(self.ann.alerts.len() as u64);
        1 + self.ann.alerts.len() as u32
    }

    /// An event of no known source whose `message` one of `raw_messages.formats` reads: the
    /// parsed ECS fields, with the event's own keys on top (its `event` object merged into the
    /// parsed one). `None` for every other event.
    fn normalise_raw(&self, line: &[u8], ev: &Event) -> Option<Vec<u8>> {
        let (formats, opts) = &self.config.raw_messages;
        if formats.is_empty() || ev.source_kind() != crate::event::SourceKind::Other {
            return None;
        }
        let msg = ev.str(crate::event::Field::Message)?;
        let serde_json::Value::Object(parsed) = crate::import::parse_raw(formats, msg, opts)? else { return None };
        crate::output::overlay_raw(parsed, line)
    }

    /// End of input. No firewall rule holds alerts back, so nothing is written today; rules
    /// that close open runs at the end of a stream write their alerts here.
    pub fn flush(&mut self, _out: &mut Vec<u8>) {}

    /// The whole state as a snapshot document (`crate::state::snapshot`).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.snapshot_into(&mut out);
        out
    }

    /// Writes the snapshot document to `out` (cleared first), serialising the state in place.
    pub fn snapshot_into(&self, out: &mut Vec<u8>) {
        out.clear();
        let s = self.stats();
        let doc = crate::snapshot::SnapshotOut {
            malhost_snapshot: crate::snapshot::SNAPSHOT_FORMAT,
            hash_seed: self.hash_seed(),
            host_evictions: s.host_evictions,
            destination_evictions: s.destination_evictions,
            message_evictions: self.messages.evictions(),
            stats: s,
            hosts: self.hosts.export(),
            destinations: self.dests.export(),
            messages: self.messages.export(),
        };
        if serde_json::to_writer(&mut *out, &doc).is_err() {
            out.clear();
        }
    }

    /// Replaces the state with a snapshot's (the config stays). On error nothing changes.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        // The format first: another format's fields need not parse as this one's.
        #[derive(serde::Deserialize)]
        struct Format {
            malhost_snapshot: u32,
        }
        let format: Format = serde_json::from_slice(bytes).map_err(|e| format!("not a malhost snapshot: {e}"))?;
        if format.malhost_snapshot != crate::snapshot::SNAPSHOT_FORMAT {
            return Err(format!(
                "snapshot format {} is not supported (expected {})",
                format.malhost_snapshot,
                crate::snapshot::SNAPSHOT_FORMAT
            ));
        }
        let doc: crate::snapshot::Snapshot = serde_json::from_slice(bytes).map_err(|e| format!("not a malhost snapshot: {e}"))?;
        // The keys were hashed with the snapshot's seed: a config that names another one
        // cannot read them; otherwise the snapshot's seed becomes the host seed.
        if let Some(configured) = self.config.hash_seed.filter(|s| *s != doc.hash_seed) {
            return Err(format!(
                "the snapshot was taken with hash_seed {} and the config has {configured}: its keys cannot be read",
                doc.hash_seed
            ));
        }
        if self.config.hash_seed.is_none() {
            self.host_seed = doc.hash_seed;
        }
        let (c, seed) = (&self.config, doc.hash_seed);
        // The document may have been edited: every invariant is restored before use.
        let mut hosts = doc.hosts;
        for (_, st) in &mut hosts {
            st.repair(c.shared.state.max_keys_per_host);
        }
        self.hosts = HostTable::import(c.shared.state.max_hosts, seed, hosts, doc.host_evictions);
        let mut dests = Self::destination_table(c, seed);
        dests.import(doc.destinations, doc.destination_evictions);
        self.dests = dests;
        let mut messages = SeenMessages::new(c.shared.state.max_messages, crate::state::seeded(seed));
        messages.import(doc.messages, doc.message_evictions);
        self.messages = messages;
        self.stats = doc.stats;
        Ok(())
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.hosts_tracked = self.hosts.len() as u64;
        s.host_evictions = self.hosts.evictions();
        s.destinations_tracked = self.dests.len() as u64;
        s.destination_evictions = self.dests.evictions();
        s.beacon_tracks = self.hosts.states().filter_map(|h| h.rules.proxy_daily_beacon.as_ref()).map(|b| b.len() as u64).sum();
        s
    }
}
