//! `eq`: a parametric equaliser, a list of bands run in one pass over each block.
//!
//! A band is a peak, a shelf, a highpass or lowpass (12 dB/oct with a Q, or Butterworth at
//! 6, 24, 36 or 48 dB/oct), a notch or a bandpass. A band's fields must fit its type: a
//! notch has no gain and a peak has no slope, and a project that says otherwise is refused
//! at load, at the band's line. Loaded bands carry every default filled in, so two ways of
//! writing the same band are the same key.
//!
//! A band works on both channels (`channel: stereo`, the default), or on the mid
//! M = (L + R)/2 or the side S = (L − R)/2 alone. An `eq` whose bands are all stereo runs
//! as one cascade on left and right, exactly as before mid/side bands existed. Otherwise
//! the stereo bands run first, then the mid bands on M and the side bands on S, and
//! L = M + S, R = M − S; the bands are linear, so the order changes no response. A mono
//! signal has a side of exactly zero and a mid equal to its input, so side bands leave it
//! bit for bit.

use std::f64::consts::FRAC_1_SQRT_2;
use std::fmt;
use std::ops::Range;

use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::butterworth::{self, Pass};
use crate::dsp::primitives::biquad::{BiquadCascade, BiquadCoefficients, to_sample};
use crate::dsp::primitives::curve::Curve;
use crate::dsp::{BuildEnv, Context, Processor, Spec};
use crate::units::{Decibels, Hertz, Param, Q, Slope};

/// The largest boost or cut a band accepts, in dB.
pub const MAX_GAIN_DB: f64 = 36.0;

/// `- eq: [ { type: peak, freq: 62 Hz, gain: 3 dB, q: 1.4 }, { type: highpass, freq: 90 Hz } ]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct EqSpec(pub Vec<EqBand>);

/// The shape of an EQ band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BandType {
    /// A bell: boosts or cuts around `freq` by `gain`, as wide as `q` says.
    Peak,
    /// Boosts or cuts everything below `freq` by `gain`.
    LowShelf,
    /// Boosts or cuts everything above `freq` by `gain`.
    HighShelf,
    /// Removes what is below `freq`, at `slope`.
    Highpass,
    /// Removes what is above `freq`, at `slope`.
    Lowpass,
    /// Removes `freq` completely, as narrow as `q` says.
    Notch,
    /// Keeps only the band around `freq`, as narrow as `q` says.
    Bandpass,
}

impl BandType {
    fn name(self) -> &'static str {
        match self {
            Self::Peak => "peak",
            Self::LowShelf => "low_shelf",
            Self::HighShelf => "high_shelf",
            Self::Highpass => "highpass",
            Self::Lowpass => "lowpass",
            Self::Notch => "notch",
            Self::Bandpass => "bandpass",
        }
    }

    fn has_gain(self) -> bool {
        matches!(self, Self::Peak | Self::LowShelf | Self::HighShelf)
    }

    fn has_slope(self) -> bool {
        matches!(self, Self::Highpass | Self::Lowpass)
    }

    /// The Q a band gets when it names none: S = 1 for shelves and Butterworth for
    /// highpass and lowpass, which are the flattest shapes without overshoot.
    fn default_q(self) -> f64 {
        match self {
            Self::LowShelf | Self::HighShelf | Self::Highpass | Self::Lowpass => FRAC_1_SQRT_2,
            Self::Peak | Self::Notch | Self::Bandpass => 1.0,
        }
    }
}

impl fmt::Display for BandType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which part of the stereo signal a band shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Left and right alike.
    #[default]
    Stereo,
    /// The mid, (L + R)/2: what both channels share.
    Mid,
    /// The side, (L − R)/2: what differs between them.
    Side,
}

impl Channel {
    /// Whether this is the default, which canonical bytes leave out so that the keys of
    /// bands written before `channel` existed stay as they were.
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference.
    fn is_stereo(&self) -> bool {
        *self == Self::Stereo
    }
}

/// One band of an `eq`: `{ type: peak, freq: 62 Hz, gain: 3 dB, q: 1.4 }`. Once loaded it
/// holds every default filled in, the canonical form that cache keys hash.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(try_from = "RawEqBand")]
pub struct EqBand {
    /// The band's shape.
    #[serde(rename = "type")]
    pub kind: BandType,
    /// Centre or corner frequency.
    pub freq: Param<Hertz>,
    /// Boost or cut; 0 dB for the types that have none.
    pub gain: Param<Decibels>,
    /// Width or resonance; the type's default where the project names none.
    pub q: Param<Q>,
    /// Steepness of a highpass or lowpass; 12 dB/oct for the other types, which ignore it.
    pub slope: Slope,
    /// The part of the stereo signal the band shapes.
    #[serde(skip_serializing_if = "Channel::is_stereo")]
    pub channel: Channel,
}

