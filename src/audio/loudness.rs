//! Loudness measurement: integrated loudness, momentary and short-term maxima, loudness
//! range, sample and true peak, PLR and duration of planar stereo audio, as ITU-R BS.1770,
//! EBU Tech 3341 ("EBU Mode") and EBU Tech 3342 define them.
//!
//! [`LoudnessMeter`] takes audio block by block, in blocks of any size, and its result does
//! not depend on how the audio was split. [`LoudnessRecord`] is the result: a small plain
//! value that serialises with serde, so it can be stored beside a node's audio and read
//! back instead of measuring again. A value that does not exist (the loudness of silence,
//! the short-term maximum of a file shorter than 3 s) is `None`, never NaN or infinity.
//!
//! The K-weighting is [`KWeighting`]'s. The meter takes the weighted energy of every 10 ms
//! hop (at rates where 10 ms is not a whole number of frames, the shortest hop dividing
//! both windows that is) and builds every window from hops, so no window's audio is summed
//! twice: the latest 40 and 300 hops are the momentary (400 ms) and short-term (3 s)
//! windows. A window therefore ends every hop, and a burst is caught within half a hop of
//! its best alignment: with 10 ms hops, at every rate that is a multiple of 100 Hz, a
//! 400 ms burst reads at most 0.06 LU low. Only complete windows count toward the maxima.
//! Every tenth momentary window is a gating block and every hundredth short-term window a
//! range window, as the `ebur128` crate takes them; [`GatedWindows`] gates them as that
//! crate does, and that crate's readings are what the tests hold this meter to. The true
//! peak comes from [`TruePeakMeter`], which reads what `ebur128` would but passes over
//! audio that cannot raise the peak.
//!
//! Each channel is K-weighted by a [`ChannelMeter`] of its own, which can run on a thread
//! of its own; [`LoudnessMeter::from_channels`] joins two, summing their hop energies. A
//! [`LoudnessMeter`] fed stereo blocks filters both channels in one pass, which is twice
//! as fast as one after the other.
//!
//! Consecutive stretches of one programme (an album's songs) measured apart pool into the
//! programme's measurement without reading the audio again: each keeps a
//! [`PoolableRecord`], and a [`LoudnessPool`] gates their windows together, as BS.1770 gates
//! a whole programme. The windows keep each stretch's phase, so a window straddling two
//! stretches is missing; between songs that is a gap of silence, which the gate drops.
//!
//! Memory: the meter holds 3 s of hop energies and 400 ms of filtered audio, plus the
//! gating history that BS.1770 needs to find the relative gate at the end, which grows by
//! under 100 bytes a second (a third of a megabyte an hour). Binning the history would hold
//! it constant, but rounding every block to the centre of a 0.1 LU bin reads a steady tone
//! 0.05 LU high: half of the conformance tolerance. A channel meter run apart keeps its
//! hop energies until it is joined: 800 bytes a second.
//!
//! Mono audio reaches the meter as the decoder delivers it, in both channels, so it is
//! measured as it sounds on a stereo pair.
//!
//! This module measures; it does not decode, cache or print.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::gating::GatedWindows;
use super::k_weighting::{KState, KWeighting, Weighted};
use super::true_peak::TruePeakMeter;
use super::{AudioError, READ_BLOCK_FRAMES, Source};

/// The momentary window, in milliseconds.
const MOMENTARY_MS: u32 = 400;
/// The short-term window, in milliseconds.
const SHORT_TERM_MS: u32 = 3000;
/// Hops the sliding windows may advance by, shortest first: each divides both windows.
const HOPS_MS: [u32; 6] = [10, 20, 25, 40, 50, 100];
/// How often a gating block closes, in milliseconds, as BS.1770 says (75% overlap).
const GATING_STEP_MS: u32 = 100;
/// How often a loudness range window closes, in milliseconds, as `ebur128` does.
const RANGE_STEP_MS: u32 = 1000;
/// The lowest and highest rates the meter takes.
const RATES: std::ops::RangeInclusive<u32> = 16..=2_822_400;
/// The offset in BS.1770's loudness formula: L = -0.691 + 10 log10(energy).
const LOUDNESS_OFFSET: f64 = -0.691;

