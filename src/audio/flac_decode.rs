//! Reading native FLAC streams, frame after frame, through claxon.
//!
//! Why claxon and not symphonia's FLAC reader: symphonia finds frames by scanning for sync
//! codes and guessing where a frame ends from checksums and the sizes of recent frames, and
//! drops what its guesses reject: a frame larger than 16 MiB, or one whose samples hold
//! more look-alike frame headers than it keeps pieces for, is lost from a stream that
//! `flac --test` passes. claxon reads each frame from its header to its CRC-16 footer, so a
//! valid stream decodes whole and a damaged one is an error at the frame that is damaged.
//!
//! What claxon does not check is checked here: the MD5 of the samples (when the encoder
//! wrote one), a frame that changes the channel count, and a stream that ends inside a
//! frame or before its declared length. Reading stops at the length STREAMINFO declares,
//! so bytes after the last frame (a stray `ID3v1` tag) are not taken for audio. Buffers are
//! sized by a frame's own header, which FLAC caps at 65 535 frames of 8 channels.
//!
//! Only the bit depths a frame header can name (8, 12, 16, 20 and 24 bits) are read: any
//! other depth leaves each frame's depth to STREAMINFO, which claxon does not follow, and
//! no DAW exports one. Such a file is refused at open, with the fix.
//!
//! This module knows nothing of paths or files: [`super::decode`] opens the file, hashes
//! what is read, and turns a [`FlacFault`] into the file's error. It is the only file that
//! names claxon or md-5.

use std::io::{self, Read};

use claxon::{Block, FlacReader};
use md5::{Digest, Md5};

/// Bit depths that FLAC frame headers name, and so the ones read.
const NAMED_DEPTHS: [u32; 5] = [8, 12, 16, 20, 24];

/// What STREAMINFO says of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlacInfo {
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels in every frame.
    pub channels: usize,
    /// Bits per sample.
    pub bits: u32,
    /// Frames in the stream, when the encoder wrote it.
    pub frames: Option<u64>,
}

/// Why a FLAC stream could not be read.
#[derive(Debug)]
pub enum FlacFault {
    /// Reading the bytes failed.
    Read(io::Error),
    /// The stream ends inside a frame or its header, or before its declared length.
    EndsEarly,
    /// The stream is malformed, or fails one of its checksums.
    Corrupt(String),
    /// The stream is valid FLAC that this reader does not read.
    Unsupported(String),
}

/// A FLAC stream being decoded, one frame at a time.
pub struct FlacStream<R: Read> {
    reader: FlacReader<R>,
    info: FlacInfo,
    /// The last frame decoded, channel after channel; empty before the first.
    block: Block,
    /// Frames decoded so far.
    decoded: u64,
    /// The running MD5 of the samples and the one STREAMINFO holds, when it holds one.
    md5: Option<(Md5, [u8; 16])>,
    /// The current frame's samples as the MD5 reads them.
    md5_bytes: Vec<u8>,
}

impl<R: Read> FlacStream<R> {
    /// Reads the stream header and every metadata block, leaving `source` at the first
    /// frame.
    ///
    /// # Errors
    /// When the stream is not FLAC, its metadata is malformed or cut short, or its samples
    /// have a depth that frame headers cannot name.
    pub fn open(source: R) -> Result<Self, FlacFault> {
        let reader = FlacReader::new(source).map_err(fault)?;
        let streaminfo = reader.streaminfo();
        let info = FlacInfo {
            sample_rate: streaminfo.sample_rate,
            channels: streaminfo.channels as usize,
            bits: streaminfo.bits_per_sample,
            frames: streaminfo.samples,
        };
        if !NAMED_DEPTHS.contains(&info.bits) {
            return Err(FlacFault::Unsupported(format!(
                "FLAC of {} bits per sample is not read (8, 12, 16, 20 and 24 bits are); \
                 convert it to 24-bit FLAC or WAV",
                info.bits
            )));
        }
        // An MD5 of zeros means the encoder did not compute one.
        let md5 = (streaminfo.md5sum != [0; 16]).then(|| (Md5::new(), streaminfo.md5sum));
        Ok(Self { reader, info, block: Block::empty(), decoded: 0, md5, md5_bytes: Vec::new() })
    }

