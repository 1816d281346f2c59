//! An album render's report: the figures of every song and of the whole album, verdicts
//! against the album's loudness target and true-peak ceiling and against each built-in
//! delivery profile, and every delivered file's true peak. It is written as `report.json`
//! ([`AlbumReport::to_json`]), printed as a short table ([`AlbumReport::table`]), and its
//! misses fail a CI build ([`AlbumReport::failures`]).
//!
//! The render measures; this module only rounds, judges and writes. Every figure is rounded
//! to 0.01 (dB, LU or LUFS), and every verdict is taken on the rounded figure, so a report
//! never shows one number that both passes and fails. A silent song or album has no
//! loudness and no peaks: `null` in JSON.
//!
//! The verdicts:
//!
//! | entry | `song` mode | `album` mode | `loudest` mode |
//! |---|---|---|---|
//! | a song's `target` | within ±0.3 LU | not judged (`null`) | at most 0.3 LU over, and the loudest song within ±0.3 LU |
//! | the album's `target` | every song passes | within ±0.3 LU | every song passes |
//!
//! With no loudness target, nothing is judged on loudness. `ceiling` passes when the true
//! peak is at or under the ceiling, for every song, the album and every file (an MP3
//! after its headroom trim). A profile passes when the integrated loudness lies within
//! ±1 LU of the profile's target (a profile without one, `cd`, asks none) and the true
//! peak is at or under the profile's ceiling: a platform then plays the song within 1 dB
//! of as delivered, and no decoder clips it. Profiles inform; they never fail a build.

use std::fmt::Write as _;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::ir::{AlbumLoudness, LoudnessMode, Normalisation};
use crate::project::{Profile, RawLoudness};

/// How far from the album's target a judged loudness may lie, in LU.
pub const TARGET_TOLERANCE_LU: f64 = 0.3;

/// How far from a profile's target a loudness may lie to meet it, in LU.
pub const PROFILE_TOLERANCE_LU: f64 = 1.0;

/// What the render measured of a song or of the whole album, before rounding.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Measured {
    /// Integrated loudness in LUFS; `None` when silent.
    pub integrated: Option<f64>,
    /// Loudness range in LU.
    pub loudness_range: Option<f64>,
    /// Sample peak in dBFS.
    pub sample_peak: Option<f64>,
    /// True peak in dBTP.
    pub true_peak: Option<f64>,
    /// The gain applied before the limiter, in dB; `None` for the album when each song has
    /// a gain of its own (`song` mode).
    pub gain: Option<f64>,
    /// The limiter's gain reduction.
    pub limiter_reduction: LimiterReduction,
}

/// A limiter's gain reduction over a span, in dB (0 when it never acted).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LimiterReduction {
    /// The most reduction at any sample.
    pub max: f64,
    /// The reduction averaged over the span.
    pub mean: f64,
}

/// A song's title and what was measured of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredSong {
    /// The song's title.
    pub title: String,
    /// Its figures.
    pub measured: Measured,
}

/// A delivered file and its decoded true peak.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredFile {
    /// The target's name.
    pub target: String,
    /// The file's path under the output folder, such as `cd/Low Tide.wav`.
    pub file: String,
    /// The file's true peak as decoded, in dBTP.
    pub true_peak: Option<f64>,
    /// The gain an MP3 was lowered by to keep its decoded peaks under the ceiling, in dB.
    pub headroom_trim: Option<f64>,
    /// The target's true-peak ceiling, in dBTP.
    pub ceiling: f64,
}

/// The report of one album render, as `report.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlbumReport {
    /// Which loudness the target applies to.
    pub mode: LoudnessMode,
    /// The album's loudness target in LUFS, if it has one.
    pub target_lufs: Option<f64>,
    /// The album's true-peak ceiling in dBTP.
    pub ceiling_dbtp: f64,
    /// Each song, in album order.
    pub songs: Vec<SongReport>,
    /// The whole album.
    pub album: Figures,
    /// Every delivered file, in the order given.
    pub files: Vec<FileReport>,
}