/// What a meter measured, in the units engineers read: LUFS for loudness, LU for the range,
/// dBFS and dBTP for peaks, seconds for the duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoudnessRecord {
    /// Integrated (programme) loudness in LUFS, gated as BS.1770 says; `None` when no
    /// 400 ms block rises above the -70 LUFS gate (silence, or under 400 ms of audio).
    pub integrated: Option<f64>,
    /// The loudest 400 ms window in LUFS; `None` for silence or under 400 ms of audio.
    pub momentary_max: Option<f64>,
    /// The loudest 3 s window in LUFS; `None` for silence or under 3 s of audio.
    pub short_term_max: Option<f64>,
    /// Loudness range (EBU Tech 3342) in LU; `None` when there is no integrated loudness
    /// or no complete 3 s window.
    pub loudness_range: Option<f64>,
    /// The largest sample magnitude of either channel in dBFS; `None` for silence.
    pub sample_peak: Option<f64>,
    /// The largest magnitude between samples too, from 4× oversampling (2× from 96 kHz,
    /// none from 192 kHz), in dBTP; never below the sample peak; `None` for silence.
    pub true_peak: Option<f64>,
    /// Length of the audio in seconds.
    pub duration: f64,
}

impl LoudnessRecord {
    /// Peak to loudness ratio: true peak minus integrated loudness, in LU.
    #[must_use]
    pub fn plr(&self) -> Option<f64> {
        Some(self.true_peak? - self.integrated?)
    }
}

/// The meter refuses this sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot measure loudness at {rate} Hz: the meter takes 16 Hz to 2822.4 kHz")]
pub struct UnsupportedRate {
    /// The rate asked for.
    pub rate: u32,
}

/// Why measuring a [`Source`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeasureError {
    /// The audio could not be read.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The audio's rate is outside what the meter takes.
    #[error(transparent)]
    Rate(#[from] UnsupportedRate),
}

/// One channel's share of a measurement, which can run on a thread of its own: the
/// K-weighted energy of each hop, and the channel's sample and true peaks. A
/// [`LoudnessMeter`] joins two.
pub struct ChannelMeter {
    filter: KWeighting,
    state: KState,
    /// The weighted energy and sample peak of the hop under way.
    open_hop: Weighted,
    /// The largest sample magnitude of the hops closed.
    sample_peak: f32,
    /// `None` when the meter was made without one, or at rates where samples are peaks.
    true_peak: Option<TruePeakMeter>,
    measures_true_peak: bool,
    sample_rate: u32,
    /// The hop: `hop_frames` frames, `hop_ms` milliseconds.
    hop_ms: u32,
    hop_frames: usize,
    /// Frames still to add before the current hop is complete.
    frames_to_hop: usize,
    /// Mean-square weighted energy of each hop completed and not yet taken, oldest first.
    hops: Vec<f64>,
    frames: u64,
}

impl std::fmt::Debug for ChannelMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelMeter")
            .field("sample_rate", &self.sample_rate)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl ChannelMeter {
    /// A channel's meter for audio at `sample_rate`, with its true peak or without.
    ///
    /// # Errors
    /// When the rate is below 16 Hz or above 2822.4 kHz.
    pub fn new(sample_rate: u32, measures_true_peak: bool) -> Result<Self, UnsupportedRate> {
        if !RATES.contains(&sample_rate) {
            return Err(UnsupportedRate { rate: sample_rate });
        }
        let hop_ms = hop_ms(sample_rate);
        let hop_frames = (u64::from(sample_rate) * u64::from(hop_ms) / 1000) as usize;
        Ok(Self {
            filter: KWeighting::new(sample_rate),
            state: KState::default(),
            open_hop: Weighted::default(),
            sample_peak: 0.0,
            true_peak: measures_true_peak.then(|| TruePeakMeter::new(sample_rate)).flatten(),
            measures_true_peak,
            sample_rate,
            hop_ms,
            hop_frames,
            frames_to_hop: hop_frames,
            hops: Vec::new(),
            frames: 0,
        })
    }

    /// Measures the channel's next block.
    pub fn add(&mut self, samples: &[f32]) {
        self.count(samples);
        let mut start = 0;
        while start < samples.len() {
            let end = samples.len().min(start + self.frames_to_hop);
            self.filter.run(&mut self.state, &samples[start..end], &mut self.open_hop);
            self.advance(end - start);
            start = end;
        }
    }

    /// What a block adds besides its weighted energy: its true peak, and its frames.
    fn count(&mut self, samples: &[f32]) {
        if let Some(true_peak) = &mut self.true_peak {
            true_peak.add(samples);
        }
        self.frames += samples.len() as u64;
    }

    /// Counts `frames` more frames of the hop under way (filtered into `open_hop`), and
    /// closes the hop when they complete it.
    fn advance(&mut self, frames: usize) {
        self.frames_to_hop -= frames;
        if self.frames_to_hop == 0 {
            let energy = self.open_hop.energy / self.hop_frames as f64;
            // A hop with a sample that is not a number counts as silence.
            self.hops.push(if energy.is_finite() { energy } else { 0.0 });
            self.sample_peak = self.sample_peak.max(self.open_hop.sample_peak);
            self.open_hop = Weighted::default();
            self.state.settle();
            self.frames_to_hop = self.hop_frames;
        }
    }

    /// The largest sample magnitude so far, linear.
    fn sample_peak(&self) -> f64 {
        f64::from(self.sample_peak.max(self.open_hop.sample_peak))
    }

    /// The largest magnitude between samples so far, linear; never below the sample peak.
    fn true_peak(&self) -> f64 {
        let sample_peak = self.sample_peak();
        self.true_peak.as_ref().map_or(sample_peak, |m| sample_peak.max(f64::from(m.peak())))
    }
}

