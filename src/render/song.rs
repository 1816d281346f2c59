//! An album's song node: the song's input (a mix's finished master, or a finished file)
//! cut to its length, brought to the album's rate, then the mastering chain, streamed into
//! the cache. The song's fades and trims are its segment's, not this node's.

use super::NodeError;
use super::converted::fill_converted;
use super::cut_source::CutSource;
use super::job::Job;
use super::output::output_frames;
use super::track::stream_frames;
use crate::album::sequence::convert;
use crate::audio::resample::Resampled;
use crate::graph::NodeKind;
use crate::ir::{Length, Step};

/// Renders a song node.
///
/// # Errors
/// When the input cannot be read or converted, or the entry cannot be written.
pub fn run_song(
    job: &Job<'_>,
    chain: &[Step],
    length: Length,
    cut_fade_seconds: f64,
) -> Result<(), NodeError> {
    let input = job.graph.graph[job.node].main_inputs()[0];
    let input_rate = job.graph.graph[input].sample_rate;
    let stream = job.open_input(input)?;
    // A file plays whole; a mix's master runs as long as its mix says.
    let (frames, fade) = if matches!(job.graph.graph[input].kind, NodeKind::Source { .. }) {
        (stream_frames(job, input, stream.as_ref())?, 0)
    } else {
        let content = stream.content_frames().unwrap_or(0);
        let audible = stream.audible_frames().unwrap_or(0);
        let frames = output_frames(length, input_rate, content, audible);
        let fade = match length {
            Length::Exact(_) => {
                ((cut_fade_seconds * f64::from(input_rate)).round() as u64).min(frames)
            }
            Length::Natural | Length::Tail(_) => 0,
        };
        (frames, fade)
    };
    let rate = job.sample_rate();
    let source = CutSource::new(stream, input_rate, frames, fade, 1.0);
    let mut converted = Resampled::new(source, rate).map_err(NodeError::Audio)?;
    let song_frames = convert(frames, input_rate, rate);
    job.render_chain(chain, (song_frames, song_frames), |_, left, right| {
        fill_converted(&mut converted, left, right).map(drop)
    })
}
