//! The raw steps of the time and space family, as a mix writes them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NamesFile;
use crate::dsp::space::convolution::ConvolutionSettings;
use crate::units::{Share, TimeMs};

/// `- convolution: { ir: irs/plate.wav, mix: 30% }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ConvolutionSpec")]
pub struct RawConvolution {
    /// The impulse response: an audio file, relative to the project file. Mono files
    /// apply to both channels. Only its content enters the cache key, never its path.
    #[serde(skip_serializing)]
    pub ir: String,
    /// The share of the convolved signal in the output; the dry share is delayed to match.
    #[serde(default = "all_wet")]
    pub mix: Share,
    /// Silence added before the impulse response.
    #[serde(default = "no_predelay")]
    pub predelay: TimeMs,
}

fn all_wet() -> Share {
    Share(1.0)
}

fn no_predelay() -> TimeMs {
    TimeMs(0.0)
}

impl NamesFile for RawConvolution {
    type Settings = ConvolutionSettings;
    const FIELD: &'static str = "ir";

    fn file(&self) -> &str {
        &self.ir
    }

    fn settings(&self) -> ConvolutionSettings {
        ConvolutionSettings { mix: self.mix, predelay: self.predelay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_convolution_reads_its_file_and_settings_and_serializes_no_path() {
        let raw: RawConvolution =
            serde_json::from_str(r#"{ "ir": "irs/plate.wav", "mix": "30%", "predelay": "5 ms" }"#)
                .unwrap();
        assert_eq!(raw.file(), "irs/plate.wav");
        let settings = raw.settings();
        assert_eq!((settings.mix, settings.predelay), (Share(0.3), TimeMs(0.005)));
        assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{"mix":0.3,"predelay":0.005}"#);
    }

    #[test]
    fn a_convolution_refuses_a_field_it_does_not_know() {
        let err = serde_json::from_str::<RawConvolution>(r#"{ "ir": "a.wav", "wet": "30%" }"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `wet`"), "{err}");
    }
}