/// A loudness meter for planar stereo `f32` audio at one sample rate: two
/// [`ChannelMeter`]s, and the windows made of their hops.
#[derive(Debug)]
pub struct LoudnessMeter {
    channels: [ChannelMeter; 2],
    windows: Windows,
}

impl LoudnessMeter {
    /// A meter for audio at `sample_rate`.
    ///
    /// # Errors
    /// When the rate is below 16 Hz or above 2822.4 kHz.
    pub fn new(sample_rate: u32) -> Result<Self, UnsupportedRate> {
        Self::with_true_peak(sample_rate, true)
    }

    /// A meter that measures everything but the true peak, which costs most: its records
    /// have none.
    ///
    /// # Errors
    /// When the rate is below 16 Hz or above 2822.4 kHz.
    pub fn without_true_peak(sample_rate: u32) -> Result<Self, UnsupportedRate> {
        Self::with_true_peak(sample_rate, false)
    }

    fn with_true_peak(sample_rate: u32, measures_true_peak: bool) -> Result<Self, UnsupportedRate> {
        let channel = || ChannelMeter::new(sample_rate, measures_true_peak);
        Ok(Self::from_channels([channel()?, channel()?]))
    }

    /// The meter of the audio that `left` and `right` measured, each on its own; they must
    /// have taken as many frames at one rate.
    #[must_use]
    pub fn from_channels(channels: [ChannelMeter; 2]) -> Self {
        assert_eq!(channels[0].frames, channels[1].frames, "both channels took as many frames");
        let mut meter = Self { windows: Windows::new(channels[0].hop_ms), channels };
        meter.take_hops();
        meter
    }

    /// Measures the next block; `left` and `right` must have the same length.
    pub fn add(&mut self, left: &[f32], right: &[f32]) {
        assert_eq!(left.len(), right.len(), "a stereo block has two channels of one length");
        let [l_meter, r_meter] = &mut self.channels;
        l_meter.count(left);
        r_meter.count(right);
        // Both channels have taken as many frames, so their hops close together.
        let mut start = 0;
        while start < left.len() {
            let end = left.len().min(start + l_meter.frames_to_hop);
            let mut states = [l_meter.state, r_meter.state];
            let mut open = [l_meter.open_hop, r_meter.open_hop];
            let (l, r) = (&left[start..end], &right[start..end]);
            l_meter.filter.run_pair(&mut states, l, r, &mut open);
            [l_meter.state, r_meter.state] = states;
            [l_meter.open_hop, r_meter.open_hop] = open;
            l_meter.advance(end - start);
            r_meter.advance(end - start);
            start = end;
        }
        self.take_hops();
    }

    /// Hands the hops both channels have completed to the windows, as one stereo energy.
    fn take_hops(&mut self) {
        let [left, right] = &mut self.channels;
        for (l, r) in left.hops.drain(..).zip(right.hops.drain(..)) {
            self.windows.close_hop(l + r);
        }
    }

    /// The loudness of the latest short-term (3 s) window, in LUFS; `None` until 3 s have
    /// been added, or for silence.
    #[must_use]
    pub fn short_term(&self) -> Option<f64> {
        self.windows.short_term().and_then(energy_to_loudness)
    }

    /// What the meter has measured so far.
    #[must_use]
    pub fn record(&self) -> LoudnessRecord {
        let [left, right] = &self.channels;
        let w = &self.windows;
        let integrated = w.gating_blocks.integrated_energy().and_then(energy_to_loudness);
        let short_term_max = w.short_term_max.and_then(energy_to_loudness);
        let range = w.range_blocks.range(|e| LOUDNESS_OFFSET + 10.0 * e.log10());
        let sample_peak = left.sample_peak().max(right.sample_peak());
        let true_peak = left.true_peak().max(right.true_peak());
        LoudnessRecord {
            integrated,
            momentary_max: w.momentary_max.and_then(energy_to_loudness),
            short_term_max,
            loudness_range: integrated.and(short_term_max).and(finite(range)),
            sample_peak: finite(20.0 * sample_peak.log10()),
            true_peak: left.measures_true_peak.then(|| finite(20.0 * true_peak.log10())).flatten(),
            duration: left.frames as f64 / f64::from(left.sample_rate),
        }
    }

