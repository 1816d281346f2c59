//! The true peak of a channel of audio as ITU-R BS.1770 Annex 2 reads it: the audio oversampled
//! 4× (2× from 96 kHz, not at all from 192 kHz) through a 48-tap Hann-windowed sinc, and
//! the largest magnitude among the interpolated samples.
//!
//! The interpolator is the `ebur128` crate's, tap for tap and addition for addition, so the
//! figures are the ones that crate reports (a test in `loudness.rs` holds them equal). What
//! differs is that a span of audio is only interpolated when it could raise the peak found
//! so far. No interpolated sample exceeds the largest input magnitude it is made from times
//! the largest sum of one phase's absolute taps, so a span whose bound stays under the peak
//! is passed over. A mix spends most of its length below its loudest moment, so most spans
//! are: the meter costs a fraction of interpolating everything.

use super::magnitude;

/// Taps of the interpolating filter over all phases, as BS.1770 suggests.
const TAPS: usize = 48;
/// Frames judged at a time: short enough that a loud moment rules out little quiet audio,
/// long enough that judging costs little beside interpolating.
const SPAN_FRAMES: usize = 64;
/// Headroom on the bound for rounding in `f32` sums of at most 24 products.
const BOUND_ROUNDING: f32 = 1.0 + 1e-4;
/// Outputs of one phase summed side by side: one AVX register of `f32`.
const LANES: usize = 8;

/// The interpolating filter of one oversampling factor: `PHASES` outputs per input sample,
/// each the sum over `TAPS_PER_PHASE` recent samples.
#[derive(Debug, Clone)]
struct Interpolator<const TAPS_PER_PHASE: usize, const PHASES: usize> {
    /// Tap `t` of phase `p` at `[t][p]`; tap 0 weighs the newest sample.
    taps: [[f32; PHASES]; TAPS_PER_PHASE],
    /// The largest input magnitude times this bounds every output.
    gain_bound: f32,
}

impl<const TAPS_PER_PHASE: usize, const PHASES: usize> Interpolator<TAPS_PER_PHASE, PHASES> {
    fn new() -> Self {
        debug_assert_eq!(TAPS_PER_PHASE * PHASES, TAPS);
        let mut taps = [[0.0f32; PHASES]; TAPS_PER_PHASE];
        let window = TAPS as f64;
        for (j, tap) in taps.iter_mut().flatten().enumerate() {
            let j = j as f64;
            let hann = 0.5 * (1.0 - (std::f64::consts::TAU * j / window).cos());
            let m = j - window / 2.0;
            let x = m * std::f64::consts::PI / PHASES as f64;
            *tap = if m.abs() > 1e-6 { hann * x.sin() / x } else { hann } as f32;
        }
        let gain_bound = (0..PHASES)
            .map(|p| taps.iter().map(|tap| tap[p].abs()).sum::<f32>())
            .fold(0.0, f32::max);
        Self { taps, gain_bound: gain_bound * BOUND_ROUNDING }
    }

    /// Raises `peak` to the largest interpolated magnitude of the samples after the first
    /// `TAPS_PER_PHASE - 1` of `samples`, which are their history.
    ///
    /// [`LANES`] consecutive outputs of a phase are summed side by side, a lane each, so
    /// that every tap is one wide multiply and add. Each lane adds its products in tap
    /// order, as one output at a time would, so the figures are the same to the bit.
    fn scan(&self, samples: &[f32], peak: &mut f32) {
        let history = TAPS_PER_PHASE - 1;
        let outputs = samples.len().saturating_sub(history);
        let whole = outputs / LANES * LANES;
        let mut loudest = [*peak; LANES];
        for start in (0..whole).step_by(LANES) {
            for phase in 0..PHASES {
                let mut sums = [0.0f32; LANES];
                for (t, tap) in self.taps.iter().enumerate() {
                    let from = start + history - t;
                    let inputs: &[f32; LANES] =
                        samples[from..from + LANES].try_into().expect("a lane per output");
                    for (sum, &x) in sums.iter_mut().zip(inputs) {
                        *sum += x * tap[phase];
                    }
                }
                for (most, sum) in loudest.iter_mut().zip(sums) {
                    *most = most.max(sum.abs());
                }
            }
        }
        *peak = loudest.into_iter().fold(*peak, f32::max);
        self.scan_one_by_one(&samples[whole..], peak);
    }

    /// As [`Self::scan`], one output at a time: for the few outputs after the last whole
    /// set of lanes.
    fn scan_one_by_one(&self, samples: &[f32], peak: &mut f32) {
        for window in samples.windows(TAPS_PER_PHASE) {
            let mut outputs = [0.0f32; PHASES];
            for (tap, &x) in self.taps.iter().zip(window.iter().rev()) {
                for (output, &weight) in outputs.iter_mut().zip(tap) {
                    *output += x * weight;
                }
            }
            for output in outputs {
                *peak = peak.max(output.abs());
            }
        }
    }

    /// Raises `peak` as [`Self::scan`] does, passing over each span that cannot raise it.
    fn scan_loud_spans(&self, samples: &[f32], peak: &mut f32) {
        let history = TAPS_PER_PHASE - 1;
        let mut start = 0;
        while start + history < samples.len() {
            let end = samples.len().min(start + history + SPAN_FRAMES);
            let span = &samples[start..end];
            let loudest = magnitude::loudest(span, 0.0);
            if loudest * self.gain_bound > *peak {
                self.scan(span, peak);
            }
            start = end - history;
        }
    }
}

