//! Running the plan: each node starts on a rayon pool as soon as its inputs are in the
//! cache (see `dispatch`). Every node is deterministic on its own and reads only finished
//! entries, so the output never depends on thread count or on which node finishes first.
//!
//! A damaged cache entry found while reading is dropped, reported, and the plan is made
//! again, so it is rendered afresh instead of served.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Instant;

use petgraph::graph::NodeIndex;

use super::album_analysis::run_album_analysis;
use super::album_encode::run_album_encode;
use super::cue::run_cue;
use super::deliver::run_deliver;
use super::dispatch::dispatch;
use super::encode::run_encode;
use super::job::Job;
use super::normalise::{Normalised, run_normalise};
use super::output::{Delivery, delivered_loudness, measured_loudness, normalised, run_output};
use super::plan::{PlanStep, keeps_entry, keeps_record, plan};
use super::segment::{SegmentNode, run_segment};
use super::shard::shared_nodes;
use super::song::run_song;
use super::source::run_source;
use super::sum::run_sum;
use super::track::run_track;
use super::{NodeError, RenderError, RenderEvent, RenderReport, TargetLoudness};
use crate::cache::folder::CacheDir;
use crate::cache::housekeeping::Housekeeping;
use crate::cache::keys::Keys;
use crate::cache::latest_render::LatestRender;
use crate::cache::measurement;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph};

/// How to render.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Where the targets' files go, and their format.
    pub delivery: Delivery,
}

/// Hears about a render's progress (a progress bar, JSON lines, or nothing), as it happens,
/// from whichever thread the news comes from.
pub trait Progress: Sync {
    /// `count` nodes are about to run.
    fn planned(&self, count: usize);
    /// A node is about to run; each node [`Progress::planned`] counted is named once.
    fn will_run(&self, _id: &str) {}
    /// A node finished, whether it succeeded or not.
    fn finished(&self, id: &str);
    /// Something happened to a node: each of [`RenderReport::events`] as it is logged,
    /// while the render goes on.
    fn event(&self, _event: &RenderEvent) {}
}

/// A render's events, told to its [`Progress`] the moment each is logged.
struct EventLog<'a> {
    progress: &'a dyn Progress,
    events: Mutex<Vec<RenderEvent>>,
}

impl EventLog<'_> {
    fn log(&self, event: RenderEvent) {
        self.progress.event(&event);
        self.events.lock().expect("no thread panicked holding the lock").push(event);
    }
}