    /// What has been measured so far, with the windows behind it, for pooling.
    #[must_use]
    pub fn poolable(&self) -> PoolableRecord {
        PoolableRecord {
            record: self.record(),
            gated: GatedEnergies {
                blocks: self.windows.gating_blocks.clone(),
                range: self.windows.range_blocks.clone(),
            },
        }
    }
}

/// A measurement with the gated windows behind it, so that it pools with the
/// measurements of the stretches before and after it ([`LoudnessPool`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolableRecord {
    /// The stretch's own measurement.
    pub record: LoudnessRecord,
    /// The windows behind it.
    pub gated: GatedEnergies,
}

/// The gated windows behind a measurement's integrated loudness and loudness range: its
/// 400 ms gating blocks and 3 s range windows above the absolute gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatedEnergies {
    blocks: GatedWindows,
    range: GatedWindows,
}

/// Measurements of consecutive stretches of one programme, pooled into the programme's:
/// the integrated loudness and range gate every stretch's windows together, the maxima and
/// peaks are the largest, the duration is the sum.
#[derive(Debug, Clone, Default)]
pub struct LoudnessPool {
    gated: GatedEnergies,
    momentary_max: Option<f64>,
    short_term_max: Option<f64>,
    sample_peak: Option<f64>,
    true_peak: Option<f64>,
    duration: f64,
}

impl LoudnessPool {
    /// Adds the next stretch.
    pub fn add(&mut self, stretch: &PoolableRecord) {
        let PoolableRecord { record, gated } = stretch;
        let larger = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.gated.blocks.extend(&gated.blocks);
        self.gated.range.extend(&gated.range);
        self.momentary_max = larger(self.momentary_max, record.momentary_max);
        self.short_term_max = larger(self.short_term_max, record.short_term_max);
        self.sample_peak = larger(self.sample_peak, record.sample_peak);
        self.true_peak = larger(self.true_peak, record.true_peak);
        self.duration += record.duration;
    }

    /// The programme's measurement.
    #[must_use]
    pub fn record(&self) -> LoudnessRecord {
        let integrated = self.gated.blocks.integrated_energy().and_then(energy_to_loudness);
        let range = self.gated.range.range(|e| LOUDNESS_OFFSET + 10.0 * e.log10());
        LoudnessRecord {
            integrated,
            momentary_max: self.momentary_max,
            short_term_max: self.short_term_max,
            loudness_range: integrated.and(self.short_term_max).and(finite(range)),
            sample_peak: self.sample_peak,
            true_peak: self.true_peak,
            duration: self.duration,
        }
    }
}

/// The sliding windows made of hops, their maxima, and the windows the gating keeps.
#[derive(Debug)]
struct Windows {
    /// Energy of each of the latest hops, oldest first; at most one short-term window's
    /// worth.
    hops: VecDeque<f64>,
    momentary_hops: usize,
    short_term_hops: usize,
    /// Hops completed so far.
    hops_closed: usize,
    /// A gating block (a momentary window) closes every `gating_step_hops` hops, and a
    /// range window (a short-term window) every `range_step_hops`.
    gating_step_hops: usize,
    range_step_hops: usize,
    gating_blocks: GatedWindows,
    range_blocks: GatedWindows,
    /// The largest window energies so far, `None` until a window is complete.
    momentary_max: Option<f64>,
    short_term_max: Option<f64>,
}

impl Windows {
    fn new(hop_ms: u32) -> Self {
        let short_term_hops = (SHORT_TERM_MS / hop_ms) as usize;
        Self {
            hops: VecDeque::with_capacity(short_term_hops),
            momentary_hops: (MOMENTARY_MS / hop_ms) as usize,
            short_term_hops,
            hops_closed: 0,
            // At the few rates whose hop does not divide 100 ms, a block closes every hop.
            gating_step_hops: if GATING_STEP_MS.is_multiple_of(hop_ms) {
                (GATING_STEP_MS / hop_ms) as usize
            } else {
                1
            },
            range_step_hops: (RANGE_STEP_MS / hop_ms) as usize,
            gating_blocks: GatedWindows::default(),
            range_blocks: GatedWindows::default(),
            momentary_max: None,
            short_term_max: None,
        }
    }

