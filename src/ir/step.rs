//! A chain step as a lowered mix holds it: the processor's settings, with the file it reads
//! (an impulse response) resolved to its path and the digest of its bytes.
//!
//! This is what a cache key hashes (each step's kind, algorithm version and canonical
//! parameters, a file by its digest) and what the renderer builds processors from, handing
//! in the decoded audio of the files the steps read. Nothing here is filled in later: a
//! step is whole once lowered. The processors a chain may name are listed once, in
//! [`crate::project::step`]; this module spells out that list's lowered form.

use std::path::PathBuf;
use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::resolved_file::ResolvedFile;
use crate::dsp::chain::series::{Chain, Parallel};
use crate::dsp::{Audio, BuildEnv, Processor, Spec, SpecWithFile};
use crate::project::RawStep;
use crate::project::step::{Lower, NamesFile, for_each_step};

/// The parameters of a step built around a file's audio, with that file resolved. Its key
/// form is the parameters as written, units resolved, with the file's digest as `file`.
#[derive(Debug, Clone, Serialize)]
pub struct WithFile<R> {
    /// The parameters as the mix writes them (they serialize without the file's path).
    #[serde(flatten)]
    pub params: R,
    /// The file the step reads.
    pub file: ResolvedFile,
}

/// A step's raw parameters with the settings they lower to. Its key form is the raw
/// parameters, units resolved; the processor is built from the settings.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Lowered<R: Lower> {
    /// The parameters as the mix writes them.
    pub params: R,
    /// The settings the processor is built from.
    #[serde(skip)]
    pub settings: R::Settings,
}

/// The decoded audio of the files a chain reads.
pub trait DecodedFiles {
    /// The audio of `file`, planar stereo at the render rate; `None` when not decoded.
    fn audio(&self, file: &ResolvedFile) -> Option<Arc<Audio>>;
}

/// No decoded files, for a chain that reads none.
#[derive(Debug, Clone, Copy)]
pub struct NoFiles;

impl DecodedFiles for NoFiles {
    fn audio(&self, _: &ResolvedFile) -> Option<Arc<Audio>> {
        None
    }
}

/// A chain was built without the audio of a file one of its steps reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{}` was not decoded before its chain was built", .0.display())]
pub struct UnloadedFile(pub PathBuf);

/// A step's lowered payload: its raw parameters with its settings, or with its file
/// resolved.
macro_rules! payload {
    (lowered, $raw:ty) => { Lowered<$raw> };
    (reading_file, $raw:ty) => { WithFile<$raw> };
}

/// Lowers one payload; a file is resolved by `resolve(yaml_path, written)`.
macro_rules! lower_payload {
    (lowered, $raw:ident: $ty:ty, $at:ident, $name:literal, $resolve:ident) => {
        Lowered { params: $raw.clone(), settings: $raw.settings() }
    };
    (reading_file, $raw:ident: $ty:ty, $at:ident, $name:literal, $resolve:ident) => {
        WithFile {
            params: $raw.clone(),
            file: $resolve(
                &format!("{}.{}.{}", $at, $name, <$ty as NamesFile>::FIELD),
                $raw.file(),
            ),
        }
    };
}

/// The algorithm version of a payload's processor.
macro_rules! version_of {
    (lowered, $raw:ty) => {
        <<$raw as Lower>::Settings as Spec>::VERSION
    };
    (reading_file, $raw:ty) => {
        <<$raw as NamesFile>::Settings as SpecWithFile>::VERSION
    };
}

/// Builds a payload's processor, with the audio of its file from `files`.
macro_rules! build_payload {
    (lowered, $step:ident, $env:ident, $files:ident) => {
        Ok(Spec::build(&$step.settings, $env))
    };
    (reading_file, $step:ident, $env:ident, $files:ident) => {{
        let audio =
            $files.audio(&$step.file).ok_or_else(|| UnloadedFile($step.file.path.clone()))?;
        Ok($step.params.settings().build(&audio, $env))
    }};
}

/// The file a payload reads, if any.
macro_rules! file_of {
    (reading_file, $step:ident) => {
        Some(&$step.file)
    };
    ($how:ident, $step:ident) => {{
        let _ = $step;
        None
    }};
}

