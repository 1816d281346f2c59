//! The list of processors a `chain:` may name, and what the engine asks of each step.
//!
//! Adding a processor: write its file (spec + DSP), then add one line to `steps!` below;
//! a processor that reads files implements [`ReadsFiles`] and is listed `reading files`.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::series::Parallel;
use crate::dsp::{BuildEnv, DecodedFiles, Processor, ReadsFiles, Spec, UnloadedFile};

/// A processor's algorithm version: a spec that reads files has it once they are loaded.
macro_rules! version {
    ($spec:ty) => {
        <$spec as Spec>::VERSION
    };
    ($spec:ty, files) => {
        <<$spec as ReadsFiles>::Loaded as Spec>::VERSION
    };
}

/// Builds a processor, handing a spec that reads files the audio of its files.
macro_rules! build {
    ($spec:ident, $env:ident, $files:ident) => {
        Ok($spec.build($env))
    };
    ($spec:ident, $env:ident, $files:ident, files) => {
        $spec.load($files).map(|loaded| loaded.build($env))
    };
}

/// The files a spec reads: none, unless it is listed `reading files`.
macro_rules! files {
    ($spec:ident) => {{
        let _ = $spec;
        Vec::<&std::path::Path>::new()
    }};
    ($spec:ident, files) => {
        $spec.files()
    };
}

macro_rules! steps {
    ($($(#[$doc:meta])* $name:literal => $variant:ident($spec:ty) $(reading $files:ident)?,)*) => {
        /// One element of a processing chain: a single-key map naming the processor.
        #[derive(Debug, Clone, JsonSchema)]
        pub enum Step {
            $($(#[$doc])* #[serde(rename = $name)] $variant($spec),)*
            /// Branches fed the same input and summed; `[]` is a dry branch. Latency
            /// differences between branches are compensated.
            #[serde(rename = "parallel")]
            Parallel(Vec<Vec<Step>>),
        }

        /// Every name a chain may use, for messages.
        pub const KINDS: &[&str] = &[$($name,)* "parallel"];

        /// A step is a map with one key, the processor's name (`- eq: [...]`).
        impl<'de> Deserialize<'de> for Step {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct StepVisitor;
                impl<'de> Visitor<'de> for StepVisitor {
                    type Value = Step;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a processor as a one-key map, such as `- gain: -3 dB`")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                        let kind: String = map
                            .next_key()?
                            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                        let step = match kind.as_str() {
                            $($name => Step::$variant(map.next_value()?),)*
                            "parallel" => Step::Parallel(map.next_value()?),
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

        impl Step {
            /// The processor's name as a chain writes it.
            #[must_use]
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)*
                    Self::Parallel(_) => "parallel",
                }
            }

            /// The processor's algorithm version (see [`Spec::VERSION`]).
            #[must_use]
            pub fn version(&self) -> u32 {
                match self {
                    $(Self::$variant(_) => version!($spec $(, $files)?),)*
                    Self::Parallel(_) => Parallel::VERSION,
                }
            }

            /// Builds the running processor, with the decoded audio of the files it reads.
            ///
            /// # Errors
            /// When `files` lacks a file this step reads.
            pub fn build(
                &self,
                env: &BuildEnv,
                files: &dyn DecodedFiles,
            ) -> Result<Box<dyn Processor>, UnloadedFile> {
                match self {
                    $(Self::$variant(spec) => build!(spec, env, files $(, $files)?),)*
                    Self::Parallel(branches) => {
                        Ok(Box::new(Parallel::build(branches, env, files)?))
                    }
                }
            }

            /// Appends the files this step reads (impulse responses), nested steps included.
            pub fn collect_files(&self, into: &mut Vec<std::path::PathBuf>) {
                match self {
                    $(Self::$variant(spec) => {
                        into.extend(files!(spec $(, $files)?).into_iter().map(Into::into));
                    })*
                    Self::Parallel(branches) => {
                        branches.iter().flatten().for_each(|step| step.collect_files(into));
                    }
                }
            }

            /// Calls `visit` on this step and on every step nested in it.
            pub fn visit_mut(&mut self, visit: &mut impl FnMut(&mut Step)) {
                visit(self);
                if let Self::Parallel(branches) = self {
                    branches.iter_mut().flatten().for_each(|step| step.visit_mut(visit));
                }
            }

            /// Appends the sidechain sources of this step (and of any nested steps).
            pub fn collect_sidechains<'a>(&'a self, into: &mut Vec<&'a str>) {
                match self {
                    $(Self::$variant(spec) => into.extend(spec.sidechain()),)*
                    Self::Parallel(branches) => branches
                        .iter()
                        .flatten()
                        .for_each(|step| step.collect_sidechains(into)),
                }
            }

            fn serialize_params<S: Serializer>(
                &self,
                state: &mut S::SerializeStruct,
            ) -> Result<(), S::Error> {
                match self {
                    $(Self::$variant(spec) => state.serialize_field("params", spec),)*
                    Self::Parallel(branches) => state.serialize_field("params", branches),
                }
            }
        }
    };
}

steps! {
    /// A gain change in dB (automatable).
    "gain" => Gain(super::gain::GainSpec),
    /// Flips the polarity of both channels.
    "polarity" => Polarity(super::polarity::PolaritySpec),
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
    /// A compressor per band: 2 to 5 bands split by Linkwitz–Riley crossovers that sum flat.
    "multiband" => Multiband(crate::dsp::dynamics::multiband::MultibandSpec),
    /// An oversampled soft clipper that holds peaks under a ceiling.
    "clipper" => Clipper(crate::dsp::dynamics::clipper::ClipperSpec),
    /// Mastering stereo tools: width, balance, and the bass folded to mono below a corner.
    "stereo" => Stereo(crate::dsp::filters::stereo::StereoSpec),
    /// A feedback echo with tone filters in the loop, optionally ping-pong.
    "delay" => Delay(crate::dsp::space::delay::DelaySpec),
    /// An algorithmic room: predelay, diffusion and a 16-line feedback delay network.
    "reverb" => Reverb(crate::dsp::space::reverb::ReverbSpec),
    /// Oversampled soft saturation (tanh, soft or tape), level-compensated.
    "saturate" => Saturate(crate::dsp::filters::saturate::SaturateSpec),
    /// An impulse response file applied by partitioned FFT convolution.
    "convolution" => Convolution(crate::dsp::space::convolution::ConvolutionSpec) reading files,
    /// Voices on swept short delays, spread across the stereo field.
    "chorus" => Chorus(crate::dsp::space::chorus::ChorusSpec),
}

/// The canonical form that cache keys hash: the processor's kind and algorithm version
/// next to its canonical parameters, so a new algorithm never reuses old audio.
impl Serialize for Step {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("Step", 3)?;
        state.serialize_field("kind", self.kind())?;
        state.serialize_field("version", &self.version())?;
        self.serialize_params::<S>(&mut state)?;
        state.end()
    }
}
