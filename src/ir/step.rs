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
/// resolved; a processor not yet split keeps its one type.
macro_rules! payload {
    (unsplit, $raw:ty) => { $raw };
    (lowered, $raw:ty) => { Lowered<$raw> };
    (reading_file, $raw:ty) => { WithFile<$raw> };
}

/// Lowers one payload; a file is resolved by `resolve(yaml_path, written)`.
macro_rules! lower_payload {
    (unsplit, $raw:ident: $ty:ty, $at:ident, $name:literal, $resolve:ident) => {
        $raw.clone()
    };
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
    (unsplit, $raw:ty) => {
        <$raw as Spec>::VERSION
    };
    (lowered, $raw:ty) => {
        <<$raw as Lower>::Settings as Spec>::VERSION
    };
    (reading_file, $raw:ty) => {
        <<$raw as NamesFile>::Settings as SpecWithFile>::VERSION
    };
}

/// Builds a payload's processor, with the audio of its file from `files`.
macro_rules! build_payload {
    (unsplit, $step:ident, $env:ident, $files:ident) => {
        Ok(Spec::build($step, $env))
    };
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
    (unsplit, $step:ident) => {
        Spec::sidechain($step)
    };
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
}
