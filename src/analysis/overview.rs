//! A signal summarised for a picture a person can read at a glance: for each of a fixed
//! number of columns, the lowest and highest sample, the short-term loudness at the
//! column's end, and whether its true peak goes over [`OVER_DBTP`].
//!
//! This module measures; drawing is the caller's business.

use super::stream::AudioStream;
use crate::audio::READ_BLOCK_FRAMES;
use crate::audio::loudness::LoudnessMeter;

/// A true peak above this is an over, in dBTP: the ceiling streaming services ask for
/// (AES TD1004), one decibel under full scale to leave room for lossy encoding.
pub const OVER_DBTP: f64 = -1.0;

/// Columns whose sample peak is this far under [`OVER_DBTP`] cannot hold an over: a band-
/// limited signal's true peak exceeds its sample peak by far less (3 dB for a sine at a
/// quarter of the rate, at the worst phase). Only the others are oversampled.
const TRUE_PEAK_MARGIN_DB: f64 = 6.0;

/// One column of a signal's overview.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    /// The lowest sample of either channel.
    pub min: f32,
    /// The highest sample of either channel.
    pub max: f32,
    /// The short-term loudness at the column's end, in LUFS; `None` before 3 s, or silence.
    pub short_term: Option<f64>,
    /// Whether the true peak in the column goes over [`OVER_DBTP`].
    pub over: bool,
}

/// A signal's overview.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The columns, from the start.
    pub columns: Vec<Column>,
    /// How long the signal runs, in seconds.
    pub seconds: f64,
}

/// Summarises a signal in `columns` columns. `open` opens it from its start; it is read
/// twice, once to count its frames.
///
/// # Errors
/// When the signal fails to read, or its rate is one the loudness meter does not take.
pub fn overview(
    open: &dyn Fn() -> Result<Box<dyn AudioStream>, String>,
    columns: usize,
) -> Result<Overview, String> {
    let (mut left, mut right) = (vec![0.0; READ_BLOCK_FRAMES], vec![0.0; READ_BLOCK_FRAMES]);
    let mut stream = open()?;
    let mut frames = 0u64;
    loop {
        let n = stream.read(&mut left, &mut right)?;
        if n == 0 {
            break;
        }
        frames += n as u64;
    }
    let rate = stream.sample_rate();
    let per_column = frames.div_ceil(columns.max(1) as u64).max(1);
    let mut meter = LoudnessMeter::new(rate).map_err(|e| e.to_string())?;
    let mut stream = open()?;
    let mut found = Vec::with_capacity(columns);
    let mut column = Vec::<(f32, f32)>::with_capacity(per_column as usize);
    loop {
        let n = stream.read(&mut left, &mut right)?;
        for i in 0..n {
            column.push((left[i], right[i]));
            if column.len() as u64 == per_column {
                meter.add(&channel(&column, 0), &channel(&column, 1));
                found.push(summarise(&column, rate, meter.short_term())?);
                column.clear();
            }
        }
        if n == 0 {
            break;
        }
    }
    if !column.is_empty() {
        meter.add(&channel(&column, 0), &channel(&column, 1));
        found.push(summarise(&column, rate, meter.short_term())?);
    }
    Ok(Overview { columns: found, seconds: frames as f64 / f64::from(rate) })
}

fn channel(frames: &[(f32, f32)], which: usize) -> Vec<f32> {
    frames.iter().map(|&(l, r)| if which == 0 { l } else { r }).collect()
}

/// One column's extremes, and its true peak when its sample peak comes near an over.
fn summarise(frames: &[(f32, f32)], rate: u32, short_term: Option<f64>) -> Result<Column, String> {
    let samples = frames.iter().flat_map(|&(l, r)| [l, r]);
    let (min, max) = samples.fold((0.0f32, 0.0f32), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let peak_db = 20.0 * f64::from(min.abs().max(max.abs())).log10();
    let over = if peak_db > OVER_DBTP - TRUE_PEAK_MARGIN_DB {
        let mut meter = LoudnessMeter::new(rate).map_err(|e| e.to_string())?;
        meter.add(&channel(frames, 0), &channel(frames, 1));
        meter.record().true_peak.is_some_and(|tp| tp > OVER_DBTP)
    } else {
        false
    };
    Ok(Column { min, max, short_term, over })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 kHz sine whose amplitude steps from `quiet` to `loud` half way through.
    struct Steps {
        quiet: f32,
        loud: f32,
        frames: usize,
        at: usize,
    }

    impl AudioStream for Steps {
        fn sample_rate(&self) -> u32 {
            48_000
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
            let n = left.len().min(self.frames - self.at);
            for i in 0..n {
                let frame = self.at + i;
                let amplitude = if frame < self.frames / 2 { self.quiet } else { self.loud };
                let w = 2.0 * std::f32::consts::PI * 1000.0 / 48_000.0;
                let x = amplitude * (w * frame as f32).sin();
                (left[i], right[i]) = (x, x);
            }
            self.at += n;
            Ok(n)
        }
    }

    fn steps(quiet: f32, loud: f32) -> Overview {
        let open = || -> Result<Box<dyn AudioStream>, String> {
            Ok(Box::new(Steps { quiet, loud, frames: 48_000 * 8, at: 0 }))
        };
        overview(&open, 80).unwrap()
    }

    #[test]
    fn each_column_holds_its_extremes_and_the_loudness_follows_the_level() {
        let o = steps(0.1, 0.5);
        assert_eq!(o.columns.len(), 80);
        assert!((o.seconds - 8.0).abs() < 1e-9);
        assert!((o.columns[10].max - 0.1).abs() < 1e-3 && (o.columns[10].min + 0.1).abs() < 1e-3);
        assert!((o.columns[70].max - 0.5).abs() < 1e-3);
        // Under 3 s there is no short-term loudness; a sine at 0.1 in both channels reads
        // 20 log10(0.1) = -20 LUFS (a full-scale sine in both reads 0 LUFS).
        assert_eq!(o.columns[20].short_term, None);
        assert!((o.columns[39].short_term.unwrap() - -20.0).abs() < 0.1, "{:?}", o.columns[39]);
        assert!((o.columns[79].short_term.unwrap() - -6.02).abs() < 0.1, "{:?}", o.columns[79]);
    }

    #[test]
    fn only_columns_whose_true_peak_passes_minus_1_dbtp_are_overs() {
        let o = steps(0.5, 0.95);
        assert!(o.columns[..40].iter().all(|c| !c.over));
        assert!(o.columns[41..].iter().all(|c| c.over));
    }
}
