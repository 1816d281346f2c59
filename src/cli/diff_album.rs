//! `mixdown diff --rev REV album.yaml`: what a commit did to an album's sound. The album is
//! resolved in the working tree and in the revision's checkout (each song's mix with it)
//! and every node is keyed in both; when every key matches (a commit of comments or
//! formatting, in the album file or in a song's mix) the verdict is `identical` and nothing
//! renders.
//!
//! Otherwise each side renders with the same cache, so what they share costs nothing, in
//! two steps. First the songs whose keys differ and the album-rate segments: the segments'
//! keys settle in stages as the album's analyses choose its gains (see `render_settled`).
//! Then, with every key settled, the delivered files whose keys differ, into a temporary
//! folder. Each changed song and the album's whole timeline are compared through their
//! cache entries, and each changed file of the same name on both sides through the file.
//! Subjects are named in the album's words: `song 2 "Tidewater"`, `album`,
//! `output streaming/02 Tidewater.flac`.
//!
//! This module compares; the checkout, the change list and the messages for identical or
//! one-sided subjects are `diff_rev`'s, and the figures and their printing `diff_cmd`'s.
//! It never writes into the user's output folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use petgraph::graph::NodeIndex;

use super::album_render::report_album_error;
use super::diff_cmd::{draw_difference_of, print_comparison};
use super::diff_rev::{self, RevSettings, THE_REVISION, THE_WORKING_TREE, say_only_in};
use super::git_checkout::Checkout;
use super::messages;
use super::progress::Bar;
use super::render_cmd::Keyer;
use super::{EXIT_FAILURE, EXIT_INVALID, EXIT_OK, counted, resolve_album_and_report};
use crate::analysis::compare::{Opener, Which, compare};
use crate::analysis::{AlbumAudio, AudioStream, FileStream};
use crate::atomic_file::TemporaryFolder;
use crate::audio::encode::Encoding;
use crate::audio::wav::WavFormat;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph, build_album};
use crate::ir::{Album, Subject};
use crate::render::{
    Delivery, NodeError, RenderError, RenderEvent, RenderReport, Settings, render_settled,
};

/// The subject of the album's whole timeline.
const ALBUM: &str = "album";

/// Why an album is identical when keys differed only until its analyses ran.
const SETTLED_ALIKE: &str =
    "its analyses settled on the same gains: its songs, the album and its files are as they were";

/// Runs `diff --rev` on the album file at `then` in the checkout of `rev` and at `now` in
/// the working tree.
pub fn run(
    rev: &str,
    checkout: &Checkout,
    (then, now): (&Path, &Path),
    settings: &RevSettings,
) -> i32 {
    let Ok(album_now) = resolve_album_and_report(now) else { return EXIT_INVALID };
    let Ok(album_then) = resolve_album_and_report(then) else {
        return diff_rev::does_not_compile(now, rev);
    };
    let run_start = SystemTime::now();
    let side = |album, project: &Path, described| {
        AlbumSide::key(album, project, described, &settings.cache_dir, run_start)
    };
    let then_described = format!("`{}` as of `{rev}`", now.display());
    let now_described = format!("`{}`", now.display());
    let (mut before, mut after) = match (
        side(album_then.album, then, then_described),
        side(album_now.album, now, now_described),
    ) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("error: {message}");
            return EXIT_FAILURE;
        }
    };
    let subject = diff_rev::subject(now, rev, checkout);
    // Keys not yet settled are enough to find nothing changed: a segment waiting on an
    // analysis keys on its songs, and the analysis's own key is compared too.
    if diff_rev::node_changes(before.keyed(), after.keyed()).is_empty() {
        diff_rev::report_identical(&subject, "every node's key is unchanged: nothing rendered");
        return EXIT_OK;
    }
    let Some(folder) = diff_rev::renders_folder() else { return EXIT_FAILURE };
    let cache = CacheDir::new(&settings.cache_dir);
    let run = Run { store: Store::local(&cache), cache, folder, jobs: settings.jobs };
    if let Err(code) = render_changes(&mut before, &mut after, &run) {
        return code;
    }
    let changed = diff_rev::node_changes(before.keyed(), after.keyed()).len();
    let subjects = Subjects::of(&before, &after);
    if subjects.is_empty() {
        diff_rev::report_identical(&subject, SETTLED_ALIKE);
        return EXIT_OK;
    }
    if !messages::json() {
        println!("{subject}: {}", counted(changed, "node differs", "nodes differ"));
    }
    compare_subjects(&subjects, &before, &after, &run, settings.pictures.as_deref())
}

