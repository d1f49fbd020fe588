//! Zeek `conn.log`, `http.log` and `smtp.log`, as TSV (with the `#separator`, `#fields`,
//! `#path` header; `-` unset, `(empty)` empty) or as JSON lines.
//!
//! Which log a record belongs to comes from `#path` (TSV), else from the record's fields
//! (`conn_state`/`proto` → conn, `method`/`uri` → http, `mailfrom`/`rcptto` → smtp).
//!
//! | Zeek field | ECS field |
//! |---|---|
//! | `ts` | `@timestamp` (epoch seconds, kept as they are: the malware scenarios of the Stratosphere sets use seconds since capture start, which read as times in January 1970) |
//! | `uid` | `zeek.session_id` |
//! | `id.orig_h` / `id.orig_p` | `source.ip` / `source.port` (ICMP: `zeek.connection.icmp.type`) |
//! | `id.resp_h` / `id.resp_p` | `destination.ip` / `destination.port` (ICMP: `zeek.connection.icmp.code`) |
//! | conn `proto` | `network.transport` |
//! | conn `service` | `network.protocol` |
//! | conn `orig_bytes` / `resp_bytes` | `source.bytes` / `destination.bytes` |
//! | conn `duration` | `event.duration` (ns) |
//! | conn `conn_state` | `zeek.connection.state`; `REJ` (the responder, or a firewall, answered with a reset) also gives `event.action: "rejected"`, the only state that says the connection was refused, so `fw.outbound_deny` sees it; every other state gives `event.action: "allowed"` |
//! | http `method` | `http.request.method` |
//! | http `host` + `uri` (+ port if not 80) | `url.full` (`http://host[:port]/uri`); `host` → `url.domain`; `uri` → `url.original` (for CONNECT: `host:port`) |
//! | http `user_agent` | `user_agent.original` |
//! | http `request_body_len` | `http.request.body.bytes` and `http.request.bytes` (the body is what an upload sends) |
//! | http `response_body_len` / `status_code` / `referrer` | `http.response.body.bytes` / `http.response.status_code` / `http.request.referrer` |
//! | http `username` | `user.name` |
//! | smtp `from` | `email.headers.from` (the raw From header, display name included) |
//! | smtp `mailfrom` / `rcptto` | `email.sender.address` / `email.to.address` |
//! | smtp `subject` / `msg_id` / `date` | `email.subject` / `email.message_id` / `email.origination_timestamp` (as written) |
//! | `label` / `detailedlabel` (labelled captures) | `labels.label` / `labels.detailedlabel` |
//!
//! `event.dataset` is `zeek.conn`, `zeek.http` or `zeek.smtp`; `event.original` keeps the line.

use serde_json::{Map, Value, json};

use super::fields::{clip, epoch_rfc3339};
use super::{ImportOptions, LineFormat};

/// The Zeek logs that become events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeekLog {
    /// `conn.log`.
    Conn,
    /// `http.log`.
    Http,
    /// `smtp.log`.
    Smtp,
}

impl ZeekLog {
    fn from_path(p: &str) -> Option<ZeekLog> {
        match p.trim() {
            "conn" => Some(ZeekLog::Conn),
            "http" => Some(ZeekLog::Http),
            "smtp" => Some(ZeekLog::Smtp),
            _ => None,
        }
    }

    fn guess(rec: &Map<String, Value>) -> Option<ZeekLog> {
        if rec.contains_key("conn_state") || rec.contains_key("proto") {
            Some(ZeekLog::Conn)
        } else if rec.contains_key("method") || rec.contains_key("uri") {
            Some(ZeekLog::Http)
        } else if rec.contains_key("mailfrom") || rec.contains_key("rcptto") || rec.contains_key("helo") {
            Some(ZeekLog::Smtp)
        } else {
            None
        }
    }
}

/// A Zeek log reader: remembers the TSV header of the file it reads.
#[derive(Clone, Debug)]
pub struct Zeek {
    separator: char,
    set_separator: String,
    empty: String,
    unset: String,
    fields: Vec<String>,
    path: Option<String>,
}

