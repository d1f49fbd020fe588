//! Windows Defender Firewall `pfirewall.log` (W3C extended log style) → firewall events.
//!
//! The file starts with `#Version`, `#Software`, `#Time Format` and `#Fields` lines; data rows
//! are space-separated with `-` for an empty value. The importer remembers the last `#Fields`
//! order (before any, the standard one: `date time action protocol src-ip dst-ip src-port
//! dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path`, to which newer
//! Windows adds `pid`). A row whose number of values differs from the field count is an `Err`.
//!
//! | field | ECS field |
//! |---|---|
//! | `date` + `time` | `@timestamp` (UTC, RFC 3339) |
//! | `action` (`DROP`, `ALLOW`, `INFO-EVENTS-LOST`) | `event.action`, lower case; `event.type` `["connection", "denied"/"allowed"]` for DROP/ALLOW |
//! | `protocol` (`TCP`, `UDP`, `ICMP`, or a number like `2`) | `network.transport` (lower case; numbers named when known), `network.iana_number` |
//! | `src-ip` / `dst-ip` | `source.ip` / `destination.ip` (`source.address` / `destination.address` when not an IP) |
//! | `src-port` / `dst-port` | `source.port` / `destination.port` (numbers) |
//! | `size` | `network.bytes` (packet size), with `network.packets: 1` |
//! | `path` `SEND` / `RECEIVE` | `network.direction` `outbound` / `inbound` (`FORWARD`: not set) |
//! | `pid` | `process.pid` |
//! | `info` of `INFO-EVENTS-LOST` | `event.reason` (`N events lost`) |
//! | `tcpflags`, `tcpsyn`, `tcpack`, `tcpwin`, `icmptype`, `icmpcode` | not mapped (kept in `event.original`) |
//! | the whole line | `event.original` |
//! | — | `event.dataset` `windows.firewall`, `observer.type` `firewall`, `observer.vendor` `Microsoft`, `observer.product` `Windows Defender Firewall` |
//!
//! Deny semantics: `DROP` is the detector's deny word `drop`; `ALLOW` is allowed.
//!
//! Times: `#Time Format: Local` (the default) means local time at
//! [`ImportOptions::utc_offset_ms`]; `#Time Format: UTC` means UTC. Unreadable `size` or `pid`
//! values are left out; unreadable ports, addresses of the wrong shape in the port columns, a
//! missing date, time or action and an action the firewall does not write are an `Err`.

use super::fields::{Ev, civil_rfc3339, clip, clock, date_parts, set_transport};
use crate::event::parse_ip;
use super::{ImportOptions, LineFormat};
use serde_json::{Value, json};

const STANDARD_FIELDS: [&str; 17] = [
    "date", "time", "action", "protocol", "src-ip", "dst-ip", "src-port", "dst-port", "size", "tcpflags", "tcpsyn",
    "tcpack", "tcpwin", "icmptype", "icmpcode", "info", "path",
];

/// Most `#Fields` names accepted (the real header has 17 or 18).
const MAX_FIELDS: usize = 64;

/// `pfirewall.log` reader: remembers the `#Fields` order and the `#Time Format`.
#[derive(Clone, Debug)]
pub struct WindowsFirewall {
    fields: Vec<String>,
    utc: bool,
}

impl Default for WindowsFirewall {
    fn default() -> Self {
        WindowsFirewall { fields: STANDARD_FIELDS.iter().map(|s| s.to_string()).collect(), utc: false }
    }
}

impl WindowsFirewall {
    /// The field order in use.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
}

