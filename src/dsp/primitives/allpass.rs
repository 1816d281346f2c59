//! A Schroeder all-pass: a flat-magnitude filter that smears a transient into a dense
//! burst. Reverbs chain a few of them to diffuse their input.

/// `H(z) = (-g + z^-D) / (1 - g·z^-D)` with a whole-frame delay `D`.
#[derive(Debug, Clone)]
pub struct Allpass {
    buf: Vec<f64>,
    pos: usize,
    gain: f64,
}

impl Allpass {
    /// An all-pass of `delay` frames (at least 1) and feedback `gain` (|g| < 1).
    #[must_use]
    pub fn new(delay: usize, gain: f64) -> Self {
        Self { buf: vec![0.0; delay.max(1)], pos: 0, gain }
    }

    /// Filters one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let delayed = self.buf[self.pos];
        let v = x + self.gain * delayed;
        self.buf[self.pos] = if v.abs() > 1e-30 { v } else { 0.0 };
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        delayed - self.gain * v
    }

    /// Filters a block in place, exactly as [`Self::process`] would sample by sample. The
    /// block is taken in runs that end where the buffer wraps, so every run reads and
    /// writes one contiguous stretch of it, which vectorises.
    pub fn process_block(&mut self, block: &mut [f64]) {
        let gain = self.gain;
        let mut rest = block;
        while !rest.is_empty() {
            let run = rest.len().min(self.buf.len() - self.pos);
            let (now, later) = rest.split_at_mut(run);
            for (x, stored) in now.iter_mut().zip(&mut self.buf[self.pos..self.pos + run]) {
                let delayed = *stored;
                let v = *x + gain * delayed;
                *stored = if v.abs() > 1e-30 { v } else { 0.0 };
                *x = delayed - gain * v;
            }
            self.pos += run;
            if self.pos == self.buf.len() {
                self.pos = 0;
            }
            rest = later;
        }
    }

    /// Frames for the impulse response to fall 90 dB: its echoes shrink by `g` every
    /// `D` frames.
    #[must_use]
    pub fn ring_frames(&self) -> usize {
        let g = self.gain.abs();
        let echoes = if g < 1e-12 { 1.0 } else { (4.5 / -g.log10()).ceil() + 1.0 };
        self.buf.len() * echoes as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_all_pass_keeps_the_energy_of_an_impulse() {
        // An all-pass has unit gain at every frequency, so by Parseval its impulse response
        // has unit energy; what the truncated tail holds is below 1e-9 of it.
        let mut ap = Allpass::new(37, 0.7);
        let energy: f64 = (0..ap.ring_frames() * 2)
            .map(|n| ap.process(if n == 0 { 1.0 } else { 0.0 }).powi(2))
            .sum();
        assert!((energy - 1.0).abs() < 1e-9, "{energy}");
    }

    #[test]
    fn a_block_is_filtered_bit_for_bit_as_sample_by_sample() {
        // Blocks shorter and longer than the delay, so runs both wrap and span the buffer.
        let x: Vec<f64> = (0..200).map(|n| (f64::from(n) * 0.61).sin()).collect();
        let mut by_sample = Allpass::new(13, 0.6);
        let expected: Vec<f64> = x.iter().map(|&v| by_sample.process(v)).collect();
        let mut by_block = Allpass::new(13, 0.6);
        let mut got = x.clone();
        for block in got.chunks_mut(31).flat_map(|c| {
            let (a, b) = c.split_at_mut(5);
            [a, b]
        }) {
            by_block.process_block(block);
        }
        assert!(got.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn its_response_is_minus_g_then_echoes_every_d_frames() {
        let mut ap = Allpass::new(5, 0.5);
        let y: Vec<f64> = (0..11).map(|n| ap.process(if n == 0 { 1.0 } else { 0.0 })).collect();
        // -g, then (1 - g²), then (1 - g²)·g: exact in binary for g = 0.5.
        assert_eq!(y[0].to_bits(), (-0.5f64).to_bits());
        assert_eq!(y[5].to_bits(), 0.75f64.to_bits());
        assert_eq!(y[10].to_bits(), 0.375f64.to_bits());
        assert!(y[1..5].iter().chain(&y[6..10]).all(|v| v.abs() < 1e-300));
    }
}
