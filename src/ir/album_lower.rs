//! Lowering an album file: raw album → [`Album`], with every error collected in one pass,
//! each located in the album file with a help line.
//!
//! What is checked here: the codes (UPC/EAN with its check digit, ISRCs, no ISRC twice),
//! how each song joins the one before it, each song's audio (exactly one of `mix:` and
//! `file:`, and the file there), the mastering chains, the album's loudness, every
//! target, and the `assert:` blocks of the songs and the album. A `mix:` song's own project is resolved by the caller, through `mixes`, so that
//! its diagnostics stay located in the mix file; a `file:` song's header is opened by the
//! caller too, since lowering reads no audio. What needs the songs' lengths (a song shorter
//! than a CD allows, a crossfade longer than a song) is the render's to find.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::assertion_lower::{AssertSite, in_file_order, lower_block};
use super::deliver::{Naming, PLACEHOLDERS, check_barcode, lower_target, normalise_isrc};
use super::levels::MAX_LEVEL_DB;
use super::lower::{missing_file_help, tidy};
use super::{
    Album, AlbumLoudness, AlbumTarget, Assertion, ContentDigest, ContentDigests, CrossfadeCurve,
    DEFAULT_SAMPLE_RATE, DeliverFormat, Join, LoudnessMode, Mix, Normalisation, ResolvedFile, Song,
    SongInput, Split, Step, Subject,
};
use crate::diag::{Diagnostic, Location};
use crate::project::{
    LoadedAlbum, RawAlbumTarget, RawAssert, RawCrossfadeCurve, RawLoudness, RawLoudnessMode,
    RawLoudnessSettings, RawSong, RawSplit, RawStep,
};

/// The most tracks a CD holds (the Red Book's limit).
pub const MAX_CD_TRACKS: usize = 99;

/// The placeholders a file of the whole album may be named from.
const ALBUM_PLACEHOLDERS: [&str; 4] = ["album", "artist", "target", "ext"];

/// Resolves `loaded`. Returns the album and every diagnostic found (warnings included). An
/// album with errors is complete but not to be rendered: whatever was wrong stands in as
/// something harmless (a song whose mix is missing or broken as a file at its path).
///
/// `mixes(path)` resolves the mix project of a `mix:` song, already found to exist, and
/// gives `None` when it has errors (the caller keeps them). The mix's own `deliver:` block
/// does not apply in an album and is dropped, and its id becomes the song's.
#[must_use]
pub fn lower_album(
    loaded: &LoadedAlbum,
    digests: &mut dyn ContentDigests,
    mixes: &mut dyn FnMut(&Path) -> Option<Mix>,
) -> (Album, Vec<Diagnostic>) {
    let mut cx = AlbumLowering { loaded, digests, diagnostics: Vec::new() };
    let album = cx.album(mixes);
    cx.diagnostics.sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)));
    (album, cx.diagnostics)
}

struct AlbumLowering<'a> {
    loaded: &'a LoadedAlbum,
    digests: &'a mut dyn ContentDigests,
    diagnostics: Vec<Diagnostic>,
}

