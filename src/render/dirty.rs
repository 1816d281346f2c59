//! Why a node renders again, in the words of the YAML it came from: `tracks.vox.gain: -8 dB
//! → -7 dB`, `bus drums: its input track vox changed`, `file stems/vox.flac: content
//! changed`. The reasons come from comparing what the node's key hashed at its last render
//! (kept by [`super::LatestRender`]) with what it hashes now, read through the node's place
//! in the graph, so they never show a JSON path or a hash.

use std::fmt;
use std::path::Path;

use petgraph::graph::NodeIndex;
use serde_json::Value;

use crate::graph::{MASTER, NodeKind, RenderGraph};

/// One reason a node renders again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirtyReason {
    /// This cache holds no record of the node.
    NeverRendered,
    /// The node has the key of its last render, but its entry has left the cache.
    EntryGone,
    /// An output has the key of its last render, but its file is not the one written then.
    FileOutdated {
        /// The file.
        file: String,
    },
    /// A value in the project changed.
    Setting {
        /// Where it is written (`tracks.vox.gain`).
        at: String,
        /// Its value before, as the YAML would write it.
        old: String,
        /// Its value now.
        new: String,
    },
    /// A node it reads produces different audio now.
    InputChanged {
        /// The node that reads it (`bus drums`).
        node: String,
        /// The input (`track vox`).
        input: String,
    },
    /// It reads a different set of nodes than before: routing, sends or sidechains changed.
    Rerouted {
        /// The node (`bus drums`).
        node: String,
        /// What it reads now (`track kick`), in order.
        inputs: Vec<String>,
    },
    /// An audio file's bytes changed.
    FileContent {
        /// The file, relative to the project's folder where it is inside it.
        file: String,
    },
    /// A processor's algorithm changed in this version of mixdown.
    ProcessorVersion {
        /// The processor's name in a chain.
        processor: String,
        /// Its version at the last render.
        old: u64,
        /// Its version now.
        new: u64,
    },
    /// Something mixdown does for every node changed in this version.
    Engine {
        /// What changed, in words.
        what: &'static str,
        /// Before.
        old: String,
        /// Now.
        new: String,
    },
}

impl fmt::Display for DirtyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NeverRendered => f.write_str("it has not been rendered with this cache before"),
            Self::EntryGone => {
                f.write_str("its entry has left the cache (`cache gc`, `cache clear`)")
            }
            Self::FileOutdated { file } => write!(
                f,
                "file {file}: missing, changed since it was written, or in another format"
            ),
            Self::Setting { at, old, new } => write!(f, "{at}: {old} → {new}"),
            Self::InputChanged { node, input } => write!(f, "{node}: its input {input} changed"),
            Self::Rerouted { node, inputs } if inputs.is_empty() => {
                write!(f, "{node}: what feeds it changed (now nothing)")
            }
            Self::Rerouted { node, inputs } => {
                write!(f, "{node}: what feeds it changed (now {})", inputs.join(", "))
            }
            Self::FileContent { file } => write!(f, "file {file}: content changed"),
            Self::ProcessorVersion { processor, old, new } => {
                write!(f, "mixdown changed how {processor} works (version {old} → {new})")
            }
            Self::Engine { what, old, new } => write!(f, "mixdown changed {what} ({old} → {new})"),
        }
    }
}

/// Why `node` renders again: what its key hashed at its last render (`previous`, the JSON
/// of its key material) against what it hashes now (`current`). File names are shown
/// relative to `project_dir`.
#[must_use]
pub fn dirty_reasons(
    graph: &RenderGraph,
    node: NodeIndex,
    previous: &Value,
    current: &Value,
    project_dir: &Path,
) -> Vec<DirtyReason> {
    let reader = Reader { graph, node, project_dir, out: Vec::new() };
    reader.read(previous, current)
}

struct Reader<'a> {
    graph: &'a RenderGraph,
    node: NodeIndex,
    project_dir: &'a Path,
    out: Vec<DirtyReason>,
}

