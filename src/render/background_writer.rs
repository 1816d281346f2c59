//! Writing a node's cache entry on a thread of its own: while one block is checksummed and
//! copied into the file, the node already reads and processes the next. Blocks stay in
//! order, so the entry is the same byte for byte; only the waiting overlaps.

use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use super::NodeError;
use crate::cache::store::EntryWriter;
use crate::dsp::BLOCK_FRAMES;

/// Blocks in flight between the node and the writing thread.
const BLOCKS_IN_FLIGHT: usize = 2;

struct Block {
    left: Vec<f32>,
    right: Vec<f32>,
    frames: usize,
}

/// An [`EntryWriter`] fed from another thread.
pub struct BackgroundWriter {
    full: Option<SyncSender<Block>>,
    empty: Receiver<Block>,
    thread: Option<JoinHandle<std::io::Result<EntryWriter>>>,
}

impl BackgroundWriter {
    /// Starts the writing thread for `writer`.
    pub fn start(mut writer: EntryWriter) -> Self {
        let (full, incoming) = sync_channel::<Block>(BLOCKS_IN_FLIGHT);
        let (recycle, empty) = channel::<Block>();
        for _ in 0..BLOCKS_IN_FLIGHT {
            let block =
                Block { left: vec![0.0; BLOCK_FRAMES], right: vec![0.0; BLOCK_FRAMES], frames: 0 };
            let _ = recycle.send(block);
        }
        let thread = std::thread::spawn(move || {
            for block in incoming {
                writer.write(&block.left[..block.frames], &block.right[..block.frames])?;
                // The node may already have finished and stopped taking blocks back.
                let _ = recycle.send(block);
            }
            Ok(writer)
        });
        Self { full: Some(full), empty, thread: Some(thread) }
    }

    /// Queues a block (at most [`BLOCK_FRAMES`] frames) for writing.
    ///
    /// # Errors
    /// When the writing thread failed on an earlier block.
    pub fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), NodeError> {
        let Ok(mut block) = self.empty.recv() else { return Err(self.stop()) };
        block.left[..left.len()].copy_from_slice(left);
        block.right[..right.len()].copy_from_slice(right);
        block.frames = left.len();
        let sent = self.full.as_ref().is_some_and(|full| full.send(block).is_ok());
        if sent { Ok(()) } else { Err(self.stop()) }
    }

    /// Waits for every block to be written and hands the writer back to be sealed.
    ///
    /// # Errors
    /// When a write failed.
    pub fn finish(mut self) -> Result<EntryWriter, NodeError> {
        self.full = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(writer))) => Ok(writer),
            Some(Ok(Err(e))) => Err(NodeError::CacheWrite(e)),
            _ => Err(NodeError::CacheWrite(std::io::Error::other("the cache writer stopped"))),
        }
    }

    /// The error that stopped the writing thread.
    fn stop(&mut self) -> NodeError {
        self.full = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => NodeError::CacheWrite(e),
            _ => NodeError::CacheWrite(std::io::Error::other("the cache writer stopped")),
        }
    }
}

impl Drop for BackgroundWriter {
    /// A node that fails part way drops its writer: the thread ends, and so does the
    /// unfinished entry, whose temporary file the store removes.
    fn drop(&mut self) {
        self.full = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
