//! Resolved deliverables and release metadata: a `deliver:` block's targets with every
//! default filled and every combination checked, and the mix's tags with ISRC, barcode and
//! track position validated and normalised. A mix's targets and an album's are lowered by
//! the same [`lower_target`]: a mix's file name is filled here, an album's is kept as a
//! checked pattern for the render to fill per song.
//!
//! What a target is made of is decided here; how its file is encoded is `audio`'s, and
//! where it goes is render's.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::did_you_mean;
use crate::project::{BitDepth, RawDither, RawFormat, RawMix, RawTarget};

/// Bump when what an encoder writes for the same samples and settings changes (a new
/// flacenc or LAME, another dither, another way of cutting): every deliverable's encoded
/// stream is then made again. Encode nodes' keys hold it. Version 2: WAV and FLAC files
/// are held under their ceiling after rate conversion and dither, as MP3s were. Version 4:
/// MP3s are encoded at LAME's default quality, 3. Version 5: a FLAC frame that flacenc
/// bloats past its samples stored plainly is encoded again without fixed prediction.
/// Version 6: FLAC is encoded without fixed prediction. Version 7: an MP3 is lowered
/// by its estimated overshoot before its first encoding. Version 8: TPDF dither draws a
/// frame's noise from one random number instead of two. Version 9: a stereo FLAC frame's
/// two channels are chosen by estimate, and only they are encoded.
pub const ENCODER_VERSION: u32 = 9;

/// The true peak a delivered file is held at or under, in dBTP, unless the master's
/// loudness sets a ceiling: no decoder or converter may clip it.
pub const DEFAULT_MP3_CEILING_DBTP: f64 = 0.0;

/// The bit rates MPEG-1 Layer III has, in kbit/s.
pub const MP3_BITRATES: [u32; 13] = [32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];

/// The rates MPEG-1 Layer III is written at.
pub const MP3_RATES: [u32; 3] = [32_000, 44_100, 48_000];

/// The placeholders a file name pattern may use.
pub(super) const PLACEHOLDERS: [&str; 6] = ["title", "artist", "album", "track", "target", "ext"];

/// One file to deliver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deliverable {
    /// The target's name, which names its folder under `--out`.
    #[serde(skip)]
    pub name: String,
    /// The file format and its settings.
    pub format: DeliverFormat,
    /// The file's sample rate.
    pub sample_rate: u32,
    /// How samples are reduced to integers.
    pub dither: DitherMode,
    /// The file's name inside its folder, placeholders filled.
    #[serde(skip)]
    pub file_name: String,
    /// The true peak the decoded file is trimmed to stay under, in dBTP: the master's
    /// loudness ceiling, else [`DEFAULT_MP3_CEILING_DBTP`].
    pub ceiling_dbtp: f64,
}

/// A file format and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverFormat {
    /// WAV in 16- or 24-bit integers, or 32-bit float.
    Wav(SampleWidth),
    /// FLAC in 16- or 24-bit integers.
    Flac(SampleWidth),
    /// MP3 at a constant bit rate (kbit/s).
    Mp3Cbr(u32),
    /// MP3 at a variable bit rate, LAME's `-V` quality 0 to 9.
    Mp3Vbr(u8),
}

impl DeliverFormat {
    /// The file name extension, without the dot.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav(_) => "wav",
            Self::Flac(_) => "flac",
            Self::Mp3Cbr(_) | Self::Mp3Vbr(_) => "mp3",
        }
    }
}

/// Bits per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleWidth {
    /// 16-bit integers.
    Int16,
    /// 24-bit integers.
    Int24,
    /// 32-bit float.
    Float32,
}

/// How samples lose precision at the final word-length reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DitherMode {
    /// Rounding to nearest.
    None,
    /// Triangular dither of ±1 LSB.
    Tpdf,
    /// TPDF dither inside Lipshitz's E-weighted noise-shaping loop.
    Shaped,
}