/// A band as a project writes it, before its fields are checked against its type.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EqBand")]
struct RawEqBand {
    /// The band's shape: `peak`, `low_shelf`, `high_shelf`, `highpass`, `lowpass`, `notch` or
    /// `bandpass`.
    #[serde(rename = "type")]
    kind: BandType,
    /// Centre frequency (peak, notch, bandpass) or corner frequency (shelves, highpass,
    /// lowpass), automatable.
    freq: Param<Hertz>,
    /// Boost or cut, for `peak`, `low_shelf` and `high_shelf` only, where it is required;
    /// automatable, within ±36 dB.
    gain: Option<Param<Decibels>>,
    /// Width of a peak, notch or bandpass (default 1; higher is narrower), or the
    /// resonance of a shelf or a 12 dB/oct highpass or lowpass (default 0.7071, the
    /// flattest); automatable.
    q: Option<Param<Q>>,
    /// Steepness of a highpass or lowpass in dB/oct: 12 (default, one section with `q`),
    /// or 6, 24, 36, 48 (Butterworth).
    slope: Option<Slope>,
    /// What the band shapes: `stereo` (both channels, the default), `mid` (what they
    /// share) or `side` (what differs between them).
    #[serde(default)]
    channel: Channel,
}

/// Reads a band as written and checks it while the band's map is still open, so that a
/// refusal is reported at the band's own line and YAML path rather than at its list's.
impl<'de> Deserialize<'de> for EqBand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BandVisitor;

        impl<'de> Visitor<'de> for BandVisitor {
            type Value = EqBand;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an EQ band such as `{ type: peak, freq: 1 kHz, gain: 3 dB }`")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EqBand, A::Error> {
                let raw = RawEqBand::deserialize(MapAccessDeserializer::new(map))?;
                EqBand::try_from(raw).map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_map(BandVisitor)
    }
}

impl TryFrom<RawEqBand> for EqBand {
    type Error = String;

    fn try_from(raw: RawEqBand) -> Result<Self, String> {
        let kind = raw.kind;
        let gain = match (raw.gain, kind.has_gain()) {
            (Some(gain), true) => check_gain(gain)?,
            (None, true) => {
                return Err(format!("a `{kind}` band needs a `gain`, e.g. `gain: 3 dB`"));
            }
            (Some(_), false) => {
                return Err(format!(
                    "a `{kind}` band has no `gain`; only peak, low_shelf and high_shelf bands \
                     boost or cut"
                ));
            }
            (None, false) => Param::Constant(Decibels(0.0)),
        };
        let slope = match (raw.slope, kind.has_slope()) {
            (Some(_), false) => {
                return Err(format!(
                    "a `{kind}` band has no `slope`; only highpass and lowpass bands do"
                ));
            }
            (slope, _) => slope.unwrap_or(Slope(12)),
        };
        if raw.q.is_some() && kind.has_slope() && slope != Slope(12) {
            return Err(format!(
                "`q` shapes only a 12 dB/oct {kind}; at {} dB/oct the band is a Butterworth \
                 filter, whose Q is fixed",
                slope.0
            ));
        }
        let q = raw.q.unwrap_or(Param::Constant(Q(kind.default_q())));
        Ok(Self { kind, freq: raw.freq, gain, q, slope, channel: raw.channel })
    }
}

/// Refuses gains beyond ±[`MAX_GAIN_DB`], including `-inf dB`, at any automation point.
fn check_gain(gain: Param<Decibels>) -> Result<Param<Decibels>, String> {
    match gain.points().iter().find(|(_, db)| db.abs() > MAX_GAIN_DB) {
        Some((_, db)) => Err(format!(
            "an EQ band's gain must lie between -{MAX_GAIN_DB} dB and +{MAX_GAIN_DB} dB, not \
             {db} dB"
        )),
        None => Ok(gain),
    }
}

