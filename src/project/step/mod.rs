//! A chain step as a mix file writes it (`- compressor: { threshold: -18 dB, ratio: 3 }`),
//! and the one list of every processor a chain may name.
//!
//! Adding a processor takes two files and one line:
//! - in `dsp/`, its plain settings (no serde), a [`Spec`] that builds it, and its DSP;
//! - here, in its family's file, its raw type: what the mix writes, read by serde, with
//!   units, defaults, range checks and the doc comments the JSON Schema shows. It
//!   serializes to the canonical parameters a cache key hashes, and [`Lower`] turns it
//!   into the settings;
//! - its line in [`for_each_step!`], ending in `lowered`.
//!
//! A processor built around a file's audio (an impulse response) differs in two ways: its
//! raw type implements [`NamesFile`] instead of [`Lower`], its settings implement
//! [`SpecWithFile`], and its line ends in `reading_file`. Lowering then resolves the file
//! and the render decodes it and hands the audio to the processor, with no other code to
//! touch.
//!
//! [`Spec`]: crate::dsp::Spec

pub mod chain;
pub mod dynamics;
pub mod filters;
pub mod space;

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::dsp::{Spec, SpecWithFile};

/// Calls `$then!` with every processor a chain may name, one line each:
/// `"name" => Variant(RawType) how`, where `how` is `lowered` or `reading_file` (see the
/// module doc). The doc comment of each line is the step's description in the
/// JSON Schema. `parallel` is not listed: it holds steps, and each stage spells it out.
macro_rules! for_each_step {
    ($then:ident) => {
        $then! {
            /// A gain change in dB (automatable).
            "gain" => Gain(crate::project::step::chain::RawGain) lowered,
            /// Flips the polarity of both channels.
            "polarity" => Polarity(crate::project::step::chain::RawPolarity) lowered,
            /// Removes what is below a corner frequency, 6 to 48 dB/oct (Butterworth).
            "highpass" => Highpass(crate::project::step::filters::RawHighpass) lowered,
            /// Removes what is above a corner frequency, 6 to 48 dB/oct (Butterworth).
            "lowpass" => Lowpass(crate::project::step::filters::RawLowpass) lowered,
            /// A parametric equaliser: peaks, shelves, highpass, lowpass, notch and bandpass bands.
            "eq" => Eq(crate::project::step::filters::RawEq) lowered,
            /// Narrows or widens the stereo image (mid/side).
            "width" => Width(crate::project::step::filters::RawWidth) lowered,
            /// Turns down the band above a crossover frequency while it is too loud.
            "deesser" => Deesser(crate::project::step::dynamics::RawDeesser) lowered,
            /// Downward compression above a threshold, optionally driven by another track or bus (a sidechain).
            "compressor" => Compressor(crate::project::step::dynamics::RawCompressor) lowered,
            /// A noise gate: down by `range` below the threshold, with hold and hysteresis.
            "gate" => Gate(crate::project::step::dynamics::RawGate) lowered,
            /// A downward expander: the gate with a gentle ratio by default.
            "expander" => Expander(crate::project::step::dynamics::RawExpander) lowered,
            /// A brick-wall lookahead limiter: no output sample above the ceiling.
            "limiter" => Limiter(crate::project::step::dynamics::RawLimiter) lowered,
            /// A compressor per band: 2 to 5 bands split by Linkwitz–Riley crossovers that sum flat.
            "multiband" => Multiband(crate::project::step::dynamics::RawMultiband) lowered,
            /// An oversampled soft clipper that holds peaks under a ceiling.
            "clipper" => Clipper(crate::project::step::dynamics::RawClipper) lowered,
            /// Mastering stereo tools: width, balance, and the bass folded to mono below a corner.
            "stereo" => Stereo(crate::project::step::filters::RawStereo) lowered,
            /// A feedback echo with tone filters in the loop, optionally ping-pong.
            "delay" => Delay(crate::project::step::space::RawDelay) lowered,
            /// An algorithmic room: predelay, diffusion and a 16-line feedback delay network.
            "reverb" => Reverb(crate::project::step::space::RawReverb) lowered,
            /// Oversampled soft saturation (tanh, soft or tape), level-compensated.
            "saturate" => Saturate(crate::project::step::filters::RawSaturate) lowered,
            /// An impulse response file applied by partitioned FFT convolution.
            "convolution" => Convolution(crate::project::step::space::RawConvolution) reading_file,
            /// Voices on swept short delays, spread across the stereo field.
            "chorus" => Chorus(crate::project::step::space::RawChorus) lowered,
        }
    };
}
pub(crate) use for_each_step;

