//! A linear-phase FIR low-pass (Kaiser-windowed sinc) for one channel of `f32` audio,
//! filtered block by block. Each block is filtered tap by tap across all its outputs, so
//! the inner loop runs over independent samples and vectorises; the result does not
//! depend on how the stream is cut into blocks.

use std::f64::consts::PI;

use super::kaiser;

/// A linear-phase FIR low-pass filter and the input it still needs.
#[derive(Debug, Clone)]
pub struct FirLowpass {
    /// Symmetric taps, summing to exactly 1.
    taps: Vec<f32>,
    /// The last `taps.len() - 1` inputs, oldest first, then the current block's.
    history: Vec<f32>,
}

impl FirLowpass {
    /// Designs a low-pass at `sample_rate` that is down 6 dB at `cutoff_hz`, passes up to
    /// `transition_hz / 2` below it and stops `attenuation_db` (more than 50) from
    /// `transition_hz / 2` above it.
    ///
    /// # Panics
    /// When the cutoff is not between 0 and the Nyquist frequency, the transition is not
    /// positive, or the attenuation is 50 dB or less.
    #[must_use]
    pub fn design(
        sample_rate: u32,
        cutoff_hz: f64,
        transition_hz: f64,
        attenuation_db: f64,
    ) -> Self {
        let rate = f64::from(sample_rate);
        assert!(cutoff_hz > 0.0 && cutoff_hz < rate / 2.0, "the cutoff lies inside the band");
        assert!(transition_hz > 0.0, "a filter needs a transition band");
        assert!(attenuation_db > 50.0, "the window's shape is estimated for more than 50 dB");
        // Kaiser's estimates for the length and the window's shape.
        let width = 2.0 * PI * transition_hz / rate;
        let len = ((attenuation_db - 7.95) / (2.285 * width)).ceil() as usize + 1;
        let len = len | 1;
        let beta = kaiser::beta(attenuation_db);
        let centre = (len - 1) as f64 / 2.0;
        let cutoff = cutoff_hz / rate;
        let taps: Vec<f64> = (0..len)
            .map(|i| {
                let n = i as f64 - centre;
                let ratio = n / centre;
                let window = kaiser::window(ratio, beta);
                let sinc =
                    if n == 0.0 { 2.0 * cutoff } else { (2.0 * PI * cutoff * n).sin() / (PI * n) };
                sinc * window
            })
            .collect();
        let sum: f64 = taps.iter().sum();
        let mut taps: Vec<f32> = taps.iter().map(|h| (h / sum) as f32).collect();
        // Exactly symmetric, which the folded sums in `process` rely on.
        for k in 0..len / 2 {
            taps[len - 1 - k] = taps[k];
        }
        Self { taps, history: vec![0.0; len - 1] }
    }

    /// How many taps the filter has.
    #[must_use]
    pub fn taps(&self) -> usize {
        self.taps.len()
    }

    /// The magnitude response at `hz` for a stream at `sample_rate`.
    #[must_use]
    pub fn magnitude(&self, hz: f64, sample_rate: u32) -> f64 {
        let omega = 2.0 * PI * hz / f64::from(sample_rate);
        let (re, im) = self.taps.iter().enumerate().fold((0.0, 0.0), |(re, im), (i, &h)| {
            let phase = omega * i as f64;
            (re + f64::from(h) * phase.cos(), im - f64::from(h) * phase.sin())
        });
        f64::hypot(re, im)
    }

