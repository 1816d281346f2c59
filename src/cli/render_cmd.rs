//! `mixdown render`: render a mix, re-rendering only what the cache lacks.

use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;
use std::time::{Instant, SystemTime};

use super::compile::{Broken, Compiled, compile, locate_audio_file, print_all};
use super::out_folder::{self, in_words};
use super::peak_memory::peak_resident_bytes;
use super::progress::Bar;
use super::{CacheArgs, DEFAULT_PROJECT, EXIT_FAILURE, EXIT_INVALID, EXIT_OK};
use crate::atomic_file::TemporaryFolder;
use crate::audio::resample::RESAMPLER_QUALITY;
use crate::cache::file_digest::FileDigests;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::output_record::OutputRecord;
use crate::cache::store::Store;
use crate::diag::{Diagnostic, suggest};
use crate::graph::NodeKind;
use crate::graph::OutputFormat;
use crate::graph::RenderGraph;
use crate::render::{
    NodeError, PlanStep, RenderError, RenderEvent, RenderReport, Settings, plan, render,
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
}

/// How to render, shared by `render` and `watch`.
#[derive(Debug, clap::Args)]
pub struct RenderOptions {
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
    /// Where rendered files go.
    #[arg(long = "out", default_value = "out")]
    out: PathBuf,
    /// Render only this node and what it needs (an id from `mixdown graph`).
    #[arg(long)]
    only: Option<String>,
    /// Sample format of the mix file.
    #[arg(long, value_enum, default_value = "pcm24")]
    format: OutputFormat,
    /// List every node with what happened to it (`ran`, `cached`, `repaired`).
    #[arg(short, long)]
    verbose: bool,
}

/// The name of a temporary cache in the system's temporary folder.
const TEMPORARY_CACHE: &str = "mixdown-cache-";

/// Runs `render`.
pub fn run(args: &RenderArgs) -> i32 {
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
    let cache_dir = temporary.as_ref().map_or(args.mix.cache.dir.as_path(), TemporaryFolder::path);
    render_file(&args.mix.file, &args.mix.options, cache_dir, args.dry_run).code
}

/// What one render of a project came to.
pub struct Rendered {
    /// The exit code the render earns.
    pub code: i32,
    /// The audio files the project reads when it compiled, or else the [`Broken`] project's.
    pub files: Result<Vec<PathBuf>, Broken>,
}

/// Compiles and renders `file`, printing diagnostics, progress and the summary line.
pub fn render_file(
    file: &Path,
    options: &RenderOptions,
    cache_dir: &Path,
    dry_run: bool,
) -> Rendered {
    let started = Instant::now();
    let run_start = SystemTime::now();
    let out_checked = if dry_run { Ok(()) } else { out_folder::prepare(&options.out) };
    if let Err(message) = out_checked {
        eprintln!("error: {message}");
        return Rendered { code: EXIT_FAILURE, files: Ok(Vec::new()) };
    }
    let compiled = match compile(file, &options.out, options.format) {
        Ok(compiled) => compiled,
        Err(broken) => return Rendered { code: EXIT_INVALID, files: Err(broken) },
    };
    let code =
        render_with_cache(file, options, &compiled, cache_dir, dry_run, (run_start, started));
    Rendered { code, files: Ok(compiled.graph.files()) }
}

/// Prints a failed render's error; one in an audio file is located at the line of the
/// project that names the file.
fn report_failure(project: &Path, failure: &RenderError) {
    let site = match &failure.error {
        NodeError::Audio(error) => error.path().and_then(|file| locate_audio_file(project, file)),
        _ => None,
    };
    if let Some((yaml_path, location)) = site {
        let diagnostic = Diagnostic::error("render-failed", failure.error.to_string())
            .at(Some(location), Some(yaml_path))
            .with_label("this file failed to render");
        print_all(&[diagnostic]);
    } else {
        eprintln!("error[render-failed]: {}", failure.error);
    }
    eprintln!("  = node: {}", failure.node);
}

/// Says where the output file went, and warns when its integer samples clipped, the same
/// whether the file was written now or found up to date.
fn report_output(compiled: &Compiled, target: NodeIndex, cache_dir: &Path, report: &RenderReport) {
    let node = &compiled.graph.graph[target];
    let NodeKind::Output { path, .. } = &node.kind else { return };
    let written = report.rendered().contains(&node.id);
    if written {
        eprintln!("wrote {}", path.display());
    } else {
        eprintln!("{} is up to date", path.display());
    }
    let record = OutputRecord::load(&CacheDir::new(cache_dir), path);
    if let Some(warning) = record.and_then(|r| r.clipping_warning(path)) {
        eprintln!("warning: {warning}");
    }
}

