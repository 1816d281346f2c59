//! `reverb`: an algorithmic room. The input is predelayed, diffused by all-passes and fed to
//! a 16-line feedback delay network ([`super::fdn`]) whose decay is set from the RT60 and
//! the damping; this file turns the musical parameters into the network's numbers.

use std::f64::consts::PI;

use super::fdn::{Decay, Fdn, LINES};
use crate::dsp::primitives::allpass::Allpass;
use crate::dsp::primitives::ring::Ring;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The RT60 range the network is tuned for, in seconds.
pub const DECAY_RANGE: (f64, f64) = (0.1, 20.0);

/// The shortest line at `size` 0% and at 100%, in seconds; the longest is `LINE_SPREAD`
/// times the shortest.
const SHORTEST_LINE_S: (f64, f64) = (0.006, 0.036);
const LINE_SPREAD: f64 = 2.5;

/// The longest line as a share of the decay. A pass through a line loses
/// `60·length/RT60` dB, so a line nearly as long as a short decay loses most of its energy
/// in one pass and the network builds up slower than it decays, which stretched a 0.1 s
/// decay at size 85% to 0.2 s. Lines are only shortened for decays below 0.45 s.
const LONGEST_LINE_SHARE: f64 = 0.2;

/// Input diffusers per channel: (delay in seconds at `size` 100%, all-pass gain).
const DIFFUSERS: [[(f64, f64); 4]; 2] = [
    [(0.0048, 0.75), (0.0036, 0.75), (0.0127, 0.625), (0.0093, 0.625)],
    [(0.0043, 0.75), (0.0039, 0.75), (0.0119, 0.625), (0.0099, 0.625)],
];

/// Where `damping` sets the treble decay: RT60 there is `1 - DAMPING_RANGE·damping` times
/// the RT60 at DC.
const DAMPING_HZ: f64 = 8000.0;
const DAMPING_RANGE: f64 = 0.85;

/// The longest ring a diffuser may have, as a share of the decay: the diffusers feed the
/// network, so a diffuser that rang nearly as long as a short decay would stretch it (a
/// 0.1 s decay measured 0.155 s at size 50% with the diffusers at their full gain).
const DIFFUSER_RING_SHARE: f64 = 0.25;

/// Scales the network's output so that the impulse response at the default settings
/// carries about the energy of the impulse, which keeps a 100% wet return near the level
/// of its input.
const OUTPUT_GAIN: f64 = 2.0;

/// The level of the diffused input in the output, before the network's first echoes
/// arrive: quiet enough that the decay, not this onset, holds the energy.
const ONSET_GAIN: f64 = 0.1;

/// Decibels of decay that the tail reports: 5 dB beyond -90 dB, because the peaks of a
/// noise-like tail stand above its mean level.
const TAIL_DB: f64 = 95.0;

/// A reverb's settings, each a fraction from 0 to 1 unless it says otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct ReverbSettings {
    /// Room size: from a small room (0) to a hall (1).
    pub size: f64,
    /// The broadband RT60 in seconds, within [`DECAY_RANGE`].
    pub decay_seconds: f64,
    /// Silence between the input and the start of the reverb, in seconds.
    pub predelay_seconds: f64,
    /// How much faster the treble dies than the bass.
    pub damping: f64,
    /// Stereo width: 0 is mono, 1 fully decorrelated.
    pub width: f64,
    /// The share of reverb in the output.
    pub mix: f64,
}

impl Spec for ReverbSettings {
    /// 4: decays below 0.75 s lower the diffusers' gain and below 0.45 s shorten the
    /// lines, so that short decays measure as set; longer decays render as in 3.
    const VERSION: u32 = 4;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Reverb::new(self, env.sample_rate))
    }
}

/// Frames the reverb takes at a time: the input diffusers run over whole stretches this
/// long, which vectorises, before the network takes them frame by frame.
const CHUNK: usize = 256;

/// The running reverb.
pub struct Reverb {
    predelay: usize,
    predelay_lines: [Ring; 2],
    diffusers: [Vec<Allpass>; 2],
    /// The diffused input of the chunk being processed, per channel.
    diffused: [Vec<f64>; 2],
    fdn: Fdn,
    width: f64,
    mix: f64,
    tail: usize,
}

