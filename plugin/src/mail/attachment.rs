//! Attachment names from raw Content-Type / Content-Disposition values: `name=` and
//! `filename=` (quoted or token), RFC 2231 extended values and continuations with their
//! charset and language, and RFC 2047 encoded words inside quoted names.

use mail_parser::{HeaderName, HeaderValue};

use super::encoded::{
    Syntax, charset_known, decode_encoded_words, encoded_word_problems, structural_problems,
    with_parsed_header,
};
use super::{MailError, MailErrorKind, Parsed, excerpt};

const HEADER: &str = "Content-Type/Content-Disposition";

/// The attachment names in a raw Content-Type or Content-Disposition value, strictly: the
/// first problem (see [`attachment_names_lenient`]) is the error. No name is `Ok(vec![])`.
pub fn attachment_names_from_header(raw: &str) -> Result<Vec<String>, MailError> {
    attachment_names_lenient(raw).into_result()
}

/// The attachment names (`name` and `filename` parameters, decoded) in a raw Content-Type or
/// Content-Disposition value, each once, in order. A leading `Content-Type:` or
/// `Content-Disposition:` is ignored, and so is a missing type (`filename="a.exe"` alone).
///
/// Never fails: problems (unterminated quotes or comments, undecodable encoded words, bad
/// RFC 2231 values) are listed with the best reading. An unterminated quoted name runs to the
/// end of the value, as mailers read it.
pub fn attachment_names_lenient(raw: &str) -> Parsed<Vec<String>> {
    let value = strip_header_name(raw);
    let mut problems = structural_problems(value, Syntax::Parameters, HEADER);
    problems.extend(encoded_word_problems(value));
    problems.extend(extended_value_problems(value));

    // A value that starts with a parameter has no type: give it one so the parser sees a
    // parameter list.
    let first = value.split(';').next().unwrap_or_default();
    let wrapped;
    let value = if first.contains('=') {
        wrapped = format!("application/octet-stream; {value}");
        wrapped.as_str()
    } else {
        value
    };

    let mut names: Vec<String> = Vec::new();
    let raw_names = with_parsed_header(HeaderName::ContentType, value, |parsed| {
        let HeaderValue::ContentType(content_type) = parsed else {
            return Vec::new();
        };
        content_type
            .attributes
            .iter()
            .flatten()
            .filter(|a| {
                a.name.eq_ignore_ascii_case("name") || a.name.eq_ignore_ascii_case("filename")
            })
            .map(|a| a.value.to_string())
            .collect()
    })
    .unwrap_or_default();
    for name in raw_names {
        // An encoded word the parser left alone (e.g. in an unquoted token).
        let name = if name.contains("=?") {
            decode_encoded_words(&name).value
        } else {
            name
        };
        let name = name.trim_start().to_string();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    Parsed {
        value: names,
        problems,
    }
}

fn strip_header_name(raw: &str) -> &str {
    let trimmed = raw.trim_start();
    for prefix in ["content-type:", "content-disposition:"] {
        if let Some(head) = trimmed.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            return trimmed.get(prefix.len()..).unwrap_or_default();
        }
    }
    raw
}

/// The parameters of a value, split at `;` outside quoted strings and comments.
fn parameters(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote || depth > 0 => escaped = true,
            '"' if depth == 0 => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote => depth = depth.saturating_sub(1),
            ';' if !in_quote && depth == 0 => {
                out.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or_default());
    out
}

/// Problems in RFC 2231 extended `name*` / `filename*` values: a missing `charset'language'`
/// prefix on the first section, an unknown charset, bad `%` escapes.
fn extended_value_problems(value: &str) -> Vec<MailError> {
    let mut problems = Vec::new();
    for parameter in parameters(value) {
        let Some((name, val)) = parameter.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let Some(extended) = name.strip_suffix('*') else {
            continue;
        };
        let mut parts = extended.split('*');
        let base = parts.next().unwrap_or_default();
        if !(base.eq_ignore_ascii_case("name") || base.eq_ignore_ascii_case("filename")) {
            continue;
        }
        let section = parts.next();
        let val = val.trim();
        let val = val
            .strip_prefix('"')
            .map(|v| v.strip_suffix('"').unwrap_or(v))
            .unwrap_or(val);
        let quoted_param = excerpt(parameter.trim(), 60);
        let text = if section.is_none() || section == Some("0") {
            let mut pieces = val.splitn(3, '\'');
            match (pieces.next(), pieces.next(), pieces.next()) {
                (Some(charset), Some(_language), Some(text)) => {
                    if !charset.is_empty() && !charset_known(charset) {
                        problems.push(MailError::new(
                            MailErrorKind::UnknownCharset,
                            format!(
                                "parameter \"{quoted_param}\" names unknown charset \"{}\"; \
                                 its bytes were read as UTF-8",
                                excerpt(charset, 60)
                            ),
                        ));
                    }
                    text
                }
                _ => {
                    problems.push(MailError::new(
                        MailErrorKind::MalformedExtendedValue,
                        format!(
                            "parameter \"{quoted_param}\" lacks the RFC 2231 charset'language' prefix"
                        ),
                    ));
                    val
                }
            }
        } else {
            val
        };
        if !percent_escapes_ok(text) {
            problems.push(MailError::new(
                MailErrorKind::BadPercentEncoding,
                format!("parameter \"{quoted_param}\" has a '%' not followed by two hex digits"),
            ));
        }
    }
    problems
}

