//! The album's timeline: where each song starts and ends, in samples, once the mastered
//! songs' lengths are known, and how the timeline falls into segments.
//!
//! Song 1 starts at 0. A song after a gap starts that many seconds of silence after the
//! previous song ends; a song after a crossfade starts that many seconds before it ends,
//! and the two overlap. A song's delivered span runs from its start to the next song's
//! start (the gap after a song belongs to it); the last runs to the album's end.
//!
//! A segment is one song with the gap after it, or songs joined by crossfades (or butted
//! together with no gap). Everything after the album's gain (the limiter, rate conversion,
//! dither) runs per segment from rest, so segments concatenate sample-exactly and an edit
//! renders only its own segment again. A segment's description ([`SegmentPlan`]) is
//! relative to its own start, so moving a segment elsewhere in the album keeps its key.
//!
//! At another rate a segment's length is converted on its own, and on a CD target it is
//! rounded to whole CD frames (588 samples at 44.1 kHz), the last one up: a gap grows or
//! shrinks by less than a frame and every song after a gap starts on a CD frame.

use serde::{Deserialize, Serialize};

use crate::ir::{Album, CrossfadeCurve, Join};

/// Samples per CD frame (1/75 s at 44.1 kHz).
pub const CD_FRAME: u64 = 588;

/// A song's timing, in frames at the album rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SongTiming {
    /// The mastered song's length, before trims.
    pub frames: u64,
    /// Frames cut from its start.
    pub trim_start: u64,
    /// Frames cut from its end.
    pub trim_end: u64,
    /// Frames faded in.
    pub fade_in: u64,
    /// Frames faded out.
    pub fade_out: u64,
    /// How it follows the previous song.
    pub join: JoinFrames,
}

/// How a song follows the previous one, in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinFrames {
    /// Frames of silence between the two (0: butted together).
    Gap(u64),
    /// Frames the two overlap, and the curves.
    Crossfade(u64, CrossfadeCurve),
}

/// Why the songs cannot be sequenced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceError {
    /// The trims leave nothing of a song.
    #[error(
        "song {song}'s trims ({trimmed:.3} s) leave nothing of its {seconds:.3} s",
        song = song + 1
    )]
    TrimmedAway {
        /// The song's index.
        song: usize,
        /// The song's length before trims, in seconds.
        seconds: f64,
        /// The trims together, in seconds.
        trimmed: f64,
    },
    /// A crossfade overlaps more than one of the two songs lasts.
    #[error(
        "song {song}'s crossfade of {crossfade:.3} s is longer than {which} ({length:.3} s)",
        song = song + 1
    )]
    CrossfadeTooLong {
        /// The incoming song's index.
        song: usize,
        /// The crossfade, in seconds.
        crossfade: f64,
        /// Which song is shorter than it: `the song before it` or `the song itself`.
        which: &'static str,
        /// That song's length, in seconds.
        length: f64,
    },
}

/// A song placed on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Where the song starts on the album timeline.
    pub start: u64,
    /// How long it plays, after trims.
    pub frames: u64,
}

/// A run of songs that the limiter, the rate conversion and the dither treat as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// The first song's index.
    pub first: usize,
    /// How many songs it holds.
    pub songs: usize,
    /// Where it starts on the album timeline (its first song's start).
    pub start: u64,
    /// Its length: its songs and the gap after the last.
    pub frames: u64,
}

/// The album's timeline at its own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// The album's frames per second.
    pub rate: u32,
    /// Each song's timing, as given.
    pub timings: Vec<SongTiming>,
    /// Each song, placed.
    pub songs: Vec<Placed>,
    /// The segments, in order; they cover the timeline without overlap.
    pub segments: Vec<Segment>,
    /// The album's length.
    pub frames: u64,
}

/// `seconds` in frames at `rate`, rounded to the nearest frame.
#[must_use]
pub fn to_frames(seconds: f64, rate: u32) -> u64 {
    (seconds * f64::from(rate)).round().max(0.0) as u64
}

/// A song's sequencing as the album file gives it, in seconds, with its own gain: what
/// the album's analyses key on and place the songs by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SongShape {
    /// How it follows the previous song.
    pub join: Join,
    /// Seconds faded in.
    pub fade_in: f64,
    /// Seconds faded out.
    pub fade_out: f64,
    /// Seconds cut from its start.
    pub trim_start: f64,
    /// Seconds cut from its end.
    pub trim_end: f64,
    /// Its own gain in dB, before the album's.
    pub gain_db: f64,
}

