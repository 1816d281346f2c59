//! `mixdown render`: render a mix, re-rendering only what the cache lacks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use clap::ValueEnum as _;
use petgraph::graph::NodeIndex;

use super::album_render::{REPORT_FILE, deliver_report, draw_overview, report_album_error};
use super::explain::Explanation;
use super::messages::{
    self, AssertionMessage, Message, MessageArgs, NodeEvent, NodeMessage, RenderFinished,
    TargetMessage,
};
use super::out_folder::{self, in_words};
use super::peak_memory::peak_resident_bytes;
use super::pictures::draw_render;
use super::progress::Bar;
use super::{
    CacheArgs, DEFAULT_PROJECT, EXIT_FAILURE, EXIT_INVALID, EXIT_OK, compile_and_report, counted,
    print_diagnostics, resolve_album_and_report,
};
use crate::analysis::assertions::{self, Outcome, RenderedAudio};
use crate::analysis::{AudioStream, FileStream};
use crate::atomic_file::TemporaryFolder;
use crate::audio::AudioError;
use crate::audio::dither::Dither;
use crate::audio::encode::Encoding;
use crate::audio::loudness::LoudnessRecord;
use crate::audio::mp3::Mp3Rate;
use crate::audio::resample::RESAMPLER_QUALITY;
use crate::audio::wav::WavFormat;
use crate::cache::encoded::open_encoded;
use crate::cache::file_digest::FileDigests;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::output_record::OutputRecord;
use crate::cache::remote::Remote;
use crate::cache::remote::figures::RemoteFigures;
use crate::cache::store::Store;
use crate::compile::{Broken, Compiled, locate_audio_file, locate_yaml_path};
use crate::diag::{Diagnostic, did_you_mean};
use crate::graph::build_album;
use crate::graph::{NodeKind, RenderGraph};
use crate::ir::{Album, SongInput};
use crate::project::{ProjectKind, project_kind};
use crate::render::{
    Delivery, NodeError, NormaliseError, Normalised, PlanStep, RenderError, RenderEvent,
    RenderReport, Settings, Shard, album_report, plan, render_settled, settled_value,
    shard_targets,
};

/// The arguments `render` and `watch` share: the mix file, how to render it, the cache.
#[derive(Debug, clap::Args)]
pub struct MixRender {
    /// The mix file.
    #[arg(default_value = DEFAULT_PROJECT)]
    pub file: PathBuf,
    #[command(flatten)]
    pub options: RenderOptions,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Arguments of `render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    #[command(flatten)]
    mix: MixRender,
    /// Render without reading or filling the cache (a temporary one is used and removed).
    #[arg(long)]
    no_cache: bool,
    /// Print what would render, and render nothing.
    #[arg(long)]
    dry_run: bool,
    /// Render only share K of N of the work into the cache (with `--remote`, a shared one),
    /// for N runners side by side; a final render without it then finds everything cached.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["no_cache", "only"])]
    shard: Option<Shard>,
}

/// Where the cache's entries are shared: the remote cache, and the share of the work to
/// render (`render` only; `watch` keeps to the local cache).
#[derive(Debug, Default)]
pub struct Sharing {
    /// The remote cache beside the local one.
    pub remote: Option<Arc<Remote>>,
    /// The share of the work to render, instead of the targets.
    pub shard: Option<Shard>,
}

/// How to render, shared by `render` and `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct RenderOptions {
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
    /// Where rendered files go.
    #[arg(long = "out", default_value = "out")]
    out: PathBuf,
    /// Render only this node and what it needs, and write its audio to `<out>/<name>.wav`:
    /// a name such as `vox`, `drums` or `master`, or an id from `mixdown graph`.
    #[arg(long)]
    only: Option<String>,
    /// Render only this deliverable of a `deliver:` block (an album's or a mix's), and
    /// what it needs.
    #[arg(long, conflicts_with = "only")]
    target: Option<String>,
    /// Format of the mix file, for a mix without a `deliver:` block or with `--only` (a
    /// WAV's sample format, or `flac` for 24-bit FLAC, `mp3` for 320 kbps MP3; default
    /// `pcm24`). A mix with a `deliver:` block refuses it: its targets name their formats.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// List every node with what happened to it (`ran`, `cached`, `repaired`).
    #[arg(short, long, conflicts_with = "quiet")]
    verbose: bool,
    /// Print only errors and warnings: no progress bar, no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Who says how the render went.
    #[arg(skip)]
    pub closing_line: ClosingLine,
    /// Draw each target's waveform, short-term loudness and true-peak overs in a PNG beside
    /// its file (`out/song.wav` → `out/song.png`).
    #[arg(long)]
    report: bool,
    #[command(flatten)]
    pub messages: MessageArgs,
}

/// Who closes a render with its summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClosingLine {
    /// The render: the progress bar, where each file went, and the closing line.
    #[default]
    Printed,
    /// The command running it (`watch` says it in its own one line): no progress bar, no
    /// file lines, no closing line; warnings and errors as ever.
    Elsewhere,
}

/// The sample formats `--format` offers.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    /// 16-bit PCM WAV.
    Pcm16,
    /// 24-bit PCM WAV (the default).
    Pcm24,
    /// 32-bit float WAV.
    Float32,
    /// 24-bit PCM WAV, as `pcm24`.
    Wav,
    /// 24-bit FLAC, rounded as a WAV is.
    Flac,
    /// 320 kbps constant bit rate MP3, at the mix's rate (32, 44.1 or 48 kHz).
    Mp3,
}

