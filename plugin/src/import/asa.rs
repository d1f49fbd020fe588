//! Cisco ASA (and Firepower Threat Defense, `%FTD-`) syslog lines → firewall events.
//!
//! A line is `[<PRI>]TIME [HOST] [:] %ASA-[class-]LEVEL-ID: TEXT`. The text of the message ids
//! below is read into network fields; any other id becomes an event with `event.code`,
//! `message` and the observer but no network fields (nothing is lost, the detector passes it
//! through). A line without a readable time at its start, or without an `%ASA-`/`%FTD-` tag
//! right after the time and host (a tag further on is another program's text quoting one), is
//! an `Err`, and so is a supported id whose text does not have the documented shape (a
//! truncated line).
//!
//! | source | ECS field |
//! |---|---|
//! | syslog time | `@timestamp` (UTC, RFC 3339) |
//! | host name after the time | `observer.hostname` (not `<IP>` placeholders) |
//! | tag `%ASA` / `%FTD` | `observer.product` (`ASA` / `FTD`); `observer.vendor` `Cisco`, `observer.type` `firewall` |
//! | level / message id | `log.syslog.severity.code` / `event.code` |
//! | the text after the tag | `message` |
//! | the whole line | `event.original` |
//! | action word (`Deny`, `denied`, `permitted`, `est-allowed`, `dropped`, `Built`, `Teardown`, …) | `event.action`, lower case; `event.type` `["connection", "denied"/"allowed"]` |
//! | protocol word (`tcp`, `UDP`, `icmp`, …) | `network.transport` (lower case), `network.iana_number` |
//! | source / destination address | `source.address` + `source.ip` (when an IP), same for `destination` |
//! | source / destination port | `source.port` / `destination.port` (numbers) |
//! | interface of the source / destination (`outside:`, `inside/`) | `observer.ingress.interface.name` / `observer.egress.interface.name` |
//! | `inbound` / `outbound` stated in the text | `network.direction` (otherwise not set) |
//! | access-list name | `rule.name` |
//! | `bytes N` / `duration H:MM:SS` (teardown) | `network.bytes` / `event.duration` (ns) |
//!
//! Supported ids: 106001, 106006, 106007, 106014, 106015, 106016, 106021, 106023, 106100,
//! 302013, 302014, 302015, 302016, 313001 and 338001–338008 (Dynamic Filter).
//!
//! Deny semantics: the message's own verb is kept (`deny`, `denied`, `dropped`), and those are
//! the detector's deny words; `permitted`, `est-allowed`, `monitored`, `built`, `teardown` are
//! allowed traffic.
//!
//! Built connections (302013/302015): ASA writes `for FOREIGN to LOCAL`. An `outbound`
//! connection was opened by the local side, so the local end is `source`; an `inbound` one by
//! the foreign side, which is then `source`. Teardown messages (302014/302016) do not say who
//! opened the connection; the local (`to`) end is taken as `source`, as for outbound traffic,
//! and `network.direction` is not set.
//!
//! Times: `Jun 25 10:23:39` (no year: [`ImportOptions::syslog_year`]), `Oct 11 2019 14:35:34`,
//! and ISO 8601 `2019-10-11T14:35:34Z` / `…+02:00`. A time without an offset is local time at
//! [`ImportOptions::utc_offset_ms`], unless it is followed by one of the unambiguous zone names
//! `UTC`, `GMT`, `Z`, `EST`, `EDT`, `MST`, `MDT`, `PST`, `PDT`, `CET`, `CEST` (ambiguous names
//! such as `CST` or `IST` are ignored and the configured offset applies).
//!
//! The helpers the firewall importers share (times, protocols, nested fields) are in
//! `fields.rs`; the ones here read the text of ASA messages.

use super::fields::{Ev, clip, digits, leading_time, set_transport};
use super::{ImportOptions, LineFormat};
use crate::event::{is_deny_word, parse_ip};
use serde_json::{Value, json};

/// Cisco ASA syslog lines. Stateless.
#[derive(Clone, Copy, Debug, Default)]
pub struct Asa;

