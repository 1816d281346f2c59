//! The raw steps of the time and space family (`delay`, `reverb`, `chorus`, `convolution`),
//! as a mix writes them: their units, defaults and range checks.

use schemars::JsonSchema;
use serde::de;
use serde::{Deserialize, Deserializer, Serialize};

use super::{Lower, NamesFile};
use crate::dsp::primitives::curve::Timeline;
use crate::dsp::space::chorus::{ChorusSettings, MAX_DEPTH_S, MAX_RATE_HZ, MAX_VOICES};
use crate::dsp::space::convolution::ConvolutionSettings;
use crate::dsp::space::delay::{DelaySettings, MAX_FEEDBACK};
use crate::dsp::space::reverb::{DECAY_RANGE, ReverbSettings};
use crate::units::{Fraction, Hertz, Param, Seconds, Share, TimeMs};
use crate::units::{percent, points_at_most, tidy, within};

/// `- convolution: { ir: irs/plate.wav, mix: 30% }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
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

/// `- delay: { time: 1/8., feedback: 30%, mix: 18%, high_cut: 5 kHz }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "DelaySpec")]
pub struct RawDelay {
    /// Time from the input to the first echo and between echoes: milliseconds or a note
    /// value such as `1/8.` (needs the project's `tempo:`). A constant time lands on whole
    /// frames; automated time glides between frames.
    pub time: Param<TimeMs>,
    /// How much of each echo returns as the next one, from 0% to 99%: at 100% the echoes
    /// would never die away.
    #[serde(default = "no_feedback", deserialize_with = "feedback_that_dies_away")]
    pub feedback: Param<Fraction>,
    /// The share of echoes in the output: 0% is the dry input, 100% echoes only.
    #[serde(default = "echoes_only")]
    pub mix: Param<Share>,
    /// Sends the input (summed to mono) to the left echo first, then bounces each echo
    /// to the other side.
    #[serde(default)]
    pub ping_pong: bool,
    /// Darkens every echo with a 6 dB/oct low-pass inside the loop, so repeats grow
    /// duller as they fade.
    #[serde(default)]
    pub high_cut: Option<Hertz>,
    /// Thins every echo with a 6 dB/oct high-pass inside the loop.
    #[serde(default)]
    pub low_cut: Option<Hertz>,
}

/// Reads `feedback`, refusing any point above [`MAX_FEEDBACK`].
fn feedback_that_dies_away<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Param<Fraction>, D::Error> {
    points_at_most(deserializer, MAX_FEEDBACK, |f| {
        format!(
            "a delay's feedback goes up to {}% so that the echoes die away, not {}%",
            percent(MAX_FEEDBACK),
            percent(f)
        )
    })
}

fn no_feedback() -> Param<Fraction> {
    Param::Constant(Fraction(0.0))
}

fn echoes_only() -> Param<Share> {
    Param::Constant(Share(1.0))
}

impl Lower for RawDelay {
    type Settings = DelaySettings;

    fn settings(&self) -> DelaySettings {
        DelaySettings {
            time: Timeline(self.time.points()),
            feedback: Timeline(self.feedback.points()),
            mix: Timeline(self.mix.points()),
            ping_pong: self.ping_pong,
            high_cut_hz: self.high_cut.map(|f| f.0),
            low_cut_hz: self.low_cut.map(|f| f.0),
        }
    }
}

/// `- reverb: { size: 85%, decay: 2.4 s, predelay: 25 ms, damping: 40%, width: 100% }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "ReverbSpec")]
pub struct RawReverb {
    /// Room size: sets the lengths of the delay lines, from a small room (0%) to a hall
    /// (100%).
    #[serde(default = "half")]
    pub size: Share,
    /// The time the reverb takes to fall 60 dB (RT60), from 0.1 s to 20 s.
    #[serde(default = "default_decay", deserialize_with = "decay_in_range")]
    pub decay: Seconds,
    /// Silence between the input and the start of the reverb.
    #[serde(default = "no_predelay")]
    pub predelay: TimeMs,
    /// How much faster the treble dies than the bass: 0% decays evenly, 100% leaves the
    /// 8 kHz decay at 15% of the bass decay. `decay` stays the broadband RT60.
    #[serde(default = "half")]
    pub damping: Share,
    /// Stereo width of the reverb: 0% is mono, 100% fully decorrelated.
    #[serde(default = "full")]
    pub width: Share,
    /// The share of reverb in the output: 100% is reverb only (for a bus), less blends in
    /// the dry input (for an insert).
    #[serde(default = "full")]
    pub mix: Share,
}

fn half() -> Share {
    Share(0.5)
}

fn full() -> Share {
    Share(1.0)
}

/// Reads `decay`, refusing values outside [`DECAY_RANGE`].
fn decay_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Seconds, D::Error> {
    let (shortest, longest) = DECAY_RANGE;
    within(deserializer, DECAY_RANGE, |s| {
        format!("a reverb's decay runs from {shortest} s to {longest} s, not {} s", tidy(s))
    })
}

fn default_decay() -> Seconds {
    Seconds(1.5)
}

impl Lower for RawReverb {
    type Settings = ReverbSettings;

    fn settings(&self) -> ReverbSettings {
        ReverbSettings {
            size: self.size.0,
            decay_seconds: self.decay.0,
            predelay_seconds: self.predelay.seconds(),
            damping: self.damping.0,
            width: self.width.0,
            mix: self.mix.0,
        }
    }
}

