//! What the indicator-list rules (`fw.c2_ip`, `proxy.ioc`) share: where an indicator came
//! from, and the check of a list's name.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::values::{ConfigError, Duration, Severity};

use super::registry::CompileContext;

/// Where an indicator came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorSource {
    /// The entry as written in the config.
    pub entry: String,
    /// The list's name.
    pub list: String,
    /// The list's provider (ECS `indicator.provider`), defaulting to the list name.
    pub provider: String,
}

/// Checks an indicator list's name (`lists[i].name`); its provider defaults to the name.
pub fn list_provider(name: &str, provider: Option<String>, cx: &CompileContext, i: usize) -> Result<String, ConfigError> {
    if name.trim().is_empty() {
        return Err(cx.err(&format!("lists[{i}].name"), "must not be empty"));
    }
    Ok(provider.unwrap_or_else(|| name.to_owned()))
}

/// The settings of an indicator-list rule (`rules.fw_c2_ip`, `rules.proxy_ioc`): its lists of
/// type `L`, one alert per (host, list) per `dedup_window`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(inline, transform = names_not_blank_while_enabled)]
pub struct ListSettings<L> {
    /// At most one alert per host and list within this time; later matches are enriched events.
    pub dedup_window: Duration,
    /// Severity of the finding and the alert.
    pub severity: Severity,
    /// Indicator lists. An address matched by several entries takes the most specific one
    /// (IP:port, then longest prefix).
    #[schemars(extend("default" = []))]
    pub lists: Vec<L>,
}

/// What [`list_provider`] checks, as the schema says it: while the rule is enabled, every
/// list's name has a character other than white space.
fn names_not_blank_while_enabled(schema: &mut schemars::Schema) {
    schema.insert("if".into(), serde_json::json!({"required": ["enabled"], "properties": {"enabled": {"const": false}}}));
    schema.insert("else".into(), serde_json::json!({"properties": {"lists": {"items": {"properties": {"name": {"pattern": "\\S"}}}}}}));
}

impl<L> Default for ListSettings<L> {
    fn default() -> Self {
        ListSettings { dedup_window: Duration::secs(3600), severity: Severity::High, lists: Vec::new() }
    }
}
