//! `proxy.daily_beacon`: a host reaches the same rare destination on `min_days` consecutive
//! local days, at least once a day — access with no business explanation, the way implants
//! check in.
//!
//! Per (host, destination) the rule keeps a [`Track`]: a bitmap of the last 64 local days
//! with a request, request counts of the last 16 days, and the times of the last
//! [`CONTACTS`] contacts (requests more than [`CONTACT_GAP_S`] seconds apart, so one page load
//! is one contact). Out-of-order events set their own day's bit and land in time order.
//! Destinations stop being tracked for a host once they are no longer rare (see
//! [`crate::state::destinations`]), so popular sites cost nothing per host.
//!
//! The alert (once per tracked (host, destination)) carries the days with their request
//! counts and a periodicity measure over the intervals between contacts, in the spirit of
//! RITA's beacon score: the median interval, its median absolute deviation (MAD), Bowley's
//! quartile skewness (0 when the quartiles meet the median or spread under 1% of it, as in
//! RITA) and a score in 0–1 that averages `1 − |skew|` and `1 − MAD/median`. A
//! 6-hourly implant scores near 1; a person's daily habit scores lower.

use serde_json::json;

use crate::calendar::format_day;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, Field, SourceKind, time::format_ms};
use crate::values::{ConfigError, PositiveInt, Severity};

use super::registry::{Compile, CompileContext, Rule, RuleInfo, RuleState};
use crate::output::Finding;

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, OverTime, RuleContext};
use super::periodicity::Periodicity;
use super::track_map::{TrackMap, Tracked};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "proxy.daily_beacon",
    name: "Daily access to a rare web destination",
    description: "A host reached the same rarely visited web destination on several consecutive days, as malware checking in with its controller does.",
    category: "command_and_control",
    attack: Attack::subtechnique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL, attack::WEB_PROTOCOLS),
};

/// `rules.proxy_daily_beacon` as the config document writes it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Consecutive local days with at least one request.
    #[schemars(extend("maximum" = MAX_MIN_DAYS))]
    min_days: PositiveInt,
    /// Severity of the alert.
    severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { min_days: PositiveInt::new(3), severity: Severity::High }
    }
}

/// `rules.proxy_daily_beacon`, compiled: the settings, `min_days` checked against
/// [`MAX_MIN_DAYS`].
#[derive(Clone, Debug)]
pub struct DailyBeaconConfig(Settings);


/// Largest `min_days` (the days whose request counts are kept).
pub const MAX_MIN_DAYS: u32 = 16;
/// Contact times kept per (host, destination).
pub const CONTACTS: usize = 24;
/// Requests closer together than this are one contact, seconds.
pub const CONTACT_GAP_S: i64 = 60;

/// What the rule remembers of one (host, destination).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Track {
    first_ms: i64,
    last_ms: i64,
    /// Seconds that contact times are relative to.
    base_s: i64,
    /// The newest local day with a request.
    day_hi: i32,
    /// Bit i: a request on day `day_hi - i`.
    days: u64,
    /// Requests on day d at `d mod 16`, for the 16 days up to `day_hi`.
    day_counts: [u16; MAX_MIN_DAYS as usize],
    /// Contact times, seconds after `base_s`, ascending.
    contacts: [i32; CONTACTS],
    n_contacts: u8,
    alerted: bool,
    requests: u32,
}

impl Track {
    fn new(ts: i64, day: i32) -> Self {
        Track {
            first_ms: ts,
            last_ms: ts,
            base_s: ts.div_euclid(1000),
            day_hi: day,
            days: 0,
            day_counts: [0; MAX_MIN_DAYS as usize],
            contacts: [0; CONTACTS],
            n_contacts: 0,
            alerted: false,
            requests: 0,
        }
    }

    /// Records a request at `ts` on local `day`.
    fn add(&mut self, ts: i64, day: i32) {
        self.first_ms = self.first_ms.min(ts);
        self.last_ms = self.last_ms.max(ts);
        self.requests = self.requests.saturating_add(1);
        if day > self.day_hi {
            let shift = i64::from(day) - i64::from(self.day_hi);
            self.days = if shift >= 64 { 0 } else { self.days << shift };
            if shift >= i64::from(MAX_MIN_DAYS) {
                self.day_counts = [0; MAX_MIN_DAYS as usize];
            } else {
                for d in self.day_hi + 1..=day {
                    self.day_counts[slot(d)] = 0;
                }
            }
            self.day_hi = day;
        }
        let off = i64::from(self.day_hi) - i64::from(day);
        if off < 64 {
            self.days |= 1 << off;
        }
        if off < i64::from(MAX_MIN_DAYS) {
            let c = &mut self.day_counts[slot(day)];
            *c = c.saturating_add(1);
        }
        self.add_contact(ts);
    }