impl Reverb {
    /// A reverb for `spec` at `sample_rate`.
    #[must_use]
    pub fn new(spec: &ReverbSettings, sample_rate: f64) -> Self {
        let size = spec.size;
        let decay = spec.decay_seconds;
        let lengths = line_lengths(size, decay, sample_rate);
        let mean = lengths.iter().sum::<usize>() as f64 / LINES as f64;
        let decay = decay_targets(decay, spec.damping, sample_rate, mean);
        let fdn = Fdn::new(lengths, &decay, sample_rate);
        let diffusers = DIFFUSERS.map(|side| {
            side.iter()
                .map(|&(seconds, gain)| {
                    let target = seconds * (0.3 + 0.7 * size) * sample_rate;
                    let frames = next_prime(target.round() as usize);
                    Allpass::new(
                        frames,
                        diffuser_gain(gain, frames, spec.decay_seconds, sample_rate),
                    )
                })
                .collect::<Vec<_>>()
        });
        let predelay = (spec.predelay_seconds * sample_rate).round() as usize;
        // The diffusers feed the network, so their ringing overlaps its far slower decay.
        let diffusion: usize = diffusers[0].iter().map(Allpass::ring_frames).max().unwrap_or(0);
        let decay_frames = (decay.rt60_dc * sample_rate * TAIL_DB / 60.0).ceil() as usize;
        let tail = predelay + fdn.longest() + diffusion.max(decay_frames);
        Self {
            predelay,
            predelay_lines: [Ring::new(predelay), Ring::new(predelay)],
            diffusers,
            diffused: [vec![0.0; CHUNK], vec![0.0; CHUNK]],
            fdn,
            width: spec.width,
            mix: spec.mix,
            tail,
        }
    }

    /// Processes a block of at most `CHUNK` frames that starts at absolute frame `start`.
    fn process_chunk(&mut self, left: &mut [f32], right: &mut [f32], start: u64) {
        let n = left.len();
        for (side, input) in [&*left, &*right].into_iter().enumerate() {
            let diffused = &mut self.diffused[side][..n];
            let line = &mut self.predelay_lines[side];
            for (d, &x) in diffused.iter_mut().zip(input) {
                let x = sanitize(f64::from(x));
                *d = if self.predelay == 0 {
                    x
                } else {
                    let out = f64::from(line.read(self.predelay));
                    line.push(x as f32);
                    out
                };
            }
            for allpass in &mut self.diffusers[side] {
                allpass.process_block(diffused);
            }
        }
        let [diffused_l, diffused_r] = &self.diffused;
        let wet = OUTPUT_GAIN * self.mix;
        let frames = left.iter_mut().zip(right.iter_mut()).zip(diffused_l.iter().zip(diffused_r));
        for (i, ((l, r), (&d_l, &d_r))) in frames.enumerate() {
            let (x_l, x_r) = (sanitize(f64::from(*l)), sanitize(f64::from(*r)));
            let (w_l, w_r) = self.fdn.tick(start + i as u64, d_l, d_r);
            let (w_l, w_r) = (w_l + ONSET_GAIN * d_l, w_r + ONSET_GAIN * d_r);
            let mid = 0.5 * (w_l + w_r);
            let side = 0.5 * (w_l - w_r) * self.width;
            *l = sanitize((1.0 - self.mix) * x_l + wet * (mid + side)) as f32;
            *r = sanitize((1.0 - self.mix) * x_r + wet * (mid - side)) as f32;
        }
    }
}

impl Processor for Reverb {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        let chunks = left.chunks_mut(CHUNK).zip(right.chunks_mut(CHUNK));
        for (k, (l, r)) in chunks.enumerate() {
            self.process_chunk(l, r, ctx.start + (k * CHUNK) as u64);
        }
    }

    fn tail(&self) -> usize {
        self.tail
    }
}

/// The feedback gain of a diffuser of `frames` frames: `gain`, lowered where needed so that
/// its echoes fall 60 dB within [`DIFFUSER_RING_SHARE`] of a `decay`-second RT60. Each
/// echo is `gain` times the last, so the ring's RT60 is `3·frames / (fs·−log10 gain)`. At
/// size 100% the longest diffuser rings 0.19 s, so decays from 0.75 s up keep every gain.
fn diffuser_gain(gain: f64, frames: usize, decay: f64, sample_rate: f64) -> f64 {
    let ring = DIFFUSER_RING_SHARE * decay;
    gain.min(10f64.powf(-3.0 * frames as f64 / (sample_rate * ring)))
}

