//! `delay`: a feedback echo, optionally ping-pong, with tone filters inside the loop.

use crate::dsp::primitives::curve::{Curve, Timeline};
use crate::dsp::primitives::one_pole::OnePole;
use crate::dsp::primitives::ring::Ring;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The most feedback the loop takes, so that the echoes always die away.
pub const MAX_FEEDBACK: f64 = 0.99;

/// The shortest automated delay: fractional reads need two whole frames of history.
const MIN_FRACTIONAL_DELAY: f64 = 2.0;

/// A delay's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DelaySettings {
    /// Time from the input to the first echo and between echoes, in seconds.
    pub time: Timeline,
    /// How much of each echo returns as the next one, 0 to [`MAX_FEEDBACK`].
    pub feedback: Timeline,
    /// The share of echoes in the output, 0 to 1.
    pub mix: Timeline,
    /// Whether the echoes bounce from left to right.
    pub ping_pong: bool,
    /// The corner in Hz of the 6 dB/oct low-pass inside the loop, if any.
    pub high_cut_hz: Option<f64>,
    /// The corner in Hz of the 6 dB/oct high-pass inside the loop, if any.
    pub low_cut_hz: Option<f64>,
}

impl Spec for DelaySettings {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Delay::new(self, env.sample_rate))
    }
}

/// How the echo time is read: whole frames when it never changes, else interpolated.
enum Tap {
    Whole(usize),
    Gliding(Curve),
}

/// The tone filters inside one channel's loop.
struct LoopFilters {
    high_cut: Option<OnePole>,
    low_cut: Option<OnePole>,
}

impl LoopFilters {
    fn new(spec: &DelaySettings, sample_rate: f64) -> Self {
        Self {
            high_cut: spec.high_cut_hz.map(|f| OnePole::lowpass(f, sample_rate)),
            low_cut: spec.low_cut_hz.map(|f| OnePole::highpass(f, sample_rate)),
        }
    }

    #[inline]
    fn process(&mut self, mut x: f64) -> f64 {
        if let Some(f) = &mut self.high_cut {
            x = f.process(x);
        }
        if let Some(f) = &mut self.low_cut {
            x = f.process(x);
        }
        x
    }

    fn ring_frames(&self) -> usize {
        self.high_cut.iter().chain(&self.low_cut).map(OnePole::ring_frames).sum()
    }
}

/// A stereo feedback delay. Each echo passes the loop filters once more than the last.
pub struct Delay {
    tap: Tap,
    feedback: Curve,
    mix: Curve,
    ping_pong: bool,
    lines: [Ring; 2],
    filters: [LoopFilters; 2],
    tail: usize,
}

impl Delay {
    /// A delay for `spec` at `sample_rate`.
    #[must_use]
    pub fn new(spec: &DelaySettings, sample_rate: f64) -> Self {
        let times = &spec.time.0;
        let longest = times.iter().map(|&(_, s)| s * sample_rate).fold(0.0, f64::max);
        let tap = if spec.time.is_automated() {
            Tap::Gliding(Curve::from_seconds(times, sample_rate).map(|s| s * sample_rate))
        } else {
            Tap::Whole(((times[0].1 * sample_rate).round() as usize).max(1))
        };
        let max_delay = longest.ceil() as usize + 2;
        let feedback =
            Curve::from_seconds(&spec.feedback.0, sample_rate).map(|g| g.clamp(0.0, MAX_FEEDBACK));
        let mix = Curve::from_seconds(&spec.mix.0, sample_rate);
        let filters = [LoopFilters::new(spec, sample_rate), LoopFilters::new(spec, sample_rate)];
        let loudest = spec.feedback.0.iter().map(|&(_, g)| g).fold(0.0, f64::max);
        let tail =
            echo_tail(max_delay, loudest.clamp(0.0, MAX_FEEDBACK)) + filters[0].ring_frames();
        Self {
            tap,
            feedback,
            mix,
            ping_pong: spec.ping_pong,
            lines: [Ring::new(max_delay), Ring::new(max_delay)],
            filters,
            tail,
        }
    }

