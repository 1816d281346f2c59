//! An album deliverable's encode node: one song's span of its segment, or whole segments in
//! order (the album, or one segment of a WAV album file), reduced to the target's word
//! length and encoded, without tags.
//! The segments are at the target's rate already, so nothing is converted here.
//!
//! The dither starts from rest at every segment, seeded from the target's name and the
//! segment's (or song's) identity, so a segment's bytes in an album file do not depend on
//! the segments before it. Every file is held under the ceiling as a mix's deliverable is
//! ([`super::encode::encode_under_ceiling`]).

use std::path::Path;

use petgraph::graph::NodeIndex;

use super::NodeError;
use super::album_analysis::segment_record;
use super::encode::{AudioSink, SCRATCH, encode_under_ceiling, encoding_of};
use super::inputs::Stream;
use super::job::Job;
use super::pipe::Link;
use super::segment::{SegmentNode, run_segment};
use super::stream::read_full;
use super::track::skip;
use crate::cache::encoded::{EncodedFacts, store_encoded};
use crate::cache::folder::CacheDir;
use crate::cache::measurement;
use crate::dsp::BLOCK_FRAMES;
use crate::graph::EncodeSpan;
use crate::ir::Deliverable;

/// Encodes the node's audio and stores the stream under its key.
///
/// # Errors
/// When a segment cannot be read, the audio cannot be encoded, or the cache refuses the
/// stream.
pub fn run_album_encode(
    job: &Job<'_>,
    target: &Deliverable,
    span: EncodeSpan,
    seeds: &[u64],
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let segments = job.graph.graph[job.node].main_inputs().to_vec();
    let range = match span {
        EncodeSpan::Song(j) => {
            let record = segment_record(job, segments[0], cache)?;
            let end = record.starts.get(j + 1).copied().unwrap_or(record.frames);
            Some((record.starts[j], end))
        }
        EncodeSpan::Segments => None,
    };
    let scratch = cache.scratch_folder(SCRATCH).map_err(NodeError::CacheWrite)?;
    let encoding = encoding_of(target, seeds[0]);
    let path = scratch.path().join(format!("stream.{}", encoding.extension()));
    let rate = target.sample_rate;
    let mut pass = 0;
    let read = |gain: f32, sink: &mut dyn AudioSink| -> Result<u64, NodeError> {
        pass += 1;
        let mut written = 0;
        for (k, &segment) in segments.iter().enumerate() {
            sink.restart_dither(seeds[k.min(seeds.len() - 1)]);
            let mut stream = open_segment(job, segment, pass, cache)?;
            let (start, end) = range.unwrap_or((0, u64::MAX));
            skip(stream.as_mut(), start)?;
            let mut left_to_copy = end - start;
            let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
            while left_to_copy > 0 {
                let want = (left_to_copy.min(BLOCK_FRAMES as u64)) as usize;
                let n = read_full(stream.as_mut(), &mut left[..want], &mut right[..want])?;
                if n == 0 {
                    break;
                }
                let (l, r) = (&mut left[..n], &mut right[..n]);
                if gain != 1.0 {
                    l.iter_mut().chain(r.iter_mut()).for_each(|x| *x *= gain);
                }
                sink.take(l, r)?;
                written += n as u64;
                left_to_copy -= n as u64;
            }
            // Read the rest so the entry's checksum is verified.
            while read_full(stream.as_mut(), &mut left, &mut right)? > 0 {}
        }
        Ok(written)
    };
    let (clipping, frames, loudness, headroom_trim_db) =
        encode_under_ceiling(encoding, target.ceiling_dbtp, (&path, rate), read)?;
    measurement::save(cache, job.keys.key(job.node), &loudness).map_err(NodeError::CacheWrite)?;
    let facts = EncodedFacts {
        key: job.keys.key(job.node).to_string(),
        node: job.graph.graph[job.node].id.clone(),
        frames,
        sample_rate: rate,
        clipped_samples: clipping.samples,
        peak: clipping.peak,
        headroom_trim_db,
    };
    store(job, &path, &facts)
}

/// Opens `segment` for encoding pass `pass` (from 1). A segment that streamed into this
/// node on the first pass kept no entry ([`crate::graph::RenderGraph::streams_without_entry`]),
/// so a later pass (the file was over its ceiling) renders it again, into an entry.
fn open_segment(
    job: &Job<'_>,
    segment: NodeIndex,
    pass: usize,
    cache: &CacheDir,
) -> Result<Box<dyn Stream>, NodeError> {
    let again_without_entry = pass > 1
        && job.graph.streams_without_entry(segment)
        && !job.store.contains(&job.keys.key(segment));
    if again_without_entry {
        let again =
            Job::new(job.graph, job.keys, job.store, job.materialized, segment, Link::default());
        let node = SegmentNode::of(&job.graph.graph[segment].kind).expect("encodes read segments");
        run_segment(&again, node, cache)?;
    }
    job.open_input(segment)
}

fn store(job: &Job<'_>, path: &Path, facts: &EncodedFacts) -> Result<(), NodeError> {
    store_encoded(job.store, &job.keys.key(job.node), path, facts).map_err(NodeError::CacheWrite)
}
