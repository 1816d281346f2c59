//! The raw steps of the chain family (`gain`, `polarity`), as a mix writes them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Lower;
use crate::dsp::chain::gain::GainSettings;
use crate::dsp::chain::polarity::PolaritySettings;
use crate::dsp::primitives::curve::Timeline;
use crate::units::{Decibels, Param, Polarity};

/// `- gain: -8 dB`, or automation `- gain: [[0:00, -inf dB], [0:02, 0 dB]]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(rename = "GainSpec")]
pub struct RawGain(pub Param<Decibels>);

impl Lower for RawGain {
    type Settings = GainSettings;

    fn settings(&self) -> GainSettings {
        GainSettings { gain_db: Timeline(self.0.points()) }
    }
}

/// `- polarity: inverted` (or `normal`, which does nothing).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(rename = "PolaritySpec")]
pub struct RawPolarity(pub Polarity);

impl Lower for RawPolarity {
    type Settings = PolaritySettings;

    fn settings(&self) -> PolaritySettings {
        PolaritySettings { inverted: self.0 == Polarity::Inverted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gain_lowers_to_its_points_in_seconds_and_db() {
        let constant: RawGain = serde_json::from_str(r#""-8 dB""#).unwrap();
        assert_eq!(constant.settings().gain_db, Timeline(vec![(0.0, -8.0)]));
        let fade: RawGain =
            serde_json::from_str(r#"[["0:00", "-20 dB"], ["0:02", "0 dB"]]"#).unwrap();
        assert_eq!(fade.settings().gain_db, Timeline(vec![(0.0, -20.0), (2.0, 0.0)]));
        assert_eq!(serde_json::to_string(&constant).unwrap(), "-8.0");
    }

    #[test]
    fn a_polarity_lowers_to_whether_it_inverts() {
        let inverted: RawPolarity = serde_json::from_str(r#""inverted""#).unwrap();
        let normal: RawPolarity = serde_json::from_str(r#""normal""#).unwrap();
        assert!(inverted.settings().inverted && !normal.settings().inverted);
        assert!(serde_json::from_str::<RawPolarity>(r#""upside down""#).is_err());
    }
}
