//! Finding the detector module, and building it from this workspace when asked.
//!
//! Search order: `--wasm`, then `$MALHOST_WASM`, then `malhost.wasm` beside the executable,
//! then the workspace's build output (`target/wasm32-unknown-unknown/wasm/malhost.wasm`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The command that builds the module.
pub const BUILD_COMMAND: &str = "cargo build -p malhost-plugin --target wasm32-unknown-unknown --profile wasm";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Where this workspace's build puts the module.
pub fn workspace_module() -> PathBuf {
    target_dir().join("wasm32-unknown-unknown").join("wasm").join("malhost.wasm")
}

/// The command that builds the WASI flavour for Fluent Bit (reads `malhost.json` from its
/// accessible directories).
pub const WASI_BUILD_COMMAND: &str = "cargo build -p malhost-plugin --target wasm32-wasip1 --profile wasm";

/// Where this workspace's build puts the WASI flavour.
pub fn workspace_wasi_module() -> PathBuf {
    target_dir().join("wasm32-wasip1").join("wasm").join("malhost.wasm")
}

/// Resolves the module to load.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.is_file() {
            bail!("module not found: {}", p.display());
        }
        return Ok(p.to_path_buf());
    }
    let mut tried = Vec::new();
    if let Some(p) = std::env::var_os("MALHOST_WASM") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("module not found: {} (from $MALHOST_WASM)", p.display());
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            tried.push(dir.join("malhost.wasm"));
        }
    }
    tried.push(workspace_module());
    for p in &tried {
        if p.is_file() {
            return Ok(p.clone());
        }
    }
    bail!(
        "no malhost module found (looked in {}); build it with `{BUILD_COMMAND}` or pass --wasm",
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )
}

/// Builds the module from this workspace with cargo and returns its path. Cheap when it is
/// up to date; used by the tests so that they always exercise the current source.
pub fn build_workspace_module() -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--quiet", "-p", "malhost-plugin", "--target", "wasm32-unknown-unknown", "--profile", "wasm"])
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .with_context(|| format!("cannot run `{BUILD_COMMAND}`"))?;
    if !status.success() {
        bail!("`{BUILD_COMMAND}` failed ({status}); is the target installed? `rustup target add wasm32-unknown-unknown`");
    }
    let p = workspace_module();
    if !p.is_file() {
        bail!("build succeeded but {} is missing", p.display());
    }
    Ok(p)
}