impl LineFormat for Asa {
    fn parse_line(&mut self, line: &str, opts: &ImportOptions) -> Result<Option<Value>, String> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        let (tag_at, product) = match (line.find("%ASA-"), line.find("%FTD-")) {
            (Some(a), Some(f)) if f < a => (f, "FTD"),
            (Some(a), _) => (a, "ASA"),
            (None, Some(f)) => (f, "FTD"),
            (None, None) => return Err("not a Cisco ASA syslog line (no %ASA- tag)".into()),
        };
        let header = &line[..tag_at];
        let after_tag = &line[tag_at + 5..];
        let tag_end = after_tag.find(|c: char| c == ':' || c.is_whitespace()).unwrap_or(after_tag.len());
        let tag = &after_tag[..tag_end];
        let text = after_tag[tag_end..].trim_start_matches(':').trim();
        let mut parts = tag.rsplit('-');
        let id = parts.next().unwrap_or_default();
        let level = parts.next().unwrap_or_default();
        if id.is_empty() || id.len() > 6 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("the %{product}- tag has no message id: {}", clip(tag)));
        }
        let (ts, host_part) =
            leading_time(header, opts).ok_or_else(|| format!("no readable syslog time before %{product}-"))?;

        let mut ev = Ev::new(&ts, "cisco.asa", line);
        ev.set("observer.type", json!("firewall"));
        ev.set("observer.vendor", json!("Cisco"));
        ev.set("observer.product", json!(product));
        // Between the time and the tag there is at most a host name (and a colon): a tag
        // further on is text of another program's message, not an ASA record.
        let host = host_part.trim().trim_end_matches(':').trim();
        if host.contains(char::is_whitespace) || host.contains(['"', '=', '%']) {
            return Err(format!("not a Cisco ASA syslog line (text before the %{product}- tag: {})", clip(host)));
        }
        if !host.is_empty() && !host.starts_with('<') && !host.contains(char::is_whitespace) {
            ev.set("observer.hostname", json!(host));
        }
        if let Ok(l) = level.parse::<u8>()
            && l <= 7
        {
            ev.set("log.syslog.severity.code", json!(l));
        }
        ev.set("event.code", json!(id));
        ev.set("message", json!(text));
        read_message(id, text, &mut ev).map_err(|e| format!("%{product}-{id}: {e}"))?;
        Ok(Some(ev.into_value()))
    }
}

/// Where an address came from in ASA text.
#[derive(Debug, PartialEq)]
struct Endpoint<'a> {
    ifc: Option<&'a str>,
    addr: &'a str,
    port: Option<u16>,
}

/// `ifc:addr/port`, `ifc:addr`, `addr/port`, `addr`, `(addr)`; an identity suffix
/// `(LOCAL\user)` is dropped.
fn endpoint_colon(tok: &str) -> Result<Endpoint<'_>, String> {
    let tok = tok.trim_end_matches(',');
    let tok = match tok.strip_prefix('(') {
        Some(inner) => inner.trim_end_matches(')'),
        None => tok.split('(').next().unwrap_or(tok),
    };
    let bare_ip = |s: &str| parse_ip(s.rsplit_once('/').map_or(s, |(a, _)| a)).is_some();
    let (ifc, rest) = if bare_ip(tok) {
        (None, tok)
    } else {
        match tok.split_once(':') {
            Some((i, r)) if !i.is_empty() => (Some(i), r),
            _ => (None, tok),
        }
    };
    let (addr, port) = match rest.rsplit_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u16>().map_err(|_| format!("bad port in {}", clip(tok)))?)),
        None => (rest, None),
    };
    if addr.is_empty() {
        return Err(format!("no address in {}", clip(tok)));
    }
    Ok(Endpoint { ifc, addr, port })
}

/// `ifc/addr(port)` (message 106100).
fn endpoint_slash(tok: &str) -> Result<Endpoint<'_>, String> {
    let (ifc, rest) = tok.split_once('/').ok_or_else(|| format!("expected interface/address(port): {}", clip(tok)))?;
    let (addr, port) = match rest.split_once('(') {
        Some((a, p)) => {
            let p = p.trim_end_matches(')');
            (a, Some(p.parse::<u16>().map_err(|_| format!("bad port in {}", clip(tok)))?))
        }
        None => (rest, None),
    };
    if addr.is_empty() {
        return Err(format!("no address in {}", clip(tok)));
    }
    Ok(Endpoint { ifc: (!ifc.is_empty()).then_some(ifc), addr, port })
}

