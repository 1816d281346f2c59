//! The CUE sheet beside an album file: a [`CueSheet`] value and the text it writes, in the
//! CDRWIN format that burning and DDP tools read.
//!
//! What the text holds, in this order: `REM DATE` (the release year), `CATALOG` (the
//! UPC/EAN), the album's `PERFORMER` and `TITLE`, then `FILE "name" WAVE` and per track
//! `TRACK nn AUDIO`, `TITLE`, `PERFORMER`, `ISRC`, `INDEX 00` where a gap precedes the song
//! and `INDEX 01` where it starts, each time in `MM:SS:FF` CD frames. Nothing else: no
//! comment, no date but the year given, so the same album always writes the same bytes.
//!
//! Choices the format leaves open:
//! - Track 1's `INDEX 01` is `00:00:00`, the file's first sample. The Red Book's 2 s pregap
//!   before track 1 is the burning or DDP tool's to add, as CUE sheets expect; the file
//!   does not hold it.
//! - The file type is `WAVE` for a FLAC file as for a WAV. The CDRWIN format names only
//!   `BINARY`, `MOTOROLA`, `AIFF`, `WAVE` and `MP3`; `WAVE` stands for decoded PCM, and the
//!   tools that image discs to FLAC write it so. libcue (cuetools' `cueprint` and
//!   `cuebreakpoints`) rejects a `FLAC` type as a syntax error and then finds no file for
//!   any track.
//! - Lines end in CRLF, the line ending of the CDRWIN format and of the Windows tools that
//!   write and read most CUE sheets; libcue reads a carriage return as white space. The
//!   text is UTF-8, without a byte-order mark (which libcue reads as a bad character).
//! - A quoted value cannot hold a `"`: no CUE reader unescapes one (libcue keeps `\"` as two
//!   characters). A `"` is written as `'`, a backslash that would stand before the closing
//!   quote (which libcue reads as an escaped quote, running the value into the next line)
//!   as `/`, control characters that are white space as a space, and others are left out.
//!   Audio file names never hold a `"` (their placeholders replace it), so `FILE` still
//!   names the file. Tags in the audio files keep the titles as written.
//! - Catalog and ISRC are written unquoted, as the format wants. They arrive validated; any
//!   character but a letter or digit is left out, so the sheet always parses.
//!
//! The sheet assumes the Red Book check passed ([`super::red_book::check`]): at most 99
//! tracks, none shorter than 4 s, so every time fits `MM:SS:FF` and increases.

use crate::ir::DeliverFormat;

use super::cd_time::msf;

/// The line ending of every line of a sheet.
pub const LINE_ENDING: &str = "\r\n";

/// A CUE sheet for one album file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CueSheet {
    /// The album's title.
    pub title: String,
    /// The album's artist.
    pub performer: String,
    /// The release's UPC/EAN, digits only.
    pub catalog: Option<String>,
    /// The release year.
    pub year: Option<u32>,
    /// The audio file's name, beside the sheet.
    pub file_name: String,
    /// The audio file's type.
    pub file_type: CueFileType,
    /// The tracks in order: track `n` is `tracks[n - 1]`.
    pub tracks: Vec<CueTrack>,
}

/// One track of a [`CueSheet`]; its number is its position, from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CueTrack {
    /// The song's title.
    pub title: String,
    /// The song's artist.
    pub performer: String,
    /// The ISRC in its 12-character form, without hyphens.
    pub isrc: Option<String>,
    /// Where the gap before the song starts, in CD frames from the file's start (`INDEX 00`,
    /// the pause a player counts down). Written only when it lies before `start`.
    pub pregap_start: Option<u64>,
    /// Where the song starts, in CD frames from the file's start (`INDEX 01`).
    pub start: u64,
}

/// The type a `FILE` line gives its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CueFileType {
    /// PCM audio, in a WAV or a FLAC file.
    Wave,
    /// An MP3 file.
    Mp3,
}

impl CueFileType {
    /// The type of a file delivered in `format`.
    #[must_use]
    pub fn of(format: DeliverFormat) -> Self {
        match format {
            DeliverFormat::Wav(_) | DeliverFormat::Flac(_) => Self::Wave,
            DeliverFormat::Mp3Cbr(_) | DeliverFormat::Mp3Vbr(_) => Self::Mp3,
        }
    }

