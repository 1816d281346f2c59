//! The list of processors a `chain:` may name, and what the engine asks of each step.
//!
//! Adding a processor: write its file (spec + DSP), then add one line to `steps!` below.

use schemars::JsonSchema;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::chain::Parallel;
use super::{BuildEnv, Processor, Spec};

macro_rules! steps {
    ($($(#[$doc:meta])* $name:literal => $variant:ident($spec:ty),)*) => {
        /// One element of a processing chain: a single-key map naming the processor.
        #[derive(Debug, Clone, Deserialize, JsonSchema)]
        pub enum Step {
            $($(#[$doc])* #[serde(rename = $name)] $variant($spec),)*
            /// Branches fed the same input and summed; `[]` is a dry branch. Latency
            /// differences between branches are compensated.
            #[serde(rename = "parallel")]
            Parallel(Vec<Vec<Step>>),
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
                    $(Self::$variant(_) => <$spec as Spec>::VERSION,)*
                    Self::Parallel(_) => Parallel::VERSION,
                }
            }

            /// Builds the running processor.
            #[must_use]
            pub fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
                match self {
                    $(Self::$variant(spec) => spec.build(env),)*
                    Self::Parallel(branches) => Box::new(Parallel::build(branches, env)),
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
    /// A feedback echo with tone filters in the loop, optionally ping-pong.
    "delay" => Delay(super::delay::DelaySpec),
    /// An algorithmic room: predelay, diffusion and a 16-line feedback delay network.
    "reverb" => Reverb(super::reverb::ReverbSpec),
    /// Oversampled soft saturation (tanh, soft or tape), level-compensated.
    "saturate" => Saturate(super::saturate::SaturateSpec),
    /// An impulse response file applied by partitioned FFT convolution.
    "convolution" => Convolution(super::convolution::ConvolutionSpec),
    /// Voices on swept short delays, spread across the stereo field.
    "chorus" => Chorus(super::chorus::ChorusSpec),
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
