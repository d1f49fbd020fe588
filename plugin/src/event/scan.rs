//! One pass over an event's JSON that keeps only the fields malhost's rules read.
//!
//! ECS fields may arrive nested (`{"source":{"ip":…}}`), as flat dotted keys
//! (`{"source.ip":…}`) or any mix of the two (`{"http":{"request.method":…}}`). The scanner
//! resolves every key, segment by segment, against a small static tree of the fields it knows
//! ([`child`]); anything else is skipped with [`IgnoredAny`] without being materialised.
//! Strings are borrowed from the input when they contain no escapes, so an event that no rule
//! cares about costs one validation pass and no allocation.
//!
//! What serde_json refuses must not cost the whole event: a line it cannot read for a lone
//! surrogate escape or a number out of range, or one with a known field that serde_json gives
//! as a float (which may be an integer beyond 64 bits), is scanned again with every known
//! field taken as raw JSON text and decoded here ([`scan_raw`]): a string with a lone
//! surrogate escape (`"\ud800"`) is read with U+FFFD in its place, and a number no machine
//! type holds (`18446744073709551616`, `1e400`) is kept as written ([`Scalar::Num`]), so a
//! rule that needs it reports a field error quoting it and every other rule runs. Other
//! lines pay nothing for this.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use serde_json::value::RawValue;

use super::{Event, Scalar, flags};

/// The fields the scanner extracts. Each has one slot in [`Event`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Field {
    /// `@timestamp`
    Timestamp,
    /// `event.action`
    EventAction,
    /// `event.type` (string or array; folded into flags)
    EventType,
    /// `event.category` (string or array; folded into flags)
    EventCategory,
    /// `event.dataset`
    EventDataset,
    /// `event.kind`
    EventKind,
    /// `event.module`
    EventModule,
    /// `event.outcome`
    EventOutcome,
    /// `source.ip`
    SourceIp,
    /// `source.port`
    SourcePort,
    /// `source.bytes` (bytes the client sent)
    SourceBytes,
    /// `destination.ip`
    DestinationIp,
    /// `destination.port`
    DestinationPort,
    /// `destination.bytes` (bytes the server sent back)
    DestinationBytes,
    /// `network.transport`
    NetworkTransport,
    /// `network.iana_number`
    NetworkIanaNumber,
    /// `network.direction`
    NetworkDirection,
    /// `observer.type`
    ObserverType,
    /// `url.full`
    UrlFull,
    /// `url.original`
    UrlOriginal,
    /// `url.domain`
    UrlDomain,
    /// `url.port`
    UrlPort,
    /// `http.request.method`
    HttpRequestMethod,
    /// `http.request.bytes`
    HttpRequestBytes,
    /// `http.response.status_code`
    HttpResponseStatusCode,
    /// `user_agent.original`
    UserAgentOriginal,
    /// `user.name`
    UserName,
    /// `email.from.address` (string or array; every string is collected)
    EmailFromAddress,
    /// `email.from.display_name` (custom: the From display name when the raw header is absent)
    EmailFromDisplayName,
    /// `email.headers.from` (custom: the raw From header value)
    EmailHeadersFrom,
    /// `email.headers.content_type` (custom: raw Content-Type values; string or array)
    EmailHeadersContentType,
    /// `email.headers.content_disposition` (custom: raw Content-Disposition values)
    EmailHeadersContentDisposition,
    /// `email.attachments[].file.name` (every attachment's name is collected)
    EmailAttachmentFileName,
    /// `email.subject`
    EmailSubject,
    /// `email.message_id`
    EmailMessageId,
    /// `message` (a raw log line, read by `raw_messages`)
    Message,
    /// `malhost.sample` (sample id of sandbox logs)
    MalhostSample,
}

impl Field {
    /// Whether every string of the field is kept ([`crate::event::Event::texts`]), not only
    /// the last value: fields that are lists by nature.
    pub fn is_multi(self) -> bool {
        matches!(
            self,
            Field::EmailFromAddress
                | Field::EmailHeadersContentType
                | Field::EmailHeadersContentDisposition
                | Field::EmailAttachmentFileName
        )
    }

