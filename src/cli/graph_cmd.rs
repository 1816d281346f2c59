//! `mixdown graph`: print the render plan as text or Graphviz DOT.

use std::path::PathBuf;

use super::{DEFAULT_PROJECT, EXIT_INVALID, EXIT_OK, graph_and_report};
use crate::graph::{to_dot, to_text};

/// How to print the graph.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    /// One line per node.
    Text,
    /// Graphviz DOT.
    Dot,
}

/// Arguments of `graph`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The mix file.
    #[arg(default_value = DEFAULT_PROJECT)]
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: GraphFormat,
}

/// Runs `graph`.
pub fn run(args: &GraphArgs) -> i32 {
    let Ok(graph) = graph_and_report(&args.file) else {
        return EXIT_INVALID;
    };
    match args.format {
        GraphFormat::Text => print!("{}", to_text(&graph)),
        GraphFormat::Dot => print!("{}", to_dot(&graph)),
    }
    EXIT_OK
}
