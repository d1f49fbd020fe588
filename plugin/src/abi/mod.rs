//! ABI layers that wrap the detector for its hosts.
//!
//! - [`core`]: the core ABI's logic as safe Rust (tested natively);
//! - [`fluentbit`]: Fluent Bit's `filter_wasm` record-in, record-out logic;
//! - [`wasi_host`]: what the WASI flavour (for Fluent Bit) reads from its host: the config
//!   file in the accessible directories and a random hash seed;
//! - `js` (feature `js`): the wasm-bindgen class for Node and browsers;
//! - `exports` (wasm32 only): the `extern "C"` functions of `schemas/ABI.md` and
//!   `malhost_filter` for Fluent Bit over them.

pub mod core;
pub mod fluentbit;
pub mod wasi_host;
#[cfg(feature = "js")]
pub mod js;
#[cfg(target_family = "wasm")]
mod exports;
