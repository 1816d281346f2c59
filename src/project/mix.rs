//! The raw types of a mix file, as written. Every struct denies unknown fields so a typo is
//! an error at its own line, and every field's doc comment becomes the JSON Schema
//! description that editors show.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::assert::RawAssert;
use super::deliver::RawTarget;
use super::loudness::RawLoudness;
use super::step::RawStep;
use crate::units::{Decibels, Pan, Param, Polarity, SampleRate, Seconds, Tempo, TimeMs};

/// A mix: stems on tracks, their processing, buses, sends and the master chain.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMix {
    /// The mix's title.
    pub mix: String,
    /// The rate everything renders at; sources at other rates are resampled (default 48 kHz).
    pub sample_rate: Option<SampleRate>,
    /// Beats per minute, for note values such as `1/8.` in delay times.
    pub tempo: Option<Tempo>,
    /// How long to keep rendering after the last source ends. Without it the render runs until
    /// the master decays below -90 dBFS.
    pub tail: Option<Seconds>,
    /// The exact length of the rendered mix, overriding `tail`.
    pub length: Option<Seconds>,
    /// The fade-out that ends a `length:` cut, so that the mix does not stop on a click: a
    /// raised-cosine fade over the last stretch of the file (default 5 ms; `0 ms` cuts
    /// hard). A bare number is milliseconds.
    pub length_fade: Option<TimeMs>,
    /// The tracks, by name.
    #[serde(default)]
    pub tracks: BTreeMap<String, RawTrack>,
    /// The buses, by name. A bus sums the tracks and buses routed `to` it and its sends.
    #[serde(default)]
    pub buses: BTreeMap<String, RawBus>,
    /// The master bus.
    #[serde(default)]
    pub master: RawMaster,
    /// The performing artist, written into delivered files' tags.
    pub artist: Option<String>,
    /// The album (or single) the song is released on, for tags.
    pub album: Option<String>,
    /// The release's UPC or EAN-13 barcode, for tags (e.g. `"5012345678900"`).
    pub catalog: Option<String>,
    /// The release year, for tags.
    pub year: Option<u32>,
    /// The song's International Standard Recording Code, `CC-XXX-YY-NNNNN` (hyphens
    /// optional), for tags.
    pub isrc: Option<String>,
    /// The song's position on its release, `n` or `n/N`, for tags.
    pub track: Option<String>,
    /// The files to deliver, by target name: each is written into a folder of that name
    /// under `--out`. Without it, `render` writes one WAV named after the mix file.
    pub deliver: Option<BTreeMap<String, RawTarget>>,
}

/// A track: one audio file, or clips placed on a timeline, then a chain.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrack {
    /// The audio file, relative to this project file.
    pub source: Option<String>,
    /// Clips on a timeline, instead of `source`.
    pub clips: Option<Vec<RawClip>>,
    /// The fader (default 0 dB); a list of `[time, gain]` points automates it.
    pub gain: Option<Param<Decibels>>,
    /// Stereo position (constant-power law, -3 dB at centre).
    pub pan: Option<Param<Pan>>,
    /// Silences the track and its sends.
    #[serde(default)]
    pub mute: bool,
    /// When any track is soloed, only soloed tracks sound.
    #[serde(default)]
    pub solo: bool,
    /// `normal` or `inverted`, applied before the chain.
    #[serde(default)]
    pub polarity: Polarity,
    /// The processing chain, in order.
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub chain: Vec<RawStep>,
    /// The bus this track feeds (default: the master).
    pub to: Option<String>,
    /// Sends to buses.
    #[serde(default)]
    pub sends: Vec<RawSend>,
    /// What this track's audio must measure, checked after every render.
    pub assert: Option<RawAssert>,
}

/// A region of an audio file placed on the timeline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClip {
    /// The audio file, relative to this project file.
    pub file: String,
    /// Where the clip starts on the timeline (default 0).
    pub at: Option<Seconds>,
    /// Where in the file the clip starts (default 0).
    pub start: Option<Seconds>,
    /// How much of the file to play (default: to its end).
    pub length: Option<Seconds>,
    /// Linear fade in from the clip's start.
    pub fade_in: Option<TimeMs>,
    /// Linear fade out to the clip's end.
    pub fade_out: Option<TimeMs>,
    /// The clip's gain (default 0 dB).
    pub gain: Option<Decibels>,
}

/// A send from a track or bus to a bus.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSend {
    /// The receiving bus.
    pub to: String,
    /// Send level (default 0 dB); automatable.
    pub level: Option<Param<Decibels>>,
    /// Take the signal before the fader and pan instead of after them.
    #[serde(default)]
    pub pre_fader: bool,
}

/// A bus: sums what is routed to it, then runs its chain.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBus {
    /// The bus fader (default 0 dB); automatable.
    pub gain: Option<Param<Decibels>>,
    /// Stereo position of the bus in what it feeds.
    pub pan: Option<Param<Pan>>,
    /// Silences the bus.
    #[serde(default)]
    pub mute: bool,
    /// The processing chain, in order.
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub chain: Vec<RawStep>,
    /// The bus this bus feeds (default: the master).
    pub to: Option<String>,
    /// Sends to other buses.
    #[serde(default)]
    pub sends: Vec<RawSend>,
    /// What this bus's audio must measure, checked after every render.
    pub assert: Option<RawAssert>,
}

/// The master bus: everything not routed elsewhere ends here.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMaster {
    /// Master gain before the chain (default 0 dB); automatable.
    pub gain: Option<Param<Decibels>>,
    /// The master chain, in order.
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub chain: Vec<RawStep>,
    /// Loudness normalisation after the chain: one gain to the target, then a true-peak
    /// limiter at the ceiling.
    pub loudness: Option<RawLoudness>,
    /// What the delivered mix must measure, checked after every render.
    pub assert: Option<RawAssert>,
}