/// The track or bus a payload's processor listens to, if any.
macro_rules! sidechain_of {
    (lowered, $step:ident) => {
        Spec::sidechain(&$step.settings)
    };
    (reading_file, $step:ident) => {{
        let _ = $step;
        None
    }};
}

macro_rules! lowered_steps {
    ($($(#[$doc:meta])* $name:literal => $variant:ident($raw:ty) $how:ident,)*) => {
        /// One step of a lowered chain.
        #[derive(Debug, Clone)]
        pub enum Step {
            $($(#[$doc])* $variant(payload!($how, $raw)),)*
            /// Branches fed the same input and summed.
            Parallel(Vec<Vec<Step>>),
        }

        impl Step {
            /// Lowers `raw`, written at the YAML path `at` (`tracks.vox.chain[2]`). Each file
            /// it names is resolved by `resolve(yaml_path, written)`, once.
            pub fn lower(
                raw: &RawStep,
                at: &str,
                resolve: &mut dyn FnMut(&str, &str) -> ResolvedFile,
            ) -> Self {
                match raw {
                    $(RawStep::$variant(r) => {
                        Self::$variant(lower_payload!($how, r: $raw, at, $name, resolve))
                    })*
                    RawStep::Parallel(branches) => Self::Parallel(
                        branches
                            .iter()
                            .enumerate()
                            .map(|(b, branch)| {
                                let at = |j| format!("{at}.parallel[{b}][{j}]");
                                let lower = |(j, s)| Self::lower(s, &at(j), resolve);
                                branch.iter().enumerate().map(lower).collect()
                            })
                            .collect(),
                    ),
                }
            }

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
                    $(Self::$variant(_) => version_of!($how, $raw),)*
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
                    $(Self::$variant(step) => build_payload!($how, step, env, files),)*
                    Self::Parallel(branches) => {
                        let chains = branches
                            .iter()
                            .map(|branch| build_chain(branch, env, files))
                            .collect::<Result<_, _>>()?;
                        Ok(Box::new(Parallel::new(chains, env)))
                    }
                }
            }

            /// The files this step and the steps nested in it read, in order.
            #[must_use]
            pub fn files(&self) -> Vec<&ResolvedFile> {
                match self {
                    $(Self::$variant(step) => file_of!($how, step).into_iter().collect(),)*
                    Self::Parallel(branches) => {
                        branches.iter().flatten().flat_map(Step::files).collect()
                    }
                }
            }

            /// The tracks or buses this step and the steps nested in it listen to, in order.
            #[must_use]
            pub fn sidechains(&self) -> Vec<&str> {
                match self {
                    $(Self::$variant(step) => {
                        sidechain_of!($how, step).into_iter().collect()
                    })*
                    Self::Parallel(branches) => {
                        branches.iter().flatten().flat_map(Step::sidechains).collect()
                    }
                }
            }

            fn serialize_params<S: Serializer>(
                &self,
                state: &mut S::SerializeStruct,
            ) -> Result<(), S::Error> {
                match self {
                    $(Self::$variant(step) => state.serialize_field("params", step),)*
                    Self::Parallel(branches) => state.serialize_field("params", branches),
                }
            }
        }
    };
}

for_each_step!(lowered_steps);

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

/// Builds every step of `steps`, in order, with the decoded audio of the files they read.
///
/// # Errors
/// When `files` lacks a file a step reads.
pub fn build_chain(
    steps: &[Step],
    env: &BuildEnv,
    files: &dyn DecodedFiles,
) -> Result<Chain, UnloadedFile> {
    let processors = steps.iter().map(|s| s.build(env, files)).collect::<Result<_, _>>()?;
    Ok(Chain::new(processors))
}

/// The lowered steps of a JSON chain (`[{ "gain": "-3 dB" }]`), each file standing in as its
/// written path with an all-zero digest.
#[cfg(test)]
pub(crate) fn lowered(json: &str) -> Vec<Step> {
    let raw: Vec<RawStep> = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    let mut stand_in = |_: &str, written: &str| ResolvedFile {
        path: written.into(),
        content: super::ContentDigest::default(),
    };
    raw.iter()
        .enumerate()
        .map(|(i, s)| Step::lower(s, &format!("chain[{i}]"), &mut stand_in))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::ContentDigest;

    fn resolving(json: &str) -> (Step, Vec<(String, String)>) {
        let raw: RawStep = serde_json::from_str(json).unwrap();
        let mut asked = Vec::new();
        let mut resolve = |at: &str, written: &str| {
            asked.push((at.to_string(), written.to_string()));
            ResolvedFile { path: format!("/mix/{written}").into(), content: ContentDigest([7; 32]) }
        };
        let step = Step::lower(&raw, "buses.verb.chain[1]", &mut resolve);
        (step, asked)
    }

    #[test]
    fn lowering_resolves_each_file_once_at_the_yaml_path_that_names_it() {
        let (step, asked) = resolving(
            r#"{ "parallel": [[], [{ "gain": "-3 dB" }, { "convolution": { "ir": "irs/plate.wav" } }]] }"#,
        );
        assert_eq!(
            asked,
            [("buses.verb.chain[1].parallel[1][1].convolution.ir".into(), "irs/plate.wav".into())]
        );
        let files = step.files();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, std::path::Path::new("/mix/irs/plate.wav"));
    }

    #[test]
    fn a_step_that_reads_a_file_keys_its_digest_and_not_its_path() {
        let (step, _) = resolving(r#"{ "convolution": { "ir": "irs/plate.wav", "mix": "40%" } }"#);
        let json = serde_json::to_value(&step).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "convolution",
                "version": 1,
                "params": { "mix": 0.4, "predelay": 0.0, "file": "07".repeat(32) },
            })
        );
    }

    #[test]
    fn building_without_the_decoded_file_is_an_error_not_a_panic() {
        let (step, _) = resolving(r#"{ "convolution": { "ir": "irs/plate.wav" } }"#);
        let env = BuildEnv { sample_rate: 48_000.0, max_block: 64 };
        let error = step.build(&env, &NoFiles).err().expect("no audio for the file");
        assert_eq!(error, UnloadedFile("/mix/irs/plate.wav".into()));
    }

    #[test]
    fn a_step_is_built_with_the_audio_of_the_file_it_resolved() {
        struct Impulse;
        impl DecodedFiles for Impulse {
            fn audio(&self, file: &ResolvedFile) -> Option<Arc<Audio>> {
                let one = || vec![0.5, 0.0, 0.0];
                (file.content == ContentDigest([7; 32]))
                    .then(|| Arc::new(Audio { left: one(), right: one() }))
            }
        }
        let (step, _) = resolving(r#"{ "convolution": { "ir": "irs/plate.wav" } }"#);
        let env = BuildEnv { sample_rate: 48_000.0, max_block: 256 };
        let mut processor = step.build(&env, &Impulse).unwrap();
        let lag = processor.latency();
        let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
        l[0] = 1.0;
        r[0] = 1.0;
        processor.process(&mut l, &mut r, &crate::dsp::Context::default());
        // A one-tap response through an f32 FFT: exact to about 1e-7.
        assert!((l[lag] - 0.5).abs() < 1e-6 && (r[lag] - 0.5).abs() < 1e-6, "{}", l[lag]);
    }

    #[test]
    fn the_filters_family_keeps_the_canonical_json_its_keys_hash() {
        let steps = lowered(
            r#"[
            { "highpass": { "freq": [["0:00", "80 Hz"], ["0:02", "120 Hz"]], "slope": 24 } },
            { "lowpass": { "freq": "9 kHz", "slope": 6 } },
            { "eq": [
                { "type": "peak", "freq": "1 kHz", "gain": "3 dB", "q": 1.4 },
                { "type": "highpass", "freq": "90 Hz", "slope": 24, "channel": "side" },
                { "type": "low_shelf", "freq": "200 Hz", "gain": [[0, "-2 dB"], [1, "2 dB"]],
                  "channel": "mid" } ] },
            { "width": { "amount": "140%" } },
            { "saturate": { "drive": "6 dB", "type": "tape", "mix": "30%" } },
            { "stereo": { "width": "110%", "balance": "5% left", "mono_below": "120 Hz" } }
        ]"#,
        );
        let canonical: Vec<String> =
            steps.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
        assert_eq!(
            canonical,
            [
                r#"{"kind":"highpass","version":2,"params":{"freq":[{"time":0.0,"value":80.0},{"time":2.0,"value":120.0}],"slope":24}}"#,
                r#"{"kind":"lowpass","version":2,"params":{"freq":9000.0,"slope":6}}"#,
                r#"{"kind":"eq","version":2,"params":[{"type":"peak","freq":1000.0,"gain":3.0,"q":1.4,"slope":12},{"type":"highpass","freq":90.0,"gain":0.0,"q":0.7071067811865476,"slope":24,"channel":"side"},{"type":"low_shelf","freq":200.0,"gain":[{"time":0.0,"value":-2.0},{"time":1.0,"value":2.0}],"q":0.7071067811865476,"slope":12,"channel":"mid"}]}"#,
                r#"{"kind":"width","version":1,"params":{"amount":1.4}}"#,
                r#"{"kind":"saturate","version":1,"params":{"drive":6.0,"type":"tape","mix":0.3}}"#,
                r#"{"kind":"stereo","version":1,"params":{"width":1.1,"balance":-0.05,"mono_below":120.0}}"#,
            ]
        );
    }

    #[test]
    fn the_dynamics_family_keeps_the_canonical_json_its_keys_hash() {
        let steps = lowered(
            r#"[
            { "compressor": { "threshold": "-18 dB", "ratio": 3, "attack": "5 ms",
                "release": [[0, "100 ms"], [1, "200 ms"]], "knee": "6 dB", "makeup": "2 dB",
                "detector": "rms", "link": "50%", "mix": "80%", "sidechain": "kick",
                "sidechain_highpass": "100 Hz" } },
            { "gate": { "threshold": "-38 dB", "range": "-20 dB", "ratio": 10, "knee": "2 dB",
                "hysteresis": "4 dB", "attack": "0.5 ms", "hold": "40 ms", "release": "80 ms",
                "sidechain": "kick" } },
            { "expander": { "threshold": "-45 dB" } },
            { "limiter": { "ceiling": "-1 dB", "lookahead": "5 ms", "release": "50 ms",
                "true_peak": true } },
            { "deesser": { "frequency": "7 kHz", "threshold": "-30 dB", "ratio": 4,
                "attack": "1 ms", "release": "60 ms" } },
            { "multiband": { "crossovers": ["120 Hz", "2 kHz"], "bands": [
                { "compressor": { "threshold": -20, "ratio": 2 }, "gain": "1 dB" },
                { "solo": true },
                { "bypass": true, "gain": "-1 dB" } ] } },
            { "clipper": { "drive": "3 dB", "ceiling": "-0.3 dB", "softness": "40%" } }
        ]"#,
        );
        let canonical: Vec<String> =
            steps.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
        assert_eq!(
            canonical,
            [
                r#"{"kind":"compressor","version":3,"params":{"threshold":-18.0,"ratio":3.0,"attack":0.005,"release":[{"time":0.0,"value":0.1},{"time":1.0,"value":0.2}],"knee":6.0,"makeup":2.0,"detector":"rms","link":0.5,"mix":0.8,"sidechain":"kick","sidechain_highpass":100.0}}"#,
                r#"{"kind":"gate","version":2,"params":{"threshold":-38.0,"range":-20.0,"ratio":10.0,"knee":2.0,"hysteresis":4.0,"attack":0.0005,"hold":0.04,"release":0.08,"sidechain":"kick"}}"#,
                r#"{"kind":"expander","version":2,"params":{"threshold":-45.0,"range":-40.0,"ratio":2.0,"knee":0.0,"hysteresis":0.0,"attack":0.0005,"hold":0.02,"release":0.08,"sidechain":null}}"#,
                r#"{"kind":"limiter","version":2,"params":{"ceiling":-1.0,"lookahead":0.005,"release":0.05,"true_peak":true}}"#,
                r#"{"kind":"deesser","version":2,"params":{"frequency":7000.0,"threshold":-30.0,"ratio":4.0,"attack":0.001,"release":0.06}}"#,
                r#"{"kind":"multiband","version":1,"params":{"crossovers":[120.0,2000.0],"bands":[{"compressor":{"threshold":-20.0,"ratio":2.0,"attack":0.01,"release":0.1,"knee":0.0,"makeup":0.0,"detector":"peak","link":1.0,"mix":1.0,"sidechain":null},"gain":1.0,"solo":false,"bypass":false},{"gain":0.0,"solo":true,"bypass":false},{"gain":-1.0,"solo":false,"bypass":true}]}}"#,
                r#"{"kind":"clipper","version":1,"params":{"drive":3.0,"ceiling":-0.3,"softness":0.4}}"#,
            ]
        );
    }

    #[test]
    fn the_dynamics_family_written_with_its_defaults_keeps_the_canonical_json_its_keys_hash() {
        let steps = lowered(
            r#"[
            { "compressor": { "threshold": [[0, "-20 dB"], ["2 s", "-30 dB"]], "ratio": "inf" } },
            { "gate": { "threshold": "-40 dB" } },
            { "limiter": {} },
            { "deesser": { "threshold": [[0, "-30 dB"], ["1 s", "-24 dB"]] } },
            { "multiband": { "crossovers": [200], "bands": [
                { "threshold": "-20 dB", "ratio": "4:1", "detector": "rms", "gain": "2 dB" },
                {} ] } },
            { "clipper": {} }
        ]"#,
        );
        let canonical: Vec<String> =
            steps.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
        assert_eq!(
            canonical,
            [
                r#"{"kind":"compressor","version":3,"params":{"threshold":[{"time":0.0,"value":-20.0},{"time":2.0,"value":-30.0}],"ratio":"inf","attack":0.01,"release":0.1,"knee":0.0,"makeup":0.0,"detector":"peak","link":1.0,"mix":1.0,"sidechain":null}}"#,
                r#"{"kind":"gate","version":2,"params":{"threshold":-40.0,"range":-80.0,"ratio":"inf","knee":0.0,"hysteresis":3.0,"attack":0.0005,"hold":0.02,"release":0.08,"sidechain":null}}"#,
                r#"{"kind":"limiter","version":2,"params":{"ceiling":-1.0,"lookahead":0.005,"release":0.1}}"#,
                r#"{"kind":"deesser","version":2,"params":{"frequency":6000.0,"threshold":[{"time":0.0,"value":-30.0},{"time":1.0,"value":-24.0}],"ratio":4.0,"attack":0.001,"release":0.06}}"#,
                r#"{"kind":"multiband","version":1,"params":{"crossovers":[200.0],"bands":[{"compressor":{"threshold":-20.0,"ratio":4.0,"attack":0.01,"release":0.1,"knee":0.0,"makeup":0.0,"detector":"rms","link":1.0,"mix":1.0,"sidechain":null},"gain":2.0,"solo":false,"bypass":false},{"gain":0.0,"solo":false,"bypass":false}]}}"#,
                r#"{"kind":"clipper","version":1,"params":{"drive":0.0,"ceiling":0.0,"softness":0.3}}"#,
            ]
        );
    }

    #[test]
    fn the_space_family_keeps_the_canonical_json_its_keys_hash() {
        let steps = lowered(
            r#"[
            { "delay": { "time": "375 ms", "feedback": "40%", "mix": "30%", "ping_pong": true,
                "high_cut": "6 kHz", "low_cut": "200 Hz" } },
            { "reverb": { "size": "60%", "decay": "1.8 s", "predelay": "20 ms",
                "damping": "40%", "width": "80%", "mix": "25%" } },
            { "chorus": { "rate": "0.8 Hz", "depth": "3 ms", "voices": 3, "mix": "40%" } }
        ]"#,
        );
        let canonical: Vec<String> =
            steps.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
        assert_eq!(
            canonical,
            [
                r#"{"kind":"delay","version":1,"params":{"time":0.375,"feedback":0.4,"mix":0.3,"ping_pong":true,"high_cut":6000.0,"low_cut":200.0}}"#,
                r#"{"kind":"reverb","version":4,"params":{"size":0.6,"decay":1.8,"predelay":0.02,"damping":0.4,"width":0.8,"mix":0.25}}"#,
                r#"{"kind":"chorus","version":1,"params":{"rate":0.8,"depth":0.003,"voices":3,"mix":0.4}}"#,
            ]
        );
    }
}
