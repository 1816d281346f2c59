//! Splitting a render across runners (`--shard K/N`): each runner renders a deterministic
//! share of the graph's expensive work into a shared cache, and a final render then finds
//! it all there.
//!
//! The work is cut into units: the nodes that the targets read, passing through nodes that
//! only deliver or assemble what they read (an output). A unit is rendered with everything
//! upstream of it, so units that share nothing never duplicate work; for a mix, the unit is
//! its master, and a graph of several songs has a unit per song. An album's unit is a song
//! (its mix and its mastering chain) when its songs are the costliest part of it: the
//! analyses, segments and encodes that follow need every song, and the final render makes
//! them. Otherwise its units are its encodes, and every shard renders the songs and
//! analyses they need (see [`units`]). Units are dealt to shards
//! costliest first, each to the shard with the least estimated cost so far (ties to the
//! lowest shard), from costs per frame (see `cost`) summed over each unit's nodes: lengths
//! are not known before sources are decoded. The share depends only on the graph, so every
//! runner computes the same split without talking to the others.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use petgraph::graph::NodeIndex;

use super::cost::{FETCH_COST, node_cost};
use crate::graph::{NodeKind, RenderGraph};

/// One share of `count`, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which share, from 1 to `count`.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wrong = || format!("`{text}` is not a shard; write K/N with 1 ≤ K ≤ N, e.g. 1/4");
        let (k, n) = text.split_once('/').ok_or_else(wrong)?;
        let index: usize = k.trim().parse().map_err(|_| wrong())?;
        let count: usize = n.trim().parse().map_err(|_| wrong())?;
        if index == 0 || index > count {
            return Err(wrong());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Whether a node only delivers, assembles or masters what it reads, so that the units of
/// work are its inputs rather than itself: an output, a loudness normalisation, and every
/// node of an album after its songs
/// (which the final render makes from the songs the shards left in the cache).
fn passes_through(graph: &RenderGraph, node: NodeIndex) -> bool {
    match &graph.graph[node].kind {
        NodeKind::Output { .. }
        | NodeKind::Normalise { .. }
        | NodeKind::AlbumAnalysis { .. }
        | NodeKind::Segment { .. }
        | NodeKind::AlbumEncode { .. }
        | NodeKind::Cue { .. } => true,
        NodeKind::Deliver { .. } => graph.graph[node]
            .inputs
            .iter()
            .any(|&i| matches!(graph.graph[i].kind, NodeKind::AlbumEncode { .. })),
        _ => false,
    }
}

/// The units of work of `targets`, with their estimated costs, in a fixed order.
///
/// An album's songs are its units when they are its costliest part. When they cost less
/// than the segments and encodes after the analyses (`file:` songs under a mastering
/// chain, say), the units are the album's encodes instead: every shard then renders every
/// song and analysis that its encodes need, which costs it less than the share of the
/// encodes it takes off the final render, and the final render only writes the files.
fn units(graph: &RenderGraph, targets: &[NodeIndex]) -> Vec<(NodeIndex, u64)> {
    let (found, _) = walk_to_units(graph, targets);
    let encodes = album_encodes(graph, targets);
    if !encodes.is_empty() {
        let common = graph.upstream(analyses(graph, &encodes));
        let songs: u64 =
            graph.upstream(found.iter().copied()).iter().map(|&i| cost(graph, i)).sum();
        let split: Vec<(NodeIndex, u64)> = encodes
            .into_iter()
            .map(|encode| {
                let own = graph.upstream([encode]);
                (encode, own.difference(&common).map(|&i| cost(graph, i)).sum())
            })
            .collect();
        if songs < split.iter().map(|(_, cost)| cost).sum() {
            return split;
        }
    }
    found.into_iter().map(|unit| (unit, upstream_cost(graph, unit))).collect()
}

/// The album encodes that `targets` read.
fn album_encodes(graph: &RenderGraph, targets: &[NodeIndex]) -> BTreeSet<NodeIndex> {
    graph
        .upstream(targets.iter().copied())
        .into_iter()
        .filter(|&i| matches!(graph.graph[i].kind, NodeKind::AlbumEncode { .. }))
        .collect()
}

/// The album analyses upstream of `nodes`.
fn analyses(graph: &RenderGraph, nodes: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
    graph
        .upstream(nodes.iter().copied())
        .into_iter()
        .filter(|&i| matches!(graph.graph[i].kind, NodeKind::AlbumAnalysis { .. }))
        .collect()
}

fn cost(graph: &RenderGraph, node: NodeIndex) -> u64 {
    node_cost(&graph.graph[node].kind)
}

/// The units of work of `targets`, and the nodes passed through on the way to them.
fn walk_to_units(
    graph: &RenderGraph,
    targets: &[NodeIndex],
) -> (BTreeSet<NodeIndex>, BTreeSet<NodeIndex>) {
    let mut found = BTreeSet::new();
    let mut passed = BTreeSet::new();
    let mut stack = targets.to_vec();
    let mut seen = BTreeSet::new();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        if passes_through(graph, i) {
            passed.insert(i);
            stack.extend(graph.graph[i].inputs.iter().copied());
        } else {
            found.insert(i);
        }
    }
    (found, passed)
}

