//! Compiling a project: load the YAML, lower it, open every audio file's header, and
//! build the render graph. Every front end (`check`, `graph`, `explain`, `render`, `watch`)
//! compiles a mix through here, and resolves an album (its songs' mixes included) through
//! [`resolve_album`]. Nothing is printed: diagnostics come back sorted by their place in
//! the file, for the caller to show.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::audio::AudioError;
use crate::audio::probe::{Probe, probe};
use crate::cache::file_digest::hash_file;
use crate::diag::{Diagnostic, Location};
use crate::graph::{RenderGraph, build};
use crate::ir::step::Step;
use crate::ir::{Album, ContentDigest, ContentDigests, Mix, TrackInput, lower, lower_album};
use crate::project::{LoadedAlbum, LoadedMix, RawAlbum, Rejected, SetAside, load_album, load_mix};
use crate::units::tidy;

/// A project that compiled.
pub struct Compiled {
    /// The resolved mix.
    pub mix: Mix,
    /// Its render graph.
    pub graph: RenderGraph,
    /// Warnings found on the way.
    pub warnings: Vec<Diagnostic>,
}

/// A mix resolved without a graph of its own, for a caller that builds one graph of
/// several mixes (see [`crate::graph::GraphBuilder`]).
pub struct Resolved {
    /// The resolved mix.
    pub mix: Mix,
    /// Warnings found on the way.
    pub warnings: Vec<Diagnostic>,
}

/// An album resolved, with every song's mix resolved into it.
pub struct ResolvedAlbum {
    /// The resolved album.
    pub album: Album,
    /// Warnings found on the way, the album's and its mixes', each in its own file.
    pub warnings: Vec<Diagnostic>,
    /// Every file the album reads: its songs' mix files and what they read, its songs'
    /// audio files and the files its mastering chains read, for `watch` to follow.
    pub files: Vec<PathBuf>,
}

/// A project that did not compile.
pub struct Broken {
    /// Every diagnostic, errors and warnings, sorted by their place in the file.
    pub diagnostics: Vec<Diagnostic>,
    /// The audio files it names, as far as it reads (none when it does not parse at all),
    /// so that `watch` can see one of them appear.
    pub files: Vec<PathBuf>,
}

/// Compiles the mix at `path` into its own graph.
///
/// # Errors
/// When the project has an error; every diagnostic found is in the [`Broken`].
pub fn compile(path: &Path) -> Result<Compiled, Broken> {
    let Resolved { mix, warnings } = resolve(path)?;
    let graph = build(&mix);
    Ok(Compiled { mix, graph, warnings })
}

/// Loads, lowers and checks the mix at `path`, with its audio files' headers opened.
///
/// A file with type errors is still lowered, with its broken values set aside, so that its
/// routing and its audio files are checked in the same run.
///
/// # Errors
/// When the project has an error; every diagnostic found is in the [`Broken`].
pub fn resolve(path: &Path) -> Result<Resolved, Broken> {
    let (loaded, set_aside, mut diagnostics) = match load_mix(path) {
        Ok(loaded) => (Some(loaded), SetAside::default(), Vec::new()),
        Err(Rejected { diagnostics, remainder: Some(rest) }) => {
            (Some(rest.mix), rest.set_aside, diagnostics)
        }
        Err(Rejected { diagnostics, remainder: None }) => (None, SetAside::default(), diagnostics),
    };
    let mix = loaded.as_ref().map(|loaded| {
        let (mix, mut found) = lower(loaded, &mut HashedOnce::default());
        if !found.iter().any(Diagnostic::is_error) {
            found.extend(probe_sources(loaded, &mix));
        }
        let unrelated =
            |d: &Diagnostic| d.yaml_path.as_deref().is_none_or(|at| !set_aside.touches(at));
        diagnostics.extend(found.into_iter().filter(unrelated));
        mix
    });
    diagnostics
        .sort_by_key(|d| d.location.as_ref().map_or((usize::MAX, 0), |l| (l.line, l.column)));
    match mix {
        Some(mix) if !diagnostics.iter().any(Diagnostic::is_error) => {
            Ok(Resolved { mix, warnings: diagnostics })
        }
        mix => Err(Broken { diagnostics, files: mix.map(|mix| mix.files()).unwrap_or_default() }),
    }
}

