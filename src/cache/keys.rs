//! Cache keys: what each node's output depends on, hashed with blake3.
//!
//! | in the key | not in the key |
//! |---|---|
//! | [`KEY_SCHEMA`], [`DSP_EPOCH`], each step's kind and algorithm version | the crate's version string, build time |
//! | the node kind and its canonical parameters (units resolved, so `-3 dB` = `-3.0dB`) | names, comments, key order, YAML formatting |
//! | the node's sample rate and the resampler's quality | thread count, block size, verbosity |
//! | the keys of the node's inputs, in declaration order | petgraph indices, absolute paths, mtimes, inodes |
//! | blake3 of the bytes of each source file and of each file a step reads (an impulse response) | where the file lives |
//! | an output's length and the fade at an exact cut; a normalisation's target, ceiling, limiting bound and version | its target's name, folder and file format (the delivered file's record adds the format) |
//! | an encoded stream's format, rate, dither and its seed, the encoders' version, the resampler | the target's name (only through the seed), its file name, its tags |
//! | a delivered file's tags | its path (its record is kept by path) |
//!
//! Parameters are serialized to JSON with sorted map keys (no `HashMap` reaches the
//! bytes), and that JSON is stored next to each cache entry so `mixdown explain` can say
//! which ingredient changed.

use petgraph::graph::NodeIndex;
use serde::Serialize;
use serde_json::{Value, json};

use super::Key;
use crate::file_identity::FileIdentity;
use crate::graph::{NodeKind, RenderGraph};

/// Bump when the layout of the key material or of a cache entry changes: entries written
/// before are then never looked up (a clean miss, not a damaged entry), and `gc` evicts
/// them in time.
pub const KEY_SCHEMA: u32 = 6;

/// Bump when shared DSP behaviour (summing, pan law, fades, latency compensation, tails,
/// the loudness meter whose readings nodes keep) changes; per-processor changes bump that
/// processor's own version instead. Epoch 2: the meter's own K-weighting filter, whose
/// readings differ from the `ebur128` crate's in the tenth decimal.
pub const DSP_EPOCH: u32 = 2;

/// Everything a key hashes, in a fixed field order.
#[derive(Debug, Clone, Serialize)]
pub struct KeyMaterial {
    /// [`KEY_SCHEMA`].
    pub schema: u32,
    /// [`DSP_EPOCH`].
    pub dsp_epoch: u32,
    /// `source`, `track`, `sum`, `normalise` or `output`.
    pub kind: &'static str,
    /// Frames per second of the node's output.
    pub sample_rate: u32,
    /// The node's canonical parameters.
    pub params: Value,
    /// The keys of the inputs, in order.
    pub inputs: Vec<String>,
}

impl KeyMaterial {
    /// The key of this material.
    #[must_use]
    pub fn key(&self) -> Key {
        let bytes = serde_json::to_vec(self).expect("key material serializes");
        Key(*blake3::hash(&bytes).as_bytes())
    }
}

/// The keys of every node of a graph, by node index.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `keys` is the plain name for the keys it holds.
pub struct Keys {
    materials: Vec<KeyMaterial>,
    keys: Vec<Key>,
    /// For source nodes, the identity their file had when this run hashed it (see
    /// [`crate::cache::file_digest::FileDigests::hashed_as`]); never part of a key.
    hashed_as: Vec<Option<FileIdentity>>,
    /// Nodes settled by an analysis that has not run (see [`Keys::compute_settled`]).
    unsettled: Vec<NodeIndex>,
}

