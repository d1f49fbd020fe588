//! How regular a series of contacts is: the beacon measure shared by `proxy.daily_beacon` and
//! `fw.beacon`, in the spirit of RITA's beacon score.
//!
//! Over the intervals between contacts: the median, the median absolute deviation (MAD) and
//! Bowley's quartile skewness (0 when the quartiles meet the median or spread under 1% of it,
//! as in RITA); the score (0–1) averages `1 − |skew|` and `1 − MAD/median`. A timer scores
//! near 1, a person's habit lower. `1 − MAD/median` of the bytes each contact sent is the
//! data-size regularity: an implant's check-ins are all about the same size (a command now and
//! then makes one larger, which skews the sizes without making them irregular).
//!
//! [`Series`] keeps the newest contacts of one (host, destination) in time order, in a fixed
//! array (no allocation per event): events closer than a gap to a contact are part of it, and
//! out-of-order events land in their place.


/// Dispersion of a sample: its quartiles, MAD, skew and regularity score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dispersion {
    /// Values the statistics are over.
    pub n: usize,
    /// Median.
    pub median: f64,
    /// Median absolute deviation from the median.
    pub mad: f64,
    /// Bowley's quartile skewness (−1…1; 0 is symmetric).
    pub skew: f64,
    /// 0–1: the mean of `1 − |skew|` and `1 − MAD/median` (1 when every value is the same).
    pub score: f64,
}

impl Dispersion {
    /// The statistics of `values` (any order), `None` when there are fewer than `min`.
    pub fn of(values: impl IntoIterator<Item = f64>, min: usize) -> Option<Dispersion> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.len() < min.max(1) {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let (q1, q2, q3) = (quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75));
        let mut dev: Vec<f64> = v.iter().map(|x| (x - q2).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad = quantile(&dev, 0.5);
        // Bowley's skewness says nothing when the quartiles coincide with the median or the
        // spread is negligible (seconds of jitter on hours); such values are symmetric.
        let skew = if q2 > q1 && q3 > q2 && (q3 - q1) > 0.01 * q2 { (q1 + q3 - 2.0 * q2) / (q3 - q1) } else { 0.0 };
        let mut d = Dispersion { n: v.len(), median: q2, mad, skew, score: 0.0 };
        d.score = ((1.0 - skew.abs()) + d.mad_score()) / 2.0;
        Some(d)
    }

    /// `1 − MAD/median` (1 when every value is the same, 0 when the MAD reaches the median):
    /// how tightly the values sit around their median, whatever their skew.
    pub fn mad_score(&self) -> f64 {
        if self.median > 0.0 {
            1.0 - (self.mad / self.median).min(1.0)
        } else if self.mad == 0.0 {
            1.0
        } else {
            0.0
        }
    }

    /// The statistics as alert evidence, under `unit` (`s`, `bytes`).
    pub fn evidence(&self, unit: &str) -> serde_json::Value {
        serde_json::json!({
            format!("median_{unit}"): round3(self.median),
            format!("mad_{unit}"): round3(self.mad),
            "skew": round3(self.skew),
            "score": round3(self.score),
        })
    }
}

/// Regularity of the intervals between contacts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Periodicity {
    /// Contacts the statistics are over.
    pub contacts: usize,
    /// Median interval, seconds.
    pub median_s: f64,
    /// Median absolute deviation of the intervals, seconds.
    pub mad_s: f64,
    /// Bowley's quartile skewness of the intervals (−1…1; 0 is symmetric).
    pub skew: f64,
    /// 0–1; near 1 for a timer.
    pub score: f64,
    /// Check-ins missed on the timer's grid ([`Periodicity::folded`]; 0 otherwise).
    pub missed: usize,
}

/// How close to a multiple of the median interval (as a share of the median) an interval must
/// be to count as missed check-ins.
pub const FOLD_TOLERANCE: f64 = 0.1;

impl Periodicity {
    /// The regularity of contacts at `times` (seconds, ascending), when there are at least
    /// three intervals.
    pub fn of(times: &[i32]) -> Option<Periodicity> {
        let d = Dispersion::of(times.windows(2).map(|w| f64::from(w[1]) - f64::from(w[0])), 3)?;
        Some(Periodicity { contacts: times.len(), median_s: d.median, mad_s: d.mad, skew: d.skew, score: d.score, missed: 0 })
    }