impl FormatArg {
    /// The format as a `deliver:` target writes it.
    fn deliver_format(self) -> &'static str {
        match self {
            Self::Pcm16 => "wav, bit_depth: 16",
            Self::Pcm24 | Self::Wav => "wav, bit_depth: 24",
            Self::Float32 => "wav, bit_depth: 32f",
            Self::Flac => "flac",
            Self::Mp3 => "mp3",
        }
    }

    fn encoding(self) -> Encoding {
        match self {
            Self::Pcm16 => Encoding::Wav(WavFormat::Pcm16),
            Self::Pcm24 | Self::Wav => Encoding::Wav(WavFormat::Pcm24),
            Self::Float32 => Encoding::Wav(WavFormat::Float32),
            Self::Flac => Encoding::Flac { bits: 24, dither: Dither::None, seed: 0 },
            Self::Mp3 => Encoding::Mp3(Mp3Rate::Cbr(320)),
        }
    }
}

/// The name of a temporary cache in the system's temporary folder.
const TEMPORARY_CACHE: &str = "mixdown-cache-";

/// Runs `render`.
pub fn run(args: &RenderArgs) -> i32 {
    args.mix.options.messages.install();
    let code = render_and_share(args);
    messages::finish("render", code)
}

/// Renders, with the remote cache if one is named, and waits for its uploads.
fn render_and_share(args: &RenderArgs) -> i32 {
    let setup = match args.mix.cache.for_project(&args.mix.file) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let temporary = if args.no_cache {
        match TemporaryFolder::create(TEMPORARY_CACHE) {
            Ok(folder) => Some(folder),
            Err(e) => {
                eprintln!("error: cannot create a temporary cache: {}", in_words(&e));
                return EXIT_FAILURE;
            }
        }
    } else {
        None
    };
    let cache_dir = temporary.as_ref().map_or(setup.dir.as_path(), TemporaryFolder::path);
    let remote = if args.no_cache {
        None
    } else {
        match args.mix.cache.open_remote(&setup) {
            Ok(remote) => remote,
            Err(code) => return code,
        }
    };
    let sharing = Sharing { remote, shard: args.shard };
    let code =
        render_file(&args.mix.file, &args.mix.options, cache_dir, args.dry_run, &sharing).code;
    if let Some(remote) = &sharing.remote {
        finish_remote(remote, &CacheDir::new(cache_dir), args.mix.options.quiet);
    }
    code
}

/// Waits for the uploads still running, with a progress line, prints the remote's
/// warnings, and adds its traffic to the cache's totals.
fn finish_remote(remote: &Remote, cache: &CacheDir, quiet: bool) {
    let (queued, done) = remote.upload_counts();
    if queued > done && !quiet {
        let left = usize::try_from(queued - done).unwrap_or(usize::MAX);
        eprintln!("uploading {} to {}", counted(left, "object", "objects"), remote.location());
    }
    let shown = std::sync::atomic::AtomicU64::new(done);
    remote.finish_uploads(&|done, queued| {
        if !quiet
            && std::io::IsTerminal::is_terminal(&std::io::stderr())
            && shown.swap(done, std::sync::atomic::Ordering::Relaxed) != done
        {
            eprint!("\ruploaded {done} of {queued}");
        }
    });
    for warning in remote.take_warnings() {
        eprintln!("warning: {warning}");
    }
    let figures = remote.figures();
    if figures.uploads > 0 && !quiet {
        eprintln!(
            "\ruploaded {} ({}) to {}",
            counted(usize::try_from(figures.uploads).unwrap_or(usize::MAX), "object", "objects"),
            megabytes(figures.bytes_out),
            remote.location()
        );
    }
    // The totals only inform `cache stats`; failing to keep them must not fail the render.
    let _ = RemoteFigures::add_to(figures, cache);
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// What one render of a project came to.
pub struct Rendered {
    /// The exit code the render earns.
    pub code: i32,
    /// The audio files the project reads when it compiled, or else the [`Broken`] project's.
    pub files: Result<Vec<PathBuf>, Broken>,
    /// The project's assertions and what checking them after the render found.
    pub outcomes: Vec<Outcome>,
    /// What a render that finished did; `None` when it did not finish.
    pub done: Option<RenderDone>,
}

/// What a finished render did, for a caller that says it in its own words.
pub struct RenderDone {
    /// The nodes that ran, by short name, inputs before their readers.
    pub ran: Vec<String>,
    /// Nodes the targets need.
    pub nodes: usize,
    /// Wall-clock time from the start, in seconds.
    pub seconds: f64,
    /// Each target's figures, as the closing line gives them (`; song: -14.0 LUFS, …`).
    pub loudness: String,
    /// The targets' files.
    pub files: Vec<PathBuf>,
}

/// Compiles and renders `file`, printing diagnostics, progress and the summary line.
pub fn render_file(
    file: &Path,
    options: &RenderOptions,
    cache_dir: &Path,
    dry_run: bool,
    sharing: &Sharing,
) -> Rendered {
    let started = Instant::now();
    let run_start = SystemTime::now();
    let compiled = match project_kind(file) {
        ProjectKind::Mix => {
            compile_and_report(file).map(|compiled| Project::Mix(Box::new(compiled)))
        }
        ProjectKind::Album => resolve_album_and_report(file).map(|resolved| {
            let graph = build_album(&resolved.album);
            let graph = Box::new(graph);
            Project::Album { album: Box::new(resolved.album), graph, files: resolved.files }
        }),
    };
    let compiled = match compiled {
        Ok(compiled) => compiled,
        Err(broken) => {
            finished_without_render(file, started);
            let outcomes = Vec::new();
            return Rendered { code: EXIT_INVALID, files: Err(broken), outcomes, done: None };
        }
    };
    if let Project::Mix(mix) = &compiled
        && let Some(refused) = format_beside_targets(file, options, mix)
    {
        print_diagnostics(&[refused]);
        finished_without_render(file, started);
        let (files, outcomes) = (Ok(compiled.files()), Vec::new());
        return Rendered { code: EXIT_INVALID, files, outcomes, done: None };
    }
    // What to render is settled before the output folder is made: a name that names
    // nothing, or a shard with nothing to do, leaves no folder behind.
    let mut graph = compiled.graph().clone();
    let targets = match targets_to_render(&mut graph, options, sharing.shard) {
        Ok(targets) => targets,
        Err(code) => {
            if code != EXIT_OK {
                finished_without_render(file, started);
            }
            let (files, outcomes) = (Ok(compiled.files()), Vec::new());
            return Rendered { code, files, outcomes, done: None };
        }
    };
    let out_checked = if dry_run { Ok(()) } else { out_folder::prepare(&options.out) };
    if let Err(message) = out_checked {
        eprintln!("error: {message}");
        finished_without_render(file, started);
        let outcomes = Vec::new();
        return Rendered { code: EXIT_FAILURE, files: Ok(Vec::new()), outcomes, done: None };
    }
    let project_dir = file.parent().map(std::path::absolute).and_then(Result::ok);
    let project_dir = project_dir.unwrap_or_default();
    let run = Invocation {
        project: file,
        project_dir: &project_dir,
        cache_dir,
        plan_only: dry_run,
        run_start,
        started,
        sharing,
    };
    let (code, outcomes, done) = render_with_cache(options, &compiled, (graph, targets), &run);
    Rendered { code, files: Ok(compiled.files()), outcomes, done }
}

/// A compiled project: a mix, or an album with the mixes of its songs.
enum Project {
    Mix(Box<Compiled>),
    Album {
        album: Box<Album>,
        graph: Box<RenderGraph>,
        /// Every file the album reads, its songs' mix files among them.
        files: Vec<PathBuf>,
    },
}

impl Project {
    fn graph(&self) -> &RenderGraph {
        match self {
            Self::Mix(compiled) => &compiled.graph,
            Self::Album { graph, .. } => graph,
        }
    }

    /// Every file the project reads, which `watch` follows.
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Self::Mix(compiled) => compiled.graph.files(),
            Self::Album { graph, files, .. } => {
                let mut all = files.clone();
                all.extend(graph.files());
                all.sort();
                all.dedup();
                all
            }
        }
    }
}