/// `- chorus: { rate: 0.8 Hz, depth: 3 ms, voices: 2, mix: 50% }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping of its settings")]
#[schemars(rename = "ChorusSpec")]
pub struct RawChorus {
    /// How often each voice sweeps its delay up and back (up to 20 Hz).
    #[serde(default = "default_rate", deserialize_with = "rate_in_range")]
    pub rate: Param<Hertz>,
    /// How far each voice's delay sweeps, peak to peak, above the 7 ms base (up to 50 ms).
    #[serde(default = "default_depth", deserialize_with = "depth_in_range")]
    pub depth: TimeMs,
    /// Voices, 1 to 8: evenly spaced in LFO phase and panned evenly from left to right.
    #[serde(default = "default_voices", deserialize_with = "read_voices")]
    #[schemars(range(min = 1, max = 8))]
    pub voices: u32,
    /// The share of the voices in the output; the rest is the dry input.
    #[serde(default = "half")]
    pub mix: Share,
}

fn default_rate() -> Param<Hertz> {
    Param::Constant(Hertz(0.8))
}

fn default_depth() -> TimeMs {
    TimeMs(0.003)
}

fn default_voices() -> u32 {
    2
}

/// Reads `rate`, refusing any point above [`MAX_RATE_HZ`].
fn rate_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Param<Hertz>, D::Error> {
    points_at_most(deserializer, MAX_RATE_HZ, |hz| {
        format!("a chorus sweeps at up to {MAX_RATE_HZ} Hz, not {} Hz", tidy(hz))
    })
}

/// Reads `depth`, refusing more than [`MAX_DEPTH_S`].
fn depth_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeMs, D::Error> {
    within(deserializer, (0.0, MAX_DEPTH_S), |s| {
        let most = tidy(MAX_DEPTH_S * 1e3);
        format!("a chorus's depth runs from 0 to {most} ms, not {} ms", tidy(s * 1e3))
    })
}

fn read_voices<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let voices = u32::deserialize(deserializer)?;
    if (1..=MAX_VOICES).contains(&voices) {
        Ok(voices)
    } else {
        Err(de::Error::custom(format!("a chorus has 1 to 8 voices, not {voices}")))
    }
}

impl Lower for RawChorus {
    type Settings = ChorusSettings;

    fn settings(&self) -> ChorusSettings {
        ChorusSettings {
            rate_hz: Timeline(self.rate.points()),
            depth_seconds: self.depth.seconds(),
            voices: self.voices,
            mix: self.mix.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::with_tempo;

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

    #[test]
    fn the_contract_delays_read_with_a_tempo_and_lower_to_seconds() {
        let s: RawDelay = with_tempo(Some(120.0), || {
            serde_json::from_str(
                r#"{ "time": "1/8.", "feedback": "30%", "mix": "18%", "high_cut": "5 kHz" }"#,
            )
        })
        .unwrap();
        let settings = s.settings();
        assert_eq!(settings.time, Timeline(vec![(0.0, 0.375)]));
        assert_eq!((settings.high_cut_hz, settings.low_cut_hz), (Some(5000.0), None));
        assert_eq!((settings.feedback.initial(), settings.mix.initial()), (0.3, 0.18));
        let slap: RawDelay =
            serde_json::from_str(r#"{ "time": "110 ms", "feedback": "0%", "mix": "100%" }"#)
                .unwrap();
        assert!(!slap.ping_pong && slap.high_cut.is_none());
        assert!(serde_json::from_str::<RawDelay>(r#"{ "time": 5, "tone": 1 }"#).is_err());
        let err =
            serde_json::from_str::<RawDelay>(r#"{ "time": 5, "feedback": "100%" }"#).unwrap_err();
        assert!(err.to_string().contains("up to 99% so that the echoes die away"), "{err}");
    }

    #[test]
    fn the_contract_reverbs_read_with_their_defaults() {
        let hall: RawReverb = serde_json::from_str(
            r#"{ "size": "85%", "decay": "2.4 s", "predelay": "25 ms", "damping": "40%", "width": "100%", "mix": "100%" }"#,
        )
        .unwrap();
        assert!((hall.settings().predelay_seconds - 0.025).abs() < 1e-12);
        let insert: RawReverb =
            serde_json::from_str(r#"{ "size": "60%", "decay": "1.8 s", "mix": "25%" }"#).unwrap();
        let insert = insert.settings();
        assert_eq!((insert.size, insert.decay_seconds, insert.mix), (0.6, 1.8, 0.25));
        assert!((insert.damping - 0.5).abs() < 1e-12 && (insert.width - 1.0).abs() < 1e-12);
        let err = serde_json::from_str::<RawReverb>(r#"{ "decay": "30 s" }"#).unwrap_err();
        assert!(err.to_string().contains("from 0.1 s to 20 s, not 30 s"), "{err}");
    }

    #[test]
    fn a_chorus_reads_units_and_rejects_a_ninth_voice() {
        let s: RawChorus = serde_json::from_str(
            r#"{ "rate": "0.8 Hz", "depth": "3 ms", "voices": 2, "mix": "50%" }"#,
        )
        .unwrap();
        assert_eq!(s.voices, 2);
        let defaults: RawChorus = serde_json::from_str("{}").unwrap();
        let defaults = defaults.settings();
        assert!((defaults.depth_seconds - 0.003).abs() < 1e-12);
        assert_eq!(
            (defaults.rate_hz, defaults.voices, defaults.mix),
            (Timeline::constant(0.8), 2, 0.5)
        );
        let err = serde_json::from_str::<RawChorus>(r#"{ "voices": 9 }"#).unwrap_err();
        assert!(err.to_string().contains("1 to 8 voices"), "{err}");
        let err = serde_json::from_str::<RawChorus>(r#"{ "rate": "25 Hz" }"#).unwrap_err();
        assert!(err.to_string().contains("up to 20 Hz, not 25 Hz"), "{err}");
    }
}
