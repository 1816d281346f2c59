//! The loop every rendering node shares: pull input blocks, run the chain, drop the chain's
//! latency from the front, let the tail ring out, and stream the result into the cache.

use super::NodeError;
use super::inputs::Stream;
use super::pipe::PipeSender;
use crate::cache::store::EntryWriter;
use crate::dsp::{BLOCK_FRAMES, Context, Processor, Sidechain};

/// The longest tail a node may add after its input ends, in seconds, so that a feedback
/// setting near 100% cannot make a render run for minutes.
pub const MAX_TAIL_SECONDS: f64 = 30.0;

/// Below this level (-90 dBFS) a sample counts as silence when finding where a render ends.
pub const SILENCE: f32 = 3.162_277_7e-5;

/// What a node wrote.
#[derive(Debug, Clone, Copy)]
pub struct Produced {
    /// Frames up to and including the last one above -90 dBFS.
    pub audible_frames: u64,
}

/// Where a node's frames go: its cache entry, and the node reading it when the two run as
/// a pipeline.
pub struct Sink {
    /// The node's cache entry; `None` for a node streaming into a reader that holds its
    /// audio (see [`crate::graph::RenderGraph::streams_without_entry`]).
    pub entry: Option<EntryWriter>,
    /// The pipe to the reader, if any.
    pub pipe: Option<PipeSender>,
    /// Where the node's source material ends, announced to the reader with the length.
    pub content_frames: u64,
}

impl Sink {
    fn begin(&mut self, frames: u64) {
        if let Some(pipe) = &mut self.pipe {
            pipe.lengths(frames, self.content_frames);
        }
    }

    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), NodeError> {
        if let Some(entry) = &mut self.entry {
            entry.write(left, right).map_err(NodeError::CacheWrite)?;
        }
        if let Some(pipe) = &mut self.pipe {
            pipe.block(left, right);
        }
        Ok(())
    }
}

/// A sidechain input being read alongside the main input.
pub struct SidechainInput {
    /// The track or bus it comes from.
    pub name: String,
    /// Its audio.
    pub stream: Box<dyn Stream>,
}

/// Runs `chain` over `input_frames` frames that `fill` provides (it must write zeros past the
/// end of its material), plus the chain's tail, into `sink`.
///
/// # Errors
/// When an input or the cache fails.
pub fn run_chain(
    chain: &mut dyn Processor,
    input_frames: u64,
    sample_rate: u32,
    sidechains: &mut [SidechainInput],
    sink: &mut Sink,
    mut fill: impl FnMut(u64, &mut [f32], &mut [f32]) -> Result<(), NodeError>,
) -> Result<Produced, NodeError> {
    let latency = chain.latency() as u64;
    let max_tail = (MAX_TAIL_SECONDS * f64::from(sample_rate)) as u64;
    let out_frames = input_frames + (chain.tail() as u64).min(max_tail);
    sink.begin(out_frames);
    let mut left = vec![0.0f32; BLOCK_FRAMES];
    let mut right = vec![0.0f32; BLOCK_FRAMES];
    let mut keys: Vec<[Vec<f32>; 2]> =
        sidechains.iter().map(|_| [vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]]).collect();
    let mut position = 0u64;
    let mut written = 0u64;
    let mut audible = 0u64;
    while written < out_frames {
        fill(position, &mut left, &mut right)?;
        for (input, [l, r]) in sidechains.iter_mut().zip(keys.iter_mut()) {
            read_full(input.stream.as_mut(), l, r)?;
        }
        let named: Vec<(&str, Sidechain<'_>)> = sidechains
            .iter()
            .zip(keys.iter())
            .map(|(input, [l, r])| (input.name.as_str(), Sidechain { left: l, right: r }))
            .collect();
        chain.process(&mut left, &mut right, &Context { start: position, sidechains: &named });
        // Output frame `o` of this block is input frame `position + o - latency`.
        let block_start = position as i64 - latency as i64;
        let skip = (-block_start).clamp(0, BLOCK_FRAMES as i64) as usize;
        let remaining = (out_frames - written) as usize;
        let take = (BLOCK_FRAMES - skip).min(remaining);
        if take > 0 {
            let (l, r) = (&left[skip..skip + take], &right[skip..skip + take]);
            if let Some(last) =
                (0..take).rev().find(|&i| l[i].abs() > SILENCE || r[i].abs() > SILENCE)
            {
                audible = written + last as u64 + 1;
            }
            sink.write(l, r)?;
            written += take as u64;
        }
        position += BLOCK_FRAMES as u64;
    }
    Ok(Produced { audible_frames: audible })
}

/// Fills `left`/`right` completely from `stream`, with zeros after its end.
///
/// # Errors
/// When the stream fails.
pub fn read_full<S: Stream + ?Sized>(
    stream: &mut S,
    left: &mut [f32],
    right: &mut [f32],
) -> Result<usize, NodeError> {
    let mut filled = 0;
    while filled < left.len() {
        let n = stream.read(&mut left[filled..], &mut right[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    left[filled..].fill(0.0);
    right[filled..].fill(0.0);
    Ok(filled)
}
