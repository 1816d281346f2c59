//! The gated statistics of a programme, from the energies of its windows: BS.1770's
//! integrated loudness over 400 ms blocks, and EBU Tech 3342's loudness range over 3 s
//! windows. Both drop windows under the absolute gate (-70 LUFS) as they arrive and gate
//! the rest relative to their mean at the end: -10 LU for the integrated loudness, -20 LU
//! for the range, which then spans the 10th to the 95th percentile.
//!
//! The arithmetic is the `ebur128` crate's exact (unbinned) mode, step for step, so the
//! figures are that crate's to rounding; the meter hands over window energies it already
//! has, instead of `ebur128` summing every window's audio again.

use serde::{Deserialize, Serialize};

/// Energy of a window at the absolute gate, -70 LUFS.
const ABSOLUTE_GATE_ENERGY: f64 = 1.172_465_304_582_298_1e-7;
/// The relative gate of the integrated loudness, -10 LU, as an energy ratio.
const INTEGRATED_RELATIVE_GATE: f64 = 0.1;
/// The relative gate of the loudness range, -20 LU, as an energy ratio.
const RANGE_RELATIVE_GATE: f64 = 0.01;
/// The percentiles whose difference is the loudness range.
const RANGE_PERCENTILES: (f64, f64) = (0.1, 0.95);

/// The energies of one kind of window above the absolute gate, in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GatedWindows {
    energies: Vec<f64>,
}

impl GatedWindows {
    /// Keeps `other`'s windows too, as if they had come after these.
    pub(super) fn extend(&mut self, other: &Self) {
        self.energies.extend_from_slice(&other.energies);
    }

    /// Keeps the energy of a window just closed, unless it is under the absolute gate.
    pub(super) fn add(&mut self, energy: f64) {
        if energy >= ABSOLUTE_GATE_ENERGY {
            self.energies.push(energy);
        }
    }

    /// The mean energy of the windows within 10 LU of the mean of all kept; `None` when no
    /// window passed the absolute gate.
    pub(super) fn integrated_energy(&self) -> Option<f64> {
        if self.energies.is_empty() {
            return None;
        }
        let mean = self.energies.iter().sum::<f64>() / self.energies.len() as f64;
        let threshold = mean * INTEGRATED_RELATIVE_GATE;
        let (count, sum) = self
            .energies
            .iter()
            .filter(|&&energy| energy >= threshold)
            .fold((0u64, 0.0f64), |(count, sum), energy| (count + 1, sum + energy));
        (count > 0).then(|| sum / count as f64)
    }

    /// The loudness range in LU: from the 10th to the 95th percentile of the windows within
    /// 20 LU of the mean of all kept; 0 when none are.
    pub(super) fn range(&self, to_loudness: fn(f64) -> f64) -> f64 {
        if self.energies.is_empty() {
            return 0.0;
        }
        let mut sorted = self.energies.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        let threshold = mean * RANGE_RELATIVE_GATE;
        let gated = sorted.iter().take_while(|&&energy| energy < threshold).count();
        let Some(last) = (sorted.len() - gated).checked_sub(1) else {
            return 0.0;
        };
        let at = |percentile: f64| sorted[gated + (last as f64 * percentile + 0.5) as usize];
        to_loudness(at(RANGE_PERCENTILES.1)) - to_loudness(at(RANGE_PERCENTILES.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loudness(energy: f64) -> f64 {
        -0.691 + 10.0 * energy.log10()
    }

    fn energy(lufs: f64) -> f64 {
        10f64.powf((lufs + 0.691) / 10.0)
    }

    #[test]
    fn the_absolute_gate_is_minus_70_lufs() {
        assert!((loudness(ABSOLUTE_GATE_ENERGY) + 70.0).abs() < 1e-12);
    }

    #[test]
    fn blocks_more_than_10_lu_under_the_mean_do_not_count() {
        let mut blocks = GatedWindows::default();
        for lufs in [-20.0, -20.0, -20.0, -45.0, -80.0] {
            blocks.add(energy(lufs));
        }
        // -80 falls to the absolute gate, -45 to the relative one.
        let integrated = loudness(blocks.integrated_energy().unwrap());
        assert!((integrated + 20.0).abs() < 1e-9, "{integrated}");
        assert_eq!(GatedWindows::default().integrated_energy(), None);
    }

    #[test]
    fn the_range_spans_the_10th_to_the_95th_percentile_of_the_gated_windows() {
        let mut windows = GatedWindows::default();
        // 101 windows from -30 to -10 LUFS in steps of 0.2 LU, and two far below.
        for k in 0..=100 {
            windows.add(energy(-30.0 + 0.2 * f64::from(k)));
        }
        windows.add(energy(-60.0));
        windows.add(energy(-90.0));
        // Percentile positions 10 and 95 of the 101 gated windows: -28 and -11 LUFS.
        let range = windows.range(loudness);
        assert!((range - 17.0).abs() < 1e-9, "{range}");
        assert_eq!(GatedWindows::default().range(loudness), 0.0);
    }
}