/// The tags of a mix's delivered files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Release {
    /// The song's title (`mix:`).
    pub title: String,
    /// The performing artist.
    pub artist: Option<String>,
    /// The album or single.
    pub album: Option<String>,
    /// The release's barcode, digits only.
    pub catalog: Option<String>,
    /// The release year.
    pub year: Option<u32>,
    /// The ISRC in its 12-character form, without hyphens.
    pub isrc: Option<String>,
    /// The song's position on the release, and the number of songs when known.
    pub track: Option<(u32, Option<u32>)>,
}

/// Resolves the release metadata and the `deliver:` block of `raw`, at `rate` (the mix's
/// rate). Reports every problem through `error(yaml_path, message, help)`.
pub fn lower_delivery(
    raw: &RawMix,
    rate: u32,
    error: &mut dyn FnMut(&str, String, Option<String>),
) -> (Release, Vec<Deliverable>) {
    let release = release(raw, error);
    let naming = Naming::Filled(&release);
    let targets = raw.deliver.as_ref().map_or_else(Vec::new, |targets| {
        let lower = |(name, t): (&String, _)| lower_target(name, t, rate, naming, &mut *error);
        targets.iter().filter_map(lower).collect()
    });
    (release, targets)
}

fn release(raw: &RawMix, error: &mut dyn FnMut(&str, String, Option<String>)) -> Release {
    let isrc = raw.isrc.as_deref().and_then(|text| match normalise_isrc(text) {
        Ok(code) => Some(code),
        Err(message) => {
            error("isrc", message, Some("an ISRC looks like `GB-XYZ-26-00001`".into()));
            None
        }
    });
    let catalog = raw.catalog.as_deref().and_then(|text| match check_barcode(text) {
        Ok(code) => Some(code),
        Err(message) => {
            error("catalog", message, Some("a UPC has 12 digits, an EAN-13 has 13".into()));
            None
        }
    });
    let track = raw.track.as_deref().and_then(|text| match read_track(text) {
        Ok(track) => Some(track),
        Err(message) => {
            error("track", message, Some("write the position as `3` or `3/12`".into()));
            None
        }
    });
    Release {
        title: raw.mix.clone(),
        artist: raw.artist.clone(),
        album: raw.album.clone(),
        catalog,
        year: raw.year,
        isrc,
        track,
    }
}

