//! Reading a rate converter whose source is a node's input: blocks filled to the end with
//! zeros past the audio, and a failure reported as the input's own error rather than as
//! the converter's.

use super::NodeError;
use crate::audio::resample::Resampled;
use crate::audio::{AudioError, Source};

/// A source that keeps the error that stopped it, for the node to report.
pub(super) trait KeepsFailure {
    /// The error that stopped the source, in place of `converter`'s report of it.
    fn failure_or(&mut self, converter: AudioError) -> NodeError;
}

/// Fills `left` and `right` from `converted`, with zeros after its end. Returns the frames
/// of audio filled.
///
/// # Errors
/// When the source fails.
pub(super) fn fill_converted<S: Source + KeepsFailure>(
    converted: &mut Resampled<S>,
    left: &mut [f32],
    right: &mut [f32],
) -> Result<usize, NodeError> {
    let mut filled = 0;
    while filled < left.len() {
        match converted.read(&mut left[filled..], &mut right[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) => return Err(converted.source_mut().failure_or(error)),
        }
    }
    left[filled..].fill(0.0);
    right[filled..].fill(0.0);
    Ok(filled)
}
