//! A stem rewritten while a render runs never leaves audio in the cache under a key made
//! of its old bytes (issue 18, failure 1).
//!
//! The race is made deterministic: the keys are computed from the stems as they are, then
//! a stem is changed, then the render runs with those keys, exactly as when the user saves
//! a stem between the render hashing it and decoding it. The decoder's own check of bytes
//! changed while it reads is tested in `audio::decode`.
//!
//! Each case runs with both proofs of content: a digest from an earlier run's memo, which
//! the decoder confirms by hashing what it reads, and a digest this run took, which the
//! file's identity at hashing time vouches for.

use std::path::Path;

use mixdown::audio::encode::Encoding;
use mixdown::audio::wav::WavFormat;
use mixdown::cache::folder::CacheDir;
use mixdown::cache::keys::Keys;
use mixdown::cache::store::Store;
use mixdown::file_identity::FileIdentity;
use mixdown::graph::{RenderGraph, build};
use mixdown::ir::{ContentDigest, lower};
use mixdown::project::load_mix;
use mixdown::render::{Delivery, Progress, RenderError, Settings, render};

use crate::support::{read_audio, scratch, write_stem};

struct Silent;

impl Progress for Silent {
    fn planned(&self, _: usize) {}
    fn finished(&self, _: &str) {}
}

/// How the keys' digests of the stems were taken.
#[derive(Clone, Copy, Debug)]
enum Proof {
    /// From an earlier run's memo: the decoder hashes the bytes again.
    Memo,
    /// Hashed by this run, with each file's identity noted then.
    Identity,
}

/// Compiles the mix at `project` (which must be valid) into its graph and its keys, with
/// each stem hashed as it is on disk now.
fn graph_and_keys(project: &Path) -> (RenderGraph, Keys) {
    graph_and_keys_proven(project, Proof::Memo)
}

fn graph_and_keys_proven(project: &Path, proof: Proof) -> (RenderGraph, Keys) {
    let loaded = load_mix(project).unwrap_or_else(|_| panic!("{} loads", project.display()));
    let mut digests =
        |path: &Path| std::fs::read(path).map(|b| ContentDigest(*blake3::hash(&b).as_bytes()));
    let (mix, diagnostics) = lower(&loaded, &mut digests);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let graph = build(&mix);
    let keys = Keys::compute(&graph, mixdown::audio::resample::RESAMPLER_QUALITY, |path| {
        std::fs::read(path).map(|bytes| blake3::hash(&bytes).to_hex().to_string())
    })
    .unwrap();
    let keys = match proof {
        Proof::Memo => keys,
        Proof::Identity => keys.with_hashed_identities(&graph, FileIdentity::of_path),
    };
    (graph, keys)
}

/// Renders every target of `graph` as float WAV files into `out`.
fn render_with(
    graph: &RenderGraph,
    keys: &Keys,
    cache: &Path,
    out: &Path,
) -> Result<(), RenderError> {
    let cache = CacheDir::new(cache);
    let store = Store::local(&cache);
    let delivery =
        Delivery { out_dir: out.to_path_buf(), encoding: Encoding::Wav(WavFormat::Float32) };
    let settings = Settings { jobs: 2, delivery };
    render(graph, keys, &store, &cache, &graph.targets, &settings, &Silent).map(drop)
}

/// Renders `project` from scratch into its own cache and returns the output's samples.
fn clean_render(work: &Path, project: &Path, name: &str) -> (Vec<f32>, Vec<f32>) {
    let out = work.join(format!("clean-{name}"));
    let (graph, keys) = graph_and_keys(project);
    render_with(&graph, &keys, &work.join(format!("cache-clean-{name}")), &out).unwrap();
    let (_, left, right) = read_audio(&out.join("song.wav"));
    (left, right)
}

/// Keys the project, changes `stem` with `change`, renders (which must fail, naming the
/// stem), restores the stem, and renders again with the same cache: the result must equal
/// a clean render of the restored project, so nothing of the changed stem was kept; once
/// for each [`Proof`].
fn changed_mid_render_is_not_cached(yaml: &str, change: impl Fn(&Path)) {
    for proof in [Proof::Memo, Proof::Identity] {
        changed_mid_render_is_not_cached_with(yaml, &change, proof);
    }
}

