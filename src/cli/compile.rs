//! Load → lower → graph, shared by every subcommand that reads a project, with the
//! diagnostics printed to stderr.

use std::path::{Path, PathBuf};

use crate::audio::decode::Decoder;
use crate::diag::{Diagnostic, render};
use crate::graph::{OutputFormat, RenderGraph, build};
use crate::ir::{Mix, TrackInput, lower};
use crate::project::{LoadedMix, Rejected, SetAside, load_mix};

/// A project that compiled.
pub struct Compiled {
    /// The resolved mix.
    pub mix: Mix,
    /// Its render graph.
    pub graph: RenderGraph,
    /// Warnings found on the way.
    pub warnings: Vec<Diagnostic>,
}

/// A project that did not compile.
pub struct Broken {
    /// The audio files it names, as far as it reads (none when it does not parse at all),
    /// so that `watch` can see one of them appear.
    pub files: Vec<PathBuf>,
}

/// Compiles `path`, printing every diagnostic.
///
/// A file with type errors is still lowered, with its broken values set aside, so that its
/// routing and its audio files are checked in the same run.
///
/// # Errors
/// When there was an error.
pub fn compile(path: &Path, out_dir: &Path, format: OutputFormat) -> Result<Compiled, Broken> {
    let (loaded, set_aside, mut diagnostics) = match load_mix(path) {
        Ok(loaded) => (Some(loaded), SetAside::default(), Vec::new()),
        Err(Rejected { diagnostics, remainder: Some(rest) }) => {
            (Some(rest.mix), rest.set_aside, diagnostics)
        }
        Err(Rejected { diagnostics, remainder: None }) => (None, SetAside::default(), diagnostics),
    };
    let mix = loaded.as_ref().map(|loaded| {
        let (mix, mut found) = lower(loaded);
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
    print_all(&diagnostics);
    match mix {
        Some(mix) if !diagnostics.iter().any(Diagnostic::is_error) => {
            let graph = build(&mix, out_dir, format);
            Ok(Compiled { mix, graph, warnings: diagnostics })
        }
        mix => Err(Broken { files: mix.map(|mix| mix.files()).unwrap_or_default() }),
    }
}

/// Prints diagnostics to stderr.
pub fn print_all(diagnostics: &[Diagnostic]) {
    let color = super::color();
    for d in diagnostics {
        eprint!("{}", render(d, color));
    }
}

/// Opens every source file's header, so a file that is not audio fails the check at its
/// own line rather than half way through a render.
fn probe_sources(loaded: &LoadedMix, mix: &Mix) -> Vec<Diagnostic> {
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
    files
        .into_iter()
        .filter_map(|(yaml_path, file)| {
            let error = Decoder::open(&file).err()?;
            Some(
                Diagnostic::error("unreadable-audio", error.to_string())
                    .at(loaded.locate(&yaml_path), Some(yaml_path))
                    .with_label("not readable audio")
                    .with_help("re-export the file as WAV or FLAC, or point to another file"),
            )
        })
        .collect()
}