/// One song's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SongReport {
    /// The track number, from 1.
    pub track: usize,
    /// The song's title.
    pub title: String,
    /// Its figures and verdicts.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The figures and verdicts of a song or of the album, rounded to 0.01.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Integrated loudness in LUFS.
    pub integrated: Option<f64>,
    /// Loudness range in LU.
    pub loudness_range: Option<f64>,
    /// Sample peak in dBFS.
    pub sample_peak: Option<f64>,
    /// True peak in dBTP.
    pub true_peak: Option<f64>,
    /// Peak-to-loudness ratio: true peak minus integrated loudness, in dB.
    pub plr: Option<f64>,
    /// The gain applied, in dB.
    pub gain: Option<f64>,
    /// The limiter's gain reduction, in dB.
    pub limiter_reduction: LimiterReduction,
    /// The verdict against the album's loudness target, where the mode judges this entry.
    pub target: Option<TargetVerdict>,
    /// The verdict against the album's true-peak ceiling.
    pub ceiling: CeilingVerdict,
    /// The verdict against each built-in delivery profile.
    pub profiles: ProfileVerdicts,
}

/// A loudness verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetVerdict {
    /// The target, in LUFS.
    pub lufs: f64,
    /// Whether the loudness meets it.
    pub pass: bool,
}

/// A true-peak verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CeilingVerdict {
    /// The ceiling, in dBTP.
    pub dbtp: f64,
    /// Whether the true peak is at or under it.
    pub pass: bool,
}

/// The verdicts against every built-in profile, in the order profiles are documented;
/// written as a JSON object keyed by profile name.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileVerdicts(pub Vec<ProfileVerdict>);

/// Whether an entry's figures meet one delivery profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProfileVerdict {
    /// The profile's name, as a project file writes it.
    #[serde(skip)]
    pub profile: &'static str,
    /// The profile's loudness target in LUFS, if it has one.
    pub lufs: Option<f64>,
    /// The profile's true-peak ceiling in dBTP.
    pub dbtp: f64,
    /// Whether the figures meet it.
    pub pass: bool,
}

impl Serialize for ProfileVerdicts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for verdict in &self.0 {
            map.serialize_entry(verdict.profile, verdict)?;
        }
        map.end()
    }
}

/// One delivered file's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    /// The target's name.
    pub target: String,
    /// The file's path under the output folder.
    pub file: String,
    /// The file's decoded true peak, in dBTP.
    pub true_peak: Option<f64>,
    /// An MP3's headroom trim, in dB.
    pub headroom_trim: Option<f64>,
    /// The verdict against the target's ceiling.
    pub ceiling: CeilingVerdict,
}

impl AlbumReport {
    /// Rounds and judges what the render measured: the album's songs in order, the whole
    /// album, and the delivered files.
    #[must_use]
    pub fn new(
        loudness: &AlbumLoudness,
        songs: &[MeasuredSong],
        album: &Measured,
        files: &[MeasuredFile],
    ) -> Self {
        let target = loudness.normalisation.target_lufs.map(round);
        let ceiling = round(loudness.normalisation.ceiling_dbtp);
        let mut songs: Vec<SongReport> = songs
            .iter()
            .enumerate()
            .map(|(index, song)| SongReport {
                track: index + 1,
                title: song.title.clone(),
                figures: Figures::judge(&song.measured, ceiling),
            })
            .collect();
        let mut album = Figures::judge(album, ceiling);
        if let Some(target) = target {
            judge_loudness(loudness.mode, target, &mut songs, &mut album);
        }
        let files = files
            .iter()
            .map(|file| {
                let true_peak = finite(file.true_peak);
                FileReport {
                    target: file.target.clone(),
                    file: file.file.clone(),
                    true_peak,
                    headroom_trim: finite(file.headroom_trim),
                    ceiling: ceiling_verdict(true_peak, round(file.ceiling)),
                }
            })
            .collect();
        Self {
            mode: loudness.mode,
            target_lufs: target,
            ceiling_dbtp: ceiling,
            songs,
            album,
            files,
        }
    }

