//! Resolved assertions: what a render of a track, bus, the master, an album's song or the
//! album must measure, each with the YAML path and place of its bounds, so that a failure
//! points at the line that set them. Lowering checks the bounds make sense (a minimum
//! above its maximum, a correlation outside -1..1) and that a reference file exists;
//! measuring is not done here.

use std::fmt;
use std::path::PathBuf;

use crate::diag::Location;

/// The tolerance of a null test when the mix names none: a difference that peaks under
/// -90 dBFS is below what any listener hears.
pub const DEFAULT_NULL_TOLERANCE_DB: f64 = -90.0;

/// Whose audio an assertion measures.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A track, as its chain puts it out (before its fader).
    Track(String),
    /// A bus, as its chain puts it out (before its fader).
    Bus(String),
    /// The master, as the file delivered.
    Master,
    /// An album's song, as the album delivers it at its rate: from its start to the next
    /// song's start (or the album's end), after the album's gain and limiter.
    Song {
        /// Its place in the album, from 0.
        index: usize,
        /// Its title, for messages.
        title: String,
    },
    /// The whole album at its rate: every song in order, gaps and crossfades included.
    Album,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Track(name) => write!(f, "track `{name}`"),
            Self::Bus(name) => write!(f, "bus `{name}`"),
            Self::Master => f.write_str("the master"),
            Self::Song { index, title } => write!(f, "song {} \"{title}\"", index + 1),
            Self::Album => f.write_str("the album"),
        }
    }
}

/// One measured property and its bounds, in the unit it is measured in.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Integrated loudness in LUFS.
    Loudness {
        /// The lowest that passes.
        min: Option<f64>,
        /// The highest that passes.
        max: Option<f64>,
    },
    /// True peak in dBTP, at most.
    TruePeak {
        /// The highest that passes.
        max: f64,
    },
    /// The loudest short-term (3 s) window in LUFS, at most.
    ShortTermMax {
        /// The highest that passes.
        max: f64,
    },
    /// Loudness range in LU.
    LoudnessRange {
        /// The lowest that passes.
        min: Option<f64>,
        /// The highest that passes.
        max: Option<f64>,
    },
    /// Correlation of left and right, at least.
    Correlation {
        /// The lowest that passes.
        min: f64,
    },
    /// No sample beyond full scale.
    NoClipping,
    /// The difference from a reference file peaks at most at a tolerance.
    Matches {
        /// The reference (absolute).
        file: PathBuf,
        /// The loudest the difference may peak, in dBFS.
        tolerance_db: f64,
    },
}

impl Check {
    /// The name the check has in an `assert:` block.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Loudness { .. } => "loudness",
            Self::TruePeak { .. } => "true_peak",
            Self::ShortTermMax { .. } => "short_term_max",
            Self::LoudnessRange { .. } => "loudness_range",
            Self::Correlation { .. } => "correlation",
            Self::NoClipping => "no_clipping",
            Self::Matches { .. } => "matches",
        }
    }
}

/// An assertion of a mix or an album: whose audio, what must hold, and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// Whose audio is measured.
    pub subject: Subject,
    /// What must hold.
    pub check: Check,
    /// The YAML path of the check (`master.assert.loudness`, `songs[1].assert.true_peak`).
    pub yaml_path: String,
    /// Where the check is written.
    pub location: Option<Location>,
    /// Where its `min` is written, when it has one.
    pub min_at: Option<Location>,
    /// Where its `max` is written, when it has one.
    pub max_at: Option<Location>,
}
