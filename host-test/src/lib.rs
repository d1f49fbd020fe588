//! malhost's host: the wasmtime runtime for the detector module, and the CLI's commands.
//!
//! - [`runtime`]: load, check, limit and recover the module;
//! - [`module_path`]: find (or, for tests and examples, build) `malhost.wasm`;
//! - [`replay`]: stream JSONL files through the module;
//! - [`tally`] and [`report`]: what the output says, per rule and per host ranked by risk;
//! - [`run`]: the long-running stdin → stdout filter;
//! - [`import`]: real log files (mail messages, …) → ECS JSON lines;
//! - [`inputs`]: the files a command is given, directories expanded;
//! - [`intel`]: indicator feed files (`--intel`) added to the config as lists;
//! - [`synth`]: seeded synthetic firewall traffic for benchmarks and tests;
//! - [`soak`]: the long mixed stream of soak runs, replay's samples of it, and their plot;
//! - [`bench`]: native core vs module throughput;
//! - [`flood`]: the hash-flooding benchmark (destinations crafted to collide under a known seed);
//! - [`train`] and [`evaluate`]: learned lists and their k-fold cross-validation.
#![deny(missing_docs)]

pub mod bench;
pub mod evaluate;
pub mod flood;
pub mod import;
pub mod inputs;
pub mod intel;
pub mod module_path;
pub mod replay;
pub mod report;
pub mod roc;
pub mod run;
pub mod runtime;
pub mod soak;
pub mod synth;
pub mod tally;
pub mod train;
