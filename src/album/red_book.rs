//! The Red Book's limits on an audio CD, checked on an album's track lengths: at most 99
//! tracks, each at least 4 s, and at most 79:57 in all.
//!
//! A track's length is its delivered span: from its start to the next song's start, the
//! gap after it included (the last runs to the album's end). The total is the album file's
//! length; the 2 s pregap the burning tool adds before track 1 is not counted. Exactly at a
//! limit passes. Every violation is returned, so one round trip fixes them all; locating
//! them in the album file is the caller's business.

use std::fmt;

/// The most tracks a CD holds.
pub const MAX_TRACKS: usize = 99;

/// The shortest track a CD holds, in seconds.
pub const MIN_TRACK_SECONDS: u64 = 4;

/// The longest program a CD holds, in seconds: 79:57.
pub const MAX_TOTAL_SECONDS: u64 = 79 * 60 + 57;

/// One way an album breaks the Red Book's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedBookViolation {
    /// More than [`MAX_TRACKS`] tracks.
    TooManyTracks {
        /// How many tracks the album has.
        tracks: usize,
    },
    /// A track shorter than [`MIN_TRACK_SECONDS`].
    TrackTooShort {
        /// The track's number, from 1.
        track: usize,
        /// Its length in samples per channel.
        samples: u64,
        /// The rate `samples` counts at.
        sample_rate: u32,
    },
    /// More than [`MAX_TOTAL_SECONDS`] in all.
    TooLong {
        /// The album's length in samples per channel.
        samples: u64,
        /// The rate `samples` counts at.
        sample_rate: u32,
    },
}

impl RedBookViolation {
    /// What to change to meet the limit.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            Self::TooManyTracks { .. } => "split the album across two discs",
            Self::TrackTooShort { .. } => {
                "a longer gap after the song counts toward its track, or join it to a neighbour"
            }
            Self::TooLong { .. } => {
                "drop a song or shorten the gaps, or split the album across two discs"
            }
        }
    }
}

impl fmt::Display for RedBookViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooManyTracks { tracks } => {
                write!(f, "the album has {tracks} tracks; a CD holds at most {MAX_TRACKS}")
            }
            Self::TrackTooShort { track, samples, sample_rate } => {
                let hundredths = hundredths_of_a_second(samples, sample_rate, false);
                write!(
                    f,
                    "track {track} lasts {}.{:02} s; a CD track lasts at least {MIN_TRACK_SECONDS} s",
                    hundredths / 100,
                    hundredths % 100
                )
            }
            Self::TooLong { samples, sample_rate } => {
                let hundredths = hundredths_of_a_second(samples, sample_rate, true);
                let (max_minutes, max_seconds) = (MAX_TOTAL_SECONDS / 60, MAX_TOTAL_SECONDS % 60);
                write!(
                    f,
                    "the album lasts {}:{:02}.{:02}; a CD holds at most {max_minutes}:{max_seconds:02}",
                    hundredths / 6000,
                    hundredths / 100 % 60,
                    hundredths % 100
                )
            }
        }
    }
}

/// `samples` at `sample_rate` in hundredths of a second, rounded towards the limit it
/// missed (down for a short track, up for a long album), so a miss never prints as the
/// limit itself.
fn hundredths_of_a_second(samples: u64, sample_rate: u32, up: bool) -> u64 {
    let scaled = u128::from(samples) * 100;
    let rate = u128::from(sample_rate.max(1));
    let hundredths = if up { scaled.div_ceil(rate) } else { scaled / rate };
    u64::try_from(hundredths).unwrap_or(u64::MAX)
}