/// The token after the first token equal (ignoring case) to `key`.
fn after<'a>(t: &[&'a str], key: &str) -> Option<&'a str> {
    let i = t.iter().position(|x| x.eq_ignore_ascii_case(key))?;
    t.get(i + 1).copied()
}

fn need<'a>(t: &[&'a str], key: &str) -> Result<&'a str, String> {
    after(t, key).ok_or_else(|| format!("no `{key}` part"))
}

fn word<'a>(t: &[&'a str], i: usize) -> Result<&'a str, String> {
    t.get(i).copied().ok_or_else(|| "the message text is cut short".to_string())
}

fn set_ends(ev: &mut Ev, src: Option<&Endpoint>, dst: Option<&Endpoint>) {
    for (side, e, ifc_key) in [("source", src, "observer.ingress.interface.name"), ("destination", dst, "observer.egress.interface.name")] {
        let Some(e) = e else { continue };
        ev.set(&format!("{side}.address"), json!(e.addr));
        if let Some(ip) = parse_ip(e.addr) {
            ev.set(&format!("{side}.ip"), json!(ip.to_string()));
        }
        if let Some(p) = e.port {
            ev.set(&format!("{side}.port"), json!(p));
        }
        if let Some(i) = e.ifc {
            ev.set(ifc_key, json!(i));
        }
    }
}

fn set_action(ev: &mut Ev, action: &str) {
    let a = action.to_ascii_lowercase();
    let denied = is_deny_word(&a);
    ev.set("event.action", json!(a));
    ev.set("event.category", json!(["network"]));
    ev.set("event.type", json!(["connection", if denied { "denied" } else { "allowed" }]));
}

fn set_direction(ev: &mut Ev, word: &str) {
    if word.eq_ignore_ascii_case("inbound") {
        ev.set("network.direction", json!("inbound"));
    } else if word.eq_ignore_ascii_case("outbound") {
        ev.set("network.direction", json!("outbound"));
    }
}

/// The action, the protocol and the two ends of a connection.
fn set_connection(ev: &mut Ev, action: &str, proto: &str, src: Option<&Endpoint>, dst: Option<&Endpoint>) {
    set_action(ev, action);
    set_transport(ev, proto);
    set_ends(ev, src, dst);
}

/// `… on interface NAME`: the interface the packet came in on.
fn set_ingress_interface(ev: &mut Ev, t: &[&str]) {
    if let Some(ifc) = after(t, "interface") {
        ev.set("observer.ingress.interface.name", json!(ifc));
    }
}

/// `ACTION [inbound|outbound] PROTOCOL … SRC_KEY SOURCE … DST_KEY DESTINATION …`, the shape of
/// the deny messages; the direction is set when the text states it.
fn read_deny(ev: &mut Ev, t: &[&str], src_key: &str, dst_key: &str) -> Result<(), String> {
    let action = word(t, 0)?;
    let mut i = 1;
    if let Some(d) = t.get(1).filter(|w| w.eq_ignore_ascii_case("inbound") || w.eq_ignore_ascii_case("outbound")) {
        set_direction(ev, d);
        i = 2;
    }
    let proto = word(t, i)?;
    let src = endpoint_colon(need(t, src_key)?)?;
    let dst = endpoint_colon(need(t, dst_key)?)?;
    set_connection(ev, action, proto, Some(&src), Some(&dst));
    Ok(())
}

/// The endpoint after `first` and the one after the `second` that follows it
/// (`… for FOREIGN … to LOCAL …`, `… from SOURCE … to DESTINATION …`).
fn endpoint_pair<'a>(t: &[&'a str], first: &str, second: &str) -> Result<(Endpoint<'a>, Endpoint<'a>), String> {
    let a = endpoint_colon(need(t, first)?)?;
    let first_at = t.iter().position(|x| x.eq_ignore_ascii_case(first)).unwrap_or(0);
    let b = endpoint_colon(need(&t[first_at..], second)?)?;
    Ok((a, b))
}

