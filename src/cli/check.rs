//! `mixdown check`: report every problem in a project, a mix or an album, without
//! rendering.

use std::path::PathBuf;

use super::messages::{self, MessageArgs};
use super::{
    DEFAULT_PROJECT, EXIT_INVALID, EXIT_OK, compile_and_report, counted, resolve_album_and_report,
};
use crate::project::{ProjectKind, project_kind};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The mix or album file.
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
    let (warnings, summary) = match project_kind(&args.file) {
        ProjectKind::Mix => {
            let Ok(compiled) = compile_and_report(&args.file) else {
                return EXIT_INVALID;
            };
            let summary = format!(
                "{}, {}, {}",
                counted(compiled.mix.tracks.len(), "track", "tracks"),
                counted(compiled.mix.buses.len(), "bus", "buses"),
                counted(compiled.graph.graph.node_count(), "node", "nodes"),
            );
            (compiled.warnings.len(), summary)
        }
        ProjectKind::Album => {
            let Ok(resolved) = resolve_album_and_report(&args.file) else {
                return EXIT_INVALID;
            };
            let album = &resolved.album;
            let summary = format!(
                "{}, {}",
                counted(album.songs.len(), "song", "songs"),
                counted(album.deliver.len(), "target", "targets"),
            );
            (resolved.warnings.len(), summary)
        }
    };
    if args.deny_warnings && warnings > 0 {
        eprintln!("error: {warnings} warning(s) denied by --deny-warnings");
        return EXIT_INVALID;
    }
    eprintln!("{}: ok ({summary})", args.file.display());
    EXIT_OK
}
