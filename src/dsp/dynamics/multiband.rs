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

use std::fmt;

use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::compressor::{Compressor, CompressorSpec};
use crate::dsp::primitives::biquad::BiquadCascade;
use crate::dsp::primitives::crossover::{Crossover, allpass};
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};
use crate::units::{Decibels, Hertz, tidy, within};

/// The fewest and the most bands a multiband compressor has.
pub const BANDS: (usize, usize) = (2, 5);

/// The range of a band's gain, in dB.
const BAND_GAIN_RANGE_DB: (f64, f64) = (-24.0, 24.0);

/// `- multiband: { crossovers: [120 Hz, 2 kHz], bands: [{ compressor: {...} }, ...] }`.
/// Once loaded the band count and crossovers have been checked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(try_from = "RawMultibandSpec")]
pub struct MultibandSpec {
    /// The crossover frequencies, ascending.
    pub crossovers: Vec<Hertz>,
    /// The bands from the lowest up.
    pub bands: Vec<MultibandBand>,
}

/// A multiband compressor as a project writes it, before its bands are counted.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MultibandSpec")]
struct RawMultibandSpec {
    /// Where the bands meet, ascending and below half the sample rate, one fewer than the
    /// bands: `[120 Hz, 2 kHz]` makes three bands. Each is a Linkwitz–Riley 24 dB/oct
    /// crossover, and the bands sum flat.
    #[schemars(length(min = 1, max = 4))]
    crossovers: Vec<Hertz>,
    /// Two to five bands, from the lowest up.
    #[schemars(length(min = 2, max = 5))]
    bands: Vec<MultibandBand>,
}

/// One band of a `multiband`: `{ compressor: { threshold: -20 dB, ratio: 2 }, gain: 1 dB }`,
/// or with the compressor's settings in the band itself: `{ threshold: -20 dB, ratio: 2 }`.
/// Both read as the same band, so they render and cache alike.
#[derive(Debug, Clone, Serialize)]
pub struct MultibandBand {
    /// The band's compressor, with every setting of a `compressor` step but `sidechain`;
    /// without one the band only takes its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<CompressorSpec>,
    /// Gain after the compressor, from -24 dB to +24 dB.
    #[serde(default = "unity", deserialize_with = "gain_in_range")]
    pub gain: Decibels,
    /// Hear only the soloed bands.
    #[serde(default)]
    pub solo: bool,
    /// Pass the band without compression or gain.
    #[serde(default)]
    pub bypass: bool,
}

fn unity() -> Decibels {
    Decibels(0.0)
}

/// A band as written with its compressor under `compressor:`, for the schema.
#[derive(JsonSchema)]
#[schemars(rename = "MultibandBandWithCompressor")]
#[expect(dead_code, reason = "a shape for the schema; bands are read by MultibandBand")]
struct NestedBand {
    /// The band's compressor, with every setting of a `compressor` step but `sidechain`;
    /// without one the band only takes its gain.
    compressor: Option<CompressorSpec>,
    /// Gain after the compressor, from -24 dB to +24 dB.
    #[schemars(extend("default" = "0 dB"))]
    gain: Option<Decibels>,
    /// Hear only the soloed bands.
    #[schemars(extend("default" = false))]
    solo: Option<bool>,
    /// Pass the band without compression or gain.
    #[schemars(extend("default" = false))]
    bypass: Option<bool>,
}

impl JsonSchema for MultibandBand {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MultibandBand".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let nested = generator.subschema_for::<NestedBand>();
        let inline = generator.subschema_for::<CompressorSpec>();
        schemars::json_schema!({
            "description": "One band: its compressor under `compressor:` with `gain`, `solo` \
                and `bypass`, or the compressor's settings written in the band itself.",
            "anyOf": [nested, inline]
        })
    }
}

/// A band's gain, read with its range checked.
struct BandGain(Decibels);

impl<'de> Deserialize<'de> for BandGain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        gain_in_range(deserializer).map(Self)
    }
}

