//! The processors: everything that changes samples inside a node.
//!
//! A processor is one file: its spec (the parameters a project writes, with units, read by
//! serde and hashed into cache keys) and the DSP that runs it. [`chain::step::Step`] lists
//! them all. The files are grouped by family: [`primitives`] (the building blocks),
//! [`filters`] (filters and tone), [`dynamics`], [`space`] (time and space) and [`chain`].
//! Processors work on planar stereo `f32` blocks with state in `f64` where precision matters.
//! They allocate when built, never while processing, and give the same output whatever the
//! block size, because all time-varying behaviour is tied to the absolute frame position.
//!
//! This module does no I/O and knows nothing of YAML or caches: the files a step reads
//! arrive decoded, through [`DecodedFiles`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod chain;
pub mod dynamics;
pub mod filters;
pub mod primitives;
#[cfg(test)]
pub(crate) mod probe;
pub mod space;
#[cfg(test)]
pub(crate) mod spectrum;
#[cfg(test)]
mod version_guard;

/// Frames per block when a node streams audio. Processors accept any block size up to
/// the `max_block` they were built for; this is the size the renderer uses.
pub const BLOCK_FRAMES: usize = 4096;

/// What a processor needs to know when it is built.
#[derive(Debug, Clone, Copy)]
pub struct BuildEnv {
    /// Frames per second.
    pub sample_rate: f64,
    /// The largest block `process` will be given.
    pub max_block: usize,
}

/// The audio of a sidechain input, time-aligned with the block being processed.
#[derive(Debug, Clone, Copy)]
pub struct Sidechain<'a> {
    /// Left channel of the sidechain signal.
    pub left: &'a [f32],
    /// Right channel of the sidechain signal.
    pub right: &'a [f32],
}

/// Where a block sits in the song, and the sidechain inputs that go with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Absolute frame index of the block's first frame.
    pub start: u64,
    /// The sidechain signals of this chain, by the track or bus name each comes from.
    pub sidechains: &'a [(&'a str, Sidechain<'a>)],
}

impl<'a> Context<'a> {
    /// The sidechain signal from the track or bus `name`, time-aligned with this block.
    #[must_use]
    pub fn sidechain(&self, name: &str) -> Option<Sidechain<'a>> {
        self.sidechains.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
    }
}

/// A running processor: planar stereo in place.
pub trait Processor: Send {
    /// Processes one block in place. `left` and `right` have the same length, at most the
    /// `max_block` the processor was built with.
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>);

    /// Frames by which the output lags the input; the engine compensates it.
    fn latency(&self) -> usize {
        0
    }

    /// Frames the output may keep sounding after the input falls silent.
    fn tail(&self) -> usize {
        0
    }
}

/// The parameters of one processor as written in a project, and how to build it. The
/// name a chain writes it under is given where it is listed, in [`chain::step`].
pub trait Spec {
    /// Bumped whenever the processor's output changes for the same parameters, so that
    /// cached audio from the old algorithm is never served.
    const VERSION: u32;

    /// Builds a processor ready to run.
    fn build(&self, env: &BuildEnv) -> Box<dyn Processor>;

    /// The track or bus this processor listens to, if it takes a sidechain.
    fn sidechain(&self) -> Option<&str> {
        None
    }
}

/// The parameters of a processor that reads files (an impulse response). The engine
/// decodes the files it names and hands their audio over; the spec then becomes a
/// [`Spec`] ready to build. Processors never open files themselves.
pub trait ReadsFiles {
    /// This spec with the audio of its files in hand.
    type Loaded: Spec;

    /// The files it reads, as its step names them.
    fn files(&self) -> Vec<&Path>;

    /// Takes the decoded audio of its files from `audio`.
    ///
    /// # Errors
    /// When `audio` lacks one of [`Self::files`]: the engine did not load it.
    fn load(&self, audio: &dyn DecodedFiles) -> Result<Self::Loaded, UnloadedFile>;

    /// The track or bus this processor listens to, if it takes a sidechain.
    fn sidechain(&self) -> Option<&str> {
        None
    }
}

/// The decoded audio of the files a chain reads, by the path its steps name.
pub trait DecodedFiles {
    /// The audio of `file`, planar stereo at the render rate; `None` when not loaded.
    fn audio(&self, file: &Path) -> Option<Arc<Audio>>;
}

/// No decoded files, for a chain that reads none.
#[derive(Debug, Clone, Copy)]
pub struct NoFiles;

impl DecodedFiles for NoFiles {
    fn audio(&self, _: &Path) -> Option<Arc<Audio>> {
        None
    }
}

/// Decoded audio handed to a processor: planar stereo `f32` at the render rate.
#[derive(Clone, Default, PartialEq)]
pub struct Audio {
    /// The left channel.
    pub left: Vec<f32>,
    /// The right channel.
    pub right: Vec<f32>,
}

impl Audio {
    /// The length in frames: the longer channel.
    #[must_use]
    pub fn frames(&self) -> usize {
        self.left.len().max(self.right.len())
    }
}

impl std::fmt::Debug for Audio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audio").field("frames", &self.frames()).finish_non_exhaustive()
    }
}

/// A chain was built without the audio of a file one of its steps reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{}` was not decoded before its chain was built", .0.display())]
pub struct UnloadedFile(pub PathBuf);

/// Replaces NaN and infinities by silence and flushes values too small to hear, so that no
/// processor hands the next one a sample that poisons it.
#[inline]
#[must_use]
pub fn sanitize(x: f64) -> f64 {
    if x.is_finite() && x.abs() > 1e-30 { x } else { 0.0 }
}
