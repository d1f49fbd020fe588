//! The rules malhost runs, one registry line each ([`rules!`]). A rule is one module that owns
//! its settings (its `rules.<key>` section of the config document), their compile step, its
//! identity and sources, and `apply` ([`Rule`]); the registry line turns that into the raw and
//! compiled rule sets of the config, the dispatch of events, and the mail dedup bits. Adding a
//! rule is one module and one line here.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use crate::calendar::Calendar;
use crate::event::{Event, SourceKind};
use crate::values::{ConfigError, err};

use super::RuleMeta;
use super::context::RuleContext;
use super::shared::{RareDestinations, StateLimits};

/// What a rule keeps per host (in [`RuleStates`], snapshotted with the host).
pub trait RuleState: Default + Clone + std::fmt::Debug + serde::Serialize + for<'de> Deserialize<'de> {
    /// Whether there is nothing to keep (left out of snapshots).
    fn is_empty(&self) -> bool;
    /// Restores the invariants `apply` relies on after the state came from a snapshot, which
    /// may have been edited: sorted, within `cap` entries.
    fn repair(&mut self, cap: usize) {
        let _ = cap;
    }
}

/// [`RuleState::is_empty`], as serde's `skip_serializing_if` names a function.
pub fn state_is_empty<S: RuleState>(s: &S) -> bool {
    s.is_empty()
}

/// A rule that keeps nothing per host.
impl RuleState for () {
    fn is_empty(&self) -> bool {
        true
    }
}

/// What the registry knows of a rule without running it.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo {
    /// Identities of the alerts it raises; the first is the one its field errors name.
    pub alerts: &'static [&'static RuleMeta],
    /// Log sources whose events it reads.
    pub sources: &'static [SourceKind],
    /// Whether it alerts at most once per mail message (a bit of `state::messages`).
    pub message_dedup: bool,
}

/// What a rule module provides.
pub trait Rule: Sized + 'static {
    /// Its alerts and sources.
    const INFO: RuleInfo;
    /// Its `rules.<key>` section as the document writes it, but for `enabled`, which every
    /// section has ([`Section`]). One `Default`: every default is written once, in the
    /// settings type; a doc comment per field, which the config schema shows.
    /// Compiled into the rule by [`Compile`]; a rule whose settings need no compiling is its
    /// settings type (`type Settings = Self`).
    type Settings: Compile<Self> + for<'de> Deserialize<'de> + Default + schemars::JsonSchema;
    /// What it keeps per host (`()` for nothing).
    type HostState: RuleState;

    /// Applies the rule to one event of a source it reads (`ev`, also `cx.ev`).
    fn apply(&self, ev: &Event, cx: &mut RuleContext);
}

/// How the settings of an enabled rule become the rule, with what the rules share.
pub trait Compile<R>: Sized {
    /// The rule; `None` when the settings leave it nothing to do (no lists loaded). Errors
    /// carry the JSON path (`rules.<key>.<field>`, see [`CompileContext::err`]).
    fn compile(self, cx: &CompileContext) -> Result<Option<R>, ConfigError>;
}

/// Settings that are the rule as they are: nothing to compile.
impl<R: Rule<Settings = R>> Compile<R> for R {
    fn compile(self, _: &CompileContext) -> Result<Option<R>, ConfigError> {
        Ok(Some(self))
    }
}

/// A rule's `rules.<key>` section: `enabled` (default `true`), which the registry reads for
/// every rule and which turns it off without compiling it, beside the rule's own settings `S`
/// (which reject unknown keys as before; an error inside them keeps its JSON path).
pub struct Section<S> {
    /// Whether the rule runs.
    pub enabled: bool,
    /// The rule's own settings.
    pub settings: S,
}

impl<S: Default> Default for Section<S> {
    fn default() -> Self {
        Section { enabled: true, settings: S::default() }
    }
}

impl<'de, S: Deserialize<'de>> Deserialize<'de> for Section<S> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SectionVisitor<S>(PhantomData<S>);
        impl<'de, S: Deserialize<'de>> Visitor<'de> for SectionVisitor<S> {
            type Value = Section<S>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Section<S>, A::Error> {
                let mut enabled = None;
                let settings = S::deserialize(de::value::MapAccessDeserializer::new(WithoutEnabled { map, enabled: &mut enabled }))?;
                Ok(Section { enabled: enabled.unwrap_or(true), settings })
            }
        }
        d.deserialize_map(SectionVisitor(PhantomData))
    }
}