/// Sixteen line lengths in frames: spread geometrically over `LINE_SPREAD` from a shortest
/// line set by `size`, each moved up to the next unused prime so that no two lines share a
/// factor and their echoes never line up. The longest line is held within
/// [`LONGEST_LINE_SHARE`] of the `decay`, so a short decay shrinks the room.
fn line_lengths(size: f64, decay: f64, sample_rate: f64) -> [usize; LINES] {
    let (small, large) = SHORTEST_LINE_S;
    let sized = small + (large - small) * size;
    let shortest = sized.min(LONGEST_LINE_SHARE * decay / LINE_SPREAD) * sample_rate;
    let mut lengths = [0; LINES];
    for i in 0..LINES {
        let target = shortest * LINE_SPREAD.powf(i as f64 / (LINES - 1) as f64);
        let mut n = next_prime(target.round() as usize);
        while lengths[..i].contains(&n) {
            n = next_prime(n + 1);
        }
        lengths[i] = n;
    }
    lengths
}

/// The smallest prime at or above `n` (and at least 2).
fn next_prime(n: usize) -> usize {
    let is_prime = |k: usize| k >= 2 && (2..=k.isqrt()).all(|d| !k.is_multiple_of(d));
    let mut k = n.max(2);
    while !is_prime(k) {
        k += 1;
    }
    k
}

/// The loss targets for a broadband RT60 of `decay` seconds. Damping shortens the treble
/// decay, which would shorten the broadband decay too; the DC decay is lengthened until the
/// Schroeder fit of the modelled response (white input, lines of `mean_length` frames)
/// gives `decay` again.
fn decay_targets(decay: f64, damping: f64, sample_rate: f64, mean_length: f64) -> Decay {
    let omega = 2.0 * PI * DAMPING_HZ.min(0.45 * sample_rate) / sample_rate;
    let ratio = 1.0 - DAMPING_RANGE * damping;
    let mut targets = Decay { rt60_dc: decay, rt60_at: decay * ratio, omega };
    if damping > 0.0 {
        for _ in 0..6 {
            let fitted = broadband_rt60(&targets, mean_length, sample_rate);
            targets.rt60_dc *= decay / fitted;
            targets.rt60_at = targets.rt60_dc * ratio;
        }
    }
    targets
}

/// The RT60 a Schroeder fit over -5..-35 dB would measure for a network whose every
/// frequency decays as the loss filter of a `length`-frame line says.
fn broadband_rt60(decay: &Decay, length: f64, sample_rate: f64) -> f64 {
    const BANDS: usize = 128;
    let filter = decay.loss_filter(length, sample_rate);
    // Energy decay constants per second: each pass keeps |H|² of the energy.
    let rates: Vec<f64> = (0..BANDS)
        .map(|k| {
            let omega = PI * (k as f64 + 0.5) / BANDS as f64;
            -2.0 * filter.magnitude(omega).ln() * sample_rate / length
        })
        .collect();
    // The backward integral of Σ e^(-a·t) is Σ e^(-a·t)/a.
    let energy = |t: f64| rates.iter().map(|a| (-a * t).exp() / a).sum::<f64>();
    let total = energy(0.0);
    let level = |t: f64| 10.0 * (energy(t) / total).log10();
    let time_at = |db: f64| {
        let (mut lo, mut hi) = (0.0, 10.0 * decay.rt60_dc);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if level(mid) > db { lo = mid } else { hi = mid }
        }
        0.5 * (lo + hi)
    };
    let (t5, t35) = (time_at(-5.0), time_at(-35.0));
    let points: Vec<(f64, f64)> = (0..=64)
        .map(|i| {
            let t = t5 + (t35 - t5) * f64::from(i) / 64.0;
            (t, level(t))
        })
        .collect();
    -60.0 / least_squares_slope(&points)
}

