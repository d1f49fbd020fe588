//! The From header: its first mailbox's display name and address, the e-mail addresses a
//! display name shows (also in full-width or spaced-out forms), and the display-name
//! spoofing check behind `mail.display_name_spoof`.

use mail_parser::{Address, HeaderName, HeaderValue};

use super::encoded::{Syntax, encoded_word_problems, structural_problems, with_parsed_header};
use super::{MailError, MailErrorKind, Parsed};

/// The parts of a From header the rules use: the first mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FromHeader {
    /// The display name as a reader sees it: RFC 2047 encoded words decoded, quotes removed,
    /// backslash escapes resolved, comments kept as text (a comment is what many clients show
    /// when there is no phrase, e.g. `ceo@x.example (CEO)`). When the mailbox has no name of
    /// its own but sits in a named group, the group's name. `None` when there is nothing.
    pub display_name: Option<String>,
    /// The address of the first mailbox, as written (not lowercased). `None` when the header
    /// holds no mailbox.
    pub address: Option<String>,
    /// The name of the group the first mailbox belongs to (`Team: a@b.example, …;`).
    pub group: Option<String>,
}

/// Parses a raw From header value strictly: the first problem (see [`parse_from_lenient`]) is
/// the error.
pub fn parse_from(raw: &str) -> Result<FromHeader, MailError> {
    parse_from_lenient(raw).into_result()
}

/// Parses a raw From header value (folded lines allowed; a leading `From:` header name is
/// ignored rather than read as a group name): RFC 5322
/// address lists (first mailbox taken), groups, angle addresses, obsolete forms, quoted
/// strings and comments, with RFC 2047 encoded words decoded. Never fails; problems found
/// (empty value, unterminated quote / comment / angle address, undecodable encoded words)
/// are listed in the result, and the best reading is still given.
pub fn parse_from_lenient(raw: &str) -> Parsed<FromHeader> {
    let raw = strip_from_name(raw);
    if raw.trim().is_empty() {
        return Parsed {
            value: FromHeader::default(),
            problems: vec![MailError::new(MailErrorKind::Empty, "From header is empty")],
        };
    }
    let mut problems = structural_problems(raw, Syntax::Address, "From");
    problems.extend(encoded_word_problems(raw));
    let value = with_parsed_header(HeaderName::From, raw, first_mailbox)
        .flatten()
        .unwrap_or_default();
    Parsed { value, problems }
}

fn strip_from_name(raw: &str) -> &str {
    let trimmed = raw.trim_start();
    match trimmed.get(..5) {
        Some(head) if head.eq_ignore_ascii_case("from:") => trimmed.get(5..).unwrap_or_default(),
        _ => raw,
    }
}

/// Trimmed, `None` when empty.
fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

fn first_mailbox(value: &HeaderValue<'_>) -> Option<FromHeader> {
    let HeaderValue::Address(address) = value else {
        return None;
    };
    match address {
        Address::List(list) => {
            let first = list.first()?;
            Some(mailbox(
                first.name.as_deref(),
                first.address.as_deref(),
                None,
            ))
        }
        Address::Group(groups) => {
            // The first mailbox of any group; failing that, the first named (empty) group.
            for group in groups {
                if let Some(first) = group.addresses.first() {
                    return Some(mailbox(
                        first.name.as_deref(),
                        first.address.as_deref(),
                        group.name.as_deref(),
                    ));
                }
            }
            let group = non_empty(groups.iter().find_map(|g| g.name.as_deref()));
            Some(FromHeader {
                display_name: group.clone(),
                address: None,
                group,
            })
        }
    }
}

fn mailbox(name: Option<&str>, address: Option<&str>, group: Option<&str>) -> FromHeader {
    let group = non_empty(group);
    let mut display_name = non_empty(name);
    let mut address = non_empty(address);
    // `From: John Doe` (no address at all) comes back as an "address" without an @.
    if address.as_deref().is_some_and(|a| !a.contains('@')) && display_name.is_none() {
        display_name = address.take();
    }
    FromHeader {
        display_name: display_name.or_else(|| group.clone()),
        address,
        group,
    }
}

/// Characters that are invisible or only steer text direction; dropped before looking for
/// addresses so they cannot split one.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                      // soft hyphen
            | '\u{061C}'                // Arabic letter mark
            | '\u{180E}'                // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}'   // embeddings and overrides
            | '\u{2060}'..='\u{2064}'   // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}'   // isolates
            | '\u{FEFF}' // zero-width no-break space
    )
}

