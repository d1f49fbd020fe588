//! `malhost bench --workload flood`: does a stream crafted to collide in the detector's hash
//! tables slow it down?
//!
//! Web destinations (registered domains) are chosen by whoever runs the malware, and the
//! detector counts them in one table for the whole network (`state::destinations`). An
//! attacker who knows the hash seed can pick domains whose slots in that table agree on every
//! bit the table uses, so that each new one walks the probe chain of all the others: the cost
//! of a new destination grows with their number. This module crafts such domains against a
//! known seed (by trying candidates through the detector's own hash functions) and times
//! three streams of the same shape through the native detector and the module:
//!
//! - `known seed`: the crafted domains, with the config's `hash_seed` set to the seed they
//!   were crafted against (what a fixed, public key such as std's on `wasm32-unknown-unknown`
//!   or a default of 0 would give an attacker);
//! - `secret seed`: the same crafted domains, with no `hash_seed` in the config, so that the
//!   host's random seed applies (`malhost_seed`, `Detector::set_host_seed`);
//! - `plain`: as many ordinary random domains, for reference.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::runtime::{Guest, Limits, Runtime, random_seed};

/// The most events the benchmark crafts (100,000 need about 2 x 10^10 candidates: minutes).
pub const MAX_EVENTS: usize = 100_000;

/// One timed stream on one path.
#[derive(Clone, Debug, Serialize)]
pub struct FloodRun {
    /// `known seed`, `secret seed` or `plain`.
    pub stream: &'static str,
    /// `native` or `wasm`.
    pub path: &'static str,
    /// Events processed.
    pub events: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Events per second.
    pub events_per_second: f64,
}

/// The flood benchmark's report.
#[derive(Clone, Debug, Serialize)]
pub struct FloodReport {
    /// The seed the domains were crafted against.
    pub crafted_seed: u64,
    /// Low bits of the slot hash every crafted domain shares.
    pub colliding_bits: u32,
    /// Candidates tried to find them.
    pub candidates_tried: u64,
    /// Seconds spent crafting.
    pub crafting_seconds: f64,
    /// The timed runs.
    pub runs: Vec<FloodRun>,
}

/// Bits of the slot hash a table of `entries` entries uses to pick a bucket (hashbrown keeps
/// a power of two buckets at most 7/8 full).
pub fn bucket_bits(entries: usize) -> u32 {
    let buckets = (entries.max(8) * 8).div_ceil(7).next_power_of_two();
    buckets.trailing_zeros()
}

