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
    for _ in 0..opts.events {
        ts += rng.u64(0..=opts.mean_gap_ms * 2) as i64;
        let host = rng.u32(0..opts.hosts.max(1));
        let src = format!("10.{}.{}.{}", 1 + host / 65_536 % 250, host / 256 % 256, 1 + host % 254);
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
