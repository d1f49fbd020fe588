//! `malhost evaluate`: k-fold cross-validation of learned lists (SPEC §5.1, paper §4).
//!
//! Malware samples and normal hosts are each split into k folds (seeded). For every fold the
//! lists are learned from the other folds (PM > t_m, PL < t_l, the plugin's `is_listed`), the
//! thresholds t_w / t_s are chosen on the training hosts as the smallest value whose FPR is at
//! most the target, and the held-out samples and hosts are scored. Scores are the peak w and s
//! that the detector's own window type ([`malhost::lists::window`]) reaches over an entity's
//! events, with values taken by the detector's extractors, so evaluation and detection agree.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Result, bail};
use malhost::event::Event;
use malhost::lists::document::is_listed;
use malhost::lists::extract::{ExtractOptions, ListField, extract};
use malhost::lists::window::{Hit, peak_scores};
use serde::Serialize;

use crate::train::{file_sample_id, for_each_line, sample_id};

/// Evaluation settings.
#[derive(Clone, Debug)]
pub struct EvalSettings {
    /// Number of folds.
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// PM threshold.
    pub t_m: f64,
    /// PL threshold.
    pub t_l: f64,
    /// FPR the thresholds are chosen for, on the training folds.
    pub target_fpr: f64,
    /// Window of w and s, ms.
    pub window_ms: i64,
    /// Hits kept per entity and field (the detector's `state.max_keys_per_host`).
    pub cap: usize,
    /// Extractor options.
    pub extract: ExtractOptions,
    /// Sample id field.
    pub sample_field: String,
    /// Each malware file is one sample, named by its file name.
    pub sample_per_file: bool,
    /// Each normal file is one host, named by its file name (a capture of one host that also
    /// holds its peers' inbound flows).
    pub host_per_file: bool,
    /// Show progress bars.
    pub progress: bool,
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings {
            folds: 7,
            seed: 1,
            t_m: 0.001,
            t_l: 0.005,
            target_fpr: 0.005,
            window_ms: 86_400_000,
            cap: 1024,
            extract: ExtractOptions::default(),
            sample_field: "malhost.sample".into(),
            sample_per_file: false,
            host_per_file: false,
            progress: false,
        }
    }
}

/// Detection mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// w > t_w.
    Count,
    /// s > t_s.
    Types,
}

/// One entity's hits per field, and its distinct values per field.
#[derive(Clone, Debug, Default)]
pub struct Entity {
    hits: [Vec<Hit>; 3],
    distinct: [Vec<u32>; 3],
}

/// Samples and hosts with their values, interned per field.
#[derive(Debug, Default)]
pub struct Corpus {
    values: [Vec<String>; 3],
    index: [HashMap<String, u32>; 3],
    /// Malware samples (names, entities).
    pub samples: Vec<(String, Entity)>,
    /// Normal hosts.
    pub hosts: Vec<(String, Entity)>,
    sample_ix: HashMap<String, usize>,
    host_ix: HashMap<String, usize>,
    /// Events without a usable time, not counted.
    pub untimed: u64,
}

fn fi(f: ListField) -> usize {
    match f {
        ListField::DstIpTcp80 => 0,
        ListField::DstPort => 1,
        ListField::HttpUrl => 2,
    }
}

impl Corpus {
    /// Adds one event of an entity (`malware` says which side).
    pub fn add(&mut self, malware: bool, entity: &str, ev: &Event, opts: &ExtractOptions) {
        let kind = ev.source_kind();
        let ts = match ev.timestamp_ms() {
            Ok(t) => Some(t),
            Err(_) => None,
        };
        let (list, ix) = if malware { (&mut self.samples, &mut self.sample_ix) } else { (&mut self.hosts, &mut self.host_ix) };
        let e = match ix.get(entity) {
            Some(&i) => i,
            None => {
                list.push((entity.to_owned(), Entity::default()));
                ix.insert(entity.to_owned(), list.len() - 1);
                list.len() - 1
            }
        };
        for f in ListField::ALL {
            let Some(v) = extract(f, ev, kind, opts) else { continue };
            let Some(ts) = ts else {
                self.untimed += 1;
                continue;
            };
            let k = fi(f);
            let id = match self.index[k].get(v.as_ref()) {
                Some(&id) => id,
                None => {
                    let id = self.values[k].len() as u32;
                    self.values[k].push(v.clone().into_owned());
                    self.index[k].insert(v.into_owned(), id);
                    id
                }
            };
            let ent = &mut list[e].1;
            ent.hits[k].push(Hit { ts, value: id });
        }
    }