/// Renders `targets` and whatever they need that the cache lacks. A cache record that
/// cannot be written is one warning, never a failure: the render does not depend on it.
///
/// # Errors
/// The first node that failed, after the nodes running beside it have finished.
pub fn render(
    graph: &RenderGraph,
    keys: &Keys,
    store: &Store,
    cache: &CacheDir,
    targets: &[NodeIndex],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<RenderReport, RenderError> {
    let _housekeeping = Housekeeping::start(cache, store);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.jobs.max(1))
        .build()
        .expect("a thread pool of a few threads can be built");
    let shared = store.remote().map(|_| shared_nodes(graph, targets)).unwrap_or_default();
    let mut report = RenderReport::default();
    let log = EventLog { progress, events: Mutex::default() };
    let mut record_failure = None;
    // Each retry removes at least one damaged entry, so this many always suffice.
    for _ in 0..=graph.graph.node_count() {
        let plan = plan_at_hand(graph, keys, store, cache, &settings.delivery, targets);
        let Some(plan) = plan else { continue };
        report.considered = plan.steps.iter().filter(|(_, s)| *s != PlanStep::Direct).count();
        for (i, _) in plan.steps.iter().filter(|(_, s)| *s == PlanStep::Cached) {
            log.log(RenderEvent::Hit(graph.graph[*i].id.clone()));
        }
        let to_render = plan.to_render();
        progress.planned(to_render.len());
        for &node in &to_render {
            progress.will_run(&graph.graph[node].id);
        }
        let run = |node: NodeIndex, link| {
            let started = Instant::now();
            let (measures, shares) =
                measures_and_shares(graph, keys, cache, &shared, &to_render, node);
            let job = Job::new(graph, keys, store, &plan.materialized, node, link);
            let result = run_node(&job, &settings.delivery, cache);
            let id = &graph.graph[node].id;
            progress.finished(id);
            match &result {
                Ok(()) => {
                    if shares {
                        share(graph, keys, store, cache, node);
                    }
                    log.log(RenderEvent::Rendered(id.clone(), started.elapsed().as_secs_f64()));
                    if measures {
                        log.log(RenderEvent::Measured(id.clone()));
                    }
                }
                Err(NodeError::CorruptInput { key, .. }) => {
                    log.log(RenderEvent::Repaired(owner_of(graph, keys, key)));
                }
                Err(_) => {}
            }
            result
        };
        let mut damaged = false;
        let mut failure = None;
        let mut interrupted = None;
        let pipelines = settings.jobs > 1;
        for (node, result) in dispatch(&pool, graph, &to_render, pipelines, &run) {
            let id = graph.graph[node].id.clone();
            match result {
                Ok(()) => {
                    let key = keys.key(node);
                    let recorded = LatestRender::record(cache, &id, key, keys.material(node));
                    record_failure = record_failure.or(recorded.err());
                }
                Err(NodeError::CorruptInput { key, reason }) => {
                    if let Err(e) = store.remove(&key) {
                        report
                            .warnings
                            .push(format!("cannot remove damaged cache entry {key}: {e}"));
                    }
                    let owner = owner_of(graph, keys, &key);
                    report.warnings.push(format!(
                        "cache entry of `{owner}` was damaged ({reason}); it was removed and rendered again"
                    ));
                    damaged = true;
                }
                // The node it read from failed and says why; this one runs in the next
                // pass if that failure was a damaged entry.
                Err(NodeError::Interrupted) => interrupted = interrupted.or(Some(id)),
                Err(error) => failure = failure.or(Some(RenderError { node: id, error })),
            }
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        if !damaged {
            if let Some(e) = record_failure {
                report.warnings.push(format!(
                    "cannot write to the cache at `{}` ({e}); the render did not need it, \
                     but the next one may redo work",
                    cache.root().display()
                ));
            }
            // Never reached while producers report their failures, but a render with a
            // node left unrendered must not pass for a success.
            if let Some(node) = interrupted {
                return Err(RenderError { node, error: NodeError::Interrupted });
            }
            report.events = log.events.into_inner().expect("no thread panicked holding the lock");
            report.loudness = targets_loudness(graph, keys, cache, targets);
            report.normalised = targets_normalised(graph, keys, cache, targets);
            return Ok(report);
        }
    }
    Err(RenderError {
        node: targets.first().map_or_else(String::new, |&t| graph.graph[t].id.clone()),
        error: NodeError::CacheWrite(std::io::Error::other(
            "cache entries kept failing their checksums; check the disk, or run `mixdown cache verify`",
        )),
    })
}

/// The id of the node whose cache entry is keyed `key`, or the key itself when no node of
/// the graph has it.
fn owner_of(graph: &RenderGraph, keys: &Keys, key: &crate::cache::Key) -> String {
    graph
        .graph
        .node_indices()
        .find(|&i| keys.key(i) == *key)
        .map_or_else(|| key.to_string(), |i| graph.graph[i].id.clone())
}

/// Plans the render, then copies the entries that only the remote holds and the plan reads
/// into the local cache, checked, before anything reads them. `None` when one did not
/// arrive intact: the remote no longer offers it, and the plan must be made again.
fn plan_at_hand(
    graph: &RenderGraph,
    keys: &Keys,
    store: &Store,
    cache: &CacheDir,
    delivery: &Delivery,
    targets: &[NodeIndex],
) -> Option<super::plan::Plan> {
    let plan = plan(graph, keys, store, cache, delivery, targets);
    let entries = store.bring_local(&plan.entries_read(graph, keys));
    let records = store.bring_records_local(cache, &plan.records_wanted(graph, keys, store, cache));
    (entries && records).then_some(plan)
}

/// Whether `node`'s run measures its audio, and whether what it leaves is shared. An
/// output whose audio was measured before writes without measuring. Its measurement is
/// shared beside the master it measures: a render that took the master from elsewhere has
/// nothing new to share, and would only wait on one more upload before it exits.
fn measures_and_shares(
    graph: &RenderGraph,
    keys: &Keys,
    cache: &CacheDir,
    shared: &BTreeSet<NodeIndex>,
    to_render: &[NodeIndex],
    node: NodeIndex,
) -> (bool, bool) {
    if !matches!(graph.graph[node].kind, NodeKind::Output { .. }) {
        return (false, shared.contains(&node));
    }
    let measures = !measurement::exists(cache, keys.key(node));
    let master_made_here = graph.graph[node].inputs.iter().any(|i| to_render.contains(i));
    (measures, measures && master_made_here && shared.contains(&node))
}

/// Uploads what `node` left that another machine can use: its entry and the record kept
/// beside it, if it keeps them.
fn share(graph: &RenderGraph, keys: &Keys, store: &Store, cache: &CacheDir, node: NodeIndex) {
    let Some(remote) = store.remote() else { return };
    let (kind, key) = (&graph.graph[node].kind, keys.key(node));
    // A segment's audio costs about as much to make again from its song as to fetch, and
    // the encodes made from it stand in for it elsewhere; its record (what a cue sheet and
    // the report read) is shared.
    if keeps_entry(kind) && !matches!(kind, NodeKind::Segment { .. }) {
        store.upload_later(key);
    }
    if keeps_record(kind)
        && let Some(record) = measurement::stored_bytes(cache, key)
    {
        remote.upload_record_later(&key, record);
    }
}

/// The name a target writes its file under: an output's or a deliverable's; `None` for a
/// node rendered on its own (`--only`).
fn target_name(graph: &RenderGraph, target: NodeIndex) -> Option<&String> {
    match &graph.graph[target].kind {
        NodeKind::Output { name, .. } | NodeKind::Deliver { target: name, .. } => Some(name),
        _ => None,
    }
}

/// The loudness each target's file was measured at as it was made. A deliverable's
/// figures are its encode node's, so a tag edit keeps them.
fn targets_loudness(
    graph: &RenderGraph,
    keys: &Keys,
    cache: &CacheDir,
    targets: &[NodeIndex],
) -> Vec<TargetLoudness> {
    targets
        .iter()
        .filter_map(|&target| {
            let name = target_name(graph, target)?;
            let record = match graph.graph[target].kind {
                NodeKind::Deliver { .. } => {
                    delivered_loudness(cache, keys, &graph.graph[target].inputs)?
                }
                _ => measured_loudness(cache, keys, target)?,
            };
            Some(TargetLoudness {
                node: graph.graph[target].id.clone(),
                name: name.clone(),
                record,
            })
        })
        .collect()
}

/// Each normalised target's name and what its normalisation did.
fn targets_normalised(
    graph: &RenderGraph,
    keys: &Keys,
    cache: &CacheDir,
    targets: &[NodeIndex],
) -> Vec<(String, Normalised)> {
    targets
        .iter()
        .filter_map(|&target| {
            let name = target_name(graph, target)?;
            Some((name.clone(), normalised(graph, cache, keys, target)?))
        })
        .collect()
}

fn run_node(job: &Job<'_>, delivery: &Delivery, cache: &CacheDir) -> Result<(), NodeError> {
    match &job.graph.graph[job.node].kind {
        NodeKind::Source { file } => run_source(job, file),
        NodeKind::Track { clips, polarity, chain, .. } => {
            run_track(job, clips.as_deref(), *polarity, chain)
        }
        NodeKind::Sum { feeds, gain, chain, .. } => run_sum(job, feeds, gain, chain),
        NodeKind::Normalise { normalisation } => run_normalise(job, normalisation, cache),
        NodeKind::Output { name, length, cut_fade_seconds } => {
            run_output(job, name, *length, *cut_fade_seconds, delivery, cache)
        }
        NodeKind::Encode { target, seed, length, cut_fade_seconds } => {
            run_encode(job, target, *seed, (*length, *cut_fade_seconds), cache)
        }
        NodeKind::Deliver { target, file_name, tags } => {
            run_deliver(job, &delivery.target_path(target, file_name), tags, cache)
        }
        NodeKind::Song { chain, length, cut_fade_seconds } => {
            run_song(job, chain, *length, *cut_fade_seconds)
        }
        NodeKind::AlbumAnalysis { stage, album } => run_album_analysis(job, *stage, album, cache),
        kind @ NodeKind::Segment { .. } => {
            run_segment(job, SegmentNode::of(kind).expect("a segment's kind"), cache)
        }
        NodeKind::AlbumEncode { target, span, seeds } => {
            run_album_encode(job, target, *span, seeds, cache)
        }
        NodeKind::Cue { target, file_name, sheet } => {
            run_cue(job, &delivery.target_path(target, file_name), sheet, cache)
        }
    }
}
