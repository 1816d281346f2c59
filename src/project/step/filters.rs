//! The raw steps of the filters and tone family (`highpass`, `lowpass`, `eq`, `width`,
//! `saturate`, `stereo`), as a mix writes them: their units, defaults and range checks.
//!
//! An `eq` band's fields must fit its type (a notch has no gain, a peak has no slope), and a
//! band that says otherwise is refused at load, at the band's own line. A loaded band holds
//! every default filled in, so two ways of writing the same band are the same key.

use std::f64::consts::FRAC_1_SQRT_2;
use std::fmt;

use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::Lower;
use crate::dsp::filters::butterworth::Pass;
use crate::dsp::filters::eq::{BandType, Channel, EqBand, EqSettings, MAX_GAIN_DB};
use crate::dsp::filters::filter::PassFilterSettings;
use crate::dsp::filters::saturate::{SaturateSettings, Saturation};
use crate::dsp::filters::stereo::{MAX_WIDTH, MONO_BELOW_RANGE_HZ, StereoSettings};
use crate::dsp::filters::width::{MAX_AMOUNT, WidthSettings};
use crate::dsp::primitives::curve::Timeline;
use crate::units::{Decibels, Fraction, Hertz, Pan, Param, Q, Scalar, Share, Slope};
use crate::units::{percent, points_at_most, tidy};

/// The automatable parameter `param` as plain settings carry it.
fn timeline<T: Scalar>(param: &Param<T>) -> Timeline {
    Timeline(param.points())
}

/// The parameters shared by `highpass` and `lowpass`: `{ freq: 80 Hz, slope: 24 }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "FilterParams")]
pub struct RawPassFilter {
    /// The corner frequency, where the response is 3 dB down (automatable).
    pub freq: Param<Hertz>,
    /// How steeply the response falls past the corner: 6, 12, 24, 36 or 48 dB/oct, always
    /// Butterworth (maximally flat). Default 12.
    #[serde(default = "default_slope")]
    pub slope: Slope,
}

fn default_slope() -> Slope {
    Slope(12)
}

impl RawPassFilter {
    fn settings(&self, pass: Pass) -> PassFilterSettings {
        PassFilterSettings { pass, freq_hz: timeline(&self.freq), order: self.slope.order() }
    }
}

/// `- highpass: { freq: 80 Hz }`: removes what is below the corner.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(rename = "HighpassSpec")]
pub struct RawHighpass(pub RawPassFilter);

impl Lower for RawHighpass {
    type Settings = PassFilterSettings;

    fn settings(&self) -> PassFilterSettings {
        self.0.settings(Pass::High)
    }
}

/// `- lowpass: { freq: 9 kHz }`: removes what is above the corner.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(rename = "LowpassSpec")]
pub struct RawLowpass(pub RawPassFilter);

impl Lower for RawLowpass {
    type Settings = PassFilterSettings;

    fn settings(&self) -> PassFilterSettings {
        self.0.settings(Pass::Low)
    }
}

/// `- eq: [ { type: peak, freq: 62 Hz, gain: 3 dB, q: 1.4 }, { type: highpass, freq: 90 Hz } ]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(rename = "EqSpec")]
pub struct RawEq(pub Vec<RawEqBand>);

impl Lower for RawEq {
    type Settings = EqSettings;

    fn settings(&self) -> EqSettings {
        EqSettings { bands: self.0.iter().map(RawEqBand::settings).collect() }
    }
}

/// The shape of an EQ band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "BandType")]
pub enum RawBandType {
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

impl RawBandType {
    /// The shape the processor runs.
    fn shape(self) -> BandType {
        match self {
            Self::Peak => BandType::Peak,
            Self::LowShelf => BandType::LowShelf,
            Self::HighShelf => BandType::HighShelf,
            Self::Highpass => BandType::Highpass,
            Self::Lowpass => BandType::Lowpass,
            Self::Notch => BandType::Notch,
            Self::Bandpass => BandType::Bandpass,
        }
    }

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

