//! A fixed delay in whole frames, used to line up paths of different latency.

/// Delays a stereo signal by a fixed number of frames.
pub struct DelayLine {
    frames: usize,
    left: Vec<f32>,
    right: Vec<f32>,
    write: usize,
}

impl DelayLine {
    /// A delay of `frames` frames, silent at first.
    #[must_use]
    pub fn new(frames: usize) -> Self {
        Self { frames, left: vec![0.0; frames], right: vec![0.0; frames], write: 0 }
    }

    /// Delays the block in place.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.frames == 0 {
            return;
        }
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            std::mem::swap(l, &mut self.left[self.write]);
            std::mem::swap(r, &mut self.right[self.write]);
            self.write += 1;
            if self.write == self.frames {
                self.write = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impulse_comes_out_exactly_n_frames_later() {
        let mut d = DelayLine::new(3);
        let mut l = vec![1.0, 0.0, 0.0, 0.0, 0.0];
        let mut r = vec![0.0, 2.0, 0.0, 0.0, 0.0];
        d.process(&mut l, &mut r);
        assert_eq!(l, vec![0.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(r, vec![0.0, 0.0, 0.0, 0.0, 2.0]);
    }
}