    /// The keyword the `FILE` line writes.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Wave => "WAVE",
            Self::Mp3 => "MP3",
        }
    }
}

impl CueSheet {
    /// The sheet's text, every line ending in [`LINE_ENDING`].
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut lines = Vec::new();
        if let Some(year) = self.year {
            lines.push(format!("REM DATE {year}"));
        }
        if let Some(catalog) = &self.catalog {
            lines.push(format!("CATALOG {}", code(catalog)));
        }
        lines.push(format!("PERFORMER {}", quoted(&self.performer)));
        lines.push(format!("TITLE {}", quoted(&self.title)));
        lines.push(format!("FILE {} {}", quoted(&self.file_name), self.file_type.keyword()));
        for (index, track) in self.tracks.iter().enumerate() {
            lines.push(format!("  TRACK {:02} AUDIO", index + 1));
            lines.push(format!("    TITLE {}", quoted(&track.title)));
            lines.push(format!("    PERFORMER {}", quoted(&track.performer)));
            if let Some(isrc) = &track.isrc {
                lines.push(format!("    ISRC {}", code(isrc)));
            }
            if let Some(pregap) = track.pregap_start.filter(|&p| p < track.start) {
                lines.push(format!("    INDEX 00 {}", msf(pregap)));
            }
            lines.push(format!("    INDEX 01 {}", msf(track.start)));
        }
        let mut text = lines.join(LINE_ENDING);
        text.push_str(LINE_ENDING);
        text
    }
}

/// `text` in double quotes, made safe for every CUE reader (see the module doc).
fn quoted(text: &str) -> String {
    let mut value: String = text
        .chars()
        .filter_map(|c| match c {
            '"' => Some('\''),
            c if c.is_control() => c.is_whitespace().then_some(' '),
            c => Some(c),
        })
        .collect();
    let kept = value.trim_end_matches('\\').len();
    let slashes = value.len() - kept;
    value.truncate(kept);
    value.extend(std::iter::repeat_n('/', slashes));
    format!("\"{value}\"")
}