    /// Takes the energy of the hop just completed and updates the windows.
    fn close_hop(&mut self, energy: f64) {
        if self.hops.len() == self.short_term_hops {
            self.hops.pop_front();
        }
        self.hops.push_back(energy);
        self.hops_closed += 1;
        if self.hops.len() >= self.momentary_hops {
            let recent = self.hops.iter().rev().take(self.momentary_hops);
            let momentary = recent.sum::<f64>() / self.momentary_hops as f64;
            self.momentary_max = Some(self.momentary_max.map_or(momentary, |m| m.max(momentary)));
            if (self.hops_closed - self.momentary_hops).is_multiple_of(self.gating_step_hops) {
                self.gating_blocks.add(momentary);
            }
        }
        if let Some(short_term) = self.short_term() {
            self.short_term_max =
                Some(self.short_term_max.map_or(short_term, |m| m.max(short_term)));
            if (self.hops_closed - self.short_term_hops).is_multiple_of(self.range_step_hops) {
                self.range_blocks.add(short_term);
            }
        }
    }

    /// The energy of the latest short-term window; `None` until one is complete.
    fn short_term(&self) -> Option<f64> {
        (self.hops.len() == self.short_term_hops)
            .then(|| self.hops.iter().sum::<f64>() / self.short_term_hops as f64)
    }
}

/// Measures `source` to its end, a block at a time.
///
/// # Errors
/// When the source cannot be read, or its rate is outside what the meter takes.
pub fn measure<S: Source + ?Sized>(source: &mut S) -> Result<LoudnessRecord, MeasureError> {
    Ok(measure_poolable(source)?.record)
}

/// Measures `source` to its end, keeping the windows behind the measurement.
///
/// # Errors
/// When the source cannot be read, or its rate is outside what the meter takes.
pub fn measure_poolable<S: Source + ?Sized>(
    source: &mut S,
) -> Result<PoolableRecord, MeasureError> {
    let mut meter = LoudnessMeter::new(source.sample_rate())?;
    let (mut left, mut right) = (vec![0.0; READ_BLOCK_FRAMES], vec![0.0; READ_BLOCK_FRAMES]);
    loop {
        let n = source.read(&mut left, &mut right)?;
        if n == 0 {
            return Ok(meter.poolable());
        }
        meter.add(&left[..n], &right[..n]);
    }
}

/// The shortest hop that is a whole number of frames at `sample_rate`, so that windows of
/// whole hops are exactly 400 ms and 3 s long; 100 ms (rounded down to a frame) at rates
/// where none is.
fn hop_ms(sample_rate: u32) -> u32 {
    let whole = |ms: &u32| (u64::from(sample_rate) * u64::from(*ms)) % 1000 == 0;
    HOPS_MS.into_iter().find(whole).unwrap_or(100)
}

/// BS.1770's loudness of a mean-square weighted energy; `None` for no energy.
fn energy_to_loudness(energy: f64) -> Option<f64> {
    finite(LOUDNESS_OFFSET + 10.0 * energy.log10())
}

