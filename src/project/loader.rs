//! Reading a project file, a mix or an album: the only place that names the YAML library.
//!
//! `serde_yaml` is no longer maintained upstream; keeping it behind this one file means it can
//! be swapped without touching anything else. Both kinds of file go through the same
//! machinery (size limits, UTF-8, the source map, keys written twice, every type error
//! located); what differs between them is said once, in their [`Document`] impls.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_path_to_error::Segment;
use serde_yaml::Value;

use super::album::{RawAlbum, RawAlbumMastering, RawAlbumTarget, RawSong};
use super::mix::{RawBus, RawMaster, RawMix, RawTrack};
use super::source_map::{
    Limit, MAX_ALIAS_NODES, MAX_DEPTH, MAX_KEY_CHARS, MAX_REPLAYS_PER_EVENT, Refusal, SourceMap,
    Span,
};
use crate::diag::{Diagnostic, Location, did_you_mean};
use crate::units::{SampleRate, Tempo, with_sample_rate, with_tempo};

/// A parsed project file with what is needed to point at its text.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The raw model.
    pub raw: T,
    /// The file as the user named it.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// YAML paths → positions.
    pub source_map: SourceMap,
}

/// A parsed mix file.
pub type LoadedMix = Loaded<RawMix>;

/// A parsed album file.
pub type LoadedAlbum = Loaded<RawAlbum>;

impl<T> Loaded<T> {
    /// The location of the value at `yaml_path`, for a diagnostic.
    #[must_use]
    pub fn locate(&self, yaml_path: &str) -> Option<Location> {
        self.source_map.value(yaml_path).map(|span| location(&self.path, &self.text, span))
    }

    /// The location of the key that introduces `yaml_path`.
    #[must_use]
    pub fn locate_key(&self, yaml_path: &str) -> Option<Location> {
        self.source_map.key(yaml_path).map(|span| location(&self.path, &self.text, span))
    }
}

/// A project file that does not read as its kind of project.
#[derive(Debug)]
pub struct Rejected<T = RawMix> {
    /// Why, located.
    pub diagnostics: Vec<Diagnostic>,
    /// What is left with every broken value set aside, when that still reads as a project:
    /// enough to check its routing and its audio files in the same run.
    pub remainder: Option<Box<Remainder<T>>>,
}

/// A project file with its broken values set aside: a broken chain step replaced by one
/// that does nothing, any other broken field of a part (a track, a bus, the master, a
/// song, a target) left out. There is none when a top-level setting is broken, since the
/// sample rate or the tempo bear on every value.
#[derive(Debug)]
pub struct Remainder<T = RawMix> {
    /// The project without them.
    pub mix: Loaded<T>,
    /// What was set aside.
    pub set_aside: SetAside,
}

/// The YAML paths of the values set aside from a mix file.
#[derive(Debug, Default)]
pub struct SetAside(Vec<String>);

impl SetAside {
    /// Whether a finding at `yaml_path` may be an effect of leaving a value out (a track
    /// whose `clips:` went has no audio): it lies at or inside a value set aside, or holds
    /// one.
    #[must_use]
    pub fn touches(&self, yaml_path: &str) -> bool {
        self.0.iter().any(|aside| lies_within(yaml_path, aside) || lies_within(aside, yaml_path))
    }
}

impl<T> Rejected<T> {
    fn only(diagnostics: Vec<Diagnostic>) -> Self {
        Self { diagnostics, remainder: None }
    }
}

/// The largest project file read, in bytes (4 MiB). A mix of a hundred tracks with long
/// chains is about 100 KB; a larger file is not a mix, and reading it would cost memory in
/// proportion.
pub const MAX_PROJECT_BYTES: usize = 4 << 20;

/// A kind of project file, and how its parts are checked one by one.
pub trait Document: DeserializeOwned {
    /// What the file holds, for messages: `mix`, `album`.
    const NOUN: &'static str;
    /// What an empty file is told it needs.
    const EMPTY_HELP: &'static str;
    /// What its keys name, for a key too long.
    const KEYS_NAME: &'static str;
    /// The sections whose entries are checked each on its own, so that one run reports
    /// every entry's errors. Each section must default when it is left out: the top level
    /// is checked without them.
    const SECTIONS: &'static [Section];
}

/// A section of a project file whose entries are checked each on its own.
pub struct Section {
    name: &'static str,
    layout: Layout,
    check: fn(&Value, Context) -> PartCheck,
}

/// How a section holds its entries.
#[derive(Clone, Copy)]
enum Layout {
    /// A mapping of named entries (`tracks.a`).
    Named,
    /// A list (`songs[2]`).
    Listed,
    /// The section is one entry (`master`).
    Whole,
}

impl Section {
    const fn of<T: DeserializeOwned>(name: &'static str, layout: Layout) -> Self {
        Self { name, layout, check: check_part::<T> }
    }
}

impl Document for RawMix {
    const NOUN: &'static str = "mix";
    const EMPTY_HELP: &'static str = "a mix needs at least `mix: <title>` and some `tracks:`";
    const KEYS_NAME: &'static str = "tracks, buses and settings";
    const SECTIONS: &'static [Section] = &[
        Section::of::<RawTrack>("tracks", Layout::Named),
        Section::of::<RawBus>("buses", Layout::Named),
        Section::of::<RawMaster>("master", Layout::Whole),
    ];
}

impl Document for super::settings::RawSettings {
    const NOUN: &'static str = "settings";
    const EMPTY_HELP: &'static str = "a settings file holds a `cache:` section";
    const KEYS_NAME: &'static str = "settings";
    const SECTIONS: &'static [Section] = &[];
}

impl Document for RawAlbum {
    const NOUN: &'static str = "album";
    const EMPTY_HELP: &'static str =
        "an album needs at least `album: <title>`, `artist:` and some `songs:`";
    const KEYS_NAME: &'static str = "targets and settings";
    const SECTIONS: &'static [Section] = &[
        Section::of::<RawSong>("songs", Layout::Listed),
        Section::of::<RawAlbumMastering>("mastering", Layout::Whole),
        Section::of::<RawAlbumTarget>("deliver", Layout::Named),
    ];
}

/// Which kind of project a file holds, for a front end to dispatch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectKind {
    /// A mix (`mix:` at the top).
    Mix,
    /// An album (`album:` at the top, and no `mix:`).
    Album,
}