impl AlbumLowering<'_> {
    fn error(&mut self, code: &'static str, yaml_path: &str, message: String) -> &mut Diagnostic {
        let location = self.loaded.locate(yaml_path);
        self.diagnostics
            .push(Diagnostic::error(code, message).at(location, Some(yaml_path.into())));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn error_at_key(
        &mut self,
        code: &'static str,
        yaml_path: &str,
        message: String,
    ) -> &mut Diagnostic {
        let location = self.loaded.locate_key(yaml_path);
        self.diagnostics
            .push(Diagnostic::error(code, message).at(location, Some(yaml_path.into())));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn album(&mut self, mixes: &mut dyn FnMut(&Path) -> Option<Mix>) -> Album {
        let raw = &self.loaded.raw;
        let sample_rate = raw.sample_rate.map_or(DEFAULT_SAMPLE_RATE, |r| r.0);
        if raw.songs.is_empty() {
            self.error_at_key("no-songs", "songs", "the album has no songs".into()).help = Some(
                "add a `songs:` list, e.g. `songs: [ { mix: songs/one.yaml, title: One } ]`".into(),
            );
        }
        let catalog = raw.catalog.as_deref().and_then(|text| match check_barcode(text) {
            Ok(code) => Some(code),
            Err(message) => {
                self.error("invalid-catalog", "catalog", message).help = Some(
                    "a UPC-A has 12 digits and an EAN-13 has 13, the last a check digit".into(),
                );
                None
            }
        });
        let chain = self.chain("mastering.chain", &raw.mastering.chain);
        let songs = self.songs(&chain, mixes);
        let loudness = self.loudness();
        let deliver = self.targets(sample_rate, loudness.normalisation.ceiling_dbtp);
        if songs.len() > MAX_CD_TRACKS
            && let Some(cd) = deliver.iter().find(|t| t.is_cd())
        {
            let name = cd.deliverable.name.clone();
            self.error_at_key(
                "too-many-tracks",
                "songs",
                format!(
                    "the album has {} songs, but the CD target `{name}` holds at most \
                     {MAX_CD_TRACKS} tracks",
                    songs.len()
                ),
            )
            .help = Some("split the album into two releases, or deliver it as files".into());
        }
        let assertions = self.assertions();
        Album {
            title: raw.album.clone(),
            artist: raw.artist.clone(),
            catalog,
            year: raw.year,
            sample_rate,
            songs,
            loudness,
            deliver,
            assertions,
        }
    }

    /// Every check of every song's `assert:` block and of the album's.
    fn assertions(&mut self) -> Vec<Assertion> {
        let raw = &self.loaded.raw;
        let blocks: Vec<(Subject, String, RawAssert)> = raw
            .songs
            .iter()
            .enumerate()
            .filter_map(|(index, song)| {
                let subject = Subject::Song { index, title: song.title.clone() };
                Some((subject, format!("songs[{index}].assert"), song.assert.clone()?))
            })
            .collect();
        let album = raw.assert.clone();
        let mut assertions = Vec::new();
        for (subject, at, block) in &blocks {
            assertions.extend(lower_block(self, subject, at, block));
        }
        if let Some(block) = &album {
            assertions.extend(lower_block(self, &Subject::Album, "assert", block));
        }
        in_file_order(&mut assertions);
        assertions
    }

    fn songs(
        &mut self,
        album_chain: &[Step],
        mixes: &mut dyn FnMut(&Path) -> Option<Mix>,
    ) -> Vec<Song> {
        let raw = &self.loaded.raw;
        let mut ids = BTreeSet::new();
        let mut isrcs: BTreeMap<String, usize> = BTreeMap::new();
        let mut songs = Vec::with_capacity(raw.songs.len());
        for (i, song) in raw.songs.iter().enumerate() {
            let at = format!("songs[{i}]");
            let (input, written) = self.input(&at, song, mixes);
            let id = unique_id(&mut ids, &stem(written.as_deref().unwrap_or("song")));
            let input = match input {
                SongInput::Mix(mut mix) => {
                    mix.id.clone_from(&id);
                    SongInput::Mix(mix)
                }
                file @ SongInput::File(_) => file,
            };
            let isrc = self.isrc(&at, song, &mut isrcs, i);
            let chain = match song.mastering.as_ref().and_then(|m| m.chain.as_ref()) {
                Some(own) => self.chain(&format!("{at}.mastering.chain"), own),
                None => album_chain.to_vec(),
            };
            let gain_db = song.mastering.as_ref().and_then(|m| m.gain).map_or(0.0, |g| g.0);
            if gain_db > MAX_LEVEL_DB {
                self.error(
                    "level-out-of-range",
                    &format!("{at}.mastering.gain"),
                    format!("a song's gain can be at most +{MAX_LEVEL_DB} dB, not +{gain_db} dB"),
                )
                .help = Some(format!("levels run from -inf dB to +{MAX_LEVEL_DB} dB"));
            }
            songs.push(Song {
                id,
                title: song.title.clone(),
                artist: song.artist.clone().unwrap_or_else(|| raw.artist.clone()),
                isrc,
                input,
                join: self.join(&at, i, song),
                fade_in: song.fade_in.map_or(0.0, |t| t.0),
                fade_out: song.fade_out.map_or(0.0, |t| t.0),
                trim_start: song.trim_start.map_or(0.0, |t| t.0),
                trim_end: song.trim_end.map_or(0.0, |t| t.0),
                chain,
                gain_db,
            });
        }
        songs
    }

    /// The song's audio, and the path it is written as (for its id).
    fn input(
        &mut self,
        at: &str,
        song: &RawSong,
        mixes: &mut dyn FnMut(&Path) -> Option<Mix>,
    ) -> (SongInput, Option<String>) {
        match (&song.mix, &song.file) {
            (Some(mix), None) => {
                let path = self.file(&format!("{at}.mix"), mix, "missing-mix", "mix file");
                let input = if path.is_file()
                    && let Some(mut resolved) = mixes(&path)
                {
                    resolved.deliver.clear();
                    SongInput::Mix(Box::new(resolved))
                } else {
                    SongInput::File(path)
                };
                (input, Some(mix.clone()))
            }
            (None, Some(file)) => {
                let path = self.file(&format!("{at}.file"), file, "missing-file", "audio file");
                (SongInput::File(path), Some(file.clone()))
            }
            (Some(_), Some(file)) => {
                self.error(
                    "song-input",
                    &format!("{at}.file"),
                    "a song is either a `mix:` project or a finished `file:`, not both".into(),
                )
                .help = Some("keep the one this song is made from".into());
                (SongInput::File(PathBuf::from(file)), Some(file.clone()))
            }
            (None, None) => {
                self.error_at_key(
                    "song-input",
                    at,
                    format!("the song `{}` has no audio: give it `mix:` or `file:`", song.title),
                )
                .help = Some(
                    "e.g. `mix: songs/first-light.yaml` or `file: premixed/interlude.flac`".into(),
                );
                (SongInput::File(PathBuf::new()), None)
            }
        }
    }

    /// A file the album names, resolved against the album file's folder; an error at
    /// `yaml_path` when there is none.
    fn file(&mut self, yaml_path: &str, written: &str, code: &'static str, what: &str) -> PathBuf {
        let base = self.loaded.path.parent().unwrap_or(Path::new("."));
        let resolved = tidy(&base.join(written));
        if !resolved.is_file() {
            let help = missing_file_help(&resolved, written, base);
            self.error(code, yaml_path, format!("no {what} at `{}`", resolved.display())).label =
                Some("no such file".into());
            self.diagnostics.last_mut().expect("just pushed").help = Some(help);
        }
        resolved
    }

    fn isrc(
        &mut self,
        at: &str,
        song: &RawSong,
        seen: &mut BTreeMap<String, usize>,
        i: usize,
    ) -> Option<String> {
        let text = song.isrc.as_deref()?;
        let path = format!("{at}.isrc");
        let code = match normalise_isrc(text) {
            Ok(code) => code,
            Err(message) => {
                self.error("invalid-isrc", &path, message).help = Some(
                    "an ISRC is a country code, a registrant, a year and five digits: \
                     `GB-XYZ-26-00001` (hyphens optional)"
                        .into(),
                );
                return None;
            }
        };
        if let Some(&first) = seen.get(&code) {
            let title = &self.loaded.raw.songs[first].title;
            self.error(
                "duplicate-isrc",
                &path,
                format!("ISRC {code} is already song {}'s (`{title}`)", first + 1),
            )
            .help = Some("every recording has an ISRC of its own; check which song this is".into());
            return None;
        }
        seen.insert(code.clone(), i);
        Some(code)
    }

    fn join(&mut self, at: &str, i: usize, song: &RawSong) -> Join {
        let crossfade = song.crossfade.map(|c| {
            let curve = match c.curve {
                None | Some(RawCrossfadeCurve::EqualPower) => CrossfadeCurve::EqualPower,
                Some(RawCrossfadeCurve::Linear) => CrossfadeCurve::Linear,
            };
            (c.length.0, curve)
        });
        if i == 0 {
            for (field, set) in [("gap", song.gap.is_some()), ("crossfade", crossfade.is_some())] {
                if set {
                    self.error(
                        "first-song-join",
                        &format!("{at}.{field}"),
                        format!("the first song has no song before it to take a {field} from"),
                    )
                    .help = Some(format!("remove `{field}:` from the first song"));
                }
            }
            return Join::Gap(0.0);
        }
        match (song.gap, crossfade) {
            (Some(_), Some(_)) => {
                self.error(
                    "gap-and-crossfade",
                    &format!("{at}.crossfade"),
                    "a song follows the one before it after a gap or in a crossfade, not both"
                        .into(),
                )
                .help = Some("keep `gap:` or `crossfade:`".into());
                Join::Gap(0.0)
            }
            (gap, None) => Join::Gap(gap.map_or(0.0, |g| g.0)),
            (None, Some((0.0, _))) => Join::Gap(0.0),
            (None, Some((seconds, curve))) => Join::Crossfade { seconds, curve },
        }
    }

    /// A mastering chain, with the files its steps read resolved; a step that listens to a
    /// sidechain is an error, since a song has no tracks or buses to name.
    fn chain(&mut self, yaml_path: &str, steps: &[RawStep]) -> Vec<Step> {
        let mut lowered = Vec::with_capacity(steps.len());
        for (i, raw) in steps.iter().enumerate() {
            let at = format!("{yaml_path}[{i}]");
            let mut resolve = |at: &str, written: &str| self.resolve(at, written);
            let step = Step::lower(raw, &at, &mut resolve);
            if let Some(name) = step.sidechains().first() {
                let path = format!("{at}.{}.sidechain", step.kind());
                self.error(
                    "mastering-sidechain",
                    &path,
                    format!("a mastering chain has no track or bus `{name}` to listen to"),
                )
                .help = Some("remove `sidechain:`; mastering runs on each finished song".into());
            }
            lowered.push(step);
        }
        lowered
    }

    /// A file a mastering step reads, with its digest.
    fn resolve(&mut self, yaml_path: &str, written: &str) -> ResolvedFile {
        let path = self.file(yaml_path, written, "missing-file", "audio file");
        let content = if path.is_file() {
            self.digests.digest(&path).unwrap_or_else(|e| {
                self.error(
                    "unreadable-file",
                    yaml_path,
                    format!("cannot read `{}`: {e}", path.display()),
                )
                .help = Some("check that the file is readable, or point to another file".into());
                ContentDigest::default()
            })
        } else {
            ContentDigest::default()
        };
        ResolvedFile { path, content }
    }

    fn loudness(&self) -> AlbumLoudness {
        let raw = self.loaded.raw.mastering.loudness.as_ref();
        let unset = RawLoudness::Settings(RawLoudnessSettings {
            target: None,
            ceiling: None,
            max_limiting: None,
        });
        let normalisation = Normalisation::resolve(raw.map_or(&unset, |l| &l.loudness));
        let mode = match raw.and_then(|l| l.mode) {
            None | Some(RawLoudnessMode::Album) => LoudnessMode::Album,
            Some(RawLoudnessMode::Song) => LoudnessMode::Song,
            Some(RawLoudnessMode::Loudest) => LoudnessMode::Loudest,
        };
        AlbumLoudness { normalisation, mode }
    }

    fn targets(&mut self, sample_rate: u32, ceiling_dbtp: f64) -> Vec<AlbumTarget> {
        let targets: Vec<(&String, &RawAlbumTarget)> = self.loaded.raw.deliver.iter().collect();
        let mut lowered = Vec::with_capacity(targets.len());
        for (name, raw) in targets {
            let split = match raw.split {
                None | Some(RawSplit::Songs) => Split::Songs,
                Some(RawSplit::Album) => Split::Album,
            };
            let naming = match split {
                Split::Songs => Naming::Pattern {
                    default: "{track:02} {title}.{ext}",
                    placeholders: &PLACEHOLDERS,
                },
                Split::Album => {
                    Naming::Pattern { default: "{album}.{ext}", placeholders: &ALBUM_PLACEHOLDERS }
                }
            };
            let mut report = |path: &str, message: String, help: Option<String>| {
                self.error("deliver", path, message).help = help;
            };
            let deliverable = lower_target(name, &raw.target(), sample_rate, naming, &mut report);
            let cue_ok = !raw.cue
                || (split == Split::Album
                    && deliverable.as_ref().is_none_or(|d| {
                        matches!(d.format, DeliverFormat::Wav(_) | DeliverFormat::Flac(_))
                    }));
            if !cue_ok {
                let why = if split == Split::Album {
                    "a CUE sheet describes a WAV or FLAC file, not an MP3"
                } else {
                    "a CUE sheet describes one file of the whole album, but this target writes a \
                     file per song"
                };
                self.error("cue-sheet", &format!("deliver.{name}.cue"), why.into()).help = Some(
                    "set `split: album` and `format: wav` or `flac`, or remove `cue: true`".into(),
                );
            }
            if let Some(mut deliverable) = deliverable.filter(|_| cue_ok) {
                deliverable.ceiling_dbtp = ceiling_dbtp;
                lowered.push(AlbumTarget { deliverable, split, cue: raw.cue });
            }
        }
        lowered
    }
}

impl AssertSite for AlbumLowering<'_> {
    fn locate(&self, yaml_path: &str) -> Option<Location> {
        self.loaded.locate(yaml_path)
    }

    fn error(&mut self, code: &'static str, yaml_path: &str, message: String) -> &mut Diagnostic {
        AlbumLowering::error(self, code, yaml_path, message)
    }

    fn reference_file(&mut self, yaml_path: &str, written: &str) -> PathBuf {
        self.file(yaml_path, written, "missing-file", "audio file")
    }
}