/// Finds `n` registered domains whose destination-table slots under `seed` agree on the low
/// `bits` bits, searching on every core. Returns them and the number of candidates tried.
pub fn craft(seed: u64, n: usize, bits: u32) -> (Vec<String>, u64) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let per = n.div_ceil(threads);
    let mask = (1u64 << bits) - 1;
    let results: Vec<(Vec<String>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let hosts = malhost::rules::host_state::HostTable::new(1, seed);
                    let mut found = Vec::with_capacity(per);
                    let mut name = String::with_capacity(24);
                    let mut i: u64 = 0;
                    while found.len() < per {
                        name.clear();
                        let _ = write!(name, "f{t:x}g{i:x}.com");
                        i += 1;
                        let h = malhost::state::destinations::destination_hash(&hosts, &name);
                        if malhost::state::destinations::slot_hash(seed, h) & mask == 0 {
                            found.push(name.clone());
                        }
                    }
                    (found, i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let tried = results.iter().map(|r| r.1).sum();
    let mut all: Vec<String> = results.into_iter().flat_map(|r| r.0).collect();
    all.truncate(n);
    (all, tried)
}

/// One proxy request per domain from one host, a second apart.
fn stream(domains: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(domains.len() * 200);
    let start = 1_714_557_600_000i64;
    for (i, d) in domains.iter().enumerate() {
        let stamp = malhost::event::time::format_ms(start + i as i64 * 1000);
        let _ = writeln!(
            out,
            r#"{{"@timestamp":"{stamp}","source.ip":"10.9.0.1","url.full":"http://www.{d}/index.html","http.request.method":"GET","user_agent.original":"bench"}}"#
        );
    }
    out
}

/// The config: the rare-destination rules on (they fill the destination table), room for
/// every domain, and the known seed or none.
fn config(seed: Option<u64>, n: usize) -> Vec<u8> {
    let mut v = serde_json::json!({
        "state": {"max_destinations": n.max(1)},
        "rules": {"proxy_daily_beacon": {}, "proxy_off_hours": {}}
    });
    if let Some(s) = seed {
        v["hash_seed"] = s.into();
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

fn run_native(cfg: &[u8], data: &[u8], lines: usize) -> Result<f64> {
    let mut det = malhost::Detector::new(malhost::Config::from_json(cfg).map_err(|e| anyhow!("config: {e}"))?);
    det.set_host_seed(random_seed());
    let mut out = Vec::with_capacity(1 << 20);
    let t = Instant::now();
    for b in crate::bench::split_batches(data, lines) {
        out.clear();
        det.process_batch(b, &mut out);
    }
    Ok(t.elapsed().as_secs_f64())
}

fn run_wasm(rt: &Runtime, limits: Limits, cfg: &[u8], data: &[u8], lines: usize) -> Result<f64> {
    let mut g = Guest::new(rt, limits)?;
    g.without_journal();
    g.configure(cfg).map_err(|e| anyhow!("{e}"))?.map_err(|e| anyhow!("config rejected: {e}"))?;
    let t = Instant::now();
    for b in crate::bench::split_batches(data, lines) {
        g.process_checked(b, &mut |_| {}).map_err(|e| anyhow!("{e}"))?;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Crafts `events` colliding domains against `crafted_seed` and times the three streams.
pub fn run(runtime: Option<&Runtime>, limits: Limits, events: usize, batch_lines: usize, crafted_seed: u64) -> Result<FloodReport> {
    if events > MAX_EVENTS {
        anyhow::bail!(
            "--events {events}: crafting needs about events x 2^{} candidates; use at most {MAX_EVENTS} (the README's run uses 40000)",
            bucket_bits(events)
        );
    }
    let bits = bucket_bits(events);
    let t = Instant::now();
    let (crafted, tried) = craft(crafted_seed, events, bits);
    let crafting_seconds = t.elapsed().as_secs_f64();
    let mut rng = fastrand::Rng::with_seed(crafted_seed ^ 0x5eed);
    let plain: Vec<String> = (0..events).map(|_| format!("p{:x}.com", rng.u64(..))).collect();
    let streams = [
        ("known seed", config(Some(crafted_seed), events), stream(&crafted)),
        ("secret seed", config(None, events), stream(&crafted)),
        ("plain", config(Some(crafted_seed), events), stream(&plain)),
    ];
    let mut runs = Vec::new();
    for (name, cfg, data) in &streams {
        let n = data.iter().filter(|b| **b == b'\n').count();
        let mut push = |path, seconds: f64| {
            runs.push(FloodRun { stream: name, path, events: n, seconds, events_per_second: n as f64 / seconds.max(1e-9) })
        };
        push("native", run_native(cfg, data, batch_lines)?);
        if let Some(rt) = runtime {
            push("wasm", run_wasm(rt, limits, cfg, data, batch_lines)?);
        }
    }
    Ok(FloodReport { crafted_seed, colliding_bits: bits, candidates_tried: tried, crafting_seconds, runs })
}

impl FloodReport {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "workload: flood ({} domains crafted against hash_seed {} to share the low {} bits of their slot; {} candidates in {:.1} s)\n",
            self.runs.first().map_or(0, |r| r.events),
            self.crafted_seed,
            self.colliding_bits,
            self.candidates_tried,
            self.crafting_seconds
        );
        s.push_str(&format!("{:<12} {:<7} {:>10} {:>10} {:>12}\n", "stream", "path", "events", "seconds", "events/s"));
        for r in &self.runs {
            s.push_str(&format!("{:<12} {:<7} {:>10} {:>10.3} {:>12.0}\n", r.stream, r.path, r.events, r.seconds, r.events_per_second));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crafted_domains_share_their_slot_bits_under_the_known_seed_only() {
        let (domains, _) = craft(0, 40, 8);
        assert_eq!(domains.len(), 40);
        let slot = |seed: u64, d: &str| {
            let hosts = malhost::rules::host_state::HostTable::new(1, seed);
            malhost::state::destinations::slot_hash(seed, malhost::state::destinations::destination_hash(&hosts, d)) & 0xff
        };
        assert!(domains.iter().all(|d| slot(0, d) == 0));
        assert!(domains.iter().any(|d| slot(12345, d) != 0), "another seed scatters them");
        assert_eq!(bucket_bits(20_000), 15);
        assert_eq!(bucket_bits(28_000), 15);
        assert_eq!(bucket_bits(29_000), 16);
    }
}