/// A catalog number or ISRC, letters and digits only.
fn code(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::album::cd_time::{Rounding, parse_msf, samples_to_cd_frames};
    use crate::ir::SampleWidth;
    use proptest::prelude::*;

    const REFERENCE_TITLES: [&str; 12] = [
        "First Light",
        "Tidewater",
        "Salt Road",
        "Paper Lanterns",
        "Undertow",
        "Glasshouse",
        "Northbound",
        "Quiet Engines",
        "Harbour Lights",
        "Slow Weather",
        "Driftwood",
        "Last Ferry",
    ];

    /// Song starts and the gaps' starts before them, in tenths of a second, from the
    /// reference album's lengths; song 7 crossfades into song 6, so it has no gap.
    const REFERENCE_STARTS: [(Option<u64>, u64); 12] = [
        (None, 0),
        (Some(2124), 2144),
        (Some(4622), 4642),
        (Some(6504), 6524),
        (Some(9210), 9230),
        (Some(11540), 11560),
        (None, 14494),
        (Some(16529), 16549),
        (Some(19141), 19161),
        (Some(21408), 21428),
        (Some(24241), 24261),
        (Some(26207), 26227),
    ];

    fn frames(tenths: u64) -> u64 {
        samples_to_cd_frames(tenths * 4_410, 44_100, Rounding::Nearest)
    }

    fn reference_sheet() -> CueSheet {
        CueSheet {
            title: "Reference Album".into(),
            performer: "The Example Ensemble".into(),
            catalog: Some("5012345678900".into()),
            year: Some(2026),
            file_name: "Reference Album.wav".into(),
            file_type: CueFileType::of(DeliverFormat::Wav(SampleWidth::Int16)),
            tracks: REFERENCE_TITLES
                .iter()
                .zip(REFERENCE_STARTS)
                .enumerate()
                .map(|(i, (title, (gap, start)))| CueTrack {
                    title: (*title).into(),
                    performer: "The Example Ensemble".into(),
                    isrc: Some(format!("GBXYZ26{:05}", i + 1)),
                    pregap_start: gap.map(frames),
                    start: frames(start),
                })
                .collect(),
        }
    }

    #[test]
    fn the_reference_sheet_opens_as_the_reference_album_shows() {
        let text = reference_sheet().to_text();
        let expected = [
            "REM DATE 2026",
            "CATALOG 5012345678900",
            "PERFORMER \"The Example Ensemble\"",
            "TITLE \"Reference Album\"",
            "FILE \"Reference Album.wav\" WAVE",
            "  TRACK 01 AUDIO",
            "    TITLE \"First Light\"",
            "    PERFORMER \"The Example Ensemble\"",
            "    ISRC GBXYZ2600001",
            "    INDEX 01 00:00:00",
            "  TRACK 02 AUDIO",
            "    TITLE \"Tidewater\"",
            "    PERFORMER \"The Example Ensemble\"",
            "    ISRC GBXYZ2600002",
            "    INDEX 00 03:32:30",
            "    INDEX 01 03:34:30",
            "  TRACK 03 AUDIO",
        ]
        .map(|line| format!("{line}\r\n"))
        .concat();
        assert!(text.starts_with(&expected), "{text}");
    }

    #[test]
    fn the_reference_sheet_has_the_reference_index_times_and_gaps_before_all_but_two() {
        let text = reference_sheet().to_text();
        let index = |kind: &str| -> Vec<&str> {
            text.lines().filter_map(|l| l.trim().strip_prefix(kind)).map(str::trim).collect()
        };
        assert_eq!(
            index("INDEX 01 "),
            [
                "00:00:00", "03:34:30", "07:44:15", "10:52:30", "15:23:00", "19:16:00", "24:09:30",
                "27:34:68", "31:56:08", "35:42:60", "40:26:08", "43:42:53"
            ]
        );
        // Each gap starts 2 s (150 frames) before its song, except where half frames round.
        assert_eq!(index("INDEX 00 ").len(), 10);
        assert!(text.contains("  TRACK 07 AUDIO\r\n    TITLE \"Northbound\"\r\n    PERFORMER \"The Example Ensemble\"\r\n    ISRC GBXYZ2600007\r\n    INDEX 01 24:09:30\r\n"));
        assert!(text.contains("    INDEX 00 27:32:68\r\n    INDEX 01 27:34:68\r\n"));
        assert!(text.ends_with("    INDEX 01 43:42:53\r\n"));
        assert_eq!(text.matches("\r\n").count(), text.matches('\n').count());
        assert_eq!(text.lines().count(), 5 + 12 * 5 + 10);
    }

    #[test]
    fn a_flac_album_file_is_typed_wave_and_an_mp3_mp3() {
        assert_eq!(CueFileType::of(DeliverFormat::Flac(SampleWidth::Int24)), CueFileType::Wave);
        assert_eq!(CueFileType::of(DeliverFormat::Mp3Cbr(320)), CueFileType::Mp3);
        assert_eq!(CueFileType::of(DeliverFormat::Mp3Vbr(2)), CueFileType::Mp3);
        let mut sheet = reference_sheet();
        sheet.file_name = "Reference Album.mp3".into();
        sheet.file_type = CueFileType::of(DeliverFormat::Mp3Cbr(320));
        assert!(sheet.to_text().contains("\r\nFILE \"Reference Album.mp3\" MP3\r\n"));
    }

    #[test]
    fn unset_year_catalog_and_isrc_leave_their_lines_out() {
        let mut sheet = reference_sheet();
        sheet.year = None;
        sheet.catalog = None;
        sheet.tracks.truncate(1);
        sheet.tracks[0].isrc = None;
        let expected = [
            "PERFORMER \"The Example Ensemble\"",
            "TITLE \"Reference Album\"",
            "FILE \"Reference Album.wav\" WAVE",
            "  TRACK 01 AUDIO",
            "    TITLE \"First Light\"",
            "    PERFORMER \"The Example Ensemble\"",
            "    INDEX 01 00:00:00",
        ]
        .map(|line| format!("{line}\r\n"))
        .concat();
        assert_eq!(sheet.to_text(), expected);
    }

    #[test]
    fn a_gap_that_rounds_to_nothing_writes_no_index_00() {
        let mut sheet = reference_sheet();
        sheet.tracks[1].pregap_start = Some(sheet.tracks[1].start);
        let text = sheet.to_text();
        assert!(text.contains("    ISRC GBXYZ2600002\r\n    INDEX 01 03:34:30\r\n"), "{text}");
    }

    #[test]
    fn quotes_backslashes_and_control_characters_cannot_break_a_line() {
        let mut sheet = reference_sheet();
        sheet.title = "Say \"Hi\"\tagain\u{7}".into();
        sheet.tracks[0].title = "Back\\slash\\\\".into();
        sheet.tracks[0].performer = "Line\nbreak\r\u{0}".into();
        sheet.tracks[1].title = "Don't \\ stop — Été".into();
        sheet.catalog = Some("501234 5678900\"".into());
        let text = sheet.to_text();
        assert!(text.contains("\r\nTITLE \"Say 'Hi' again\"\r\n"), "{text}");
        assert!(text.contains("    TITLE \"Back\\slash//\"\r\n"), "{text}");
        assert!(text.contains("    PERFORMER \"Line break \"\r\n"), "{text}");
        assert!(text.contains("    TITLE \"Don't \\ stop — Été\"\r\n"), "{text}");
        assert!(text.contains("\r\nCATALOG 5012345678900\r\n"), "{text}");
        assert_eq!(text.matches('\n').count(), 5 + 12 * 5 + 10);
    }

    #[test]
    fn the_reference_sheet_reads_back_through_cuetools_where_installed() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let path = dir.path().join("Reference Album.cue");
        std::fs::write(&path, reference_sheet().to_text()).expect("the sheet is written");
        let run = |tool: &str, args: &[&str]| {
            std::process::Command::new(tool).args(args).arg(&path).output()
        };
        let Ok(print) = run("cueprint", &["-d", "%N|%T|%P\n", "-t", "%n|%t|%p|%i\n"]) else {
            println!("skipped: cuetools is not installed");
            return;
        };
        assert!(print.status.success() && print.stderr.is_empty(), "{print:?}");
        let printed = String::from_utf8_lossy(&print.stdout);
        let mut lines = printed.lines();
        assert_eq!(lines.next(), Some("12|Reference Album|The Example Ensemble"));
        assert_eq!(lines.next(), Some("1|First Light|The Example Ensemble|GBXYZ2600001"));
        assert_eq!(lines.last(), Some("12|Last Ferry|The Example Ensemble|GBXYZ2600012"));
        let points = run("cuebreakpoints", &[]).expect("cuebreakpoints comes with cueprint");
        assert!(points.status.success() && points.stderr.is_empty(), "{points:?}");
        let points = String::from_utf8_lossy(&points.stdout);
        assert_eq!(points.lines().next(), Some("3:34.30"));
        assert_eq!(points.lines().count(), 11);
    }

    proptest! {
        #[test]
        fn index_times_increase_strictly_for_tracks_of_four_seconds_or_more(
            songs in prop::collection::vec((300_u64..20_000, 0_u64..1_000), 1..99),
        ) {
            let (mut start, mut previous_length) = (0, 0);
            let tracks = songs
                .iter()
                .enumerate()
                .map(|(i, &(length, gap))| {
                    let track = CueTrack {
                        title: format!("Song {i}"),
                        performer: "Artist".into(),
                        isrc: None,
                        pregap_start: (i > 0).then(|| start - gap.min(previous_length - 1)),
                        start,
                    };
                    (start, previous_length) = (start + length, length);
                    track
                })
                .collect();
            let mut sheet = reference_sheet();
            sheet.tracks = tracks;
            let text = sheet.to_text();
            let times: Vec<u64> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("INDEX "))
                .map(|rest| parse_msf(&rest[3..]).expect("an MM:SS:FF time"))
                .collect();
            prop_assert!(times.len() >= songs.len());
            prop_assert!(times.windows(2).all(|w| w[0] < w[1]), "{:?}", times);
        }

        #[test]
        fn any_title_stays_on_its_own_line_inside_one_pair_of_quotes(
            title in r#"(?s)[\\"\x00-\x1f\x7f aé]{0,20}|(?s).{0,40}"#,
        ) {
            let mut sheet = reference_sheet();
            sheet.tracks[0].title = title;
            let text = sheet.to_text();
            let line = text.lines().nth(6).expect("track 1's title line");
            prop_assert!(line.starts_with("    TITLE \"") && line.ends_with('"'));
            prop_assert_eq!(line.matches('"').count(), 2);
            prop_assert!(!line.ends_with("\\\""));
            prop_assert!(!line.chars().any(char::is_control));
        }
    }
}
