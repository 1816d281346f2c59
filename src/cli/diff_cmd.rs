//! `mixdown diff`: what separates two renders of a song, as a mastering engineer checks
//! it: a null test (the difference signal's peak and RMS), the change in loudness, true
//! peak and loudness range, the change in low, mid and high band energy, and a verdict:
//! `identical` (bit for bit), `inaudible` (the difference peaks under -90 dBFS) or
//! `changed`.
//!
//! `mixdown diff A B` compares two audio files; B is read at A's rate, so two renders at
//! different rates still compare. `mixdown diff --rev REV [FILE]` compares the project as
//! it is with the project at a git revision (see `diff_rev`, and `diff_album` for albums).
//!
//! Exit codes: 0 when the renders were compared, whatever the verdict; 1 when one cannot
//! be read or rendered; 2 for bad arguments or a project that does not compile.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::messages::{self, DiffMessage, Message, MessageArgs};
use super::pictures::draw_difference;
use super::{CacheArgs, DEFAULT_PROJECT, EXIT_FAILURE, EXIT_INVALID, EXIT_OK, diff_rev};
use crate::analysis::compare::{
    Comparison, Difference, Opener, Which, compare, integrated, loudness_range, true_peak,
};
use crate::analysis::{AudioStream, FileStream, Measurement};

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Two audio files (the before, then the after); with `--rev`, the mix or album file.
    #[arg(value_name = "FILE", num_args = 0..=2)]
    files: Vec<PathBuf>,
    /// Compare the mix or album as it is with itself at this git revision (`HEAD~1`, a
    /// branch, a commit), rendered with the same cache.
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    /// Draw the difference signal's level over time in a PNG: beside B (`B.diff.png`), or
    /// with `--rev`, in `--out` for each output (`out/<name>.diff.png`; an album's files'
    /// as they are delivered, `out/<target>/<file stem>.diff.png`).
    #[arg(long)]
    report: bool,
    /// Where `--report` puts its pictures with `--rev`.
    #[arg(long = "out", default_value = "out")]
    out: PathBuf,
    /// Worker threads for `--rev`'s renders (default: all cores).
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    messages: MessageArgs,
}

/// Runs `diff`.
pub fn run(args: &DiffArgs) -> i32 {
    args.messages.install();
    let code = match (&args.rev, args.files.as_slice()) {
        (Some(rev), []) => diff_at(rev, Path::new(DEFAULT_PROJECT), args),
        (Some(rev), [file]) => diff_at(rev, file, args),
        (None, [a, b]) => diff_files(a, b, args.report),
        (Some(_), _) => usage("with --rev, name at most one mix or album file"),
        (None, _) => usage("name two audio files, or a revision with --rev"),
    };
    messages::finish("diff", code)
}

/// `diff --rev REV FILE`, with the cache the settings file names for `file`.
fn diff_at(rev: &str, file: &Path, args: &DiffArgs) -> i32 {
    match args.cache.for_project(file) {
        Ok(setup) => diff_rev::run(rev, file, &rev_settings(args, setup.dir)),
        Err(code) => code,
    }
}

fn rev_settings(args: &DiffArgs, cache_dir: PathBuf) -> diff_rev::RevSettings {
    diff_rev::RevSettings {
        cache_dir,
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        pictures: args.report.then(|| args.out.clone()),
    }
}

fn usage(message: &str) -> i32 {
    eprintln!(
        "error: {message}\n  = help: `mixdown diff A.wav B.wav`, or `mixdown diff --rev HEAD~1 mix.yaml`"
    );
    EXIT_INVALID
}

/// Compares the files `a` and `b`, and prints the result.
fn diff_files(a: &Path, b: &Path, pictures: bool) -> i32 {
    let rate = match FileStream::open(a, None) {
        Ok(stream) => stream.sample_rate(),
        Err(message) => return failed(&message),
    };
    let open = |which| -> Result<Box<dyn AudioStream>, String> {
        Ok(Box::new(match which {
            Which::Before => FileStream::open(a, None)?,
            Which::After => FileStream::open(b, Some(rate))?,
        }))
    };
    let subject = format!("{} → {}", a.display(), b.display());
    match compare(&open) {
        Ok(comparison) => print_comparison(&subject, &comparison),
        Err(message) => return failed(&message),
    }
    if pictures {
        let mut name = b.file_stem().unwrap_or_default().to_owned();
        name.push(".diff.png");
        if let Err(message) = draw_difference_of(&open, &b.with_file_name(name)) {
            return failed(&message);
        }
    }
    EXIT_OK
}

