//! `mixdown diff A B`: what separates two renders of a song, as a mastering engineer
//! checks it: a null test (the difference signal's peak and RMS), the change in loudness,
//! true peak and loudness range, the change in low, mid and high band energy, and a
//! verdict: `identical` (bit for bit), `inaudible` (the difference peaks under -90 dBFS)
//! or `changed`. B is read at A's rate, so two renders at different rates still compare.
//!
//! Exit codes: 0 when both files were compared, whatever the verdict; 1 when one cannot
//! be read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{EXIT_FAILURE, EXIT_OK};
use crate::analysis::{
    AudioStream, BandEnergy, FileStream, Measurement, Residual, band_energy, measure, null_test,
};
use crate::audio::loudness::LoudnessRecord;

/// A difference that peaks below this is inaudible, in dBFS.
const INAUDIBLE_DB: f64 = -90.0;

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The first render (the before).
    a: PathBuf,
    /// The second render (the after).
    b: PathBuf,
}

/// What two signals' comparison came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The same samples, bit for bit.
    Identical,
    /// Different, but the difference peaks below [`INAUDIBLE_DB`].
    Inaudible,
    /// Audibly different.
    Changed,
}

impl Verdict {
    /// The verdict of a null test.
    #[must_use]
    pub fn of(residual: &Residual) -> Self {
        if residual.identical {
            Self::Identical
        } else if residual.peak_db() < INAUDIBLE_DB {
            Self::Inaudible
        } else {
            Self::Changed
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Identical => "identical",
            Self::Inaudible => "inaudible",
            Self::Changed => "changed",
        }
    }
}

/// Everything measured of one side.
struct Side {
    measurement: Measurement,
    bands: BandEnergy,
}

/// Runs `diff`.
pub fn run(args: &DiffArgs) -> i32 {
    match compare(&args.a, &args.b) {
        Ok(report) => {
            print!("{report}");
            EXIT_OK
        }
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_FAILURE
        }
    }
}

/// The report comparing the files `a` and `b`.
fn compare(a: &Path, b: &Path) -> Result<String, String> {
    let rate = FileStream::open(a, None)?.sample_rate();
    let side = |path: &Path| -> Result<Side, String> {
        let measurement = measure(&mut FileStream::open(path, Some(rate))?)?;
        let bands = band_energy(&mut FileStream::open(path, Some(rate))?)?;
        Ok(Side { measurement, bands })
    };
    let (before, after) = (side(a)?, side(b)?);
    let residual =
        null_test(&mut FileStream::open(a, None)?, &mut FileStream::open(b, Some(rate))?)?;
    Ok(report(&format!("{} → {}", a.display(), b.display()), &before, &after, &residual))
}

/// The report's lines: the difference signal, each measure before and after, the verdict.
fn report(title: &str, before: &Side, after: &Side, residual: &Residual) -> String {
    let (l0, l1) = (&before.measurement.loudness, &after.measurement.loudness);
    let row =
        |name: &str, unit: &str, pick: fn(&LoudnessRecord) -> Option<f64>, delta_unit: &str| {
            let change = match (pick(l0), pick(l1)) {
                (Some(x), Some(y)) => format!("{} {delta_unit}", signed(y - x)),
                _ => "-".into(),
            };
            format!("  {name:<16} {} → {} {unit}  ({change})\n", level(pick(l0)), level(pick(l1)))
        };
    let band = |name: &str, x: f64, y: f64| {
        let change =
            if x.is_finite() && y.is_finite() { format!("{:+.2} dB", y - x) } else { "-".into() };
        format!("{name} {change}")
    };
    let (b0, b1) = (&before.bands, &after.bands);
    let mut text = format!("{title}\n");
    let _ = writeln!(
        text,
        "  {:<16} peak {} dBFS, RMS {} dBFS",
        "difference",
        level(Some(residual.peak_db())),
        level(Some(residual.rms_db()))
    );
    text += &row("loudness", "LUFS", |l| l.integrated, "LU");
    text += &row("true peak", "dBTP", |l| l.true_peak, "dB");
    text += &row("loudness range", "LU", |l| l.loudness_range, "LU");
    let _ = writeln!(
        text,
        "  {:<16} {}, {}, {}",
        "band energy",
        band("low", b0.low_db, b1.low_db),
        band("mid", b0.mid_db, b1.mid_db),
        band("high", b0.high_db, b1.high_db)
    );
    let _ = writeln!(text, "  verdict: {}", Verdict::of(residual).word());
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

    fn residual(peak: f64, identical: bool) -> Residual {
        Residual { peak, rms: peak / 2.0, identical }
    }

    #[test]
    fn the_verdict_is_identical_only_bit_for_bit_and_inaudible_under_minus_90_dbfs() {
        assert_eq!(Verdict::of(&residual(0.0, true)), Verdict::Identical);
        assert_eq!(Verdict::of(&residual(0.0, false)), Verdict::Inaudible);
        assert_eq!(Verdict::of(&residual(10f64.powf(-91.0 / 20.0), false)), Verdict::Inaudible);
        assert_eq!(Verdict::of(&residual(10f64.powf(-89.0 / 20.0), false)), Verdict::Changed);
    }

    #[test]
    fn a_change_prints_with_its_sign_and_never_as_minus_zero() {
        assert_eq!(signed(1.0), "+1.00");
        assert_eq!(signed(-0.001), "+0.00");
        assert_eq!(signed(-0.25), "-0.25");
    }
}
