//! `convolution`: a stereo impulse response applied by uniformly partitioned FFT
//! convolution (overlap-save with a frequency-domain delay line).
//!
//! This module never reads files: the engine decodes the impulse response the step names
//! and hands its audio to [`SpecWithFile::build`].

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::dsp::primitives::ring::Ring;
use crate::dsp::{Audio, BuildEnv, Context, Processor, SpecWithFile, sanitize};
use crate::units::{Share, TimeMs};

/// Partitions are about this many times shorter than the IR, within the bounds below:
/// longer partitions make fewer spectra to multiply, shorter ones less latency.
const PARTITIONS_TARGET: usize = 32;
const PARTITION_FRAMES: (usize, usize) = (64, 4096);

/// A convolution's settings besides its impulse response.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvolutionSettings {
    /// The share of the convolved signal in the output; the dry share is delayed to match.
    pub mix: Share,
    /// Silence added before the impulse response.
    pub predelay: TimeMs,
}

impl SpecWithFile for ConvolutionSettings {
    const VERSION: u32 = 1;

    fn build(&self, ir: &Audio, env: &BuildEnv) -> Box<dyn Processor> {
        let predelay = (self.predelay.seconds() * env.sample_rate).round() as usize;
        Box::new(Convolution::new(ir, predelay, self.mix.0))
    }
}

/// One channel's partitioned filter and its input history.
struct Channel {
    /// The spectrum of each IR partition, earliest first.
    filters: Vec<Vec<Complex<f32>>>,
    /// The spectra of the latest input windows, newest at `head`.
    history: Vec<Vec<Complex<f32>>>,
    head: usize,
    /// The previous and the current input partition.
    input: Vec<f32>,
    /// The convolved partition being played out.
    output: Vec<f32>,
}

/// The FFT plans and the buffers they work in, shared by both channels.
struct Workspace {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    time: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    sum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

/// The running convolver. Its output lags by one partition.
pub struct Convolution {
    partition: usize,
    channels: [Channel; 2],
    work: Workspace,
    filled: usize,
    dry: [Ring; 2],
    mix: f64,
    tail: usize,
}

impl Convolution {
    /// A convolver for `ir` preceded by `predelay` frames of silence, blending `mix` of the
    /// convolved signal with the delayed dry one.
    #[must_use]
    pub fn new(ir: &Audio, predelay: usize, mix: f64) -> Self {
        let length = (predelay + ir.frames()).max(1);
        let partition = length
            .div_ceil(PARTITIONS_TARGET)
            .next_power_of_two()
            .clamp(PARTITION_FRAMES.0, PARTITION_FRAMES.1);
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(2 * partition);
        let inverse = planner.plan_fft_inverse(2 * partition);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        let mut work = Workspace {
            time: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            sum: forward.make_output_vec(),
            scratch: vec![Complex::default(); scratch_len],
            forward,
            inverse,
        };
        let channels = [&ir.left, &ir.right].map(|samples| {
            let mut padded = vec![0.0; predelay];
            padded.extend(samples.iter().map(|&x| sanitize(f64::from(x)) as f32));
            padded.resize(length, 0.0);
            Channel::new(&padded, partition, &mut work)
        });
        Self {
            partition,
            channels,
            work,
            filled: 0,
            dry: [Ring::new(partition), Ring::new(partition)],
            mix,
            tail: length,
        }
    }
}

impl Channel {
    fn new(ir: &[f32], partition: usize, work: &mut Workspace) -> Self {
        // The 1/N of the inverse transform is folded into the filters.
        let scale = 1.0 / (2 * partition) as f32;
        let filters: Vec<Vec<Complex<f32>>> = ir
            .chunks(partition)
            .map(|chunk| {
                work.time.fill(0.0);
                for (t, &h) in work.time.iter_mut().zip(chunk) {
                    *t = h * scale;
                }
                let mut spectrum = work.forward.make_output_vec();
                work.forward
                    .process_with_scratch(&mut work.time, &mut spectrum, &mut work.scratch)
                    .expect("buffers come from the plan");
                spectrum
            })
            .collect();
        let history = vec![vec![Complex::default(); partition + 1]; filters.len()];
        Self {
            filters,
            history,
            head: 0,
            input: vec![0.0; 2 * partition],
            output: vec![0.0; partition],
        }
    }