/// The filters for each rate range, picked once.
#[derive(Debug, Clone)]
enum Oversampling {
    Four(Interpolator<12, 4>),
    Two(Interpolator<24, 2>),
}

/// A true-peak meter for one channel of `f32` audio at one rate.
#[derive(Debug, Clone)]
pub struct TruePeakMeter {
    oversampling: Oversampling,
    /// The last `history` samples, oldest first: the next block's filter history.
    samples: Vec<f32>,
    history: usize,
    /// The largest interpolated magnitude so far.
    peak: f32,
}

impl TruePeakMeter {
    /// A meter for audio at `sample_rate`; `None` from 192 kHz, where the samples are
    /// dense enough that the sample peak is the true peak.
    #[must_use]
    pub fn new(sample_rate: u32) -> Option<Self> {
        let (oversampling, taps_per_phase) = match sample_rate {
            ..96_000 => (Oversampling::Four(Interpolator::new()), 12),
            96_000..192_000 => (Oversampling::Two(Interpolator::new()), 24),
            _ => return None,
        };
        let history = taps_per_phase - 1;
        Some(Self { oversampling, samples: vec![0.0; history], history, peak: 0.0 })
    }

    /// Measures the next block.
    pub fn add(&mut self, block: &[f32]) {
        self.samples.extend_from_slice(block);
        match &self.oversampling {
            Oversampling::Four(filter) => filter.scan_loud_spans(&self.samples, &mut self.peak),
            Oversampling::Two(filter) => filter.scan_loud_spans(&self.samples, &mut self.peak),
        }
        let kept = self.samples.len() - self.history;
        self.samples.drain(..kept);
    }

    /// The largest interpolated magnitude so far, linear.
    #[must_use]
    pub fn peak(&self) -> f32 {
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sine at a quarter of the rate, phased so that every sample falls 45° from a crest:
    /// its samples reach 0.707 of its amplitude, its true peak all of it.
    fn quarter_rate_sine(frames: usize, amplitude: f32) -> Vec<f32> {
        (0..frames)
            .map(|i| {
                amplitude
                    * (std::f32::consts::FRAC_PI_2 * i as f32 + 0.25 * std::f32::consts::PI).sin()
            })
            .collect()
    }

    #[test]
    fn a_sine_between_its_samples_reads_its_amplitude_not_its_samples() {
        let tone = quarter_rate_sine(4800, 0.5);
        let sample_peak = tone.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((sample_peak - 0.3536).abs() < 1e-3, "{sample_peak}");
        let mut meter = TruePeakMeter::new(48_000).unwrap();
        meter.add(&tone);
        let db = 20.0 * (meter.peak() / 0.5).log10();
        // The interpolator's ripple near a quarter of the rate reads the tone a little high,
        // within the 0.2 dB BS.1770's example filter allows; the samples alone read 3 dB low.
        assert!(db.abs() < 0.2, "{db} dB from the amplitude");
    }

    /// `frames` samples of xorshift noise from `seed`, uniform in -0.5..0.5.
    fn noise(mut seed: u32, frames: usize) -> Vec<f32> {
        (0..frames)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as f32 / u32::MAX as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn passing_over_quiet_spans_finds_the_peak_that_scanning_everything_finds() {
        let loud = quarter_rate_sine(4800, 0.9);
        let mut signal: Vec<f32> = loud.clone();
        signal.extend(noise(7, 48_000).into_iter().enumerate().map(|(i, x)| {
            let level = if i > 40_000 { 0.95 } else { 0.2 };
            level * x
        }));
        let filter = Interpolator::<12, 4>::new();
        let mut padded = vec![0.0; 11];
        padded.extend_from_slice(&signal);
        let (mut everything, mut loud_spans) = (0.0, 0.0);
        filter.scan(&padded, &mut everything);
        filter.scan_loud_spans(&padded, &mut loud_spans);
        assert_eq!(everything, loud_spans);

        let mut meter = TruePeakMeter::new(44_100).unwrap();
        for block in signal.chunks(1000) {
            meter.add(block);
        }
        assert_eq!(meter.peak(), everything, "blocks of any size read the same");
    }

    #[test]
    fn outputs_summed_side_by_side_read_the_same_as_one_at_a_time() {
        let noise = noise(11, 10_007);
        let filter = Interpolator::<12, 4>::new();
        for len in [11, 12, 19, 20, 100, 10_007] {
            let (mut side_by_side, mut one_at_a_time) = (0.0, 0.0);
            filter.scan(&noise[..len], &mut side_by_side);
            filter.scan_one_by_one(&noise[..len], &mut one_at_a_time);
            assert_eq!(side_by_side.to_bits(), one_at_a_time.to_bits(), "{len} samples");
        }
    }

    #[test]
    fn no_tap_sum_lets_an_output_exceed_the_bound() {
        let filter = Interpolator::<12, 4>::new();
        // The worst input for a phase has each sample at full scale with its tap's sign.
        for p in 0..4 {
            let mut worst: Vec<f32> = filter.taps.iter().rev().map(|t| t[p].signum()).collect();
            worst.insert(0, 0.0);
            let mut peak = 0.0;
            filter.scan(&worst, &mut peak);
            assert!(peak <= filter.gain_bound, "phase {p}: {peak} > {}", filter.gain_bound);
        }
        assert!(filter.gain_bound > 1.0, "a sinc's absolute taps sum above unity");
    }

    #[test]
    fn from_192_khz_the_samples_are_the_peak() {
        assert!(TruePeakMeter::new(192_000).is_none());
        assert!(TruePeakMeter::new(96_000).is_some());
    }
}
