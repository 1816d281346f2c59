//! Property tests: the unit parser reads back exactly what it prints and never panics, and
//! automation never strays outside the points it runs between.

use mixdown::dsp::primitives::curve::Curve;
use mixdown::units::{
    Decibels, Fraction, Hertz, Pan, Param, Q, Ratio, SampleRate, Seconds, Share, Slope, Tempo,
    TimeMs,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;

/// Reads `text` as a project file writes it (a string value).
fn read<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(&serde_json::to_string(text).expect("a string serializes")).ok()
}

/// Numbers as people and programs write them: whole, decimal, with an exponent, signed.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (-100_000i64..100_000).prop_map(|n| n.to_string()),
        (-1e6f64..1e6).prop_map(|x| x.to_string()),
        (-1e6f64..1e6).prop_map(|x| format!("{x:e}")),
        (0u32..1000, 0u32..1000).prop_map(|(whole, part)| format!("{whole}.{part:03}")),
        (1u32..100, -6i32..6).prop_map(|(m, e)| format!("{m}e{e}")),
    ]
}

/// A number with one of `units` after it (the empty unit is a bare number), spaced or not.
fn quantity(units: &'static [&'static str]) -> impl Strategy<Value = String> {
    (number(), proptest::sample::select(units), any::<bool>()).prop_map(|(n, unit, space)| {
        if space { format!("{n} {unit}") } else { format!("{n}{unit}") }
    })
}

/// Reads `text`; when it reads, printing the value and reading that back gives it exactly.
fn reads_back<T>(text: &str) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + std::fmt::Display + PartialEq + std::fmt::Debug,
{
    if let Some(value) = read::<T>(text) {
        let printed = value.to_string();
        let again = read::<T>(&printed);
        prop_assert_eq!(again.as_ref(), Some(&value), "`{}` printed as `{}`", text, printed);
    }
    Ok(())
}

/// Text close to what a project file holds, so that the parser's branches are reached.
fn unitish() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[-+0-9.eE :/%dBHzkmsinfatNlrghtcer]{0,16}")
        .expect("a valid regex")
}

proptest! {
    #[test]
    fn every_quantity_reads_back_exactly_what_it_prints(
        db in quantity(&["", "dB"]),
        hz in quantity(&["", "Hz", "kHz"]),
        seconds in quantity(&["", "s", "ms", "min"]),
        percent in quantity(&["", "%"]),
        pan_side in proptest::sample::select(&["left", "right"][..]),
    ) {
        reads_back::<Decibels>(&db)?;
        reads_back::<Hertz>(&hz)?;
        reads_back::<Seconds>(&seconds)?;
        reads_back::<TimeMs>(&seconds)?;
        reads_back::<Fraction>(&percent)?;
        reads_back::<Share>(&percent)?;
        reads_back::<Pan>(&format!("{percent} {pan_side}"))?;
        reads_back::<Pan>(&db)?;
        reads_back::<Q>(&db)?;
        reads_back::<Ratio>(&db)?;
        reads_back::<Ratio>(&format!("{db}:1"))?;
        reads_back::<SampleRate>(&hz)?;
        reads_back::<Slope>(&db)?;
        reads_back::<Tempo>(&db)?;
    }

    #[test]
    fn clock_times_read_back_exactly(minutes in 0u32..180, seconds in 0.0f64..60.0) {
        reads_back::<Seconds>(&format!("{minutes}:{seconds}"))?;
        reads_back::<TimeMs>(&format!("{minutes}:{seconds}"))?;
    }

    #[test]
    fn no_text_makes_a_unit_parser_panic(text in prop_oneof![any::<String>(), unitish()]) {
        let _ = read::<Decibels>(&text);
        let _ = read::<Hertz>(&text);
        let _ = read::<Seconds>(&text);
        let _ = read::<TimeMs>(&text);
        let _ = read::<Fraction>(&text);
        let _ = read::<Share>(&text);
        let _ = read::<Pan>(&text);
        let _ = read::<Q>(&text);
        let _ = read::<Ratio>(&text);
        let _ = read::<SampleRate>(&text);
        let _ = read::<Slope>(&text);
        let _ = read::<Tempo>(&text);
        let _ = read::<Param<Decibels>>(&text);
    }

    #[test]
    fn automation_stays_within_the_points_of_each_segment(
        steps in proptest::collection::vec((0u32..20_000, -120.0f64..48.0), 1..12),
        rate in proptest::sample::select(&[44_100.0, 48_000.0, 96_000.0][..]),
        probes in proptest::collection::vec(0u64..2_000_000, 1..64),
    ) {
        // Times in milliseconds, never decreasing, so equal times (a jump) occur too.
        let mut time_ms = 0u64;
        let points: Vec<String> = steps
            .iter()
            .map(|&(step, db)| {
                time_ms += u64::from(step) / 4 * 4 * u64::from(step % 3 != 0);
                format!("[\"{time_ms} ms\", \"{db} dB\"]")
            })
            .collect();
        let param: Param<Decibels> =
            serde_json::from_str(&format!("[{}]", points.join(","))).expect("valid automation");
        let points = param.points();
        let curve = Curve::from_seconds(&points, rate);
        let frames: Vec<f64> = points.iter().map(|&(t, _)| t * rate).collect();
        for frame in probes {
            let value = curve.at(frame);
            let x = frame as f64;
            let after = frames.partition_point(|&f| f <= x);
            let (low, high) = match after {
                0 => (points[0].1, points[0].1),
                n if n == points.len() => (points[n - 1].1, points[n - 1].1),
                n => {
                    let (a, b) = (points[n - 1].1, points[n].1);
                    (a.min(b), a.max(b))
                }
            };
            prop_assert!(
                (low..=high).contains(&value),
                "{value} at frame {frame} lies outside {low}..={high}"
            );
        }
    }
}
