//! What `render` does for an album besides rendering it: write `report.json` beside the
//! deliverables, print its table, fail the build when a target or ceiling was missed, draw
//! the album's overview when asked, and locate a render-time album error (a crossfade too
//! long, a silent song, a track too short for a CD) at the line of the album file it comes
//! from.

use std::path::Path;

use super::pictures::{AlbumSong, Open, draw_album};
use super::print_diagnostics;
use crate::analysis::AlbumAudio;
use crate::analysis::assertions::RenderedAudio;
use crate::atomic_file;
use crate::diag::{Diagnostic, Location};
use crate::project::load_album;
use crate::render::AlbumError;

/// The report's file name in the output folder.
pub const REPORT_FILE: &str = "report.json";

/// The album overview's file name in the output folder.
pub const OVERVIEW_FILE: &str = "overview.png";

/// Draws `<out>/overview.png`: every song of the rendered album side by side, as its
/// album-rate segment holds it (at the final gains, limited), each song from its start to
/// the next song's. Returns the picture's path, or why it could not be drawn.
pub fn draw_overview(audio: &RenderedAudio<'_>, out: &Path) -> Result<std::path::PathBuf, String> {
    let album = &AlbumAudio::find(audio.graph, audio.keys, audio.cache)?;
    let opens: Vec<Box<Open<'_>>> = (0..album.songs.len())
        .map(|i| -> Box<Open<'_>> { Box::new(move || album.open_song(audio.store, i)) })
        .collect();
    let songs: Vec<AlbumSong<'_>> = opens
        .iter()
        .enumerate()
        .map(|(i, open)| AlbumSong { seconds: album.seconds(i), open })
        .collect();
    let path = out.join(OVERVIEW_FILE);
    draw_album(&songs, &path)?;
    Ok(path)
}

/// Writes `report` as `<out>/report.json`, prints its table unless `quiet`, and prints each
/// missed target or ceiling. Returns whether the album met everything.
pub fn deliver_report(report: &crate::album::report::AlbumReport, out: &Path, quiet: bool) -> bool {
    let path = out.join(REPORT_FILE);
    if let Err(e) = atomic_file::write_unflushed(&path, report.to_json().as_bytes()) {
        eprintln!("warning: cannot write {}: {e}", path.display());
    }
    if !quiet {
        eprint!("{}", report.table());
    }
    let failures = report.failures();
    for failure in &failures {
        eprintln!("error[target-missed]: {failure}");
    }
    failures.is_empty()
}

/// Prints an album error located in `project` where the album file writes what caused it.
/// Returns false when the place cannot be found (the caller prints the bare error).
pub fn report_album_error(project: &Path, error: &AlbumError) -> bool {
    let (yaml_path, label, help) = site(error);
    let Some(location) = locate(project, &yaml_path) else { return false };
    let diagnostic = Diagnostic::error("album-failed", error.to_string())
        .at(Some(location), Some(yaml_path))
        .with_label(label)
        .with_help(help);
    print_diagnostics(&[diagnostic]);
    true
}

/// Where an error lies in the album file, its label and what to do about it.
fn site(error: &AlbumError) -> (String, &'static str, String) {
    use crate::album::sequence::SequenceError;
    let song = |i: usize, field: &str| {
        if field.is_empty() { format!("songs[{i}]") } else { format!("songs[{i}].{field}") }
    };
    match error {
        AlbumError::Sequence(SequenceError::CrossfadeTooLong { song: i, .. }) => (
            song(*i, "crossfade"),
            "longer than the songs it joins",
            "shorten the crossfade, or join the songs with a gap".into(),
        ),
        AlbumError::Sequence(SequenceError::TrimmedAway { song: i, .. }) => (
            song(*i, "trim_end"),
            "nothing of the song is left",
            "shorten `trim_start` or `trim_end`".into(),
        ),
        AlbumError::SilentSong { song: i, .. } => (
            song(*i, ""),
            "this song is silent",
            "check the song's mix or file; a silent song has no loudness to normalise".into(),
        ),
        AlbumError::TooMuchLimiting { .. } => (
            "mastering.loudness".into(),
            "this target cannot be met",
            "lower the target, or raise `max_limiting` if that much limiting is meant".into(),
        ),
        AlbumError::RedBook(violations) => {
            let help = violations.first().map_or("", |v| v.help()).to_owned();
            let at = error.song().map_or_else(|| "songs".to_owned(), |i| song(i, ""));
            (at, "a CD cannot hold this", help)
        }
    }
}

/// Where `yaml_path` is written in the album file at `project` (its key, or the nearest
/// enclosing one); `None` when the file no longer loads.
fn locate(project: &Path, yaml_path: &str) -> Option<Location> {
    let loaded = load_album(project).ok()?;
    let mut at = yaml_path;
    loop {
        if let Some(location) = loaded.locate_key(at).or_else(|| loaded.locate(at)) {
            return Some(location);
        }
        at = &at[..at.rfind(['.', '['])?];
    }
}