impl EqBand {
    /// How many biquad sections the band needs.
    fn section_count(&self) -> usize {
        if self.kind.has_slope() && self.slope != Slope(12) {
            butterworth::section_count(self.slope.order())
        } else {
            1
        }
    }

    /// Designs the band at one value of each parameter into `sections`.
    fn design(&self, sample_rate: f64, at: Values, sections: &mut [BiquadCoefficients]) {
        let Values { freq, gain, q } = at;
        let one = match self.kind {
            BandType::Peak => BiquadCoefficients::peak(sample_rate, freq, q, gain),
            BandType::LowShelf => BiquadCoefficients::low_shelf(sample_rate, freq, q, gain),
            BandType::HighShelf => BiquadCoefficients::high_shelf(sample_rate, freq, q, gain),
            BandType::Notch => BiquadCoefficients::notch(sample_rate, freq, q),
            BandType::Bandpass => BiquadCoefficients::bandpass(sample_rate, freq, q),
            BandType::Highpass | BandType::Lowpass => {
                let pass = if self.kind == BandType::Highpass { Pass::High } else { Pass::Low };
                if self.slope != Slope(12) {
                    butterworth::design(pass, self.slope.order(), sample_rate, freq, sections);
                    return;
                }
                match pass {
                    Pass::High => BiquadCoefficients::highpass(sample_rate, freq, q),
                    Pass::Low => BiquadCoefficients::lowpass(sample_rate, freq, q),
                }
            }
        };
        sections[0] = one;
    }
}

/// One value of each of a band's parameters.
#[derive(Debug, Clone, Copy)]
struct Values {
    freq: f64,
    gain: f64,
    q: f64,
}

impl Spec for EqSpec {
    const VERSION: u32 = 2;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        if self.0.iter().all(|band| band.channel == Channel::Stereo) {
            Box::new(Equalizer::new(&self.0, env.sample_rate))
        } else {
            Box::new(MidSideEqualizer::new(&self.0, env))
        }
    }
}

/// A band whose parameters move, and where its sections sit in the cascade.
struct AutomatedBand {
    band: EqBand,
    freq: Curve,
    gain: Curve,
    q: Curve,
    sections: Range<usize>,
}

/// Every band of an `eq` as one cascade.
pub struct Equalizer {
    sample_rate: f64,
    cascade: BiquadCascade,
    automated: Vec<AutomatedBand>,
    tail: usize,
}

impl Equalizer {
    /// An equaliser running `bands` in order at `sample_rate`.
    #[must_use]
    pub fn new(bands: &[EqBand], sample_rate: f64) -> Self {
        let mut sections = Vec::new();
        let mut automated = Vec::new();
        let mut tail = 0;
        for band in bands {
            let range = sections.len()..sections.len() + band.section_count();
            sections.resize(range.end, BiquadCoefficients::IDENTITY);
            let initial = Values {
                freq: band.freq.initial(),
                gain: band.gain.initial(),
                q: band.q.initial(),
            };
            band.design(sample_rate, initial, &mut sections[range.clone()]);
            tail += band_tail(band, sample_rate);
            if band.freq.is_automated() || band.gain.is_automated() || band.q.is_automated() {
                let curve = |points: Vec<(f64, f64)>| Curve::from_seconds(&points, sample_rate);
                automated.push(AutomatedBand {
                    band: band.clone(),
                    freq: curve(band.freq.points()),
                    gain: curve(band.gain.points()),
                    q: curve(band.q.points()),
                    sections: range,
                });
            }
        }
        Self { sample_rate, cascade: BiquadCascade::new(&sections), automated, tail }
    }
}

/// The longest ring of a band over its parameters' ranges. Poles move toward the unit
/// circle as the frequency nears either end of the spectrum, as Q rises and as a boost
/// grows, so the slowest decay lies at a corner of the range of each parameter.
fn band_tail(band: &EqBand, sample_rate: f64) -> usize {
    let range = |points: Vec<(f64, f64)>| {
        let values = points.iter().map(|p| p.1);
        let lo = values.clone().fold(f64::INFINITY, f64::min);
        [lo, values.fold(f64::NEG_INFINITY, f64::max)]
    };
    let mut sections = vec![BiquadCoefficients::IDENTITY; band.section_count()];
    let mut longest = 0;
    for freq in range(band.freq.points()) {
        for gain in range(band.gain.points()) {
            for q in range(band.q.points()) {
                band.design(sample_rate, Values { freq, gain, q }, &mut sections);
                longest = longest.max(sections.iter().map(BiquadCoefficients::tail).sum());
            }
        }
    }
    longest
}