/// Reads a band in either spelling: the band's own keys are `compressor`, `gain`, `solo`
/// and `bypass`; any other key is a setting of its compressor, written in the band.
impl<'de> Deserialize<'de> for MultibandBand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BandVisitor;

        impl<'de> Visitor<'de> for BandVisitor {
            type Value = MultibandBand;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a band such as `{ threshold: -20 dB, ratio: 2 }`")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MultibandBand, A::Error> {
                let mut band =
                    MultibandBand { compressor: None, gain: unity(), solo: false, bypass: false };
                let mut inline = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "compressor" => band.compressor = Some(map.next_value()?),
                        "gain" => band.gain = map.next_value::<BandGain>()?.0,
                        "solo" => band.solo = map.next_value()?,
                        "bypass" => band.bypass = map.next_value()?,
                        _ => {
                            let value = map.next_value::<serde_json::Value>()?;
                            inline.insert(key, value);
                        }
                    }
                }
                if inline.is_empty() {
                    return Ok(band);
                }
                if band.compressor.is_some() {
                    let keys: Vec<String> = inline.keys().map(|k| format!("`{k}`")).collect();
                    return Err(de::Error::custom(format!(
                        "the band has a `compressor:` and compressor settings beside it ({}); \
                         move them into `compressor:`",
                        keys.join(", ")
                    )));
                }
                let compressor = CompressorSpec::deserialize(serde_json::Value::Object(inline))
                    .map_err(de::Error::custom)?;
                band.compressor = Some(compressor);
                Ok(band)
            }
        }

        deserializer.deserialize_map(BandVisitor)
    }
}

fn gain_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decibels, D::Error> {
    let (least, most) = BAND_GAIN_RANGE_DB;
    within(deserializer, BAND_GAIN_RANGE_DB, |db| {
        format!("a band's gain runs from {least} dB to +{most} dB, not {} dB", tidy(db))
    })
}

/// Reads the step and checks its bands while its map is still open, so that a refusal is
/// reported at the step's own line.
impl<'de> Deserialize<'de> for MultibandSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;

        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = MultibandSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a multiband compressor such as `{ crossovers: [200 Hz], bands: [{}, {}] }`",
                )
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MultibandSpec, A::Error> {
                let raw = RawMultibandSpec::deserialize(MapAccessDeserializer::new(map))?;
                MultibandSpec::try_from(raw).map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_map(SpecVisitor)
    }
}

impl TryFrom<RawMultibandSpec> for MultibandSpec {
    type Error = String;

    fn try_from(raw: RawMultibandSpec) -> Result<Self, String> {
        let (fewest, most) = BANDS;
        let count = raw.bands.len();
        if !(fewest..=most).contains(&count) {
            return Err(format!(
                "a multiband compressor has {fewest} to {most} bands, not {count}"
            ));
        }
        if raw.crossovers.len() + 1 != count {
            return Err(format!(
                "{count} bands meet at {} crossovers, not {}: list one crossover between each \
                 two neighbouring bands",
                count - 1,
                raw.crossovers.len()
            ));
        }
        if let Some([low, high]) = raw.crossovers.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(format!("crossovers go from low to high, but {high} follows {low}"));
        }
        if raw.bands.iter().filter_map(|b| b.compressor.as_ref()).any(|c| c.sidechain.is_some()) {
            return Err("a band's compressor listens to its own band; `sidechain` is not \
                        available inside `multiband`"
                .to_string());
        }
        Ok(Self { crossovers: raw.crossovers, bands: raw.bands })
    }
}

impl Spec for MultibandSpec {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        let settings = MultibandSettings {
            crossovers: self.crossovers.iter().map(|f| f.0).collect(),
            bands: self
                .bands
                .iter()
                .map(|b| BandSettings {
                    compressor: b.compressor.clone(),
                    gain_db: b.gain.0,
                    solo: b.solo,
                    bypass: b.bypass,
                })
                .collect(),
        };
        Box::new(Multiband::new(&settings, env))
    }
}

/// One band's settings.
#[derive(Debug, Clone)]
pub struct BandSettings {
    /// The compressor that runs on the band, if any.
    pub compressor: Option<CompressorSpec>,
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
    use crate::dsp::dynamics::gain_computer::compression_gain_db;
    use crate::dsp::primitives::biquad::measure::{self, audio_band};
    use crate::dsp::primitives::crossover::half_db;
    use crate::dsp::probe::{self, bits};

    const FS: f64 = 48_000.0;

    fn compressor(json: &str) -> CompressorSpec {
        serde_json::from_str(json).unwrap()
    }