/// How a target's file is named.
#[derive(Clone, Copy)]
pub(super) enum Naming<'a> {
    /// A mix's one file: the pattern (default `{title}.{ext}`) filled from its tags.
    Filled(&'a Release),
    /// An album's files: the pattern, `default` when none is written, checked to use only
    /// `placeholders` and kept unfilled.
    Pattern { default: &'a str, placeholders: &'a [&'a str] },
}

/// Resolves the target `name` of a `deliver:` block at `deliver.<name>`, whose audio comes
/// at `mix_rate`. Reports every problem through `error(yaml_path, message, help)`, and
/// gives no deliverable when there is one.
pub(super) fn lower_target(
    name: &str,
    raw: &RawTarget,
    mix_rate: u32,
    naming: Naming<'_>,
    error: &mut dyn FnMut(&str, String, Option<String>),
) -> Option<Deliverable> {
    let path = format!("deliver.{name}");
    let mut ok = true;
    let mut fail = |field: &str, message: String, help: Option<String>| {
        let at = if field.is_empty() { path.clone() } else { format!("{path}.{field}") };
        error(&at, message, help);
        ok = false;
    };
    if !is_folder_name(name) {
        fail(
            "",
            format!("`{name}` cannot name a folder"),
            Some("use letters, digits, `-`, `_` and `.`, not starting with `.`".into()),
        );
    }
    let sample_rate = raw.sample_rate.map_or(mix_rate, |r| r.0);
    let is_mp3 = raw.format == RawFormat::Mp3;
    let width = match raw.bit_depth.unwrap_or(BitDepth::Int24) {
        BitDepth::Int16 => SampleWidth::Int16,
        BitDepth::Int24 => SampleWidth::Int24,
        BitDepth::Float32 => SampleWidth::Float32,
    };
    if is_mp3 && raw.bit_depth.is_some() {
        fail("bit_depth", "an MP3 has no bit depth".into(), Some("remove `bit_depth`".into()));
    }
    if !is_mp3 && (raw.bitrate.is_some() || raw.vbr.is_some()) {
        let field = if raw.bitrate.is_some() { "bitrate" } else { "vbr" };
        fail(field, format!("`{field}` applies to MP3 targets only"), None);
    }
    let format = match raw.format {
        RawFormat::Wav => DeliverFormat::Wav(width),
        RawFormat::Flac => {
            if width == SampleWidth::Float32 {
                fail(
                    "bit_depth",
                    "FLAC holds integers: 16 or 24 bits".into(),
                    Some("use `bit_depth: 24`, or `format: wav` for 32-bit float".into()),
                );
            }
            DeliverFormat::Flac(width)
        }
        RawFormat::Mp3 => mp3_format(raw, &mut fail),
    };
    let integer = matches!(
        format,
        DeliverFormat::Wav(SampleWidth::Int16 | SampleWidth::Int24)
            | DeliverFormat::Flac(SampleWidth::Int16 | SampleWidth::Int24)
    );
    if raw.dither.is_some() && !integer {
        let what = if is_mp3 { "an MP3" } else { "a 32-bit float file" };
        fail(
            "dither",
            format!("{what} keeps every sample's precision, so there is nothing to dither"),
            Some("remove `dither`".into()),
        );
    }
    let dither = match raw.dither {
        _ if !integer => DitherMode::None,
        None | Some(RawDither::Tpdf) => DitherMode::Tpdf,
        Some(RawDither::Shaped) => DitherMode::Shaped,
        Some(RawDither::None) => DitherMode::None,
    };
    if is_mp3 && !MP3_RATES.contains(&sample_rate) {
        let field = if raw.sample_rate.is_some() { "sample_rate" } else { "format" };
        fail(
            field,
            format!("an MP3 is written at 32, 44.1 or 48 kHz, not {sample_rate} Hz"),
            Some("set `sample_rate: 48 kHz` or `sample_rate: 44.1 kHz` on the target".into()),
        );
    }
    let file_name = match naming {
        Naming::Filled(release) => {
            let pattern = raw.name.as_deref().unwrap_or("{title}.{ext}");
            file_name(pattern, name, format.extension(), release)
        }
        Naming::Pattern { default, placeholders } => {
            let pattern = raw.name.as_deref().unwrap_or(default);
            check_pattern(pattern, placeholders).map(|()| pattern.to_owned())
        }
    };
    let file_name = match file_name {
        Ok(file_name) => file_name,
        Err((message, help)) => {
            fail("name", message, help);
            String::new()
        }
    };
    ok.then(|| Deliverable {
        name: name.to_string(),
        format,
        sample_rate,
        dither,
        file_name,
        ceiling_dbtp: DEFAULT_MP3_CEILING_DBTP,
    })
}

fn mp3_format(
    raw: &RawTarget,
    fail: &mut dyn FnMut(&str, String, Option<String>),
) -> DeliverFormat {
    match (raw.bitrate, raw.vbr) {
        (Some(_), Some(_)) => {
            fail(
                "vbr",
                "an MP3 has either a constant `bitrate` or a `vbr` quality, not both".into(),
                None,
            );
            DeliverFormat::Mp3Cbr(320)
        }
        (_, Some(level)) => {
            if level > 9 {
                fail("vbr", format!("`vbr` runs from 0 (best) to 9, not {level}"), None);
            }
            DeliverFormat::Mp3Vbr(level)
        }
        (bitrate, None) => {
            let kbps = bitrate.map_or(320, |b| b.0);
            if !MP3_BITRATES.contains(&kbps) {
                let nearest = MP3_BITRATES.iter().min_by_key(|&&b| b.abs_diff(kbps));
                fail(
                    "bitrate",
                    format!("{kbps} kbps is not an MP3 bit rate"),
                    nearest.map(|b| format!("the nearest is `{b} kbps`")),
                );
            }
            DeliverFormat::Mp3Cbr(kbps)
        }
    }
}

/// Fills `pattern`'s placeholders. A value's characters that cannot appear in a file name
/// on common systems become `_`.
///
/// # Errors
/// The message and help for a pattern that names a folder, an unknown placeholder or an
/// unset value, or that comes out empty.
pub fn file_name(
    pattern: &str,
    target: &str,
    extension: &str,
    release: &Release,
) -> Result<String, (String, Option<String>)> {
    if pattern.contains(['/', '\\']) {
        return Err((
            format!("the file name `{pattern}` holds a folder separator"),
            Some("each target writes into its own folder; name only the file".into()),
        ));
    }
    let track = release.track.map(|(n, _)| n);
    let mut values: BTreeMap<&str, Option<String>> = BTreeMap::new();
    values.insert("title", Some(release.title.clone()));
    values.insert("artist", release.artist.clone());
    values.insert("album", release.album.clone());
    values.insert("track", track.map(|n| n.to_string()));
    values.insert("target", Some(target.to_string()));
    values.insert("ext", Some(extension.to_string()));
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err((format!("`{pattern}` opens a `{{` it does not close"), None));
        };
        let field = &rest[open + 1..open + close];
        let (key, width) = match field.split_once(':') {
            Some((key, width)) => (key, Some(width)),
            None => (field, None),
        };
        let Some(value) = values.get(key) else {
            let help = did_you_mean(key, PLACEHOLDERS).map_or_else(
                || PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", "),
                |s| format!("did you mean `{{{s}}}`?"),
            );
            let help = Some(help);
            return Err((format!("unknown placeholder `{{{field}}}` in the file name"), help));
        };
        let Some(value) = value else {
            return Err((
                format!("the file name uses `{{{key}}}`, which the mix does not set"),
                Some(format!("set `{key}:` at the top of the mix, or leave it out of `name:`")),
            ));
        };
        let value = match (key, width) {
            ("track", Some(width)) => {
                let digits: usize = width.trim_start_matches('0').parse().unwrap_or(0);
                let number: u32 = value.parse().unwrap_or(0);
                format!("{number:0digits$}")
            }
            (_, Some(_)) => {
                return Err((format!("only `{{track}}` takes a width, not `{{{field}}}`"), None));
            }
            _ => value.clone(),
        };
        out.extend(value.chars().map(|c| if is_unsafe_in_file_name(c) { '_' } else { c }));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    if out.trim().is_empty() || out == "." || out == ".." {
        return Err((format!("the file name `{pattern}` comes out empty"), None));
    }
    Ok(out)
}

