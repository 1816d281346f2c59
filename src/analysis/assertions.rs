//! Assertions checked against a finished render: each signal a mix asserts on is measured
//! once (a track or bus from its cache entry, the master from its delivered file and the
//! record of its clipping, or, for a mix with a `deliver:` block, as its deliverables
//! encode it), and every check is held to its bounds. An album's songs and
//! the album take their loudness, peaks and range from the delivered analysis's record
//! (the figures `report.json` gives), their clipping from what each delivered file's
//! encode recorded, and are read from their album-rate segments only for a correlation or
//! a null test. A song's own mix keeps its assertions in an album:
//! they measure its nodes under the song's id, and its master as the song reads it.
//!
//! This module measures and judges; it does not render, print or choose an exit code.
//! Every front end (`render`, `watch`, `test`) reports the [`Outcome`]s its own way.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;

use super::{
    AlbumAudio, AudioStream, FileStream, Measurement, Residual, correlation, measure, null_test,
};
use crate::audio::loudness::LoudnessRecord;
use crate::cache::encoded::{EncodedReader, open_encoded};
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::measurement;
use crate::cache::output_record::OutputRecord;
use crate::cache::store::Store;
use crate::diag::Diagnostic;
use crate::graph::{DELIVERED_ANALYSIS, EncodeSpan, NodeKind, RenderGraph};
use crate::ir::{Album, Assertion, Check, Mix, SongInput, Subject};
use crate::render::{AlbumRecord, Delivery, MixMaster};

/// Where a finished render's audio is: the graph and its keys, the cache that holds its
/// nodes, and where its files were delivered.
pub struct RenderedAudio<'a> {
    /// The graph rendered.
    pub graph: &'a RenderGraph,
    /// Its keys.
    pub keys: &'a Keys,
    /// The cache entries.
    pub store: &'a Store,
    /// The cache folder, which holds the records of delivered files.
    pub cache: &'a CacheDir,
    /// Where the outputs went.
    pub delivery: &'a Delivery,
}

/// A bound that a measured value broke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BrokenBound {
    /// The value is below this minimum.
    Min(f64),
    /// The value is above this maximum.
    Max(f64),
    /// The value is missing where the check needs one (the loudness of silence).
    Unmeasurable,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The value measured, in `unit`; `None` when there is none (silence).
    pub measured: Option<f64>,
    /// The unit of the value and its bounds.
    pub unit: &'static str,
    /// The bound it broke, if it broke one.
    pub broken: Option<BrokenBound>,
}

/// One assertion and what checking it came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The assertion.
    pub assertion: Assertion,
    /// What was found, or why the audio could not be measured.
    pub finding: Result<Finding, String>,
}

impl Outcome {
    /// Whether the assertion holds.
    #[must_use]
    pub fn passed(&self) -> bool {
        matches!(&self.finding, Ok(Finding { broken: None, .. }))
    }

    /// One sentence saying what was measured against what: `the master's true peak is
    /// -0.31 dBTP, above the maximum of -0.5 dBTP`, `the true peak of song 2 "Tidewater"
    /// is …`.
    #[must_use]
    pub fn message(&self) -> String {
        let (subject, quantity) = (&self.assertion.subject, quantity(&self.assertion.check));
        let what = match subject {
            Subject::Song { .. } => format!("the {quantity} of {subject}"),
            _ => format!("{subject}'s {quantity}"),
        };
        let finding = match &self.finding {
            Err(why) => return format!("cannot measure {what}: {why}"),
            Ok(finding) => finding,
        };
        let unit = finding.unit;
        let mut message = match finding.measured {
            Some(value) => format!("{what} is {}", amount(value, unit)),
            None => format!("{what} is not measurable (silent, or too short)"),
        };
        let _ = match finding.broken {
            Some(BrokenBound::Min(min)) => {
                write!(message, ", below the minimum of {}", amount(min, unit))
            }
            Some(BrokenBound::Max(max)) => {
                write!(message, ", above the maximum of {}", amount(max, unit))
            }
            Some(BrokenBound::Unmeasurable) | None => Ok(()),
        };
        message
    }
}

