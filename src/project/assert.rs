//! The raw `assert:` block, as written on a track, a bus or the master of a mix, and on a
//! song or the whole of an album: the measured properties a render must have, each with
//! its bounds in the unit it is measured in.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::units::{Decibels, LoudnessUnits, Lufs, TruePeak};

/// What the audio of a track, bus, master, album song or album must measure, checked after
/// every render and by `mixdown test`. A track or bus is measured as its chain puts it out,
/// before its fader; the master as the file delivered; a song or the album as the album
/// delivers it at its rate.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAssert {
    /// Integrated loudness (BS.1770), in LUFS.
    pub loudness: Option<RawRange<Lufs>>,
    /// True peak (4x oversampled), in dBTP.
    pub true_peak: Option<RawAtMost<TruePeak>>,
    /// The loudest 3 s window (short-term loudness), in LUFS.
    pub short_term_max: Option<RawAtMost<Lufs>>,
    /// Loudness range (EBU Tech 3342), in LU.
    pub loudness_range: Option<RawRange<LoudnessUnits>>,
    /// Correlation of left and right, from -1 (out of phase) to 1 (mono): how well the
    /// audio survives being summed to mono.
    pub correlation: Option<RawAtLeast<f64>>,
    /// No sample beyond full scale (0 dBFS); for the master, no sample clipped in the file.
    #[serde(default)]
    pub no_clipping: bool,
    /// A null test against a reference file: the difference must peak at or below the
    /// tolerance.
    pub matches: Option<RawMatches>,
}

/// Bounds from below and above; either may be left out.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRange<T> {
    /// The lowest value that passes.
    pub min: Option<T>,
    /// The highest value that passes.
    pub max: Option<T>,
}

/// A bound from above.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAtMost<T> {
    /// The highest value that passes.
    pub max: T,
}

/// A bound from below.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAtLeast<T> {
    /// The lowest value that passes.
    pub min: T,
}

/// A reference the audio must null against.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMatches {
    /// The reference audio file, relative to this project file.
    pub file: String,
    /// The loudest the difference may peak, in dBFS (default -90 dB: inaudible).
    pub tolerance: Option<Decibels>,
}
