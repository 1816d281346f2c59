//! Energy in three bands (low, mid, high), for saying where in the spectrum a change
//! lies: an EQ move shows in one band and barely in the others, a fader move in all three
//! alike. The bands are split by 4th-order Butterworth filters at [`LOW_MID_HZ`] and
//! [`MID_HIGH_HZ`]; the mid band is the highpass of the one and the lowpass of the other.

use super::stream::AudioStream;
use crate::audio::READ_BLOCK_FRAMES;
use crate::dsp::filters::butterworth::{Pass, sections};
use crate::dsp::primitives::biquad::BiquadCascade;

/// Where low ends and mid begins, in Hz.
pub const LOW_MID_HZ: f64 = 250.0;
/// Where mid ends and high begins, in Hz.
pub const MID_HIGH_HZ: f64 = 4000.0;
/// The order of the band-splitting filters: 24 dB/oct.
const ORDER: usize = 4;

/// Mean-square energy of each band over the whole signal, both channels, in dB relative
/// to full scale (`-inf` for silence).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandEnergy {
    /// Below [`LOW_MID_HZ`].
    pub low_db: f64,
    /// Between the two.
    pub mid_db: f64,
    /// Above [`MID_HIGH_HZ`].
    pub high_db: f64,
}

/// Measures the band energy of `stream` to its end.
///
/// # Errors
/// When the stream fails to read.
pub fn band_energy(stream: &mut dyn AudioStream) -> Result<BandEnergy, String> {
    let rate = f64::from(stream.sample_rate());
    let cascade = |pass, freq| BiquadCascade::new(&sections(pass, ORDER, rate, freq));
    let mut low = cascade(Pass::Low, LOW_MID_HZ);
    let mut mid = [cascade(Pass::High, LOW_MID_HZ), cascade(Pass::Low, MID_HIGH_HZ)];
    let mut high = cascade(Pass::High, MID_HIGH_HZ);
    let (mut left, mut right) = (vec![0.0; READ_BLOCK_FRAMES], vec![0.0; READ_BLOCK_FRAMES]);
    let (mut band_left, mut band_right) =
        (vec![0.0; READ_BLOCK_FRAMES], vec![0.0; READ_BLOCK_FRAMES]);
    let mut sums = [0.0f64; 3];
    let (mut frames, mut at) = (0u64, 0u64);
    loop {
        let n = stream.read(&mut left, &mut right)?;
        if n == 0 {
            break;
        }
        for (band, filters) in
            [vec![&mut low], mid.iter_mut().collect(), vec![&mut high]].into_iter().enumerate()
        {
            band_left[..n].copy_from_slice(&left[..n]);
            band_right[..n].copy_from_slice(&right[..n]);
            for filter in filters {
                filter.process(&mut band_left[..n], &mut band_right[..n], at);
            }
            sums[band] += band_left[..n]
                .iter()
                .chain(&band_right[..n])
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>();
        }
        frames += n as u64;
        at += n as u64;
    }
    let db = |sum: f64| 10.0 * (sum / (2 * frames.max(1)) as f64).log10();
    Ok(BandEnergy { low_db: db(sums[0]), mid_db: db(sums[1]), high_db: db(sums[2]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tone {
        freq: f64,
        at: usize,
        frames: usize,
    }

    impl AudioStream for Tone {
        fn sample_rate(&self) -> u32 {
            48_000
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
            let n = left.len().min(self.frames - self.at);
            for i in 0..n {
                let t = (self.at + i) as f64 / 48_000.0;
                let x = (0.5 * (2.0 * std::f64::consts::PI * self.freq * t).sin()) as f32;
                (left[i], right[i]) = (x, x);
            }
            self.at += n;
            Ok(n)
        }
    }

    fn bands_of(freq: f64) -> BandEnergy {
        band_energy(&mut Tone { freq, at: 0, frames: 96_000 }).unwrap()
    }

    #[test]
    fn a_tone_lands_in_its_own_band_with_its_energy() {
        // A sine at amplitude 0.5 has a mean square of 0.125: -9.03 dB.
        for (freq, band) in [(60.0, 0), (1000.0, 1), (12_000.0, 2)] {
            let b = bands_of(freq);
            let levels = [b.low_db, b.mid_db, b.high_db];
            assert!((levels[band] - -9.03).abs() < 0.1, "{freq} Hz: {levels:?}");
            for (other, level) in levels.iter().enumerate().filter(|(i, _)| *i != band) {
                assert!(*level < -9.03 - 20.0, "{freq} Hz leaks into band {other}: {levels:?}");
            }
        }
    }
}