    /// Number of fields (size of the slot array).
    pub const COUNT: usize = Field::MalhostSample as usize + 1;

    /// The field's ECS name, for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Field::Timestamp => "@timestamp",
            Field::EventAction => "event.action",
            Field::EventType => "event.type",
            Field::EventCategory => "event.category",
            Field::EventDataset => "event.dataset",
            Field::EventKind => "event.kind",
            Field::EventModule => "event.module",
            Field::EventOutcome => "event.outcome",
            Field::SourceIp => "source.ip",
            Field::SourcePort => "source.port",
            Field::SourceBytes => "source.bytes",
            Field::DestinationIp => "destination.ip",
            Field::DestinationPort => "destination.port",
            Field::DestinationBytes => "destination.bytes",
            Field::NetworkTransport => "network.transport",
            Field::NetworkIanaNumber => "network.iana_number",
            Field::NetworkDirection => "network.direction",
            Field::ObserverType => "observer.type",
            Field::UrlFull => "url.full",
            Field::UrlOriginal => "url.original",
            Field::UrlDomain => "url.domain",
            Field::UrlPort => "url.port",
            Field::HttpRequestMethod => "http.request.method",
            Field::HttpRequestBytes => "http.request.bytes",
            Field::HttpResponseStatusCode => "http.response.status_code",
            Field::UserAgentOriginal => "user_agent.original",
            Field::UserName => "user.name",
            Field::EmailFromAddress => "email.from.address",
            Field::EmailFromDisplayName => "email.from.display_name",
            Field::EmailHeadersFrom => "email.headers.from",
            Field::EmailHeadersContentType => "email.headers.content_type",
            Field::EmailHeadersContentDisposition => "email.headers.content_disposition",
            Field::EmailAttachmentFileName => "email.attachments.file.name",
            Field::EmailSubject => "email.subject",
            Field::EmailMessageId => "email.message_id",
            Field::Message => "message",
            Field::MalhostSample => "malhost.sample",
        }
    }
}

/// An object the scanner descends into.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    Root,
    Event,
    Source,
    Destination,
    Network,
    Observer,
    Url,
    Http,
    HttpRequest,
    HttpResponse,
    UserAgent,
    User,
    Email,
    EmailFrom,
    EmailHeaders,
    /// `email.attachments`: an array of attachment objects.
    EmailAttachments,
    EmailAttachmentFile,
    Malhost,
    /// Known to be of no interest but worth remembering that it exists (`threat`, `error`).
    Opaque,
}

enum Node {
    Scope(Scope),
    Field(Field),
    Unknown,
}

