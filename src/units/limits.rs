//! Limits on parameters, checked as a file loads, so that a value a processor could not
//! honour is an error that points at its processor, not a silently different sound.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::{Param, Scalar};

/// Deserializes a value and refuses it outside `least..=most` (in its canonical unit),
/// with `describe(value)` as the message.
///
/// # Errors
/// When the value does not deserialize or lies outside the range.
pub fn within<'de, D, T>(
    deserializer: D,
    (least, most): (f64, f64),
    describe: impl Fn(f64) -> String,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Scalar + Deserialize<'de>,
{
    let value = T::deserialize(deserializer)?;
    if (least..=most).contains(&value.value()) {
        Ok(value)
    } else {
        Err(D::Error::custom(describe(value.value())))
    }
}

/// Deserializes a parameter and refuses it when any automation point lies above `most`
/// (in its canonical unit), with `describe(value)` as the message.
///
/// # Errors
/// When the parameter does not deserialize or a point lies above `most`.
pub fn points_at_most<'de, D, T>(
    deserializer: D,
    most: f64,
    describe: impl Fn(f64) -> String,
) -> Result<Param<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Scalar,
    Param<T>: Deserialize<'de>,
{
    let param = Param::<T>::deserialize(deserializer)?;
    match param.points().into_iter().find(|&(_, value)| value > most) {
        Some((_, value)) => Err(D::Error::custom(describe(value))),
        None => Ok(param),
    }
}

/// `x` rounded to a millionth, for messages: `0.2 * 1000` prints as `200`, not
/// `200.00000000000003`.
#[must_use]
pub fn tidy(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A fraction in percent, for messages.
#[must_use]
pub fn percent(fraction: f64) -> f64 {
    tidy(fraction * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{Fraction, Seconds};

    fn seconds(json: &str) -> Result<Seconds, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        within(&mut de, (0.1, 20.0), |v| format!("not {v} s"))
    }

    fn fraction(json: &str) -> Result<Param<Fraction>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        points_at_most(&mut de, 0.99, |v| format!("not {}%", percent(v)))
    }

    #[test]
    fn a_value_outside_its_range_is_refused_and_named() {
        assert_eq!(seconds("\"2 s\"").unwrap(), Seconds(2.0));
        assert_eq!(seconds("\"20 s\"").unwrap(), Seconds(20.0));
        assert!(seconds("\"21 s\"").unwrap_err().to_string().contains("not 21 s"));
        assert!(seconds("\"50 ms\"").unwrap_err().to_string().contains("not 0.05 s"));
    }

    #[test]
    fn any_automation_point_above_the_limit_is_refused() {
        assert!(fraction(r#"[[0, "10%"], ["1 s", "99%"]]"#).is_ok());
        let error = fraction(r#"[[0, "10%"], ["1 s", "120%"]]"#).unwrap_err().to_string();
        assert!(error.contains("not 120%"), "{error}");
    }
}