/// The error for `--format` given to a mix whose `deliver:` block names its files: one of
/// the two would be ignored, and a build that asked for a file it does not get should stop
/// before it renders. `--only` writes one node's audio, which `--format` does apply to.
fn format_beside_targets(
    file: &Path,
    options: &RenderOptions,
    compiled: &Compiled,
) -> Option<Diagnostic> {
    let format = options.format?;
    if compiled.mix.deliver.is_empty() || options.only.is_some() {
        return None;
    }
    let name = format.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned());
    let (yaml_path, location) = locate_yaml_path(file, "deliver").unzip();
    Some(
        Diagnostic::error(
            "format-beside-deliver",
            format!("`--format {name}` is not used: this mix's `deliver:` block names its files"),
        )
        .at(location, yaml_path)
        .with_label("the files this mix renders")
        .with_help(format!(
            "drop `--format` to render the targets, add a target `{{ format: {} }}` to the \
             block, or add `--only master` to write the master alone as {name}",
            format.deliver_format()
        )),
    )
}

/// What a finished render did, in the terms of `watch`'s one line.
fn render_done(
    graph: &RenderGraph,
    report: &RenderReport,
    started: Instant,
    files: &[TargetMessage],
) -> RenderDone {
    let ran = report.rendered();
    RenderDone {
        ran: graph
            .topological_order()
            .into_iter()
            .filter(|&i| ran.binary_search(&graph.graph[i].id).is_ok())
            .map(|i| graph.short_name(i).to_owned())
            .collect(),
        nodes: report.considered,
        seconds: started.elapsed().as_secs_f64(),
        loudness: closing_loudness(report),
        files: files.iter().map(|f| PathBuf::from(&f.path)).collect(),
    }
}

/// Says, in JSON mode, that the render of `project` failed before any node ran.
fn finished_without_render(project: &Path, started: Instant) {
    if messages::json() {
        messages::emit(&Message::RenderFinished(RenderFinished {
            project: messages::shown(project),
            success: false,
            nodes: 0,
            ran: 0,
            cached: 0,
            seconds: started.elapsed().as_secs_f64(),
            targets: Vec::new(),
        }));
    }
}

/// One render's circumstances.
struct Invocation<'a> {
    /// The project file, where a failure in one of its audio files is located.
    project: &'a Path,
    /// The project's folder, which `--dry-run` shows file names relative to.
    project_dir: &'a Path,
    cache_dir: &'a Path,
    /// Print the plan and render nothing.
    plan_only: bool,
    /// When the run started, by the clock files are stamped with.
    run_start: SystemTime,
    started: Instant,
    sharing: &'a Sharing,
}