impl SongShape {
    /// The shape of each of `album`'s songs.
    #[must_use]
    pub fn of(album: &Album) -> Vec<Self> {
        let shape = |song: &crate::ir::Song| Self {
            join: song.join,
            fade_in: song.fade_in,
            fade_out: song.fade_out,
            trim_start: song.trim_start,
            trim_end: song.trim_end,
            gain_db: song.gain_db,
        };
        album.songs.iter().map(shape).collect()
    }
}

/// The timings of songs shaped as `shapes` at `rate`, given each mastered song's length
/// in frames.
#[must_use]
pub fn timings(shapes: &[SongShape], rate: u32, mastered_frames: &[u64]) -> Vec<SongTiming> {
    shapes
        .iter()
        .zip(mastered_frames)
        .map(|(song, &frames)| SongTiming {
            frames,
            trim_start: to_frames(song.trim_start, rate),
            trim_end: to_frames(song.trim_end, rate),
            fade_in: to_frames(song.fade_in, rate),
            fade_out: to_frames(song.fade_out, rate),
            join: match song.join {
                Join::Gap(seconds) => JoinFrames::Gap(to_frames(seconds, rate)),
                Join::Crossfade { seconds, curve } => {
                    JoinFrames::Crossfade(to_frames(seconds, rate), curve)
                }
            },
        })
        .collect()
}

impl Sequence {
    /// Places songs with these timings at `rate`. The first song's join is ignored.
    ///
    /// # Errors
    /// When trims leave nothing of a song, or a crossfade is longer than either song.
    pub fn place(rate: u32, timings: &[SongTiming]) -> Result<Self, SequenceError> {
        let seconds = |frames: u64| frames as f64 / f64::from(rate);
        let mut songs: Vec<Placed> = Vec::with_capacity(timings.len());
        let mut segments: Vec<Segment> = Vec::new();
        for (index, timing) in timings.iter().enumerate() {
            let trimmed = timing.trim_start + timing.trim_end;
            if trimmed >= timing.frames {
                return Err(SequenceError::TrimmedAway {
                    song: index,
                    seconds: seconds(timing.frames),
                    trimmed: seconds(trimmed),
                });
            }
            let frames = timing.frames - trimmed;
            let (start, new_segment) = match (songs.last(), timing.join) {
                (None, _) => (0, true),
                (Some(previous), JoinFrames::Gap(gap)) => {
                    (previous.start + previous.frames + gap, gap > 0)
                }
                (Some(previous), JoinFrames::Crossfade(overlap, _)) => {
                    let shorter = if overlap > previous.frames {
                        Some(("the song before it", previous.frames))
                    } else if overlap > frames {
                        Some(("the song itself", frames))
                    } else {
                        None
                    };
                    if let Some((which, length)) = shorter {
                        return Err(SequenceError::CrossfadeTooLong {
                            song: index,
                            crossfade: seconds(overlap),
                            which,
                            length: seconds(length),
                        });
                    }
                    (previous.start + previous.frames - overlap, false)
                }
            };
            if new_segment {
                segments.push(Segment { first: index, songs: 0, start, frames: 0 });
            }
            segments.last_mut().expect("the first song opens a segment").songs += 1;
            songs.push(Placed { start, frames });
        }
        let end = songs.last().map_or(0, |s| s.start + s.frames);
        let starts: Vec<u64> = segments.iter().map(|s| s.start).skip(1).chain([end]).collect();
        for (segment, next) in segments.iter_mut().zip(starts) {
            segment.frames = next - segment.start;
        }
        Ok(Self { rate, timings: timings.to_vec(), songs, segments, frames: end })
    }

    /// Where song `index`'s delivered span ends on the timeline: the next song's start, or
    /// the album's end.
    #[must_use]
    pub fn span_end(&self, index: usize) -> u64 {
        self.songs.get(index + 1).map_or(self.frames, |next| next.start)
    }

