//! Loudness normalisation of a master, resolved: a profile becomes its figures, and unset
//! settings take their defaults. What the figures do to audio is `render`'s business.
//!
//! | profile | target | ceiling |
//! |---|---|---|
//! | `spotify`, `youtube` | -14 LUFS | -1 dBTP |
//! | `apple` | -16 LUFS | -1 dBTP |
//! | `ebu-r128` | -23 LUFS | -1 dBTP |
//! | `cd` | none: no gain | 0 dBTP: no overs between samples |

use serde::Serialize;

use crate::project::{Profile, RawLoudness};

/// The true-peak ceiling when a block names none, in dBTP.
pub const DEFAULT_CEILING_DBTP: f64 = -1.0;
/// The most gain reduction a target may ask of the limiter when a block names none, in dB.
pub const DEFAULT_MAX_LIMITING_DB: f64 = 6.0;

/// How a master is normalised: one gain to `target_lufs` (if any), then a true-peak
/// limiter at `ceiling_dbtp`. Serialized into the normalising node's key.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Normalisation {
    /// The integrated loudness to reach; `None` applies no gain.
    pub target_lufs: Option<f64>,
    /// The true peak no sample reaches, between samples too.
    pub ceiling_dbtp: f64,
    /// The most peak gain reduction the target may need of the limiter.
    pub max_limiting_db: f64,
}

impl Normalisation {
    /// Resolves a raw `loudness:` block.
    #[must_use]
    pub fn resolve(raw: &RawLoudness) -> Self {
        let profile = |target: Option<f64>, ceiling: f64| Self {
            target_lufs: target,
            ceiling_dbtp: ceiling,
            max_limiting_db: DEFAULT_MAX_LIMITING_DB,
        };
        match raw {
            RawLoudness::Profile(Profile::Spotify | Profile::Youtube) => {
                profile(Some(-14.0), DEFAULT_CEILING_DBTP)
            }
            RawLoudness::Profile(Profile::Apple) => profile(Some(-16.0), DEFAULT_CEILING_DBTP),
            RawLoudness::Profile(Profile::EbuR128) => profile(Some(-23.0), DEFAULT_CEILING_DBTP),
            RawLoudness::Profile(Profile::Cd) => profile(None, 0.0),
            RawLoudness::Settings(s) => Self {
                target_lufs: s.target.map(|t| t.0),
                ceiling_dbtp: s.ceiling.map_or(DEFAULT_CEILING_DBTP, |c| c.0),
                max_limiting_db: s.max_limiting.map_or(DEFAULT_MAX_LIMITING_DB, |m| m.0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::RawLoudnessSettings;
    use crate::units::{Lufs, TruePeak};

    #[test]
    fn each_profile_resolves_to_its_published_figures() {
        let figures = |p| {
            let n = Normalisation::resolve(&RawLoudness::Profile(p));
            (n.target_lufs, n.ceiling_dbtp, n.max_limiting_db)
        };
        assert_eq!(figures(Profile::Spotify), (Some(-14.0), -1.0, 6.0));
        assert_eq!(figures(Profile::Youtube), (Some(-14.0), -1.0, 6.0));
        assert_eq!(figures(Profile::Apple), (Some(-16.0), -1.0, 6.0));
        assert_eq!(figures(Profile::EbuR128), (Some(-23.0), -1.0, 6.0));
        assert_eq!(figures(Profile::Cd), (None, 0.0, 6.0));
    }

    #[test]
    fn unset_settings_take_a_minus_one_dbtp_ceiling_and_six_db_of_limiting() {
        let raw = RawLoudness::Settings(RawLoudnessSettings {
            target: Some(Lufs(-18.0)),
            ceiling: None,
            max_limiting: None,
        });
        let resolved = Normalisation::resolve(&raw);
        assert_eq!(resolved.target_lufs, Some(-18.0));
        assert_eq!((resolved.ceiling_dbtp, resolved.max_limiting_db), (-1.0, 6.0));
        let raw = RawLoudness::Settings(RawLoudnessSettings {
            target: None,
            ceiling: Some(TruePeak(-0.5)),
            max_limiting: Some(crate::units::Decibels(2.0)),
        });
        assert_eq!(
            Normalisation::resolve(&raw),
            Normalisation { target_lufs: None, ceiling_dbtp: -0.5, max_limiting_db: 2.0 }
        );
    }
}