    /// The Q a band gets when it names none: S = 1 for shelves and Butterworth for
    /// highpass and lowpass, which are the flattest shapes without overshoot.
    fn default_q(self) -> f64 {
        match self {
            Self::LowShelf | Self::HighShelf | Self::Highpass | Self::Lowpass => FRAC_1_SQRT_2,
            Self::Peak | Self::Notch | Self::Bandpass => 1.0,
        }
    }
}

impl fmt::Display for RawBandType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which part of the stereo signal a band shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Channel")]
pub enum RawChannel {
    /// Left and right alike.
    #[default]
    Stereo,
    /// The mid, (L + R)/2: what both channels share.
    Mid,
    /// The side, (L − R)/2: what differs between them.
    Side,
}

impl RawChannel {
    /// Whether this is the default, which canonical bytes leave out so that the keys of
    /// bands written before `channel` existed stay as they were.
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference.
    fn is_stereo(&self) -> bool {
        *self == Self::Stereo
    }
}

impl From<RawChannel> for Channel {
    fn from(channel: RawChannel) -> Self {
        match channel {
            RawChannel::Stereo => Self::Stereo,
            RawChannel::Mid => Self::Mid,
            RawChannel::Side => Self::Side,
        }
    }
}

/// One band of an `eq`: `{ type: peak, freq: 62 Hz, gain: 3 dB, q: 1.4 }`. Once loaded it
/// holds every default filled in, the canonical form that cache keys hash.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(try_from = "WrittenEqBand", rename = "EqBand")]
pub struct RawEqBand {
    /// The band's shape.
    #[serde(rename = "type")]
    pub kind: RawBandType,
    /// Centre or corner frequency.
    pub freq: Param<Hertz>,
    /// Boost or cut; 0 dB for the types that have none.
    pub gain: Param<Decibels>,
    /// Width or resonance; the type's default where the project names none.
    pub q: Param<Q>,
    /// Steepness of a highpass or lowpass; 12 dB/oct for the other types, which ignore it.
    pub slope: Slope,
    /// The part of the stereo signal the band shapes.
    #[serde(skip_serializing_if = "RawChannel::is_stereo")]
    pub channel: RawChannel,
}

impl RawEqBand {
    fn settings(&self) -> EqBand {
        EqBand {
            kind: self.kind.shape(),
            freq_hz: timeline(&self.freq),
            gain_db: timeline(&self.gain),
            q: timeline(&self.q),
            slope_db_per_octave: self.slope.0,
            channel: self.channel.into(),
        }
    }
}

/// A band as a project writes it, before its fields are checked against its type.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EqBand")]
struct WrittenEqBand {
    /// The band's shape: `peak`, `low_shelf`, `high_shelf`, `highpass`, `lowpass`, `notch` or
    /// `bandpass`.
    #[serde(rename = "type")]
    kind: RawBandType,
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
    channel: RawChannel,
}

/// Reads a band as written and checks it while the band's map is still open, so that a
/// refusal is reported at the band's own line and YAML path rather than at its list's.
impl<'de> Deserialize<'de> for RawEqBand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BandVisitor;

        impl<'de> Visitor<'de> for BandVisitor {
            type Value = RawEqBand;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an EQ band such as `{ type: peak, freq: 1 kHz, gain: 3 dB }`")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEqBand, A::Error> {
                let written = WrittenEqBand::deserialize(MapAccessDeserializer::new(map))?;
                RawEqBand::try_from(written).map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_map(BandVisitor)
    }
}

impl TryFrom<WrittenEqBand> for RawEqBand {
    type Error = String;

