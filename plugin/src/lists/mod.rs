//! Learned malicious lists (SPEC §5.1, the statistical method of seed 000).
//!
//! - [`extract`]: one value extractor per field, used by training and by detection, so that
//!   a learned list can never disagree with the detector;
//! - [`document`]: the list document that training writes and the config loads as is;
//! - [`training`]: PM/PL from malware and normal logs, streaming, memory bounded by the
//!   number of candidate values;
//! - [`window`]: per-host w (max count of one value) and s (distinct values) over a sliding
//!   event-time window, used by the `list.count` / `list.types` rule and by evaluation.

pub mod document;
pub mod extract;
pub mod training;
pub mod window;
