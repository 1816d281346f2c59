//! Measuring a FLAC file as it is written. A FLAC file keeps every integer it is given,
//! and a decoder reads integer `i` of an `n`-bit file back as `i · 2¹⁻ⁿ`, an exact
//! `f32`. So the loudness and true peak of those values, taken while the encoder
//! writes, are the ones a decoder and meter would read from the finished file, without
//! reading it again.

use super::loudness::{LoudnessMeter, PoolableRecord, UnsupportedRate};

/// A loudness meter fed the integers a FLAC encoder stores.
pub struct DecodedMeter {
    meter: LoudnessMeter,
    /// 2¹⁻ⁿ: one LSB as a float.
    scale: f32,
    planes: (Vec<f32>, Vec<f32>),
}

impl DecodedMeter {
    /// A meter for `bits`-bit integers at `sample_rate`.
    ///
    /// # Errors
    /// When the meter does not take the rate.
    pub fn new(sample_rate: u32, bits: u32) -> Result<Self, UnsupportedRate> {
        Ok(Self {
            meter: LoudnessMeter::new(sample_rate)?,
            scale: 1.0 / (1_u32 << (bits - 1)) as f32,
            planes: (Vec::new(), Vec::new()),
        })
    }

    /// Measures interleaved stereo integers, as a decoder will read them.
    pub fn add_integers(&mut self, interleaved: &[i32]) {
        let (left, right) = &mut self.planes;
        left.clear();
        right.clear();
        for pair in interleaved.chunks_exact(2) {
            left.push(pair[0] as f32 * self.scale);
            right.push(pair[1] as f32 * self.scale);
        }
        self.meter.add(left, right);
    }

    /// What has been measured so far.
    #[must_use]
    pub fn measured(&self) -> PoolableRecord {
        self.meter.poolable()
    }
}
