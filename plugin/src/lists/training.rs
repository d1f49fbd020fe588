//! Training: PM and PL per field and value, from malware logs then normal logs.
//!
//! Malware events are read first: every extracted value becomes a candidate, with the set of
//! samples it was seen in. Normal events are read second: only values that are already
//! candidates are counted (the set of normal hosts per candidate), so memory grows with the
//! number of candidate values and hosts, not with the volume of normal logs.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::document::{FieldList, InputSummary, ListDocument, ListValue, TrainOptions, is_listed, LIST_FORMAT};
use super::extract::{ExtractOptions, ListField, extract};
use crate::event::Event;

/// Maps keyed by log values; training runs offline on the analyst's data, so a fixed seed.
type Fast = std::hash::BuildHasherDefault<ahash::AHasher>;

#[derive(Default)]
struct Candidate {
    samples: HashSet<u32, Fast>,
    hosts: HashSet<u32, Fast>,
}

/// Accumulates training data.
pub struct Trainer {
    fields: Vec<ListField>,
    opts: ExtractOptions,
    candidates: HashMap<(ListField, String), Candidate, Fast>,
    samples: HashMap<String, u32, Fast>,
    hosts: HashMap<IpAddr, u32, Fast>,
    malware_events: u64,
    normal_events: u64,
    normal_started: bool,
}

/// Why a normal event was not counted.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// No usable `source.ip`.
    NoHost,
    /// The malware phase must come first.
    OutOfOrder,
}

impl Trainer {
    /// A trainer for `fields`.
    pub fn new(fields: &[ListField], opts: ExtractOptions) -> Self {
        Trainer {
            fields: fields.to_vec(),
            opts,
            candidates: HashMap::default(),
            samples: HashMap::default(),
            hosts: HashMap::default(),
            malware_events: 0,
            normal_events: 0,
            normal_started: false,
        }
    }

    /// The values of an event for the trainer's fields (the detector's extractors). Separate
    /// from the `add_*_values` methods so that callers can extract on several threads.
    pub fn values(fields: &[ListField], opts: &ExtractOptions, ev: &Event) -> Vec<(ListField, String)> {
        let kind = ev.source_kind();
        fields.iter().filter_map(|&f| extract(f, ev, kind, opts).map(|v| (f, v.into_owned()))).collect()
    }

    /// The fields being trained.
    pub fn fields(&self) -> &[ListField] {
        &self.fields
    }

    /// The extractor options.
    pub fn options(&self) -> &ExtractOptions {
        &self.opts
    }

    /// Adds a malware event of `sample`. Returns `false` (and counts nothing) once normal
    /// events have started.
    pub fn add_malware(&mut self, sample: &str, ev: &Event) -> bool {
        let values = Self::values(&self.fields, &self.opts, ev);
        self.add_malware_values(sample, values)
    }

    /// Adds the extracted values of one malware event of `sample`.
    pub fn add_malware_values(&mut self, sample: &str, values: Vec<(ListField, String)>) -> bool {
        if self.normal_started {
            return false;
        }
        let next = self.samples.len() as u32;
        let id = *self.samples.entry(sample.to_owned()).or_insert(next);
        self.malware_events += 1;
        for key in values {
            self.candidates.entry(key).or_default().samples.insert(id);
        }
        true
    }

    /// Adds a normal event; the host is `source.ip`.
    pub fn add_normal(&mut self, ev: &Event) -> Result<(), Skip> {
        let host = match ev.source_ip() {
            Ok(Some(ip)) => ip,
            _ => {
                self.normal_started = true;
                return Err(Skip::NoHost);
            }
        };
        let values = Self::values(&self.fields, &self.opts, ev);
        self.add_normal_values(host, values);
        Ok(())
    }

    /// Adds the extracted values of one normal event of `host`.
    pub fn add_normal_values(&mut self, host: IpAddr, values: Vec<(ListField, String)>) {
        self.normal_started = true;
        let next = self.hosts.len() as u32;
        let host = *self.hosts.entry(host).or_insert(next);
        self.normal_events += 1;
        for key in values {
            // Only candidates are counted; other values are not remembered.
            if let Some(c) = self.candidates.get_mut(&key) {
                c.hosts.insert(host);
            }
        }
    }

    /// M so far.
    pub fn samples(&self) -> usize {
        self.samples.len()
    }

    /// N so far.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// Candidate values so far (all fields).
    pub fn candidates(&self) -> usize {
        self.candidates.len()
    }

