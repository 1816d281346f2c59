//! The resolved mix: names checked, routing validated, paths made absolute, defaults filled.
//!
//! `lower` turns a [`crate::project::LoadedMix`] into a [`Mix`], and `lower_album` a
//! [`crate::project::LoadedAlbum`] into an [`Album`], each collecting every error in one
//! pass so the user can fix them all in one round trip.

pub mod album;
mod album_lower;
mod assertion;
mod assertion_lower;
mod deliver;
mod levels;
mod loudness;
mod lower;
mod resolved_file;
mod routing;
pub mod step;
#[cfg(test)]
mod version_guard;

use std::path::PathBuf;

pub use album::{
    Album, AlbumLoudness, AlbumTarget, CrossfadeCurve, Join, LoudnessMode, Song, SongInput, Split,
};
pub use album_lower::{MAX_CD_TRACKS, lower_album};
pub use assertion::{Assertion, Check, DEFAULT_NULL_TOLERANCE_DB, Subject};
pub use deliver::{
    DEFAULT_MP3_CEILING_DBTP, DeliverFormat, Deliverable, DitherMode, ENCODER_VERSION, Release,
    SampleWidth, file_name as fill_file_name,
};
pub use levels::MAX_LEVEL_DB;
pub use loudness::{DEFAULT_CEILING_DBTP, DEFAULT_MAX_LIMITING_DB, Normalisation};
pub use lower::lower;
pub use resolved_file::{ContentDigest, ContentDigests, ResolvedFile};
pub use step::Step;

use crate::units::{Decibels, Pan, Param, Polarity};

/// How long the render runs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    /// Until the master decays below -90 dBFS after the last source ends.
    Natural,
    /// This many seconds after the last source ends.
    Tail(f64),
    /// Exactly this many seconds.
    Exact(f64),
}

/// A resolved mix.
#[derive(Debug, Clone)]
pub struct Mix {
    /// The title (`mix:`).
    pub title: String,
    /// A stable identity for node ids and output names: the project file's stem.
    pub id: String,
    /// Frames per second of the render.
    pub sample_rate: u32,
    /// How long the render runs.
    pub length: Length,
    /// The fade-out that ends an exact [`Length::Exact`] cut, in seconds (0 cuts hard).
    pub cut_fade_seconds: f64,
    /// Tracks in name order.
    pub tracks: Vec<Track>,
    /// Buses in name order.
    pub buses: Vec<Bus>,
    /// The master bus.
    pub master: Master,
    /// The tags its delivered files carry.
    pub release: Release,
    /// The files a `deliver:` block asks for, in target name order; empty without one.
    pub deliver: Vec<Deliverable>,
    /// What the render must measure, in the order the file writes them: tracks, buses,
    /// then the master.
    pub assertions: Vec<Assertion>,
}

impl Mix {
    /// Every file the mix names: sources, clips and the files its chains' steps read.
    #[must_use]
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for track in &self.tracks {
            match &track.input {
                TrackInput::Source(file) => files.push(file.clone()),
                TrackInput::Clips(clips) => files.extend(clips.iter().map(|c| c.file.clone())),
            }
        }
        let chains = self.tracks.iter().map(|t| &t.chain);
        let chains = chains.chain(self.buses.iter().map(|b| &b.chain));
        for step in chains.chain([&self.master.chain]).flatten() {
            files.extend(step.files().into_iter().map(|f| f.path.clone()));
        }
        files
    }
}

/// Where a track's audio comes from.
#[derive(Debug, Clone)]
pub enum TrackInput {
    /// One file from the start of the song.
    Source(PathBuf),
    /// Regions of files placed on the timeline.
    Clips(Vec<Clip>),
}

/// A region of a file on the timeline, in seconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Clip {
    /// The file (absolute).
    #[serde(skip)]
    pub file: PathBuf,
    /// Timeline position.
    pub at: f64,
    /// Offset into the file.
    pub start: f64,
    /// How much to play; `None` plays to the end of the file.
    pub length: Option<f64>,
    /// Fade-in length.
    pub fade_in: f64,
    /// Fade-out length.
    pub fade_out: f64,
    /// Clip gain in dB.
    pub gain_db: Decibels,
}

/// A fader: level and position in whatever it feeds.
#[derive(Debug, Clone)]
pub struct Fader {
    /// Level in dB, maybe automated.
    pub gain: Param<Decibels>,
    /// Position, maybe automated.
    pub pan: Param<Pan>,
}

/// Where a track or bus sends its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The master bus.
    Master,
    /// A named bus.
    Bus(String),
}

/// A send to a bus.
#[derive(Debug, Clone)]
pub struct Send {
    /// The receiving bus.
    pub to: String,
    /// Send level.
    pub level: Param<Decibels>,
    /// Taken before the fader and pan.
    pub pre_fader: bool,
}

/// A resolved track.
#[derive(Debug, Clone)]
pub struct Track {
    /// Its name.
    pub name: String,
    /// The audio it plays.
    pub input: TrackInput,
    /// Polarity, applied before the chain.
    pub polarity: Polarity,
    /// Its processing.
    pub chain: Vec<Step>,
    /// Its fader.
    pub fader: Fader,
    /// Where it goes.
    pub to: Target,
    /// Its sends.
    pub sends: Vec<Send>,
    /// False when muted, or when another track is soloed.
    pub audible: bool,
}

/// A resolved bus.
#[derive(Debug, Clone)]
pub struct Bus {
    /// Its name.
    pub name: String,
    /// Its processing.
    pub chain: Vec<Step>,
    /// Its fader.
    pub fader: Fader,
    /// Where it goes.
    pub to: Target,
    /// Its sends.
    pub sends: Vec<Send>,
    /// False when muted.
    pub audible: bool,
}

/// The resolved master bus.
#[derive(Debug, Clone)]
pub struct Master {
    /// Gain before the chain.
    pub gain: Param<Decibels>,
    /// Its processing.
    pub chain: Vec<Step>,
    /// Loudness normalisation after the chain, if the mix asks for it.
    pub loudness: Option<Normalisation>,
}

/// The name of the master bus: its section in YAML, the `to:` that routes into it, and the
/// last segment of its node id (`first-light/master`). No track or bus may take it.
pub const MASTER: &str = "master";

/// The default render rate when a project names none.
pub const DEFAULT_SAMPLE_RATE: u32 = crate::units::SampleRate::DEFAULT.0;

/// The fade-out at a `length:` cut when the mix names none: short enough not to be heard
/// as a fade, long enough that the music does not step to silence, which is heard as a
/// click.
pub const DEFAULT_CUT_FADE_SECONDS: f64 = 0.005;
