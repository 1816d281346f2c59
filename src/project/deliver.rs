//! The raw types of a `deliver:` block and of a mix's release metadata, as written. The
//! field names are the album file's (`artist`, `album`, `catalog`, `year`, `isrc`,
//! `bit_depth`, `bitrate`), so that a song's tags and a target read the same in both.
//!
//! Only the shape and each value's own range are checked here; what a format allows
//! (`bitrate` on a FLAC target, MP3 at 96 kHz) is lowering's to say.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::units::SampleRate;

/// One deliverable: a file format, its settings and how its file is named.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// The file format: `wav`, `flac` or `mp3`.
    pub format: RawFormat,
    /// Bits per sample of a WAV or FLAC file: `16`, `24` (the default) or `32f` (32-bit
    /// float, WAV only).
    pub bit_depth: Option<BitDepth>,
    /// The file's sample rate, converted from the mix's rate when it differs (default: the
    /// mix's rate).
    pub sample_rate: Option<SampleRate>,
    /// How samples are reduced to 16 or 24 bits: `tpdf` (the default), `shaped` (Lipshitz
    /// E-weighted noise shaping) or `none` (plain rounding).
    pub dither: Option<RawDither>,
    /// An MP3's constant bit rate, e.g. `320 kbps` (a bare number is kbit/s). The default
    /// is 320 kbps unless `vbr` is set.
    pub bitrate: Option<Kbps>,
    /// An MP3's variable bit rate quality, LAME's `-V`: 0 (best) to 9.
    pub vbr: Option<u8>,
    /// The file name, from `{title}`, `{artist}`, `{album}`, `{track}`, `{target}` and
    /// `{ext}` (default `{title}.{ext}`).
    pub name: Option<String>,
}

/// A deliverable's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawFormat {
    /// RIFF WAVE.
    Wav,
    /// FLAC, lossless.
    Flac,
    /// MPEG-1 Layer III, through LAME.
    Mp3,
}

/// How a deliverable's samples lose precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawDither {
    /// Triangular dither of ±1 LSB.
    Tpdf,
    /// TPDF dither inside Lipshitz's E-weighted noise-shaping loop.
    Shaped,
    /// Rounding to nearest, no dither.
    None,
}

/// Bits per sample of a delivered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitDepth {
    /// 16-bit integers.
    Int16,
    /// 24-bit integers.
    Int24,
    /// 32-bit float.
    Float32,
}

impl BitDepth {
    fn read(text: &str) -> Result<Self, String> {
        match text.trim() {
            "16" => Ok(Self::Int16),
            "24" => Ok(Self::Int24),
            "32f" | "32 float" | "float" => Ok(Self::Float32),
            other => Err(format!("a bit depth is 16, 24 or 32f (32-bit float), not `{other}`")),
        }
    }
}

impl<'de> Deserialize<'de> for BitDepth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BitDepthVisitor;
        impl Visitor<'_> for BitDepthVisitor {
            type Value = BitDepth;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bit depth: 16, 24 or 32f")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BitDepth, E> {
                BitDepth::read(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BitDepth, E> {
                BitDepth::read(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<BitDepth, E> {
                BitDepth::read(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BitDepth, E> {
                BitDepth::read(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(BitDepthVisitor)
    }
}

impl JsonSchema for BitDepth {
    fn schema_name() -> Cow<'static, str> {
        "BitDepth".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "bits per sample: 16, 24 or 32f (32-bit float)",
            "enum": [16, 24, "32f"]
        })
    }
}

/// A bit rate in kbit/s, read from `320 kbps`, `320k` or a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kbps(pub u32);

impl Kbps {
    fn read(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let number = ["kbps", "kbit/s", "k"]
            .iter()
            .find_map(|unit| text.strip_suffix(unit))
            .unwrap_or(text)
            .trim();
        number.parse::<u32>().map(Self).map_err(|_| {
            format!("a bit rate is a whole number of kbit/s such as `320 kbps`, not `{text}`")
        })
    }
}

impl<'de> Deserialize<'de> for Kbps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KbpsVisitor;
        impl Visitor<'_> for KbpsVisitor {
            type Value = Kbps;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bit rate, e.g. `320 kbps`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kbps, E> {
                Kbps::read(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kbps, E> {
                Kbps::read(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kbps, E> {
                Kbps::read(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Kbps, E> {
                Kbps::read(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(KbpsVisitor)
    }
}

impl JsonSchema for Kbps {
    fn schema_name() -> Cow<'static, str> {
        "Kbps".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a bit rate, e.g. `320 kbps` (a bare number is kbit/s)",
            "examples": ["320 kbps"],
            "pattern": "^\\s*[0-9]+\\s*(kbps|kbit/s|k)?\\s*$",
            "type": ["integer", "string"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_rates_read_with_or_without_their_unit() {
        for text in ["320 kbps", "320kbps", "320 k", "320", " 320 kbit/s "] {
            assert_eq!(Kbps::read(text), Ok(Kbps(320)), "{text}");
        }
        assert!(Kbps::read("fast").unwrap_err().contains("`fast`"));
    }

    #[test]
    fn bit_depths_are_16_24_or_32_bit_float() {
        assert_eq!(BitDepth::read("16"), Ok(BitDepth::Int16));
        assert_eq!(BitDepth::read("24"), Ok(BitDepth::Int24));
        assert_eq!(BitDepth::read("32f"), Ok(BitDepth::Float32));
        assert!(BitDepth::read("20").unwrap_err().contains("16, 24 or 32f"));
    }
}
