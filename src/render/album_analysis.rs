//! An album's analysis nodes: measure the sequenced album and decide each song's gain.
//!
//! - **Unlimited**: the songs sequenced (fades, crossfades, gaps, their own gains) before
//!   the album's gain, segment by segment on every core. Gives the first gains: in `album` mode one gain that brings the whole
//!   timeline to the target, in `song` mode one per song, in `loudest` mode one gain that
//!   brings the loudest song to it. Gains are rounded to 0.01 dB.
//! - **Limited**: the trial segments (the first gains, then the limiter). When the limiter
//!   took the loudness more than [`CORRECTION_LU`] off the target, the gains are corrected
//!   once; a song needing more limiting than allowed is an error with the figures.
//! - **Delivered**: the album-rate segments at the final gains, for the report.
//!
//! Every stage measures the album segment by segment and pools the measurements
//! ([`LoudnessPool`]): only windows that would straddle two segments are missing, and a
//! segment ends in its gap's silence. The last two stages read no audio: each segment
//! measured itself and its songs as it rendered them, and kept the gated windows behind
//! its measurement in its record. An edit to one song's segment then costs
//! these analyses nothing but the pooling.
//!
//! Each keeps an [`AlbumRecord`] under its key and writes no audio, so an unchanged album
//! re-measures nothing. The segments that read a record key on the plans it holds (the
//! gains and the timing), not on the analysis (early cutoff).

use petgraph::graph::NodeIndex;
use rayon::prelude::*;

use super::NodeError;
use super::album_record::{AlbumRecord, SegmentRecord};
use super::inputs::Stream;
use super::job::Job;
use super::normalise::{CORRECTION_LU, round_gain};
use super::segment_mix::SegmentMix;
use crate::album::red_book::{self, RedBookViolation};
use crate::album::sequence::{SegmentPlan, Sequence, SequenceError, timings};
use crate::audio::loudness::{LoudnessMeter, LoudnessPool, LoudnessRecord, PoolableRecord};
use crate::cache::folder::CacheDir;
use crate::cache::measurement;
use crate::dsp::BLOCK_FRAMES;
use crate::graph::{AlbumShape, AnalysisStage};
use crate::ir::LoudnessMode;

/// Why an album cannot be mastered as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AlbumError {
    /// The songs cannot be sequenced.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    /// A song has no loudness to bring to a target.
    #[error(
        "song {song} is silent (no 400 ms block above -70 LUFS), so no gain brings it to \
         {target} LUFS",
        song = song + 1
    )]
    SilentSong {
        /// The song's index.
        song: usize,
        /// The target, in LUFS.
        target: f64,
    },
    /// A CD target's album breaks the Red Book's limits.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    RedBook(Vec<RedBookViolation>),
    /// A song needs more limiting than `max_limiting` allows.
    #[error(
        "song {song} needs {limiting:.2} dB of limiting to reach {target} LUFS under a \
         {ceiling} dBTP ceiling, more than the {max} dB `max_limiting` allows",
        song = song + 1
    )]
    TooMuchLimiting {
        /// The song's index.
        song: usize,
        /// The target, in LUFS.
        target: f64,
        /// The ceiling, in dBTP.
        ceiling: f64,
        /// The limiting the song took, in dB.
        limiting: f64,
        /// The most allowed, in dB.
        max: f64,
    },
}

impl AlbumError {
    /// The song the error is about, for locating it.
    #[must_use]
    pub fn song(&self) -> Option<usize> {
        match self {
            Self::Sequence(
                SequenceError::TrimmedAway { song, .. }
                | SequenceError::CrossfadeTooLong { song, .. },
            )
            | Self::SilentSong { song, .. }
            | Self::TooMuchLimiting { song, .. } => Some(*song),
            Self::RedBook(violations) => violations.iter().find_map(|v| match v {
                RedBookViolation::TrackTooShort { track, .. } => Some(track - 1),
                _ => None,
            }),
        }
    }
}

/// Renders an analysis node.
///
/// # Errors
/// When an input cannot be read, the cache fails, or the album cannot be mastered.
pub fn run_album_analysis(
    job: &Job<'_>,
    stage: AnalysisStage,
    album: &AlbumShape,
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let record = match stage {
        AnalysisStage::Unlimited => unlimited(job, album)?,
        AnalysisStage::Limited => {
            let (first, segments) = earlier_and_segments(job, cache)?;
            limited(job, album, &first, &segments, cache)?
        }
        AnalysisStage::Delivered => {
            let (settled, segments) = earlier_and_segments(job, cache)?;
            let (album_loudness, songs) = measure_segments(job, &segments, cache)?;
            AlbumRecord { songs, album: album_loudness, ..settled }
        }
    };
    measurement::save(cache, job.keys.key(job.node), &record).map_err(NodeError::CacheWrite)
}

