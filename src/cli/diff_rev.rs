//! `mixdown diff --rev REV [FILE]`: what a commit did to the sound. The revision is checked
//! out beside the working tree, the same project path is compiled in both, and every node
//! is keyed in both. Nodes whose keys match are the same audio, so they are neither
//! rendered again nor compared; when every key matches (a commit that changed only comments
//! or formatting) the answer is `identical` and nothing renders at all.
//!
//! Otherwise both are rendered with the same cache, so the nodes they share cost nothing,
//! each master into a temporary 32-bit float file; then each node whose key differs is
//! compared through its cache entry, and each output through its file.
//!
//! An album file is compared in `diff_album`, with the checkout, the change list and the
//! messages this module shares.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use petgraph::graph::NodeIndex;

use super::diff_album;
use super::diff_cmd::{draw_difference_of, print_comparison};
use super::git_checkout::Checkout;
use super::messages::{self, DiffMessage, Message};
use super::progress::Bar;
use super::render_cmd::compute_keys;
use super::{EXIT_FAILURE, EXIT_INVALID, EXIT_OK, compile_and_report, counted};
use crate::analysis::compare::{Which, compare};
use crate::analysis::{AudioStream, FileStream};
use crate::atomic_file::TemporaryFolder;
use crate::audio::encode::Encoding;
use crate::audio::wav::WavFormat;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph};
use crate::project::{ProjectKind, project_kind};
use crate::render::{Delivery, Settings, render};

/// The name of the temporary folder the two renders' files go to.
const RENDERS_FOLDER: &str = "mixdown-diff-";

/// How `diff --rev` renders.
pub struct RevSettings {
    /// The cache both renders share.
    pub cache_dir: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// The folder to draw each output's difference in, with `--report`.
    pub pictures: Option<PathBuf>,
}

/// One side of the comparison: a compiled project with its outputs and keys.
struct Side {
    graph: RenderGraph,
    keys: Keys,
    /// The outputs to compare, by name: the project's own, or for a project that
    /// delivers, its final master's audio.
    outputs: Vec<(String, NodeIndex)>,
}

/// What happened to a node between the revision and the working tree.
pub enum NodeChange {
    /// In both, with different keys.
    Changed { id: String, before: NodeIndex, after: NodeIndex },
    /// Only in the working tree.
    Added(String),
    /// Only in the revision.
    Removed(String),
}

/// Runs `diff --rev`.
pub fn run(rev: &str, file: &Path, settings: &RevSettings) -> i32 {
    let (checkout, file_then) = match Checkout::of(rev, file) {
        Ok(checked_out) => checked_out,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_INVALID;
        }
    };
    if project_kind(file) == ProjectKind::Album {
        let code = diff_album::run(rev, &checkout, (&file_then, file), settings);
        drop(checkout);
        return code;
    }
    let Ok(now) = compile_and_report(file) else { return EXIT_INVALID };
    let Ok(then) = compile_and_report(&file_then) else {
        return does_not_compile(file, rev);
    };
    let run_start = SystemTime::now();
    let side = |graph: RenderGraph| -> Result<Side, String> {
        let (graph, outputs) = with_outputs(graph);
        let keys = compute_keys(&graph, &settings.cache_dir, run_start)?;
        Ok(Side { graph, keys, outputs })
    };
    let (before, after) = match (side(then.graph), side(now.graph)) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("error: {message}");
            return EXIT_FAILURE;
        }
    };
    let changes = node_changes((&before.graph, &before.keys), (&after.graph, &after.keys));
    let subject = subject(file, rev, &checkout);
    if changes.is_empty() {
        report_identical(&subject, "every node's key is unchanged: nothing rendered");
        drop(checkout);
        return EXIT_OK;
    }
    if !messages::json() {
        println!("{subject}: {}", counted(changes.len(), "node differs", "nodes differ"));
    }
    let code = render_and_compare(&before, &after, &changes, settings);
    drop(checkout);
    code
}

