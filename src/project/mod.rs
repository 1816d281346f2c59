//! The YAML surface: the raw serde types of a mix file, of an album file and of the
//! settings file, the one file that names the YAML library, and a map from YAML paths to
//! source positions for semantic errors.
//!
//! Nothing here resolves names or reads audio; that is `ir`'s job.

mod album;
mod assert;
mod deliver;
mod loader;
mod loudness;
mod mix;
mod settings;
mod source_map;
pub mod step;

pub use album::{
    RawAlbum, RawAlbumLoudness, RawAlbumLoudnessSettings, RawAlbumMastering, RawAlbumTarget,
    RawCrossfade, RawCrossfadeCurve, RawCrossfadeSettings, RawLoudnessMode, RawSong,
    RawSongMastering, RawSplit,
};
pub use assert::{RawAssert, RawAtLeast, RawAtMost, RawMatches, RawRange};
pub use deliver::{BitDepth, Kbps, RawDither, RawFormat, RawTarget};
pub use loader::{
    Document, Loaded, LoadedAlbum, LoadedMix, ProjectKind, Rejected, Remainder, Section, SetAside,
    load_album, load_mix, parse_album, parse_mix, project_kind,
};
pub use loudness::{Profile, RawLoudness, RawLoudnessSettings};
pub use mix::{RawBus, RawClip, RawMaster, RawMix, RawSend, RawTrack};
pub use settings::{
    LoadedSettings, RawCacheSettings, RawRemoteMode, RawSettings, SETTINGS_FILE, find_settings,
    load_settings, parse_settings,
};
pub use source_map::{SourceMap, Span};
pub use step::{KINDS, Lower, NamesFile, RawStep};