    /// Sorts hits by time and computes distinct values (call once after loading).
    pub fn seal(&mut self) {
        for (_, e) in self.samples.iter_mut().chain(self.hosts.iter_mut()) {
            for k in 0..3 {
                e.hits[k].sort_by_key(|h| h.ts);
                let mut d: Vec<u32> = e.hits[k].iter().map(|h| h.value).collect();
                d.sort_unstable();
                d.dedup();
                e.distinct[k] = d;
            }
        }
    }
}

/// Per field and mode, over all folds.
#[derive(Clone, Debug, Serialize)]
pub struct FieldResult {
    /// Field.
    pub field: ListField,
    /// Mode.
    pub mode: Mode,
    /// Held-out samples detected / M.
    pub tpr: f64,
    /// Held-out normal hosts flagged / N.
    pub fpr: f64,
    /// Samples detected.
    pub detected: u64,
    /// Hosts flagged.
    pub flagged: u64,
    /// Threshold chosen per fold.
    pub thresholds: Vec<u32>,
    /// Listed values per fold.
    pub list_sizes: Vec<usize>,
    /// ROC points (threshold, TPR, FPR) pooled over the held-out folds.
    pub roc: Vec<(u32, f64, f64)>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// M.
    pub samples: usize,
    /// N.
    pub hosts: usize,
    /// k.
    pub folds: usize,
    /// Settings echoed.
    pub t_m: f64,
    /// Settings echoed.
    pub t_l: f64,
    /// Settings echoed.
    pub target_fpr: f64,
    /// Per field and mode.
    pub results: Vec<FieldResult>,
    /// Firewall (count on dst_ip_tcp80 or dst_port) or proxy (types on http_url).
    pub union_tpr: f64,
    /// Hosts flagged by any of those.
    pub union_fpr: f64,
    /// Firewall detection alone.
    pub firewall_tpr: f64,
    /// Proxy detection alone.
    pub proxy_tpr: f64,
    /// Samples detected by the firewall fields but not by proxy / M.
    pub firewall_only_increment: f64,
    /// Values carrying the firewall-only detections, most frequent first.
    pub firewall_only_values: Vec<(String, u64)>,
    /// Every sample and host: flagged or not when held out, and the listed values it hit.
    pub entities: Vec<EntityResult>,
}

/// One held-out sample or host.
#[derive(Clone, Debug, Serialize)]
pub struct EntityResult {
    /// Sample id or host.
    pub name: String,
    /// A malware sample (else a normal host).
    pub malware: bool,
    /// Flagged by the firewall fields (count detection).
    pub by_firewall: bool,
    /// Flagged by URLs (type detection).
    pub by_proxy: bool,
    /// Listed values (of the lists learned without it) its logs hold, `field:value`, at most 10.
    pub listed_values: Vec<String>,
}

/// Loads the logs into a corpus.
pub fn load(malware: &[PathBuf], normal: &[PathBuf], s: &EvalSettings) -> Result<Corpus> {
    let mut c = Corpus::default();
    for p in malware {
        let file_id = s.sample_per_file.then(|| file_sample_id(p));
        for_each_line(p, s.progress, |n, l| {
            let Ok(ev) = Event::parse(l) else { return Ok(()) };
            let Some(id) = file_id.clone().or_else(|| sample_id(l, &ev, &s.sample_field)) else {
                bail!("{}:{n}: malware event without a sample id in `{}`", p.display(), s.sample_field);
            };
            c.add(true, &id, &ev, &s.extract);
            Ok(())
        })?;
    }
    for p in normal {
        let file_id = s.host_per_file.then(|| file_sample_id(p));
        for_each_line(p, s.progress, |_, l| {
            let Ok(ev) = Event::parse(l) else { return Ok(()) };
            if let Some(id) = &file_id {
                c.add(false, id, &ev, &s.extract);
            } else if let Ok(Some(ip)) = ev.source_ip() {
                c.add(false, &ip.to_string(), &ev, &s.extract);
            }
            Ok(())
        })?;
    }
    c.seal();
    if c.samples.is_empty() || c.hosts.is_empty() {
        bail!("evaluation needs malware samples and normal hosts (found {} and {})", c.samples.len(), c.hosts.len());
    }
    Ok(c)
}

