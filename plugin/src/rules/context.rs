//! What every rule gets for one event: the event and its source, the compiled config, the
//! shared state (hosts, destinations, messages), and the event's annotations — with the
//! plumbing the rules used to copy: reading the host and the event time or recording a field
//! error against the rule that needed them, deduplicating an alert under the per-host cap, and
//! adding findings and alerts.

use std::hash::Hash;
use std::net::IpAddr;

use crate::values::Severity;
use crate::event::{Event, FieldError, SourceKind, Transport, flags};
use crate::output::{Alert, Finding};
use super::host_state::{HostState, HostTable};
use crate::state::{DestinationTable, SeenMessages};

use super::registry::Rules;
use super::shared::{PortSet, Shared};
use super::web_destination::WebDestination;
use super::{Annotations, RuleMeta};

/// What a rule does when `source.ip` is missing.
#[derive(Clone, Copy, Debug)]
pub enum IfNoHost {
    /// Nothing: the rule has nothing to say about the event.
    Skip,
    /// Records a field error with this problem.
    Report(&'static str),
}

/// An outbound connection of one of our hosts to an external address
/// ([`RuleContext::outbound_connection`]).
#[derive(Clone, Copy, Debug)]
pub struct OutboundConnection {
    /// Our host.
    pub src: IpAddr,
    /// The external address.
    pub dst: IpAddr,
    /// Its port.
    pub port: u16,
    /// `network.transport`, when the event says it.
    pub transport: Option<Transport>,
    /// Event time, ms.
    pub ts: i64,
}

/// One event as the rules see it.
pub struct RuleContext<'a, 'e> {
    /// The event.
    pub ev: &'a Event<'e>,
    /// Its log source.
    pub kind: SourceKind,
    /// What the rules share of the config (internal networks, limits, calendar, rarity).
    pub shared: &'a Shared,
    /// Every rule, compiled (the proxy rules over time look at which of them are on).
    pub rules: &'a Rules,
    /// Every host's state.
    pub hosts: &'a mut HostTable,
    /// Distinct hosts per web destination.
    pub dests: &'a mut DestinationTable,
    /// Mail messages that alerted.
    pub messages: &'a mut SeenMessages,
    /// What the rules found on this event.
    pub ann: &'a mut Annotations,
    /// The event's web destination, parsed on first use.
    pub(super) web: Option<Option<WebDestination>>,
    /// What the proxy rules over time share for this event, once resolved.
    pub(super) over_time: Option<OverTime>,
}

/// What the proxy rules that follow a host's destinations over time share for one request:
/// the host, the event time, the destination's key hash and (for the rarity rules) how many
/// distinct hosts reach it.
#[derive(Clone, Copy, Debug)]
pub struct OverTime {
    /// The requesting host.
    pub host: IpAddr,
    /// Event time, ms.
    pub ts: i64,
    /// Seeded hash of the destination's key.
    pub dest_hash: u64,
    /// Distinct hosts reaching the destination in the tracking period, when a rarity rule is
    /// on and the destination is not allowlisted.
    pub reach: Option<usize>,
}

impl<'a, 'e> RuleContext<'a, 'e> {
    /// The context of one event.
    pub fn new(
        ev: &'a Event<'e>,
        shared: &'a Shared,
        rules: &'a Rules,
        hosts: &'a mut HostTable,
        dests: &'a mut DestinationTable,
        messages: &'a mut SeenMessages,
        ann: &'a mut Annotations,
    ) -> Self {
        RuleContext { kind: ev.source_kind(), ev, shared, rules, hosts, dests, messages, ann, web: None, over_time: None }
    }

    /// Records that `rule` could not use a field (once per field and event).
    pub fn field_error(&mut self, rule: &RuleMeta, e: FieldError) {
        self.ann.field_error(rule.id, e);
    }

    /// The value of a field read by `rule`, or `None` after recording why it could not be used.
    pub fn need<T>(&mut self, rule: &RuleMeta, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.field_error(rule, e)).ok()
    }

    /// A field's value, or `None` (recording a field error) when it is malformed; a missing
    /// field is `Some(None)`.
    pub fn optional<T>(&mut self, rule: &RuleMeta, r: Result<Option<T>, FieldError>) -> Option<T> {
        self.need(rule, r).flatten()
    }

    /// The suspected host (`source.ip`) for `rule`: one of ours (`internal_networks`); an
    /// outside source (a scanner requesting our web server, a peer connecting in) is nobody
    /// malhost can call infected, so `None`, without a field error.
    pub fn host(&mut self, rule: &RuleMeta, if_missing: IfNoHost) -> Option<IpAddr> {
        match self.ev.source_ip() {
            Ok(Some(ip)) => self.shared.is_internal(ip).then_some(ip),
            Ok(None) => {
                if let IfNoHost::Report(problem) = if_missing {
                    self.field_error(rule, FieldError { field: "source.ip", problem: problem.into() });
                }
                None
            }
            Err(e) => {
                self.field_error(rule, e);
                None
            }
        }
    }

    /// The event time (ms) for `rule`, or `None` after recording why it cannot be used.
    pub fn time(&mut self, rule: &RuleMeta) -> Option<i64> {
        let r = self.ev.timestamp_ms();
        self.need(rule, r)
    }

    /// The event's web destination (registered domain, or the address of an IP URL), parsed
    /// once for all the rules that ask.
    pub fn web_destination(&mut self) -> Option<&WebDestination> {
        let ev = self.ev;
        self.web.get_or_insert_with(|| WebDestination::of(ev)).as_ref()
    }

