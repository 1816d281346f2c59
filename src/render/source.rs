//! A source node: a file decoded and resampled to the render rate, kept in the cache so the
//! resampler runs once per file and rate.
//!
//! The decoder proves the file's bytes are those of the digest in the node's key (by the
//! identity the file had when this run hashed it, or by hashing them as it reads), and
//! reports a file changed during the render before the entry is sealed, so the entry is
//! dropped unwritten and never holds audio of another file than its key says.

use super::NodeError;
use super::inputs::{expected_content, open_decoder};
use super::job::Job;
use super::stream::{Produced, SILENCE};
use crate::audio::Source;
use crate::audio::resample::Resampled;
use crate::dsp::BLOCK_FRAMES;

/// Decodes and resamples the source file into the node's entry.
///
/// # Errors
/// When the file cannot be decoded or the entry written.
pub fn run_source(job: &Job<'_>, file: &std::path::Path) -> Result<(), NodeError> {
    let decoder =
        open_decoder(file, expected_content(job.keys, job.node)).map_err(NodeError::Audio)?;
    let mut resampled = Resampled::new(decoder, job.sample_rate()).map_err(NodeError::Audio)?;
    let mut writer = job.create_entry()?;
    let mut left = vec![0.0f32; BLOCK_FRAMES];
    let mut right = vec![0.0f32; BLOCK_FRAMES];
    let mut frames = 0u64;
    let mut audible = 0u64;
    loop {
        let n = resampled.read(&mut left, &mut right).map_err(NodeError::Audio)?;
        if n == 0 {
            break;
        }
        if let Some(last) =
            (0..n).rev().find(|&i| left[i].abs() > SILENCE || right[i].abs() > SILENCE)
        {
            audible = frames + last as u64 + 1;
        }
        writer.write(&left[..n], &right[..n]).map_err(NodeError::CacheWrite)?;
        frames += n as u64;
    }
    job.finish_entry(writer, Produced { audible_frames: audible }, frames)
}