/// The nodes whose entries (and records) are worth sharing through a remote cache: the
/// units of work of `targets`, every node between them and the targets, and the encodes a
/// deliverable's file is made from, which is what a final render or a runner with an empty
/// cache reads. The nodes upstream of a unit (sources, tracks, buses) cost less to render
/// again than to fetch: a 3-minute track is 69 MB of entry, rendered in a tenth of a
/// second. So does an album's song made from a file under a light mastering chain, which
/// costs less than [`FETCH_COST`]: a runner reads the album's encodes, not its songs.
#[must_use]
pub fn shared_nodes(graph: &RenderGraph, targets: &[NodeIndex]) -> BTreeSet<NodeIndex> {
    let (mut shared, passed) = walk_to_units(graph, targets);
    shared.retain(|&unit| {
        !matches!(graph.graph[unit].kind, NodeKind::Song { .. })
            || upstream_cost(graph, unit) >= FETCH_COST
    });
    shared.extend(passed);
    let encodes: Vec<NodeIndex> = shared
        .iter()
        .filter(|&&i| matches!(graph.graph[i].kind, NodeKind::Deliver { .. }))
        .flat_map(|&i| graph.graph[i].inputs.iter().copied())
        .collect();
    shared.extend(encodes);
    shared
}

/// The estimated cost per frame of `unit` and everything upstream of it.
fn upstream_cost(graph: &RenderGraph, unit: NodeIndex) -> u64 {
    graph.upstream([unit]).into_iter().map(|i| cost(graph, i)).sum()
}

/// The nodes that `shard` renders of the work `targets` need, in id order: empty when
/// there are fewer units than shards and this one is left over.
#[must_use]
pub fn shard_targets(graph: &RenderGraph, targets: &[NodeIndex], shard: Shard) -> Vec<NodeIndex> {
    let mut units = units(graph, targets);
    // Costliest first; the id breaks ties, so the deal never depends on indices.
    units.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| graph.graph[a.0].id.cmp(&graph.graph[b.0].id)));
    let mut loads = vec![0_u64; shard.count];
    let mut mine = Vec::new();
    for (unit, cost) in units {
        let lightest = (0..shard.count).min_by_key(|&s| (loads[s], s)).unwrap_or(0);
        loads[lightest] += cost;
        if lightest + 1 == shard.index {
            mine.push(unit);
        }
    }
    mine.sort_by(|&a, &b| graph.graph[a].id.cmp(&graph.graph[b].id));
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_reads_k_of_n_and_refuses_anything_else() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(" 1 / 1 ".parse::<Shard>().map(|s| s.to_string()), Ok("1/1".to_owned()));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("K/N"), "{bad}: {e}");
        }
    }
}