/// The kind and parameters of an album's node; a segment's `plan` is the value it
/// settled on (`None` while unsettled) and `album_rate` the rate of the songs it reads.
fn album_params(
    kind: &NodeKind,
    resampler: &str,
    plan: Option<Value>,
    album_rate: u32,
) -> (&'static str, Value) {
    let version = crate::render::ALBUM_VERSION;
    match kind {
        NodeKind::Song { chain, length, cut_fade_seconds } => (
            "song",
            json!({
                "chain": chain,
                "length": length,
                "cut_fade_seconds": cut_fade_seconds,
                "resampler": resampler,
                "version": version,
            }),
        ),
        NodeKind::AlbumAnalysis { stage, album } => {
            ("album_analysis", json!({ "stage": stage, "album": album, "version": version }))
        }
        NodeKind::Segment { cd, last, ceiling_dbtp, trial, .. } => (
            "segment",
            json!({
                "plan": plan.unwrap_or(Value::String("unsettled".into())),
                "trial": trial,
                "cd": cd,
                "last": last,
                "ceiling_dbtp": ceiling_dbtp,
                "album_rate": album_rate,
                "resampler": resampler,
                "version": version,
            }),
        ),
        NodeKind::AlbumEncode { target, span, seeds } => (
            "album_encode",
            json!({
                "encoder": crate::ir::ENCODER_VERSION,
                "target": target,
                "span": span,
                "seeds": seeds,
                "version": version,
            }),
        ),
        NodeKind::Cue { sheet, .. } => ("cue", json!({ "sheet": sheet })),
        _ => unreachable!("only an album's nodes are keyed here"),
    }
}

impl Keys {
    /// Computes every key. `content_digest` gives the blake3 of a source file's bytes, and
    /// `resampler` names the resampler's algorithm and quality.
    ///
    /// # Errors
    /// When a source file cannot be read to hash it.
    pub fn compute<E>(
        graph: &RenderGraph,
        resampler: &str,
        content_digest: impl FnMut(&std::path::Path) -> Result<String, E>,
    ) -> Result<Self, E> {
        Self::compute_settled(graph, resampler, content_digest, |_, _| None)
    }

    /// Computes every key as [`Keys::compute`] does, with the values that settle nodes
    /// downstream of an analysis: `settle(node, analysis_key)` gives a segment's plan from
    /// the record of the analysis it reads, or `None` while that analysis has not run. An
    /// unsettled node gets a key no entry has, and is listed by [`Keys::unsettled`].
    ///
    /// # Errors
    /// When a source file cannot be read to hash it.
    pub fn compute_settled<E>(
        graph: &RenderGraph,
        resampler: &str,
        mut content_digest: impl FnMut(&std::path::Path) -> Result<String, E>,
        mut settle: impl FnMut(NodeIndex, Key) -> Option<Value>,
    ) -> Result<Self, E> {
        let count = graph.graph.node_count();
        let mut materials: Vec<Option<KeyMaterial>> = vec![None; count];
        let mut keys: Vec<Option<Key>> = vec![None; count];
        let mut unsettled = Vec::new();
        for i in graph.topological_order() {
            let node = &graph.graph[i];
            let key_of =
                |j: &NodeIndex| keys[j.index()].expect("inputs come first in topological order");
            // A node settled by an analysis keys on the value it reads, not on the analysis.
            let mut keyed_inputs: &[NodeIndex] = &node.inputs;
            let (kind, params) = match &node.kind {
                NodeKind::Source { file } => {
                    ("source", json!({ "content": content_digest(file)?, "resampler": resampler }))
                }
                NodeKind::Track { clips, polarity, chain, sidechains } => (
                    "track",
                    json!({
                        "clips": clips,
                        "polarity": polarity,
                        "chain": chain,
                        "sidechains": sidechains,
                    }),
                ),
                NodeKind::Sum { feeds, gain, chain, sidechains } => (
                    "sum",
                    json!({
                        "feeds": feeds,
                        "gain": gain,
                        "chain": chain,
                        "sidechains": sidechains,
                    }),
                ),
                NodeKind::Normalise { normalisation } => (
                    "normalise",
                    json!({
                        "normalisation": normalisation,
                        "version": crate::render::NORMALISE_VERSION,
                    }),
                ),
                NodeKind::Output { length, cut_fade_seconds, .. } => {
                    ("output", json!({ "length": length, "cut_fade_seconds": cut_fade_seconds }))
                }
                NodeKind::Encode { target, seed, length, cut_fade_seconds } => (
                    "encode",
                    json!({
                        "encoder": crate::ir::ENCODER_VERSION,
                        "target": target,
                        "seed": seed,
                        "length": length,
                        "cut_fade_seconds": cut_fade_seconds,
                        "resampler": resampler,
                    }),
                ),
                NodeKind::Deliver { tags, .. } => ("deliver", json!({ "tags": tags })),
                NodeKind::Segment { .. } => {
                    let (analysis, songs) =
                        node.inputs.split_last().expect("a segment reads its analysis");
                    keyed_inputs = songs;
                    let plan = settle(i, key_of(analysis));
                    if plan.is_none() {
                        unsettled.push(i);
                    }
                    let album_rate = graph.graph[songs[0]].sample_rate;
                    album_params(&node.kind, resampler, plan, album_rate)
                }
                kind => album_params(kind, resampler, None, 0),
            };
            let inputs = keyed_inputs.iter().map(|j| key_of(j).to_string()).collect();
            let material = KeyMaterial {
                schema: KEY_SCHEMA,
                dsp_epoch: DSP_EPOCH,
                kind,
                sample_rate: node.sample_rate,
                params,
                inputs,
            };
            keys[i.index()] = Some(material.key());
            materials[i.index()] = Some(material);
        }
        Ok(Self {
            materials: materials.into_iter().map(|m| m.expect("every node keyed")).collect(),
            keys: keys.into_iter().map(|k| k.expect("every node keyed")).collect(),
            hashed_as: vec![None; count],
            unsettled,
        })
    }