/// Folds the compatibility forms of ASCII that can stand in for it (NFKC for that range):
/// full-width ASCII U+FF01..U+FF5E, the ideographic space, small and one-dot-leader forms.
pub(crate) fn fold_to_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{FE6B}' => '@',
        '\u{FE52}' | '\u{2024}' => '.',
        _ => c,
    }
}

/// Quotes (and the backslash of an escape) that may wrap a local part or domain in a display
/// name (`"ceo"@x.example`, `ceo\@x.example`).
fn is_quote(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '`' | '\\' | '\u{2018}' | '\u{2019}' | '\u{201C}' | '\u{201D}'
    )
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-=&!#$*^~{|}/?".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// E-mail addresses a display name shows, lowercased, each once, in order of appearance.
///
/// Sees through the usual disguises: full-width forms (`ceo＠yourcorp．example`), invisible
/// and direction-control characters, whitespace or quotes around the `@`
/// (`ceo @ yourcorp.example`, `"ceo"@yourcorp.example`). A candidate needs a non-empty local
/// part and a domain of at least two labels whose last has two or more characters and is not
/// all digits. Only ASCII local parts and domains are recognised, so a Japanese honorific
/// written against the address (`ceo@yourcorp.example様`) is not taken into it.
pub fn addresses_in_display_name(name: &str) -> Vec<String> {
    let chars: Vec<char> = name
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(fold_to_ascii)
        .collect();
    let mut found: Vec<String> = Vec::new();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let Some(local) = local_before(&chars, at) else {
            continue;
        };
        let Some(domain) = domain_after(&chars, at) else {
            continue;
        };
        let address = format!("{local}@{domain}").to_lowercase();
        if !found.contains(&address) {
            found.push(address);
        }
    }
    found
}

/// The local part ending just before `chars[at]` (skipping whitespace and quotes).
fn local_before(chars: &[char], at: usize) -> Option<String> {
    let mut end = at;
    while end > 0
        && chars
            .get(end - 1)
            .is_some_and(|c| c.is_whitespace() || is_quote(*c))
    {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && chars.get(start - 1).is_some_and(|c| is_local_char(*c)) {
        start -= 1;
    }
    let local: String = chars.get(start..end)?.iter().collect();
    let local = local.trim_matches('.');
    (!local.is_empty()).then(|| local.to_string())
}

/// The domain starting just after `chars[at]` (skipping whitespace and quotes).
fn domain_after(chars: &[char], at: usize) -> Option<String> {
    let mut start = at + 1;
    while chars
        .get(start)
        .is_some_and(|c| c.is_whitespace() || is_quote(*c))
    {
        start += 1;
    }
    let mut end = start;
    while chars.get(end).is_some_and(|c| is_domain_char(*c)) {
        end += 1;
    }
    let domain: String = chars.get(start..end)?.iter().collect();
    let domain = domain.trim_matches(|c| c == '.' || c == '-');
    let labels: Vec<&str> = domain.split('.').collect();
    let last = labels.last()?;
    let plausible = labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && last.len() >= 2
        && !last.bytes().all(|b| b.is_ascii_digit());
    plausible.then(|| domain.to_string())
}

/// A From header whose display name shows an address other than the one it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoof {
    /// The decoded display name.
    pub display_name: String,
    /// The From address, as written.
    pub address: String,
    /// The addresses in the display name that differ from `address` (lowercased).
    pub found: Vec<String>,
}

