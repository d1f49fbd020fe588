//! malhost's detector core.
//!
//! Plain Rust that knows nothing about its host: it takes newline-separated JSON events (ECS
//! field names), and returns the same events, in order, enriched where a rule matched, with
//! alert events beside them. The same code runs natively (tests, the CLI's training and
//! evaluation) and inside the `wasm32-unknown-unknown` module that log pipelines load; the
//! thin ABI layers in [`abi`] wrap it for those hosts.
//!
//! The tree follows the data:
//! - [`event`]: one pass over the JSON reading only the fields a rule needs ([`event::Event`]),
//!   typed accessors and the source classification;
//! - [`values`]: the value types of the config (durations, ports, severities, …) and its error;
//! - [`webhost`]: host-name normalisation shared by the web rules and indicator lists;
//! - [`config`]: the operator's JSON configuration, with every error naming its JSON path;
//! - [`calendar`]: local days, business hours and off-hours periods from event time;
//! - [`netlist`]: IP / CIDR / IP:port lists matched by longest prefix;
//! - [`indicators`]: domain and URL indicator lists in compact tables;
//! - [`intel`]: indicator feeds as published (plain lists, maltrail, Feodo CSV, STIX 2.1) read into list entries;
//! - [`state`]: bounded per-host state with least-recently-seen eviction;
//! - [`rules`]: one module per rule family;
//! - [`mail`]: mail header parsing (addresses, encoded words, attachment names) for the mail rules;
//! - [`import`]: real log formats (mail files, …) turned into ECS events;
//! - [`output`]: enrichment splicing, alert events and error records;
//! - [`detector`]: the pipeline that ties them together.
#![deny(missing_docs)]

pub mod abi;
pub mod calendar;
pub mod config;
pub mod detector;
pub mod event;
pub mod import;
pub mod indicators;
pub mod intel;
pub mod lists;
pub mod mail;
pub mod netlist;
pub mod output;
pub mod rules;
pub mod snapshot;
pub mod state;
pub mod values;
pub mod verdict;
pub mod webhost;

pub use config::{Config, ConfigError};
pub use detector::{Detector, Stats};

/// Version of the module's core ABI (`schemas/ABI.md`). Bumped on any incompatible change;
/// additions keep it.
pub const ABI_VERSION: u32 = 1;
