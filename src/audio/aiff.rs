//! The frame count an AIFF or AIFC file declares in its `COMM` chunk.
//!
//! symphonia 0.5 takes an AIFF stream's length from the size of its `SSND` chunk, which
//! counts the chunk's 8-byte offset and block-size fields too. So it expects a few frames
//! more than the file holds (4 for 16-bit mono), and a file with a chunk after the sound
//! data (an ID3 tag, say) would have 8 bytes of that chunk decoded as audio. The `COMM`
//! chunk's count is the length the format defines, and the decoder holds the stream to it.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};

use super::read_all;

/// `numSampleFrames` from the `COMM` chunk when `file` is an AIFF or AIFC file; `None` for
/// any other file, or one whose `COMM` chunk cannot be found (symphonia then rejects it).
/// The file is left at its start, ready for the decoder.
///
/// # Errors
/// When the file cannot be read.
pub fn declared_frames(file: &mut File) -> io::Result<Option<u64>> {
    let frames = find_comm_frames(file);
    file.rewind()?;
    frames
}

fn find_comm_frames(file: &mut File) -> io::Result<Option<u64>> {
    let mut form = [0u8; 12];
    if !read_all(file, &mut form)?
        || &form[0..4] != b"FORM"
        || !matches!(&form[8..12], b"AIFF" | b"AIFC")
    {
        return Ok(None);
    }
    loop {
        let mut header = [0u8; 8];
        if !read_all(file, &mut header)? {
            return Ok(None);
        }
        let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if &header[0..4] == b"COMM" {
            // Channels (2 bytes), then the frame count (4 bytes).
            let mut comm = [0u8; 6];
            return Ok(read_all(file, &mut comm)?
                .then(|| u64::from(u32::from_be_bytes([comm[2], comm[3], comm[4], comm[5]]))));
        }
        // Chunks are padded to an even length.
        file.seek(SeekFrom::Current(i64::from(size) + i64::from(size % 2)))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Source;
    use crate::audio::decode::Decoder;

    /// A 16-bit mono AIFF of `samples` at 48 kHz, with an ID3 chunk after the sound data.
    fn aiff_with_trailing_chunk(samples: &[i16]) -> Vec<u8> {
        let mut comm = Vec::new();
        comm.extend_from_slice(&1u16.to_be_bytes());
        comm.extend_from_slice(&(samples.len() as u32).to_be_bytes());
        comm.extend_from_slice(&16u16.to_be_bytes());
        // 48000 as an 80-bit extended float: exponent 16383 + 15, mantissa 48000 << 48.
        comm.extend_from_slice(&[0x40, 0x0E, 0xBB, 0x80, 0, 0, 0, 0, 0, 0]);
        let mut ssnd = vec![0u8; 8];
        for s in samples {
            ssnd.extend_from_slice(&s.to_be_bytes());
        }
        let id3 = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
        let mut body = b"AIFF".to_vec();
        for (id, data) in [(b"COMM", comm), (b"SSND", ssnd), (b"ID3 ", id3)] {
            body.extend_from_slice(id);
            body.extend_from_slice(&(data.len() as u32).to_be_bytes());
            body.extend_from_slice(&data);
        }
        let mut file = b"FORM".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_be_bytes());
        file.extend_from_slice(&body);
        file
    }

    #[test]
    fn an_aiff_decodes_to_exactly_the_frames_its_comm_chunk_declares() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.aiff");
        let samples: Vec<i16> = (0..1000).map(|i| ((i * 37) % 2000 - 1000) as i16).collect();
        std::fs::write(&path, aiff_with_trailing_chunk(&samples)).unwrap();
        assert_eq!(declared_frames(&mut File::open(&path).unwrap()).unwrap(), Some(1000));
        let mut decoder = Decoder::open(&path).unwrap();
        assert_eq!(decoder.frames(), Some(1000));
        let (mut left, mut right) = (vec![0.0; 2048], vec![0.0; 2048]);
        let mut got = Vec::new();
        loop {
            let n = decoder.read(&mut left, &mut right).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&left[..n]);
        }
        let expected: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32_768.0).collect();
        assert_eq!(got, expected, "no frame of the ID3 chunk is taken for audio");
    }

    #[test]
    fn other_files_declare_nothing_here() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        std::fs::write(&path, b"RIFF\x04\x00\x00\x00WAVE").unwrap();
        assert_eq!(declared_frames(&mut File::open(&path).unwrap()).unwrap(), None);
        std::fs::write(&path, b"FORM").unwrap();
        assert_eq!(declared_frames(&mut File::open(&path).unwrap()).unwrap(), None);
    }
}
