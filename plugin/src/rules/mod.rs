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

pub mod context;
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
use context::RuleContext;

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

/// One rule as the detector runs it: its identity, the sources it reads, and how to apply
/// it to an event (a no-op when the config turned it off).
pub struct RuleEntry {
    /// Its `rules.<key>` in the config document.
    pub key: &'static str,
    /// Identities of the alerts it raises (the first is the one field errors name).
    pub meta: &'static [&'static RuleMeta],
    /// Log sources it reads.
    pub sources: &'static [SourceKind],
    /// Applies it.
    pub apply: fn(&mut RuleContext),
}

use SourceKind::{Firewall, Mail, Proxy};

/// Every rule, one line each, in the order they run on an event (the order of findings and
/// alerts in the output).
pub static REGISTRY: &[RuleEntry] = &[
    RuleEntry { key: "fw_outbound_deny", meta: &[&fw_outbound_deny::META], sources: &[Firewall], apply: |cx| if let Some(rc) = &cx.config.fw_outbound_deny { fw_outbound_deny::apply(rc, cx) } },
    RuleEntry { key: "fw_c2_ip", meta: &[&fw_c2_ip::META], sources: &[Firewall, Proxy], apply: |cx| if let Some(rc) = &cx.config.fw_c2_ip { fw_c2_ip::apply(rc, cx) } },
    RuleEntry { key: "proxy_ioc", meta: &[&proxy_ioc::META], sources: &[Proxy], apply: apply_proxy_ioc },
    RuleEntry { key: "proxy_connect_port", meta: &[&proxy_connect_port::META], sources: &[Proxy], apply: |cx| if let Some(rc) = &cx.config.proxy_connect_port { proxy_connect_port::apply(rc, cx) } },
    RuleEntry { key: "proxy_user_agent", meta: &[&proxy_user_agent::META], sources: &[Proxy], apply: |cx| if let Some(rc) = &cx.config.proxy_user_agent { proxy_user_agent::apply(rc, cx) } },
    RuleEntry { key: "proxy_upload_volume", meta: &[&proxy_upload_volume::META], sources: &[Proxy], apply: |cx| if let (Some(rc), Some(ot)) = (&cx.config.proxy_upload_volume, over_time(cx)) { proxy_upload_volume::apply(rc, ot, cx) } },
    RuleEntry { key: "proxy_daily_beacon", meta: &[&proxy_daily_beacon::META], sources: &[Proxy], apply: |cx| if let (Some(rc), Some(ot)) = (&cx.config.proxy_daily_beacon, over_time(cx)) { proxy_daily_beacon::apply(rc, ot, cx) } },
    RuleEntry { key: "proxy_off_hours", meta: &[&proxy_off_hours::META], sources: &[Proxy], apply: |cx| if let (Some(rc), Some(ot)) = (&cx.config.proxy_off_hours, over_time(cx)) { proxy_off_hours::apply(rc, ot, cx) } },
    RuleEntry { key: "mail_display_name_spoof", meta: &[&mail_display_name_spoof::META], sources: &[Mail], apply: apply_display_name_spoof },
    RuleEntry { key: "mail_executable_attachment", meta: &[&mail_executable_attachment::META], sources: &[Mail], apply: apply_executable_attachment },
    RuleEntry { key: "learned_lists", meta: &[&learned_list::COUNT_META, &learned_list::TYPES_META], sources: &[Firewall, Proxy, Mail], apply: |cx| if let Some(rc) = &cx.config.learned_lists { learned_list::apply(rc, cx) } },
];

fn apply_proxy_ioc(cx: &mut RuleContext) {
    let Some(rc) = &cx.config.proxy_ioc else { return };
    cx.web_destination();
    let dest = cx.web.as_ref().and_then(Option::as_ref);
    proxy_ioc::apply(cx.ev, dest, cx.config, rc, cx.hosts, cx.ann);
}

fn apply_display_name_spoof(cx: &mut RuleContext) {
    if let Some(rc) = &cx.config.mail_display_name_spoof {
        mail_display_name_spoof::apply(cx.ev, rc, cx.hosts, cx.messages, cx.ann);
    }
}

fn apply_executable_attachment(cx: &mut RuleContext) {
    if let Some(rc) = &cx.config.mail_executable_attachment {
        mail_executable_attachment::apply(cx.ev, rc, cx.hosts, cx.messages, cx.ann);
    }
}

/// The proxy rules over time share the host, time and destination of the request
/// ([`RuleContext::over_time`]); a missing field is reported against the first of them that
/// is on, and the destination's reach is counted when a rarity rule is on.
fn over_time(cx: &mut RuleContext) -> Option<context::OverTime> {
    let c = cx.config;
    let lead = if c.proxy_daily_beacon.is_some() {
        &proxy_daily_beacon::META
    } else if c.proxy_off_hours.is_some() {
        &proxy_off_hours::META
    } else {
        &proxy_upload_volume::META
    };
    cx.over_time(lead, c.proxy_daily_beacon.is_some() || c.proxy_off_hours.is_some())
}

/// Runs every rule that reads the event's source.
pub fn run_all(
    ev: &Event,
    config: &Config,
    hosts: &mut HostTable,
    dests: &mut DestinationTable,
    messages: &mut SeenMessages,
    ann: &mut Annotations,
) {
    let mut cx = RuleContext::new(ev, config, hosts, dests, messages, ann);
    if cx.kind == SourceKind::Other {
        return;
    }
    for rule in REGISTRY {
        if rule.sources.contains(&cx.kind) {
            (rule.apply)(&mut cx);
        }
    }
}
