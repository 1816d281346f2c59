//! Decoding the files a chain's steps read (impulse responses), at the render rate, so
//! that the chain can be built with their audio in hand. Each file is decoded against the
//! digest its step was lowered with, so a file rewritten since then fails the node instead
//! of rendering audio its key does not describe.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::NodeError;
use super::inputs::open_decoder;
use crate::audio::ExpectedContent;
use crate::audio::Source;
use crate::audio::resample::Resampled;
use crate::dsp::{Audio, BLOCK_FRAMES};
use crate::ir::ResolvedFile;
use crate::ir::step::{DecodedFiles, Step};

/// The decoded audio of every file a chain reads, by the path its steps resolved.
#[derive(Debug, Default)]
pub struct ChainFiles(BTreeMap<PathBuf, Arc<Audio>>);

impl DecodedFiles for ChainFiles {
    fn audio(&self, file: &ResolvedFile) -> Option<Arc<Audio>> {
        self.0.get(&file.path).cloned()
    }
}

/// Decodes every file `chain` reads (resampled to `rate`), each once.
///
/// # Errors
/// When a file cannot be decoded, or its bytes are no longer those it was resolved with.
pub fn decode_chain_files(chain: &[Step], rate: u32) -> Result<ChainFiles, NodeError> {
    let mut files = BTreeMap::new();
    for file in chain.iter().flat_map(Step::files) {
        if let std::collections::btree_map::Entry::Vacant(slot) = files.entry(file.path.clone()) {
            slot.insert(Arc::new(decode(file, rate)?));
        }
    }
    Ok(ChainFiles(files))
}

fn decode(file: &ResolvedFile, rate: u32) -> Result<Audio, crate::audio::AudioError> {
    let expected = ExpectedContent { digest: file.content.0, hashed_as: None };
    let decoder = open_decoder(&file.path, Some(expected))?;
    let mut source: Box<dyn Source> = if decoder.sample_rate() == rate {
        Box::new(decoder)
    } else {
        Box::new(Resampled::new(decoder, rate)?)
    };
    let mut audio = Audio::default();
    let (mut l, mut r) = (vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]);
    loop {
        let n = source.read(&mut l, &mut r)?;
        if n == 0 {
            return Ok(audio);
        }
        audio.left.extend_from_slice(&l[..n]);
        audio.right.extend_from_slice(&r[..n]);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::audio::wav::{WavFormat, WavWriter};
    use crate::ir::ContentDigest;

    fn write_ir(path: &Path, taps: &[f32]) -> ContentDigest {
        let mut writer = WavWriter::create(path, 48_000, WavFormat::Float32).unwrap();
        writer.write(taps, taps).unwrap();
        writer.finish().unwrap();
        ContentDigest(*blake3::hash(&std::fs::read(path).unwrap()).as_bytes())
    }

    fn chain_reading(file: &ResolvedFile) -> Vec<Step> {
        let raw = serde_json::from_str(r#"{ "convolution": { "ir": "plate.wav" } }"#).unwrap();
        vec![Step::lower(&raw, "chain[0]", &mut |_, _| file.clone())]
    }

    #[test]
    fn a_steps_file_is_decoded_once_with_the_bytes_it_was_resolved_with() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plate.wav");
        let content = write_ir(&path, &[0.5, 0.25]);
        let file = ResolvedFile { path, content };
        let mut chain = chain_reading(&file);
        chain.extend(chain_reading(&file));
        let files = decode_chain_files(&chain, 48_000).unwrap();
        assert_eq!(files.0.len(), 1);
        let audio = files.audio(&file).unwrap();
        assert_eq!(
            (audio.left.as_slice(), audio.right.as_slice()),
            (&[0.5, 0.25][..], &[0.5, 0.25][..])
        );
    }

    #[test]
    fn a_file_rewritten_since_it_was_resolved_fails_instead_of_rendering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plate.wav");
        let content = write_ir(&path, &[0.5, 0.25]);
        write_ir(&path, &[0.5, 0.125]);
        let error = decode_chain_files(&chain_reading(&ResolvedFile { path, content }), 48_000)
            .expect_err("the bytes changed");
        assert!(error.to_string().contains("changed"), "{error}");
    }
}
