//! The raw steps of the dynamics family (`compressor`, `gate`, `expander`, `limiter`,
//! `deesser`, `clipper`, `multiband`), as a mix writes them: their units, defaults and range
//! checks.
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
use crate::dsp::dynamics::clipper::{CEILING_RANGE_DB, ClipperSettings, DRIVE_RANGE_DB};
use crate::dsp::dynamics::compressor::CompressorSettings;
use crate::dsp::dynamics::deesser::DeesserSettings;
use crate::dsp::dynamics::envelope::Detector;
use crate::dsp::dynamics::gate::{GateSettings, MAX_HOLD_SECONDS};
use crate::dsp::dynamics::limiter::{self, LimiterSettings, MAX_LOOKAHEAD_SECONDS};
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

/// Declares a raw gate step; `$ratio`, `$range` and `$hysteresis` name the functions that
/// give its defaults, the only way `gate` and `expander` differ.
macro_rules! raw_gate {
    ($(#[$doc:meta])* $name:ident as $schema:literal, $ratio:literal, $range:literal, $hysteresis:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
        #[schemars(rename = $schema)]
        pub struct $name {
            /// Level below which the gain comes down, e.g. `-38 dB`.
            pub threshold: Param<Decibels>,
            /// Attenuation when fully closed (default `-80 dB` for `gate`, `-40 dB` for
            /// `expander`).
            #[serde(default = $range)]
            pub range: Param<Decibels>,
            /// dB of output drop per dB of level below the threshold (default `inf`, a hard
            /// gate, for `gate`; `2` for `expander`). Automation interpolates 1/ratio.
            #[serde(default = $ratio)]
            pub ratio: Param<Ratio>,
            /// Width of the soft knee centred on the threshold; `0 dB` is a hard knee.
            #[serde(default = "hard_knee")]
            pub knee: Decibels,
            /// How far below the threshold the level must fall before an open gate starts
            /// to close (default `3 dB` for `gate`, `0 dB` for `expander`); stops chatter on
            /// levels that hover at the threshold.
            #[serde(default = $hysteresis)]
            pub hysteresis: Decibels,
            /// Time constant of the opening: 63% of the way open after this long.
            #[serde(default = "gate_attack")]
            pub attack: Param<TimeMs>,
            /// How long the gate stays open after the level was last above the threshold
            /// (at most 1 s).
            #[serde(default = "gate_hold", deserialize_with = "hold_in_range")]
            pub hold: TimeMs,
            /// Time constant of the closing, once the hold has run out: 63% of the way
            /// closed after this long.
            #[serde(default = "gate_release")]
            pub release: Param<TimeMs>,
            /// A track or bus whose signal opens the gate instead of this input.
            #[serde(default)]
            pub sidechain: Option<String>,
        }

        impl Lower for $name {
            type Settings = GateSettings;

            fn settings(&self) -> GateSettings {
                GateSettings {
                    threshold_db: timeline(&self.threshold),
                    range_db: timeline(&self.range),
                    ratio: timeline(&self.ratio),
                    knee_db: self.knee.0,
                    hysteresis_db: self.hysteresis.0,
                    attack_seconds: timeline(&self.attack),
                    hold_seconds: self.hold.seconds(),
                    release_seconds: timeline(&self.release),
                    sidechain: self.sidechain.clone(),
                }
            }

            fn sidechain(&self) -> Option<&str> {
                self.sidechain.as_deref()
            }
        }
    };
}

raw_gate!(
    /// `- gate: { threshold: -38 dB, range: -20 dB, attack: 0.5 ms, hold: 40 ms, release: 80 ms }`
    RawGate as "GateSpec",
    "gate_ratio",
    "gate_range",
    "gate_hysteresis"
);

raw_gate!(
    /// `- expander: { threshold: -45 dB, ratio: 2, range: -30 dB }`
    RawExpander as "ExpanderSpec",
    "expander_ratio",
    "expander_range",
    "expander_hysteresis"
);

fn gate_ratio() -> Param<Ratio> {
    Param::Constant(Ratio(f64::INFINITY))
}

fn gate_range() -> Param<Decibels> {
    Param::Constant(Decibels(-80.0))
}

fn gate_hysteresis() -> Decibels {
    Decibels(3.0)
}

fn expander_ratio() -> Param<Ratio> {
    Param::Constant(Ratio(2.0))
}

fn expander_range() -> Param<Decibels> {
    Param::Constant(Decibels(-40.0))
}

fn expander_hysteresis() -> Decibels {
    Decibels(0.0)
}

fn gate_attack() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.0005))
}