    fn add_contact(&mut self, ts: i64) {
        let rel = (ts.div_euclid(1000) - self.base_s).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        let n = usize::from(self.n_contacts);
        let c = &mut self.contacts[..n];
        let pos = c.partition_point(|&t| t <= rel);
        if pos > 0 && i64::from(rel) - i64::from(c[pos - 1]) < CONTACT_GAP_S {
            return; // part of the previous contact
        }
        if pos < n && i64::from(c[pos]) - i64::from(rel) < CONTACT_GAP_S {
            c[pos] = rel; // an earlier start of the next contact
            return;
        }
        if n == CONTACTS {
            if pos == 0 {
                return; // older than every contact kept
            }
            self.contacts.copy_within(1..pos, 0);
            self.contacts[pos - 1] = rel;
        } else {
            self.contacts.copy_within(pos..n, pos + 1);
            self.contacts[pos] = rel;
            self.n_contacts += 1;
        }
    }

    /// Consecutive days with a request, counting through `day`.
    fn run_through(&self, day: i32) -> u32 {
        let off = i64::from(self.day_hi) - i64::from(day);
        if !(0..64).contains(&off) || self.days & (1 << off) == 0 {
            return 0;
        }
        let older = (self.days >> off).trailing_ones(); // includes `day`
        let newer = if off == 0 { 0 } else { (self.days << (64 - off)).leading_ones() };
        older + newer
    }

    /// The newest day of the run through `day`.
    fn run_end(&self, day: i32) -> i32 {
        let off = i64::from(self.day_hi) - i64::from(day);
        let newer = if off <= 0 { 0 } else { (self.days << (64 - off)).leading_ones() };
        day + newer as i32
    }

    fn count_on(&self, day: i32) -> Option<u16> {
        let off = i64::from(self.day_hi) - i64::from(day);
        (0..i64::from(MAX_MIN_DAYS)).contains(&off).then(|| self.day_counts[slot(day)])
    }

    /// Interval statistics over the contacts kept, when there are at least three intervals.
    pub fn periodicity(&self) -> Option<Periodicity> {
        Periodicity::of(&self.contacts[..usize::from(self.n_contacts)])
    }

    /// Approximate heap bytes of a tracked (host, destination), for the README's accounting.
    pub const fn tracked_bytes() -> usize {
        // hashbrown slot (key + value) plus one control byte, at the 7/8 maximum load.
        (std::mem::size_of::<(u64, Track)>() + 1) * 8 / 7
    }
}

fn slot(day: i32) -> usize {
    day.rem_euclid(MAX_MIN_DAYS as i32) as usize
}

impl Tracked for Track {
    fn last_ms(&self) -> i64 {
        self.last_ms
    }
}

/// The tracks of one host, by the seeded hash of the destination.
pub type BeaconTracks = TrackMap<Track>;

/// The tracks are made on the host's first rare destination.
impl RuleState for Option<Box<BeaconTracks>> {
    fn is_empty(&self) -> bool {
        self.is_none()
    }

    fn repair(&mut self, cap: usize) {
        if let Some(b) = self {
            repair_tracks(b, cap);
        }
    }
}

/// Restores the invariants after a snapshot: at most `cap` tracks, each with at most
/// [`CONTACTS`] contacts in ascending order.
fn repair_tracks(b: &mut BeaconTracks, cap: usize) {
    for t in b.tracks_mut() {
        t.n_contacts = t.n_contacts.min(CONTACTS as u8);
        t.contacts[..usize::from(t.n_contacts)].sort_unstable();
        t.first_ms = t.first_ms.min(t.last_ms);
    }
    b.shrink_to(cap);
}

impl Compile<DailyBeaconConfig> for Settings {
    fn compile(self, cx: &CompileContext) -> Result<Option<DailyBeaconConfig>, ConfigError> {
        let b = self;
        if b.min_days.get() > MAX_MIN_DAYS {
            return Err(cx.err("min_days", format!("expected at most {MAX_MIN_DAYS} days, found {}", b.min_days.get())));
        }
        Ok(Some(DailyBeaconConfig(b)))
    }
}