/// Whether the file at `path` holds an album or a mix. A file that cannot be read or
/// parsed counts as a mix, whose loading then says what is wrong with it.
#[must_use]
pub fn project_kind(path: &Path) -> ProjectKind {
    let text = read_at_most(path, MAX_PROJECT_BYTES).ok().and_then(|b| String::from_utf8(b).ok());
    let text = text.as_deref().map(|t| t.strip_prefix('\u{feff}').unwrap_or(t));
    let document = text.filter(|t| t.len() <= MAX_PROJECT_BYTES).and_then(lenient_document);
    let has = |key: &str| document.as_ref().is_some_and(|d| d.get(key).is_some());
    if has("album") && !has("mix") { ProjectKind::Album } else { ProjectKind::Mix }
}

/// Reads and parses the mix file at `path`.
///
/// # Errors
/// A diagnostic when the file cannot be read or does not describe a mix.
pub fn load_mix(path: &Path) -> Result<LoadedMix, Rejected> {
    load(path)
}

/// Reads and parses the album file at `path`.
///
/// # Errors
/// A diagnostic when the file cannot be read or does not describe an album.
pub fn load_album(path: &Path) -> Result<LoadedAlbum, Rejected<RawAlbum>> {
    load(path)
}

fn load<T: Document>(path: &Path) -> Result<Loaded<T>, Rejected<T>> {
    let bytes = read_at_most(path, MAX_PROJECT_BYTES).map_err(|e| {
        Rejected::only(vec![
            Diagnostic::error(
                "unreadable-project",
                format!("cannot read `{}`: {e}", path.display()),
            )
            .with_help(format!("check the path; `mixdown check FILE` takes a {} file", T::NOUN)),
        ])
    })?;
    if bytes.len() > MAX_PROJECT_BYTES {
        return Err(Rejected::only(vec![too_large::<T>(path)]));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Rejected::only(vec![not_utf8(path, e.as_bytes(), at)])
    })?;
    parse(path, &text)
}

/// The first `most + 1` bytes of the file at `path`: enough to tell that it is too large
/// without reading all of it.
pub(super) fn read_at_most(path: &Path, most: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(most as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn too_large<T: Document>(path: &Path) -> Diagnostic {
    Diagnostic::error(
        "too-large",
        format!(
            "`{}` is larger than a {} file may be ({} MiB)",
            path.display(),
            T::NOUN,
            MAX_PROJECT_BYTES >> 20
        ),
    )
    .with_help(format!("check that this is the {} file you meant", T::NOUN))
}

/// The error for bytes that are not UTF-8 from offset `at` on, located at that byte.
fn not_utf8(path: &Path, bytes: &[u8], at: usize) -> Diagnostic {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let start = Location {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            width: 2,
            source_line: String::new(),
        };
        return Diagnostic::error(
            "not-utf8",
            format!("`{}` is UTF-16 text, not UTF-8", path.display()),
        )
        .at(Some(start), None)
        .with_label("a UTF-16 byte-order mark")
        .with_help("save the file as UTF-8; most editors offer the encoding when saving");
    }
    let before = &bytes[..at];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line_end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| at + i);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    let location = Location {
        file: path.to_path_buf(),
        line: before.split(|&b| b == b'\n').count(),
        column,
        width: 1,
        source_line: String::from_utf8_lossy(&bytes[line_start..line_end]).into_owned(),
    };
    Diagnostic::error(
        "not-utf8",
        format!("`{}` is not UTF-8 text: byte 0x{:02X} at offset {at}", path.display(), bytes[at]),
    )
    .at(Some(location), None)
    .with_label("not UTF-8")
    .with_help("save the file as UTF-8; most editors offer the encoding when saving")
}

/// Parses the text of a mix file; `path` is used for messages and nothing else.
///
/// # Errors
/// A syntax error, a file past the limits on its size and shape, every key written twice
/// in one mapping, or the type errors of every track, bus, the master and the top-level
/// settings (one per chain step), located.
pub fn parse_mix(path: &Path, text: &str) -> Result<LoadedMix, Rejected> {
    parse(path, text)
}

/// Parses the text of an album file; `path` is used for messages and nothing else.
///
/// # Errors
/// As [`parse_mix`], with every song, the mastering and every target checked on its own.
pub fn parse_album(path: &Path, text: &str) -> Result<LoadedAlbum, Rejected<RawAlbum>> {
    parse(path, text)
}

fn parse<T: Document>(path: &Path, text: &str) -> Result<Loaded<T>, Rejected<T>> {
    // A byte-order mark says the file is UTF-8; it is not part of the YAML.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() > MAX_PROJECT_BYTES {
        return Err(Rejected::only(vec![too_large::<T>(path)]));
    }
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(Rejected::only(vec![
            Diagnostic::error("empty-project", format!("`{}` is empty", path.display()))
                .with_help(T::EMPTY_HELP),
        ]));
    }
    let source_map = SourceMap::build(text)
        .map_err(|refusal| Rejected::only(vec![refused::<T>(path, text, refusal)]))?;
    let duplicates = Duplicates::of(path, text, &source_map);
    let document = lenient_document(text);
    let context = Context::of(document.as_ref());
    let raw = match context.apply(|| serde_yaml::from_str::<T>(text)) {
        Ok(raw) => raw,
        Err(first) => {
            let found = (path, text, &source_map);
            return Err(every_type_error(found, context, &first, document, duplicates));
        }
    };
    let mix = Loaded { raw, path: path.to_path_buf(), text: text.to_string(), source_map };
    if duplicates.diagnostics.is_empty() {
        return Ok(mix);
    }
    let set_aside = SetAside(duplicates.paths);
    Err(Rejected {
        diagnostics: duplicates.diagnostics,
        remainder: Some(Box::new(Remainder { mix, set_aside })),
    })
}

/// Keys written twice in one mapping. YAML keeps only one of them, so each is an error at
/// the second; the rest of the file is still checked, with the first kept.
struct Duplicates {
    diagnostics: Vec<Diagnostic>,
    paths: Vec<String>,
}

impl Duplicates {
    fn of(path: &Path, text: &str, source_map: &SourceMap) -> Self {
        let found = source_map.duplicate_keys();
        let diagnostics = found
            .iter()
            .map(|(yaml_path, span)| {
                let name = yaml_path.rsplit('.').next().unwrap_or(yaml_path);
                Diagnostic::error("duplicate-name", format!("`{name}` is defined twice"))
                    .at(Some(location(path, text, *span)), Some(yaml_path.clone()))
                    .with_label("second definition")
                    .with_help("YAML keeps only the last of two equal keys; rename or merge them")
            })
            .collect();
        Self { diagnostics, paths: found.iter().map(|(yaml_path, _)| yaml_path.clone()).collect() }
    }