impl Reader<'_> {
    fn read(mut self, old: &Value, new: &Value) -> Vec<DirtyReason> {
        for (what, field) in
            [("the layout of cache entries", "schema"), ("shared DSP", "dsp_epoch")]
        {
            if old[field] != new[field] {
                let (old, new) = (plain(&old[field]), plain(&new[field]));
                self.out.push(DirtyReason::Engine { what, old, new });
            }
        }
        if old["sample_rate"] != new["sample_rate"] {
            let hz = |v: &Value| format!("{} Hz", plain(v));
            let (old, new) = (hz(&old["sample_rate"]), hz(&new["sample_rate"]));
            self.out.push(DirtyReason::Setting { at: "sample_rate".into(), old, new });
        }
        let (p, q) = (&old["params"], &new["params"]);
        match &self.graph.graph[self.node].kind {
            NodeKind::Source { file } => {
                if p["content"] != q["content"] {
                    let file = self.file_name(file);
                    self.out.push(DirtyReason::FileContent { file });
                }
                if p["resampler"] != q["resampler"] {
                    let (old, new) = (plain(&p["resampler"]), plain(&q["resampler"]));
                    self.out.push(DirtyReason::Engine { what: "the resampler", old, new });
                }
            }
            NodeKind::Track { .. } => {
                let at = self.yaml_path();
                self.generic(&format!("{at}.clips"), &p["clips"], &q["clips"]);
                self.generic(&format!("{at}.polarity"), &p["polarity"], &q["polarity"]);
                self.chain(&format!("{at}.chain"), &p["chain"], &q["chain"]);
            }
            NodeKind::Sum { feeds, .. } => {
                let at = self.yaml_path();
                if p["gain"] != q["gain"] {
                    let (old, new) = (decibels(&p["gain"]), decibels(&q["gain"]));
                    self.out.push(DirtyReason::Setting { at: format!("{at}.gain"), old, new });
                }
                self.feeds(feeds, &p["feeds"], &q["feeds"]);
                self.chain(&format!("{at}.chain"), &p["chain"], &q["chain"]);
            }
            NodeKind::Encode { target, .. } => {
                let at = format!("deliver.{}", target.name);
                self.generic(&at, &p["target"], &q["target"]);
                self.generic("length", &p["length"], &q["length"]);
                self.generic("length_fade", &p["cut_fade_seconds"], &q["cut_fade_seconds"]);
            }
            NodeKind::Deliver { .. } => self.generic("tags", &p["tags"], &q["tags"]),
            NodeKind::Song { .. }
            | NodeKind::AlbumAnalysis { .. }
            | NodeKind::Segment { .. }
            | NodeKind::AlbumEncode { .. }
            | NodeKind::Cue { .. } => self.album(p, q),
            NodeKind::Normalise { .. } => self.normalisation(p, q),
            NodeKind::Output { .. } => {
                if p["length"] != q["length"] {
                    let (old, new) = (length(&p["length"]), length(&q["length"]));
                    self.out.push(DirtyReason::Setting { at: "length".into(), old, new });
                }
                if p["cut_fade_seconds"] != q["cut_fade_seconds"] {
                    let ms = |v: &Value| format!("{} ms", v.as_f64().unwrap_or(0.0) * 1000.0);
                    let (old, new) = (ms(&p["cut_fade_seconds"]), ms(&q["cut_fade_seconds"]));
                    self.out.push(DirtyReason::Setting { at: "length_fade".into(), old, new });
                }
            }
        }
        let (old_inputs, new_inputs) = (&old["inputs"], &new["inputs"]);
        let rerouted = p["sidechains"] != q["sidechains"]
            || old_inputs.as_array().map(Vec::len) != new_inputs.as_array().map(Vec::len);
        let inputs = &self.graph.graph[self.node].inputs;
        if rerouted {
            let node = self.label(self.node);
            let inputs = inputs.iter().map(|&i| self.label(i)).collect();
            self.out.push(DirtyReason::Rerouted { node, inputs });
        } else if let (Some(a), Some(b)) = (old_inputs.as_array(), new_inputs.as_array()) {
            for ((x, y), &input) in a.iter().zip(b).zip(inputs) {
                if x == y {
                    continue;
                }
                // A source's key is its file's bytes (and the resampler), so a change there
                // is the file's, whichever node says it.
                let reason = match &self.graph.graph[input].kind {
                    NodeKind::Source { file } => {
                        DirtyReason::FileContent { file: self.file_name(file) }
                    }
                    _ => DirtyReason::InputChanged {
                        node: self.label(self.node),
                        input: self.label(input),
                    },
                };
                if !self.out.contains(&reason) {
                    self.out.push(reason);
                }
            }
        }
        self.out
    }

    /// A normalisation's settings, as the `master.loudness` block writes them.
    fn normalisation(&mut self, p: &Value, q: &Value) {
        let (old, new) = (&p["normalisation"], &q["normalisation"]);
        for (field, yaml, unit) in [
            ("target_lufs", "target", "LUFS"),
            ("ceiling_dbtp", "ceiling", "dBTP"),
            ("max_limiting_db", "max_limiting", "dB"),
        ] {
            if old[field] != new[field] {
                let spelled = |v: &Value| match v.as_f64() {
                    Some(v) => format!("{v} {unit}"),
                    None => "none".to_owned(),
                };
                let (old, new) = (spelled(&old[field]), spelled(&new[field]));
                let at = format!("{MASTER}.loudness.{yaml}");
                self.out.push(DirtyReason::Setting { at, old, new });
            }
        }
        if p["version"] != q["version"] {
            let (old, new) = (plain(&p["version"]), plain(&q["version"]));
            self.out.push(DirtyReason::Engine { what: "loudness normalisation", old, new });
        }
    }

    /// The feeds of a sum, as the faders, pans and send levels of the tracks and buses
    /// they come from.
    fn feeds(&mut self, feeds: &[crate::graph::Feed], old: &Value, new: &Value) {
        let (Some(a), Some(b)) = (old.as_array(), new.as_array()) else { return };
        if a.len() != b.len() {
            return; // The inputs differ too, which says it better.
        }
        let sources = self.graph.graph[self.node].main_inputs();
        for (((x, y), feed), &source) in a.iter().zip(b).zip(feeds).zip(sources) {
            let section = match self.graph.graph[source].kind {
                NodeKind::Track { .. } => "tracks",
                _ => "buses",
            };
            let from = format!("{section}.{}", feed.from);
            let (old_gains, new_gains) = (as_list(&x["gains"]), as_list(&y["gains"]));
            for (k, (g, h)) in old_gains.iter().zip(&new_gains).enumerate() {
                if g == h {
                    continue;
                }
                // A post-fader send's gains are the fader, then the send level.
                let at = match feed.send {
                    Some(send) if k + 1 == new_gains.len() => format!("{from}.sends[{send}].level"),
                    _ => format!("{from}.gain"),
                };
                self.out.push(DirtyReason::Setting { at, old: decibels(g), new: decibels(h) });
            }
            if x["pan"] != y["pan"] {
                let (old, new) = (pan(&x["pan"]), pan(&y["pan"]));
                self.out.push(DirtyReason::Setting { at: format!("{from}.pan"), old, new });
            }
        }
    }

    /// A chain, step by step: a processor swapped, a processor's version, or its settings.
    fn chain(&mut self, at: &str, old: &Value, new: &Value) {
        let (Some(a), Some(b)) = (old.as_array(), new.as_array()) else { return };
        let kinds = |steps: &[Value]| {
            let names: Vec<String> = steps.iter().map(|s| plain(&s["kind"])).collect();
            if names.is_empty() { "(empty)".to_string() } else { names.join(" > ") }
        };
        if kinds(a) != kinds(b) {
            let (old, new) = (kinds(a), kinds(b));
            self.out.push(DirtyReason::Setting { at: at.to_string(), old, new });
            return;
        }
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let kind = plain(&y["kind"]);
            if x["version"] != y["version"] {
                let version = |v: &Value| v["version"].as_u64().unwrap_or(0);
                let (old, new) = (version(x), version(y));
                self.out.push(DirtyReason::ProcessorVersion { processor: kind.clone(), old, new });
            }
            let step_at = format!("{at}[{i}].{kind}");
            if kind == "parallel" {
                let (p, q) = (as_list(&x["params"]), as_list(&y["params"]));
                if p.len() == q.len() {
                    for (j, (branch_old, branch_new)) in p.iter().zip(&q).enumerate() {
                        self.chain(&format!("{step_at}[{j}]"), branch_old, branch_new);
                    }
                    continue;
                }
            }
            self.generic(&step_at, &x["params"], &y["params"]);
        }
    }

    /// Every leaf that differs under `at`, with its canonical value.
    fn generic(&mut self, at: &str, old: &Value, new: &Value) {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for name in names {
                    let null = Value::Null;
                    let (x, y) = (a.get(name).unwrap_or(&null), b.get(name).unwrap_or(&null));
                    self.generic(&format!("{at}.{name}"), x, y);
                }
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    self.generic(&format!("{at}[{i}]"), x, y);
                }
            }
            _ if old != new => {
                let (old, new) = (plain(old), plain(new));
                self.out.push(DirtyReason::Setting { at: at.to_string(), old, new });
            }
            _ => {}
        }
    }

    /// What changed in an album's node.
    fn album(&mut self, p: &Value, q: &Value) {
        match &self.graph.graph[self.node].kind {
            NodeKind::Song { .. } => {
                self.chain("mastering.chain", &p["chain"], &q["chain"]);
                self.generic("length", &p["length"], &q["length"]);
            }
            NodeKind::AlbumAnalysis { .. } => {
                self.generic("songs", &p["album"]["songs"], &q["album"]["songs"]);
                let (old, new) = (&p["album"]["loudness"], &q["album"]["loudness"]);
                self.generic("mastering.loudness", old, new);
            }
            NodeKind::Segment { .. } => {
                self.generic("the segment's songs, gains and timing", &p["plan"], &q["plan"]);
            }
            NodeKind::AlbumEncode { target, .. } => {
                self.generic(&format!("deliver.{}", target.name), &p["target"], &q["target"]);
            }
            NodeKind::Cue { .. } => self.generic("the cue sheet's text", &p["sheet"], &q["sheet"]),
            _ => {}
        }
    }

    /// Where the node is written in the YAML: `tracks.vox`, `buses.drums`, `master`.
    fn yaml_path(&self) -> String {
        let node = &self.graph.graph[self.node];
        let name = last_segment(&node.id);
        match node.kind {
            NodeKind::Track { .. } => format!("tracks.{name}"),
            NodeKind::Sum { .. } if name == MASTER => MASTER.to_string(),
            _ => format!("buses.{name}"),
        }
    }

    /// A node as a user names it: `track vox`, `bus drums`, `master`, `file stems/vox.flac`.
    fn label(&self, node: NodeIndex) -> String {
        let node = &self.graph.graph[node];
        let name = last_segment(&node.id);
        match &node.kind {
            NodeKind::Source { file } => format!("file {}", self.file_name(file)),
            NodeKind::Track { .. } => format!("track {name}"),
            NodeKind::Sum { .. } if name == MASTER => MASTER.to_string(),
            NodeKind::Sum { .. } => format!("bus {name}"),
            NodeKind::Normalise { .. } => format!("{MASTER}.loudness"),
            NodeKind::Output { name, .. } => format!("output {name}"),
            NodeKind::Encode { target, .. } => format!("the encoding of target {}", target.name),
            NodeKind::Deliver { target, .. } => format!("target {target}"),
            NodeKind::Song { .. } => format!("song {}", node.id.split('/').next().unwrap_or(name)),
            NodeKind::AlbumAnalysis { .. } => "the album's loudness".to_string(),
            NodeKind::Segment { .. } => format!("segment {}", node.id),
            NodeKind::AlbumEncode { target, .. } => {
                format!("the encoding of target {}", target.name)
            }
            NodeKind::Cue { target, .. } => format!("the cue sheet of target {target}"),
        }
    }

    fn file_name(&self, file: &Path) -> String {
        file.strip_prefix(self.project_dir).unwrap_or(file).display().to_string()
    }
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn as_list(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

/// A value as text: strings without quotes, numbers without a needless `.0`, `none` for
/// null, anything else as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |x| x.to_string()),
        Value::Null => "none".to_string(),
        other => other.to_string(),
    }
}

