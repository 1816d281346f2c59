//! A segment node: its songs played by the plan its analysis settled (gains, fades,
//! crossfades, the gap after), converted to the node's rate, then a true-peak limiter at
//! the ceiling, all from rest, cut to the segment's length at that rate (whole CD frames on
//! a CD target). Segments concatenate sample-exactly into the album.
//!
//! Beside its audio (a trial segment keeps none, nor does one that streams into its encode:
//! [`crate::graph::RenderGraph::streams_without_entry`]) the node keeps a
//! [`SegmentRecord`]: where its songs start and end at its rate, each song's loudness after
//! the limiter and the whole segment's with the gated windows behind it (at the album's
//! rate), and the limiter's gain reduction over each song. A trial's songs are measured
//! without their true peak, which only the delivered segments' records are read for.

use super::NodeError;
use super::album_record::{AlbumRecord, SegmentRecord};
use super::converted::fill_converted;
use super::job::Job;
use super::segment_mix::SegmentMix;
use super::stream::{Sink, run_chain};
use crate::audio::loudness::{LoudnessMeter, LoudnessRecord};
use crate::audio::resample::Resampled;
use crate::cache::folder::CacheDir;
use crate::cache::measurement;
use crate::dsp::dynamics::limiter::{GainApplied, Limiter, LimiterSettings};
use crate::dsp::{BLOCK_FRAMES, BuildEnv, Context, Processor};
use crate::graph::NodeKind;

/// The limiter's lookahead, in seconds.
const LOOKAHEAD_SECONDS: f64 = 0.005;
/// The limiter's release time constant, in seconds.
const RELEASE_SECONDS: f64 = 0.1;

/// What a segment node is, besides its inputs.
#[derive(Debug, Clone, Copy)]
pub struct SegmentNode {
    /// Its position in the album.
    pub segment: usize,
    /// Whether its length is whole CD frames.
    pub cd: bool,
    /// Whether it ends the album.
    pub last: bool,
    /// The ceiling, in dBTP.
    pub ceiling_dbtp: f64,
    /// Whether it keeps only its record.
    pub trial: bool,
}

impl SegmentNode {
    /// What a segment node of `kind` is; `None` for another kind of node.
    #[must_use]
    pub fn of(kind: &NodeKind) -> Option<Self> {
        let NodeKind::Segment { segment, cd, last, ceiling_dbtp, trial } = *kind else {
            return None;
        };
        Some(Self { segment, cd, last, ceiling_dbtp, trial })
    }
}