    fn try_from(raw: WrittenEqBand) -> Result<Self, String> {
        let kind = raw.kind;
        let gain = match (raw.gain, kind.shape().has_gain()) {
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
        let slope = match (raw.slope, kind.shape().has_slope()) {
            (Some(_), false) => {
                return Err(format!(
                    "a `{kind}` band has no `slope`; only highpass and lowpass bands do"
                ));
            }
            (slope, _) => slope.unwrap_or(Slope(12)),
        };
        if raw.q.is_some() && kind.shape().has_slope() && slope != Slope(12) {
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

/// `- width: { amount: 140% }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "WidthSpec")]
pub struct RawWidth {
    /// How wide the image is: 100% leaves it as it is, 0% folds it to mono, and up to 200%
    /// widens it (automatable).
    #[serde(deserialize_with = "amount_in_range")]
    pub amount: Param<Fraction>,
}

/// Reads an amount and refuses any point above [`MAX_AMOUNT`].
fn amount_in_range<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Param<Fraction>, D::Error> {
    let amount = Param::<Fraction>::deserialize(deserializer)?;
    match amount.points().iter().find(|&&(_, a)| a > MAX_AMOUNT) {
        Some((_, a)) => Err(de::Error::custom(format!(
            "a width must lie between 0% and 200%, not {}%",
            a * 100.0
        ))),
        None => Ok(amount),
    }
}

impl Lower for RawWidth {
    type Settings = WidthSettings;

    fn settings(&self) -> WidthSettings {
        WidthSettings { amount: timeline(&self.amount) }
    }
}

/// The shape of the nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Saturation")]
pub enum RawSaturation {
    /// Hyperbolic tangent: smooth, symmetric, odd harmonics.
    #[default]
    Tanh,
    /// Arctangent: a gentler knee than `tanh`, nearing its ceiling more slowly.
    Soft,
    /// Asymmetric like magnetic tape: adds even harmonics too; the DC this creates is
    /// removed afterwards.
    Tape,
}

impl From<RawSaturation> for Saturation {
    fn from(kind: RawSaturation) -> Self {
        match kind {
            RawSaturation::Tanh => Self::Tanh,
            RawSaturation::Soft => Self::Soft,
            RawSaturation::Tape => Self::Tape,
        }
    }
}

/// `- saturate: { drive: 6 dB, mix: 30% }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "SaturateSpec")]
pub struct RawSaturate {
    /// Gain into the nonlinearity; the output is scaled back by the same amount, so
    /// drive changes the colour, not the level of quiet passages.
    #[serde(deserialize_with = "drive_in_range")]
    pub drive: Param<Decibels>,
    /// The nonlinearity: `tanh` (default), `soft` or `tape`.
    #[serde(rename = "type", default)]
    pub kind: RawSaturation,
    /// The share of saturated signal in the output; the dry share is delayed to match.
    #[serde(default = "all_wet")]
    pub mix: Param<Share>,
}

/// Reads `drive`, refusing any point above the top of the saturator's drive range.
fn drive_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Param<Decibels>, D::Error> {
    let (_, most) = SaturateSettings::DRIVE_RANGE_DB;
    points_at_most(deserializer, most, |db| {
        format!("a saturator's drive goes up to {most} dB, not {} dB", tidy(db))
    })
}

fn all_wet() -> Param<Share> {
    Param::Constant(Share(1.0))
}

impl Lower for RawSaturate {
    type Settings = SaturateSettings;

    fn settings(&self) -> SaturateSettings {
        SaturateSettings {
            drive_db: timeline(&self.drive),
            kind: self.kind.into(),
            mix: timeline(&self.mix),
        }
    }
}

/// `- stereo: { width: 110%, balance: 5% left, mono_below: 120 Hz }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "StereoSpec")]
pub struct RawStereo {
    /// How wide the image is: 100% leaves it, 0% folds it to mono, up to 200%.
    #[serde(default = "unchanged_width", deserialize_with = "width_in_range")]
    pub width: Fraction,
    /// Moves the image by turning the far channel down: `10% left` leaves the left at
    /// unity and the right at 90%.
    #[serde(default = "centred")]
    pub balance: Pan,
    /// Folds everything below this corner to mono with a 24 dB/oct crossover that sums
    /// flat, from 20 Hz to 1 kHz (120 Hz is usual for vinyl).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "corner_in_range"
    )]
    pub mono_below: Option<Hertz>,
}

fn unchanged_width() -> Fraction {
    Fraction(1.0)
}

fn centred() -> Pan {
    Pan(0.0)
}

fn width_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Fraction, D::Error> {
    let width = Fraction::deserialize(deserializer)?;
    if width.0 > MAX_WIDTH {
        return Err(de::Error::custom(format!(
            "a width runs from 0% to {}%, not {}%",
            percent(MAX_WIDTH),
            percent(width.0)
        )));
    }
    Ok(width)
}

fn corner_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Hertz>, D::Error> {
    let (least, most) = MONO_BELOW_RANGE_HZ;
    let corner = Hertz::deserialize(deserializer)?;
    if !(least..=most).contains(&corner.0) {
        return Err(de::Error::custom(format!(
            "`mono_below` runs from {least} Hz to {most} Hz, not {} Hz",
            tidy(corner.0)
        )));
    }
    Ok(Some(corner))
}

impl Lower for RawStereo {
    type Settings = StereoSettings;

    fn settings(&self) -> StereoSettings {
        StereoSettings {
            width: self.width.0,
            balance: self.balance.0,
            mono_below_hz: self.mono_below.map(|f| f.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::RawStep;

    fn band(json: &str) -> RawEqBand {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn refusal(json: &str) -> String {
        serde_json::from_str::<RawEqBand>(json).map(|b| format!("{b:?}")).unwrap_err().to_string()
    }

    #[test]
    fn the_slope_defaults_to_12_and_other_values_are_refused() {
        let p: RawHighpass = serde_json::from_str(r#"{ "freq": "30 Hz" }"#).unwrap();
        assert_eq!(p.0.slope, Slope(12));
        let p: RawLowpass = serde_json::from_str(r#"{ "freq": "9 kHz", "slope": 24 }"#).unwrap();
        assert_eq!(p.0.slope.order(), 4);
        let err = serde_json::from_str::<RawHighpass>(r#"{ "freq": 80, "slope": 18 }"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("6, 12, 24, 36 or 48"), "{err}");
        let err = serde_json::from_str::<RawHighpass>(r#"{ "freq": 80, "q": 2 }"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `q`"), "{err}");
    }

    #[test]
    fn a_pass_filter_lowers_to_its_side_its_corner_in_hz_and_its_butterworth_order() {
        let high: RawHighpass =
            serde_json::from_str(r#"{ "freq": [[0, "80 Hz"], [2, "1 kHz"]], "slope": 24 }"#)
                .unwrap();
        let settings = high.settings();
        assert_eq!(settings.pass, Pass::High);
        assert_eq!(settings.freq_hz, Timeline(vec![(0.0, 80.0), (2.0, 1000.0)]));
        assert_eq!(settings.order, 4);
        let low: RawLowpass = serde_json::from_str(r#"{ "freq": "9 kHz", "slope": 6 }"#).unwrap();
        assert_eq!((low.settings().pass, low.settings().order), (Pass::Low, 1));
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
        let RawStep::Eq(RawEq(bands)) = step else { panic!("not an eq") };
        assert_eq!(bands.len(), 3);
        assert_eq!(bands[2].slope, Slope(12));
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
    fn an_eq_band_lowers_to_its_shape_and_values_with_defaults_filled_in() {
        let eq: RawEq = serde_json::from_str(
            r#"[ { "type": "low_shelf", "freq": "200 Hz", "gain": [[0, "-2 dB"], [1, "2 dB"]],
                   "channel": "mid" },
                 { "type": "lowpass", "freq": "4 kHz", "slope": 36 } ]"#,
        )
        .unwrap();
        let bands = eq.settings().bands;
        assert_eq!(
            bands[0],
            EqBand {
                kind: BandType::LowShelf,
                freq_hz: Timeline::constant(200.0),
                gain_db: Timeline(vec![(0.0, -2.0), (1.0, 2.0)]),
                q: Timeline::constant(FRAC_1_SQRT_2),
                slope_db_per_octave: 12,
                channel: Channel::Mid,
            }
        );
        assert_eq!((bands[1].kind, bands[1].slope_db_per_octave), (BandType::Lowpass, 36));
        assert_eq!((bands[1].gain_db.initial(), bands[1].channel), (0.0, Channel::Stereo));
    }

    #[test]
    fn the_schema_describes_the_fields_a_project_writes() {
        let schema = serde_json::to_string(&schemars::schema_for!(RawEq)).unwrap();
        for needle in ["low_shelf", "within ±36 dB", "\"slope\"", "\"type\""] {
            assert!(schema.contains(needle), "{needle} missing from {schema}");
        }
        assert!(!schema.contains("0 dB for the types that have none"), "{schema}");
    }

    #[test]
    fn widths_above_200_percent_are_refused() {
        let ok: RawWidth = serde_json::from_str(r#"{ "amount": "140%" }"#).unwrap();
        assert!((ok.settings().amount.initial() - 1.4).abs() < 1e-12);
        let err = serde_json::from_str::<RawWidth>(r#"{ "amount": [[0, "100%"], [1, "250%"]] }"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("between 0% and 200%, not 250%"), "{err}");
        let err = serde_json::from_str::<RawWidth>(r#"{ "amount": 1, "mix": 2 }"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `mix`"), "{err}");
    }

    #[test]
    fn the_contract_saturation_reads_with_tanh_by_default() {
        let s: RawSaturate = serde_json::from_str(r#"{ "drive": "6 dB", "mix": "30%" }"#).unwrap();
        let settings = s.settings();
        assert_eq!(settings.kind, Saturation::Tanh);
        assert_eq!(
            (settings.drive_db, settings.mix),
            (Timeline::constant(6.0), Timeline::constant(0.3))
        );
        let tape: RawSaturate = serde_json::from_str(r#"{ "drive": 3, "type": "tape" }"#).unwrap();
        assert_eq!(tape.settings().kind, Saturation::Tape);
        assert!(serde_json::from_str::<RawSaturate>(r#"{ "drive": 3, "type": "fuzz" }"#).is_err());
        let err = serde_json::from_str::<RawSaturate>(r#"{ "drive": "61 dB" }"#).unwrap_err();
        assert!(err.to_string().contains("goes up to 60 dB, not 61 dB"), "{err}");
    }

    #[test]
    fn the_stereo_step_reads_with_its_defaults_and_refuses_values_out_of_range() {
        let s: RawStereo = serde_json::from_str(r#"{ "mono_below": "120 Hz" }"#).unwrap();
        assert_eq!(
            s.settings(),
            StereoSettings { width: 1.0, balance: 0.0, mono_below_hz: Some(120.0) }
        );
        let s: RawStereo = serde_json::from_str(r#"{ "balance": "10% left" }"#).unwrap();
        assert!((s.settings().balance + 0.1).abs() < 1e-12);
        assert!(!serde_json::to_string(&s).unwrap().contains("mono_below"));
        for (json, reason) in [
            (r#"{ "width": "250%" }"#, "width runs from 0% to 200%, not 250%"),
            (r#"{ "mono_below": "5 kHz" }"#, "runs from 20 Hz to 1000 Hz, not 5000 Hz"),
            (r#"{ "mono_below": "10 Hz" }"#, "not 10 Hz"),
            (r#"{ "balance": 2 }"#, "between -1 (left) and 1 (right)"),
            (r#"{ "pan": 0.5 }"#, "unknown field `pan`"),
        ] {
            let err = serde_json::from_str::<RawStereo>(json).unwrap_err().to_string();
            assert!(err.contains(reason), "{json}: {err}");
        }
    }
}
