//! The processors: everything that changes samples inside a node.
//!
//! A processor is one file: its settings and the DSP that runs them. What a project writes
//! (the raw step) and the list of every processor a chain may name live in `project/step/`;
//! the lowered step that builds them lives in `ir::step`. The files are grouped by family:
//! [`primitives`] (the building blocks), [`filters`] (filters and tone), [`dynamics`],
//! [`space`] (time and space) and [`chain`].
//! Processors work on planar stereo `f32` blocks with state in `f64` where precision matters.
//! They allocate when built, never while processing, and give the same output whatever the
//! block size, because all time-varying behaviour is tied to the absolute frame position.
//!
//! This module does no I/O and knows nothing of YAML, files or caches: a processor that
//! needs a file's audio (an impulse response) is handed it decoded, as [`Audio`], when it
//! is built.

pub mod chain;
pub mod dynamics;
pub mod filters;
pub mod primitives;
#[cfg(test)]
pub(crate) mod probe;
pub mod space;
#[cfg(test)]
pub(crate) mod spectrum;

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

/// The settings of one processor, and how to build it. The name a chain writes it under
/// is given where it is listed, in `ir::step`.
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

/// The settings of a processor built around the audio of one file (an impulse response).
/// The engine decodes the file its step names and hands the audio over; processors never
/// open files themselves.
pub trait SpecWithFile {
    /// As [`Spec::VERSION`].
    const VERSION: u32;

    /// Builds a processor ready to run, around `audio`, the file's audio at the render rate.
    fn build(&self, audio: &Audio, env: &BuildEnv) -> Box<dyn Processor>;
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

/// Replaces NaN and infinities by silence and flushes values too small to hear, so that no
/// processor hands the next one a sample that poisons it.
#[inline]
#[must_use]
pub fn sanitize(x: f64) -> f64 {
    if x.is_finite() && x.abs() > 1e-30 { x } else { 0.0 }
}
