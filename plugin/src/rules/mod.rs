//! Rule families. Each rule reads an [`Event`], may add findings, indicator enrichments and
//! field errors to the event's [`Annotations`], and may raise alerts; stateful rules keep
//! their per-host state in [`crate::state::HostState`].
//!
//! - [`fw_outbound_deny`]: outbound connections denied by the firewall (SPEC §5.2);
//! - [`fw_c2_ip`]: destination in a C&C indicator list (SPEC §5.2);
//! - [`learned_list`]: `list.count` and `list.types` over learned lists (SPEC §5.1);
//! - [`proxy_ioc`], [`proxy_connect_port`], [`proxy_user_agent`]: web proxy checks of one
//!   request (SPEC §5.3);
//! - [`proxy_daily_beacon`], [`proxy_off_hours`], [`proxy_upload_volume`]: web proxy checks
//!   over time, on the destination of [`web_destination`] (SPEC §5.3);
//! - [`mail_display_name_spoof`], [`mail_executable_attachment`]: mail checks on the headers
//!   parsed by [`crate::mail`] (SPEC §5.4), sharing [`mail_message`].

pub mod fw_c2_ip;
pub mod fw_outbound_deny;
pub mod learned_list;
pub mod mail_display_name_spoof;
pub mod mail_executable_attachment;
pub mod mail_message;
pub mod proxy_connect_port;
pub mod proxy_daily_beacon;
pub mod proxy_ioc;
pub mod proxy_off_hours;
pub mod proxy_upload_volume;
pub mod proxy_user_agent;
pub mod web_destination;

use crate::config::Config;
use crate::event::{Event, FieldError, SourceKind};
use crate::output::{Alert, Finding, ListHit, ThreatEnrichment};
use crate::state::{DestinationTable, HostTable, SeenMessages};
use web_destination::WebDestination;

/// Identity of a rule, copied into alerts (`rule.*`).
#[derive(Debug)]
pub struct RuleMeta {
    /// `rule.id`, e.g. `fw.outbound_deny`.
    pub id: &'static str,
    /// `rule.name`.
    pub name: &'static str,
    /// `rule.description`.
    pub description: &'static str,
    /// `rule.category`.
    pub category: &'static str,
}

/// What the rules found on one event; cleared and reused for the next one.
#[derive(Default, Debug)]
pub struct Annotations {
    /// `malhost.findings[]`.
    pub findings: Vec<Finding>,
    /// `threat.enrichments[]`.
    pub enrichments: Vec<ThreatEnrichment>,
    /// `malhost.list_hits[]`.
    pub list_hits: Vec<ListHit>,
    /// Fields a rule needed but could not use (`error.message`).
    pub field_errors: Vec<(&'static str, FieldError)>,
    /// Alerts raised by this event.
    pub alerts: Vec<Alert>,
}

impl Annotations {
    /// Forgets the previous event (keeps the allocations).
    pub fn clear(&mut self) {
        self.findings.clear();
        self.enrichments.clear();
        self.list_hits.clear();
        self.field_errors.clear();
        self.alerts.clear();
    }

    /// Whether the event comes out changed.
    pub fn changes_event(&self) -> bool {
        !self.findings.is_empty()
            || !self.enrichments.is_empty()
            || !self.list_hits.is_empty()
            || !self.field_errors.is_empty()
    }