/// One step down the field tree.
fn child(scope: Scope, seg: &str) -> Node {
    use Field as F;
    use Scope as S;
    match (scope, seg) {
        (S::Root, "@timestamp") => Node::Field(F::Timestamp),
        (S::Root, "message") => Node::Field(F::Message),
        (S::Root, "event") => Node::Scope(S::Event),
        (S::Root, "source") => Node::Scope(S::Source),
        (S::Root, "destination") => Node::Scope(S::Destination),
        (S::Root, "network") => Node::Scope(S::Network),
        (S::Root, "observer") => Node::Scope(S::Observer),
        (S::Root, "url") => Node::Scope(S::Url),
        (S::Root, "http") => Node::Scope(S::Http),
        (S::Root, "user_agent") => Node::Scope(S::UserAgent),
        (S::Root, "user") => Node::Scope(S::User),
        (S::Root, "email") => Node::Scope(S::Email),
        (S::Root, "malhost") => Node::Scope(S::Malhost),
        (S::Root, "threat" | "error") => Node::Scope(S::Opaque),
        (S::Event, "action") => Node::Field(F::EventAction),
        (S::Event, "type") => Node::Field(F::EventType),
        (S::Event, "category") => Node::Field(F::EventCategory),
        (S::Event, "dataset") => Node::Field(F::EventDataset),
        (S::Event, "kind") => Node::Field(F::EventKind),
        (S::Event, "module") => Node::Field(F::EventModule),
        (S::Event, "outcome") => Node::Field(F::EventOutcome),
        (S::Source, "ip") => Node::Field(F::SourceIp),
        (S::Source, "port") => Node::Field(F::SourcePort),
        (S::Source, "bytes") => Node::Field(F::SourceBytes),
        (S::Destination, "ip") => Node::Field(F::DestinationIp),
        (S::Destination, "port") => Node::Field(F::DestinationPort),
        (S::Destination, "bytes") => Node::Field(F::DestinationBytes),
        (S::Network, "transport") => Node::Field(F::NetworkTransport),
        (S::Network, "iana_number") => Node::Field(F::NetworkIanaNumber),
        (S::Network, "direction") => Node::Field(F::NetworkDirection),
        (S::Observer, "type") => Node::Field(F::ObserverType),
        (S::Url, "full") => Node::Field(F::UrlFull),
        (S::Url, "original") => Node::Field(F::UrlOriginal),
        (S::Url, "domain") => Node::Field(F::UrlDomain),
        (S::Url, "port") => Node::Field(F::UrlPort),
        (S::Http, "request") => Node::Scope(S::HttpRequest),
        (S::Http, "response") => Node::Scope(S::HttpResponse),
        (S::HttpRequest, "method") => Node::Field(F::HttpRequestMethod),
        (S::HttpRequest, "bytes") => Node::Field(F::HttpRequestBytes),
        (S::HttpResponse, "status_code") => Node::Field(F::HttpResponseStatusCode),
        (S::UserAgent, "original") => Node::Field(F::UserAgentOriginal),
        (S::User, "name") => Node::Field(F::UserName),
        (S::Email, "from") => Node::Scope(S::EmailFrom),
        (S::Email, "headers") => Node::Scope(S::EmailHeaders),
        (S::Email, "attachments") => Node::Scope(S::EmailAttachments),
        (S::Email, "subject") => Node::Field(F::EmailSubject),
        (S::Email, "message_id") => Node::Field(F::EmailMessageId),
        (S::EmailFrom, "address") => Node::Field(F::EmailFromAddress),
        (S::EmailFrom, "display_name") => Node::Field(F::EmailFromDisplayName),
        (S::EmailHeaders, "from") => Node::Field(F::EmailHeadersFrom),
        (S::EmailHeaders, "content_type") => Node::Field(F::EmailHeadersContentType),
        (S::EmailHeaders, "content_disposition") => Node::Field(F::EmailHeadersContentDisposition),
        (S::EmailAttachments, "file") => Node::Scope(S::EmailAttachmentFile),
        (S::EmailAttachmentFile, "name") => Node::Field(F::EmailAttachmentFileName),
        (S::Malhost, "sample") => Node::Field(F::MalhostSample),
        _ => Node::Unknown,
    }
}

/// Whether a top-level key is, or starts with, one of the objects malhost writes to.
fn is_reserved(key: &str) -> bool {
    ["threat", "malhost", "error"].iter().any(|p| match key.strip_prefix(p) {
        Some(rest) => rest.is_empty() || rest.starts_with('.'),
        None => false,
    })
}

/// Presence flags set when a scope is entered (used by the source classification).
fn scope_flag(scope: Scope) -> u32 {
    match scope {
        Scope::Url | Scope::Http | Scope::HttpRequest | Scope::HttpResponse | Scope::UserAgent => {
            flags::HAS_WEB_FIELDS
        }
        Scope::Email | Scope::EmailFrom | Scope::EmailHeaders | Scope::EmailAttachments | Scope::EmailAttachmentFile => {
            flags::HAS_EMAIL_FIELDS
        }
        _ => 0,
    }
}

/// Reads one whole line into `ev`. Errors are serde_json errors (syntax, depth, not an object).
/// The line must be valid UTF-8 (JSON text is), which also spares serde_json re-checking it.
pub(crate) fn scan<'a>(line: &'a str, ev: &mut Event<'a>) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(line);
    RootSeed { ev }.deserialize(&mut de)?;
    de.end()
}

/// Whether a scan error is one that [`scan_raw`] gets past.
pub(crate) fn raw_scan_helps(e: &serde_json::Error) -> bool {
    let m = e.to_string();
    ["surrogate", "hex escape", "number out of range"].iter().any(|x| m.contains(x))
}

