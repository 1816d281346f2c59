//! Splitting `-3 dB` into a number and a unit, and the error every unit type reports.

use std::fmt;

/// Why a text value could not be read as a quantity. The message is shown to the user
/// together with the location the YAML loader attaches.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitError(pub String);

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnitError {}

/// A number followed by an optional unit (`-3 dB`, `8kHz`, `-inf dB`, `12`).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity<'a> {
    pub number: f64,
    pub unit: &'a str,
}

/// Splits `text` into its leading number and the unit after it (spaces between are allowed).
/// The number may carry an exponent (`1e3`), as YAML's own numbers may; one too large for
/// a float (`1e999`) is reported as not finite rather than read as a unit.
pub fn split_quantity(text: &str) -> Result<Quantity<'_>, UnitError> {
    let text = text.trim();
    if is_nan_spelling(text) {
        return Err(not_finite(text));
    }
    let number_len = number_prefix_len(text);
    let (number_text, rest) = text.split_at(number_len);
    let unit = rest.trim();
    if let Some(after_inf) = unit.strip_prefix("inf") {
        let sign = match number_text {
            "-" => -1.0,
            "" | "+" => 1.0,
            _ => return Err(UnitError(format!("`{text}` is not a number"))),
        };
        return Ok(Quantity { number: sign * f64::INFINITY, unit: after_inf.trim() });
    }
    let number: f64 = number_text.parse().map_err(|_| {
        UnitError(format!("`{text}` is not a number with a unit (expected e.g. `-3 dB`, `8 kHz`)"))
    })?;
    if number.is_infinite() {
        return Err(not_finite(text));
    }
    Ok(Quantity { number, unit })
}

/// The error for a number that overflows a float or spells NaN.
pub fn not_finite(text: &str) -> UnitError {
    UnitError(format!("`{}` is not a finite number", text.trim()))
}

/// Whether `text` spells NaN as YAML, Rust or a spreadsheet would (`nan`, `.NaN`,
/// `-nan dB`).
fn is_nan_spelling(text: &str) -> bool {
    let unsigned = text.trim_start_matches(['+', '-']).trim_start_matches('.');
    unsigned.get(..3).is_some_and(|head| head.eq_ignore_ascii_case("nan"))
}

/// How many bytes of `text` its leading number takes: an optional sign, digits with at
/// most one point, then an exponent only when digits follow it (so that a unit starting
/// with `e` would still read as a unit).
fn number_prefix_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let digits_from = |mut at: usize| {
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at
    };
    let mut at = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let whole_end = digits_from(at);
    let mut mantissa_digits = whole_end > at;
    at = whole_end;
    if bytes.get(at) == Some(&b'.') {
        let fraction_end = digits_from(at + 1);
        mantissa_digits |= fraction_end > at + 1;
        at = fraction_end;
    }
    if mantissa_digits && matches!(bytes.get(at), Some(b'e' | b'E')) {
        let signed = at + 1 + usize::from(matches!(bytes.get(at + 1), Some(b'+' | b'-')));
        let exponent_end = digits_from(signed);
        if exponent_end > signed {
            at = exponent_end;
        }
    }
    at
}

/// The unit spellings a quantity accepts, with the factor to the canonical unit.
pub struct UnitTable {
    /// What the quantity is, for messages (`a gain`, `a frequency`).
    pub what: &'static str,
    /// Accepted spellings (case-sensitive) and their factor to the canonical unit.
    pub units: &'static [(&'static str, f64)],
    /// The factor for a bare number.
    pub bare: f64,
}

impl UnitTable {
    /// Reads `text` against this table. Units are case-sensitive (`mHz` is not `MHz`); a
    /// spelling that differs only in case is rejected with the right spelling suggested.
    pub fn read(&self, text: &str) -> Result<f64, UnitError> {
        let q = split_quantity(text)?;
        if q.unit.is_empty() {
            return Ok(scale(q.number, self.bare));
        }
        if let Some(&(_, factor)) = self.units.iter().find(|(u, _)| *u == q.unit) {
            return Ok(scale(q.number, factor));
        }
        let expected: Vec<&str> = self.units.iter().map(|(u, _)| *u).collect();
        let hint = match self.units.iter().find(|(u, _)| u.eq_ignore_ascii_case(q.unit)) {
            Some((right, _)) => format!("; units are case-sensitive: write `{right}`"),
            None => format!("; expected one of: {}", expected.join(", ")),
        };
        Err(UnitError(format!("unknown unit `{}` for {}{hint}", q.unit, self.what)))
    }
}

/// Multiplies by `factor`, dividing instead for factors below one (`ms`, `%`) so that
/// `140 %` is exactly 1.4 and `10 ms` exactly 0.01.
#[must_use]
pub fn scale(number: f64, factor: f64) -> f64 {
    if factor >= 1.0 { number * factor } else { number / (1.0 / factor).round() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_units_split_with_or_without_space() {
        assert_eq!(split_quantity("-3 dB").unwrap(), Quantity { number: -3.0, unit: "dB" });
        assert_eq!(split_quantity("-3.0dB").unwrap(), Quantity { number: -3.0, unit: "dB" });
        assert_eq!(split_quantity("8 kHz").unwrap(), Quantity { number: 8.0, unit: "kHz" });
        assert_eq!(split_quantity("12").unwrap(), Quantity { number: 12.0, unit: "" });
    }

    #[test]
    fn minus_infinity_is_a_number() {
        let q = split_quantity("-inf dB").unwrap();
        assert_eq!(q.number, f64::NEG_INFINITY);
        assert_eq!(q.unit, "dB");
    }

    #[test]
    fn a_number_may_carry_an_exponent() {
        assert_eq!(split_quantity("1e3 Hz").unwrap(), Quantity { number: 1000.0, unit: "Hz" });
        assert_eq!(split_quantity("-2.5E-1dB").unwrap(), Quantity { number: -0.25, unit: "dB" });
        assert_eq!(split_quantity("2 e").unwrap(), Quantity { number: 2.0, unit: "e" });
    }

    #[test]
    fn an_overflowing_number_or_a_nan_is_not_finite_rather_than_an_unknown_unit() {
        for text in ["1e999", "-1e999 dB", "nan", "NaN dB", ".nan", "-.NaN"] {
            let error = split_quantity(text).unwrap_err().0;
            assert!(error.ends_with("is not a finite number"), "{text}: {error}");
        }
    }

    #[test]
    fn a_unit_in_the_wrong_case_suggests_the_right_spelling() {
        let table = UnitTable { what: "a frequency", units: &[("Hz", 1.0)], bare: 1.0 };
        let err = table.read("10 hz").unwrap_err();
        assert!(err.0.contains("write `Hz`"), "{err}");
    }
}