/// Renders `targets` of `graph`, then checks the project's assertions when every target
/// rendered: returns the exit code (1 when an assertion failed), the assertions' outcomes,
/// and what a finished render did.
fn render_with_cache(
    args: &RenderOptions,
    compiled: &Project,
    (graph, targets): (RenderGraph, Vec<NodeIndex>),
    run: &Invocation<'_>,
) -> (i32, Vec<Outcome>, Option<RenderDone>) {
    let Invocation { project, project_dir, cache_dir, plan_only, run_start, started, sharing } =
        *run;
    let checks = args.only.is_none() && sharing.shard.is_none();
    let targets = and_measured(compiled, &graph, checks, targets);
    let graph = &graph;
    let mut cache = CacheDir::new(cache_dir);
    let mut store = match &sharing.remote {
        Some(remote) => Store::local(&cache).with_remote(Arc::clone(remote)),
        None => Store::local(&cache),
    };
    let mut keyer = Keyer::new(graph, cache_dir, run_start);
    let mut keys = match keyer.keys(graph) {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("error: {}", key_error(&error));
            return (EXIT_FAILURE, Vec::new(), None);
        }
    };
    let format = args.format.unwrap_or(FormatArg::Pcm24);
    let delivery = Delivery { out_dir: args.out.clone(), encoding: format.encoding() };
    if plan_only {
        let why = Explanation {
            graph,
            keys: &keys,
            store: &store,
            cache: &cache,
            project_dir,
            delivery: Some(&delivery),
        };
        print_plan(&why, &delivery, &targets);
        return (EXIT_OK, Vec::new(), None);
    }
    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let hidden = args.quiet || args.closing_line == ClosingLine::Elsewhere;
    let bar = if hidden { Bar::hidden() } else { Bar::new() };
    let settings = Settings { jobs, delivery };
    let staged = Staged { graph, targets: &targets, settings: &settings, bar: &bar };
    // A render without the cache keeps its records in a temporary cache, which the report
    // and the assertions read; it lives until they are done.
    let mut temporary_cache = None;
    let result = match staged.render(&mut keys, &mut keyer, &store, &cache) {
        Err(RenderError { error: NodeError::CacheWrite(e), .. }) => {
            bar.clear();
            warn_rendering_without(cache_dir, &e);
            render_without_cache(&staged, &mut keys, &mut keyer).map(|(report, temporary)| {
                cache = CacheDir::new(temporary.path());
                store = Store::local(&cache);
                temporary_cache = Some(temporary);
                report
            })
        }
        other => other,
    };
    bar.clear();
    match result {
        Ok(report) => {
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            let found = Found { graph, keys: &keys, store: &store };
            let delivery = &settings.delivery;
            let files: Vec<TargetMessage> = targets
                .iter()
                .filter_map(|&t| report_output(&found, t, delivery, cache_dir, &report, args))
                .collect();
            print_events(&report.events, args.verbose);
            // `--only` renders one node, not the files the master's assertions measure.
            let audio = RenderedAudio {
                graph,
                keys: &keys,
                store: &store,
                cache: &cache,
                delivery: &settings.delivery,
            };
            let (code, outcomes, closing) = check_render(project, args, compiled, &audio, sharing);
            let rendered = report.rendered().len();
            let cached = report.considered.saturating_sub(rendered);
            let done = render_done(graph, &report, started, &files);
            emit_finished(project, &report, &done, files);
            if args.quiet || args.closing_line == ClosingLine::Elsewhere {
                return (code, outcomes, Some(done));
            }
            eprintln!(
                "rendered {rendered} of {} nodes ({cached} cached) in {:.2} s{}",
                report.considered,
                started.elapsed().as_secs_f64(),
                closing.unwrap_or_else(|| closing_loudness(&report))
            );
            if let Some(peak) = peak_resident_bytes().filter(|_| args.verbose) {
                eprintln!("peak memory {:.1} MB", peak as f64 / 1e6);
            }
            (code, outcomes, Some(done))
        }
        Err(failure) => {
            report_failure(project, &failure);
            finished_without_render(project, started);
            (EXIT_FAILURE, Vec::new(), None)
        }
    }
}

/// Checks what the project asks of a render: a mix's assertions; an album's report
/// (written and judged) when the render was `whole`, and its assertions and its songs'
/// mixes' when the render made what they measure (the whole album, or one `--target`
/// with them). A shard renders only part of that, so it checks none and says so. Returns
/// the exit code, the assertions' outcomes and the album's figures for the closing line.
fn check_render(
    project: &Path,
    args: &RenderOptions,
    compiled: &Project,
    audio: &RenderedAudio<'_>,
    sharing: &Sharing,
) -> (i32, Vec<Outcome>, Option<String>) {
    if let Some(shard) = sharing.shard {
        say_unchecked(compiled, shard);
        return (EXIT_OK, Vec::new(), None);
    }
    match compiled {
        // `--only` renders one node, not the files the master's assertions measure.
        Project::Mix(compiled) if args.only.is_none() => {
            let outcomes = assertions::check(&compiled.mix, audio);
            (report_assertions(project, &outcomes, args.quiet), outcomes, None)
        }
        Project::Album { album, .. } if args.only.is_none() => {
            let RenderedAudio { graph, keys, store, cache, .. } = *audio;
            let whole = args.target.is_none();
            let report = if whole { album_report(graph, keys, store, cache, album) } else { None };
            if whole && report.is_none() {
                eprintln!(
                    "warning: {} was not written: a record it reads is missing from the cache; \
                     render again to write it",
                    args.out.join(REPORT_FILE).display()
                );
            }
            let met = report.as_ref().is_none_or(|r| deliver_report(r, &args.out, args.quiet));
            if args.report && whole {
                match draw_overview(audio, &args.out) {
                    Ok(path) if !args.quiet && !messages::json() => {
                        eprintln!("drew {}", path.display());
                    }
                    Ok(_) => {}
                    Err(message) => {
                        eprintln!("warning: cannot draw the album's overview: {message}");
                    }
                }
            }
            let mut outcomes = assertions::check_album(album, audio);
            outcomes.extend(assertions::check_song_mixes(album, audio));
            let asserted = report_assertions(project, &outcomes, args.quiet);
            let code = if met { asserted } else { EXIT_FAILURE };
            (code, outcomes, report.as_ref().map(album_in_words))
        }
        _ => (EXIT_OK, Vec::new(), None),
    }
}