    /// A band that never changes its gain: ratio 1 over a threshold every signal passes.
    fn transparent() -> BandSettings {
        BandSettings {
            compressor: Some(compressor(r#"{"threshold": "-60 dB", "ratio": 1}"#)),
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
            (
                r#"{"threshold": "-30 dB", "ratio": 2, "detector": "rms", "attack": "200 ms", "release": "200 ms"}"#,
                -30.0,
                2.0,
                0.0,
                0.0,
                1.5,
            ),
            (
                r#"{"threshold": "-24 dB", "ratio": 4, "knee": "6 dB", "makeup": "2 dB", "detector": "rms", "attack": "200 ms", "release": "200 ms"}"#,
                -24.0,
                4.0,
                6.0,
                2.0,
                0.0,
            ),
            (
                r#"{"threshold": "-18 dB", "ratio": 8, "detector": "rms", "attack": "200 ms", "release": "200 ms"}"#,
                -18.0,
                8.0,
                0.0,
                0.0,
                -3.0,
            ),
        ];
        let tones = [150.0, 1500.0, 12_000.0];
        for (band, (&freq, &(json, t, r, knee, makeup, gain))) in
            tones.iter().zip(&curves).enumerate()
        {
            let mut bands = vec![transparent(); 3];
            bands[band] = BandSettings {
                compressor: Some(compressor(json)),
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
            compressor: Some(compressor(
                r#"{"threshold": "-40 dB", "ratio": 10, "makeup": "6 dB"}"#,
            )),
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
    fn the_step_reads_its_bands_and_refuses_a_wrong_count_or_order_with_the_reason() {
        let s: MultibandSpec = serde_json::from_str(
            r#"{ "crossovers": ["120 Hz", "2 kHz"], "bands": [
                { "compressor": { "threshold": "-20 dB", "ratio": 2 }, "gain": "1 dB" },
                { "solo": true }, { "bypass": true } ] }"#,
        )
        .unwrap();
        assert_eq!(s.bands.len(), 3);
        assert!(s.bands[0].compressor.is_some() && s.bands[1].solo && s.bands[2].bypass);
        let one = r#"{ "crossovers": [], "bands": [{}] }"#;
        let six = r#"{ "crossovers": [1, 2, 3, 4, 5], "bands": [{}, {}, {}, {}, {}, {}] }"#;
        for (json, reason) in [
            (one, "has 2 to 5 bands, not 1"),
            (six, "has 2 to 5 bands, not 6"),
            (
                r#"{ "crossovers": [100], "bands": [{}, {}, {}] }"#,
                "3 bands meet at 2 crossovers, not 1",
            ),
            (r#"{ "crossovers": [2000, 300], "bands": [{}, {}, {}] }"#, "300 Hz follows 2000 Hz"),
            (r#"{ "crossovers": [200], "bands": [{}, { "gain": "30 dB" }] }"#, "not 30 dB"),
            (
                r#"{ "crossovers": [200], "bands": [{}, { "compressor": { "threshold": -20, "ratio": 2, "sidechain": "kick" } }] }"#,
                "`sidechain` is not available inside `multiband`",
            ),
            (r#"{ "crossovers": [200], "bands": [{}, { "gian": 2 }] }"#, "unknown field `gian`"),
            (r#"{ "crossovers": [200], "bands": [{}, { "ratio": 2 }] }"#, "missing field"),
        ] {
            let err = serde_json::from_str::<MultibandSpec>(json).unwrap_err().to_string();
            assert!(err.contains(reason), "{json}: {err}");
        }
    }

    #[test]
    fn a_band_with_its_compressor_settings_written_inline_reads_as_the_nested_band() {
        let read = |json: &str| {
            let spec: MultibandSpec = serde_json::from_str(json).unwrap();
            serde_json::to_string(&spec).unwrap()
        };
        let inline = read(
            r#"{ "crossovers": [150], "bands": [
                { "threshold": "-20 dB", "ratio": 2, "attack": "20 ms", "gain": "1 dB" }, {} ] }"#,
        );
        let nested = read(
            r#"{ "crossovers": [150], "bands": [
                { "compressor": { "threshold": "-20 dB", "ratio": 2, "attack": "20 ms" },
                  "gain": "1 dB" }, {} ] }"#,
        );
        assert_eq!(inline, nested, "both spellings key and render alike");
        let both = r#"{ "crossovers": [150], "bands": [
            { "compressor": { "threshold": -20, "ratio": 2 }, "knee": "6 dB" }, {} ] }"#;
        let err = serde_json::from_str::<MultibandSpec>(both).unwrap_err().to_string();
        assert!(err.contains("settings beside it (`knee`)"), "{err}");
    }

    #[test]
    fn output_is_the_same_for_any_block_size_and_bad_samples_are_silence() {
        let mut bands = vec![transparent(); 4];
        bands[1].compressor =
            Some(compressor(r#"{"threshold": "-30 dB", "ratio": 4, "attack": "3 ms"}"#));
        bands[3].gain_db = -2.0;
        let s = settings(&[100.0, 800.0, 6000.0], bands);
        let build = |env: &BuildEnv| -> Box<dyn Processor> { Box::new(Multiband::new(&s, env)) };
        probe::assert_blocks_agree(&build, FS, &probe::noise(7000, 1), &probe::noise(7000, 2));
        probe::assert_non_finite_is_silence_with(&build, FS);
    }
}
