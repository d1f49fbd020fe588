//! RFC 2047 encoded words, and the plumbing shared by the header parsers: handing a lone header
//! value to `mail-parser`, and the structural scan (quotes, comments, angle brackets) that
//! reports what `mail-parser` silently tolerates.

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderName, HeaderValue, MessageParser};

use super::{MailError, MailErrorKind, Parsed, excerpt};

/// Base64 as mailers write it in encoded words: padding optional, stray low bits tolerated.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// How many characters of offending text an error message quotes.
const QUOTE_MAX: usize = 60;

/// Decodes the RFC 2047 encoded words in `text` (e.g. an attachment name taken from an event),
/// returning the decoded text and a problem for each word that could not be decoded cleanly.
/// Text without `=?` is returned unchanged. Adjacent encoded words separated only by
/// whitespace are joined, as RFC 2047 asks.
pub fn decode_encoded_words(text: &str) -> Parsed<String> {
    if !text.contains("=?") {
        return Parsed {
            value: text.to_string(),
            problems: Vec::new(),
        };
    }
    let decoded = with_parsed_header(HeaderName::Subject, text, |value| match value {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(list) => Some(list.join(" ")),
        _ => None,
    })
    .flatten();
    Parsed {
        value: decoded.unwrap_or_else(|| text.to_string()),
        problems: encoded_word_problems(text),
    }
}

/// RFC 5322 unfolding, and protection against a value that would end the header block of the
/// wrapper message: every CR and LF is removed.
fn unfold(raw: &str) -> String {
    raw.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// Parses `value` as the value of header `name` by wrapping it in a minimal message, and
/// hands the parsed value to `f`. `None` when `mail-parser` produced no such header.
pub(crate) fn with_parsed_header<T>(
    name: HeaderName<'static>,
    value: &str,
    f: impl FnOnce(&HeaderValue<'_>) -> T,
) -> Option<T> {
    let message = format!("{}: {}\r\n\r\n", name.as_str(), unfold(value));
    let parsed = MessageParser::default().parse(message.as_bytes())?;
    parsed.header(name).map(f)
}

/// Which brackets a structural scan knows about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// Address headers: quoted strings, comments and angle addresses.
    Address,
    /// MIME parameter headers: quoted strings and comments.
    Parameters,
}

/// Unterminated quoted strings, comments and (for addresses) angle addresses in `raw`.
pub(crate) fn structural_problems(raw: &str, syntax: Syntax, header: &str) -> Vec<MailError> {
    let mut problems = Vec::new();
    let mut in_quote: Option<usize> = None; // character position of the opening quote
    let mut comment_depth = 0usize;
    let mut comment_open = 0usize;
    let mut angle_open: Option<usize> = None;
    let mut escaped = false;
    for (pos, c) in raw.chars().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        if in_quote.is_some() {
            match c {
                '\\' => escaped = true,
                '"' => in_quote = None,
                _ => {}
            }
        } else if comment_depth > 0 {
            match c {
                '\\' => escaped = true,
                '(' => comment_depth += 1,
                ')' => comment_depth -= 1,
                _ => {}
            }
        } else {
            match c {
                '"' => in_quote = Some(pos + 1),
                '(' => {
                    comment_depth = 1;
                    comment_open = pos + 1;
                }
                '<' if syntax == Syntax::Address => angle_open = Some(pos + 1),
                '>' if syntax == Syntax::Address => angle_open = None,
                _ => {}
            }
        }
    }
    if let Some(at) = in_quote {
        problems.push(MailError::new(
            MailErrorKind::UnterminatedQuote,
            format!("{header} header has an unterminated quoted string (opened at character {at})"),
        ));
    }
    if comment_depth > 0 {
        problems.push(MailError::new(
            MailErrorKind::UnterminatedComment,
            format!(
                "{header} header has an unterminated comment (opened at character {comment_open})"
            ),
        ));
    }
    if let Some(at) = angle_open {
        problems.push(MailError::new(
            MailErrorKind::UnterminatedAngleAddress,
            format!("{header} header has an unterminated angle address '<' (at character {at})"),
        ));
    }
    problems
}

/// One `=?charset?encoding?text?=` found in a header.
struct EncodedWord<'a> {
    whole: &'a str,
    charset: &'a str,
    encoding: &'a str,
    text: &'a str,
}

/// The encoded words of `s`, in order. Only ASCII bytes are used as cut points, so every slice
/// is on a character boundary.
fn find_encoded_words(s: &str) -> Vec<EncodedWord<'_>> {
    let bytes = s.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| memchr::memmem::find(rest, b"=?"))
    {
        let start = i + offset;
        match encoded_word_at(s, start) {
            Some((word, end)) => {
                words.push(word);
                i = end;
            }
            None => i = start + 2,
        }
    }
    words
}