fn changed_mid_render_is_not_cached_with(yaml: &str, change: impl Fn(&Path), proof: Proof) {
    let work = scratch();
    let dir = work.path();
    write_stem(&dir.join("vox.wav"), 44_100, 3.0, 1);
    write_stem(&dir.join("bass.wav"), 48_000, 3.0, 2);
    write_stem(&dir.join("keys.wav"), 48_000, 3.0, 3);
    let project = dir.join("song.yaml");
    std::fs::write(&project, yaml).unwrap();
    let reference = clean_render(dir, &project, "reference");

    let out = dir.join("out");
    let cache = dir.join("cache");
    let (graph, keys) = graph_and_keys_proven(&project, proof);
    let originals: Vec<(String, Vec<u8>)> = ["vox.wav", "bass.wav", "keys.wav"]
        .iter()
        .map(|name| ((*name).to_owned(), std::fs::read(dir.join(name)).unwrap()))
        .collect();
    // A run trusts only identities older than itself, which any write moves on; here the
    // identity is from just now, so give the file system's clock a tick first.
    std::thread::sleep(std::time::Duration::from_millis(20));
    change(dir);
    let error = render_with(&graph, &keys, &cache, &out)
        .expect_err(&format!("a changed stem fails the render ({proof:?})"));
    let message = error.to_string();
    assert!(message.contains("changed while it was being rendered"), "{proof:?}: {message}");
    assert!(!out.join("song.wav").exists(), "no output is written from a changed stem");

    for (name, bytes) in originals {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    render_with(&graph, &keys, &cache, &out).unwrap();
    let (_, left, right) = read_audio(&out.join("song.wav"));
    assert!(
        left == reference.0 && right == reference.1,
        "the cache held audio of the changed stem ({proof:?})"
    );
}

const THREE_TRACKS: &str = "mix: Song\nsample_rate: 48 kHz\ntracks:\n  vox: { source: vox.wav }\n  bass: { source: bass.wav, gain: -3 dB }\n  keys: { source: keys.wav, pan: 30% left }\n";

#[test]
fn a_stem_rewritten_in_place_after_it_was_hashed_is_not_cached() {
    // bass.wav is at the render rate, so the track decodes it directly.
    changed_mid_render_is_not_cached(THREE_TRACKS, |dir| {
        write_stem(&dir.join("bass.wav"), 48_000, 3.0, 9);
    });
}

#[test]
fn a_resampled_stem_rewritten_after_it_was_hashed_is_not_cached() {
    // vox.wav is at 44.1 kHz, so a source node resamples it into its own entry.
    changed_mid_render_is_not_cached(THREE_TRACKS, |dir| {
        write_stem(&dir.join("vox.wav"), 44_100, 3.0, 9);
    });
}

#[test]
fn a_stem_replaced_by_a_rename_after_it_was_hashed_is_not_cached() {
    changed_mid_render_is_not_cached(THREE_TRACKS, |dir| {
        write_stem(&dir.join("new-keys.wav"), 48_000, 3.0, 9);
        std::fs::rename(dir.join("new-keys.wav"), dir.join("keys.wav")).unwrap();
    });
}

#[test]
fn a_change_past_the_end_of_a_clip_is_still_found() {
    // The clip reads the first second only; the change is in the last.
    let yaml = "mix: Song\nsample_rate: 48 kHz\nlength: 1 s\ntracks:\n  vox: { source: vox.wav }\n  bass:\n    clips:\n      - { file: bass.wav, at: 0 s, start: 0 s, length: 1 s }\n";
    changed_mid_render_is_not_cached(yaml, |dir| {
        let path = dir.join("bass.wav");
        let mut bytes = std::fs::read(&path).unwrap();
        let near_end = bytes.len() - 100;
        bytes[near_end] ^= 0x10;
        std::fs::write(&path, bytes).unwrap();
    });
}
