//! What the indicator-list rules (`fw.c2_ip`, `proxy.ioc`) share: where an indicator came
//! from, and the check of a list's name.

use crate::values::ConfigError;

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