    /// The nodes whose keys wait on an analysis that has not run yet.
    #[must_use]
    pub fn unsettled(&self) -> &[NodeIndex] {
        &self.unsettled
    }

    /// Notes, for each source node, the identity its file had when this run hashed it, as
    /// `hashed_as` tells it, so that the decoder need not hash the file again.
    #[must_use]
    pub fn with_hashed_identities(
        mut self,
        graph: &RenderGraph,
        hashed_as: impl Fn(&std::path::Path) -> Option<FileIdentity>,
    ) -> Self {
        for i in graph.graph.node_indices() {
            if let NodeKind::Source { file } = &graph.graph[i].kind {
                self.hashed_as[i.index()] = hashed_as(file);
            }
        }
        self
    }

    /// The identity source node `i`'s file had when this run hashed it, if it did.
    #[must_use]
    pub fn source_hashed_as(&self, i: NodeIndex) -> Option<FileIdentity> {
        self.hashed_as[i.index()]
    }

    /// The key of node `i`.
    #[must_use]
    pub fn key(&self, i: NodeIndex) -> Key {
        self.keys[i.index()]
    }

    /// The blake3 digest of the file that source node `i` reads, as its key holds it;
    /// `None` for other nodes.
    #[must_use]
    pub fn source_content(&self, i: NodeIndex) -> Option<[u8; 32]> {
        let material = &self.materials[i.index()];
        if material.kind != "source" {
            return None;
        }
        super::parse_hex(material.params["content"].as_str()?)
    }

    /// What node `i`'s key hashes.
    #[must_use]
    pub fn material(&self, i: NodeIndex) -> &KeyMaterial {
        &self.materials[i.index()]
    }
}

#[cfg(test)]
mod tests {
    //! Each ingredient of the table in the module doc changes the key; each thing listed as
    //! not in the key leaves it alone.

    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::project::load_mix;

    /// A small mix: a track with a chain and a send, a bus, the master, and `length:`.
    const MIX: &str = "\
mix: Keys
sample_rate: 48 kHz
length: 2 s
tracks:
  vox:
    source: vox.wav
    gain: -3 dB
    pan: 20% left
    chain:
      - highpass: { freq: 80 Hz }
      - compressor: { threshold: -18 dB, ratio: 3 }
    to: vocals
    sends:
      - { to: verb, level: -12 dB }
  gtr:
    clips:
      - { file: gtr.wav, at: 1 s, fade_in: 10 ms }
buses:
  vocals: {}
  verb:
    chain:
      - lowpass: { freq: 8 kHz }
";