/// Says that `file` as of `rev` does not compile (its diagnostics are printed), and why
/// that may be. Returns the exit code.
pub fn does_not_compile(file: &Path, rev: &str) -> i32 {
    eprintln!(
        "error: `{}` as of `{rev}` does not compile\n  = help: audio files that git does not track are not in a checkout of a revision",
        file.display()
    );
    EXIT_INVALID
}

/// What a diff is about: `mix.yaml since HEAD~1 (1a2b3c4)`.
pub fn subject(file: &Path, rev: &str, checkout: &Checkout) -> String {
    let short = checkout.commit.get(..7).unwrap_or(&checkout.commit);
    format!("{} since {rev} ({short})", file.display())
}

/// The graph with the outputs a comparison reads: each output it has, or, for a project
/// that delivers encoded files, an output of each final master those files are made from.
fn with_outputs(mut graph: RenderGraph) -> (RenderGraph, Vec<(String, NodeIndex)>) {
    let mut outputs = Vec::new();
    let mut masters = Vec::new();
    for target in graph.targets.clone() {
        match &graph.graph[target].kind {
            NodeKind::Output { name, .. } => outputs.push((name.clone(), target)),
            NodeKind::Deliver { .. } => {
                let encode = graph.graph[target].inputs[0];
                let master = graph.graph[encode].inputs[0];
                if !masters.contains(&master) {
                    masters.push(master);
                }
            }
            _ => {}
        }
    }
    for master in masters {
        let name = graph.graph[master].id.replace('/', "-");
        let output = graph.add_solo_target(master, &name);
        outputs.push((name, output));
    }
    (graph, outputs)
}

/// Every node whose key differs between the two, in the working tree's order, then those
/// only the revision has.
pub fn node_changes(
    (graph_before, keys_before): (&RenderGraph, &Keys),
    (graph_after, keys_after): (&RenderGraph, &Keys),
) -> Vec<NodeChange> {
    let mut changes = Vec::new();
    for i in graph_after.topological_order() {
        let id = &graph_after.graph[i].id;
        match graph_before.find(id) {
            Some(j) if keys_before.key(j) == keys_after.key(i) => {}
            Some(j) => changes.push(NodeChange::Changed { id: id.clone(), before: j, after: i }),
            None => changes.push(NodeChange::Added(id.clone())),
        }
    }
    for j in graph_before.topological_order() {
        let id = &graph_before.graph[j].id;
        if graph_after.find(id).is_none() {
            changes.push(NodeChange::Removed(id.clone()));
        }
    }
    changes
}

/// Says that nothing changed, and `why` it is known.
pub fn report_identical(subject: &str, why: &str) {
    if messages::json() {
        messages::emit(&Message::Diff(DiffMessage {
            subject: subject.to_owned(),
            verdict: "identical",
            difference_peak_dbfs: None,
            difference_rms_dbfs: None,
            loudness_change_lu: Some(0.0),
            true_peak_change_db: Some(0.0),
            loudness_range_change_lu: Some(0.0),
            low_change_db: Some(0.0),
            mid_change_db: Some(0.0),
            high_change_db: Some(0.0),
        }));
    } else {
        println!("{subject}\n  {why}\n  verdict: identical");
    }
}

/// A temporary folder for both sides' renders; `None`, said, when none can be made.
pub fn renders_folder() -> Option<TemporaryFolder> {
    TemporaryFolder::create(RENDERS_FOLDER)
        .map_err(|e| eprintln!("error: cannot create a folder for the renders: {e}"))
        .ok()
}

