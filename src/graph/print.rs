//! The plan as text (for people and snapshots) and as Graphviz DOT.

use std::fmt::Write as _;

use super::{AnalysisStage, EncodeSpan, Node, NodeKind, RenderGraph};
use crate::ir::{DeliverFormat, Deliverable, DitherMode, Length, SampleWidth};

/// One line per node in dependency order: its id, what it does, and what it reads.
#[must_use]
pub fn to_text(graph: &RenderGraph) -> String {
    let mut out = String::new();
    for i in graph.topological_order() {
        let node = &graph.graph[i];
        let inputs: Vec<&str> = node.inputs.iter().map(|&j| graph.graph[j].id.as_str()).collect();
        let what = describe(node);
        let _ = write!(out, "{:<40} {what}", node.id);
        if !inputs.is_empty() {
            let _ = write!(out, " <- {}", inputs.join(", "));
        }
        out.push('\n');
    }
    out
}

/// The graph in Graphviz DOT.
#[must_use]
pub fn to_dot(graph: &RenderGraph) -> String {
    let mut out = String::from("digraph mix {\n  rankdir=LR;\n");
    for i in graph.topological_order() {
        let node = &graph.graph[i];
        let _ = writeln!(out, "  \"{}\" [label=\"{}\\n{}\"];", node.id, node.id, describe(node));
        for &j in &node.inputs {
            let _ = writeln!(out, "  \"{}\" -> \"{}\";", graph.graph[j].id, node.id);
        }
    }
    out.push_str("}\n");
    out
}

fn describe(node: &Node) -> String {
    let chain = |steps: &[crate::ir::Step]| {
        if steps.is_empty() {
            String::new()
        } else {
            format!(
                " [{}]",
                steps.iter().map(crate::ir::Step::kind).collect::<Vec<_>>().join(" > ")
            )
        }
    };
    match &node.kind {
        NodeKind::Source { file } => {
            format!("source {}", file.file_name().and_then(|n| n.to_str()).unwrap_or("?"))
        }
        NodeKind::Track { clips, chain: steps, .. } => match clips {
            Some(c) => format!("track ({} clips){}", c.len(), chain(steps)),
            None => format!("track{}", chain(steps)),
        },
        NodeKind::Sum { feeds, chain: steps, .. } => {
            format!("sum of {}{}", feeds.len(), chain(steps))
        }
        NodeKind::Normalise { normalisation: n } => {
            let ceiling = format!("true peak at most {} dBTP", n.ceiling_dbtp);
            match n.target_lufs {
                Some(target) => format!("normalise to {target} LUFS, {ceiling}"),
                None => format!("no gain, {ceiling}"),
            }
        }
        NodeKind::Output { length, cut_fade_seconds, .. } => {
            let rate = f64::from(node.sample_rate) / 1000.0;
            let runs = match length {
                Length::Natural => String::new(),
                Length::Tail(seconds) => format!(", {seconds} s tail"),
                Length::Exact(seconds) if *cut_fade_seconds > 0.0 => {
                    format!(", cut at {seconds} s with a {} ms fade", cut_fade_seconds * 1000.0)
                }
                Length::Exact(seconds) => format!(", cut at {seconds} s"),
            };
            format!("output at {rate} kHz{runs}")
        }
        NodeKind::Encode { target, .. } => format!("encode {}", format_words(target)),
        NodeKind::Deliver { target, file_name, .. } => format!("file {target}/{file_name}"),
        NodeKind::Song { chain: steps, .. } => format!("song{}", chain(steps)),
        NodeKind::AlbumAnalysis { stage, .. } => match stage {
            AnalysisStage::Unlimited => "measure the album before its gain".into(),
            AnalysisStage::Limited => "measure the album after its limiter".into(),
            AnalysisStage::Delivered => "measure the delivered album".into(),
        },
        NodeKind::Segment { cd, ceiling_dbtp, trial, .. } => {
            let rate = f64::from(node.sample_rate) / 1000.0;
            let frames = if *cd { ", whole CD frames" } else { "" };
            let what = if *trial { "trial segment (its record only)" } else { "segment" };
            format!("{what} at {rate} kHz, true peak at most {ceiling_dbtp} dBTP{frames}")
        }
        NodeKind::AlbumEncode { target, span, .. } => {
            let what = match span {
                EncodeSpan::Song(_) => "a song",
                EncodeSpan::Segments if node.inputs.len() == 1 => "a segment",
                EncodeSpan::Segments => "the album",
            };
            format!("encode {what} as {}", format_words(target))
        }
        NodeKind::Cue { target, file_name, .. } => format!("cue sheet {target}/{file_name}"),
    }
}

/// A deliverable's format, rate and dither in words: `flac 24-bit at 48 kHz, tpdf dither`.
fn format_words(target: &Deliverable) -> String {
    let rate = f64::from(target.sample_rate) / 1000.0;
    let format = match target.format {
        DeliverFormat::Wav(width) => format!("wav {}", width_words(width)),
        DeliverFormat::Flac(width) => format!("flac {}", width_words(width)),
        DeliverFormat::Mp3Cbr(kbps) => format!("mp3 {kbps} kbps"),
        DeliverFormat::Mp3Vbr(level) => format!("mp3 V{level}"),
    };
    let dither = match target.dither {
        DitherMode::None => "",
        DitherMode::Tpdf => ", tpdf dither",
        DitherMode::Shaped => ", shaped dither",
    };
    format!("{format} at {rate} kHz{dither}")
}

fn width_words(width: SampleWidth) -> &'static str {
    match width {
        SampleWidth::Int16 => "16-bit",
        SampleWidth::Int24 => "24-bit",
        SampleWidth::Float32 => "32-bit float",
    }
}
