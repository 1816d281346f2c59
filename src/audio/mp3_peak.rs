//! The true peak an MP3 will decode to, estimated before it is encoded, so that a master
//! can be lowered by what it needs and encoded once.
//!
//! LAME low-passes its input: at 20.5 kHz for 320 kbit/s, lower for lower bit rates
//! (LAME 3.100's `optimum_bandwidth` table). Cutting off a master's top octave changes the
//! shape of its peaks, which ring higher between samples: on the reference album the
//! decoded files read up to 1.5 dB over the masters. The estimate is the true peak of the
//! audio through a linear-phase low-pass at LAME's frequency. It leaves out the
//! quantisation noise, which adds a little more (see [`crate::render::encode`]).

use super::mp3::Mp3Rate;
use super::true_peak::TruePeakMeter;
use crate::dsp::primitives::fir_lowpass::FirLowpass;

/// The low-pass's transition band: about as wide as LAME's, which fades out over its top
/// subband or two.
const TRANSITION_HZ: f64 = 1_500.0;
/// The low-pass's stopband: far enough down that what is left cannot move a peak.
const ATTENUATION_DB: f64 = 60.0;

/// LAME's low-pass frequency for a constant bit rate, in Hz.
fn lame_lowpass_hz(kbps: u32) -> Option<f64> {
    let hz = match kbps {
        32 => 5_500,
        40 => 7_000,
        48 => 7_500,
        56 => 10_000,
        64 => 11_000,
        80 => 13_500,
        96 => 15_100,
        112 => 15_600,
        128 => 17_000,
        160 => 17_500,
        192 => 18_600,
        224 => 19_400,
        256 => 19_700,
        320 => 20_500,
        _ => return None,
    };
    Some(f64::from(hz))
}

/// The estimate of a stereo MP3's decoded true peak, fed the audio it will be made from.
#[derive(Debug, Clone)]
pub struct Mp3PeakEstimate {
    channels: [(FirLowpass, TruePeakMeter); 2],
    filtered: Vec<f32>,
}

impl Mp3PeakEstimate {
    /// An estimate for an MP3 at `rate` and `sample_rate`; `None` where LAME's low-pass is
    /// not known in advance (a variable bit rate) or lies too near the rate's Nyquist
    /// frequency for the filter.
    #[must_use]
    pub fn new(rate: Mp3Rate, sample_rate: u32) -> Option<Self> {
        let Mp3Rate::Cbr(kbps) = rate else { return None };
        let cutoff = lame_lowpass_hz(kbps)?;
        if cutoff + TRANSITION_HZ / 2.0 >= f64::from(sample_rate) / 2.0 {
            return None;
        }
        let channel = || {
            let lowpass = FirLowpass::design(sample_rate, cutoff, TRANSITION_HZ, ATTENUATION_DB);
            Some((lowpass, TruePeakMeter::new(sample_rate)?))
        };
        Some(Self { channels: [channel()?, channel()?], filtered: Vec::new() })
    }

    /// Takes the next block; `left` and `right` have the same length.
    pub fn add(&mut self, left: &[f32], right: &[f32]) {
        for ((lowpass, meter), block) in self.channels.iter_mut().zip([left, right]) {
            lowpass.process(block, &mut self.filtered);
            meter.add(&self.filtered);
        }
    }

    /// The estimated decoded true peak in dBTP, once all the audio has been added; `None`
    /// for silence.
    #[must_use]
    pub fn finish(mut self) -> Option<f64> {
        // The filter's last outputs, which the audio's last samples reach.
        let tail = vec![0.0f32; self.channels[0].0.taps()];
        self.add(&tail, &tail);
        let peak = self.channels.iter().map(|(_, meter)| meter.peak()).fold(0.0f32, f32::max);
        (peak > 0.0).then(|| 20.0 * f64::from(peak).log10())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::decode::Decoder;
    use crate::audio::loudness::measure;
    use crate::audio::mp3::{Mp3Settings, Mp3Writer};

    const RATE: u32 = 48_000;

    /// `seconds` of a tone at `hz` and `dbfs`, faded in and out over 50 ms so that it
    /// starts and ends without a click's broadband spectrum.
    fn tone(hz: f64, dbfs: f64, seconds: f64) -> Vec<f32> {
        let amplitude = 10f64.powf(dbfs / 20.0);
        let frames = (seconds * f64::from(RATE)) as usize;
        let fade = f64::from(RATE) * 0.05;
        (0..frames)
            .map(|n| {
                let edge = (n.min(frames - 1 - n) as f64 / fade).min(1.0);
                let envelope = 0.5 - 0.5 * (std::f64::consts::PI * edge).cos();
                let phase = 2.0 * std::f64::consts::PI * hz * n as f64 / f64::from(RATE);
                (amplitude * envelope * phase.sin()) as f32
            })
            .collect()
    }

    /// The decoded true peak of `audio` encoded at 320 kbit/s, and its estimate.
    fn decoded_and_estimated(audio: &[f32]) -> (Option<f64>, Option<f64>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.mp3");
        let mut writer =
            Mp3Writer::create(&path, RATE, Mp3Settings { rate: Mp3Rate::Cbr(320) }).unwrap();
        writer.write(audio, audio).unwrap();
        writer.finish().unwrap();
        let decoded = measure(&mut Decoder::open(&path).unwrap()).unwrap().true_peak;
        let mut estimate = Mp3PeakEstimate::new(Mp3Rate::Cbr(320), RATE).unwrap();
        for block in audio.chunks(4096) {
            estimate.add(block, block);
        }
        (decoded, estimate.finish())
    }

    #[test]
    fn a_tone_below_lames_low_pass_is_estimated_at_the_peak_it_decodes_to() {
        let (decoded, estimated) = decoded_and_estimated(&tone(1_000.0, -3.0, 1.0));
        let (decoded, estimated) = (decoded.unwrap(), estimated.unwrap());
        assert!((estimated + 3.0).abs() < 0.01, "estimated {estimated:.3} dBTP");
        assert!(
            (decoded - estimated).abs() < 0.3,
            "decoded {decoded:.2}, estimated {estimated:.2}"
        );
    }

    #[test]
    fn a_tone_above_lames_low_pass_is_estimated_to_decode_to_almost_nothing() {
        let (decoded, estimated) = decoded_and_estimated(&tone(22_000.0, -3.0, 1.0));
        // LAME keeps nothing above its low-pass, and the estimate keeps 60 dB less.
        assert!(decoded.is_none_or(|peak| peak < -60.0), "decoded {decoded:?}");
        assert!(estimated.is_some_and(|peak| peak < -55.0), "estimated {estimated:?}");
    }

    #[test]
    fn only_a_constant_bit_rate_within_the_rates_band_is_estimated() {
        assert!(Mp3PeakEstimate::new(Mp3Rate::Vbr(0), RATE).is_none());
        assert!(Mp3PeakEstimate::new(Mp3Rate::Cbr(320), 32_000).is_none());
        assert!(Mp3PeakEstimate::new(Mp3Rate::Cbr(96), 32_000).is_some());
        assert!(Mp3PeakEstimate::new(Mp3Rate::Cbr(320), 44_100).is_some());
    }

    #[test]
    fn silence_has_no_estimate() {
        let mut estimate = Mp3PeakEstimate::new(Mp3Rate::Cbr(320), RATE).unwrap();
        let silence = vec![0.0; 4800];
        estimate.add(&silence, &silence);
        assert_eq!(estimate.finish(), None);
    }
}