    /// The report as pretty JSON, ending in a newline; the same report always writes the
    /// same bytes.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut json =
            serde_json::to_string_pretty(self).expect("a report is numbers, strings and maps");
        json.push('\n');
        json
    }

    /// A short aligned table: one line per song (number, title, LUFS, LRA, dBTP, gain and
    /// verdict), then the album's.
    #[must_use]
    pub fn table(&self) -> String {
        let mut rows =
            vec![["#", "title", "LUFS", "LRA", "dBTP", "gain", "verdict"].map(String::from)];
        for song in &self.songs {
            rows.push(row(song.track.to_string(), &song.title, &song.figures));
        }
        rows.push(row(String::new(), "album", &self.album));
        let width = |column: usize| rows.iter().map(|r| r[column].chars().count()).max();
        let widths: Vec<usize> = (0..7).map(|c| width(c).unwrap_or(0)).collect();
        let mut table = String::new();
        for row in &rows {
            let mut line =
                format!("{:>w0$}  {:<w1$}", row[0], row[1], w0 = widths[0], w1 = widths[1]);
            for (cell, width) in row[2..6].iter().zip(&widths[2..6]) {
                let _ = write!(line, "  {cell:>width$}");
            }
            let _ = writeln!(line, "  {}", row[6]);
            table.push_str(&line);
        }
        table
    }

    /// Every missed target and ceiling, one sentence each with its figures, for CI: the
    /// render fails when any is returned. Loudness misses are named on the entries the
    /// mode judges: the songs in `song` and `loudest` mode, the album in `album` mode.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let loudest = loudest_song(&self.songs);
        let mode = match self.mode {
            LoudnessMode::Song => "song",
            LoudnessMode::Album => "album",
            LoudnessMode::Loudest => "loudest-song",
        };
        for (index, song) in self.songs.iter().enumerate() {
            let mut who = format!("track {} \"{}\"", song.track, song.title);
            if self.mode == LoudnessMode::Loudest && loudest == Some(index) {
                who.push_str(", the loudest song,");
            }
            if self.mode != LoudnessMode::Album {
                failures.extend(loudness_failure(&who, &song.figures, mode));
            }
            failures.extend(ceiling_failure(
                &who,
                song.figures.true_peak,
                None,
                song.figures.ceiling,
            ));
        }
        if self.mode == LoudnessMode::Album {
            failures.extend(loudness_failure("the album", &self.album, mode));
        }
        failures.extend(ceiling_failure(
            "the album",
            self.album.true_peak,
            None,
            self.album.ceiling,
        ));
        for file in &self.files {
            let trim = file.headroom_trim.filter(|&t| t != 0.0);
            failures.extend(ceiling_failure(&file.file, file.true_peak, trim, file.ceiling));
        }
        failures
    }
}

impl Figures {
    /// Rounds `measured` and judges it against `ceiling` and the profiles; the loudness
    /// target is judged by the caller, which knows the mode and the other songs.
    fn judge(measured: &Measured, ceiling: f64) -> Self {
        let integrated = finite(measured.integrated);
        let true_peak = finite(measured.true_peak);
        let profiles = Profile::NAMES
            .iter()
            .map(|&name| {
                let profile = Profile::from_name(name).expect("NAMES lists profiles only");
                let figures = Normalisation::resolve(&RawLoudness::Profile(profile));
                let lufs = figures.target_lufs.map(round);
                let dbtp = round(figures.ceiling_dbtp);
                let loud_enough = lufs.is_none_or(|target| {
                    integrated.is_some_and(|i| within(centi(i), target, PROFILE_TOLERANCE_LU))
                });
                let pass = loud_enough && ceiling_verdict(true_peak, dbtp).pass;
                ProfileVerdict { profile: name, lufs, dbtp, pass }
            })
            .collect();
        Self {
            integrated,
            loudness_range: finite(measured.loudness_range),
            sample_peak: finite(measured.sample_peak),
            true_peak,
            plr: true_peak.zip(integrated).map(|(peak, loudness)| round(peak - loudness)),
            gain: finite(measured.gain),
            limiter_reduction: LimiterReduction {
                max: round(measured.limiter_reduction.max),
                mean: round(measured.limiter_reduction.mean),
            },
            target: None,
            ceiling: ceiling_verdict(true_peak, ceiling),
            profiles: ProfileVerdicts(profiles),
        }
    }

