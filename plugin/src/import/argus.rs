//! Argus flow records as comma-separated `binetflow` text (the Stratosphere / CTU-13 captures)
//! → network flow events.
//!
//! The header (`StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,
//! TotBytes,SrcBytes,Label`, possibly with `srcUdata,dstUdata` or without `SrcBytes`/`Label`)
//! is remembered; before any header that 15-column order is assumed. A row must have as many
//! columns as the header, or one fewer when the last column is `Label` (a row without its
//! label); otherwise it is an `Err`.
//!
//! | column | ECS field |
//! |---|---|
//! | `StartTime` | `@timestamp` (UTC, RFC 3339) |
//! | `Dur` (seconds) | `event.duration` (nanoseconds) |
//! | `Proto` | `network.transport` (`tcp`, `udp`, `icmp`, `ipv6-icmp`, `igmp`, …) for IP flows; `network.type` for non-IP ones (`arp`, `llc`, …) |
//! | `SrcAddr` / `DstAddr` | `source.ip` / `destination.ip`; MAC addresses → `source.mac` / `destination.mac` (`AA-BB-…`); other text → `*.address` |
//! | `Sport` / `Dport` (decimal or `0x…` hex, may be empty) | `source.port` / `destination.port` for TCP, UDP and other port protocols; not for ICMP/IGMP/ARP, where Argus writes type and code there |
//! | `State` | `labels.argus_state`; decides `event.action` (below) |
//! | `Dir` (`->`, `<->`, `<?>`, `who`, …) | `labels.argus_dir` (no ECS meaning; source/destination are kept as written) |
//! | `TotPkts` / `TotBytes` / `SrcBytes` | `network.packets` / `network.bytes` / `source.bytes`; `destination.bytes` = TotBytes − SrcBytes |
//! | `Label` | `labels.label` (text as is, when not empty) |
//! | `sTos`, `dTos`, `srcUdata`, `dstUdata`, other columns | not mapped (kept in `event.original`) |
//! | — | `event.dataset` `argus.binetflow`, `observer.type` `sensor`, `observer.product` `Argus`, `event.category` `["network"]`, `event.type` `["connection"]` |
//!
//! `observer.type` is `sensor` (Argus watches traffic, it does not filter it); the detector
//! still classifies the events as firewall traffic through `event.dataset`, whose name contains
//! `flow`.
//!
//! Deny semantics: Argus sees traffic, not policy, so only a clearly refused connection is
//! marked: a TCP flow whose source sent nothing but SYNs and whose destination answered with a
//! reset and never a SYN (states `S_R`, `S_RA`), and Argus's own `REJ` state, get
//! `event.action` `rejected` (a deny word of the detector). Everything else, including `S_`
//! (unanswered), mid-connection resets (`FA_R`, `RST`) and ICMP unreachables (`URP`, `URFIL`,
//! which are flows between the reporting router and the sender, not the refused connection),
//! gets `event.action` `flow`.
//!
//! Times: `2011/08/10 09:46:59.607825` (also with `-` separators) has no zone and is local
//! time at [`ImportOptions::utc_offset_ms`]; a plain number is Unix epoch seconds (UTC).
//! Captures replayed from pcap files often carry relative times such as
//! `1970/01/01 01:00:06.519466`; they are kept as they are (so their order and spacing are
//! right, the dates are not).

use super::fields::{Ev, civil_rfc3339, clip, clock, date_parts, digits, set_transport, transport};
use crate::event::parse_ip;
use super::{ImportOptions, LineFormat};
use jiff::Timestamp;
use serde_json::{Value, json};

/// The columns the importer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    StartTime,
    Dur,
    Proto,
    SrcAddr,
    Sport,
    Dir,
    DstAddr,
    Dport,
    State,
    TotPkts,
    TotBytes,
    SrcBytes,
    Label,
    Other,
}

impl Col {
    fn from_name(name: &str) -> Col {
        let n = name.trim().to_ascii_lowercase();
        match n.as_str() {
            "starttime" | "stime" => Col::StartTime,
            "dur" => Col::Dur,
            "proto" => Col::Proto,
            "srcaddr" | "saddr" => Col::SrcAddr,
            "sport" => Col::Sport,
            "dir" => Col::Dir,
            "dstaddr" | "daddr" => Col::DstAddr,
            "dport" => Col::Dport,
            "state" => Col::State,
            "totpkts" => Col::TotPkts,
            "totbytes" => Col::TotBytes,
            "srcbytes" => Col::SrcBytes,
            "label" => Col::Label,
            _ => Col::Other,
        }
    }
}