/// One side of the comparison: the album, its graph, and its keys as far as they settled.
struct AlbumSide {
    album: Album,
    graph: RenderGraph,
    keyer: Keyer,
    keys: Keys,
    /// The album file, where an error of its render is located.
    project: PathBuf,
    /// The album file in the user's words, and the revision it is at.
    described: String,
    /// What its renders did, for the one line that says so.
    reports: Vec<RenderReport>,
}

impl AlbumSide {
    /// Builds `album`'s graph and keys it with the analyses the cache holds.
    fn key(
        album: Album,
        project: &Path,
        described: String,
        cache_dir: &Path,
        run_start: SystemTime,
    ) -> Result<Self, String> {
        let graph = build_album(&album);
        let mut keyer = Keyer::new(&graph, cache_dir, run_start);
        let keys = keyer.keys(&graph).map_err(|e| e.to_string())?;
        let project = project.to_path_buf();
        Ok(Self { album, graph, keyer, keys, project, described, reports: Vec::new() })
    }

    fn keyed(&self) -> (&RenderGraph, &Keys) {
        (&self.graph, &self.keys)
    }

    /// The node of the song with `id`.
    fn song(&self, id: &str) -> Option<NodeIndex> {
        self.graph.find(&format!("{id}/song"))
    }

    /// The album-rate segments, in timeline order.
    fn timeline(&self) -> &[NodeIndex] {
        AlbumAudio::timeline_segments(&self.graph)
    }

    /// Each delivered file, by its path under the output folder, with the node that writes it.
    fn files(&self) -> BTreeMap<String, NodeIndex> {
        self.graph
            .targets
            .iter()
            .filter_map(|&i| match &self.graph.graph[i].kind {
                NodeKind::Deliver { target, file_name, .. } => {
                    Some((format!("{target}/{file_name}"), i))
                }
                _ => None,
            })
            .collect()
    }

    /// Renders `targets` into `<folder>/<name>`, settling keys in stages on the way.
    fn render(&mut self, targets: &[NodeIndex], run: &Run, name: &str) -> Result<(), i32> {
        if targets.is_empty() {
            return Ok(());
        }
        let Self { graph, keyer, keys, project, described, reports, .. } = self;
        let delivery = run.delivery(name);
        if let Err(e) = std::fs::create_dir_all(&delivery.out_dir) {
            eprintln!("error: cannot create `{}`: {e}", delivery.out_dir.display());
            return Err(EXIT_FAILURE);
        }
        let settings = Settings { jobs: run.jobs, delivery };
        let first = &graph.graph[targets[0]].id;
        let mut rekey = || {
            keyer.keys(graph).map_err(|error| RenderError {
                node: first.clone(),
                error: NodeError::Audio(error),
            })
        };
        let (store, cache) = (&run.store, &run.cache);
        let bar = Bar::new();
        let rendered =
            render_settled(graph, keys, &mut rekey, store, cache, targets, &settings, &bar);
        bar.clear();
        match rendered {
            Ok(report) => {
                reports.push(report);
                Ok(())
            }
            Err(failure) => {
                let located = match &failure.error {
                    NodeError::Album(error) => report_album_error(project, error),
                    _ => false,
                };
                if located {
                    eprintln!("  = node: {}", failure.node);
                } else {
                    eprintln!("error: {failure}");
                }
                // The revision's files are in a checkout that is gone by the time this is read.
                eprintln!("  = while rendering {described}");
                Err(EXIT_FAILURE)
            }
        }
    }

    /// Says how many nodes its renders ran, of how many they looked at.
    fn say_rendered(&self, name: &str) {
        if messages::json() {
            return;
        }
        let mut looked_at = BTreeSet::new();
        let mut ran = BTreeSet::new();
        for event in self.reports.iter().flat_map(|r| &r.events) {
            match event {
                RenderEvent::Rendered(id, _) => {
                    ran.insert(id);
                    looked_at.insert(id);
                }
                RenderEvent::Hit(id) | RenderEvent::Repaired(id) => {
                    looked_at.insert(id);
                }
                RenderEvent::Measured(_) => {}
            }
        }
        let of = counted(looked_at.len(), "node", "nodes");
        eprintln!("rendered {} of {of} for the {name}", ran.len());
    }
}

