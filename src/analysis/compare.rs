//! Two renders of one signal compared as a mastering engineer compares them: a null test
//! (what is left of the one minus the other), each side's loudness, true peak and loudness
//! range, its energy in three bands, and a [`Verdict`].
//!
//! Where the two signals live is the caller's business: it hands over a way to open each
//! side as many times as the measures need.

use super::stream::AudioStream;
use super::{BandEnergy, Measurement, Residual, band_energy, measure, null_test};

/// A difference that peaks below this is inaudible, in dBFS.
pub const INAUDIBLE_DB: f64 = -90.0;

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

    /// The verdict in one word: `identical`, `inaudible` or `changed`.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Identical => "identical",
            Self::Inaudible => "inaudible",
            Self::Changed => "changed",
        }
    }
}

/// Everything measured of one side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side {
    /// Loudness, peaks and correlation.
    pub measurement: Measurement,
    /// Energy in the low, mid and high bands.
    pub bands: BandEnergy,
}

/// Which side of a comparison to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The first render, the before.
    Before,
    /// The second render, the after.
    After,
}

/// The two sides measured, and their difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// The first render.
    pub before: Side,
    /// The second render.
    pub after: Side,
    /// What is left of the before minus the after.
    pub residual: Residual,
}

/// A way to open either side of a comparison from its start, as often as asked.
pub type Opener<'a> = dyn Fn(Which) -> Result<Box<dyn AudioStream>, String> + 'a;

/// Measures both sides that `open` opens and their difference.
///
/// # Errors
/// When a side fails to open or read, or the two run at different rates.
pub fn compare(open: &Opener<'_>) -> Result<Comparison, String> {
    let side = |which| -> Result<Side, String> {
        let measurement = measure(open(which)?.as_mut())?;
        let bands = band_energy(open(which)?.as_mut())?;
        Ok(Side { measurement, bands })
    };
    let (before, after) = (side(Which::Before)?, side(Which::After)?);
    let residual = null_test(open(Which::Before)?.as_mut(), open(Which::After)?.as_mut())?;
    Ok(Comparison { before, after, residual })
}

impl Comparison {
    /// The verdict of the null test.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        Verdict::of(&self.residual)
    }

    /// After minus before of a loudness figure; `None` when either side has none.
    #[must_use]
    pub fn change(&self, pick: fn(&Measurement) -> Option<f64>) -> Option<f64> {
        Some(pick(&self.after.measurement)? - pick(&self.before.measurement)?)
    }

    /// After minus before of a band's energy, in dB; `None` when either side is silent in it.
    #[must_use]
    pub fn band_change(&self, pick: fn(&BandEnergy) -> f64) -> Option<f64> {
        let (x, y) = (pick(&self.before.bands), pick(&self.after.bands));
        (x.is_finite() && y.is_finite()).then_some(y - x)
    }
}

/// One signal minus another, read as a signal: what a null test measures, for drawing.
/// The shorter one counts as silence past its end.
pub struct Difference {
    /// The signal subtracted from.
    pub before: Box<dyn AudioStream>,
    /// The signal subtracted.
    pub after: Box<dyn AudioStream>,
}

impl AudioStream for Difference {
    fn sample_rate(&self) -> u32 {
        self.before.sample_rate()
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
        let frames = left.len();
        let (mut other_left, mut other_right) = (vec![0.0; frames], vec![0.0; frames]);
        let na = fill(self.before.as_mut(), left, right)?;
        let nb = fill(self.after.as_mut(), &mut other_left, &mut other_right)?;
        let n = na.max(nb);
        for i in 0..n {
            let (l, r) = if i < na { (left[i], right[i]) } else { (0.0, 0.0) };
            let (ol, or) = if i < nb { (other_left[i], other_right[i]) } else { (0.0, 0.0) };
            (left[i], right[i]) = (l - ol, r - or);
        }
        Ok(n)
    }
}

/// Reads until `left` is full or the stream ends; returns the frames read.
fn fill(
    stream: &mut dyn AudioStream,
    left: &mut [f32],
    right: &mut [f32],
) -> Result<usize, String> {
    let mut filled = 0;
    while filled < left.len() {
        let n = stream.read(&mut left[filled..], &mut right[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// The integrated loudness, in LUFS.
#[must_use]
pub fn integrated(m: &Measurement) -> Option<f64> {
    m.loudness.integrated
}

/// The true peak, in dBTP.
#[must_use]
pub fn true_peak(m: &Measurement) -> Option<f64> {
    m.loudness.true_peak
}

/// The loudness range, in LU.
#[must_use]
pub fn loudness_range(m: &Measurement) -> Option<f64> {
    m.loudness.loudness_range
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

    /// A 1 kHz tone at `amplitude`, two seconds long.
    struct Tone {
        amplitude: f32,
        at: usize,
    }

    impl AudioStream for Tone {
        fn sample_rate(&self) -> u32 {
            48_000
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
            let n = left.len().min(96_000 - self.at);
            for i in 0..n {
                let w = 2.0 * std::f32::consts::PI * 1000.0 / 48_000.0;
                let x = self.amplitude * (w * (self.at + i) as f32).sin();
                (left[i], right[i]) = (x, x);
            }
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn the_difference_of_a_tone_and_its_double_is_the_tone_inverted() {
        let mut d = Difference {
            before: Box::new(Tone { amplitude: 0.25, at: 0 }),
            after: Box::new(Tone { amplitude: 0.5, at: 0 }),
        };
        let (mut left, mut right) = (vec![0.0; 1000], vec![0.0; 1000]);
        let mut tone = Tone { amplitude: -0.25, at: 0 };
        let (mut l, mut r) = (vec![0.0; 1000], vec![0.0; 1000]);
        assert_eq!(d.read(&mut left, &mut right).unwrap(), 1000);
        tone.read(&mut l, &mut r).unwrap();
        assert!(left.iter().zip(&l).all(|(x, y)| (x - y).abs() < 1e-7));
    }

    #[test]
    fn a_tone_raised_by_one_db_is_changed_by_one_db_in_loudness_and_in_its_band() {
        let quieter = 0.25f32;
        let louder = quieter * 10f32.powf(1.0 / 20.0);
        let open = |which| -> Result<Box<dyn AudioStream>, String> {
            let amplitude = if which == Which::Before { quieter } else { louder };
            Ok(Box::new(Tone { amplitude, at: 0 }))
        };
        let c = compare(&open).unwrap();
        assert_eq!(c.verdict(), Verdict::Changed);
        assert!((c.change(integrated).unwrap() - 1.0).abs() < 0.01, "{c:?}");
        assert!((c.change(true_peak).unwrap() - 1.0).abs() < 0.01, "{c:?}");
        assert!((c.band_change(|b| b.mid_db).unwrap() - 1.0).abs() < 0.01, "{c:?}");
        // The residual is the tone at (louder - quieter): 20 log10(0.0305) = -30.3 dBFS.
        assert!((c.residual.peak_db() - -30.3).abs() < 0.1, "{}", c.residual.peak_db());
    }
}
