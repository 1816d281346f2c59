//! One-pole filters in `f64`: 6 dB/oct low-pass and high-pass, and the shelving low-pass
//! that damps a feedback loop. Other processors embed them; this is not a processor itself.

use std::f64::consts::PI;

/// A first-order IIR filter `y[n] = b0·x[n] + b1·x[n-1] + p·y[n-1]`.
#[derive(Debug, Clone)]
pub struct OnePole {
    b0: f64,
    b1: f64,
    pole: f64,
    x1: f64,
    y1: f64,
}

impl OnePole {
    fn with_coefficients(b0: f64, b1: f64, pole: f64) -> Self {
        Self { b0, b1, pole, x1: 0.0, y1: 0.0 }
    }

    /// The bilinear-transform pre-warp `tan(π·f/fs)`, with the cutoff held below Nyquist.
    fn warp(cutoff_hz: f64, sample_rate: f64) -> f64 {
        let f = cutoff_hz.clamp(1e-3, 0.49 * sample_rate);
        (PI * f / sample_rate).tan()
    }

    /// A 6 dB/oct low-pass, -3 dB at `cutoff_hz`, unity at DC and silent at Nyquist.
    #[must_use]
    pub fn lowpass(cutoff_hz: f64, sample_rate: f64) -> Self {
        let k = Self::warp(cutoff_hz, sample_rate);
        let b = k / (1.0 + k);
        Self::with_coefficients(b, b, (1.0 - k) / (1.0 + k))
    }

    /// A 6 dB/oct high-pass, -3 dB at `cutoff_hz`, unity at Nyquist and silent at DC.
    #[must_use]
    pub fn highpass(cutoff_hz: f64, sample_rate: f64) -> Self {
        let k = Self::warp(cutoff_hz, sample_rate);
        let b = 1.0 / (1.0 + k);
        Self::with_coefficients(b, -b, (1.0 - k) / (1.0 + k))
    }

    /// A low-pass `g·(1-p)/(1-p·z⁻¹)` whose gain is `dc_gain` at DC and `gain_at` at the
    /// angular frequency `omega` (radians per sample), for `0 < gain_at <= dc_gain`. This is
    /// the loss filter of a feedback loop whose treble must die faster than its bass.
    #[must_use]
    pub fn damping(dc_gain: f64, gain_at: f64, omega: f64) -> Self {
        // |H(ω)|² = g²(1-p)² / (1 - 2p·cos ω + p²); solving |H(ω)| = gain_at for p gives a
        // quadratic whose smaller root is the stable pole.
        let q = (gain_at / dc_gain).clamp(0.0, 1.0).powi(2);
        let c = omega.cos();
        let pole = if q >= 1.0 - 1e-15 || c >= 1.0 {
            0.0
        } else {
            let half_b = 1.0 - q * c;
            let a = 1.0 - q;
            (half_b - (half_b * half_b - a * a).max(0.0).sqrt()) / a
        };
        Self::with_coefficients(dc_gain * (1.0 - pole), 0.0, pole)
    }

    /// The coefficients `(b0, b1, p)`, for code that runs many filters side by side.
    #[must_use]
    pub fn coefficients(&self) -> (f64, f64, f64) {
        (self.b0, self.b1, self.pole)
    }

    /// Filters one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let y = self.b0 * x + self.b1 * self.x1 + self.pole * self.y1;
        self.x1 = x;
        // Flushing the state keeps a decaying loop from sinking into denormals.
        self.y1 = if y.abs() > 1e-30 { y } else { 0.0 };
        self.y1
    }

    /// Frames for the filter's own ringing to fall 90 dB.
    #[must_use]
    pub fn ring_frames(&self) -> usize {
        let p = self.pole.abs();
        if p < 1e-12 { 1 } else { (-4.5 / p.log10()).ceil() as usize + 1 }
    }

    /// The magnitude response at `omega` radians per sample.
    #[must_use]
    pub fn magnitude(&self, omega: f64) -> f64 {
        let (re_n, im_n) = (self.b0 + self.b1 * omega.cos(), -self.b1 * omega.sin());
        let (re_d, im_d) = (1.0 - self.pole * omega.cos(), self.pole * omega.sin());
        (re_n.hypot(im_n)) / re_d.hypot(im_d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f64 = 48000.0;

    /// Runs a sine through `filter` and returns its steady-state amplitude, measured by
    /// correlating whole periods with sine and cosine.
    fn measured_gain(mut filter: OnePole, freq: f64) -> f64 {
        let period = FS / freq;
        let settle = (20.0 * period).max(FS * 0.05) as usize;
        let span = (period * 40.0).round() as usize;
        let (mut s, mut c) = (0.0, 0.0);
        for n in 0..settle + span {
            let phase = 2.0 * PI * freq * n as f64 / FS;
            let y = filter.process(phase.sin());
            if n >= settle {
                s += y * phase.sin();
                c += y * phase.cos();
            }
        }
        2.0 * s.hypot(c) / span as f64
    }

    #[test]
    fn the_low_pass_is_three_db_down_at_its_cutoff_and_flat_far_below() {
        // 40 whole periods make the sine/cosine correlation exact to about 1e-4 dB.
        let at_cutoff = 20.0 * measured_gain(OnePole::lowpass(1000.0, FS), 1000.0).log10();
        assert!((at_cutoff + 3.0103).abs() < 0.01, "{at_cutoff}");
        let far_below = 20.0 * measured_gain(OnePole::lowpass(8000.0, FS), 100.0).log10();
        assert!(far_below.abs() < 0.01, "{far_below}");
    }

    #[test]
    fn the_high_pass_falls_six_db_per_octave_well_below_its_cutoff() {
        let hp = || OnePole::highpass(2000.0, FS);
        let a = 20.0 * measured_gain(hp(), 250.0).log10();
        let b = 20.0 * measured_gain(hp(), 125.0).log10();
        // Two octaves below the cutoff the slope is within 0.2 dB of the asymptotic 6.02 dB.
        assert!((a - b - 6.02).abs() < 0.2, "{a} {b}");
        let at_cutoff = 20.0 * measured_gain(hp(), 2000.0).log10();
        assert!((at_cutoff + 3.0103).abs() < 0.01, "{at_cutoff}");
    }

    #[test]
    fn the_damping_filter_hits_both_of_its_target_gains() {
        let omega = 2.0 * PI * 8000.0 / FS;
        let f = OnePole::damping(0.9, 0.5, omega);
        // Closed-form response, so only rounding separates it from the target.
        assert!((f.magnitude(0.0) - 0.9).abs() < 1e-12);
        assert!((f.magnitude(omega) - 0.5).abs() < 1e-12, "{}", f.magnitude(omega));
        let measured = measured_gain(f, 8000.0);
        assert!((measured - 0.5).abs() < 1e-4, "{measured}");
    }
}