/// Renders a segment node.
///
/// # Errors
/// When an input cannot be read, the plan is missing, or the cache fails.
pub fn run_segment(job: &Job<'_>, node: SegmentNode, cache: &CacheDir) -> Result<(), NodeError> {
    let (analysis, songs) =
        job.graph.graph[job.node].inputs.split_last().expect("a segment reads its analysis");
    let key = job.keys.key(*analysis);
    let record = measurement::load::<AlbumRecord>(cache, key);
    let settled = record.and_then(|record| {
        let start = record.segment_starts.get(node.segment).copied()?;
        Some((record.plans.get(node.segment)?.clone(), start))
    });
    let (plan, start) = settled.ok_or_else(|| NodeError::CorruptInput {
        key,
        reason: "the album analysis's record is missing".into(),
    })?;
    let cd_start = node.cd.then_some(start);
    let album_rate = job.graph.graph[songs[0]].sample_rate;
    let rate = job.sample_rate();
    let streams = songs.iter().map(|&song| job.open_input(song)).collect::<Result<_, _>>()?;
    let mix = SegmentMix::new(&plan, album_rate, streams);
    let mut converted = Resampled::new(mix, rate).map_err(NodeError::Audio)?;
    let frames = plan.frames_at(album_rate, rate, cd_start, node.last);
    let count = plan.songs.len();
    let starts: Vec<u64> =
        (0..count).map(|i| plan.offset_at(i, album_rate, rate, cd_start)).collect();
    let ends: Vec<u64> =
        (0..count).map(|i| plan.song_end_at(i, album_rate, rate, cd_start).min(frames)).collect();
    let spec = LimiterSettings {
        ceiling_db: node.ceiling_dbtp,
        lookahead_seconds: LOOKAHEAD_SECONDS,
        release_seconds: RELEASE_SECONDS,
        true_peak: true,
    };
    let env = BuildEnv { sample_rate: f64::from(rate), max_block: BLOCK_FRAMES };
    // A trial's measurement only corrects the gains: its true peak would go unread.
    let meter = || {
        if node.trial { LoudnessMeter::without_true_peak(rate) } else { LoudnessMeter::new(rate) }
            .expect("a delivery rate is metered")
    };
    let metered = rate == album_rate && !node.cd;
    let mut limiter = SpanMeter {
        limiter: Limiter::new(&spec, &env),
        starts: starts.clone(),
        frames,
        meters: if metered { (0..count).map(|_| meter()).collect() } else { Vec::new() },
        whole: (metered && count > 1)
            .then(|| LoudnessMeter::without_true_peak(rate).expect("a delivery rate is metered")),
        applied: vec![GainApplied::default(); count],
    };
    let mut sink = if node.trial {
        Sink { entry: None, pipe: None, content_frames: frames }
    } else {
        job.sink(frames)?
    };
    let produced = run_chain(&mut limiter, frames, rate, &mut [], &mut sink, |_, left, right| {
        fill_converted(&mut converted, left, right).map(drop)
    })?;
    // A CD segment may end a little before the converted audio (in the gap's silence):
    // read the rest so every song's entry is verified to its end.
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    while fill_converted(&mut converted, &mut left, &mut right)? > 0 {}
    converted.into_source().finish()?;
    job.finish_sink(sink, produced)?;
    let record = SegmentRecord {
        frames,
        starts,
        ends,
        songs: limiter.meters.iter().map(LoudnessMeter::record).collect::<Vec<LoudnessRecord>>(),
        whole: limiter.whole.as_ref().or(limiter.meters.first()).map(LoudnessMeter::poolable),
        reduction_db: limiter.applied.iter().map(reduction_db).collect(),
    };
    measurement::save(cache, job.keys.key(job.node), &record).map_err(NodeError::CacheWrite)
}

/// The most and the mean gain reduction of `applied`, in dB (0 where nothing was applied).
fn reduction_db(applied: &GainApplied) -> (f64, f64) {
    let db = |gain: f64| if gain > 0.0 { (-20.0 * gain.log10()).max(0.0) } else { 0.0 };
    (db(applied.lowest), db(applied.mean()))
}

/// The limiter, with a meter and a tally of the gain applied over each song's span of the
/// output (which the limiter's latency delays behind the input).
struct SpanMeter {
    limiter: Limiter,
    /// Where each song's span starts in the output.
    starts: Vec<u64>,
    /// The output's length.
    frames: u64,
    /// One meter per song, or none.
    meters: Vec<LoudnessMeter>,
    /// A meter of the whole segment, where two or more songs have theirs.
    whole: Option<LoudnessMeter>,
    /// The gain applied over each song's span, as the limiter counts it per block.
    applied: Vec<GainApplied>,
}

impl SpanMeter {
    /// The song whose span holds output frame `frame`.
    fn song_at(&self, frame: u64) -> usize {
        self.starts.iter().rposition(|&s| s <= frame).unwrap_or(0)
    }
}

impl Processor for SpanMeter {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        self.limiter.process(left, right, ctx);
        let applied = self.limiter.take_applied();
        let first = ctx.start as i64 - self.limiter.latency() as i64;
        let block_end = first + left.len() as i64;
        let (from, to) = (first.max(0) as u64, block_end.clamp(0, self.frames as i64) as u64);
        if from >= to {
            return;
        }
        let owner = self.song_at(from);
        self.applied[owner].add(&applied);
        if self.meters.is_empty() {
            return;
        }
        if let Some(whole) = &mut self.whole {
            let (a, b) = ((from as i64 - first) as usize, (to as i64 - first) as usize);
            whole.add(&left[a..b], &right[a..b]);
        }
        let mut at = from;
        while at < to {
            let song = self.song_at(at);
            let span_end = self.starts.get(song + 1).copied().unwrap_or(self.frames).min(to);
            let (a, b) = ((at as i64 - first) as usize, (span_end as i64 - first) as usize);
            self.meters[song].add(&left[a..b], &right[a..b]);
            at = span_end;
        }
    }

    fn latency(&self) -> usize {
        self.limiter.latency()
    }

    fn tail(&self) -> usize {
        0
    }
}