    /// What the table's verdict column says: `pass`, or what failed.
    fn verdict(&self) -> String {
        let mut missed = Vec::new();
        if self.target.is_some_and(|t| !t.pass) {
            missed.push("loudness");
        }
        if !self.ceiling.pass {
            missed.push("true peak");
        }
        if missed.is_empty() { "pass".into() } else { format!("FAIL: {}", missed.join(", ")) }
    }
}

/// Judges the songs' and the album's loudness against `target` (LUFS) as `mode` promises.
fn judge_loudness(mode: LoudnessMode, target: f64, songs: &mut [SongReport], album: &mut Figures) {
    let loudest = loudest_song(songs);
    for (index, song) in songs.iter_mut().enumerate() {
        let integrated = song.figures.integrated.map(centi);
        let pass = match mode {
            LoudnessMode::Song => {
                integrated.is_some_and(|i| within(i, target, TARGET_TOLERANCE_LU))
            }
            LoudnessMode::Album => continue,
            LoudnessMode::Loudest => integrated.is_none_or(|i| {
                let tolerance = centi(TARGET_TOLERANCE_LU);
                i <= centi(target) + tolerance
                    && (loudest != Some(index) || i >= centi(target) - tolerance)
            }),
        };
        song.figures.target = Some(TargetVerdict { lufs: target, pass });
    }
    let every_song_passes = songs.iter().all(|s| s.figures.target.is_some_and(|t| t.pass));
    let pass = match mode {
        LoudnessMode::Song => every_song_passes,
        LoudnessMode::Album => {
            album.integrated.is_some_and(|i| within(centi(i), target, TARGET_TOLERANCE_LU))
        }
        LoudnessMode::Loudest => every_song_passes && loudest.is_some(),
    };
    album.target = Some(TargetVerdict { lufs: target, pass });
}

/// One line of the table.
fn row(track: String, title: &str, figures: &Figures) -> [String; 7] {
    let number = |value: Option<f64>| value.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    let integrated = figures.integrated.map_or_else(|| "silent".into(), |v| format!("{v:.2}"));
    let gain = figures.gain.map_or_else(|| "-".into(), |g| format!("{g:+.2}"));
    [
        track,
        title.to_string(),
        integrated,
        number(figures.loudness_range),
        number(figures.true_peak),
        gain,
        figures.verdict(),
    ]
}

/// The sentence for a judged loudness that missed its target.
fn loudness_failure(who: &str, figures: &Figures, mode: &str) -> Option<String> {
    let target = figures.target.filter(|t| !t.pass)?;
    let tolerance = format!("±{TARGET_TOLERANCE_LU} LU");
    let Some(integrated) = figures.integrated else {
        return Some(format!(
            "{who} is silent: no gain brings it to the {mode} target of {:.2} LUFS ({tolerance})",
            target.lufs
        ));
    };
    let off = centi(integrated) - centi(target.lufs);
    let side = if off < 0 { "under" } else { "over" };
    Some(format!(
        "{who} measures {integrated:.2} LUFS, {} LU {side} the {mode} target of {:.2} LUFS ({tolerance})",
        show(off.abs()),
        target.lufs
    ))
}

/// The sentence for a true peak over its ceiling.
fn ceiling_failure(
    who: &str,
    true_peak: Option<f64>,
    headroom_trim: Option<f64>,
    ceiling: CeilingVerdict,
) -> Option<String> {
    let peak = true_peak.filter(|_| !ceiling.pass)?;
    let trim =
        headroom_trim.map_or_else(String::new, |t| format!(" after a {t:.2} dB headroom trim"));
    Some(format!(
        "{who} peaks at {peak:.2} dBTP{trim}, {} dB over the ceiling of {:.2} dBTP",
        show(centi(peak) - centi(ceiling.dbtp)),
        ceiling.dbtp
    ))
}