impl Outcome {
    /// The lowest and the highest value that pass, in the finding's unit.
    #[must_use]
    pub fn bounds(&self) -> (Option<f64>, Option<f64>) {
        limits(&self.assertion.check)
    }

    /// A failed assertion as an error located at the bound it broke (or at the check, when
    /// no bound is to blame).
    #[must_use]
    pub fn diagnostic(&self) -> Diagnostic {
        let assertion = &self.assertion;
        let bound = match &self.finding {
            Ok(Finding { broken: Some(BrokenBound::Min(_)), .. }) => {
                Some((&assertion.min_at, "min", "the minimum"))
            }
            Ok(Finding { broken: Some(BrokenBound::Max(_)), .. }) => {
                Some((&assertion.max_at, "max", "the maximum"))
            }
            _ => None,
        };
        let (at, path, label) = match bound {
            Some((at @ Some(_), key, label)) => {
                (at, format!("{}.{key}", assertion.yaml_path), label)
            }
            _ => (&assertion.location, assertion.yaml_path.clone(), "asserted here"),
        };
        Diagnostic::error("assertion-failed", self.message())
            .at(at.clone(), Some(path))
            .with_label(label)
    }
}

/// `12.30 LU`, `0.75` (a correlation has no unit).
fn amount(value: f64, unit: &str) -> String {
    if unit.is_empty() { format!("{value:.2}") } else { format!("{value:.2} {unit}") }
}

/// The lowest and the highest value that pass a check, in its unit.
fn limits(check: &Check) -> (Option<f64>, Option<f64>) {
    match *check {
        Check::Loudness { min, max } | Check::LoudnessRange { min, max } => (min, max),
        Check::TruePeak { max } | Check::ShortTermMax { max } => (None, Some(max)),
        Check::Correlation { min } => (Some(min), None),
        Check::NoClipping => (None, Some(0.0)),
        Check::Matches { tolerance_db, .. } => (None, Some(tolerance_db)),
    }
}

fn quantity(check: &Check) -> String {
    match check {
        Check::Loudness { .. } => "integrated loudness".into(),
        Check::TruePeak { .. } => "true peak".into(),
        Check::ShortTermMax { .. } => "loudest short-term window".into(),
        Check::LoudnessRange { .. } => "loudness range".into(),
        Check::Correlation { .. } => "left-right correlation".into(),
        Check::NoClipping => "sample peak".into(),
        Check::Matches { file, .. } => format!("difference from `{}`", file.display()),
    }
}

/// Where a mix's audio is in a render.
#[derive(Debug, Clone, Copy)]
enum MixPlace<'a> {
    /// Rendered alone: its nodes under the mix's id, its master as the file delivered.
    Alone,
    /// An album's song: its nodes under the song's id, its master as the song reads it.
    Song(&'a str),
}

/// Checks every assertion of `mix` against its finished render.
#[must_use]
pub fn check(mix: &Mix, audio: &RenderedAudio<'_>) -> Vec<Outcome> {
    check_mix(mix, MixPlace::Alone, audio)
}

/// Checks the assertions of each song's own mix in `album` against the album's finished
/// render, song by song: its tracks and buses as a render of the mix alone measures them,
/// its master as the song reads it (cut to the mix's length, before the album's chain,
/// gain and limiter), which is the audio of the mix's own file.
#[must_use]
pub fn check_song_mixes(album: &Album, audio: &RenderedAudio<'_>) -> Vec<Outcome> {
    album
        .songs
        .iter()
        .flat_map(|song| match &song.input {
            SongInput::Mix(mix) => check_mix(mix, MixPlace::Song(&song.id), audio),
            SongInput::File(_) => Vec::new(),
        })
        .collect()
}

