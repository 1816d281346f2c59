//! BS.1770's K-weighting: the filter a loudness meter hears through, a high shelf (the
//! head's effect on sound arriving at the ear) followed by a high-pass (the revised
//! low-frequency B curve), in `f64`.
//!
//! BS.1770 gives the filter's coefficients at 48 kHz only. At every rate they come here
//! from the analog shelf and high-pass whose bilinear transforms reproduce those
//! coefficients at 48 kHz (shelf: 1681.97 Hz, +4.00 dB, Q 0.7072; high-pass: 38.14 Hz,
//! Q 0.5003), the fit that libebur128 and the `ebur128` crate use; readings agree with that
//! crate to 10⁻⁹ LU (a test in `loudness.rs` holds them together).
//!
//! Each stage is a biquad in transposed direct form II with fused multiply-adds, so a
//! sample's feedback path is two roundings long, and the two channels of a stereo block run
//! in one loop, a lane each, so their recurrences overlap; a build with fused multiply-add
//! instructions packs the two lanes into one register (`packed`). That makes it several
//! times as fast as `ebur128`'s single fourth-order section run one channel at a time,
//! which mattered: an album build measures its audio six times. `mul_add` rounds once on
//! every processor, with or without a fused instruction, so the readings do not depend on
//! the build (a build for processors without one calls a slower routine for it).

use std::array::from_fn;

#[cfg(all(target_arch = "x86_64", target_feature = "fma"))]
mod packed;

/// The shelf's centre frequency, gain and Q, and the high-pass's corner frequency and Q.
const SHELF_HZ: f64 = 1_681.974_450_955_533;
const SHELF_GAIN_DB: f64 = 3.999_843_853_973_347;
const SHELF_Q: f64 = 0.707_175_236_955_419_6;
/// The exponent that places the shelf's midpoint gain as BS.1770's coefficients have it.
const SHELF_MIDPOINT: f64 = 0.499_666_774_154_541_6;
const HIGH_PASS_HZ: f64 = 38.135_470_876_024_44;
const HIGH_PASS_Q: f64 = 0.500_327_037_323_877_3;

/// State values below this are set to zero at every [`KState::settle`], so that a state
/// decaying in silence never reaches the subnormal range, where arithmetic is many times
/// slower: from here that takes thousands of frames, more than a hop. The energy such
/// values carry is some 600 dB under the meter's -70 LUFS gate.
const FLUSH_BELOW: f64 = 1e-30;

/// One biquad, normalised so that a0 = 1, with the feedback coefficients negated.
#[derive(Debug, Clone, Copy)]
struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    minus_a1: f64,
    minus_a2: f64,
}

/// The two state values of a biquad for `N` channels, a channel in each lane.
type Registers<const N: usize> = [[f64; N]; 2];

impl Biquad {
    /// One sample of each of `N` channels through the section.
    #[inline]
    fn step<const N: usize>(&self, state: &mut Registers<N>, x: [f64; N]) -> [f64; N] {
        let y = from_fn(|c| self.b0.mul_add(x[c], state[0][c]));
        state[0] = from_fn(|c| self.minus_a1.mul_add(y[c], self.b1.mul_add(x[c], state[1][c])));
        state[1] = from_fn(|c| self.minus_a2.mul_add(y[c], self.b2 * x[c]));
        y
    }

    /// As [`Biquad::step`], for a section whose numerator is 1, -2, 1 (the high-pass): the
    /// same roundings, since a product by 1 or -2 is exact, in fewer operations.
    #[inline]
    fn step_high_pass<const N: usize>(&self, state: &mut Registers<N>, x: [f64; N]) -> [f64; N] {
        let y = from_fn(|c| x[c] + state[0][c]);
        state[0] = from_fn(|c| self.minus_a1.mul_add(y[c], (-2.0f64).mul_add(x[c], state[1][c])));
        state[1] = from_fn(|c| self.minus_a2.mul_add(y[c], x[c]));
        y
    }
}

/// The K-weighting filter's coefficients at one sample rate.
#[derive(Debug, Clone, Copy)]
pub struct KWeighting {
    shelf: Biquad,
    high_pass: Biquad,
}

/// One channel's filter state, starting from rest.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KState {
    shelf: [f64; 2],
    high_pass: [f64; 2],
}

impl KState {
    /// Sets tiny values to zero, and the whole state back to rest should a sample that is
    /// not a number have reached it. Called at fixed places in the audio (the meter's hops),
    /// never at a block's edge, so how the audio was split cannot change a reading.
    pub fn settle(&mut self) {
        if !self.shelf.iter().chain(&self.high_pass).all(|v| v.is_finite()) {
            *self = Self::default();
        }
        for v in self.shelf.iter_mut().chain(&mut self.high_pass) {
            if v.abs() < FLUSH_BELOW {
                *v = 0.0;
            }
        }
    }
}

/// What a block of one channel came to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Weighted {
    /// The sum of the squares of the K-weighted samples.
    pub energy: f64,
    /// The largest magnitude among the samples as they came in (before weighting).
    pub sample_peak: f32,
}