fn percent_escapes_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| {
            bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &str) -> Vec<String> {
        match attachment_names_from_header(raw) {
            Ok(names) => names,
            Err(e) => panic!("{raw}: {e}"),
        }
    }

    #[test]
    fn acceptance_rfc2231_utf8_name() {
        let raw = "application/octet-stream; name*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf.exe";
        let found = names(raw);
        assert_eq!(found, ["請求書.pdf.exe"]);
        assert_eq!(
            crate::mail::executable_extension(
                &found[0],
                crate::mail::DEFAULT_EXECUTABLE_EXTENSIONS
            ),
            Some("exe".to_string())
        );
    }

    #[test]
    fn plain_names() {
        assert_eq!(
            names("application/pdf; name=\"invoice.pdf\""),
            ["invoice.pdf"]
        );
        assert_eq!(names("application/pdf; name=invoice.pdf"), ["invoice.pdf"]);
        assert_eq!(names("attachment; filename=\"a b.exe\""), ["a b.exe"]);
        assert_eq!(names("attachment; FileName=x.js"), ["x.js"]);
        assert_eq!(names("attachment; filename=\"a\\\"b.exe\""), ["a\"b.exe"]);
        // Both parameters, same name once; different names both.
        assert_eq!(
            names("text/html; filename=\"PO#198945.html\"; name=\"PO#198945.html\""),
            ["PO#198945.html"]
        );
        let both = names("attachment; filename=\"cover.pdf\"; name=\"payload.exe\"");
        assert_eq!(both, ["cover.pdf", "payload.exe"]);
        // Header name and missing type.
        assert_eq!(
            names("Content-Disposition: attachment; filename=a.exe"),
            ["a.exe"]
        );
        assert_eq!(names("filename=\"a.exe\""), ["a.exe"]);
        // No attachment.
        assert!(names("text/plain; charset=utf-8").is_empty());
        assert!(names("inline").is_empty());
        assert!(names("multipart/mixed; boundary=\"----=_NextPart_000_020A\"").is_empty());
    }

    #[test]
    fn rfc2231_charsets_and_languages() {
        // Language tag.
        assert_eq!(
            names("attachment; filename*=utf-8'ja'%E8%AB%8B%E6%B1%82%E6%9B%B8.exe"),
            ["請求書.exe"]
        );
        // ISO-2022-JP: ESC $ B "@A5a=q" ESC ( B ".exe".
        assert_eq!(
            names("attachment; filename*=iso-2022-jp''%1B%24B%40A5a%3Dq%1B%28B.exe"),
            ["請求書.exe"]
        );
        // Shift_JIS: 90 BF 8B 81 8F 91.
        assert_eq!(
            names("attachment; filename*=shift_jis''%90%BF%8B%81%8F%91.pdf.exe"),
            ["請求書.pdf.exe"]
        );
        // EUC-JP: C0 C1 B5 E1 BD F1.
        assert_eq!(
            names("application/octet-stream; name*=EUC-JP''%C0%C1%B5%E1%BD%F1.exe"),
            ["請求書.exe"]
        );
    }

    #[test]
    fn rfc2231_continuations() {
        assert_eq!(
            names(
                "attachment;\r\n filename*0*=UTF-8''%E8%AB%8B;\r\n filename*1*=%E6%B1%82%E6%9B%B8;\r\n filename*2=\".pdf.exe\""
            ),
            ["請求書.pdf.exe"]
        );
        assert_eq!(
            names("attachment; filename*0=\"long name \"; filename*1=\"part.scr\""),
            ["long name part.scr"]
        );
    }

    #[test]
    fn rfc2047_in_quoted_names() {
        // ISO-2022-JP "請求書.exe", B encoding, as real Japanese mailers send it.
        assert_eq!(
            names("application/octet-stream; name=\"=?ISO-2022-JP?B?GyRCQEE1YT1xGyhCLmV4ZQ==?=\""),
            ["請求書.exe"]
        );
        assert_eq!(
            names("attachment; filename=\"=?UTF-8?Q?=E8=AB=8B=E6=B1=82=E6=9B=B8.pdf.exe?=\""),
            ["請求書.pdf.exe"]
        );
        assert_eq!(
            names("attachment; filename==?UTF-8?B?56S+6ZW3LmV4ZQ==?="),
            ["社長.exe"]
        );
        // Shift_JIS 社長 + ".js".
        assert_eq!(
            names("attachment; filename=\"=?Shift_JIS?B?jtCSty5qcw==?=\""),
            ["社長.js"]
        );
    }

    #[test]
    fn real_sample_attachment_headers() {
        // Shapes from the sample .eml files (rewritten).
        assert_eq!(
            names(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document;\r\n\tname=\"REACTIE OP 03-12-2024.docx\""
            ),
            ["REACTIE OP 03-12-2024.docx"]
        );
        assert_eq!(
            names(
                "attachment;\r\n\tfilename=\"REACTIE OP 03-12-2024.docx\"; size=18345;\r\n\tcreation-date=\"Tue, 03 Dec 2024 17:42:07 GMT\";\r\n\tmodification-date=\"Tue, 03 Dec 2024 17:42:07 GMT\""
            ),
            ["REACTIE OP 03-12-2024.docx"]
        );
        assert_eq!(
            names("attachment; filename=HlGiLfODLD.html"),
            ["HlGiLfODLD.html"]
        );
        assert_eq!(
            names("text/html; name=\"GET Bitcoin 34.html\""),
            ["GET Bitcoin 34.html"]
        );
        // sample-398 really has an unterminated quote.
        let parsed = attachment_names_lenient("inline; filename=\"Email.htm");
        assert_eq!(parsed.value, ["Email.htm"]);
        assert_eq!(parsed.problems[0].kind, MailErrorKind::UnterminatedQuote);
    }

    #[test]
    fn malformed_values_report_problems() {
        let err =
            attachment_names_from_header("attachment; filename=\"evil.exe").expect_err("quote");
        assert_eq!(err.kind, MailErrorKind::UnterminatedQuote);
        assert!(err.message.contains("unterminated quoted string"), "{err}");
        // The lenient reading still has the name.
        assert_eq!(
            attachment_names_lenient("attachment; filename=\"evil.exe").value,
            ["evil.exe"]
        );

        let parsed = attachment_names_lenient("attachment; filename=\"=?UTF-8?B?@@@?=\"");
        assert_eq!(parsed.problems[0].kind, MailErrorKind::BadBase64);
        assert!(
            parsed
                .value
                .first()
                .is_some_and(|n| n.contains("=?UTF-8?B?"))
        );

        let parsed = attachment_names_lenient("attachment; filename*=x-bogus''evil.exe");
        assert_eq!(parsed.problems[0].kind, MailErrorKind::UnknownCharset);
        assert!(
            parsed.value.iter().any(|n| n.ends_with(".exe")),
            "{:?}",
            parsed.value
        );

        let parsed = attachment_names_lenient("attachment; filename*=UTF-8''evil%ZZ.exe");
        assert_eq!(parsed.problems[0].kind, MailErrorKind::BadPercentEncoding);

        let parsed = attachment_names_lenient("attachment; filename*=evil.exe");
        assert_eq!(
            parsed.problems[0].kind,
            MailErrorKind::MalformedExtendedValue
        );

        let parsed = attachment_names_lenient("attachment; (comment filename=a.exe");
        assert_eq!(parsed.problems[0].kind, MailErrorKind::UnterminatedComment);

        assert_eq!(attachment_names_from_header(""), Ok(vec![]));
    }

    #[test]
    fn parameter_splitting() {
        assert_eq!(
            parameters("a; b=\"x;y\"; c (d;e)"),
            ["a", " b=\"x;y\"", " c (d;e)"]
        );
        assert!(percent_escapes_ok("%E8%ab"));
        assert!(!percent_escapes_ok("%E"));
        assert!(!percent_escapes_ok("%GG"));
    }
}