/// The file stem of `written` (`songs/first-light.yaml` → `first-light`).
fn stem(written: &str) -> String {
    Path::new(written).file_stem().and_then(|s| s.to_str()).unwrap_or("song").to_owned()
}

/// `base`, or `base-2`, `base-3`… when an earlier song took it.
fn unique_id(taken: &mut BTreeSet<String>, base: &str) -> String {
    let mut id = base.to_owned();
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("{base}-{n}");
    }
    taken.insert(id.clone());
    id
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::project::parse_album;

    /// Lowers the album `text`, written in a folder that holds `a.wav`, `b.flac` and a
    /// mix `song.yaml`, with every mix resolved as an empty one named after its file.
    fn lowered(text: &str) -> (Album, Vec<Diagnostic>) {
        let dir = tempfile::tempdir().unwrap();
        for file in ["a.wav", "b.flac", "song.yaml"] {
            std::fs::write(dir.path().join(file), b"").unwrap();
        }
        let loaded = parse_album(&dir.path().join("album.yaml"), text).unwrap();
        let mut digests = |_: &Path| Ok(ContentDigest([7; 32]));
        let mut mixes = |path: &Path| {
            let text = "mix: Song\ntracks: {}\ndeliver: { web: { format: flac } }\n";
            let loaded = crate::project::parse_mix(path, text).unwrap();
            Some(super::super::lower(&loaded, &mut |_: &Path| Ok(ContentDigest::default())).0)
        };
        lower_album(&loaded, &mut digests, &mut mixes)
    }

    fn errors(text: &str) -> Vec<(&'static str, String)> {
        let (_, found) = lowered(text);
        found.into_iter().map(|d| (d.code, d.yaml_path.unwrap_or_default())).collect()
    }

    const HEAD: &str = "album: Low Tide\nartist: Ensemble\n";

    #[test]
    fn song_ids_come_from_file_stems_and_are_suffixed_on_collision_not_numbered_by_place() {
        let songs = "songs:\n  - { file: a.wav, title: A }\n  - { mix: song.yaml, title: S }\n  - { file: sub/../a.wav, title: A again }\n";
        let (album, found) = lowered(&format!("{HEAD}{songs}"));
        assert!(found.is_empty(), "{found:?}");
        let ids: Vec<&str> = album.songs.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "song", "a-2"]);
        let reordered = "songs:\n  - { mix: song.yaml, title: S }\n  - { file: a.wav, title: A }\n";
        let (album, _) = lowered(&format!("{HEAD}{reordered}"));
        assert_eq!(album.songs[1].id, "a", "moving a song keeps its id");
    }

    #[test]
    fn a_mix_song_takes_the_songs_id_and_leaves_its_own_targets_behind() {
        let (album, found) =
            lowered(&format!("{HEAD}songs:\n  - {{ mix: song.yaml, title: S }}\n"));
        assert!(found.is_empty(), "{found:?}");
        let SongInput::Mix(mix) = &album.songs[0].input else { panic!("a mix song") };
        assert_eq!(mix.id, "song");
        assert!(mix.deliver.is_empty(), "the mix's own deliver: block does not apply");
        assert_eq!(album.songs[0].artist, "Ensemble", "the album's artist by default");
    }

    #[test]
    fn joins_default_to_back_to_back_and_a_zero_crossfade_is_a_zero_gap() {
        let songs = "songs:\n  - { file: a.wav, title: A }\n  - { file: a.wav, title: B, crossfade: 0 s }\n  - { file: a.wav, title: C, crossfade: 1.5 s }\n  - { file: a.wav, title: D, crossfade: { length: 2 s, curve: linear } }\n  - { file: a.wav, title: E, gap: 2 s }\n  - { file: a.wav, title: F }\n";
        let (album, found) = lowered(&format!("{HEAD}{songs}"));
        assert!(found.is_empty(), "{found:?}");
        let joins: Vec<Join> = album.songs.iter().map(|s| s.join).collect();
        let crossfade = |seconds, curve| Join::Crossfade { seconds, curve };
        assert_eq!(
            joins,
            [
                Join::Gap(0.0),
                Join::Gap(0.0),
                crossfade(1.5, CrossfadeCurve::EqualPower),
                crossfade(2.0, CrossfadeCurve::Linear),
                Join::Gap(2.0),
                Join::Gap(0.0),
            ]
        );
    }

    #[test]
    fn a_join_on_the_first_song_or_two_joins_on_one_song_are_refused_where_written() {
        let songs = "songs:\n  - { file: a.wav, title: A, gap: 1 s, crossfade: 1 s }\n  - { file: a.wav, title: B, gap: 1 s, crossfade: 1 s }\n";
        assert_eq!(
            errors(&format!("{HEAD}{songs}")),
            [
                ("first-song-join", "songs[0].gap".to_owned()),
                ("first-song-join", "songs[0].crossfade".to_owned()),
                ("gap-and-crossfade", "songs[1].crossfade".to_owned()),
            ]
        );
    }

    #[test]
    fn every_problem_of_every_song_is_reported_in_one_pass() {
        let text = "album: A\nartist: B\ncatalog: \"5012345678901\"\nsongs:\n  - { file: a.wav, title: A, isrc: GB-XYZ-26-00001 }\n  - { title: B }\n  - { file: gone.wav, mix: song.yaml, title: C }\n  - { mix: gone.yaml, title: D, isrc: gbxyz2600001 }\n  - { file: a.wav, title: E, isrc: GB-XYZ-26 }\n";
        assert_eq!(
            errors(text),
            [
                ("invalid-catalog", "catalog".to_owned()),
                ("song-input", "songs[1]".to_owned()),
                ("song-input", "songs[2].file".to_owned()),
                ("missing-mix", "songs[3].mix".to_owned()),
                ("duplicate-isrc", "songs[3].isrc".to_owned()),
                ("invalid-isrc", "songs[4].isrc".to_owned()),
            ]
        );
    }

    #[test]
    fn targets_take_the_albums_rate_and_ceiling_and_keep_their_name_pattern_unfilled() {
        let text = format!(
            "{HEAD}sample_rate: 44.1 kHz\nsongs: [ {{ file: a.wav, title: A }} ]\nmastering:\n  loudness: {{ target: -14 LUFS, ceiling: -2 dBTP, mode: loudest }}\ndeliver:\n  web: {{ format: flac }}\n  cd: {{ format: wav, bit_depth: 16, split: album, cue: true }}\n  named: {{ format: mp3, name: \"{{track}}-{{artist}}.{{ext}}\" }}\n"
        );
        let (album, found) = lowered(&text);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(album.loudness.mode, LoudnessMode::Loudest);
        assert_eq!(album.loudness.normalisation.target_lufs, Some(-14.0));
        let names: Vec<(&str, &str, Split, bool)> = album
            .deliver
            .iter()
            .map(|t| {
                (t.deliverable.name.as_str(), t.deliverable.file_name.as_str(), t.split, t.cue)
            })
            .collect();
        assert_eq!(
            names,
            [
                ("cd", "{album}.{ext}", Split::Album, true),
                ("named", "{track}-{artist}.{ext}", Split::Songs, false),
                ("web", "{track:02} {title}.{ext}", Split::Songs, false),
            ]
        );
        assert!(album.deliver.iter().all(|t| t.deliverable.sample_rate == 44_100));
        assert!(album.deliver.iter().all(|t| t.deliverable.ceiling_dbtp == -2.0));
        assert!(album.deliver[0].is_cd());
    }

    #[test]
    fn without_a_loudness_block_no_gain_is_applied_under_a_minus_one_dbtp_ceiling_for_the_album() {
        let (album, _) = lowered(&format!("{HEAD}songs: [ {{ file: a.wav, title: A }} ]\n"));
        assert_eq!(album.loudness.mode, LoudnessMode::Album);
        assert_eq!(album.loudness.normalisation.target_lufs, None);
        assert_eq!(album.loudness.normalisation.ceiling_dbtp, -1.0);
        assert_eq!(album.sample_rate, 48_000);
    }

    #[test]
    fn a_cue_sheet_needs_one_lossless_file_of_the_whole_album() {
        let text = format!(
            "{HEAD}songs: [ {{ file: a.wav, title: A }} ]\ndeliver:\n  a: {{ format: wav, cue: true }}\n  b: {{ format: mp3, split: album, cue: true }}\n  c: {{ format: flac, split: album, name: \"{{track}} {{title}}.{{ext}}\" }}\n"
        );
        assert_eq!(
            errors(&text),
            [
                ("cue-sheet", "deliver.a.cue".to_owned()),
                ("cue-sheet", "deliver.b.cue".to_owned()),
                ("deliver", "deliver.c.name".to_owned()),
            ]
        );
    }

    #[test]
    fn a_songs_own_chain_replaces_the_albums_and_a_sidechain_has_nothing_to_hear() {
        let text = format!(
            "{HEAD}songs:\n  - {{ file: a.wav, title: A }}\n  - {{ file: a.wav, title: B, mastering: {{ chain: [], gain: -2 dB }} }}\nmastering:\n  chain:\n    - gain: -1 dB\n    - compressor: {{ threshold: -20 dB, ratio: 2, sidechain: kick }}\n"
        );
        let (album, found) = lowered(&text);
        let codes: Vec<&str> = found.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["mastering-sidechain"]);
        assert_eq!(album.songs[0].chain.len(), 2);
        assert!(album.songs[1].chain.is_empty());
        assert_eq!((album.songs[0].gain_db, album.songs[1].gain_db), (0.0, -2.0));
    }

    #[test]
    fn assertions_on_songs_and_the_album_are_lowered_in_file_order_with_their_subjects() {
        let text = format!(
            "{HEAD}assert:\n  true_peak: {{ max: -1 dBTP }}\nsongs:\n  - {{ file: a.wav, title: A }}\n  - file: a.wav\n    title: B\n    assert:\n      loudness: {{ min: -16 LUFS, max: -12 LUFS }}\n      matches: {{ file: b.flac }}\n"
        );
        let (album, found) = lowered(&text);
        assert!(found.is_empty(), "{found:?}");
        let song = Subject::Song { index: 1, title: "B".into() };
        let lowered: Vec<(&Subject, &str, usize)> = album
            .assertions
            .iter()
            .map(|a| (&a.subject, a.yaml_path.as_str(), a.location.as_ref().unwrap().line))
            .collect();
        assert_eq!(
            lowered,
            [
                (&Subject::Album, "assert.true_peak", 4),
                (&song, "songs[1].assert.loudness", 10),
                (&song, "songs[1].assert.matches", 11),
            ]
        );
        assert_eq!(album.assertions[1].max_at.as_ref().map(|l| l.column), Some(39));
        assert_eq!(song.to_string(), "song 2 \"B\"");
    }

    #[test]
    fn a_songs_assertion_is_checked_as_a_mixs_is_and_its_reference_must_exist() {
        let text = format!(
            "{HEAD}songs:\n  - file: a.wav\n    title: A\n    assert:\n      loudness: {{ min: -8 LUFS, max: -20 LUFS }}\n      matches: {{ file: gone.wav }}\nassert:\n  loudness_range: {{}}\n"
        );
        assert_eq!(
            errors(&text),
            [
                ("bounds-reversed", "songs[0].assert.loudness.min".to_owned()),
                ("missing-file", "songs[0].assert.matches.file".to_owned()),
                ("empty-bounds", "assert.loudness_range".to_owned()),
            ]
        );
    }

    #[test]
    fn more_songs_than_a_cd_holds_is_an_error_only_with_a_cd_target() {
        let songs = "  - { file: a.wav, title: S }\n".repeat(100);
        let files = format!("{HEAD}songs:\n{songs}deliver:\n  web: {{ format: flac }}\n");
        assert!(errors(&files).is_empty());
        let cd = format!(
            "{HEAD}songs:\n{songs}deliver:\n  cd: {{ format: wav, sample_rate: 44.1 kHz, bit_depth: 16 }}\n"
        );
        assert_eq!(errors(&cd), [("too-many-tracks", "songs".to_owned())]);
    }
}