    /// The parts of the event the proxy rules over time share: resolved once; a missing or
    /// bad host or time is reported once, against `lead` (the first of those rules that is
    /// on), and `rarity` says whether a rule needs the destination's reach.
    pub fn over_time(&mut self, lead: &RuleMeta, rarity: bool) -> Option<OverTime> {
        if self.over_time.is_none() {
            self.web_destination()?;
            let host = self.host(lead, IfNoHost::Report("missing; the client is unknown"))?;
            let ts = self.time(lead)?;
            let Some(Some(dest)) = &self.web else { return None };
            let dest_hash = crate::state::destinations::destination_hash(self.hosts, dest.key());
            let rare = &self.shared.rare_destinations;
            let reach = (rarity && !dest.is_allowed(&rare.allow))
                .then(|| self.dests.record(dest_hash, self.hosts.key_hash("host", &host), ts, rare.period_ms));
            self.over_time = Some(OverTime { host, ts, dest_hash, reach });
        }
        self.over_time
    }

    /// The outbound connection `fw.c2_port` and `fw.beacon` follow: from one of our hosts to an
    /// external address (not multicast, broadcast, loopback or link-local) on a port not in
    /// `skip_ports`, not ICMP, not inbound, with its time. Missing or bad fields are reported
    /// against `rule`; a missing source skips the event quietly.
    pub fn outbound_connection(&mut self, rule: &RuleMeta, skip_ports: &PortSet) -> Option<OutboundConnection> {
        let ev = self.ev;
        if ev.flags() & flags::DIR_INBOUND != 0 {
            return None;
        }
        let dst = self.optional(rule, ev.destination_ip())?;
        let port = self.optional(rule, ev.destination_port())?;
        let transport = self.optional(rule, ev.transport());
        if transport == Some(Transport::Icmp) || !self.shared.is_external(dst) || skip_ports.contains(port) {
            return None;
        }
        let src = self.host(rule, IfNoHost::Skip)?;
        let ts = self.time(rule)?;
        Some(OutboundConnection { src, dst, port, transport, ts })
    }

    /// `host`'s state (created if new).
    pub fn host_state(&mut self, host: IpAddr) -> &mut HostState {
        self.hosts.get_mut(host)
    }

    /// Whether `rule` should alert for `key` on `host` at `ts`: no alert for the same key
    /// within `window_ms` either side. Records it if so (under `state.max_keys_per_host`).
    pub fn once_per<K: Hash + ?Sized>(&mut self, rule: &RuleMeta, host: IpAddr, key: &K, ts: i64, window_ms: i64) -> bool {
        let key = self.hosts.key_hash(rule.id, key);
        let cap = self.shared.state.max_keys_per_host;
        self.hosts.get_mut(host).dedup.should_alert(key, ts, window_ms, cap)
    }

    /// Adds a finding of `rule` to the event.
    pub fn finding(&mut self, rule: &RuleMeta, severity: Severity, reason: String) {
        self.ann.findings.push(Finding { rule: rule.id, severity, reason });
    }

    /// Raises an alert.
    pub fn raise(&mut self, alert: Alert) {
        self.ann.alerts.push(alert);
    }
}

/// Builds an [`Alert`]: the rule, time and severity first, then what the alert is about.
/// `related.ip` is derived: the host, then the addresses added with [`AlertBuilder::related`].
pub struct AlertBuilder {
    alert: Alert,
}

impl AlertBuilder {
    /// An alert of `rule` at event time `ts`.
    pub fn new(rule: &'static RuleMeta, ts: i64, severity: Severity) -> Self {
        AlertBuilder {
            alert: Alert {
                timestamp_ms: ts,
                rule,
                severity,
                host: None,
                destination: None,
                related_ips: Vec::new(),
                message: String::new(),
                evidence: serde_json::Value::Null,
                email: None,
                attack: None,
                risk: None,
            },
        }
    }

    /// The suspected host (first of `related.ip`).
    pub fn host(mut self, host: Option<IpAddr>) -> Self {
        self.alert.host = host;
        self.alert.related_ips.splice(0..0, host);
        self
    }

    /// The suspected host, and the message: the host, then `reason` (the finding's text).
    pub fn about(self, host: IpAddr, reason: &str) -> Self {
        self.host(Some(host)).message(format!("{host}: {reason}"))
    }

    /// The destination the alert is about (not added to `related.ip` unless named there).
    pub fn destination(mut self, destination: Option<(IpAddr, Option<u16>)>) -> Self {
        self.alert.destination = destination;
        self
    }

    /// More addresses for `related.ip` (duplicates are dropped when written).
    pub fn related(mut self, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.alert.related_ips.extend(ips);
        self
    }

    /// `message`: one sentence a newcomer can read.
    pub fn message(mut self, message: String) -> Self {
        self.alert.message = message;
        self
    }

    /// `malhost.evidence`: the numbers behind the alert.
    pub fn evidence(mut self, evidence: serde_json::Value) -> Self {
        self.alert.evidence = evidence;
        self
    }

    /// `email.*` of the message a mail alert is about.
    pub fn email(mut self, email: Option<serde_json::Value>) -> Self {
        self.alert.email = email;
        self
    }

    /// The alert.
    pub fn build(self) -> Alert {
        self.alert
    }
}