    /// Records that `rule` could not use a field.
    pub fn field_error(&mut self, rule: &'static str, e: FieldError) {
        if !self.field_errors.iter().any(|(_, x)| x.field == e.field) {
            self.field_errors.push((rule, e));
        }
    }
}

/// Runs every enabled rule that applies to the event's source.
pub fn run_all(
    ev: &Event,
    config: &Config,
    hosts: &mut HostTable,
    dests: &mut DestinationTable,
    messages: &mut SeenMessages,
    ann: &mut Annotations,
) {
    let kind = ev.source_kind();
    if kind == SourceKind::Other {
        return;
    }
    if let (SourceKind::Firewall, Some(rc)) = (kind, &config.fw_outbound_deny) {
        fw_outbound_deny::apply(ev, config, rc, hosts, ann);
    }
    if let (SourceKind::Firewall | SourceKind::Proxy, Some(rc)) = (kind, &config.fw_c2_ip) {
        fw_c2_ip::apply(ev, config, rc, hosts, ann);
    }
    // The destination of a proxy request, parsed once for the rules that need it.
    let over_time = config.proxy_daily_beacon.is_some() || config.proxy_off_hours.is_some() || config.proxy_upload_volume.is_some();
    let dest = if kind == SourceKind::Proxy && (over_time || config.proxy_ioc.is_some()) { WebDestination::of(ev) } else { None };
    if let (SourceKind::Proxy, Some(rc)) = (kind, &config.proxy_ioc) {
        proxy_ioc::apply(ev, dest.as_ref(), config, rc, hosts, ann);
    }
    if let (SourceKind::Proxy, Some(rc)) = (kind, &config.proxy_connect_port) {
        proxy_connect_port::apply(ev, config, rc, hosts, ann);
    }
    if let (SourceKind::Proxy, Some(rc)) = (kind, &config.proxy_user_agent) {
        proxy_user_agent::apply(ev, config, rc, hosts, ann);
    }
    if let (true, Some(dest)) = (over_time, &dest) {
        self::over_time(ev, dest, config, hosts, dests, ann);
    }
    if let (SourceKind::Mail, Some(rc)) = (kind, &config.mail_display_name_spoof) {
        mail_display_name_spoof::apply(ev, rc, hosts, messages, ann);
    }
    if let (SourceKind::Mail, Some(rc)) = (kind, &config.mail_executable_attachment) {
        mail_executable_attachment::apply(ev, rc, hosts, messages, ann);
    }
    if let Some(rc) = &config.learned_lists {
        learned_list::apply(ev, kind, config, rc, hosts, ann);
    }
}

/// The proxy rules that follow a host's destinations over time: they share the destination,
/// the host's state, the event time and the distinct-host count of the destination.
fn over_time(ev: &Event, dest: &WebDestination, config: &Config, hosts: &mut HostTable, dests: &mut DestinationTable, ann: &mut Annotations) {
    // Errors name the first of these rules that is on.
    let rule = if config.proxy_daily_beacon.is_some() {
        proxy_daily_beacon::META.id
    } else if config.proxy_off_hours.is_some() {
        proxy_off_hours::META.id
    } else {
        proxy_upload_volume::META.id
    };
    let host = match ev.source_ip() {
        Ok(Some(ip)) => ip,
        Ok(None) => return ann.field_error(rule, FieldError { field: "source.ip", problem: "missing; the client is unknown".into() }),
        Err(e) => return ann.field_error(rule, e),
    };
    let ts = match ev.timestamp_ms() {
        Ok(t) => t,
        Err(e) => return ann.field_error(rule, e),
    };
    let dest_hash = crate::state::destinations::destination_hash(hosts, dest.key());
    let rare = &config.rare_destinations;
    let rare_rules = config.proxy_daily_beacon.is_some() || config.proxy_off_hours.is_some();
    let reach = (rare_rules && !dest.is_allowed(&rare.allow)).then(|| dests.record(dest_hash, hosts.key_hash("host", &host), ts, rare.period_ms));
    let st = hosts.get_mut(host);
    if let Some(rc) = &config.proxy_upload_volume {
        proxy_upload_volume::apply(ev, dest, dest_hash, host, ts, rc, st, ann);
    }
    let Some(reach) = reach else { return };
    if let Some(rc) = &config.proxy_daily_beacon {
        proxy_daily_beacon::apply(ev, dest, dest_hash, reach, host, ts, config, rc, st, ann);
    }
    if let Some(rc) = &config.proxy_off_hours {
        proxy_off_hours::apply(ev, dest, reach, host, ts, config, rc, st, ann);
    }
}