/// The song with the highest integrated loudness (the first of equals), if any is not silent.
fn loudest_song(songs: &[SongReport]) -> Option<usize> {
    let levels = songs.iter().enumerate().filter_map(|(index, song)| {
        song.figures.integrated.map(|integrated| (index, centi(integrated)))
    });
    // `max_by_key` keeps the last of equals: walking backwards makes that the first song.
    levels.rev().max_by_key(|&(_, level)| level).map(|(index, _)| index)
}

fn ceiling_verdict(true_peak: Option<f64>, ceiling: f64) -> CeilingVerdict {
    let pass = true_peak.is_none_or(|peak| centi(peak) <= centi(ceiling));
    CeilingVerdict { dbtp: ceiling, pass }
}

/// Whether a level in hundredths lies within `tolerance` of `target`.
fn within(level: i64, target: f64, tolerance: f64) -> bool {
    (level - centi(target)).abs() <= centi(tolerance)
}

/// `x` in hundredths, the unit every verdict compares in (exact, unlike 0.01 steps of f64).
fn centi(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

/// Hundredths written as a decimal with two places.
fn show(hundredths: i64) -> String {
    format!("{:.2}", hundredths as f64 / 100.0)
}

/// `x` rounded to 0.01, never `-0.0`.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0 + 0.0
}

