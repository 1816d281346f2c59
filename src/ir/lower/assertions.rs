//! Lowering the `assert:` blocks of tracks, buses and the master into [`Assertion`]s: one
//! for each check written, located at the check, with its bounds checked for sense.

use super::Lowering;
use crate::ir::{Assertion, Check, DEFAULT_NULL_TOLERANCE_DB, MASTER, Subject};
use crate::project::{RawAssert, RawRange};

impl Lowering<'_> {
    /// Every check of every `assert:` block: tracks, then buses, then the master.
    pub(super) fn assertions(&mut self) -> Vec<Assertion> {
        let raw = &self.loaded.raw;
        let blocks: Vec<(Subject, String, RawAssert)> = raw
            .tracks
            .iter()
            .filter_map(|(n, t)| {
                Some((Subject::Track(n.clone()), format!("tracks.{n}"), t.assert.clone()?))
            })
            .chain(raw.buses.iter().filter_map(|(n, b)| {
                Some((Subject::Bus(n.clone()), format!("buses.{n}"), b.assert.clone()?))
            }))
            .chain(raw.master.assert.clone().map(|a| (Subject::Master, MASTER.to_string(), a)))
            .collect();
        let mut assertions = Vec::new();
        for (subject, owner, block) in blocks {
            for (name, check) in self.checks(&format!("{owner}.assert"), &block) {
                let yaml_path = format!("{owner}.assert.{name}");
                let location = self.loaded.locate(&yaml_path);
                let min_at = self.loaded.locate(&format!("{yaml_path}.min"));
                let max_at = self.loaded.locate(&format!("{yaml_path}.max"));
                let subject = subject.clone();
                assertions.push(Assertion { subject, check, yaml_path, location, min_at, max_at });
            }
        }
        // In the order the file writes them, so a report reads down the file.
        assertions
            .sort_by_key(|a| a.location.as_ref().map_or((usize::MAX, 0), |l| (l.line, l.column)));
        assertions
    }

    /// The checks of one block, by their name in it, in the order the block documents them.
    fn checks(&mut self, at: &str, block: &RawAssert) -> Vec<(&'static str, Check)> {
        let mut checks = Vec::new();
        if let Some(range) = &block.loudness {
            let (min, max) = self.range(&format!("{at}.loudness"), range, |l| l.0, "LUFS");
            checks.push(("loudness", Check::Loudness { min, max }));
        }
        if let Some(bound) = &block.true_peak {
            checks.push(("true_peak", Check::TruePeak { max: bound.max.0 }));
        }
        if let Some(bound) = &block.short_term_max {
            checks.push(("short_term_max", Check::ShortTermMax { max: bound.max.0 }));
        }
        if let Some(range) = &block.loudness_range {
            let (min, max) = self.range(&format!("{at}.loudness_range"), range, |l| l.0, "LU");
            checks.push(("loudness_range", Check::LoudnessRange { min, max }));
        }
        if let Some(bound) = &block.correlation {
            let min = bound.min;
            if !(-1.0..=1.0).contains(&min) {
                self.error(
                    "correlation-out-of-range",
                    &format!("{at}.correlation.min"),
                    format!("a correlation lies between -1 and 1, not {min}"),
                )
                .help = Some("1 is mono, 0 unrelated channels, -1 one channel inverted; 0.2 is a common floor".into());
            }
            checks.push(("correlation", Check::Correlation { min }));
        }
        if block.no_clipping {
            checks.push(("no_clipping", Check::NoClipping));
        }
        if let Some(reference) = &block.matches {
            let file = self.file(&format!("{at}.matches.file"), &reference.file);
            let tolerance_db = reference.tolerance.map_or(DEFAULT_NULL_TOLERANCE_DB, |t| t.0);
            checks.push(("matches", Check::Matches { file, tolerance_db }));
        }
        checks
    }

    /// The bounds of a range, with an error when none is given or the minimum is above the
    /// maximum.
    fn range<T>(
        &mut self,
        at: &str,
        range: &RawRange<T>,
        value: impl Fn(&T) -> f64,
        unit: &str,
    ) -> (Option<f64>, Option<f64>) {
        let (min, max) = (range.min.as_ref().map(&value), range.max.as_ref().map(&value));
        match (min, max) {
            (None, None) => {
                self.error("empty-bounds", at, "this check gives neither `min` nor `max`".into())
                    .help =
                    Some(format!("write a bound, e.g. `{{ min: 1 {unit}, max: 9 {unit} }}`"));
            }
            (Some(low), Some(high)) if low > high => {
                self.error(
                    "bounds-reversed",
                    &format!("{at}.min"),
                    format!("the minimum, {low} {unit}, is above the maximum, {high} {unit}"),
                )
                .help = Some("swap `min` and `max`".into());
            }
            _ => {}
        }
        (min, max)
    }
}
