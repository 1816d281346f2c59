//! A mono ring buffer for delays that are read while they are written: whole-frame taps
//! and cubic (4-point Lagrange) taps between frames. Sized once, when built.

/// The last frames pushed, readable at whole or fractional distances into the past.
#[derive(Debug, Clone)]
pub struct Ring {
    buf: Vec<f32>,
    mask: usize,
    write: usize,
}

impl Ring {
    /// A silent ring that can be read up to `max_delay` frames back, fractional reads
    /// included (they need two frames beyond the whole part).
    #[must_use]
    pub fn new(max_delay: usize) -> Self {
        let len = (max_delay + 3).next_power_of_two();
        Self { buf: vec![0.0; len], mask: len - 1, write: 0 }
    }

    /// Appends one frame.
    #[inline]
    pub fn push(&mut self, x: f32) {
        self.buf[self.write] = x;
        self.write = (self.write + 1) & self.mask;
    }

    /// The frame pushed `delay` pushes ago: `read(1)` is the newest. Read before pushing
    /// frame `n`, `read(d)` is frame `n - d`.
    #[inline]
    #[must_use]
    pub fn read(&self, delay: usize) -> f32 {
        self.buf[self.write.wrapping_sub(delay) & self.mask]
    }

    /// The signal `delay` frames back, between frames by 4-point Lagrange interpolation;
    /// `delay` must be at least 2 so that every point read lies in the past.
    #[inline]
    #[must_use]
    pub fn read_cubic(&self, delay: f64) -> f64 {
        let whole = delay.floor();
        let t = delay - whole;
        let n = whole as usize;
        let (a, b, c, d) = (
            f64::from(self.read(n - 1)),
            f64::from(self.read(n)),
            f64::from(self.read(n + 1)),
            f64::from(self.read(n + 2)),
        );
        // Lagrange weights for points at -1, 0, 1, 2 evaluated at t.
        let (tp1, tm1, tm2) = (t + 1.0, t - 1.0, t - 2.0);
        let wa = -t * tm1 * tm2 / 6.0;
        let wb = tp1 * tm1 * tm2 / 2.0;
        let wc = -tp1 * t * tm2 / 2.0;
        let wd = tp1 * t * tm1 / 6.0;
        wa * a + wb * b + wc * c + wd * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_frame_reads_return_the_frame_pushed_that_long_ago() {
        let mut r = Ring::new(5);
        for x in 1..=6 {
            r.push(x as f32);
        }
        assert_eq!(r.read(1).to_bits(), 6f32.to_bits());
        assert_eq!(r.read(5).to_bits(), 2f32.to_bits());
    }

    #[test]
    fn cubic_reads_reproduce_a_cubic_exactly_between_frames() {
        // Four-point Lagrange interpolation is exact for polynomials up to degree three;
        // the tolerance covers the f32 storage of values near 1.
        let f = |k: f64| 0.001 * k * k * k - 0.01 * k * k + 0.1 * k;
        let mut r = Ring::new(16);
        for n in 0..16 {
            r.push(f(f64::from(n)) as f32);
        }
        // After pushing frames 0..=15, `delay` frames back from frame 16 is 16 - delay.
        for delay in [2.0, 2.25, 5.5, 9.9] {
            let got = r.read_cubic(delay);
            let want = f(16.0 - delay);
            assert!((got - want).abs() < 1e-5, "{delay}: {got} vs {want}");
        }
    }
}
