//! CD time: the Red Book's frame of 1/75 s (588 samples at 44.1 kHz) and the `MM:SS:FF`
//! times a CUE sheet writes.
//!
//! Conversions are integer arithmetic, exact at any sample rate, so a song start computed
//! on the 48 kHz album and one computed on the 44.1 kHz CD file land on the same frame.
//! Rounding to the nearest frame takes a tie upwards (half up), as the reference album's
//! INDEX times do. This module only counts: where songs start is the sequence's business.

/// CD frames (sectors) per second.
pub const CD_FRAMES_PER_SECOND: u64 = 75;

/// The CD's sample rate.
pub const CD_SAMPLE_RATE: u32 = 44_100;

/// Samples per channel in one CD frame at 44.1 kHz.
pub const SAMPLES_PER_CD_FRAME: u64 = CD_SAMPLE_RATE as u64 / CD_FRAMES_PER_SECOND;

/// The longest time `MM:SS:FF` can write, 99:59:74, in CD frames.
pub const MAX_MSF_FRAMES: u64 = 99 * 60 * CD_FRAMES_PER_SECOND + 59 * CD_FRAMES_PER_SECOND + 74;

/// How a position between two CD frames is taken to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// The nearest frame; a position exactly halfway goes to the later frame.
    Nearest,
    /// The frame at or before the position.
    Down,
    /// The frame at or after the position: a length padded to whole frames.
    Up,
}

/// The CD frames `samples` (per channel, at `sample_rate`) span, rounded as asked.
#[must_use]
pub fn samples_to_cd_frames(samples: u64, sample_rate: u32, rounding: Rounding) -> u64 {
    let scaled = u128::from(samples) * u128::from(CD_FRAMES_PER_SECOND);
    let rate = u128::from(sample_rate.max(1));
    let frames = match rounding {
        Rounding::Nearest => (2 * scaled + rate) / (2 * rate),
        Rounding::Down => scaled / rate,
        Rounding::Up => scaled.div_ceil(rate),
    };
    u64::try_from(frames).unwrap_or(u64::MAX)
}

/// The samples per channel at `sample_rate` that `frames` CD frames last: exact at every
/// rate that is a multiple of 75 Hz (44.1, 48, 88.2, 96 kHz...), the nearest sample otherwise.
#[must_use]
pub fn cd_frames_to_samples(frames: u64, sample_rate: u32) -> u64 {
    let scaled = u128::from(frames) * u128::from(sample_rate);
    let fps = u128::from(CD_FRAMES_PER_SECOND);
    u64::try_from((2 * scaled + fps) / (2 * fps)).unwrap_or(u64::MAX)
}

/// `frames` written as a CUE sheet's `MM:SS:FF`: minutes (past 59 too), seconds and frames,
/// two digits each. Past 99:59:74 ([`MAX_MSF_FRAMES`]) the minutes take three digits, which
/// no CUE reader accepts; the Red Book check refuses albums that long first.
#[must_use]
pub fn msf(frames: u64) -> String {
    let minutes = frames / (60 * CD_FRAMES_PER_SECOND);
    let seconds = frames / CD_FRAMES_PER_SECOND % 60;
    let frame = frames % CD_FRAMES_PER_SECOND;
    format!("{minutes:02}:{seconds:02}:{frame:02}")
}