    /// Filters `block` into `out` (resized to the block's length), delayed by half the
    /// filter's length.
    pub fn process(&mut self, block: &[f32], out: &mut Vec<f32>) {
        let reach = self.taps.len() - 1;
        let half = reach / 2;
        self.history.extend_from_slice(block);
        out.clear();
        let inputs = &self.history;
        // The taps are symmetric, so each pair of inputs a tap and its mirror weigh is added
        // first and multiplied once: half the multiplies. `LANES` outputs at a time, each
        // summed over the pairs in order in registers, so that the sums vectorise; the
        // outputs left over are summed in the same order.
        let whole = block.len() / LANES * LANES;
        for start in (0..whole).step_by(LANES) {
            let mut sums = [0.0f32; LANES];
            for (k, &h) in self.taps[..half].iter().enumerate() {
                let (newer, older) = (start + reach - k, start + k);
                let newer: &[f32; LANES] =
                    inputs[newer..newer + LANES].try_into().expect("a window of LANES inputs");
                let older: &[f32; LANES] =
                    inputs[older..older + LANES].try_into().expect("a window of LANES inputs");
                for ((sum, &a), &b) in sums.iter_mut().zip(newer).zip(older) {
                    *sum += h * (a + b);
                }
            }
            let centre: &[f32; LANES] =
                inputs[start + half..start + half + LANES].try_into().expect("LANES inputs");
            for (sum, &x) in sums.iter_mut().zip(centre) {
                *sum += self.taps[half] * x;
            }
            out.extend_from_slice(&sums);
        }
        for n in whole..block.len() {
            let folded = self.taps[..half]
                .iter()
                .enumerate()
                .fold(0.0f32, |sum, (k, &h)| sum + h * (inputs[n + reach - k] + inputs[n + k]));
            out.push(folded + self.taps[half] * inputs[n + half]);
        }
        self.history.drain(..block.len());
    }
}

/// Outputs summed side by side: four AVX registers' worth, enough independent sums to keep
/// the adder busy.
const LANES: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    #[test]
    fn the_passband_is_flat_and_the_stopband_down_by_its_attenuation() {
        let filter = FirLowpass::design(RATE, 20_500.0, 1_500.0, 60.0);
        for hz in (0..=19_700).step_by(100) {
            let gain = db(filter.magnitude(f64::from(hz), RATE));
            assert!(gain.abs() < 0.02, "{hz} Hz passes at {gain:.4} dB");
        }
        let at_cutoff = db(filter.magnitude(20_500.0, RATE));
        assert!((at_cutoff + 6.02).abs() < 0.1, "the cutoff is at {at_cutoff:.3} dB");
        for hz in (21_300..=24_000).step_by(50) {
            let gain = db(filter.magnitude(f64::from(hz), RATE));
            assert!(gain < -59.0, "{hz} Hz is stopped only by {gain:.1} dB");
        }
    }

    #[test]
    fn a_sine_in_the_passband_keeps_its_amplitude_and_one_above_the_cutoff_is_removed() {
        let amplitude_after = |hz: f64| {
            let mut filter = FirLowpass::design(RATE, 20_500.0, 1_500.0, 60.0);
            let input: Vec<f32> = (0..9_600)
                .map(|n| (2.0 * PI * hz * f64::from(n) / f64::from(RATE)).sin() as f32)
                .collect();
            let mut out = Vec::new();
            filter.process(&input, &mut out);
            // Past the filter's start-up.
            out[filter.taps()..].iter().fold(0.0f32, |peak, x| peak.max(x.abs()))
        };
        assert!((amplitude_after(1_000.0) - 1.0).abs() < 0.003);
        assert!(amplitude_after(22_500.0) < 0.001);
    }

    #[test]
    fn filtering_in_blocks_of_any_size_equals_filtering_in_one() {
        let input: Vec<f32> =
            (0..5_000u32).map(|n| ((n * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
        let mut whole = Vec::new();
        FirLowpass::design(RATE, 20_500.0, 1_500.0, 60.0).process(&input, &mut whole);
        for size in [1, 7, 64, 1_000] {
            let mut filter = FirLowpass::design(RATE, 20_500.0, 1_500.0, 60.0);
            let (mut joined, mut out) = (Vec::new(), Vec::new());
            for block in input.chunks(size) {
                filter.process(block, &mut out);
                joined.extend_from_slice(&out);
            }
            assert_eq!(joined, whole, "blocks of {size}");
        }
    }
}
