//! Rule families. Each rule reads an [`Event`], may add findings, indicator enrichments and
//! field errors to the event's [`Annotations`], and may raise alerts; stateful rules keep
//! their per-host state in [`host_state::HostState`].
//!
//! - [`fw_outbound_deny`]: outbound connections denied by the firewall (SPEC §5.2);
//! - [`fw_c2_ip`]: destination in a C&C indicator list (SPEC §5.2);
//! - [`fw_c2_port`], [`fw_beacon`]: repeated connections to one external address on an odd
//!   port, and periodic check-ins on connection logs ([`periodicity`], shared with
//!   [`proxy_daily_beacon`]; per-host tracks in [`track_map`]);
//! - [`learned_list`]: `list.count` and `list.types` over learned lists (SPEC §5.1);
//! - [`proxy_ioc`], [`proxy_connect_port`], [`proxy_user_agent`]: web proxy checks of one
//!   request (SPEC §5.3);
//! - [`proxy_daily_beacon`], [`proxy_off_hours`], [`proxy_upload_volume`]: web proxy checks
//!   over time, on the destination of [`web_destination`] (SPEC §5.3);
//! - [`mail_display_name_spoof`], [`mail_executable_attachment`]: mail checks on the headers
//!   parsed by [`crate::mail`] (SPEC §5.4), sharing [`mail_message`].

#[macro_use]
pub mod registry;

pub mod context;
pub mod indicator_lists;
pub mod host_state;
pub mod mail_message;
pub mod periodicity;
pub mod track_map;
pub mod shared;
pub mod web_destination;

use crate::event::{Event, SourceKind};
pub use crate::output::{Annotations, RuleMeta};
use crate::state::{DestinationTable, SeenMessages};
use host_state::HostTable;
use context::RuleContext;
use shared::Shared;




// The registry: every rule, one line each (`config key => module::CompiledType`), in the order
// they run on an event — the order of findings and alerts in the output. The line declares the
// module and generates the raw and compiled rule sets, the per-host state, the dispatch and the
// mail dedup bits (`registry::rules!`). Adding a rule is a new module and a line here.
rules! {
    fw_outbound_deny => fw_outbound_deny::OutboundDenyConfig,
    fw_c2_ip => fw_c2_ip::C2IpConfig,
    fw_c2_port => fw_c2_port::Settings,
    fw_beacon => fw_beacon::FwBeaconConfig,
    proxy_ioc => proxy_ioc::ProxyIocConfig,
    proxy_connect_port => proxy_connect_port::Settings,
    proxy_user_agent => proxy_user_agent::UserAgentConfig,
    proxy_upload_volume => proxy_upload_volume::UploadVolumeConfig,
    proxy_daily_beacon => proxy_daily_beacon::DailyBeaconConfig,
    proxy_off_hours => proxy_off_hours::Settings,
    mail_display_name_spoof => mail_display_name_spoof::Settings,
    mail_executable_attachment => mail_executable_attachment::ExecutableAttachmentConfig,
    mail_risky_attachment => mail_risky_attachment::RiskyAttachmentConfig,
    learned_lists => learned_list::LearnedListsConfig,
}

/// The proxy rules over time share the host, time and destination of the request
/// ([`RuleContext::over_time`]); a missing field is reported against the first of them that
/// is on, and the destination's reach is counted when a rarity rule is on.
pub(crate) fn over_time(cx: &mut RuleContext) -> Option<context::OverTime> {
    let c = cx.rules;
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
    shared: &Shared,
    rules: &Rules,
    hosts: &mut HostTable,
    dests: &mut DestinationTable,
    messages: &mut SeenMessages,
    ann: &mut Annotations,
) {
    let mut cx = RuleContext::new(ev, shared, rules, hosts, dests, messages, ann);
    if cx.kind == SourceKind::Other {
        return;
    }
    for rule in REGISTRY {
        if rule.info.sources.contains(&cx.kind) {
            (rule.apply)(ev, &mut cx);
        }
    }
}
