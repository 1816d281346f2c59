//! `chorus`: copies of the input on slowly swept short delays, spread across the stereo
//! field. Each voice's LFO phase comes from the absolute frame, so automation of the rate
//! and any block size give the same sweep.

use std::f64::consts::{FRAC_PI_2, TAU};

use crate::dsp::primitives::curve::Timeline;
use crate::dsp::primitives::ring::Ring;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The shortest delay of the sweep, in seconds; voices sweep from here up by `depth`.
const BASE_DELAY_S: f64 = 0.007;

/// The deepest sweep honoured, in seconds.
pub const MAX_DEPTH_S: f64 = 0.05;

/// The fastest LFO honoured, in Hz.
pub const MAX_RATE_HZ: f64 = 20.0;

/// The most voices a chorus has.
pub const MAX_VOICES: u32 = 8;

/// A chorus's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ChorusSettings {
    /// How often each voice sweeps its delay up and back, in Hz, up to [`MAX_RATE_HZ`].
    pub rate_hz: Timeline,
    /// How far each voice's delay sweeps, peak to peak, in seconds, up to [`MAX_DEPTH_S`].
    pub depth_seconds: f64,
    /// Voices, 1 to [`MAX_VOICES`].
    pub voices: u32,
    /// The share of the voices in the output, 0 to 1.
    pub mix: f64,
}

impl Spec for ChorusSettings {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Chorus::new(self, env.sample_rate))
    }
}

/// The LFO's position in cycles at any frame: the integral of a piecewise-linear rate.
#[derive(Debug, Clone)]
pub struct Phase {
    /// (frame, cycles per frame, cycles elapsed at that frame) at each automation point.
    knots: Vec<(f64, f64, f64)>,
}

impl Phase {
    /// The phase of a rate given as (seconds, Hz) points at `sample_rate`, starting at
    /// zero cycles on frame 0.
    #[must_use]
    pub fn new(points: &[(f64, f64)], sample_rate: f64) -> Self {
        let mut knots: Vec<(f64, f64, f64)> = Vec::with_capacity(points.len());
        for &(seconds, hz) in points {
            let frame = seconds * sample_rate;
            let rate = hz / sample_rate;
            let cycles = match knots.last() {
                None => rate * frame,
                Some(&(f0, r0, c0)) => c0 + 0.5 * (r0 + rate) * (frame - f0),
            };
            knots.push((frame, rate, cycles));
        }
        Self { knots }
    }

    /// Cycles elapsed at `frame`; only the fraction matters to an LFO.
    #[must_use]
    pub fn cycles(&self, frame: u64) -> f64 {
        let x = frame as f64;
        let after = self.knots.partition_point(|&(f, _, _)| f <= x);
        if after == 0 {
            return self.knots[0].1 * x;
        }
        let (f0, r0, c0) = self.knots[after - 1];
        let dx = x - f0;
        match self.knots.get(after) {
            None => c0 + r0 * dx,
            Some(&(f1, r1, _)) => c0 + r0 * dx + 0.5 * (r1 - r0) * dx * dx / (f1 - f0),
        }
    }
}

/// One voice: its LFO offset as a rotation, and its gain into each side.
struct Voice {
    offset_cos: f64,
    offset_sin: f64,
    gain_l: f64,
    gain_r: f64,
}

/// The running chorus.
pub struct Chorus {
    phase: Phase,
    base: f64,
    depth: f64,
    voices: Vec<Voice>,
    lines: [Ring; 2],
    mix: f64,
    tail: usize,
}