/// The encoded word starting at byte `start` (which holds `=?`), and the byte after it.
fn encoded_word_at(s: &str, start: usize) -> Option<(EncodedWord<'_>, usize)> {
    let bytes = s.as_bytes();
    let charset_start = start + 2;
    let charset_len = bytes
        .get(charset_start..)?
        .iter()
        .position(|b| *b == b'?')?;
    let charset_end = charset_start + charset_len;
    let charset = s.get(charset_start..charset_end)?;
    if charset.is_empty()
        || charset.len() > 64
        || charset
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'=')
    {
        return None;
    }
    let encoding_end = charset_end
        + 1
        + bytes
            .get(charset_end + 1..)?
            .iter()
            .position(|b| *b == b'?')?;
    let encoding = s.get(charset_end + 1..encoding_end)?;
    if encoding.is_empty()
        || encoding.len() > 8
        || encoding.bytes().any(|b| b.is_ascii_whitespace())
    {
        return None;
    }
    let text_start = encoding_end + 1;
    let text_len = memchr::memmem::find(bytes.get(text_start..)?, b"?=")?;
    let text_end = text_start + text_len;
    let text = s.get(text_start..text_end)?;
    if text.contains('?') {
        return None;
    }
    let end = text_end + 2;
    Some((
        EncodedWord {
            whole: s.get(start..end)?,
            charset,
            encoding,
            text,
        },
        end,
    ))
}

/// Whether `mail-parser` decodes `charset` (an encoded word's or RFC 2231 value's charset,
/// without any `*language` suffix) with a real decoder rather than its UTF-8 fallback.
pub(crate) fn charset_known(charset: &str) -> bool {
    let label = charset.trim();
    charset_decoder(label.as_bytes()).is_some()
        || label.eq_ignore_ascii_case("utf-8")
        || label.eq_ignore_ascii_case("utf8")
}

/// Checks that `bytes` are valid in `charset`, where encoding_rs knows the charset.
pub(crate) fn charset_data_problem(charset: &str, bytes: &[u8], what: &str) -> Option<MailError> {
    let encoding = encoding_rs::Encoding::for_label(charset.trim().as_bytes())?;
    if encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .is_none()
    {
        Some(MailError::new(
            MailErrorKind::InvalidCharsetData,
            format!("{what} has bytes that are not valid {}", encoding.name()),
        ))
    } else {
        None
    }
}

