//! Signals read one after another as one signal: an album's segments in timeline order,
//! for a measurement or a null test of the whole album. Each is opened only when the one
//! before it ends, so one file is open at a time however long the album.

use super::stream::AudioStream;

/// The signals `parts` yields, end to end, at `sample_rate`.
pub struct Chained<I> {
    parts: I,
    current: Option<Box<dyn AudioStream>>,
    sample_rate: u32,
}

impl<I> Chained<I>
where
    I: Iterator<Item = Result<Box<dyn AudioStream>, String>>,
{
    /// The signals of `parts` in order; each must be at `sample_rate`.
    pub fn new(parts: I, sample_rate: u32) -> Self {
        Self { parts, current: None, sample_rate }
    }
}

impl<I> AudioStream for Chained<I>
where
    I: Iterator<Item = Result<Box<dyn AudioStream>, String>>,
{
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
        loop {
            let current = match &mut self.current {
                Some(current) => current,
                None => match self.parts.next() {
                    None => return Ok(0),
                    Some(part) => {
                        let part = part?;
                        if part.sample_rate() != self.sample_rate {
                            return Err(format!(
                                "a part at {} Hz joins a signal at {} Hz",
                                part.sample_rate(),
                                self.sample_rate
                            ));
                        }
                        self.current.insert(part)
                    }
                },
            };
            let n = current.read(left, right)?;
            if n > 0 {
                return Ok(n);
            }
            self.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `frames` frames valued `first`, `first + 1`…, handed out at most `block` at a time.
    struct Counting {
        next: f32,
        left: usize,
        block: usize,
        rate: u32,
    }

    impl AudioStream for Counting {
        fn sample_rate(&self) -> u32 {
            self.rate
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
            let n = left.len().min(self.block).min(self.left);
            for i in 0..n {
                left[i] = self.next;
                right[i] = -self.next;
                self.next += 1.0;
            }
            self.left -= n;
            Ok(n)
        }
    }

    fn part(first: f32, frames: usize, block: usize) -> Box<dyn AudioStream> {
        Box::new(Counting { next: first, left: frames, block, rate: 48_000 })
    }

    #[test]
    fn chained_parts_read_as_one_signal_in_order_across_empty_parts_and_any_block_size() {
        for block in [1, 3, 64] {
            let parts = [part(0.0, 5, 2), part(100.0, 0, 2), part(5.0, 4, 3)];
            let mut chained = Chained::new(parts.into_iter().map(Ok), 48_000);
            let (mut left, mut right) = (vec![0.0; block], vec![0.0; block]);
            let mut got = Vec::new();
            loop {
                let n = chained.read(&mut left, &mut right).unwrap();
                if n == 0 {
                    break;
                }
                assert!(left[..n].iter().zip(&right[..n]).all(|(l, r)| *l == -*r));
                got.extend_from_slice(&left[..n]);
            }
            assert_eq!(got, (0..9).map(|f| f as f32).collect::<Vec<_>>(), "block {block}");
        }
    }

    #[test]
    fn a_part_that_fails_to_open_or_is_at_another_rate_fails_the_read() {
        let parts = vec![Ok(part(0.0, 2, 2)), Err("no such entry".to_owned())];
        let mut chained = Chained::new(parts.into_iter(), 48_000);
        let (mut left, mut right) = (vec![0.0; 8], vec![0.0; 8]);
        assert_eq!(chained.read(&mut left, &mut right), Ok(2));
        assert_eq!(chained.read(&mut left, &mut right), Err("no such entry".to_owned()));

        let other: Box<dyn AudioStream> =
            Box::new(Counting { next: 0.0, left: 2, block: 2, rate: 44_100 });
        let mut chained = Chained::new(vec![Ok(other)].into_iter(), 48_000);
        assert!(chained.read(&mut left, &mut right).unwrap_err().contains("44100 Hz"));
    }
}