/// The nodes whose entries or records the assertions of `album` and of its songs' mixes
/// read: a render that checks them must have them in its cache, even where a cached song
/// or a single target leaves them out of the walk.
#[must_use]
pub fn album_measured_nodes(album: &Album, graph: &RenderGraph) -> Vec<NodeIndex> {
    let mut nodes = BTreeSet::new();
    if !album.assertions.is_empty() {
        nodes.extend(graph.find(DELIVERED_ANALYSIS));
    }
    for song in &album.songs {
        let SongInput::Mix(mix) = &song.input else { continue };
        // The mix's master, which the song node reads.
        let master = || {
            graph
                .find(&format!("{}/song", song.id))
                .and_then(|node| graph.graph[node].main_inputs().first().copied())
        };
        nodes.extend(asserted_nodes(mix, graph, &song.id, master));
    }
    nodes.into_iter().collect()
}

/// The nodes whose entries the assertions of `mix`, rendered alone, read: its asserted
/// tracks and buses, and its master when deliverables encode it (without them the master
/// is measured in the file it writes). A render that checks them must have them in its
/// cache, even where a cached master, or one taken from a remote cache, cut the walk
/// short of them.
#[must_use]
pub fn mix_measured_nodes(mix: &Mix, graph: &RenderGraph) -> Vec<NodeIndex> {
    let master = || {
        let first = mix.deliver.first()?;
        let encode = graph.find(&format!("{}/encode/{}", mix.id, first.name))?;
        graph.graph[encode].main_inputs().first().copied()
    };
    let nodes: BTreeSet<NodeIndex> = asserted_nodes(mix, graph, &mix.id, master).collect();
    nodes.into_iter().collect()
}

/// The nodes the assertions of `mix`, its nodes under `prefix`, measure: a track or a bus,
/// or what `master` finds for the master.
fn asserted_nodes<'a>(
    mix: &'a Mix,
    graph: &'a RenderGraph,
    prefix: &'a str,
    master: impl Fn() -> Option<NodeIndex> + 'a,
) -> impl Iterator<Item = NodeIndex> + 'a {
    mix.assertions.iter().filter_map(move |assertion| match &assertion.subject {
        Subject::Track(name) => graph.find(&format!("{prefix}/track/{name}")),
        Subject::Bus(name) => graph.find(&format!("{prefix}/bus/{name}")),
        _ => master(),
    })
}

/// Checks every assertion of `mix`, placed in the render at `place`.
fn check_mix(mix: &Mix, place: MixPlace<'_>, audio: &RenderedAudio<'_>) -> Vec<Outcome> {
    let mut measured: BTreeMap<Subject, Result<Measurement, String>> = BTreeMap::new();
    let open = |subject: &Subject| open(mix, place, audio, subject);
    mix.assertions
        .iter()
        .map(|assertion| {
            let subject = &assertion.subject;
            let finding = match (&assertion.check, place) {
                (check @ Check::Matches { file, .. }, _) => {
                    null_against(open(subject), file).map(|r| residual(check, &r))
                }
                (Check::NoClipping, MixPlace::Alone)
                    if *subject == Subject::Master && mix.deliver.is_empty() =>
                {
                    master_clipping(mix, audio)
                }
                (check, _) => measured
                    .entry(subject.clone())
                    .or_insert_with(|| open(subject).and_then(|mut s| measure(s.as_mut())))
                    .clone()
                    .map(|m| judge(check, &m)),
            };
            Outcome { assertion: assertion.clone(), finding }
        })
        .collect()
}