impl KWeighting {
    /// The filter at `sample_rate`.
    #[must_use]
    pub fn new(sample_rate: u32) -> Self {
        let rate = f64::from(sample_rate);
        let k = (std::f64::consts::PI * SHELF_HZ / rate).tan();
        let vh = 10f64.powf(SHELF_GAIN_DB / 20.0);
        let vb = vh.powf(SHELF_MIDPOINT);
        let a0 = 1.0 + k / SHELF_Q + k * k;
        let shelf = Biquad {
            b0: (vh + vb * k / SHELF_Q + k * k) / a0,
            b1: 2.0 * (k * k - vh) / a0,
            b2: (vh - vb * k / SHELF_Q + k * k) / a0,
            minus_a1: -2.0 * (k * k - 1.0) / a0,
            minus_a2: -(1.0 - k / SHELF_Q + k * k) / a0,
        };
        let k = (std::f64::consts::PI * HIGH_PASS_HZ / rate).tan();
        let a0 = 1.0 + k / HIGH_PASS_Q + k * k;
        let high_pass = Biquad {
            b0: 1.0,
            b1: -2.0,
            b2: 1.0,
            minus_a1: -2.0 * (k * k - 1.0) / a0,
            minus_a2: -(1.0 - k / HIGH_PASS_Q + k * k) / a0,
        };
        Self { shelf, high_pass }
    }

    /// Filters one channel's block from `state`, adding what it came to into `into`. The
    /// energy is summed one sample after another, so a block split in two comes to the
    /// same sum to the bit.
    pub fn run(&self, state: &mut KState, samples: &[f32], into: &mut Weighted) {
        let mut one = [*state];
        let mut sums = [*into];
        self.filter_lanes(&mut one, [samples], &mut sums);
        add_peaks([samples], &mut sums);
        [*state] = one;
        [*into] = sums;
    }

    /// Filters a stereo block, each channel from its own state, as [`KWeighting::run`]
    /// does each, to the bit; `left` and `right` must have the same length.
    pub fn run_pair(
        &self,
        states: &mut [KState; 2],
        left: &[f32],
        right: &[f32],
        into: &mut [Weighted; 2],
    ) {
        #[cfg(all(target_arch = "x86_64", target_feature = "fma"))]
        packed::filter_pair(self, states, [left, right], into);
        #[cfg(not(all(target_arch = "x86_64", target_feature = "fma")))]
        self.filter_lanes(states, [left, right], into);
        add_peaks([left, right], into);
    }

    /// Filters `N` channels of one length in one loop, so that their recurrences overlap,
    /// adding each one's energy into `into`.
    fn filter_lanes<const N: usize>(
        &self,
        states: &mut [KState; N],
        channels: [&[f32]; N],
        into: &mut [Weighted; N],
    ) {
        let frames = channels[0].len();
        debug_assert!(channels.iter().all(|c| c.len() == frames));
        let mut shelf: Registers<N> = from_fn(|r| from_fn(|c| states[c].shelf[r]));
        let mut high_pass: Registers<N> = from_fn(|r| from_fn(|c| states[c].high_pass[r]));
        let mut energy: [f64; N] = from_fn(|c| into[c].energy);
        // Frame `i` of every lane: no iterator walks `N` slices side by side.
        #[allow(clippy::needless_range_loop)]
        for i in 0..frames {
            let x = from_fn(|c| f64::from(channels[c][i]));
            let y = self.high_pass.step_high_pass(&mut high_pass, self.shelf.step(&mut shelf, x));
            energy = from_fn(|c| y[c].mul_add(y[c], energy[c]));
        }
        for c in 0..N {
            states[c] = KState {
                shelf: [shelf[0][c], shelf[1][c]],
                high_pass: [high_pass[0][c], high_pass[1][c]],
            };
            into[c].energy = energy[c];
        }
    }
}

/// Raises each channel's sample peak in `into` to its largest magnitude in `channels`.
fn add_peaks<const N: usize>(channels: [&[f32]; N], into: &mut [Weighted; N]) {
    for (channel, weighted) in channels.into_iter().zip(into) {
        weighted.sample_peak = weighted.sample_peak.max(peak(channel));
    }
}

