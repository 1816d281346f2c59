//! A parameter that is either one value or automation: a list of `[time, value]` points.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::meter_levels::{Lufs, TruePeak};
use super::quantities::{Decibels, Fraction, Hertz, Pan, Q, Ratio, Seconds, Share, TimeMs};

/// A quantity with one canonical number, so that automation can interpolate it.
pub trait Scalar: Copy {
    /// The canonical number (dB, Hz, seconds, a fraction...).
    fn value(self) -> f64;
}

macro_rules! scalar {
    ($($ty:ident),*) => { $(impl Scalar for $ty { fn value(self) -> f64 { self.0 } })* };
}
scalar!(Decibels, Hertz, Seconds, TimeMs, Fraction, Share, Pan, Q, Ratio, Lufs, TruePeak);

/// The most points one automation list may hold: a point every 100 ms for a 3-hour
/// mix, or every 2 ms of a 3-minute song, with room to spare. Each point costs memory
/// while the file loads, so a list past this is refused as it is read.
pub const MAX_AUTOMATION_POINTS: usize = 100_000;

/// One automation point: the value at a time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point<T> {
    /// When, from the start of the song.
    pub time: Seconds,
    /// The value there.
    pub value: T,
}

/// Points in time order; the value is linear between points and held before the first and
/// after the last.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Automation<T> {
    /// At least one point, times never decreasing.
    pub points: Vec<Point<T>>,
}

/// A parameter value: constant, or automated over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Param<T> {
    /// One value for the whole song.
    Constant(T),
    /// A list of `[time, value]` points.
    Automated(Automation<T>),
}

impl<T: Scalar> Param<T> {
    /// The points of this parameter as (seconds, canonical value) pairs; a constant is one
    /// point at time zero.
    #[must_use]
    pub fn points(&self) -> Vec<(f64, f64)> {
        match self {
            Self::Constant(v) => vec![(0.0, v.value())],
            Self::Automated(a) => a.points.iter().map(|p| (p.time.0, p.value.value())).collect(),
        }
    }

    /// The value at the start of the song.
    #[must_use]
    pub fn initial(&self) -> f64 {
        self.points()[0].1
    }

    /// Whether the value changes over time.
    #[must_use]
    pub fn is_automated(&self) -> bool {
        matches!(self, Self::Automated(a) if a.points.windows(2).any(|w| w[0].value.value() != w[1].value.value()))
    }
}

impl<T> From<T> for Param<T> {
    fn from(value: T) -> Self {
        Self::Constant(value)
    }
}

impl<'de, T: Deserialize<'de> + Scalar> Deserialize<'de> for Param<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de> + Scalar> Visitor<'de> for ParamVisitor<T> {
            type Value = Param<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, or automation as a list of [time, value] points")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Param<T>, E> {
                T::deserialize(v.into_deserializer()).map(Param::Constant)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Param<T>, E> {
                T::deserialize(v.into_deserializer()).map(Param::Constant)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Param<T>, E> {
                T::deserialize(v.into_deserializer()).map(Param::Constant)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Param<T>, E> {
                T::deserialize(v.into_deserializer()).map(Param::Constant)
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Param<T>, E> {
                T::deserialize(v.into_deserializer()).map(Param::Constant)
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Param<T>, E> {
                T::deserialize(v.into_deserializer()).map(Param::Constant)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Param<T>, A::Error> {
                let mut points: Vec<Point<T>> = Vec::new();
                while let Some((time, value)) = seq.next_element::<(Seconds, T)>()? {
                    if points.len() == MAX_AUTOMATION_POINTS {
                        return Err(de::Error::custom(format!(
                            "automation can hold at most {MAX_AUTOMATION_POINTS} points; \
                             thin the list out"
                        )));
                    }
                    if let Some(last) = points.last()
                        && time.0 < last.time.0
                    {
                        return Err(de::Error::custom(format!(
                            "automation points must be in time order: {} s comes after {} s",
                            time.0, last.time.0
                        )));
                    }
                    points.push(Point { time, value });
                }
                if points.is_empty() {
                    return Err(de::Error::custom(
                        "automation needs at least one [time, value] point",
                    ));
                }
                Ok(Param::Automated(Automation { points }))
            }
        }

        deserializer.deserialize_any(ParamVisitor(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Param<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Param_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<T>();
        let time = generator.subschema_for::<Seconds>();
        json_schema!({
            "description": "a value, or automation: a list of [time, value] points",
            "anyOf": [
                value,
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "array",
                        "prefixItems": [time, value],
                        "minItems": 2,
                        "maxItems": 2
                    }
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automation_reads_points_with_units() {
        let p: Param<Decibels> =
            serde_json::from_str(r#"[["0:00", "-inf dB"], ["0:01", "-4 dB"]]"#).unwrap();
        assert_eq!(p.points(), vec![(0.0, f64::NEG_INFINITY), (1.0, -4.0)]);
        assert!(p.is_automated());
    }

    #[test]
    fn a_constant_is_one_point_at_zero() {
        let p: Param<Hertz> = serde_json::from_str(r#""8 kHz""#).unwrap();
        assert_eq!(p.points(), vec![(0.0, 8000.0)]);
        assert!(!p.is_automated());
    }

    #[test]
    fn points_out_of_order_are_rejected() {
        let err = serde_json::from_str::<Param<Decibels>>(r#"[["0:02", 0], ["0:01", 1]]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("time order"), "{err}");
    }

    #[test]
    fn automation_past_the_most_points_is_refused() {
        let list = |n: usize| {
            let points: Vec<String> = (0..n).map(|i| format!("[{i}e-3, 0]")).collect();
            format!("[{}]", points.join(","))
        };
        assert!(serde_json::from_str::<Param<Decibels>>(&list(MAX_AUTOMATION_POINTS)).is_ok());
        let error = serde_json::from_str::<Param<Decibels>>(&list(MAX_AUTOMATION_POINTS + 1))
            .unwrap_err()
            .to_string();
        assert!(error.contains("at most 100000 points"), "{error}");
    }

    #[test]
    fn a_bad_value_inside_automation_names_the_problem() {
        let err =
            serde_json::from_str::<Param<Hertz>>(r#"[["0:00", "10 hz"]]"#).unwrap_err().to_string();
        assert!(err.contains("write `Hz`"), "{err}");
    }
}
