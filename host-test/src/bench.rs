//! `malhost bench`: the same synthetic stream through the native detector and through the
//! module on wasmtime, in the same batches; events/s, MB/s and their ratio.
//!
//! Two workloads: `firewall` ([`synth::firewall_events`]; default config plus a C&C list of
//! 5,000 CIDRs and addresses, so both firewall rules do real work) and `proxy`
//! ([`synth::proxy_events`]: 5,000 browsing hosts over four days with 20 beacons; every proxy
//! rule on, with a 10,000-domain indicator list and a User-Agent allowlist). Each path is
//! warmed up on the first tenth of the batches, with a separate detector, before it is timed.
//! The native path is also timed with host verdicts off (`host_risk` disabled), alternating
//! with the timing with them on, so their cost is a ratio measured in the same run.

use std::time::Instant;

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::runtime::{Guest, Limits, Runtime};
use crate::synth::{self, ProxyOptions, SynthOptions};

/// Which synthetic stream to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Firewall events.
    Firewall,
    /// Web proxy events.
    Proxy,
    /// Every event to a destination never seen before, from few hosts (default one):
    /// alternately a proxy request to a new registered domain and a firewall deny to a new
    /// address, so per-host and shared tables fill up and must evict.
    Fanout,
    /// Destinations crafted to collide in the detector's hash table under a known seed
    /// ([`crate::flood`]; timed under that seed, under a secret one, and plain).
    Flood,
}

/// One measured path.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// `native` or `wasm`.
    pub path: &'static str,
    /// Events processed.
    pub events: usize,
    /// Input bytes processed.
    pub bytes: usize,
    /// Output bytes produced.
    pub output_bytes: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Events per second.
    pub events_per_second: f64,
    /// Input megabytes (10^6) per second.
    pub mb_per_second: f64,
}

/// A benchmark report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Events per call.
    pub batch_lines: usize,
    /// Mean input event size, bytes.
    pub mean_event_bytes: usize,
    /// The measured paths.
    pub results: Vec<Measurement>,
    /// wasm events/s divided by native events/s.
    pub wasm_over_native: Option<f64>,
    /// Native events/s with host verdicts on divided by events/s with them off (`host_risk`
    /// disabled), best of two alternating passes each; `None` when the config turns them off.
    pub verdicts_on_over_off: Option<f64>,
    /// Whether the module ran under a per-call time limit (epoch interruption).
    pub time_limited: bool,
    /// Entries in the config's indicator lists (C&C addresses, proxy indicators).
    pub indicator_entries: usize,
    /// Time to parse and compile the config natively, milliseconds.
    pub configure_native_ms: f64,
    /// Time of `malhost_configure` in the module, milliseconds.
    pub configure_wasm_ms: Option<f64>,
    /// The guest's linear memory at the end, bytes.
    pub guest_memory_bytes: Option<usize>,
    /// The stream measured.
    pub workload: Workload,
    /// The native detector's counters at the end (hosts, destinations, beacon tracks).
    pub stats: malhost::Stats,
    /// Bytes one (host, destination) pair of `proxy.daily_beacon` takes in its host's map
    /// (entry and control byte at the map's maximum load), from the type sizes.
    pub bytes_per_beacon_track: usize,
}

/// The benchmark's default config for a workload.
pub fn default_config_for(w: Workload) -> Vec<u8> {
    match w {
        Workload::Firewall => default_config(),
        Workload::Proxy => proxy_config(),
        Workload::Fanout => fanout_config(),
        // crate::flood builds its own configs.
        Workload::Flood => Vec::new(),
    }
}