    #[inline]
    fn read(&self, frame: u64) -> (f64, f64) {
        let [l, r] = &self.lines;
        match &self.tap {
            Tap::Whole(d) => (f64::from(l.read(*d)), f64::from(r.read(*d))),
            Tap::Gliding(curve) => {
                let d = curve.at(frame).max(MIN_FRACTIONAL_DELAY);
                (l.read_cubic(d), r.read_cubic(d))
            }
        }
    }
}

/// Frames until the echoes of a loop of `delay` frames with gain `feedback` fall 90 dB.
/// Ping-pong echoes hop sides once per `delay`, so they die at the same rate.
fn echo_tail(delay: usize, feedback: f64) -> usize {
    let repeats = if feedback <= 0.0 { 1 } else { 1 + (4.5 / -feedback.log10()).ceil() as usize };
    delay * repeats
}

impl Processor for Delay {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let frame = ctx.start + i as u64;
            let (g, m) = (self.feedback.at(frame), self.mix.at(frame));
            let (x_l, x_r) = (sanitize(f64::from(*l)), sanitize(f64::from(*r)));
            let (echo_l, echo_r) = self.read(frame);
            let echo_l = self.filters[0].process(echo_l);
            let echo_r = self.filters[1].process(echo_r);
            let (into_l, into_r) = if self.ping_pong {
                (0.5 * (x_l + x_r) + g * echo_r, g * echo_l)
            } else {
                (x_l + g * echo_l, x_r + g * echo_r)
            };
            self.lines[0].push(sanitize(into_l) as f32);
            self.lines[1].push(sanitize(into_r) as f32);
            *l = sanitize((1.0 - m) * x_l + m * echo_l) as f32;
            *r = sanitize((1.0 - m) * x_r + m * echo_r) as f32;
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
        assert_block_size_independent, assert_non_finite_input_is_silence, impulse, noise, ramp,
        render_spec,
    };

    const FS: f64 = 48000.0;

    fn spec(time_ms: f64, feedback: f64, mix: f64) -> DelaySettings {
        DelaySettings {
            time: Timeline::constant(time_ms / 1000.0),
            feedback: Timeline::constant(feedback),
            mix: Timeline::constant(mix),
            ping_pong: false,
            high_cut_hz: None,
            low_cut_hz: None,
        }
    }

    fn db(x: f64) -> f64 {
        20.0 * x.abs().log10()
    }

    #[test]
    fn echoes_land_on_exact_frames_and_each_repeat_is_feedback_times_the_last() {
        // 10.51 ms is 504.48 frames: the tap rounds to 504.
        let d = 504;
        let x = impulse(6 * d);
        let (l, r) = render_spec(&spec(10.51, 0.5, 1.0), FS, &x, &x);
        for (n, (&a, &b)) in l.iter().zip(&r).enumerate() {
            if n % d != 0 || n == 0 {
                assert!(a == 0.0 && b == 0.0, "stray output at frame {n}");
            }
        }
        assert_eq!(l[0], 0.0);
        assert_eq!(l[d], 1.0);
        // f32 storage rounds each echo by at most 2^-24 relative, far inside 0.01 dB.
        for k in 1..5 {
            let step = db(f64::from(l[(k + 1) * d])) - db(f64::from(l[k * d]));
            assert!((step - db(0.5)).abs() < 0.01, "repeat {k}: {step} dB");
        }
    }

    #[test]
    fn ping_pong_bounces_the_echoes_from_left_to_right() {
        let d = 480;
        let mut s = spec(10.0, 0.5, 1.0);
        s.ping_pong = true;
        let x = impulse(5 * d);
        let (l, r) = render_spec(&s, FS, &x, &x);
        // Left and right impulses sum to mono at unit level, so levels are exactly 0.5^k.
        let want_l = [(d, 1.0), (3 * d, 0.25)];
        let want_r = [(2 * d, 0.5), (4 * d, 0.125)];
        for (n, v) in want_l {
            assert!((f64::from(l[n]) - v).abs() < 1e-7 && r[n] == 0.0, "frame {n}");
        }
        for (n, v) in want_r {
            assert!((f64::from(r[n]) - v).abs() < 1e-7 && l[n] == 0.0, "frame {n}");
        }
    }

    #[test]
    fn mix_blends_dry_and_echoes_in_proportion() {
        let x = noise(4000, 3);
        let (dry, _) = render_spec(&spec(5.0, 0.3, 0.0), FS, &x, &x);
        let (wet, _) = render_spec(&spec(5.0, 0.3, 1.0), FS, &x, &x);
        let (mixed, _) = render_spec(&spec(5.0, 0.3, 0.18), FS, &x, &x);
        assert_eq!(dry, x);
        // Each output is one f32 rounding of the f64 blend: within 1e-6 of the blend of the
        // rounded parts.
        for ((m, d), w) in mixed.iter().zip(&dry).zip(&wet) {
            let want = 0.82 * f64::from(*d) + 0.18 * f64::from(*w);
            assert!((f64::from(*m) - want).abs() < 1e-6);
        }
    }

    #[test]
    fn a_high_cut_dulls_each_echo_but_keeps_its_low_frequency_level() {
        let d = 480;
        let mut s = spec(10.0, 0.5, 1.0);
        s.high_cut_hz = Some(2000.0);
        let x = impulse(4 * d);
        let (l, _) = render_spec(&s, FS, &x, &x);
        // The low-pass has unity DC gain, so the area under the k-th echo is 0.5^(k-1);
        // its 2 kHz ringing dies within a few dozen frames, and f32 sums hold 1e-4.
        for k in 1..4 {
            let area: f64 = l[k * d..(k + 1) * d].iter().map(|&v| f64::from(v)).sum();
            assert!((area - 0.5f64.powi(k as i32 - 1)).abs() < 1e-4, "echo {k}: {area}");
            assert!(f64::from(l[k * d]) < 0.5f64.powi(k as i32 - 1) * 0.5);
        }
    }

    #[test]
    fn nothing_louder_than_minus_90_db_sounds_after_the_tail() {
        let mut s = spec(7.0, 0.6, 1.0);
        s.low_cut_hz = Some(200.0);
        let env = BuildEnv { sample_rate: FS, max_block: 4096 };
        let tail = s.build(&env).tail();
        let x = impulse(tail + 4000);
        let (l, _) = render_spec(&s, FS, &x, &x);
        let peak = l.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        let late = l[tail..].iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        assert!(db(f64::from(late / peak)) < -90.0, "{}", db(f64::from(late / peak)));
        // Honest, not padded: 22 echoes of 338 frames take 0.6 down 90 dB, and the 200 Hz
        // high-pass rings for about 400 frames more.
        assert!(tail < 22 * 338 + 2000, "{tail}");
    }

    #[test]
    fn output_is_the_same_for_any_block_size_with_automation_and_filters() {
        let s = DelaySettings {
            time: ramp(0.004, 0.011, 0.1),
            feedback: ramp(0.2, 0.7, 0.1),
            mix: Timeline::constant(0.5),
            ping_pong: true,
            high_cut_hz: Some(5000.0),
            low_cut_hz: Some(100.0),
        };
        let x = noise(9000, 11);
        assert_block_size_independent(&s, FS, &x, &noise(9000, 12));
    }

    #[test]
    fn a_nan_or_infinite_input_sample_is_treated_as_silence() {
        let mut s = spec(5.0, 0.5, 0.5);
        s.high_cut_hz = Some(3000.0);
        assert_non_finite_input_is_silence(&s, FS);
    }
}