/// A measured figure rounded; a non-finite one reads as not measured.
fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite()).map(round)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loudness(mode: LoudnessMode, target: Option<f64>) -> AlbumLoudness {
        AlbumLoudness {
            normalisation: Normalisation {
                target_lufs: target,
                ceiling_dbtp: -1.0,
                max_limiting_db: 6.0,
            },
            mode,
        }
    }

    fn measured(integrated: f64, true_peak: f64) -> Measured {
        Measured {
            integrated: Some(integrated),
            loudness_range: Some(5.0),
            sample_peak: Some(true_peak - 0.3),
            true_peak: Some(true_peak),
            gain: Some(1.5),
            limiter_reduction: LimiterReduction { max: 2.0, mean: 0.25 },
        }
    }

    fn song(title: &str, integrated: f64, true_peak: f64) -> MeasuredSong {
        MeasuredSong { title: title.into(), measured: measured(integrated, true_peak) }
    }

    fn two_songs() -> Vec<MeasuredSong> {
        vec![song("First Light", -13.984, -1.004), song("Salt Road", -17.5, -3.2)]
    }

    fn files() -> Vec<MeasuredFile> {
        let file = |target: &str, file: &str, true_peak: f64, trim: Option<f64>| MeasuredFile {
            target: target.into(),
            file: file.into(),
            true_peak: Some(true_peak),
            headroom_trim: trim,
            ceiling: -1.0,
        };
        vec![
            file("streaming", "streaming/01 First Light.flac", -1.004, None),
            file("preview", "preview/01 First Light.mp3", -1.2, Some(0.37)),
        ]
    }

    fn album_report() -> AlbumReport {
        AlbumReport::new(
            &loudness(LoudnessMode::Album, Some(-14.0)),
            &two_songs(),
            &measured(-14.21, -1.004),
            &files(),
        )
    }

    #[test]
    fn figures_are_rounded_to_hundredths_and_plr_is_their_difference() {
        let report = album_report();
        let first = &report.songs[0].figures;
        assert_eq!(first.integrated, Some(-13.98));
        assert_eq!(first.true_peak, Some(-1.0));
        assert_eq!(first.sample_peak, Some(-1.3));
        assert_eq!(first.plr, Some(12.98));
        assert_eq!(first.limiter_reduction, LimiterReduction { max: 2.0, mean: 0.25 });
        assert_eq!((report.songs[1].track, report.songs[1].title.as_str()), (2, "Salt Road"));
    }

    #[test]
    fn a_figure_that_rounds_to_zero_is_written_without_a_minus_sign() {
        let mut album = measured(-14.0, -1.5);
        album.gain = Some(-0.004);
        let report =
            AlbumReport::new(&loudness(LoudnessMode::Album, Some(-14.0)), &[], &album, &[]);
        assert!(report.to_json().contains("\"gain\": 0.0,"), "{}", report.to_json());
        assert!(!report.to_json().contains("-0.0"));
    }

    #[test]
    fn the_json_lists_every_figure_and_verdict_in_a_fixed_order() {
        let json = album_report().to_json();
        let expected_song = r#"    {
      "track": 1,
      "title": "First Light",
      "integrated": -13.98,
      "loudness_range": 5.0,
      "sample_peak": -1.3,
      "true_peak": -1.0,
      "plr": 12.98,
      "gain": 1.5,
      "limiter_reduction": {
        "max": 2.0,
        "mean": 0.25
      },
      "target": null,
      "ceiling": {
        "dbtp": -1.0,
        "pass": true
      },
      "profiles": {
        "spotify": {
          "lufs": -14.0,
          "dbtp": -1.0,
          "pass": true
        },
        "apple": {
          "lufs": -16.0,
          "dbtp": -1.0,
          "pass": false
        },
        "youtube": {
          "lufs": -14.0,
          "dbtp": -1.0,
          "pass": true
        },
        "ebu-r128": {
          "lufs": -23.0,
          "dbtp": -1.0,
          "pass": false
        },
        "cd": {
          "lufs": null,
          "dbtp": 0.0,
          "pass": true
        }
      }
    },"#;
        assert!(json.starts_with("{\n  \"mode\": \"album\",\n  \"target_lufs\": -14.0,\n  \"ceiling_dbtp\": -1.0,\n  \"songs\": [\n"), "{json}");
        assert!(json.contains(expected_song), "{json}");
        let expected_files = r#"  "files": [
    {
      "target": "streaming",
      "file": "streaming/01 First Light.flac",
      "true_peak": -1.0,
      "headroom_trim": null,
      "ceiling": {
        "dbtp": -1.0,
        "pass": true
      }
    },
    {
      "target": "preview",
      "file": "preview/01 First Light.mp3",
      "true_peak": -1.2,
      "headroom_trim": 0.37,
      "ceiling": {
        "dbtp": -1.0,
        "pass": true
      }
    }
  ]
}
"#;
        assert!(json.ends_with(expected_files), "{json}");
        assert!(json.contains("\n  \"album\": {\n    \"integrated\": -14.21,"), "{json}");
        assert_eq!(json, album_report().to_json());
    }

    #[test]
    fn album_mode_judges_the_album_within_three_tenths_and_leaves_songs_unjudged() {
        for (album_lufs, pass) in [(-14.3, true), (-13.7, true), (-14.31, false), (-13.69, false)] {
            let report = AlbumReport::new(
                &loudness(LoudnessMode::Album, Some(-14.0)),
                &two_songs(),
                &measured(album_lufs, -1.1),
                &[],
            );
            assert_eq!(
                report.album.target,
                Some(TargetVerdict { lufs: -14.0, pass }),
                "{album_lufs}"
            );
            assert!(report.songs.iter().all(|s| s.figures.target.is_none()));
            assert_eq!(report.failures().is_empty(), pass, "{album_lufs}");
        }
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Album, Some(-14.0)),
            &two_songs(),
            &measured(-14.42, -1.1),
            &[],
        );
        assert_eq!(
            report.failures(),
            [
                "the album measures -14.42 LUFS, 0.42 LU under the album target of -14.00 LUFS (±0.3 LU)"
            ]
        );
    }

    #[test]
    fn song_mode_judges_each_song_and_the_album_passes_when_every_song_does() {
        let songs = vec![song("First Light", -14.29, -1.2), song("Salt Road", -13.6, -1.5)];
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Song, Some(-14.0)),
            &songs,
            &Measured { gain: None, ..measured(-13.8, -1.2) },
            &[],
        );
        let verdicts: Vec<bool> =
            report.songs.iter().map(|s| s.figures.target.expect("judged").pass).collect();
        assert_eq!(verdicts, [true, false]);
        assert_eq!(report.album.target, Some(TargetVerdict { lufs: -14.0, pass: false }));
        assert_eq!(report.album.gain, None);
        assert_eq!(
            report.failures(),
            [
                "track 2 \"Salt Road\" measures -13.60 LUFS, 0.40 LU over the song target of -14.00 LUFS (±0.3 LU)"
            ]
        );
    }

    #[test]
    fn loudest_mode_holds_the_loudest_song_within_the_tolerance_and_none_above_it() {
        let judge = |levels: &[f64]| {
            let songs: Vec<MeasuredSong> = levels.iter().map(|&l| song("Song", l, -1.5)).collect();
            let report = AlbumReport::new(
                &loudness(LoudnessMode::Loudest, Some(-14.0)),
                &songs,
                &measured(-16.0, -1.5),
                &[],
            );
            let songs: Vec<bool> =
                report.songs.iter().map(|s| s.figures.target.expect("judged").pass).collect();
            (songs, report.album.target.expect("judged").pass, report.failures())
        };
        assert_eq!(judge(&[-18.0, -14.2, -20.0]), (vec![true, true, true], true, vec![]));
        let (songs, album, failures) = judge(&[-18.0, -14.4, -20.0]);
        assert_eq!((songs, album), (vec![true, false, true], false));
        assert_eq!(
            failures,
            [
                "track 2 \"Song\", the loudest song, measures -14.40 LUFS, 0.40 LU under the loudest-song target of -14.00 LUFS (±0.3 LU)"
            ]
        );
        let (songs, album, failures) = judge(&[-13.6, -13.65, -20.0]);
        assert_eq!((songs, album), (vec![false, false, true], false));
        assert_eq!(failures.len(), 2);
        assert!(
            failures[0].starts_with(
                "track 1 \"Song\", the loudest song, measures -13.60 LUFS, 0.40 LU over"
            )
        );
        assert!(failures[1].starts_with("track 2 \"Song\" measures -13.65 LUFS, 0.35 LU over"));
        let (songs, _, failures) = judge(&[-20.0, -14.4, -14.4]);
        assert_eq!(songs, [true, false, true]);
        assert!(failures[0].starts_with("track 2 \"Song\", the loudest song,"), "{failures:?}");
    }

    #[test]
    fn a_silent_song_fails_song_mode_but_is_never_the_loudest() {
        let silent = MeasuredSong {
            title: "Hidden".into(),
            measured: Measured { integrated: None, true_peak: None, ..Measured::default() },
        };
        let songs = vec![song("First Light", -14.0, -1.1), silent];
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Song, Some(-14.0)),
            &songs,
            &measured(-14.0, -1.1),
            &[],
        );
        assert_eq!(
            report.failures(),
            [
                "track 2 \"Hidden\" is silent: no gain brings it to the song target of -14.00 LUFS (±0.3 LU)"
            ]
        );
        assert!(report.songs[1].figures.ceiling.pass);
        assert_eq!(report.songs[1].figures.plr, None);
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Loudest, Some(-14.0)),
            &songs,
            &measured(-14.0, -1.1),
            &[],
        );
        assert_eq!(report.failures(), Vec::<String>::new());
        assert!(report.to_json().contains("\"integrated\": null,"));
    }

    #[test]
    fn an_album_of_silence_in_loudest_mode_has_no_loudest_song_to_meet_the_target() {
        let silent = MeasuredSong { title: "Hidden".into(), measured: Measured::default() };
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Loudest, Some(-14.0)),
            &[silent],
            &Measured::default(),
            &[],
        );
        assert_eq!(report.album.target, Some(TargetVerdict { lufs: -14.0, pass: false }));
    }

    #[test]
    fn without_a_target_nothing_is_judged_on_loudness() {
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Album, None),
            &two_songs(),
            &measured(-30.0, -1.1),
            &[],
        );
        assert_eq!(report.target_lufs, None);
        assert_eq!(report.album.target, None);
        assert!(report.failures().is_empty());
    }

    #[test]
    fn a_true_peak_at_the_ceiling_passes_and_a_hundredth_over_fails_everywhere_it_occurs() {
        let songs = vec![song("First Light", -14.0, -1.004), song("Salt Road", -14.0, -0.994)];
        let mut files = files();
        files[1].true_peak = Some(-0.9);
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Album, Some(-14.0)),
            &songs,
            &measured(-14.0, -0.994),
            &files,
        );
        assert!(report.songs[0].figures.ceiling.pass);
        assert!(!report.songs[1].figures.ceiling.pass);
        assert_eq!(
            report.failures(),
            [
                "track 2 \"Salt Road\" peaks at -0.99 dBTP, 0.01 dB over the ceiling of -1.00 dBTP",
                "the album peaks at -0.99 dBTP, 0.01 dB over the ceiling of -1.00 dBTP",
                "preview/01 First Light.mp3 peaks at -0.90 dBTP after a 0.37 dB headroom trim, 0.10 dB over the ceiling of -1.00 dBTP",
            ]
        );
    }

    #[test]
    fn profiles_pass_within_one_lu_of_their_target_and_under_their_ceiling() {
        let verdicts = |integrated: f64, true_peak: f64| -> Vec<(&str, bool)> {
            let report = AlbumReport::new(
                &loudness(LoudnessMode::Album, Some(-14.0)),
                &[],
                &measured(integrated, true_peak),
                &[],
            );
            report.album.profiles.0.iter().map(|p| (p.profile, p.pass)).collect()
        };
        assert_eq!(
            verdicts(-15.0, -1.0),
            [
                ("spotify", true),
                ("apple", true),
                ("youtube", true),
                ("ebu-r128", false),
                ("cd", true)
            ]
        );
        assert_eq!(
            verdicts(-15.01, -0.5),
            [
                ("spotify", false),
                ("apple", false),
                ("youtube", false),
                ("ebu-r128", false),
                ("cd", true)
            ]
        );
        assert_eq!(verdicts(-22.0, 0.01)[3..], [("ebu-r128", false), ("cd", false)]);
        assert_eq!(verdicts(-24.0, -2.0)[3], ("ebu-r128", true));
    }

    #[test]
    fn the_table_aligns_each_column_and_ends_with_the_album() {
        let mut songs = two_songs();
        songs[1].title = "Harbour Lights".into();
        songs[1].measured.true_peak = Some(-0.5);
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Song, Some(-14.0)),
            &songs,
            &Measured { gain: None, ..measured(-15.0, -0.5) },
            &[],
        );
        assert_eq!(
            report.table(),
            "\
#  title             LUFS   LRA   dBTP   gain  verdict
1  First Light     -13.98  5.00  -1.00  +1.50  pass
2  Harbour Lights  -17.50  5.00  -0.50  +1.50  FAIL: loudness, true peak
   album           -15.00  5.00  -0.50      -  FAIL: loudness, true peak
"
        );
    }

    #[test]
    fn the_table_calls_a_silent_song_silent() {
        let silent = MeasuredSong { title: "Hidden".into(), measured: Measured::default() };
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Album, Some(-14.0)),
            &[silent],
            &measured(-14.0, -1.0),
            &[],
        );
        let table = report.table();
        assert_eq!(
            table.lines().nth(1),
            Some("1  Hidden  silent     -      -      -  pass"),
            "{table}"
        );
    }

    #[test]
    fn non_finite_figures_read_as_not_measured() {
        let mut song = song("First Light", -14.0, -1.0);
        song.measured.true_peak = Some(f64::NEG_INFINITY);
        song.measured.loudness_range = Some(f64::NAN);
        let report = AlbumReport::new(
            &loudness(LoudnessMode::Album, Some(-14.0)),
            &[song],
            &Measured::default(),
            &[],
        );
        assert_eq!(report.songs[0].figures.true_peak, None);
        assert_eq!(report.songs[0].figures.loudness_range, None);
        assert!(report.to_json().contains("\"true_peak\": null,"));
    }
}