impl Processor for Equalizer {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        if self.automated.is_empty() {
            self.cascade.process(left, right, ctx.start);
            return;
        }
        let Self { sample_rate, cascade, automated, .. } = self;
        cascade.process_retuned(left, right, ctx.start, |frame, sections| {
            for a in automated.iter() {
                let at =
                    Values { freq: a.freq.at(frame), gain: a.gain.at(frame), q: a.q.at(frame) };
                a.band.design(*sample_rate, at, &mut sections[a.sections.clone()]);
            }
        });
    }

    fn tail(&self) -> usize {
        self.tail
    }
}

/// An `eq` with mid or side bands: an [`Equalizer`] for each part of the signal that has
/// bands.
pub struct MidSideEqualizer {
    stereo: Option<Equalizer>,
    mid: Option<Equalizer>,
    side: Option<Equalizer>,
    /// The mid and side of the block being processed.
    mid_side: [Vec<f32>; 2],
    /// Silence fed to the channel of a mid or side equaliser that carries nothing.
    unused: Vec<f32>,
}

impl MidSideEqualizer {
    /// An equaliser running each of `bands` on its own part of the signal.
    #[must_use]
    pub fn new(bands: &[EqBand], env: &BuildEnv) -> Self {
        let on = |channel: Channel| {
            let chosen: Vec<EqBand> =
                bands.iter().filter(|b| b.channel == channel).cloned().collect();
            (!chosen.is_empty()).then(|| Equalizer::new(&chosen, env.sample_rate))
        };
        let block = || vec![0.0; env.max_block];
        Self {
            stereo: on(Channel::Stereo),
            mid: on(Channel::Mid),
            side: on(Channel::Side),
            mid_side: [block(), block()],
            unused: block(),
        }
    }
}

