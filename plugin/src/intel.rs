//! Indicator feeds as they are published, read into the entries of an indicator list: the
//! domains, URLs and addresses that `rules.proxy_ioc` and `rules.fw_c2_ip` lists hold.
//!
//! Three shapes are recognised from the text itself ([`FeedFormat::detect`]):
//! - **lines**: one indicator per line, `#` comments and blank lines ignored, the first
//!   white-space separated token taken (so IPsum's `address<TAB>count` reads too). Plain lists
//!   and maltrail trails are this shape; each token is sorted into its kind: an address, CIDR
//!   block or `ip:port` is an address; `scheme://…` a URL; `host/path` (maltrail writes URLs
//!   without their scheme) the URL `http://host/path`; anything else a domain (`host:port`
//!   loses its port), checked as indicator lists check domains;
//! - **CSV** with a header naming an address column (`dst_ip`, `ip_address`, `ip`) and
//!   optionally a port column (`dst_port`, `port`): abuse.ch Feodo Tracker's blocklist, whose
//!   rows become `ip:port`;
//! - **STIX 2.1** bundles (JSON): the `[domain-name:value = '…']`, `[ipv4-addr:value = …]`,
//!   `[ipv6-addr:value = …]` and `[url:value = …]` comparisons of the patterns of indicators
//!   that are not revoked (other comparisons are not indicators malhost can match).
//!
//! What cannot be read is counted and the first few are kept with their line and reason, for
//! the host to show: a feed is loaded as it is, not refused for one odd line.

use crate::indicators::DomainIndicator;
use crate::lists::extract::{ExtractOptions, normalise_url};
use crate::netlist::NetSpec;

/// Skipped entries kept with their reason.
pub const SKIPPED_KEPT: usize = 5;

/// The shape of a feed's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    /// One indicator per line (plain lists, maltrail, IPsum).
    Lines,
    /// CSV with an address column (abuse.ch Feodo Tracker).
    Csv,
    /// A STIX 2.1 bundle.
    Stix,
}

impl FeedFormat {
    /// The shape of `text`: a JSON object is STIX, a first non-comment line with a comma and an
    /// address column name is CSV, anything else lines.
    pub fn detect(text: &str) -> FeedFormat {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
        if first.starts_with('{') {
            FeedFormat::Stix
        } else if first.contains(',') && csv_fields(first).iter().any(|h| ADDRESS_COLUMNS.contains(&h.to_ascii_lowercase().as_str())) {
            FeedFormat::Csv
        } else {
            FeedFormat::Lines
        }
    }

    /// Its name, as messages write it.
    pub fn name(self) -> &'static str {
        match self {
            FeedFormat::Lines => "one indicator per line",
            FeedFormat::Csv => "CSV",
            FeedFormat::Stix => "STIX 2.1",
        }
    }
}

const ADDRESS_COLUMNS: [&str; 3] = ["dst_ip", "ip_address", "ip"];
const PORT_COLUMNS: [&str; 2] = ["dst_port", "port"];

/// A feed's indicators, sorted into kinds, in the order the feed gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feed {
    /// Domain indicators.
    pub domains: Vec<String>,
    /// Absolute URLs.
    pub urls: Vec<String>,
    /// Addresses, CIDR blocks and `ip:port` pairs.
    pub ips: Vec<String>,
    /// Entries that could not be read.
    pub skipped: usize,
    /// The first [`SKIPPED_KEPT`] of them: (line, reason).
    pub skipped_first: Vec<(usize, String)>,
}

impl Feed {
    /// Reads `text`, whatever its shape ([`FeedFormat::detect`]).
    pub fn parse(text: &str) -> (FeedFormat, Feed) {
        let format = FeedFormat::detect(text);
        let mut feed = Feed::default();
        match format {
            FeedFormat::Lines => feed.read_lines(text),
            FeedFormat::Csv => feed.read_csv(text),
            FeedFormat::Stix => feed.read_stix(text),
        }
        (format, feed)
    }

    /// Indicators read.
    pub fn len(&self) -> usize {
        self.domains.len() + self.urls.len() + self.ips.len()
    }

