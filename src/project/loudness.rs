//! The raw `master.loudness` block, as written: a profile name (`loudness: spotify`) or
//! explicit settings (`loudness: { target: -14 LUFS, ceiling: -1 dBTP }`). Ranges are
//! checked here, so a bad value is an error at its own line; what a profile means is
//! `ir`'s business.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::units::{Decibels, Lufs, TruePeak, within};

/// A loudness target a mix is normalised to.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLoudness {
    /// A named delivery profile.
    Profile(Profile),
    /// Explicit settings.
    Settings(RawLoudnessSettings),
}

/// The delivery profiles a `loudness:` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `spotify`: -14 LUFS, -1 dBTP.
    Spotify,
    /// `apple`: -16 LUFS, -1 dBTP.
    Apple,
    /// `youtube`: -14 LUFS, -1 dBTP.
    Youtube,
    /// `ebu-r128`, for broadcast: -23 LUFS, -1 dBTP.
    EbuR128,
    /// `cd`: no loudness target, and no overs (a 0 dBTP true-peak ceiling).
    Cd,
}

impl Profile {
    /// Every profile's name, as a project file writes it.
    pub const NAMES: &'static [&'static str] = &["spotify", "apple", "youtube", "ebu-r128", "cd"];

    /// The profile a project file names `name`, if any.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "spotify" => Some(Self::Spotify),
            "apple" => Some(Self::Apple),
            "youtube" => Some(Self::Youtube),
            "ebu-r128" => Some(Self::EbuR128),
            "cd" => Some(Self::Cd),
            _ => None,
        }
    }
}

/// `loudness: { target: -14 LUFS, ceiling: -1 dBTP, max_limiting: 6 dB }`
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoudnessSettings {
    /// The integrated loudness the master is brought to, from -40 to -5 LUFS. Without it
    /// no gain is applied and the ceiling alone holds (as the `cd` profile does).
    #[serde(default, deserialize_with = "target_in_range")]
    pub target: Option<Lufs>,
    /// The true peak no delivered sample reaches, between samples too, from -12 to 0 dBTP
    /// (default -1 dBTP).
    #[serde(default, deserialize_with = "ceiling_in_range")]
    pub ceiling: Option<TruePeak>,
    /// The most gain reduction the limiter may apply to reach the target, from 0 to 24 dB
    /// (default 6 dB); a target that needs more is an error, not a squashed master.
    #[serde(default, deserialize_with = "max_limiting_in_range")]
    pub max_limiting: Option<Decibels>,
}

/// The range a loudness target may take, in LUFS: quieter than any broadcast standard to
/// louder than any streaming service normalises.
pub const TARGET_RANGE: (f64, f64) = (-40.0, -5.0);
/// The range a true-peak ceiling may take, in dBTP.
pub const CEILING_RANGE: (f64, f64) = (-12.0, 0.0);
/// The range of `max_limiting`, in dB.
pub const MAX_LIMITING_RANGE: (f64, f64) = (0.0, 24.0);

pub(super) fn target_in_range<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Lufs>, D::Error> {
    let (least, most) = TARGET_RANGE;
    within(deserializer, TARGET_RANGE, |v| {
        format!("a loudness target runs from {least} to {most} LUFS, not {}", Lufs(v))
    })
    .map(Some)
}

pub(super) fn ceiling_in_range<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<TruePeak>, D::Error> {
    let (least, most) = CEILING_RANGE;
    within(deserializer, CEILING_RANGE, |v| {
        format!("a true-peak ceiling runs from {least} to {most} dBTP, not {}", TruePeak(v))
    })
    .map(Some)
}

pub(super) fn max_limiting_in_range<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decibels>, D::Error> {
    let (least, most) = MAX_LIMITING_RANGE;
    within(deserializer, MAX_LIMITING_RANGE, |v| {
        format!("`max_limiting` runs from {least} to {most} dB, not {}", Decibels(v))
    })
    .map(Some)
}

impl<'de> Deserialize<'de> for RawLoudness {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LoudnessVisitor;
        impl<'de> Visitor<'de> for LoudnessVisitor {
            type Value = RawLoudness;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a profile (spotify, apple, youtube, ebu-r128, cd) or a map")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawLoudness, E> {
                Profile::from_name(v)
                    .map(RawLoudness::Profile)
                    .ok_or_else(|| E::unknown_variant(v, Profile::NAMES))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawLoudness, A::Error> {
                RawLoudnessSettings::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawLoudness::Settings)
            }
        }
        deserializer.deserialize_any(LoudnessVisitor)
    }
}

impl JsonSchema for RawLoudness {
    fn schema_name() -> Cow<'static, str> {
        "Loudness".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let settings = generator.subschema_for::<RawLoudnessSettings>();
        json_schema!({
            "description": "Loudness normalisation of the master: a profile (`spotify` and \
                `youtube` -14 LUFS, `apple` -16 LUFS, `ebu-r128` -23 LUFS, each at -1 dBTP; \
                `cd` no gain and a 0 dBTP ceiling) or explicit settings.",
            "oneOf": [
                { "type": "string", "enum": Profile::NAMES },
                settings
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<RawLoudness, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_profile_name_or_a_map_of_settings_reads() {
        assert_eq!(read(r#""ebu-r128""#).unwrap(), RawLoudness::Profile(Profile::EbuR128));
        let settings = read(r#"{ "target": "-14 LUFS", "ceiling": "-1 dBTP" }"#).unwrap();
        assert_eq!(
            settings,
            RawLoudness::Settings(RawLoudnessSettings {
                target: Some(Lufs(-14.0)),
                ceiling: Some(TruePeak(-1.0)),
                max_limiting: None,
            })
        );
    }

    #[test]
    fn an_unknown_profile_names_the_known_ones() {
        let error = read(r#""spotfy""#).unwrap_err();
        assert!(error.starts_with("unknown variant `spotfy`"), "{error}");
        assert!(error.contains("ebu-r128"), "{error}");
    }

    #[test]
    fn targets_ceilings_and_limiting_out_of_range_are_refused_with_their_range() {
        let loud = read(r#"{ "target": "-2 LUFS" }"#).unwrap_err();
        assert!(loud.contains("from -40 to -5 LUFS, not -2 LUFS"), "{loud}");
        let over = read(r#"{ "ceiling": "0.5 dBTP" }"#).unwrap_err();
        assert!(over.contains("from -12 to 0 dBTP, not 0.5 dBTP"), "{over}");
        let squash = read(r#"{ "max_limiting": "30 dB" }"#).unwrap_err();
        assert!(squash.contains("from 0 to 24 dB, not 30 dB"), "{squash}");
        assert!(read(r#"{ "target": "-40 LUFS", "ceiling": "0 dBTP" }"#).is_ok());
        assert!(read(r#"{ "tagret": "-14 LUFS" }"#).unwrap_err().contains("unknown field"));
    }
}