    /// Convolves the input window that just filled and queues the result for output.
    fn convolve(&mut self, work: &mut Workspace) {
        let partition = self.output.len();
        work.time.copy_from_slice(&self.input);
        work.forward
            .process_with_scratch(&mut work.time, &mut work.spectrum, &mut work.scratch)
            .expect("buffers come from the plan");
        let count = self.history.len();
        self.head = (self.head + count - 1) % count;
        self.history[self.head].copy_from_slice(&work.spectrum);
        work.sum.fill(Complex::default());
        for (p, filter) in self.filters.iter().enumerate() {
            let spectrum = &self.history[(self.head + p) % count];
            for ((acc, x), h) in work.sum.iter_mut().zip(spectrum).zip(filter) {
                *acc += x * h;
            }
        }
        // A real signal's DC and Nyquist bins are real; keep rounding from saying otherwise.
        work.sum[0].im = 0.0;
        work.sum[partition].im = 0.0;
        work.inverse
            .process_with_scratch(&mut work.sum, &mut work.time, &mut work.scratch)
            .expect("buffers come from the plan");
        // Overlap-save: the second half of the circular result is the linear convolution.
        self.output.copy_from_slice(&work.time[partition..]);
        self.input.copy_within(partition.., 0);
    }
}

impl Processor for Convolution {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], _ctx: &Context<'_>) {
        let mut done = 0;
        while done < left.len() {
            let take = (left.len() - done).min(self.partition - self.filled);
            for (side, block) in [&mut left[done..done + take], &mut right[done..done + take]]
                .into_iter()
                .enumerate()
            {
                let channel = &mut self.channels[side];
                let dry = &mut self.dry[side];
                for (k, x) in block.iter_mut().enumerate() {
                    let at = self.filled + k;
                    // One bad sample would spoil a whole spectrum, and with it every
                    // partition it passes through.
                    let clean = sanitize(f64::from(*x)) as f32;
                    channel.input[self.partition + at] = clean;
                    let delayed = f64::from(dry.read(self.partition));
                    dry.push(clean);
                    let wet = f64::from(channel.output[at]);
                    *x = sanitize((1.0 - self.mix) * delayed + self.mix * wet) as f32;
                }
            }
            self.filled += take;
            done += take;
            if self.filled == self.partition {
                for channel in &mut self.channels {
                    channel.convolve(&mut self.work);
                }
                self.filled = 0;
            }
        }
    }

    fn latency(&self) -> usize {
        self.partition
    }

    fn tail(&self) -> usize {
        self.tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::Spec;
    use crate::dsp::probe::{
        assert_block_size_independent, assert_non_finite_input_is_silence, impulse, noise, render,
        render_spec,
    };

    const FS: f64 = 48000.0;

    /// A convolution with its impulse response in hand, built as a [`Spec`] so that the
    /// probe's helpers can run it.
    struct WithIr(Audio, ConvolutionSettings);

    impl Spec for WithIr {
        const VERSION: u32 = ConvolutionSettings::VERSION;

        fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
            self.1.build(&self.0, env)
        }
    }

    fn spec(ir: Audio, mix: f64, predelay_s: f64) -> WithIr {
        WithIr(ir, ConvolutionSettings { mix: Share(mix), predelay: TimeMs(predelay_s) })
    }

    /// A decaying random IR of `frames` taps per channel.
    fn random_ir(frames: usize) -> Audio {
        let decay = |x: Vec<f32>| -> Vec<f32> {
            x.iter().enumerate().map(|(n, v)| v * (-(n as f32) / 800.0).exp()).collect()
        };
        Audio { left: decay(noise(frames, 21)), right: decay(noise(frames - 300, 22)) }
    }

    fn latency(spec: &WithIr) -> usize {
        spec.build(&BuildEnv { sample_rate: FS, max_block: 4096 }).latency()
    }

    fn direct(x: &[f32], h: &[f32]) -> Vec<f64> {
        (0..x.len())
            .map(|n| (0..h.len().min(n + 1)).map(|k| f64::from(x[n - k]) * f64::from(h[k])).sum())
            .collect()
    }

    #[test]
    fn the_output_is_the_direct_convolution_within_minus_100_db_at_any_block_size() {
        let ir = random_ir(3000);
        let s = spec(ir.clone(), 1.0, 0.0);
        let lag = latency(&s);
        let (x_l, x_r) = (noise(12000, 1), noise(12000, 2));
        assert_block_size_independent(&s, FS, &x_l, &x_r);
        for block in [1, 64, 4096] {
            let env = BuildEnv { sample_rate: FS, max_block: block };
            let (y_l, y_r) = render(s.build(&env).as_mut(), &x_l, &x_r, block);
            for (y, x, h) in [(&y_l, &x_l, &ir.left), (&y_r, &x_r, &ir.right)] {
                let want = direct(x, h);
                let (err, energy) = (lag..y.len()).fold((0.0, 0.0), |(e, s), n| {
                    let d = want[n - lag];
                    (e + (f64::from(y[n]) - d).powi(2), s + d * d)
                });
                let db = 10.0 * (err / energy).log10();
                assert!(db < -100.0, "block {block}: error {db} dB");
                assert!(y[..lag].iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn the_predelay_shifts_the_response_by_exact_frames() {
        let ir = Audio { left: vec![0.5, 0.25], right: vec![1.0] };
        let s = spec(ir, 1.0, 0.01);
        let lag = latency(&s);
        let x = impulse(lag + 600);
        let (l, r) = render_spec(&s, FS, &x, &x);
        let first = |y: &[f32]| y.iter().position(|&v| v.abs() > 1e-6);
        assert_eq!(first(&l), Some(lag + 480));
        assert_eq!(first(&r), Some(lag + 480));
        // Single-tap products through an f32 FFT: exact to about 1e-7.
        assert!((l[lag + 480] - 0.5).abs() < 1e-6 && (l[lag + 481] - 0.25).abs() < 1e-6);
        assert!((r[lag + 480] - 1.0).abs() < 1e-6 && r[lag + 481].abs() < 1e-6);
    }

    #[test]
    fn mix_blends_the_delayed_dry_signal_and_the_convolved_one() {
        let ir = random_ir(500);
        let x = noise(3000, 3);
        let wet = render_spec(&spec(ir.clone(), 1.0, 0.0), FS, &x, &x).0;
        let s = spec(ir, 0.3, 0.0);
        let lag = latency(&s);
        let mixed = render_spec(&s, FS, &x, &x).0;
        // One f32 rounding of each part: 1e-6 at these levels.
        for n in lag..3000 {
            let want = 0.7 * f64::from(x[n - lag]) + 0.3 * f64::from(wet[n]);
            assert!((f64::from(mixed[n]) - want).abs() < 1e-6, "{n}");
        }
    }

    #[test]
    fn nothing_sounds_after_the_latency_and_the_tail() {
        let s = spec(random_ir(1000), 1.0, 0.002);
        let env = BuildEnv { sample_rate: FS, max_block: 4096 };
        let p = s.build(&env);
        let end = p.latency() + p.tail();
        assert_eq!(p.tail(), 1096);
        let x = impulse(end + 2000);
        let (l, _) = render_spec(&s, FS, &x, &x);
        // What follows the last tap is FFT rounding of silence around it: below -120 dB.
        assert!(l[end..].iter().all(|v| v.abs() < 1e-6));
        assert!(l[end - 2].abs() > 1e-6);
    }

    #[test]
    fn a_nan_or_infinite_input_sample_is_treated_as_silence() {
        assert_non_finite_input_is_silence(&spec(random_ir(500), 1.0, 0.0), FS);
    }
}
