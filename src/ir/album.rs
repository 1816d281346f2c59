//! A resolved album: its songs in order with their sequencing (gaps, crossfades, fades,
//! trims), each song's mastering chain, the album's loudness normalisation, its
//! deliverables and its assertions, every default filled and every code (ISRC, UPC/EAN)
//! validated.
//!
//! Times are in seconds here; where they fall in samples is decided by the sequence (see
//! `crate::album::sequence`), once the songs' lengths are known.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Assertion, Deliverable, Mix, Normalisation, Step};

/// An album, resolved.
#[derive(Debug, Clone)]
pub struct Album {
    /// The album's title (`album:`).
    pub title: String,
    /// The album's artist, every song's unless it names its own.
    pub artist: String,
    /// The release's UPC/EAN barcode, digits only, check digit verified.
    pub catalog: Option<String>,
    /// The release year.
    pub year: Option<u32>,
    /// The album's frames per second: every song is brought to it before mastering.
    pub sample_rate: u32,
    /// The songs, in order.
    pub songs: Vec<Song>,
    /// How the songs are brought to a loudness under a ceiling.
    pub loudness: AlbumLoudness,
    /// The deliverables.
    pub deliver: Vec<AlbumTarget>,
    /// What the songs and the album must measure, in the order the album file writes them.
    pub assertions: Vec<Assertion>,
}

/// One song of an album.
#[derive(Debug, Clone)]
pub struct Song {
    /// A stable identity, unique in the album (from the mix's or file's name): it prefixes
    /// the song's node ids and seeds its dither, so reordering the album changes neither.
    pub id: String,
    /// The song's title.
    pub title: String,
    /// The song's artist (the album's unless the song names one).
    pub artist: String,
    /// The ISRC in its 12-character form, without hyphens.
    pub isrc: Option<String>,
    /// Where the song's audio comes from.
    pub input: SongInput,
    /// How the song joins the one before it (ignored for the first song).
    pub join: Join,
    /// Seconds faded in (linear) at the song's start, after its mastering chain.
    pub fade_in: f64,
    /// Seconds faded out (linear) at the song's end, after its mastering chain.
    pub fade_out: f64,
    /// Seconds cut from the song's start, after its mastering chain.
    pub trim_start: f64,
    /// Seconds cut from the song's end, after its mastering chain.
    pub trim_end: f64,
    /// The mastering chain: the album's, or the song's own override.
    pub chain: Vec<Step>,
    /// A gain in dB applied to this song before the album's loudness gain (a song's
    /// `mastering.gain` override; 0 by default).
    pub gain_db: f64,
}

/// Where a song's audio comes from.
#[derive(Debug, Clone)]
pub enum SongInput {
    /// A mix project, rendered through the same graph under the song's id.
    Mix(Box<Mix>),
    /// A finished audio file (absolute path), converted to stereo at the album's rate.
    File(PathBuf),
}

/// How a song follows the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    /// Seconds of digital silence after the previous song (0: back to back).
    Gap(f64),
    /// The song's start overlaps the previous song's last seconds.
    Crossfade {
        /// The overlap, in seconds.
        seconds: f64,
        /// The gain curves of the two songs across the overlap.
        curve: CrossfadeCurve,
    },
}

/// The gain curves of a crossfade, over t from 0 to 1 across the overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossfadeCurve {
    /// cos(πt/2) out, sin(πt/2) in: constant power for uncorrelated songs.
    EqualPower,
    /// 1 − t out, t in: constant amplitude.
    Linear,
}

/// The album's loudness normalisation: a target and ceiling, and what one gain covers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AlbumLoudness {
    /// The target, ceiling and the most limiting allowed.
    pub normalisation: Normalisation,
    /// Which loudness the target applies to.
    pub mode: LoudnessMode,
}

/// Which loudness an album's target applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoudnessMode {
    /// Each song is brought to the target with a gain of its own.
    Song,
    /// One gain for every song, so that the whole album measures the target.
    Album,
    /// One gain for every song, so that the loudest song measures the target (AES TD1008).
    Loudest,
}

/// One deliverable of an album.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbumTarget {
    /// The format, rate, dither and ceiling; `file_name` holds the file name pattern, with
    /// `{track}`, `{track:02}`, `{title}`, `{artist}`, `{album}`, `{target}` and `{ext}`
    /// unfilled.
    pub deliverable: Deliverable,
    /// One file per song, or one file for the whole album.
    pub split: Split,
    /// Whether a CUE sheet is written beside an album file.
    pub cue: bool,
}

impl AlbumTarget {
    /// Whether the CD rules apply: a CUE sheet, or 16-bit audio at 44.1 kHz. Song starts
    /// then fall on CD frames, and the Red Book's limits are checked.
    #[must_use]
    pub fn is_cd(&self) -> bool {
        let cd_format = self.deliverable.sample_rate == 44_100
            && matches!(
                self.deliverable.format,
                super::DeliverFormat::Wav(super::SampleWidth::Int16)
                    | super::DeliverFormat::Flac(super::SampleWidth::Int16)
            );
        self.cue || cd_format
    }
}

/// How a target's audio is split into files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// One file per song, each running from its start to the next song's start.
    Songs,
    /// One continuous file for the whole album.
    Album,
}