/// A level or its automation, in dB.
fn decibels(value: &Value) -> String {
    match value {
        Value::Number(_) | Value::String(_) => format!("{} dB", plain(value)),
        Value::Array(points) => format!("automation of {} points", points.len()),
        other => plain(other),
    }
}

/// A stereo position as a pan is written: `30% left`, `center`.
fn pan(value: &Value) -> String {
    match value.as_f64() {
        Some(x) if x < 0.0 => format!("{}% left", round_percent(-x)),
        Some(x) if x > 0.0 => format!("{}% right", round_percent(x)),
        Some(_) => "center".to_string(),
        None => decibels(value).replace(" dB", ""),
    }
}

fn round_percent(fraction: f64) -> f64 {
    (fraction * 1e4).round() / 100.0
}

/// A length as the YAML writes it.
fn length(value: &Value) -> String {
    if let Some(seconds) = value.get("exact") {
        format!("{} s", plain(seconds))
    } else if let Some(seconds) = value.get("tail") {
        format!("a {} s tail", plain(seconds))
    } else {
        "until the mix decays".to_string()
    }
}

#[cfg(test)]
mod tests {
    use petgraph::graph::DiGraph;
    use serde_json::json;

    use super::*;
    use crate::graph::Node;
    use crate::units::{Decibels, Param};