impl LineFormat for WindowsFirewall {
    fn parse_line(&mut self, line: &str, opts: &ImportOptions) -> Result<Option<Value>, String> {
        let line_in = line;
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            return Ok(None);
        }
        if let Some(directive) = line.strip_prefix('#') {
            let (name, value) = directive.split_once(':').unwrap_or((directive, ""));
            let name = name.trim();
            if name.eq_ignore_ascii_case("Fields") {
                let fields: Vec<String> = value.split_whitespace().map(|f| f.to_ascii_lowercase()).collect();
                if fields.is_empty() {
                    return Err("#Fields names no fields".into());
                }
                if fields.len() > MAX_FIELDS {
                    return Err(format!("#Fields names {} fields (at most {MAX_FIELDS})", fields.len()));
                }
                self.fields = fields;
            } else if name.eq_ignore_ascii_case("Time Format") {
                self.utc = value.trim().eq_ignore_ascii_case("UTC");
            }
            return Ok(None);
        }
        let values: Vec<&str> = line.split_ascii_whitespace().take(MAX_FIELDS + 1).collect();
        if values.len() != self.fields.len() {
            return Err(format!("{} values, but #Fields names {}", if values.len() > MAX_FIELDS { format!("more than {MAX_FIELDS}") } else { values.len().to_string() }, self.fields.len()));
        }
        let get = |name: &str| -> Option<&str> {
            let i = self.fields.iter().position(|f| f == name)?;
            values.get(i).copied().filter(|v| *v != "-")
        };
        let date = get("date").ok_or("no date")?;
        let time = get("time").ok_or("no time")?;
        let (y, m, d) = date_parts(date, &['-']).ok_or_else(|| format!("date {} is not YYYY-MM-DD", clip(date)))?;
        let hms = clock(time).ok_or_else(|| format!("time {} is not HH:MM:SS", clip(time)))?;
        let offset = if self.utc { 0 } else { opts.utc_offset_ms };
        let ts = civil_rfc3339(y, m, d, hms, offset).ok_or_else(|| format!("{} {} is not a real time", clip(date), clip(time)))?;
        let action = get("action").ok_or("no action")?.to_ascii_lowercase();
        // The firewall writes only these: another program's line with the same number of
        // fields and a date in front is not a record.
        if !matches!(action.as_str(), "allow" | "drop" | "info-events-lost") {
            return Err(format!("action {} is not ALLOW, DROP or INFO-EVENTS-LOST", clip(&action)));
        }

