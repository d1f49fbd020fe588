//! A message file (`.eml`, RFC 5322 with MIME) → one mail event, so real messages can be
//! replayed through the mail rules.
//!
//! | ECS field | from |
//! |---|---|
//! | `@timestamp` | the `Date` header (RFC 3339, its offset kept); absent or unreadable: omitted, and the rules name the field |
//! | `event.kind` / `event.category` / `event.dataset` | `event` / `["email"]` / `mail.eml` |
//! | `email.message_id` | `Message-ID`, without angle brackets |
//! | `email.subject` | `Subject`, decoded |
//! | `email.from.address` / `email.to.address` / `email.cc.address` | the header's addresses |
//! | `email.sender.address` | `Sender`, else `Return-Path` |
//! | `email.headers.from` | the raw `From` value, unfolded (what `mail.display_name_spoof` parses) |
//! | `email.headers.content_type` / `content_disposition` | the raw values of every MIME part, unfolded |
//! | `email.attachments[]` | per attachment: `file.name` (decoded by `mail-parser`), `file.mime_type`, `file.size` |
//! | `email.direction` | not set (a file does not say) |
//! | `log.file.path` | the file's path, as given |
//!
//! Header bytes that are not UTF-8 (raw 8-bit Shift_JIS, say) are read with replacement
//! characters.
//!
//! Every field is bounded, since the sender decides how long headers are: a value longer than
//! [`MAX_FIELD`] bytes keeps its first and last bytes around a marker
//! (`…[1199000 bytes cut]…`), so an attachment name keeps its extension and a From header its
//! angle address, and each list (addresses, MIME parts, attachments) keeps its first
//! [`MAX_ITEMS`] entries. A message with a megabyte Subject is still one small event that the
//! mail rules read.

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Map, Value, json};

/// Longest value copied from a message, in bytes (longer ones are cut in the middle).
pub const MAX_FIELD: usize = 4096;
/// Entries kept per list (addresses of a header, MIME part headers, attachments).
pub const MAX_ITEMS: usize = 256;

/// A value of at most [`MAX_FIELD`] bytes: a longer one keeps its head and tail around a
/// marker naming how much was cut.
pub fn bounded(s: &str) -> String {
    if s.len() <= MAX_FIELD {
        return s.to_string();
    }
    let floor = |mut i: usize| {
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let head = floor(MAX_FIELD * 3 / 4 - 64);
    let mut tail = s.len() - MAX_FIELD / 4;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}…[{} bytes cut]…{}", &s[..head], tail - head, &s[tail..])
}

/// Unfolds a raw header value: line breaks followed by whitespace become one space.
fn unfold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for line in raw.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if pending_space && !line.is_empty() {
            out.push(' ');
        }
        out.push_str(line.trim_start_matches([' ', '\t']).trim_end_matches([' ', '\t']));
        pending_space = true;
    }
    out.trim().to_string()
}

fn addresses(a: Option<&mail_parser::Address>) -> Vec<String> {
    a.map(|a| a.iter().filter_map(|x| x.address()).take(MAX_ITEMS).map(bounded).collect()).unwrap_or_default()
}

