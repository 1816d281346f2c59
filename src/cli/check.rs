//! `mixdown check`: report every problem in a project without rendering.

use std::path::PathBuf;

use super::messages::{self, MessageArgs};
use super::{DEFAULT_PROJECT, EXIT_INVALID, EXIT_OK, compile_and_report, counted};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The mix file.
    #[arg(default_value = DEFAULT_PROJECT)]
    file: PathBuf,
    /// Fail on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    #[command(flatten)]
    messages: MessageArgs,
}

/// Runs `check`.
pub fn run(args: &CheckArgs) -> i32 {
    args.messages.install();
    messages::finish("check", check(args))
}

fn check(args: &CheckArgs) -> i32 {
    let Ok(compiled) = compile_and_report(&args.file) else {
        return EXIT_INVALID;
    };
    if args.deny_warnings && !compiled.warnings.is_empty() {
        eprintln!("error: {} warning(s) denied by --deny-warnings", compiled.warnings.len());
        return EXIT_INVALID;
    }
    eprintln!(
        "{}: ok ({}, {}, {})",
        args.file.display(),
        counted(compiled.mix.tracks.len(), "track", "tracks"),
        counted(compiled.mix.buses.len(), "bus", "buses"),
        counted(compiled.graph.graph.node_count(), "node", "nodes"),
    );
    EXIT_OK
}
