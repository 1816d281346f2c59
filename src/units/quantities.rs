//! The unit newtypes. Each holds one canonical number, reads from either a bare number
//! (in the unit its doc names) or a text with a unit, and prints (`Display`) as text that
//! reads back to the same number, in the unit a user would write.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::context::{current_bpm, current_sample_rate};
use super::limits::percent;
use super::parse::{UnitError, UnitTable, not_finite, scale, split_quantity};

/// Implements serde and JSON Schema for a quantity newtype from two functions: one that reads
/// a bare number and one that reads a text value, both returning the canonical number.
macro_rules! quantity {
    ($ty:ident, $expecting:literal, $example:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct QuantityVisitor;
                impl Visitor<'_> for QuantityVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                        $ty::from_bare(v).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_i128<E: de::Error>(self, v: i128) -> Result<$ty, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_u128<E: de::Error>(self, v: u128) -> Result<$ty, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        $ty::from_text(v).map_err(E::custom)
                    }
                }
                deserializer.deserialize_any(QuantityVisitor)
            }
        }

        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "description": $expecting,
                    "examples": [$example],
                    "pattern": <$ty as super::spelling::Spelling>::PATTERN,
                    "type": ["number", "string"]
                })
            }
        }
    };
}

/// Serializes the canonical value; -0.0 becomes 0.0 so that it cannot split a cache key.
pub(super) fn serialize_canonical<S: Serializer>(
    value: f64,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(value + 0.0)
}

pub(super) fn finite(what: &str, v: f64) -> Result<f64, UnitError> {
    if v.is_finite() { Ok(v) } else { Err(UnitError(format!("{what} must be a finite number"))) }
}

/// `v * divisor` when dividing it again gives exactly `v`, for printing in a unit that is
/// a fraction of the canonical one (`%`, `ms`). Every value read from text passes (the
/// property tests check it); `None` is for a value made in code that does not.
fn exact_multiple(v: f64, divisor: f64) -> Option<f64> {
    let multiple = v * divisor;
    (multiple.is_finite() && multiple / divisor == v).then_some(multiple)
}

/// A level or gain in decibels. Bare numbers are dB; `-inf dB` is silence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decibels(pub f64);

impl Decibels {
    const TABLE: UnitTable = UnitTable { what: "a gain", units: &[("dB", 1.0)], bare: 1.0 };

    fn from_bare(v: f64) -> Result<Self, UnitError> {
        if v.is_nan() || v == f64::INFINITY {
            return Err(UnitError("a gain must be a finite number of dB or `-inf dB`".into()));
        }
        Ok(Self(v))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::from_bare(Self::TABLE.read(text)?)
    }

    /// The linear amplitude factor (`-inf dB` is 0).
    #[must_use]
    pub fn to_gain(self) -> f64 {
        db_to_gain(self.0)
    }
}

/// Converts decibels to a linear amplitude factor.
#[must_use]
pub fn db_to_gain(db: f64) -> f64 {
    if db == f64::NEG_INFINITY { 0.0 } else { 10f64.powf(db / 20.0) }
}

impl Serialize for Decibels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // JSON has no infinity: silence is spelled as text so it keeps its own key.
        if self.0 == f64::NEG_INFINITY {
            serializer.serialize_str("-inf")
        } else {
            serialize_canonical(self.0, serializer)
        }
    }
}
quantity!(Decibels, "a gain in dB, e.g. `-3 dB` or `-inf dB` (a bare number is dB)", "-3 dB");

impl fmt::Display for Decibels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == f64::NEG_INFINITY {
            f.write_str("-inf dB")
        } else {
            write!(f, "{} dB", self.0)
        }
    }
}

/// A frequency in hertz. Bare numbers are Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hertz(pub f64);

impl Hertz {
    const TABLE: UnitTable =
        UnitTable { what: "a frequency", units: &[("Hz", 1.0), ("kHz", 1000.0)], bare: 1.0 };