impl Processor for MidSideEqualizer {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        let n = left.len();
        if let Some(stereo) = &mut self.stereo {
            stereo.process(left, right, ctx);
        }
        let [mid, side] = &mut self.mid_side;
        let (mid, side) = (&mut mid[..n], &mut side[..n]);
        for (((m, s), l), r) in mid.iter_mut().zip(side.iter_mut()).zip(&*left).zip(&*right) {
            let (l, r) = (f64::from(*l), f64::from(*r));
            *m = to_sample(0.5 * (l + r));
            *s = to_sample(0.5 * (l - r));
        }
        let unused = &mut self.unused[..n];
        if let Some(eq) = &mut self.mid {
            unused.fill(0.0);
            eq.process(mid, unused, ctx);
        }
        if let Some(eq) = &mut self.side {
            unused.fill(0.0);
            eq.process(unused, side, ctx);
        }
        for (((l, r), m), s) in left.iter_mut().zip(right.iter_mut()).zip(&*mid).zip(&*side) {
            let (m, s) = (f64::from(*m), f64::from(*s));
            *l = to_sample(m + s);
            *r = to_sample(m - s);
        }
    }

    fn tail(&self) -> usize {
        [&self.stereo, &self.mid, &self.side]
            .iter()
            .filter_map(|eq| eq.as_ref())
            .map(Equalizer::tail)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;
    use crate::dsp::primitives::biquad::measure::{self, audio_band};
    use crate::project::RawStep;
    use crate::units::{Automation, Point, Scalar, Seconds};

    const RATES: [f64; 3] = [44_100.0, 48_000.0, 96_000.0];

    fn band(json: &str) -> EqBand {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn refusal(json: &str) -> String {
        serde_json::from_str::<EqBand>(json).map(|b| format!("{b:?}")).unwrap_err().to_string()
    }

    fn build(bands: &[EqBand], sample_rate: f64) -> Box<dyn Processor> {
        let env = BuildEnv { sample_rate, max_block: measure::MAX_BLOCK };
        EqSpec(bands.to_vec()).build(&env)
    }

    /// The analog prototype of a constant band in dB at `f`, evaluated at the frequency
    /// the bilinear transform prewarped at the band's frequency maps `f` to.
    fn prototype_db(band: &EqBand, fs: f64, f: f64) -> f64 {
        let (f0, g, q) = (band.freq.initial(), band.gain.initial(), band.q.initial());
        let omega = (PI * f / fs).tan() / (PI * f0 / fs).tan();
        // Numerator and denominator from the s² coefficient down, at s = jΩ.
        let power = |p: [f64; 3]| (p[2] - p[0] * omega * omega).powi(2) + (p[1] * omega).powi(2);
        let a = 10f64.powf(g / 40.0);
        let sa = a.sqrt();
        let order = band.slope.order() as i32;
        let butterworth = |ratio: f64| -10.0 * ratio.powi(2 * order).ln_1p() / 10f64.ln();
        let (num, den) = match band.kind {
            BandType::Peak => ([1.0, a / q, 1.0], [1.0, 1.0 / (a * q), 1.0]),
            BandType::LowShelf => ([a, a * sa / q, a * a], [a, sa / q, 1.0]),
            BandType::HighShelf => ([a * a, a * sa / q, a], [1.0, sa / q, a]),
            BandType::Notch => ([1.0, 0.0, 1.0], [1.0, 1.0 / q, 1.0]),
            BandType::Bandpass => ([0.0, 1.0 / q, 0.0], [1.0, 1.0 / q, 1.0]),
            BandType::Highpass if band.slope == Slope(12) => ([1.0, 0.0, 0.0], [1.0, 1.0 / q, 1.0]),
            BandType::Lowpass if band.slope == Slope(12) => ([0.0, 0.0, 1.0], [1.0, 1.0 / q, 1.0]),
            BandType::Highpass => return butterworth(1.0 / omega),
            BandType::Lowpass => return butterworth(omega),
        };
        10.0 * (power(num) / power(den)).log10()
    }

    /// One band of every type, and every highpass/lowpass slope, with a range of Qs.
    fn every_kind_of_band() -> Vec<EqBand> {
        [
            r#"{ "type": "peak", "freq": "62 Hz", "gain": "3 dB", "q": 1.4 }"#,
            r#"{ "type": "peak", "freq": "3 kHz", "gain": "-12 dB", "q": 8 }"#,
            r#"{ "type": "low_shelf", "freq": "200 Hz", "gain": "-3 dB" }"#,
            r#"{ "type": "low_shelf", "freq": "90 Hz", "gain": "9 dB", "q": 0.4 }"#,
            r#"{ "type": "high_shelf", "freq": "6 kHz", "gain": "2 dB" }"#,
            r#"{ "type": "high_shelf", "freq": "12 kHz", "gain": "-6 dB", "q": 1.2 }"#,
            r#"{ "type": "highpass", "freq": "90 Hz" }"#,
            r#"{ "type": "highpass", "freq": "250 Hz", "q": 3 }"#,
            r#"{ "type": "highpass", "freq": "25 Hz", "slope": 24 }"#,
            r#"{ "type": "highpass", "freq": "500 Hz", "slope": 6 }"#,
            r#"{ "type": "lowpass", "freq": "9 kHz" }"#,
            r#"{ "type": "lowpass", "freq": "4 kHz", "slope": 36 }"#,
            r#"{ "type": "lowpass", "freq": "1 kHz", "slope": 48 }"#,
            r#"{ "type": "notch", "freq": "60 Hz", "q": 10 }"#,
            r#"{ "type": "notch", "freq": "1 kHz" }"#,
            r#"{ "type": "bandpass", "freq": "800 Hz", "q": 2 }"#,
            r#"{ "type": "bandpass", "freq": "10 kHz", "q": 0.3 }"#,
        ]
        .into_iter()
        .map(band)
        .collect()
    }

    #[test]
    fn every_band_type_measures_as_its_analog_prototype_within_a_tenth_of_a_db() {
        // Measured from the processor's impulse response (DFT over the reported tail) and
        // compared, 20 Hz to 20 kHz wherever the prototype is above -60 dB, with the
        // textbook prototype at the prewarped frequency. 0.1 dB is the stated bound; what
        // remains is the f32 rounding of the output and the truncated tail.
        for fs in RATES {
            for b in every_kind_of_band() {
                let mut p = build(std::slice::from_ref(&b), fs);
                let mut freqs = audio_band();
                freqs.push(b.freq.initial());
                for (f, got) in freqs.iter().zip(measure::processor_db(&mut *p, fs, &freqs)) {
                    let want = prototype_db(&b, fs, *f);
                    if want > -60.0 {
                        assert!(
                            (got - want).abs() < 0.1,
                            "{b:?} at {fs} Hz: {f} Hz is {got} dB, want {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bands_in_one_eq_add_up_in_db() {
        // The whole list runs as one cascade: its response is the sum of the bands'
        // responses in dB, within the same 0.1 dB measurement bound.
        let bands = every_kind_of_band();
        let fs = 48_000.0;
        let freqs = audio_band();
        let mut p = build(&bands, fs);
        for (f, got) in freqs.iter().zip(measure::processor_db(&mut *p, fs, &freqs)) {
            let want: f64 = bands.iter().map(|b| prototype_db(b, fs, *f)).sum();
            if want > -60.0 {
                assert!((got - want).abs() < 0.1, "{f} Hz: {got} dB, want {want}");
            }
        }
    }

    #[test]
    fn a_peak_reaches_its_gain_at_its_centre_and_a_shelf_half_its_gain_at_its_corner() {
        // Exact at the design frequency, which the prewarped transform keeps in place; the
        // measurement itself is good to a few thousandths of a dB.
        for fs in RATES {
            let cases = [
                (r#"{ "type": "peak", "freq": "1 kHz", "gain": "6 dB", "q": 2 }"#, 6.0),
                (r#"{ "type": "peak", "freq": "100 Hz", "gain": "-24 dB", "q": 0.5 }"#, -24.0),
                (r#"{ "type": "low_shelf", "freq": "300 Hz", "gain": "8 dB" }"#, 4.0),
                (r#"{ "type": "high_shelf", "freq": "8 kHz", "gain": "-10 dB" }"#, -5.0),
                (r#"{ "type": "bandpass", "freq": "2 kHz", "q": 4 }"#, 0.0),
            ];
            for (json, want) in cases {
                let b = band(json);
                let got = measure::processor_db(
                    &mut *build(std::slice::from_ref(&b), fs),
                    fs,
                    &[b.freq.initial()],
                );
                assert!((got[0] - want).abs() < 0.01, "{json} at {fs}: {}", got[0]);
            }
        }
    }

    fn automated<T: Scalar>(points: &[(f64, T)]) -> Param<T> {
        Param::Automated(Automation {
            points: points.iter().map(|&(t, value)| Point { time: Seconds(t), value }).collect(),
        })
    }

    #[test]
    fn block_size_does_not_change_a_word_even_with_automated_bands() {
        let t = 1_000_003.0 / 48_000.0;
        let moving = EqBand {
            kind: BandType::Peak,
            freq: automated(&[(t, Hertz(100.0)), (t + 0.1, Hertz(5_000.0))]),
            gain: automated(&[(t, Decibels(-12.0)), (t + 0.05, Decibels(12.0))]),
            q: automated(&[(t + 0.02, Q(0.3)), (t + 0.15, Q(9.0))]),
            slope: Slope(12),
            channel: Channel::Stereo,
        };
        let sweep = EqBand {
            kind: BandType::Highpass,
            freq: automated(&[(t, Hertz(30.0)), (t + 0.1, Hertz(3_000.0))]),
            gain: Param::Constant(Decibels(0.0)),
            q: Param::Constant(Q(FRAC_1_SQRT_2)),
            slope: Slope(36),
            channel: Channel::Side,
        };
        let mut bands = every_kind_of_band();
        bands.insert(3, moving);
        bands.push(sweep);
        for bands in [bands, every_kind_of_band()] {
            measure::assert_block_size_independent(
                &|| {
                    let mut p = build(&bands, 48_000.0);
                    Box::new(move |l, r, start| {
                        p.process(l, r, &Context { start, sidechains: &[] });
                    })
                },
                9_000,
            );
        }
    }

    #[test]
    fn extreme_bands_and_huge_input_stay_finite() {
        let huge: Vec<f32> = measure::noise(8_192, 7).into_iter().map(|x| x * 1e38).collect();
        for fs in RATES {
            for kind in ["peak", "low_shelf", "high_shelf", "notch", "bandpass", "highpass"] {
                for freq in [10.0, 0.45 * fs, 0.5 * fs, 0.499 * fs] {
                    for q in [0.025, 100.0] {
                        for gain in [-24.0, 24.0] {
                            let gain = if BandType::has_gain(band_type(kind)) {
                                format!(r#", "gain": {gain}"#)
                            } else {
                                String::new()
                            };
                            let json = format!(
                                r#"{{ "type": "{kind}", "freq": {freq}, "q": {q}{gain} }}"#
                            );
                            let mut p = build(&[band(&json)], fs);
                            let (mut l, mut r) = (huge.clone(), huge.clone());
                            for (bl, br) in l.chunks_mut(4_096).zip(r.chunks_mut(4_096)) {
                                p.process(bl, br, &Context::default());
                            }
                            assert!(
                                l.iter().chain(&r).all(|x| x.is_finite() && !x.is_subnormal()),
                                "{json} at {fs}"
                            );
                        }
                    }
                }
            }
        }
    }

    fn band_type(name: &str) -> BandType {
        serde_json::from_str(&format!("\"{name}\"")).unwrap()
    }

    #[test]
    fn defaults_are_filled_in_so_equal_bands_are_equal_keys() {
        let short = band(r#"{ "type": "highpass", "freq": "90 Hz" }"#);
        let long =
            band(r#"{ "type": "highpass", "freq": 90, "q": 0.7071067811865476, "slope": 12 }"#);
        assert_eq!(short, long);
        assert_eq!(serde_json::to_string(&short).unwrap(), serde_json::to_string(&long).unwrap());
        let peak = band(r#"{ "type": "peak", "freq": "1 kHz", "gain": "2 dB" }"#);
        assert_eq!(peak.q, Param::Constant(Q(1.0)));
        let notch = band(r#"{ "type": "notch", "freq": "1 kHz" }"#);
        assert_eq!(notch.gain, Param::Constant(Decibels(0.0)));
    }

    #[test]
    fn bands_whose_fields_do_not_fit_their_type_are_refused_with_the_reason() {
        let cases = [
            (r#"{ "type": "notch", "freq": 60, "gain": "-6 dB" }"#, "a `notch` band has no `gain`"),
            (
                r#"{ "type": "peak", "freq": 60, "gain": 3, "slope": 24 }"#,
                "a `peak` band has no `slope`",
            ),
            (r#"{ "type": "peak", "freq": 60 }"#, "a `peak` band needs a `gain`"),
            (r#"{ "type": "high_shelf", "freq": 6000 }"#, "a `high_shelf` band needs a `gain`"),
            (r#"{ "type": "highpass", "freq": 60, "slope": 24, "q": 2 }"#, "Butterworth"),
            (r#"{ "type": "lowpass", "freq": 60, "slope": 6, "q": 2 }"#, "12 dB/oct lowpass"),
            (r#"{ "type": "peak", "freq": 60, "gain": "-inf dB" }"#, "between -36 dB and +36 dB"),
            (r#"{ "type": "peak", "freq": 60, "gain": [[0, 0], [1, 40]] }"#, "not 40 dB"),
            (r#"{ "type": "peak", "freq": 60, "gain": 3, "width": 2 }"#, "unknown field `width`"),
            (r#"{ "type": "shelf", "freq": 60, "gain": 3 }"#, "unknown variant `shelf`"),
            (r#"{ "type": "highpass", "freq": 60, "slope": 18 }"#, "6, 12, 24, 36 or 48"),
        ];
        for (json, reason) in cases {
            let err = refusal(json);
            assert!(err.contains(reason), "{json}: {err}");
        }
    }

    #[test]
    fn the_contract_examples_load_as_chain_steps() {
        let step: RawStep = serde_json::from_str(
            r#"{ "eq": [ { "type": "peak", "freq": "62 Hz", "gain": "3 dB", "q": 1.4 },
                         { "type": "high_shelf", "freq": "6 kHz", "gain": "2 dB" },
                         { "type": "highpass", "freq": "90 Hz" } ] }"#,
        )
        .unwrap();
        assert_eq!(step.kind(), "eq");
        let RawStep::Eq(EqSpec(bands)) = step else { panic!("not an eq") };
        assert_eq!(bands.len(), 3);
        assert_eq!(bands[2].slope, Slope(12));
    }

    /// The responses of L − R and L + R to an impulse in the left channel alone, which is
    /// an impulse of both mid and side, in dB at `freqs`.
    fn side_and_mid_db(bands: &[EqBand], fs: f64, freqs: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let mut p = build(bands, fs);
        let frames = p.tail();
        let mut input = vec![0.0f32; frames];
        input[0] = 1.0;
        let (l, r) = measure::run_blocks(
            &mut |l, r, start| p.process(l, r, &Context { start, sidechains: &[] }),
            (&input, &vec![0.0; frames]),
            0,
            measure::MAX_BLOCK,
        );
        let db = |x: Vec<f64>| -> Vec<f64> {
            freqs
                .iter()
                .map(|&f| {
                    let (re, im) = x.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, v)| {
                        let phase = 2.0 * PI * f * n as f64 / fs;
                        (re + v * phase.cos(), im - v * phase.sin())
                    });
                    10.0 * (re * re + im * im).log10()
                })
                .collect()
        };
        let pairs = l.iter().zip(&r).map(|(a, b)| (f64::from(*a), f64::from(*b)));
        (db(pairs.clone().map(|(a, b)| a - b).collect()), db(pairs.map(|(a, b)| a + b).collect()))
    }

    #[test]
    fn a_side_band_shapes_the_side_as_its_prototype_and_leaves_the_mid_flat() {
        // The side's response against the analog prototype within the 0.1 dB of the
        // stereo bands; the mid passes untouched to the f32 rounding of M ± S (0.001 dB).
        // A mid band is the mirror image.
        let fs = 48_000.0;
        let freqs = audio_band();
        for kind in [Channel::Side, Channel::Mid] {
            for json in [
                r#"{ "type": "low_shelf", "freq": "200 Hz", "gain": "-9 dB" }"#,
                r#"{ "type": "peak", "freq": "3 kHz", "gain": "5 dB", "q": 2 }"#,
                r#"{ "type": "highpass", "freq": "150 Hz", "slope": 24 }"#,
            ] {
                let b = EqBand { channel: kind, ..band(json) };
                let (side, mid) = side_and_mid_db(std::slice::from_ref(&b), fs, &freqs);
                let (shaped, flat) = if kind == Channel::Side { (side, mid) } else { (mid, side) };
                for ((f, got), untouched) in freqs.iter().zip(shaped).zip(flat) {
                    let want = prototype_db(&b, fs, *f);
                    if want > -60.0 {
                        assert!((got - want).abs() < 0.1, "{kind:?} {json}: {f} Hz {got} dB");
                    }
                    assert!(untouched.abs() < 1e-3, "{kind:?} {json}: {f} Hz {untouched} dB");
                }
            }
        }
    }

    #[test]
    fn a_side_band_leaves_a_mono_signal_bit_for_bit() {
        let x = measure::noise(9_000, 3);
        let bands = [
            band(r#"{ "type": "high_shelf", "freq": "4 kHz", "gain": "6 dB", "channel": "side" }"#),
            band(r#"{ "type": "highpass", "freq": "200 Hz", "channel": "side" }"#),
        ];
        let mut p = build(&bands, 48_000.0);
        let (mut l, mut r) = (x.clone(), x.clone());
        for (start, (bl, br)) in l.chunks_mut(1000).zip(r.chunks_mut(1000)).enumerate() {
            p.process(bl, br, &Context { start: start as u64 * 1000, sidechains: &[] });
        }
        assert_eq!(crate::dsp::probe::bits(&l), crate::dsp::probe::bits(&x));
        assert_eq!(crate::dsp::probe::bits(&r), crate::dsp::probe::bits(&x));
    }

    #[test]
    fn a_stereo_band_is_the_band_written_before_channels_existed() {
        let plain = band(r#"{ "type": "peak", "freq": "1 kHz", "gain": "3 dB" }"#);
        let explicit =
            band(r#"{ "type": "peak", "freq": "1 kHz", "gain": "3 dB", "channel": "stereo" }"#);
        assert_eq!(plain, explicit);
        let canonical = serde_json::to_string(&explicit).unwrap();
        assert!(
            !canonical.contains("channel"),
            "the key of a stereo band is unchanged: {canonical}"
        );
        let side =
            band(r#"{ "type": "peak", "freq": "1 kHz", "gain": "3 dB", "channel": "side" }"#);
        assert!(serde_json::to_string(&side).unwrap().contains(r#""channel":"side""#));
        assert!(
            refusal(r#"{ "type": "peak", "freq": 60, "gain": 3, "channel": "left" }"#)
                .contains("unknown variant `left`")
        );
    }

    #[test]
    fn the_schema_describes_the_fields_a_project_writes() {
        let schema = serde_json::to_string(&schemars::schema_for!(EqSpec)).unwrap();
        for needle in ["low_shelf", "within ±36 dB", "\"slope\"", "\"type\""] {
            assert!(schema.contains(needle), "{needle} missing from {schema}");
        }
        assert!(!schema.contains("0 dB for the types that have none"), "{schema}");
    }
}
