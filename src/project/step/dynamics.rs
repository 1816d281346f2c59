//! The raw steps of the dynamics family (`compressor`, `multiband`), as a mix writes them:
//! their units, defaults and range checks.
//!
//! Each raw type keeps the name the schema has always shown (`CompressorSpec`), and a step
//! written as anything but a mapping is expected to be "a mapping of its settings".
//!
//! A `multiband` band reads its compressor either nested under `compressor:` or written in
//! the band itself; both load as the same value, so they key and render alike.

use std::fmt;

use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::Lower;
use crate::dsp::dynamics::compressor::CompressorSettings;
use crate::dsp::dynamics::envelope::Detector;
use crate::dsp::dynamics::multiband::{BANDS, BandSettings, MultibandSettings};
use crate::dsp::primitives::curve::Timeline;
use crate::units::{Decibels, Hertz, Param, Ratio, Scalar, Share, TimeMs, tidy, within};

/// The automatable parameter `param` as plain settings carry it.
fn timeline<T: Scalar>(param: &Param<T>) -> Timeline {
    Timeline(param.points())
}

/// How a detector measures level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "Detector")]
pub enum RawDetector {
    /// Follows the rectified signal: fast and faithful to transients.
    #[default]
    Peak,
    /// Follows the mean square and reports its square root: closer to loudness.
    Rms,
}

impl From<RawDetector> for Detector {
    fn from(detector: RawDetector) -> Self {
        match detector {
            RawDetector::Peak => Self::Peak,
            RawDetector::Rms => Self::Rms,
        }
    }
}

/// `- compressor: { threshold: -16 dB, ratio: 4, attack: 8 ms, release: 90 ms, makeup: 2 dB }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "CompressorSpec")]
pub struct RawCompressor {
    /// Level above which the gain comes down, e.g. `-18 dB`.
    pub threshold: Param<Decibels>,
    /// dB of level over the threshold per dB left after compression: `4` or `4:1`; `inf`
    /// holds the level at the threshold. Automation interpolates 1/ratio.
    pub ratio: Param<Ratio>,
    /// Time constant of the detector's rise: a step reaches 63% of its level after this long.
    #[serde(default = "default_attack")]
    pub attack: Param<TimeMs>,
    /// Time constant of the detector's fall: 63% of the way down after this long.
    #[serde(default = "default_release")]
    pub release: Param<TimeMs>,
    /// Width of the soft knee centred on the threshold; `0 dB` is a hard knee.
    #[serde(default = "hard_knee")]
    pub knee: Decibels,
    /// Gain added after compression.
    #[serde(default = "unity")]
    pub makeup: Param<Decibels>,
    /// How the level is measured: `peak` (rectified) or `rms`.
    #[serde(default)]
    pub detector: RawDetector,
    /// How much the louder channel drives both: `100%` compresses both channels alike, `0%`
    /// compresses each on its own level.
    #[serde(default = "fully_linked")]
    pub link: Share,
    /// Share of compressed signal in the output; the rest is the unprocessed input
    /// (parallel compression).
    #[serde(default = "fully_wet")]
    pub mix: Param<Share>,
    /// A track or bus whose signal drives the detector instead of this input (ducking).
    #[serde(default)]
    pub sidechain: Option<String>,
    /// A high-pass on what the detector hears (the input or the sidechain), so that bass
    /// does not pump the compressor, e.g. `100 Hz` (12 dB/oct Butterworth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidechain_highpass: Option<Hertz>,
}

fn default_attack() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.010))
}

fn default_release() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.100))
}

fn hard_knee() -> Decibels {
    Decibels(0.0)
}

fn unity() -> Param<Decibels> {
    Param::Constant(Decibels(0.0))
}

fn fully_linked() -> Share {
    Share(1.0)
}

fn fully_wet() -> Param<Share> {
    Param::Constant(Share(1.0))
}

impl Lower for RawCompressor {
    type Settings = CompressorSettings;

    fn settings(&self) -> CompressorSettings {
        CompressorSettings {
            threshold_db: timeline(&self.threshold),
            ratio: timeline(&self.ratio),
            attack_seconds: timeline(&self.attack),
            release_seconds: timeline(&self.release),
            knee_db: self.knee.0,
            makeup_db: timeline(&self.makeup),
            detector: self.detector.into(),
            link: self.link.0,
            mix: timeline(&self.mix),
            sidechain: self.sidechain.clone(),
            sidechain_highpass_hz: self.sidechain_highpass.map(|f| f.0),
        }
    }