    /// Whether serde's message is its own report of one of these, which it places at the
    /// start of the mapping rather than at the second key.
    fn explain(&self, message: &str) -> bool {
        !self.diagnostics.is_empty()
            && (message.contains("duplicate field") || message.contains("duplicate entry"))
    }
}

/// The diagnostic for a document the source map refused to read.
fn refused<T: Document>(path: &Path, text: &str, refusal: Refusal) -> Diagnostic {
    let (code, message, label, help) = match refusal.limit {
        Limit::Depth => (
            "too-deep",
            format!("the file nests deeper than {MAX_DEPTH} levels"),
            "too deep",
            format!(
                "a {} nests about ten levels deep; check the brackets and indentation here",
                T::NOUN
            ),
        ),
        Limit::AliasExpansion => (
            "alias-expansion",
            "aliases expand the file too far".to_owned(),
            "expands past the limit",
            format!(
                "aliases may add at most {MAX_ALIAS_NODES} values and replay at most \
                 {MAX_REPLAYS_PER_EVENT} times per value written; aliases of aliases multiply, \
                 so write the values out or nest them less"
            ),
        ),
        Limit::KeyLength => (
            "key-too-long",
            format!("a key is longer than {MAX_KEY_CHARS} characters"),
            "key too long",
            format!("keys name {}; shorten this one", T::KEYS_NAME),
        ),
        Limit::SecondDocument => (
            "several-documents",
            format!("a {} file holds one YAML document, but a second one starts here", T::NOUN),
            "second document",
            format!("remove this `---` line, or put the second {} in a file of its own", T::NOUN),
        ),
    };
    Diagnostic::error(code, message)
        .at(Some(location(path, text, refusal.span)), None)
        .with_label(label)
        .with_help(help)
}

/// The top-level settings that other values are read against: the tempo for note values,
/// the sample rate for frequencies.
#[derive(Debug, Clone, Copy)]
struct Context {
    tempo: Option<f64>,
    sample_rate: u32,
}

impl Context {
    /// The settings as `document` writes them; one that is missing or broken (reported on
    /// its own) reads as its default.
    fn of(document: Option<&Value>) -> Self {
        let field = |name: &str| document.and_then(|d| d.get(name)).cloned();
        let tempo = field("tempo").and_then(|v| serde_yaml::from_value::<Tempo>(v).ok());
        let sample_rate = field("sample_rate")
            .and_then(|v| serde_yaml::from_value::<SampleRate>(v).ok())
            .unwrap_or(SampleRate::DEFAULT);
        Self { tempo: tempo.map(|t| t.0), sample_rate: sample_rate.0 }
    }

    /// Runs `load` with these settings in force.
    fn apply<T>(self, load: impl FnOnce() -> T) -> T {
        with_sample_rate(self.sample_rate, || with_tempo(self.tempo, load))
    }
}

/// The document as a YAML value, or `None` when it is not one. Of two equal keys the first
/// is kept, where `serde_yaml`'s own `Value` would refuse the whole document.
fn lenient_document(text: &str) -> Option<Value> {
    serde_yaml::from_str::<Lenient>(text).ok().map(|lenient| lenient.0)
}

