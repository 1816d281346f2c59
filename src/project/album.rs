//! The raw types of an album file, as written: the release's metadata, the songs in order
//! with how each joins the one before it, the mastering every song goes through, and the
//! targets to deliver. Every struct denies unknown fields so a typo is an error at its own
//! line, and every field's doc comment becomes the JSON Schema description editors show.
//!
//! Only the shape and each value's own range are checked here. Which combinations are
//! allowed (a gap and a crossfade on one song, a CUE sheet beside per-song files) and what
//! the codes (ISRC, UPC/EAN) must look like is lowering's to say.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::assert::RawAssert;
use super::deliver::{BitDepth, Kbps, RawDither, RawFormat, RawTarget};
use super::loudness::{
    Profile, RawLoudness, RawLoudnessSettings, ceiling_in_range, max_limiting_in_range,
    target_in_range,
};
use super::step::RawStep;
use crate::units::{Decibels, Lufs, SampleRate, Seconds, TruePeak};

/// An album: songs in order, one mastering pass that makes them sit together, and the
/// files a release needs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlbum {
    /// The album's title.
    pub album: String,
    /// The album's artist, every song's unless a song names its own.
    pub artist: String,
    /// The release's UPC-A (12 digits) or EAN-13 (13 digits) barcode, check digit
    /// included, e.g. `"5012345678900"`. Quote it, so that YAML keeps it as text.
    pub catalog: Option<String>,
    /// The release year, for tags and the CUE sheet.
    pub year: Option<u32>,
    /// The rate every song is brought to before mastering (default 48 kHz).
    pub sample_rate: Option<SampleRate>,
    /// The songs, in order.
    #[serde(default)]
    pub songs: Vec<RawSong>,
    /// The mastering every song goes through, and the album's loudness.
    #[serde(default)]
    pub mastering: RawAlbumMastering,
    /// The files to deliver, by target name: each is written into a folder of that name
    /// under `--out`.
    #[serde(default)]
    pub deliver: BTreeMap<String, RawAlbumTarget>,
    /// What the whole album must measure, as delivered at its rate: every song in order
    /// with its gaps and crossfades, after the limiter. Checked after every render and by
    /// `mixdown test`.
    pub assert: Option<RawAssert>,
}

/// One song of an album: a mix project or a finished stereo file, with its metadata and
/// how it joins the song before it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSong {
    /// A mix project, relative to the album file. It renders through the album's graph;
    /// its own `deliver:` block is not used in an album.
    pub mix: Option<String>,
    /// A finished audio file (WAV, FLAC, AIFF, MP3…), relative to the album file,
    /// instead of `mix`. A mono file, or one at another rate, is converted to stereo at the
    /// album's rate.
    pub file: Option<String>,
    /// The song's title.
    pub title: String,
    /// The song's artist (default: the album's).
    pub artist: Option<String>,
    /// The song's International Standard Recording Code, `CC-XXX-YY-NNNNN` (hyphens
    /// optional).
    pub isrc: Option<String>,
    /// Digital silence between the song before and this one (default 0 s: back to back).
    pub gap: Option<Seconds>,
    /// How long this song's start overlaps the end of the song before, instead of a gap:
    /// a time (`1.5 s`, an equal-power crossfade) or `{ length: 1.5 s, curve: linear }`.
    pub crossfade: Option<RawCrossfade>,
    /// A linear fade in over the song's first seconds, after its mastering chain.
    pub fade_in: Option<Seconds>,
    /// A linear fade out over the song's last seconds, after its mastering chain.
    pub fade_out: Option<Seconds>,
    /// Time cut from the song's start, after its mastering chain.
    pub trim_start: Option<Seconds>,
    /// Time cut from the song's end, after its mastering chain.
    pub trim_end: Option<Seconds>,
    /// This song's own mastering: a chain that replaces the album's, and a gain.
    pub mastering: Option<RawSongMastering>,
    /// What this song must measure as the album delivers it at its rate: from its start to
    /// the next song's, after the album's gain and limiter. Checked after every render and
    /// by `mixdown test`; a `mix:` song's own assertions are not run by the album.
    pub assert: Option<RawAssert>,
}

/// A song's mastering overrides.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSongMastering {
    /// A chain that replaces the album's for this song (`[]` for none).
    pub chain: Option<Vec<RawStep>>,
    /// A trim in dB applied to this song before the album's loudness gain (default 0 dB).
    pub gain: Option<Decibels>,
}