    /// A graph of one bus with no inputs, and the JSON of a key material for it.
    fn bus(chain: &Value) -> (RenderGraph, Value) {
        let mut graph = DiGraph::new();
        let kind = NodeKind::Sum {
            feeds: Vec::new(),
            gain: Param::Constant(Decibels(0.0)),
            chain: Vec::new(),
            sidechains: Vec::new(),
        };
        graph.add_node(Node {
            id: "song/bus/drums".into(),
            sample_rate: 48_000,
            kind,
            inputs: vec![],
        });
        let material = json!({
            "schema": 3, "dsp_epoch": 1, "kind": "sum", "sample_rate": 48_000,
            "params": { "feeds": [], "gain": 0.0, "chain": chain, "sidechains": [] },
            "inputs": [],
        });
        (RenderGraph { graph, targets: Vec::new() }, material)
    }

    fn reasons(old: &Value, new: &Value) -> Vec<String> {
        let (graph, before) = bus(old);
        let (_, after) = bus(new);
        let node = graph.graph.node_indices().next().unwrap();
        dirty_reasons(&graph, node, &before, &after, Path::new("/"))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_processor_version_bump_says_mixdown_changed_the_processor() {
        let step = |version| json!([{ "kind": "compressor", "version": version, "params": { "ratio": 4.0 } }]);
        assert_eq!(
            reasons(&step(2), &step(3)),
            ["mixdown changed how compressor works (version 2 → 3)"]
        );
    }

    #[test]
    fn a_step_added_to_a_chain_lists_the_chain_before_and_after() {
        let one = json!([{ "kind": "eq", "version": 1, "params": {} }]);
        let two = json!([{ "kind": "eq", "version": 1, "params": {} }, { "kind": "gate", "version": 1, "params": {} }]);
        assert_eq!(reasons(&one, &two), ["buses.drums.chain: eq → eq > gate"]);
    }

    #[test]
    fn a_setting_inside_a_parallel_branch_names_its_branch() {
        let branch = |gain: f64| json!([{ "kind": "parallel", "version": 1, "params": [[], [{ "kind": "gain", "version": 1, "params": { "gain": gain } }]] }]);
        assert_eq!(
            reasons(&branch(-6.0), &branch(-3.5)),
            ["buses.drums.chain[0].parallel[1][0].gain.gain: -6 → -3.5"]
        );
    }
}