/// Checks that `pattern` fills, from `placeholders` only, to a file name: the values it is
/// tried with stand in for any song's.
fn check_pattern(pattern: &str, placeholders: &[&str]) -> Result<(), (String, Option<String>)> {
    let release = Release {
        title: "title".into(),
        artist: Some("artist".into()),
        album: Some("album".into()),
        track: Some((1, None)),
        ..Release::default()
    };
    file_name(pattern, "target", "ext", &release)?;
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let field = &rest[open + 1..close];
        let key = field.split_once(':').map_or(field, |(key, _)| key);
        if !placeholders.contains(&key) {
            let known = placeholders.iter().map(|p| format!("`{{{p}}}`")).collect::<Vec<_>>();
            return Err((
                format!("`{{{key}}}` names one song, but this file holds them all"),
                Some(format!("a file of the whole album is named from {}", known.join(", "))),
            ));
        }
        rest = &rest[(close + 1).min(rest.len())..];
    }
    Ok(())
}

fn is_unsafe_in_file_name(c: char) -> bool {
    matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control()
}

fn is_folder_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An ISRC (ISO 3901) in its 12-character form: a country code of two letters, a
/// registrant of three letters or digits, two digits of year and five of designation.
pub(super) fn normalise_isrc(text: &str) -> Result<String, String> {
    let code: String = text.chars().filter(|&c| c != '-').collect::<String>().to_uppercase();
    let b = code.as_bytes();
    let valid = b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..5].iter().all(u8::is_ascii_alphanumeric)
        && b[5..].iter().all(u8::is_ascii_digit);
    if valid { Ok(code) } else { Err(format!("`{text}` is not an ISRC")) }
}