/// Says, in one line, that a shard checks none of the project's assertions: it renders a
/// share of the work into the cache, not the files and analyses they measure.
fn say_unchecked(compiled: &Project, shard: Shard) {
    let count = match compiled {
        Project::Mix(compiled) => compiled.mix.assertions.len(),
        Project::Album { album, .. } => {
            let songs = album.songs.iter().map(|song| match &song.input {
                SongInput::Mix(mix) => mix.assertions.len(),
                SongInput::File(_) => 0,
            });
            album.assertions.len() + songs.sum::<usize>()
        }
    };
    if count > 0 {
        eprintln!(
            "note: {} not checked: shard {shard} renders a share of the work, not the audio \
             they measure; the render that gathers the shards checks them",
            counted(count, "assertion", "assertions")
        );
    }
}

/// `targets` and, when the render `checks` the project's assertions, the nodes they read
/// that `targets` lack, so that the render makes (or fetches) what they measure even where
/// a cached song or master cut the walk short.
fn and_measured(
    compiled: &Project,
    graph: &RenderGraph,
    checks: bool,
    mut targets: Vec<NodeIndex>,
) -> Vec<NodeIndex> {
    if !checks {
        return targets;
    }
    let measured = match compiled {
        Project::Album { album, .. } => assertions::album_measured_nodes(album, graph),
        Project::Mix(compiled) => assertions::mix_measured_nodes(&compiled.mix, graph),
    };
    for node in measured {
        if !targets.contains(&node) {
            targets.push(node);
        }
    }
    targets
}

/// Every target's figures for the closing line, in the order the targets were asked for.
fn closing_loudness(report: &RenderReport) -> String {
    let normalised = |name: &str| report.normalised.iter().find(|(n, _)| n == name);
    report
        .loudness
        .iter()
        .map(|t| in_loudness_words(&t.name, &t.record, normalised(&t.name).map(|(_, n)| n)))
        .collect()
}

/// `; album: -14.0 LUFS, -1.0 dBTP`: the delivered album's loudness and true peak, for
/// the closing line.
fn album_in_words(report: &crate::album::report::AlbumReport) -> String {
    let figure =
        |value: Option<f64>| value.map_or_else(|| "silent".to_owned(), |v| format!("{v:.1}"));
    format!(
        "; album: {} LUFS, {} dBTP",
        figure(report.album.integrated),
        figure(report.album.true_peak)
    )
}

/// `; NAME: -14.0 LUFS, -1.0 dBTP`: a target's integrated loudness and true peak, for the
/// closing line, with the gain and limiting of its normalisation if it has one
/// (`, gain +3.21 dB, limiting 1.20 dB`).
fn in_loudness_words(
    name: &str,
    loudness: &LoudnessRecord,
    normalised: Option<&Normalised>,
) -> String {
    let integrated = loudness.integrated.map_or_else(
        || "no integrated loudness (silent or under 0.4 s)".to_owned(),
        |lufs| format!("{lufs:.1} LUFS"),
    );
    let true_peak =
        loudness.true_peak.map_or_else(|| "silent".to_owned(), |tp| format!("{tp:+.1} dBTP"));
    let normalisation = normalised.map_or_else(String::new, |n| {
        format!(", gain {:+.2} dB, limiting {:.2} dB", n.gain_db, n.limiting_db)
    });
    format!("; {name}: {integrated}, {true_peak}{normalisation}")
}

/// An assertion's result, as a JSON message.
fn assertion_message(project: &Path, outcome: &Outcome) -> AssertionMessage {
    let (min, max) = outcome.bounds();
    let finding = outcome.finding.as_ref().ok();
    AssertionMessage {
        project: messages::shown(project),
        file: outcome.assertion.location.as_ref().map(|l| messages::shown(&l.file)),
        yaml_path: outcome.assertion.yaml_path.clone(),
        passed: outcome.passed(),
        measured: finding.and_then(|f| f.measured),
        unit: finding.map_or("", |f| f.unit),
        min,
        max,
        message: outcome.message(),
        line: outcome.assertion.location.as_ref().map(|l| l.line),
    }
}

/// Lists every node with what happened to it, for people, with `--verbose`; in JSON mode
/// each event was printed as it happened.
fn print_events(events: &[RenderEvent], verbose: bool) {
    if !verbose || messages::json() {
        return;
    }
    for event in events {
        match event {
            RenderEvent::Hit(id) => eprintln!("cached   {id}"),
            RenderEvent::Rendered(id, seconds) => eprintln!("ran      {id:<48} {seconds:6.2} s"),
            RenderEvent::Repaired(id) => eprintln!("repaired {id}"),
            RenderEvent::Measured(id) => eprintln!("measured {id}"),
        }
    }
}