/// Checks every assertion of `album` against its finished render: a song's span of the
/// album-rate timeline, or the whole of it.
#[must_use]
pub fn check_album(album: &Album, audio: &RenderedAudio<'_>) -> Vec<Outcome> {
    if album.assertions.is_empty() {
        return Vec::new();
    }
    let found = AlbumAudio::find(audio.graph, audio.keys, audio.cache)
        .and_then(|spans| Ok((spans, delivered_record(audio)?)));
    album
        .assertions
        .iter()
        .map(|assertion| {
            let (subject, check) = (&assertion.subject, &assertion.check);
            let finding = match &found {
                Err(why) => Err(why.clone()),
                Ok((spans, record)) => {
                    let open = || open_in_album(spans, audio, subject);
                    match check {
                        Check::Matches { file, .. } => {
                            null_against(open(), file).map(|r| residual(check, &r))
                        }
                        Check::Correlation { .. } => open()
                            .and_then(|mut stream| correlation(stream.as_mut()))
                            .map(|value| bound(check, value)),
                        Check::NoClipping => delivered_clipping(audio, subject).map_or_else(
                            || {
                                loudness_in_album(record, subject)
                                    .map(|l| bound(check, reading(check, l)))
                            },
                            Ok,
                        ),
                        check => loudness_in_album(record, subject)
                            .map(|loudness| bound(check, reading(check, loudness))),
                    }
                }
            };
            Outcome { assertion: assertion.clone(), finding }
        })
        .collect()
}

/// The encoded streams of the files delivered for `subject` in this render: a song's own
/// files, or every file of the album.
fn delivered_files<'a>(
    audio: &'a RenderedAudio<'_>,
    subject: &'a Subject,
) -> impl Iterator<Item = EncodedReader> + 'a {
    audio
        .graph
        .graph
        .node_indices()
        .filter(move |&node| match (&audio.graph.graph[node].kind, subject) {
            (
                NodeKind::AlbumEncode { span: EncodeSpan::Song(j), .. },
                Subject::Song { index, .. },
            ) => j == index,
            (NodeKind::AlbumEncode { .. }, Subject::Album) => true,
            _ => false,
        })
        .filter_map(|node| open_encoded(audio.store, &audio.keys.key(node)).ok())
}

/// Whether any file delivered for `subject` clipped, from what each encode recorded: a
/// sample clipped in an integer file, or beyond full scale before conversion. The
/// measured value is the loudest sample of any of them; `None` when this render
/// delivered no file for `subject`.
fn delivered_clipping(audio: &RenderedAudio<'_>, subject: &Subject) -> Option<Finding> {
    let (peak, clipped) = delivered_files(audio, subject).fold(None, |seen, file| {
        let facts = file.facts();
        let (peak, clipped) = seen.unwrap_or((0.0f32, false));
        Some((peak.max(facts.peak), clipped || facts.clipped_samples > 0 || facts.peak > 1.0))
    })?;
    Some(Finding {
        measured: Some(20.0 * f64::from(peak).log10()).filter(|db| db.is_finite()),
        unit: "dBFS",
        broken: clipped.then_some(BrokenBound::Max(0.0)),
    })
}

/// The delivered analysis's record: each song's loudness and the album's, after the
/// limiter.
fn delivered_record(audio: &RenderedAudio<'_>) -> Result<AlbumRecord, String> {
    let node = audio.graph.find(DELIVERED_ANALYSIS).ok_or("the album has no delivered analysis")?;
    measurement::load(audio.cache, audio.keys.key(node))
        .ok_or_else(|| "the album's delivered analysis has no record".to_owned())
}

/// A song's or the album's loudness record.
fn loudness_in_album<'a>(
    record: &'a AlbumRecord,
    subject: &Subject,
) -> Result<&'a LoudnessRecord, String> {
    match subject {
        Subject::Song { index, .. } => {
            record.songs.get(*index).ok_or_else(|| format!("the album's record has no {subject}"))
        }
        Subject::Album => Ok(&record.album),
        _ => Err(format!("{subject} is not part of an album")),
    }
}

/// Opens a song's span of the album-rate timeline, or the whole of it.
fn open_in_album<'a>(
    spans: &'a AlbumAudio,
    audio: &RenderedAudio<'a>,
    subject: &Subject,
) -> Result<Box<dyn AudioStream + 'a>, String> {
    match subject {
        Subject::Song { index, .. } => spans.open_song(audio.store, *index),
        Subject::Album => Ok(spans.open_album(audio.store)),
        _ => Err(format!("{subject} is not part of an album")),
    }
}