const DEFAULT_HEADER: &str = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label";

/// Most columns accepted in a header.
const MAX_COLUMNS: usize = 256;

/// Argus `binetflow` CSV reader: remembers the header's column order.
#[derive(Clone, Debug)]
pub struct Argus {
    columns: Vec<Col>,
}

impl Default for Argus {
    fn default() -> Self {
        Argus { columns: DEFAULT_HEADER.split(',').map(Col::from_name).collect() }
    }
}

/// `YYYY/MM/DD HH:MM:SS[.f]` (or `-` separators) at `offset_ms`, or epoch seconds.
fn start_time(s: &str, offset_ms: i64) -> Option<String> {
    let s = s.trim();
    if let Some((date, time)) = s.split_once([' ', 'T']) {
        let (y, m, d) = date_parts(date, &['/', '-'])?;
        return civil_rfc3339(y, m, d, clock(time.trim())?, offset_ms);
    }
    // Epoch seconds with an optional fraction.
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = digits(secs, 12)?;
    let nanos: i32 = if frac.is_empty() {
        0
    } else {
        let f: i32 = digits(frac, 9)?;
        f * 10i32.pow(9 - frac.len() as u32)
    };
    Timestamp::new(secs, nanos).ok().map(|t| t.to_string())
}

/// A port: decimal or `0x` hex; `Ok(None)` when empty.
fn port(s: &str) -> Result<Option<u16>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let p = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) if !h.is_empty() && h.len() <= 4 => u16::from_str_radix(h, 16).ok(),
        Some(_) => None,
        None => s.parse::<u16>().ok(),
    };
    p.map(Some).ok_or_else(|| format!("{} is not a port", clip(s)))
}

/// `aa:bb:cc:dd:ee:ff` → `AA-BB-CC-DD-EE-FF` (the ECS form).
fn mac(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 || !parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    Some(parts.join("-").to_ascii_uppercase())
}

/// A refused TCP connection (`S_RA`, `S_R`) or Argus's `REJ`.
fn is_rejected(transport: Option<&str>, state: &str) -> bool {
    if state.eq_ignore_ascii_case("REJ") {
        return true;
    }
    if transport != Some("tcp") {
        return false;
    }
    let Some((src, dst)) = state.split_once('_') else { return false };
    !src.is_empty() && src.bytes().all(|b| b == b'S') && dst.contains('R') && !dst.contains('S')
}

impl LineFormat for Argus {
    fn parse_line(&mut self, line: &str, opts: &ImportOptions) -> Result<Option<Value>, String> {
        let line_in = line;
        let line = line.trim_start_matches('\u{feff}').trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let cells: Vec<&str> = line.split(',').take(MAX_COLUMNS + 1).collect();
        if cells.first().is_some_and(|c| matches!(Col::from_name(c), Col::StartTime)) && !cells[0].trim().starts_with(|c: char| c.is_ascii_digit()) {
            if cells.len() > MAX_COLUMNS {
                return Err(format!("header has more than {MAX_COLUMNS} columns"));
            }
            let cols: Vec<Col> = cells.iter().map(|c| Col::from_name(c)).collect();
            for need in [Col::SrcAddr, Col::DstAddr] {
                if !cols.contains(&need) {
                    return Err(format!("header has no {need:?} column"));
                }
            }
            self.columns = cols;
            return Ok(None);
        }
        let n = self.columns.len();
        let label_missing = cells.len() + 1 == n && self.columns.last() == Some(&Col::Label);
        if cells.len() != n && !label_missing {
            let got = if cells.len() > MAX_COLUMNS { format!("more than {MAX_COLUMNS}") } else { cells.len().to_string() };
            return Err(format!("{got} columns, but the header has {n}"));
        }
        let get = |want: Col| -> Option<&str> {
            let i = self.columns.iter().position(|c| *c == want)?;
            cells.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
        };
        let start = get(Col::StartTime).ok_or("no StartTime")?;
        let ts = start_time(start, opts.utc_offset_ms).ok_or_else(|| format!("StartTime {} is not a time", clip(start)))?;
        let src = get(Col::SrcAddr).ok_or("no SrcAddr")?;
        let dst = get(Col::DstAddr).ok_or("no DstAddr")?;
        let src_ip = parse_ip(src);
        let dst_ip = parse_ip(dst);
        let proto = get(Col::Proto).map(str::to_ascii_lowercase);

        let mut ev = Ev::new(&ts, "argus.binetflow", line_in);
        ev.set("observer.type", json!("sensor"));
        ev.set("observer.product", json!("Argus"));
        ev.set("event.category", json!(["network"]));
        ev.set("event.type", json!(["connection"]));

        let non_ip = matches!(proto.as_deref(), Some("arp" | "rarp")) || (src_ip.is_none() && dst_ip.is_none());
        let mut transport_name: Option<String> = None;
        if let Some(p) = proto.as_deref() {
            if non_ip {
                if p.len() <= 16 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
                    ev.set("network.type", json!(p));
                }
            } else {
                transport_name = transport(p).0;
                set_transport(&mut ev, p);
                if let Some(ip) = src_ip.or(dst_ip) {
                    ev.set("network.type", json!(if ip.is_ipv4() { "ipv4" } else { "ipv6" }));
                }
            }
        }
        let ports_apply = !non_ip && !matches!(transport_name.as_deref(), Some("icmp" | "ipv6-icmp" | "igmp"));
        for (side, addr, ip, port_col) in [("source", src, src_ip, Col::Sport), ("destination", dst, dst_ip, Col::Dport)] {
            match (ip, mac(addr)) {
                (Some(ip), _) => ev.set(&format!("{side}.ip"), json!(ip.to_string())),
                (None, Some(m)) => ev.set(&format!("{side}.mac"), json!(m)),
                (None, None) => ev.set(&format!("{side}.address"), json!(addr)),
            }
            if ports_apply
                && let Some(p) = port(get(port_col).unwrap_or_default()).map_err(|e| format!("{port_col:?}: {e}"))?
            {
                ev.set(&format!("{side}.port"), json!(p));
            }
        }