/// Reads `hold`, refusing more than [`MAX_HOLD_SECONDS`].
fn hold_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeMs, D::Error> {
    within(deserializer, (0.0, MAX_HOLD_SECONDS), |s| {
        format!("a gate holds for 0 to {MAX_HOLD_SECONDS} s, not {} s", tidy(s))
    })
}

fn gate_hold() -> TimeMs {
    TimeMs(0.020)
}

fn gate_release() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.080))
}

/// `- deesser: { frequency: 6 kHz, threshold: -30 dB, ratio: 4 }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "DeesserSpec")]
pub struct RawDeesser {
    /// Where the treated band begins: the crossover frequency (default 6 kHz).
    #[serde(default = "deesser_frequency")]
    pub frequency: Hertz,
    /// The peak level of the band above `frequency` beyond which it is turned down
    /// (automatable).
    pub threshold: Param<Decibels>,
    /// How strongly the band's excess over the threshold is reduced: at 4, 8 dB over
    /// comes out 2 dB over (default 4).
    #[serde(default = "deesser_ratio")]
    pub ratio: Ratio,
    /// How fast the reduction follows a rise in level (default 1 ms).
    #[serde(default = "deesser_attack")]
    pub attack: TimeMs,
    /// How fast the reduction lets go once the level falls (default 60 ms).
    #[serde(default = "deesser_release")]
    pub release: TimeMs,
}

fn deesser_frequency() -> Hertz {
    Hertz(6_000.0)
}

fn deesser_ratio() -> Ratio {
    Ratio(4.0)
}

fn deesser_attack() -> TimeMs {
    TimeMs(0.001)
}

fn deesser_release() -> TimeMs {
    TimeMs(0.060)
}

impl Lower for RawDeesser {
    type Settings = DeesserSettings;

    fn settings(&self) -> DeesserSettings {
        DeesserSettings {
            frequency_hz: self.frequency.0,
            threshold_db: timeline(&self.threshold),
            ratio: self.ratio.0,
            attack_seconds: self.attack.seconds(),
            release_seconds: self.release.seconds(),
        }
    }
}

/// `- clipper: { drive: 3 dB, ceiling: -0.5 dB, softness: 30% }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "ClipperSpec")]
pub struct RawClipper {
    /// Gain into the clipper, 0 to 24 dB; not compensated afterwards.
    #[serde(default = "no_drive", deserialize_with = "drive_in_range")]
    pub drive: Decibels,
    /// The level the output approaches and never passes, -24 to 0 dBFS.
    #[serde(default = "full_scale", deserialize_with = "clipper_ceiling_in_range")]
    pub ceiling: Decibels,
    /// How far below the ceiling the curve starts to bend: 0% is a hard clip, 100% bends
    /// from silence up.
    #[serde(default = "default_softness")]
    pub softness: Share,
}

fn no_drive() -> Decibels {
    Decibels(0.0)
}

fn full_scale() -> Decibels {
    Decibels(0.0)
}

fn default_softness() -> Share {
    Share(0.3)
}

fn drive_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decibels, D::Error> {
    let (least, most) = DRIVE_RANGE_DB;
    within(deserializer, DRIVE_RANGE_DB, |db| {
        format!("a clipper's drive runs from {least} dB to {most} dB, not {} dB", tidy(db))
    })
}

fn clipper_ceiling_in_range<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Decibels, D::Error> {
    let (least, most) = CEILING_RANGE_DB;
    within(deserializer, CEILING_RANGE_DB, |db| {
        format!("a clipper's ceiling runs from {least} dB to {most} dB, not {} dB", tidy(db))
    })
}

impl Lower for RawClipper {
    type Settings = ClipperSettings;

    fn settings(&self) -> ClipperSettings {
        ClipperSettings {
            drive_db: self.drive.0,
            ceiling_db: self.ceiling.0,
            softness: self.softness.0,
        }
    }
}