/// One message → one event. `Err` when the bytes are not a message at all.
pub fn to_event(bytes: &[u8], path: &str) -> Result<Value, String> {
    let msg = MessageParser::default().parse(bytes).ok_or_else(|| "not a mail message (no headers found)".to_string())?;
    if msg.parts.first().is_none_or(|p| p.headers.is_empty()) {
        return Err("not a mail message (no headers found)".into());
    }
    let raw = msg.raw_message();
    let raw_value = |h: &mail_parser::Header| -> String {
        let (s, e) = (h.offset_start as usize, h.offset_end as usize);
        bounded(&unfold(&String::from_utf8_lossy(raw.get(s..e).unwrap_or_default())))
    };
    let mut email = Map::new();
    if let Some(id) = msg.message_id() {
        email.insert("message_id".into(), json!(bounded(id)));
    }
    if let Some(s) = msg.subject() {
        email.insert("subject".into(), json!(bounded(s)));
    }
    for (key, list) in [("from", addresses(msg.from())), ("to", addresses(msg.to())), ("cc", addresses(msg.cc()))] {
        if !list.is_empty() {
            email.insert(key.into(), json!({ "address": list }));
        }
    }
    let sender = msg.sender().and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_string).or_else(|| {
        msg.return_address().map(str::to_string)
    }).map(|s| bounded(&s));
    if let Some(s) = sender {
        email.insert("sender".into(), json!({ "address": s }));
    }
    let mut headers = Map::new();
    if let Some(h) = msg.parts[0].headers.iter().find(|h| h.name().eq_ignore_ascii_case("from")) {
        headers.insert("from".into(), json!(raw_value(h)));
    }
    let (mut ctypes, mut cdisps) = (Vec::new(), Vec::new());
    for part in msg.parts.iter().take(MAX_ITEMS) {
        for h in &part.headers {
            if h.name().eq_ignore_ascii_case("content-type") {
                ctypes.push(raw_value(h));
            } else if h.name().eq_ignore_ascii_case("content-disposition") {
                cdisps.push(raw_value(h));
            }
        }
    }
    if !ctypes.is_empty() {
        headers.insert("content_type".into(), json!(ctypes));
    }
    if !cdisps.is_empty() {
        headers.insert("content_disposition".into(), json!(cdisps));
    }
    if !headers.is_empty() {
        email.insert("headers".into(), Value::Object(headers));
    }
    let attachments: Vec<Value> = msg
        .attachments()
        .take(MAX_ITEMS)
        .map(|a| {
            let mut file = Map::new();
            if let Some(n) = a.attachment_name() {
                file.insert("name".into(), json!(bounded(n)));
            }
            if let Some(ct) = a.content_type() {
                let mime = match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                };
                file.insert("mime_type".into(), json!(bounded(&mime.to_ascii_lowercase())));
            }
            file.insert("size".into(), json!(a.len()));
            json!({ "file": file })
        })
        .collect();
    if !attachments.is_empty() {
        email.insert("attachments".into(), Value::Array(attachments));
    }
    let mut ev = Map::new();
    if let Some(d) = msg.date() {
        ev.insert("@timestamp".into(), json!(d.to_rfc3339()));
    }
    ev.insert("event".into(), json!({"kind": "event", "category": ["email"], "dataset": "mail.eml"}));
    ev.insert("email".into(), Value::Object(email));
    ev.insert("log".into(), json!({"file": {"path": path}}));
    Ok(Value::Object(ev))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "From: =?ISO-2022-JP?B?GyRCPFJEORsoQiBjZW9AeW91cmNvcnAuZXhhbXBsZQ==?=\r\n <attacker@example.net>\r\nTo: staff@yourcorp.example\r\nSubject: =?UTF-8?B?6KuL5rGC5pu4?=\r\nDate: Thu, 23 Feb 2023 00:45:33 +0900\r\nMessage-ID: <abc@mx.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/octet-stream;\r\n name*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf.exe\r\nContent-Disposition: attachment\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n";

    #[test]
    fn a_message_becomes_a_mail_event() {
        let v = to_event(MSG.as_bytes(), "x.eml").unwrap();
        assert_eq!(v["@timestamp"], "2023-02-23T00:45:33+09:00");
        assert_eq!(v["email"]["message_id"], "abc@mx.example");
        assert_eq!(v["email"]["subject"], "請求書");
        assert_eq!(v["email"]["from"]["address"], json!(["attacker@example.net"]));
        assert_eq!(v["email"]["headers"]["from"], "=?ISO-2022-JP?B?GyRCPFJEORsoQiBjZW9AeW91cmNvcnAuZXhhbXBsZQ==?= <attacker@example.net>");
        assert_eq!(v["email"]["attachments"][0]["file"]["name"], "請求書.pdf.exe");
        let ct = v["email"]["headers"]["content_type"].as_array().unwrap();
        assert!(ct.iter().any(|c| c.as_str().unwrap().contains("name*=UTF-8''%E8")), "{ct:?}");
        // And the mail rules see both tricks.
        let mut d = crate::Detector::default();
        let mut out = Vec::new();
        d.process_line(serde_json::to_string(&v).unwrap().as_bytes(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"id\":\"mail.display_name_spoof\""), "{text}");
        assert!(text.contains("\"id\":\"mail.executable_attachment\""), "{text}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(to_event(b"", "e").is_err());
        let _ = to_event(&[0xff, 0xfe, b'\n', b':'], "f");
        let _ = to_event(b"From: \r\n\r\n", "g");
    }

    #[test]
    fn attacker_sized_headers_are_cut_and_still_detected() {
        let subject = "A".repeat(1_200_000);
        let name = format!("{}invoice.exe", "x".repeat(100_000));
        let m = format!(
            "From: {} <attacker@example.net>\r\nSubject: {subject}\r\nMessage-ID: <big@mx>\r\nDate: Thu, 23 Feb 2023 00:45:33 +0900\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/octet-stream; name=\"invoice.exe\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\nTVqQ\r\n--b--\r\n",
            "B".repeat(300_000)
        );
        let v = to_event(m.as_bytes(), "big.eml").unwrap();
        let line = serde_json::to_string(&v).unwrap();
        assert!(line.len() < 64 * 1024, "{} bytes", line.len());
        let s = v["email"]["subject"].as_str().unwrap();
        assert!(s.len() <= MAX_FIELD + 64 && s.contains("bytes cut]"), "{}", s.len());
        assert!(v["email"]["headers"]["from"].as_str().unwrap().ends_with("<attacker@example.net>"));
        let mut det = crate::Detector::default();
        let mut o = Vec::new();
        det.process_line(line.as_bytes(), &mut o);
        let o = String::from_utf8(o).unwrap();
        assert!(o.contains(r#""kind":"alert""#) && o.contains("mail.executable_attachment"), "{}", &o[..o.len().min(500)]);
        assert_eq!(bounded("short"), "short");
        let cut = bounded(&"é".repeat(5000));
        assert!(cut.len() <= MAX_FIELD + 64 && cut.starts_with('é') && cut.ends_with('é'));
    }
}
