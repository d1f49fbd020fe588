//! Squid's native `access.log`:
//! `time elapsed client code/status bytes method URL user hierarchy/peer type`.
//!
//! | Squid field | ECS field |
//! |---|---|
//! | `time` (epoch seconds with ms) | `@timestamp` |
//! | `elapsed` (ms) | `event.duration` (ns) |
//! | `client` | `source.ip` |
//! | `code` (`TCP_MISS`, `TCP_DENIED`, …) | `event.action` (lower case); `TCP_DENIED` also gives `event.outcome: "failure"` |
//! | `status` | `http.response.status_code` (0, Squid's "no reply", is left out) |
//! | `bytes` (delivered to the client) | `http.response.bytes` — native logs have no request size, so `proxy.upload_volume` sees 0 bytes for them |
//! | `method` | `http.request.method` |
//! | `URL` | `url.original`; for a CONNECT (`host:port`) also `url.domain` and `url.port`; otherwise `url.full` |
//! | `user` (`-` none) | `user.name` |
//! | `hierarchy/peer` (`DIRECT/209.73.177.115`) | `squid.hierarchy_code`; the peer, when an address, `destination.ip` |
//! | `type` (`-` none) | `http.response.mime_type` |
//!
//! `event.dataset` is `squid.access`, `observer.type` `proxy`; `event.original` keeps the line.
//! Times are epoch seconds, so no time zone is involved.
//!
//! Only lines of that shape are read: `time` is digits with an optional fraction, `elapsed` and
//! `bytes` are digits, `client` an address or host name, `code` upper-case letters and `_`
//! (so another program's line that happens to have ten fields is an `Err`). A line that is
//! not UTF-8 ([`LineFormat::parse_bytes`]) is still read: bytes that are not UTF-8 are
//! percent-encoded in the URL (`%FF`, as a client would have sent them) and replaced by U+FFFD
//! elsewhere.

use serde_json::{Map, Value, json};

use super::fields::{clip, epoch_rfc3339};
use super::{ImportOptions, LineFormat};

/// The Squid native access log.
#[derive(Clone, Copy, Debug, Default)]
pub struct Squid;

/// The line with its bytes that are not UTF-8 percent-encoded in the URL (the seventh
/// whitespace-separated field) and replaced by U+FFFD elsewhere.
fn repair(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut field = 0usize;
    let mut start = 0usize;
    let mut in_space = true;
    let flush = |seg: &[u8], field: usize, out: &mut String| {
        for chunk in seg.utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                if field == 6 {
                    out.push_str(&format!("%{b:02X}"));
                } else {
                    out.push('\u{FFFD}');
                }
            }
        }
    };
    for (i, &b) in line.iter().enumerate() {
        let space = b.is_ascii_whitespace();
        if space != in_space {
            flush(&line[start..i], field, &mut out);
            if space {
                field += 1;
            }
            start = i;
            in_space = space;
        }
    }
    flush(&line[start..], field, &mut out);
    out
}

impl LineFormat for Squid {
    fn parse_bytes(&mut self, line: &[u8], opts: &ImportOptions) -> Result<Option<Value>, String> {
        match std::str::from_utf8(line) {
            Ok(text) => self.parse_line(text, opts),
            Err(_) => self.parse_line(&repair(line), opts),
        }
    }

