//! The normalising node: a master brought to a loudness target under a true-peak ceiling.
//!
//! It measures its input (the master after its chain), applies one gain rounded to
//! 0.01 dB, then a true-peak limiter at the ceiling, and measures again; when the limiter
//! moved the loudness more than [`CORRECTION_LU`] off the target, it corrects the gain once
//! and renders again (the corrective pass). The input's measurement is kept under the
//! input's key and the result under this node's key, so an unchanged master is never
//! measured twice and an unchanged node reports its figures without reading a sample.
//!
//! A target that needs more limiting than allowed, or a silent master with a target, is
//! an error with the figures: the file never quietly misses its target. This module knows
//! nothing about YAML; the CLI locates the error at the `loudness:` block.

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use super::NodeError;
use super::job::Job;
use super::stream::{Produced, Sink, read_full, run_chain};
use crate::audio::loudness::{LoudnessMeter, LoudnessRecord};
use crate::cache::folder::CacheDir;
use crate::cache::measurement;
use crate::cache::store::EntryWriter;
use crate::dsp::dynamics::limiter::{Limiter, LimiterSettings};
use crate::dsp::{BLOCK_FRAMES, BuildEnv, Context, Processor};
use crate::ir::Normalisation;
use crate::units::db_to_gain;

/// Bump when what the node computes for the same input and settings changes.
pub const NORMALISE_VERSION: u32 = 1;

/// How far the first pass may land from the target before the gain is corrected, in LU.
pub const CORRECTION_LU: f64 = 0.1;

/// What a normalisation did, kept under the node's key for the render's closing line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalised {
    /// The input's integrated loudness, in LUFS (`None` for a silent master without a
    /// target).
    pub measured_lufs: Option<f64>,
    /// The gain applied, in dB, rounded to 0.01 dB.
    pub gain_db: f64,
    /// The peak gain reduction the limiter applied: how far the gained input's true peak
    /// rose above the ceiling, in dB (0 when it stayed below).
    pub limiting_db: f64,
    /// Whether a corrective pass ran.
    pub corrected: bool,
}

/// Why a master could not be normalised.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NormaliseError {
    /// The target needs more limiting than `max_limiting` allows.
    #[error(
        "reaching {target} LUFS needs {limiting:.2} dB of limiting, more than the {max} dB \
         `max_limiting` allows: the master measures {measured:.2} LUFS with a true peak of \
         {true_peak:+.2} dBTP, so it needs {gain:+.2} dB of gain against a {ceiling} dBTP ceiling"
    )]
    TooMuchLimiting {
        /// The target, in LUFS.
        target: f64,
        /// The master's integrated loudness, in LUFS.
        measured: f64,
        /// The master's true peak, in dBTP.
        true_peak: f64,
        /// The gain the target needs, in dB.
        gain: f64,
        /// The ceiling, in dBTP.
        ceiling: f64,
        /// The limiting that gain would take, in dB.
        limiting: f64,
        /// The most limiting allowed, in dB.
        max: f64,
    },
    /// The master has no integrated loudness to bring to a target.
    #[error(
        "the master is silent (no 400 ms block above -70 LUFS), so no gain brings it to \
         {target} LUFS"
    )]
    Silent {
        /// The target, in LUFS.
        target: f64,
    },
}

/// `db` rounded to 0.01 dB, the resolution a gain keeps.
#[must_use]
pub fn round_gain(db: f64) -> f64 {
    (db * 100.0).round() / 100.0 + 0.0
}

/// The gain and limiting the first pass takes for a master measured as `input`.
///
/// # Errors
/// When the master is silent with a target, or the limiting passes the bound.
pub fn first_gain(n: &Normalisation, input: &LoudnessRecord) -> Result<(f64, f64), NormaliseError> {
    let gain = match n.target_lufs {
        None => 0.0,
        Some(target) => {
            let measured = input.integrated.ok_or(NormaliseError::Silent { target })?;
            round_gain(target - measured)
        }
    };
    Ok((gain, checked_limiting(n, input, gain)?))
}

/// The peak gain reduction `gain` takes of the limiter, checked against the bound.
///
/// # Errors
/// When it passes `max_limiting` (a ceiling alone, without a target, is never refused).
pub fn checked_limiting(
    n: &Normalisation,
    input: &LoudnessRecord,
    gain: f64,
) -> Result<f64, NormaliseError> {
    let Some(true_peak) = input.true_peak else { return Ok(0.0) };
    let limiting = round_gain((true_peak + gain - n.ceiling_dbtp).max(0.0));
    match (n.target_lufs, input.integrated) {
        (Some(target), Some(measured)) if limiting > n.max_limiting_db => {
            Err(NormaliseError::TooMuchLimiting {
                target,
                measured,
                true_peak,
                gain,
                ceiling: n.ceiling_dbtp,
                limiting,
                max: n.max_limiting_db,
            })
        }
        _ => Ok(limiting),
    }
}

