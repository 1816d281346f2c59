//! Handing a node's audio straight to the node that reads it while both run, so that the
//! end of a render (reverb bus → master → output, or one bus after a fader move) works as a
//! pipeline instead of one node after another, and a segment of a WAV album file goes
//! straight into its encode.
//!
//! The producer still writes its own cache entry, unless its reader holds its audio (a
//! plain master streaming into the output file, a segment into its encoded stream:
//! `RenderGraph::streams_without_entry`). The reader gets exactly the frames it would have
//! read from that entry, in the same order, so its output is the same bytes either way;
//! only the time it can start changes.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use petgraph::graph::NodeIndex;

use super::NodeError;
use super::inputs::{Lent, Spare, Stream, lend_by_copy};

/// Blocks in flight between the two nodes: enough to ride out uneven block times, a few
/// hundred kilobytes of memory.
const DEPTH: usize = 16;

/// What the producer sends, in this order: lengths, blocks, end.
enum Message {
    /// The producer's total frames and where its source material ends, known before its
    /// first block.
    Lengths { frames: u64, content_frames: u64 },
    /// The next frames, left and right.
    Block(Vec<f32>, Vec<f32>),
    /// The frames up to and including the last audible one, known once all are written.
    End { audible_frames: u64 },
}

/// How a node runs alongside the others: its pipes when it runs in a pipeline (the
/// producer it reads, and the reader it feeds; a node outside any pipeline has neither),
/// and whether it has the machine to itself.
#[derive(Default)]
pub struct Link {
    /// The input that arrives through a pipe, and that pipe.
    pub from: Option<(NodeIndex, PipeReceiver)>,
    /// The pipe to the node that reads this one.
    pub to: Option<PipeSender>,
    /// Nothing else was running or waiting when the node started, so it may split its
    /// chain over two threads.
    pub alone: bool,
}

/// Makes a connected pair.
pub fn pipe() -> (PipeSender, PipeReceiver) {
    let (sender, receiver) = sync_channel(DEPTH);
    (PipeSender { sender: Some(sender) }, PipeReceiver { receiver })
}

/// The producer's end. Sending never fails: when the reader has given up (it failed and
/// dropped its end, which also wakes a producer blocked on a full pipe), the producer
/// carries on alone, since its cache entry is still worth finishing.
pub struct PipeSender {
    sender: Option<SyncSender<Message>>,
}

impl PipeSender {
    /// Announces the lengths; call once, before the first block.
    pub fn lengths(&mut self, frames: u64, content_frames: u64) {
        self.send(Message::Lengths { frames, content_frames });
    }

    /// Sends a copy of the next frames.
    pub fn block(&mut self, left: &[f32], right: &[f32]) {
        if self.sender.is_some() {
            self.send(Message::Block(left.to_vec(), right.to_vec()));
        }
    }

    /// Announces the audible length; the last message.
    pub fn end(&mut self, audible_frames: u64) {
        self.send(Message::End { audible_frames });
    }

    fn send(&mut self, message: Message) {
        if let Some(sender) = &self.sender
            && sender.send(message).is_err()
        {
            self.sender = None;
        }
    }
}

/// The reader's end, before the producer has started.
pub struct PipeReceiver {
    receiver: Receiver<Message>,
}

impl PipeReceiver {
    /// Waits for the producer's lengths and returns the stream of its frames.
    ///
    /// # Errors
    /// [`NodeError::Interrupted`] when the producer failed before it began.
    pub fn open(self) -> Result<PipeStream, NodeError> {
        match self.receiver.recv() {
            Ok(Message::Lengths { frames, content_frames }) => Ok(PipeStream {
                receiver: self.receiver,
                frames,
                content_frames,
                audible_frames: None,
                block: (Vec::new(), Vec::new()),
                position: 0,
            }),
            _ => Err(NodeError::Interrupted),
        }
    }
}

/// A producer's frames as they arrive.
pub struct PipeStream {
    receiver: Receiver<Message>,
    frames: u64,
    content_frames: u64,
    audible_frames: Option<u64>,
    block: (Vec<f32>, Vec<f32>),
    /// Frames of `block` already returned.
    position: usize,
}

impl PipeStream {
    /// Receives the next block once the current one is used up; false when the producer
    /// has sent everything.
    fn refill(&mut self) -> Result<bool, NodeError> {
        while self.position == self.block.0.len() {
            if self.audible_frames.is_some() {
                return Ok(false);
            }
            match self.receiver.recv() {
                Ok(Message::Block(l, r)) => (self.block, self.position) = ((l, r), 0),
                Ok(Message::End { audible_frames }) => self.audible_frames = Some(audible_frames),
                Ok(Message::Lengths { .. }) | Err(_) => return Err(NodeError::Interrupted),
            }
        }
        Ok(true)
    }
}

