//! Mail header parsing and the pure checks behind the mail rules (SPEC §5.4).
//!
//! Everything here is a pure function of strings; nothing knows about events, configuration or
//! output. The pieces:
//! - [`from`]: the From header ([`parse_from`]), e-mail addresses hidden in a display name
//!   ([`addresses_in_display_name`]) and the display-name spoofing check
//!   ([`display_name_spoof`]);
//! - [`attachment`]: attachment names from raw Content-Type / Content-Disposition values
//!   ([`attachment_names_from_header`]), RFC 2231 and RFC 2047 included;
//! - [`extension`]: whether an attachment name really is (or shows itself as) an executable
//!   ([`executable_extension`], [`executable_match`]);
//! - [`encoded`]: RFC 2047 encoded words ([`decode_encoded_words`]) and the diagnostics shared
//!   by the parsers.
//!
//! Parsing is done by the `mail-parser` crate (with its `full_encoding` feature, i.e.
//! `encoding_rs`, for the Japanese charsets); this module hands it a lone header value wrapped
//! in a minimal message. `mail-parser` is lenient and silent, so this module adds its own scan
//! for the problems an operator should hear about ([`MailError`]).
//!
//! # Errors and leniency
//! Every parser comes in two forms. The `*_lenient` form never fails: it returns the best
//! reading it could make together with every problem it saw ([`Parsed`]); a rule should use it,
//! so that a deliberately malformed header cannot switch a detection off, and put the first
//! problem in `error.message`. The plain form ([`parse_from`], [`attachment_names_from_header`])
//! is the strict one: the first problem becomes the `Err`.
//!
//! What happens to a broken encoded word in the lenient reading:
//! - bad base64, a bad Q escape or an unknown encoding letter: the word is kept as raw text;
//! - an unknown charset: the word's bytes are read as UTF-8 (lossily), which is what
//!   `mail-parser` does and also what keeps an ASCII address inside such a word visible;
//! - bytes that are invalid in a known charset: decoded with replacement characters.
//!
//! Each of these is reported as a problem.

pub mod attachment;
pub mod encoded;
pub mod extension;
pub mod from;

use std::fmt;

pub use attachment::{attachment_names_from_header, attachment_names_lenient};
pub use encoded::decode_encoded_words;
pub use extension::{
    DEFAULT_EXECUTABLE_EXTENSIONS, ExecutableMatch, MatchBasis, Trick, executable_extension,
    executable_match,
};
pub use from::{
    FromHeader, Spoof, addresses_in_display_name, display_name_spoof, parse_from,
    parse_from_lenient,
};

/// What kind of problem a mail header had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailErrorKind {
    /// The header value is empty or only whitespace.
    Empty,
    /// A quoted string (`"…`) is never closed.
    UnterminatedQuote,
    /// A comment (`(…`) is never closed.
    UnterminatedComment,
    /// An angle address (`<…`) is never closed.
    UnterminatedAngleAddress,
    /// An RFC 2047 encoded word's B (base64) text is not valid base64.
    BadBase64,
    /// An RFC 2047 encoded word's Q text has an `=` not followed by two hex digits.
    BadQuotedPrintable,
    /// An RFC 2047 encoded word names an encoding other than B or Q.
    UnknownEncoding,
    /// An encoded word or RFC 2231 value names a charset that is not known.
    UnknownCharset,
    /// The decoded bytes are not valid in the named charset.
    InvalidCharsetData,
    /// An RFC 2231 value has a `%` not followed by two hex digits.
    BadPercentEncoding,
    /// An RFC 2231 extended value lacks its `charset'language'` prefix.
    MalformedExtendedValue,
}

/// A problem found in a mail header, with a message for a person (it goes in the error
/// record's `error.message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError {
    /// What kind of problem it is.
    pub kind: MailErrorKind,
    /// A human-readable description naming the offending text.
    pub message: String,
}

impl MailError {
    pub(crate) fn new(kind: MailErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MailError {}

/// The lenient result of a parser: the best reading of the input and every problem seen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed<T> {
    /// The best reading that could be made.
    pub value: T,
    /// Problems found, in the order they appear in the input; empty for a clean header.
    pub problems: Vec<MailError>,
}

impl<T> Parsed<T> {
    /// The strict view: the value if there was no problem, otherwise the first problem.
    pub fn into_result(self) -> Result<T, MailError> {
        match self.problems.into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(self.value),
        }
    }
}

/// At most `max` characters of `text` for quoting in a message, with `…` when cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exercise(s: &str) {
        let from = parse_from_lenient(s);
        let _ = parse_from(s);
        let _ = display_name_spoof(&from.value);
        let _ = addresses_in_display_name(s);
        let _ = attachment_names_lenient(s);
        let _ = attachment_names_from_header(s);
        let _ = decode_encoded_words(s);
        let _ = executable_match(s, DEFAULT_EXECUTABLE_EXTENSIONS);
        let _ = executable_extension(s, &[s.to_string()]);
    }

    proptest! {
        #[test]
        fn nothing_panics_on_arbitrary_strings(s in any::<String>()) {
            exercise(&s);
        }

        #[test]
        fn nothing_panics_on_header_like_strings(
            s in r#"[ "()<>@,;:\\=?*'%.a-zA-Z0-9＠．\u{202E}\u{200B}\r\n\t-]{0,80}"#,
        ) {
            exercise(&s);
        }

        #[test]
        fn nothing_panics_on_encoded_word_shapes(
            charset in "(utf-8|UTF-8|iso-2022-jp|shift_jis|euc-jp|x-bogus|)",
            enc in "[bBqQx]?",
            text in r"[A-Za-z0-9+/=_%?\x1b$ -]{0,40}",
            tail in r#"[ <>@"a-z.]{0,20}"#,
        ) {
            let word = format!("=?{charset}?{enc}?{text}?={tail}");
            exercise(&word);
            exercise(&format!("\"{word}\" <a@b.example>"));
            exercise(&format!("attachment; filename*={charset}''{text}; name=\"{word}\""));
        }
    }

    #[test]
    fn pathological_inputs_do_not_panic() {
        for s in [
            "(".repeat(10_000),
            "\"".repeat(10_001),
            "<".repeat(10_000),
            "=?".repeat(10_000),
            "@".repeat(10_000),
            "a@".repeat(5_000) + "b.example",
            "=?utf-8?b?".to_string() + &"A".repeat(10_001) + "?=",
            "\u{202E}".repeat(1_000) + ".exe",
            "filename*0*=".repeat(1_000),
        ] {
            exercise(&s);
        }
    }

    #[test]
    fn parsed_into_result_returns_first_problem() {
        let clean = Parsed {
            value: 1,
            problems: vec![],
        };
        assert_eq!(clean.into_result(), Ok(1));
        let bad = Parsed {
            value: 1,
            problems: vec![
                MailError::new(MailErrorKind::BadBase64, "first"),
                MailError::new(MailErrorKind::Empty, "second"),
            ],
        };
        assert_eq!(
            bad.into_result().map_err(|e| e.message),
            Err("first".to_string())
        );
    }

    #[test]
    fn excerpt_cuts_on_char_boundaries() {
        assert_eq!(excerpt("社長社長", 2), "社長…");
        assert_eq!(excerpt("abc", 3), "abc");
    }
}