/// The corrected gain when the first pass, at `gain`, landed at `result` LUFS more than
/// [`CORRECTION_LU`] off the target; `None` when it is close enough.
#[must_use]
pub fn corrected_gain(n: &Normalisation, gain: f64, result: Option<f64>) -> Option<f64> {
    let (target, result) = (n.target_lufs?, result?);
    ((result - target).abs() > CORRECTION_LU).then(|| round_gain(gain + target - result))
}

/// Renders a normalising node.
///
/// # Errors
/// When the input cannot be read, the cache fails, or the target cannot be met.
pub fn run_normalise(job: &Job<'_>, n: &Normalisation, cache: &CacheDir) -> Result<(), NodeError> {
    let input = job.graph.graph[job.node].main_inputs()[0];
    let input_key = job.keys.key(input);
    let rate = job.sample_rate();
    let measured = if let Some(record) = measurement::load::<LoudnessRecord>(cache, input_key) {
        record
    } else {
        let record = measure_input(job, input, rate)?;
        measurement::save(cache, input_key, &record).map_err(NodeError::CacheWrite)?;
        record
    };
    let (mut gain, mut limiting) = first_gain(n, &measured)?;
    let (mut pass, result) = limit_pass(job, input, n, gain)?;
    let correction = corrected_gain(n, gain, result.integrated);
    if let Some(corrected) = correction {
        limiting = checked_limiting(n, &measured, corrected)?;
        gain = corrected;
        drop(pass);
        (pass, _) = limit_pass(job, input, n, gain)?;
    }
    job.finish_entry(pass.writer, pass.produced, pass.content_frames)?;
    let record = Normalised {
        measured_lufs: measured.integrated,
        gain_db: gain,
        limiting_db: limiting,
        corrected: correction.is_some(),
    };
    measurement::save(cache, job.keys.key(job.node), &record).map_err(NodeError::CacheWrite)
}

/// The loudness of the input, read once from its entry.
fn measure_input(job: &Job<'_>, input: NodeIndex, rate: u32) -> Result<LoudnessRecord, NodeError> {
    let mut stream = job.open_input(input)?;
    let mut meter =
        LoudnessMeter::new(rate).expect("the meter takes every rate a project may have");
    let mut left = vec![0.0f32; BLOCK_FRAMES];
    let mut right = vec![0.0f32; BLOCK_FRAMES];
    loop {
        let n = read_full(stream.as_mut(), &mut left, &mut right)?;
        if n == 0 {
            return Ok(meter.record());
        }
        meter.add(&left[..n], &right[..n]);
    }
}

/// One pass's audio, in an entry not yet published.
struct Pass {
    writer: EntryWriter,
    produced: Produced,
    /// Where the input's source material ends, passed on for the output's length.
    content_frames: u64,
}

/// One gain and the true-peak limiter at the ceiling, over the whole input, into a new
/// entry (published only when the caller finishes it), measured as it is written.
fn limit_pass(
    job: &Job<'_>,
    input: NodeIndex,
    n: &Normalisation,
    gain_db: f64,
) -> Result<(Pass, LoudnessRecord), NodeError> {
    let rate = job.sample_rate();
    let mut stream = job.open_input(input)?;
    let content_frames = stream.content_frames().unwrap_or(0);
    let frames = stream.frames().unwrap_or(0);
    let spec = LimiterSettings {
        ceiling_db: n.ceiling_dbtp,
        lookahead_seconds: 0.005,
        release_seconds: 0.1,
        true_peak: true,
    };
    let env = BuildEnv { sample_rate: f64::from(rate), max_block: BLOCK_FRAMES };
    let mut metered = Metered {
        limiter: Limiter::new(&spec, &env),
        meter: LoudnessMeter::new(rate).expect("the meter takes every rate a project may have"),
    };
    let gain = db_to_gain(gain_db) as f32;
    let mut sink = Sink { entry: Some(job.create_entry()?), pipe: None, content_frames };
    let produced = run_chain(&mut metered, frames, rate, &mut [], &mut sink, |_, left, right| {
        read_full(stream.as_mut(), left, right)?;
        left.iter_mut().chain(right.iter_mut()).for_each(|x| *x *= gain);
        Ok(())
    })?;
    let writer = sink.entry.expect("the sink was given an entry");
    Ok((Pass { writer, produced, content_frames }, metered.meter.record()))
}