    /// Computes Φ per field.
    pub fn finish(self, t_m: f64, t_l: f64, sample_field: &str, mut malware: InputSummary, mut normal: InputSummary) -> ListDocument {
        let m_total = self.samples.len() as u64;
        let n_total = self.hosts.len() as u64;
        malware.entities = m_total;
        malware.events = self.malware_events;
        normal.entities = n_total;
        normal.events = self.normal_events;
        let mut fields = Vec::new();
        for &f in &self.fields {
            let mut values = Vec::new();
            let mut candidates = 0;
            for ((cf, v), c) in &self.candidates {
                if *cf != f {
                    continue;
                }
                candidates += 1;
                let (m, n) = (c.samples.len() as u64, c.hosts.len() as u64);
                if is_listed(m, m_total, n, n_total, t_m, t_l) {
                    values.push(ListValue {
                        value: v.clone(),
                        m,
                        n,
                        pm: m as f64 / m_total as f64,
                        pl: if n_total == 0 { 0.0 } else { n as f64 / n_total as f64 },
                    });
                }
            }
            values.sort_by(|a, b| b.m.cmp(&a.m).then(a.n.cmp(&b.n)).then(a.value.cmp(&b.value)));
            fields.push(FieldList { field: f, m_total, n_total, candidates, values });
        }
        ListDocument {
            malhost_lists: LIST_FORMAT,
            options: TrainOptions { t_m, t_l, extract: self.opts, sample_field: sample_field.to_owned() },
            malware,
            normal,
            fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fw(dst: &str, port: u16) -> String {
        format!(r#"{{"observer.type":"firewall","source.ip":"10.0.0.1","destination.ip":"{dst}","destination.port":{port},"network.transport":"tcp"}}"#)
    }

    fn normal(src: &str, dst: &str, port: u16) -> String {
        format!(r#"{{"observer.type":"firewall","source.ip":"{src}","destination.ip":"{dst}","destination.port":{port},"network.transport":"tcp"}}"#)
    }

    #[test]
    fn pm_pl_and_phi_on_a_hand_computed_case() {
        // 4 samples, 5 normal hosts; t_m = 0.25, t_l = 0.2.
        let mut t = Trainer::new(&[ListField::DstPort, ListField::DstIpTcp80], ExtractOptions::default());
        let mal = [
            ("s1", fw("198.51.100.1", 445)), ("s1", fw("198.51.100.1", 445)), // counted once for s1
            ("s2", fw("198.51.100.1", 445)), ("s2", fw("198.51.100.9", 80)),
            ("s3", fw("198.51.100.9", 80)), ("s3", fw("203.0.113.5", 443)),
            ("s4", fw("203.0.113.5", 443)), ("s4", fw("198.51.100.7", 139)),
        ];
        for (s, l) in &mal {
            assert!(t.add_malware(s, &Event::parse(l.as_bytes()).unwrap()));
        }
        for (h, d, p) in [("10.1.0.1", "203.0.113.5", 443), ("10.1.0.2", "203.0.113.5", 443), ("10.1.0.3", "8.8.8.8", 443), ("10.1.0.4", "9.9.9.9", 445), ("10.1.0.5", "198.51.100.9", 80)] {
            t.add_normal(&Event::parse(normal(h, d, p).as_bytes()).unwrap()).unwrap();
        }
        let doc = t.finish(0.25, 0.2, "malhost.sample", InputSummary::default(), InputSummary::default());
        assert_eq!((doc.malware.entities, doc.normal.entities), (4, 5));
        let ports = doc.field(ListField::DstPort).unwrap();
        // tcp/445: m=2 (PM .5), n=1 (PL .2 = t_l, not below) -> out.
        // tcp/80: m=2, n=1 -> out. tcp/443: m=2, n=3 -> out. tcp/139: m=1 (PM .25 = t_m) -> out.
        assert_eq!(ports.values, vec![]);
        assert_eq!(ports.candidates, 4);
        let ips = doc.field(ListField::DstIpTcp80).unwrap();
        // 198.51.100.9 on tcp/80: m=2 (s2, s3), n=1 (10.1.0.5) -> PL .2, out.
        assert!(ips.values.is_empty());
        // Loosen t_l: now PL .2 < .3.
        let mut t2 = Trainer::new(&[ListField::DstPort], ExtractOptions::default());
        for (s, l) in &mal {
            t2.add_malware(s, &Event::parse(l.as_bytes()).unwrap());
        }
        for (h, d, p) in [("10.1.0.1", "203.0.113.5", 443), ("10.1.0.2", "203.0.113.5", 443), ("10.1.0.3", "8.8.8.8", 443), ("10.1.0.4", "9.9.9.9", 445), ("10.1.0.5", "198.51.100.9", 80)] {
            t2.add_normal(&Event::parse(normal(h, d, p).as_bytes()).unwrap()).unwrap();
        }
        let doc = t2.finish(0.25, 0.3, "malhost.sample", InputSummary::default(), InputSummary::default());
        let v: Vec<(&str, u64, u64)> = doc.fields[0].values.iter().map(|v| (v.value.as_str(), v.m, v.n)).collect();
        assert_eq!(v, vec![("tcp/445", 2, 1), ("tcp/80", 2, 1)]);
        assert_eq!(doc.fields[0].values[0].pm, 0.5);
        assert_eq!(doc.fields[0].values[0].pl, 0.2);
    }

    #[test]
    fn normal_events_only_count_candidates_and_need_a_host() {
        let mut t = Trainer::new(&[ListField::DstPort], ExtractOptions::default());
        t.add_malware("s", &Event::parse(fw("1.2.3.4", 445).as_bytes()).unwrap());
        for i in 0..100 {
            t.add_normal(&Event::parse(normal(&format!("10.0.0.{i}"), "5.5.5.5", 1000 + i).as_bytes()).unwrap()).unwrap();
        }
        assert_eq!(t.candidates(), 1, "normal-only values are not remembered");
        assert_eq!(t.hosts(), 100);
        assert_eq!(t.add_normal(&Event::parse(br#"{"destination.ip":"1.2.3.4"}"#).unwrap()), Err(Skip::NoHost));
        assert!(!t.add_malware("late", &Event::parse(fw("1.2.3.4", 445).as_bytes()).unwrap()), "malware after normal is refused");
    }
}