/// Fold of each entity: a seeded shuffle, then round robin, so fold sizes differ by one.
pub fn assign_folds(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    fastrand::Rng::with_seed(seed).shuffle(&mut order);
    let mut fold = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        fold[i] = pos % k.max(1);
    }
    fold
}

const MODES: [(ListField, Mode); 6] = [
    (ListField::DstIpTcp80, Mode::Count),
    (ListField::DstIpTcp80, Mode::Types),
    (ListField::DstPort, Mode::Count),
    (ListField::DstPort, Mode::Types),
    (ListField::HttpUrl, Mode::Count),
    (ListField::HttpUrl, Mode::Types),
];

/// The paper's pairing: count detection on the firewall fields, type detection on URLs.
fn paper_mode(f: ListField) -> Mode {
    if f == ListField::HttpUrl { Mode::Types } else { Mode::Count }
}

/// The largest threshold of the ROC curves.
const ROC_MAX: u32 = 100;

/// Which held-out entities (samples or hosts) a list detected in the paper's pairing
/// ([`paper_mode`]): by a firewall field, or by the URL field.
struct DetectedBy {
    firewall: Vec<bool>,
    proxy: Vec<bool>,
}

impl DetectedBy {
    /// None of `n` entities detected yet.
    fn new(n: usize) -> Self {
        DetectedBy { firewall: vec![false; n], proxy: vec![false; n] }
    }

    /// The marks of the family of field `f`.
    fn of(&mut self, f: ListField) -> &mut [bool] {
        if f == ListField::HttpUrl { &mut self.proxy } else { &mut self.firewall }
    }

    /// Detected by either family.
    fn either(&self) -> Vec<bool> {
        self.firewall.iter().zip(&self.proxy).map(|(a, b)| *a || *b).collect()
    }
}

/// Scores the entities held out in `fold` (`folds[i] == fold`) against threshold `t`: returns
/// how many score above it and marks those in `detected` when given; `roc[r]` counts those
/// scoring above each r up to [`ROC_MAX`].
fn score_held_out(
    scores: &[(u32, u32)],
    pick: impl Fn((u32, u32)) -> u32,
    folds: &[usize],
    fold: usize,
    t: u32,
    mut detected: Option<&mut [bool]>,
    roc: &mut [u64],
) -> u64 {
    let mut above = 0;
    for (i, &sc) in scores.iter().enumerate() {
        if folds[i] != fold {
            continue;
        }
        let v = pick(sc);
        if v > t {
            above += 1;
            if let Some(d) = detected.as_deref_mut() {
                d[i] = true;
            }
        }
        for r in 0..=ROC_MAX {
            if v > r {
                roc[r as usize] += 1;
            }
        }
    }
    above
}