/// The sequence of `album`'s songs with these mastered lengths.
fn sequence(job: &Job<'_>, album: &AlbumShape, song_frames: &[u64]) -> Result<Sequence, NodeError> {
    let rate = job.sample_rate();
    let timings = timings(&album.songs, rate, song_frames);
    Sequence::place(rate, &timings).map_err(|e| NodeError::Album(e.into()))
}

/// The first stage: measure the sequenced songs and choose the first gains.
fn unlimited(job: &Job<'_>, album: &AlbumShape) -> Result<AlbumRecord, NodeError> {
    let rate = job.sample_rate();
    let inputs = job.graph.graph[job.node].main_inputs();
    let mut streams: Vec<Option<Box<dyn Stream>>> = Vec::with_capacity(inputs.len());
    let mut song_frames = Vec::with_capacity(inputs.len());
    for &input in inputs {
        let stream = job.open_input(input)?;
        song_frames.push(stream.content_frames().unwrap_or(0));
        streams.push(Some(stream));
    }
    let sequence = sequence(job, album, &song_frames)?;
    if album.cd {
        let spans: Vec<u64> = (0..sequence.songs.len())
            .map(|i| sequence.span_end(i) - sequence.songs[i].start)
            .collect();
        let violations = red_book::check(&spans, rate);
        if !violations.is_empty() {
            return Err(NodeError::Album(AlbumError::RedBook(violations)));
        }
    }
    let own: Vec<f64> = album.songs.iter().map(|s| s.gain_db).collect();
    let work: Vec<(SegmentPlan, Vec<Box<dyn Stream>>)> = sequence
        .segments
        .iter()
        .enumerate()
        .map(|(k, segment)| {
            let range = segment.first..segment.first + segment.songs;
            let streams =
                streams[range].iter_mut().map(|s| s.take().expect("one segment per song"));
            (sequence.segment_plan(k, &own), streams.collect())
        })
        .collect();
    // Segments are measured apart, on every core, and pooled into the album, as the
    // later analyses pool them.
    let measured = work
        .into_par_iter()
        .map(|(plan, streams)| measure_segment(&plan, rate, streams))
        .collect::<Result<Vec<_>, NodeError>>()?;
    let mut pool = LoudnessPool::default();
    let mut songs = Vec::with_capacity(album.songs.len());
    for (song_records, whole) in measured {
        pool.add(&whole);
        songs.extend(song_records);
    }
    let album_loudness = pool.record();
    let gains_db = first_gains(album, &songs, &album_loudness)?;
    let plans = plans(&sequence, &own, &gains_db);
    let segment_starts = sequence.segments.iter().map(|s| s.start).collect();
    Ok(AlbumRecord {
        song_frames,
        songs,
        album: album_loudness,
        gains_db,
        plans,
        segment_starts,
        corrected: false,
    })
}

/// Plays one segment by `plan` and measures each of its songs' own audio, and the whole.
///
/// A segment of one song is that song and then the gap's silence, so one meter serves
/// both: the song's record is the whole's as it stands at the song's end, exactly what a
/// meter of its own would read, and the audio is K-weighted once instead of twice.
fn measure_segment(
    plan: &SegmentPlan,
    rate: u32,
    streams: Vec<Box<dyn Stream>>,
) -> Result<(Vec<LoudnessRecord>, PoolableRecord), NodeError> {
    let meter = || LoudnessMeter::without_true_peak(rate).expect("the album's rate is metered");
    let alone = match plan.songs.as_slice() {
        [song] if song.offset == 0 && (1..=plan.frames).contains(&song.frames) => Some(song.frames),
        _ => None,
    };
    let mut songs: Vec<LoudnessMeter> = match alone {
        Some(_) => Vec::new(),
        None => plan.songs.iter().map(|_| meter()).collect(),
    };
    let mut whole = meter();
    let mut records = Vec::with_capacity(plan.songs.len());
    let mut mix = SegmentMix::new(plan, rate, streams);
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let mut at = 0u64;
    loop {
        let n = mix.fill(&mut left, &mut right, |i, l, r| {
            if let Some(song) = songs.get_mut(i) {
                song.add(l, r);
            }
        })?;
        if n == 0 {
            break;
        }
        let song_ends = alone.filter(|&end| at < end && end <= at + n as u64);
        let split = song_ends.map_or(n, |end| (end - at) as usize);
        whole.add(&left[..split], &right[..split]);
        if song_ends.is_some() {
            records.push(whole.record());
        }
        whole.add(&left[split..n], &right[split..n]);
        at += n as u64;
    }
    mix.finish()?;
    if alone.is_none() {
        records = songs.iter().map(LoudnessMeter::record).collect();
    }
    Ok((records, whole.poolable()))
}

