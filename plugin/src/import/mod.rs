//! Real log formats → the ECS events of SPEC §3, so that operators and CI can replay the
//! logs they have. Each importer documents which source field becomes which ECS field.
//!
//! - [`eml`]: a message file (RFC 5322/MIME) → one mail event.

pub mod eml;
