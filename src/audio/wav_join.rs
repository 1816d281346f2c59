//! Joining WAV streams of one format into one WAV file: the first stream's header, sized
//! for all of them, then every stream's samples in order. An album file is joined this way
//! from one encoded stream per segment, so an edit encodes only its own segment again; as
//! each segment's dither starts from rest, the joined file is the one a single encoding of
//! the whole album would write.
//!
//! The streams pass through in their writer's buffers: only a stream's header is held,
//! until its `data` chunk opens. What follows a stream's samples (a pad byte) is dropped.

use std::io::{self, Write};

/// The most header a stream may open with before its samples: room for any chunks an
/// encoder writes before `data`. More is damage.
const MAX_HEADER_BYTES: usize = 1 << 16;

/// WAV streams being joined into `out`, through [`Write`], one after another.
#[derive(Debug)]
pub struct WavJoin<W: Write> {
    out: W,
    /// The samples of every stream together, in bytes, as the caller counted them.
    total: u64,
    /// How many streams have begun.
    streams: usize,
    /// The current stream's opening, held until its `data` chunk opens; `None` after.
    header: Option<Vec<u8>>,
    /// Sample bytes of the current stream not yet passed on.
    samples_left: u64,
    /// Sample bytes of every stream passed on so far.
    joined: u64,
}

impl<W: Write> WavJoin<W> {
    /// Joins streams whose samples come to `total` bytes in all into `out`.
    pub fn new(out: W, total: u64) -> Self {
        Self { out, total, streams: 0, header: None, samples_left: 0, joined: 0 }
    }

    /// Begins the next stream.
    ///
    /// # Errors
    /// When the stream before it did not hold all its samples.
    pub fn next_stream(&mut self) -> io::Result<()> {
        self.check_complete()?;
        self.streams += 1;
        self.header = Some(Vec::new());
        Ok(())
    }

    /// Checks that the last stream was whole and the samples add up to the total, writes a
    /// pad byte after an odd number of them, and hands back the output.
    ///
    /// # Errors
    /// When a stream was cut short, or the streams held more or fewer samples than the
    /// total.
    pub fn finish(mut self) -> io::Result<W> {
        self.check_complete()?;
        if self.joined != self.total {
            return Err(damaged(format!(
                "the streams hold {} bytes of samples, not the {} their lengths add up to",
                self.joined, self.total
            )));
        }
        if self.total % 2 == 1 {
            self.out.write_all(&[0])?;
        }
        Ok(self.out)
    }

    fn check_complete(&self) -> io::Result<()> {
        if self.header.is_some() {
            return Err(damaged("a stream ends inside its header".into()));
        }
        if self.samples_left > 0 {
            return Err(damaged(format!("a stream ends {} bytes short", self.samples_left)));
        }
        Ok(())
    }

    /// Takes what `header` holds of a stream's opening: once its `data` chunk opens, writes
    /// the header (the first stream's only, sized for the whole) and returns how many of
    /// its bytes it took; `None` while more is needed.
    fn open(&mut self, header: &[u8]) -> io::Result<Option<usize>> {
        let Some(riff) = header.get(..12) else { return Ok(None) };
        if riff[..4] != *b"RIFF" || riff[8..] != *b"WAVE" {
            return Err(damaged("a stream does not open with a RIFF WAVE header".into()));
        }
        let mut at = 12;
        loop {
            let Some(chunk) = header.get(at..at + 8) else { return Ok(None) };
            let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            if chunk[..4] == *b"data" {
                self.samples_left = u64::from(size);
                if self.streams == 1 {
                    // RIFF counts what follows its own size: the rest of this header, the
                    // samples, and a pad byte after an odd number of them.
                    let too_large =
                        || damaged("the joined file passes the 4 GiB a WAV counts".into());
                    let riff = at as u64 + self.total + self.total % 2;
                    let riff_size = u32::try_from(riff).map_err(|_| too_large())?;
                    let data_size = u32::try_from(self.total).map_err(|_| too_large())?;
                    let mut opening = header[..at + 8].to_vec();
                    opening[4..8].copy_from_slice(&riff_size.to_le_bytes());
                    opening[at + 4..at + 8].copy_from_slice(&data_size.to_le_bytes());
                    self.out.write_all(&opening)?;
                }
                return Ok(Some(at + 8));
            }
            at += 8 + size as usize + (size % 2) as usize;
            if at > MAX_HEADER_BYTES {
                return Err(damaged("a stream's header runs past 64 KiB".into()));
            }
        }
    }