    /// Whether none was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn skip(&mut self, line: usize, reason: String) {
        self.skipped += 1;
        if self.skipped_first.len() < SKIPPED_KEPT {
            self.skipped_first.push((line, reason));
        }
    }

    /// Sorts one token into its kind.
    fn add_token(&mut self, line: usize, token: &str) {
        if NetSpec::parse(token).is_ok() {
            self.ips.push(token.to_owned());
        } else if let Some((scheme, _)) = token.split_once("://") {
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
                self.add_url(line, token.to_owned());
            } else {
                self.skip(line, format!("{token:?}: only http and https URLs can be matched"));
            }
        } else if token.contains('/') {
            self.add_url(line, format!("http://{token}"));
        } else {
            let host = match token.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => h,
                _ => token,
            };
            match DomainIndicator::parse(host) {
                Ok(_) => self.domains.push(host.to_owned()),
                Err(e) => self.skip(line, e),
            }
        }
    }

    /// Keeps a URL that `proxy.ioc` can match: one its normaliser reads.
    fn add_url(&mut self, line: usize, url: String) {
        if normalise_url(&url, None, &ExtractOptions { keep_query: true }).is_some() {
            self.urls.push(url);
        } else {
            self.skip(line, format!("{url:?}: not an absolute http(s) URL with a host"));
        }
    }

    fn read_lines(&mut self, text: &str) {
        for (i, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with("//") {
                continue;
            }
            let token = l.split_whitespace().next().unwrap_or(l);
            self.add_token(i + 1, token);
        }
    }

    fn read_csv(&mut self, text: &str) {
        let mut columns: Option<(usize, Option<usize>)> = None;
        for (i, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let fields = csv_fields(l);
            let Some((ip, port)) = columns else {
                let lower: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
                let find = |names: &[&str]| lower.iter().position(|h| names.contains(&h.as_str()));
                columns = find(&ADDRESS_COLUMNS).map(|ip| (ip, find(&PORT_COLUMNS)));
                continue;
            };
            let Some(addr) = fields.get(ip).filter(|a| !a.is_empty()) else {
                self.skip(i + 1, format!("no value in column {}", ip + 1));
                continue;
            };
            let entry = match port.and_then(|p| fields.get(p)).filter(|p| !p.is_empty()) {
                Some(p) if addr.contains(':') => format!("[{addr}]:{p}"),
                Some(p) => format!("{addr}:{p}"),
                None => addr.to_string(),
            };
            match NetSpec::parse(&entry) {
                Ok(_) => self.ips.push(entry),
                Err(e) => self.skip(i + 1, format!("{entry:?}: {e}")),
            }
        }
    }

    fn read_stix(&mut self, text: &str) {
        let doc: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return self.skip(e.line(), format!("not JSON: {e}")),
        };
        let objects = match &doc {
            v if v.get("type").and_then(|t| t.as_str()) == Some("indicator") => std::slice::from_ref(v),
            v => v.get("objects").and_then(|o| o.as_array()).map_or(&[][..], Vec::as_slice),
        };
        for (n, o) in objects.iter().enumerate() {
            if o.get("type").and_then(|t| t.as_str()) != Some("indicator") || o.get("revoked").and_then(|r| r.as_bool()) == Some(true) {
                continue;
            }
            if o.get("pattern_type").and_then(|t| t.as_str()).is_some_and(|t| t != "stix") {
                continue;
            }
            let Some(pattern) = o.get("pattern").and_then(|p| p.as_str()) else { continue };
            let before = self.len();
            for (kind, value) in stix_comparisons(pattern) {
                match kind {
                    "domain-name" | "url" => self.add_token(n + 1, &value),
                    _ => match NetSpec::parse(&value) {
                        Ok(_) => self.ips.push(value),
                        Err(e) => self.skip(n + 1, format!("{value:?}: {e}")),
                    },
                }
            }
            if self.len() == before && self.skipped_first.last().is_none_or(|s| s.0 != n + 1) {
                self.skip(n + 1, format!("indicator {}: no domain, address or URL equality in {pattern:?}", n + 1));
            }
        }
    }
}

/// The fields of one CSV line, quotes removed (feeds do not quote commas).
fn csv_fields(line: &str) -> Vec<&str> {
    line.split(',').map(|f| f.trim().trim_matches('"').trim()).collect()
}

