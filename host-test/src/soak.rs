//! Soak runs: a long mixed stream for `malhost replay`, the samples replay takes of the
//! module's memory and progress as it goes (`--sample-every`), and their plot.
//!
//! The stream (`malhost synth-stream`) is one simulated day after another: a day of web proxy
//! traffic from 5,000 browsing hosts (20 of them beaconing), a day of firewall traffic from
//! 300,000 internal addresses (three times the default `state.max_hosts`, so the host table
//! keeps evicting), and a few mail messages with fresh message-ids. Within a day the proxy
//! part comes before the firewall part; the two share no hosts.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::synth::{self, ProxyOptions, SynthOptions};

/// One sample of a replay in progress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Input lines read so far.
    pub lines: u64,
    /// Milliseconds since the replay started.
    pub elapsed_ms: u64,
    /// The module's linear memory, bytes.
    pub guest_memory_bytes: u64,
    /// The host process's resident set (Linux `VmRSS`), bytes; 0 where unknown.
    pub host_rss_bytes: u64,
    /// Hosts with state.
    pub hosts_tracked: u64,
    /// Hosts evicted so far.
    pub host_evictions: u64,
    /// Web destinations counted.
    pub destinations_tracked: u64,
    /// Web destinations evicted so far.
    pub destination_evictions: u64,
    /// Alerts so far.
    pub alerts: u64,
}

/// The resident set of this process (Linux), bytes.
pub fn host_rss_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Builds a sample from the module's counters (`malhost_stats`).
pub fn sample(lines: u64, elapsed_ms: u64, guest_memory_bytes: u64, stats: &serde_json::Value) -> Sample {
    let n = |k: &str| stats[k].as_u64().unwrap_or(0);
    Sample {
        lines,
        elapsed_ms,
        guest_memory_bytes,
        host_rss_bytes: host_rss_bytes(),
        hosts_tracked: n("hosts_tracked"),
        host_evictions: n("host_evictions"),
        destinations_tracked: n("destinations_tracked"),
        destination_evictions: n("destination_evictions"),
        alerts: n("alerts"),
    }
}

/// Writes at least `events` events of the mixed stream (whole days) to `out`; returns how
/// many were written.
pub fn write_stream(events: u64, seed: u64, out: &mut dyn Write) -> Result<u64> {
    write_days(events, seed, 5_000, 1_000_000, out)
}

/// The stream with `proxy_hosts` browsing hosts and `firewall_events` firewall events a day.
fn write_days(events: u64, seed: u64, proxy_hosts: u32, firewall_events: usize, out: &mut dyn Write) -> Result<u64> {
    // One thread makes the next day while this one writes the last, so a reader at the other
    // end of a pipe is not left waiting while a day is generated.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, u64)>(1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_maker = stop.clone();
    let maker = std::thread::spawn(move || {
        let mut made = 0u64;
        let mut day = 0i64;
        while made < events && !stop_maker.load(std::sync::atomic::Ordering::Relaxed) {
            let (buf, n) = one_day(day, seed, proxy_hosts, firewall_events);
            made += n;
            day += 1;
            if tx.send((buf, n)).is_err() {
                break;
            }
        }
    });
    let mut written = 0u64;
    let result = (|| -> Result<()> {
        for (buf, n) in &rx {
            out.write_all(&buf)?;
            written += n;
        }
        out.flush()?;
        Ok(())
    })();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    // A maker blocked on a full channel wakes with an error once the receiver is gone.
    drop(rx);
    let _ = maker.join();
    result.map(|()| written)
}

/// Day `day` of the stream and its event count.
fn one_day(day: i64, seed: u64, proxy_hosts: u32, firewall_events: usize) -> (Vec<u8>, u64) {
    const DAY: i64 = 86_400_000;
    let start = 1_714_521_600_000i64; // 2024-05-01T00:00:00Z
    let mut buf = Vec::with_capacity(firewall_events * 300 + proxy_hosts as usize * 200 * 420);
    let day0 = start + day * DAY;
    let proxy = ProxyOptions { hosts: proxy_hosts, days: 1, requests_per_host_day: 200, beacons: 20, start_ms: day0, seed: seed ^ day as u64, ..Default::default() };
    let mut n = synth::proxy_events(&proxy, &mut buf) as u64;
    let fw = SynthOptions { events: firewall_events, seed: seed.wrapping_add(day as u64 * 7919), hosts: 300_000, start_ms: day0, mean_gap_ms: 86 };
    synth::firewall_events(&fw, &mut buf);
    n += fw.events as u64;
    for (i, m) in MAIL_TEMPLATES.iter().enumerate() {
        let stamp = malhost::event::time::format_ms(day0 + 12 * 3_600_000 + i as i64 * 1000);
        buf.extend_from_slice(m.replace("@STAMP@", &stamp).replace("@ID@", &format!("{day}.{i}")).as_bytes());
        buf.push(b'\n');
        n += 1;
    }
    (buf, n)
}