/// Says, in JSON mode, that the render of `project` finished, with its targets' files.
fn emit_finished(
    project: &Path,
    report: &RenderReport,
    done: &RenderDone,
    targets: Vec<TargetMessage>,
) {
    if messages::json() {
        let ran = done.ran.len();
        messages::emit(&Message::RenderFinished(RenderFinished {
            project: messages::shown(project),
            success: true,
            nodes: report.considered,
            ran,
            cached: report.considered.saturating_sub(ran),
            seconds: done.seconds,
            targets,
        }));
    }
}

/// Prints every failed assertion at the line that wrote it, and a count when there are
/// assertions (unless quiet); in JSON mode, every assertion's result too. Returns 1 when
/// one failed: the files are written, but a build that asserts a ceiling must not pass when
/// the mix breaks it.
fn report_assertions(project: &Path, outcomes: &[Outcome], quiet: bool) -> i32 {
    let failed: Vec<Diagnostic> =
        outcomes.iter().filter(|o| !o.passed()).map(Outcome::diagnostic).collect();
    if messages::json() {
        for outcome in outcomes {
            messages::emit(&Message::Assertion(assertion_message(project, outcome)));
        }
    }
    print_diagnostics(&failed);
    if !quiet && !outcomes.is_empty() {
        let passed = outcomes.len() - failed.len();
        eprintln!("assertions: {passed} passed, {} failed", failed.len());
    }
    if failed.is_empty() { EXIT_OK } else { EXIT_FAILURE }
}

/// What to render: the graph's targets, the node `--only` names, or this shard's share of
/// the work; `Err` with the exit code when there is nothing to do or the name is unknown.
fn targets_to_render(
    graph: &mut RenderGraph,
    args: &RenderOptions,
    shard: Option<Shard>,
) -> Result<Vec<NodeIndex>, i32> {
    match (&args.only, shard) {
        (None, Some(shard)) => {
            let share = shard_targets(graph, &graph.targets, shard);
            if share.is_empty() {
                if !args.quiet {
                    eprintln!("shard {shard} has nothing to render: the work has fewer parts");
                }
                return Err(EXIT_OK);
            }
            Ok(share)
        }
        (None, None) => match &args.target {
            None => Ok(graph.targets.clone()),
            Some(name) => named_targets(graph, name),
        },
        (Some(name), _) => solo_target(graph, name).map(|target| vec![target]).map_err(|why| {
            eprintln!("error: {why}");
            EXIT_INVALID
        }),
    }
}

/// The files and CUE sheets of the `deliver:` target named `name`; an error naming the
/// targets there are when none is.
fn named_targets(graph: &RenderGraph, name: &str) -> Result<Vec<NodeIndex>, i32> {
    let target_of = |i: &NodeIndex| match &graph.graph[*i].kind {
        NodeKind::Deliver { target, .. } | NodeKind::Cue { target, .. } => Some(target.as_str()),
        _ => None,
    };
    let named: Vec<NodeIndex> =
        graph.targets.iter().copied().filter(|i| target_of(i) == Some(name)).collect();
    if named.is_empty() {
        let mut known: Vec<&str> = graph.targets.iter().filter_map(target_of).collect();
        known.dedup();
        let hint = did_you_mean(name, known.iter().copied()).map_or_else(
            || format!("the targets are: {}", known.join(", ")),
            |s| format!("did you mean `{s}`?"),
        );
        eprintln!("error: no deliverable is named `{name}`; {hint}");
        return Err(EXIT_INVALID);
    }
    Ok(named)
}

/// Prints a failed render's error; one in an audio file is located at the line of the
/// project that names the file.
fn report_failure(project: &Path, failure: &RenderError) {
    if let NodeError::Album(error) = &failure.error
        && report_album_error(project, error)
    {
        eprintln!("  = node: {}", failure.node);
        return;
    }
    let site = match &failure.error {
        NodeError::Audio(error) => error.path().and_then(|file| locate_audio_file(project, file)),
        NodeError::Loudness(_) => locate_yaml_path(project, "master.loudness"),
        _ => None,
    };
    if let Some((yaml_path, location)) = site {
        let diagnostic = Diagnostic::error("render-failed", failure.error.to_string())
            .at(Some(location), Some(yaml_path))
            .with_label(match failure.error {
                NodeError::Loudness(_) => "this target cannot be met",
                _ => "this file failed to render",
            })
            .with_help_opt(match &failure.error {
                NodeError::Loudness(NormaliseError::TooMuchLimiting { .. }) => Some(
                    "lower the target, or raise `max_limiting` if that much limiting is meant"
                        .to_owned(),
                ),
                NodeError::Loudness(_) => Some(
                    "check the master's faders and mutes, or drop `target` to keep only the ceiling"
                        .to_owned(),
                ),
                _ => None,
            });
        print_diagnostics(&[diagnostic]);
    } else {
        print_diagnostics(&[Diagnostic::error("render-failed", failure.error.to_string())]);
    }
    eprintln!("  = node: {}", failure.node);
}