/// The mastering every song goes through, and the album's loudness.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlbumMastering {
    /// The mastering chain, in order, run on each song on its own.
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub chain: Vec<RawStep>,
    /// The album's loudness: a target, a true-peak ceiling and what one gain covers.
    /// Without it no gain is applied, and the ceiling is -1 dBTP.
    pub loudness: Option<RawAlbumLoudness>,
}

/// An album's loudness: a profile name (`spotify`, with the mode `album`), or explicit
/// settings with a mode.
#[derive(Debug, Clone, PartialEq)]
pub struct RawAlbumLoudness {
    /// The target, ceiling and most limiting, as a mix's `master.loudness` writes them.
    pub loudness: RawLoudness,
    /// What the target applies to (default `album`).
    pub mode: Option<RawLoudnessMode>,
}

/// `loudness: { target: -14 LUFS, ceiling: -1 dBTP, mode: album, max_limiting: 6 dB }`
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlbumLoudnessSettings {
    /// The integrated loudness the album is brought to, from -40 to -5 LUFS. Without it
    /// no gain is applied and the ceiling alone holds (as the `cd` profile does).
    #[serde(default, deserialize_with = "target_in_range")]
    pub target: Option<Lufs>,
    /// The true peak no delivered sample reaches, between samples too, from -12 to 0 dBTP
    /// (default -1 dBTP).
    #[serde(default, deserialize_with = "ceiling_in_range")]
    pub ceiling: Option<TruePeak>,
    /// The most gain reduction the limiter may apply to reach the target, from 0 to 24 dB
    /// (default 6 dB); a target that needs more is an error, not a squashed album.
    #[serde(default, deserialize_with = "max_limiting_in_range")]
    pub max_limiting: Option<Decibels>,
    /// What the target applies to: `song` (each song to the target), `album` (one gain,
    /// so that the whole album meets it; the default) or `loudest` (one gain, so that the
    /// loudest song meets it, as AES TD1008 recommends).
    pub mode: Option<RawLoudnessMode>,
}

/// What an album's loudness target applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawLoudnessMode {
    /// Each song to the target, with a gain of its own.
    Song,
    /// One gain for every song, so that the whole album measures the target.
    Album,
    /// One gain for every song, so that the loudest song measures the target.
    Loudest,
}

impl<'de> Deserialize<'de> for RawAlbumLoudness {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AlbumLoudnessVisitor;
        impl<'de> Visitor<'de> for AlbumLoudnessVisitor {
            type Value = RawAlbumLoudness;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a profile (spotify, apple, youtube, ebu-r128, cd) or a map")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAlbumLoudness, E> {
                let profile =
                    Profile::from_name(v).ok_or_else(|| E::unknown_variant(v, Profile::NAMES))?;
                Ok(RawAlbumLoudness { loudness: RawLoudness::Profile(profile), mode: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAlbumLoudness, A::Error> {
                let settings = RawAlbumLoudnessSettings::deserialize(
                    de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(RawAlbumLoudness {
                    loudness: RawLoudness::Settings(RawLoudnessSettings {
                        target: settings.target,
                        ceiling: settings.ceiling,
                        max_limiting: settings.max_limiting,
                    }),
                    mode: settings.mode,
                })
            }
        }
        deserializer.deserialize_any(AlbumLoudnessVisitor)
    }
}

impl JsonSchema for RawAlbumLoudness {
    fn schema_name() -> Cow<'static, str> {
        "AlbumLoudness".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let settings = generator.subschema_for::<RawAlbumLoudnessSettings>();
        json_schema!({
            "description": "The album's loudness: a profile (`spotify` and `youtube` -14 LUFS, \
                `apple` -16 LUFS, `ebu-r128` -23 LUFS, each at -1 dBTP; `cd` no gain and a \
                0 dBTP ceiling), with one gain for the album, or explicit settings with a mode.",
            "oneOf": [
                { "type": "string", "enum": Profile::NAMES },
                settings
            ]
        })
    }
}

/// A crossfade: a length (equal power), or a length and a curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawCrossfade {
    /// How long the two songs overlap.
    pub length: Seconds,
    /// The gain curves across the overlap (default `equal_power`).
    pub curve: Option<RawCrossfadeCurve>,
}

