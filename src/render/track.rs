//! A track node: its sources placed on the timeline (with clip fades and gains), polarity,
//! then its chain, streamed into the cache.

use super::NodeError;
use super::inputs::{Stream, count_frames, expected_content};
use super::job::Job;
use super::stream::read_full;
use crate::dsp::BLOCK_FRAMES;
use crate::graph::NodeKind;
use crate::ir::Clip;
use crate::ir::Step;
use crate::units::Polarity;

/// A clip being played: where it sits in frames and the stream it reads.
struct PlacedClip {
    at: u64,
    frames: u64,
    fade_in: u64,
    fade_out: u64,
    gain: f32,
    stream: Box<dyn Stream>,
}

impl PlacedClip {
    /// Whether frames `offset..offset + n` of the clip lie outside both fades.
    fn is_flat(&self, offset: u64, n: u64) -> bool {
        offset >= self.fade_in && offset + n + self.fade_out <= self.frames
    }

    /// The clip's envelope (fades times gain) at `offset` frames into the clip.
    fn envelope(&self, offset: u64) -> f32 {
        let mut g = self.gain;
        if offset < self.fade_in {
            g *= offset as f32 / self.fade_in as f32;
        }
        let to_end = self.frames - offset;
        if to_end <= self.fade_out {
            g *= (to_end - 1) as f32 / self.fade_out as f32;
        }
        g
    }
}

/// Renders a track node.
///
/// # Errors
/// When a source or sidechain cannot be read, or the entry cannot be written.
pub fn run_track(
    job: &Job<'_>,
    clips: Option<&[Clip]>,
    polarity: Polarity,
    chain: &[Step],
) -> Result<(), NodeError> {
    let rate = f64::from(job.sample_rate());
    let sources = job.graph.graph[job.node].main_inputs();
    let mut placed = Vec::with_capacity(sources.len());
    match clips {
        None => {
            let stream = job.open_input(sources[0])?;
            let frames = stream_frames(job, sources[0], stream.as_ref())?;
            placed.push(PlacedClip { at: 0, frames, fade_in: 0, fade_out: 0, gain: 1.0, stream });
        }
        Some(clips) => {
            for (clip, &source) in clips.iter().zip(sources) {
                let mut stream = job.open_input(source)?;
                let available = stream_frames(job, source, stream.as_ref())?;
                let start = to_frames(clip.start, rate);
                skip(stream.as_mut(), start)?;
                let frames =
                    clip.length.map_or(available.saturating_sub(start), |l| to_frames(l, rate));
                if frames == 0 {
                    stream.confirm_content()?;
                }
                placed.push(PlacedClip {
                    at: to_frames(clip.at, rate),
                    frames,
                    fade_in: to_frames(clip.fade_in, rate),
                    fade_out: to_frames(clip.fade_out, rate),
                    gain: clip.gain_db.to_gain() as f32,
                    stream,
                });
            }
        }
    }
    let content_frames = placed.iter().map(|c| c.at + c.frames).max().unwrap_or(0);
    let sign = if polarity == Polarity::Inverted { -1.0f32 } else { 1.0 };
    let mut scratch = [vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]];
    job.render_chain(chain, (content_frames, content_frames), |position, left, right| {
        left.fill(0.0);
        right.fill(0.0);
        let block_end = position + left.len() as u64;
        for clip in &mut placed {
            let (from, to) = (clip.at.max(position), (clip.at + clip.frames).min(block_end));
            if from >= to {
                continue;
            }
            let n = (to - from) as usize;
            let [sl, sr] = &mut scratch;
            read_full(clip.stream.as_mut(), &mut sl[..n], &mut sr[..n])?;
            if to == clip.at + clip.frames {
                // The clip may end before its file does: what it read must still be the
                // file its key was made of.
                clip.stream.confirm_content()?;
            }
            let out = (from - position) as usize;
            let offset = from - clip.at;
            let (dl, dr) = (&mut left[out..out + n], &mut right[out..out + n]);
            if clip.is_flat(offset, n as u64) {
                let g = sign * clip.gain;
                dl.iter_mut().zip(&sl[..n]).for_each(|(o, x)| *o += *x * g);
                dr.iter_mut().zip(&sr[..n]).for_each(|(o, x)| *o += *x * g);
            } else {
                for i in 0..n {
                    let g = sign * clip.envelope(offset + i as u64);
                    dl[i] += sl[i] * g;
                    dr[i] += sr[i] * g;
                }
            }
        }
        Ok(())
    })
}

/// How many frames `stream` of input `source` holds: as the stream says, or counted in
/// its file when the header does not say.
pub(super) fn stream_frames(
    job: &Job<'_>,
    source: petgraph::graph::NodeIndex,
    stream: &dyn Stream,
) -> Result<u64, NodeError> {
    if let Some(frames) = stream.frames() {
        return Ok(frames);
    }
    match &job.graph.graph[source].kind {
        NodeKind::Source { file } => {
            count_frames(file, expected_content(job.keys, source)).map_err(NodeError::Audio)
        }
        _ => Ok(0),
    }
}

/// Reads and drops the first `frames` frames of `stream`.
pub(super) fn skip(stream: &mut dyn Stream, frames: u64) -> Result<(), NodeError> {
    let mut l = vec![0.0f32; BLOCK_FRAMES];
    let mut r = vec![0.0f32; BLOCK_FRAMES];
    let mut left_to_skip = frames;
    while left_to_skip > 0 {
        let n = (left_to_skip as usize).min(BLOCK_FRAMES);
        let got = read_full(stream, &mut l[..n], &mut r[..n])?;
        if got < n {
            break;
        }
        left_to_skip -= n as u64;
    }
    Ok(())
}

fn to_frames(seconds: f64, rate: f64) -> u64 {
    (seconds * rate).round() as u64
}