    fn from_bare(v: f64) -> Result<Self, UnitError> {
        let v = finite("a frequency", v)?;
        if v <= 0.0 {
            return Err(UnitError(format!("a frequency must be above 0 Hz, not {v} Hz")));
        }
        if let Some(rate) = current_sample_rate()
            && v >= f64::from(rate) / 2.0
        {
            let nyquist = Self(f64::from(rate) / 2.0);
            return Err(UnitError(format!(
                "a frequency must lie below {nyquist}, half the sample rate of {}, not {}",
                SampleRate(rate),
                Self(v)
            )));
        }
        Ok(Self(v))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::from_bare(Self::TABLE.read(text)?)
    }
}
quantity!(Hertz, "a frequency, e.g. `8 kHz` or `120 Hz` (a bare number is Hz)", "1 kHz");

impl fmt::Display for Hertz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz", self.0)
    }
}

impl Serialize for Hertz {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// Reads a time: `1:32.5` (minutes:seconds), `10 ms`, `2 s`, `1 min`, or a note value
/// (`1/8`, `1/8.` dotted, `1/8t` triplet) when the project sets a tempo.
fn read_time(text: &str, bare_factor: f64) -> Result<f64, UnitError> {
    let text = text.trim();
    let seconds = if let Some((minutes, seconds)) = text.split_once(':') {
        let m: f64 = minutes.trim().parse().map_err(|_| bad_clock(text))?;
        let s: f64 = seconds.trim().parse().map_err(|_| bad_clock(text))?;
        if m < 0.0 || !(0.0..60.0).contains(&s) {
            return Err(bad_clock(text));
        }
        m * 60.0 + s
    } else if let Some(note) = parse_note(text) {
        let beats = note?;
        let bpm = current_bpm().ok_or_else(|| {
            UnitError(format!("the note value `{text}` needs a `tempo:` at the top of the project"))
        })?;
        beats * 60.0 / bpm
    } else {
        const TABLE: UnitTable = UnitTable {
            what: "a time",
            units: &[("s", 1.0), ("ms", 0.001), ("min", 60.0)],
            bare: 1.0,
        };
        let q = split_quantity(text)?;
        if q.unit.is_empty() { scale(q.number, bare_factor) } else { TABLE.read(text)? }
    };
    check_time(seconds)
}

fn bad_clock(text: &str) -> UnitError {
    UnitError(format!("`{text}` is not a time; write minutes:seconds such as `1:32.5`"))
}

/// The longest time a project may write (3 hours): longer than any song or album side, and
/// what a 32-bit float stereo WAV holds at 48 kHz. A longer time is a typo, and would fail
/// only far into a render, or wrap round when counted in frames.
pub const MAX_TIME_SECONDS: f64 = 3.0 * 3600.0;

fn check_time(seconds: f64) -> Result<f64, UnitError> {
    let seconds = finite("a time", seconds)?;
    if seconds < 0.0 {
        return Err(UnitError(format!("a time cannot be negative ({seconds} s)")));
    }
    if seconds > MAX_TIME_SECONDS {
        return Err(UnitError(format!(
            "a time can be at most 3 hours ({MAX_TIME_SECONDS} s), not {seconds} s"
        )));
    }
    Ok(seconds + 0.0)
}

/// Reads `1/8`, `1/8.` or `1/8t` as a number of quarter-note beats; `None` when `text` is
/// not shaped like a note value at all.
fn parse_note(text: &str) -> Option<Result<f64, UnitError>> {
    let (numerator, rest) = text.split_once('/')?;
    let (denominator, factor) = if let Some(d) = rest.strip_suffix('.') {
        (d, 1.5)
    } else if let Some(d) = rest.strip_suffix('t') {
        (d, 2.0 / 3.0)
    } else {
        (rest, 1.0)
    };
    let parsed = numerator.trim().parse::<u32>().ok().zip(denominator.trim().parse::<u32>().ok());
    Some(match parsed {
        Some((n, d)) if n > 0 && d > 0 => Ok(4.0 * f64::from(n) / f64::from(d) * factor),
        _ => Err(UnitError(format!(
            "`{text}` is not a note value; write e.g. `1/4`, `1/8.` (dotted) or `1/8t` (triplet)"
        ))),
    })
}

/// A time in seconds: a position or a length. Bare numbers are seconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Seconds(pub f64);

impl Seconds {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        check_time(v).map(Self)
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        read_time(text, 1.0).map(Self)
    }
}
quantity!(
    Seconds,
    "a time, e.g. `2 s`, `250 ms`, `1:32.5` or `1/8.` (a bare number is seconds)",
    "2 s"
);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// A short time such as an attack or a fade, held in seconds. Bare numbers are milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TimeMs(pub f64);