/// Draws the difference of the two sides `open` opens into `picture`, and says so.
pub fn draw_difference_of(open: &Opener<'_>, picture: &Path) -> Result<(), String> {
    let difference = || -> Result<Box<dyn AudioStream>, String> {
        Ok(Box::new(Difference { before: open(Which::Before)?, after: open(Which::After)? }))
    };
    draw_difference(&difference, picture)?;
    if !messages::json() {
        eprintln!("drew {}", picture.display());
    }
    Ok(())
}

fn failed(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_FAILURE
}

/// Prints a comparison: a `diff` message in JSON mode, else the report on stdout.
pub fn print_comparison(subject: &str, comparison: &Comparison) {
    if messages::json() {
        messages::emit(&Message::Diff(diff_message(subject, comparison)));
    } else {
        print!("{}", report(subject, comparison));
    }
}

/// A comparison as a JSON message, rounded to what can be heard (0.01 dB).
pub fn diff_message(subject: &str, c: &Comparison) -> DiffMessage {
    let r =
        |v: Option<f64>| v.and_then(messages::finite).map(|v| (v * 100.0).round() / 100.0 + 0.0);
    DiffMessage {
        subject: subject.to_owned(),
        verdict: c.verdict().word(),
        difference_peak_dbfs: r(Some(c.residual.peak_db())),
        difference_rms_dbfs: r(Some(c.residual.rms_db())),
        loudness_change_lu: r(c.change(integrated)),
        true_peak_change_db: r(c.change(true_peak)),
        loudness_range_change_lu: r(c.change(loudness_range)),
        low_change_db: r(c.band_change(|b| b.low_db)),
        mid_change_db: r(c.band_change(|b| b.mid_db)),
        high_change_db: r(c.band_change(|b| b.high_db)),
    }
}

/// The report's lines: the difference signal, each measure before and after, the verdict.
pub fn report(title: &str, c: &Comparison) -> String {
    let (m0, m1) = (&c.before.measurement, &c.after.measurement);
    let row = |name: &str, unit: &str, pick: fn(&Measurement) -> Option<f64>, delta_unit: &str| {
        let change =
            c.change(pick).map_or_else(|| "-".into(), |d| format!("{} {delta_unit}", signed(d)));
        format!("  {name:<16} {} → {} {unit}  ({change})\n", level(pick(m0)), level(pick(m1)))
    };
    let band = |name: &str, pick: fn(&crate::analysis::BandEnergy) -> f64| {
        let change = c.band_change(pick).map_or_else(|| "-".into(), |d| format!("{d:+.2} dB"));
        format!("{name} {change}")
    };
    let mut text = format!("{title}\n");
    let _ = writeln!(
        text,
        "  {:<16} peak {} dBFS, RMS {} dBFS",
        "difference",
        level(Some(c.residual.peak_db())),
        level(Some(c.residual.rms_db()))
    );
    text += &row("loudness", "LUFS", integrated, "LU");
    text += &row("true peak", "dBTP", true_peak, "dB");
    text += &row("loudness range", "LU", loudness_range, "LU");
    let _ = writeln!(
        text,
        "  {:<16} {}, {}, {}",
        "band energy",
        band("low", |b| b.low_db),
        band("mid", |b| b.mid_db),
        band("high", |b| b.high_db)
    );
    let _ = writeln!(text, "  verdict: {}", c.verdict().word());
    text
}

/// A change to two places with its sign, never `-0.00`.
fn signed(change: f64) -> String {
    let rounded = (change * 100.0).round() / 100.0;
    format!("{:+.2}", rounded + 0.0)
}

/// A level to two places, `-inf` for none.
fn level(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.2}"),
        _ => "-inf".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_prints_with_its_sign_and_never_as_minus_zero() {
        assert_eq!(signed(1.0), "+1.00");
        assert_eq!(signed(-0.001), "+0.00");
        assert_eq!(signed(-0.25), "-0.25");
    }
}