impl Default for Zeek {
    fn default() -> Self {
        Zeek {
            separator: '\t',
            set_separator: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            fields: Vec::new(),
            path: None,
        }
    }
}

/// Reads `\x09`-style escapes of the `#separator` line.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl Zeek {
    fn header(&mut self, line: &str) {
        let body = &line[1..];
        let (key, value) = match body.split_once(|c: char| c == self.separator || c == ' ') {
            Some((k, v)) => (k, v),
            None => (body, ""),
        };
        match key {
            "separator" => {
                let s = unescape(value.trim());
                if let Some(c) = s.chars().next() {
                    self.separator = c;
                }
            }
            "set_separator" => self.set_separator = value.to_string(),
            "empty_field" => self.empty = value.to_string(),
            "unset_field" => self.unset = value.to_string(),
            "path" => self.path = Some(value.trim().to_string()),
            "fields" => self.fields = value.split(self.separator).map(str::to_string).collect(),
            _ => {}
        }
    }

    /// One TSV data line → a record of the header's fields (`-` left out, `(empty)` an empty
    /// string or list, sets and vectors split).
    fn tsv_record(&self, line: &str) -> Result<Map<String, Value>, String> {
        if self.fields.is_empty() {
            return Err("a TSV record before any #fields header".into());
        }
        let values: Vec<&str> = line.split(self.separator).collect();
        if values.len() != self.fields.len() {
            return Err(format!("{} columns where the #fields header names {}", values.len(), self.fields.len()));
        }
        let mut rec = Map::new();
        for (name, v) in self.fields.iter().zip(values) {
            if v == self.unset {
                continue;
            }
            let value = if v == self.empty {
                Value::String(String::new())
            } else if LIST_FIELDS.contains(&name.as_str()) && !self.set_separator.is_empty() {
                Value::Array(v.split(self.set_separator.as_str()).map(|x| Value::String(x.to_string())).collect())
            } else {
                Value::String(v.to_string())
            };
            rec.insert(name.clone(), value);
        }
        Ok(rec)
    }
}

/// Fields that are sets or vectors in the logs read here.
const LIST_FIELDS: [&str; 5] = ["rcptto", "to", "cc", "tunnel_parents", "resp_mime_types"];

impl LineFormat for Zeek {
    fn parse_line(&mut self, line: &str, _opts: &ImportOptions) -> Result<Option<Value>, String> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            return Ok(None);
        }
        let (rec, kind) = if line.trim_start().starts_with('{') {
            let rec: Map<String, Value> = serde_json::from_str(line).map_err(|e| format!("not a Zeek JSON record: {e}"))?;
            let kind = rec.get("_path").and_then(Value::as_str).and_then(ZeekLog::from_path).or_else(|| ZeekLog::guess(&rec));
            (rec, kind)
        } else if line.starts_with('#') {
            self.header(line);
            return Ok(None);
        } else {
            let rec = self.tsv_record(line)?;
            let kind = self.path.as_deref().and_then(ZeekLog::from_path).or_else(|| ZeekLog::guess(&rec));
            (rec, kind)
        };
        let kind = kind.ok_or_else(|| {
            format!("not a conn, http or smtp record (#path {:?})", self.path.as_deref().unwrap_or("unknown"))
        })?;
        to_event(&rec, kind, line).map(Some)
    }
}

/// A field as text (strings as they are, numbers written out).
fn text<'a>(rec: &'a Map<String, Value>, k: &str) -> Option<std::borrow::Cow<'a, str>> {
    match rec.get(k)? {
        Value::String(s) if !s.is_empty() => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(b.to_string().into()),
        _ => None,
    }
}

/// A field as a number.
fn number(rec: &Map<String, Value>, k: &str) -> Result<Option<f64>, String> {
    match rec.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| format!("{k}: not a number: {:?}", clip(s))),
        Some(v) => Err(format!("{k}: not a number: {}", clip(&v.to_string()))),
    }
}

