//! `mixdown explain`: say whether a node is cached and, if not, why it will render again,
//! in the terms of the project file.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use petgraph::graph::NodeIndex;

use super::render_cmd::compute_keys;
use super::{CacheArgs, DEFAULT_PROJECT, EXIT_FAILURE, EXIT_INVALID, EXIT_OK, graph_and_report};
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::latest_render::LatestRender;
use crate::cache::output_record::OutputRecord;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph};
use crate::render::{Delivery, DirtyReason, dirty_reasons};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The node: a name such as `vox`, `drums` or `master`, or an id from `mixdown graph`.
    node: String,
    /// The mix file.
    #[arg(default_value = DEFAULT_PROJECT)]
    file: PathBuf,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> i32 {
    let Ok(graph) = graph_and_report(&args.file) else {
        return EXIT_INVALID;
    };
    let graph = &graph;
    let node = match graph.resolve(&args.node) {
        Ok(node) => node,
        Err(unknown) => {
            eprintln!("error: {unknown}");
            return EXIT_INVALID;
        }
    };
    let setup = match args.cache.for_project(&args.file) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let cache = CacheDir::new(&setup.dir);
    let store = Store::local(&cache);
    let keys = match compute_keys(graph, &setup.dir, SystemTime::now()) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let id = &graph.graph[node].id;
    println!("node {id}\nkey  {}", keys.key(node));
    let project_dir = args.file.parent().map(std::path::absolute).and_then(Result::ok);
    let explanation = Explanation {
        graph,
        keys: &keys,
        store: &store,
        cache: &cache,
        project_dir: project_dir.as_deref().unwrap_or(Path::new("")),
        delivery: None,
    };
    println!("{}", explanation.of(node));
    EXIT_OK
}

/// What `explain` and `render --dry-run` say of a node.
pub struct Explanation<'a> {
    /// The graph.
    pub graph: &'a RenderGraph,
    /// Its keys.
    pub keys: &'a Keys,
    /// The cache.
    pub store: &'a Store,
    /// The cache's folder, which holds each node's last render.
    pub cache: &'a CacheDir,
    /// The project's folder, which file names are shown relative to.
    pub project_dir: &'a Path,
    /// Where a render would write the targets' files, when one is about to; without it an
    /// output counts as up to date when it is what it was at its last render.
    pub delivery: Option<&'a Delivery>,
}

impl Explanation<'_> {
    /// Whether `node` is cached, and if not, why it renders, one reason a line.
    pub fn of(&self, node: NodeIndex) -> String {
        let graph = self.graph;
        let key = self.keys.key(node);
        let previous = LatestRender::read(self.cache, &graph.graph[node].id);
        let same_key = previous.as_ref().is_some_and(|p| p.key == key.to_string());
        let held = |i: NodeIndex| match (&graph.graph[i].kind, self.delivery) {
            (NodeKind::Output { name, .. }, Some(delivery)) => {
                let file_key = delivery.file_key(self.keys.key(i));
                OutputRecord::is_fresh(self.cache, &delivery.path(name), file_key)
            }
            (NodeKind::Deliver { target, file_name, .. }, Some(delivery)) => {
                let path = delivery.target_path(target, file_name);
                OutputRecord::is_fresh(self.cache, &path, self.keys.key(i))
            }
            // `explain` has no folder or format to check a file against: the node is up to
            // date when it is what it was at its last render.
            (NodeKind::Output { .. } | NodeKind::Deliver { .. }, None) => {
                LatestRender::read(self.cache, &graph.graph[i].id)
                    .is_some_and(|p| p.key == self.keys.key(i).to_string())
            }
            _ => self.store.contains(&self.keys.key(i)),
        };
        if held(node) {
            return "cached: nothing it depends on has changed".to_string();
        }
        let reasons = match previous {
            None => vec![DirtyReason::NeverRendered],
            Some(_) if same_key && graph.streams_without_entry(node) => {
                let into = match graph.graph[node].kind {
                    NodeKind::Segment { .. } => "its encoded stream",
                    _ => "the output file",
                };
                return if graph.audio_readers(node).into_iter().all(held) {
                    format!("up to date in {into}: it streams into it and keeps no cache entry")
                } else {
                    format!("will render with {into}, which it streams into")
                };
            }
            Some(_) if same_key => match (&graph.graph[node].kind, self.delivery) {
                (NodeKind::Output { name, .. }, Some(delivery)) => {
                    let file = delivery.path(name).display().to_string();
                    vec![DirtyReason::FileOutdated { file }]
                }
                (NodeKind::Deliver { target, file_name, .. }, Some(delivery)) => {
                    let file = delivery.target_path(target, file_name).display().to_string();
                    vec![DirtyReason::FileOutdated { file }]
                }
                _ => vec![DirtyReason::EntryGone],
            },
            Some(previous) => {
                let current = serde_json::to_value(self.keys.material(node))
                    .expect("key material serializes");
                dirty_reasons(graph, node, &previous.material, &current, self.project_dir)
            }
        };
        let lines: Vec<String> = reasons.iter().map(|reason| format!("\n  {reason}")).collect();
        format!("will render:{}", lines.concat())
    }
}