    fn sidechain(&self) -> Option<&str> {
        self.sidechain.as_deref()
    }
}

/// The range of a multiband band's gain, in dB.
const BAND_GAIN_RANGE_DB: (f64, f64) = (-24.0, 24.0);

/// `- multiband: { crossovers: [120 Hz, 2 kHz], bands: [{ compressor: {...} }, ...] }`.
/// Once loaded the band count and crossovers have been checked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(try_from = "WrittenMultiband", rename = "MultibandSpec")]
pub struct RawMultiband {
    /// The crossover frequencies, ascending.
    pub crossovers: Vec<Hertz>,
    /// The bands from the lowest up.
    pub bands: Vec<RawMultibandBand>,
}

/// A multiband compressor as a project writes it, before its bands are counted.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MultibandSpec")]
struct WrittenMultiband {
    /// Where the bands meet, ascending and below half the sample rate, one fewer than the
    /// bands: `[120 Hz, 2 kHz]` makes three bands. Each is a Linkwitz–Riley 24 dB/oct
    /// crossover, and the bands sum flat.
    #[schemars(length(min = 1, max = 4))]
    crossovers: Vec<Hertz>,
    /// Two to five bands, from the lowest up.
    #[schemars(length(min = 2, max = 5))]
    bands: Vec<RawMultibandBand>,
}

/// One band of a `multiband`: `{ compressor: { threshold: -20 dB, ratio: 2 }, gain: 1 dB }`,
/// or with the compressor's settings in the band itself: `{ threshold: -20 dB, ratio: 2 }`.
/// Both read as the same band, so they render and cache alike.
#[derive(Debug, Clone, Serialize)]
pub struct RawMultibandBand {
    /// The band's compressor, with every setting of a `compressor` step but `sidechain`;
    /// without one the band only takes its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<RawCompressor>,
    /// Gain after the compressor, from -24 dB to +24 dB.
    #[serde(default = "flat", deserialize_with = "gain_in_range")]
    pub gain: Decibels,
    /// Hear only the soloed bands.
    #[serde(default)]
    pub solo: bool,
    /// Pass the band without compression or gain.
    #[serde(default)]
    pub bypass: bool,
}

fn flat() -> Decibels {
    Decibels(0.0)
}

/// A band as written with its compressor under `compressor:`, for the schema.
#[derive(JsonSchema)]
#[schemars(rename = "MultibandBandWithCompressor")]
#[expect(dead_code, reason = "a shape for the schema; bands are read by RawMultibandBand")]
struct NestedBand {
    /// The band's compressor, with every setting of a `compressor` step but `sidechain`;
    /// without one the band only takes its gain.
    compressor: Option<RawCompressor>,
    /// Gain after the compressor, from -24 dB to +24 dB.
    #[schemars(extend("default" = "0 dB"))]
    gain: Option<Decibels>,
    /// Hear only the soloed bands.
    #[schemars(extend("default" = false))]
    solo: Option<bool>,
    /// Pass the band without compression or gain.
    #[schemars(extend("default" = false))]
    bypass: Option<bool>,
}

impl JsonSchema for RawMultibandBand {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MultibandBand".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let nested = generator.subschema_for::<NestedBand>();
        let inline = generator.subschema_for::<RawCompressor>();
        schemars::json_schema!({
            "description": "One band: its compressor under `compressor:` with `gain`, `solo` \
                and `bypass`, or the compressor's settings written in the band itself.",
            "anyOf": [nested, inline]
        })
    }
}

/// A band's gain, read with its range checked.
struct BandGain(Decibels);

impl<'de> Deserialize<'de> for BandGain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        gain_in_range(deserializer).map(Self)
    }
}

/// Reads a band in either spelling: the band's own keys are `compressor`, `gain`, `solo`
/// and `bypass`; any other key is a setting of its compressor, written in the band.
impl<'de> Deserialize<'de> for RawMultibandBand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BandVisitor;

        impl<'de> Visitor<'de> for BandVisitor {
            type Value = RawMultibandBand;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a band such as `{ threshold: -20 dB, ratio: 2 }`")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawMultibandBand, A::Error> {
                let mut band =
                    RawMultibandBand { compressor: None, gain: flat(), solo: false, bypass: false };
                let mut inline = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "compressor" => band.compressor = Some(map.next_value()?),
                        "gain" => band.gain = map.next_value::<BandGain>()?.0,
                        "solo" => band.solo = map.next_value()?,
                        "bypass" => band.bypass = map.next_value()?,
                        _ => {
                            let value = map.next_value::<serde_json::Value>()?;
                            inline.insert(key, value);
                        }
                    }
                }
                if inline.is_empty() {
                    return Ok(band);
                }
                if band.compressor.is_some() {
                    let keys: Vec<String> = inline.keys().map(|k| format!("`{k}`")).collect();
                    return Err(de::Error::custom(format!(
                        "the band has a `compressor:` and compressor settings beside it ({}); \
                         move them into `compressor:`",
                        keys.join(", ")
                    )));
                }
                let compressor = RawCompressor::deserialize(serde_json::Value::Object(inline))
                    .map_err(de::Error::custom)?;
                band.compressor = Some(compressor);
                Ok(band)
            }
        }

        deserializer.deserialize_map(BandVisitor)
    }
}

