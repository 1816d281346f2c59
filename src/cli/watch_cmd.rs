//! `mixdown watch`: render, then render again whenever the project or a file it reads
//! changes, until interrupted.
//!
//! Each render is an ordinary incremental render, so an edit costs only the nodes it
//! touches. A project that no longer compiles gets its diagnostics printed and renders
//! nothing, so the last good render stays in place until the project is fixed; the audio
//! files it names are watched as well, so that exporting a stem it is missing fixes it.

use std::convert::Infallible;
use std::time::Duration;

use super::render_cmd::{MixRender, Sharing, render_file};
use super::{EXIT_FAILURE, EXIT_INVALID};
use crate::watch::{FileWatch, WatchError};

/// How long the files must be quiet after a change before the render starts: an editor's
/// save is several writes, and they should make one render.
const SETTLE: Duration = Duration::from_millis(50);

/// Runs `watch`. Returns only when watching fails.
pub fn run(args: &MixRender) -> i32 {
    let mut watch = match FileWatch::new() {
        Ok(watch) => watch,
        Err(e) => return failed(&e),
    };
    // Edits saved during the first render count too.
    if let Err(e) = watch.set_files([args.file.clone()]) {
        return failed(&e);
    }
    if watch.is_empty() {
        eprintln!(
            "error: cannot watch `{}`: its folder does not exist\n  = help: name a mix file in an existing folder",
            args.file.display()
        );
        return EXIT_INVALID;
    }
    // The settings file is read once: a cache that moves between renders would start cold.
    let setup = match args.cache.for_project(&args.file) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let Err(e) = render_on_every_change(args, &setup.dir, &mut watch);
    failed(&e)
}

/// Renders, waits for a change, and again, until watching fails.
fn render_on_every_change(
    args: &MixRender,
    cache: &std::path::Path,
    watch: &mut FileWatch,
) -> Result<Infallible, WatchError> {
    // What the last project that compiled reads, watched on while the project is broken,
    // together with what the broken one names (a stem not yet exported, say).
    let mut audio_files = Vec::new();
    loop {
        let rendered = render_file(&args.file, &args.options, cache, false, &Sharing::default());
        let named_now = match rendered.files {
            Ok(files) => {
                audio_files = files;
                Vec::new()
            }
            Err(broken) => {
                eprintln!("the last good render stays in place until the project is fixed");
                broken.files
            }
        };
        let files = audio_files.iter().chain(&named_now).cloned();
        watch.set_files(std::iter::once(args.file.clone()).chain(files))?;
        let quiet = args.options.quiet;
        if !quiet {
            eprintln!("watching {} files; Ctrl-C stops", watch.len());
        }
        let changed = watch.wait(SETTLE, None)?.unwrap_or_default();
        let names: Vec<_> =
            changed.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy()).collect();
        if !quiet {
            eprintln!("changed: {}", names.join(", "));
        }
    }
}

/// Reports a failure to watch; returns the exit code for it.
fn failed(error: &WatchError) -> i32 {
    eprintln!("error: {error}");
    EXIT_FAILURE
}