    /// Like [`Periodicity::of`], with missed check-ins allowed for: an interval within
    /// [`FOLD_TOLERANCE`] of two or more median intervals is that many intervals of a timer
    /// whose check-ins in between did not happen or were not logged (a machine asleep, a
    /// capture gap), and counts as one of them. A 6-hourly implant seen at 6, 12, 6, 18 hours
    /// is as regular as one seen every 6 hours; the misses are counted.
    pub fn folded(times: &[i32]) -> Option<Periodicity> {
        let iv: Vec<f64> = times.windows(2).map(|w| f64::from(w[1]) - f64::from(w[0])).collect();
        let median = Dispersion::of(iv.iter().copied(), 3)?.median;
        let mut missed = 0;
        let folded = iv.iter().map(|&x| {
            let m = if median > 0.0 { (x / median).round() } else { 0.0 };
            if m >= 2.0 && (x - m * median).abs() <= FOLD_TOLERANCE * median {
                missed += m as usize - 1;
                x / m
            } else {
                x
            }
        });
        let d = Dispersion::of(folded.collect::<Vec<_>>(), 3)?;
        Some(Periodicity { contacts: times.len(), median_s: d.median, mad_s: d.mad, skew: d.skew, score: d.score, missed })
    }

    /// The statistics as alert evidence.
    pub fn evidence(&self) -> serde_json::Value {
        serde_json::json!({
            "contacts": self.contacts,
            "interval_median_s": round3(self.median_s),
            "interval_mad_s": round3(self.mad_s),
            "interval_skew": round3(self.skew),
            "score": round3(self.score),
        })
    }
}

/// Rounds to three decimals, as evidence shows scores.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Linear-interpolated quantile of sorted, non-empty values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The newest `N` contacts of one (host, destination): start times in seconds after a base,
/// ascending, with the bytes each sent (`u32::MAX` when an event of it did not say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series<const N: usize> {
    times: [i32; N],
    bytes: [u32; N],
    n: u8,
}

// A snapshot holds the contacts as a list of `[time, bytes]`; one edited to hold more than
// `N` keeps the newest, in order.
impl<const N: usize> serde::Serialize for Series<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.times().iter().zip(&self.bytes))
    }
}

impl<'de, const N: usize> serde::Deserialize<'de> for Series<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v: Vec<(i32, u32)> = serde::Deserialize::deserialize(d)?;
        v.sort_unstable();
        let mut s = Series::default();
        for (i, (t, b)) in v.iter().skip(v.len().saturating_sub(N)).enumerate() {
            s.times[i] = *t;
            s.bytes[i] = *b;
            s.n += 1;
        }
        Ok(s)
    }
}

/// Bytes of a contact some event of which did not say how many it sent.
const UNKNOWN: u32 = u32::MAX;

impl<const N: usize> Series<N> {
    /// `n` counts the contacts in a byte.
    const FITS: () = assert!(N <= 255, "a series keeps at most 255 contacts");
}

impl<const N: usize> Default for Series<N> {
    fn default() -> Self {
        let () = Self::FITS;
        Series { times: [0; N], bytes: [0; N], n: 0 }
    }
}

impl<const N: usize> Series<N> {
    /// The contact times, ascending.
    pub fn times(&self) -> &[i32] {
        &self.times[..self.len()]
    }