    /// Segment `k` described relative to its own start, with each song's gain in dB.
    #[must_use]
    pub fn segment_plan(&self, k: usize, gains_db: &[f64]) -> SegmentPlan {
        let segment = self.segments[k];
        let range = segment.first..segment.first + segment.songs;
        let songs = range
            .map(|i| {
                let (placed, timing) = (self.songs[i], self.timings[i]);
                let crossfade_of = |j: usize| match self.timings.get(j).map(|t| t.join) {
                    Some(JoinFrames::Crossfade(frames, curve)) if j > 0 => Some((frames, curve)),
                    _ => None,
                };
                let within = i > segment.first;
                SegmentSong {
                    offset: placed.start - segment.start,
                    skip: timing.trim_start,
                    frames: placed.frames,
                    fade_in: timing.fade_in.min(placed.frames),
                    fade_out: timing.fade_out.min(placed.frames),
                    crossfade_in: crossfade_of(i).filter(|_| within),
                    crossfade_out: crossfade_of(i + 1)
                        .filter(|_| i + 1 < segment.first + segment.songs),
                    gain_db: gains_db[i],
                }
            })
            .collect();
        SegmentPlan { songs, frames: segment.frames }
    }
}

/// A segment relative to its own start, at the album's rate: what a segment node renders
/// before the limiter, and part of its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentPlan {
    /// Its songs, in order.
    pub songs: Vec<SegmentSong>,
    /// Its length: the songs and the gap after them.
    pub frames: u64,
}

/// One song of a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSong {
    /// Where it starts in the segment.
    pub offset: u64,
    /// Frames of the mastered song skipped first (its trim at the start).
    pub skip: u64,
    /// How long it plays.
    pub frames: u64,
    /// Frames faded in linearly at its start.
    pub fade_in: u64,
    /// Frames faded out linearly at its end.
    pub fade_out: u64,
    /// The crossfade from the previous song over its first frames.
    pub crossfade_in: Option<(u64, CrossfadeCurve)>,
    /// The crossfade into the next song over its last frames.
    pub crossfade_out: Option<(u64, CrossfadeCurve)>,
    /// Its gain, in dB.
    pub gain_db: f64,
}

impl SegmentSong {
    /// The song's gain envelope (fades and crossfades, not its gain) at `i` frames into it.
    #[must_use]
    pub fn envelope(&self, i: u64) -> f64 {
        let mut g = 1.0;
        if i < self.fade_in {
            g *= i as f64 / self.fade_in as f64;
        }
        let to_end = self.frames - i;
        if to_end <= self.fade_out {
            g *= (to_end - 1) as f64 / self.fade_out as f64;
        }
        if let Some((frames, curve)) = self.crossfade_in
            && i < frames
        {
            g *= fade_in_curve(curve, i as f64 / frames as f64);
        }
        if let Some((frames, curve)) = self.crossfade_out
            && to_end <= frames
        {
            g *= fade_out_curve(curve, (frames - to_end) as f64 / frames as f64);
        }
        g
    }

    /// Whether frames `i..i + n` lie outside every fade, where the envelope is 1.
    #[must_use]
    pub fn is_flat(&self, i: u64, n: u64) -> bool {
        let head = self.fade_in.max(self.crossfade_in.map_or(0, |c| c.0));
        let tail = self.fade_out.max(self.crossfade_out.map_or(0, |c| c.0));
        i >= head && i + n + tail <= self.frames
    }
}

/// The incoming song's gain at `t` (0 to 1) across a crossfade.
fn fade_in_curve(curve: CrossfadeCurve, t: f64) -> f64 {
    match curve {
        CrossfadeCurve::EqualPower => (std::f64::consts::FRAC_PI_2 * t).sin(),
        CrossfadeCurve::Linear => t,
    }
}

/// The outgoing song's gain at `t` (0 to 1) across a crossfade.
fn fade_out_curve(curve: CrossfadeCurve, t: f64) -> f64 {
    match curve {
        CrossfadeCurve::EqualPower => (std::f64::consts::FRAC_PI_2 * t).cos(),
        CrossfadeCurve::Linear => 1.0 - t,
    }
}

/// `frames` at `from` Hz as frames at `to` Hz, rounded to the nearest frame.
#[must_use]
pub fn convert(frames: u64, from: u32, to: u32) -> u64 {
    let (from, to) = (u128::from(from), u128::from(to));
    ((u128::from(frames) * to + from / 2) / from) as u64
}

/// `frames` rounded to the nearest whole CD frame, or up to the next one when `up`.
#[must_use]
pub fn to_cd_frames(frames: u64, up: bool) -> u64 {
    let add = if up { CD_FRAME - 1 } else { CD_FRAME / 2 };
    (frames + add) / CD_FRAME * CD_FRAME
}

