//! Rendering a graph whose keys settle in stages. A node downstream of an analysis (an
//! album's segment, reading the gains its analysis chose) keys on the value it reads, not
//! on the analysis's key: an edit that leaves the value alone then stops at the analysis
//! (salsa's early cutoff). Such a key is known only once the analysis has run, so the
//! render goes in stages: the analyses that unsettled nodes wait on (and whose own inputs
//! are settled) render first, the keys are computed again, and so on until every node the
//! targets need is settled; then the targets render.

use std::collections::BTreeSet;

use petgraph::graph::NodeIndex;
use serde_json::Value;

use super::album_record::AlbumRecord;
use super::schedule::{Progress, Settings, render};
use super::{NodeError, RenderError, RenderEvent, RenderReport};
use crate::cache::Key;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::measurement;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph};

/// The value `node` settles on, read from the record of the analysis keyed `analysis`:
/// a segment's plan. `None` while the analysis has not run.
#[must_use]
pub fn settled_value(
    graph: &RenderGraph,
    cache: &CacheDir,
    node: NodeIndex,
    analysis: Key,
) -> Option<Value> {
    let NodeKind::Segment { segment, cd, .. } = graph.graph[node].kind else { return None };
    let record = measurement::load::<AlbumRecord>(cache, analysis)?;
    let plan = serde_json::to_value(record.plans.get(segment)?).ok()?;
    // A CD segment's ends fall on the album's CD frames, so where it starts is its own.
    let start = cd.then(|| record.segment_starts.get(segment).copied()).flatten();
    Some(match start {
        Some(start) => serde_json::json!({ "plan": plan, "start": start }),
        None => plan,
    })
}

/// Renders `targets` as [`render`] does, first rendering the analyses that the nodes they
/// need wait on, stage by stage, and keying again after each with `rekey`. On return
/// `keys` are the settled keys the targets rendered with.
///
/// # Errors
/// The first node that failed, or `rekey`'s failure.
#[allow(clippy::too_many_arguments)] // One render's whole context, as `render` takes it.
pub fn render_settled(
    graph: &RenderGraph,
    keys: &mut Keys,
    rekey: &mut dyn FnMut() -> Result<Keys, RenderError>,
    store: &Store,
    cache: &CacheDir,
    targets: &[NodeIndex],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<RenderReport, RenderError> {
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let needed = graph.upstream(targets.iter().copied());
    // Each stage settles at least one more analysis, so this many always suffice.
    for _ in 0..=graph.graph.node_count() {
        let waiting: Vec<NodeIndex> =
            keys.unsettled().iter().copied().filter(|n| needed.contains(n)).collect();
        if waiting.is_empty() {
            let mut report = render(graph, keys, store, cache, targets, settings, progress)?;
            events.append(&mut report.events);
            warnings.append(&mut report.warnings);
            report.events = events;
            report.warnings = warnings;
            report.considered = considered(&report.events);
            return Ok(report);
        }
        let unsettled: BTreeSet<NodeIndex> = keys.unsettled().iter().copied().collect();
        let ready: Vec<NodeIndex> = waiting
            .iter()
            .filter_map(|&n| graph.graph[n].inputs.last().copied())
            .filter(|&analysis| graph.upstream([analysis]).is_disjoint(&unsettled))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut report = render(graph, keys, store, cache, &ready, settings, progress)?;
        events.append(&mut report.events);
        warnings.append(&mut report.warnings);
        *keys = rekey()?;
    }
    Err(RenderError {
        node: targets.first().map_or_else(String::new, |&t| graph.graph[t].id.clone()),
        error: NodeError::Interrupted,
    })
}

/// The nodes the stages looked at, each once.
fn considered(events: &[RenderEvent]) -> usize {
    let ids = events.iter().filter_map(|event| match event {
        RenderEvent::Hit(id) | RenderEvent::Rendered(id, _) | RenderEvent::Repaired(id) => Some(id),
        RenderEvent::Measured(_) => None,
    });
    ids.collect::<BTreeSet<_>>().len()
}
