//! A WAV file's header, checked before the decoder sees it.
//!
//! symphonia trusts a WAV header's sizes: a chunk that claims 4 GB is allocated as such,
//! and a data chunk that claims more than the file holds is only found when the stream
//! runs dry, at render time. Walking the chunk headers here costs a few small reads and
//! refuses, before anything is allocated by them, a chunk larger than the file, a block
//! alignment that does not fit the sample format, and a data chunk cut short: the last is
//! how `check` finds a truncated WAV without decoding it.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};

use super::read_all;

/// What a WAV header declares, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavHeader {
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Bytes per frame.
    pub block_align: u16,
    /// Frames the data chunk declares.
    pub declared_frames: u64,
    /// Whole frames the file actually holds after the data chunk's start.
    pub present_frames: u64,
}

/// Why a WAV header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderFault {
    /// The header is malformed; says how.
    Malformed(String),
    /// The data chunk declares more frames than the file holds.
    Truncated {
        /// Frames declared.
        declared: u64,
        /// Frames present.
        present: u64,
    },
}

/// Sizes ffmpeg and recorders write when they stream a WAV of unknown length.
const UNKNOWN_LENGTH: u32 = u32::MAX;

/// Reads and checks the header of the WAV file `file` (which must be at its start), and
/// leaves the file at its start.
///
/// # Errors
/// The outer error when the file cannot be read; the inner one when the header is refused.
pub fn read_header(file: &mut File) -> io::Result<Result<WavHeader, HeaderFault>> {
    let file_len = file.metadata()?.len();
    let header = walk(file, file_len);
    file.rewind()?;
    header
}

fn malformed(reason: impl Into<String>) -> Result<WavHeader, HeaderFault> {
    Err(HeaderFault::Malformed(reason.into()))
}

fn walk(file: &mut File, file_len: u64) -> io::Result<Result<WavHeader, HeaderFault>> {
    let mut riff = [0u8; 12];
    if !read_all(file, &mut riff)? {
        return Ok(malformed("the file ends inside its RIFF header"));
    }
    let mut format: Option<(u16, u16, u32, u16, u16)> = None;
    let mut pos = 12_u64;
    loop {
        let mut chunk = [0u8; 8];
        if !read_all(file, &mut chunk)? {
            return Ok(malformed("the file has no data chunk"));
        }
        pos += 8;
        let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        let remaining = file_len.saturating_sub(pos);
        if &chunk[0..4] == b"data" {
            let Some((tag, channels, sample_rate, block_align, bits)) = format else {
                return Ok(malformed("the data chunk comes before the fmt chunk"));
            };
            if let Some(fault) = check_format(tag, channels, block_align, bits) {
                return Ok(Err(fault));
            }
            let frame = u64::from(block_align);
            let present_frames = remaining / frame;
            let declared_frames =
                if len == UNKNOWN_LENGTH { present_frames } else { u64::from(len) / frame };
            if declared_frames > present_frames {
                return Ok(Err(HeaderFault::Truncated {
                    declared: declared_frames,
                    present: present_frames,
                }));
            }
            return Ok(Ok(WavHeader {
                sample_rate,
                channels,
                block_align,
                declared_frames,
                present_frames,
            }));
        }
        if u64::from(len) > remaining {
            let id = String::from_utf8_lossy(&chunk[0..4]).into_owned();
            return Ok(malformed(format!(
                "its `{id}` chunk claims {len} bytes, more than the {remaining} left in the file"
            )));
        }
        if &chunk[0..4] == b"fmt " {
            if len < 16 {
                return Ok(malformed("its fmt chunk is too short"));
            }
            let mut fmt = [0u8; 16];
            if !read_all(file, &mut fmt)? {
                return Ok(malformed("the file ends inside its fmt chunk"));
            }
            let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
            let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
            format = Some((u16_at(0), u16_at(2), rate, u16_at(12), u16_at(14)));
            file.seek(SeekFrom::Current(i64::from(len) - 16))?;
        } else {
            file.seek(SeekFrom::Current(i64::from(len)))?;
        }
        // Chunks are padded to an even length.
        let padded = u64::from(len) + u64::from(len % 2);
        if len % 2 == 1 {
            file.seek(SeekFrom::Current(1))?;
        }
        pos += padded;
    }
}