fn gain_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decibels, D::Error> {
    let (least, most) = BAND_GAIN_RANGE_DB;
    within(deserializer, BAND_GAIN_RANGE_DB, |db| {
        format!("a band's gain runs from {least} dB to +{most} dB, not {} dB", tidy(db))
    })
}

/// Reads the step and checks its bands while its map is still open, so that a refusal is
/// reported at the step's own line.
impl<'de> Deserialize<'de> for RawMultiband {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;

        impl<'de> Visitor<'de> for StepVisitor {
            type Value = RawMultiband;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a multiband compressor such as `{ crossovers: [200 Hz], bands: [{}, {}] }`",
                )
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawMultiband, A::Error> {
                let written = WrittenMultiband::deserialize(MapAccessDeserializer::new(map))?;
                RawMultiband::try_from(written).map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_map(StepVisitor)
    }
}

impl TryFrom<WrittenMultiband> for RawMultiband {
    type Error = String;

    fn try_from(written: WrittenMultiband) -> Result<Self, String> {
        let (fewest, most) = BANDS;
        let count = written.bands.len();
        if !(fewest..=most).contains(&count) {
            return Err(format!(
                "a multiband compressor has {fewest} to {most} bands, not {count}"
            ));
        }
        if written.crossovers.len() + 1 != count {
            return Err(format!(
                "{count} bands meet at {} crossovers, not {}: list one crossover between each \
                 two neighbouring bands",
                count - 1,
                written.crossovers.len()
            ));
        }
        if let Some([low, high]) = written.crossovers.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(format!("crossovers go from low to high, but {high} follows {low}"));
        }
        let mut compressors = written.bands.iter().filter_map(|b| b.compressor.as_ref());
        if compressors.any(|c| c.sidechain.is_some()) {
            return Err("a band's compressor listens to its own band; `sidechain` is not \
                        available inside `multiband`"
                .to_string());
        }
        Ok(Self { crossovers: written.crossovers, bands: written.bands })
    }
}

impl Lower for RawMultiband {
    type Settings = MultibandSettings;

