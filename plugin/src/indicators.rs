//! Indicator lists of `rules.proxy_ioc` in compact form, read straight from the config
//! document: domain indicators (what they mean, how they are checked) and a string table that
//! holds hundreds of thousands of names in a few dozen bytes each.
//!
//! A domain indicator `evil.example` matches that name and every name below it
//! (`a.b.evil.example`), wherever the public suffix list puts the registered-domain boundary:
//! `trycloudflare.com` or `github.io` (the list's private section) match their subdomains too.
//! `*.evil.example` and `.evil.example` match the subdomains only, not `evil.example` itself
//! (useful for `*.trycloudflare.com`, whose own site is harmless). Names are compared in their
//! normalised form (percent-decoded, IDNA, lower case, no trailing dot). Rejected at config
//! time: empty labels (`evil..com`), characters that cannot be in a host name, labels over 63
//! or names over 253 bytes, and ICANN public suffixes (`com`, `co.uk`), which would match
//! every domain under them.
//!
//! [`StrTable`] keeps every key in one text buffer with an entry of 16 bytes per key and an
//! open-addressing index of `u32` slots (load at most one half): about 40 bytes per domain of
//! 20 characters, against several hundred for a map of `String`s plus a source record each.

use std::fmt;
use std::hash::Hasher;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::values::{FromScalar, Scalar, deserialize_from_scalar};

/// Longest host name (RFC 1035, in its ASCII form).
pub const MAX_NAME: usize = 253;
/// Most labels a host name can have; also the bound of the suffix walk.
pub const MAX_LABELS: usize = 127;

/// A checked domain indicator: the normalised name and whether only its subdomains match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainIndicator {
    /// Normalised name (`evil.example` for `*.Evil.Example.`).
    pub name: String,
    /// Written `*.name` or `.name`: the subdomains match, the name itself does not.
    pub subdomains_only: bool,
}

impl DomainIndicator {
    /// Reads and checks one entry of a `domains` list.
    pub fn parse(entry: &str) -> Result<DomainIndicator, String> {
        let t = entry.trim();
        let (rest, subdomains_only) = match t.strip_prefix("*.") {
            Some(r) => (r, true),
            None => match t.strip_prefix('.') {
                Some(r) => (r, true),
                None => (t, false),
            },
        };
        // One trailing dot is the DNS root (`evil.example.`); anything else empty is a label.
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        if rest.is_empty() {
            return Err(format!("not a domain name: {entry:?} (empty)"));
        }
        if rest.split('.').any(str::is_empty) {
            return Err(format!("not a domain name: {entry:?} (empty label)"));
        }
        let name = crate::webhost::normalise_domain(rest).ok_or_else(|| format!("not a domain name: {entry:?}"))?;
        if name.split('.').any(str::is_empty) {
            return Err(format!("not a domain name: {entry:?} (empty label)"));
        }
        if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')) {
            return Err(format!("not a domain name: {entry:?} (character {c:?} not allowed in a host name)"));
        }
        if name.len() > MAX_NAME {
            return Err(format!("not a domain name: {entry:?} (longer than {MAX_NAME} bytes)"));
        }
        if let Some(l) = name.split('.').find(|l| l.len() > 63) {
            return Err(format!("not a domain name: {entry:?} (label of {} bytes; at most 63)", l.len()));
        }
        if let Some(s) = psl::suffix(name.as_bytes())
            && s.typ() == Some(psl::Type::Icann)
            && s.as_bytes() == name.as_bytes()
        {
            return Err(format!("{entry:?} is a public suffix: it would match every domain under it"));
        }
        Ok(DomainIndicator { name, subdomains_only })
    }

    /// The entry as malhost shows it: `evil.example` or `*.evil.example`.
    pub fn display(&self) -> String {
        if self.subdomains_only { format!("*.{}", self.name) } else { self.name.clone() }
    }
}

/// No value (a slot of [`DomainMatch`] without a list).
pub const NONE: u32 = u32::MAX;

