//! Memory for the pieces of objects on their way to the remote, used again once a piece
//! has arrived. A piece read into memory the process has used before costs one copy. Read
//! into new memory, it costs more: the kernel first finds, zeroes and maps every page of
//! it, and a virtual machine whose host took the page back faults it in from the host.

use std::sync::Mutex;

use bytes::Bytes;

use super::lock;
use super::object_store::PIECES_SENT_IN_FLIGHT;
use super::uploads::UPLOADERS;

/// Buffers kept between pieces: as many as the uploads hold at once (each uploader's pieces
/// on their way and the one it is reading), and no more.
const SPARE: usize = UPLOADERS * (PIECES_SENT_IN_FLIGHT + 1);

#[derive(Debug, Default)]
pub struct PieceBuffers {
    spare: Mutex<Vec<Vec<u8>>>,
}

impl PieceBuffers {
    /// An empty buffer: a spare one, with the room of the piece it held, if there is one.
    pub fn take(&self) -> Vec<u8> {
        lock(&self.spare).pop().unwrap_or_default()
    }

    /// Keeps the memory under `bytes` for another piece, unless something else still holds
    /// it (a request that has not let go of its body) or enough are spare.
    pub fn give_back(&self, bytes: Bytes) {
        let Ok(buffer) = bytes.try_into_mut() else { return };
        let mut buffer = Vec::from(buffer);
        buffer.clear();
        let mut spare = lock(&self.spare);
        if spare.len() < SPARE {
            spare.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_empty_with_its_memory() {
        let buffers = PieceBuffers::default();
        let mut first = buffers.take();
        first.extend_from_slice(&[7; 1000]);
        let (address, room) = (first.as_ptr(), first.capacity());
        buffers.give_back(Bytes::from(first));
        let again = buffers.take();
        assert!(again.is_empty());
        assert_eq!((again.as_ptr(), again.capacity()), (address, room));
        assert_eq!(buffers.take().capacity(), 0, "only one was given back");
    }

    #[test]
    fn a_buffer_still_held_elsewhere_is_not_kept() {
        let buffers = PieceBuffers::default();
        let bytes = Bytes::from(vec![1u8; 100]);
        let held = bytes.clone();
        buffers.give_back(bytes);
        assert_eq!(buffers.take().capacity(), 0);
        assert_eq!(held[99], 1, "the holder's bytes are untouched");
    }

    #[test]
    fn no_more_than_spare_are_kept() {
        let buffers = PieceBuffers::default();
        for _ in 0..SPARE + 3 {
            buffers.give_back(Bytes::from(vec![0u8; 10]));
        }
        let kept = std::iter::from_fn(|| Some(buffers.take()))
            .take_while(|buffer| buffer.capacity() > 0)
            .count();
        assert_eq!(kept, SPARE);
    }
}