/// The limiter with a meter on its output. The meter also hears the limiter's latency
/// (silence, which the gate ignores) and its tail, exactly what the entry holds but for
/// the leading silence.
struct Metered {
    limiter: Limiter,
    meter: LoudnessMeter,
}

impl Processor for Metered {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        self.limiter.process(left, right, ctx);
        self.meter.add(left, right);
    }

    fn latency(&self) -> usize {
        self.limiter.latency()
    }

    fn tail(&self) -> usize {
        self.limiter.tail()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(integrated: Option<f64>, true_peak: Option<f64>) -> LoudnessRecord {
        LoudnessRecord {
            integrated,
            momentary_max: None,
            short_term_max: None,
            loudness_range: None,
            sample_peak: true_peak,
            true_peak,
            duration: 10.0,
        }
    }

    fn spotify() -> Normalisation {
        Normalisation { target_lufs: Some(-14.0), ceiling_dbtp: -1.0, max_limiting_db: 6.0 }
    }

    #[test]
    fn gains_are_rounded_to_a_hundredth_of_a_db() {
        assert_eq!(round_gain(3.214_9), 3.21);
        assert_eq!(round_gain(-0.004), 0.0);
        assert_eq!(round_gain(-0.004).to_bits(), 0.0f64.to_bits(), "no negative zero");
        assert_eq!(round_gain(2.005_1), 2.01);
    }

    #[test]
    fn measurements_a_few_thousandths_apart_give_the_same_gain() {
        let a = first_gain(&spotify(), &record(Some(-20.001), Some(-8.0))).unwrap();
        let b = first_gain(&spotify(), &record(Some(-20.004), Some(-8.0))).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.0, 6.0);
    }

    #[test]
    fn the_first_gain_brings_the_measurement_to_the_target_and_counts_the_limiting() {
        let (gain, limiting) = first_gain(&spotify(), &record(Some(-19.5), Some(-4.0))).unwrap();
        assert_eq!((gain, limiting), (5.5, 2.5));
        let (gain, limiting) = first_gain(&spotify(), &record(Some(-12.0), Some(-3.0))).unwrap();
        assert_eq!((gain, limiting), (-2.0, 0.0));
    }

    #[test]
    fn a_target_needing_more_than_max_limiting_is_refused_with_the_figures() {
        let error = first_gain(&spotify(), &record(Some(-24.0), Some(-2.0))).unwrap_err();
        assert_eq!(
            error,
            NormaliseError::TooMuchLimiting {
                target: -14.0,
                measured: -24.0,
                true_peak: -2.0,
                gain: 10.0,
                ceiling: -1.0,
                limiting: 9.0,
                max: 6.0,
            }
        );
        let text = error.to_string();
        assert!(text.contains("needs 9.00 dB of limiting, more than the 6 dB"), "{text}");
        assert!(text.contains("-24.00 LUFS") && text.contains("+10.00 dB of gain"), "{text}");
        let at_the_bound = record(Some(-21.0), Some(-2.0));
        assert_eq!(first_gain(&spotify(), &at_the_bound).unwrap(), (7.0, 6.0));
    }

    #[test]
    fn a_silent_master_with_a_target_is_refused_and_without_one_passes() {
        let silent = record(None, None);
        assert_eq!(first_gain(&spotify(), &silent), Err(NormaliseError::Silent { target: -14.0 }));
        let cd = Normalisation { target_lufs: None, ceiling_dbtp: 0.0, max_limiting_db: 6.0 };
        assert_eq!(first_gain(&cd, &silent), Ok((0.0, 0.0)));
    }

    #[test]
    fn a_ceiling_without_a_target_applies_no_gain_and_limits_whatever_is_over() {
        let cd = Normalisation { target_lufs: None, ceiling_dbtp: 0.0, max_limiting_db: 6.0 };
        assert_eq!(first_gain(&cd, &record(Some(-8.0), Some(9.0))), Ok((0.0, 9.0)));
    }

    #[test]
    fn the_gain_is_corrected_only_when_the_first_pass_misses_by_more_than_a_tenth() {
        let n = spotify();
        assert_eq!(corrected_gain(&n, 5.0, Some(-14.1)), None);
        assert_eq!(corrected_gain(&n, 5.0, Some(-13.95)), None);
        assert_eq!(corrected_gain(&n, 5.0, Some(-14.37)), Some(5.37));
        assert_eq!(corrected_gain(&n, 5.0, None), None);
        let cd = Normalisation { target_lufs: None, ..n };
        assert_eq!(corrected_gain(&cd, 0.0, Some(-9.0)), None);
    }
}
