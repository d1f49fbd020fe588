//! The input files a command is given: files as named, directories expanded to the files in
//! them that the command reads, in name order.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// `inputs` with each directory replaced by its entries that `keep` accepts (not recursive),
/// sorted by path; other paths are kept as given.
pub fn expand_dirs(inputs: &[PathBuf], keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| keep(f))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