/// The largest magnitude in `samples`, passing over any that is not a number; in lanes
/// of 16, so that it compiles to vector instructions.
fn peak(samples: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let mut chunks = samples.chunks_exact(16);
    for chunk in &mut chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            if x.abs() > *lane {
                *lane = x.abs();
            }
        }
    }
    let rest = lanes.iter().chain(chunks.remainder());
    rest.fold(0.0, |most, &x| if x.abs() > most { x.abs() } else { most })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BS.1770-4's coefficients at 48 kHz (its Tables 1 and 2): b0, b1, b2, a1, a2.
    const SHELF_48K: [f64; 5] = [
        1.535_124_859_586_97,
        -2.691_696_189_406_38,
        1.198_392_810_852_85,
        -1.690_659_293_182_41,
        0.732_480_774_215_85,
    ];
    const HIGH_PASS_48K: [f64; 5] = [1.0, -2.0, 1.0, -1.990_047_454_833_98, 0.990_072_250_366_21];

    fn coefficients(b: &Biquad) -> [f64; 5] {
        [b.b0, b.b1, b.b2, -b.minus_a1, -b.minus_a2]
    }

    /// The gain in dB at `hz` of the biquads `sections` at 48 kHz, from their coefficients.
    fn response_db(sections: &[[f64; 5]], hz: f64) -> f64 {
        let w = std::f64::consts::TAU * hz / 48_000.0;
        let power = |c: [f64; 3]| {
            let re = c[0] + c[1] * w.cos() + c[2] * (2.0 * w).cos();
            let im = -c[1] * w.sin() - c[2] * (2.0 * w).sin();
            re * re + im * im
        };
        let gain: f64 =
            sections.iter().map(|s| power([s[0], s[1], s[2]]) / power([1.0, s[3], s[4]])).product();
        10.0 * gain.log10()
    }

    /// The filter's gain at `hz`, measured: the energy of a 2 s sine through it, after
    /// 2 s to settle, against the sine's own.
    fn measured_gain_db(rate: u32, hz: f64) -> f64 {
        let filter = KWeighting::new(rate);
        let mut state = KState::default();
        let n = rate as usize * 4;
        let sine: Vec<f32> = (0..n)
            .map(|i| (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin() as f32)
            .collect();
        filter.run(&mut state, &sine[..n / 2], &mut Weighted::default());
        let mut settled = Weighted::default();
        filter.run(&mut state, &sine[n / 2..], &mut settled);
        10.0 * (settled.energy / (n / 2) as f64 / 0.5).log10()
    }

    #[test]
    fn the_coefficients_at_48_khz_are_bs_1770s() {
        let filter = KWeighting::new(48_000);
        let pairs = [
            (coefficients(&filter.shelf), SHELF_48K),
            (coefficients(&filter.high_pass), HIGH_PASS_48K),
        ];
        for (ours, standard) in pairs {
            for (a, b) in ours.iter().zip(standard) {
                assert!((a - b).abs() < 1e-9, "{ours:?} against {standard:?}");
            }
        }
    }

    #[test]
    fn the_measured_response_is_the_standards_at_48_khz() {
        for hz in [20.0, 100.0, 1000.0, 4000.0, 10_000.0, 20_000.0] {
            let expected = response_db(&[SHELF_48K, HIGH_PASS_48K], hz);
            let gain = measured_gain_db(48_000, hz);
            assert!(
                (gain - expected).abs() < 0.005,
                "{hz} Hz: {gain:.4} dB, BS.1770 {expected:.4}"
            );
        }
        // About +0.7 dB at 1 kHz, which BS.1770's -0.691 in the loudness formula offsets.
        assert!((response_db(&[SHELF_48K, HIGH_PASS_48K], 1000.0) - 0.69).abs() < 0.02);
    }

    #[test]
    fn the_two_channels_of_a_pair_read_as_each_filtered_alone() {
        let filter = KWeighting::new(44_100);
        let left: Vec<f32> = (0..5000).map(|i| ((i * 7919) % 2000) as f32 / 1000.0 - 1.0).collect();
        let right: Vec<f32> = left.iter().rev().map(|x| x * 0.5).collect();
        let mut pair = [KState::default(); 2];
        let mut together = [Weighted::default(); 2];
        filter.run_pair(&mut pair, &left, &right, &mut together);
        let mut apart = [Weighted::default(); 2];
        for ((samples, into), state) in
            [&left, &right].into_iter().zip(&mut apart).zip([KState::default(); 2].iter_mut())
        {
            filter.run(state, samples, into);
        }
        assert_eq!(together, apart);
        assert!(together[0].energy > 0.0 && together[0].sample_peak == 1.0, "{together:?}");
    }

    #[test]
    fn silence_after_sound_settles_to_exact_rest() {
        let filter = KWeighting::new(48_000);
        let mut state = KState::default();
        filter.run(&mut state, &vec![0.9; 4800], &mut Weighted::default());
        let mut quiet = Weighted::default();
        for hop in vec![0.0; 48_000 * 10].chunks(480) {
            filter.run(&mut state, hop, &mut quiet);
            state.settle();
        }
        assert!(quiet.energy > 0.0, "the tail rings out first");
        assert_eq!((state.shelf, state.high_pass), ([0.0; 2], [0.0; 2]), "never subnormal");
    }

    #[test]
    fn a_sample_that_is_not_a_number_leaves_the_filter_working_after_it_settles() {
        let filter = KWeighting::new(48_000);
        let mut state = KState::default();
        filter.run(&mut state, &[0.5, f32::NAN, 0.5], &mut Weighted::default());
        state.settle();
        let mut after = Weighted::default();
        filter.run(&mut state, &vec![0.5; 4800], &mut after);
        assert!(after.energy.is_finite() && after.energy > 0.0, "{after:?}");
    }
}