/// Loads, lowers and checks the album at `path`: every song's mix is resolved as
/// [`resolve`] resolves a mix (its diagnostics located in the mix file), and every `file:`
/// song's header is opened, with a warning when it is converted to stereo or to the
/// album's rate.
///
/// # Errors
/// When the album or one of its mixes has an error; every diagnostic found, the album's
/// first and then each mix's, is in the [`Broken`], with every file read so far.
pub fn resolve_album(path: &Path) -> Result<ResolvedAlbum, Broken> {
    let (loaded, set_aside, mut diagnostics) = match load_album(path) {
        Ok(loaded) => (loaded, SetAside::default(), Vec::new()),
        Err(Rejected { diagnostics, remainder: Some(rest) }) => {
            (rest.mix, rest.set_aside, diagnostics)
        }
        Err(Rejected { diagnostics, remainder: None }) => {
            return Err(Broken { diagnostics, files: Vec::new() });
        }
    };
    let mut files = Vec::new();
    let mut from_mixes = Vec::new();
    let mut mixes = |mix_path: &Path| {
        files.push(mix_path.to_path_buf());
        match resolve(mix_path) {
            Ok(Resolved { mix, warnings }) => {
                from_mixes.extend(warnings);
                files.extend(mix.files());
                Some(mix)
            }
            Err(broken) => {
                from_mixes.extend(broken.diagnostics);
                files.extend(broken.files);
                None
            }
        }
    };
    let (album, mut found) = lower_album(&loaded, &mut HashedOnce::default(), &mut mixes);
    if !found.iter().any(Diagnostic::is_error) {
        found.extend(probe_songs(&loaded, &album));
    }
    let unrelated = |d: &Diagnostic| d.yaml_path.as_deref().is_none_or(|at| !set_aside.touches(at));
    diagnostics.extend(found.into_iter().filter(unrelated));
    diagnostics
        .sort_by_key(|d| d.location.as_ref().map_or((usize::MAX, 0), |l| (l.line, l.column)));
    diagnostics.extend(from_mixes);
    files.extend(album_files(&loaded.raw, &album));
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(Broken { diagnostics, files });
    }
    Ok(ResolvedAlbum { album, warnings: diagnostics, files })
}

/// The audio files an album reads itself: its `file:` songs and what its mastering chains
/// read.
fn album_files(raw: &RawAlbum, album: &Album) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (raw, song) in raw.songs.iter().zip(&album.songs) {
        if let (Some(_), crate::ir::SongInput::File(file)) = (&raw.file, &song.input) {
            files.push(file.clone());
        }
        for step in &song.chain {
            files.extend(step.files().into_iter().map(|f| f.path.clone()));
        }
    }
    files.sort();
    files.dedup();
    files
}

/// Opens the header of every `file:` song: an error at its line when it is not audio it
/// can use, and a warning when it is converted to stereo or to the album's rate.
fn probe_songs(loaded: &LoadedAlbum, album: &Album) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (i, (raw, song)) in loaded.raw.songs.iter().zip(&album.songs).enumerate() {
        let (Some(_), None, crate::ir::SongInput::File(file)) = (&raw.file, &raw.mix, &song.input)
        else {
            continue;
        };
        let yaml_path = format!("songs[{i}].file");
        let at = loaded.locate(&yaml_path);
        let outcome = probe(file);
        let mut diagnostics = audio_findings(file, &outcome);
        if let Ok(probe) = &outcome {
            diagnostics.extend(conversion(file, probe, album.sample_rate));
        }
        found.extend(diagnostics.into_iter().map(|d| d.at(at.clone(), Some(yaml_path.clone()))));
    }
    found
}