    /// What the stream's STREAMINFO says.
    pub fn info(&self) -> FlacInfo {
        self.info
    }

    /// Decodes the next frame and returns how many of its frames belong to the stream; 0
    /// at the end of the stream, once its length and MD5 have been checked.
    ///
    /// # Errors
    /// When the frame is damaged, the stream ends inside it, it changes the channel count,
    /// or, at the end, the stream is shorter than declared or fails its MD5.
    pub fn next_block(&mut self) -> Result<usize, FlacFault> {
        if self.info.frames.is_some_and(|declared| self.decoded >= declared) {
            return self.end();
        }
        let buffer = std::mem::replace(&mut self.block, Block::empty()).into_buffer();
        let Some(block) = self.reader.blocks().read_next_or_eof(buffer).map_err(fault)? else {
            return self.end();
        };
        if block.channels() as usize != self.info.channels {
            return Err(FlacFault::Corrupt(format!(
                "a frame holds {} channels where the stream has {}",
                block.channels(),
                self.info.channels
            )));
        }
        self.block = block;
        let mut frames = self.block.duration() as usize;
        if let Some(declared) = self.info.frames {
            let left = usize::try_from(declared - self.decoded).unwrap_or(usize::MAX);
            frames = frames.min(left);
        }
        self.hash(frames);
        self.decoded += frames as u64;
        Ok(frames)
    }

    /// Writes the first `out.len()` samples of `channel` of the frame just decoded, as
    /// fractions of full scale: exactly, as the scale is a power of two and a sample of 24
    /// bits or fewer is an `f32`.
    pub fn read_channel(&self, channel: usize, out: &mut [f32]) {
        let scale = 1.0 / (1u32 << (self.info.bits - 1)) as f32;
        let samples = self.block.channel(channel as u32);
        for (o, &s) in out.iter_mut().zip(samples) {
            *o = s as f32 * scale;
        }
    }

    /// Frames decoded so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Adds the first `frames` frames of the current block to the running MD5 as FLAC
    /// defines it: each sample little-endian in whole bytes, channels interleaved.
    fn hash(&mut self, frames: usize) {
        let Some((md5, _)) = &mut self.md5 else { return };
        let width = self.info.bits.div_ceil(8) as usize;
        let channels: Vec<&[i32]> =
            (0..self.info.channels).map(|c| self.block.channel(c as u32)).collect();
        self.md5_bytes.clear();
        for i in 0..frames {
            for samples in &channels {
                self.md5_bytes.extend_from_slice(&samples[i].to_le_bytes()[..width]);
            }
        }
        md5.update(&self.md5_bytes);
    }

    /// Checks the stream's length and MD5 once every frame is read.
    fn end(&mut self) -> Result<usize, FlacFault> {
        if self.info.frames.is_some_and(|declared| self.decoded < declared) {
            return Err(FlacFault::EndsEarly);
        }
        if let Some((md5, expected)) = self.md5.take()
            && md5.finalize()[..] != expected[..]
        {
            return Err(FlacFault::Corrupt(
                "the decoded audio fails the file's own checksum".to_owned(),
            ));
        }
        Ok(0)
    }
}

/// claxon's error in our terms.
fn fault(e: claxon::Error) -> FlacFault {
    match e {
        claxon::Error::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            FlacFault::EndsEarly
        }
        claxon::Error::IoError(e) => FlacFault::Read(e),
        claxon::Error::FormatError(reason) => {
            FlacFault::Corrupt(format!("malformed FLAC: {reason}"))
        }
        claxon::Error::Unsupported(feature) => {
            FlacFault::Unsupported(format!("uses a FLAC feature this reader lacks ({feature})"))
        }
    }
}