/// Mail events of the stream: a display-name spoof and an executable attachment.
const MAIL_TEMPLATES: [&str; 2] = [
    r#"{"@timestamp":"@STAMP@","event":{"dataset":"mail"},"email":{"message_id":"soak-@ID@@example.net","subject":"urgent","from":{"address":["x@evil.example"]},"to":{"address":["staff@yourcorp.example"]},"headers":{"from":"\"ceo@yourcorp.example\" <x@evil.example>"}}}"#,
    r#"{"@timestamp":"@STAMP@","event":{"dataset":"mail"},"email":{"message_id":"soak-att-@ID@@example.net","subject":"Invoice","from":{"address":["billing@partner.example"]},"to":{"address":["staff@yourcorp.example"]},"headers":{"from":"Billing <billing@partner.example>"},"attachments":[{"file":{"name":"invoice.pdf.exe"}}]}}"#,
];

/// One panel: a caption, axes from 0 to `x_max` (millions of events) and to `y_max`, and
/// its mesh drawn; labels only when a font is available.
fn panel<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    x_max: f64,
    y_max: f64,
    text: bool,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    let mut b = ChartBuilder::on(area);
    b.margin(15);
    if text {
        b.caption(caption, ("sans-serif", 18)).x_label_area_size(35).y_label_area_size(55);
    }
    let mut chart = b.build_cartesian_2d(0.0..x_max, 0.0..y_max).map_err(e)?;
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc("events replayed (millions)").y_desc(y_desc);
    }
    mesh.draw().map_err(e)?;
    Ok(chart)
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, s: &[Sample], text: bool) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let (top, bottom) = root.split_vertically(360);
    let x_max = s.last().map_or(1.0, |l| l.lines as f64 / 1e6).max(1.0);
    let mib = |b: u64| b as f64 / 1_048_576.0;
    let y_mem = s.iter().map(|x| mib(x.guest_memory_bytes.max(x.host_rss_bytes))).fold(1.0, f64::max) * 1.15;
    let mut chart = panel(&top, "memory over the soak run", "MiB", x_max, y_mem, text)?;
    let series: [(&str, RGBColor, fn(&Sample) -> u64); 2] =
        [("module linear memory", BLUE, |x| x.guest_memory_bytes), ("host process RSS", RED, |x| x.host_rss_bytes)];
    for (label, colour, get) in series {
        let pts: Vec<(f64, f64)> = s.iter().map(|x| (x.lines as f64 / 1e6, mib(get(x)))).collect();
        let drawn = chart.draw_series(LineSeries::new(pts, colour.stroke_width(2))).map_err(e)?;
        if text {
            drawn.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
    }
    if text {
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::LowerRight).draw().map_err(e)?;
    }

    let rates: Vec<(f64, f64)> = s
        .windows(2)
        .filter(|w| w[1].elapsed_ms > w[0].elapsed_ms)
        .map(|w| (w[1].lines as f64 / 1e6, (w[1].lines - w[0].lines) as f64 / ((w[1].elapsed_ms - w[0].elapsed_ms) as f64 / 1e3) / 1e3))
        .collect();
    let y_rate = rates.iter().map(|r| r.1).fold(1.0, f64::max) * 1.15;
    let mut chart = panel(&bottom, "throughput between samples", "thousand events/s", x_max, y_rate, text)?;
    chart.draw_series(LineSeries::new(rates, GREEN.stroke_width(2))).map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

/// Plots samples as `PREFIX.png` and `PREFIX.svg`; returns warnings.
pub fn plot(samples: &[Sample], png: &Path, svg: &Path) -> Result<Vec<String>> {
    let text = crate::roc::font();
    draw(BitMapBackend::new(png, (900, 720)).into_drawing_area(), samples, text)?;
    draw(SVGBackend::new(svg, (900, 720)).into_drawing_area(), samples, text)?;
    Ok(if text { Vec::new() } else { vec!["no TrueType font found (set MALHOST_FONT): the plots have no labels".into()] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_valid_json_in_whole_days_and_the_same_for_a_seed() {
        let mut a = Vec::new();
        let n = write_days(10, 3, 50, 10_000, &mut a).unwrap();
        assert!(n >= 10_000, "a whole day: {n}");
        assert_eq!(a.iter().filter(|b| **b == b'\n').count() as u64, n);
        for line in a.split(|b| *b == b'\n').filter(|l| !l.is_empty()).step_by(997) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert!(v.is_object());
        }
        let mut b = Vec::new();
        write_days(10, 3, 50, 10_000, &mut b).unwrap();
        assert!(a == b);
    }

    #[test]
    fn plots_are_written() {
        let dir = std::env::temp_dir().join(format!("malhost-soak-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s: Vec<Sample> = (0..5u64)
            .map(|i| Sample { lines: i * 1_000_000, elapsed_ms: i * 4000, guest_memory_bytes: 30 << 20, host_rss_bytes: 60 << 20, ..Default::default() })
            .collect();
        plot(&s, &dir.join("s.png"), &dir.join("s.svg")).unwrap();
        assert!(std::fs::read_to_string(dir.join("s.svg")).unwrap().contains("<svg"));
        assert!(std::fs::metadata(dir.join("s.png")).unwrap().len() > 1000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