/// A UPC-A (12 digits) or EAN-13 (13 digits) barcode whose check digit is right.
pub(super) fn check_barcode(text: &str) -> Result<String, String> {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != text.len() || !(digits.len() == 12 || digits.len() == 13) {
        return Err(format!("`{text}` is not a UPC or EAN-13 barcode"));
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    // Weights 3, 1, 3, … from the digit next to the check digit leftwards.
    let sum: u32 =
        body.iter().rev().enumerate().map(|(i, d)| if i % 2 == 0 { 3 * d } else { *d }).sum();
    let expected = (10 - sum % 10) % 10;
    if check[0] == expected {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` has check digit {}, but its digits give {expected}", check[0]))
    }
}

fn read_track(text: &str) -> Result<(u32, Option<u32>), String> {
    let bad = || format!("`{text}` is not a track position");
    let (n, total) = match text.split_once('/') {
        Some((n, total)) => (n, Some(total)),
        None => (text, None),
    };
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let total: Option<u32> = total.map(|t| t.trim().parse()).transpose().map_err(|_| bad())?;
    if n == 0 || total.is_some_and(|t| n > t) {
        return Err(format!("track {text} is outside its release"));
    }
    Ok((n, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release {
            title: "Low/Tide: Live?".into(),
            track: Some((3, Some(12))),
            ..Release::default()
        }
    }

    #[test]
    fn isrcs_are_kept_in_their_twelve_character_form() {
        assert_eq!(normalise_isrc("GB-XYZ-26-00001").unwrap(), "GBXYZ2600001");
        assert_eq!(normalise_isrc("gbxyz2600001").unwrap(), "GBXYZ2600001");
        assert!(normalise_isrc("GB-XYZ-26-0001").is_err());
        assert!(normalise_isrc("12-XYZ-26-00001").is_err());
    }

    #[test]
    fn barcodes_need_their_check_digit() {
        assert!(check_barcode("5012345678900").is_ok(), "the contract album's EAN-13");
        assert!(check_barcode("036000291452").is_ok(), "a UPC-A");
        let wrong = check_barcode("5012345678901").unwrap_err();
        assert!(wrong.contains("check digit 1") && wrong.contains("give 0"), "{wrong}");
        assert!(check_barcode("50123456789").is_err());
    }

    #[test]
    fn track_positions_read_as_n_or_n_of_total() {
        assert_eq!(read_track("3/12"), Ok((3, Some(12))));
        assert_eq!(read_track("7"), Ok((7, None)));
        assert!(read_track("13/12").is_err());
        assert!(read_track("0").is_err());
    }

    #[test]
    fn file_names_fill_placeholders_and_make_values_safe() {
        let name = file_name("{track:02} {title}.{ext}", "hires", "flac", &release());
        assert_eq!(name.unwrap(), "03 Low_Tide_ Live_.flac");
        let name = file_name("{target}-{title}.{ext}", "cd", "wav", &release());
        assert_eq!(name.unwrap(), "cd-Low_Tide_ Live_.wav");
    }

    #[test]
    fn a_file_name_with_an_unknown_or_unset_placeholder_is_refused() {
        let (message, help) = file_name("{titel}.{ext}", "cd", "wav", &release()).unwrap_err();
        assert!(message.contains("{titel}"), "{message}");
        assert_eq!(help.as_deref(), Some("did you mean `{title}`?"));
        let (message, _) = file_name("{artist}.{ext}", "cd", "wav", &release()).unwrap_err();
        assert!(message.contains("does not set"), "{message}");
        assert!(file_name("a/{title}.{ext}", "cd", "wav", &release()).is_err());
    }
}
