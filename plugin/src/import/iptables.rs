//! Linux netfilter (iptables `LOG`, nftables `log`, UFW) kernel log lines → firewall events.
//!
//! A line is `TIME [HOST] kernel: [UPTIME] PREFIX IN=… OUT=… SRC=… DST=… … PROTO=… SPT=… DPT=…`
//! (syslog or journald text). The program tag is the kernel's (`kernel:`) or ulogd's
//! (`ulogd:`, `ulogd[1]:`, `ulogd2[1]:`), right after the time and host; the log prefix is
//! whatever the rule wrote before `IN=` (`[UFW BLOCK]`, `nft drop: `, …), at most
//! [`MAX_PREFIX`] bytes without `=` or `"`, so the key=value run starts the message. Any other
//! line is an `Err`: a line of another program that merely contains `BLOCK IN=… SRC=…` (a
//! request logged by a web server, say) is not a netfilter record.
//!
//! | source | ECS field |
//! |---|---|
//! | syslog time | `@timestamp` (UTC, RFC 3339) |
//! | host name before `kernel:` | `observer.hostname` |
//! | log prefix (without `[]`, `:`) | `rule.name`; decides `event.action` (below) |
//! | `IN=` / `OUT=` | `observer.ingress.interface.name` / `observer.egress.interface.name`; `network.direction` |
//! | `SRC=` / `DST=` (IPv4 or IPv6) | `source.ip` / `destination.ip` |
//! | `SPT=` / `DPT=` | `source.port` / `destination.port` (numbers; ICMP has none) |
//! | `PROTO=` (`TCP`, `UDP`, `ICMP`, `ICMPv6`, or a number) | `network.transport` (lower case, ICMPv6 → `ipv6-icmp`), `network.iana_number` |
//! | `LEN=` | `network.bytes` (the packet's IP length), with `network.packets: 1` |
//! | the whole line | `event.original` |
//! | — | `event.dataset` `iptables`, `observer.type` `firewall`, `observer.vendor` `Linux`, `observer.product` `netfilter` |
//!
//! Other tokens (`MAC=`, `TTL=`, flags, …) are ignored; of a repeated key the first one counts.
//! Reading stops at the bracketed copy of the offending packet that ICMP errors carry
//! (`[SRC=… DST=… …]`).
//!
//! Deny semantics: a prefix that contains one of [`ImportOptions::deny_prefixes`] (ignoring
//! case; the first match in list order wins) is a denied packet. `event.action` is then a deny
//! word of the detector: the matched prefix itself when it is one (`block`, `drop`, `reject`,
//! `deny`, …), else the deny word it contains, else `deny`; `event.type` is
//! `["connection", "denied"]`. Other prefixes give `event.action` `accept` or `allow` when the
//! prefix says so (`event.type` `["connection", "allowed"]`), otherwise `log` (the packet was
//! logged; whether it then passed is not known, `event.type` `["connection"]`).
//!
//! Direction (host view of the logging machine): `IN=` set and `OUT=` empty → `inbound` (to this
//! host); `IN=` empty and `OUT=` set → `outbound` (from this host); both set → forwarded, and
//! `network.direction` is left out because interface names do not say which side is inside (the
//! detector decides internal/external from the addresses).
//!
//! Times: `Jun 25 10:23:39` (no year: [`ImportOptions::syslog_year`]), `Jun 25 2019 10:23:39`,
//! ISO 8601 with or without offset. A time without an offset is local time at
//! [`ImportOptions::utc_offset_ms`]. A line without a time (raw `dmesg`) is an `Err`, as is a
//! line without `IN=` or `SRC=`.

use super::fields::{Ev, clip, leading_time, set_transport, token};
use crate::event::parse_ip;
use super::{ImportOptions, LineFormat};
use serde_json::{Value, json};

/// Netfilter kernel log lines. Stateless.
#[derive(Clone, Copy, Debug, Default)]
pub struct Iptables;

/// Longest log prefix: nftables allows 127 bytes (iptables `LOG` 29).
pub const MAX_PREFIX: usize = 128;