/// `- limiter: { ceiling: -1 dB }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "LimiterSpec")]
pub struct RawLimiter {
    /// The highest level the output reaches, e.g. `-1 dB`: guaranteed for every sample.
    /// Between samples (true peak) it can be passed: on white noise driven 12 dB over, by
    /// up to 0.6 dB at 5 ms of lookahead, 1.4 dB at 1 ms and 2.5 dB at 0.5 ms; set
    /// `true_peak: true` to hold the true peak too.
    #[serde(default = "limiter_ceiling", deserialize_with = "limiter_ceiling_in_range")]
    pub ceiling: Decibels,
    /// How early the gain starts coming down before a peak; the output is delayed by as
    /// much, which the engine compensates (at most 100 ms).
    #[serde(default = "limiter_lookahead", deserialize_with = "lookahead_in_range")]
    pub lookahead: TimeMs,
    /// Time constant of the gain's recovery after a peak: 63% of the way back after this
    /// long.
    #[serde(default = "limiter_release")]
    pub release: TimeMs,
    /// Holds the true peak (the level between samples, as a BS.1770 meter reads it at 4×
    /// oversampling) at the ceiling too, for a `-1 dBTP` delivery; costs 24 frames of
    /// latency beyond the lookahead, which the engine compensates. Off, only samples are
    /// held to the ceiling.
    #[serde(default, skip_serializing_if = "is_false")]
    pub true_peak: bool,
}

/// Whether a flag is off: an unset `true_peak` stays out of the key, so sample-peak
/// limiters keep the keys they had before the mode existed.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference.
fn is_false(flag: &bool) -> bool {
    !flag
}

fn limiter_ceiling() -> Decibels {
    Decibels(-1.0)
}

/// Reads `ceiling`, refusing one above full scale, which no output format holds, or below
/// -60 dB.
fn limiter_ceiling_in_range<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Decibels, D::Error> {
    within(deserializer, limiter::CEILING_RANGE_DB, |db| {
        format!("a limiter's ceiling runs from -60 dB to 0 dB, not {}", Decibels(db))
    })
}

/// Reads `lookahead`, refusing more than [`MAX_LOOKAHEAD_SECONDS`].
fn lookahead_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeMs, D::Error> {
    within(deserializer, (0.0, MAX_LOOKAHEAD_SECONDS), |s| {
        let most = tidy(MAX_LOOKAHEAD_SECONDS * 1e3);
        format!("a limiter looks ahead from 0 to {most} ms, not {} ms", tidy(s * 1e3))
    })
}

fn limiter_lookahead() -> TimeMs {
    TimeMs(0.005)
}

fn limiter_release() -> TimeMs {
    TimeMs(0.100)
}

impl Lower for RawLimiter {
    type Settings = LimiterSettings;