fn render_with_cache(
    project: &Path,
    args: &RenderOptions,
    compiled: &Compiled,
    cache_dir: &Path,
    dry_run: bool,
    (run_start, started): (SystemTime, Instant),
) -> i32 {
    let graph = &compiled.graph;
    let cache = CacheDir::new(cache_dir);
    let store = Store::local(&cache);
    let keys = match compute_keys(compiled, cache_dir, run_start) {
        Ok(keys) => keys,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_FAILURE;
        }
    };
    let target = match &args.only {
        None => graph.output,
        Some(id) => {
            if let Some(i) = graph.find(id) {
                i
            } else {
                let ids: Vec<&str> = graph.graph.node_weights().map(|n| n.id.as_str()).collect();
                let hint = suggest(id, ids.iter().copied())
                    .unwrap_or_else(|| "`mixdown graph` lists the node ids".to_string());
                eprintln!("error: no node `{id}` in this mix\n  = help: {hint}");
                return EXIT_INVALID;
            }
        }
    };
    if dry_run {
        for (i, step) in plan(graph, &keys, &store, &cache, target).steps {
            let what = match step {
                PlanStep::Cached => "cached",
                PlanStep::Render => "render",
                PlanStep::Direct => "read",
            };
            println!("{what:<7} {}", graph.graph[i].id);
        }
        return EXIT_OK;
    }
    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let bar = Bar::new();
    let settings = Settings { jobs };
    let result = match render(graph, &keys, &store, &cache, target, settings, &bar) {
        Err(RenderError { error: NodeError::CacheWrite(e), .. }) => {
            bar.clear();
            eprintln!(
                "warning: cannot write to the cache at `{}` ({}); rendering without it",
                cache_dir.display(),
                in_words(&e)
            );
            render_without_cache(graph, &keys, target, settings, &bar)
        }
        other => other,
    };
    bar.clear();
    match result {
        Ok(report) => {
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            report_output(compiled, target, cache_dir, &report);
            if args.verbose {
                for event in &report.events {
                    match event {
                        RenderEvent::Hit(id) => eprintln!("cached   {id}"),
                        RenderEvent::Rendered(id, seconds) => {
                            eprintln!("ran      {id:<48} {seconds:6.2} s");
                        }
                        RenderEvent::Repaired(id) => eprintln!("repaired {id}"),
                    }
                }
            }
            let rendered = report.rendered().len();
            let cached = report.considered.saturating_sub(rendered);
            eprintln!(
                "rendered {rendered} of {} nodes ({cached} cached) in {:.2} s",
                report.considered,
                started.elapsed().as_secs_f64()
            );
            if let Some(peak) = peak_resident_bytes().filter(|_| args.verbose) {
                eprintln!("peak memory {:.1} MB", peak as f64 / 1e6);
            }
            EXIT_OK
        }
        Err(failure) => {
            report_failure(project, &failure);
            EXIT_FAILURE
        }
    }
}

/// Renders again into a temporary cache, after the cache failed: correctness never depends
/// on the cache, so only the time to render again is lost.
fn render_without_cache(
    graph: &RenderGraph,
    keys: &Keys,
    target: petgraph::graph::NodeIndex,
    settings: Settings,
    bar: &Bar,
) -> Result<RenderReport, RenderError> {
    let temporary = TemporaryFolder::create(TEMPORARY_CACHE).map_err(|e| RenderError {
        node: graph.graph[target].id.clone(),
        error: NodeError::CacheWrite(e),
    })?;
    let cache = CacheDir::new(temporary.path());
    render(graph, keys, &Store::local(&cache), &cache, target, settings, bar).map_err(|mut e| {
        if let NodeError::CacheWrite(source) = &e.error {
            let kind = source.kind();
            let words = format!("{} ({})", temporary.path().display(), in_words(source));
            e.error = NodeError::CacheWrite(std::io::Error::new(kind, words));
        }
        e
    })
}

/// Hashes every source file (through the stat memo) and keys every node.
pub fn compute_keys(
    compiled: &Compiled,
    cache_dir: &Path,
    run_start: SystemTime,
) -> Result<Keys, String> {
    let mut digests = FileDigests::load(&CacheDir::new(cache_dir), run_start);
    digests.prefetch(&compiled.graph.files());
    let keys = Keys::compute(&compiled.graph, RESAMPLER_QUALITY, |path| {
        digests
            .digest(path)
            .map(|d| d.to_string())
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    })?;
    // The memo only saves work; failing to store it must not fail the render.
    let _ = digests.save();
    Ok(keys)
}