/// Holds a measurement to a check's bounds.
fn judge(check: &Check, m: &Measurement) -> Finding {
    let value = match check {
        Check::Correlation { .. } => m.correlation,
        Check::NoClipping => Some(20.0 * m.peak.log10()).filter(|db| db.is_finite()),
        check => reading(check, &m.loudness),
    };
    bound(check, value)
}

/// The value a check reads from a loudness record, in its unit: none for a correlation or
/// a null test, which the record does not hold.
fn reading(check: &Check, loudness: &LoudnessRecord) -> Option<f64> {
    match check {
        Check::Loudness { .. } => loudness.integrated,
        Check::TruePeak { .. } => loudness.true_peak,
        Check::ShortTermMax { .. } => loudness.short_term_max,
        Check::LoudnessRange { .. } => loudness.loudness_range,
        Check::NoClipping => loudness.sample_peak,
        Check::Correlation { .. } | Check::Matches { .. } => None,
    }
}

/// A null test's residual held to its tolerance.
fn residual(check: &Check, residual: &Residual) -> Finding {
    bound(check, Some(residual.peak_db()).filter(|db| db.is_finite()))
}

/// Holds `measured` to a check's bounds; a value a check needs but the audio lacks (the
/// loudness of silence) breaks it.
fn bound(check: &Check, measured: Option<f64>) -> Finding {
    let (unit, required) = match *check {
        Check::Loudness { .. } => ("LUFS", true),
        Check::TruePeak { .. } => ("dBTP", false),
        Check::ShortTermMax { .. } => ("LUFS", false),
        Check::LoudnessRange { min, .. } => ("LU", min.is_some()),
        Check::Correlation { .. } => ("", false),
        Check::NoClipping | Check::Matches { .. } => ("dBFS", false),
    };
    let (min, max) = limits(check);
    let broken = match measured {
        None => required.then_some(BrokenBound::Unmeasurable),
        Some(v) if min.is_some_and(|min| v < min) => min.map(BrokenBound::Min),
        Some(v) if max.is_some_and(|max| v > max) => max.map(BrokenBound::Max),
        Some(_) => None,
    };
    Finding { measured, unit, broken }
}

/// The master's clipping, from the record of the file delivered: a sample beyond full
/// scale before conversion, or clipped in an integer file.
fn master_clipping(mix: &Mix, audio: &RenderedAudio<'_>) -> Result<Finding, String> {
    let path = audio.delivery.path(&mix.id);
    let record = OutputRecord::load(audio.cache, &path)
        .ok_or_else(|| format!("no record of `{}` having been written", path.display()))?;
    let peak_db = 20.0 * f64::from(record.peak).log10();
    let clipped = record.clipped_samples > 0 || record.peak > 1.0;
    Ok(Finding {
        measured: Some(peak_db).filter(|db| db.is_finite()),
        unit: "dBFS",
        broken: clipped.then_some(BrokenBound::Max(0.0)),
    })
}

/// The null test of a subject's audio against a reference file, read at the subject's rate.
fn null_against(
    ours: Result<Box<dyn AudioStream + '_>, String>,
    reference: &Path,
) -> Result<Residual, String> {
    let mut ours = ours?;
    let rate = ours.sample_rate();
    let mut theirs = FileStream::open(reference, Some(rate))?;
    null_test(ours.as_mut(), &mut theirs)
}