impl SegmentPlan {
    /// The segment's length at `rate`, converted. On a CD target, `cd_start` is where the
    /// segment starts on the album timeline (album-rate frames): its ends are rounded to
    /// whole CD frames where they fall on the whole album, so songs stay within half a frame
    /// of where the other targets put them (the album's last end rounded up, so no sound is
    /// cut).
    #[must_use]
    pub fn frames_at(&self, album_rate: u32, rate: u32, cd_start: Option<u64>, last: bool) -> u64 {
        match cd_start {
            None => convert(self.frames, album_rate, rate),
            Some(start) => {
                let at =
                    |frames: u64, up: bool| to_cd_frames(convert(frames, album_rate, rate), up);
                at(start + self.frames, last) - at(start, false)
            }
        }
    }

    /// Where song `i` of the segment starts at `rate`, converted; on a CD target (see
    /// [`SegmentPlan::frames_at`]) on the nearest CD frame of the whole album.
    #[must_use]
    pub fn offset_at(&self, i: usize, album_rate: u32, rate: u32, cd_start: Option<u64>) -> u64 {
        point_at(self.songs[i].offset, album_rate, rate, cd_start)
    }

    /// Where song `i`'s own audio ends at `rate` (the start of the gap after it, or of the
    /// crossfade's end), placed as [`SegmentPlan::offset_at`] places starts.
    #[must_use]
    pub fn song_end_at(&self, i: usize, album_rate: u32, rate: u32, cd_start: Option<u64>) -> u64 {
        let song = &self.songs[i];
        point_at(song.offset + song.frames, album_rate, rate, cd_start)
    }
}