impl Stream for PipeStream {
    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, NodeError> {
        let want = left.len().min(right.len());
        let mut done = 0;
        while done < want {
            match self.refill() {
                Ok(true) => {}
                Ok(false) => break,
                // Frames already copied are good; the next read reports the failure.
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            }
            let n = (self.block.0.len() - self.position).min(want - done);
            let span = self.position..self.position + n;
            left[done..done + n].copy_from_slice(&self.block.0[span.clone()]);
            right[done..done + n].copy_from_slice(&self.block.1[span]);
            self.position += n;
            done += n;
        }
        Ok(done)
    }

    fn lend<'a>(&'a mut self, n: usize, spare: &'a mut Spare) -> Result<Lent<'a>, NodeError> {
        if self.refill()? && self.block.0.len() - self.position >= n {
            let span = self.position..self.position + n;
            self.position += n;
            return Ok(Lent {
                left: &self.block.0[span.clone()],
                right: &self.block.1[span],
                filled: n,
            });
        }
        lend_by_copy(self, n, spare)
    }

    fn frames(&self) -> Option<u64> {
        Some(self.frames)
    }

    fn content_frames(&self) -> Option<u64> {
        Some(self.content_frames)
    }

    fn audible_frames(&self) -> Option<u64> {
        self.audible_frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(from: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
        (
            (from..from + n).map(|i| i as f32).collect(),
            (from..from + n).map(|i| -(i as f32)).collect(),
        )
    }

    #[test]
    fn the_reader_gets_every_frame_in_order_whatever_its_read_size() {
        for read_size in [1, 700, 4096, 10_000] {
            let (mut sender, receiver) = pipe();
            let producer = std::thread::spawn(move || {
                sender.lengths(9000, 8000);
                for (from, n) in [(0, 4096), (4096, 4096), (8192, 808)] {
                    let (l, r) = ramp(from, n);
                    sender.block(&l, &r);
                }
                sender.end(8500);
            });
            let mut stream = receiver.open().unwrap();
            assert_eq!((stream.frames(), stream.content_frames()), (Some(9000), Some(8000)));
            let (mut left, mut right) = (Vec::new(), Vec::new());
            let (mut l, mut r) = (vec![0.0; read_size], vec![0.0; read_size]);
            loop {
                let n = stream.read(&mut l, &mut r).unwrap();
                if n == 0 {
                    break;
                }
                left.extend_from_slice(&l[..n]);
                right.extend_from_slice(&r[..n]);
            }
            producer.join().unwrap();
            assert_eq!((left, right), ramp(0, 9000), "read size {read_size}");
            assert_eq!(stream.audible_frames(), Some(8500));
        }
    }

    #[test]
    fn lending_gives_every_frame_in_order_whether_or_not_blocks_line_up() {
        for blocks in [[4096, 4096, 808], [3000, 4096, 1904]] {
            let (mut sender, receiver) = pipe();
            let producer = std::thread::spawn(move || {
                sender.lengths(9000, 9000);
                let mut from = 0;
                for n in blocks {
                    let (l, r) = ramp(from, n);
                    sender.block(&l, &r);
                    from += n;
                }
                sender.end(9000);
            });
            let mut stream = receiver.open().unwrap();
            let mut spare = [vec![0.0; 4096], vec![0.0; 4096]];
            let (mut left, mut right) = (Vec::new(), Vec::new());
            loop {
                let lent = stream.lend(4096, &mut spare).unwrap();
                if lent.filled == 0 {
                    break;
                }
                left.extend_from_slice(&lent.left[..lent.filled]);
                right.extend_from_slice(&lent.right[..lent.filled]);
                assert!(lent.left[lent.filled..].iter().all(|&x| x == 0.0), "zeros past the end");
            }
            producer.join().unwrap();
            assert_eq!((left, right), ramp(0, 9000), "blocks {blocks:?}");
        }
    }

    #[test]
    fn a_producer_that_fails_interrupts_its_reader() {
        let (sender, receiver) = pipe();
        drop(sender);
        assert!(matches!(receiver.open(), Err(NodeError::Interrupted)));

        let (mut sender, receiver) = pipe();
        sender.lengths(100, 100);
        sender.block(&[0.5; 10], &[0.5; 10]);
        drop(sender);
        let mut stream = receiver.open().unwrap();
        let (mut l, mut r) = ([0.0; 64], [0.0; 64]);
        assert_eq!(stream.read(&mut l, &mut r).unwrap(), 10);
        assert!(matches!(stream.read(&mut l, &mut r), Err(NodeError::Interrupted)));
    }

    #[test]
    fn a_producer_carries_on_when_its_reader_gives_up() {
        let (mut sender, receiver) = pipe();
        drop(receiver);
        sender.lengths(1, 1);
        // Far more blocks than the pipe holds: none of them may block.
        for _ in 0..10 * DEPTH {
            sender.block(&[0.0; 8], &[0.0; 8]);
        }
        sender.end(1);
    }
}
