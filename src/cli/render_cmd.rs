//! `mixdown render`: render a mix, re-rendering only what the cache lacks.

use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;
use std::time::{Instant, SystemTime};

use super::compile::{Broken, Compiled, compile, locate_audio_file, print_all};
use super::peak_memory::peak_resident_bytes;
use super::progress::Bar;
use super::{CacheArgs, DEFAULT_PROJECT, EXIT_FAILURE, EXIT_INVALID, EXIT_OK};
use crate::audio::resample::RESAMPLER_QUALITY;
use crate::cache::file_digest::FileDigests;
use crate::cache::keys::Keys;
use crate::cache::store::Store;
use crate::diag::{Diagnostic, suggest};
use crate::graph::NodeKind;
use crate::graph::OutputFormat;
use crate::render::{
    NodeError, OutputRecord, PlanStep, RenderError, RenderEvent, RenderReport, Settings, plan,
    render,
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

/// Runs `render`.
pub fn run(args: &RenderArgs) -> i32 {
    let started = Instant::now();
    let temporary = args.no_cache.then(|| {
        std::env::temp_dir().join(format!(
            "mixdown-cache-{}-{}",
            std::process::id(),
            started.elapsed().as_nanos()
        ))
    });
    let cache_dir = temporary.clone().unwrap_or_else(|| args.mix.cache.dir.clone());
    let code = render_file(&args.mix.file, &args.mix.options, &cache_dir, args.dry_run).code;
    if let Some(dir) = temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    code
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
    let record = OutputRecord::load(cache_dir, path);
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
    let store = match Store::open(cache_dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: cannot open the cache at `{}`: {e}", cache_dir.display());
            return EXIT_FAILURE;
        }
    };
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
        for (i, step) in plan(graph, &keys, &store, cache_dir, target).steps {
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
    let result = render(graph, &keys, &store, cache_dir, target, Settings { jobs }, &bar);
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

/// Hashes every source file (through the stat memo) and keys every node.
pub fn compute_keys(
    compiled: &Compiled,
    cache_dir: &Path,
    run_start: SystemTime,
) -> Result<Keys, String> {
    let mut digests = FileDigests::load(cache_dir, run_start)
        .map_err(|e| format!("cannot read the file digest memo: {e}"))?;
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
