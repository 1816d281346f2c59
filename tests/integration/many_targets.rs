//! One graph for many targets: two mixes at their own rates built into one graph under
//! their own prefixes, rendered together, give the files each renders alone.

use std::path::Path;

use mixdown::audio::encode::Encoding;
use mixdown::audio::resample::RESAMPLER_QUALITY;
use mixdown::audio::wav::WavFormat;
use mixdown::cache::folder::CacheDir;
use mixdown::cache::keys::Keys;
use mixdown::cache::store::Store;
use mixdown::compile::resolve;
use mixdown::graph::GraphBuilder;
use mixdown::render::{Delivery, Progress, Settings, render};
use sha2::{Digest, Sha256};

use crate::support::{mixdown, read_audio, scratch, stderr, write_stem};

struct Silent;

impl Progress for Silent {
    fn planned(&self, _: usize) {}
    fn finished(&self, _: &str) {}
}

fn write_song(dir: &Path, name: &str, rate: &str, seed: u64) {
    write_stem(&dir.join(format!("{name}.wav")), 44_100, 1.0, seed);
    let yaml = format!(
        "mix: {name}\nsample_rate: {rate}\nlength: 0.8 s\ntracks:\n  vox:\n    source: {name}.wav\n    chain:\n      - lowpass: {{ freq: 5 kHz }}\n"
    );
    std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
}

fn digest(path: &Path) -> Result<String, std::io::Error> {
    std::fs::read(path).map(|bytes| format!("{:x}", Sha256::digest(bytes)))
}

/// A source file's content as keys hold it: the blake3 of its bytes, which the decoder
/// checks what it reads against.
fn content(path: &Path) -> Result<String, std::io::Error> {
    std::fs::read(path).map(|bytes| blake3::hash(&bytes).to_hex().to_string())
}

#[test]
fn two_mixes_in_one_graph_render_both_targets_at_their_own_rates() {
    let work = scratch();
    write_song(work.path(), "one", "48 kHz", 1);
    write_song(work.path(), "two", "44.1 kHz", 2);
    let mut builder = GraphBuilder::default();
    for (name, prefix) in [("one", "album/01"), ("two", "album/02")] {
        let resolved = resolve(&work.path().join(format!("{name}.yaml")))
            .unwrap_or_else(|broken| panic!("{:?}", broken.diagnostics));
        builder.add_mix(&resolved.mix, prefix);
    }
    let graph = builder.finish();
    assert_eq!(graph.targets.len(), 2);
    assert!(
        graph.find("album/01/track/vox").is_some() && graph.find("album/02/track/vox").is_some()
    );
    let keys = Keys::compute(&graph, RESAMPLER_QUALITY, content).unwrap();
    let cache = CacheDir::new(work.path().join("cache"));
    let store = Store::local(&cache);
    let out = work.path().join("together");
    let delivery = Delivery { out_dir: out.clone(), encoding: Encoding::Wav(WavFormat::Pcm24) };
    let settings = Settings { jobs: 2, delivery };
    render(&graph, &keys, &store, &cache, &graph.targets, &settings, &Silent).unwrap();
    for (name, file, rate) in [("one", "01", 48_000), ("two", "02", 44_100)] {
        let together = out.join(format!("album/{file}.wav"));
        let (got_rate, left, _) = read_audio(&together);
        assert_eq!((got_rate, left.len()), (rate, (0.8 * f64::from(rate)).round() as usize));
        let alone = mixdown(
            work.path(),
            &["render", &format!("{name}.yaml"), "--out", "alone", "--cache", "alone-cache"],
        );
        assert!(alone.status.success(), "{}", stderr(&alone));
        let alone = work.path().join(format!("alone/{name}.wav"));
        assert_eq!(digest(&together).unwrap(), digest(&alone).unwrap(), "{name}");
    }
}