/// [`scan`] with every known field read from its raw JSON text (see the module comment).
pub(crate) fn scan_raw<'a>(line: &'a str, ev: &mut Event<'a>) -> Result<(), serde_json::Error> {
    *ev = Event { raw_fields: true, ..Event::default() };
    scan(line, ev)
}

struct RootSeed<'e, 'a> {
    ev: &'e mut Event<'a>,
}

impl<'de, 'e> DeserializeSeed<'de> for RootSeed<'e, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'e> Visitor<'de> for RootSeed<'e, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        visit_scope(Scope::Root, self.ev, map)
    }
}

/// Walks the entries of an object in `scope`.
fn visit_scope<'de, A: MapAccess<'de>>(
    scope: Scope,
    ev: &mut Event<'de>,
    mut map: A,
) -> Result<(), A::Error> {
    ev.flags |= scope_flag(scope);
    while let Some(key) = map.next_key::<CowStr<'de>>()? {
        let key = key.0;
        if scope == Scope::Root {
            ev.top_level_keys += 1;
        }
        // Most keys name one step of the tree (`"source"`, `"ip"`): one lookup. Only a key
        // that is not known as a whole is split at its dots (`"source.ip"`); a byte loop, as
        // `str::split` costs more than the lookups themselves in wasm.
        let mut node = match child(scope, &key) {
            Node::Unknown => Node::Unknown,
            n => {
                ev.flags |= scope_flag(scope);
                n
            }
        };
        if matches!(node, Node::Unknown) && key.contains('.') {
            node = Node::Scope(scope);
            for seg in key.split('.') {
                node = match node {
                    Node::Scope(s) => {
                        ev.flags |= scope_flag(s);
                        child(s, seg)
                    }
                    _ => Node::Unknown,
                };
            }
        }
        if scope == Scope::Root && is_reserved(&key) {
            ev.flags |= flags::RESERVED_KEYS;
        }
        match node {
            Node::Field(field) => map.next_value_seed(FieldSeed { field, ev: &mut *ev })?,
            Node::Scope(Scope::Opaque) | Node::Unknown => {
                map.next_value::<IgnoredAny>()?;
            }
            Node::Scope(s) => map.next_value_seed(ScopeSeed { scope: s, ev: &mut *ev })?,
        }
    }
    Ok(())
}

struct ScopeSeed<'e, 'a> {
    scope: Scope,
    ev: &'e mut Event<'a>,
}

impl<'de, 'e> DeserializeSeed<'de> for ScopeSeed<'e, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if !self.ev.raw_fields {
            return d.deserialize_any(self);
        }
        // Raw mode: a scalar where an object belongs (`"source":"\ud800"`) is skipped
        // without being decoded; an object (or the attachments array) is walked from its text.
        let raw = <&'de RawValue as de::Deserialize<'de>>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('{') || (text.starts_with('[') && self.scope == Scope::EmailAttachments) {
            let mut inner = serde_json::Deserializer::from_str(text);
            serde::Deserializer::deserialize_any(&mut inner, self).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

impl<'de, 'e> Visitor<'de> for ScopeSeed<'e, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        visit_scope(self.scope, self.ev, map)
    }
    // A scalar or array where an object was expected (`"source": "x"`) is not ours to judge:
    // it passes through, and the fields below it are simply absent. The exception is a scope
    // that is an array of objects by nature (`email.attachments`): each element is visited.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.scope == Scope::EmailAttachments {
            while seq.next_element_seed(ScopeSeed { scope: self.scope, ev: &mut *self.ev })?.is_some() {}
            return Ok(());
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

struct FieldSeed<'e, 'a> {
    field: Field,
    ev: &'e mut Event<'a>,
}

