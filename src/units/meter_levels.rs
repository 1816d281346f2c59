//! The levels a loudness meter reads, for bounds a mix asserts: loudness in LUFS, true
//! peak in dBTP, and loudness range in LU. Each is a plain number in its own unit (a bare
//! number is that unit), and only the unit it is measured in reads: `-14 dB` is not a
//! loudness, so a bound written in the wrong unit is caught where it is written.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::parse::{UnitError, UnitTable};
use super::quantities::{finite, serialize_canonical};

/// A loudness in LUFS (LKFS is the same unit under ITU's name).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lufs(pub f64);

impl Lufs {
    const TABLE: UnitTable =
        UnitTable { what: "a loudness", units: &[("LUFS", 1.0), ("LKFS", 1.0)], bare: 1.0 };

    fn from_bare(v: f64) -> Result<Self, UnitError> {
        finite("a loudness", v).map(Self)
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::from_bare(Self::TABLE.read(text)?)
    }
}
quantity!(Lufs, "a loudness, e.g. `-14 LUFS` (a bare number is LUFS)", "-14 LUFS");

/// A true-peak level in dBTP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruePeak(pub f64);

impl TruePeak {
    const TABLE: UnitTable = UnitTable { what: "a true peak", units: &[("dBTP", 1.0)], bare: 1.0 };

    fn from_bare(v: f64) -> Result<Self, UnitError> {
        finite("a true peak", v).map(Self)
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::from_bare(Self::TABLE.read(text)?)
    }
}
quantity!(TruePeak, "a true-peak level, e.g. `-1 dBTP` (a bare number is dBTP)", "-1 dBTP");

/// A loudness difference or range in LU, never negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoudnessUnits(pub f64);

impl LoudnessUnits {
    const TABLE: UnitTable =
        UnitTable { what: "a loudness range", units: &[("LU", 1.0)], bare: 1.0 };

    fn from_bare(v: f64) -> Result<Self, UnitError> {
        let v = finite("a loudness range", v)?;
        if v < 0.0 {
            return Err(UnitError(format!("a loudness range cannot be negative, not {v} LU")));
        }
        Ok(Self(v))
    }

    fn from_text(text: &str) -> Result<Self, UnitError> {
        Self::from_bare(Self::TABLE.read(text)?)
    }
}
quantity!(LoudnessUnits, "a loudness range, e.g. `8 LU` (a bare number is LU)", "8 LU");

macro_rules! display_and_serialize {
    ($ty:ident, $unit:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!("{} ", $unit), self.0)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_canonical(self.0, serializer)
            }
        }
    };
}
display_and_serialize!(Lufs, "LUFS");
display_and_serialize!(TruePeak, "dBTP");
display_and_serialize!(LoudnessUnits, "LU");

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: for<'de> serde::Deserialize<'de>>(json: &str) -> Result<T, String> {
        serde_json::from_str::<T>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn each_level_reads_its_own_unit_or_a_bare_number() {
        assert_eq!(read::<Lufs>("\"-14 LUFS\"").unwrap(), Lufs(-14.0));
        assert_eq!(read::<Lufs>("\"-23LKFS\"").unwrap(), Lufs(-23.0));
        assert_eq!(read::<Lufs>("-9.5").unwrap(), Lufs(-9.5));
        assert_eq!(read::<TruePeak>("\"-1 dBTP\"").unwrap(), TruePeak(-1.0));
        assert_eq!(read::<LoudnessUnits>("\"7.5 LU\"").unwrap(), LoudnessUnits(7.5));
    }

    #[test]
    fn a_level_in_another_unit_is_refused_with_the_units_it_takes() {
        assert!(read::<Lufs>("\"-14 dB\"").unwrap_err().contains("expected one of: LUFS, LKFS"));
        assert!(read::<TruePeak>("\"-1 dB\"").unwrap_err().contains("dBTP"));
        assert!(read::<TruePeak>("\"-1 dbtp\"").unwrap_err().contains("write `dBTP`"));
        assert!(read::<LoudnessUnits>("\"-2 LU\"").unwrap_err().contains("cannot be negative"));
    }

    #[test]
    fn levels_print_as_text_that_reads_back() {
        for text in ["-14 LUFS", "-0.5 dBTP", "12 LU"] {
            let json = format!("\"{text}\"");
            let printed = match text.rsplit(' ').next() {
                Some("LUFS") => read::<Lufs>(&json).unwrap().to_string(),
                Some("dBTP") => read::<TruePeak>(&json).unwrap().to_string(),
                _ => read::<LoudnessUnits>(&json).unwrap().to_string(),
            };
            assert_eq!(printed, text);
        }
    }
}