    fn parse_line(&mut self, line: &str, _opts: &ImportOptions) -> Result<Option<Value>, String> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 7 {
            return Err(format!("{} fields where the native access.log format has 10", f.len()));
        }
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let epoch = f[0].split_once('.').map_or(digits(f[0]), |(a, b)| digits(a) && digits(b));
        let time: f64 = f[0].parse().ok().filter(|_| epoch).ok_or_else(|| format!("time: not epoch seconds: {:?}", clip(f[0])))?;
        let stamp = epoch_rfc3339(time).ok_or_else(|| format!("time: out of range: {}", clip(f[0])))?;
        let elapsed: u64 = f[1].parse().map_err(|_| format!("elapsed: not a number of ms: {:?}", clip(f[1])))?;
        let client = f[2];
        if !client.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'_' | b'%' | b'[' | b']')) {
            return Err(format!("client: not an address or host name: {:?}", clip(client)));
        }
        let (code, status) = f[3].split_once('/').ok_or_else(|| format!("result: expected code/status, found {:?}", clip(f[3])))?;
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            return Err(format!("result: not a Squid result code: {:?}", clip(code)));
        }
        let status: u16 = status.parse().map_err(|_| format!("status: not a number: {:?}", clip(status)))?;
        let bytes: u64 = f[4].parse().map_err(|_| format!("bytes: not a number: {:?}", clip(f[4])))?;
        let method = f[5];
        let url = f[6];
        let mut ev = Map::new();
        ev.insert("@timestamp".into(), json!(stamp));
        let mut event = json!({"kind": "event", "category": ["web"], "dataset": "squid.access",
                               "action": code.to_ascii_lowercase(), "duration": elapsed.saturating_mul(1_000_000),
                               "original": line});
        if code.eq_ignore_ascii_case("TCP_DENIED") {
            event["outcome"] = json!("failure");
        }
        ev.insert("observer".into(), json!({"type": "proxy", "product": "squid"}));
        ev.insert("source".into(), json!({"ip": client}));
        let mut u = Map::new();
        u.insert("original".into(), json!(url));
        if method.eq_ignore_ascii_case("CONNECT") {
            if let Some((host, port)) = super::super::rules::proxy_connect_port::authority(url) {
                u.insert("domain".into(), json!(host));
                if let Some(p) = port.and_then(|p| p.parse::<u16>().ok()) {
                    u.insert("port".into(), json!(p));
                }
            }
        } else if url.contains("://") {
            u.insert("full".into(), json!(url));
        }
        ev.insert("url".into(), Value::Object(u));
        let mut response = Map::new();
        if status != 0 {
            response.insert("status_code".into(), json!(status));
        }
        response.insert("bytes".into(), json!(bytes));
        if let Some(t) = f.get(9).filter(|t| **t != "-") {
            response.insert("mime_type".into(), json!(t));
        }
        ev.insert("http".into(), json!({"request": {"method": method}, "response": response}));
        if let Some(user) = f.get(7).filter(|u| **u != "-") {
            ev.insert("user".into(), json!({"name": user}));
        }
        if let Some(h) = f.get(8) {
            let (code, peer) = h.split_once('/').unwrap_or((h, "-"));
            ev.insert("squid".into(), json!({"hierarchy_code": code}));
            if let Some(ip) = crate::event::parse_ip(peer) {
                ev.insert("destination".into(), json!({"ip": ip.to_string()}));
            }
        }
        ev.insert("event".into(), event);
        Ok(Some(Value::Object(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(l: &str) -> Result<Option<Value>, String> {
        Squid.parse_line(l, &ImportOptions::default())
    }

    #[test]
    fn connect_get_and_denied() {
        let c = p("1157689312.049   5006 10.105.21.199 TCP_MISS/200 19763 CONNECT login.example.com:8443 badeyek DIRECT/209.73.177.115 -").unwrap().unwrap();
        assert_eq!(c["@timestamp"], "2006-09-08T04:21:52.049Z");
        assert_eq!(c["url"], json!({"original": "login.example.com:8443", "domain": "login.example.com", "port": 8443}));
        assert_eq!(c["destination"]["ip"], "209.73.177.115");
        assert_eq!(c["user"]["name"], "badeyek");
        assert_eq!(c["event"]["duration"], 5_006_000_000u64);
        let g = p("1157689320.327 2864 10.105.21.199 TCP_MISS/200 10182 GET http://www.example.com/ - DIRECT/207.58.145.61 text/html").unwrap().unwrap();
        assert_eq!(g["url"]["full"], "http://www.example.com/");
        assert!(g.get("user").is_none());
        assert_eq!(g["http"]["response"]["mime_type"], "text/html");
        let d = p("1157689324.156 0 10.105.37.58 TCP_DENIED/407 1700 GET http://x.example/ - NONE/- text/html").unwrap().unwrap();
        assert_eq!(d["event"]["outcome"], "failure");
        assert!(d.get("destination").is_none());
        // The CONNECT to 8443 is what proxy.connect_port flags.
        let mut det = crate::Detector::default();
        let mut o = Vec::new();
        det.process_line(serde_json::to_string(&c).unwrap().as_bytes(), &mut o);
        assert!(String::from_utf8(o).unwrap().contains("proxy.connect_port"));
    }

    #[test]
    fn bad_lines_are_errors() {
        assert!(p("1157689312.049 5006 10.1.1.1").unwrap_err().contains("3 fields"));
        assert!(p("x 1 10.1.1.1 TCP_MISS/200 1 GET http://a/").unwrap_err().starts_with("time"));
        assert!(p("1.0 1 10.1.1.1 TCP_MISS 1 GET http://a/").unwrap_err().starts_with("result"));
        assert!(p("1.0 1 10.1.1.1 TCP_MISS/2x0 1 GET http://a/").unwrap_err().starts_with("status"));
        assert!(p("1e300 1 10.1.1.1 TCP_MISS/200 1 GET http://a/").unwrap_err().starts_with("time"));
        assert!(p("99999999999999999999 1 10.1.1.1 TCP_MISS/200 1 GET http://a/").unwrap_err().contains("out of range"));
        assert!(p("1.0 1 \"10.1.1.1 TCP_MISS/200 1 GET http://a/").unwrap_err().starts_with("client"));
        assert!(p("1.0 1 10.1.1.1 q=BLOCK/200 1 GET http://a/").unwrap_err().starts_with("result"));
        assert_eq!(p("   "), Ok(None));
        let huge = format!("1.0 1 10.1.1.1 TCP_MISS/200 1 GET http://a/{}", "é".repeat(1 << 19));
        assert!(p(&huge).unwrap().is_some());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_in_the_url() {
        let line = b"1157689320.327 2864 10.105.21.199 TCP_MISS/200 10182 GET http://www.example.com/a\xffb\xc3\xa9 us\xfer DIRECT/207.58.145.61 text/html";
        let v = Squid.parse_bytes(line, &ImportOptions::default()).unwrap().unwrap();
        assert_eq!(v["url"]["full"], "http://www.example.com/a%FFb\u{e9}");
        assert_eq!(v["user"]["name"], "us\u{FFFD}r");
        assert_eq!(v["source"]["ip"], "10.105.21.199");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(l in "[ -~é/]{0,120}") {
            let _ = p(&l);
        }
    }
}