impl<'de, 'e> DeserializeSeed<'de> for FieldSeed<'e, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.ev.raw_fields {
            let raw = <&'de RawValue as de::Deserialize<'de>>::deserialize(d)?;
            self.take(raw.get());
            Ok(())
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de, 'e> Visitor<'de> for FieldSeed<'e, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.set(Scalar::Str(Cow::Borrowed(v)));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.set(Scalar::Str(Cow::Owned(v.to_owned())));
        Ok(())
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.set(Scalar::Str(Cow::Owned(v)));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.set(Scalar::U64(v));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.set(Scalar::I64(v));
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // serde_json gives integers beyond 64 bits as floats too: the text decides (rescan).
        self.ev.rescan = true;
        self.set(Scalar::F64(v));
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.set(Scalar::Bool(v));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.set(Scalar::Null);
        Ok(())
    }
    /// Keyword arrays (`event.type: ["connection","denied"]`) are folded element by element;
    /// the slot records that the field was an array.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Option<CowStrOrSkip<'de>>>()? {
            if let Some(CowStrOrSkip(Some(s))) = item {
                self.ev.fold_keyword(self.field, &s);
                if self.field.is_multi() {
                    self.ev.push_text(self.field, s);
                }
            }
        }
        self.ev.slots[self.field as usize] = Some(Scalar::Array);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.ev.slots[self.field as usize] = Some(Scalar::Object);
        Ok(())
    }
}


impl<'de, 'e> FieldSeed<'e, 'de> {
    fn set(self, v: Scalar<'de>) {
        if let Scalar::Str(s) = &v {
            self.ev.fold_keyword(self.field, s);
            if self.field.is_multi() {
                self.ev.push_text(self.field, s.clone());
            }
        }
        self.ev.slots[self.field as usize] = Some(v);
    }

    /// Reads a value from its raw JSON text (already validated by serde_json).
    fn take(self, raw: &'de str) {
        match raw.as_bytes().first() {
            Some(b'"') => {
                let s = json_string(raw);
                self.set(Scalar::Str(s));
            }
            Some(b'[') => {
                // Keyword arrays (`event.type: ["connection","denied"]`) are folded element by
                // element; the slot records that the field was an array.
                let mut items: Vec<&'de RawValue> = Vec::new();
                let mut de = serde_json::Deserializer::from_str(raw);
                if let Ok(v) = <Vec<&'de RawValue> as de::Deserialize<'de>>::deserialize(&mut de) {
                    items = v;
                }
                for item in items {
                    let t = item.get();
                    if t.starts_with('"') {
                        let s = json_string(t);
                        self.ev.fold_keyword(self.field, &s);
                        if self.field.is_multi() {
                            self.ev.push_text(self.field, s);
                        }
                    }
                }
                self.ev.slots[self.field as usize] = Some(Scalar::Array);
            }
            Some(b'{') => self.ev.slots[self.field as usize] = Some(Scalar::Object),
            Some(b't') => self.set(Scalar::Bool(true)),
            Some(b'f') => self.set(Scalar::Bool(false)),
            Some(b'n') => self.set(Scalar::Null),
            _ => self.set(number(raw)),
        }
    }
}

/// A JSON number from its text: an exact integer when one fits, else a finite float, else the
/// text itself.
fn number(raw: &str) -> Scalar<'_> {
    let integer = !raw.contains(['.', 'e', 'E']);
    if integer {
        if let Ok(n) = raw.parse::<u64>() {
            return Scalar::U64(n);
        }
        if let Ok(n) = raw.parse::<i64>() {
            return Scalar::I64(n);
        }
        return Scalar::Num(Cow::Borrowed(raw));
    }
    match raw.parse::<f64>() {
        Ok(x) if x.is_finite() => Scalar::F64(x),
        _ => Scalar::Num(Cow::Borrowed(raw)),
    }
}

/// A JSON string from its quoted text: borrowed when it has no escapes; escapes decoded, with
/// U+FFFD for a surrogate escape that is not half of a pair.
fn json_string(raw: &str) -> Cow<'_, str> {
    let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    let hex4 = |it: &mut std::str::Chars| -> Option<u32> {
        let h: String = it.by_ref().take(4).collect();
        if h.len() == 4 { u32::from_str_radix(&h, 16).ok() } else { None }
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let Some(u) = hex4(&mut chars) else {
                    out.push('\u{FFFD}');
                    continue;
                };
                if (0xD800..0xDC00).contains(&u) {
                    // A high surrogate: a pair only when a low one follows at once.
                    let rest = chars.as_str();
                    if let Some(after) = rest.strip_prefix("\\u") {
                        let mut look = after.chars();
                        if let Some(lo) = hex4(&mut look).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                            out.push(char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or('\u{FFFD}'));
                            chars = look;
                            continue;
                        }
                    }
                    out.push('\u{FFFD}');
                } else {
                    out.push(char::from_u32(u).unwrap_or('\u{FFFD}'));
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

/// A string that borrows from the input when it can (serde's own `Cow<str>` always copies).
struct CowStr<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Never `None`: without `SKIP` anything but a string is an error.
        d.deserialize_str(StrVisitor::<false>).map(|s| CowStr(s.unwrap_or_default()))
    }
}