/// Where and how both sides render.
struct Run {
    store: Store,
    cache: CacheDir,
    /// Holds each side's delivered files, in a folder of its own.
    folder: TemporaryFolder,
    jobs: usize,
}

impl Run {
    /// Where side `name`'s files go.
    fn delivery(&self, name: &str) -> Delivery {
        Delivery {
            out_dir: self.folder.path().join(name),
            encoding: Encoding::Wav(WavFormat::Float32),
        }
    }
}

const BEFORE: &str = "before";
const AFTER: &str = "after";

/// Renders what the comparison reads: the changed songs and the album-rate timeline of each
/// side, which settles every key, then the delivered files whose keys differ. `Err` holds
/// the exit code, the failure said.
fn render_changes(before: &mut AlbumSide, after: &mut AlbumSide, run: &Run) -> Result<(), i32> {
    let songs = changed_songs(before, after);
    let first = |side: &AlbumSide, pick: fn(&ChangedSong) -> NodeIndex| {
        let mut targets: Vec<NodeIndex> = songs.iter().map(pick).collect();
        targets.extend_from_slice(side.timeline());
        targets
    };
    let targets = first(before, |s| s.before);
    before.render(&targets, run, BEFORE)?;
    let targets = first(after, |s| s.after);
    after.render(&targets, run, AFTER)?;
    let files = changed_files(before, after);
    let targets: Vec<NodeIndex> = files.iter().map(|f| f.before).collect();
    before.render(&targets, run, BEFORE)?;
    let targets: Vec<NodeIndex> = files.iter().map(|f| f.after).collect();
    after.render(&targets, run, AFTER)?;
    before.say_rendered(BEFORE);
    after.say_rendered(AFTER);
    Ok(())
}

/// A song in both, whose node's key differs.
struct ChangedSong {
    /// `song 2 "Tidewater"`, as the working tree numbers and titles it.
    subject: String,
    before: NodeIndex,
    after: NodeIndex,
}

/// The songs on both sides whose keys differ, in the working tree's order.
fn changed_songs(before: &AlbumSide, after: &AlbumSide) -> Vec<ChangedSong> {
    let mut changed = Vec::new();
    for (index, song) in after.album.songs.iter().enumerate() {
        let (Some(b), Some(a)) = (before.song(&song.id), after.song(&song.id)) else { continue };
        if before.keys.key(b) != after.keys.key(a) {
            let subject = Subject::Song { index, title: song.title.clone() }.to_string();
            changed.push(ChangedSong { subject, before: b, after: a });
        }
    }
    changed
}

/// A delivered file of the same name on both sides, whose key differs.
struct ChangedFile {
    /// Its path under the output folder: `streaming/02 Tidewater.flac`.
    path: String,
    before: NodeIndex,
    after: NodeIndex,
}

/// The files on both sides whose keys differ, in the order of their paths.
fn changed_files(before: &AlbumSide, after: &AlbumSide) -> Vec<ChangedFile> {
    let files_before = before.files();
    let mut changed = Vec::new();
    for (path, a) in after.files() {
        let Some(&b) = files_before.get(&path) else { continue };
        if before.keys.key(b) != after.keys.key(a) {
            changed.push(ChangedFile { path, before: b, after: a });
        }
    }
    changed
}

