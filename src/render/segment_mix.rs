//! A segment's songs played together at the album's rate: each mastered song trimmed,
//! faded, crossfaded and gained where the segment's plan puts it, then silence for the gap
//! after the last. The album's analyses and segment nodes both play segments through
//! here, so they hear exactly the same audio.

use super::NodeError;
use super::converted::KeepsFailure;
use super::inputs::Stream;
use super::stream::read_full;
use super::track::skip;
use crate::album::sequence::{SegmentPlan, SegmentSong};
use crate::audio::{AudioError, Source};
use crate::dsp::BLOCK_FRAMES;
use crate::units::db_to_gain;

/// A segment being played, block by block.
pub(super) struct SegmentMix {
    songs: Vec<Playing>,
    rate: u32,
    frames: u64,
    at: u64,
    scratch: [Vec<f32>; 2],
    /// The error that stopped a song's stream, kept for the caller when the mix is read as
    /// a [`Source`].
    failure: Option<NodeError>,
}

/// One song of the segment and the stream of its mastered audio.
struct Playing {
    song: SegmentSong,
    gain: f64,
    stream: Box<dyn Stream>,
    /// Whether the song's trimmed start has been skipped.
    started: bool,
}

impl SegmentMix {
    /// Plays `plan` at `rate` from `streams`, one per song of the plan, in order.
    pub(super) fn new(plan: &SegmentPlan, rate: u32, streams: Vec<Box<dyn Stream>>) -> Self {
        let songs = plan
            .songs
            .iter()
            .zip(streams)
            .map(|(song, stream)| Playing {
                song: song.clone(),
                gain: db_to_gain(song.gain_db),
                stream,
                started: false,
            })
            .collect();
        Self {
            songs,
            rate,
            frames: plan.frames,
            at: 0,
            scratch: [vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]],
            failure: None,
        }
    }

    /// Fills the next `left.len()` frames (at most [`BLOCK_FRAMES`]; zeros past the
    /// segment's end) and hands each song's own part of them to `each` (its index and its
    /// samples, as they were added). Returns the frames of the segment filled.
    ///
    /// # Errors
    /// When a song's stream fails.
    pub(super) fn fill(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        mut each: impl FnMut(usize, &[f32], &[f32]),
    ) -> Result<usize, NodeError> {
        left.fill(0.0);
        right.fill(0.0);
        let block = (left.len() as u64).min(self.frames - self.at);
        let (start, end) = (self.at, self.at + block);
        for (index, playing) in self.songs.iter_mut().enumerate() {
            let song = &playing.song;
            let (from, to) = (song.offset.max(start), (song.offset + song.frames).min(end));
            if from >= to {
                continue;
            }
            if !playing.started {
                skip(playing.stream.as_mut(), song.skip)?;
                playing.started = true;
            }
            let n = (to - from) as usize;
            let [sl, sr] = &mut self.scratch;
            let (sl, sr) = (&mut sl[..n], &mut sr[..n]);
            read_full(playing.stream.as_mut(), sl, sr)?;
            let i = from - song.offset;
            if song.is_flat(i, n as u64) {
                let g = playing.gain as f32;
                sl.iter_mut().chain(sr.iter_mut()).for_each(|x| *x *= g);
            } else {
                for k in 0..n {
                    let g = (playing.gain * song.envelope(i + k as u64)) as f32;
                    sl[k] *= g;
                    sr[k] *= g;
                }
            }
            let out = (from - start) as usize;
            left[out..out + n].iter_mut().zip(sl.iter()).for_each(|(o, x)| *o += *x);
            right[out..out + n].iter_mut().zip(sr.iter()).for_each(|(o, x)| *o += *x);
            each(index, sl, sr);
        }
        self.at = end;
        Ok(block as usize)
    }

    /// Reads every song's stream to its end (the trimmed end and the chain's tail), so that
    /// each entry's checksum is verified even where the segment does not play it.
    ///
    /// # Errors
    /// When a stream fails or its entry is damaged.
    pub(super) fn finish(mut self) -> Result<(), NodeError> {
        let [l, r] = &mut self.scratch;
        for playing in &mut self.songs {
            while read_full(playing.stream.as_mut(), l, r)? > 0 {}
        }
        Ok(())
    }
}

impl KeepsFailure for SegmentMix {
    fn failure_or(&mut self, converter: AudioError) -> NodeError {
        self.failure.take().unwrap_or(NodeError::Audio(converter))
    }
}

impl Source for SegmentMix {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn frames(&self) -> Option<u64> {
        Some(self.frames)
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, AudioError> {
        let n = left.len().min(BLOCK_FRAMES);
        match self.fill(&mut left[..n], &mut right[..n], |_, _, _| {}) {
            Ok(filled) => Ok(filled),
            Err(error) => {
                self.failure = Some(error);
                Err(AudioError::Resample {
                    from: self.rate,
                    to: self.rate,
                    reason: "a song failed".into(),
                })
            }
        }
    }
}