impl Chorus {
    /// A chorus for `spec` at `sample_rate`.
    #[must_use]
    pub fn new(spec: &ChorusSettings, sample_rate: f64) -> Self {
        let count = spec.voices.clamp(1, MAX_VOICES);
        // Constant-power panning, scaled so that one voice, or an even spread of voices,
        // keeps the level of the input.
        let norm = (2.0 / f64::from(count)).sqrt();
        let voices = (0..count)
            .map(|v| {
                let pan = if count == 1 { 0.5 } else { f64::from(v) / f64::from(count - 1) };
                // Sines of complementary angles, so a hard-panned voice is exactly silent
                // on the other side.
                let gain = |share: f64| norm * (share * FRAC_PI_2).sin();
                let (offset_sin, offset_cos) = (TAU * f64::from(v) / f64::from(count)).sin_cos();
                Voice { offset_cos, offset_sin, gain_l: gain(1.0 - pan), gain_r: gain(pan) }
            })
            .collect();
        let base = BASE_DELAY_S * sample_rate;
        let depth = spec.depth_seconds * sample_rate;
        let longest = (base + depth).ceil() as usize + 2;
        Self {
            phase: Phase::new(&spec.rate_hz.0, sample_rate),
            base,
            depth,
            voices,
            lines: [Ring::new(longest), Ring::new(longest)],
            mix: spec.mix,
            tail: longest,
        }
    }
}