/// Which lists name a domain: `[as the name and its subdomains, as its subdomains only]`,
/// each a list index or [`NONE`].
pub type DomainMatch = [u32; 2];

/// A set of strings with a small copyable value each, built once and read many times.
#[derive(Clone, Debug)]
pub struct StrTable<V: Copy> {
    text: String,
    entries: Vec<(u32, u32, V)>,
    slots: Vec<u32>,
}

impl<V: Copy> Default for StrTable<V> {
    fn default() -> Self {
        StrTable { text: String::new(), entries: Vec::new(), slots: Vec::new() }
    }
}

const EMPTY: u32 = u32::MAX;

fn hash(key: &str) -> u64 {
    // Keys are the operator's; lookups cannot lengthen a probe chain, so a fixed key is fine.
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0x6d61_6c68_6f73_7431, 0x696e_6469_6361_746f);
    h.write(key.as_bytes());
    h.finish()
}

impl<V: Copy> StrTable<V> {
    /// Keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(&self, i: u32) -> &str {
        let (s, l, _) = self.entries[i as usize];
        &self.text[s as usize..(s + l) as usize]
    }

    fn find_slot(&self, key: &str) -> (usize, Option<u32>) {
        let mask = self.slots.len() - 1;
        let mut at = hash(key) as usize & mask;
        loop {
            match self.slots[at] {
                EMPTY => return (at, None),
                i if self.key(i) == key => return (at, Some(i)),
                _ => at = (at + 1) & mask,
            }
        }
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(16);
        self.slots = vec![EMPTY; n];
        let mask = n - 1;
        for i in 0..self.entries.len() as u32 {
            let mut at = hash(self.key(i)) as usize & mask;
            while self.slots[at] != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = i;
        }
    }

    /// The value of `key`, inserting `init` first when absent; `update` then changes it.
    pub fn upsert(&mut self, key: &str, init: V, update: impl FnOnce(&mut V)) {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let (at, found) = self.find_slot(key);
        let i = match found {
            Some(i) => i,
            None => {
                let start = self.text.len() as u32;
                self.text.push_str(key);
                self.entries.push((start, key.len() as u32, init));
                let i = (self.entries.len() - 1) as u32;
                self.slots[at] = i;
                i
            }
        };
        update(&mut self.entries[i as usize].2);
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<V> {
        if self.entries.is_empty() {
            return None;
        }
        self.find_slot(key).1.map(|i| self.entries[i as usize].2)
    }

    /// Makes room for `keys` more keys of `bytes` bytes in all, so that building a big table
    /// does not pass through doubled buffers.
    pub fn reserve(&mut self, keys: usize, bytes: usize) {
        self.text.reserve_exact(bytes);
        self.entries.reserve_exact(keys);
        let want = ((self.entries.len() + keys) * 2).next_power_of_two();
        if want > self.slots.len() {
            self.slots = vec![EMPTY; want / 2];
            self.grow();
        }
    }

    /// Drops spare capacity of the text and entries (the index keeps its size).
    pub fn shrink(&mut self) {
        self.text.shrink_to_fit();
        self.entries.shrink_to_fit();
    }
}

/// The list of `domains` of one indicator list, checked entry by entry while the config is
/// read (so that an error names `…domains[j]`) and kept without a `String` per entry.
#[derive(Clone, Debug, Default)]
pub struct DomainList {
    text: String,
    /// (start in `text`, length with [`SUBDOMAINS_ONLY`] or-ed in).
    items: Vec<(u32, u32)>,
}

const SUBDOMAINS_ONLY: u32 = 1 << 31;

impl DomainList {
    /// Entries, and bytes of their names.
    pub fn size(&self) -> (usize, usize) {
        (self.items.len(), self.text.len())
    }

    /// Every entry: the normalised name and whether only its subdomains match.
    pub fn iter(&self) -> impl Iterator<Item = (&str, bool)> {
        self.items.iter().map(|&(s, l)| {
            let len = (l & !SUBDOMAINS_ONLY) as usize;
            (&self.text[s as usize..s as usize + len], l & SUBDOMAINS_ONLY != 0)
        })
    }
}

