//! `mixdown schema [mix|album]`: the JSON Schema of mix files or of album files, generated
//! from the Rust types, with every quantity's default spelled in its documented unit.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;

use super::EXIT_OK;
use crate::project::{RawAlbum, RawMix};
use crate::units::spell_defaults;

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which files' schema to print.
    #[arg(value_enum, default_value_t = SchemaKind::Mix)]
    kind: SchemaKind,
}

/// The kinds of project file that have a schema.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SchemaKind {
    /// Mix files, as committed in `schemas/mix.schema.json`.
    Mix,
    /// Album files, as committed in `schemas/album.schema.json`.
    Album,
}

/// The schema of mix files as pretty JSON, as committed in `schemas/mix.schema.json`.
#[must_use]
pub fn mix_schema() -> String {
    schema_of::<RawMix>()
}

/// The schema of album files as pretty JSON, as committed in `schemas/album.schema.json`.
#[must_use]
pub fn album_schema() -> String {
    schema_of::<RawAlbum>()
}

fn schema_of<T: JsonSchema>() -> String {
    let generator = SchemaSettings::draft2020_12().with_transform(spell_defaults).into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialize");
    text.push('\n');
    text
}

/// Runs `schema`.
pub fn run(args: &SchemaArgs) -> i32 {
    match args.kind {
        SchemaKind::Mix => print!("{}", mix_schema()),
        SchemaKind::Album => print!("{}", album_schema()),
    }
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use serde::de::DeserializeOwned;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::project::{RawBus, RawMaster, RawSend, RawStep, RawTrack};

    fn read<T: DeserializeOwned + Debug>(value: Value) -> Result<String, String> {
        serde_json::from_value::<T>(value).map(|t| format!("{t:?}")).map_err(|e| e.to_string())
    }

    fn read_step(kind: &str, params: Value) -> Result<String, String> {
        read::<RawStep>(Value::Object(Map::from_iter([(kind.to_string(), params)])))
    }

    /// The smallest valid instance of a definition that has defaults, with `with` added,
    /// and what it reads as (its `Debug` form, which shows every float exactly).
    fn smallest(definition: &str, with: Map<String, Value>) -> Result<String, String> {
        let merged = |base: Value| {
            let mut base = base.as_object().cloned().unwrap_or_default();
            base.extend(with);
            Value::Object(base)
        };
        match definition {
            "ChorusSpec" => read_step("chorus", merged(json!({}))),
            "CompressorSpec" => {
                read_step("compressor", merged(json!({ "threshold": -20, "ratio": 4 })))
            }
            "ConvolutionSpec" => read_step("convolution", merged(json!({ "ir": "ir.wav" }))),
            "DeesserSpec" => read_step("deesser", merged(json!({ "threshold": -30 }))),
            "DelaySpec" => read_step("delay", merged(json!({ "time": "250 ms" }))),
            "ExpanderSpec" => read_step("expander", merged(json!({ "threshold": -40 }))),
            "FilterParams" => read_step("highpass", merged(json!({ "freq": 80 }))),
            "GateSpec" => read_step("gate", merged(json!({ "threshold": -40 }))),
            "LimiterSpec" => read_step("limiter", merged(json!({}))),
            "ReverbSpec" => read_step("reverb", merged(json!({}))),
            "SaturateSpec" => read_step("saturate", merged(json!({ "drive": 6 }))),
            "RawBus" => read::<RawBus>(merged(json!({}))),
            "RawMaster" => read::<RawMaster>(merged(json!({}))),
            "RawSend" => read::<RawSend>(merged(json!({ "to": "verb" }))),
            "RawTrack" => read::<RawTrack>(merged(json!({ "source": "a.wav" }))),
            other => Err(format!("`{other}` has defaults; add its smallest instance here")),
        }
    }

    #[test]
    fn every_default_in_the_schema_reads_back_as_the_types_default() {
        let schema: Value = serde_json::from_str(&mix_schema()).unwrap();
        let mut checked = 0;
        for (definition, body) in schema["$defs"].as_object().unwrap() {
            let Some(properties) = body["properties"].as_object() else { continue };
            for (property, field) in properties {
                let Some(default) = field.get("default") else { continue };
                let bare = smallest(definition, Map::new());
                let spelled = Map::from_iter([(property.clone(), default.clone())]);
                assert_eq!(
                    smallest(definition, spelled),
                    bare,
                    "{definition}.{property}: the schema's default {default} reads differently \
                     from leaving it out"
                );
                checked += 1;
            }
        }
        assert!(checked > 40, "only {checked} defaults were checked");
    }

    #[test]
    fn quantity_defaults_show_their_documented_unit() {
        let schema: Value = serde_json::from_str(&mix_schema()).unwrap();
        let compressor = &schema["$defs"]["CompressorSpec"]["properties"];
        assert_eq!(compressor["attack"]["default"], "10 ms");
        assert_eq!(compressor["mix"]["default"], "100%");
        assert_eq!(schema["$defs"]["DeesserSpec"]["properties"]["frequency"]["default"], "6 kHz");
    }

    #[test]
    fn unit_strings_carry_a_pattern_that_flags_a_miscased_unit() {
        let schema: Value = serde_json::from_str(&mix_schema()).unwrap();
        let pattern = schema["$defs"]["Hertz"]["pattern"].as_str().unwrap();
        let pattern = regex::Regex::new(pattern).unwrap();
        assert!(pattern.is_match("4 kHz"));
        assert!(!pattern.is_match("4khz"));
    }
}
