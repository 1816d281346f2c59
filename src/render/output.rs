//! The output node: a target's audio cut to its length, with a fade at an exact cut, and
//! written through its encoder, atomically. A small record in the cache remembers what was
//! written, so a render with nothing changed can trust the file without reading it, and
//! report the file's clipping just as the render that wrote it did. A record that cannot be
//! written fails the node as a cache write, so the render runs again without the cache.
//!
//! The audio is measured as it is written (loudness, true peak), and the measurement is
//! kept under the output node's key, so a render that finds the file up to date reports
//! the same figures without reading a sample. The key names the audio, so a file written
//! again (into another folder, or on a machine that took the measurement from a shared
//! cache) is written without measuring.

use std::path::PathBuf;

use petgraph::graph::NodeIndex;

use super::NodeError;
use super::job::Job;
use super::normalise::Normalised;
use super::stream::{MAX_TAIL_SECONDS, read_full};
use crate::atomic_file;
use crate::audio::encode::Encoding;
use crate::audio::loudness::{
    ChannelMeter, LoudnessMeter, LoudnessPool, LoudnessRecord, PoolableRecord,
};
use crate::cache::Key;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::measurement;
use crate::cache::output_record::OutputRecord;
use crate::cache::retired::retire;
use crate::dsp::BLOCK_FRAMES;
use crate::graph::{NodeKind, RenderGraph};
use crate::ir::Length;

/// How many frames the output file holds, from the master's lengths and the policy.
#[must_use]
pub fn output_frames(length: Length, rate: u32, content: u64, audible: u64) -> u64 {
    let rate = f64::from(rate);
    match length {
        Length::Exact(seconds) => (seconds * rate).round() as u64,
        Length::Tail(seconds) => content + (seconds * rate).round() as u64,
        Length::Natural => audible.clamp(content, content + (MAX_TAIL_SECONDS * rate) as u64),
    }
}

/// Where the targets' files go and how they are encoded: render settings, which neither
/// the graph nor its keys know of.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The folder every target's file goes into.
    pub out_dir: PathBuf,
    /// The file format.
    pub encoding: Encoding,
}

impl Delivery {
    /// The file of the target named `name`: `<out>/<name>.<ext>`.
    #[must_use]
    pub fn path(&self, name: &str) -> PathBuf {
        self.out_dir.join(format!("{name}.{}", self.encoding.extension()))
    }

    /// The file of `deliver:` target `target`: `<out>/<target>/<file_name>`.
    #[must_use]
    pub fn target_path(&self, target: &str, file_name: &str) -> PathBuf {
        self.out_dir.join(target).join(file_name)
    }

    /// What a delivered file is the render of: its output node's key and the encoding, so
    /// that another format writes the file again while the output node stays cached.
    #[must_use]
    pub fn file_key(&self, output_key: Key) -> Key {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&output_key.0);
        hasher.update(self.encoding.id().as_bytes());
        Key(*hasher.finalize().as_bytes())
    }
}

/// The gain of frame `index` of a `fade`-frame raised-cosine fade-out: just under 1 at
/// the first frame, exactly 0 at the last, so a cut ends in silence instead of a click.
fn fade_out_gain(index: u64, fade: u64) -> f32 {
    let phase = (index + 1) as f64 / fade as f64;
    (0.5 * (1.0 + (std::f64::consts::PI * phase).cos())) as f32
}

/// Fades `left` and `right`, which start at frame `at` of a file cut at `cut` frames, over
/// the last `fade` frames before the cut.
pub(super) fn apply_cut_fade(left: &mut [f32], right: &mut [f32], at: u64, cut: u64, fade: u64) {
    let fade_start = cut - fade;
    for (k, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
        let frame = at + k as u64;
        if frame >= fade_start && frame < cut {
            let g = fade_out_gain(frame - fade_start, fade);
            *l *= g;
            *r *= g;
        }
    }
}

