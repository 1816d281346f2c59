//! `multiband`: a compressor per frequency band. The input is split into 2 to 5 bands by
//! Linkwitz–Riley 4th-order crossovers ([`crate::dsp::primitives::crossover`]), each band
//! runs its own [`Compressor`] and gain, and the bands are summed again.
//!
//! The split is a tree: the lowest crossover takes its lowpass off the input and passes the
//! highpass on to the next crossover, and so on up, so a band has been through the
//! highpasses of every crossover below it. Each band below the top then runs
//! through the all-passes of the crossovers above its own, so that every band carries the
//! same phase and the sum is the product of those all-passes: flat in magnitude when no
//! band compresses.
//!
//! A band can be soloed (only soloed bands are heard) or bypassed (it passes without
//! compression or gain). The step's settings are checked as the file loads (2 to 5 bands,
//! one crossover between each two, ascending, below Nyquist); [`Multiband::new`] asserts
//! them as invariants.

use super::compressor::{Compressor, CompressorSettings};
use crate::dsp::primitives::biquad::BiquadCascade;
use crate::dsp::primitives::crossover::{Crossover, allpass};
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The fewest and the most bands a multiband compressor has.
pub const BANDS: (usize, usize) = (2, 5);

/// One band's settings.
#[derive(Debug, Clone)]
pub struct BandSettings {
    /// The compressor that runs on the band, if any.
    pub compressor: Option<CompressorSettings>,
    /// Gain after the compressor, in dB.
    pub gain_db: f64,
    /// Only soloed bands are heard, when any band is soloed.
    pub solo: bool,
    /// The band passes without compression or gain.
    pub bypass: bool,
}

/// The settings of a multiband compressor, in plain units.
#[derive(Debug, Clone)]
pub struct MultibandSettings {
    /// The crossover frequencies in Hz, ascending, one fewer than the bands.
    pub crossovers: Vec<f64>,
    /// The bands from the lowest up.
    pub bands: Vec<BandSettings>,
}

impl Spec for MultibandSettings {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Multiband::new(self, env))
    }
}

/// One band at run time.
struct Band {
    /// Absent when the band is bypassed or has no compressor.
    compressor: Option<Compressor>,
    /// The all-passes of the crossovers above the one that splits this band off.
    phase_match: Option<BiquadCascade>,
    gain: f32,
    heard: bool,
    buffer: [Vec<f32>; 2],
}

/// The running multiband compressor.
pub struct Multiband {
    crossovers: Vec<Crossover>,
    bands: Vec<Band>,
    tail: usize,
}

impl Multiband {
    /// A multiband compressor for `settings`, whose band count and crossovers were checked.
    #[must_use]
    pub fn new(settings: &MultibandSettings, env: &BuildEnv) -> Self {
        let count = settings.bands.len();
        assert!((BANDS.0..=BANDS.1).contains(&count), "{count} bands were not checked");
        assert_eq!(settings.crossovers.len() + 1, count, "one crossover between two bands");
        assert!(settings.crossovers.windows(2).all(|w| w[0] < w[1]), "crossovers ascend");
        let rate = env.sample_rate;
        let crossovers: Vec<Crossover> =
            settings.crossovers.iter().map(|&f| Crossover::new(rate, f)).collect();
        let any_solo = settings.bands.iter().any(|b| b.solo);
        let bands: Vec<Band> = settings
            .bands
            .iter()
            .enumerate()
            .map(|(i, band)| {
                let above: Vec<_> =
                    settings.crossovers.iter().skip(i + 1).map(|&f| allpass(rate, f)).collect();
                Band {
                    compressor: band
                        .compressor
                        .as_ref()
                        .filter(|_| !band.bypass)
                        .map(|c| Compressor::new(c, rate)),
                    phase_match: (!above.is_empty()).then(|| BiquadCascade::new(&above)),
                    gain: if band.bypass { 1.0 } else { 10f64.powf(band.gain_db / 20.0) as f32 },
                    heard: band.solo || !any_solo,
                    buffer: [vec![0.0; env.max_block], vec![0.0; env.max_block]],
                }
            })
            .collect();
        let split: usize = crossovers.iter().map(Crossover::tail).sum();
        let matched = bands.iter().filter_map(|b| b.phase_match.as_ref()).map(BiquadCascade::tail);
        let tail = split + matched.max().unwrap_or(0);
        Self { crossovers, bands, tail }
    }
}

