//! Routing checks: what each track and bus feeds, and cycles in that routing.

use std::collections::BTreeMap;

/// One routing edge: `from` feeds (or keys) `to`, declared at `yaml_path`.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The upstream track or bus.
    pub from: String,
    /// The downstream bus, or the track or bus whose processor listens to `from`.
    pub to: String,
    /// Where the edge is written.
    pub yaml_path: String,
}

/// How far the depth-first search has got with a name.
#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Unseen,
    Active,
    Done,
}

/// Finds a cycle in the routing, as the names along it (`a → b → a`) and the edge that
/// closes it. Traversal order is by name, so the same project always reports the same cycle.
#[must_use]
pub fn find_cycle(edges: &[Edge]) -> Option<(Vec<String>, Edge)> {
    let mut next: BTreeMap<&str, Vec<&Edge>> = BTreeMap::new();
    for e in edges {
        next.entry(e.from.as_str()).or_default().push(e);
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    let mut path: Vec<&str> = Vec::new();
    let starts: Vec<&str> = next.keys().copied().collect();
    starts.into_iter().find_map(|start| {
        let unseen = marks.get(start).copied().unwrap_or(Mark::Unseen) == Mark::Unseen;
        if unseen { visit(start, &next, &mut marks, &mut path) } else { None }
    })
}

fn visit<'a>(
    node: &'a str,
    next: &BTreeMap<&'a str, Vec<&'a Edge>>,
    marks: &mut BTreeMap<&'a str, Mark>,
    path: &mut Vec<&'a str>,
) -> Option<(Vec<String>, Edge)> {
    marks.insert(node, Mark::Active);
    path.push(node);
    for edge in next.get(node).into_iter().flatten() {
        match marks.get(edge.to.as_str()).copied().unwrap_or(Mark::Unseen) {
            Mark::Active => {
                let start = path.iter().position(|n| *n == edge.to).unwrap_or(0);
                let mut names: Vec<String> =
                    path[start..].iter().map(|s| (*s).to_string()).collect();
                names.push(edge.to.clone());
                return Some((names, (*edge).clone()));
            }
            Mark::Unseen => {
                if let Some(found) = visit(&edge.to, next, marks, path) {
                    return Some(found);
                }
            }
            Mark::Done => {}
        }
    }
    path.pop();
    marks.insert(node, Mark::Done);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: &str, to: &str) -> Edge {
        Edge { from: from.into(), to: to.into(), yaml_path: format!("{from}->{to}") }
    }

    #[test]
    fn a_two_bus_loop_is_reported_with_its_names_in_order() {
        let (names, closing) =
            find_cycle(&[edge("a", "b"), edge("b", "a"), edge("t", "a")]).unwrap();
        assert_eq!(names, vec!["a", "b", "a"]);
        assert_eq!(closing.yaml_path, "b->a");
    }

    #[test]
    fn a_tree_has_no_cycle() {
        assert!(find_cycle(&[edge("t1", "a"), edge("t2", "a"), edge("a", "b")]).is_none());
    }
}