/// The warning that a song's file is converted on its way into the album: to stereo, to
/// the album's rate, or both.
fn conversion(file: &Path, probe: &Probe, album_rate: u32) -> Option<Diagnostic> {
    let mono = probe.channels == 1;
    let other_rate = probe.sample_rate != album_rate;
    let name = file
        .file_name()
        .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let (is, becomes) = match (mono, other_rate) {
        (false, false) => return None,
        (true, false) => ("mono".to_owned(), "to stereo".to_owned()),
        (false, true) => {
            (format!("at {}", khz(probe.sample_rate)), format!("to {}", khz(album_rate)))
        }
        (true, true) => (
            format!("mono at {}", khz(probe.sample_rate)),
            format!("to stereo at {}", khz(album_rate)),
        ),
    };
    Some(
        Diagnostic::warning(
            "song-converted",
            format!("`{name}` is {is}; it is converted {becomes}"),
        )
        .with_label(format!("converted {becomes}"))
        .with_help("export the song as a stereo file at the album's rate to master it as it is"),
    )
}

/// A rate in kHz as a person writes it: `44.1 kHz`, `48 kHz`.
fn khz(rate: u32) -> String {
    format!("{} kHz", f64::from(rate) / 1000.0)
}

/// The digests of the files a mix's chain steps read, each file read once per compile
/// however many steps name it.
#[derive(Default)]
struct HashedOnce(BTreeMap<PathBuf, ContentDigest>);

impl ContentDigests for HashedOnce {
    fn digest(&mut self, path: &Path) -> io::Result<ContentDigest> {
        if let Some(&digest) = self.0.get(path) {
            return Ok(digest);
        }
        let digest = ContentDigest(hash_file(path)?.0);
        self.0.insert(path.to_path_buf(), digest);
        Ok(digest)
    }
}

/// Every audio file a mix reads, stems and impulse responses, with the YAML path of the
/// value that names it.
fn named_files(mix: &Mix) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for t in &mix.tracks {
        match &t.input {
            TrackInput::Source(file) => {
                files.push((format!("tracks.{}.source", t.name), file.clone()));
            }
            TrackInput::Clips(clips) => files.extend(
                clips
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("tracks.{}.clips[{i}].file", t.name), c.file.clone())),
            ),
        }
    }
    let chains = mix.tracks.iter().map(|t| (format!("tracks.{}.chain", t.name), &t.chain));
    let chains =
        chains.chain(mix.buses.iter().map(|b| (format!("buses.{}.chain", b.name), &b.chain)));
    for (path, chain) in chains.chain([("master.chain".to_owned(), &mix.master.chain)]) {
        files_in_chain(&path, chain, &mut files);
    }
    files
}

/// The files the steps of `chain` (written at `path`) read, inside parallel branches too.
fn files_in_chain(path: &str, chain: &[Step], files: &mut Vec<(String, PathBuf)>) {
    for (i, step) in chain.iter().enumerate() {
        match step {
            Step::Convolution(step) => {
                files.push((format!("{path}[{i}].convolution.ir"), step.file.path.clone()));
            }
            Step::Parallel(branches) => {
                for (b, branch) in branches.iter().enumerate() {
                    files_in_chain(&format!("{path}[{i}].parallel[{b}]"), branch, files);
                }
            }
            _ => {}
        }
    }
}

/// Opens every audio file's header (stems and impulse responses), so that a file that is not audio, is cut short, or
/// declares what no render can use fails the check at the line naming it rather than half
/// way through a render; and warns, at the same line, of a file whose content is not the
/// format its name says or that holds no audio at all.
fn probe_sources(loaded: &LoadedMix, mix: &Mix) -> Vec<Diagnostic> {
    let mut probed: BTreeMap<PathBuf, Result<Probe, AudioError>> = BTreeMap::new();
    let mut found = Vec::new();
    for (yaml_path, file) in named_files(mix) {
        let outcome = probed.entry(file.clone()).or_insert_with(|| probe(&file));
        let at = loaded.locate(&yaml_path);
        let diagnostics = audio_findings(&file, outcome);
        found.extend(diagnostics.into_iter().map(|d| d.at(at.clone(), Some(yaml_path.clone()))));
    }
    found.extend(clips_past_the_end(loaded, mix, &probed));
    found
}