/// Says where a target's file went (unless quiet), and warns when its integer samples
/// clipped, the same whether the file was written now or found up to date. Returns the
/// target's file and figures; `None` for a node that writes no file of its own.
fn report_output(
    found: &Found<'_>,
    target: NodeIndex,
    delivery: &Delivery,
    cache_dir: &Path,
    report: &RenderReport,
    args: &RenderOptions,
) -> Option<TargetMessage> {
    let quiet = args.quiet || args.closing_line == ClosingLine::Elsewhere;
    let node = &found.graph.graph[target];
    let (name, path) = match &node.kind {
        NodeKind::Output { name, .. } => (name, delivery.path(name)),
        NodeKind::Deliver { target, file_name, .. } | NodeKind::Cue { target, file_name, .. } => {
            (target, delivery.target_path(target, file_name))
        }
        _ => return None,
    };
    let written = report.rendered().contains(&node.id);
    if !quiet {
        if written {
            eprintln!("wrote {}", path.display());
        } else {
            eprintln!("{} is up to date", path.display());
        }
    }
    let record = OutputRecord::load(&CacheDir::new(cache_dir), &path);
    if let Some(warning) = record.and_then(|r| r.clipping_warning(&path)) {
        eprintln!("warning: {warning}");
    }
    if let Some(note) = headroom_note(found, target, &path) {
        eprintln!("note: {note}");
    }
    let loudness = report.loudness.iter().find(|t| t.node == node.id).map(|t| &t.record);
    // A CUE sheet is text: there is nothing to draw.
    let audio = !matches!(node.kind, NodeKind::Cue { .. });
    let picture = (args.report && audio).then(|| path.with_extension("png"));
    if let Some(picture) = &picture {
        let open = || -> Result<Box<dyn AudioStream>, String> {
            Ok(Box::new(FileStream::open(&path, None)?))
        };
        match draw_render(&open, picture) {
            Ok(()) if !quiet && !messages::json() => eprintln!("drew {}", picture.display()),
            Ok(()) => {}
            Err(message) => eprintln!("warning: cannot draw `{}`: {message}", picture.display()),
        }
    }
    Some(TargetMessage {
        name: name.clone(),
        path: messages::shown(&path),
        picture: picture.as_deref().map(messages::shown),
        written,
        integrated_lufs: loudness.and_then(|l| l.integrated),
        true_peak_dbtp: loudness.and_then(|l| l.true_peak),
    })
}

/// What an MP3 target's headroom cost: the trim its decoded true peak needed to stay under
/// its ceiling, as its encode node recorded it.
fn headroom_note(found: &Found<'_>, target: NodeIndex, path: &Path) -> Option<String> {
    let encode = *found.graph.graph[target].inputs.first()?;
    let (NodeKind::Encode { target: deliverable, .. }
    | NodeKind::AlbumEncode { target: deliverable, .. }) = &found.graph.graph[encode].kind
    else {
        return None;
    };
    let stream = open_encoded(found.store, &found.keys.key(encode)).ok()?;
    let trim = stream.facts().headroom_trim_db?;
    Some(format!(
        "`{}` was lowered by {trim:.2} dB so that its decoded true peak stays under {} dBTP",
        path.display(),
        deliverable.ceiling_dbtp
    ))
}

/// A rendered graph with its keys and the cache that holds its entries.
struct Found<'a> {
    graph: &'a RenderGraph,
    keys: &'a Keys,
    store: &'a Store,
}

/// Prints what a render of `targets` would do to each node, and why a node renders.
fn print_plan(why: &Explanation<'_>, delivery: &Delivery, targets: &[NodeIndex]) {
    for (i, step) in plan(why.graph, why.keys, why.store, why.cache, delivery, targets).steps {
        if messages::json() {
            let event = match step {
                PlanStep::Cached => NodeEvent::Cached,
                PlanStep::Render => NodeEvent::Planned,
                PlanStep::Direct => continue,
            };
            let node = why.graph.graph[i].id.clone();
            messages::emit(&Message::Node(NodeMessage { event, node, seconds: None }));
            continue;
        }
        let what = match step {
            PlanStep::Cached => "cached",
            PlanStep::Render => "render",
            PlanStep::Direct => "read",
        };
        println!("{what:<7} {}", why.graph.graph[i].id);
        if step == PlanStep::Render {
            let said = why.of(i);
            let mut lines = said.lines();
            let first = lines.next().unwrap_or_default();
            let reasons: Vec<&str> = lines.collect();
            if reasons.is_empty() {
                println!("        {first}");
            }
            for reason in reasons {
                println!("      {reason}");
            }
        }
    }
}

/// The target that `--only NAME` asks for: the named output itself, or a new target that
/// delivers the named node's audio in a file named after it. A node without audio of its
/// own (a measurement, a trial segment, a deliverable's stream or file, a cue sheet) is
/// refused by name.
fn solo_target(graph: &mut RenderGraph, name: &str) -> Result<NodeIndex, String> {
    let node = graph.resolve(name).map_err(|unknown| unknown.to_string())?;
    let id = &graph.graph[node].id;
    let no_audio =
        |what: &str, help: &str| format!("`{id}` has no audio to write: {what}\n  = help: {help}");
    match &graph.graph[node].kind {
        NodeKind::Output { .. } => return Ok(node),
        NodeKind::AlbumAnalysis { .. } => {
            return Err(no_audio(
                "it measures the album, and a render puts its figures in report.json",
                "`--only` writes one node's audio; name a song or a segment (`mixdown graph` lists them)",
            ));
        }
        NodeKind::Segment { trial: true, .. } => {
            return Err(no_audio(
                "it tries the limiter at the first gains and keeps only the loudness it measures",
                "`--only` writes one node's audio; name the segment at the album's rate \
                 (`mixdown graph` lists them)",
            ));
        }
        NodeKind::Encode { .. }
        | NodeKind::AlbumEncode { .. }
        | NodeKind::Deliver { .. }
        | NodeKind::Cue { .. } => {
            return Err(no_audio(
                "it is part of a deliverable",
                "`--target NAME` builds one deliverable's files",
            ));
        }
        _ => {}
    }
    let file_name = graph.short_name(node).replace('/', "-");
    Ok(graph.add_solo_target(node, &file_name))
}

