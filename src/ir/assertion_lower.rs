//! Lowering one `assert:` block into [`Assertion`]s, for a mix file and an album file alike:
//! one assertion for each check written, located at the check and its bounds, with the
//! bounds checked for sense (a range with neither bound, a minimum above its maximum, a
//! correlation outside -1..1) and a reference file's existence checked by the file's own
//! lowering.
//!
//! Which blocks a project has, and whose audio each measures, is the caller's to say.

use std::path::PathBuf;

use super::{Assertion, Check, DEFAULT_NULL_TOLERANCE_DB, Subject};
use crate::diag::{Diagnostic, Location};
use crate::project::{RawAssert, RawRange};

/// The file an `assert:` block is lowered in: where its YAML paths are written, how an
/// error there is recorded, and how a reference file it names is found.
pub(super) trait AssertSite {
    /// Where the value at `yaml_path` is written.
    fn locate(&self, yaml_path: &str) -> Option<Location>;

    /// Records an error located at `yaml_path`.
    fn error(&mut self, code: &'static str, yaml_path: &str, message: String) -> &mut Diagnostic;

    /// A reference audio file written at `yaml_path` as `written`, made absolute; an error
    /// when there is no file there.
    fn reference_file(&mut self, yaml_path: &str, written: &str) -> PathBuf;
}

/// Every check of the block written at the YAML path `at` (`tracks.vox.assert`, `assert`),
/// measuring `subject`, in the order the block documents them.
pub(super) fn lower_block(
    site: &mut impl AssertSite,
    subject: &Subject,
    at: &str,
    block: &RawAssert,
) -> Vec<Assertion> {
    checks(site, at, block)
        .into_iter()
        .map(|(name, check)| {
            let yaml_path = format!("{at}.{name}");
            Assertion {
                subject: subject.clone(),
                check,
                location: site.locate(&yaml_path),
                min_at: site.locate(&format!("{yaml_path}.min")),
                max_at: site.locate(&format!("{yaml_path}.max")),
                yaml_path,
            }
        })
        .collect()
}

/// Puts `assertions` in the order the file writes them, so a report reads down the file.
pub(super) fn in_file_order(assertions: &mut [Assertion]) {
    assertions.sort_by_key(|a| a.location.as_ref().map_or((usize::MAX, 0), |l| (l.line, l.column)));
}

/// The checks of one block, by their name in it.
fn checks(site: &mut impl AssertSite, at: &str, block: &RawAssert) -> Vec<(&'static str, Check)> {
    let mut checks = Vec::new();
    if let Some(range) = &block.loudness {
        let (min, max) = bounds(site, &format!("{at}.loudness"), range, |l| l.0, "LUFS");
        checks.push(("loudness", Check::Loudness { min, max }));
    }
    if let Some(bound) = &block.true_peak {
        checks.push(("true_peak", Check::TruePeak { max: bound.max.0 }));
    }
    if let Some(bound) = &block.short_term_max {
        checks.push(("short_term_max", Check::ShortTermMax { max: bound.max.0 }));
    }
    if let Some(range) = &block.loudness_range {
        let (min, max) = bounds(site, &format!("{at}.loudness_range"), range, |l| l.0, "LU");
        checks.push(("loudness_range", Check::LoudnessRange { min, max }));
    }
    if let Some(bound) = &block.correlation {
        let min = bound.min;
        if !(-1.0..=1.0).contains(&min) {
            site.error(
                "correlation-out-of-range",
                &format!("{at}.correlation.min"),
                format!("a correlation lies between -1 and 1, not {min}"),
            )
            .help = Some(
                "1 is mono, 0 unrelated channels, -1 one channel inverted; 0.2 is a common floor"
                    .into(),
            );
        }
        checks.push(("correlation", Check::Correlation { min }));
    }
    if block.no_clipping {
        checks.push(("no_clipping", Check::NoClipping));
    }
    if let Some(reference) = &block.matches {
        let file = site.reference_file(&format!("{at}.matches.file"), &reference.file);
        let tolerance_db = reference.tolerance.map_or(DEFAULT_NULL_TOLERANCE_DB, |t| t.0);
        checks.push(("matches", Check::Matches { file, tolerance_db }));
    }
    checks
}

/// The bounds of a range, with an error when none is given or the minimum is above the
/// maximum.
fn bounds<T>(
    site: &mut impl AssertSite,
    at: &str,
    range: &RawRange<T>,
    value: impl Fn(&T) -> f64,
    unit: &str,
) -> (Option<f64>, Option<f64>) {
    let (min, max) = (range.min.as_ref().map(&value), range.max.as_ref().map(&value));
    match (min, max) {
        (None, None) => {
            site.error("empty-bounds", at, "this check gives neither `min` nor `max`".into())
                .help = Some(format!("write a bound, e.g. `{{ min: 1 {unit}, max: 9 {unit} }}`"));
        }
        (Some(low), Some(high)) if low > high => {
            site.error(
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