        let state = get(Col::State).unwrap_or_default();
        let action = if is_rejected(transport_name.as_deref(), state) { "rejected" } else { "flow" };
        ev.set("event.action", json!(action));
        if !state.is_empty() {
            ev.set("labels.argus_state", json!(state));
        }
        if let Some(d) = get(Col::Dir) {
            ev.set("labels.argus_dir", json!(d));
        }
        if let Some(l) = get(Col::Label) {
            ev.set("labels.label", json!(l));
        }
        if let Some(d) = get(Col::Dur).and_then(|d| d.parse::<f64>().ok())
            && d.is_finite()
            && (0.0..1e9).contains(&d)
        {
            ev.set("event.duration", json!((d * 1e9).round() as u64));
        }
        let num = |c: Col| get(c).and_then(|v| v.parse::<u64>().ok());
        if let Some(p) = num(Col::TotPkts) {
            ev.set("network.packets", json!(p));
        }
        let total = num(Col::TotBytes);
        let src_bytes = num(Col::SrcBytes);
        if let Some(b) = total {
            ev.set("network.bytes", json!(b));
        }
        if let Some(b) = src_bytes {
            ev.set("source.bytes", json!(b));
        }
        if let (Some(t), Some(s)) = (total, src_bytes)
            && t >= s
        {
            ev.set("destination.bytes", json!(t - s));
        }
        Ok(Some(ev.into_value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::test_support::{assert_fields, detector_output, ev, read_sample};
    use proptest::prelude::*;

    const HEADER: &str = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label";

    fn fresh() -> Argus {
        let mut a = Argus::default();
        assert_eq!(a.parse_line(HEADER, &ImportOptions::default()).unwrap(), None);
        a
    }

    #[test]
    fn the_detector_sees_a_refused_connection_as_firewall_traffic() {
        let mut a = fresh();
        let v = ev(&mut a, "2012/03/04 05:06:07.250000,3.0,tcp,10.0.2.15,49160,   ->,198.51.100.80,443,S_RA,0,0,4,240,120,");
        assert!(detector_output(&v).contains("\"rule\":\"fw.outbound_deny\""), "{}", detector_output(&v));
        let v = ev(&mut a, "2012/03/04 05:06:07.250000,3.0,tcp,10.0.2.15,49160,   ->,198.51.100.80,443,FSPA_FSPA,0,0,4,240,120,");
        assert!(!detector_output(&v).contains("fw.outbound_deny"));
    }

    #[test]
    fn refused_tcp_is_rejected() {
        let mut a = fresh();
        let line = "2012/03/04 05:06:07.250000,3.000100,tcp,10.0.2.15,49160,   ->,198.51.100.80,8080,S_RA,0,0,4,240,120,flow=From-Botnet-V1-TCP-Attempt";
        let v = ev(&mut a, line);
        assert_fields(&v, json!({
            "@timestamp": "2012-03-04T05:06:07.25Z",
            "event": {"action": "rejected", "dataset": "argus.binetflow", "kind": "event", "original": line, "duration": 3_000_100_000u64},
            "source": {"ip": "10.0.2.15", "port": 49160, "bytes": 120},
            "destination": {"ip": "198.51.100.80", "port": 8080, "bytes": 120},
            "network": {"transport": "tcp", "packets": 4, "bytes": 240},
            "labels": {"label": "flow=From-Botnet-V1-TCP-Attempt", "argus_state": "S_RA", "argus_dir": "->"},
            "observer": {"type": "sensor"},
        }));
        assert!(v.get("network").unwrap().get("direction").is_none());
    }

    #[test]
    fn established_flow_and_unanswered_syn_are_not_denied() {
        let mut a = fresh();
        let v = ev(&mut a, "2012/03/04 05:06:07.000001,10.5,tcp,10.0.2.15,49161,  <?>,198.51.100.80,443,FSPA_FSPA,0,0,40,9000,1000,flow=Background");
        assert_eq!(v["event"]["action"], "flow");
        let v = ev(&mut a, "2012/03/04 05:06:07.000001,10.5,tcp,10.0.2.15,49161,   ->,198.51.100.80,443,S_,0,0,3,180,180,");
        assert_eq!(v["event"]["action"], "flow");
        assert!(v.get("labels").unwrap().get("label").is_none());
        let v = ev(&mut a, "2012/03/04 05:06:07.000001,10.5,tcp,10.0.2.15,49161,   ->,198.51.100.80,443,FA_R,0,0,3,180,180,");
        assert_eq!(v["event"]["action"], "flow");
        let v = ev(&mut a, "2012/03/04 05:06:07.000001,0,udp,10.0.2.15,5353,   ->,198.51.100.53,53,REJ,0,0,1,80,80,");
        assert_eq!(v["event"]["action"], "rejected");
    }

    #[test]
    fn ipv6_icmp_hex_ports_and_arp() {
        let mut a = fresh();
        let v = ev(&mut a, "2013/12/17 22:09:19.528451,483.5,icmp,209.85.251.178,0x000b,   ->,10.0.0.46,0x0000,TXD,0,,479,87178,87178,");
        assert_eq!(v["network"]["transport"], "icmp");
        assert!(v["source"].get("port").is_none() && v["destination"].get("port").is_none());
        let v = ev(&mut a, "2013/12/17 22:09:19,0.1,ipv6-icmp,fe80::1,0x0087,   ->,ff02::1:ff00:1,0x0000,NNS,0,,1,86,86,");
        assert_eq!(v["source"]["ip"], "fe80::1");
        assert_eq!(v["network"]["transport"], "ipv6-icmp");
        assert_eq!(v["network"]["type"], "ipv6");
        let v = ev(&mut a, "2013/12/17 22:09:19,0.1,udp,2001:db8::1,0x0303,  <->,2001:db8::2,53,CON,0,0,2,200,80,");
        assert_eq!(v["source"]["port"], 0x0303);
        let v = ev(&mut a, "1970/01/01 01:00:06.519466,1999.104004,arp,192.168.1.112,,  who,192.168.1.2,,CON,,,22,924,462,");
        assert_eq!(v["@timestamp"], "1970-01-01T01:00:06.519466Z");
        assert_eq!(v["network"]["type"], "arp");
        assert!(v["network"].get("transport").is_none());
        let v = ev(&mut a, "1970/01/01 01:00:00.000000,0.000000,llc,00:1a:2b:3c:4d:5e,0,   ->,00:00:00:00:00:00,0,INT,,,1,60,60,");
        assert_eq!(v["source"]["mac"], "00-1A-2B-3C-4D-5E");
        assert_eq!(v["network"]["type"], "llc");
    }

    #[test]
    fn header_order_is_remembered_and_label_may_be_missing() {
        let mut a = Argus::default();
        let o = ImportOptions { utc_offset_ms: -3_600_000, ..ImportOptions::default() };
        assert_eq!(a.parse_line("StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes", &o).unwrap(), None);
        let v = a.parse_line("2013/10/21 13:22:59.340835,3596.6,tcp,147.32.83.53,60686,  <?>,147.32.80.88,5222,PA_PA,0,0,448,49634", &o).unwrap().unwrap();
        assert_eq!(v["@timestamp"], "2013-10-21T14:22:59.340835Z");
        assert!(v["source"].get("bytes").is_none());
        assert_eq!(a.parse_line("StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,srcUdata,dstUdata,Label", &o).unwrap(), None);
        let v = a.parse_line("2015/03/24 18:23:32.619989,0.13,udp,10.0.0.34,55576,  <->,8.8.8.8,53,CON,0,0,2,240,76,s[48]=AAAA,d[164]=BBBB", &o).unwrap().unwrap();
        assert_eq!(v["destination"]["port"], 53);
        assert!(v["labels"].get("label").is_none());
        assert!(a.parse_line("StartTime,Dur,Proto", &o).is_err(), "no address columns");
        // Epoch seconds.
        let v = a.parse_line("1313000000.5,0.1,udp,10.0.0.1,1,   ->,10.0.0.2,2,CON,0,0,1,1,1,,,", &o).unwrap().unwrap();
        assert_eq!(v["@timestamp"], "2011-08-10T18:13:20.5Z");
    }

    #[test]
    fn non_ascii_garbage() {
        let mut a = fresh();
        let o = ImportOptions::default();
        let v = a.parse_line("2012/03/04 05:06:07,é,ＴＣＰ,hôst,,  ->,198.51.100.80,,S_RA,0,0,x,y,z,ラベル", &o).unwrap().unwrap();
        assert_eq!(v["source"]["address"], "hôst");
        assert_eq!(v["labels"]["label"], "ラベル");
        assert!(v["network"].get("transport").is_none());
    }

    #[test]
    fn one_megabyte_field() {
        let mut a = fresh();
        let o = ImportOptions::default();
        let big = "z".repeat(1 << 20);
        let v = a.parse_line(&format!("2012/03/04 05:06:07,1,tcp,10.0.0.1,1,  ->,198.51.100.1,2,CON,0,0,1,1,1,{big}"), &o).unwrap().unwrap();
        assert_eq!(v["labels"]["label"].as_str().unwrap().len(), 1 << 20);
        assert!(a.parse_line(&format!("{big},1,tcp,10.0.0.1,1,  ->,198.51.100.1,2,CON,0,0,1,1,1,"), &o).is_err());
        assert!(a.parse_line(&format!("2012/03/04 05:06:07,1,tcp,10.0.0.1,0x{big},  ->,198.51.100.1,2,CON,0,0,1,1,1,"), &o).is_err());
    }

    #[test]
    fn real_sample_files() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/stratosphere/StratosphereLinuxIPS/dataset");
        let files = [
            "Malicious/2016-09-09_win1.binetflow",
            "Malicious/CTU-Malware-Capture-Botnet-207-1",
            "Normal/2013-10-21_capture-1.binetflow",
            "Normal/2015-03-24_capture1-only-dns.binetflow",
            "Normal/CTU-Normal-7-2013-13-07.binetflow",
        ];
        for f in files {
            let Ok(text) = std::fs::read_to_string(format!("{dir}/{f}")) else { continue };
            let rows = text.lines().filter(|l| !l.starts_with("StartTime")).count();
            let (mut events, mut with_ip, mut rejected) = (0, 0, 0);
            let errors = read_sample(f, &mut Argus::default(), &text, &ImportOptions::default(), |v| {
                events += 1;
                if v["source"].get("ip").is_some() {
                    with_ip += 1;
                }
                if v["event"]["action"] == "rejected" {
                    rejected += 1;
                }
            });
            eprintln!("argus sample {f}: {events}/{rows} rows, {with_ip} with source.ip, {rejected} rejected, {errors} errors");
            assert!(events * 100 >= rows * 99, "{f}: {events}/{rows}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_strings(s in any::<String>()) {
            let mut a = Argus::default();
            let _ = a.parse_line(&s, &ImportOptions::default());
            let _ = a.parse_line(&format!("StartTime,{s}"), &ImportOptions::default());
            let _ = a.parse_line(&s, &ImportOptions::default());
        }

        #[test]
        fn never_panics_on_row_shaped_lines(
            cells in proptest::collection::vec(r"(|[0-9]{1,12}(\.[0-9]{0,10})?|0x[0-9a-fA-F]{0,6}|20[0-9]{2}/[0-1][0-9]/[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]{1,10})?|tcp|udp|icmp|arp|S_RA|REJ|  ->|[0-9a-f:.]{1,20}|é)", 0..18),
        ) {
            let mut a = Argus::default();
            let _ = a.parse_line(&cells.join(","), &ImportOptions::default());
        }
    }
}