/// The `type:value = 'literal'` comparisons of a STIX pattern for the object types malhost
/// matches, literals unescaped.
fn stix_comparisons(pattern: &str) -> Vec<(&'static str, String)> {
    const KINDS: [&str; 4] = ["domain-name", "ipv4-addr", "ipv6-addr", "url"];
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(q) = rest.find(":value") {
        let head = &rest[..q];
        let kind = KINDS.iter().find(|k| head.ends_with(*k)).copied();
        let after = rest[q + ":value".len()..].trim_start();
        rest = after;
        let (Some(kind), Some(lit)) = (kind, after.strip_prefix('=')) else { continue };
        let Some(lit) = lit.trim_start().strip_prefix('\'') else { continue };
        let mut value = String::new();
        let mut chars = lit.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.extend(chars.next().map(|(_, c)| c)),
                '\'' => {
                    end = Some(i + 1);
                    break;
                }
                c => value.push(c),
            }
        }
        let Some(end) = end else { break };
        rest = &lit[end..];
        out.push((kind, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maltrail_trail_is_sorted_into_kinds() {
        let text = "# Copyright\n\n# Reference: x\nonline2018.duckdns.org\n66.210.228.178:443\n  172.94.9.230:1771\n\
                    http://regionsnews.net/OEqhU8Lg5\nvisionmedia.vn/wp-includes/bjkuZ9LtT/\n/?user_auth=x\n10.0.0.0/8\nevil.example:8080\nfoo..bar\nftp://x.example/\n";
        let (format, f) = Feed::parse(text);
        assert_eq!(format, FeedFormat::Lines);
        assert_eq!(f.domains, ["online2018.duckdns.org", "evil.example"]);
        assert_eq!(f.ips, ["66.210.228.178:443", "172.94.9.230:1771", "10.0.0.0/8"]);
        assert_eq!(f.urls, ["http://regionsnews.net/OEqhU8Lg5", "http://visionmedia.vn/wp-includes/bjkuZ9LtT/"]);
        assert_eq!(f.skipped, 3);
        assert_eq!(f.skipped_first.iter().map(|s| s.0).collect::<Vec<_>>(), [9, 12, 13]);
        assert!(f.skipped_first[2].1.contains("only http and https"), "{:?}", f.skipped_first);
    }

    #[test]
    fn ipsum_takes_the_first_column() {
        let (_, f) = Feed::parse("# IPsum\n#\n77.90.185.20\t10\n2001:db8::1\t3\n");
        assert_eq!(f.ips, ["77.90.185.20", "2001:db8::1"]);
    }

    #[test]
    fn the_feodo_csv_gives_address_and_port() {
        let text = "####\n# abuse.ch Feodo Tracker\n#\n\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
                    \"2023-05-23 17:51:44\",\"192.9.135.73\",\"1194\",\"online\",\"2024-04-01\",\"Pikabot\"\n\"x\",\"not-an-ip\",\"1\",\"\",\"\",\"\"\n";
        let (format, f) = Feed::parse(text);
        assert_eq!(format, FeedFormat::Csv);
        assert_eq!(f.ips, ["192.9.135.73:1194"]);
        assert_eq!(f.skipped, 1);
    }

    #[test]
    fn stix_patterns_give_their_equalities() {
        let bundle = r#"{"type":"bundle","id":"bundle--1","objects":[
            {"type":"indicator","pattern_type":"stix","pattern":"[domain-name:value = 'evil.example'] OR [url:value = 'http://x.example/a\\'b']"},
            {"type":"indicator","pattern":"[ipv4-addr:value = '198.51.100.0/24' AND network-traffic:dst_port = 443]"},
            {"type":"indicator","pattern":"[ipv6-addr:value = '2001:db8::1']","revoked":true},
            {"type":"indicator","pattern":"[file:hashes.MD5 = 'abc']"},
            {"type":"malware","name":"x"}]}"#;
        let (format, f) = Feed::parse(bundle);
        assert_eq!(format, FeedFormat::Stix);
        assert_eq!(f.domains, ["evil.example"]);
        assert_eq!(f.urls, ["http://x.example/a'b"]);
        assert_eq!(f.ips, ["198.51.100.0/24"]);
        assert_eq!((f.skipped, f.skipped_first[0].0), (1, 4), "the file hash is no indicator malhost matches");
    }
}
