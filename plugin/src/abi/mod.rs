//! ABI layers that wrap the detector for its hosts.
//!
//! - [`core`]: the core ABI's logic as safe Rust (tested natively);
//! - `exports` (wasm32 only): the `extern "C"` functions of `schemas/ABI.md` over it.

pub mod core;
#[cfg(target_family = "wasm")]
mod exports;
