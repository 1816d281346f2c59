//! The records an album's analyses and segments keep under their keys, beside (or instead
//! of) audio: what later nodes settle on, and what the album's report reads.

use serde::{Deserialize, Serialize};

use crate::album::sequence::SegmentPlan;
use crate::audio::loudness::{LoudnessRecord, PoolableRecord};

/// What an album analysis measured and decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlbumRecord {
    /// Each mastered song's length at the album's rate.
    pub song_frames: Vec<u64>,
    /// Each song's loudness at this stage: its own faded audio before any gain (unlimited),
    /// or its delivered span after the limiter (limited, delivered).
    pub songs: Vec<LoudnessRecord>,
    /// The whole album timeline's loudness at this stage.
    pub album: LoudnessRecord,
    /// Each song's loudness gain for the segments that read this record, in dB, rounded to
    /// 0.01 dB (without the song's own `mastering.gain`).
    pub gains_db: Vec<f64>,
    /// Each segment's plan at those gains: what the segments reading this record key on.
    pub plans: Vec<SegmentPlan>,
    /// Where each segment starts on the album timeline, at the album's rate: what a CD
    /// target's segments round their ends by, and key on besides their plan.
    pub segment_starts: Vec<u64>,
    /// Whether these gains correct the first ones after the limiter moved the loudness.
    pub corrected: bool,
}

/// What a segment node kept besides its audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRecord {
    /// Its length at its rate.
    pub frames: u64,
    /// Where each of its songs starts at its rate.
    pub starts: Vec<u64>,
    /// Where each of its songs' own audio ends at its rate (the gap after a song, or the
    /// next song's overlap, follows).
    pub ends: Vec<u64>,
    /// Each song's span (its start to the next start, or the segment's end), measured
    /// after the limiter; measured only at the album's rate, empty at others.
    pub songs: Vec<LoudnessRecord>,
    /// The whole segment measured as one (without its true peak), with the gated windows
    /// behind the measurement, so that the album's loudness pools from the segments'
    /// records without reading their audio again; measured only at the album's rate.
    pub whole: Option<PoolableRecord>,
    /// The limiter's gain reduction over each song's span, in dB: the most, and the mean.
    pub reduction_db: Vec<(f64, f64)>,
}