    fn settings(&self) -> LimiterSettings {
        LimiterSettings {
            ceiling_db: self.ceiling.0,
            lookahead_seconds: self.lookahead.seconds(),
            release_seconds: self.release.seconds(),
            true_peak: self.true_peak,
        }
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
    fn the_two_gates_read_the_same_fields_with_their_own_defaults() {
        let contract: RawGate = serde_json::from_str(
            r#"{"threshold": "-38 dB", "range": "-20 dB", "attack": "0.5 ms", "hold": "40 ms", "release": "80 ms", "sidechain": "trigger"}"#,
        )
        .unwrap();
        assert_eq!(Lower::sidechain(&contract), Some("trigger"));
        let contract = contract.settings();
        assert_eq!((contract.range_db.initial(), contract.hold_seconds), (-20.0, 0.040));
        let g: RawGate = serde_json::from_str(r#"{"threshold": "-38 dB"}"#).unwrap();
        let e: RawExpander = serde_json::from_str(r#"{"threshold": "-38 dB"}"#).unwrap();
        let (g, e) = (g.settings(), e.settings());
        assert_eq!(
            (g.ratio.initial(), g.range_db.initial(), g.hysteresis_db),
            (f64::INFINITY, -80.0, 3.0)
        );
        assert_eq!((e.ratio.initial(), e.range_db.initial(), e.hysteresis_db), (2.0, -40.0, 0.0));
        let timing = |s: &GateSettings| {
            (s.attack_seconds.initial(), s.hold_seconds, s.release_seconds.initial(), s.knee_db)
        };
        assert_eq!(timing(&g), (0.0005, 0.020, 0.080, 0.0));
        assert_eq!(timing(&e), timing(&g));
        assert_eq!((g.threshold_db, g.sidechain), (Timeline::constant(-38.0), None));
        let err = serde_json::from_str::<RawGate>(r#"{"threshold": -38, "hould": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `hould`"), "{err}");
        let err = serde_json::from_str::<RawExpander>(r#"{"threshold": -38, "hold": "2 s"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("a gate holds for 0 to 1 s, not 2 s"), "{err}");
    }

    #[test]
    fn a_limiter_reads_its_defaults_and_lowers_to_seconds() {
        let s: RawLimiter = serde_json::from_str("{}").unwrap();
        let plain = LimiterSettings {
            ceiling_db: -1.0,
            lookahead_seconds: 0.005,
            release_seconds: 0.100,
            true_peak: false,
        };
        assert_eq!(s.settings(), plain);
        let s: RawLimiter = serde_json::from_str(
            r#"{ "ceiling": "-0.3 dB", "lookahead": "1 ms", "release": "50 ms", "true_peak": true }"#,
        )
        .unwrap();
        let set = LimiterSettings {
            ceiling_db: -0.3,
            lookahead_seconds: 0.001,
            release_seconds: 0.050,
            true_peak: true,
        };
        assert_eq!(s.settings(), set);
        for (json, reason) in [
            (r#"{ "ceiling": "1 dB" }"#, "a limiter's ceiling runs from -60 dB to 0 dB, not 1 dB"),
            (r#"{ "lookahead": "200 ms" }"#, "a limiter looks ahead from 0 to 100 ms, not 200 ms"),
            (r#"{ "ceilng": "-1 dB" }"#, "unknown field `ceilng`"),
        ] {
            let err = serde_json::from_str::<RawLimiter>(json).unwrap_err().to_string();
            assert!(err.contains(reason), "{json}: {err}");
        }
    }

    #[test]
    fn a_sample_peak_limiter_is_keyed_as_before_true_peak_mode_existed() {
        // The key hashes the serialised step: an unset mode must leave it as it was, and a
        // set one must change it.
        let canonical = |json: &str| {
            serde_json::to_string(&serde_json::from_str::<RawLimiter>(json).unwrap()).unwrap()
        };
        let plain = canonical(r#"{"ceiling": "-1 dB"}"#);
        assert!(!plain.contains("true_peak"), "{plain}");
        let set = canonical(r#"{"ceiling": "-1 dB", "true_peak": true}"#);
        assert!(set.contains(r#""true_peak":true"#), "{set}");
    }

    #[test]
    fn a_deesser_reads_its_defaults_6_khz_4_to_1_1_ms_and_60_ms() {
        let s: RawDeesser = serde_json::from_str(r#"{ "threshold": -30 }"#).unwrap();
        let s = s.settings();
        assert_eq!(
            (s.frequency_hz, s.threshold_db, s.ratio),
            (6_000.0, Timeline::constant(-30.0), 4.0)
        );
        assert_eq!((s.attack_seconds, s.release_seconds), (0.001, 0.060));
        let err = serde_json::from_str::<RawDeesser>(r#"{ "threshold": -30, "knee": 3 }"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `knee`"), "{err}");
    }

    #[test]
    fn a_clipper_reads_with_its_defaults_and_refuses_values_out_of_range() {
        let s: RawClipper = serde_json::from_str(r#"{ "ceiling": "-0.3 dB" }"#).unwrap();
        assert_eq!(
            s.settings(),
            ClipperSettings { drive_db: 0.0, ceiling_db: -0.3, softness: 0.3 }
        );
        for (json, reason) in [
            (r#"{ "ceiling": "1 dB" }"#, "ceiling runs from -24 dB to 0 dB, not 1 dB"),
            (r#"{ "drive": "30 dB" }"#, "drive runs from 0 dB to 24 dB, not 30 dB"),
            (r#"{ "softness": "120%" }"#, "not 120%"),
            (r#"{ "knee": "3 dB" }"#, "unknown field `knee`"),
        ] {
            let err = serde_json::from_str::<RawClipper>(json).unwrap_err().to_string();
            assert!(err.contains(reason), "{json}: {err}");
        }
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
