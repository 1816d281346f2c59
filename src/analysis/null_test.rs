//! The null test: subtract one signal from another and measure what is left. Two renders
//! that null to silence are the same; a residual under -90 dBFS is inaudible.

use super::stream::AudioStream;
use crate::audio::READ_BLOCK_FRAMES;

/// What is left of one signal minus another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Residual {
    /// The difference's largest sample magnitude, 1.0 being full scale.
    pub peak: f64,
    /// The difference's RMS over the longer signal, both channels together.
    pub rms: f64,
    /// Whether the two are the same bit for bit, length included.
    pub identical: bool,
}

impl Residual {
    /// The peak in dBFS (`-inf` for none).
    #[must_use]
    pub fn peak_db(&self) -> f64 {
        20.0 * self.peak.log10()
    }

    /// The RMS in dBFS (`-inf` for none).
    #[must_use]
    pub fn rms_db(&self) -> f64 {
        20.0 * self.rms.log10()
    }
}

/// Subtracts `b` from `a`, frame by frame; the shorter one counts as silence past its end.
///
/// # Errors
/// When the two run at different rates, or either fails to read.
pub fn null_test(a: &mut dyn AudioStream, b: &mut dyn AudioStream) -> Result<Residual, String> {
    if a.sample_rate() != b.sample_rate() {
        return Err(format!(
            "the two signals run at different rates ({} Hz and {} Hz)",
            a.sample_rate(),
            b.sample_rate()
        ));
    }
    let mut a = Reader::new(a);
    let mut b = Reader::new(b);
    let (mut peak, mut sum_of_squares, mut frames) = (0.0f64, 0.0f64, 0u64);
    let mut identical = true;
    loop {
        let (na, nb) = (a.fill()?, b.fill()?);
        let n = na.max(nb);
        if n == 0 {
            break;
        }
        identical &= na == nb;
        for channel in 0..2 {
            for i in 0..n {
                let (x, y) = (a.sample(channel, i, na), b.sample(channel, i, nb));
                identical &= x.to_bits() == y.to_bits();
                let d = f64::from(x) - f64::from(y);
                peak = peak.max(d.abs());
                sum_of_squares += d * d;
            }
        }
        frames += n as u64;
    }
    let rms = if frames == 0 { 0.0 } else { (sum_of_squares / (2 * frames) as f64).sqrt() };
    Ok(Residual { peak, rms, identical })
}

/// One signal's next block, filled as far as the signal goes.
struct Reader<'a> {
    stream: &'a mut dyn AudioStream,
    left: Vec<f32>,
    right: Vec<f32>,
}

impl<'a> Reader<'a> {
    fn new(stream: &'a mut dyn AudioStream) -> Self {
        Self { stream, left: vec![0.0; READ_BLOCK_FRAMES], right: vec![0.0; READ_BLOCK_FRAMES] }
    }

    /// Reads a whole block unless the signal ends first; returns the frames read.
    fn fill(&mut self) -> Result<usize, String> {
        let mut filled = 0;
        while filled < READ_BLOCK_FRAMES {
            let n = self.stream.read(&mut self.left[filled..], &mut self.right[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        Ok(filled)
    }

    fn sample(&self, channel: usize, i: usize, filled: usize) -> f32 {
        if i >= filled {
            return 0.0;
        }
        if channel == 0 { self.left[i] } else { self.right[i] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Memory(Vec<f32>, usize);

    impl AudioStream for Memory {
        fn sample_rate(&self) -> u32 {
            48_000
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
            // Short reads on purpose: the null test must not depend on how blocks arrive.
            let n = left.len().min(self.0.len() - self.1).min(1000);
            left[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            right[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    fn ramp(frames: usize, scale: f32) -> Vec<f32> {
        (0..frames).map(|i| scale * ((i % 100) as f32 / 100.0 - 0.5)).collect()
    }

    #[test]
    fn a_signal_against_itself_is_identical_with_no_residual() {
        let r = null_test(&mut Memory(ramp(10_000, 1.0), 0), &mut Memory(ramp(10_000, 1.0), 0))
            .unwrap();
        assert!(r.identical);
        assert_eq!(r.peak, 0.0);
        assert_eq!(r.peak_db(), f64::NEG_INFINITY);
    }

    #[test]
    fn a_gain_change_leaves_the_difference_as_residual() {
        let r = null_test(&mut Memory(ramp(10_000, 1.0), 0), &mut Memory(ramp(10_000, 0.5), 0))
            .unwrap();
        assert!(!r.identical);
        // The ramp's largest magnitude is 0.5; half of it is left.
        assert!((r.peak - 0.25).abs() < 1e-6, "{}", r.peak);
        assert!((r.peak_db() - -12.04).abs() < 0.01);
    }

    #[test]
    fn a_longer_signal_differs_by_its_extra_frames() {
        let mut longer = vec![0.0; 10_000];
        longer.push(0.125);
        let r = null_test(&mut Memory(vec![0.0; 10_000], 0), &mut Memory(longer, 0)).unwrap();
        assert!(!r.identical);
        assert!((r.peak - 0.125).abs() < 1e-9);
    }

    #[test]
    fn minus_zero_against_zero_nulls_but_is_not_identical() {
        let r = null_test(&mut Memory(vec![0.0; 10], 0), &mut Memory(vec![-0.0; 10], 0)).unwrap();
        assert!(!r.identical);
        assert_eq!(r.peak, 0.0);
    }
}