    /// Contacts kept.
    pub fn len(&self) -> usize {
        usize::from(self.n).min(N)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Records an event at `t` (seconds after the base) that sent `bytes`: part of a contact
    /// within `gap` seconds before it (or the earlier start of one within `gap` after it), else
    /// a new contact; the oldest contact makes room. Returns whether a contact was added.
    pub fn add(&mut self, t: i32, bytes: Option<u64>, gap: i64) -> bool {
        let b = bytes.map_or(UNKNOWN, |b| b.min(u64::from(UNKNOWN - 1)) as u32);
        let n = self.len();
        let pos = self.times[..n].partition_point(|&x| x <= t);
        if pos > 0 && i64::from(t) - i64::from(self.times[pos - 1]) < gap {
            self.bytes[pos - 1] = plus(self.bytes[pos - 1], b);
            return false;
        }
        if pos < n && i64::from(self.times[pos]) - i64::from(t) < gap {
            self.times[pos] = t;
            self.bytes[pos] = plus(self.bytes[pos], b);
            return false;
        }
        if n == N {
            if pos == 0 {
                return false; // older than every contact kept
            }
            self.times.copy_within(1..pos, 0);
            self.bytes.copy_within(1..pos, 0);
            self.times[pos - 1] = t;
            self.bytes[pos - 1] = b;
        } else {
            self.times.copy_within(pos..n, pos + 1);
            self.bytes.copy_within(pos..n, pos + 1);
            self.times[pos] = t;
            self.bytes[pos] = b;
            self.n += 1;
        }
        true
    }

    /// The regularity of the intervals, missed check-ins allowed for ([`Periodicity::folded`]).
    pub fn periodicity(&self) -> Option<Periodicity> {
        Periodicity::folded(self.times())
    }

    /// The regularity of the bytes per contact, when every contact kept said them.
    pub fn size_regularity(&self) -> Option<Dispersion> {
        let b = &self.bytes[..self.len()];
        if b.contains(&UNKNOWN) {
            return None;
        }
        Dispersion::of(b.iter().map(|&x| f64::from(x)), 4)
    }
}

fn plus(a: u32, b: u32) -> u32 {
    if a == UNKNOWN || b == UNKNOWN { UNKNOWN } else { a.saturating_add(b).min(UNKNOWN - 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_is_regular_and_a_habit_is_not() {
        let timer: Vec<i32> = (0..12).map(|i| i * 21_600 + (i % 3)).collect();
        assert!(Periodicity::of(&timer).unwrap().score > 0.95);
        let habit: Vec<i32> = (0..6).flat_map(|d| [d * 86_400 + 32_400 + d * 420, d * 86_400 + 61_200 - d * 660]).collect();
        assert!(Periodicity::of(&habit).unwrap().score < 0.7);
        assert_eq!(Periodicity::of(&timer[..3]), None, "two intervals say nothing");
    }

    #[test]
    fn missed_check_ins_are_folded_onto_the_timer() {
        // Botnet-207's first eight check-ins (seconds apart): 6 h, with check-ins missing
        // (12 h and 18 h gaps) and the first one early.
        let gaps = [18_008, 21_605, 21_605, 43_205, 43_205, 64_806, 21_634];
        let times: Vec<i32> = std::iter::once(0).chain(gaps.iter().scan(0, |t, g| { *t += g; Some(*t) })).collect();
        let plain = Periodicity::of(&times).unwrap();
        assert!(plain.score < 0.7, "skewed by the misses: {plain:?}");
        let f = Periodicity::folded(&times).unwrap();
        assert_eq!((f.median_s, f.missed), (21_602.5, 4));
        assert!(f.score > 0.9, "{f:?}");
    }

    #[test]
    fn equal_values_are_perfectly_regular_even_at_zero() {
        let d = Dispersion::of([0.0; 5], 4).unwrap();
        assert_eq!((d.mad, d.skew, d.score), (0.0, 0.0, 1.0));
        let d = Dispersion::of([100.0, 100.0, 100.0, 5000.0], 4).unwrap();
        assert_eq!(d.score, 1.0, "one outlier moves neither the median nor the MAD");
        let d = Dispersion::of([10.0, 200.0, 3000.0, 40_000.0], 4).unwrap();
        assert!(d.score < 0.4, "{d:?}");
    }

    #[test]
    fn events_within_the_gap_are_one_contact_with_their_bytes_added() {
        let mut s = Series::<4>::default();
        assert!(s.add(100, Some(10), 60));
        assert!(!s.add(130, Some(5), 60));
        assert!(!s.add(80, Some(1), 60), "an earlier start of the same contact");
        assert_eq!((s.times(), &s.bytes[..1]), (&[80][..], &[16][..]));
        assert!(s.add(1000, None, 60));
        assert_eq!(s.size_regularity(), None, "a contact of unknown size");
        for t in [2000, 3000, 4000, 500] {
            s.add(t, Some(1), 60);
        }
        assert_eq!(s.times(), [1000, 2000, 3000, 4000], "the oldest made room; older ones are dropped");
        assert!(!s.add(10, Some(1), 60));
    }
}