    fn settings(&self) -> MultibandSettings {
        MultibandSettings {
            crossovers: self.crossovers.iter().map(|f| f.0).collect(),
            bands: self
                .bands
                .iter()
                .map(|band| BandSettings {
                    compressor: band.compressor.as_ref().map(RawCompressor::settings),
                    gain_db: band.gain.0,
                    solo: band.solo,
                    bypass: band.bypass,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // The values read are exact: each is a unit conversion of a literal.
mod tests {
    use super::*;

    fn compressor(json: &str) -> RawCompressor {
        serde_json::from_str(json).unwrap()
    }

    fn multiband(json: &str) -> Result<RawMultiband, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_contract_compressors_read_and_lower_to_seconds_and_fractions() {
        for json in [
            r#"{"threshold": "-16 dB", "ratio": 4, "attack": "8 ms", "release": "90 ms", "makeup": "2 dB"}"#,
            r#"{"threshold": "-20 dB", "ratio": 3, "attack": "5 ms", "release": "80 ms", "knee": "6 dB", "makeup": "4 dB"}"#,
            r#"{"threshold": "-30 dB", "ratio": 6, "attack": "1 ms", "release": "60 ms", "sidechain": "kick"}"#,
            r#"{"threshold": "-12 dB", "ratio": 2, "attack": "10 ms", "release": "120 ms", "knee": "0 dB", "detector": "peak"}"#,
        ] {
            assert!(compressor(json).settings().attack_seconds.initial() > 0.0, "{json}");
        }
        let keyed = compressor(
            r#"{"threshold": -30, "ratio": "inf", "sidechain": "kick", "detector": "rms",
                "link": "50%", "mix": [[0, "100%"], ["1 s", "40%"]], "sidechain_highpass": "1 kHz"}"#,
        );
        assert_eq!(Lower::sidechain(&keyed), Some("kick"));
        let s = keyed.settings();
        assert_eq!((s.threshold_db.initial(), s.ratio.initial()), (-30.0, f64::INFINITY));
        assert_eq!((s.attack_seconds.initial(), s.release_seconds.initial()), (0.010, 0.100));
        assert_eq!((s.knee_db, s.makeup_db.initial(), s.link), (0.0, 0.0, 0.5));
        assert_eq!(s.mix, Timeline(vec![(0.0, 1.0), (1.0, 0.4)]));
        assert_eq!((s.detector, s.sidechain.as_deref()), (Detector::Rms, Some("kick")));
        assert_eq!(s.sidechain_highpass_hz, Some(1000.0));
        let err =
            serde_json::from_str::<RawCompressor>(r#"{"threshold": -3, "ratio": 2, "atack": 1}"#)
                .unwrap_err();
        assert!(err.to_string().contains("unknown field `atack`"), "{err}");
    }

    #[test]
    fn a_multiband_reads_its_bands_and_lowers_each_compressor() {
        let s = multiband(
            r#"{ "crossovers": ["120 Hz", "2 kHz"], "bands": [
                { "compressor": { "threshold": "-20 dB", "ratio": 2 }, "gain": "1 dB" },
                { "solo": true }, { "bypass": true } ] }"#,
        )
        .unwrap()
        .settings();
        assert_eq!(s.crossovers, [120.0, 2000.0]);
        let band = &s.bands[0];
        let compressor = band.compressor.as_ref().unwrap();
        assert_eq!((compressor.threshold_db.initial(), compressor.ratio.initial()), (-20.0, 2.0));
        assert_eq!((band.gain_db, band.solo, band.bypass), (1.0, false, false));
        assert!(s.bands[1].compressor.is_none() && s.bands[1].solo && s.bands[2].bypass);
    }

    #[test]
    fn a_multiband_refuses_a_wrong_count_or_order_with_the_reason() {
        let one = r#"{ "crossovers": [], "bands": [{}] }"#;
        let six = r#"{ "crossovers": [1, 2, 3, 4, 5], "bands": [{}, {}, {}, {}, {}, {}] }"#;
        for (json, reason) in [
            (one, "has 2 to 5 bands, not 1"),
            (six, "has 2 to 5 bands, not 6"),
            (
                r#"{ "crossovers": [100], "bands": [{}, {}, {}] }"#,
                "3 bands meet at 2 crossovers, not 1",
            ),
            (r#"{ "crossovers": [2000, 300], "bands": [{}, {}, {}] }"#, "300 Hz follows 2000 Hz"),
            (r#"{ "crossovers": [200], "bands": [{}, { "gain": "30 dB" }] }"#, "not 30 dB"),
            (
                r#"{ "crossovers": [200], "bands": [{}, { "compressor": { "threshold": -20, "ratio": 2, "sidechain": "kick" } }] }"#,
                "`sidechain` is not available inside `multiband`",
            ),
            (r#"{ "crossovers": [200], "bands": [{}, { "gian": 2 }] }"#, "unknown field `gian`"),
            (r#"{ "crossovers": [200], "bands": [{}, { "ratio": 2 }] }"#, "missing field"),
        ] {
            let err = multiband(json).unwrap_err();
            assert!(err.contains(reason), "{json}: {err}");
        }
    }

    #[test]
    fn a_band_with_its_compressor_settings_written_inline_reads_as_the_nested_band() {
        let canonical = |json: &str| serde_json::to_string(&multiband(json).unwrap()).unwrap();
        let inline = canonical(
            r#"{ "crossovers": [150], "bands": [
                { "threshold": "-20 dB", "ratio": 2, "attack": "20 ms", "gain": "1 dB" }, {} ] }"#,
        );
        let nested = canonical(
            r#"{ "crossovers": [150], "bands": [
                { "compressor": { "threshold": "-20 dB", "ratio": 2, "attack": "20 ms" },
                  "gain": "1 dB" }, {} ] }"#,
        );
        assert_eq!(inline, nested, "both spellings key and render alike");
        let both = r#"{ "crossovers": [150], "bands": [
            { "compressor": { "threshold": -20, "ratio": 2 }, "knee": "6 dB" }, {} ] }"#;
        let err = multiband(both).unwrap_err();
        assert!(err.contains("settings beside it (`knee`)"), "{err}");
    }
}