impl Processor for Multiband {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        let n = left.len();
        let last = self.bands.len() - 1;
        // A NaN or infinity would stay in the filters' state for good.
        left.iter_mut().chain(right.iter_mut()).for_each(|x| *x = sanitize(f64::from(*x)) as f32);
        // `left`/`right` hold what is still to be split; each crossover takes its band off.
        for (crossover, band) in self.crossovers.iter_mut().zip(&mut self.bands) {
            let [band_l, band_r] = &mut band.buffer;
            band_l[..n].copy_from_slice(left);
            band_r[..n].copy_from_slice(right);
            crossover.low.process(&mut band_l[..n], &mut band_r[..n], ctx.start);
            crossover.high.process(left, right, ctx.start);
        }
        let [top_l, top_r] = &mut self.bands[last].buffer;
        top_l[..n].copy_from_slice(left);
        top_r[..n].copy_from_slice(right);
        left.fill(0.0);
        right.fill(0.0);
        for band in &mut self.bands {
            let [band_l, band_r] = &mut band.buffer;
            let (band_l, band_r) = (&mut band_l[..n], &mut band_r[..n]);
            if let Some(phase_match) = &mut band.phase_match {
                phase_match.process(band_l, band_r, ctx.start);
            }
            if let Some(compressor) = &mut band.compressor {
                compressor.process(band_l, band_r, ctx);
            }
            if band.heard {
                for (out, x) in left.iter_mut().zip(band_l.iter()) {
                    *out += band.gain * x;
                }
                for (out, x) in right.iter_mut().zip(band_r.iter()) {
                    *out += band.gain * x;
                }
            }
        }
    }

    fn tail(&self) -> usize {
        self.tail
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;
    use crate::dsp::dynamics::compressor::test_settings as compressor;
    use crate::dsp::dynamics::envelope::Detector;
    use crate::dsp::dynamics::gain_computer::compression_gain_db;
    use crate::dsp::primitives::biquad::measure::{self, audio_band};
    use crate::dsp::primitives::crossover::half_db;
    use crate::dsp::primitives::curve::Timeline;
    use crate::dsp::probe::{self, bits};

    const FS: f64 = 48_000.0;

    /// An RMS compressor with 200 ms ballistics, which reads a steady tone at its RMS level.
    fn slow_rms(threshold_db: f64, ratio: f64, knee_db: f64, makeup_db: f64) -> CompressorSettings {
        CompressorSettings {
            attack_seconds: Timeline::constant(0.200),
            release_seconds: Timeline::constant(0.200),
            knee_db,
            makeup_db: Timeline::constant(makeup_db),
            detector: Detector::Rms,
            ..compressor(threshold_db, ratio)
        }
    }

    /// A band that never changes its gain: ratio 1 over a threshold every signal passes.
    fn transparent() -> BandSettings {
        BandSettings {
            compressor: Some(compressor(-60.0, 1.0)),
            gain_db: 0.0,
            solo: false,
            bypass: false,
        }
    }

    fn settings(crossovers: &[f64], bands: Vec<BandSettings>) -> MultibandSettings {
        MultibandSettings { crossovers: crossovers.to_vec(), bands }
    }

    fn build(s: &MultibandSettings) -> Multiband {
        Multiband::new(s, &BuildEnv { sample_rate: FS, max_block: measure::MAX_BLOCK })
    }

    const SPLITS: [&[f64]; 4] =
        [&[120.0], &[120.0, 2000.0], &[80.0, 500.0, 4000.0], &[60.0, 250.0, 1500.0, 8000.0]];

    #[test]
    fn the_bands_sum_flat_within_a_tenth_of_a_db_from_20_hz_to_20_khz() {
        // Measured from the summed impulse response. The sum is a product of all-passes,
        // so what is left is the f32 rounding of each band: far below the 0.1 dB asked.
        for crossovers in SPLITS {
            let bands = vec![transparent(); crossovers.len() + 1];
            let mut p = build(&settings(crossovers, bands));
            let db = measure::processor_db(&mut p, FS, &audio_band());
            let worst = db.iter().fold(0.0f64, |a, d| a.max(d.abs()));
            assert!(worst < 0.1, "{crossovers:?}: {worst} dB");
            assert!(worst < 1e-3, "{crossovers:?}: flat to rounding, not {worst} dB");
        }
    }

    #[test]
    fn a_soloed_band_is_the_product_of_its_crossover_halves() {
        // Each band alone is the lowpass of the crossover above it and the highpasses of
        // every crossover below (the split is a tree; the all-passes are flat): against
        // the analytic LR4 curves within 0.01 dB, which includes 6.02 dB down at its own
        // crossovers and 24 dB per octave beyond them.
        for crossovers in SPLITS {
            for solo in 0..=crossovers.len() {
                let mut bands = vec![transparent(); crossovers.len() + 1];
                bands[solo].solo = true;
                let mut p = build(&settings(crossovers, bands));
                let freqs: Vec<f64> = audio_band().into_iter().chain(crossovers.to_vec()).collect();
                for (f, db) in freqs.iter().zip(measure::processor_db(&mut p, FS, &freqs)) {
                    let below: f64 =
                        crossovers[..solo].iter().map(|&c| half_db(FS, c, *f, true)).sum();
                    let above = crossovers.get(solo).map_or(0.0, |&c| half_db(FS, c, *f, false));
                    let want = below + above;
                    if want > -80.0 {
                        assert!((db - want).abs() < 0.01, "{crossovers:?} band {solo} {f} Hz");
                    }
                }
            }
        }
    }

    /// The amplitude of `freq` in `y`, which holds a whole number of its periods.
    fn amplitude(y: &[f32], freq: f64) -> f64 {
        let (s, c) = y.iter().enumerate().fold((0.0, 0.0), |(s, c), (n, v)| {
            let phase = 2.0 * PI * freq * n as f64 / FS;
            (s + f64::from(*v) * phase.sin(), c + f64::from(*v) * phase.cos())
        });
        2.0 * s.hypot(c) / y.len() as f64
    }

    #[test]
    fn each_band_compresses_a_tone_in_it_by_its_own_static_curve() {
        // A soloed band hears the tone through its filters (magnitude m from the analytic
        // curves) and an RMS detector with 200 ms ballistics reads it at A·m/√2; the gain
        // is then the compressor's static curve plus makeup and the band's gain. The
        // detector's ripple at 150 Hz is 1/(2ωτ) = 0.3% of the mean square, which the
        // amplitude's whole-period average leaves below 0.01 dB; 0.05 dB bounds it.
        let crossovers = [400.0, 5000.0];
        let curves = [
            (-30.0, 2.0, 0.0, 0.0, 1.5),
            (-24.0, 4.0, 6.0, 2.0, 0.0),
            (-18.0, 8.0, 0.0, 0.0, -3.0),
        ];
        let tones = [150.0, 1500.0, 12_000.0];
        for (band, (&freq, &(t, r, knee, makeup, gain))) in tones.iter().zip(&curves).enumerate() {
            let mut bands = vec![transparent(); 3];
            bands[band] = BandSettings {
                compressor: Some(slow_rms(t, r, knee, makeup)),
                gain_db: gain,
                solo: true,
                bypass: false,
            };
            let s = settings(&crossovers, bands);
            let below: f64 = crossovers[..band].iter().map(|&c| half_db(FS, c, freq, true)).sum();
            let m_db = below + crossovers.get(band).map_or(0.0, |&c| half_db(FS, c, freq, false));
            for level_db in [-40.0, -20.0, -6.0] {
                let a = 10f64.powf(level_db / 20.0);
                let x = probe::sine(144_000, freq, a, FS);
                let y = probe::render_with(&|env| Box::new(Multiband::new(&s, env)), FS, &x, &x).0;
                let measured = 20.0 * (amplitude(&y[96_000..], freq) / a).log10();
                let heard = level_db + m_db - 20.0 * 2f64.sqrt().log10();
                let want = m_db + compression_gain_db(heard, t, r, knee) + makeup + gain;
                assert!(
                    (measured - want).abs() < 0.05,
                    "band {band} at {level_db} dB: {measured} vs {want}"
                );
            }
        }
    }

    #[test]
    fn a_bypassed_band_passes_as_if_it_never_compressed() {
        let x = probe::noise(9000, 5);
        let y = probe::noise(9000, 6);
        let squash = BandSettings {
            compressor: Some(CompressorSettings {
                makeup_db: Timeline::constant(6.0),
                ..compressor(-40.0, 10.0)
            }),
            gain_db: 4.0,
            solo: false,
            bypass: true,
        };
        let run = |bands: Vec<BandSettings>| {
            let s = settings(&[300.0, 3000.0], bands);
            probe::render_with(&|env| Box::new(Multiband::new(&s, env)), FS, &x, &y)
        };
        let bypassed = run(vec![transparent(), squash.clone(), transparent()]);
        let plain = run(vec![transparent(); 3]);
        assert_eq!(bits(&bypassed.0), bits(&plain.0));
        assert_eq!(bits(&bypassed.1), bits(&plain.1));
        let active =
            run(vec![transparent(), BandSettings { bypass: false, ..squash }, transparent()]);
        assert_ne!(bits(&active.0), bits(&plain.0), "the same band, not bypassed, compresses");
    }

    #[test]
    fn output_is_the_same_for_any_block_size_and_bad_samples_are_silence() {
        let mut bands = vec![transparent(); 4];
        bands[1].compressor = Some(CompressorSettings {
            attack_seconds: Timeline::constant(0.003),
            ..compressor(-30.0, 4.0)
        });
        bands[3].gain_db = -2.0;
        let s = settings(&[100.0, 800.0, 6000.0], bands);
        let build = |env: &BuildEnv| -> Box<dyn Processor> { Box::new(Multiband::new(&s, env)) };
        probe::assert_blocks_agree(&build, FS, &probe::noise(7000, 1), &probe::noise(7000, 2));
        probe::assert_non_finite_is_silence_with(&build, FS);
    }
}
