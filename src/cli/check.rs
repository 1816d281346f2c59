//! `mixdown check`: report every problem in a project without rendering.

use std::path::PathBuf;

use super::compile::compile;
use super::{DEFAULT_PROJECT, EXIT_INVALID, EXIT_OK};
use crate::graph::OutputFormat;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The mix file.
    #[arg(default_value = DEFAULT_PROJECT)]
    file: PathBuf,
    /// Fail on warnings too.
    #[arg(long)]
    deny_warnings: bool,
}

/// Runs `check`.
pub fn run(args: &CheckArgs) -> i32 {
    let Ok(compiled) = compile(&args.file, "out".as_ref(), OutputFormat::Pcm24) else {
        return EXIT_INVALID;
    };
    if args.deny_warnings && !compiled.warnings.is_empty() {
        eprintln!("error: {} warning(s) denied by --deny-warnings", compiled.warnings.len());
        return EXIT_INVALID;
    }
    let nodes = compiled.graph.graph.node_count();
    eprintln!(
        "{}: ok ({} tracks, {} buses, {nodes} nodes)",
        args.file.display(),
        compiled.mix.tracks.len(),
        compiled.mix.buses.len()
    );
    EXIT_OK
}
