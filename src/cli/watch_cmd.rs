//! `mixdown watch`: render, then render again whenever the project or a file it reads
//! changes, until interrupted.
//!
//! Each render is an ordinary incremental render, so an edit costs only the nodes it
//! touches. The first render reports as `render` does; each one after it says in one line
//! what changed, which nodes ran, how long it took and the targets' loudness and true
//! peak. A project that no longer compiles gets its diagnostics printed and renders
//! nothing, so the last good render stays in place until the project is fixed; the audio
//! files it names are watched as well, so that exporting a stem it is missing fixes it.
//!
//! `--exec CMD` runs a shell command after each good render, with the first target's file
//! in `MIXDOWN_OUTPUT` (to reload a player, say). It runs to its end before watching
//! resumes; saves made meanwhile are not lost.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::messages::{self, Message};
use super::render_cmd::{ClosingLine, MixRender, RenderDone, Sharing, render_file};
use super::{EXIT_FAILURE, EXIT_INVALID, counted};
use crate::watch::{FileWatch, WatchError};

/// How long the files must be quiet after a change before the render starts: an editor's
/// save is several writes, and they should make one render.
const SETTLE: Duration = Duration::from_millis(50);

/// The variable that holds the rendered file's path for `--exec`.
const OUTPUT_VARIABLE: &str = "MIXDOWN_OUTPUT";

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    mix: MixRender,
    /// A shell command to run after each good render, with the rendered file's path in
    /// `MIXDOWN_OUTPUT`: `--exec 'cp "$MIXDOWN_OUTPUT" ~/player/'`.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,
}

/// Runs `watch`. Returns only when watching fails.
pub fn run(args: &WatchArgs) -> i32 {
    args.mix.options.messages.install();
    let mut watch = match FileWatch::new() {
        Ok(watch) => watch,
        Err(e) => return failed(&e),
    };
    // Edits saved during the first render count too.
    if let Err(e) = watch.set_files([args.mix.file.clone()]) {
        return failed(&e);
    }
    if watch.is_empty() {
        eprintln!(
            "error: cannot watch `{}`: its folder does not exist\n  = help: name a mix file in an existing folder",
            args.mix.file.display()
        );
        return messages::finish("watch", EXIT_INVALID);
    }
    // The settings file is read once: a cache that moves between renders would start cold.
    let setup = match args.mix.cache.for_project(&args.mix.file) {
        Ok(setup) => setup,
        Err(code) => return messages::finish("watch", code),
    };
    let Err(e) = render_on_every_change(args, &setup.dir, &mut watch);
    failed(&e)
}

/// Renders, waits for a change, and again, until watching fails.
fn render_on_every_change(
    args: &WatchArgs,
    cache: &Path,
    watch: &mut FileWatch,
) -> Result<Infallible, WatchError> {
    let quiet = args.mix.options.quiet;
    let mut options = args.mix.options.clone();
    // What the last project that compiled reads, watched on while the project is broken,
    // together with what the broken one names (a stem not yet exported, say).
    let mut audio_files = Vec::new();
    let mut changed: Option<Vec<String>> = None;
    loop {
        // After the first render, the one-line report below replaces render's own.
        if changed.is_some() {
            options.closing_line = ClosingLine::Elsewhere;
        }
        let rendered = render_file(&args.mix.file, &options, cache, false, &Sharing::default());
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
        if let Some(done) = &rendered.done {
            if let Some(names) = changed.as_ref().filter(|_| !quiet && !messages::json()) {
                eprintln!("{}", one_line(names, done));
            }
            if let (Some(command), Some(file)) = (&args.exec, done.files.first()) {
                run_exec(command, file);
            }
        }
        let files = audio_files.iter().chain(&named_now).cloned();
        watch.set_files(std::iter::once(args.mix.file.clone()).chain(files))?;
        if messages::json() {
            messages::emit(&Message::Watching { files: watch.len() });
        } else if !quiet && changed.is_none() {
            eprintln!("watching {} files; Ctrl-C stops", watch.len());
        }
        let files = watch.wait(SETTLE, None)?.unwrap_or_default();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned())
            .collect();
        if messages::json() {
            messages::emit(&Message::Changed { files: names.clone() });
        }
        changed = Some(names);
    }
}

/// `mix.yaml changed: ran drums, master, output (3 of 12 nodes) in 0.14 s; song: …`.
fn one_line(changed: &[String], done: &RenderDone) -> String {
    let what = if done.ran.is_empty() {
        "nothing ran".to_owned()
    } else {
        format!("ran {}", done.ran.join(", "))
    };
    format!(
        "{} changed: {what} ({} of {}) in {:.2} s{}",
        changed.join(", "),
        done.ran.len(),
        counted(done.nodes, "node", "nodes"),
        done.seconds,
        done.loudness
    )
}

/// Runs `command` in the shell with `file` in [`OUTPUT_VARIABLE`]; a command that fails or
/// cannot start is a warning, and watching goes on.
fn run_exec(command: &str, file: &Path) {
    let file = std::path::absolute(file).unwrap_or_else(|_| PathBuf::from(file));
    let mut shell = if cfg!(windows) {
        let mut shell = Command::new("cmd");
        shell.args(["/C", command]);
        shell
    } else {
        let mut shell = Command::new("sh");
        shell.args(["-c", command]);
        shell
    };
    // The command's output must not mix into the JSON on stdout.
    if messages::json() {
        shell.stdout(std::io::stderr());
    }
    match shell.env(OUTPUT_VARIABLE, &file).status() {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("warning: `{command}` failed ({status})"),
        Err(e) => eprintln!("warning: cannot run `{command}`: {e}"),
    }
}

/// Reports a failure to watch; returns the exit code for it.
fn failed(error: &WatchError) -> i32 {
    eprintln!("error: {error}");
    messages::finish("watch", EXIT_FAILURE)
}