impl TimeMs {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        check_time(scale(v, 0.001)).map(Self)
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        read_time(text, 0.001).map(Self)
    }

    /// The time in seconds.
    #[must_use]
    pub fn seconds(self) -> f64 {
        self.0
    }
}
quantity!(TimeMs, "a short time, e.g. `10 ms` or `1/16` (a bare number is milliseconds)", "10 ms");

impl fmt::Display for TimeMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match exact_multiple(self.0, 1000.0) {
            Some(ms) => write!(f, "{ms} ms"),
            None => write!(f, "{} s", self.0),
        }
    }
}

impl Serialize for TimeMs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// A proportion held as a fraction (`50%` is 0.5). Bare numbers are percent.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Fraction(pub f64);

impl Fraction {
    const TABLE: UnitTable = UnitTable { what: "a proportion", units: &[("%", 0.01)], bare: 0.01 };

    fn from_bare(v: f64) -> Result<Self, UnitError> {
        Self::check(scale(v, 0.01))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::check(Self::TABLE.read(text)?)
    }

    fn check(v: f64) -> Result<Self, UnitError> {
        let v = finite("a proportion", v)?;
        if v < 0.0 {
            return Err(UnitError(format!("a proportion cannot be negative ({}%)", v * 100.0)));
        }
        Ok(Self(v + 0.0))
    }
}
quantity!(Fraction, "a proportion in percent, e.g. `30%` (a bare number is percent)", "30%");

/// Writes a proportion in percent, the only unit it has.
fn write_percent(f: &mut fmt::Formatter<'_>, fraction: f64) -> fmt::Result {
    write!(f, "{}%", fraction * 100.0)
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_percent(f, self.0)
    }
}

impl Serialize for Fraction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// A share of a whole, from 0% to 100%: a dry/wet mix, a room size, a stereo link. Bare
/// numbers are percent. A value past 100% is an error, not a silent 100%.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Share(pub f64);

impl Share {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        Self::check(Fraction::from_bare(v)?)
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::check(Fraction::from_text(text)?)
    }

    fn check(share: Fraction) -> Result<Self, UnitError> {
        if share.0 > 1.0 {
            let percent = percent(share.0);
            return Err(UnitError(format!("a share runs from 0% to 100%, not {percent}%")));
        }
        Ok(Self(share.0))
    }
}
quantity!(Share, "a share from 0% to 100%, e.g. `30%` (a bare number is percent)", "30%");

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_percent(f, self.0)
    }
}

impl Serialize for Share {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// A stereo position from -1 (hard left) to +1 (hard right): `30% left`, `5% right`,
/// `center`, or a bare number in -1..1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pan(pub f64);

impl Pan {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        let v = finite("a pan", v)?;
        if !(-1.0..=1.0).contains(&v) {
            return Err(UnitError(format!(
                "a pan must lie between -1 (left) and 1 (right), not {v}; or write `30% left`"
            )));
        }
        Ok(Self(v + 0.0))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        let text = text.trim();
        if matches!(text, "center" | "centre" | "C") {
            return Ok(Self(0.0));
        }
        let (amount, sign) = if let Some(a) = text.strip_suffix("left") {
            (a, -1.0)
        } else if let Some(a) = text.strip_suffix("right") {
            (a, 1.0)
        } else {
            return Err(UnitError(format!(
                "`{text}` is not a pan; write `30% left`, `5% right`, `center`, or a number in -1..1"
            )));
        };
        let percent = Fraction::from_text(amount.trim())?;
        if percent.0 > 1.0 {
            return Err(UnitError(format!("a pan cannot go past 100% (`{text}`)")));
        }
        Ok(Self(sign * percent.0 + 0.0))
    }
}
quantity!(Pan, "a stereo position: `30% left`, `5% right`, `center`, or -1..1", "30% left");

impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = if self.0 < 0.0 { "left" } else { "right" };
        match exact_multiple(self.0.abs(), 100.0) {
            _ if self.0 == 0.0 => f.write_str("center"),
            Some(percent) => write!(f, "{percent}% {side}"),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Pan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// A filter's quality factor, a positive bare number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Q(pub f64);

impl Q {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        let v = finite("a Q", v)?;
        if !(0.025..=100.0).contains(&v) {
            return Err(UnitError(format!("a Q must lie between 0.025 and 100, not {v}")));
        }
        Ok(Self(v))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        let q = split_quantity(text)?;
        if !q.unit.is_empty() {
            return Err(UnitError(format!("a Q is a bare number, not `{text}`")));
        }
        Self::from_bare(q.number)
    }
}
quantity!(Q, "a filter Q, a bare number such as 0.707", 0.707);

impl fmt::Display for Q {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Q {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// A compression ratio, at least 1: `4` or `4:1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio(pub f64);

impl Ratio {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        if v.is_nan() || v < 1.0 {
            return Err(UnitError(format!("a ratio must be at least 1, not {v}")));
        }
        Ok(Self(v))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        let number = text.trim().strip_suffix(":1").unwrap_or(text).trim();
        if number == "inf" {
            return Ok(Self(f64::INFINITY));
        }
        let v: f64 = number
            .parse()
            .map_err(|_| UnitError(format!("`{text}` is not a ratio; write `4` or `4:1`")))?;
        if !v.is_finite() {
            return Err(not_finite(text));
        }
        Self::from_bare(v)
    }
}
quantity!(Ratio, "a ratio of at least 1, e.g. `4` or `4:1`", 4);

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_infinite() { f.write_str("inf:1") } else { write!(f, "{}:1", self.0) }
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_infinite() {
            serializer.serialize_str("inf")
        } else {
            serialize_canonical(self.0, serializer)
        }
    }
}

/// A sample rate in whole hertz: `48 kHz`, `44.1 kHz`, or a bare number of Hz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SampleRate(pub u32);

impl SampleRate {
    const TABLE: UnitTable =
        UnitTable { what: "a sample rate", units: &[("Hz", 1.0), ("kHz", 1000.0)], bare: 1.0 };

    fn from_bare(v: f64) -> Result<Self, UnitError> {
        let hz = (v * 1000.0).round() / 1000.0;
        if !(8000.0..=768_000.0).contains(&hz) || hz.fract() != 0.0 {
            return Err(UnitError(format!(
                "a sample rate must be a whole number of Hz from 8 kHz to 768 kHz, not {v} Hz"
            )));
        }
        Ok(Self(hz as u32))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::from_bare(Self::TABLE.read(text)?)
    }
}
quantity!(SampleRate, "a sample rate, e.g. `48 kHz` or `44100`", "48 kHz");

impl SampleRate {
    /// The rate a mix renders at when it does not set one.
    pub const DEFAULT: Self = Self(48_000);
}

impl fmt::Display for SampleRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz", self.0)
    }
}

/// A filter slope in dB per octave: 6, 12, 24, 36 or 48 (`24` or `24 dB/oct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slope(pub u32);

impl Slope {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        match v {
            6.0 => Ok(Self(6)),
            12.0 => Ok(Self(12)),
            24.0 => Ok(Self(24)),
            36.0 => Ok(Self(36)),
            48.0 => Ok(Self(48)),
            _ => Err(UnitError(format!("a slope must be 6, 12, 24, 36 or 48 dB/oct, not {v}"))),
        }
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        const TABLE: UnitTable =
            UnitTable { what: "a slope", units: &[("dB/oct", 1.0), ("dB", 1.0)], bare: 1.0 };
        Self::from_bare(TABLE.read(text)?)
    }

    /// The Butterworth filter order this slope needs.
    #[must_use]
    pub fn order(self) -> usize {
        (self.0 / 6) as usize
    }
}
quantity!(Slope, "a filter slope in dB/oct: 6, 12, 24, 36 or 48", 24);