/// What opening an audio file's header found: an error when it is not audio a render can
/// use, warnings when its content is not the format its name says or it holds no audio.
/// Unlocated: the caller places them at the line naming the file.
fn audio_findings(file: &Path, outcome: &Result<Probe, AudioError>) -> Vec<Diagnostic> {
    let shown = file.display();
    match outcome {
        Err(error) => {
            let (label, help) = match error {
                AudioError::Truncated { .. } | AudioError::CutShort { .. } => (
                    "cut short",
                    "the file was cut short, by an interrupted copy or export; copy or export it again",
                ),
                AudioError::Empty { .. } | AudioError::NoAudio { .. } => {
                    ("no audio in it", "export the audio again, or point to another file")
                }
                _ => (
                    "not readable audio",
                    "re-export the file as WAV or FLAC, or point to another file",
                ),
            };
            vec![
                Diagnostic::error("unreadable-audio", error.to_string())
                    .with_label(label)
                    .with_help(help),
            ]
        }
        Ok(probe) => {
            let mut warnings = Vec::new();
            if let Some((real, promised)) = probe.disguised_as() {
                warnings.push(
                    Diagnostic::warning(
                        "audio-format-mismatch",
                        format!("`{shown}` holds {} audio, not {}", real.name(), promised.name()),
                    )
                    .with_label(format!("{} data under a {} name", real.name(), promised.name()))
                    .with_help(format!(
                        "rename it to `{}`, so that every tool reads it as what it is",
                        file.with_extension(real.extension()).display()
                    )),
                );
            }
            if probe.is_silent_nothing() {
                warnings.push(
                    Diagnostic::warning(
                        "empty-audio",
                        format!("`{shown}` holds no audio (0 frames)"),
                    )
                    .with_label("0 frames")
                    .with_help("its track is silent and adds nothing to the mix's length; export the stem again, or remove the track"),
                );
            }
            warnings
        }
    }
}

/// An error for each clip that starts at or past the end of its file, which would play
/// nothing, at the line of its `start:`.
fn clips_past_the_end(
    loaded: &LoadedMix,
    mix: &Mix,
    probed: &BTreeMap<PathBuf, Result<Probe, AudioError>>,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for track in &mix.tracks {
        let TrackInput::Clips(clips) = &track.input else { continue };
        for (i, clip) in clips.iter().enumerate() {
            let Some(Ok(probe)) = probed.get(&clip.file) else { continue };
            let Some(frames) = probe.frames.filter(|&f| f > 0) else { continue };
            let length = frames as f64 / f64::from(probe.sample_rate);
            if clip.start < length {
                continue;
            }
            let yaml_path = format!("tracks.{}.clips[{i}].start", track.name);
            found.push(
                Diagnostic::error(
                    "clip-past-end",
                    format!(
                        "the clip starts {} s into `{}`, which is only {} s long",
                        tidy(clip.start),
                        clip.file.display(),
                        tidy(length)
                    ),
                )
                .at(loaded.locate(&yaml_path), Some(yaml_path))
                .with_label("past the end of the file")
                .with_help(format!(
                    "`start:` is where in the file the clip begins; give a time under {} s",
                    tidy(length)
                )),
            );
        }
    }
    found
}

/// Where in the project at `project` the audio file `file` is named: the YAML path and its
/// location, for an error that a render found in that file. `None` when the project no
/// longer loads or does not name the file.
#[must_use]
pub fn locate_audio_file(project: &Path, file: &Path) -> Option<(String, Location)> {
    let loaded = load_mix(project).ok()?;
    let (mix, _) = lower(&loaded, &mut HashedOnce::default());
    let (yaml_path, _) = named_files(&mix).into_iter().find(|(_, named)| named == file)?;
    let location = loaded.locate(&yaml_path)?;
    Some((yaml_path, location))
}

/// Where `yaml_path` (`master.loudness`) is written in `project`, for an error found while
/// rendering; `None` when the file no longer loads or does not write it.
#[must_use]
pub fn locate_yaml_path(project: &Path, yaml_path: &str) -> Option<(String, Location)> {
    let loaded = load_mix(project).ok()?;
    let location = loaded.locate_key(yaml_path)?;
    Some((yaml_path.to_owned(), location))
}