impl schemars::JsonSchema for DomainList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "domainList".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Domain indicators: `evil.example` matches the name and every subdomain (wherever the public suffix list puts the registered domain: `trycloudflare.com` and `github.io` work); `*.evil.example` and `.evil.example` match the subdomains only. Rejected: empty labels, characters not allowed in host names, labels over 63 and names over 253 bytes, ICANN public suffixes (`com`, `co.uk`).",
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 1024, "not": {"pattern": r"\.\.|^\*\.?$|^\.?$"}},
            "default": []
        })
    }
}

struct DomainEntry(DomainIndicator);

impl FromScalar for DomainEntry {
    const EXPECTING: &'static str = "a domain name";
    const TEXT_ONLY: bool = true;
    fn read<E: de::Error>(v: Scalar) -> Option<Result<DomainEntry, E>> {
        let Scalar::Text(v) = v else { return None };
        Some(DomainIndicator::parse(v).map(DomainEntry).map_err(E::custom))
    }
}

deserialize_from_scalar!(DomainEntry);

impl<'de> de::Deserialize<'de> for DomainList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DomainList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of domain names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DomainList, A::Error> {
                let mut list = DomainList::default();
                while let Some(DomainEntry(d)) = seq.next_element()? {
                    let start = u32::try_from(list.text.len()).map_err(|_| de::Error::custom("domain list larger than 4 GiB"))?;
                    list.text.push_str(&d.name);
                    list.items.push((start, d.name.len() as u32 | if d.subdomains_only { SUBDOMAINS_ONLY } else { 0 }));
                }
                Ok(list)
            }
        }
        d.deserialize_seq(V)
    }
}

/// The label suffixes of a normalised host, longest first: `a.b.example`, `b.example`,
/// `example`; at most [`MAX_LABELS`].
pub fn suffixes(host: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(host);
    std::iter::from_fn(move || {
        let cur = next?;
        next = cur.find('.').map(|i| &cur[i + 1..]).filter(|s| !s.is_empty());
        Some(cur)
    })
    .take(MAX_LABELS)
}