/// `x`, unless it is NaN or infinite: the meter's "no value".
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use ebur128::{EbuR128, Mode};

    use super::*;

    const RATE: u32 = 48_000;

    /// A 1 kHz sine with `amplitude_db` peak level, the same in both channels.
    fn sine(rate: u32, amplitude_db: f64, seconds: f64) -> Vec<f32> {
        let amplitude = 10_f64.powf(amplitude_db / 20.0);
        let frames = (seconds * f64::from(rate)).round() as usize;
        let step = std::f64::consts::TAU * 1000.0 / f64::from(rate);
        (0..frames).map(|i| (amplitude * (step * i as f64).sin()) as f32).collect()
    }

    fn measure_whole(rate: u32, left: &[f32], right: &[f32]) -> LoudnessRecord {
        let mut meter = LoudnessMeter::new(rate).unwrap();
        meter.add(left, right);
        meter.record()
    }

    fn assert_near(actual: Option<f64>, expected: f64, tolerance: f64, what: &str) {
        let actual = actual.unwrap_or_else(|| panic!("{what}: no value"));
        assert!((actual - expected).abs() <= tolerance, "{what}: {actual} vs {expected}");
    }

    /// Noise whose level steps up and down, different in each channel, with a loud burst
    /// late on: a peak that most of the audio cannot reach, found after it started.
    fn stepped_noise(rate: u32, seconds: usize) -> (Vec<f32>, Vec<f32>) {
        let mut state = 0x9e37_79b9_u32;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32 - 0.5
        };
        let frames = rate as usize * seconds;
        let level = |i: usize| match (i * 8 / frames, i % (rate as usize)) {
            (6, _) => 1.6,
            (_, k) if k < rate as usize / 4 => 0.9,
            _ => 0.15,
        };
        let left = (0..frames).map(|i| level(i) * uniform()).collect();
        let right = (0..frames).map(|i| 0.5 * level(i) * uniform()).collect();
        (left, right)
    }

    #[test]
    fn the_true_peak_is_the_one_ebur128_reads_at_every_oversampling() {
        for rate in [44_100, 48_000, 96_000, 192_000] {
            let (left, right) = stepped_noise(rate, 4);
            let mut ours = LoudnessMeter::new(rate).unwrap();
            let mut reference = EbuR128::new(2, rate, Mode::TRUE_PEAK).unwrap();
            for (l, r) in left.chunks(1000).zip(right.chunks(1000)) {
                ours.add(l, r);
                reference.add_frames_planar_f32(&[l, r]).unwrap();
            }
            let peak = reference.true_peak(0).unwrap().max(reference.true_peak(1).unwrap());
            assert_eq!(ours.record().true_peak, Some(20.0 * peak.log10()), "{rate} Hz");
        }
    }

    #[test]
    fn integrated_loudness_and_range_are_the_ones_ebur128_reads() {
        // At rates that are a multiple of 100 Hz the windows are ebur128's to the frame; at
        // 11.025 kHz its 100 ms step is 1103 frames, while blocks here close every 40 ms.
        for (rate, tolerance) in [(48_000, 1e-9), (44_100, 1e-9), (96_000, 1e-9), (11_025, 0.05)] {
            let (left, right) = stepped_noise(rate, 12);
            let mut ours = LoudnessMeter::without_true_peak(rate).unwrap();
            let mut reference = EbuR128::new(2, rate, Mode::I | Mode::LRA).unwrap();
            for (l, r) in left.chunks(777).zip(right.chunks(777)) {
                ours.add(l, r);
                reference.add_frames_planar_f32(&[l, r]).unwrap();
            }
            let record = ours.record();
            let integrated = reference.loudness_global().unwrap();
            let range = reference.loudness_range().unwrap();
            assert_near(record.integrated, integrated, tolerance, &format!("{rate} Hz integrated"));
            assert_near(record.loudness_range, range, tolerance, &format!("{rate} Hz range"));
            assert!(range > 1.0, "the steps give the programme a range: {range}");
        }
    }

    #[test]
    fn channels_measured_apart_and_joined_read_what_the_meter_reads() {
        let (left, right) = stepped_noise(48_000, 5);
        let mut together = LoudnessMeter::new(48_000).unwrap();
        let mut apart =
            [ChannelMeter::new(48_000, true).unwrap(), ChannelMeter::new(48_000, true).unwrap()];
        for (l, r) in left.chunks(4096).zip(right.chunks(4096)) {
            together.add(l, r);
        }
        for (meter, channel) in apart.iter_mut().zip([&left, &right]) {
            for block in channel.chunks(1000) {
                meter.add(block);
            }
        }
        assert_eq!(LoudnessMeter::from_channels(apart).record(), together.record());
    }

    #[test]
    fn a_stereo_1_khz_sine_at_minus_23_dbfs_reads_minus_23_lufs_on_every_time_scale() {
        // Tech 3341 §2.9: a stereo 1 kHz sine reads its per-channel peak level in LUFS; its
        // table allows ±0.1 LU. The peaks of a sine are its amplitude, and its range is 0.
        let tone = sine(RATE, -23.0, 5.0);
        let r = measure_whole(RATE, &tone, &tone);
        assert_near(r.integrated, -23.0, 0.1, "integrated");
        assert_near(r.momentary_max, -23.0, 0.1, "momentary max");
        assert_near(r.short_term_max, -23.0, 0.1, "short-term max");
        assert_near(r.loudness_range, 0.0, 0.1, "range");
        assert_near(r.sample_peak, -23.0, 0.01, "sample peak");
        assert_near(r.true_peak, -23.0, 0.05, "true peak");
        assert_near(r.plr(), 0.0, 0.15, "PLR");
        assert_eq!(r.duration, 5.0);
    }

    #[test]
    fn the_same_tone_reads_the_same_loudness_at_other_rates() {
        for rate in [44_100, 96_000, 22_050, 11_025] {
            let tone = sine(rate, -20.0, 4.0);
            let r = measure_whole(rate, &tone, &tone);
            assert_near(r.integrated, -20.0, 0.1, &format!("integrated at {rate} Hz"));
            assert_near(r.momentary_max, -20.0, 0.1, &format!("momentary at {rate} Hz"));
            assert_near(r.short_term_max, -20.0, 0.1, &format!("short-term at {rate} Hz"));
        }
    }

    #[test]
    fn a_mono_signal_in_one_channel_reads_3_db_below_the_same_signal_in_both() {
        // BS.1770 sums the channels' energies: half the energy is 3.01 dB less.
        let tone = sine(RATE, -20.0, 4.0);
        let silent = vec![0.0; tone.len()];
        let one = measure_whole(RATE, &tone, &silent).integrated.unwrap();
        let both = measure_whole(RATE, &tone, &tone).integrated.unwrap();
        assert!((both - one - 3.01).abs() < 0.01, "{both} vs {one}");
    }

    #[test]
    fn measuring_in_blocks_of_any_size_equals_measuring_in_one() {
        // Loud and quiet passages, a burst and an inter-sample peak, so that every figure
        // has something to measure; 7 s covers several short-term windows.
        let frames = 7 * RATE as usize;
        let left: Vec<f32> = (0..frames)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                let level = if (t / 3.5).fract() < 0.5 { 0.5 } else { 0.05 };
                level * (t * 997.0 * std::f32::consts::TAU).sin()
                    + if (3.0..3.2).contains(&t) { 0.4 } else { 0.0 }
            })
            .collect();
        let right: Vec<f32> = left.iter().map(|x| -0.7 * x).collect();
        let whole = measure_whole(RATE, &left, &right);
        for block in [1, 7, 480, 1000, 4096, 65_536] {
            let mut meter = LoudnessMeter::new(RATE).unwrap();
            for (l, r) in left.chunks(block).zip(right.chunks(block)) {
                meter.add(l, r);
            }
            assert_eq!(meter.record(), whole, "blocks of {block} frames");
        }
        assert!(whole.loudness_range.unwrap() > 1.0, "{whole:?}");
    }

    #[test]
    fn silence_reports_no_loudness_and_no_peak() {
        let silence = vec![0.0; 5 * RATE as usize];
        let r = measure_whole(RATE, &silence, &silence);
        let none = LoudnessRecord {
            integrated: None,
            momentary_max: None,
            short_term_max: None,
            loudness_range: None,
            sample_peak: None,
            true_peak: None,
            duration: 5.0,
        };
        assert_eq!(r, none);
        assert_eq!(r.plr(), None);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""integrated":null"#), "{json}");
    }

    #[test]
    fn audio_shorter_than_a_window_has_no_maximum_for_that_window() {
        let tone = sine(RATE, -20.0, 1.0);
        let r = measure_whole(RATE, &tone, &tone);
        assert_near(r.momentary_max, -20.0, 0.1, "momentary max");
        assert_eq!((r.short_term_max, r.loudness_range), (None, None));
        assert_near(r.integrated, -20.0, 0.1, "integrated");
        let blip = sine(RATE, -20.0, 0.3);
        let r = measure_whole(RATE, &blip, &blip);
        assert_eq!((r.integrated, r.momentary_max), (None, None));
        assert_near(r.sample_peak, -20.0, 0.01, "sample peak");
    }

    #[test]
    fn a_burst_between_hops_is_caught_within_the_documented_0_06_lu() {
        // A 400 ms burst starting 5 ms into a hop: the nearest window misses 5 ms of it.
        let mut tone = vec![0.0; 2 * RATE as usize];
        let start = RATE as usize / 200;
        let burst = sine(RATE, -23.0, 0.4);
        tone[start..start + burst.len()].copy_from_slice(&burst);
        let max = measure_whole(RATE, &tone, &tone).momentary_max.unwrap();
        assert!((-23.06..=-22.9).contains(&max), "{max}");
    }

    #[test]
    fn a_non_finite_sample_never_becomes_a_nan_in_the_record() {
        let mut tone = sine(RATE, -20.0, 4.0);
        tone[RATE as usize] = f32::NAN;
        tone[RATE as usize + 1] = f32::INFINITY;
        let r = measure_whole(RATE, &tone, &tone);
        let values = [r.integrated, r.momentary_max, r.short_term_max, r.loudness_range];
        let peaks = [r.sample_peak, r.true_peak, r.plr()];
        for value in values.into_iter().chain(peaks).flatten() {
            assert!(value.is_finite(), "{r:?}");
        }
        serde_json::to_string(&r).expect("serialises: no NaN or infinity");
    }

    #[test]
    fn rates_outside_the_meters_range_are_refused() {
        assert_eq!(LoudnessMeter::new(8).unwrap_err(), UnsupportedRate { rate: 8 });
        assert!(LoudnessMeter::new(16).is_ok());
    }

    #[test]
    fn the_hop_is_a_whole_number_of_frames_where_one_can_be() {
        assert_eq!(hop_ms(48_000), 10);
        assert_eq!(hop_ms(44_100), 10);
        assert_eq!(hop_ms(22_050), 20);
        assert_eq!(hop_ms(11_025), 40);
        assert_eq!(hop_ms(44_101), 100);
    }

    #[test]
    fn a_record_survives_a_json_round_trip() {
        let tone = sine(RATE, -18.0, 4.0);
        let r = measure_whole(RATE, &tone, &tone);
        let back: LoudnessRecord =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    /// Measures `samples` (both channels alike) from rest.
    fn meter_of(samples: &[f32]) -> LoudnessMeter {
        let mut meter = LoudnessMeter::new(RATE).unwrap();
        meter.add(samples, samples);
        meter
    }

    #[test]
    fn a_pool_of_one_stretch_reads_as_that_stretch_measured() {
        let mut song = sine(RATE, -12.0, 5.0);
        song.extend(sine(RATE, -30.0, 4.0));
        let meter = meter_of(&song);
        let mut pool = LoudnessPool::default();
        pool.add(&meter.poolable());
        assert_eq!(pool.record(), meter.record());
    }

    #[test]
    fn songs_measured_apart_pool_to_the_loudness_of_the_album_played_whole() {
        // A loud song and one 20 dB quieter, each with 2 s of silence after it: played as
        // one album, the relative gate drops the quiet song's blocks.
        let silence = vec![0.0f32; 2 * RATE as usize];
        let loud: Vec<f32> = [sine(RATE, -10.0, 6.0), silence.clone()].concat();
        let quiet: Vec<f32> = [sine(RATE, -30.0, 8.0), silence].concat();
        let whole = meter_of(&[loud.clone(), quiet.clone()].concat()).record();
        let (loud, quiet) = (meter_of(&loud), meter_of(&quiet));
        let mut pool = LoudnessPool::default();
        pool.add(&loud.poolable());
        pool.add(&quiet.poolable());
        let pooled = pool.record();
        let (p, w) = (pooled.integrated.unwrap(), whole.integrated.unwrap());
        assert!((p - w).abs() < 0.01, "pooled {p} LUFS, whole {w} LUFS");
        assert_eq!(pooled.sample_peak, whole.sample_peak);
        assert_near(pooled.true_peak, whole.true_peak.unwrap(), 1e-6, "true peak");
        assert_near(pooled.momentary_max, whole.momentary_max.unwrap(), 0.01, "momentary");
        assert_near(Some(pooled.duration), whole.duration, 1e-9, "duration");
        // Averaging the songs' own loudness by their length would not gate the quiet one.
        let energy = |r: &LoudnessRecord| 10f64.powf(r.integrated.unwrap() / 10.0) * r.duration;
        let (a, b) = (loud.record(), quiet.record());
        let averaged = 10.0 * ((energy(&a) + energy(&b)) / (a.duration + b.duration)).log10();
        assert!(p - averaged > 1.0, "pooled {p} LUFS against {averaged} LUFS averaged");
    }

    #[test]
    fn songs_measured_apart_pool_to_the_range_of_the_album_played_whole() {
        // Two songs of 30 s, each stepping between two levels every 5 s, 2 s apart.
        let song = |high: f64, low: f64| -> Vec<f32> {
            let mut s = Vec::new();
            for k in 0..6 {
                s.extend(sine(RATE, if k % 2 == 0 { high } else { low }, 5.0));
            }
            s.extend(vec![0.0f32; 2 * RATE as usize]);
            s
        };
        let (a, b) = (song(-12.0, -20.0), song(-16.0, -22.0));
        let whole = meter_of(&[a.clone(), b.clone()].concat()).record();
        let mut pool = LoudnessPool::default();
        for part in [meter_of(&a), meter_of(&b)] {
            pool.add(&part.poolable());
        }
        let pooled = pool.record();
        // The windows that would straddle the gap and the second song's start are missing:
        // a hundredth of a LU over 30 s songs, less over longer ones.
        assert_near(pooled.loudness_range, whole.loudness_range.unwrap(), 0.2, "range");
        assert_near(pooled.integrated, whole.integrated.unwrap(), 0.02, "integrated");
    }
}