/// A point `offset` frames into a segment at `rate`; on a CD target, with the segment
/// starting at `cd_start` on the album timeline, on the album's nearest CD frame.
fn point_at(offset: u64, album_rate: u32, rate: u32, cd_start: Option<u64>) -> u64 {
    match cd_start {
        None => convert(offset, album_rate, rate),
        Some(start) => {
            let at = |frames: u64| to_cd_frames(convert(frames, album_rate, rate), false);
            at(start + offset) - at(start)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    fn song(seconds: f64, join: JoinFrames) -> SongTiming {
        SongTiming {
            frames: to_frames(seconds, RATE),
            trim_start: 0,
            trim_end: 0,
            fade_in: 0,
            fade_out: 0,
            join,
        }
    }

    fn gap(seconds: f64) -> JoinFrames {
        JoinFrames::Gap(to_frames(seconds, RATE))
    }

    fn crossfade(seconds: f64) -> JoinFrames {
        JoinFrames::Crossfade(to_frames(seconds, RATE), CrossfadeCurve::EqualPower)
    }

    #[test]
    fn songs_after_gaps_start_after_the_silence_and_crossfades_overlap() {
        let timings = [song(10.0, gap(0.0)), song(20.0, gap(2.0)), song(5.0, crossfade(1.5))];
        let s = Sequence::place(RATE, &timings).unwrap();
        let starts: Vec<u64> = s.songs.iter().map(|p| p.start).collect();
        assert_eq!(starts, [0, 12 * 48_000, 305 * 4_800]);
        assert_eq!(s.frames, 305 * 4_800 + 5 * 48_000);
        assert_eq!(s.span_end(0), 12 * 48_000, "the gap belongs to the song before it");
    }

    #[test]
    fn a_segment_is_a_song_and_its_gap_or_songs_joined_by_crossfades() {
        let timings = [
            song(10.0, gap(0.0)),
            song(20.0, gap(2.0)),
            song(5.0, crossfade(1.5)),
            song(5.0, gap(2.0)),
            song(5.0, gap(0.0)),
        ];
        let s = Sequence::place(RATE, &timings).unwrap();
        let shape: Vec<(usize, usize)> = s.segments.iter().map(|g| (g.first, g.songs)).collect();
        assert_eq!(shape, [(0, 1), (1, 2), (3, 2)]);
        let total: u64 = s.segments.iter().map(|g| g.frames).sum();
        assert_eq!(total, s.frames, "segments cover the timeline");
        assert_eq!(s.segments[0].frames, 12 * 48_000, "a song with the gap after it");
    }

    #[test]
    fn a_crossfade_longer_than_either_song_is_refused() {
        let err = Sequence::place(RATE, &[song(1.0, gap(0.0)), song(10.0, crossfade(2.0))]);
        assert!(
            matches!(err, Err(SequenceError::CrossfadeTooLong { song: 1, which, .. }) if which == "the song before it")
        );
        let err = Sequence::place(RATE, &[song(10.0, gap(0.0)), song(1.0, crossfade(2.0))]);
        assert!(
            matches!(err, Err(SequenceError::CrossfadeTooLong { which, .. }) if which == "the song itself")
        );
    }

    #[test]
    fn trims_that_leave_nothing_are_refused() {
        let mut t = song(1.0, gap(0.0));
        t.trim_start = 30_000;
        t.trim_end = 18_000;
        assert!(matches!(
            Sequence::place(RATE, &[t]),
            Err(SequenceError::TrimmedAway { song: 0, .. })
        ));
    }

    #[test]
    fn an_equal_power_crossfade_keeps_the_summed_power_at_one() {
        let timings = [song(4.0, gap(0.0)), song(4.0, crossfade(1.0))];
        let s = Sequence::place(RATE, &timings).unwrap();
        let plan = s.segment_plan(0, &[0.0, 0.0]);
        let (out, into) = (&plan.songs[0], &plan.songs[1]);
        assert_eq!(into.offset, 3 * 48_000);
        for k in [0u64, 1, 12_000, 24_000, 47_999] {
            let a = out.envelope(into.offset + k - out.offset);
            let b = into.envelope(k);
            assert!((a * a + b * b - 1.0).abs() < 1e-9, "at {k}: {a} and {b}");
        }
        assert_eq!(into.envelope(0), 0.0);
        assert_eq!(out.envelope(0), 1.0);
    }

    #[test]
    fn linear_fades_run_from_silence_and_to_silence() {
        let mut t = song(2.0, gap(0.0));
        t.fade_in = 1000;
        t.fade_out = 2000;
        let s = Sequence::place(RATE, &[t]).unwrap();
        let only = &s.segment_plan(0, &[0.0]).songs[0];
        assert_eq!(only.envelope(0), 0.0);
        assert_eq!(only.envelope(500), 0.5);
        assert_eq!(only.envelope(1000), 1.0);
        assert_eq!(only.envelope(only.frames - 1), 0.0);
        assert!(only.is_flat(1000, 10) && !only.is_flat(999, 10));
    }

    #[test]
    fn cd_segments_are_whole_cd_frames_and_the_last_is_rounded_up() {
        let timings = [song(3.3, gap(0.0)), song(4.7, gap(2.01))];
        let s = Sequence::place(RATE, &timings).unwrap();
        let first = s.segment_plan(0, &[0.0, 0.0]);
        let last = s.segment_plan(1, &[0.0, 0.0]);
        let a = first.frames_at(RATE, 44_100, Some(0), false);
        let b = last.frames_at(RATE, 44_100, Some(s.segments[1].start), true);
        assert_eq!(a % CD_FRAME, 0);
        assert_eq!(b % CD_FRAME, 0);
        let exact_a = convert(first.frames, RATE, 44_100);
        assert!(a.abs_diff(exact_a) <= CD_FRAME / 2, "a gap moves by less than a frame");
        assert!(a + b >= convert(s.frames, RATE, 44_100), "the last segment loses no sound");
        let second = last.offset_at(0, RATE, 44_100, Some(s.segments[1].start));
        let exact = convert(s.songs[1].start, RATE, 44_100);
        assert!((a + second).abs_diff(exact) <= CD_FRAME / 2, "a start on the album's CD frame");
    }

    #[test]
    fn a_segment_plan_does_not_depend_on_where_the_segment_sits() {
        let a = [song(10.0, gap(0.0)), song(7.0, gap(2.0))];
        let b = [song(3.0, gap(0.0)), song(7.0, gap(2.0))];
        let (sa, sb) = (Sequence::place(RATE, &a).unwrap(), Sequence::place(RATE, &b).unwrap());
        assert_eq!(sa.segment_plan(1, &[0.0, 1.0]), sb.segment_plan(1, &[0.0, 1.0]));
    }

    #[test]
    fn conversion_rounds_to_the_nearest_frame() {
        assert_eq!(convert(48_000, 48_000, 44_100), 44_100);
        assert_eq!(convert(1, 48_000, 44_100), 1);
        assert_eq!(to_cd_frames(294, false), 588);
        assert_eq!(to_cd_frames(293, false), 0);
        assert_eq!(to_cd_frames(1, true), 588);
    }
}