/// Blocks that may wait for the meter: enough to ride out its jitter, few enough that
/// memory stays bounded.
const METER_QUEUE: usize = 8;

/// Writes a target's file from its input's entry, or from the input itself when the two
/// run as a pipeline. An exact `length:` cut ends with the node's fade-out.
///
/// # Errors
/// When the input cannot be read or the file cannot be written.
pub fn run_output(
    job: &Job<'_>,
    name: &str,
    length: Length,
    cut_fade_seconds: f64,
    delivery: &Delivery,
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let input = job.graph.graph[job.node].main_inputs()[0];
    let path = delivery.path(name);
    let output_error = |e| NodeError::Output { path: path.clone(), source: e };
    let mut stream = job.open_input(input)?;
    let rate = job.sample_rate();
    let content = stream.content_frames().unwrap_or(0);
    // An input arriving through a pipe tells its audible length only at its end, so write
    // as far as the file could reach and cut it once the length is known.
    let reach = stream.audible_frames().or(stream.frames()).unwrap_or(0);
    let longest = output_frames(length, rate, content, reach);
    let fade = match length {
        Length::Exact(_) => ((cut_fade_seconds * f64::from(rate)).round() as u64).min(longest),
        Length::Natural | Length::Tail(_) => 0,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(output_error)?;
        // Left by renders that were killed; never a running render's.
        let _ = atomic_file::sweep_orphans(dir);
    }
    let mut encoder = delivery.encoding.create(&path, rate).map_err(NodeError::Audio)?;
    let known: Option<LoudnessRecord> = measurement::load(cache, job.keys.key(job.node));
    // Each channel is metered beside the writing, on a thread of its own, from blocks
    // handed over as they are written: metering costs more than the rest of this node,
    // which often has the machine to itself.
    let channel_meter = || {
        let (blocks, metered) = std::sync::mpsc::sync_channel::<Vec<f32>>(METER_QUEUE);
        let meter = std::thread::spawn(move || {
            let mut meter = ChannelMeter::new(rate, true)
                .expect("the meter takes every rate a project may have");
            for block in metered {
                meter.add(&block);
            }
            meter
        });
        (blocks, meter)
    };
    let meters = known.is_none().then(|| (channel_meter(), channel_meter()));
    let measure = |left: &[f32], right: &[f32]| {
        // A meter only stops early by panicking, which the joins below report.
        if let Some(((left_blocks, _), (right_blocks, _))) = &meters {
            let _ = left_blocks.send(left.to_vec());
            let _ = right_blocks.send(right.to_vec());
        }
    };
    // Frames past `sure` may fall after the cut, which a pipe's end decides: they wait
    // here (at most the longest tail) until it is known, as an encoder cannot take back
    // what it was given.
    let sure = if stream.audible_frames().is_some() || !matches!(length, Length::Natural) {
        longest
    } else {
        content.min(longest)
    };
    let mut held: (Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new());
    let mut left = vec![0.0f32; BLOCK_FRAMES];
    let mut right = vec![0.0f32; BLOCK_FRAMES];
    let mut written = 0u64;
    while written < longest {
        let n = ((longest - written) as usize).min(BLOCK_FRAMES);
        read_full(stream.as_mut(), &mut left[..n], &mut right[..n])?;
        if fade > 0 {
            apply_cut_fade(&mut left[..n], &mut right[..n], written, longest, fade);
        }
        let now = (sure.saturating_sub(written) as usize).min(n);
        encoder.write(&left[..now], &right[..now]).map_err(NodeError::Audio)?;
        measure(&left[..now], &right[..now]);
        held.0.extend_from_slice(&left[now..n]);
        held.1.extend_from_slice(&right[now..n]);
        written += n as u64;
    }
    // Read the rest so an entry's checksum is verified (and a pipe's end is seen) even
    // when the cut is early.
    while read_full(stream.as_mut(), &mut left, &mut right)? > 0 {}
    let frames = output_frames(length, rate, content, stream.audible_frames().unwrap_or(0));
    let kept = (frames.min(longest).saturating_sub(sure) as usize).min(held.0.len());
    encoder.write(&held.0[..kept], &held.1[..kept]).map_err(NodeError::Audio)?;
    measure(&held.0[..kept], &held.1[..kept]);
    // The meters finish what they were handed while the file is flushed.
    let meters = meters.map(|((left_blocks, left_meter), (right_blocks, right_meter))| {
        drop((left_blocks, right_blocks));
        (left_meter, right_meter)
    });
    let clipping = encoder.clipping();
    retire(cache, &path);
    encoder.finish().map_err(NodeError::Audio)?;
    if let Some((left_meter, right_meter)) = meters {
        let joined = |meter: std::thread::JoinHandle<ChannelMeter>| {
            meter.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        let measured =
            LoudnessMeter::from_channels([joined(left_meter), joined(right_meter)]).record();
        // The meter saw exactly the frames in the file.
        let loudness = LoudnessRecord { duration: frames as f64 / f64::from(rate), ..measured };
        measurement::save(cache, job.keys.key(job.node), &loudness)
            .map_err(NodeError::CacheWrite)?;
    }
    let file_key = delivery.file_key(job.keys.key(job.node));
    OutputRecord::save(cache, &path, file_key, clipping.samples, clipping.peak)
        .map_err(NodeError::CacheWrite)
}

/// The loudness of target `target`'s audio, as the render that wrote its file measured it.
#[must_use]
pub(super) fn measured_loudness(
    cache: &CacheDir,
    keys: &Keys,
    target: NodeIndex,
) -> Option<LoudnessRecord> {
    measurement::load(cache, keys.key(target))
}

/// The loudness of a deliverable's file, from what the encode nodes it is made of measured:
/// one encode's, or the segments' an album file joins, pooled.
#[must_use]
pub(super) fn delivered_loudness(
    cache: &CacheDir,
    keys: &Keys,
    encodes: &[NodeIndex],
) -> Option<LoudnessRecord> {
    let mut pool = LoudnessPool::default();
    for &encode in encodes {
        pool.add(&measurement::load::<PoolableRecord>(cache, keys.key(encode))?);
    }
    (!encodes.is_empty()).then(|| pool.record())
}

/// What the normalisation feeding target `target` did, as the render that ran it recorded;
/// `None` for a target without one. The normalisation is the target's input (an output),
/// or its input's (a deliverable's encoded stream).
#[must_use]
pub(super) fn normalised(
    graph: &RenderGraph,
    cache: &CacheDir,
    keys: &Keys,
    target: NodeIndex,
) -> Option<Normalised> {
    let mut node = target;
    for _ in 0..2 {
        node = *graph.graph[node].main_inputs().first()?;
        if matches!(graph.graph[node].kind, NodeKind::Normalise { .. }) {
            return measurement::load(cache, keys.key(node));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_fade_falls_from_unity_to_exactly_zero() {
        let fade = 240;
        let gains: Vec<f32> = (0..fade).map(|k| fade_out_gain(k, fade)).collect();
        assert!(gains[0] > 0.999 && gains[0] < 1.0);
        assert_eq!(gains[fade as usize - 1], 0.0);
        assert!(gains.windows(2).all(|w| w[1] <= w[0]), "the fade only falls");
    }

    #[test]
    fn a_cut_fade_touches_only_the_frames_before_the_cut() {
        let (mut left, mut right) = (vec![1.0f32; 100], vec![-1.0f32; 100]);
        apply_cut_fade(&mut left, &mut right, 1000, 1090, 10);
        assert!(left[..80].iter().all(|&x| x == 1.0));
        assert_eq!((left[89], right[89]), (0.0, 0.0));
        assert!(left[90..].iter().all(|&x| x == 1.0), "frames past the cut are cut later");
    }
}