/// Fills the network fields of the supported ids; other ids are left as they are.
fn read_message(id: &str, text: &str, ev: &mut Ev) -> Result<(), String> {
    let t: Vec<&str> = text.split_whitespace().collect();
    match id {
        // Deny tcp src outside:1.2.3.4/5 dst inside:10.0.0.1/80 by access-group "acl" [..]
        // Deny inbound icmp src outside:1.2.3.4 dst inside:10.0.0.1 (type 8, code 0)
        "106023" | "106014" => {
            read_deny(ev, &t, "src", "dst")?;
            if let Some(acl) = after(&t, "access-group") {
                ev.set("rule.name", json!(acl.trim_matches('"')));
            }
        }
        // access-list acl_in denied tcp inside/10.0.0.16(2011) -> outside/192.0.0.89(2000) hit-cnt 1 ..
        "106100" => {
            if !word(&t, 0)?.eq_ignore_ascii_case("access-list") {
                return Err("expected `access-list`".into());
            }
            let acl = word(&t, 1)?;
            let action = word(&t, 2)?;
            let proto = word(&t, 3)?;
            let src = endpoint_slash(word(&t, 4)?)?;
            if word(&t, 5)? != "->" {
                return Err("expected `->` between the endpoints".into());
            }
            let dst = endpoint_slash(word(&t, 6)?)?;
            set_connection(ev, action, proto, Some(&src), Some(&dst));
            ev.set("rule.name", json!(acl));
        }
        // Deny inbound UDP from 192.0.2.66/137 to 10.1.2.42/137 on interface inside (106006)
        // Deny inbound UDP from 192.0.0.66/12981 to 10.1.2.60/53 due to DNS Query (106007)
        // Deny TCP (no connection) from 192.0.2.222/1234 to 192.168.1.34/5679 flags RST on interface outside (106015)
        // Deny TCP reverse path check from 1.2.3.4 to 5.6.7.8 on interface outside (106021)
        // Deny IP spoof from (0.0.0.0) to 192.88.99.47 on interface Mobile_Traffic (106016)
        "106006" | "106007" | "106015" | "106016" | "106021" => {
            read_deny(ev, &t, "from", "to")?;
            set_ingress_interface(ev, &t);
        }
        // Inbound TCP connection denied from 10.0.0.1/1234 to 10.0.0.2/80 flags SYN on interface outside
        "106001" => {
            set_direction(ev, word(&t, 0)?);
            let proto = word(&t, 1)?;
            let action = word(&t, 3)?;
            let src = endpoint_colon(need(&t, "from")?)?;
            let dst = endpoint_colon(need(&t, "to")?)?;
            set_connection(ev, action, proto, Some(&src), Some(&dst));
            set_ingress_interface(ev, &t);
        }
        // Denied ICMP type=3, code=3 from 10.2.3.5 on interface Outside
        "313001" => {
            let action = word(&t, 0)?;
            let proto = word(&t, 1)?;
            let src = endpoint_colon(need(&t, "from")?)?;
            set_connection(ev, action, proto, Some(&src), None);
            set_ingress_interface(ev, &t);
        }
        // Built outbound TCP connection 1 for outside:F/443 (F/443) to inside:L/4952 (M/12834)
        "302013" | "302015" => {
            let dir = word(&t, 1)?;
            let proto = word(&t, 2)?;
            let (foreign, local) = endpoint_pair(&t, "for", "to")?;
            set_direction(ev, dir);
            if dir.eq_ignore_ascii_case("inbound") {
                set_connection(ev, word(&t, 0)?, proto, Some(&foreign), Some(&local));
            } else {
                set_connection(ev, word(&t, 0)?, proto, Some(&local), Some(&foreign));
            }
        }
        // Teardown TCP connection 4 for outside:F/1234 to dmz:L/5678 duration 0:01:08 bytes 134781 TCP FINs
        "302014" | "302016" => {
            let proto = word(&t, 1)?;
            let (foreign, local) = endpoint_pair(&t, "for", "to")?;
            set_connection(ev, word(&t, 0)?, proto, Some(&local), Some(&foreign));
            if let Some(b) = after(&t, "bytes").and_then(|b| b.parse::<u64>().ok()) {
                ev.set("network.bytes", json!(b));
            }
            if let Some(ns) = after(&t, "duration").and_then(hms_nanos) {
                ev.set("event.duration", json!(ns));
            }
            if let Some(i) = t.iter().position(|x| x.eq_ignore_ascii_case("bytes")) {
                let reason = t.get(i + 2..).unwrap_or_default().join(" ");
                if !reason.is_empty() {
                    ev.set("event.reason", json!(reason));
                }
            }
        }
        // Dynamic Filter dropped blacklisted TCP traffic from inside:10.1.1.1/33340 (10.2.1.1/33340)
        //   to outside:192.0.2.223/80 (192.0.2.223/80), destination 192.0.2.223 resolved from ..
        "338001" | "338002" | "338003" | "338004" | "338005" | "338006" | "338007" | "338008" => {
            if !(word(&t, 0)?.eq_ignore_ascii_case("dynamic") && word(&t, 1)?.eq_ignore_ascii_case("filter")) {
                return Err("expected `Dynamic Filter`".into());
            }
            let action = word(&t, 2)?;
            let traffic_at =
                t.iter().position(|x| x.eq_ignore_ascii_case("traffic")).ok_or("no `traffic` part")?;
            let proto = traffic_at.checked_sub(1).and_then(|i| t.get(i)).copied().unwrap_or_default();
            let (src, dst) = endpoint_pair(&t, "from", "to")?;
            set_connection(ev, action, proto, Some(&src), Some(&dst));
        }
        _ => {}
    }
    Ok(())
}

