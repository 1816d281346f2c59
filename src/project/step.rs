//! A chain step as a mix file writes it (`- compressor: { threshold: -18 dB, ratio: 3 }`),
//! and the one list of every processor a chain may name.
//!
//! Adding a processor: write its file in `dsp/` (its settings, a [`Spec`], and the DSP that
//! runs it), give it a raw type here if serde cannot read its settings directly, and add
//! one line to [`for_each_step!`]. A processor built around a file's audio (an impulse
//! response) has a raw type that implements [`NamesFile`], its settings implement
//! [`SpecWithFile`], and its line ends in `reading file`: lowering then resolves the file
//! and the render decodes it, with no other code to touch.
//!
//! [`Spec`]: crate::dsp::Spec

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::dsp::SpecWithFile;
use crate::dsp::space::convolution::ConvolutionSettings;
use crate::units::{Share, TimeMs};

/// Calls `$then!` with every processor a chain may name, one line each:
/// `"name" => Variant(RawType)`, or `"name" => Variant(RawType) reading file` for one built
/// around a file's audio. The doc comment of each line is the step's description in the
/// JSON Schema. `parallel` is not listed: it holds steps, and each stage spells it out.
macro_rules! for_each_step {
    ($then:ident) => {
        $then! {
            /// A gain change in dB (automatable).
            "gain" => Gain(crate::dsp::chain::gain::GainSpec),
            /// Flips the polarity of both channels.
            "polarity" => Polarity(crate::dsp::chain::polarity::PolaritySpec),
            /// Removes what is below a corner frequency, 6 to 48 dB/oct (Butterworth).
            "highpass" => Highpass(crate::dsp::filters::filter::HighpassSpec),
            /// Removes what is above a corner frequency, 6 to 48 dB/oct (Butterworth).
            "lowpass" => Lowpass(crate::dsp::filters::filter::LowpassSpec),
            /// A parametric equaliser: peaks, shelves, highpass, lowpass, notch and bandpass bands.
            "eq" => Eq(crate::dsp::filters::eq::EqSpec),
            /// Narrows or widens the stereo image (mid/side).
            "width" => Width(crate::dsp::filters::width::WidthSpec),
            /// Turns down the band above a crossover frequency while it is too loud.
            "deesser" => Deesser(crate::dsp::dynamics::deesser::DeesserSpec),
            /// Downward compression above a threshold, optionally driven by another track or bus (a sidechain).
            "compressor" => Compressor(crate::dsp::dynamics::compressor::CompressorSpec),
            /// A noise gate: down by `range` below the threshold, with hold and hysteresis.
            "gate" => Gate(crate::dsp::dynamics::gate::GateSpec),
            /// A downward expander: the gate with a gentle ratio by default.
            "expander" => Expander(crate::dsp::dynamics::gate::ExpanderSpec),
            /// A brick-wall lookahead limiter: no output sample above the ceiling.
            "limiter" => Limiter(crate::dsp::dynamics::limiter::LimiterSpec),
            /// A feedback echo with tone filters in the loop, optionally ping-pong.
            "delay" => Delay(crate::dsp::space::delay::DelaySpec),
            /// An algorithmic room: predelay, diffusion and a 16-line feedback delay network.
            "reverb" => Reverb(crate::dsp::space::reverb::ReverbSpec),
            /// Oversampled soft saturation (tanh, soft or tape), level-compensated.
            "saturate" => Saturate(crate::dsp::filters::saturate::SaturateSpec),
            /// An impulse response file applied by partitioned FFT convolution.
            "convolution" => Convolution(crate::project::step::RawConvolution) reading file,
            /// Voices on swept short delays, spread across the stereo field.
            "chorus" => Chorus(crate::dsp::space::chorus::ChorusSpec),
        }
    };
}
pub(crate) use for_each_step;

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

/// The sidechain a step's settings listen to: none for a processor built around a file.
macro_rules! sidechain_of {
    ($settings:ident) => {
        crate::dsp::Spec::sidechain($settings)
    };
    ($settings:ident, $file:ident) => {{
        let _ = $settings;
        None
    }};
}
pub(crate) use sidechain_of;

macro_rules! raw_steps {
    ($($(#[$doc:meta])* $name:literal => $variant:ident($raw:ty) $(reading $file:ident)?,)*) => {
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
                    $(Self::$variant(raw) => sidechain_of!(raw $(, $file)?).into_iter().collect(),)*
                    Self::Parallel(branches) => {
                        branches.iter().flatten().flat_map(RawStep::sidechains).collect()
                    }
                }
            }
        }
    };
}

for_each_step!(raw_steps);

/// `- convolution: { ir: irs/plate.wav, mix: 30% }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ConvolutionSpec")]
pub struct RawConvolution {
    /// The impulse response: an audio file, relative to the project file. Mono files
    /// apply to both channels. Only its content enters the cache key, never its path.
    #[serde(skip_serializing)]
    pub ir: String,
    /// The share of the convolved signal in the output; the dry share is delayed to match.
    #[serde(default = "all_wet")]
    pub mix: Share,
    /// Silence added before the impulse response.
    #[serde(default = "no_predelay")]
    pub predelay: TimeMs,
}

fn all_wet() -> Share {
    Share(1.0)
}

fn no_predelay() -> TimeMs {
    TimeMs(0.0)
}

impl NamesFile for RawConvolution {
    type Settings = ConvolutionSettings;
    const FIELD: &'static str = "ir";

    fn file(&self) -> &str {
        &self.ir
    }

    fn settings(&self) -> ConvolutionSettings {
        ConvolutionSettings { mix: self.mix, predelay: self.predelay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_convolution_reads_its_file_and_settings_and_serializes_no_path() {
        let raw: RawConvolution =
            serde_json::from_str(r#"{ "ir": "irs/plate.wav", "mix": "30%", "predelay": "5 ms" }"#)
                .unwrap();
        assert_eq!(raw.file(), "irs/plate.wav");
        let settings = raw.settings();
        assert_eq!((settings.mix, settings.predelay), (Share(0.3), TimeMs(0.005)));
        assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{"mix":0.3,"predelay":0.005}"#);
    }

    #[test]
    fn a_convolution_refuses_a_field_it_does_not_know() {
        let err = serde_json::from_str::<RawConvolution>(r#"{ "ir": "a.wav", "wet": "30%" }"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `wet`"), "{err}");
    }

    #[test]
    fn a_step_names_one_processor() {
        let step: RawStep = serde_json::from_str(r#"{ "gain": "-3 dB" }"#).unwrap();
        assert_eq!(step.kind(), "gain");
        let err = serde_json::from_str::<RawStep>(r#"{ "gain": "-3 dB", "eq": [] }"#).unwrap_err();
        assert!(err.to_string().contains("start a new `- eq:` item"), "{err}");
        let err = serde_json::from_str::<RawStep>(r#"{ "gane": "-3 dB" }"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `gane`"), "{err}");
    }
}