/// Opens a subject's audio: a track's or bus's cache entry; the master's delivered file,
/// or in an album the mix master its song reads.
fn open(
    mix: &Mix,
    place: MixPlace<'_>,
    audio: &RenderedAudio<'_>,
    subject: &Subject,
) -> Result<Box<dyn AudioStream>, String> {
    let prefix = match place {
        MixPlace::Alone => mix.id.as_str(),
        MixPlace::Song(song) => song,
    };
    let find =
        |id: &str| audio.graph.find(id).ok_or_else(|| format!("the graph has no node `{id}`"));
    let id = match (subject, place) {
        (Subject::Track(name), _) => format!("{prefix}/track/{name}"),
        (Subject::Bus(name), _) => format!("{prefix}/bus/{name}"),
        (Subject::Master, MixPlace::Alone) if mix.deliver.is_empty() => {
            let path: PathBuf = audio.delivery.path(&mix.id);
            return Ok(Box::new(FileStream::open(&path, None)?));
        }
        (Subject::Master, MixPlace::Alone) => {
            // A mix with deliverables writes no file of its own: its master is the audio
            // they encode, each at its own rate and word length.
            let encode = find(&format!("{prefix}/encode/{}", mix.deliver[0].name))?;
            let master = audio.graph.graph[encode].main_inputs()[0];
            let cut = (mix.length, mix.cut_fade_seconds);
            let master = MixMaster::cut(audio.graph, audio.keys, audio.store, master, cut);
            return Ok(Box::new(master.map_err(|e| e.to_string())?));
        }
        (Subject::Master, MixPlace::Song(_)) => {
            let song = find(&format!("{prefix}/song"))?;
            let master = MixMaster::open(audio.graph, audio.keys, audio.store, song);
            return match master.map_err(|e| e.to_string())? {
                Some(master) => Ok(Box::new(master)),
                None => Err(format!("song `{prefix}` is not a mix")),
            };
        }
        (Subject::Song { .. } | Subject::Album, _) => {
            return Err(format!("{subject} is not part of a mix"));
        }
    };
    let node = find(&id)?;
    let entry = audio.store.open_entry(&audio.keys.key(node)).map_err(|e| e.to_string())?;
    Ok(Box::new(entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::loudness::LoudnessRecord;

    fn silence() -> Measurement {
        let loudness = LoudnessRecord {
            integrated: None,
            momentary_max: None,
            short_term_max: None,
            loudness_range: None,
            sample_peak: None,
            true_peak: None,
            duration: 10.0,
        };
        Measurement { loudness, correlation: None, peak: 0.0 }
    }

    #[test]
    fn silence_fails_a_loudness_floor_but_passes_every_ceiling() {
        let broken = |check: Check| judge(&check, &silence()).broken;
        let floor = Check::Loudness { min: Some(-30.0), max: None };
        assert_eq!(broken(floor), Some(BrokenBound::Unmeasurable));
        assert_eq!(broken(Check::TruePeak { max: -1.0 }), None);
        assert_eq!(broken(Check::ShortTermMax { max: -10.0 }), None);
        assert_eq!(broken(Check::NoClipping), None);
        let range_floor = Check::LoudnessRange { min: Some(1.0), max: None };
        assert_eq!(broken(range_floor), Some(BrokenBound::Unmeasurable));
        assert_eq!(broken(Check::LoudnessRange { min: None, max: Some(9.0) }), None);
    }

    #[test]
    fn a_value_on_its_bound_passes_and_one_past_it_names_the_bound() {
        let mut m = silence();
        m.loudness.true_peak = Some(-1.0);
        assert_eq!(judge(&Check::TruePeak { max: -1.0 }, &m).broken, None);
        m.loudness.true_peak = Some(-0.99);
        assert_eq!(judge(&Check::TruePeak { max: -1.0 }, &m).broken, Some(BrokenBound::Max(-1.0)));
        m.correlation = Some(0.1);
        let floor = Check::Correlation { min: 0.2 };
        assert_eq!(judge(&floor, &m).broken, Some(BrokenBound::Min(0.2)));
        m.peak = 1.0001;
        assert_eq!(judge(&Check::NoClipping, &m).broken, Some(BrokenBound::Max(0.0)));
    }
}
