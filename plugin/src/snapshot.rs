//! Snapshot and restore of the detector's whole state as a versioned JSON document, so a
//! restart (or a recovery after a trap) loses nothing: every host's windows, dedup times,
//! beacon tracks, off-hours periods and upload runs, the distinct-host counts per destination,
//! the message ids that alerted, and the counters.
//!
//! Keys of the per-host maps are hashes seeded with the seed in force, which the document
//! records: restoring it adopts that seed, unless the config names another `hash_seed`, which
//! is refused (the keys could not be read). Tables are rebuilt in their
//! least-recently-seen order, so eviction continues where it stopped; a smaller cap in the new
//! config evicts (and counts) the oldest entries.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::rules::host_state::HostState;
use crate::state::Stats;
use crate::state::destinations::Reach;
use crate::state::messages::Seen;

/// Version of the snapshot document; bumped on any incompatible change (2: keys hashed with
/// SipHash-1-3 instead of ahash, so a format-1 document's keys cannot be read; 3: each message
/// remembers when each rule last alerted on it; 4: a message is keyed by its id, sender and
/// finding; 5: each host's state is one field per rule, `rules.<key>`, as the registry lists them).
pub const SNAPSHOT_FORMAT: u32 = 5;

/// The document, generic over how it holds the tables: owned when read ([`Snapshot`]), borrowed
/// from the live state when written ([`SnapshotOut`], so taking a snapshot needs memory for
/// the JSON text only). One field list for both, so they cannot drift apart.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotDoc<H, D, M> {
    /// [`SNAPSHOT_FORMAT`].
    pub malhost_snapshot: u32,
    /// The `hash_seed` the keys were hashed with.
    pub hash_seed: u64,
    /// Counters so far.
    pub stats: Stats,
    /// Hosts, least recently seen first.
    pub hosts: Vec<H>,
    /// Hosts evicted so far.
    pub host_evictions: u64,
    /// Destinations with their hosts, least recently seen first.
    pub destinations: Vec<D>,
    /// Destinations evicted so far.
    pub destination_evictions: u64,
    /// Message ids that alerted (hash, rule bits), least recently seen first.
    pub messages: Vec<M>,
    /// Message ids forgotten so far.
    pub message_evictions: u64,
}

/// The document as read.
pub type Snapshot = SnapshotDoc<(IpAddr, HostState), (u64, Reach), (u64, Seen)>;

/// The document as written, borrowing the state.
pub type SnapshotOut<'a> = SnapshotDoc<(&'a IpAddr, &'a HostState), (&'a u64, &'a Reach), (&'a u64, &'a Seen)>;
