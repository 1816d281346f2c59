//! Values with units, as a project file writes them (`-3 dB`, `8 kHz`, `10 ms`, `1:32.5`,
//! `50%`, `1/8.`, `-14 LUFS`, `-1 dBTP`), and the automation lists that may stand in for any of them.
//!
//! Each newtype parses its text once, at load, into a canonical number (dB, Hz, seconds,
//! a fraction), so `-3 dB` and `-3.0dB` are the same value and hash to the same key. A bare
//! number is read in the unit the type documents. Range checks live here too, so a bad
//! value is reported at its own line by the YAML loader.
//!
//! This module knows nothing about YAML: the types deserialize from any serde format.

mod automation;
mod context;
mod limits;
mod parse;
#[macro_use]
mod quantities;
mod meter_levels;
mod spelling;

pub use automation::{Automation, MAX_AUTOMATION_POINTS, Param, Point, Scalar};
pub use context::{with_sample_rate, with_tempo};
pub use limits::{percent, points_at_most, tidy, within};
pub use meter_levels::{LoudnessUnits, Lufs, TruePeak};
pub use parse::UnitError;
pub use quantities::{
    Decibels, Fraction, Hertz, MAX_TIME_SECONDS, Pan, Polarity, Q, Ratio, SampleRate, Seconds,
    Share, Slope, Tempo, TimeMs, db_to_gain,
};
pub use spelling::spell_defaults;
