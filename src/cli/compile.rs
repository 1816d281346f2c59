//! Load → lower → graph, shared by every subcommand that reads a project, with the
//! diagnostics printed to stderr.

use std::path::{Path, PathBuf};

use crate::audio::decode::Decoder;
use crate::diag::{Diagnostic, render};
use crate::graph::{OutputFormat, RenderGraph, build};
use crate::ir::{Mix, TrackInput, lower};
use crate::project::{LoadedMix, load_mix};

/// A project that compiled.
pub struct Compiled {
    /// The resolved mix.
    pub mix: Mix,
    /// Its render graph.
    pub graph: RenderGraph,
    /// Warnings found on the way.
    pub warnings: Vec<Diagnostic>,
}

/// Compiles `path`, printing every diagnostic. `None` when there were errors.
pub fn compile(path: &Path, out_dir: &Path, format: OutputFormat) -> Option<Compiled> {
    let loaded = match load_mix(path) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            print_all(&diagnostics);
            return None;
        }
    };
    let (mix, mut diagnostics) = lower(&loaded);
    if let Some(mix) = &mix {
        diagnostics.extend(probe_sources(&loaded, mix));
    }
    print_all(&diagnostics);
    let mix = mix.filter(|_| !diagnostics.iter().any(Diagnostic::is_error))?;
    let graph = build(&mix, out_dir, format);
    Some(Compiled { mix, graph, warnings: diagnostics })
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