/// An array element: a string is kept, anything else is skipped without error.
struct CowStrOrSkip<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for CowStrOrSkip<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor::<true>).map(CowStrOrSkip)
    }
}

/// Reads a string, borrowed from the input when it can be; with `SKIP` any other JSON value
/// is read past and gives `None`, without it that is serde's "invalid type" error.
struct StrVisitor<const SKIP: bool>;

impl<const SKIP: bool> StrVisitor<SKIP> {
    /// What a value that is not a string (`what`) gives.
    fn other<'de, E: de::Error>(self, what: Unexpected) -> Result<Option<Cow<'de, str>>, E> {
        if SKIP { Ok(None) } else { Err(E::invalid_type(what, &self)) }
    }
}

impl<'de, const SKIP: bool> Visitor<'de> for StrVisitor<SKIP> {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if SKIP { "any JSON value" } else { "a string" })
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.other(Unexpected::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.other(Unexpected::Signed(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.other(Unexpected::Unsigned(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.other(Unexpected::Float(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.other(Unexpected::Unit)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if !SKIP {
            return self.other(Unexpected::Seq);
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if !SKIP {
            return self.other(Unexpected::Map);
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Event, Scalar};
    use super::*;

    #[test]
    fn values_serde_json_refuses_are_read_not_fatal() {
        let line = r#"{"@timestamp":"2024-05-01T10:00:00Z","source.ip":"10.0.0.1","user_agent":{"original":"bad\ud800agent \ud83d\ude00"},"event.type":["\udc00","denied"],"x":"\ud800","y":1e400,"destination.port":18446744073709551616,"source.bytes":1e400}"#;
        let ev = Event::parse(line.as_bytes()).unwrap();
        assert_eq!(ev.str(Field::UserAgentOriginal), Some("bad\u{FFFD}agent \u{1F600}"));
        assert!(ev.is_denied(), "the array's other words still count");
        let e = ev.destination_port().unwrap_err();
        assert_eq!(e.to_string(), "destination.port: not a port number (0-65535): 18446744073709551616");
        assert_eq!(ev.get(Field::SourceBytes), Some(&Scalar::Num("1e400".into())));
        assert_eq!(ev.source_ip().unwrap(), Some("10.0.0.1".parse().unwrap()));
        // A scalar where an object belongs, and nested objects, in raw mode.
        let ev = Event::parse(br#"{"user_agent":"\ud800","source":{"ip":"10.0.0.2"},"email":{"attachments":[{"file":{"name":"a\ud800.exe"}}]}}"#).unwrap();
        assert_eq!(ev.source_ip().unwrap(), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(ev.texts(Field::EmailAttachmentFileName).collect::<Vec<_>>(), ["a\u{FFFD}.exe"]);
    }

    #[test]
    fn strings_decode_like_serde_json() {
        for s in [r#""plain""#, r#""a\"b\\c\/d\n\t\r\b\f""#, r#""\u00e9\u65e5\ud83d\ude00""#, r#""""#] {
            assert_eq!(json_string(s), serde_json::from_str::<String>(s).unwrap(), "{s}");
        }
        assert_eq!(json_string(r#""\ud800\u0041""#), "\u{FFFD}A");
        assert_eq!(json_string(r#""\udfff""#), "\u{FFFD}");
        assert!(matches!(json_string(r#""abc""#), Cow::Borrowed("abc")));
        assert_eq!(number("-5"), Scalar::I64(-5));
        assert_eq!(number("1.5e3"), Scalar::F64(1500.0));
        assert_eq!(number("-9223372036854775809"), Scalar::Num("-9223372036854775809".into()));
    }
}
