//! Nodes by the names users write: a full id (`first-light/track/vox`), or any tail of it
//! that only one node has (`vox`, `track/vox`, `drums`, `master`).

use std::fmt;

use petgraph::graph::NodeIndex;

use super::RenderGraph;
use crate::diag::did_you_mean;

/// A name that picks out no node, or more than one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnknownNode {
    /// No node has this name.
    NotFound {
        /// The name as given.
        name: String,
        /// The nearest name a node has, if one is close.
        nearest: Option<String>,
    },
    /// Several nodes end in this name.
    Ambiguous {
        /// The name as given.
        name: String,
        /// The ids of the nodes it could mean, sorted.
        ids: Vec<String>,
    },
}

impl fmt::Display for UnknownNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { name, nearest } => {
                write!(f, "no node `{name}` in this mix\n  = help: ")?;
                match nearest {
                    Some(near) => write!(f, "did you mean `{near}`?"),
                    None => write!(f, "`mixdown graph` lists the nodes"),
                }
            }
            Self::Ambiguous { name, ids } => {
                write!(f, "`{name}` could be any of {} nodes\n  = help: name one of ", ids.len())?;
                let quoted: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
                write!(f, "{}", quoted.join(", "))
            }
        }
    }
}

impl std::error::Error for UnknownNode {}

/// Whether `name` is `id` or a whole-segment tail of it.
fn names(id: &str, name: &str) -> bool {
    id == name || id.strip_suffix(name).is_some_and(|head| head.ends_with('/'))
}

impl RenderGraph {
    /// The node that `name` picks out: its full id, or a tail of its id that no other node
    /// shares.
    ///
    /// # Errors
    /// When no node, or more than one, has that name; the error suggests near names.
    pub fn resolve(&self, name: &str) -> Result<NodeIndex, UnknownNode> {
        if let Some(exact) = self.find(name) {
            return Ok(exact);
        }
        let matches: Vec<NodeIndex> =
            self.graph.node_indices().filter(|&i| names(&self.graph[i].id, name)).collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => {
                let short = self.graph.node_weights().map(|n| last_segment(&n.id));
                let ids = self.graph.node_weights().map(|n| n.id.as_str());
                let nearest = did_you_mean(name, short.chain(ids)).map(str::to_string);
                Err(UnknownNode::NotFound { name: name.to_string(), nearest })
            }
            several => {
                let mut ids: Vec<String> =
                    several.iter().map(|&i| self.graph[i].id.clone()).collect();
                ids.sort();
                Err(UnknownNode::Ambiguous { name: name.to_string(), ids })
            }
        }
    }

    /// The shortest name that picks out `node`: the last segment of its id when no other
    /// node ends in it, else its full id.
    #[must_use]
    pub fn short_name(&self, node: NodeIndex) -> &str {
        let id = &self.graph[node].id;
        let short = last_segment(id);
        if self.graph.node_weights().filter(|n| names(&n.id, short)).count() == 1 {
            short
        } else {
            id
        }
    }
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Node, NodeKind};
    use crate::ir::Length;
    use petgraph::graph::DiGraph;

    fn graph(ids: &[&str]) -> RenderGraph {
        let mut graph = DiGraph::new();
        for id in ids {
            let kind = NodeKind::Output {
                name: (*id).to_string(),
                length: Length::Natural,
                cut_fade_seconds: 0.0,
            };
            graph.add_node(Node {
                id: (*id).to_string(),
                sample_rate: 48_000,
                kind,
                inputs: vec![],
            });
        }
        RenderGraph { graph, targets: Vec::new() }
    }

    #[test]
    fn a_short_name_that_one_node_has_picks_it() {
        let g = graph(&["song/track/vox", "song/bus/drums", "song/master", "song/source/vox.flac"]);
        assert_eq!(g.graph[g.resolve("vox").unwrap()].id, "song/track/vox");
        assert_eq!(g.graph[g.resolve("drums").unwrap()].id, "song/bus/drums");
        assert_eq!(g.graph[g.resolve("master").unwrap()].id, "song/master");
        assert_eq!(g.graph[g.resolve("track/vox").unwrap()].id, "song/track/vox");
        assert_eq!(g.graph[g.resolve("song/master").unwrap()].id, "song/master");
    }

    #[test]
    fn a_part_of_a_segment_is_not_a_name() {
        let g = graph(&["song/track/vox"]);
        assert!(matches!(g.resolve("ox"), Err(UnknownNode::NotFound { .. })));
    }

    #[test]
    fn a_name_two_nodes_share_lists_both() {
        let g = graph(&["a/track/vox", "b/track/vox"]);
        let error = g.resolve("vox").unwrap_err();
        assert_eq!(
            error,
            UnknownNode::Ambiguous {
                name: "vox".into(),
                ids: vec!["a/track/vox".into(), "b/track/vox".into()]
            }
        );
        assert_eq!(g.short_name(g.resolve("a/track/vox").unwrap()), "a/track/vox");
    }

    #[test]
    fn a_misspelt_name_suggests_the_nearest_short_name() {
        let g = graph(&["song/track/vox", "song/bus/drums"]);
        let error = g.resolve("drum").unwrap_err();
        assert_eq!(
            error.to_string(),
            "no node `drum` in this mix\n  = help: did you mean `drums`?"
        );
    }
}