impl Processor for Chorus {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let cycles = self.phase.cycles(ctx.start + i as u64).fract();
            // One sine and cosine per frame; each voice's offset is then a rotation.
            let (sin, cos) = (TAU * cycles).sin_cos();
            let (mut wet_l, mut wet_r) = (0.0, 0.0);
            for voice in &self.voices {
                let lfo = sin * voice.offset_cos + cos * voice.offset_sin;
                let delay = self.base + self.depth * 0.5 * (1.0 + lfo);
                wet_l += voice.gain_l * self.lines[0].read_cubic(delay);
                wet_r += voice.gain_r * self.lines[1].read_cubic(delay);
            }
            let (x_l, x_r) = (sanitize(f64::from(*l)), sanitize(f64::from(*r)));
            self.lines[0].push(x_l as f32);
            self.lines[1].push(x_r as f32);
            *l = sanitize((1.0 - self.mix) * x_l + self.mix * wet_l) as f32;
            *r = sanitize((1.0 - self.mix) * x_r + self.mix * wet_r) as f32;
        }
    }

    fn tail(&self) -> usize {
        self.tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::probe::{
        assert_block_size_independent, assert_non_finite_input_is_silence, noise, ramp, render_spec,
    };

    fn spec(rate: f64, depth_ms: f64, voices: u32, mix: f64) -> ChorusSettings {
        ChorusSettings {
            rate_hz: Timeline::constant(rate),
            depth_seconds: depth_ms / 1000.0,
            voices,
            mix,
        }
    }

    const SPACING: usize = 256;

    /// Impulses every `SPACING` frames, and the delay at which each comes out of `channel`
    /// as (output time, delay), both in frames. Each output pulse is the four Lagrange
    /// weights, which sum to 1 and whose centroid is exactly the fractional position.
    fn tracked_delays(
        spec: &ChorusSettings,
        fs: f64,
        seconds: f64,
        right: bool,
    ) -> Vec<(f64, f64)> {
        let frames = (seconds * fs) as usize;
        let x: Vec<f32> = (0..frames).map(|n| if n % SPACING == 0 { 1.0 } else { 0.0 }).collect();
        let (l, r) = render_spec(spec, fs, &x, &x);
        let y = if right { r } else { l };
        let mut delays = Vec::new();
        let mut n = 0;
        while n < frames {
            if y[n] == 0.0 {
                n += 1;
                continue;
            }
            let (mut sum, mut moment) = (0.0, 0.0);
            while n < frames && y[n] != 0.0 {
                sum += f64::from(y[n]);
                moment += n as f64 * f64::from(y[n]);
                n += 1;
            }
            let at = moment / sum;
            let sent = (at - BASE_DELAY_S * fs).div_euclid(SPACING as f64) * SPACING as f64;
            delays.push((at, at - sent));
        }
        delays
    }

    /// Peak-to-peak sweep in frames and the rate in Hz from the times of upward crossings
    /// of the mid-sweep delay.
    fn sweep(delays: &[(f64, f64)], fs: f64) -> (f64, f64) {
        let max = delays.iter().map(|d| d.1).fold(f64::MIN, f64::max);
        let min = delays.iter().map(|d| d.1).fold(f64::MAX, f64::min);
        let mid = 0.5 * (max + min);
        let crossings: Vec<f64> = delays
            .windows(2)
            .filter(|w| w[0].1 < mid && w[1].1 >= mid)
            .map(|w| w[0].0 + (w[1].0 - w[0].0) * (mid - w[0].1) / (w[1].1 - w[0].1))
            .collect();
        let periods = (crossings.len() - 1) as f64;
        let rate = fs * periods / (crossings[crossings.len() - 1] - crossings[0]);
        (max - min, rate)
    }

    #[test]
    fn the_measured_sweep_matches_the_rate_and_depth_within_five_percent() {
        for (rate, depth_ms, fs) in [(0.8, 3.0, 48000.0), (2.5, 5.0, 44100.0)] {
            // Long enough for two whole periods of the slower LFO.
            let delays = tracked_delays(&spec(rate, depth_ms, 1, 1.0), fs, 3.2, false);
            let (depth, measured_rate) = sweep(&delays, fs);
            let depth_ms_measured = depth / fs * 1000.0;
            assert!((depth_ms_measured / depth_ms - 1.0).abs() < 0.05, "{depth_ms_measured} ms");
            assert!((measured_rate / rate - 1.0).abs() < 0.05, "{measured_rate} Hz");
        }
    }

    #[test]
    fn two_voices_sweep_in_opposite_phase_on_opposite_sides() {
        let fs = 48000.0;
        let s = spec(1.0, 4.0, 2, 1.0);
        let left = tracked_delays(&s, fs, 1.5, false);
        let right = tracked_delays(&s, fs, 1.5, true);
        // Half a cycle apart, the two sweeps add to a constant: twice the base plus the
        // depth. The two pulses of one impulse leave up to the depth (192 frames) apart,
        // and the sweep's slope (π·depth·rate/fs per frame) moves the sum by at most 2.4
        // frames over that gap: inside 2% of the depth, 3.8 frames.
        let want = 2.0 * BASE_DELAY_S * fs + 0.004 * fs;
        for (a, b) in left.iter().zip(&right).skip(2) {
            assert!((a.1 + b.1 - want).abs() < 0.02 * 0.004 * fs, "{} + {}", a.1, b.1);
        }
    }

    #[test]
    fn the_phase_of_an_automated_rate_is_its_integral() {
        let fs = 1000.0;
        let phase = Phase::new(&[(0.0, 1.0), (2.0, 3.0), (4.0, 3.0)], fs);
        // 1 Hz rising to 3 Hz over 2 s is 4 cycles, then 3 Hz for 2 s is 6 more.
        assert!((phase.cycles(2000) - 4.0).abs() < 1e-12);
        assert!((phase.cycles(4000) - 10.0).abs() < 1e-12);
        assert!((phase.cycles(5000) - 13.0).abs() < 1e-12);
        // Halfway up the ramp: 1 s at a rate of 1 + t Hz is 1.5 cycles.
        assert!((phase.cycles(1000) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn mix_blends_dry_and_voices_in_proportion() {
        let fs = 48000.0;
        let (x, y) = (noise(4000, 5), noise(4000, 6));
        let (wet_l, wet_r) = render_spec(&spec(0.8, 3.0, 3, 1.0), fs, &x, &y);
        let (mix_l, mix_r) = render_spec(&spec(0.8, 3.0, 3, 0.5), fs, &x, &y);
        // One f32 rounding of each part: 1e-6 at these levels.
        for ((m, d), w) in
            mix_l.iter().chain(&mix_r).zip(x.iter().chain(&y)).zip(wet_l.iter().chain(&wet_r))
        {
            let want = 0.5 * f64::from(*d) + 0.5 * f64::from(*w);
            assert!((f64::from(*m) - want).abs() < 1e-6);
        }
    }

    #[test]
    fn output_is_the_same_for_any_block_size_with_an_automated_rate() {
        let s = ChorusSettings {
            rate_hz: ramp(0.5, 6.0, 0.1),
            depth_seconds: 0.004,
            voices: 4,
            mix: 0.5,
        };
        assert_block_size_independent(&s, 48000.0, &noise(9000, 1), &noise(9000, 2));
    }

    #[test]
    fn a_nan_or_infinite_input_sample_is_treated_as_silence() {
        assert_non_finite_input_is_silence(&spec(0.8, 3.0, 2, 0.5), 48000.0);
    }
}