/// The entries of a section but `enabled`, which it takes aside, for the rule's settings.
struct WithoutEnabled<'a, A> {
    map: A,
    enabled: &'a mut Option<bool>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutEnabled<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        // The settings' own key reader runs inside the document's (`KeyOrEnabled`), so that an
        // unknown key is reported at its own path, `rules.<key>.<unknown>`.
        let mut seed = Some(seed);
        loop {
            let Some(k) = seed.take() else { return Ok(None) };
            match self.map.next_key_seed(KeyOrEnabled(k))? {
                None => return Ok(None),
                Some(Key::Other(v)) => return Ok(Some(v)),
                Some(Key::Enabled(k)) => {
                    if self.enabled.is_some() {
                        return Err(de::Error::duplicate_field("enabled"));
                    }
                    *self.enabled = Some(self.map.next_value()?);
                    seed = Some(k);
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A section's key: `enabled` (handing the settings' key reader back, unused), or one of the
/// settings' keys as their reader read it.
enum Key<K, V> {
    Enabled(K),
    Other(V),
}

struct KeyOrEnabled<K>(K);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyOrEnabled<K> {
    type Value = Key<K, K::Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyOrEnabled<K> {
    type Value = Key<K, K::Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == "enabled" {
            return Ok(Key::Enabled(self.0));
        }
        // serde's message for an unknown key lists the settings' keys; `enabled` is one too.
        self.0.deserialize(key.into_deserializer()).map(Key::Other).map_err(|e: E| {
            let message = e.to_string();
            match message.split_once(", expected one of ") {
                Some((head, keys)) => E::custom(format!("{head}, expected one of `enabled`, {keys}")),
                None => e,
            }
        })
    }
}

impl<S: schemars::JsonSchema> schemars::JsonSchema for Section<S> {
    fn schema_name() -> Cow<'static, str> {
        S::schema_name()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = S::json_schema(generator);
        let enabled = serde_json::json!({"type": "boolean", "description": "Whether the rule runs.", "default": true});
        let mut properties = serde_json::Map::new();
        properties.insert("enabled".into(), enabled);
        if let Some(serde_json::Value::Object(own)) = schema.get_mut("properties") {
            properties.extend(std::mem::take(own));
        }
        schema.insert("properties".into(), properties.into());
        schema
    }
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
    /// Its alerts and sources.
    pub info: RuleInfo,
    /// Applies it (nothing when the config turned it off).
    pub apply: fn(&Event, &mut RuleContext),
}

pub use super::{RawRules, RuleStates, Rules, REGISTRY};

/// Generates, from one line per rule (`key => module::Type`, in the order rules run on an
/// event): [`RawRules`] (the `rules` object of the document), [`Rules`] (the compiled rules),
/// [`RuleStates`] (what each keeps per host) and [`REGISTRY`].
macro_rules! rules {
    ($($key:ident => $module:ident :: $name:ident),* $(,)?) => {
        $( pub mod $module; )*
        rules!(@items $($key => $module::$name),*);
    };
    (@items $($key:ident => $ty:ty),*) => {
        /// The `rules` object of the config document: one section per rule.
        #[derive(serde::Deserialize, Default, schemars::JsonSchema)]
        #[serde(deny_unknown_fields, expecting = "an object")]
        #[schemars(inline)]
        pub struct RawRules {
            $(
                #[serde(default)]
                #[allow(missing_docs)]
                pub $key: $crate::rules::registry::Section<<$ty as $crate::rules::registry::Rule>::Settings>,
            )*
        }

        /// Every rule's per-host state, one field per rule (`HostState::rules`).
        #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct RuleStates {
            $(
                #[serde(skip_serializing_if = "crate::rules::registry::state_is_empty")]
                #[allow(missing_docs)]
                pub $key: <$ty as $crate::rules::registry::Rule>::HostState,
            )*
        }

        impl RuleStates {
            /// Repairs every rule's state ([`RuleState::repair`]).
            pub fn repair(&mut self, cap: usize) {
                $( $crate::rules::registry::RuleState::repair(&mut self.$key, cap); )*
            }
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
            pub fn compile(raw: RawRules, shared: &$crate::rules::registry::CompileContext) -> Result<Rules, $crate::values::ConfigError> {
                Ok(Rules {
                    $(
                        $key: match raw.$key {
                            $crate::rules::registry::Section { enabled: true, settings } => {
                                $crate::rules::registry::Compile::<$ty>::compile(settings, &$crate::rules::registry::CompileContext { key: stringify!($key), ..*shared })?
                            }
                            _ => None,
                        },
                    )*
                })
            }
        }

        /// Every rule, in the order they run on an event (the order of findings and alerts).
        pub static REGISTRY: &[$crate::rules::registry::RuleEntry] = &[
            $(
                $crate::rules::registry::RuleEntry {
                    key: stringify!($key),
                    info: <$ty as $crate::rules::registry::Rule>::INFO,
                    apply: |ev, cx| {
                        if let Some(r) = &cx.rules.$key {
                            $crate::rules::registry::Rule::apply(r, ev, cx)
                        }
                    },
                },
            )*
        ];

        /// Rules that deduplicate by mail message take one bit each of `state::messages`.
        const MESSAGE_DEDUP_RULES: usize = 0 $( + <$ty as $crate::rules::registry::Rule>::INFO.message_dedup as usize )*;
        const _: () = assert!(
            MESSAGE_DEDUP_RULES <= crate::state::messages::RULE_BITS,
            "more rules deduplicate by mail message than state::messages::Seen has bits: widen it (and bump the snapshot format)"
        );
    };
}


/// The bit of `state::messages` that `rule` deduplicates mail messages with: its place among
/// the registry's rules with [`RuleInfo::message_dedup`].
pub fn message_bit(rule: &RuleMeta) -> u8 {
    let mut bit = 0;
    for e in REGISTRY.iter().filter(|e| e.info.message_dedup) {
        if e.info.alerts.iter().any(|m| m.id == rule.id) {
            return bit;
        }
        bit += 1;
    }
    bit
}
