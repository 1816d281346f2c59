//! A node's input as a [`Source`] for the rate converter: cut to a number of frames, with
//! the fade that ends an exact cut and a gain. A failure of the input is kept, to be
//! reported as itself rather than as the converter's.

use super::NodeError;
use super::converted::KeepsFailure;
use super::inputs::Stream;
use super::output::apply_cut_fade;
use super::stream::read_full;
use crate::audio::{AudioError, Source};

/// The input cut to `frames` frames, with the cut's fade and a gain, as a [`Source`] for
/// the rate converter. A failure of the input is kept, to be reported as itself.
pub(super) struct CutSource {
    pub(super) stream: Box<dyn Stream>,
    pub(super) rate: u32,
    pub(super) frames: u64,
    pub(super) fade: u64,
    pub(super) gain: f32,
    pub(super) at: u64,
    pub(super) failure: Option<NodeError>,
}

impl CutSource {
    /// `stream` at `rate`, cut to `frames` frames, its last `fade` frames faded out, and
    /// scaled by `gain`.
    pub(super) fn new(
        stream: Box<dyn Stream>,
        rate: u32,
        frames: u64,
        fade: u64,
        gain: f32,
    ) -> Self {
        Self { stream, rate, frames, fade, gain, at: 0, failure: None }
    }
}

impl KeepsFailure for CutSource {
    fn failure_or(&mut self, converter: AudioError) -> NodeError {
        self.failure.take().unwrap_or(NodeError::Audio(converter))
    }
}

impl Source for CutSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn frames(&self) -> Option<u64> {
        Some(self.frames)
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, AudioError> {
        let n = ((self.frames - self.at) as usize).min(left.len());
        if n == 0 {
            return Ok(0);
        }
        let (l, r) = (&mut left[..n], &mut right[..n]);
        // Past the input's end (a tail or a `length:` beyond it) is silence.
        if let Err(e) = read_full(self.stream.as_mut(), l, r) {
            self.failure = Some(e);
            return Err(AudioError::Resample {
                from: self.rate,
                to: self.rate,
                reason: "the input failed".into(),
            });
        }
        if self.fade > 0 {
            apply_cut_fade(l, r, self.at, self.frames, self.fade);
        }
        if self.gain != 1.0 {
            l.iter_mut().chain(r.iter_mut()).for_each(|x| *x *= self.gain);
        }
        self.at += n as u64;
        Ok(n)
    }
}