/// Each segment's plan with each song's own gain plus its loudness gain.
fn plans(
    sequence: &Sequence,
    own: &[f64],
    gains_db: &[f64],
) -> Vec<crate::album::sequence::SegmentPlan> {
    let total: Vec<f64> = own.iter().zip(gains_db).map(|(o, g)| o + g).collect();
    (0..sequence.segments.len()).map(|k| sequence.segment_plan(k, &total)).collect()
}

/// The first gains, from the unlimited measurements.
fn first_gains(
    album: &AlbumShape,
    songs: &[LoudnessRecord],
    whole: &LoudnessRecord,
) -> Result<Vec<f64>, NodeError> {
    let Some(target) = album.loudness.normalisation.target_lufs else {
        return Ok(vec![0.0; songs.len()]);
    };
    let loudness = loudness_of_songs(songs, target)?;
    Ok(match album.loudness.mode {
        LoudnessMode::Song => loudness.iter().map(|l| round_gain(target - l)).collect(),
        LoudnessMode::Album => {
            let measured = whole.integrated.unwrap_or(f64::NEG_INFINITY);
            vec![round_gain(target - measured); songs.len()]
        }
        LoudnessMode::Loudest => {
            let loudest = loudness.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            vec![round_gain(target - loudest); songs.len()]
        }
    })
}

/// Each song's integrated loudness; a silent song with a target is an error.
fn loudness_of_songs(songs: &[LoudnessRecord], target: f64) -> Result<Vec<f64>, NodeError> {
    songs
        .iter()
        .enumerate()
        .map(|(song, r)| {
            r.integrated.ok_or(NodeError::Album(AlbumError::SilentSong { song, target }))
        })
        .collect()
}

/// The record of the earlier analysis this one reads (its last input), and the segments
/// it measures (the others).
fn earlier_and_segments(
    job: &Job<'_>,
    cache: &CacheDir,
) -> Result<(AlbumRecord, Vec<NodeIndex>), NodeError> {
    let (earlier, segments) =
        job.graph.graph[job.node].inputs.split_last().expect("an analysis reads an earlier one");
    let key = job.keys.key(*earlier);
    let record = measurement::load::<AlbumRecord>(cache, key).ok_or_else(|| {
        NodeError::CorruptInput { key, reason: "the album analysis's record is missing".into() }
    })?;
    Ok((record, segments.to_vec()))
}

/// The record a segment node kept.
///
/// # Errors
/// When it is missing: the segment then renders again.
pub fn segment_record(
    job: &Job<'_>,
    segment: NodeIndex,
    cache: &CacheDir,
) -> Result<SegmentRecord, NodeError> {
    let key = job.keys.key(segment);
    measurement::load::<SegmentRecord>(cache, key).ok_or_else(|| NodeError::CorruptInput {
        key,
        reason: "the segment's record is missing".into(),
    })
}

/// The album's loudness over `segments` played in order, pooled from their records (the
/// true peak the loudest of their songs'), and each song's.
fn measure_segments(
    job: &Job<'_>,
    segments: &[NodeIndex],
    cache: &CacheDir,
) -> Result<(LoudnessRecord, Vec<LoudnessRecord>), NodeError> {
    let mut pool = LoudnessPool::default();
    let mut songs = Vec::new();
    for &segment in segments {
        let record = segment_record(job, segment, cache)?;
        let whole = record.whole.ok_or_else(|| NodeError::CorruptInput {
            key: job.keys.key(segment),
            reason: "the segment's record has no measurement of the whole segment".into(),
        })?;
        pool.add(&whole);
        songs.extend(record.songs);
    }
    let mut album = pool.record();
    album.true_peak = songs.iter().filter_map(|s| s.true_peak).reduce(f64::max);
    Ok((album, songs))
}