/// What the report compares, once every key has settled.
struct Subjects {
    songs: Vec<ChangedSong>,
    /// Whether the album-rate timeline changed.
    album: bool,
    files: Vec<ChangedFile>,
    /// Songs and files on one side only, with the side they are on.
    one_sided: Vec<(String, &'static str)>,
}

impl Subjects {
    fn of(before: &AlbumSide, after: &AlbumSide) -> Self {
        let timeline = |side: &AlbumSide| -> Vec<_> {
            side.timeline().iter().map(|&i| side.keys.key(i)).collect()
        };
        let mut one_sided = Vec::new();
        let only_in = |side: &AlbumSide, other: &AlbumSide, which, one_sided: &mut Vec<_>| {
            for (index, song) in side.album.songs.iter().enumerate() {
                if other.song(&song.id).is_none() {
                    let subject = Subject::Song { index, title: song.title.clone() };
                    one_sided.push((subject.to_string(), which));
                }
            }
            let files = other.files();
            for path in side.files().into_keys().filter(|path| !files.contains_key(path)) {
                one_sided.push((format!("output {path}"), which));
            }
        };
        only_in(after, before, THE_WORKING_TREE, &mut one_sided);
        only_in(before, after, THE_REVISION, &mut one_sided);
        Self {
            songs: changed_songs(before, after),
            album: timeline(before) != timeline(after),
            files: changed_files(before, after),
            one_sided,
        }
    }

    fn is_empty(&self) -> bool {
        self.songs.is_empty() && !self.album && self.files.is_empty() && self.one_sided.is_empty()
    }
}

/// Compares each subject and prints it: the songs, the album, the files, then what is on
/// one side only. Returns the exit code.
fn compare_subjects(
    subjects: &Subjects,
    before: &AlbumSide,
    after: &AlbumSide,
    run: &Run,
    pictures: Option<&Path>,
) -> i32 {
    let store = &run.store;
    for song in &subjects.songs {
        let keys = (before.keys.key(song.before), after.keys.key(song.after));
        let open = |which| -> Result<Box<dyn AudioStream>, String> {
            let key = if which == Which::Before { keys.0 } else { keys.1 };
            Ok(Box::new(store.open_entry(&key).map_err(|e| e.to_string())?))
        };
        match compare(&open) {
            Ok(comparison) => print_comparison(&song.subject, &comparison),
            Err(message) => eprintln!("warning: cannot compare {}: {message}", song.subject),
        }
    }
    if subjects.album {
        let found = |side: &AlbumSide| AlbumAudio::find(&side.graph, &side.keys, &run.cache);
        let compared = found(before).and_then(|timeline_before| {
            let timeline_after = found(after)?;
            let open = |which| -> Result<Box<dyn AudioStream>, String> {
                let timeline =
                    if which == Which::Before { &timeline_before } else { &timeline_after };
                Ok(timeline.open_album(store))
            };
            compare(&open)
        });
        match compared {
            Ok(comparison) => print_comparison(ALBUM, &comparison),
            Err(message) => eprintln!("warning: cannot compare the album: {message}"),
        }
    }
    let (out_before, out_after) = (run.delivery(BEFORE).out_dir, run.delivery(AFTER).out_dir);
    for file in &subjects.files {
        let (path_before, path_after) = (out_before.join(&file.path), out_after.join(&file.path));
        if let Err(message) = compare_file(&file.path, (&path_before, &path_after), pictures) {
            eprintln!("error: cannot compare the output `{}`: {message}", file.path);
            return EXIT_FAILURE;
        }
    }
    for (subject, side) in &subjects.one_sided {
        say_only_in(subject, side);
    }
    EXIT_OK
}

/// Compares the delivered file `path` as each side wrote it, the after read at the before's
/// rate, and draws the difference in `<pictures>/<path stem>.diff.png` when asked.
fn compare_file(
    path: &str,
    (before, after): (&Path, &Path),
    pictures: Option<&Path>,
) -> Result<(), String> {
    let rate = FileStream::open(before, None)?.sample_rate();
    let open = |which| -> Result<Box<dyn AudioStream>, String> {
        Ok(Box::new(match which {
            Which::Before => FileStream::open(before, None)?,
            Which::After => FileStream::open(after, Some(rate))?,
        }))
    };
    print_comparison(&format!("output {path}"), &compare(&open)?);
    if let Some(folder) = pictures {
        draw(&open, &folder.join(path))?;
    }
    Ok(())
}

/// Draws the difference `open` opens beside where `file` would be: `file`'s stem with
/// `.diff.png`.
fn draw(open: &Opener<'_>, file: &Path) -> Result<(), String> {
    let folder = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)
        .map_err(|e| format!("cannot create `{}`: {e}", folder.display()))?;
    let mut name = file.file_stem().unwrap_or_default().to_owned();
    name.push(".diff.png");
    draw_difference_of(open, &folder.join(name))
}
