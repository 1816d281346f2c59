//! The K-weighting of a stereo block with the two channels side by side in one 128-bit
//! register, for a build that may use fused multiply-add instructions (x86-64-v3).
//!
//! Channel by channel, the loop holds 18 values at once (seven coefficients, eight state
//! values, two sums and a constant), more than the processor's 16 registers, so the
//! compiler keeps some on the stack, and each store and reload lengthens the chain from one
//! sample to the next. Packed, they take 13, which leaves room for the values in between.
//! Every operation is the scalar one lane by lane, in the same order, so the readings are
//! the same to the bit (`the_two_channels_of_a_pair_read_as_each_filtered_alone` holds the
//! two together).

use safe_arch::{add_m128d, fused_mul_add_m128d as fma, m128d, mul_m128d, set_splat_m128d};

use super::{KState, KWeighting, Weighted};

/// Filters `channels` (left, right), each from its own state, adding each one's energy
/// into `into`, as `KWeighting::filter_lanes` does.
pub(super) fn filter_pair(
    filter: &KWeighting,
    states: &mut [KState; 2],
    [left, right]: [&[f32]; 2],
    into: &mut [Weighted; 2],
) {
    debug_assert_eq!(left.len(), right.len());
    let (shelf, high_pass) = (&filter.shelf, &filter.high_pass);
    let pair = |l: f64, r: f64| m128d::from_array([l, r]);
    let [b0, b1, b2, shelf_a1, shelf_a2] =
        [shelf.b0, shelf.b1, shelf.b2, shelf.minus_a1, shelf.minus_a2].map(set_splat_m128d);
    let [pass_a1, pass_a2, minus_two] =
        [high_pass.minus_a1, high_pass.minus_a2, -2.0].map(set_splat_m128d);
    let mut s0 = pair(states[0].shelf[0], states[1].shelf[0]);
    let mut s1 = pair(states[0].shelf[1], states[1].shelf[1]);
    let mut h0 = pair(states[0].high_pass[0], states[1].high_pass[0]);
    let mut h1 = pair(states[0].high_pass[1], states[1].high_pass[1]);
    let mut energy = pair(into[0].energy, into[1].energy);
    for (&l, &r) in left.iter().zip(right) {
        let x = pair(f64::from(l), f64::from(r));
        // The shelf, as `Biquad::step`.
        let y = fma(b0, x, s0);
        s0 = fma(shelf_a1, y, fma(b1, x, s1));
        s1 = fma(shelf_a2, y, mul_m128d(b2, x));
        // The high-pass, as `Biquad::step_high_pass`.
        let z = add_m128d(y, h0);
        h0 = fma(pass_a1, z, fma(minus_two, y, h1));
        h1 = fma(pass_a2, z, y);
        energy = fma(z, z, energy);
    }
    let [s0, s1, h0, h1, sums] = [s0, s1, h0, h1, energy].map(m128d::to_array);
    for c in 0..2 {
        states[c] = KState { shelf: [s0[c], s1[c]], high_pass: [h0[c], h1[c]] };
        into[c].energy = sums[c];
    }
}
