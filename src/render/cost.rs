//! What running a node costs, roughly: nanoseconds per frame on a current desktop core,
//! from `cargo bench --bench processors` and the render benchmark. The scheduler starts
//! the costliest remaining path first, and a node that runs alone splits its chain where
//! the two halves cost about the same. Only the proportions matter.

use crate::graph::NodeKind;
use crate::ir::Step;

/// What fetching an entry from a remote cache costs per frame, in the units of
/// [`node_cost`]: 8 bytes a frame at 200 MB/s, a fast link to a store in the same region.
pub const FETCH_COST: u64 = 40;

/// The cost per frame of running a node of this kind: its own reading and writing, plus
/// its chain.
#[must_use]
pub fn node_cost(kind: &NodeKind) -> u64 {
    let chain = match kind {
        NodeKind::Track { chain, .. }
        | NodeKind::Sum { chain, .. }
        | NodeKind::Song { chain, .. } => chain.as_slice(),
        NodeKind::Source { .. }
        | NodeKind::Normalise { .. }
        | NodeKind::Output { .. }
        | NodeKind::Encode { .. }
        | NodeKind::Deliver { .. }
        | NodeKind::AlbumAnalysis { .. }
        | NodeKind::Segment { .. }
        | NodeKind::AlbumEncode { .. }
        | NodeKind::Cue { .. } => &[],
    };
    overhead(kind) + chain.iter().map(step_cost).sum::<u64>()
}

/// The cost per frame of a node's reading, decoding and writing, without its chain.
#[must_use]
pub fn overhead(kind: &NodeKind) -> u64 {
    match kind {
        // Decoding a file, or a loudness meter over the whole album.
        NodeKind::Source { .. } | NodeKind::AlbumAnalysis { .. } => 10,
        NodeKind::Track { .. } | NodeKind::Song { .. } => 3,
        NodeKind::Sum { feeds, .. } => 2 + 2 * feeds.len() as u64,
        NodeKind::Output { .. } => 4,
        // Rate conversion, dither and the encoder; LAME costs most.
        NodeKind::Encode { .. } | NodeKind::AlbumEncode { .. } => 60,
        NodeKind::Deliver { .. } | NodeKind::Cue { .. } => 1,
        // Rate conversion and a 4x-oversampled true-peak limiter.
        NodeKind::Segment { .. } => 30,
        // A measuring pass, then one or two passes through a 4x-oversampled limiter.
        NodeKind::Normalise { .. } => 40,
    }
}

/// The cost per frame of one step of a chain.
#[must_use]
pub fn step_cost(step: &Step) -> u64 {
    match step {
        Step::Parallel(branches) => branches.iter().flatten().map(step_cost).sum(),
        Step::Eq(eq) => 1 + 3 * eq.settings.bands.len() as u64 / 2,
        other => match other.kind() {
            "saturate" => 440,
            "chorus" => 70,
            "reverb" => 65,
            "convolution" | "deesser" => 35,
            "limiter" => 18,
            "delay" | "gate" | "expander" => 9,
            "compressor" => 7,
            "highpass" | "lowpass" => 3,
            _ => 1,
        },
    }
}

/// The least a half of a split chain must cost: handing each block to another thread and
/// back costs a copy and a wake-up, which a lighter half does not repay.
const MIN_HALF_COST: u64 = 10;

/// Where to split `chain` so that its front (after `overhead`) and its back cost about
/// the same: the number of steps in the front, from 1 to `chain.len() - 1`. `None` when
/// the chain has fewer than two steps or the lighter half would cost too little.
#[must_use]
pub fn balanced_split(overhead: u64, chain: &[Step]) -> Option<usize> {
    let costs: Vec<u64> = chain.iter().map(step_cost).collect();
    let total = overhead + costs.iter().sum::<u64>();
    let front = |k: usize| overhead + costs[..k].iter().sum::<u64>();
    let k = (1..chain.len()).min_by_key(|&k| front(k).abs_diff(total - front(k)))?;
    (front(k).min(total - front(k)) >= MIN_HALF_COST).then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::step::lowered as steps;

    #[test]
    fn a_master_chain_splits_before_the_limiter_when_the_front_reads_many_inputs() {
        let chain = steps(
            r#"[{ "eq": [{ "type": "peak", "freq": "1 kHz", "gain": "1 dB" }] },
                { "compressor": { "threshold": "-12 dB", "ratio": 2 } },
                { "limiter": {} }]"#,
        );
        // eq 2, compressor 7, limiter 18, after the cost of reading the inputs.
        assert_eq!(balanced_split(12, &chain), Some(2));
        assert_eq!(balanced_split(30, &chain), Some(1));
        // A half that costs less than handing its blocks over is not worth a thread.
        assert_eq!(balanced_split(0, &chain), None);
        assert_eq!(balanced_split(12, &chain[..2]), None);
        assert_eq!(balanced_split(30, &chain[..1]), None);
        assert_eq!(balanced_split(30, &[]), None);
    }
}