    /// The graph and keys of `yaml`, written as `song.yaml` in `dir`, with every audio
    /// file's bytes digested as `content` says (its name by default).
    fn keys_in(dir: &Path, yaml: &str, resampler: &str, content: &str) -> (RenderGraph, Keys) {
        for file in ["vox.wav", "gtr.wav", "other.wav", "plate.wav", "irs/plate.wav"] {
            std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
            std::fs::write(dir.join(file), b"").unwrap();
        }
        let path = dir.join("song.yaml");
        std::fs::write(&path, yaml).unwrap();
        let loaded = load_mix(&path).unwrap_or_else(|r| panic!("{:?}", r.diagnostics));
        let mut step_files = |file: &Path| {
            let name = file.file_name().unwrap().to_string_lossy();
            let bytes = format!("{content}:{name}");
            Ok(crate::ir::ContentDigest(*blake3::hash(bytes.as_bytes()).as_bytes()))
        };
        let (mix, diagnostics) = crate::ir::lower(&loaded, &mut step_files);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let graph = crate::graph::build(&mix);
        let keys = Keys::compute(&graph, resampler, |file| {
            let name = file.file_name().unwrap().to_string_lossy();
            Ok::<_, ()>(format!("{content}:{name}"))
        })
        .unwrap();
        (graph, keys)
    }

    fn keys_of(yaml: &str) -> (RenderGraph, Keys) {
        let dir = tempfile::tempdir().unwrap();
        keys_in(dir.path(), yaml, "sinc-256", "bytes")
    }

    fn key(graph: &RenderGraph, keys: &Keys, id: &str) -> Key {
        keys.key(graph.find(&format!("song/{id}")).unwrap_or_else(|| panic!("no node {id}")))
    }

    /// Every node's key, by id.
    fn all(yaml: &str) -> BTreeMap<String, Key> {
        let (graph, keys) = keys_of(yaml);
        graph.graph.node_indices().map(|i| (graph.graph[i].id.clone(), keys.key(i))).collect()
    }

    /// The ids whose keys differ between the base mix and the edited one.
    fn changed_by(edit: impl Fn(&str) -> String) -> Vec<String> {
        let (before, after) = (all(MIX), all(&edit(MIX)));
        assert_eq!(before.len(), after.len(), "the edit keeps the graph's shape");
        let ids = before.keys().filter(|id| before[*id] != after[*id]);
        ids.map(|id| id.trim_start_matches("song/").to_string()).collect()
    }

    fn replace(from: &'static str, to: &'static str) -> impl Fn(&str) -> String {
        move |mix: &str| {
            assert!(mix.contains(from), "the mix has `{from}`");
            mix.replacen(from, to, 1)
        }
    }

    fn material_key_after(change: impl Fn(&mut KeyMaterial)) -> (Key, Key) {
        let (graph, keys) = keys_of(MIX);
        let node = graph.find("song/track/vox").unwrap();
        let mut material = keys.material(node).clone();
        let before = material.key();
        change(&mut material);
        (before, material.key())
    }

    #[test]
    fn the_key_schema_is_in_the_key() {
        let (before, after) = material_key_after(|m| m.schema += 1);
        assert_ne!(before, after);
    }

    #[test]
    fn the_dsp_epoch_is_in_the_key() {
        let (before, after) = material_key_after(|m| m.dsp_epoch += 1);
        assert_ne!(before, after);
    }

    #[test]
    fn a_processors_algorithm_version_is_in_the_key() {
        let (before, after) = material_key_after(|m| {
            let version = &mut m.params["chain"][1]["version"];
            *version = json!(version.as_u64().unwrap() + 1);
        });
        assert_ne!(before, after);
    }

    #[test]
    fn the_node_kind_is_in_the_key() {
        let (before, after) = material_key_after(|m| m.kind = "sum");
        assert_ne!(before, after);
    }

    #[test]
    fn a_steps_parameter_changes_its_node_and_everything_downstream() {
        let changed = changed_by(replace("ratio: 3", "ratio: 4"));
        assert_eq!(changed, ["bus/verb", "bus/vocals", "master", "output", "track/vox"]);
    }