/// Renders both sides into a temporary folder, then compares each changed node and each
/// output.
fn render_and_compare(
    before: &Side,
    after: &Side,
    changes: &[NodeChange],
    settings: &RevSettings,
) -> i32 {
    let Some(folder) = renders_folder() else { return EXIT_FAILURE };
    let cache = CacheDir::new(&settings.cache_dir);
    let store = Store::local(&cache);
    let render_side = |side: &Side, name: &str| -> Result<Delivery, String> {
        let delivery = Delivery {
            out_dir: folder.path().join(name),
            encoding: Encoding::Wav(WavFormat::Float32),
        };
        std::fs::create_dir_all(&delivery.out_dir).map_err(|e| e.to_string())?;
        let targets: Vec<NodeIndex> = side.outputs.iter().map(|(_, i)| *i).collect();
        let run = Settings { jobs: settings.jobs, delivery };
        let report = render(&side.graph, &side.keys, &store, &cache, &targets, &run, &Bar::new())
            .map_err(|e| e.to_string())?;
        if !messages::json() {
            let ran = report.rendered().len();
            let of = counted(report.considered, "node", "nodes");
            eprintln!("rendered {ran} of {of} for the {name}");
        }
        Ok(run.delivery)
    };
    let (delivered_before, delivered_after) =
        match (render_side(before, "before"), render_side(after, "after")) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(message), _) | (_, Err(message)) => {
                eprintln!("error: {message}");
                return EXIT_FAILURE;
            }
        };
    for change in changes {
        match change {
            NodeChange::Changed { id, before: j, after: i } => {
                let kind = &after.graph.graph[*i].kind;
                if !matches!(
                    kind,
                    NodeKind::Track { .. } | NodeKind::Sum { .. } | NodeKind::Normalise { .. }
                ) {
                    continue;
                }
                let (key_before, key_after) = (before.keys.key(*j), after.keys.key(*i));
                // A master streamed straight into its file keeps no entry; its output is
                // compared below.
                if !store.contains(&key_before) || !store.contains(&key_after) {
                    continue;
                }
                let open = |which| -> Result<Box<dyn AudioStream>, String> {
                    let key = if which == Which::Before { key_before } else { key_after };
                    Ok(Box::new(store.open_entry(&key).map_err(|e| e.to_string())?))
                };
                match compare(&open) {
                    Ok(comparison) => print_comparison(id, &comparison),
                    Err(message) => eprintln!("warning: cannot compare `{id}`: {message}"),
                }
            }
            NodeChange::Added(id) => say_only_in(id, THE_WORKING_TREE),
            NodeChange::Removed(id) => say_only_in(id, THE_REVISION),
        }
    }
    for (name, _) in &after.outputs {
        if !before.outputs.iter().any(|(n, _)| n == name) {
            continue;
        }
        let (path_before, path_after) = (delivered_before.path(name), delivered_after.path(name));
        let open = |which| -> Result<Box<dyn AudioStream>, String> {
            let path = if which == Which::Before { &path_before } else { &path_after };
            Ok(Box::new(FileStream::open(path, None)?))
        };
        match compare(&open) {
            Ok(comparison) => print_comparison(&format!("output {name}"), &comparison),
            Err(message) => {
                eprintln!("error: cannot compare the output `{name}`: {message}");
                return EXIT_FAILURE;
            }
        }
        if let Some(folder) = &settings.pictures {
            let drawn = std::fs::create_dir_all(folder)
                .map_err(|e| format!("cannot create `{}`: {e}", folder.display()))
                .and_then(|()| draw_difference_of(&open, &folder.join(format!("{name}.diff.png"))));
            if let Err(message) = drawn {
                eprintln!("error: {message}");
                return EXIT_FAILURE;
            }
        }
    }
    EXIT_OK
}

/// Says that a node is only on one side, so there is nothing to compare it with: its
/// verdict is `added` or `removed`.
pub fn say_only_in(id: &str, side: &str) {
    if messages::json() {
        let verdict = if side == THE_WORKING_TREE { "added" } else { "removed" };
        messages::emit(&Message::Diff(DiffMessage {
            subject: id.to_owned(),
            verdict,
            difference_peak_dbfs: None,
            difference_rms_dbfs: None,
            loudness_change_lu: None,
            true_peak_change_db: None,
            loudness_range_change_lu: None,
            low_change_db: None,
            mid_change_db: None,
            high_change_db: None,
        }));
    } else {
        println!("{id}\n  only in {side}");
    }
}

/// The side a node only in the working tree is on.
pub const THE_WORKING_TREE: &str = "the working tree";

/// The side a node only in the revision is on.
pub const THE_REVISION: &str = "the revision";
