//! `malhost schema`: print the config document's JSON Schema, generated from the settings
//! types (`schemas/config.schema.json` is this output, kept current by a test).

use std::process::ExitCode;

use anyhow::Result;

/// Print the JSON Schema of the config document (what `schemas/config.schema.json` holds).
#[derive(clap::Args)]
pub struct SchemaArgs {}

pub fn run(_: SchemaArgs) -> Result<ExitCode> {
    println!("{}", config_schema_text());
    Ok(ExitCode::SUCCESS)
}

/// The schema as the committed file writes it: pretty-printed, two-space indents.
pub fn config_schema_text() -> String {
    serde_json::to_string_pretty(&malhost::config::json_schema()).unwrap_or_default()
}