/// Decodes RFC 2047 Q text, or `None` at an `=` not followed by two hex digits.
fn decode_q(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// A problem for each encoded word in `raw` that cannot be decoded cleanly.
pub(crate) fn encoded_word_problems(raw: &str) -> Vec<MailError> {
    find_encoded_words(raw)
        .iter()
        .filter_map(encoded_word_problem)
        .collect()
}

fn encoded_word_problem(word: &EncodedWord<'_>) -> Option<MailError> {
    let quoted = excerpt(word.whole, QUOTE_MAX);
    // RFC 2231 §5: `charset*language`.
    let charset = word.charset.split('*').next().unwrap_or(word.charset);
    let bytes = match word.encoding {
        "B" | "b" => match LENIENT_BASE64.decode(word.text.trim()) {
            Ok(bytes) => bytes,
            Err(e) => {
                return Some(MailError::new(
                    MailErrorKind::BadBase64,
                    format!("encoded word \"{quoted}\" has invalid base64 ({e}); kept as raw text"),
                ));
            }
        },
        "Q" | "q" => match decode_q(word.text) {
            Some(bytes) => bytes,
            None => {
                return Some(MailError::new(
                    MailErrorKind::BadQuotedPrintable,
                    format!(
                        "encoded word \"{quoted}\" has an '=' not followed by two hex digits; \
                         kept as raw text"
                    ),
                ));
            }
        },
        other => {
            return Some(MailError::new(
                MailErrorKind::UnknownEncoding,
                format!(
                    "encoded word \"{quoted}\" names encoding \"{}\" (only B and Q exist); \
                     kept as raw text",
                    excerpt(other, 8)
                ),
            ));
        }
    };
    if !charset_known(charset) {
        return Some(MailError::new(
            MailErrorKind::UnknownCharset,
            format!(
                "encoded word \"{quoted}\" names unknown charset \"{}\"; its bytes were read as UTF-8",
                excerpt(charset, QUOTE_MAX)
            ),
        ));
    }
    charset_data_problem(charset, &bytes, &format!("encoded word \"{quoted}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> String {
        decode_encoded_words(text).value
    }

    fn kinds(text: &str) -> Vec<MailErrorKind> {
        decode_encoded_words(text)
            .problems
            .iter()
            .map(|p| p.kind)
            .collect()
    }

    #[test]
    fn b_and_q_in_each_charset() {
        // UTF-8
        assert_eq!(decoded("=?UTF-8?B?56S+6ZW3?="), "社長");
        assert_eq!(decoded("=?utf-8?Q?=E7=A4=BE=E9=95=B7?="), "社長");
        // ISO-2022-JP: ESC $ B, JIS X 0208 "<R" "D9", ESC ( B.
        assert_eq!(decoded("=?ISO-2022-JP?B?GyRCPFJEORsoQg==?="), "社長");
        assert_eq!(decoded("=?iso-2022-jp?Q?=1B$B<RD9=1B(B?="), "社長");
        // Shift_JIS: 8E D0 92 B7.
        assert_eq!(decoded("=?Shift_JIS?B?jtCStw==?="), "社長");
        assert_eq!(decoded("=?shift_jis?Q?=8E=D0=92=B7?="), "社長");
        // EUC-JP: BC D2 C4 B9.
        assert_eq!(decoded("=?EUC-JP?B?vNLEuQ==?="), "社長");
        assert_eq!(decoded("=?euc-jp?Q?=BC=D2=C4=B9?="), "社長");
        // ISO-8859-x
        assert_eq!(decoded("=?ISO-8859-1?Q?J=F6rg_M=FCller?="), "Jörg Müller");
        assert_eq!(decoded("=?iso-8859-2?Q?=A3=F3d=BF?="), "Łódż");
        for text in [
            "=?UTF-8?B?56S+6ZW3?=",
            "=?ISO-2022-JP?B?GyRCPFJEORsoQg==?=",
            "=?Shift_JIS?B?jtCStw==?=",
            "=?EUC-JP?B?vNLEuQ==?=",
            "=?ISO-8859-1?Q?J=F6rg_M=FCller?=",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn adjacent_words_join_and_plain_text_is_untouched() {
        assert_eq!(decoded("=?UTF-8?B?56S+?= =?UTF-8?B?6ZW3?="), "社長");
        assert_eq!(decoded("plain name.pdf"), "plain name.pdf");
        assert_eq!(decoded("a.exe. . "), "a.exe. . ");
    }

    #[test]
    fn language_suffix_is_allowed() {
        assert_eq!(decoded("=?UTF-8*ja?B?56S+6ZW3?="), "社長");
        assert!(kinds("=?UTF-8*ja?B?56S+6ZW3?=").is_empty());
    }

    #[test]
    fn bad_base64_is_kept_raw_and_reported() {
        let parsed = decode_encoded_words("=?UTF-8?B?!!!not base64!!!?=");
        assert!(parsed.value.contains("=?UTF-8?B?"), "{}", parsed.value);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].kind, MailErrorKind::BadBase64);
        assert!(
            parsed.problems[0].message.contains("invalid base64"),
            "{}",
            parsed.problems[0]
        );
    }

    #[test]
    fn bad_q_unknown_encoding_and_charset_are_reported() {
        assert_eq!(
            kinds("=?UTF-8?Q?caf=ZZ?="),
            [MailErrorKind::BadQuotedPrintable]
        );
        assert_eq!(kinds("=?UTF-8?X?abc?="), [MailErrorKind::UnknownEncoding]);
        let parsed = decode_encoded_words("=?x-klingon?Q?ceo=40yourcorp.example?=");
        assert_eq!(parsed.problems[0].kind, MailErrorKind::UnknownCharset);
        assert!(parsed.problems[0].message.contains("x-klingon"));
        // The bytes were still read, as UTF-8, so the address stays visible.
        assert_eq!(parsed.value, "ceo@yourcorp.example");
    }

    #[test]
    fn invalid_bytes_for_the_charset_are_reported() {
        // 0xFF is never valid UTF-8; ESC $ B followed by an odd byte is broken ISO-2022-JP.
        assert_eq!(
            kinds("=?UTF-8?B?/w==?="),
            [MailErrorKind::InvalidCharsetData]
        );
        assert_eq!(
            kinds("=?ISO-2022-JP?B?GyRCPA==?="),
            [MailErrorKind::InvalidCharsetData]
        );
    }

    #[test]
    fn not_encoded_words_are_ignored() {
        for text in [
            "=?",
            "=?utf-8",
            "=?utf-8?B",
            "=? utf-8?B?abc?=",
            "a=?b",
            "=??B?x?=",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
            assert_eq!(find_encoded_words(text).len(), 0, "{text}");
        }
    }

    #[test]
    fn structural_scan() {
        let p = structural_problems("\"ceo <a@b.example>", Syntax::Address, "From");
        assert_eq!(p[0].kind, MailErrorKind::UnterminatedQuote);
        assert!(p[0].message.contains("unterminated quoted string"));
        let p = structural_problems("a (b (c) <a@b.example>", Syntax::Address, "From");
        assert_eq!(p[0].kind, MailErrorKind::UnterminatedComment);
        let p = structural_problems("a <a@b.example", Syntax::Address, "From");
        assert_eq!(p[0].kind, MailErrorKind::UnterminatedAngleAddress);
        let p = structural_problems("a <b", Syntax::Parameters, "Content-Type");
        assert!(p.is_empty());
        // Escapes and brackets inside quotes and comments are not structure.
        for ok in [
            r#""a \" ( <" <a@b.example>"#,
            r"x (a \) b) <a@b.example>",
            r#"(nested (comment) "q) <a@b.example>"#,
        ] {
            assert!(
                structural_problems(ok, Syntax::Address, "From").is_empty(),
                "{ok}"
            );
        }
    }
}