/// The list that names `host` through one of the domain indicators, most specific first:
/// `(list index, matched indicator name, whether it was a subdomains-only entry)`.
pub fn match_domain<'h>(table: &StrTable<DomainMatch>, host: &'h str) -> Option<(u32, &'h str, bool)> {
    for (n, s) in suffixes(host).enumerate() {
        let Some([whole, subs]) = table.get(s) else { continue };
        if whole != NONE {
            return Some((whole, s, false));
        }
        if n > 0 && subs != NONE {
            return Some((subs, s, true));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<(String, bool), String> {
        DomainIndicator::parse(s).map(|d| (d.name, d.subdomains_only))
    }

    #[test]
    fn indicator_forms() {
        assert_eq!(p("Evil.Example."), Ok(("evil.example".into(), false)));
        assert_eq!(p("*.evil.com"), Ok(("evil.com".into(), true)));
        assert_eq!(p(".evil.com"), Ok(("evil.com".into(), true)));
        assert_eq!(p("trycloudflare.com"), Ok(("trycloudflare.com".into(), false)));
        assert_eq!(p("BÜCHER.example"), Ok(("xn--bcher-kva.example".into(), false)));
        for bad in ["evil..com", ".", "*.", "", "a b.com", "evil.com/x", "*.*.evil.com", "ev!l.com", "1.2.3.4", "com", "co.uk", "*.com"] {
            assert!(p(bad).is_err(), "{bad:?} accepted: {:?}", p(bad));
        }
        assert!(p(&format!("{}.com", "a".repeat(64))).unwrap_err().contains("63"));
        assert!(p(&format!("{}com", "abcdefghi.".repeat(26))).unwrap_err().contains("253"));
    }

    fn table(entries: &[(&str, u32)]) -> StrTable<DomainMatch> {
        let mut t = StrTable::default();
        for (e, list) in entries {
            let d = DomainIndicator::parse(e).unwrap();
            t.upsert(&d.name, [NONE, NONE], |v| v[d.subdomains_only as usize] = *list);
        }
        t
    }

    #[test]
    fn every_subdomain_matches_whatever_the_public_suffix_list_says() {
        let t = table(&[("trycloudflare.com", 0), ("ngrok.io", 0), ("duckdns.org", 0), ("github.io", 0), ("blogspot.com", 0), ("evil.co.uk", 1)]);
        for h in ["abc-def.trycloudflare.com", "x.ngrok.io", "me.duckdns.org", "a.b.github.io", "x.blogspot.com", "github.io", "www.evil.co.uk"] {
            assert!(match_domain(&t, h).is_some(), "{h}");
        }
        for h in ["trycloudflare.com.evil", "fine.co.uk", "notgithub.io", "com"] {
            assert!(match_domain(&t, h).is_none(), "{h}");
        }
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let t = table(&[("*.evil.com", 3), (".bad.example", 4)]);
        assert_eq!(match_domain(&t, "a.evil.com"), Some((3, "evil.com", true)));
        assert_eq!(match_domain(&t, "x.y.bad.example"), Some((4, "bad.example", true)));
        assert_eq!(match_domain(&t, "evil.com"), None);
        assert_eq!(match_domain(&t, "bad.example"), None);
        let t = table(&[("*.evil.com", 3), ("evil.com", 5)]);
        assert_eq!(match_domain(&t, "evil.com"), Some((5, "evil.com", false)));
    }

    #[test]
    fn the_suffix_walk_is_bounded() {
        let long = "a.".repeat(300) + "evil.com";
        assert_eq!(suffixes(&long).count(), MAX_LABELS);
        assert_eq!(suffixes("a.b.c").collect::<Vec<_>>(), ["a.b.c", "b.c", "c"]);
        assert_eq!(suffixes("x.").collect::<Vec<_>>(), ["x."]);
    }

    #[test]
    fn the_table_grows_and_finds_every_key() {
        let mut t: StrTable<u32> = StrTable::default();
        for i in 0..5000u32 {
            t.upsert(&format!("k{i}.example"), i, |_| {});
        }
        t.upsert("k7.example", 0, |v| *v = 99);
        assert_eq!(t.len(), 5000);
        assert_eq!(t.get("k7.example"), Some(99));
        assert!((0..5000).filter(|&i| i != 7).all(|i| t.get(&format!("k{i}.example")) == Some(i)));
        assert_eq!(t.get("k5000.example"), None);
        assert_eq!(StrTable::<u32>::default().get("x"), None);
    }
}

#[cfg(test)]
mod measure {
    //! Memory and time of loading a big domain list (README: "Big indicator lists").
    fn status(key: &str) -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
    /// `MALHOST_DOMAINS=1000000 cargo test -p malhost-plugin --release --lib big_domain_list -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn big_domain_list() {
        let n: usize = std::env::var("MALHOST_DOMAINS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
        let mut json = String::from(r#"{"rules":{"proxy_ioc":{"lists":[{"name":"big","domains":["#);
        for i in 0..n {
            if i > 0 { json.push(','); }
            json.push_str(&format!("\"d{i:07}x.evil{}.example\"", i % 97));
        }
        json.push_str("]}]}}}");
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = status("VmRSS:");
        let t = std::time::Instant::now();
        let c = crate::Config::from_json(json.as_bytes()).unwrap();
        let dt = t.elapsed();
        let hwm = status("VmHWM:");
        let after = status("VmRSS:");
        eprintln!("{n} domains, {} bytes of JSON: {:.2} s, peak RSS {} MiB (+{} MiB over {} MiB before), retained +{} MiB",
            json.len(), dt.as_secs_f64(), hwm / 1024, (hwm - before) / 1024, before / 1024, after.saturating_sub(before) / 1024);
        drop(c);
    }
}