impl Rule for DailyBeaconConfig {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Proxy], message_dedup: false };
    type Settings = Settings;
    type HostState = Option<Box<BeaconTracks>>;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let Some(ot) = super::over_time(cx) else { return };
        let s = &self.0;
        let OverTime { host, ts, dest_hash, reach: Some(reach) } = ot else { return };
        let config = cx.shared;
        let Some(Some(dest)) = &cx.web else { return };
        let (st, ann) = (cx.hosts.get_mut(host), &mut *cx.ann);
        let rare = reach <= config.rare_destinations.max_hosts as usize;
        if !rare {
            if let Some(b) = st.rules.proxy_daily_beacon.as_mut() {
                b.remove(dest_hash);
            }
            return;
        }
        let tracks = st.rules.proxy_daily_beacon.get_or_insert_with(Box::default);
        let day = config.calendar.local_day(ts);
        let t = tracks.entry(dest_hash, config.state.max_keys_per_host, || Track::new(ts, day));
        t.add(ts, day);
        let run = t.run_through(day);
        if run < s.min_days.get() {
            return;
        }
        let reason = format!("{} reached on {run} consecutive days; {reach} host(s) reach it", dest.key());
        ann.findings.push(Finding { rule: META.id, severity: s.severity, reason: reason.clone() });
        if t.alerted {
            return;
        }
        t.alerted = true;
        let end = t.run_end(day);
        let start = end - run as i32 + 1;
        let days: Vec<_> = (start..=end).map(|d| json!({"date": format_day(d), "requests": t.count_on(d)})).collect();
        let periodicity = t.periodicity().map(|p| p.evidence());
        let alert = AlertBuilder::new(&META, ts, s.severity)
            .about(host, &reason)
            .destination(dest.ip.map(|ip| (ip, None)))
            .related(dest.ip)
            .evidence(json!({
                "destination": dest.key(),
                "host": dest.host,
                "consecutive_days": run,
                "min_days": s.min_days.get(),
                "days": days,
                "utc_offset": config.calendar.offset_string(),
                "hosts_reaching_destination": reach,
                "max_hosts": config.rare_destinations.max_hosts,
                "requests": t.requests,
                "first_seen": format_ms(t.first_ms),
                "last_seen": format_ms(t.last_ms),
                "periodicity": periodicity,
                "user_agent": ev.str(Field::UserAgentOriginal),
                "user": ev.str(Field::UserName),
            }))
            .build();
        ann.alerts.push(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const D: i64 = 24 * H;

    #[test]
    fn consecutive_days_and_out_of_order_days() {
        let mut t = Track::new(0, 0);
        t.add(0, 0);
        t.add(2 * D, 2);
        assert_eq!(t.run_through(2), 1);
        t.add(D, 1); // late
        assert_eq!(t.run_through(1), 3);
        assert_eq!(t.run_through(0), 3);
        assert_eq!(t.run_end(0), 2);
        t.add(70 * D, 70);
        assert_eq!(t.run_through(70), 1);
        assert_eq!(t.run_through(2), 0, "fell out of the bitmap");
        assert_eq!([70, 2].map(|d| t.count_on(d)), [Some(1), None]);
    }

    #[test]
    fn day_counts_are_reset_when_days_are_reused() {
        let mut t = Track::new(0, 0);
        // Three requests on day 0, then one on day 16, which takes day 0's slot.
        for (ts, day) in [(0, 0), (0, 0), (0, 0), (16 * D, 16)] {
            t.add(ts, day);
        }
        assert_eq!([16, 0].map(|d| t.count_on(d)), [Some(1), None]);
    }

    #[test]
    fn a_timer_scores_higher_than_a_habit() {
        let mut timer = Track::new(0, 0);
        for i in 0..12 {
            timer.add(i * 6 * H + (i % 3) * 1000, 0);
        }
        let p = timer.periodicity().unwrap();
        assert_eq!(p.contacts, 12);
        assert!(p.score > 0.95, "{p:?}");
        let mut habit = Track::new(0, 0);
        // Morning and late afternoon, at varying minutes.
        for d in 0..6 {
            habit.add(d * D + 9 * H + d * 7 * 60_000, 0);
            habit.add(d * D + 17 * H - d * 11 * 60_000, 0);
        }
        let q = habit.periodicity().unwrap();
        assert!(q.score < 0.7, "{q:?}");
    }

    #[test]
    fn bursts_are_one_contact_and_contacts_are_capped() {
        let mut t = Track::new(0, 0);
        t.add(0, 0);
        t.add(30_000, 0);
        t.add(-20_000, 0); // an earlier start of the same contact
        assert_eq!(t.n_contacts, 1);
        assert_eq!(t.contacts[0], -20);
        for i in 1..=40 {
            t.add(i * H, 0);
        }
        assert_eq!(usize::from(t.n_contacts), CONTACTS);
        assert!(t.contacts[..CONTACTS].windows(2).all(|w| w[0] < w[1]));
        assert_eq!(t.contacts[CONTACTS - 1], 40 * 3600);
    }

    #[test]
    fn state_per_tracked_destination_is_within_budget() {
        assert!(Track::tracked_bytes() <= 256, "{}", Track::tracked_bytes());
    }
}
