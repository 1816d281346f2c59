//! Measuring a rendered signal once for every check written on it: its loudness record
//! (through [`crate::audio::loudness`]), how its channels correlate, and its sample peak.

use super::stream::AudioStream;
use crate::audio::READ_BLOCK_FRAMES;
use crate::audio::loudness::{LoudnessMeter, LoudnessRecord};

/// What a signal measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Loudness, loudness range and peaks.
    pub loudness: LoudnessRecord,
    /// Pearson correlation of left and right over the whole signal, from -1 to 1; `None`
    /// when a channel is silent throughout.
    pub correlation: Option<f64>,
    /// The largest sample magnitude, 1.0 being full scale.
    pub peak: f64,
}

/// Measures `stream` to its end.
///
/// # Errors
/// When the stream fails to read, or its rate is one the meter does not take.
pub fn measure(stream: &mut dyn AudioStream) -> Result<Measurement, String> {
    let mut meter = LoudnessMeter::new(stream.sample_rate()).map_err(|e| e.to_string())?;
    let (mut left, mut right) = (vec![0.0; READ_BLOCK_FRAMES], vec![0.0; READ_BLOCK_FRAMES]);
    let mut correlation = Correlation::default();
    let mut peak = 0.0f64;
    loop {
        let n = stream.read(&mut left, &mut right)?;
        if n == 0 {
            break;
        }
        meter.add(&left[..n], &right[..n]);
        correlation.add(&left[..n], &right[..n]);
        for &x in left[..n].iter().chain(&right[..n]) {
            peak = peak.max(f64::from(x.abs()));
        }
    }
    Ok(Measurement { loudness: meter.record(), correlation: correlation.value(), peak })
}

/// The correlation of `stream`'s channels to its end, alone: no loudness meter runs.
///
/// # Errors
/// When the stream fails to read.
pub fn correlation(stream: &mut dyn AudioStream) -> Result<Option<f64>, String> {
    let (mut left, mut right) = (vec![0.0; READ_BLOCK_FRAMES], vec![0.0; READ_BLOCK_FRAMES]);
    let mut correlation = Correlation::default();
    loop {
        let n = stream.read(&mut left, &mut right)?;
        if n == 0 {
            return Ok(correlation.value());
        }
        correlation.add(&left[..n], &right[..n]);
    }
}

/// Running sums for the correlation of two channels, in f64 so an hour of audio keeps
/// its precision.
#[derive(Debug, Default)]
struct Correlation {
    left_right: f64,
    left_left: f64,
    right_right: f64,
}

impl Correlation {
    fn add(&mut self, left: &[f32], right: &[f32]) {
        for (&l, &r) in left.iter().zip(right) {
            let (l, r) = (f64::from(l), f64::from(r));
            self.left_right += l * r;
            self.left_left += l * l;
            self.right_right += r * r;
        }
    }

    fn value(&self) -> Option<f64> {
        let energy = (self.left_left * self.right_right).sqrt();
        (energy > 0.0).then(|| (self.left_right / energy).clamp(-1.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signal held in memory.
    struct Memory {
        left: Vec<f32>,
        right: Vec<f32>,
        at: usize,
    }

    impl AudioStream for Memory {
        fn sample_rate(&self) -> u32 {
            48_000
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
            let n = left.len().min(self.left.len() - self.at);
            left[..n].copy_from_slice(&self.left[self.at..self.at + n]);
            right[..n].copy_from_slice(&self.right[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn sine(frames: usize, amplitude: f32, phase: f32) -> Vec<f32> {
        let w = 2.0 * std::f32::consts::PI * 997.0 / 48_000.0;
        (0..frames).map(|i| amplitude * (w * i as f32 + phase).sin()).collect()
    }

    fn measured(left: Vec<f32>, right: Vec<f32>) -> Measurement {
        measure(&mut Memory { left, right, at: 0 }).unwrap()
    }

    #[test]
    fn a_mono_signal_correlates_fully_and_an_inverted_one_negatively() {
        let tone = sine(48_000, 0.5, 0.0);
        let inverted: Vec<f32> = tone.iter().map(|x| -x).collect();
        assert!((measured(tone.clone(), tone.clone()).correlation.unwrap() - 1.0).abs() < 1e-9);
        assert!((measured(tone, inverted).correlation.unwrap() + 1.0).abs() < 1e-9);
    }

    #[test]
    fn tones_a_quarter_cycle_apart_do_not_correlate() {
        let frames = 48_000;
        let m = measured(sine(frames, 0.5, 0.0), sine(frames, 0.5, std::f32::consts::FRAC_PI_2));
        assert!(m.correlation.unwrap().abs() < 1e-3, "{:?}", m.correlation);
    }

    #[test]
    fn the_correlation_alone_is_the_full_measurements() {
        let (left, right) = (sine(48_000, 0.5, 0.0), sine(48_000, 0.3, 1.0));
        let alone = correlation(&mut Memory { left: left.clone(), right: right.clone(), at: 0 });
        let full = measured(left, right).correlation;
        assert_eq!(alone.unwrap(), full);
        assert!(full.unwrap() > 0.5 && full.unwrap() < 0.6, "cos(1 rad) = 0.54: {full:?}");
    }

    #[test]
    fn a_silent_channel_has_no_correlation_and_the_peak_is_the_largest_sample() {
        let m = measured(sine(48_000, 0.25, 0.0), vec![0.0; 48_000]);
        assert_eq!(m.correlation, None);
        assert!((m.peak - 0.25).abs() < 1e-4);
    }

    #[test]
    fn the_loudness_is_the_meters() {
        // A full-scale 997 Hz sine in one channel reads -3.01 LUFS (BS.1770's anchor).
        let m = measured(sine(480_000, 1.0, 0.0), vec![0.0; 480_000]);
        let integrated = m.loudness.integrated.unwrap();
        assert!((integrated - -3.01).abs() < 0.05, "{integrated}");
    }
}