impl fmt::Display for Slope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} dB/oct", self.0)
    }
}

/// A tempo in beats per minute: `96` or `96 bpm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tempo(pub f64);

impl Tempo {
    fn from_bare(v: f64) -> Result<Self, UnitError> {
        if !(1.0..=999.0).contains(&v) {
            return Err(UnitError(format!("a tempo must lie between 1 and 999 bpm, not {v}")));
        }
        Ok(Self(v))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        const TABLE: UnitTable =
            UnitTable { what: "a tempo", units: &[("bpm", 1.0), ("BPM", 1.0)], bare: 1.0 };
        Self::from_bare(TABLE.read(text)?)
    }
}
quantity!(Tempo, "a tempo in beats per minute, e.g. `96` or `96 bpm`", 120);

impl fmt::Display for Tempo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bpm", self.0)
    }
}

impl Serialize for Tempo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_canonical(self.0, serializer)
    }
}

/// Whether a signal's polarity is flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Unchanged.
    #[default]
    Normal,
    /// Multiplied by -1.
    #[serde(alias = "invert")]
    Inverted,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{with_sample_rate, with_tempo};

    fn read<T: for<'de> Deserialize<'de>>(yaml: &str) -> Result<T, String> {
        serde_json::from_str::<T>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn gains_with_and_without_space_are_the_same_value() {
        assert_eq!(read::<Decibels>("\"-3 dB\"").unwrap(), read::<Decibels>("\"-3.0dB\"").unwrap());
        assert_eq!(read::<Decibels>("-3").unwrap(), Decibels(-3.0));
        assert_eq!(read::<Decibels>("\"-inf dB\"").unwrap().to_gain(), 0.0);
    }

    #[test]
    fn frequencies_read_khz_and_reject_zero() {
        assert_eq!(read::<Hertz>("\"8 kHz\"").unwrap(), Hertz(8000.0));
        assert!(read::<Hertz>("0").unwrap_err().contains("above 0 Hz"));
        assert!(read::<Hertz>("\"10 hz\"").unwrap_err().contains("write `Hz`"));
    }

    #[test]
    fn times_read_clock_units_and_bare_numbers_in_their_documented_unit() {
        assert_eq!(read::<Seconds>("\"1:32.5\"").unwrap(), Seconds(92.5));
        assert_eq!(read::<Seconds>("\"0:04\"").unwrap(), Seconds(4.0));
        assert_eq!(read::<Seconds>("2").unwrap(), Seconds(2.0));
        assert_eq!(read::<TimeMs>("10").unwrap(), TimeMs(0.01));
        assert_eq!(read::<TimeMs>("\"0.5 ms\"").unwrap(), TimeMs(0.0005));
        assert!(read::<Seconds>("\"-1 s\"").is_err());
    }

    #[test]
    fn note_values_need_a_tempo_and_follow_it() {
        assert!(read::<TimeMs>("\"1/8.\"").unwrap_err().contains("tempo"));
        let dotted_eighth = with_tempo(Some(96.0), || read::<TimeMs>("\"1/8.\"")).unwrap();
        assert!((dotted_eighth.0 - 0.75 * 60.0 / 96.0).abs() < 1e-12);
        let triplet = with_tempo(Some(120.0), || read::<TimeMs>("\"1/4t\"")).unwrap();
        assert!((triplet.0 - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn pans_read_words_and_numbers() {
        assert_eq!(read::<Pan>("\"30% left\"").unwrap(), Pan(-0.3));
        assert_eq!(read::<Pan>("\"5% right\"").unwrap(), Pan(0.05));
        assert_eq!(read::<Pan>("\"center\"").unwrap(), Pan(0.0));
        assert_eq!(read::<Pan>("-0.5").unwrap(), Pan(-0.5));
        assert!(read::<Pan>("2").is_err());
    }

    #[test]
    fn sample_rates_must_be_whole_and_in_range() {
        assert_eq!(read::<SampleRate>("\"44.1 kHz\"").unwrap(), SampleRate(44100));
        assert!(read::<SampleRate>("0").is_err());
        assert!(read::<SampleRate>("\"44.1005 kHz\"").is_err());
    }

    #[test]
    fn percent_and_ratio_and_slope() {
        assert_eq!(read::<Fraction>("\"30%\"").unwrap(), Fraction(0.3));
        assert_eq!(read::<Fraction>("140").unwrap(), Fraction(1.4));
        assert_eq!(read::<Share>("\"100%\"").unwrap(), Share(1.0));
        assert_eq!(read::<Share>("0").unwrap(), Share(0.0));
        let past = read::<Share>("140").unwrap_err();
        assert!(past.contains("0% to 100%, not 140%"), "{past}");
        assert!(read::<Share>("\"-5%\"").is_err());
        assert_eq!(read::<Ratio>("\"4:1\"").unwrap(), Ratio(4.0));
        assert!(read::<Ratio>("0.5").is_err());
        assert_eq!(read::<Slope>("24").unwrap().order(), 4);
        assert!(read::<Slope>("18").is_err());
    }

    #[test]
    fn a_time_past_three_hours_is_refused_and_three_hours_is_not() {
        assert_eq!(read::<Seconds>("10800").unwrap(), Seconds(10800.0));
        assert_eq!(read::<Seconds>("\"180:00\"").unwrap(), Seconds(10800.0));
        for text in ["1e15", "\"10801 s\"", "\"600 min\"", "\"181:00\""] {
            let error = read::<Seconds>(text).unwrap_err();
            assert!(error.contains("at most 3 hours"), "{text}: {error}");
        }
        assert!(read::<TimeMs>("1e15").unwrap_err().contains("at most 3 hours"));
    }

    #[test]
    fn a_frequency_must_lie_below_half_the_sample_rate_being_loaded() {
        assert_eq!(read::<Hertz>("\"30 kHz\"").unwrap(), Hertz(30000.0), "no rate, no limit");
        let at_48k = |text: &str| with_sample_rate(48_000, || read::<Hertz>(text));
        assert_eq!(at_48k("\"23.9 kHz\"").unwrap(), Hertz(23900.0));
        let error = at_48k("\"30 kHz\"").unwrap_err();
        assert!(error.contains("below 24000 Hz, half the sample rate of 48000 Hz"), "{error}");
        assert!(at_48k("24000").is_err());
    }

    #[test]
    fn an_overflowing_number_is_not_finite_for_every_quantity() {
        assert!(read::<Decibels>("\"1e999\"").unwrap_err().contains("not a finite number"));
        assert!(read::<Ratio>("\"1e999:1\"").unwrap_err().contains("not a finite number"));
        assert!(read::<Ratio>("\"nan\"").unwrap_err().contains("not a finite number"));
        assert!(read::<Pan>("\"1e999% left\"").unwrap_err().contains("not a finite number"));
    }

    #[test]
    fn quantities_print_in_the_unit_a_user_writes() {
        assert_eq!(Decibels(-3.0).to_string(), "-3 dB");
        assert_eq!(Decibels(f64::NEG_INFINITY).to_string(), "-inf dB");
        assert_eq!(Hertz(8000.0).to_string(), "8000 Hz");
        assert_eq!(TimeMs(0.01).to_string(), "10 ms");
        assert_eq!(Seconds(92.5).to_string(), "92.5 s");
        assert_eq!(Fraction(0.3).to_string(), "30%");
        assert_eq!(Share(1.0).to_string(), "100%");
        assert_eq!(Pan(-0.3).to_string(), "30% left");
        assert_eq!(Pan(0.0).to_string(), "center");
        assert_eq!(Ratio(4.0).to_string(), "4:1");
        assert_eq!(Ratio(f64::INFINITY).to_string(), "inf:1");
        assert_eq!(SampleRate(44100).to_string(), "44100 Hz");
        assert_eq!(Slope(24).to_string(), "24 dB/oct");
        assert_eq!(Tempo(96.0).to_string(), "96 bpm");
        assert_eq!(Q(0.707).to_string(), "0.707");
    }

    #[test]
    fn nan_is_rejected_everywhere() {
        assert!(read::<Decibels>("\"NaN dB\"").is_err());
        assert!(read::<Hertz>("\"nan\"").is_err());
    }
}
