//! The command line: argument parsing and one file per subcommand. Each command prints
//! its own errors and returns an exit code; everything below returns typed errors.
//!
//! Exit codes: 0 success, 1 a render or I/O failure, 2 an invalid project or usage, 130
//! interrupted (Ctrl-C).

mod album_render;
mod cache_args;
mod cache_cmd;
mod check;
mod cpu_support;
mod diff_album;
mod diff_cmd;
mod diff_rev;
mod explain;
mod git_checkout;
mod graph_cmd;
mod init_cmd;
mod interrupt;
mod loudness_cmd;
mod messages;
mod out_folder;
mod peak_memory;
mod pictures;
mod progress;
mod remote_args;
mod render_cmd;
mod schema;
mod shell;
mod test_cmd;
mod watch_cmd;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

use self::cache_args::CacheArgs;
use crate::compile::{Broken, Compiled, ResolvedAlbum, compile, resolve_album};
use crate::diag::Diagnostic;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code when a render or file operation fails.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code for an invalid project or invalid arguments.
pub const EXIT_INVALID: i32 = 2;

/// mixdown renders music from text: a YAML mix compiles to a cached, parallel render graph.
#[derive(Debug, Parser)]
#[command(name = "mixdown", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a mix to `out/<name>.wav`, re-rendering only what changed.
    Render(render_cmd::RenderArgs),
    /// Render a mix, then again each time it or a file it reads changes.
    Watch(watch_cmd::WatchArgs),
    /// Render mixes and check every assertion they make; exit 1 if one fails.
    Test(test_cmd::TestArgs),
    /// Compare two renders: null test, loudness, true peak, band energy and a verdict.
    Diff(diff_cmd::DiffArgs),
    /// Write a first mix file from a folder of stems.
    Init(init_cmd::InitArgs),
    /// Check a mix or an album for errors without rendering.
    Check(check::CheckArgs),
    /// Print the render graph.
    Graph(graph_cmd::GraphArgs),
    /// Say why a node will re-render, or that it is cached.
    Explain(explain::ExplainArgs),
    /// Inspect and maintain the render cache.
    Cache(cache_cmd::CacheCommand),
    /// Measure audio files: loudness (LUFS), loudness range (LU), sample and true peak.
    Loudness(loudness_cmd::LoudnessArgs),
    /// Print the JSON Schema of mix files, or of album files.
    Schema(schema::SchemaArgs),
    /// Print the completion script for a shell: `mixdown completions bash > ~/.local/share/bash-completion/completions/mixdown`.
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff): `mixdown man | man -l -`.
    Man,
}

/// Runs the command line and returns the process exit code.
#[must_use]
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let code = run_command(args);
    // Whatever the command wrote into a cache is finished: say so to the renders after it.
    crate::cache::writers::unmark_all();
    code
}

fn run_command(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    if let Some(why) = cpu_support::unsupported() {
        eprintln!("error: {why}");
        return EXIT_FAILURE;
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_INVALID } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Render(args) => {
            interrupt::install();
            render_cmd::run(&args)
        }
        Command::Watch(args) => {
            interrupt::install();
            watch_cmd::run(&args)
        }
        Command::Test(args) => {
            interrupt::install();
            test_cmd::run(&args)
        }
        Command::Diff(args) => {
            interrupt::install();
            diff_cmd::run(&args)
        }
        Command::Check(args) => check::run(&args),
        Command::Init(args) => init_cmd::run(&args),
        Command::Graph(args) => graph_cmd::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Cache(args) => cache_cmd::run(&args),
        Command::Loudness(args) => loudness_cmd::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Completions(args) => shell::completions(&args),
        Command::Man => shell::man(),
    }
}

/// Whether stderr gets colours: a terminal, and `NO_COLOR` unset.
fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Compiles `path`, printing its diagnostics to stderr: the warnings of a project that
/// compiled, or everything found in one that did not.
fn compile_and_report(path: &std::path::Path) -> Result<Compiled, Broken> {
    match compile(path) {
        Ok(compiled) => {
            print_diagnostics(&compiled.warnings);
            Ok(compiled)
        }
        Err(broken) => {
            print_diagnostics(&broken.diagnostics);
            Err(broken)
        }
    }
}

/// The render graph of the mix or album at `path`, printing its diagnostics.
fn graph_and_report(path: &std::path::Path) -> Result<crate::graph::RenderGraph, Broken> {
    match crate::project::project_kind(path) {
        crate::project::ProjectKind::Mix => compile_and_report(path).map(|c| c.graph),
        crate::project::ProjectKind::Album => {
            resolve_album_and_report(path).map(|r| crate::graph::build_album(&r.album))
        }
    }
}

/// Resolves the album at `path`, printing its diagnostics and its mixes'.
fn resolve_album_and_report(path: &std::path::Path) -> Result<ResolvedAlbum, Broken> {
    match resolve_album(path) {
        Ok(resolved) => {
            print_diagnostics(&resolved.warnings);
            Ok(resolved)
        }
        Err(broken) => {
            print_diagnostics(&broken.diagnostics);
            Err(broken)
        }
    }
}

/// Prints diagnostics: to stderr as text, or to stdout as JSON with
/// `--message-format json`.
fn print_diagnostics(diagnostics: &[Diagnostic]) {
    messages::diagnostics(diagnostics, color());
}

/// `count` followed by its noun, `one` or `many`: `1 track`, `2 tracks`.
fn counted(count: usize, one: &str, many: &str) -> String {
    if count == 1 { format!("1 {one}") } else { format!("{count} {many}") }
}

/// The default project file when none is named.
const DEFAULT_PROJECT: &str = "mix.yaml";

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn a_count_of_one_takes_the_singular() {
        assert_eq!(counted(1, "track", "tracks"), "1 track");
        assert_eq!(counted(2, "bus", "buses"), "2 buses");
        assert_eq!(counted(0, "node", "nodes"), "0 nodes");
    }
}
