//! Host names as the web rules and indicator lists compare them: one normalisation (percent
//! decoding, IDNA, lower case, no trailing dot), with a fast path for plain ASCII names.

/// Normalises a domain as the proxy rules compare it: percent-decoding, IDNA, lower case, no
/// trailing dot (the WHATWG host parser of the `url` crate). `None` for anything that is not
/// a domain (addresses included).
pub fn normalise_domain(d: &str) -> Option<String> {
    let d = d.trim().trim_end_matches('.');
    if d.is_empty() {
        return None;
    }
    if let Some(fast) = plain_ascii_domain(d) {
        return Some(fast);
    }
    match url::Host::parse(d).ok()? {
        url::Host::Domain(s) => Some(s),
        _ => None,
    }
}

/// The hot path of [`normalise_domain`]: a host of ASCII letters, digits, hyphens and dots,
/// with no empty label, no label that starts or ends with a hyphen or has one in its third and
/// fourth place (punycode `xn--` and reserved forms), and an alphabetic last label (so it
/// cannot be read as an IPv4 address), is its own IDNA form once lower-cased. Anything else
/// takes the full parser. A test checks the two agree.
fn plain_ascii_domain(d: &str) -> Option<String> {
    let mut last = "";
    for label in d.split('.') {
        let b = label.as_bytes();
        if b.is_empty()
            || b[0] == b'-'
            || b[b.len() - 1] == b'-'
            || (b.len() >= 4 && b[2] == b'-' && b[3] == b'-')
            || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        {
            return None;
        }
        last = label;
    }
    if !last.bytes().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(d.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_fast_path_agrees_with_the_url_host_parser() {
        let full = |d: &str| match url::Host::parse(d) {
            Ok(url::Host::Domain(s)) => Some(s),
            _ => None,
        };
        let cases = ["WWW.Example.COM", "a-b.example", "x.y.z.example", "Site9.example", "a.b", "ab--cd.example",
            "xn--nxasmq6b.example", "-a.example", "a-.example", "a..b", "1.2.3", "a.123", "0x7f.1", "a.0x1", "_dmarc.example"];
        for d in cases {
            if let Some(fast) = plain_ascii_domain(d) {
                assert_eq!(Some(fast), full(d), "{d}");
            }
        }
        assert!(plain_ascii_domain("WWW.Example.COM").is_some() && plain_ascii_domain("1.2.3").is_none());
        proptest::proptest!(|(d in "[a-zA-Z0-9.-]{1,24}")| {
            if let Some(fast) = plain_ascii_domain(&d) {
                proptest::prop_assert_eq!(Some(fast), full(&d), "{}", d);
            }
        });
    }
}