/// `H:MM:SS` (hours may exceed 23) → nanoseconds.
fn hms_nanos(s: &str) -> Option<u64> {
    let mut it = s.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let h: u64 = digits(h, 6)?;
    let m: u64 = digits(m, 2)?;
    let sec: u64 = digits(sec, 2)?;
    Some((h * 3600 + m * 60 + sec) * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::test_support::{assert_fields, detector_output, read_sample, syslog_2024};
    use proptest::prelude::*;

    fn parse(line: &str) -> Result<Option<Value>, String> {
        Asa.parse_line(line, &syslog_2024())
    }

    fn ev(line: &str) -> Value {
        parse(line).unwrap().unwrap()
    }

    #[test]
    fn the_tag_must_follow_the_time_and_host() {
        let injected = r#"Jun 25 10:33:00 web nginx: 10.0.0.5 - - "GET /?x=%ASA-4-106023: Deny tcp src inside:10.20.0.77/1 dst outside:198.51.100.1/8080 by access-group \"x\" [0x0, 0x0]""#;
        assert!(Asa.parse_line(injected, &ImportOptions::default()).is_err());
        let quoted = "Jun 25 10:33:00 app says %ASA-4-106023: Deny tcp src inside:10.20.0.77/1 dst outside:198.51.100.1/8080 by access-group x [0x0, 0x0]";
        assert!(Asa.parse_line(quoted, &ImportOptions::default()).is_err());
        let ok = "Jun 25 10:33:00 fw1 : %FTD-4-106023: Deny tcp src inside:10.20.0.77/1 dst outside:198.51.100.1/8080 by access-group x [0x0, 0x0]";
        assert!(Asa.parse_line(ok, &ImportOptions::default()).unwrap().is_some());
    }

    #[test]
    fn the_detector_sees_denies_and_allows() {
        let deny = ev(r#"Mar 03 2022 08:15:01: %ASA-4-106023: Deny tcp src inside:192.168.10.7/51812 dst outside:198.51.100.20/443 by access-group "in_acl" [0x0, 0x0]"#);
        assert!(detector_output(&deny).contains("\"rule\":\"fw.outbound_deny\""), "{}", detector_output(&deny));
        let allow = ev("Aug 08 2022 10:00:00: %ASA-6-302013: Built outbound TCP connection 42 for outside:198.51.100.20/443 (198.51.100.20/443) to inside:10.0.0.5/50123 (198.51.100.2/61000)");
        assert!(!detector_output(&allow).contains("fw.outbound_deny"));
    }

    #[test]
    fn deny_by_access_group() {
        let v = ev(r#"Mar 03 2022 08:15:01: %ASA-4-106023: Deny tcp src inside:192.168.10.7/51812 dst outside:198.51.100.20/443 by access-group "in_acl" [0x0, 0x0]"#);
        assert_fields(&v, json!({
            "@timestamp": "2022-03-03T08:15:01Z",
            "event": {"action": "deny", "code": "106023", "dataset": "cisco.asa", "kind": "event"},
            "source": {"ip": "192.168.10.7", "port": 51812},
            "destination": {"ip": "198.51.100.20", "port": 443},
            "network": {"transport": "tcp"},
            "observer": {"type": "firewall", "ingress": {"interface": {"name": "inside"}}},
            "rule": {"name": "in_acl"},
        }));
        assert!(v["event"]["original"].as_str().unwrap().starts_with("Mar 03 2022"));
        assert!(v.get("network").unwrap().get("direction").is_none());
    }

    #[test]
    fn access_list_denied_and_permitted() {
        let v = ev("<166>Jul 01 2023 23:59:59 fw-a : %ASA-6-106100: access-list out_acl denied udp inside/10.1.1.9(5353) -> outside/203.0.113.53(53) hit-cnt 1 first hit [0x1, 0x0]");
        assert_fields(&v, json!({
            "event": {"action": "denied", "type": ["connection", "denied"]},
            "observer": {"hostname": "fw-a"},
            "log": {"syslog": {"severity": {"code": 6}}},
            "source": {"port": 5353},
            "destination": {"ip": "203.0.113.53"},
            "rule": {"name": "out_acl"},
        }));
        let v = ev("Jul 01 2023 23:59:59 EDT: %ASA-session-5-106100: access-list out_acl permitted tcp inside/10.1.1.9(40000) -> outside/203.0.113.8(8080) hit-cnt 3 300-second interval [0x1, 0x0]");
        assert_eq!(v["event"]["action"], "permitted");
        assert_eq!(v["@timestamp"], "2023-07-02T03:59:59Z"); // EDT is UTC-4
        assert_eq!(v["event"]["code"], "106100");
    }

    #[test]
    fn deny_inbound_udp_sets_direction() {
        let v = ev("Feb 10 2021 04:05:06: %ASA-2-106006: Deny inbound UDP from 198.51.100.66/137 to 10.9.8.7/137 on interface outside");
        assert_eq!(v["network"]["direction"], "inbound");
        assert_eq!(v["network"]["transport"], "udp");
        assert_eq!(v["observer"]["ingress"]["interface"]["name"], "outside");
        let v = ev("Feb 10 2021 04:05:06: %ASA-2-106007: Deny inbound UDP from 198.51.100.66/40001 to 10.9.8.7/53 due to DNS Query");
        assert_eq!(v["event"]["action"], "deny");
        assert_eq!(v["destination"]["port"], 53);
    }

    #[test]
    fn no_connection_spoof_and_reverse_path() {
        let v = ev("2019-10-11T14:35:34Z fw1 : %ASA-4-106015: Deny TCP (no connection) from 198.51.100.1/443 to 10.0.0.3/50000 flags RST  on interface outside");
        assert_eq!(v["@timestamp"], "2019-10-11T14:35:34Z");
        assert_eq!(v["event"]["action"], "deny");
        assert_eq!(v["source"]["port"], 443);
        let v = ev("2019-10-11T16:35:34+02:00 %ASA-2-106016: Deny IP spoof from (0.0.0.0) to 198.51.100.47 on interface wan");
        assert_eq!(v["@timestamp"], "2019-10-11T14:35:34Z");
        assert_eq!(v["source"]["ip"], "0.0.0.0");
        assert!(v["network"].get("transport").is_none());
        let v = ev("Jan 02 2020 00:00:00: %ASA-1-106021: Deny TCP reverse path check from 198.51.100.9 to 10.0.0.1 on interface outside");
        assert_eq!(v["destination"]["ip"], "10.0.0.1");
        assert!(v["destination"].get("port").is_none());
        let v = ev("Jan 02 2020 00:00:00: %ASA-2-106001: Inbound TCP connection denied from 198.51.100.9/1234 to 10.0.0.1/22 flags SYN on interface outside");
        assert_eq!(v["event"]["action"], "denied");
        assert_eq!(v["network"]["direction"], "inbound");
    }

    #[test]
    fn dynamic_filter_dropped() {
        let v = ev("Nov 30 2020 12:00:00: %ASA-4-338008: Dynamic Filter dropped blacklisted TCP traffic from inside:10.3.3.3/49152 (198.51.100.3/49152) to outside:203.0.113.66/80 (203.0.113.66/80), destination 203.0.113.66 resolved from dynamic list: evil.example, threat-level: high, category: Malware");
        assert_fields(&v, json!({
            "event": {"action": "dropped"},
            "source": {"ip": "10.3.3.3"},
            "destination": {"ip": "203.0.113.66", "port": 80},
            "observer": {"egress": {"interface": {"name": "outside"}}},
        }));
    }

    #[test]
    fn built_and_teardown_are_allowed() {
        let v = ev("Aug 08 2022 10:00:00: %ASA-6-302013: Built outbound TCP connection 42 for outside:203.0.113.5/443 (203.0.113.5/443) to inside:10.0.0.5/50123 (198.51.100.2/61000)");
        assert_fields(&v, json!({
            "event": {"action": "built", "type": ["connection", "allowed"]},
            "source": {"ip": "10.0.0.5"},
            "destination": {"ip": "203.0.113.5", "port": 443},
            "network": {"direction": "outbound"},
        }));
        let v = ev("Aug 08 2022 10:00:00: %ASA-6-302015: Built inbound UDP connection 43 for outside:203.0.113.5/5000 (203.0.113.5/5000)(LOCAL\\bob) to dmz:10.0.0.6/53 (198.51.100.6/53)");
        assert_eq!(v["source"]["ip"], "203.0.113.5");
        assert_eq!(v["destination"]["port"], 53);
        assert_eq!(v["network"]["direction"], "inbound");
        let v = ev("Aug 08 2022 10:01:00: %ASA-6-302014: Teardown TCP connection 42 for outside:203.0.113.5/443 to inside:10.0.0.5/50123 duration 1:02:03 bytes 9000 TCP FINs");
        assert_fields(&v, json!({
            "event": {"action": "teardown", "duration": 3723u64 * 1_000_000_000, "reason": "TCP FINs"},
            "source": {"ip": "10.0.0.5"},
            "network": {"bytes": 9000},
        }));
        let v = ev("Aug 15 2012 23:30:09 : %ASA-6-302016 Teardown UDP connection 40 for outside:198.51.100.4/500 to inside:10.0.0.4/500 duration 0:02:02 bytes 1416");
        assert_eq!(v["network"]["transport"], "udp");
    }

    #[test]
    fn ipv6_endpoints() {
        let v = ev(r#"Jun 25 10:23:39 fw %ASA-4-106023: Deny tcp src outside:2001:db8::5/40000 dst inside:2001:db8:1::10/22 by access-group "v6" [0x0, 0x0]"#);
        assert_fields(&v, json!({
            "@timestamp": "2024-06-25T10:23:39Z",
            "source": {"ip": "2001:db8::5", "port": 40000},
            "destination": {"ip": "2001:db8:1::10"},
            "observer": {"ingress": {"interface": {"name": "outside"}}},
        }));
        let v = ev("Jun 25 10:23:39 fw %ASA-6-106100: access-list a permitted tcp inside/fe80::1(1000) -> outside/2001:db8::9(443) hit-cnt 1 first hit [0x0, 0x0]");
        assert_eq!(v["destination"]["ip"], "2001:db8::9");
    }

    #[test]
    fn icmp_has_no_ports() {
        let v = ev(r#"Jun 25 10:23:39 fw %ASA-4-106023: Deny icmp src outside:198.51.100.1 dst inside:10.0.0.2 (type 8, code 0) by access-group "o" [0x0, 0x0]"#);
        assert_eq!(v["network"]["transport"], "icmp");
        assert_eq!(v["network"]["iana_number"], "1");
        assert!(v["source"].get("port").is_none());
        assert!(v["destination"].get("port").is_none());
        let v = ev("Jun 25 10:23:39 fw %ASA-3-313001: Denied ICMP type=3, code=3 from 10.2.3.5 on interface outside");
        assert_eq!(v["event"]["action"], "denied");
        assert_eq!(v["source"]["ip"], "10.2.3.5");
    }

    #[test]
    fn unsupported_id_keeps_code_and_message() {
        let v = ev("Nov 16 2009 14:12:35: %ASA-5-304001: 10.30.30.30 Accessed URL 192.0.2.1:/app");
        assert_eq!(v["event"]["code"], "304001");
        assert_eq!(v["message"], "10.30.30.30 Accessed URL 192.0.2.1:/app");
        assert_eq!(v["observer"]["vendor"], "Cisco");
        assert!(v.get("source").is_none() && v.get("network").is_none());
        assert!(v["event"].get("action").is_none());
    }

    #[test]
    fn header_blank_and_foreign_lines() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("   ").unwrap(), None);
        assert!(parse("%ASA-4-106023: Deny tcp src a:1.2.3.4/1 dst b:5.6.7.8/2").is_err(), "no time");
        assert!(parse("june 25 10:23:39 %ASA-5-111008: x").is_ok());
    }

    #[test]
    fn times_use_the_configured_year_and_offset() {
        let o = ImportOptions { syslog_year: 2021, utc_offset_ms: 2 * 3_600_000, ..ImportOptions::default() };
        let v = Asa.parse_line("Jun  5 01:00:00.250 fw %ASA-6-302014: Teardown TCP connection 1 for o:198.51.100.1/1 to i:10.0.0.1/2 duration 0:00:01 bytes 1", &o).unwrap().unwrap();
        assert_eq!(v["@timestamp"], "2021-06-04T23:00:00.25Z");
        let v = Asa.parse_line("2021-06-05 01:00:00 fw %ASA-5-111008: User 'enable_15' executed the 'write' command.", &o).unwrap().unwrap();
        assert_eq!(v["@timestamp"], "2021-06-04T23:00:00Z");
        // 29 February in a year that has none.
        assert!(Asa.parse_line("Feb 29 01:00:00 fw %ASA-5-111008: x", &o).is_err());
    }

    #[test]
    fn wrong_field_counts() {
        // A 106100 line with extra words (one with an endpoint too few: `import::tests::malformed_records_are_errors`).
        let v = ev("Jun 25 10:23:39 fw %ASA-6-106100: access-list a denied tcp inside/10.0.0.1(1) -> outside/198.51.100.1(2) hit-cnt 1 first hit [0x0, 0x0] extra words here");
        assert_eq!(v["destination"]["port"], 2);
    }

    #[test]
    fn non_ascii_garbage() {
        let r = parse("Jun 25 10:23:39 ホスト %ASA-4-106023: Deny tcp src 外:198.51.100.1/1 dst 内:10.0.0.1/2 by access-group \"é\"");
        let v = r.unwrap().unwrap();
        assert_eq!(v["observer"]["ingress"]["interface"]["name"], "外");
    }

    #[test]
    fn one_megabyte_field() {
        let big = "x".repeat(1 << 20);
        assert!(parse(&format!("Jun 25 10:23:39 fw %ASA-4-106023: Deny tcp src outside:{big}/1 dst inside:10.0.0.1/2")).is_ok());
        let v = ev(&format!("Jun 25 10:23:39 fw %ASA-5-111008: {big}"));
        assert_eq!(v["message"].as_str().unwrap().len(), 1 << 20);
        assert!(parse(&format!("Jun 25 10:23:39 fw %ASA-4-{big}: x")).is_err());
        assert!(parse(&format!("{big} %ASA-4-106023: x")).is_err());
        let big_uni = "é".repeat(1 << 19);
        assert!(parse(&format!("Jun 25 10:23:39 fw %ASA-4-106023: Deny tcp src o:{big_uni}")).is_err());
    }

    #[test]
    fn real_sample_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/formats/elastic-beats-samples/sample.log");
        let Ok(text) = std::fs::read_to_string(path) else { return };
        let total = text.lines().filter(|l| !l.trim().is_empty()).count();
        let (mut events, mut with_ip, mut denied) = (0, 0, 0);
        read_sample("asa sample", &mut Asa, &text, &syslog_2024(), |v| {
            events += 1;
            if v.get("source").and_then(|s| s.get("ip")).is_some() {
                with_ip += 1;
            }
            if v["event"]["action"].as_str().is_some_and(is_deny_word) {
                denied += 1;
            }
        });
        eprintln!("asa sample: {events}/{total} events, {with_ip} with source.ip, {denied} denied");
        assert!(events * 100 >= total * 95, "{events}/{total}");
        assert!(with_ip * 100 >= total * 70, "{with_ip}/{total}");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_strings(s in any::<String>()) {
            let _ = Asa.parse_line(&s, &syslog_2024());
        }

        #[test]
        fn never_panics_on_asa_shaped_lines(
            head in "(<1[0-9]{2}>)?(Jun 25 10:23:39|Oct 11 2019 14:35:34|2019-10-11T14:35:34Z|Feb 3 99:99:99)( fw)?( :)? ",
            id in "(106023|106100|106006|106007|106015|106016|106021|106001|106014|302013|302014|302015|302016|313001|338008|999999|1x)",
            text in r"[ a-zA-Z0-9:/().,\[\]é-]{0,80}",
        ) {
            let _ = Asa.parse_line(&format!("{head}%ASA-4-{id}: {text}"), &syslog_2024());
        }
    }
}