/// Checks an album's track lengths (samples per channel of each song's delivered span, in
/// order, at `sample_rate`) against the Red Book. Empty when the album fits on a CD.
#[must_use]
pub fn check(song_lengths: &[u64], sample_rate: u32) -> Vec<RedBookViolation> {
    let mut violations = Vec::new();
    if song_lengths.len() > MAX_TRACKS {
        violations.push(RedBookViolation::TooManyTracks { tracks: song_lengths.len() });
    }
    let rate = u64::from(sample_rate);
    for (index, &samples) in song_lengths.iter().enumerate() {
        if samples < MIN_TRACK_SECONDS * rate {
            violations.push(RedBookViolation::TrackTooShort {
                track: index + 1,
                samples,
                sample_rate,
            });
        }
    }
    let total = song_lengths.iter().fold(0_u64, |sum, &n| sum.saturating_add(n));
    if total > MAX_TOTAL_SECONDS * rate {
        violations.push(RedBookViolation::TooLong { samples: total, sample_rate });
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    const CD: u32 = 44_100;
    const SECOND: u64 = 44_100;

    #[test]
    fn the_reference_album_fits_on_a_cd() {
        let spans = [2144, 2498, 1882, 2706, 2330, 2934, 2055, 2612, 2267, 2833, 1966, 2758]
            .map(|tenths: u64| tenths * SECOND / 10);
        assert_eq!(spans.iter().sum::<u64>(), 28_985 * SECOND / 10);
        assert_eq!(check(&spans, CD), []);
    }

    #[test]
    fn ninety_nine_tracks_pass_and_a_hundredth_is_refused() {
        assert_eq!(check(&[4 * SECOND; 99], CD), []);
        let violations = check(&[4 * SECOND; 100], CD);
        assert_eq!(violations, [RedBookViolation::TooManyTracks { tracks: 100 }]);
        assert_eq!(violations[0].to_string(), "the album has 100 tracks; a CD holds at most 99");
        assert_eq!(violations[0].help(), "split the album across two discs");
    }

    #[test]
    fn a_track_of_exactly_four_seconds_passes_and_one_sample_less_is_named() {
        assert_eq!(check(&[60 * SECOND, 4 * SECOND], CD), []);
        let violations = check(&[60 * SECOND, 4 * SECOND - 1, 3 * SECOND], 44_100);
        assert_eq!(
            violations,
            [
                RedBookViolation::TrackTooShort {
                    track: 2,
                    samples: 4 * SECOND - 1,
                    sample_rate: CD
                },
                RedBookViolation::TrackTooShort { track: 3, samples: 3 * SECOND, sample_rate: CD },
            ]
        );
        assert_eq!(
            violations[0].to_string(),
            "track 2 lasts 3.99 s; a CD track lasts at least 4 s"
        );
        assert_eq!(
            violations[1].to_string(),
            "track 3 lasts 3.00 s; a CD track lasts at least 4 s"
        );
    }

    #[test]
    fn lengths_count_at_the_rate_they_are_given_in() {
        assert_eq!(check(&[4 * 48_000], 48_000), []);
        let violations = check(&[4 * 44_100], 48_000);
        assert_eq!(
            violations[0].to_string(),
            "track 1 lasts 3.67 s; a CD track lasts at least 4 s"
        );
    }

    #[test]
    fn exactly_79_57_passes_and_one_sample_more_is_refused_with_the_total() {
        let full = [MAX_TOTAL_SECONDS * SECOND / 2; 2];
        assert_eq!(check(&full, CD), []);
        let violations = check(&[full[0], full[1] + 1], CD);
        assert_eq!(
            violations,
            [RedBookViolation::TooLong {
                samples: MAX_TOTAL_SECONDS * SECOND + 1,
                sample_rate: CD
            }]
        );
        assert_eq!(violations[0].to_string(), "the album lasts 79:57.01; a CD holds at most 79:57");
        let violations = check(&[80 * 60 * SECOND + 3 * SECOND + SECOND / 4], CD);
        assert_eq!(violations[0].to_string(), "the album lasts 80:03.25; a CD holds at most 79:57");
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let mut lengths = vec![SECOND; 100];
        lengths[0] = 80 * 60 * SECOND;
        let violations = check(&lengths, CD);
        assert_eq!(violations.len(), 1 + 99 + 1);
        assert_eq!(violations[0], RedBookViolation::TooManyTracks { tracks: 100 });
        assert!(matches!(violations[1], RedBookViolation::TrackTooShort { track: 2, .. }));
        assert!(matches!(violations[99], RedBookViolation::TrackTooShort { track: 100, .. }));
        assert!(matches!(violations[100], RedBookViolation::TooLong { .. }));
    }

    #[test]
    fn lengths_that_overflow_when_summed_are_too_long_not_a_panic() {
        let violations = check(&[u64::MAX, u64::MAX], CD);
        assert_eq!(violations, [RedBookViolation::TooLong { samples: u64::MAX, sample_rate: CD }]);
        assert!(violations[0].to_string().starts_with("the album lasts "));
    }
}
