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
        let n = left.len().min(right.len());
        let mut done = 0;
        // Each sample trades places with the one stored `frames` ago, a run at a time up to
        // the ring's end: whole slices swapped, rather than a wrap test per frame.
        while done < n {
            let run = (n - done).min(self.frames - self.write);
            let (stored, fresh) = (self.write..self.write + run, done..done + run);
            left[fresh.clone()].swap_with_slice(&mut self.left[stored.clone()]);
            right[fresh].swap_with_slice(&mut self.right[stored]);
            done += run;
            self.write = (self.write + run) % self.frames;
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

    #[test]
    fn blocks_of_any_length_across_the_ring_s_end_delay_exactly() {
        let input: Vec<f32> = (1..=40).map(|i| i as f32).collect();
        for block in [1, 2, 3, 5, 7, 16, 40] {
            let mut d = DelayLine::new(6);
            let (mut l, mut r) = (input.clone(), input.iter().map(|x| -x).collect::<Vec<_>>());
            for (bl, br) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
                d.process(bl, br);
            }
            let expected: Vec<f32> =
                (0..40).map(|i| if i < 6 { 0.0 } else { input[i - 6] }).collect();
            assert_eq!(l, expected, "block {block}");
            assert_eq!(r, expected.iter().map(|x| -x).collect::<Vec<_>>(), "block {block}");
        }
    }
}
