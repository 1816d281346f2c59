//! Decoding the files a chain's steps read (impulse responses), at the render rate, so
//! that the chain can be built with their audio in hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::NodeError;
use crate::audio::Source;
use crate::audio::decode::Decoder;
use crate::audio::resample::Resampled;
use crate::dsp::chain::step::Step;
use crate::dsp::{Audio, BLOCK_FRAMES, DecodedFiles};

/// The decoded audio of every file a chain reads, by the path its steps name.
#[derive(Debug, Default)]
pub struct ChainFiles(BTreeMap<PathBuf, Arc<Audio>>);

impl DecodedFiles for ChainFiles {
    fn audio(&self, file: &Path) -> Option<Arc<Audio>> {
        self.0.get(file).cloned()
    }
}

/// Decodes every file `chain` reads (resampled to `rate`), each once.
///
/// # Errors
/// When a file cannot be decoded.
pub fn decode_chain_files(chain: &[Step], rate: u32) -> Result<ChainFiles, NodeError> {
    let mut paths = Vec::new();
    for step in chain {
        step.collect_files(&mut paths);
    }
    let mut files = BTreeMap::new();
    for path in paths {
        if let std::collections::btree_map::Entry::Vacant(slot) = files.entry(path) {
            let audio = decode(slot.key(), rate)?;
            slot.insert(Arc::new(audio));
        }
    }
    Ok(ChainFiles(files))
}

fn decode(path: &Path, rate: u32) -> Result<Audio, crate::audio::AudioError> {
    let decoder = Decoder::open(path)?;
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