/// For the plain sample formats (integer PCM, float, and the extensible form of either),
/// the block alignment must be exactly one frame: a larger one would make every packet
/// that many times larger and spread garbage between the samples.
fn check_format(tag: u16, channels: u16, block_align: u16, bits: u16) -> Option<HeaderFault> {
    const PCM: u16 = 1;
    const FLOAT: u16 = 3;
    const EXTENSIBLE: u16 = 0xFFFE;
    if channels == 0 {
        return Some(HeaderFault::Malformed("its header declares no channels".to_owned()));
    }
    if block_align == 0 {
        return Some(HeaderFault::Malformed("its header declares frames of 0 bytes".to_owned()));
    }
    let plain = matches!(tag, PCM | FLOAT | EXTENSIBLE) && bits.is_multiple_of(8);
    let frame = u32::from(channels) * u32::from(bits / 8);
    if plain && u32::from(block_align) != frame {
        return Some(HeaderFault::Malformed(format!(
            "its header declares {block_align}-byte frames for {channels} channels of {bits} bits"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV file: RIFF header, the given chunks, then a data chunk declaring `data_len`
    /// bytes followed by `data`.
    pub(crate) fn wav_bytes(
        fmt: &[u8],
        extra: &[(&[u8; 4], &[u8])],
        data_len: u32,
        data: &[u8],
    ) -> Vec<u8> {
        let mut b = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        b.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        b.extend_from_slice(fmt);
        for (id, body) in extra {
            b.extend_from_slice(*id);
            b.extend_from_slice(&(body.len() as u32).to_le_bytes());
            b.extend_from_slice(body);
        }
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data_len.to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    fn fmt(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&tag.to_le_bytes());
        f.extend_from_slice(&channels.to_le_bytes());
        f.extend_from_slice(&rate.to_le_bytes());
        f.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        f.extend_from_slice(&block_align.to_le_bytes());
        f.extend_from_slice(&bits.to_le_bytes());
        f
    }

    fn header_of(bytes: &[u8]) -> Result<WavHeader, HeaderFault> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        std::fs::write(&path, bytes).unwrap();
        let mut file = File::open(&path).unwrap();
        let header = read_header(&mut file).unwrap();
        assert_eq!(file.stream_position().unwrap(), 0, "the file is left at its start");
        header
    }

    #[test]
    fn a_sound_header_declares_its_rate_channels_and_frames() {
        let bytes = wav_bytes(&fmt(1, 2, 44_100, 4, 16), &[(b"LIST", b"abc\0")], 40, &[0; 40]);
        let header = header_of(&bytes).unwrap();
        assert_eq!(
            header,
            WavHeader {
                sample_rate: 44_100,
                channels: 2,
                block_align: 4,
                declared_frames: 10,
                present_frames: 10
            }
        );
    }

    #[test]
    fn a_data_chunk_longer_than_the_file_is_truncated() {
        let bytes = wav_bytes(&fmt(1, 1, 48_000, 2, 16), &[], 2000, &[0; 600]);
        assert_eq!(header_of(&bytes), Err(HeaderFault::Truncated { declared: 1000, present: 300 }));
    }

    #[test]
    fn a_streamed_wav_of_unknown_length_holds_what_the_file_holds() {
        let bytes = wav_bytes(&fmt(1, 1, 48_000, 2, 16), &[], u32::MAX, &[0; 600]);
        assert_eq!(header_of(&bytes).unwrap().declared_frames, 300);
    }

    #[test]
    fn a_chunk_claiming_more_bytes_than_the_file_holds_is_refused() {
        let mut bytes = wav_bytes(&fmt(1, 1, 48_000, 2, 16), &[(b"LIST", b"INFO")], 4, &[0; 4]);
        // The LIST chunk's length field, after RIFF header (12) and fmt chunk (8 + 16).
        bytes[40..44].copy_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());
        let fault = header_of(&bytes).unwrap_err();
        assert!(
            matches!(&fault, HeaderFault::Malformed(m) if m.contains("`LIST` chunk")),
            "{fault:?}"
        );
    }

    #[test]
    fn a_block_alignment_that_is_not_one_frame_is_refused() {
        let bytes = wav_bytes(&fmt(1, 2, 48_000, 65_535, 16), &[], 4, &[0; 4]);
        assert!(matches!(header_of(&bytes), Err(HeaderFault::Malformed(_))));
        let bytes = wav_bytes(&fmt(1, 0, 48_000, 4, 16), &[], 4, &[0; 4]);
        assert!(matches!(header_of(&bytes), Err(HeaderFault::Malformed(_))));
    }

    #[test]
    fn a_file_without_a_data_chunk_is_malformed() {
        let mut bytes = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        bytes.extend_from_slice(&16_u32.to_le_bytes());
        bytes.extend_from_slice(&fmt(1, 1, 48_000, 2, 16));
        assert!(matches!(header_of(&bytes), Err(HeaderFault::Malformed(_))));
    }
}