fn count(rec: &Map<String, Value>, k: &str) -> Result<Option<u64>, String> {
    Ok(number(rec, k)?.filter(|x| *x >= 0.0 && x.fract() == 0.0 && *x < 1.8e19).map(|x| x as u64))
}

fn port(rec: &Map<String, Value>, k: &str) -> Result<Option<u16>, String> {
    match number(rec, k)? {
        None => Ok(None),
        Some(x) if x.fract() == 0.0 && (0.0..=65535.0).contains(&x) => Ok(Some(x as u16)),
        Some(x) => Err(format!("{k}: not a port: {x}")),
    }
}

fn list(rec: &Map<String, Value>, k: &str) -> Vec<String> {
    match rec.get(k) {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_string).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn to_event(rec: &Map<String, Value>, kind: ZeekLog, line: &str) -> Result<Value, String> {
    let mut ev = Map::new();
    let ts = number(rec, "ts")?.ok_or("ts: missing")?;
    let stamp = epoch_rfc3339(ts).ok_or_else(|| format!("ts: out of range: {ts}"))?;
    ev.insert("@timestamp".into(), json!(stamp));
    let dataset = match kind {
        ZeekLog::Conn => "zeek.conn",
        ZeekLog::Http => "zeek.http",
        ZeekLog::Smtp => "zeek.smtp",
    };
    let mut event = json!({"kind": "event", "dataset": dataset, "original": line});
    let mut source = Map::new();
    let mut destination = Map::new();
    if let Some(ip) = text(rec, "id.orig_h") {
        source.insert("ip".into(), json!(ip));
    }
    if let Some(ip) = text(rec, "id.resp_h") {
        destination.insert("ip".into(), json!(ip));
    }
    if let Some(uid) = text(rec, "uid") {
        ev.insert("zeek".into(), json!({"session_id": uid}));
    }
    // For ICMP, Zeek writes the type and code where the ports go.
    let icmp = kind == ZeekLog::Conn && text(rec, "proto").is_some_and(|p| p.eq_ignore_ascii_case("icmp"));
    let (sport, dport) = (port(rec, "id.orig_p")?, port(rec, "id.resp_p")?);
    if icmp {
        let z = ev.entry("zeek").or_insert_with(|| json!({}));
        z["connection"] = json!({"icmp": {"type": sport, "code": dport}});
    } else {
        if let Some(p) = sport {
            source.insert("port".into(), json!(p));
        }
        if let Some(p) = dport {
            destination.insert("port".into(), json!(p));
        }
    }
    match kind {
        ZeekLog::Conn => {
            let mut network = Map::new();
            if let Some(p) = text(rec, "proto") {
                network.insert("transport".into(), json!(p.to_ascii_lowercase()));
            }
            if let Some(s) = text(rec, "service") {
                network.insert("protocol".into(), json!(s));
            }
            if let Some(b) = count(rec, "orig_bytes")? {
                source.insert("bytes".into(), json!(b));
            }
            if let Some(b) = count(rec, "resp_bytes")? {
                destination.insert("bytes".into(), json!(b));
            }
            if let Some(d) = number(rec, "duration")? {
                event["duration"] = json!((d * 1e9).round() as i64);
            }
            let state = text(rec, "conn_state");
            event["action"] = json!(if state.as_deref() == Some("REJ") { "rejected" } else { "allowed" });
            event["category"] = json!(["network"]);
            if let Some(s) = state {
                let z = ev.entry("zeek").or_insert_with(|| json!({}));
                if !z["connection"].is_object() {
                    z["connection"] = json!({});
                }
                z["connection"]["state"] = json!(s);
            }
            if !network.is_empty() {
                ev.insert("network".into(), Value::Object(network));
            }
        }
        ZeekLog::Http => {
            let method = text(rec, "method");
            let host = text(rec, "host");
            let uri = text(rec, "uri");
            let mut url = Map::new();
            if let Some(h) = &host {
                url.insert("domain".into(), json!(h));
            }
            if let Some(u) = &uri {
                url.insert("original".into(), json!(u));
            }
            let is_connect = method.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("CONNECT"));
            if let (Some(h), false) = (&host, is_connect) {
                let port = match dport {
                    Some(80) | None => String::new(),
                    Some(p) => format!(":{p}"),
                };
                let path = uri.as_deref().filter(|u| u.starts_with('/')).unwrap_or("/");
                url.insert("full".into(), json!(format!("http://{h}{port}{path}")));
            }
            let mut request = Map::new();
            if let Some(m) = &method {
                request.insert("method".into(), json!(m));
            }
            if let Some(b) = count(rec, "request_body_len")? {
                request.insert("body".into(), json!({"bytes": b}));
                request.insert("bytes".into(), json!(b));
            }
            if let Some(r) = text(rec, "referrer") {
                request.insert("referrer".into(), json!(r));
            }
            let mut response = Map::new();
            if let Some(s) = count(rec, "status_code")? {
                response.insert("status_code".into(), json!(s));
            }
            if let Some(b) = count(rec, "response_body_len")? {
                response.insert("body".into(), json!({"bytes": b}));
            }
            ev.insert("url".into(), Value::Object(url));
            ev.insert("http".into(), json!({"request": request, "response": response}));
            if let Some(ua) = text(rec, "user_agent") {
                ev.insert("user_agent".into(), json!({"original": ua}));
            }
            if let Some(u) = text(rec, "username") {
                ev.insert("user".into(), json!({"name": u}));
            }
            event["category"] = json!(["web"]);
        }
        ZeekLog::Smtp => {
            let mut email = Map::new();
            if let Some(f) = text(rec, "from") {
                email.insert("headers".into(), json!({"from": f}));
            }
            if let Some(m) = text(rec, "mailfrom") {
                email.insert("sender".into(), json!({"address": m}));
            }
            let to = list(rec, "rcptto");
            if !to.is_empty() {
                email.insert("to".into(), json!({"address": to}));
            }
            if let Some(s) = text(rec, "subject") {
                email.insert("subject".into(), json!(s));
            }
            if let Some(m) = text(rec, "msg_id") {
                email.insert("message_id".into(), json!(m));
            }
            if let Some(d) = text(rec, "date") {
                email.insert("origination_timestamp".into(), json!(d));
            }
            ev.insert("email".into(), Value::Object(email));
            event["category"] = json!(["email"]);
        }
    }
    let mut labels = Map::new();
    for k in ["label", "detailedlabel"] {
        if let Some(v) = text(rec, k) {
            labels.insert(k.into(), json!(v));
        }
    }
    if !labels.is_empty() {
        ev.insert("labels".into(), Value::Object(labels));
    }
    if !source.is_empty() {
        ev.insert("source".into(), Value::Object(source));
    }
    if !destination.is_empty() {
        ev.insert("destination".into(), Value::Object(destination));
    }
    ev.insert("event".into(), event);
    Ok(Value::Object(ev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::test_support::detector_output;

    const CONN: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\ttunnel_parents\tlabel\tdetailedlabel\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tset[string]\tstring\tstring\n1641918754.5\tC1\t10.0.0.5\t49152\t66.63.168.35\t5888\ttcp\t-\t0.5\t0\t0\tREJ\t(empty)\tMalicious\tC&C-RemcosRAT\n12.25\tC2\tfd00::5\t5353\tff02::fb\t5353\tudp\tdns\t-\t-\t-\tS0\t(empty)\t-\t-\n";

    fn run(text: &str) -> Vec<Result<Value, String>> {
        let mut z = Zeek::default();
        let o = ImportOptions::default();
        text.lines().filter_map(|l| z.parse_line(l, &o).transpose()).collect()
    }

    #[test]
    fn tsv_conn_with_labels_and_rejects() {
        let out = run(CONN);
        assert_eq!(out.len(), 2);
        let a = out[0].as_ref().unwrap();
        assert_eq!(a["@timestamp"], "2022-01-11T16:32:34.500Z");
        assert_eq!(a["source"], json!({"ip": "10.0.0.5", "port": 49152, "bytes": 0}));
        assert_eq!(a["destination"]["port"], 5888);
        assert_eq!(a["network"]["transport"], "tcp");
        assert_eq!(a["event"]["action"], "rejected");
        assert_eq!(a["event"]["dataset"], "zeek.conn");
        assert_eq!(a["labels"], json!({"label": "Malicious", "detailedlabel": "C&C-RemcosRAT"}));
        let b = out[1].as_ref().unwrap();
        assert_eq!(b["@timestamp"], "1970-01-01T00:00:12.250Z", "relative times are kept");
        assert_eq!(b["event"]["action"], "allowed");
        assert!(b.get("labels").is_none());
        // The detector reads it as a denied firewall event.
        assert!(detector_output(a).contains("fw.outbound_deny"));
    }

    #[test]
    fn json_http_and_smtp() {
        let out = run(concat!(
            r#"{"ts":29.86,"uid":"C3","id.orig_h":"10.0.2.15","id.orig_p":49156,"id.resp_h":"147.32.80.7","id.resp_p":8080,"trans_depth":1,"method":"POST","host":"evil.example","uri":"/gate.php?id=1","user_agent":"curl/8","request_body_len":5000,"response_body_len":10,"status_code":200}"#, "\n",
            r#"{"ts":1641918754.9,"uid":"C4","id.orig_h":"10.1.11.101","id.orig_p":63246,"id.resp_h":"80.75.42.226","id.resp_p":25,"mailfrom":"aon.9@aon.at","rcptto":["a@gmail.example","b@gmail.example"],"from":"\"johndoess@gmail.com\" <aon.123@aon.at>","subject":"hi"}"#
        ));
        let h = out[0].as_ref().unwrap();
        assert_eq!(h["url"]["full"], "http://evil.example:8080/gate.php?id=1");
        assert_eq!(h["http"]["request"]["bytes"], 5000);
        assert_eq!(h["user_agent"]["original"], "curl/8");
        let m = out[1].as_ref().unwrap();
        assert_eq!(m["email"]["headers"]["from"], "\"johndoess@gmail.com\" <aon.123@aon.at>");
        assert_eq!(m["email"]["to"]["address"], json!(["a@gmail.example", "b@gmail.example"]));
        assert!(detector_output(m).contains("mail.display_name_spoof"));
    }

    #[test]
    fn bad_records_are_errors() {
        let mut z = Zeek::default();
        let o = ImportOptions::default();
        assert!(z.parse_line("1.0\tC\t10.0.0.1", &o).unwrap_err().contains("before any #fields"));
        for l in CONN.lines().take(7) {
            z.parse_line(l, &o).unwrap();
        }
        assert!(z.parse_line("1.0\tC\t10.0.0.1", &o).unwrap_err().contains("3 columns where the #fields header names 15"));
        assert!(z.parse_line("{\"ts\":", &o).is_err());
        assert!(z.parse_line(r#"{"ts":"x","proto":"tcp"}"#, &o).unwrap_err().starts_with("ts: not a number"));
        assert!(z.parse_line(r#"{"ts":1e300,"proto":"tcp"}"#, &o).is_err());
        assert!(z.parse_line(r#"{"ts":1,"weird":1}"#, &o).unwrap_err().contains("not a conn, http or smtp"));
        assert_eq!(z.parse_line("", &o), Ok(None));
        let huge = format!("{}\t", "x".repeat(1 << 20));
        assert!(z.parse_line(&huge, &o).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec("[ -~\t\\\\é{}\":,#]{0,60}", 0..8)) {
            let mut z = Zeek::default();
            let o = ImportOptions::default();
            for l in CONN.lines().take(7) {
                let _ = z.parse_line(l, &o);
            }
            for l in &lines {
                let _ = z.parse_line(l, &o);
            }
        }
    }
}