/// The second stage: pool the trial segments' measurements and correct the gains once.
fn limited(
    job: &Job<'_>,
    album: &AlbumShape,
    first: &AlbumRecord,
    segments: &[NodeIndex],
    cache: &CacheDir,
) -> Result<AlbumRecord, NodeError> {
    let (album_loudness, songs) = measure_segments(job, segments, cache)?;
    let n = album.loudness.normalisation;
    let mut reductions = Vec::new();
    for &segment in segments {
        reductions.extend(segment_record(job, segment, cache)?.reduction_db);
    }
    if let Some(target) = n.target_lufs
        && let Some((song, &(limiting, _))) = reductions
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.0.total_cmp(&b.1.0))
            .filter(|(_, (most, _))| *most > n.max_limiting_db)
    {
        return Err(NodeError::Album(AlbumError::TooMuchLimiting {
            song,
            target,
            ceiling: n.ceiling_dbtp,
            limiting,
            max: n.max_limiting_db,
        }));
    }
    let mut gains_db = first.gains_db.clone();
    if let Some(target) = n.target_lufs {
        let off = |measured: Option<f64>| measured.map(|m| target - m);
        match album.loudness.mode {
            LoudnessMode::Song => {
                for (gain, song) in gains_db.iter_mut().zip(&songs) {
                    correct(gain, off(song.integrated));
                }
            }
            LoudnessMode::Album => {
                let by = off(album_loudness.integrated);
                for gain in &mut gains_db {
                    correct(gain, by);
                }
            }
            LoudnessMode::Loudest => {
                let loudest = songs.iter().filter_map(|s| s.integrated).reduce(f64::max);
                let by = off(loudest);
                for gain in &mut gains_db {
                    correct(gain, by);
                }
            }
        }
    }
    let corrected = gains_db != first.gains_db;
    let sequence = sequence(job, album, &first.song_frames)?;
    let own: Vec<f64> = album.songs.iter().map(|s| s.gain_db).collect();
    let plans = plans(&sequence, &own, &gains_db);
    Ok(AlbumRecord {
        song_frames: first.song_frames.clone(),
        songs,
        album: album_loudness,
        gains_db,
        plans,
        segment_starts: first.segment_starts.clone(),
        corrected,
    })
}

/// Corrects `gain` by `by` dB when that is more than [`CORRECTION_LU`].
fn correct(gain: &mut f64, by: Option<f64>) {
    if let Some(by) = by.filter(|by| by.abs() > CORRECTION_LU) {
        *gain = round_gain(*gain + by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::album::sequence::SegmentSong;

    const RATE: u32 = 48_000;

    /// A song held in memory.
    struct Held {
        left: Vec<f32>,
        right: Vec<f32>,
        at: usize,
    }

    impl Stream for Held {
        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, NodeError> {
            let n = left.len().min(self.left.len() - self.at);
            left[..n].copy_from_slice(&self.left[self.at..self.at + n]);
            right[..n].copy_from_slice(&self.right[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }

        fn frames(&self) -> Option<u64> {
            Some(self.left.len() as u64)
        }
    }

    /// `seconds` of two tones whose level rises and falls, so that the gates have work.
    fn song(seconds: u32) -> (Vec<f32>, Vec<f32>) {
        let tone = |hz: f64, n: u32| {
            let t = f64::from(n) / f64::from(RATE);
            let swell = 0.3 + 0.25 * (std::f64::consts::TAU * 0.2 * t).sin();
            (swell * (std::f64::consts::TAU * hz * t).sin()) as f32
        };
        (0..seconds * RATE).map(|n| (tone(220.0, n), tone(1_700.0, n))).unzip()
    }

    fn metered(left: &[f32], right: &[f32]) -> LoudnessMeter {
        let mut meter = LoudnessMeter::without_true_peak(RATE).unwrap();
        meter.add(left, right);
        meter
    }

    #[test]
    fn a_song_alone_in_its_segment_reads_as_a_meter_of_its_own_would() {
        let (left, right) = song(7);
        let frames = left.len() as u64;
        let gap = 2 * u64::from(RATE);
        let plan = SegmentPlan {
            songs: vec![SegmentSong {
                offset: 0,
                skip: 0,
                frames,
                fade_in: 0,
                fade_out: 0,
                crossfade_in: None,
                crossfade_out: None,
                gain_db: 0.0,
            }],
            frames: frames + gap,
        };
        let held = Held { left: left.clone(), right: right.clone(), at: 0 };
        let (songs, whole) = measure_segment(&plan, RATE, vec![Box::new(held)]).unwrap();
        assert_eq!(songs, [metered(&left, &right).record()]);
        let silence = vec![0.0f32; gap as usize];
        let mut expected = metered(&left, &right);
        expected.add(&silence, &silence);
        assert_eq!(whole, expected.poolable());
        assert!(songs[0].duration < whole.record.duration, "the song ends before the gap");
    }
}