/// Runs the cross-validation.
pub fn evaluate(c: &Corpus, s: &EvalSettings) -> Report {
    let k = s.folds.max(2);
    let sf = assign_folds(c.samples.len(), k, s.seed);
    let hf = assign_folds(c.hosts.len(), k, s.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut acc: Vec<(u64, u64, Vec<u32>, Vec<usize>, Vec<u64>, Vec<u64>)> =
        MODES.iter().map(|_| (0, 0, Vec::new(), Vec::new(), vec![0; ROC_MAX as usize + 1], vec![0; ROC_MAX as usize + 1])).collect();
    let m_all = c.samples.len();
    let n_all = c.hosts.len();
    // Per held-out sample and host: detected by (field, paper mode).
    let mut samples_by = DetectedBy::new(m_all);
    let mut hosts_by = DetectedBy::new(n_all);
    // Firewall values listed in some fold for a held-out sample that had them.
    let mut fw_listed: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut sample_vals: Vec<Vec<String>> = vec![Vec::new(); m_all];
    let mut host_vals: Vec<Vec<String>> = vec![Vec::new(); n_all];
    for fold in 0..k {
        for f in ListField::ALL {
            let x = fi(f);
            let nvals = c.values[x].len();
            let (mut m, mut n) = (vec![0u64; nvals], vec![0u64; nvals]);
            let (mut mt, mut nt) = (0u64, 0u64);
            for (i, (_, e)) in c.samples.iter().enumerate() {
                if sf[i] != fold {
                    mt += 1;
                    for &v in &e.distinct[x] {
                        m[v as usize] += 1;
                    }
                }
            }
            for (i, (_, e)) in c.hosts.iter().enumerate() {
                if hf[i] != fold {
                    nt += 1;
                    for &v in &e.distinct[x] {
                        n[v as usize] += 1;
                    }
                }
            }
            let listed: Vec<bool> = (0..nvals).map(|v| is_listed(m[v], mt, n[v], nt, s.t_m, s.t_l)).collect();
            let list_size = listed.iter().filter(|&&b| b).count();
            for (held, vals, folds) in [(&c.samples, &mut sample_vals, &sf), (&c.hosts, &mut host_vals, &hf)] {
                for (i, (_, e)) in held.iter().enumerate() {
                    if folds[i] != fold {
                        continue;
                    }
                    for &v in &e.distinct[x] {
                        if listed[v as usize] && vals[i].len() < 10 {
                            vals[i].push(format!("{}:{}", f.name(), c.values[x][v as usize]));
                        }
                    }
                }
            }
            let score = |e: &Entity| -> (u32, u32) {
                let hits: Vec<Hit> = e.hits[x].iter().copied().filter(|h| listed[h.value as usize]).collect();
                peak_scores(&hits, s.window_ms, s.cap)
            };
            let sample_scores: Vec<(u32, u32)> = c.samples.iter().map(|(_, e)| score(e)).collect();
            let host_scores: Vec<(u32, u32)> = c.hosts.iter().map(|(_, e)| score(e)).collect();
            for (mi, &(mf, mode)) in MODES.iter().enumerate() {
                if mf != f {
                    continue;
                }
                let pick = |sc: (u32, u32)| if mode == Mode::Count { sc.0 } else { sc.1 };
                // Smallest t whose FPR on the training hosts is at most the target.
                let train: Vec<u32> = host_scores.iter().enumerate().filter(|(i, _)| hf[*i] != fold).map(|(_, &sc)| pick(sc)).collect();
                let mut t = 0u32;
                loop {
                    let fp = train.iter().filter(|&&v| v > t).count() as f64;
                    if nt == 0 || fp / nt as f64 <= s.target_fpr {
                        break;
                    }
                    t += 1;
                }
                let a = &mut acc[mi];
                a.2.push(t);
                a.3.push(list_size);
                let paper = mode == paper_mode(f);
                a.0 += score_held_out(&sample_scores, pick, &sf, fold, t, paper.then(|| samples_by.of(f)), &mut a.4);
                a.1 += score_held_out(&host_scores, pick, &hf, fold, t, paper.then(|| hosts_by.of(f)), &mut a.5);
            }
            // Values that carry firewall detections of held-out samples (for the increment).
            if f != ListField::HttpUrl {
                for (i, (_, e)) in c.samples.iter().enumerate() {
                    if sf[i] == fold {
                        for &v in &e.distinct[x] {
                            if listed[v as usize] {
                                fw_listed.insert(format!("{}:{}", f.name(), c.values[x][v as usize]));
                            }
                        }
                    }
                }
            }
        }
    }
    // Count carriers only among firewall-only detections.
    let mut carriers: HashMap<String, u64> = HashMap::new();
    for (i, (_, e)) in c.samples.iter().enumerate() {
        if samples_by.firewall[i] && !samples_by.proxy[i] {
            for f in [ListField::DstIpTcp80, ListField::DstPort] {
                let x = fi(f);
                for &v in &e.distinct[x] {
                    let key = format!("{}:{}", f.name(), c.values[x][v as usize]);
                    if fw_listed.contains(&key) {
                        *carriers.entry(key).or_default() += 1;
                    }
                }
            }
        }
    }
    let mut carriers: Vec<(String, u64)> = carriers.into_iter().collect();
    carriers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    carriers.truncate(15);
    let results = MODES
        .iter()
        .zip(acc)
        .map(|(&(field, mode), (det, flag, thresholds, list_sizes, rs, rh))| FieldResult {
            field,
            mode,
            tpr: det as f64 / m_all as f64,
            fpr: flag as f64 / n_all as f64,
            detected: det,
            flagged: flag,
            thresholds,
            list_sizes,
            roc: (0..=ROC_MAX).map(|r| (r, rs[r as usize] as f64 / m_all as f64, rh[r as usize] as f64 / n_all as f64)).collect(),
        })
        .collect();
    let count = |v: &[bool]| v.iter().filter(|&&b| b).count() as f64;
    let fw_only: Vec<bool> = samples_by.firewall.iter().zip(&samples_by.proxy).map(|(a, b)| *a && !*b).collect();
    Report {
        samples: m_all,
        hosts: n_all,
        folds: k,
        t_m: s.t_m,
        t_l: s.t_l,
        target_fpr: s.target_fpr,
        results,
        union_tpr: count(&samples_by.either()) / m_all as f64,
        union_fpr: count(&hosts_by.either()) / n_all as f64,
        firewall_tpr: count(&samples_by.firewall) / m_all as f64,
        proxy_tpr: count(&samples_by.proxy) / m_all as f64,
        firewall_only_increment: count(&fw_only) / m_all as f64,
        firewall_only_values: carriers,
        entities: c
            .samples
            .iter()
            .enumerate()
            .map(|(i, (name, _))| EntityResult {
                name: name.clone(),
                malware: true,
                by_firewall: samples_by.firewall[i],
                by_proxy: samples_by.proxy[i],
                listed_values: sample_vals[i].clone(),
            })
            .chain(c.hosts.iter().enumerate().map(|(i, (name, _))| EntityResult {
                name: name.clone(),
                malware: false,
                by_firewall: hosts_by.firewall[i],
                by_proxy: hosts_by.proxy[i],
                listed_values: host_vals[i].clone(),
            }))
            .collect(),
    }
}

impl Report {
    /// A readable table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} malware samples, {} normal hosts, {} folds, t_m = {}, t_l = {}, target FPR {}\n\n",
            self.samples, self.hosts, self.folds, self.t_m, self.t_l, self.target_fpr
        );
        s.push_str(&format!("{:<14} {:<6} {:>8} {:>8} {:>14} {:>16}\n", "field", "mode", "TPR", "FPR", "thresholds", "list sizes"));
        for r in &self.results {
            let th = r.thresholds.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let ls = format!(
                "{}..{}",
                r.list_sizes.iter().min().copied().unwrap_or(0),
                r.list_sizes.iter().max().copied().unwrap_or(0)
            );
            s.push_str(&format!(
                "{:<14} {:<6} {:>8.4} {:>8.4} {:>14} {:>16}\n",
                r.field.name(),
                if r.mode == Mode::Count { "count" } else { "types" },
                r.tpr,
                r.fpr,
                th,
                ls
            ));
        }
        s.push_str(&format!(
            "\nfirewall (count) TPR {:.4}, proxy (types) TPR {:.4}, union TPR {:.4} at FPR {:.4}\nfirewall-only increment over proxy: {:.4}\n",
            self.firewall_tpr, self.proxy_tpr, self.union_tpr, self.union_fpr, self.firewall_only_increment
        ));
        if !self.firewall_only_values.is_empty() {
            s.push_str("carried by: ");
            s.push_str(&self.firewall_only_values.iter().map(|(v, n)| format!("{v} ({n})")).collect::<Vec<_>>().join(", "));
            s.push('\n');
        }
        // Small corpora (real captures): every entity, held out.
        if self.entities.len() <= 60 {
            s.push_str("\nentity (held out)                          kind    firewall proxy  listed values hit\n");
            for e in &self.entities {
                let yn = |b: bool| if b { "yes" } else { "-" };
                s.push_str(&format!(
                    "{:<42} {:<7} {:<8} {:<6} {}\n",
                    e.name,
                    if e.malware { "sample" } else { "host" },
                    yn(e.by_firewall),
                    yn(e.by_proxy),
                    if e.listed_values.is_empty() { "-".to_string() } else { e.listed_values.join(" ") }
                ));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fw(entity_field: &str, ts: i64, dst: &str, port: u16) -> String {
        format!(r#"{{"@timestamp":{ts},"observer.type":"firewall",{entity_field},"destination.ip":"{dst}","destination.port":{port},"network.transport":"tcp"}}"#)
    }

    fn corpus() -> Corpus {
        let o = ExtractOptions::default();
        let mut c = Corpus::default();
        // 4 samples: 3 reach tcp/445 three times, one only tcp/443.
        for s in ["s1", "s2", "s3"] {
            for t in 0..3 {
                let l = fw(&format!(r#""malhost.sample":"{s}""#), 1_700_000_000 + t, "198.51.100.1", 445);
                c.add(true, s, &Event::parse(l.as_bytes()).unwrap(), &o);
            }
        }
        let l = fw(r#""malhost.sample":"s4""#, 1_700_000_000, "198.51.100.1", 443);
        c.add(true, "s4", &Event::parse(l.as_bytes()).unwrap(), &o);
        // 4 hosts all on tcp/443; one also once on tcp/445.
        for h in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"] {
            let l = fw(&format!(r#""source.ip":"{h}""#), 1_700_000_000, "203.0.113.1", 443);
            c.add(false, h, &Event::parse(l.as_bytes()).unwrap(), &o);
        }
        let l = fw(r#""source.ip":"10.0.0.4""#, 1_700_000_100, "203.0.113.1", 445);
        c.add(false, "10.0.0.4", &Event::parse(l.as_bytes()).unwrap(), &o);
        c.seal();
        c
    }

    #[test]
    fn folds_are_balanced_and_seeded() {
        let f = assign_folds(10, 3, 7);
        for k in 0..3 {
            let n = f.iter().filter(|&&x| x == k).count();
            assert!((3..=4).contains(&n));
        }
        assert_eq!(f, assign_folds(10, 3, 7));
    }

    #[test]
    fn cross_validation_on_a_hand_computed_case() {
        let c = corpus();
        let s = EvalSettings { folds: 2, t_m: 0.4, t_l: 0.6, target_fpr: 0.0, ..EvalSettings::default() };
        let r = evaluate(&c, &s);
        assert_eq!((r.samples, r.hosts), (4, 4));
        let port_count = r.results.iter().find(|x| x.field == ListField::DstPort && x.mode == Mode::Count).unwrap();
        // tcp/443 is reached by every host: PL = 1, never listed. tcp/445 is listed in a fold
        // when its training samples give PM > 0.4 and its training hosts PL < 0.6 - true in
        // every split of 2+2 hosts (at most one of them has 10.0.0.4). A host whose peak w is
        // 1 (10.0.0.4 when held out) forces t_w >= 1 only when it is in the training folds.
        // 10.0.0.4 is a training host in exactly one of the two folds: there t_w = 1 (t = 0
        // would flag it, FPR 1/2 > 0); in the other fold it is held out and t_w = 0.
        let mut th = port_count.thresholds.clone();
        th.sort();
        assert_eq!(th, vec![0, 1]);
        assert_eq!(port_count.list_sizes, vec![1, 1], "tcp/445 listed in both folds, tcp/443 (PL = 1) in none");
        // Samples with three tcp/445 hits have w = 3 > t: all three are detected; s4 never.
        assert_eq!(port_count.detected, 3);
        assert!((port_count.tpr - 0.75).abs() < 1e-9);
        // 10.0.0.4 (w = 1) is flagged in the fold where it is held out and t = 0.
        assert_eq!(port_count.flagged, 1);
        assert!((port_count.fpr - 0.25).abs() < 1e-9);
        let url = r.results.iter().find(|x| x.field == ListField::HttpUrl).unwrap();
        assert_eq!(url.detected, 0, "no proxy events");
        assert!((r.firewall_only_increment - 0.75).abs() < 1e-9);
        assert_eq!(r.firewall_only_values[0], ("dst_port:tcp/445".to_string(), 3));
    }
}
