//! `mixdown schema`: the JSON Schema of mix files, generated from the Rust types.

use super::EXIT_OK;
use crate::project::RawMix;

/// The schema as pretty JSON, as committed in `schemas/mix.schema.json`.
#[must_use]
pub fn mix_schema() -> String {
    let schema = schemars::schema_for!(RawMix);
    let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialize");
    text.push('\n');
    text
}

/// Runs `schema`.
pub fn run() -> i32 {
    print!("{}", mix_schema());
    EXIT_OK
}
