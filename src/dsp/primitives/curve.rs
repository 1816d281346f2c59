//! Automation in the sample domain: a piecewise-linear function of the absolute frame.
//!
//! Values are evaluated from the absolute frame index, never from a block-relative one, so
//! every processor that follows a curve gives the same output whatever the block size.

/// A parameter over time, as plain settings carry it: (seconds, value) points in time order,
/// in the parameter's unit, linear between points and held outside them. One point is a
/// constant.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline(pub Vec<(f64, f64)>);

impl Timeline {
    /// A value that never changes.
    #[must_use]
    pub fn constant(value: f64) -> Self {
        Self(vec![(0.0, value)])
    }

    /// The value at the start of the song.
    #[must_use]
    pub fn initial(&self) -> f64 {
        self.0[0].1
    }

    /// Whether the value changes over time.
    #[must_use]
    pub fn is_automated(&self) -> bool {
        self.0.windows(2).any(|w| w[0].1 != w[1].1)
    }
}

/// A piecewise-linear value over frames, held before the first and after the last point.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// (frame, value) pairs, frames never decreasing.
    points: Vec<(f64, f64)>,
}

impl Curve {
    /// A curve from (seconds, value) points at `sample_rate`.
    #[must_use]
    pub fn from_seconds(points: &[(f64, f64)], sample_rate: f64) -> Self {
        Self { points: points.iter().map(|&(t, v)| (t * sample_rate, v)).collect() }
    }

    /// A curve that never changes.
    #[must_use]
    pub fn constant(value: f64) -> Self {
        Self { points: vec![(0.0, value)] }
    }

    /// Whether the value is the same everywhere.
    #[must_use]
    pub fn is_constant(&self) -> bool {
        self.points.windows(2).all(|w| w[0].1 == w[1].1)
    }

    /// The value at `frame`.
    #[must_use]
    pub fn at(&self, frame: u64) -> f64 {
        let x = frame as f64;
        let after = self.points.partition_point(|&(f, _)| f <= x);
        if after == 0 {
            return self.points[0].1;
        }
        if after == self.points.len() {
            return self.points[after - 1].1;
        }
        let (x0, y0) = self.points[after - 1];
        let (x1, y1) = self.points[after];
        if y0 == y1 {
            return y0;
        }
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }

    /// Maps every value through `f` (for example to replace `-inf dB` by a floor).
    #[must_use]
    pub fn map(mut self, f: impl Fn(f64) -> f64) -> Self {
        for p in &mut self.points {
            p.1 = f(p.1);
        }
        self
    }
}

/// A gain curve in dB, evaluated as linear amplitude. Interpolation runs in dB, with a
/// segment that touches `-inf dB` treated as reaching -100 dB, so a fade from silence is
/// smooth instead of a jump at its last frame.
#[derive(Debug, Clone, PartialEq)]
pub struct GainCurve {
    db: Curve,
    constant_gain: Option<f64>,
}

/// Where a fade from or to silence is taken to start, in dB.
const SILENCE_FLOOR_DB: f64 = -100.0;

impl GainCurve {
    /// A gain curve from (seconds, dB) points.
    #[must_use]
    pub fn from_seconds(points: &[(f64, f64)], sample_rate: f64) -> Self {
        let db = Curve::from_seconds(points, sample_rate);
        let constant_gain = db.is_constant().then(|| crate::units::db_to_gain(db.at(0)));
        Self { db: db.map(|v| v.max(SILENCE_FLOOR_DB)), constant_gain }
    }

    /// The constant linear gain, when the curve never changes.
    #[must_use]
    pub fn constant(&self) -> Option<f64> {
        self.constant_gain
    }

    /// The linear gain at `frame`; exactly 0 where the curve sits at silence.
    #[must_use]
    pub fn at(&self, frame: u64) -> f64 {
        if let Some(g) = self.constant_gain {
            return g;
        }
        let db = self.db.at(frame);
        if db <= SILENCE_FLOOR_DB { 0.0 } else { 10f64.powf(db / 20.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_linear_between_points_and_held_outside() {
        let c = Curve::from_seconds(&[(1.0, 0.0), (2.0, 10.0)], 10.0);
        assert_eq!(c.at(0), 0.0);
        assert_eq!(c.at(15), 5.0);
        assert_eq!(c.at(100), 10.0);
    }

    #[test]
    fn a_fade_in_from_silence_starts_at_zero_and_rises_smoothly() {
        let g = GainCurve::from_seconds(&[(0.0, f64::NEG_INFINITY), (1.0, 0.0)], 100.0);
        assert_eq!(g.at(0), 0.0);
        let halfway = g.at(50);
        assert!((halfway - 10f64.powf(-50.0 / 20.0)).abs() < 1e-12, "{halfway}");
        assert_eq!(g.at(100), 1.0);
    }

    #[test]
    fn a_constant_gain_is_known_up_front() {
        let g = GainCurve::from_seconds(&[(0.0, -6.0)], 48000.0);
        assert!((g.constant().unwrap() - 0.501_187_233_627_272_3).abs() < 1e-15);
    }
}