    #[test]
    fn a_steps_kind_is_in_the_key() {
        let changed = changed_by(replace("lowpass: { freq: 8 kHz }", "highpass: { freq: 8 kHz }"));
        assert_eq!(changed, ["bus/verb", "master", "output"]);
    }

    #[test]
    fn the_sample_rate_is_in_every_key() {
        let (before, after) = (all(MIX), all(&MIX.replace("48 kHz", "44.1 kHz")));
        assert!(before.iter().all(|(id, key)| after[id] != *key));
    }

    #[test]
    fn the_resamplers_quality_is_in_the_source_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (graph, a) = keys_in(dir.path(), MIX, "sinc-256", "bytes");
        let (_, b) = keys_in(dir.path(), MIX, "sinc-128", "bytes");
        let source = graph.find("song/source/vox.wav").unwrap();
        assert_ne!(a.key(source), b.key(source));
    }

    #[test]
    fn a_source_files_bytes_are_in_its_key_and_downstream() {
        let dir = tempfile::tempdir().unwrap();
        let (graph, a) = keys_in(dir.path(), MIX, "sinc-256", "bytes");
        let (_, b) = keys_in(dir.path(), MIX, "sinc-256", "other bytes");
        for id in ["source/vox.wav", "track/vox", "bus/vocals", "master", "output"] {
            assert_ne!(key(&graph, &a, id), key(&graph, &b, id), "{id}");
        }
    }

    /// [`MIX`] with a convolution on the `verb` bus, reading `ir`.
    fn with_impulse_response(ir: &str) -> String {
        MIX.replace(
            "      - lowpass: { freq: 8 kHz }\n",
            &format!("      - lowpass: {{ freq: 8 kHz }}\n      - convolution: {{ ir: {ir} }}\n"),
        )
    }

    #[test]
    fn an_impulse_responses_bytes_are_in_the_key_and_downstream() {
        // The test digests a file by its name: `other.wav` holds other bytes than `plate.wav`.
        let dir = tempfile::tempdir().unwrap();
        let (graph, a) =
            keys_in(dir.path(), &with_impulse_response("plate.wav"), "sinc-256", "bytes");
        let (_, b) = keys_in(dir.path(), &with_impulse_response("other.wav"), "sinc-256", "bytes");
        for id in ["bus/verb", "master", "output"] {
            assert_ne!(key(&graph, &a, id), key(&graph, &b, id), "{id}");
        }
        assert_eq!(key(&graph, &a, "bus/vocals"), key(&graph, &b, "bus/vocals"));
    }

    #[test]
    fn an_impulse_responses_path_is_not_in_the_key() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (graph, a) =
            keys_in(one.path(), &with_impulse_response("irs/plate.wav"), "sinc-256", "bytes");
        let (moved, b) =
            keys_in(two.path(), &with_impulse_response("plate.wav"), "sinc-256", "bytes");
        let verb = graph.find("song/bus/verb").unwrap();
        assert_eq!(a.key(verb), b.key(moved.find("song/bus/verb").unwrap()));
        let material = serde_json::to_string(a.material(verb)).unwrap();
        assert!(!material.contains("plate"), "{material}");
    }

    #[test]
    fn a_fader_move_changes_only_the_sums_that_read_the_track() {
        assert_eq!(
            changed_by(replace("gain: -3 dB", "gain: -4 dB")),
            ["bus/verb", "bus/vocals", "master", "output"]
        );
    }

    #[test]
    fn a_pan_is_in_the_key_of_the_sum_that_applies_it() {
        let changed = changed_by(replace("20% left", "30% left"));
        assert_eq!(changed, ["bus/verb", "bus/vocals", "master", "output"]);
    }

    #[test]
    fn a_send_level_and_its_pre_fader_flag_are_in_the_buss_key() {
        let level = changed_by(replace("level: -12 dB", "level: -10 dB"));
        assert_eq!(level, ["bus/verb", "master", "output"]);
        let pre = changed_by(replace("level: -12 dB }", "level: -12 dB, pre_fader: true }"));
        assert_eq!(pre, ["bus/verb", "master", "output"]);
    }

    #[test]
    fn a_clips_placement_is_in_its_tracks_key() {
        let changed = changed_by(replace("at: 1 s", "at: 1.5 s"));
        assert_eq!(changed, ["master", "output", "track/gtr"]);
    }

    #[test]
    fn polarity_is_in_the_tracks_key() {
        let changed = changed_by(replace(
            "    source: vox.wav\n",
            "    source: vox.wav\n    polarity: inverted\n",
        ));
        assert_eq!(changed, ["bus/verb", "bus/vocals", "master", "output", "track/vox"]);
    }

    #[test]
    fn the_length_and_the_fade_at_the_cut_are_in_the_outputs_key() {
        assert_eq!(changed_by(replace("length: 2 s", "length: 3 s")), ["output"]);
        let fade = changed_by(replace("length: 2 s\n", "length: 2 s\nlength_fade: 0 ms\n"));
        assert_eq!(fade, ["output"]);
    }

    #[test]
    fn yaml_formatting_is_not_in_the_key() {
        let reformatted = MIX.replace("{ freq: 80 Hz }", "\n          freq:    80 Hz").replace(
            "    sends:\n      - { to: verb, level: -12 dB }",
            "    sends: [ {to: verb,   level: -12 dB} ]",
        );
        assert_ne!(reformatted, MIX);
        assert_eq!(changed_by(move |_| reformatted.clone()), Vec::<String>::new());
    }

    #[test]
    fn key_order_is_not_in_the_key() {
        let reordered =
            MIX.replace("threshold: -18 dB, ratio: 3", "ratio: 3, threshold: -18 dB").replace(
                "  vox:\n    source: vox.wav\n    gain: -3 dB\n    pan: 20% left\n",
                "  vox:\n    pan: 20% left\n    gain: -3 dB\n    source: vox.wav\n",
            );
        assert_ne!(reordered, MIX);
        assert_eq!(changed_by(move |_| reordered.clone()), Vec::<String>::new());
    }

    #[test]
    fn comments_are_not_in_the_key() {
        let commented = format!("# a mix\n{}", MIX.replace("ratio: 3 }", "ratio: 3 } # gentle"));
        assert_eq!(changed_by(move |_| commented.clone()), Vec::<String>::new());
    }

    #[test]
    fn unit_spelling_is_not_in_the_key() {
        let respelt = MIX
            .replace("gain: -3 dB", "gain: -3.0dB")
            .replace("8 kHz", "8000 Hz")
            .replace("10 ms", "0.01 s")
            .replace("48 kHz", "48000 Hz");
        let respellings = ["-3.0dB", "8000 Hz", "0.01 s", "48000 Hz"];
        assert!(respellings.iter().all(|r| respelt.contains(r)), "every spelling applied");
        assert_eq!(changed_by(move |_| respelt.clone()), Vec::<String>::new());
    }

    #[test]
    fn the_projects_folder_is_not_in_the_key() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (graph, a) = keys_in(one.path(), MIX, "sinc-256", "bytes");
        let (_, b) = keys_in(two.path(), MIX, "sinc-256", "bytes");
        for i in graph.graph.node_indices() {
            assert_eq!(a.key(i), b.key(i), "{}", graph.graph[i].id);
        }
    }

    #[test]
    fn a_trial_segment_keys_apart_from_the_final_one_at_the_same_plan() {
        let segment = |trial| NodeKind::Segment {
            segment: 0,
            cd: false,
            last: true,
            ceiling_dbtp: -1.3,
            trial,
        };
        let plan = || Some(json!({ "gains_db": [1.87] }));
        let (_, trial) = album_params(&segment(true), "sinc", plan(), 48_000);
        let (_, last) = album_params(&segment(false), "sinc", plan(), 48_000);
        assert_ne!(trial, last, "a trial's record lacks the true peak a final one has");
    }

    #[test]
    fn a_tracks_key_material_is_golden() {
        let (graph, keys) = keys_of(MIX);
        let material = keys.material(graph.find("song/track/vox").unwrap());
        let json = serde_json::to_string_pretty(material).unwrap();
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!("key-material-track", json);
        });
    }
}