/// The fan-out workload's config: the proxy rules and the firewall rules together.
pub fn fanout_config() -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&proxy_config()).unwrap_or_default();
    let fw: serde_json::Value = serde_json::from_slice(&default_config()).unwrap_or_default();
    if let (Some(rules), Some(fw_rules)) = (v["rules"].as_object_mut(), fw["rules"].as_object()) {
        rules.extend(fw_rules.clone());
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// `events` events from `hosts` hosts, each to a destination never seen before: even ones a
/// proxy GET to a new registered domain, odd ones a firewall deny to a new address (from
/// 45.0.0.0 up: public, so every deny reaches the deny window, and outside the C&C list), a
/// second apart.
pub fn fanout_events(events: usize, hosts: u32, out: &mut Vec<u8>) -> usize {
    use std::fmt::Write as _;
    let start = 1_714_557_600_000i64;
    let mut line = String::with_capacity(300);
    for i in 0..events {
        let src = synth::proxy_host_ip(i as u32 % hosts.max(1));
        let stamp = malhost::event::time::format_ms(start + i as i64 * 1000);
        let n = i / 2;
        line.clear();
        if i % 2 == 0 {
            let _ = write!(
                line,
                r#"{{"@timestamp":"{stamp}","source.ip":"{src}","url.full":"https://www.d{n:x}.com/","http.request.method":"GET","http.request.bytes":400,"user_agent.original":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) bench"}}"#
            );
        } else {
            let ip = std::net::Ipv4Addr::from(0x2d00_0000u32.wrapping_add(n as u32));
            let _ = write!(
                line,
                r#"{{"@timestamp":"{stamp}","event.action":"deny","source.ip":"{src}","destination.ip":"{ip}","destination.port":443,"network.transport":"tcp"}}"#
            );
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    events
}

/// The proxy workload's config: every proxy rule on.
pub fn proxy_config() -> Vec<u8> {
    let domains: Vec<String> = (0..10_000u32).map(|i| format!("bad{i}.example")).collect();
    serde_json::to_vec(&serde_json::json!({
        "rules": {
            "proxy_ioc": {"lists": [{"name": "bench-domains", "domains": domains}]},
            "proxy_user_agent": {"allowed": ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) *"]},
            "proxy_connect_port": {},
            "proxy_daily_beacon": {},
            "proxy_off_hours": {},
            "proxy_upload_volume": {}
        }
    }))
    .unwrap_or_default()
}

/// The benchmark's default firewall config.
pub fn default_config() -> Vec<u8> {
    let mut entries: Vec<String> = (0..4_000u32)
        .map(|i| format!("{}.{}.{}.0/24", 11 + i / 65_536 % 200, i / 256 % 256, i % 256))
        .collect();
    entries.extend((0..1_000u32).map(|i| format!("172.{}.{}.{}", 32 + i / 65_536, i / 256 % 256, i % 256)));
    entries.push(synth::C2_BLOCK.to_string());
    serde_json::to_vec(&serde_json::json!({
        "rules": {
            "fw_outbound_deny": {"watched_ports": [25, 80, 443, 445, 8080], "min_count": 5, "window": "10m"},
            "fw_c2_ip": {"lists": [{"name": "bench-c2", "provider": "malhost bench", "entries": entries}]}
        }
    }))
    .unwrap_or_default()
}

/// Runs the benchmark. `runtime` is `None` to measure the native path only.
#[allow(clippy::too_many_arguments)]
pub fn run(
    runtime: Option<&Runtime>,
    limits: Limits,
    workload: Workload,
    config: &[u8],
    events: usize,
    hosts: Option<u32>,
    batch_lines: usize,
    seed: u64,
) -> Result<Report> {
    let mut data = Vec::new();
    let events = match workload {
        Workload::Firewall => {
            let d = SynthOptions::default();
            synth::firewall_events(&SynthOptions { events, seed, hosts: hosts.unwrap_or(d.hosts), ..d }, &mut data);
            events
        }
        Workload::Proxy => {
            let hosts = hosts.unwrap_or(5_000);
            let days = 4;
            // Weekends are quieter; aim a little high and let the count be what it is.
            let per_day = (events as f64 / (f64::from(hosts) * f64::from(days) * 0.95)).ceil().max(1.0) as u32;
            let o = ProxyOptions { hosts, days, requests_per_host_day: per_day, beacons: 20, seed, ..Default::default() };
            synth::proxy_events(&o, &mut data)
        }
        Workload::Fanout => fanout_events(events, hosts.unwrap_or(1), &mut data),
        Workload::Flood => return Err(anyhow!("the flood workload runs through crate::flood::run")),
    };
    let batches = split_batches(&data, batch_lines.max(1));
    let warm = &batches[..batches.len() / 10];
    let mut results = Vec::new();

    let t = Instant::now();
    let cfg = malhost::Config::from_json(config).map_err(|e| anyhow!("config: {e}"))?;
    let configure_native_ms = t.elapsed().as_secs_f64() * 1e3;
    let indicator_entries =
        cfg.rules.fw_c2_ip.as_ref().map_or(0, |c| c.indicators.len()) + cfg.rules.proxy_ioc.as_ref().map_or(0, |c| c.entries());
    let mut configure_wasm_ms = None;
    let mut out = Vec::with_capacity(1 << 20);
    let mut warm_det = malhost::Detector::new(cfg.clone());
    for b in warm {
        out.clear();
        warm_det.process_batch(b, &mut out);
    }
    // Host verdicts on (the config as given) and off, natively, alternating twice and keeping
    // each one's best pass, so that the machine's noise hits both alike.
    let mut without = cfg.clone();
    without.host_risk = None;
    let verdicts_on = cfg.host_risk.is_some();
    let native_pass = |cfg: &malhost::Config, out: &mut Vec<u8>| {
        let mut det = malhost::Detector::new(cfg.clone());
        let mut out_bytes = 0;
        let t = Instant::now();
        for b in &batches {
            out.clear();
            det.process_batch(b, out);
            out_bytes += out.len();
        }
        (t.elapsed().as_secs_f64(), out_bytes, det.stats())
    };
    let (mut best_on, mut best_off) = (f64::INFINITY, f64::INFINITY);
    let mut on_pass = None;
    let mut off_bytes = 0;
    for _ in 0..if verdicts_on { 2 } else { 1 } {
        let (secs, bytes, stats) = native_pass(&cfg, &mut out);
        if secs < best_on {
            best_on = secs;
            on_pass = Some((bytes, stats));
        }
        if verdicts_on {
            let (secs, bytes, _) = native_pass(&without, &mut out);
            if secs < best_off {
                best_off = secs;
                off_bytes = bytes;
            }
        }
    }
    let Some((out_bytes, stats)) = on_pass else { return Err(anyhow!("no native pass")) };
    results.push(measure("native", events, data.len(), out_bytes, best_on));
    let verdict_cost = verdicts_on.then(|| {
        results.push(measure("native, host verdicts off", events, data.len(), off_bytes, best_off));
        best_off / best_on
    });

    let mut guest_memory = None;
    if let Some(rt) = runtime {
        let configure = |g: &mut Guest| -> Result<()> {
            g.configure(config).map_err(|e| anyhow!("{e}"))?.map_err(|e| anyhow!("config rejected: {e}"))
        };
        let mut g = Guest::new(rt, limits)?;
        g.without_journal();
        configure(&mut g)?;
        for b in warm {
            g.process_checked(b, &mut |_| {}).map_err(|e| anyhow!("{e}"))?;
        }
        let mut g = Guest::new(rt, limits)?;
        g.without_journal();
        let t = Instant::now();
        configure(&mut g)?;
        configure_wasm_ms = Some(t.elapsed().as_secs_f64() * 1e3);
        let mut out_bytes = 0;
        let t = Instant::now();
        for b in &batches {
            g.process_checked(b, &mut |o| out_bytes += o.len()).map_err(|e| anyhow!("{e}"))?;
        }
        results.push(measure("wasm", events, data.len(), out_bytes, t.elapsed().as_secs_f64()));
        guest_memory = Some(g.memory_bytes());
    }
    let ratio = match (results.first(), results.iter().find(|r| r.path == "wasm")) {
        (Some(n), Some(w)) => Some(w.events_per_second / n.events_per_second),
        _ => None,
    };
    Ok(Report {
        batch_lines,
        mean_event_bytes: data.len() / events.max(1),
        results,
        wasm_over_native: ratio,
        verdicts_on_over_off: verdict_cost,
        time_limited: limits.call_timeout.is_some(),
        indicator_entries,
        configure_native_ms,
        configure_wasm_ms,
        guest_memory_bytes: guest_memory,
        workload,
        stats,
        bytes_per_beacon_track: malhost::rules::proxy_daily_beacon::Track::tracked_bytes(),
    })
}

fn measure(path: &'static str, events: usize, bytes: usize, output_bytes: usize, seconds: f64) -> Measurement {
    let s = seconds.max(1e-9);
    Measurement {
        path,
        events,
        bytes,
        output_bytes,
        seconds,
        events_per_second: events as f64 / s,
        mb_per_second: bytes as f64 / s / 1e6,
    }
}

/// `data` cut into batches of `lines` lines (the last may be shorter).
pub(crate) fn split_batches(data: &[u8], lines: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut n = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            n += 1;
            if n == lines {
                out.push(&data[start..=i]);
                start = i + 1;
                n = 0;
            }
        }
    }
    if start < data.len() {
        out.push(&data[start..]);
    }
    out
}

impl Report {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut s = format!("workload: {:?}\n", self.workload).to_lowercase();
        s.push_str(&format!("{:<26} {:>10} {:>10} {:>12} {:>8}\n", "path", "events", "seconds", "events/s", "MB/s"));
        for r in &self.results {
            s.push_str(&format!(
                "{:<26} {:>10} {:>10.3} {:>12.0} {:>8.1}\n",
                r.path, r.events, r.seconds, r.events_per_second, r.mb_per_second
            ));
        }
        s.push_str(&format!("batch: {} events, mean event {} bytes\n", self.batch_lines, self.mean_event_bytes));
        if let Some(r) = self.verdicts_on_over_off {
            s.push_str(&format!("host verdicts on/off native throughput: {r:.3} (best of two alternating passes each)\n"));
        }
        if let Some(r) = self.wasm_over_native {
            s.push_str(&format!(
                "wasm/native throughput: {r:.2} (per-call time limit {})\n",
                if self.time_limited { "on" } else { "off" }
            ));
        }
        s.push_str(&format!(
            "config with {} indicator entries compiled in {:.1} ms native{}\n",
            self.indicator_entries,
            self.configure_native_ms,
            self.configure_wasm_ms.map(|w| format!(", {w:.1} ms in the module")).unwrap_or_default()
        ));
        if let Some(m) = self.guest_memory_bytes {
            s.push_str(&format!("guest memory at end: {:.1} MiB\n", m as f64 / 1048576.0));
        }
        let st = &self.stats;
        s.push_str(&format!(
            "state at end: {} hosts ({} evicted), {} destinations counted ({} evicted), {} beacon tracks of {} bytes each; {} alerts\n",
            st.hosts_tracked, st.host_evictions, st.destinations_tracked, st.destination_evictions, st.beacon_tracks, self.bytes_per_beacon_track, st.alerts
        ));
        s
    }
}