    /// Passes on what `bytes` holds of the current stream's samples, dropping what follows.
    fn pass(&mut self, bytes: &[u8]) -> io::Result<()> {
        let n = bytes.len().min(usize::try_from(self.samples_left).unwrap_or(usize::MAX));
        self.out.write_all(&bytes[..n])?;
        self.samples_left -= n as u64;
        self.joined += n as u64;
        Ok(())
    }
}

impl<W: Write> Write for WavJoin<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Some(mut header) = self.header.take() else {
            self.pass(bytes)?;
            return Ok(bytes.len());
        };
        header.extend_from_slice(bytes);
        match self.open(&header)? {
            Some(taken) => self.pass(&header[taken..])?,
            None => self.header = Some(header),
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn damaged(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::dither::Dither;
    use crate::audio::encode::Encoding;

    /// Segments of a loud tone: each one's frames and dither seed.
    const SEGMENTS: [(usize, u64); 3] = [(1000, 11), (777, 12), (5000, 13)];

    fn tone(frames: usize, offset: usize) -> Vec<f32> {
        (offset..offset + frames).map(|i| 0.7 * (i as f32 * 0.05).sin()).collect()
    }

    /// The file encoded whole, its dither restarted at each segment, and each segment's
    /// file encoded apart.
    fn encoded(bits: u32) -> (Vec<u8>, Vec<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let encoding = |seed| Encoding::DitheredWav { bits, dither: Dither::Tpdf, seed };
        let whole_path = dir.path().join("whole.wav");
        let mut whole = encoding(0).create(&whole_path, 44_100).unwrap();
        let mut parts = Vec::new();
        let mut offset = 0;
        for (k, (frames, seed)) in SEGMENTS.into_iter().enumerate() {
            let samples = tone(frames, offset);
            whole.restart_dither(seed);
            whole.write(&samples, &samples).unwrap();
            let path = dir.path().join(format!("part{k}.wav"));
            let mut part = encoding(seed).create(&path, 44_100).unwrap();
            part.restart_dither(seed);
            part.write(&samples, &samples).unwrap();
            part.finish().unwrap();
            parts.push(std::fs::read(path).unwrap());
            offset += frames;
        }
        whole.finish().unwrap();
        (std::fs::read(whole_path).unwrap(), parts)
    }

    fn join(parts: &[Vec<u8>], total: u64, chunk: usize) -> io::Result<Vec<u8>> {
        let mut join = WavJoin::new(Vec::new(), total);
        for part in parts {
            join.next_stream()?;
            for piece in part.chunks(chunk) {
                join.write_all(piece)?;
            }
        }
        join.finish()
    }

    fn total(bits: u32) -> u64 {
        SEGMENTS.iter().map(|(frames, _)| *frames as u64 * 2 * u64::from(bits / 8)).sum()
    }

    #[test]
    fn segments_encoded_apart_join_into_the_file_encoded_whole() {
        for bits in [16, 24] {
            let (whole, parts) = encoded(bits);
            for chunk in [1, 7, 44, 100_000] {
                let joined = join(&parts, total(bits), chunk).unwrap();
                assert!(joined == whole, "{bits}-bit, written {chunk} bytes at a time");
            }
        }
    }

    #[test]
    fn a_stream_cut_short_or_a_wrong_total_is_damage_not_a_shorter_file() {
        let (_, mut parts) = encoded(16);
        let wrong_total = join(&parts, total(16) - 4, 4096).unwrap_err();
        assert!(wrong_total.to_string().contains("not the"), "{wrong_total}");
        let cut = parts[1].len() - 40;
        parts[1].truncate(cut);
        let short = join(&parts, total(16), 4096).unwrap_err();
        assert!(short.to_string().contains("bytes short"), "{short}");
        parts[1].truncate(20);
        let in_header = join(&parts, total(16), 4096).unwrap_err();
        assert!(in_header.to_string().contains("inside its header"), "{in_header}");
    }

    #[test]
    fn a_stream_that_is_not_a_wav_is_refused() {
        let (_, mut parts) = encoded(16);
        parts[2][..4].copy_from_slice(b"fLaC");
        let error = join(&parts, total(16), 4096).unwrap_err();
        assert!(error.to_string().contains("RIFF WAVE"), "{error}");
    }
}