/// `crossfade: { length: 1.5 s, curve: linear }`
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCrossfadeSettings {
    /// How long the two songs overlap.
    pub length: Seconds,
    /// The gain curves across the overlap: `equal_power` (the default: cos out, sin in,
    /// constant power for unrelated songs) or `linear` (constant amplitude, for songs
    /// that continue each other).
    pub curve: Option<RawCrossfadeCurve>,
}

/// The gain curves of a crossfade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawCrossfadeCurve {
    /// cos out, sin in: constant power.
    EqualPower,
    /// Straight lines: constant amplitude.
    Linear,
}

impl<'de> Deserialize<'de> for RawCrossfade {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CrossfadeVisitor;
        impl<'de> Visitor<'de> for CrossfadeVisitor {
            type Value = RawCrossfade;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a time such as `1.5 s`, or `{ length: 1.5 s, curve: linear }`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawCrossfade, E> {
                let length = Seconds::deserialize(de::value::F64Deserializer::new(v))?;
                Ok(RawCrossfade { length, curve: None })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawCrossfade, E> {
                let length = Seconds::deserialize(de::value::I64Deserializer::new(v))?;
                Ok(RawCrossfade { length, curve: None })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawCrossfade, E> {
                let length = Seconds::deserialize(de::value::U64Deserializer::new(v))?;
                Ok(RawCrossfade { length, curve: None })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCrossfade, E> {
                let length = Seconds::deserialize(de::value::StrDeserializer::new(v))?;
                Ok(RawCrossfade { length, curve: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCrossfade, A::Error> {
                let settings =
                    RawCrossfadeSettings::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawCrossfade { length: settings.length, curve: settings.curve })
            }
        }
        deserializer.deserialize_any(CrossfadeVisitor)
    }
}

impl JsonSchema for RawCrossfade {
    fn schema_name() -> Cow<'static, str> {
        "Crossfade".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let time = generator.subschema_for::<Seconds>();
        let settings = generator.subschema_for::<RawCrossfadeSettings>();
        json_schema!({
            "description": "How long this song's start overlaps the end of the song before: \
                a time (an equal-power crossfade), or a length and a curve.",
            "oneOf": [time, settings]
        })
    }
}

/// One deliverable of an album: a mix target's format and settings, and how the album is
/// split into files.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlbumTarget {
    /// The file format: `wav`, `flac` or `mp3`.
    pub format: RawFormat,
    /// Bits per sample of a WAV or FLAC file: `16`, `24` (the default) or `32f` (32-bit
    /// float, WAV only).
    pub bit_depth: Option<BitDepth>,
    /// The files' sample rate, converted from the album's rate when it differs (default:
    /// the album's rate).
    pub sample_rate: Option<SampleRate>,
    /// How samples are reduced to 16 or 24 bits: `tpdf` (the default), `shaped` (Lipshitz
    /// E-weighted noise shaping) or `none` (plain rounding).
    pub dither: Option<RawDither>,
    /// An MP3's constant bit rate, e.g. `320 kbps` (a bare number is kbit/s). The default
    /// is 320 kbps unless `vbr` is set.
    pub bitrate: Option<Kbps>,
    /// An MP3's variable bit rate quality, LAME's `-V`: 0 (best) to 9.
    pub vbr: Option<u8>,
    /// The file name, from `{track}`, `{track:02}`, `{title}`, `{artist}`, `{album}`,
    /// `{target}` and `{ext}` (default `{track:02} {title}.{ext}` for `split: songs`,
    /// `{album}.{ext}` for `split: album`).
    pub name: Option<String>,
    /// `songs`: one file per song, each from its start to the next song's start (the
    /// default); `album`: one continuous file.
    pub split: Option<RawSplit>,
    /// Write a CUE sheet beside the album file (needs `split: album` and WAV or FLAC).
    #[serde(default)]
    pub cue: bool,
}

impl RawAlbumTarget {
    /// The target's format and settings, as a mix's `deliver:` target writes them.
    #[must_use]
    pub fn target(&self) -> RawTarget {
        RawTarget {
            format: self.format,
            bit_depth: self.bit_depth,
            sample_rate: self.sample_rate,
            dither: self.dither,
            bitrate: self.bitrate,
            vbr: self.vbr,
            name: self.name.clone(),
        }
    }
}

/// How an album target's audio is split into files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawSplit {
    /// One file per song.
    Songs,
    /// One continuous file for the whole album.
    Album,
}
