//! The detector's counters, kept with the state (a snapshot carries them).

use serde::Serialize;

/// Counters since the detector was created.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Stats {
    /// Input lines that were events or error records (blank lines excluded).
    pub lines: u64,
    /// Events written unchanged.
    pub passed_through: u64,
    /// Events written with added fields.
    pub enriched: u64,
    /// Alerts written.
    pub alerts: u64,
    /// Lines that were not usable JSON objects.
    pub input_errors: u64,
    /// Events with an `error.message` about a field.
    pub field_errors: u64,
    /// Hosts currently tracked.
    pub hosts_tracked: u64,
    /// Hosts evicted to stay within `state.max_hosts`.
    pub host_evictions: u64,
    /// Web destinations whose distinct hosts are counted.
    pub destinations_tracked: u64,
    /// Destinations evicted to stay within `state.max_destinations`.
    pub destination_evictions: u64,
    /// (host, rare destination) pairs followed by `proxy.daily_beacon`.
    pub beacon_tracks: u64,
}
