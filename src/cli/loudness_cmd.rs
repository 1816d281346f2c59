//! `mixdown loudness FILE...`: measure audio files and print their loudness, as a table or
//! as one JSON object per file per line.
//!
//! Each file is streamed through the decoder into the meter, so a long file takes no more
//! memory than a short one. A file that cannot be read is reported on stderr, naming it,
//! and the others are still measured; the exit code is then 1.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{EXIT_FAILURE, EXIT_OK};
use crate::audio::decode::Decoder;
use crate::audio::loudness::{LoudnessRecord, MeasureError, measure};

/// Arguments of `loudness`.
#[derive(Debug, clap::Args)]
pub struct LoudnessArgs {
    /// Audio files to measure (WAV, FLAC, MP3, Ogg Vorbis, AIFF; mono is measured as
    /// played on both speakers).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON object per file per line instead of a table.
    #[arg(long)]
    json: bool,
}

/// One file's line of `--json` output.
#[derive(Serialize)]
struct JsonLine<'a> {
    /// The path as given; a name that is not UTF-8 is shown with replacement characters.
    file: &'a str,
    #[serde(flatten)]
    record: &'a LoudnessRecord,
    plr: Option<f64>,
}

/// The table's columns: heading and width. Values are right-aligned under their heading.
const COLUMNS: [(&str, usize); 8] = [
    ("integrated", 11),
    ("momentary max", 14),
    ("short-term max", 15),
    ("range", 8),
    ("sample peak", 12),
    ("true peak", 12),
    ("PLR", 8),
    ("duration", 9),
];

/// Runs `loudness`.
pub fn run(args: &LoudnessArgs) -> i32 {
    let mut stdout = std::io::stdout().lock();
    if !args.json {
        let _ = writeln!(stdout, "{}", table_heading());
    }
    let mut failed = false;
    for file in &args.files {
        match Decoder::open(file).map_err(MeasureError::from).and_then(|mut d| measure(&mut d)) {
            Ok(record) => {
                let line = if args.json {
                    let file = file.to_string_lossy();
                    let line = JsonLine { file: &file, record: &record, plr: record.plr() };
                    serde_json::to_string(&line).expect("a record holds only finite numbers")
                } else {
                    table_row(file, &record)
                };
                // A closed pipe (`| head`) is not a failure to measure, but ends the work.
                if writeln!(stdout, "{line}").is_err() {
                    break;
                }
            }
            Err(MeasureError::Audio(e)) => {
                eprintln!("error: {e}");
                failed = true;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                failed = true;
            }
        }
    }
    if failed { EXIT_FAILURE } else { EXIT_OK }
}

fn table_heading() -> String {
    table_line(&COLUMNS.map(|(name, _)| name), "file")
}

fn table_row(file: &Path, r: &LoudnessRecord) -> String {
    // A window longer than the file has no reading at all; a silent one reads -inf.
    let window = |value, seconds| {
        if r.duration < seconds { NO_VALUE.into() } else { level(value, 1, "LUFS") }
    };
    let cells = [
        level(r.integrated, 1, "LUFS"),
        window(r.momentary_max, 0.4),
        window(r.short_term_max, 3.0),
        r.loudness_range.map_or(NO_VALUE.into(), |v| format!("{} LU", fixed(v, 1))),
        // Peaks get a second decimal: -0.96 and -1.04 dBTP fall either side of a ceiling.
        level(r.sample_peak, 2, "dBFS"),
        level(r.true_peak, 2, "dBTP"),
        r.plr().map_or(NO_VALUE.into(), |v| format!("{} LU", fixed(v, 1))),
        format!("{:.1} s", r.duration),
    ];
    table_line(&cells, &file.display().to_string())
}

/// One line of the table: each cell right-aligned in its column, then the file.
fn table_line(cells: &[impl std::fmt::Display; COLUMNS.len()], file: &str) -> String {
    let mut line = String::new();
    for (cell, (_, width)) in cells.iter().zip(COLUMNS) {
        let _ = write!(line, "{cell:>width$}");
    }
    let _ = write!(line, "  {file}");
    line
}

/// The cell of a figure that does not exist: the range or PLR of silence, the short-term
/// maximum of a file shorter than 3 s.
const NO_VALUE: &str = "-";

/// A level with its unit, or `-inf` for silence, as a meter shows it.
fn level(value: Option<f64>, decimals: usize, unit: &str) -> String {
    match value {
        Some(v) => format!("{} {unit}", fixed(v, decimals)),
        None => format!("-inf {unit}"),
    }
}

/// `value` to `decimals` places, without the minus sign of a value that rounds to zero.
fn fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    match text.strip_prefix('-') {
        Some(magnitude) if magnitude.bytes().all(|b| b == b'0' || b == b'.') => magnitude.into(),
        _ => text,
    }
}
