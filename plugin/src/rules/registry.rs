//! The rules malhost runs, one registry line each ([`rules!`]). A rule is one module that owns
//! its settings (its `rules.<key>` section of the config document), their compile step, its
//! identity and sources, and `apply` ([`Rule`]); the registry line turns that into the raw and
//! compiled rule sets of the config, the dispatch of events, and the mail dedup bits. Adding a
//! rule is one module and one line here.

use serde::Deserialize;

use crate::calendar::Calendar;
use crate::event::SourceKind;
use crate::values::{ConfigError, err};

use super::RuleMeta;
use super::context::RuleContext;
use super::shared::{RareDestinations, StateLimits};

/// What a rule module provides.
pub trait Rule: Sized + 'static {
    /// Identities of the alerts it raises; the first is the one its field errors name.
    const META: &'static [&'static RuleMeta];
    /// Log sources whose events it reads.
    const SOURCES: &'static [SourceKind];
    /// Whether it alerts at most once per mail message (a bit of `state::messages`).
    const MESSAGE_DEDUP: bool = false;
    /// Its `rules.<key>` section as the document writes it (one `Default`: every default is
    /// written once, in the settings type).
    type Settings: for<'de> Deserialize<'de> + Default;

    /// Compiles the settings, with what the rules share; `None` when they turn it off.
    fn compile(settings: Self::Settings, cx: &CompileContext) -> Result<Option<Self>, ConfigError>;

    /// Applies the rule to one event of a source it reads.
    fn apply(&self, cx: &mut RuleContext);
}

/// What a rule's compile step may read: the parts of the config every rule shares.
pub struct CompileContext<'a> {
    /// The rule's key (`rules.<key>`), for error paths.
    pub key: &'static str,
    /// State limits.
    pub state: &'a StateLimits,
    /// Local time and business hours.
    pub calendar: &'a Calendar,
    /// What "rare" means for web destinations.
    pub rare: &'a RareDestinations,
}

impl CompileContext<'_> {
    /// An error at `rules.<key>.<field>`.
    pub fn err(&self, field: &str, message: impl Into<String>) -> ConfigError {
        err(format!("rules.{}.{field}", self.key), message)
    }

    /// The JSON path `rules.<key>.<field>`.
    pub fn path(&self, field: &str) -> String {
        format!("rules.{}.{field}", self.key)
    }
}

/// One rule as the detector runs it.
pub struct RuleEntry {
    /// Its `rules.<key>` in the config document.
    pub key: &'static str,
    /// Identities of the alerts it raises.
    pub meta: &'static [&'static RuleMeta],
    /// Log sources it reads.
    pub sources: &'static [SourceKind],
    /// Whether it deduplicates by mail message.
    pub message_dedup: bool,
    /// Applies it (nothing when the config turned it off).
    pub apply: fn(&mut RuleContext),
}

/// Generates, from one line per rule (`key => module::Type`, in the order rules run on an
/// event): [`RawRules`] (the `rules` object of the document), [`Rules`] (the compiled rules),
/// and [`REGISTRY`].
macro_rules! rules {
    ($($key:ident => $ty:ty),* $(,)?) => {
        /// The `rules` object of the config document: one section per rule.
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        pub struct RawRules {
            $(
                #[serde(default)]
                #[allow(missing_docs)]
                pub $key: <$ty as Rule>::Settings,
            )*
        }

        /// Every rule, compiled: `None` when the config turned it off.
        #[derive(Clone, Debug)]
        pub struct Rules {
            $(
                #[allow(missing_docs)]
                pub $key: Option<$ty>,
            )*
        }

        impl Rules {
            /// Compiles every rule's settings, in registry order.
            pub fn compile(raw: RawRules, shared: &CompileContext) -> Result<Rules, ConfigError> {
                Ok(Rules {
                    $(
                        $key: <$ty as Rule>::compile(raw.$key, &CompileContext { key: stringify!($key), ..*shared })?,
                    )*
                })
            }
        }

        /// Every rule, in the order they run on an event (the order of findings and alerts).
        pub static REGISTRY: &[RuleEntry] = &[
            $(
                RuleEntry {
                    key: stringify!($key),
                    meta: <$ty as Rule>::META,
                    sources: <$ty as Rule>::SOURCES,
                    message_dedup: <$ty as Rule>::MESSAGE_DEDUP,
                    apply: |cx| {
                        if let Some(r) = &cx.rules.$key {
                            r.apply(cx)
                        }
                    },
                },
            )*
        ];

        /// Rules that deduplicate by mail message take one bit each of `state::messages`.
        const MESSAGE_DEDUP_RULES: usize = 0 $( + <$ty as Rule>::MESSAGE_DEDUP as usize )*;
        const _: () = assert!(
            MESSAGE_DEDUP_RULES <= crate::state::messages::RULE_BITS,
            "more rules deduplicate by mail message than state::messages::Seen has bits: widen it (and bump the snapshot format)"
        );
    };
}

use super::{
    fw_c2_ip, fw_outbound_deny, learned_list, mail_display_name_spoof, mail_executable_attachment, proxy_connect_port,
    proxy_daily_beacon, proxy_ioc, proxy_off_hours, proxy_upload_volume, proxy_user_agent,
};

rules! {
    fw_outbound_deny => fw_outbound_deny::OutboundDenyConfig,
    fw_c2_ip => fw_c2_ip::C2IpConfig,
    proxy_ioc => proxy_ioc::ProxyIocConfig,
    proxy_connect_port => proxy_connect_port::ConnectPortConfig,
    proxy_user_agent => proxy_user_agent::UserAgentConfig,
    proxy_upload_volume => proxy_upload_volume::UploadVolumeConfig,
    proxy_daily_beacon => proxy_daily_beacon::DailyBeaconConfig,
    proxy_off_hours => proxy_off_hours::OffHoursConfig,
    mail_display_name_spoof => mail_display_name_spoof::DisplayNameSpoofConfig,
    mail_executable_attachment => mail_executable_attachment::ExecutableAttachmentConfig,
    learned_lists => learned_list::LearnedListsConfig,
}

/// The bit of `state::messages` that `rule` deduplicates mail messages with: its place among
/// the registry's rules with [`Rule::MESSAGE_DEDUP`].
pub fn message_bit(rule: &RuleMeta) -> u8 {
    let mut bit = 0;
    for e in REGISTRY.iter().filter(|e| e.message_dedup) {
        if e.meta.iter().any(|m| m.id == rule.id) {
            return bit;
        }
        bit += 1;
    }
    bit
}