/// Whether a syslog program tag is one netfilter logs under.
fn netfilter_tag(t: &str) -> bool {
    let Some(t) = t.strip_suffix(':') else { return false };
    let name = match t.split_once('[') {
        Some((n, pid)) if pid.strip_suffix(']').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) => n,
        Some(_) => return false,
        None => t,
    };
    matches!(name, "kernel" | "ulogd" | "ulogd2")
}

/// Position of the `IN=` key: at the start or after whitespace.
fn in_key(line: &str) -> Option<usize> {
    line.match_indices("IN=").map(|(i, _)| i).find(|&i| i == 0 || line[..i].ends_with(|c: char| c.is_whitespace()))
}

/// The deny word for a prefix, or `None` when no deny prefix matches.
fn deny_action(prefix: &str, opts: &ImportOptions) -> Option<String> {
    let lp = prefix.to_ascii_lowercase();
    let matched = opts
        .deny_prefixes
        .iter()
        .map(|p| p.trim().to_ascii_lowercase())
        .find(|p| !p.is_empty() && lp.contains(p.as_str()))?;
    const WORDS: [&str; 8] = ["blocked", "dropped", "rejected", "denied", "block", "drop", "reject", "deny"];
    if WORDS.contains(&matched.as_str()) {
        return Some(matched);
    }
    Some(WORDS.iter().find(|w| matched.contains(*w)).map_or("deny", |w| w).to_string())
}

impl LineFormat for Iptables {
    fn parse_line(&mut self, line: &str, opts: &ImportOptions) -> Result<Option<Value>, String> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        let at = in_key(line).ok_or("not a netfilter log line (no IN= field)")?;
        let (head, kv) = (&line[..at], &line[at..]);
        let (ts, rest) = leading_time(head, opts).ok_or("no readable syslog time at the start of the line")?;