/// A YAML value read without refusing equal keys.
struct Lenient(Value);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor)
    }
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Lenient;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Lenient, E> {
        Ok(Lenient(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Lenient, E> {
        Ok(Lenient(Value::Number(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lenient, E> {
        Ok(Lenient(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Lenient, E> {
        Ok(Lenient(Value::Number(v.into())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient, E> {
        Ok(Lenient(Value::String(v.to_owned())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
        Ok(Lenient(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Lenient, E> {
        Ok(Lenient(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Lenient, D::Error> {
        Lenient::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
        let mut items = Vec::new();
        while let Some(Lenient(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Lenient(Value::Sequence(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
        let mut entries = serde_yaml::Mapping::new();
        while let Some(Lenient(key)) = map.next_key()? {
            let Lenient(value) = map.next_value()?;
            if !entries.contains_key(&key) {
                entries.insert(key, value);
            }
        }
        Ok(Lenient(Value::Mapping(entries)))
    }
}

/// One part of a document, checked on its own.
struct Part {
    /// Its YAML path (`tracks.a`, `songs[2]`, `master`; empty for the top level).
    path: String,
    /// The way to it from the top level.
    slot: Vec<Hop>,
    check: PartCheck,
}

/// serde stops at the first error in the file. So that one run shows them all, every
/// entry of each of the document's [`Document::SECTIONS`] (every track, bus, the master;
/// every song, the mastering, every target) and the top-level settings are then
/// deserialized on their own, field by field (see [`check_part`]), and the errors are
/// located through the source map, so that the same mistake reads the same wherever it
/// is. serde's own report of its first error is kept only if that error's part, on its
/// own, passes. The parts that pass once their broken values are set aside are put back
/// together as the remainder.
fn every_type_error<T: Document>(
    (path, text, source_map): (&Path, &str, &SourceMap),
    context: Context,
    first: &serde_yaml::Error,
    document: Option<Value>,
    duplicates: Duplicates,
) -> Rejected<T> {
    let first = (!duplicates.explain(&first.to_string()))
        .then(|| convert_error(path, text, source_map, first));
    let Some(Value::Mapping(mut document)) = document else {
        let mut diagnostics = duplicates.diagnostics;
        diagnostics.extend(first);
        return Rejected::only(diagnostics);
    };
    let whole = document.clone();
    let mut parts: Vec<Part> = Vec::new();
    for section in T::SECTIONS {
        let name = section.name;
        let Some(value) = document.get(name) else { continue };
        let key = || Hop::Key(name.to_owned());
        match (section.layout, value) {
            (Layout::Named, Value::Mapping(entries)) if entries.keys().all(Value::is_string) => {
                for (entry_name, entry) in entries {
                    let entry_name = entry_name.as_str().unwrap_or_default();
                    parts.push(Part {
                        path: format!("{name}.{entry_name}"),
                        slot: vec![key(), Hop::Key(entry_name.to_owned())],
                        check: (section.check)(entry, context),
                    });
                }
            }
            (Layout::Listed, Value::Sequence(entries)) => {
                for (i, entry) in entries.iter().enumerate() {
                    parts.push(Part {
                        path: format!("{name}[{i}]"),
                        slot: vec![key(), Hop::Index(i)],
                        check: (section.check)(entry, context),
                    });
                }
            }
            (Layout::Whole, Value::Mapping(_)) => parts.push(Part {
                path: name.to_owned(),
                slot: vec![key()],
                check: (section.check)(value, context),
            }),
            // Not the shape the section has: the top level's own check reports it.
            _ => continue,
        }
        // In place, so the top level still meets its keys in the file's order.
        document.shift_remove(name);
    }
    let top = check_part::<T>(&Value::Mapping(document), context);
    parts.push(Part { path: String::new(), slot: Vec::new(), check: top });
    let first_path = first.as_ref().and_then(|f| f.yaml_path.clone()).unwrap_or_default();
    let first_part = part_of(&first_path, parts.iter().map(|p| p.path.as_str())).to_owned();
    let mut first = first;
    let mut found = duplicates.diagnostics;
    for part in &parts {
        if part.path == first_part && !part.check.errors.is_empty() {
            first = None;
        }
        found.extend(
            part.check.errors.iter().map(|e| part_error(path, text, source_map, &part.path, e)),
        );
    }
    let set_aside = SetAside(
        parts
            .iter()
            .flat_map(|p| p.check.set_aside.iter().map(|hops| yaml_path(&p.path, hops)))
            .chain(duplicates.paths)
            .collect(),
    );
    let top_level_intact = parts.iter().all(|p| !p.path.is_empty() || p.check.errors.is_empty());
    let remainder =
        if first.is_none() && top_level_intact { reassemble(whole, parts, context) } else { None };
    found.extend(first);
    found.sort_by_key(|d| d.location.as_ref().map_or((usize::MAX, 0), |l| (l.line, l.column)));
    let remainder = remainder.map(|raw| {
        let mix = Loaded {
            raw,
            path: path.to_path_buf(),
            text: text.to_string(),
            source_map: source_map.clone(),
        };
        Box::new(Remainder { mix, set_aside })
    });
    Rejected { diagnostics: found, remainder }
}

/// `document` with each part replaced by what passed its check, when every part passed
/// once its broken values were set aside. The caller has made sure that the top level
/// passed whole, so it stays as written.
fn reassemble<T: Document>(
    document: serde_yaml::Mapping,
    parts: Vec<Part>,
    context: Context,
) -> Option<T> {
    let mut document = Value::Mapping(document);
    for part in parts.into_iter().filter(|p| !p.path.is_empty()) {
        let mut slot = &mut document;
        for hop in &part.slot {
            slot = match hop {
                Hop::Key(key) => slot.get_mut(key.as_str())?,
                Hop::Index(index) => slot.get_mut(*index)?,
            };
        }
        *slot = part.check.passed?;
    }
    context.apply(|| serde_yaml::from_value::<T>(document)).ok()
}

type PartError = serde_path_to_error::Error<serde_yaml::Error>;

/// What checking one part of the document found.
struct PartCheck {
    errors: Vec<PartError>,
    /// The part with its broken values set aside, if it then passes.
    passed: Option<Value>,
    /// The ways to what was set aside, from the part.
    set_aside: Vec<Vec<Hop>>,
}

/// Checks one part of the document: after each error, the top-level field it lies in is
/// set aside (for a chain step, at any depth of `parallel` branches, only that step, which
/// a step that does nothing replaces so that the later ones keep their places) and the
/// rest deserialized again, until the rest passes. A field set aside is then missing,
/// which is no new error.
fn check_part<T: DeserializeOwned>(value: &Value, context: Context) -> PartCheck {
    let mut rest = value.clone();
    let mut set_aside: Vec<Vec<Hop>> = Vec::new();
    let mut errors = Vec::new();
    loop {
        let result = context.apply(|| serde_path_to_error::deserialize::<_, T>(&rest));
        let Err(error) = result.map(drop) else {
            return PartCheck { errors, passed: Some(rest), set_aside };
        };
        let message = error.inner().to_string();
        // A field set aside is missing now, which is no new error.
        let missing_now = |hops: &Vec<Hop>| match hops.as_slice() {
            [Hop::Key(field)] => message == format!("missing field `{field}`"),
            _ => false,
        };
        if set_aside.iter().any(missing_now) {
            break;
        }
        let hops = aside_hops(error.path());
        errors.push(error);
        if hops.is_empty() || set_aside.contains(&hops) || !set_aside_at(&mut rest, &hops) {
            break;
        }
        set_aside.push(hops);
    }
    PartCheck { errors, passed: None, set_aside }
}

/// The YAML path of the value `hops` leads to from `part` (`tracks.a` + `chain`, `2`
/// → `tracks.a.chain[2]`).
fn yaml_path(part: &str, hops: &[Hop]) -> String {
    let mut path = part.to_owned();
    for hop in hops {
        match hop {
            Hop::Key(key) if path.is_empty() => path.push_str(key),
            Hop::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Hop::Index(index) => {
                let _ = write!(path, "[{index}]");
            }
        }
    }
    path
}

/// One step of the way from a part to a value in it.
#[derive(Debug, Clone, PartialEq)]
enum Hop {
    Key(String),
    Index(usize),
}

/// The way to what an error sets aside: the deepest chain step on its path (`chain[2]`,
/// or inside parallel branches `chain[2].parallel[1][0]`), else the top-level field it
/// lies in; empty when it lies in no field.
fn aside_hops(path: &serde_path_to_error::Path) -> Vec<Hop> {
    let hops: Vec<Hop> = path
        .iter()
        .map(|segment| match segment {
            Segment::Seq { index } => Hop::Index(*index),
            Segment::Map { key } => Hop::Key(key.clone()),
            Segment::Enum { variant } => Hop::Key(variant.clone()),
            Segment::Unknown => Hop::Key(String::new()),
        })
        .collect();
    let index = |i: usize| matches!(hops.get(i), Some(Hop::Index(_)));
    let mut end = usize::from(matches!(hops.first(), Some(Hop::Key(_))));
    for (at, hop) in hops.iter().enumerate() {
        match hop {
            Hop::Key(key) if key == "chain" && index(at + 1) => end = at + 2,
            Hop::Key(key) if key == "parallel" && index(at + 1) && index(at + 2) => end = at + 3,
            _ => {}
        }
    }
    hops[..end].to_vec()
}

/// Sets aside the value at `hops`: a chain step is replaced by one that does nothing, a
/// top-level field removed. False when there is no such value.
fn set_aside_at(part: &mut Value, hops: &[Hop]) -> bool {
    let Some((last, way)) = hops.split_last() else { return false };
    let mut at = part;
    for hop in way {
        let next = match (hop, at) {
            (Hop::Key(key), Value::Mapping(fields)) => fields.get_mut(key.as_str()),
            (Hop::Index(index), Value::Sequence(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return false };
        at = next;
    }
    match (last, at) {
        (Hop::Index(index), Value::Sequence(steps)) if *index < steps.len() => {
            steps[*index] = does_nothing();
            true
        }
        (Hop::Key(key), Value::Mapping(fields)) => fields.shift_remove(key.as_str()).is_some(),
        _ => false,
    }
}

/// A chain step that changes nothing, standing in for one set aside: `- gain: 0 dB`.
fn does_nothing() -> Value {
    let mut step = serde_yaml::Mapping::new();
    step.insert(Value::from("gain"), Value::from("0 dB"));
    Value::Mapping(step)
}

/// The part, of those checked, that a YAML path lies in: the longest whose path it
/// extends, and the top level (empty) when none does.
fn part_of<'a>(yaml_path: &str, parts: impl Iterator<Item = &'a str>) -> &'a str {
    parts
        .filter(|part| !part.is_empty() && lies_within(yaml_path, part))
        .max_by_key(|part| part.len())
        .unwrap_or("")
}

/// Whether the YAML path `inner` is `outer` or leads into it (`tracks.a.chain[0]` lies
/// within `tracks.a`, `tracks.ab` does not).
fn lies_within(inner: &str, outer: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// A diagnostic for the first error of the part at `part`, located through the source map.
fn part_error(
    path: &Path,
    text: &str,
    source_map: &SourceMap,
    part: &str,
    error: &PartError,
) -> Diagnostic {
    let inner = error.path().to_string();
    let full = match (part, inner.as_str()) {
        (_, ".") => part.to_owned(),
        ("", inner) => inner.to_owned(),
        (part, inner) if inner.starts_with('[') => format!("{part}{inner}"),
        (part, inner) => format!("{part}.{inner}"),
    };
    let message = error.inner().to_string();
    let parent = || full.rsplit_once('.').map_or("", |(parent, _)| parent).to_owned();
    // An unknown key is reported at its mapping with the caret on the key (as serde itself
    // reports it), an unknown step at its place in the chain with the caret on its name,
    // and an unknown tag (an EQ band's `type`) at its mapping with the caret on the value.
    let (yaml_path, span) = if message.starts_with("unknown field") {
        (parent(), source_map.key(&full))
    } else if message.starts_with("unknown variant") && full.ends_with(']') {
        let name = backticked(&message).into_iter().next().unwrap_or_default();
        (full.clone(), source_map.key(&format!("{full}.{name}")))
    } else if message.starts_with("unknown variant") {
        (parent(), source_map.value(&full))
    } else {
        (full.clone(), source_map.value(&full))
    };
    let yaml_path = (!yaml_path.is_empty()).then_some(yaml_path);
    diagnose(&message, yaml_path, span.map(|span| location(path, text, span)))
}

/// Builds a location from a span, with the text of its line for the snippet.
#[must_use]
pub fn location(path: &Path, text: &str, span: Span) -> Location {
    Location {
        file: path.to_path_buf(),
        line: span.line,
        column: span.column,
        width: span.width,
        source_line: text.lines().nth(span.line.saturating_sub(1)).unwrap_or("").to_string(),
    }
}

/// The diagnostic for serde's error, at the place it names, or else at the value its YAML
/// path leads to.
fn convert_error(
    path: &Path,
    text: &str,
    source_map: &SourceMap,
    error: &serde_yaml::Error,
) -> Diagnostic {
    let message = without_own_location(&error.to_string());
    let (yaml_path, message) = split_yaml_path(&message);
    let named = backticked(&message).into_iter().next();
    let by_path = || {
        let span = source_map.value(yaml_path.as_deref()?)?;
        Some(location(path, text, span))
    };
    let location = error.location().map(|l| {
        let line_text = text.lines().nth(l.line().saturating_sub(1)).unwrap_or("");
        let at: String = line_text.chars().skip(l.column().saturating_sub(1)).collect();
        let width = match &named {
            Some(name) if is_unknown_name(&message) && at.starts_with(name.as_str()) => {
                name.chars().count()
            }
            _ => token_width(line_text, l.column()),
        };
        let span = Span { line: l.line(), column: l.column(), width };
        location(path, text, span)
    });
    let location = at_byte_offset(path, text, &message).or(location).or_else(by_path);
    diagnose(&message, yaml_path, location)
}

/// The place a reader error names by byte offset (`... at position 97`), which is where the
/// problem is; the line and column serde gives with it are the document's start.
fn at_byte_offset(path: &Path, text: &str, message: &str) -> Option<Location> {
    let (_, after) = message.rsplit_once(" at position ")?;
    let offset: usize = after.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some(location(path, text, Span { line, column, width: 1 }))
}

/// The diagnostic for a serde `message` about the value at `yaml_path`.
fn diagnose(message: &str, yaml_path: Option<String>, location: Option<Location>) -> Diagnostic {
    // serde marks a key it could not read as a name with `?`; the mapping is the place.
    let yaml_path = yaml_path.map(|p| p.trim_end_matches(".?").to_owned());
    let message = in_our_words(message);
    let (code, label, mut help) = classify(&message, yaml_path.as_deref());
    let named = backticked(&message).into_iter().next();
    let message = match (code, &named) {
        ("unknown-processor", Some(name)) => format!("unknown processor `{name}`"),
        ("unknown-key", Some(name)) => format!("unknown key `{name}`"),
        _ => message,
    };
    let at_a_tab = location
        .as_ref()
        .is_some_and(|l| l.source_line.chars().nth(l.column.saturating_sub(1)) == Some('\t'));
    if code == "syntax" && at_a_tab {
        help = Some("YAML indents with spaces, never tabs; replace the tabs on this line".into());
    }
    let mut diagnostic =
        Diagnostic::error(code, message).at(location, yaml_path).with_help_opt(help);
    if let Some(label) = label {
        diagnostic = diagnostic.with_label(label);
    }
    diagnostic
}

/// serde's message with the names of our Rust types replaced by what a user writes.
fn in_our_words(message: &str) -> String {
    const SHAPES: [(&str, &str); 13] = [
        ("struct RawMix", "a mix: a mapping with `mix:` and `tracks:`"),
        ("struct RawAlbumTarget", "a target: a mapping with `format:`"),
        ("struct RawAlbumMastering", "the mastering: a mapping"),
        ("struct RawAlbumLoudnessSettings", "loudness settings: a mapping"),
        ("struct RawAlbum", "an album: a mapping with `album:`, `artist:` and `songs:`"),
        ("struct RawSongMastering", "a song's mastering: a mapping"),
        ("struct RawSong", "a song: a mapping with `mix:` or `file:`, and `title:`"),
        ("struct RawCrossfadeSettings", "a crossfade: a mapping with `length:`"),
        ("struct RawTrack", "a track: a mapping with `source:` or `clips:`"),
        ("struct RawBus", "a bus: a mapping"),
        ("struct RawMaster", "the master: a mapping"),
        ("struct RawClip", "a clip: a mapping with `file:`"),
        ("struct RawSend", "a send: a mapping with `to:`"),
    ];
    SHAPES.iter().fold(message.to_owned(), |m, (ours, theirs)| m.replace(ours, theirs))
}

/// Whether serde's message is about a key or variant name it does not know.
fn is_unknown_name(message: &str) -> bool {
    message.starts_with("unknown field") || message.starts_with("unknown variant")
}

/// Drops the first ` at line L column C` (the diagnostic shows it), keeping any context
/// after it, such as where an unclosed bracket was opened.
fn without_own_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else { return message.to_string() };
    let rest = &message[start + " at line ".len()..];
    let after_numbers = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ' ' || "column".contains(c)))
        .unwrap_or(rest.len());
    format!("{}{}", &message[..start], &rest[after_numbers..])
}

/// `serde_yaml` prefixes messages with the path of the value (`tracks.vox.gain: ...`).
fn split_yaml_path(message: &str) -> (Option<String>, String) {
    match message.split_once(": ") {
        Some((path, rest))
            if !path.contains(' ') && !path.is_empty() && path != "." && !path.contains('`') =>
        {
            (Some(path.to_string()), rest.to_string())
        }
        _ => (None, message.to_string()),
    }
}

/// Picks a code, a caret label and a suggestion for a serde message.
fn classify(
    message: &str,
    yaml_path: Option<&str>,
) -> (&'static str, Option<String>, Option<String>) {
    let candidates = backticked(message);
    let offending = candidates.first().cloned().unwrap_or_default();
    let suggestion = || {
        did_you_mean(&offending, candidates.iter().skip(1).map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
    };
    if message.starts_with("unknown field") {
        let help = suggestion().or_else(|| {
            Some(format!(
                "expected one of: {}",
                candidates.iter().skip(1).cloned().collect::<Vec<_>>().join(", ")
            ))
        });
        ("unknown-key", Some("unknown key".into()), help)
    } else if message.starts_with("unknown variant") {
        let code = if yaml_path.is_some_and(is_chain_step) {
            "unknown-processor"
        } else {
            "unknown-value"
        };
        let help = suggestion().or_else(|| {
            Some(format!(
                "expected one of: {}",
                candidates.iter().skip(1).cloned().collect::<Vec<_>>().join(", ")
            ))
        });
        (code, Some("not known here".into()), help)
    } else if message.starts_with("missing field") {
        ("missing-key", None, Some(format!("add `{offending}:` here")))
    } else if message.starts_with("invalid type") || message.starts_with("invalid length") {
        ("wrong-type", Some("wrong type".into()), None)
    } else if message.contains("duplicate entry") {
        (
            "duplicate-name",
            Some("defined twice".into()),
            Some("names must be unique; rename one".into()),
        )
    } else if is_syntax(message) {
        ("syntax", None, Some("check indentation, colons and brackets on this line".into()))
    } else {
        ("invalid-value", Some("invalid value".into()), None)
    }
}

/// Parses a small YAML document that is not a mix (the settings file) into `T`, with the
/// mix file's limits on its shape and its errors located as a mix file's are. Its first
/// type error is reported; such a file holds a few lines.
///
/// # Errors
/// A syntax error, a document past the limits, keys written twice, or a type error.
pub(super) fn parse_located<T: Document>(
    path: &Path,
    text: &str,
) -> Result<(T, SourceMap), Vec<Diagnostic>> {
    let source_map =
        SourceMap::build(text).map_err(|refusal| vec![refused::<T>(path, text, refusal)])?;
    let duplicates = Duplicates::of(path, text, &source_map);
    if !duplicates.diagnostics.is_empty() {
        return Err(duplicates.diagnostics);
    }
    match serde_yaml::from_str::<T>(text) {
        Ok(value) => Ok((value, source_map)),
        Err(e) => Err(vec![convert_error(path, text, &source_map, &e)]),
    }
}

/// Whether a YAML path names a step of a chain (`…chain[2]`, `…parallel[1][0]`), where an
/// unknown name is an unknown processor; deeper in, such as an EQ band's `type`, it is not.
fn is_chain_step(yaml_path: &str) -> bool {
    let named = yaml_path.trim_end_matches(|c: char| c.is_ascii_digit() || c == '[' || c == ']');
    yaml_path.ends_with(']') && (named.ends_with("chain") || named.ends_with("parallel"))
}

fn is_syntax(message: &str) -> bool {
    [
        "did not find expected",
        "mapping values are not allowed",
        "while parsing",
        "while scanning",
        "found character",
        "found unexpected",
        "control characters",
    ]
    .iter()
    .any(|s| message.contains(s))
}

/// The `quoted` names in a serde message, in order.
fn backticked(message: &str) -> Vec<String> {
    message.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// How wide the token at 1-based `column` is: up to the next flow delimiter or comment.
fn token_width(line: &str, column: usize) -> usize {
    let rest: String = line.chars().skip(column.saturating_sub(1)).collect();
    let end = rest.find([',', '}', ']', '#']).unwrap_or(rest.len());
    rest[..end].trim_end().chars().count().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> Diagnostic {
        parse_mix(Path::new("song.yaml"), text).unwrap_err().diagnostics.remove(0)
    }

    #[test]
    fn a_minimal_mix_loads() {
        let loaded =
            parse_mix(Path::new("song.yaml"), "mix: Demo\ntracks:\n  a: { source: a.wav }\n")
                .unwrap();
        assert_eq!(loaded.raw.tracks.len(), 1);
    }

    #[test]
    fn an_unknown_key_is_located_and_suggests_the_right_one() {
        let d = error_of("mix: Demo\ntracks:\n  a:\n    source: a.wav\n    gian: -3 dB\n");
        assert_eq!(d.code, "unknown-key");
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(5));
        assert_eq!(d.help.as_deref(), Some("did you mean `gain`?"));
        assert_eq!(d.yaml_path.as_deref(), Some("tracks.a"));
    }

    #[test]
    fn every_mistake_in_every_part_is_reported_in_one_run() {
        let text = "mix: Demo\ntail: forever\ntracks:\n  a:\n    source: a.wav\n    gian: -3 dB\n    gain: loud\n  b:\n    source: b.wav\n    pan: left-ish\n  c:\n    source: c.wav\nbuses:\n  verb: { gain: loud }\nmaster:\n  chain: [ { limiter: { ceiling: high } } ]\n";
        let found = parse_mix(Path::new("song.yaml"), text).unwrap_err().diagnostics;
        let at: Vec<(usize, Option<&str>)> = found
            .iter()
            .map(|d| (d.location.as_ref().unwrap().line, d.yaml_path.as_deref()))
            .collect();
        assert_eq!(
            at,
            [
                (2, Some("tail")),
                (6, Some("tracks.a")),
                (7, Some("tracks.a.gain")),
                (10, Some("tracks.b.pan")),
                (14, Some("buses.verb.gain")),
                (16, Some("master.chain[0].limiter.ceiling")),
            ]
        );
    }

    #[test]
    fn every_broken_chain_step_is_reported_at_its_own_place() {
        let text = "mix: Demo\ntracks:\n  a:\n    source: a.wav\n    chain: [ { eqq: [] }, { gain: 0 dB }, { gain: loud }, { gian: 1 } ]\n";
        let found = parse_mix(Path::new("song.yaml"), text).unwrap_err().diagnostics;
        let paths: Vec<&str> = found.iter().filter_map(|d| d.yaml_path.as_deref()).collect();
        assert_eq!(paths, ["tracks.a.chain[0]", "tracks.a.chain[2].gain", "tracks.a.chain[3]"]);
    }

    #[test]
    fn every_broken_step_inside_parallel_branches_is_reported_at_its_own_place() {
        let text = "mix: Demo\nmaster:\n  chain:\n    - parallel:\n        - [ { gian: 1 dB } ]\n        - [ { gain: 0 dB }, { parallel: [ [ { gain: loud } ] ] }, { eqq: [] } ]\n    - { gain: loud }\ntracks: {}\n";
        let found = parse_mix(Path::new("song.yaml"), text).unwrap_err().diagnostics;
        let paths: Vec<&str> = found.iter().filter_map(|d| d.yaml_path.as_deref()).collect();
        assert_eq!(
            paths,
            [
                "master.chain[0].parallel[0][0]",
                "master.chain[0].parallel[1][1].parallel[0][0].gain",
                "master.chain[0].parallel[1][2]",
                "master.chain[1].gain",
            ]
        );
    }

    #[test]
    fn what_is_left_with_the_broken_values_set_aside_still_reads_as_a_mix() {
        let text = "mix: Demo\ntracks:\n  a:\n    source: a.wav\n    gain: loud\n    chain: [ { gain: -1 dB }, { eqq: [] }, { gain: -2 dB } ]\n    to: drums\nbuses:\n  drums: { pan: wide }\n";
        let rejected = parse_mix(Path::new("song.yaml"), text).unwrap_err();
        assert_eq!(rejected.diagnostics.len(), 3);
        let rest = rejected.remainder.expect("every part passes once its errors are set aside");
        assert_eq!(rest.set_aside.0, ["tracks.a.gain", "tracks.a.chain[1]", "buses.drums.pan"]);
        let a = &rest.mix.raw.tracks["a"];
        assert!(a.gain.is_none());
        assert_eq!(a.chain.len(), 3, "the broken step's place is kept");
        assert_eq!(a.to.as_deref(), Some("drums"));
        assert!(rest.mix.raw.buses.contains_key("drums"));
    }

    #[test]
    fn nothing_is_left_when_a_setting_or_a_whole_section_is_broken() {
        for text in [
            "mix: Demo\ntail: forever\ntracks:\n  a: { source: a.wav, gain: loud }\n",
            "mix: Demo\ntracks:\n  a: { source: a.wav, to: drums, gain: loud }\nbuses: 5\n",
        ] {
            let rejected = parse_mix(Path::new("song.yaml"), text).unwrap_err();
            assert!(rejected.remainder.is_none(), "{text}");
        }
    }

    #[test]
    fn a_field_set_aside_after_its_error_is_not_reported_missing_but_a_missing_one_is() {
        let wrong_title =
            parse_mix(Path::new("song.yaml"), "mix: [1]\ntracks: {}\n").unwrap_err().diagnostics;
        assert_eq!(wrong_title.len(), 1, "{wrong_title:?}");
        let no_title = parse_mix(Path::new("song.yaml"), "tail: forever\ntracks: {}\n")
            .unwrap_err()
            .diagnostics;
        let mut codes: Vec<&str> = no_title.iter().map(|d| d.code).collect();
        codes.sort_unstable();
        assert_eq!(codes, ["invalid-value", "missing-key"]);
    }

    #[test]
    fn the_same_mistake_reads_the_same_in_the_first_part_and_later_ones() {
        let text = "mix: Demo\ntracks:\n  a:\n    source: a.wav\n    chain:\n      - { gian: -3 dB }\n  b:\n    source: b.wav\n    chain:\n      - { gian: -3 dB }\n";
        let found = parse_mix(Path::new("song.yaml"), text).unwrap_err().diagnostics;
        assert_eq!(found.len(), 2);
        for (d, part) in found.iter().zip(["a", "b"]) {
            assert_eq!(d.code, "unknown-processor");
            assert_eq!(d.yaml_path.as_deref(), Some(format!("tracks.{part}.chain[0]").as_str()));
            assert_eq!(
                d.location.as_ref().map(|l| (l.column, l.width)),
                Some((11, 4)),
                "on `gian`"
            );
        }
    }

    #[test]
    fn an_unknown_eq_band_type_is_an_unknown_value_not_an_unknown_processor() {
        let d = error_of(
            "mix: Demo\ntracks:\n  a:\n    source: a.wav\n    chain: [ { eq: [ { type: peek, freq: 1 kHz } ] } ]\n",
        );
        assert_eq!(d.code, "unknown-value");
        assert_eq!(d.help.as_deref(), Some("did you mean `peak`?"));
    }

    #[test]
    fn a_byte_order_mark_before_a_mix_is_not_part_of_it() {
        let loaded = parse_mix(
            Path::new("song.yaml"),
            "\u{feff}mix: Demo\ntracks:\n  a: { source: a.wav }\n",
        )
        .unwrap();
        assert_eq!(loaded.raw.mix, "Demo");
        let d = error_of("\u{feff}mix: Demo\ntracks:\n  a: { source: a.wav, gain: loud }\n");
        assert_eq!(d.location.map(|l| (l.line, l.column)), Some((3, 29)));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_located_at_the_first_of_them() {
        let bytes = b"mix: Demo\ntracks:\n  a: { source: caf\xe9.wav }\n";
        let at = String::from_utf8(bytes.to_vec()).unwrap_err().utf8_error().valid_up_to();
        let d = not_utf8(Path::new("song.yaml"), bytes, at);
        assert_eq!(d.code, "not-utf8");
        assert!(d.message.contains("byte 0xE9 at offset 36"), "{}", d.message);
        let location = d.location.unwrap();
        assert_eq!((location.line, location.column), (3, 19));
        assert_eq!(location.source_line, "  a: { source: caf\u{fffd}.wav }");
    }

    #[test]
    fn a_file_larger_than_a_mix_is_refused_before_it_is_parsed() {
        let text = format!("mix: Demo\n#{}\n", "x".repeat(MAX_PROJECT_BYTES));
        assert_eq!(error_of(&text).code, "too-large");
    }

    #[test]
    fn a_key_written_twice_is_reported_at_the_second_and_every_other_error_still_is() {
        let text = "mix: Demo\ntracks:\n  a:\n    source: a.wav\n    gain: -3 dB\n    pan: center\n    gain: -4 dB\n  b:\n    source: b.wav\n    pan: leftish\n";
        let rejected = parse_mix(Path::new("song.yaml"), text).unwrap_err();
        let found: Vec<(&str, usize, Option<&str>)> = rejected
            .diagnostics
            .iter()
            .map(|d| (d.code, d.location.as_ref().unwrap().line, d.yaml_path.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("duplicate-name", 7, Some("tracks.a.gain")),
                ("invalid-value", 10, Some("tracks.b.pan"))
            ]
        );
    }

    #[test]
    fn a_file_with_only_a_key_written_twice_is_still_checked_further() {
        let text = "mix: Demo\ntracks:\n  a: { source: a.wav }\n  a: { source: b.wav }\n";
        let rejected = parse_mix(Path::new("song.yaml"), text).unwrap_err();
        assert_eq!(rejected.diagnostics.len(), 1);
        let rest = rejected.remainder.expect("the rest reads as a mix");
        assert!(rest.set_aside.touches("tracks.a.source"));
    }

    #[test]
    fn every_refusal_of_the_files_shape_is_located() {
        let deep = format!("mix: [{}]\n", "[".repeat(100_000));
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        for (text, code) in [
            (deep.as_str(), "too-deep"),
            (bomb, "alias-expansion"),
            ("mix: A\ntracks: {}\n---\nmix: B\n", "several-documents"),
        ] {
            let d = error_of(text);
            assert_eq!(d.code, code);
            assert!(d.location.is_some(), "{code} is located");
        }
    }

    #[test]
    fn a_number_too_large_for_a_float_is_not_finite() {
        let d = error_of("mix: Demo\ntracks:\n  a: { source: a.wav, gain: 1e999 }\n");
        assert_eq!(d.message, "`1e999` is not a finite number");
        assert_eq!(d.yaml_path.as_deref(), Some("tracks.a.gain"));
    }

    #[test]
    fn a_frequency_is_checked_against_the_sample_rate_the_mix_sets() {
        let text = |rate: &str| {
            format!(
                "mix: Demo\n{rate}tracks:\n  a:\n    source: a.wav\n    chain: [ {{ highpass: {{ freq: 23 kHz }} }} ]\n"
            )
        };
        assert!(parse_mix(Path::new("song.yaml"), &text("")).is_ok(), "48 kHz by default");
        let d = error_of(&text("sample_rate: 44.1 kHz\n"));
        assert_eq!(d.yaml_path.as_deref(), Some("tracks.a.chain[0].highpass.freq"));
        assert!(d.message.contains("below 22050 Hz"), "{}", d.message);
    }

    #[test]
    fn every_songs_and_every_targets_type_errors_are_reported_and_the_rest_still_reads() {
        let text = "album: A\nartist: B\nsongs:\n  - { file: a.wav, title: A, fade_ot: 1 s }\n  - { file: b.wav, title: B, gap: soon }\nmastering:\n  loudness: { target: -2 LUFS }\ndeliver:\n  web: { format: flac, bit_depth: 20 }\n";
        let rejected = parse_album(Path::new("album.yaml"), text).unwrap_err();
        let paths: Vec<&str> =
            rejected.diagnostics.iter().filter_map(|d| d.yaml_path.as_deref()).collect();
        assert_eq!(
            paths,
            ["songs[0]", "songs[1].gap", "mastering.loudness.target", "deliver.web.bit_depth"]
        );
        let rest = rejected.remainder.expect("the rest reads as an album");
        assert_eq!(rest.mix.raw.songs.len(), 2);
        assert!(rest.mix.raw.songs[1].gap.is_none());
        assert!(rest.mix.raw.deliver["web"].bit_depth.is_none(), "only the broken value goes");
    }

    #[test]
    fn an_album_file_is_told_from_a_mix_file_by_its_top_level_key() {
        let dir = tempfile::tempdir().unwrap();
        let kind = |text: &str| {
            let path = dir.path().join("project.yaml");
            std::fs::write(&path, text).unwrap();
            project_kind(&path)
        };
        assert_eq!(kind("album: Low Tide\nsongs: []\n"), ProjectKind::Album);
        assert_eq!(kind("\u{feff}album: Low Tide\n"), ProjectKind::Album);
        assert_eq!(kind("mix: Demo\ntracks: {}\n"), ProjectKind::Mix);
        assert_eq!(kind("mix: Demo\nalbum: Low Tide\n"), ProjectKind::Mix, "a mix's tag");
        assert_eq!(kind("album: [unclosed\n"), ProjectKind::Mix, "loading it says what is wrong");
        assert_eq!(project_kind(&dir.path().join("missing.yaml")), ProjectKind::Mix);
    }

    #[test]
    fn an_empty_album_file_says_what_an_album_needs() {
        let d = parse_album(Path::new("album.yaml"), "# nothing\n").unwrap_err().diagnostics;
        assert_eq!(d[0].help.as_deref(), Some(RawAlbum::EMPTY_HELP));
    }

    #[test]
    fn a_note_value_reads_against_the_tempo_declared_after_it() {
        let text = "mix: Demo\ntracks:\n  a:\n    source: a.wav\n    chain: [ { gain: -3 dB } ]\n    clips: [ { file: a.wav, at: 1/4 } ]\ntempo: 120\n";
        let loaded = parse_mix(Path::new("song.yaml"), text).unwrap();
        let clip = &loaded.raw.tracks["a"].clips.as_ref().unwrap()[0];
        assert_eq!(clip.at.unwrap().0, 0.5);
    }
}