        let mut ev = Ev::new(&ts, "windows.firewall", line_in);
        ev.set("observer.type", json!("firewall"));
        ev.set("observer.vendor", json!("Microsoft"));
        ev.set("observer.product", json!("Windows Defender Firewall"));
        ev.set("event.category", json!(["network"]));
        match action.as_str() {
            "drop" => ev.set("event.type", json!(["connection", "denied"])),
            "allow" => ev.set("event.type", json!(["connection", "allowed"])),
            _ => {}
        }
        if action == "info-events-lost"
            && let Some(n) = get("info").and_then(|n| n.parse::<u64>().ok())
        {
            ev.set("event.reason", json!(format!("{n} events lost")));
        }
        ev.set("event.action", json!(action));
        if let Some(p) = get("protocol") {
            set_transport(&mut ev, p);
        }
        for (side, ip_key, port_key) in [("source", "src-ip", "src-port"), ("destination", "dst-ip", "dst-port")] {
            if let Some(a) = get(ip_key) {
                match parse_ip(a) {
                    Some(ip) => {
                        ev.set(&format!("{side}.ip"), json!(ip.to_string()));
                        ev.set("network.type", json!(if ip.is_ipv4() { "ipv4" } else { "ipv6" }));
                    }
                    None => ev.set(&format!("{side}.address"), json!(a)),
                }
            }
            if let Some(p) = get(port_key) {
                let p: u16 = p.parse().map_err(|_| format!("{port_key} {} is not a port", clip(p)))?;
                ev.set(&format!("{side}.port"), json!(p));
            }
        }
        if let Some(n) = get("size").and_then(|s| s.parse::<u64>().ok()) {
            ev.set("network.bytes", json!(n));
            ev.set("network.packets", json!(1));
        }
        match get("path").map(str::to_ascii_uppercase).as_deref() {
            Some("SEND") => ev.set("network.direction", json!("outbound")),
            Some("RECEIVE") => ev.set("network.direction", json!("inbound")),
            _ => {}
        }
        if let Some(pid) = get("pid").and_then(|p| p.parse::<u32>().ok()) {
            ev.set("process.pid", json!(pid));
        }
        Ok(Some(ev.into_value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::test_support::{assert_fields, detector_output, ev, read_sample};
    use proptest::prelude::*;

    const HEADER: [&str; 5] = [
        "#Version: 1.5",
        "#Software: Microsoft Windows Firewall",
        "#Time Format: Local",
        "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path",
        "",
    ];

    fn fresh() -> WindowsFirewall {
        let mut w = WindowsFirewall::default();
        for h in HEADER {
            assert_eq!(w.parse_line(h, &ImportOptions::default()).unwrap(), None);
        }
        w
    }

    #[test]
    fn the_detector_sees_an_outbound_drop() {
        let mut w = fresh();
        let v = ev(&mut w, "2023-05-06 07:08:10 DROP TCP 192.168.1.20 198.51.100.80 60000 443 52 - - - - - - - SEND");
        assert!(detector_output(&v).contains("\"rule\":\"fw.outbound_deny\""), "{}", detector_output(&v));
    }

    #[test]
    fn drop_receive_is_an_inbound_deny() {
        let mut w = fresh();
        let line = "2023-05-06 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 51000 3389 52 S 12345 0 64240 - - - RECEIVE";
        let v = ev(&mut w, line);
        assert_fields(&v, json!({
            "@timestamp": "2023-05-06T07:08:09Z",
            "event": {"action": "drop", "type": ["connection", "denied"], "dataset": "windows.firewall", "kind": "event", "original": line},
            "observer": {"type": "firewall"},
            "source": {"ip": "198.51.100.7", "port": 51000},
            "destination": {"ip": "192.168.1.20", "port": 3389},
            "network": {"transport": "tcp", "direction": "inbound", "bytes": 52},
        }));
    }

    #[test]
    fn allow_send_is_outbound() {
        let mut w = fresh();
        let v = ev(&mut w, "2023-05-06 07:08:10 ALLOW UDP 192.168.1.20 198.51.100.53 60000 53 0 - - - - - - - SEND");
        assert_fields(&v, json!({
            "event": {"action": "allow", "type": ["connection", "allowed"]},
            "network": {"direction": "outbound", "transport": "udp"},
        }));
    }

    #[test]
    fn ipv6_icmp_and_numeric_protocols() {
        let mut w = fresh();
        let v = ev(&mut w, "2023-05-06 07:08:11 ALLOW ICMP fe80::1:2:3:4 ff02::1 - - 0 - - - - 134 0 - RECEIVE");
        assert_fields(&v, json!({
            "source": {"ip": "fe80::1:2:3:4"},
            "destination": {"ip": "ff02::1"},
            "network": {"transport": "icmp", "type": "ipv6"},
        }));
        assert!(v["source"].get("port").is_none() && v["destination"].get("port").is_none());
        let v = ev(&mut w, "2023-05-06 07:08:11 ALLOW 2 192.168.1.5 224.0.0.22 - - 40 - - - - - - - SEND");
        assert_eq!(v["network"]["transport"], "igmp");
        assert_eq!(v["network"]["iana_number"], "2");
    }

    #[test]
    fn fields_header_is_remembered_with_pid_and_utc() {
        let mut w = WindowsFirewall::default();
        let o = ImportOptions { utc_offset_ms: 3_600_000, ..ImportOptions::default() };
        let v = w.parse_line("2023-05-06 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 51000 3389 52 - - - - - - - RECEIVE", &o).unwrap().unwrap();
        assert_eq!(v["@timestamp"], "2023-05-06T06:08:09Z", "standard order and local time before any header");
        assert_eq!(w.parse_line("#Time Format: UTC", &o).unwrap(), None);
        assert_eq!(w.parse_line("#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path pid", &o).unwrap(), None);
        assert_eq!(w.fields().len(), 18);
        let v = w.parse_line("2023-05-06 07:08:09 ALLOW TCP 10.0.0.2 198.51.100.80 50000 443 0 - 0 0 0 - - - SEND 4242", &o).unwrap().unwrap();
        assert_eq!(v["@timestamp"], "2023-05-06T07:08:09Z");
        assert_eq!(v["process"]["pid"], 4242);
        // A reordered header.
        w.parse_line("#Fields: action date time dst-ip src-ip", &o).unwrap();
        let v = w.parse_line("DROP 2023-05-06 07:08:09 198.51.100.80 10.0.0.2", &o).unwrap().unwrap();
        assert_eq!(v["destination"]["ip"], "198.51.100.80");
        assert!(w.parse_line("#Fields:", &o).is_err());
    }

    #[test]
    fn info_events_lost() {
        let mut w = fresh();
        let v = ev(&mut w, "2023-05-06 07:08:09 INFO-EVENTS-LOST - - - - - - - - - - - - 7 -");
        assert_eq!(v["event"]["action"], "info-events-lost");
        assert_eq!(v["event"]["reason"], "7 events lost");
        assert!(v.get("source").is_none());
    }

    #[test]
    fn non_ascii_garbage() {
        let mut w = fresh();
        let o = ImportOptions::default();
        // Only the firewall's own actions make a record.
        assert!(w.parse_line("2023-05-06 07:08:09 DRÖP TCP hôst 192.168.1.20 1 3389 52 - - - - - - - RECEIVE", &o).unwrap_err().contains("not ALLOW"));
        let v = w.parse_line("2023-05-06 07:08:09 Drop TCP hôst 192.168.1.20 1 3389 52 - - - - - - - RECEIVE", &o).unwrap().unwrap();
        assert_eq!(v["source"]["address"], "hôst");
        assert_eq!(v["event"]["action"], "drop");
        assert_eq!(w.parse_line("#Ünïcödé: ☃", &o).unwrap(), None);
    }

    #[test]
    fn one_megabyte_field() {
        let mut w = fresh();
        let o = ImportOptions::default();
        let big = "9".repeat(1 << 20);
        assert!(w.parse_line(&format!("2023-05-06 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 {big} 3389 52 - - - - - - - RECEIVE"), &o).is_err());
        let v = w.parse_line(&format!("2023-05-06 07:08:09 DROP TCP 198.51.100.7 192.168.1.20 1 3389 {big} - - - - - - - RECEIVE"), &o).unwrap().unwrap();
        assert!(v["network"].get("bytes").is_none());
        assert!(w.parse_line(&format!("{big} 07:08:09 DROP TCP 1.2.3.4 1.2.3.4 1 1 1 - - - - - - - RECEIVE"), &o).is_err());
    }

    #[test]
    fn real_sample_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/formats/windows-pfirewall/pfirewall.log");
        let Ok(text) = std::fs::read_to_string(path) else { return };
        let records = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
        let (mut events, mut dropped) = (0, 0);
        let errors = read_sample("pfirewall sample", &mut WindowsFirewall::default(), &text, &ImportOptions::default(), |v| {
            events += 1;
            if v["event"]["action"] == "drop" {
                dropped += 1;
            }
        });
        eprintln!("pfirewall sample: {events}/{records} rows, {dropped} DROP, {errors} errors");
        assert!(records > 0);
        assert!(events * 100 >= records * 99, "{events}/{records}");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_strings(s in any::<String>()) {
            let mut w = WindowsFirewall::default();
            let _ = w.parse_line(&s, &ImportOptions::default());
            let _ = w.parse_line(&format!("#Fields: {s}"), &ImportOptions::default());
            let _ = w.parse_line(&s, &ImportOptions::default());
        }

        #[test]
        fn never_panics_on_row_shaped_lines(
            cols in proptest::collection::vec(r"(-|[0-9]{1,6}|[0-9a-fA-F:.]{1,12}|2023-0[0-9]-[0-3][0-9]|[0-2][0-9]:[0-6][0-9]:[0-6][0-9]|DROP|ALLOW|TCP|SEND|é)", 0..20),
        ) {
            let mut w = WindowsFirewall::default();
            let _ = w.parse_line(&cols.join(" "), &ImportOptions::default());
        }
    }
}