        // Host and program tag, then the log prefix.
        let (first, after_first) = token(rest);
        let (host, prefix) = if netfilter_tag(first) {
            ("", after_first)
        } else {
            let (tag, after_tag) = token(after_first);
            if !netfilter_tag(tag) {
                return Err("not a netfilter log line (no kernel: or ulogd program tag after the time and host)".into());
            }
            (first, after_tag)
        };
        let mut prefix = prefix.trim();
        // The kernel's uptime stamp `[12345.678]`.
        if let Some(inner) = prefix.strip_prefix('[')
            && let Some((up, after)) = inner.split_once(']')
            && !up.trim().is_empty()
            && up.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            prefix = after.trim();
        }
        if prefix.len() > MAX_PREFIX || prefix.contains(['=', '"']) {
            return Err(format!("not a netfilter log line (the text before IN= is not a log prefix: {})", clip(prefix)));
        }
        let rule = prefix.trim_matches(|c: char| c == '[' || c == ']' || c == ':' || c.is_whitespace());

        // KEY=VALUE tokens up to the bracketed copy of the offending packet that ICMP errors
        // carry (`[SRC=… DST=… …]`); the first of a repeated key counts.
        let get = {
            let pairs: Vec<(&str, &str)> =
                kv.split_whitespace().take_while(|t| !t.starts_with('[')).filter_map(|t| t.split_once('=')).collect();
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        };
        let src = get("SRC").filter(|s| !s.is_empty()).ok_or("no SRC= field")?;
        let src_ip = parse_ip(src).ok_or_else(|| format!("SRC={} is not an IP address", clip(src)))?;
        let dst_ip = match get("DST").filter(|s| !s.is_empty()) {
            Some(d) => Some(parse_ip(d).ok_or_else(|| format!("DST={} is not an IP address", clip(d)))?),
            None => None,
        };
        let port = |key: &str, v: Option<&str>| -> Result<Option<u16>, String> {
            match v.filter(|s| !s.is_empty()) {
                Some(p) => p.parse::<u16>().map(Some).map_err(|_| format!("{key}={} is not a port", clip(p))),
                None => Ok(None),
            }
        };
        let spt = port("SPT", get("SPT"))?;
        let dpt = port("DPT", get("DPT"))?;
        let in_if = get("IN").filter(|s| !s.is_empty());
        let out_if = get("OUT").filter(|s| !s.is_empty());

        let mut ev = Ev::new(&ts, "iptables", line);
        ev.set("observer.type", json!("firewall"));
        ev.set("observer.vendor", json!("Linux"));
        ev.set("observer.product", json!("netfilter"));
        if !host.is_empty() && !host.contains(char::is_whitespace) {
            ev.set("observer.hostname", json!(host));
        }
        if !rule.is_empty() {
            ev.set("rule.name", json!(rule));
        }
        let (action, kind) = match deny_action(rule, opts) {
            Some(a) => (a, Some("denied")),
            None => {
                let l = rule.to_ascii_lowercase();
                if l.contains("accept") {
                    ("accept".to_string(), Some("allowed"))
                } else if l.contains("allow") {
                    ("allow".to_string(), Some("allowed"))
                } else {
                    ("log".to_string(), None)
                }
            }
        };
        ev.set("event.action", json!(action));
        ev.set("event.category", json!(["network"]));
        match kind {
            Some(k) => ev.set("event.type", json!(["connection", k])),
            None => ev.set("event.type", json!(["connection"])),
        }
        if let Some(i) = in_if {
            ev.set("observer.ingress.interface.name", json!(i));
        }
        if let Some(o) = out_if {
            ev.set("observer.egress.interface.name", json!(o));
        }
        match (in_if, out_if) {
            (Some(_), None) => ev.set("network.direction", json!("inbound")),
            (None, Some(_)) => ev.set("network.direction", json!("outbound")),
            _ => {}
        }
        ev.set("source.ip", json!(src_ip.to_string()));
        if let Some(p) = spt {
            ev.set("source.port", json!(p));
        }
        if let Some(d) = dst_ip {
            ev.set("destination.ip", json!(d.to_string()));
        }
        if let Some(p) = dpt {
            ev.set("destination.port", json!(p));
        }
        ev.set("network.type", json!(if src_ip.is_ipv4() { "ipv4" } else { "ipv6" }));
        if let Some(p) = get("PROTO") {
            set_transport(&mut ev, p);
        }
        if let Some(n) = get("LEN").and_then(|l| l.parse::<u64>().ok()) {
            ev.set("network.bytes", json!(n));
            ev.set("network.packets", json!(1));
        }
        Ok(Some(ev.into_value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::test_support::{assert_fields, detector_output, syslog_2024};
    use proptest::prelude::*;

    fn parse(line: &str) -> Result<Option<Value>, String> {
        Iptables.parse_line(line, &syslog_2024())
    }

    fn ev(line: &str) -> Value {
        parse(line).unwrap().unwrap()
    }

    const UFW_BLOCK: &str = "Jun 25 10:23:39 gw kernel: [12345.678] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=203.0.113.5 DST=10.0.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0";

    #[test]
    fn the_detector_sees_an_outbound_drop() {
        let v = ev("Jun 25 10:23:39 gw kernel: [UFW BLOCK] IN= OUT=eth0 SRC=10.0.0.7 DST=198.51.100.9 LEN=60 PROTO=TCP SPT=40000 DPT=443");
        assert!(detector_output(&v).contains("\"rule\":\"fw.outbound_deny\""), "{}", detector_output(&v));
    }

    #[test]
    fn ufw_block_is_a_deny() {
        let v = ev(UFW_BLOCK);
        assert_fields(&v, json!({
            "@timestamp": "2024-06-25T10:23:39Z",
            "event": {"action": "block", "type": ["connection", "denied"], "dataset": "iptables", "kind": "event", "original": UFW_BLOCK},
            "rule": {"name": "UFW BLOCK"},
            "observer": {"hostname": "gw", "type": "firewall", "ingress": {"interface": {"name": "eth0"}}},
            "source": {"ip": "203.0.113.5", "port": 40000},
            "destination": {"ip": "10.0.0.2", "port": 22},
            "network": {"transport": "tcp", "direction": "inbound", "bytes": 60},
        }));
    }

    #[test]
    fn nft_drop_outbound_and_custom_prefixes() {
        let v = ev("2024-01-02T03:04:05.123456+01:00 fw kernel: nft drop: IN= OUT=wan0 SRC=10.0.0.7 DST=198.51.100.9 LEN=40 PROTO=UDP SPT=5000 DPT=53 LEN=20");
        assert_fields(&v, json!({
            "@timestamp": "2024-01-02T02:04:05.123456Z",
            "event": {"action": "drop"},
            "network": {"direction": "outbound"},
            "rule": {"name": "nft drop"},
        }));
        assert_eq!(v["network"]["bytes"], 40, "first LEN counts");
        let o = ImportOptions { deny_prefixes: vec!["FW-BAD".into(), "".into()], ..syslog_2024() };
        let v = Iptables.parse_line("Jun 25 10:23:39 gw kernel: FW-BAD IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2", &o).unwrap().unwrap();
        assert_eq!(v["event"]["action"], "deny");
        let o = ImportOptions { deny_prefixes: vec!["ipt-rejected".into()], ..syslog_2024() };
        let v = Iptables.parse_line("Jun 25 10:23:39 gw kernel: IPT-REJECTED: IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2", &o).unwrap().unwrap();
        assert_eq!(v["event"]["action"], "rejected");
    }

    #[test]
    fn allow_and_log_prefixes() {
        let v = ev("Jun 25 10:23:39 gw kernel: [UFW ALLOW] IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.1 PROTO=TCP SPT=1234 DPT=443");
        assert_eq!(v["event"]["action"], "allow");
        assert_eq!(v["event"]["type"], json!(["connection", "allowed"]));
        let v = ev("Jun 25 10:23:39 gw kernel: ACCEPT-IN: IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.1 PROTO=TCP SPT=1234 DPT=443");
        assert_eq!(v["event"]["action"], "accept");
        let v = ev("Jun 25 10:23:39 gw kernel: [ 1.5] IN=eth0 OUT=eth1 SRC=198.51.100.1 DST=10.0.0.1 PROTO=47");
        assert_eq!(v["event"]["action"], "log");
        assert!(v.get("rule").is_none());
        assert!(v["network"].get("direction").is_none(), "forwarded");
        assert_eq!(v["network"]["transport"], "gre");
        assert_eq!(v["network"]["iana_number"], "47");
    }

    #[test]
    fn ipv6_and_icmpv6() {
        let v = ev("Jun 25 10:23:39 gw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=33:33:00:00:00:01 SRC=fe80:0000:0000:0000:0211:22ff:fe33:4455 DST=ff02:0000:0000:0000:0000:0000:0000:0001 LEN=72 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=ICMPv6 TYPE=134 CODE=0");
        assert_fields(&v, json!({
            "source": {"ip": "fe80::211:22ff:fe33:4455"},
            "destination": {"ip": "ff02::1"},
            "network": {"transport": "ipv6-icmp", "type": "ipv6"},
        }));
        assert!(v["source"].get("port").is_none());
    }

    #[test]
    fn icmp_has_no_ports_and_inner_packet_is_ignored() {
        let v = ev("Jun 25 10:23:39 gw kernel: DROP IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.1 LEN=56 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.0.0.1 DST=198.51.100.1 LEN=28 PROTO=UDP SPT=53 DPT=5353 LEN=8 ]");
        assert_eq!(v["network"]["transport"], "icmp");
        assert_eq!(v["source"]["ip"], "198.51.100.1");
        assert!(v["source"].get("port").is_none() && v["destination"].get("port").is_none());
        assert_eq!(v["event"]["action"], "drop");
    }

    #[test]
    fn header_and_foreign_lines() {
        assert_eq!(parse("").unwrap(), None);
        assert!(parse("[12345.678] IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8").is_err(), "dmesg has no time");
        let v = ev("Jun 25 10:23:39 gw ulogd[99]: BLOCKED IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=UDP SPT=1 DPT=2");
        assert_eq!(v["observer"]["hostname"], "gw");
        assert_eq!(v["event"]["action"], "block");
    }

    #[test]
    fn truncated_lines() {
        let v = ev("Jun 25 10:23:39 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.5 DST=10.0.0.2 LEN=60 PROTO=TCP SPT=4000");
        assert_eq!(v["source"]["port"], 4000);
        assert!(v["destination"].get("port").is_none());
    }

    #[test]
    fn wrong_fields() {
        // Unknown tokens and keys without values are ignored.
        let v = ev("Jun 25 10:23:39 gw kernel: X IN=eth0 OUT= FOO BAR=1 = == SRC=1.2.3.4 DST=5.6.7.8 ZZZ=");
        assert_eq!(v["destination"]["ip"], "5.6.7.8");
    }

    #[test]
    fn non_ascii_garbage() {
        let v = ev("Jun 25 10:23:39 hôte kernel: [ブロック DROP] IN=éth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=ÜDP");
        assert_eq!(v["rule"]["name"], "ブロック DROP");
        assert!(v["network"].get("transport").is_none());
    }

    #[test]
    fn one_megabyte_field() {
        let big = "A".repeat(1 << 20);
        assert!(parse(&format!("Jun 25 10:23:39 gw kernel: X IN=eth0 OUT= SRC={big}")).is_err());
        // A megabyte of text before IN= is no log prefix (nftables allows 127 bytes).
        assert!(parse(&format!("Jun 25 10:23:39 gw kernel: {big} IN=eth0 OUT= SRC=1.2.3.4 MAC={big}")).is_err());
        let v = ev(&format!("Jun 25 10:23:39 gw kernel: X IN=eth0 OUT= SRC=1.2.3.4 MAC={big}"));
        assert_eq!(v["event"]["action"], "log");
        let e = parse(&format!("Jun 25 10:23:39 gw kernel: X IN=eth0 OUT= SRC=1.2.3.4 SPT={}", "é".repeat(1 << 19))).unwrap_err();
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn only_netfilter_lines_are_read() {
        // An nginx access line whose request carries an iptables record (log injection).
        let nginx = r#"Jun 25 10:33:00 web nginx: 10.20.0.5 - - [25/Jun/2024:10:33:00 +0000] "GET /?q=BLOCK IN=eth0 OUT=eth1 SRC=10.20.0.77 DST=198.51.100.1 LEN=60 PROTO=TCP SPT=1 DPT=8080 HTTP/1.1" 200 5"#;
        assert!(parse(nginx).is_err());
        let no_quote = "Jun 25 10:33:00 web sshd[7]: Invalid user BLOCK IN=eth0 OUT=eth1 SRC=10.20.0.77 DST=198.51.100.1 PROTO=TCP SPT=1 DPT=8080";
        assert!(parse(no_quote).is_err(), "another program's tag");
        let late = "Jun 25 10:33:00 web app: says kernel: BLOCK IN=eth0 OUT=eth1 SRC=10.20.0.77 DST=198.51.100.1";
        assert!(parse(late).is_err(), "kernel: is a substring, not the tag");
        let kv = "Jun 25 10:33:00 gw kernel: q=BLOCK IN=eth0 OUT=eth1 SRC=10.20.0.77 DST=198.51.100.1";
        assert!(parse(kv).is_err(), "a key=value pair before IN=");
        assert!(ev("Jun 25 10:33:00 kernel: [ 12.5] DROP IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8").get("observer").is_some(), "no host");
        assert!(ev("Jun 25 10:33:00 gw ulogd2[12]: DROP IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8").get("observer").is_some());
    }

    #[test]
    fn times_use_the_configured_year_and_offset() {
        let o = ImportOptions { syslog_year: 2023, utc_offset_ms: -5 * 3_600_000, ..syslog_2024() };
        let v = Iptables.parse_line("Dec 31 22:00:00 gw kernel: X IN=eth0 OUT= SRC=1.2.3.4", &o).unwrap().unwrap();
        assert_eq!(v["@timestamp"], "2024-01-01T03:00:00Z");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_strings(s in any::<String>()) {
            let _ = Iptables.parse_line(&s, &syslog_2024());
        }

        #[test]
        fn never_panics_on_netfilter_shaped_lines(
            head in "(Jun 25 10:23:39|2024-01-02T03:04:05Z|Feb 30 01:02:03) (gw kernel: )?(\\[[0-9. ]{0,8}\\] )?",
            prefix in r"[A-Za-z \[\]:é-]{0,12}",
            kv in proptest::collection::vec(r"(IN|OUT|SRC|DST|PROTO|SPT|DPT|LEN|\[SRC)=[0-9a-fA-F.:xé]{0,12}", 0..10),
        ) {
            let _ = Iptables.parse_line(&format!("{head}{prefix} IN=eth0 {}", kv.join(" ")), &syslog_2024());
        }
    }
}
