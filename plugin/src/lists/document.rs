//! The list document: what `malhost train` writes and `rules.learned_lists.list` loads as is
//! (schema: `schemas/lists.schema.json`).

use serde::{Deserialize, Serialize};

use super::extract::{ExtractOptions, ListField};

/// Format version of list documents.
pub const LIST_FORMAT: u32 = 1;

/// A learned list document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDocument {
    /// Format version ([`LIST_FORMAT`]).
    pub malhost_lists: u32,
    /// Options of training.
    pub options: TrainOptions,
    /// What the malware logs held.
    pub malware: InputSummary,
    /// What the normal logs held.
    pub normal: InputSummary,
    /// One list per field.
    pub fields: Vec<FieldList>,
}

/// Training options, recorded so that a list says how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    /// A value is listed when PM > `t_m` …
    pub t_m: f64,
    /// … and PL < `t_l`.
    pub t_l: f64,
    /// Extractor options (shared with detection).
    #[serde(default)]
    pub extract: ExtractOptions,
    /// The field naming the sample of a malware event.
    pub sample_field: String,
}

/// Counts and digests of one side of the training data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSummary {
    /// Samples (malware side, M) or hosts (normal side, N).
    pub entities: u64,
    /// Events read.
    pub events: u64,
    /// Lines that were not usable events.
    #[serde(default)]
    pub skipped: u64,
    /// The input files.
    #[serde(default)]
    pub inputs: Vec<InputDigest>,
}

/// One input file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDigest {
    /// Path as given.
    pub path: String,
    /// Size.
    pub bytes: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// The list Φ of one field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldList {
    /// The field.
    pub field: ListField,
    /// M: malware samples.
    pub m_total: u64,
    /// N: normal hosts.
    pub n_total: u64,
    /// Values seen in malware logs (the candidates).
    pub candidates: u64,
    /// The listed values, by PM descending.
    pub values: Vec<ListValue>,
}

/// One listed value with its statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListValue {
    /// The value, as the extractor writes it.
    pub value: String,
    /// m_k: samples whose logs contain it.
    pub m: u64,
    /// n_k: normal hosts whose logs contain it.
    pub n: u64,
    /// PM = m_k / M.
    pub pm: f64,
    /// PL = n_k / N.
    pub pl: f64,
}

/// Whether a value with these counts belongs in Φ: PM > t_m and PL < t_l, strictly, as in
/// the paper. With no normal hosts PL is taken as 0.
pub fn is_listed(m: u64, m_total: u64, n: u64, n_total: u64, t_m: f64, t_l: f64) -> bool {
    if m_total == 0 {
        return false;
    }
    let pm = m as f64 / m_total as f64;
    let pl = if n_total == 0 { 0.0 } else { n as f64 / n_total as f64 };
    pm > t_m && pl < t_l
}

impl ListDocument {
    /// The list of one field, if trained.
    pub fn field(&self, f: ListField) -> Option<&FieldList> {
        self.fields.iter().find(|l| l.field == f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_strict() {
        // M = 10, N = 100, t_m = 0.2, t_l = 0.05
        assert!(!is_listed(2, 10, 0, 100, 0.2, 0.05), "PM = t_m is not above it");
        assert!(is_listed(3, 10, 0, 100, 0.2, 0.05));
        assert!(!is_listed(3, 10, 5, 100, 0.2, 0.05), "PL = t_l is not below it");
        assert!(is_listed(3, 10, 4, 100, 0.2, 0.05));
        assert!(is_listed(1, 1, 0, 0, 0.5, 0.01), "no normal hosts: PL = 0");
        assert!(!is_listed(0, 0, 0, 0, 0.0, 1.0), "no samples: nothing listed");
    }
}
