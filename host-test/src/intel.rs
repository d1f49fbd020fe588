//! Indicator feeds given on the command line (`--intel PATH`): each file is read as its shape
//! says ([`malhost::intel::Feed`]: plain lists, maltrail trails, IPsum, Feodo Tracker CSV,
//! STIX 2.1 bundles) and added to the config document as one indicator list, named after its
//! directory and file (`maltrail/njrat`): its domains, URLs and addresses in a
//! `rules.proxy_ioc` list, its addresses in a `rules.fw_c2_ip` list. The module then loads
//! them like lists written in the config; a list that `fw.c2_ip` or `proxy.ioc` alerts on names
//! the feed file it came from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use malhost::intel::Feed;

/// Extensions of the files read from a directory (an explicitly named file is read whatever its
/// name; `LICENSE` and `README` beside a feed are not indicators).
pub const FEED_EXTENSIONS: [&str; 6] = ["txt", "csv", "json", "list", "lst", "ioc"];

/// What one feed file gave.
#[derive(Clone, Debug)]
pub struct LoadedFeed {
    /// The file.
    pub path: PathBuf,
    /// The list's name (`directory/stem`).
    pub list: String,
    /// Its shape.
    pub format: &'static str,
    /// Its indicators.
    pub feed: Feed,
}

impl LoadedFeed {
    /// One line for standard error: what was read, and the first entry skipped.
    pub fn summary(&self) -> String {
        let f = &self.feed;
        let mut s = format!(
            "intel {} ({}): list {:?}: {} domains, {} URLs, {} addresses",
            self.path.display(),
            self.format,
            self.list,
            f.domains.len(),
            f.urls.len(),
            f.ips.len()
        );
        if let Some((line, why)) = f.skipped_first.first() {
            s += &format!("; {} entries skipped (first at entry/line {line}: {why})", f.skipped);
        }
        s
    }
}

/// The feed files under `paths` (directories: their files with a [`FEED_EXTENSIONS`]
/// extension, sorted by name, not recursively).
pub fn feed_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read intel {}", p.display()))?;
        if meta.is_dir() {
            let mut here: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list intel directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().and_then(|e| e.to_str()).is_some_and(|e| FEED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())))
                .collect();
            here.sort();
            if here.is_empty() {
                bail!("intel directory {} has no feed file (*.{})", p.display(), FEED_EXTENSIONS.join(", *."));
            }
            files.extend(here);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Reads one feed file.
pub fn load(path: &Path) -> Result<LoadedFeed> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read intel {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let (format, feed) = Feed::parse(&text);
    let stem = path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned());
    let list = match path.parent().and_then(|d| d.file_name()) {
        Some(dir) => format!("{}/{stem}", dir.to_string_lossy()),
        None => stem,
    };
    Ok(LoadedFeed { path: path.to_owned(), list, format: format.name(), feed })
}

/// `config` (a JSON document; `None` for the defaults) with the feeds added as lists.
pub fn add_feeds(config: Option<&[u8]>, feeds: &[LoadedFeed]) -> Result<Vec<u8>> {
    let mut doc: Value = match config {
        Some(b) => serde_json::from_slice(b).context("the config is not JSON")?,
        None => json!({}),
    };
    let Some(root) = doc.as_object_mut() else { bail!("the config is not a JSON object") };
    let rules = root.entry("rules").or_insert_with(|| json!({}));
    let Some(rules) = rules.as_object_mut() else { bail!("rules: expected an object") };
    for (key, make) in [("proxy_ioc", proxy_list as fn(&LoadedFeed) -> Option<Value>), ("fw_c2_ip", c2_list)] {
        let section = rules.entry(key).or_insert_with(|| json!({}));
        let Some(section) = section.as_object_mut() else { bail!("rules.{key}: expected an object") };
        let lists = section.entry("lists").or_insert_with(|| json!([]));
        let Some(lists) = lists.as_array_mut() else { bail!("rules.{key}.lists: expected an array") };
        lists.extend(feeds.iter().filter_map(make));
    }
    Ok(serde_json::to_vec(&doc)?)
}

fn provider(f: &LoadedFeed) -> &str {
    f.list.split('/').next().unwrap_or(&f.list)
}

fn proxy_list(f: &LoadedFeed) -> Option<Value> {
    (!f.feed.is_empty()).then(|| {
        json!({"name": f.list, "provider": provider(f), "domains": f.feed.domains, "urls": f.feed.urls, "ips": f.feed.ips})
    })
}

fn c2_list(f: &LoadedFeed) -> Option<Value> {
    (!f.feed.ips.is_empty()).then(|| json!({"name": f.list, "provider": provider(f), "entries": f.feed.ips}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_become_lists_of_both_rules_beside_the_configs_own() {
        let dir = std::env::temp_dir().join(format!("malhost-intel-{}", std::process::id()));
        let d = dir.join("maltrail");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("njrat.txt"), "# x\nonline2018.duckdns.org\n41.108.179.197:1177\n").unwrap();
        std::fs::write(d.join("LICENSE"), "MIT\n").unwrap();
        let files = feed_files(&[d.clone()]).unwrap();
        assert_eq!(files, [d.join("njrat.txt")]);
        let feeds: Vec<LoadedFeed> = files.iter().map(|f| load(f).unwrap()).collect();
        let own = br#"{"rules":{"fw_c2_ip":{"lists":[{"name":"mine","entries":["192.0.2.1"]}]}}}"#;
        let doc: Value = serde_json::from_slice(&add_feeds(Some(own), &feeds).unwrap()).unwrap();
        assert_eq!(doc["rules"]["fw_c2_ip"]["lists"][1], json!({"name": "maltrail/njrat", "provider": "maltrail", "entries": ["41.108.179.197:1177"]}));
        assert_eq!(doc["rules"]["proxy_ioc"]["lists"][0]["domains"], json!(["online2018.duckdns.org"]));
        malhost::Config::from_json(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert!(feed_files(&[dir.join("nothing")]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
