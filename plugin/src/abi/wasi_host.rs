//! What the WASI flavour of the module (`wasm32-wasip1`, built for Fluent Bit's `filter_wasm`)
//! takes from its host: a config file from the directories the host opened for it, and a
//! random hash seed.
//!
//! Fluent Bit gives a WASI module no arguments and no environment, only the directories
//! listed in `Accessible_Paths`, opened under their own names. The config file is therefore
//! found by name: the first [`CONFIG_FILE`] in those directories, in the order they were
//! listed. The core module (`wasm32-unknown-unknown`) imports nothing and never reads files.

use std::path::PathBuf;

/// The file name looked for in each accessible directory.
pub const CONFIG_FILE: &str = "malhost.json";

/// The first [`CONFIG_FILE`] in `dirs` (in order) and its bytes, or the error that kept it
/// from being read; `None` when no directory has one.
pub fn read_config_file(dirs: &[PathBuf]) -> Option<(PathBuf, std::io::Result<Vec<u8>>)> {
    dirs.iter().map(|d| d.join(CONFIG_FILE)).find_map(|path| match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        r => Some((path, r)),
    })
}

/// The directories the host opened for the module (WASI preopens), in order.
#[cfg(target_os = "wasi")]
pub fn accessible_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    // Preopens are numbered from 3 (after stdio) until the first descriptor that is not one.
    for fd in 3..3 + 4096 {
        // SAFETY: a plain WASI call with an integer argument.
        let Ok(stat) = (unsafe { wasi::fd_prestat_get(fd) }) else { break };
        if stat.tag != wasi::PREOPENTYPE_DIR.raw() {
            continue;
        }
        // SAFETY: the tag says the union holds a directory.
        let len = unsafe { stat.u.dir.pr_name_len };
        let mut name = vec![0u8; len];
        // SAFETY: `name` has `len` writable bytes.
        if unsafe { wasi::fd_prestat_dir_name(fd, name.as_mut_ptr(), len) }.is_ok() {
            while name.last() == Some(&0) {
                name.pop();
            }
            dirs.push(PathBuf::from(String::from_utf8_lossy(&name).into_owned()));
        }
    }
    dirs
}

/// No preopens outside WASI.
#[cfg(not(target_os = "wasi"))]
pub fn accessible_dirs() -> Vec<PathBuf> {
    Vec::new()
}

/// A random seed from the host (WASI `random_get`), or `None` where there is no such call.
#[cfg(target_os = "wasi")]
pub fn random_seed() -> Option<u64> {
    let mut b = [0u8; 8];
    // SAFETY: `b` has 8 writable bytes.
    unsafe { wasi::random_get(b.as_mut_ptr(), b.len()) }.ok().map(|()| u64::from_le_bytes(b))
}

/// No entropy outside WASI: the core module takes its seed from `malhost_seed`.
#[cfg(not(target_os = "wasi"))]
pub fn random_seed() -> Option<u64> {
    None
}

/// The host's wall clock, ms since the Unix epoch (WASI's realtime clock).
#[cfg(target_os = "wasi")]
pub fn wall_clock_ms() -> Option<i64> {
    // SAFETY: a plain WASI call with no pointers.
    unsafe { wasi::clock_time_get(wasi::CLOCKID_REALTIME, 1_000_000) }.ok().map(|ns| (ns / 1_000_000) as i64)
}

/// The process's wall clock natively; none in the core module (`malhost_set_clock` gives it).
#[cfg(not(target_os = "wasi"))]
pub fn wall_clock_ms() -> Option<i64> {
    #[cfg(target_family = "wasm")]
    return None;
    #[cfg(not(target_family = "wasm"))]
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_directory_with_the_file_wins_and_missing_ones_are_skipped() {
        let base = std::env::temp_dir().join(format!("malhost-wasi-host-{}", std::process::id()));
        let (a, b, c) = (base.join("a"), base.join("b"), base.join("c"));
        for d in [&a, &b, &c] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(b.join(CONFIG_FILE), b"{\"b\":1}").unwrap();
        std::fs::write(c.join(CONFIG_FILE), b"{\"c\":1}").unwrap();
        let (path, bytes) = read_config_file(&[base.join("missing"), a.clone(), b.clone(), c]).unwrap();
        assert_eq!(path, b.join(CONFIG_FILE));
        assert_eq!(bytes.unwrap(), b"{\"b\":1}");
        assert!(read_config_file(&[a]).is_none());
        // A directory named like the file cannot be read: reported, not skipped.
        std::fs::create_dir_all(base.join("d").join(CONFIG_FILE)).unwrap();
        assert!(read_config_file(&[base.join("d")]).unwrap().1.is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