/// The display-name spoofing check: `Some` when the display name contains an e-mail address
/// (see [`addresses_in_display_name`]) that differs, case-insensitively, from the From
/// address. A display name that shows the From address itself is not spoofing, nor is a
/// header without an address or without a display name.
pub fn display_name_spoof(from: &FromHeader) -> Option<Spoof> {
    let address = from.address.as_deref()?;
    let display_name = from.display_name.as_deref()?;
    let own = address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase();
    let found: Vec<String> = addresses_in_display_name(display_name)
        .into_iter()
        .filter(|a| *a != own)
        .collect();
    (!found.is_empty()).then(|| Spoof {
        display_name: display_name.to_string(),
        address: address.to_string(),
        found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(raw: &str) -> FromHeader {
        let parsed = parse_from_lenient(raw);
        assert!(parsed.problems.is_empty(), "{raw}: {:?}", parsed.problems);
        parsed.value
    }

    fn name_and_address(raw: &str) -> (Option<String>, Option<String>) {
        let f = from(raw);
        (f.display_name, f.address)
    }

    fn pair(name: &str, address: &str) -> (Option<String>, Option<String>) {
        (Some(name.to_string()), Some(address.to_string()))
    }

    // ISO-2022-JP "社長 ceo@yourcorp.example" (python3: '社長 ceo@yourcorp.example'
    // .encode('iso-2022-jp'), base64).
    const CEO_2022JP: &str = "=?ISO-2022-JP?B?GyRCPFJEORsoQiBjZW9AeW91cmNvcnAuZXhhbXBsZQ==?=";

    #[test]
    fn acceptance_iso_2022_jp_display_name_spoof() {
        let raw = format!("From: {CEO_2022JP} <attacker@example.net>");
        let value = raw.strip_prefix("From: ").unwrap_or(&raw);
        let header = parse_from(value).expect("clean header");
        assert_eq!(
            header.display_name.as_deref(),
            Some("社長 ceo@yourcorp.example")
        );
        assert_eq!(header.address.as_deref(), Some("attacker@example.net"));
        let spoof = display_name_spoof(&header).expect("spoof");
        assert_eq!(spoof.found, ["ceo@yourcorp.example"]);
        assert_eq!(spoof.address, "attacker@example.net");
        assert_eq!(spoof.display_name, "社長 ceo@yourcorp.example");

        // The same display name on the real address is not spoofing.
        let genuine = parse_from(&format!("{CEO_2022JP} <ceo@yourcorp.example>")).expect("ok");
        assert_eq!(display_name_spoof(&genuine), None);
        let genuine = parse_from(&format!("{CEO_2022JP} <CEO@YourCorp.Example>")).expect("ok");
        assert_eq!(display_name_spoof(&genuine), None);
    }

    #[test]
    fn encodings_in_display_names() {
        // Shift_JIS and EUC-JP "部長 ceo@yourcorp.example", B encoding.
        for raw in [
            "=?Shift_JIS?B?lZSStyBjZW9AeW91cmNvcnAuZXhhbXBsZQ==?= <x@evil.example>",
            "=?EUC-JP?B?yfTEuSBjZW9AeW91cmNvcnAuZXhhbXBsZQ==?= <x@evil.example>",
            "=?UTF-8?B?6YOo6ZW3IGNlb0B5b3VyY29ycC5leGFtcGxl?= <x@evil.example>",
            "=?UTF-8?Q?=E9=83=A8=E9=95=B7_ceo=40yourcorp.example?= <x@evil.example>",
        ] {
            assert_eq!(
                name_and_address(raw),
                pair("部長 ceo@yourcorp.example", "x@evil.example")
            );
        }
        assert_eq!(
            name_and_address("=?ISO-8859-1?Q?J=F6rg_M=FCller?= <j@example.de>"),
            pair("Jörg Müller", "j@example.de")
        );
        // Encoded word inside quotes, as real mailers send.
        assert_eq!(
            name_and_address("\"=?UTF-8?B?56S+6ZW3?=\" <a@b.example>"),
            pair("社長", "a@b.example")
        );
        // Full-width address inside ISO-2022-JP: "代表　ｃｅｏ＠ｙｏｕｒｃｏｒｐ．ｅｘａｍｐｌｅ".
        let f = from(
            "=?ISO-2022-JP?B?GyRCQmVJPSEhI2MjZSNvIXcjeSNvI3UjciNjI28jciNwISUjZSN4I2EjbSNwI2wjZRsoQg==?= <x@evil.example>",
        );
        assert_eq!(
            display_name_spoof(&f).map(|s| s.found),
            Some(vec!["ceo@yourcorp.example".into()])
        );
    }

    #[test]
    fn rfc5322_forms() {
        assert_eq!(
            name_and_address("John Doe <john@x.example>"),
            pair("John Doe", "john@x.example")
        );
        assert_eq!(
            name_and_address("<john@x.example>"),
            (None, Some("john@x.example".into()))
        );
        assert_eq!(
            name_and_address("john@x.example"),
            (None, Some("john@x.example".into()))
        );
        // Quoted string with escapes.
        assert_eq!(
            name_and_address(r#""Doe, \"Big\" John" <john@x.example>"#),
            pair("Doe, \"Big\" John", "john@x.example")
        );
        // Comment after an address: shown as the name.
        assert_eq!(
            name_and_address("john@x.example (John Doe)"),
            pair("John Doe", "john@x.example")
        );
        // Comments inside the phrase are kept as text, the address is found.
        let (name, address) = name_and_address("John (the boss) Doe <john@x.example>");
        assert_eq!(address.as_deref(), Some("john@x.example"));
        let name = name.unwrap_or_default();
        assert!(name.contains("John") && name.contains("Doe") && name.contains("the boss"));
        // Lists: the first mailbox.
        assert_eq!(
            name_and_address("First <a@x.example>, Second <b@x.example>"),
            pair("First", "a@x.example")
        );
        // Folded header.
        assert_eq!(
            name_and_address("\"Folded\r\n Name\" <f@x.example>")
                .1
                .as_deref(),
            Some("f@x.example")
        );
        // A header name left on the value.
        assert_eq!(
            name_and_address("From: John <john@x.example>"),
            pair("John", "john@x.example")
        );
        assert_eq!(from("from:john@x.example").group, None);
        // No display name at all, and no address at all.
        assert_eq!(name_and_address("John Doe").1, None);
    }

    #[test]
    fn addresses_as_phrases_and_comments() {
        for raw in [
            "ceo@yourcorp.example <attacker@evil.example>",
            "attacker@evil.example (ceo@yourcorp.example)",
            "\"ceo@yourcorp.example\" <attacker@evil.example>",
            "ceo\\@yourcorp.example <attacker@evil.example>",
            // Two adjacent encoded words, the second only a space.
            "=?UTF-8?B?Y2VvQHlvdXJjb3JwLmV4YW1wbGU=?= =?UTF-8?B?IA==?= <attacker@evil.example>",
        ] {
            let f = from(raw);
            assert_eq!(f.address.as_deref(), Some("attacker@evil.example"), "{raw}");
            let spoof = display_name_spoof(&f).expect(raw);
            assert_eq!(spoof.found, ["ceo@yourcorp.example"], "{raw}");
        }
        // The first mailbox is the one judged.
        let f = from("\"CEO\" <ceo@yourcorp.example>, attacker@evil.example");
        assert_eq!(display_name_spoof(&f), None);
    }

    #[test]
    fn groups() {
        let f = from("Team: a@b.example, c@d.example;");
        assert_eq!(f.address.as_deref(), Some("a@b.example"));
        assert_eq!(f.group.as_deref(), Some("Team"));
        assert_eq!(f.display_name.as_deref(), Some("Team"));
        let f = from("Team: Alice <a@b.example>, c@d.example;");
        assert_eq!(f.display_name.as_deref(), Some("Alice"));
        let f = from("Undisclosed recipients:;");
        assert_eq!(f.address, None);
        assert_eq!(display_name_spoof(&f), None);
        // A group name showing an address is spoofing too.
        let f = from("\"ceo@yourcorp.example\": attacker@evil.example;");
        assert_eq!(
            display_name_spoof(&f).map(|s| s.found),
            Some(vec!["ceo@yourcorp.example".to_string()])
        );
    }

    #[test]
    fn obsolete_forms() {
        // obs-route in an angle address, and CFWS around the local part and domain.
        let (_, address) = name_and_address("Joe <@relay.example:joe@x.example>");
        assert!(address.is_some_and(|a| a.ends_with("joe@x.example")));
        let (_, address) = name_and_address("Joe Q. Public <joe@x.example>");
        assert_eq!(address.as_deref(), Some("joe@x.example"));
    }

    #[test]
    fn real_sample_from_headers() {
        // Shapes taken from the sample .eml files and the Zeek smtp.log (rewritten).
        assert_eq!(
            name_and_address("non-reply<admin@shop.example>"),
            pair("non-reply", "admin@shop.example")
        );
        assert_eq!(
            name_and_address("\"[`.WeightLoss--]\" <info.abc@shop.example>"),
            pair("[`.WeightLoss--]", "info.abc@shop.example")
        );
        assert_eq!(
            name_and_address("Billing-Online <admin@shop.example>"),
            pair("Billing-Online", "admin@shop.example")
        );
        // The Zeek smtp.log `from` field: a quoted display name that is another address.
        let f = from("\"johndoess@gmail.com\" <aon.123@aon.at>");
        let spoof = display_name_spoof(&f).expect("spoof");
        assert_eq!(spoof.found, ["johndoess@gmail.com"]);
        assert_eq!(spoof.address, "aon.123@aon.at");
        // Its `to` field: the display name is the address itself.
        let f = from("\"JohnDoe123456@gmail.com\" <JohnDoe123456@gmail.com>");
        assert_eq!(display_name_spoof(&f), None);
    }

    #[test]
    fn addresses_in_names() {
        let cases: &[(&str, &[&str])] = &[
            ("ceo@yourcorp.example", &["ceo@yourcorp.example"]),
            ("CEO@YourCorp.Example", &["ceo@yourcorp.example"]),
            ("ceo @ yourcorp.example", &["ceo@yourcorp.example"]),
            ("\"ceo\"@yourcorp.example", &["ceo@yourcorp.example"]),
            ("ceo @yourcorp.example", &["ceo@yourcorp.example"]),
            ("ceo＠yourcorp．example", &["ceo@yourcorp.example"]),
            (
                "ｃｅｏ＠ｙｏｕｒｃｏｒｐ．ｅｘａｍｐｌｅ",
                &["ceo@yourcorp.example"],
            ),
            (
                "ceo\u{200B}@your\u{202E}corp.example",
                &["ceo@yourcorp.example"],
            ),
            ("社長ceo@yourcorp.example様", &["ceo@yourcorp.example"]),
            ("(ceo@yourcorp.example)", &["ceo@yourcorp.example"]),
            (
                "a@x.example, b@y.example, a@x.example",
                &["a@x.example", "b@y.example"],
            ),
            ("Sales Team", &[]),
            ("John @ home", &[]),
            ("twitter @handle", &[]),
            ("a@b", &[]),
            ("a@1.2", &[]),
            ("@yourcorp.example", &[]),
            ("ceo@", &[]),
            ("", &[]),
        ];
        for (name, want) in cases {
            assert_eq!(addresses_in_display_name(name), *want, "{name:?}");
        }
    }

    #[test]
    fn spoof_rules() {
        let header = |name: Option<&str>, address: Option<&str>| FromHeader {
            display_name: name.map(str::to_string),
            address: address.map(str::to_string),
            group: None,
        };
        // Benign look-alikes.
        assert_eq!(
            display_name_spoof(&header(Some("ceo@x.example"), Some("CEO@X.example"))),
            None
        );
        assert_eq!(
            display_name_spoof(&header(Some("John"), Some("john@x.example"))),
            None
        );
        assert_eq!(
            display_name_spoof(&header(Some("ceo@x.example"), None)),
            None
        );
        assert_eq!(display_name_spoof(&header(None, Some("a@x.example"))), None);
        // Only the differing addresses are reported.
        let spoof = display_name_spoof(&header(
            Some("a@x.example via ceo@yourcorp.example"),
            Some("a@x.example"),
        ))
        .expect("spoof");
        assert_eq!(spoof.found, ["ceo@yourcorp.example"]);
    }

    #[test]
    fn malformed_headers_report_problems() {
        let err = parse_from("").expect_err("empty");
        assert_eq!(err.kind, MailErrorKind::Empty);
        assert_eq!(err.to_string(), "From header is empty");

        let err = parse_from("\"ceo@yourcorp.example <attacker@evil.example>").expect_err("quote");
        assert_eq!(err.kind, MailErrorKind::UnterminatedQuote);
        assert!(err.message.contains("unterminated quoted string"), "{err}");

        let err = parse_from("Boss (ceo <b@evil.example>").expect_err("comment");
        assert_eq!(err.kind, MailErrorKind::UnterminatedComment);

        let err = parse_from("Boss <b@evil.example").expect_err("angle");
        assert_eq!(err.kind, MailErrorKind::UnterminatedAngleAddress);

        // Bad base64: kept as raw text, reported; the address is still read.
        let parsed = parse_from_lenient("=?UTF-8?B?***?= <b@evil.example>");
        assert_eq!(parsed.problems[0].kind, MailErrorKind::BadBase64);
        assert_eq!(parsed.value.address.as_deref(), Some("b@evil.example"));
        assert!(
            parsed
                .value
                .display_name
                .is_some_and(|n| n.contains("=?UTF-8?B?"))
        );
        assert_eq!(
            parse_from("=?UTF-8?B?***?= <b@evil.example>").map_err(|e| e.kind),
            Err(MailErrorKind::BadBase64)
        );

        // Unknown charset: reported, and the spoof is still caught.
        let parsed = parse_from_lenient("=?x-unknown?Q?ceo=40yourcorp.example?= <b@evil.example>");
        assert_eq!(parsed.problems[0].kind, MailErrorKind::UnknownCharset);
        assert!(parsed.problems[0].message.contains("x-unknown"));
        assert!(display_name_spoof(&parsed.value).is_some());
    }
}