/// Reads an `MM:SS:FF` time back into CD frames: minutes in two or more digits, seconds
/// under 60 and frames under 75 in two digits each. `None` for anything else.
#[must_use]
pub fn parse_msf(text: &str) -> Option<u64> {
    let mut parts = text.split(':');
    let (minutes, seconds, frame) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, width: std::ops::RangeInclusive<usize>| {
        (width.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let minutes = digits(minutes, 2..=6)?;
    let seconds = digits(seconds, 2..=2).filter(|&s| s < 60)?;
    let frame = digits(frame, 2..=2).filter(|&f| f < CD_FRAMES_PER_SECOND)?;
    if parts.next().is_some() {
        return None;
    }
    Some((minutes * 60 + seconds) * CD_FRAMES_PER_SECOND + frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference album's song lengths in tenths of a second, and how each song joins
    /// the one before it: a gap (positive) or a crossfade (negative), in tenths.
    const REFERENCE_SONGS: [(u64, i64); 12] = [
        (2124, 0),
        (2478, 20),
        (1862, 20),
        (2686, 20),
        (2310, 20),
        (2949, 20),
        (2035, -15),
        (2592, 20),
        (2247, 20),
        (2813, 20),
        (1946, 20),
        (2758, 20),
    ];

    /// Each reference song's start on the timeline, in tenths of a second.
    fn reference_starts_in_tenths() -> Vec<u64> {
        let mut starts = Vec::new();
        let mut end = 0_i64;
        for (length, join) in REFERENCE_SONGS {
            let start = if starts.is_empty() { 0 } else { end + join };
            starts.push(start as u64);
            end = start + length as i64;
        }
        starts
    }

    #[test]
    fn the_reference_album_index_times_come_from_its_song_starts_rounded_half_up() {
        let expected = [
            "00:00:00", "03:34:30", "07:44:15", "10:52:30", "15:23:00", "19:16:00", "24:09:30",
            "27:34:68", "31:56:08", "35:42:60", "40:26:08", "43:42:53",
        ];
        for (rate, tenth) in [(44_100, 4_410), (48_000, 4_800)] {
            let index: Vec<String> = reference_starts_in_tenths()
                .iter()
                .map(|t| msf(samples_to_cd_frames(t * tenth, rate, Rounding::Nearest)))
                .collect();
            assert_eq!(index, expected, "at {rate} Hz");
        }
    }

    #[test]
    fn track_two_of_the_reference_album_starts_at_16080_frames() {
        assert_eq!(parse_msf("03:34:30"), Some(16_080));
        assert_eq!(samples_to_cd_frames(2_144 * 4_410, CD_SAMPLE_RATE, Rounding::Nearest), 16_080);
    }

    #[test]
    fn a_start_halfway_between_frames_rounds_to_the_later_one() {
        // Song 8 starts at 1654.9 s: 124117.5 frames.
        let samples = 16_549 * 4_410;
        assert_eq!(samples_to_cd_frames(samples, CD_SAMPLE_RATE, Rounding::Nearest), 124_118);
        assert_eq!(samples_to_cd_frames(samples, CD_SAMPLE_RATE, Rounding::Down), 124_117);
        assert_eq!(msf(124_118), "27:34:68");
    }

    #[test]
    fn the_reference_cd_wav_pads_its_2898_5_seconds_to_217388_whole_frames() {
        let samples = 28_985 * 4_410;
        assert_eq!(samples, 127_823_850);
        assert_eq!(samples_to_cd_frames(samples, CD_SAMPLE_RATE, Rounding::Up), 217_388);
        assert_eq!(cd_frames_to_samples(217_388, CD_SAMPLE_RATE), 127_824_144);
        assert_eq!(217_388 * SAMPLES_PER_CD_FRAME, 127_824_144);
        assert_eq!(samples_to_cd_frames(28_985 * 4_800, 48_000, Rounding::Up), 217_388);
    }

    #[test]
    fn a_frame_is_588_samples_at_44_1_khz_and_640_at_48_khz() {
        assert_eq!(SAMPLES_PER_CD_FRAME, 588);
        assert_eq!(cd_frames_to_samples(1, CD_SAMPLE_RATE), 588);
        assert_eq!(cd_frames_to_samples(1, 48_000), 640);
        assert_eq!(samples_to_cd_frames(587, CD_SAMPLE_RATE, Rounding::Down), 0);
        assert_eq!(samples_to_cd_frames(587, CD_SAMPLE_RATE, Rounding::Nearest), 1);
        assert_eq!(samples_to_cd_frames(293, CD_SAMPLE_RATE, Rounding::Nearest), 0);
        assert_eq!(samples_to_cd_frames(294, CD_SAMPLE_RATE, Rounding::Nearest), 1);
        assert_eq!(samples_to_cd_frames(589, CD_SAMPLE_RATE, Rounding::Up), 2);
        assert_eq!(samples_to_cd_frames(588, CD_SAMPLE_RATE, Rounding::Up), 1);
    }

    #[test]
    fn a_rate_that_is_not_a_multiple_of_75_hz_takes_the_nearest_sample() {
        // 32 kHz: a frame is 426.67 samples.
        assert_eq!(cd_frames_to_samples(1, 32_000), 427);
        assert_eq!(cd_frames_to_samples(3, 32_000), 1_280);
    }

    #[test]
    fn msf_writes_minutes_past_59_and_stops_at_99_59_74() {
        assert_eq!(msf(0), "00:00:00");
        assert_eq!(msf(74), "00:00:74");
        assert_eq!(msf(75), "00:01:00");
        assert_eq!(msf(60 * 75 * 79 + 57 * 75), "79:57:00");
        assert_eq!(msf(MAX_MSF_FRAMES), "99:59:74");
        assert_eq!(msf(MAX_MSF_FRAMES + 1), "100:00:00");
    }

    #[test]
    fn parse_msf_refuses_what_a_cue_sheet_cannot_hold() {
        assert_eq!(parse_msf("99:59:74"), Some(MAX_MSF_FRAMES));
        for bad in ["", "00:60:00", "00:00:75", "0:00:00", "00:0:00", "00:00:0", "00:00:00:00"] {
            assert_eq!(parse_msf(bad), None, "{bad:?}");
        }
        for bad in ["aa:00:00", "-1:00:00", "00:+1:00", "00.00.00", "00:00"] {
            assert_eq!(parse_msf(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn huge_counts_saturate_instead_of_wrapping() {
        assert_eq!(cd_frames_to_samples(u64::MAX, 192_000), u64::MAX);
        assert_eq!(samples_to_cd_frames(u64::MAX, 1, Rounding::Up), u64::MAX);
        assert_eq!(samples_to_cd_frames(u64::MAX, 0, Rounding::Down), u64::MAX);
    }

    proptest! {
        #[test]
        fn whole_frames_go_to_samples_and_back_unchanged(
            frames in 0..MAX_MSF_FRAMES * 4,
            rate in prop::sample::select(vec![44_100_u32, 48_000, 88_200, 96_000, 192_000, 32_000]),
        ) {
            let samples = cd_frames_to_samples(frames, rate);
            prop_assert_eq!(samples_to_cd_frames(samples, rate, Rounding::Nearest), frames);
            // At a multiple of 75 Hz a frame is whole samples, so no rounding moves it.
            if rate % 75 == 0 {
                prop_assert_eq!(samples_to_cd_frames(samples, rate, Rounding::Down), frames);
                prop_assert_eq!(samples_to_cd_frames(samples, rate, Rounding::Up), frames);
            }
        }

        #[test]
        fn the_nearest_frame_is_within_half_a_frame(samples in 0..u64::from(u32::MAX)) {
            let frames = samples_to_cd_frames(samples, CD_SAMPLE_RATE, Rounding::Nearest);
            let back = frames * SAMPLES_PER_CD_FRAME;
            prop_assert!(back.abs_diff(samples) <= SAMPLES_PER_CD_FRAME / 2);
            let down = samples_to_cd_frames(samples, CD_SAMPLE_RATE, Rounding::Down);
            let up = samples_to_cd_frames(samples, CD_SAMPLE_RATE, Rounding::Up);
            prop_assert!(down * SAMPLES_PER_CD_FRAME <= samples);
            prop_assert!(up * SAMPLES_PER_CD_FRAME >= samples && up - down <= 1);
            prop_assert!(down <= frames && frames <= up);
        }

        #[test]
        fn every_writable_time_reads_back(frames in 0..=MAX_MSF_FRAMES) {
            let text = msf(frames);
            prop_assert_eq!(text.len(), 8);
            prop_assert_eq!(parse_msf(&text), Some(frames));
        }
    }
}
