//! `proxy.off_hours`: web requests outside business hours (config `calendar`) to rare
//! destinations. Each such request is enriched; a host with `min_count` of them in one
//! off-hours period (a night, or a whole non-business day; see [`crate::calendar`]) raises
//! one alert for that period.
//!
//! Per host the rule keeps the last [`PERIODS`] periods it saw, so events that arrive a little
//! out of order still count toward their own night.

use serde_json::json;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::{Event, Field, SourceKind, time::format_ms};
use crate::values::{PositiveInt, Severity};

use super::registry::{Rule, RuleInfo, RuleState};
use crate::output::Finding;

use super::RuleMeta;
use crate::output::{Attack, attack};
use super::context::{AlertBuilder, OverTime, RuleContext};

/// Rule identity.
pub static META: RuleMeta = RuleMeta {
    id: "proxy.off_hours",
    name: "Off-hours access to rare web destinations",
    description: "A host made many requests to rarely visited web destinations outside business hours, when nobody is expected to be browsing.",
    category: "command_and_control",
    attack: Attack::subtechnique(attack::COMMAND_AND_CONTROL, attack::APPLICATION_LAYER_PROTOCOL, attack::WEB_PROTOCOLS),
};

/// `rules.proxy_off_hours` as the config document writes it, and the compiled rule: nothing in it
/// needs compiling.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Off-hours requests to rare destinations in one night or non-business day that raise an
    /// alert.
    min_count: PositiveInt,
    /// Severity of the finding.
    severity: Severity,
    /// Severity of the alert.
    alert_severity: Severity,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { min_count: PositiveInt::new(10), severity: Severity::Low, alert_severity: Severity::Medium }
    }
}

/// Off-hours periods remembered per host.
pub const PERIODS: usize = 3;
/// Destination names kept per period for the evidence.
pub const NAMES: usize = 5;

/// One off-hours period of one host.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Period {
    id: i32,
    count: u32,
    first_ms: i64,
    last_ms: i64,
    alerted: bool,
    destinations: Vec<Box<str>>,
}

/// The last few off-hours periods of a host.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct OffHoursLog {
    periods: Vec<Period>,
}

impl RuleState for OffHoursLog {
    fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    /// The newest [`PERIODS`] periods, each naming at most [`NAMES`] destinations.
    fn repair(&mut self, _cap: usize) {
        self.periods.sort_by_key(|p| p.id);
        self.periods.dedup_by_key(|p| p.id);
        let excess = self.periods.len().saturating_sub(PERIODS);
        self.periods.drain(..excess);
        for p in &mut self.periods {
            p.destinations.truncate(NAMES);
        }
    }
}

impl Rule for Settings {
    const INFO: RuleInfo = RuleInfo { alerts: &[&META], sources: &[SourceKind::Proxy], message_dedup: false };
    type Settings = Self;
    type HostState = OffHoursLog;

    fn apply(&self, ev: &Event, cx: &mut RuleContext) {
        let Some(ot) = super::over_time(cx) else { return };
        let OverTime { host, ts, reach: Some(reach), .. } = ot else { return };
        let config = cx.shared;
        let Some(Some(dest)) = &cx.web else { return };
        let (st, ann) = (cx.hosts.get_mut(host), &mut *cx.ann);
        let cal = &config.calendar;
        if reach > config.rare_destinations.max_hosts as usize || cal.is_business_time(ts) {
            return;
        }
        let id = cal.off_hours_period(ts);
        let when = cal.describe_period(id);
        ann.findings.push(Finding {
            rule: META.id,
            severity: self.severity,
            reason: format!(
                "request at {} ({}) outside business hours ({when}) to {}, which {reach} host(s) reach",
                cal.local_clock(ts),
                cal.offset_string(),
                dest.key()
            ),
        });
        let log = &mut st.rules.proxy_off_hours;
        let idx = match log.periods.iter().position(|p| p.id == id) {
            Some(i) => i,
            None => {
                let fresh = Period { id, count: 0, first_ms: ts, last_ms: ts, alerted: false, destinations: Vec::new() };
                if log.periods.len() < PERIODS {
                    log.periods.push(fresh);
                    log.periods.len() - 1
                } else {
                    let (oldest, min_id) = match log.periods.iter().enumerate().min_by_key(|(_, p)| p.id) {
                        Some((i, p)) => (i, p.id),
                        None => return,
                    };
                    if id < min_id {
                        return; // older than every period kept: too late to count
                    }
                    log.periods[oldest] = fresh;
                    oldest
                }
            }
        };
        let p = &mut log.periods[idx];
        p.count = p.count.saturating_add(1);
        p.first_ms = p.first_ms.min(ts);
        p.last_ms = p.last_ms.max(ts);
        if p.destinations.len() < NAMES && !p.destinations.iter().any(|d| **d == *dest.key()) {
            p.destinations.push(dest.key().into());
        }
        if p.alerted || p.count < self.min_count.get() {
            return;
        }
        p.alerted = true;
        let alert = AlertBuilder::new(&META, ts, self.alert_severity)
            .host(Some(host))
            .message(format!("{host}: {} off-hours requests to rare destinations ({when})", p.count))
            .evidence(json!({
                "period": when,
                "requests": p.count,
                "min_count": self.min_count.get(),
                "destinations": p.destinations,
                "business_hours": format!("{:02}:00-{:02}:00", cal.start_hour, cal.end_hour),
                "utc_offset": cal.offset_string(),
                "max_hosts": config.rare_destinations.max_hosts,
                "first_seen": format_ms(p.first_ms),
                "last_seen": format_ms(p.last_ms),
                "user": ev.str(Field::UserName),
            }))
            .build();
        ann.alerts.push(alert);
    }
}