/// A render of `targets` whose keys settle in stages (see [`render_settled`]).
struct Staged<'a> {
    graph: &'a RenderGraph,
    targets: &'a [NodeIndex],
    settings: &'a Settings,
    bar: &'a Bar,
}

impl Staged<'_> {
    /// Renders with `store` and `cache`, keying again with `keyer` as analyses settle.
    fn render(
        &self,
        keys: &mut Keys,
        keyer: &mut Keyer,
        store: &Store,
        cache: &CacheDir,
    ) -> Result<RenderReport, RenderError> {
        let graph = self.graph;
        let mut rekey = || {
            keyer.keys(graph).map_err(|error| RenderError {
                node: self.targets.first().map(|&t| graph.graph[t].id.clone()).unwrap_or_default(),
                error: NodeError::Audio(error),
            })
        };
        render_settled(graph, keys, &mut rekey, store, cache, self.targets, self.settings, self.bar)
    }
}

/// Says that the cache at `cache_dir` cannot be written, and why, once.
fn warn_rendering_without(cache_dir: &Path, error: &std::io::Error) {
    eprintln!(
        "warning: cannot write to the cache at `{}` ({}); rendering without it",
        cache_dir.display(),
        in_words(error)
    );
}

/// Renders again into a temporary cache, after the cache failed: correctness never depends
/// on the cache, so only the time to render again is lost. Returns the temporary cache with
/// the report, as the album's report and the assertions read the records kept there.
fn render_without_cache(
    staged: &Staged<'_>,
    keys: &mut Keys,
    keyer: &mut Keyer,
) -> Result<(RenderReport, TemporaryFolder), RenderError> {
    let temporary = TemporaryFolder::create(TEMPORARY_CACHE).map_err(|e| RenderError {
        node: staged.targets.first().map(|&t| staged.graph.graph[t].id.clone()).unwrap_or_default(),
        error: NodeError::CacheWrite(e),
    })?;
    let cache = CacheDir::new(temporary.path());
    keyer.use_cache(temporary.path());
    *keys = keyer
        .keys(staged.graph)
        .map_err(|error| RenderError { node: String::new(), error: NodeError::Audio(error) })?;
    let rendered = staged.render(keys, keyer, &Store::local(&cache), &cache).map_err(|mut e| {
        if let NodeError::CacheWrite(source) = &e.error {
            let kind = source.kind();
            let words = format!("{} ({})", temporary.path().display(), in_words(source));
            e.error = NodeError::CacheWrite(std::io::Error::new(kind, words));
        }
        e
    })?;
    Ok((rendered, temporary))
}

/// A file that could not be read while keying, in words.
fn key_error(error: &AudioError) -> String {
    match error {
        AudioError::Read { path, source } => format!("cannot read `{}`: {source}", path.display()),
        other => other.to_string(),
    }
}

/// Hashes every source file (through the stat memo) and keys every node, with the values
/// the cache's analysis records settle.
pub fn compute_keys(
    graph: &RenderGraph,
    cache_dir: &Path,
    run_start: SystemTime,
) -> Result<Keys, String> {
    Keyer::new(graph, cache_dir, run_start).keys(graph).map_err(|error| key_error(&error))
}

/// Keys a graph, again after each stage of a render settles more of it, hashing each
/// source file once.
pub struct Keyer {
    digests: FileDigests,
    cache: CacheDir,
}

impl Keyer {
    /// A keyer for `graph`, whose files it hashes ahead (through the stat memo).
    #[must_use]
    pub fn new(graph: &RenderGraph, cache_dir: &Path, run_start: SystemTime) -> Self {
        let cache = CacheDir::new(cache_dir);
        let mut digests = FileDigests::load(&cache, run_start);
        digests.prefetch(&graph.files());
        Self { digests, cache }
    }

    /// Keys settled from the analysis records of the cache at `cache_dir` from now on: a
    /// render that falls back to a temporary cache keeps its records there.
    pub fn use_cache(&mut self, cache_dir: &Path) {
        self.cache = CacheDir::new(cache_dir);
    }

    /// Every node's key, as far as the cache's analysis records settle them.
    ///
    /// # Errors
    /// When a source file cannot be read.
    pub fn keys(&mut self, graph: &RenderGraph) -> Result<Keys, AudioError> {
        let Self { digests, cache } = self;
        let keys = Keys::compute_settled(
            graph,
            RESAMPLER_QUALITY,
            |path| {
                let read = |source| AudioError::Read { path: path.to_path_buf(), source };
                digests.digest(path).map(|d| d.to_string()).map_err(read)
            },
            |node, analysis| settled_value(graph, cache, node, analysis),
        )?
        .with_hashed_identities(graph, |path| digests.hashed_as(path));
        // The memo only saves work; failing to store it must not fail the render.
        let _ = digests.save();
        Ok(keys)
    }
}
