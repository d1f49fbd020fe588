//! Embeds an optional config into the module for hosts that cannot hand it one (Fluent Bit's
//! `filter_wasm`): `MALHOST_EMBED_CONFIG=path/to/config.json cargo build …`. Without the
//! variable the embedded config is empty and the defaults apply.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=MALHOST_EMBED_CONFIG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_config.json");
    let content = match std::env::var_os("MALHOST_EMBED_CONFIG") {
        Some(p) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&p).display());
            std::fs::read(&p).unwrap_or_else(|e| panic!("MALHOST_EMBED_CONFIG={}: {e}", PathBuf::from(&p).display()))
        }
        None => Vec::new(),
    };
    std::fs::write(&out, content).expect("write the embedded config");
}
