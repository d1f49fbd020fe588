//! Seeded synthetic firewall traffic, shaped like a mid-size network's outbound log: mostly
//! allowed web traffic, some DNS, a share of denies (SMB, SMTP, odd high ports) and a few
//! connections to a C&C block. About 300 bytes an event, nested ECS with some flat dotted
//! keys, as real shippers mix them. Used by the benchmark and by property tests.

use std::fmt::Write as _;

/// The C&C block that synthetic traffic sometimes reaches (TEST-NET-2).
pub const C2_BLOCK: &str = "198.51.100.0/24";

/// Generation settings.
#[derive(Clone, Copy, Debug)]
pub struct SynthOptions {
    /// Events to generate.
    pub events: usize,
    /// PRNG seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Internal hosts (10.x.y.z).
    pub hosts: u32,
    /// Time of the first event, ms since the epoch.
    pub start_ms: i64,
    /// Mean gap between events, ms.
    pub mean_gap_ms: u64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions { events: 100_000, seed: 1, hosts: 2_000, start_ms: 1_714_550_400_000, mean_gap_ms: 20 }
    }
}

/// Appends `opts.events` JSON lines to `out`.
pub fn firewall_events(opts: &SynthOptions, out: &mut Vec<u8>) {
    let mut rng = fastrand::Rng::with_seed(opts.seed);
    let mut ts = opts.start_ms;
    let mut line = String::with_capacity(320);
    // With at least as many hosts as events, every event comes from a host of its own (the
    // bounded-memory benchmark); otherwise hosts are drawn at random.
    let one_each = opts.hosts as usize >= opts.events;
    for i in 0..opts.events {
        ts += rng.u64(0..=opts.mean_gap_ms * 2) as i64;
        let host = if one_each { i as u32 } else { rng.u32(0..opts.hosts.max(1)) };
        // 10.0.0.0/8 holds 2^24 addresses: one per host id below that.
        let src = format!("10.{}.{}.{}", host >> 16 & 255, host >> 8 & 255, host & 255);
        let roll = rng.u32(0..1000);
        let (transport, port, denied) = match roll {
            0..=549 => ("tcp", 443, rng.u32(0..100) < 3),
            550..=749 => ("tcp", 80, rng.u32(0..100) < 5),
            750..=849 => ("udp", 53, false),
            850..=899 => ("tcp", 445, true),
            900..=929 => ("tcp", 25, true),
            930..=959 => ("tcp", 8080, rng.bool()),
            _ => ("tcp", rng.u16(1024..=65535), rng.u32(0..100) < 60),
        };
        let dst = if rng.u32(0..1000) < 8 {
            format!("198.51.100.{}", rng.u8(1..=254))
        } else {
            format!("{}.{}.{}.{}", rng.u8(1..=223), rng.u8(0..=255), rng.u8(0..=255), rng.u8(1..=254))
        };
        let action = if denied { "deny" } else { "allow" };
        let stamp = malhost::event::time::format_ms(ts);
        line.clear();
        if rng.u32(0..10) == 0 {
            let _ = write!(
                line,
                r#"{{"@timestamp":"{stamp}","event.dataset":"firewall","event.action":"{action}","source.ip":"{src}","source.port":{},"destination.ip":"{dst}","destination.port":"{port}","network.transport":"{transport}","observer.type":"firewall"}}"#,
                rng.u16(1024..=65535)
            );
        } else {
            let _ = write!(
                line,
                r#"{{"@timestamp":"{stamp}","event":{{"dataset":"firewall","action":"{action}","category":["network"]}},"source":{{"ip":"{src}","port":{}}},"destination":{{"ip":"{dst}","port":{port}}},"network":{{"transport":"{transport}","direction":"outbound"}},"observer":{{"type":"firewall","vendor":"acme"}}}}"#,
                rng.u16(1024..=65535)
            );
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_every_line_is_an_event() {
        let o = SynthOptions { events: 500, ..Default::default() };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        firewall_events(&o, &mut a);
        firewall_events(&o, &mut b);
        assert_eq!(a, b);
        let lines: Vec<&[u8]> = a.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 500);
        for l in lines {
            let ev = malhost::event::Event::parse(l).unwrap();
            assert_eq!(ev.source_kind(), malhost::event::SourceKind::Firewall);
            assert!(ev.timestamp_ms().is_ok() && ev.source_ip().unwrap().is_some());
        }
        let mean = a.len() / 500;
        assert!((200..=340).contains(&mean), "mean event size {mean}");
    }
}

/// Settings of the learned-list data set ([`paper_dataset`]).
#[derive(Clone, Copy, Debug)]
pub struct PaperOptions {
    /// Malware samples in the sandbox log.
    pub samples: usize,
    /// Normal hosts in the enterprise log.
    pub hosts: usize,
    /// Days of enterprise traffic.
    pub days: u32,
    /// PRNG seed.
    pub seed: u64,
}

/// Malware families of the sandbox log and what their traffic looks like.
///
/// | family | share | traffic |
/// |---|---|---|
/// | `http_c2` | 50% | HTTP polls of a family C&C panel (`/gate.php`, `/config.bin`) through the proxy; a quarter of samples also connect directly (TCP/80 in the firewall log) |
/// | `dga` | 12% | HTTP to generated domains (unique per sample) and one family URL |
/// | `tcp80_raw` | 5% | non-HTTP traffic on TCP/80 to family C&C addresses: firewall only |
/// | `smb_worm` | 8% | scanning TCP/445 and TCP/139 of random addresses: firewall only |
/// | `irc_bot` | 4% | TCP/6667 to family IRC servers |
/// | `spammer` | 6% | TCP/25 to many mail exchangers |
/// | `quiet` | 15% | only popular web sites: undetectable by lists, as some samples are |
///
/// Families have 5–40 variants; each variant shares its C&C addresses and URLs among its
/// samples, which is what makes values frequent across samples (high PM). Every sample also
/// makes some ordinary requests to popular sites, like the normal hosts (high PL).
const FAMILIES: [(&str, u32); 7] =
    [("http_c2", 50), ("dga", 12), ("tcp80_raw", 5), ("smb_worm", 8), ("irc_bot", 4), ("spammer", 6), ("quiet", 15)];

fn popular_url(rng: &mut fastrand::Rng) -> (String, String) {
    // Zipf-like: the k-th of 500 sites with weight ~ 1/k.
    let u = rng.f64();
    let k = ((500f64).powf(u)).floor() as u32; // log-uniform rank ≈ 1/k popularity
    let path = rng.u32(0..20);
    (format!("http://site{k}.example/page{path}.html"), format!("192.0.2.{}", k % 250 + 1))
}

fn ip_in(rng: &mut fastrand::Rng, a: u8) -> String {
    format!("{a}.{}.{}.{}", rng.u8(0..=255), rng.u8(0..=255), rng.u8(1..=254))
}

/// Writes a sandbox log (`malhost.sample` on every event) and an enterprise log (normal hosts
/// by `source.ip`, firewall OUTBOUND DENY and proxy events), as JSON lines.
pub fn paper_dataset(o: &PaperOptions, malware: &mut dyn std::io::Write, normal: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(o.seed);
    let t0: i64 = 1_714_521_600_000; // 2024-05-01T00:00:00Z
    let fw = |ts: i64, who: &str, dst: &str, port: u16, proto: &str| {
        format!(
            r#"{{"@timestamp":"{}",{who},"event":{{"action":"deny","category":["network"]}},"observer":{{"type":"firewall"}},"destination":{{"ip":"{dst}","port":{port}}},"network":{{"transport":"{proto}","direction":"outbound"}}}}"#,
            format_ms(ts)
        )
    };
    let px = |ts: i64, who: &str, url: &str, ip: &str| {
        format!(
            r#"{{"@timestamp":"{}",{who},"observer":{{"type":"proxy"}},"url":{{"full":"{url}"}},"destination":{{"ip":"{ip}"}},"http":{{"request":{{"method":"GET"}},"response":{{"status_code":200}}}}}}"#,
            format_ms(ts)
        )
    };
    let total: u32 = FAMILIES.iter().map(|f| f.1).sum();
    for s in 0..o.samples {
        let mut pick = rng.u32(0..total);
        let mut fam = 0;
        for (i, f) in FAMILIES.iter().enumerate() {
            if pick < f.1 {
                fam = i;
                break;
            }
            pick -= f.1;
        }
        let variant = rng.u32(0..[25, 40, 10, 5, 8, 12, 1][fam]);
        let who = format!(r#""malhost":{{"sample":"{}-{variant}-{s:06}"}},"source":{{"ip":"10.99.0.2"}}"#, FAMILIES[fam].0);
        let start = t0 + rng.i64(0..30 * 86_400_000);
        let mut ts = start;
        let mut tick = |rng: &mut fastrand::Rng| {
            ts += rng.i64(500..20_000);
            ts
        };
        // A few ordinary requests, as every sandbox run has.
        for _ in 0..rng.usize(1..4) {
            let (u, ip) = popular_url(&mut rng);
            writeln!(malware, "{}", px(tick(&mut rng), &who, &u, &ip))?;
        }
        let c2_ip = |n: u32| format!("198.51.{}.{}", 100 + fam as u32, (variant * 7 + n) % 250 + 1);
        // A quarter of HTTP malware ignores the system proxy and connects directly, so its
        // TCP/80 shows up in the firewall log too; the rest is seen by the proxy only.
        let direct = rng.u32(0..100) < 25;
        match FAMILIES[fam].0 {
            "http_c2" => {
                for i in 0..rng.u32(3..12) {
                    let ip = c2_ip(i % 2);
                    let path = ["gate.php", "config.bin", "task.php"][(i % 3) as usize];
                    let url = format!("http://panel{variant}.{}-c2.example/{path}?id={s}", FAMILIES[fam].0);
                    let t = tick(&mut rng);
                    writeln!(malware, "{}", px(t, &who, &url, &ip))?;
                    if direct {
                        writeln!(malware, "{}", fw(t, &who, &ip, 80, "tcp"))?;
                    }
                }
            }
            "dga" => {
                for _ in 0..rng.u32(5..15) {
                    let d: String = (0..12).map(|_| rng.lowercase()).collect();
                    let ip = ip_in(&mut rng, 185);
                    let t = tick(&mut rng);
                    writeln!(malware, "{}", px(t, &who, &format!("http://{d}.example/"), &ip))?;
                    if direct {
                        writeln!(malware, "{}", fw(t, &who, &ip, 80, "tcp"))?;
                    }
                }
                let t = tick(&mut rng);
                writeln!(malware, "{}", px(t, &who, &format!("http://dga{variant}-seed.example/check.php"), "198.51.120.1"))?;
            }
            "tcp80_raw" => {
                for i in 0..rng.u32(4..10) {
                    writeln!(malware, "{}", fw(tick(&mut rng), &who, &c2_ip(i % 3), 80, "tcp"))?;
                }
            }
            "smb_worm" => {
                for _ in 0..rng.u32(10..40) {
                    let port = if rng.u32(0..3) == 0 { 139 } else { 445 };
                    let a = 100 + rng.u8(0..100);
                    let dst = ip_in(&mut rng, a);
                    writeln!(malware, "{}", fw(tick(&mut rng), &who, &dst, port, "tcp"))?;
                }
            }
            "irc_bot" => {
                for i in 0..rng.u32(2..6) {
                    writeln!(malware, "{}", fw(tick(&mut rng), &who, &c2_ip(i % 2), 6667, "tcp"))?;
                }
            }
            "spammer" => {
                for _ in 0..rng.u32(10..30) {
                    let a = 64 + rng.u8(0..60);
                    let dst = ip_in(&mut rng, a);
                    writeln!(malware, "{}", fw(tick(&mut rng), &who, &dst, 25, "tcp"))?;
                }
            }
            _ => {
                for _ in 0..rng.usize(2..6) {
                    let (u, ip) = popular_url(&mut rng);
                    writeln!(malware, "{}", px(tick(&mut rng), &who, &u, &ip))?;
                }
            }
        }
    }
    // Enterprise: browsing with Zipf-like popularity, and outbound denies: DNS/NTP to outside
    // resolvers, blocked web categories, odd high ports. TCP/445 dominates the denies of the
    // UCI firewall log in ../shared/data (46% of 27,884 denies), but that log has no source
    // addresses, and PL counts hosts, not events: here a few misconfigured hosts (0.4%) retry
    // SMB to the internet hundreds of times a day, which puts TCP/445 at about half of the
    // deny events while only those hosts carry it.
    for h in 0..o.hosts {
        let ip = format!("10.{}.{}.{}", 1 + h / 62_500 % 200, h / 250 % 250, h % 250 + 1);
        let who = format!(r#""source":{{"ip":"{ip}"}}"#);
        let smb_laptop = rng.u32(0..1000) < 4;
        for d in 0..o.days as i64 {
            let day = t0 + d * 86_400_000 + 8 * 3_600_000;
            for _ in 0..rng.u32(20..60) {
                let (u, dip) = popular_url(&mut rng);
                writeln!(normal, "{}", px(day + rng.i64(0..36_000_000), &who, &u, &dip))?;
            }
            for _ in 0..rng.u32(0..6) {
                let (port, proto) = match rng.u32(0..100) {
                    0..=34 => (53, "udp"),
                    35..=49 => (123, "udp"),
                    50..=69 => (443, "tcp"),
                    70..=84 => (80, "tcp"),
                    85..=92 => (8080, "tcp"),
                    _ => (rng.u16(1024..=65535), "tcp"),
                };
                let dst = if port == 80 { popular_url(&mut rng).1 } else { ip_in(&mut rng, 203) };
                writeln!(normal, "{}", fw(day + rng.i64(0..36_000_000), &who, &dst, port, proto))?;
            }
            if smb_laptop {
                let target = ip_in(&mut rng, 203);
                for _ in 0..rng.u32(200..1000) {
                    writeln!(normal, "{}", fw(day + rng.i64(0..36_000_000), &who, &target, 445, "tcp"))?;
                }
            }
        }
    }
    Ok(())
}

use malhost::event::time::format_ms;

/// Settings of the synthetic web proxy stream ([`proxy_events`]).
#[derive(Clone, Copy, Debug)]
pub struct ProxyOptions {
    /// Browsing hosts (10.200.x.y).
    pub hosts: u32,
    /// Days of traffic.
    pub days: u32,
    /// Requests per browsing host per day.
    pub requests_per_host_day: u32,
    /// Popular sites the hosts browse (Zipf-like popularity).
    pub popular_sites: u32,
    /// Infected hosts (the first hosts) that also reach their own rare C&C domain every
    /// `beacon_every_ms`, day and night.
    pub beacons: u32,
    /// Beacon interval, ms.
    pub beacon_every_ms: i64,
    /// Midnight UTC of the first day, ms since the epoch.
    pub start_ms: i64,
    /// PRNG seed: the same seed gives the same bytes.
    pub seed: u64,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            hosts: 500,
            days: 4,
            requests_per_host_day: 2,
            popular_sites: 200,
            beacons: 1,
            beacon_every_ms: 6 * 3_600_000,
            start_ms: 1_714_521_600_000, // 2024-05-01T00:00:00Z, a Wednesday
            seed: 1,
        }
    }
}

/// The source address of browsing host `h`.
pub fn proxy_host_ip(h: u32) -> String {
    format!("10.200.{}.{}", h / 250 % 256, 1 + h % 250)
}

/// Appends a web proxy log, in time order, to `out`: every host browses popular sites
/// during business hours (09:00–18:00 UTC on weekdays; a twentieth of requests in the
/// evening), mostly GET with some POST and CONNECT; the first `beacons` hosts also reach
/// `c2-<i>.example` every `beacon_every_ms` (± 30 s), day and night. About 330 bytes an
/// event, nested ECS with some flat dotted keys. Returns the number of events.
pub fn proxy_events(o: &ProxyOptions, out: &mut Vec<u8>) -> usize {
    const DAY: i64 = 86_400_000;
    const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
    let mut rng = fastrand::Rng::with_seed(o.seed);
    // (time, host, is a beacon).
    let mut plan: Vec<(i64, u32, bool)> = Vec::new();
    for d in 0..i64::from(o.days) {
        let day0 = o.start_ms + d * DAY;
        let weekend = matches!((day0 / DAY + 3).rem_euclid(7), 5 | 6);
        for h in 0..o.hosts {
            for _ in 0..o.requests_per_host_day {
                let t = if rng.u32(0..20) == 0 {
                    day0 + rng.i64(18 * 3_600_000..23 * 3_600_000)
                } else if weekend && rng.u32(0..4) != 0 {
                    continue;
                } else {
                    day0 + rng.i64(9 * 3_600_000..18 * 3_600_000)
                };
                plan.push((t, h, false));
            }
        }
    }
    let end = o.start_ms + i64::from(o.days) * DAY;
    for b in 0..o.beacons.min(o.hosts) {
        let mut t = o.start_ms + rng.i64(0..o.beacon_every_ms.max(1));
        while t < end {
            plan.push((t + rng.i64(-30_000..=30_000), b, true));
            t += o.beacon_every_ms.max(60_000);
        }
    }
    plan.sort_by_key(|p| (p.0, p.1));
    let mut line = String::with_capacity(400);
    for &(t, h, beacon) in &plan {
        let src = proxy_host_ip(h);
        let stamp = malhost::event::time::format_ms(t);
        line.clear();
        if beacon {
            let _ = write!(
                line,
                r#"{{"@timestamp":"{stamp}","event":{{"dataset":"proxy"}},"source":{{"ip":"{src}"}},"url":{{"full":"http://c2-{h}.example/gate.php?id={h}"}},"http":{{"request":{{"method":"GET","bytes":310}},"response":{{"status_code":200}}}},"user_agent":{{"original":"{UA}"}},"observer":{{"type":"proxy"}}}}"#
            );
        } else {
            let k = (f64::from(o.popular_sites.max(1))).powf(rng.f64()).floor() as u32;
            let site = format!("www.site{k}.example");
            let user = format!("user{h}");
            let (method, url, bytes) = match rng.u32(0..100) {
                0..=89 => ("GET", format!("https://{site}/page{}.html", rng.u32(0..50)), rng.u32(300..900)),
                90..=94 => ("POST", format!("https://{site}/api/v1/submit"), rng.u32(500..20_000)),
                _ => ("CONNECT", format!("{site}:443"), rng.u32(500..5_000)),
            };
            let url_key = if method == "CONNECT" { "original" } else { "full" };
            if rng.u32(0..10) == 0 {
                let _ = write!(
                    line,
                    r#"{{"@timestamp":"{stamp}","event.dataset":"proxy","source.ip":"{src}","url.{url_key}":"{url}","http.request.method":"{method}","http.request.bytes":{bytes},"http.response.status_code":200,"user_agent.original":"{UA}","user.name":"{user}"}}"#
                );
            } else {
                let _ = write!(
                    line,
                    r#"{{"@timestamp":"{stamp}","event":{{"dataset":"proxy"}},"source":{{"ip":"{src}"}},"url":{{"{url_key}":"{url}"}},"http":{{"request":{{"method":"{method}","bytes":{bytes}}},"response":{{"status_code":200}}}},"user_agent":{{"original":"{UA}"}},"user":{{"name":"{user}"}},"observer":{{"type":"proxy"}}}}"#
                );
            }
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    plan.len()
}