/// The raw settings of a processor: what the mix writes, lowered into the plain settings
/// the processor is built from.
pub trait Lower {
    /// The processor's settings.
    type Settings: Spec + fmt::Debug + Clone;

    /// The settings this raw value stands for, in SI units.
    fn settings(&self) -> Self::Settings;

    /// The track or bus the processor listens to, if it takes a sidechain.
    fn sidechain(&self) -> Option<&str> {
        None
    }
}

/// The raw settings of a processor built around one file's audio: the file as the mix
/// writes it, and the settings of the processor without it.
pub trait NamesFile {
    /// The processor's settings.
    type Settings: SpecWithFile;

    /// The field that names the file (`ir`), for messages.
    const FIELD: &'static str;

    /// The file, as written: relative to the project file.
    fn file(&self) -> &str;

    /// The processor's settings, apart from the file.
    fn settings(&self) -> Self::Settings;
}

/// The sidechain a raw step listens to: none for a processor built around a file.
macro_rules! raw_sidechain {
    (lowered, $raw:ident) => {
        Lower::sidechain($raw)
    };
    (reading_file, $raw:ident) => {{
        let _ = $raw;
        None
    }};
}

macro_rules! raw_steps {
    ($($(#[$doc:meta])* $name:literal => $variant:ident($raw:ty) $how:ident,)*) => {
        /// One element of a processing chain: a single-key map naming the processor.
        #[derive(Debug, Clone, JsonSchema)]
        #[schemars(rename = "Step")]
        pub enum RawStep {
            $($(#[$doc])* #[serde(rename = $name)] $variant($raw),)*
            /// Branches fed the same input and summed; `[]` is a dry branch. Latency
            /// differences between branches are compensated.
            #[serde(rename = "parallel")]
            Parallel(Vec<Vec<RawStep>>),
        }

        /// Every name a chain may use, for messages.
        pub const KINDS: &[&str] = &[$($name,)* "parallel"];

        /// A step is a map with one key, the processor's name (`- eq: [...]`).
        impl<'de> Deserialize<'de> for RawStep {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct StepVisitor;
                impl<'de> Visitor<'de> for StepVisitor {
                    type Value = RawStep;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a processor as a one-key map, such as `- gain: -3 dB`")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawStep, A::Error> {
                        let kind: String = map
                            .next_key()?
                            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                        let step = match kind.as_str() {
                            $($name => RawStep::$variant(map.next_value()?),)*
                            "parallel" => RawStep::Parallel(map.next_value()?),
                            other => return Err(de::Error::unknown_variant(other, KINDS)),
                        };
                        if let Some(extra) = map.next_key::<String>()? {
                            return Err(de::Error::custom(format!(
                                "a chain step names one processor, but `{extra}` follows `{kind}`; \
                                 start a new `- {extra}:` item"
                            )));
                        }
                        Ok(step)
                    }
                }
                deserializer.deserialize_map(StepVisitor)
            }
        }

        impl RawStep {
            /// The processor's name as a chain writes it.
            #[must_use]
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)*
                    Self::Parallel(_) => "parallel",
                }
            }

            /// The tracks or buses this step and the steps nested in it listen to, in order.
            #[must_use]
            pub fn sidechains(&self) -> Vec<&str> {
                match self {
                    $(Self::$variant(raw) => raw_sidechain!($how, raw).into_iter().collect(),)*
                    Self::Parallel(branches) => {
                        branches.iter().flatten().flat_map(RawStep::sidechains).collect()
                    }
                }
            }
        }
    };
}

for_each_step!(raw_steps);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_names_one_processor() {
        let step: RawStep = serde_json::from_str(r#"{ "gain": "-3 dB" }"#).unwrap();
        assert_eq!(step.kind(), "gain");
        let err = serde_json::from_str::<RawStep>(r#"{ "gain": "-3 dB", "eq": [] }"#).unwrap_err();
        assert!(err.to_string().contains("start a new `- eq:` item"), "{err}");
        let err = serde_json::from_str::<RawStep>(r#"{ "gane": "-3 dB" }"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `gane`"), "{err}");
    }

    #[test]
    fn a_processor_written_as_a_number_is_expected_to_be_a_mapping_of_its_settings() {
        let not_mappings = ["gain", "polarity", "eq", "multiband", "parallel"];
        for kind in KINDS.iter().filter(|k| !not_mappings.contains(k)) {
            let err =
                serde_json::from_str::<RawStep>(&format!(r#"{{ "{kind}": 5 }}"#)).unwrap_err();
            assert!(
                err.to_string()
                    .contains("invalid type: integer `5`, expected a mapping of its settings"),
                "{kind}: {err}"
            );
        }
    }
}
