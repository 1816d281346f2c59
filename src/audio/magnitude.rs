//! The loudest sample of a block, and how many samples pass a level: per-sample scans that
//! meters and writers make over every sample they see.
//!
//! Both run over lanes of [`LANES`] samples, each lane keeping its own maximum or count,
//! so that a loop compiles to vector compares instead of a chain of scalar ones. A maximum
//! and a count come out the same whatever the order, so the lanes change no result.

/// Samples taken side by side: one AVX vector of `f32`.
const LANES: usize = 8;

/// The larger of `peak` and the largest magnitude in `samples`. NaN samples are passed
/// over, as `f32::max` passes them over.
#[must_use]
pub fn loudest(samples: &[f32], peak: f32) -> f32 {
    scan::<false>(samples, peak, f32::INFINITY).0
}

/// As [`loudest`], and the number of samples whose magnitude is above `threshold`.
#[must_use]
pub fn loudest_and_count_above(samples: &[f32], peak: f32, threshold: f32) -> (f32, u64) {
    let (mut peak, mut count) = (peak, 0);
    // A lane counts in 32 bits: a stretch of 2^30 samples cannot overflow it.
    for stretch in samples.chunks(1 << 30) {
        let (loudest, above) = scan::<true>(stretch, peak, threshold);
        (peak, count) = (loudest, count + above);
    }
    (peak, count)
}

/// The loudest magnitude and, with `COUNT`, the count above `threshold`: without it the
/// peak-only scan (the true-peak meter's, on every span) does no counting at all.
fn scan<const COUNT: bool>(samples: &[f32], peak: f32, threshold: f32) -> (f32, u64) {
    let mut lanes = [peak; LANES];
    let mut counts = [0u32; LANES];
    let whole = samples.chunks_exact(LANES);
    let rest = whole.remainder();
    for chunk in whole {
        for ((lane, count), &x) in lanes.iter_mut().zip(&mut counts).zip(chunk) {
            let magnitude = x.abs();
            *lane = larger(*lane, magnitude);
            if COUNT {
                *count += u32::from(magnitude > threshold);
            }
        }
    }
    let mut count: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let mut peak = lanes.into_iter().fold(peak, larger);
    for &x in rest {
        peak = larger(peak, x.abs());
        if COUNT {
            count += u64::from(x.abs() > threshold);
        }
    }
    (peak, count)
}

/// The larger of `a` and `b`, or `a` when `b` is NaN: one compare and select.
#[inline]
fn larger(a: f32, b: f32) -> f32 {
    if b > a { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain scalar scan the lanes must agree with.
    fn reference(samples: &[f32], peak: f32, threshold: f32) -> (f32, u64) {
        let loudest = samples.iter().fold(peak, |p, x| p.max(x.abs()));
        (loudest, samples.iter().filter(|x| x.abs() > threshold).count() as u64)
    }

    #[test]
    fn the_lanes_agree_with_a_plain_scan_at_every_length_and_position() {
        let mut state = 7u32;
        let samples: Vec<f32> = (0..203)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1 << 24) as f32 * 2.2 - 1.1
            })
            .collect();
        for len in [0, 1, 7, 8, 9, 64, 203] {
            for start in [0, 3] {
                let block = &samples[start.min(len)..len];
                assert_eq!(
                    loudest_and_count_above(block, 0.25, 0.9),
                    reference(block, 0.25, 0.9),
                    "{len} from {start}"
                );
            }
        }
    }

    #[test]
    fn the_loudest_sample_is_found_in_any_lane_and_in_the_tail() {
        for at in 0..21 {
            let mut samples = vec![0.5f32; 21];
            samples[at] = -0.75;
            assert_eq!(loudest(&samples, 0.0), 0.75, "at {at}");
        }
        assert_eq!(loudest(&[0.1, -0.2], 0.3), 0.3, "the running peak is kept");
    }

    #[test]
    fn nan_samples_are_passed_over() {
        let mut samples = vec![0.25f32; 16];
        samples[5] = f32::NAN;
        samples[15] = f32::NAN;
        assert_eq!(loudest_and_count_above(&samples, 0.0, 0.1), (0.25, 14));
    }
}
