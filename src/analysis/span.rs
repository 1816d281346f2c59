//! A stretch of a longer signal read as a signal of its own: one song's span of an album
//! segment, for a picture of that song.

use super::stream::AudioStream;

/// The frames `start..start + frames` of a signal.
pub struct Span<S> {
    inner: S,
    /// Frames still to be skipped before the span.
    to_skip: u64,
    /// Frames of the span still to be read.
    left: u64,
}

impl<S: AudioStream> Span<S> {
    /// The `frames` frames of `inner` from frame `start` (fewer where `inner` ends first).
    pub fn new(inner: S, start: u64, frames: u64) -> Self {
        Self { inner, to_skip: start, left: frames }
    }
}

impl<S: AudioStream> AudioStream for Span<S> {
    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
        while self.to_skip > 0 {
            let want = left.len().min(usize::try_from(self.to_skip).unwrap_or(usize::MAX));
            let n = self.inner.read(&mut left[..want], &mut right[..want])?;
            if n == 0 {
                return Ok(0);
            }
            self.to_skip -= n as u64;
        }
        let want = left.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut left[..want], &mut right[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames numbered from 0, `frames` of them, handed out at most `block` at a time.
    struct Counting {
        next: u64,
        frames: u64,
        block: usize,
    }

    impl AudioStream for Counting {
        fn sample_rate(&self) -> u32 {
            48_000
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
            let n = left.len().min(self.block).min((self.frames - self.next) as usize);
            for i in 0..n {
                left[i] = (self.next + i as u64) as f32;
                right[i] = -left[i];
            }
            self.next += n as u64;
            Ok(n)
        }
    }

    fn read_all(mut span: impl AudioStream, block: usize) -> Vec<f32> {
        let (mut left, mut right) = (vec![0.0; block], vec![0.0; block]);
        let mut out = Vec::new();
        loop {
            let n = span.read(&mut left, &mut right).unwrap();
            if n == 0 {
                return out;
            }
            assert!(left[..n].iter().zip(&right[..n]).all(|(l, r)| *l == -*r));
            out.extend_from_slice(&left[..n]);
        }
    }

    #[test]
    fn a_span_holds_exactly_its_frames_whatever_the_block_sizes() {
        for (block, inner_block) in [(4, 3), (3, 7), (100, 1), (1, 100)] {
            let inner = Counting { next: 0, frames: 50, block: inner_block };
            let got = read_all(Span::new(inner, 10, 7), block);
            assert_eq!(
                got,
                (10..17).map(|f| f as f32).collect::<Vec<_>>(),
                "{block}/{inner_block}"
            );
        }
    }

    #[test]
    fn a_span_past_the_end_of_its_signal_stops_where_the_signal_does() {
        let inner = Counting { next: 0, frames: 12, block: 5 };
        assert_eq!(read_all(Span::new(inner, 10, 7), 4), vec![10.0, 11.0]);
        let inner = Counting { next: 0, frames: 12, block: 5 };
        assert!(read_all(Span::new(inner, 20, 7), 4).is_empty());
    }
}