/// The slope of the least-squares line through `points`.
fn least_squares_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
    let (sxy, sxx) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + (x - mx) * (y - my), b + (x - mx) * (x - mx)));
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::primitives::one_pole::OnePole;
    use crate::dsp::probe::{
        assert_block_size_independent, assert_non_finite_input_is_silence, impulse, noise,
        render_spec,
    };

    fn spec(size: f64, decay: f64, damping: f64) -> ReverbSettings {
        ReverbSettings {
            size,
            decay_seconds: decay,
            predelay_seconds: 0.0,
            damping,
            width: 1.0,
            mix: 1.0,
        }
    }

    /// The impulse response of `spec`, `seconds` long.
    fn impulse_response(spec: &ReverbSettings, fs: f64, seconds: f64) -> (Vec<f32>, Vec<f32>) {
        let x = impulse((seconds * fs) as usize);
        render_spec(spec, fs, &x, &x)
    }

    /// RT60 from the Schroeder backward integral of the energy of `signal`: a
    /// least-squares line through the decay curve between -5 and -35 dB, extrapolated to
    /// -60 dB.
    fn schroeder_rt60(signal: &[f64], fs: f64) -> f64 {
        let mut edc = vec![0.0; signal.len()];
        let mut acc = 0.0;
        for (e, x) in edc.iter_mut().zip(signal).rev() {
            acc += x * x;
            *e = acc;
        }
        let points: Vec<(f64, f64)> = edc
            .iter()
            .enumerate()
            .map(|(n, e)| (n as f64 / fs, 10.0 * (e / edc[0]).log10()))
            .skip_while(|&(_, db)| db > -5.0)
            .take_while(|&(_, db)| db > -35.0)
            .collect();
        -60.0 / least_squares_slope(&points)
    }

    /// The stereo magnitude of each frame: its square is the frame's energy.
    fn both(l: &[f32], r: &[f32]) -> Vec<f64> {
        l.iter().zip(r).map(|(a, b)| f64::from(*a).hypot(f64::from(*b))).collect()
    }

    fn measured_rt60(spec: &ReverbSettings, fs: f64) -> f64 {
        // The response runs 1.4 decays, past -60 dB even with the longest bass decay
        // that damping brings, so truncation bends the curve by less than 0.02 dB at -35.
        let (l, r) = impulse_response(spec, fs, 1.4 * spec.decay_seconds);
        schroeder_rt60(&both(&l, &r), fs)
    }

    #[test]
    fn the_measured_rt60_is_within_ten_percent_of_the_decay_setting() {
        // The 10% tolerance is the brief's; 8 s is measured at 16 kHz to keep it short.
        for (decay, fs) in [(0.3, 48000.0), (1.0, 48000.0), (2.4, 48000.0), (8.0, 16000.0)] {
            let rt60 = measured_rt60(&spec(0.5, decay, 0.5), fs);
            assert!((rt60 / decay - 1.0).abs() < 0.1, "decay {decay} s measured {rt60} s");
        }
    }

    #[test]
    fn the_schroeder_t30_holds_ten_percent_from_the_shortest_decay_up() {
        // T30 is the Schroeder fit over -5..-35 dB extrapolated to -60 dB; the 10% is the
        // documented tolerance, held down to the shortest decay a project may ask for.
        let mut measured = Vec::new();
        for size in [0.5, 0.85] {
            for decay in [DECAY_RANGE.0, 0.2, 0.5, 2.0] {
                let t30 = measured_rt60(&spec(size, decay, 0.5), 48000.0);
                measured.push((size, decay, t30));
            }
        }
        let report = format!("{measured:.3?}");
        println!("(size, decay, T30): {report}");
        for (_, decay, t30) in measured {
            assert!((t30 / decay - 1.0).abs() < 0.1, "(size, decay, T30): {report}");
        }
    }

    #[test]
    fn the_rt60_holds_across_sizes_and_damping() {
        for (size, damping) in [(0.0, 0.0), (0.85, 0.4), (1.0, 1.0), (0.3, 0.0)] {
            let rt60 = measured_rt60(&spec(size, 1.2, damping), 48000.0);
            assert!((rt60 / 1.2 - 1.0).abs() < 0.1, "size {size} damping {damping}: {rt60} s");
        }
    }

    #[test]
    fn damping_makes_the_treble_die_faster_than_the_bass() {
        let fs = 48000.0;
        let band_rt60 = |damping: f64| {
            let (l, _) = impulse_response(&spec(0.5, 1.0, damping), fs, 1.6);
            let mut low = OnePole::lowpass(500.0, fs);
            let mut high = [OnePole::highpass(6000.0, fs), OnePole::highpass(6000.0, fs)];
            let lows: Vec<f64> = l.iter().map(|&x| low.process(f64::from(x))).collect();
            let highs: Vec<f64> = l
                .iter()
                .map(|&x| high.iter_mut().fold(f64::from(x), |v, f| f.process(v)))
                .collect();
            (schroeder_rt60(&lows, fs), schroeder_rt60(&highs, fs))
        };
        // Undamped, every frequency decays alike; 10% allows for the band edges and the
        // randomness of a single response.
        let (low, high) = band_rt60(0.0);
        assert!((high / low - 1.0).abs() < 0.1, "{low} {high}");
        // At 50% the 8 kHz RT60 is 57.5% of the bass RT60; above 6 kHz it is below 80%.
        let (low, high) = band_rt60(0.5);
        assert!(high < 0.8 * low, "{low} {high}");
    }

    #[test]
    fn the_predelay_is_exact_to_the_frame() {
        for (predelay_ms, frames) in [(0.0, 0), (25.0, 1200), (10.01, 480)] {
            let mut s = spec(0.85, 2.4, 0.4);
            s.predelay_seconds = predelay_ms / 1000.0;
            let (l, r) = impulse_response(&s, 48000.0, 0.05);
            let first = |x: &[f32]| x.iter().position(|&v| v != 0.0);
            assert_eq!(first(&l), Some(frames));
            assert_eq!(first(&r), Some(frames));
        }
    }

    #[test]
    fn the_tail_channels_are_decorrelated_at_full_width_and_identical_at_zero() {
        let correlation = |width: f64| {
            let mut s = spec(0.7, 2.0, 0.5);
            s.width = width;
            let (l, r) = impulse_response(&s, 48000.0, 0.6);
            let (l, r) = (&l[4800..], &r[4800..]);
            let dot = |a: &[f32], b: &[f32]| {
                a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum::<f64>()
            };
            dot(l, r) / (dot(l, l) * dot(r, r)).sqrt()
        };
        let full = correlation(1.0);
        assert!(full.abs() < 0.5, "{full}");
        // At zero width both channels carry the same mid signal, up to f32 rounding.
        assert!((correlation(0.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn nothing_louder_than_minus_90_db_sounds_after_the_tail() {
        let fs = 48000.0;
        let mut s = spec(0.6, 0.8, 0.5);
        s.predelay_seconds = 0.02;
        let env = BuildEnv { sample_rate: fs, max_block: 4096 };
        let tail = s.build(&env).tail();
        let (l, r) = impulse_response(&s, fs, (tail + 9600) as f64 / fs);
        let level = both(&l, &r);
        let peak = level.iter().fold(0.0f64, |a, &b| a.max(b));
        let last_loud = level.iter().rposition(|&v| v > peak * 10f64.powf(-4.5)).unwrap();
        assert!(last_loud < tail, "sound at {last_loud} after a tail of {tail}");
        // Honest, too: the tail ends within a third of the real -90 dB point.
        assert!(tail < last_loud * 4 / 3, "tail {tail} for sound ending at {last_loud}");
    }

    #[test]
    fn mix_blends_dry_and_reverb_in_proportion() {
        let x = noise(6000, 8);
        let y = noise(6000, 9);
        let mut s = spec(0.6, 1.8, 0.5);
        let (wet_l, wet_r) = render_spec(&s, 48000.0, &x, &y);
        s.mix = 0.25;
        let (mix_l, mix_r) = render_spec(&s, 48000.0, &x, &y);
        // One f32 rounding of each part: 1e-6 at these levels.
        for (m, (d, w)) in
            mix_l.iter().chain(&mix_r).zip(x.iter().chain(&y).zip(wet_l.iter().chain(&wet_r)))
        {
            let want = 0.75 * f64::from(*d) + 0.25 * f64::from(*w);
            assert!((f64::from(*m) - want).abs() < 1e-6);
        }
    }

    #[test]
    fn output_is_the_same_for_any_block_size() {
        let mut s = spec(0.85, 2.4, 0.4);
        s.predelay_seconds = 0.025;
        assert_block_size_independent(&s, 48000.0, &noise(7000, 1), &noise(7000, 2));
    }

    #[test]
    fn a_nan_or_infinite_input_sample_is_treated_as_silence() {
        assert_non_finite_input_is_silence(&spec(0.5, 1.0, 0.5), 48000.0);
    }

    #[test]
    fn line_lengths_are_distinct_primes_that_grow_with_size() {
        let small = line_lengths(0.0, 2.0, 48000.0);
        let large = line_lengths(1.0, 2.0, 48000.0);
        assert!(small.iter().zip(&large).all(|(a, b)| a < b));
        for n in small.iter().chain(&large) {
            assert_eq!(next_prime(*n), *n);
        }
        assert!(small.windows(2).all(|w| w[0] < w[1]));
    }
}
