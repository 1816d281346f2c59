//! How each quantity is written, for the editor schema: a pattern that every text the
//! quantity reads matches (so an editor flags `4khz` as you type), and a canonical value
//! spelled back in the unit a bare number means (`10 ms`, not the 0.01 s held inside).
//!
//! This module only describes spellings; reading them is `quantities`' job, and the tests
//! below hold the two together.

use std::borrow::Cow;

use schemars::transform::transform_subschemas;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

use super::automation::Param;
use super::limits::tidy;
use super::meter_levels::{LoudnessUnits, Lufs, TruePeak};
use super::quantities::{
    Decibels, Fraction, Hertz, Pan, Q, Ratio, SampleRate, Seconds, Share, Slope, Tempo, TimeMs,
};

/// A number as `split_quantity` reads it: digits with at most one point, a sign and an
/// optional exponent.
macro_rules! number {
    () => {
        r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
    };
}

/// A number followed by one of the given units, or none (a bare number).
macro_rules! with_units {
    ($units:literal) => {
        concat!(r"^\s*", number!(), r"\s*(", $units, r")?\s*$")
    };
}

/// `1:32.5`, a note value such as `1/8.` or `1/8t`, or a number with a time unit.
macro_rules! time {
    () => {
        concat!(
            r"^\s*(",
            number!(),
            r"\s*:\s*",
            number!(),
            r"|\+?[0-9]+\s*/\s*\+?[0-9]+\s*[.t]?|",
            number!(),
            r"\s*(s|ms|min)?)\s*$"
        )
    };
}

/// How a quantity newtype is written in a project file.
pub trait Spelling {
    /// A regular expression (in the subset that JSON Schema's ECMA 262 dialect and the
    /// `regex` crate read alike) that every text the quantity accepts matches. It checks
    /// the shape only: a value out of range still matches.
    const PATTERN: &'static str;

    /// `canonical`, the value as the quantity serializes it, spelled in the unit that a
    /// bare number means; `None` when the canonical form already reads that way.
    fn spell(_canonical: &Value) -> Option<String> {
        None
    }
}

impl Spelling for Decibels {
    const PATTERN: &'static str = concat!(r"^\s*(", number!(), r"|-\s*inf)\s*(dB)?\s*$");

    fn spell(canonical: &Value) -> Option<String> {
        match canonical {
            Value::String(silence) if silence == "-inf" => Some("-inf dB".into()),
            _ => Some(format!("{} dB", canonical.as_f64()?)),
        }
    }
}

impl Spelling for Hertz {
    const PATTERN: &'static str = with_units!("Hz|kHz");

    fn spell(canonical: &Value) -> Option<String> {
        let hz = canonical.as_f64()?;
        Some(if hz >= 1000.0 { format!("{} kHz", tidy(hz / 1000.0)) } else { format!("{hz} Hz") })
    }
}

impl Spelling for Seconds {
    const PATTERN: &'static str = time!();

    fn spell(canonical: &Value) -> Option<String> {
        Some(format!("{} s", canonical.as_f64()?))
    }
}

impl Spelling for TimeMs {
    const PATTERN: &'static str = time!();

    fn spell(canonical: &Value) -> Option<String> {
        Some(format!("{} ms", tidy(canonical.as_f64()? * 1000.0)))
    }
}

impl Spelling for Fraction {
    const PATTERN: &'static str = with_units!("%");

    fn spell(canonical: &Value) -> Option<String> {
        Some(format!("{}%", tidy(canonical.as_f64()? * 100.0)))
    }
}

impl Spelling for Share {
    const PATTERN: &'static str = Fraction::PATTERN;

    fn spell(canonical: &Value) -> Option<String> {
        Fraction::spell(canonical)
    }
}

impl Spelling for Pan {
    const PATTERN: &'static str =
        concat!(r"^\s*(center|centre|C|", number!(), r"\s*%?\s*(left|right))\s*$");

    fn spell(canonical: &Value) -> Option<String> {
        let position = canonical.as_f64()?;
        let percent = tidy(position.abs() * 100.0);
        Some(match position {
            0.0 => "center".into(),
            p if p < 0.0 => format!("{percent}% left"),
            _ => format!("{percent}% right"),
        })
    }
}

impl Spelling for Q {
    const PATTERN: &'static str = concat!(r"^\s*", number!(), r"\s*$");
}

impl Spelling for Ratio {
    const PATTERN: &'static str =
        concat!(r"^\s*(", number!(), r"|\+?[iI][nN][fF]([iI][nN][iI][tT][yY])?)\s*(:1)?\s*$");
}

impl Spelling for SampleRate {
    const PATTERN: &'static str = with_units!("Hz|kHz");
}

impl Spelling for Slope {
    const PATTERN: &'static str = with_units!("dB/oct|dB");
}

impl Spelling for Lufs {
    const PATTERN: &'static str = with_units!("LUFS|LKFS");
}

impl Spelling for TruePeak {
    const PATTERN: &'static str = with_units!("dBTP");
}

impl Spelling for LoudnessUnits {
    const PATTERN: &'static str = with_units!("LU");
}

impl Spelling for Tempo {
    const PATTERN: &'static str = with_units!("bpm|BPM");
}

/// A schema name and how to spell a default of it.
type Speller = (Cow<'static, str>, fn(&Value) -> Option<String>);

/// Every quantity whose defaults read differently in its documented unit, under the
/// schema names of the quantity and of its automatable form.
fn spellers() -> Vec<Speller> {
    fn both<T: Spelling + JsonSchema>() -> [Speller; 2] {
        [(T::schema_name(), T::spell), (Param::<T>::schema_name(), T::spell)]
    }
    [
        both::<Decibels>(),
        both::<Hertz>(),
        both::<Seconds>(),
        both::<TimeMs>(),
        both::<Fraction>(),
        both::<Share>(),
        both::<Pan>(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A schema transform: every `default` of a quantity is rewritten from its canonical
/// number into the documented unit (`attack` shows `10 ms`, not `0.01`), so that a user
/// who copies a default from an editor's hover gets the default.
pub fn spell_defaults(schema: &mut Schema) {
    let spellers = spellers();
    spell_in(schema, &spellers);
}

fn spell_in(schema: &mut Schema, spellers: &[Speller]) {
    if let Some(object) = schema.as_object_mut() {
        let name = object
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .map(str::to_owned);
        if let (Some(name), Some(default)) = (name, object.get_mut("default")) {
            let speller = spellers.iter().find(|(n, _)| *n == name.as_str());
            if let Some(spelled) = speller.and_then(|(_, spell)| spell(default)) {
                *default = Value::String(spelled);
            }
        }
    }
    transform_subschemas(&mut |s: &mut Schema| spell_in(s, spellers), schema);
}

#[cfg(test)]
mod tests {
    use regex::Regex;
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::units::with_tempo;

    /// Whether the quantity reads `text` (note values with a tempo set).
    fn reads<T: DeserializeOwned>(text: &str) -> bool {
        with_tempo(Some(120.0), || serde_json::from_value::<T>(Value::String(text.into())).is_ok())
    }

    /// Texts shaped like quantities, right and wrong: numbers in every form the parsers
    /// meet, joined to every unit any quantity knows (and their misspellings) by nothing,
    /// a space or a tab, plus the clock, note, ratio and pan forms.
    fn corpus() -> Vec<String> {
        let numbers = [
            "3", "-3", "+3", "3.", "-3.0", ".5", "+.5", "0", "12.25", "24", "48000", "1e3", "1E-2",
            "-", "", ".", "1.2.3", "inf", "-inf", "+inf", "- inf", "Inf", "infinity", "nan", "NaN",
        ];
        let units = [
            "", "dB", "db", "DB", "Hz", "hz", "kHz", "khz", "KHz", "s", "ms", "Ms", "min", "%",
            "dB/oct", "dB/Oct", "bpm", "BPM", "Bpm", "left", "right", "% left", "%right", "% Left",
            ":1", ": 1", ":2", "x", "LUFS", "LKFS", "lufs", "dBTP", "dbtp", "LU", "lu",
        ];
        let mut corpus = Vec::new();
        for number in numbers {
            for unit in units {
                for gap in ["", " ", "\t"] {
                    corpus.push(format!("{number}{gap}{unit}"));
                    corpus.push(format!(" {number}{gap}{unit} "));
                }
            }
        }
        corpus.extend(
            [
                "1:32.5",
                "0:04",
                " 1 : 30 ",
                "-0:30",
                "+1:05",
                "1e1:05",
                "1:60",
                "1:",
                ":30",
                "a:b",
                "1/8",
                "1/8.",
                "1/8t",
                " 1 / 8 . ",
                "+1/+4",
                "0/8",
                "1/0",
                "1/8x",
                "/8",
                "1/",
                "3/16t",
                "center",
                "centre",
                "C",
                "c",
                "Center",
                "middle",
                "inf:1",
                "4 :1",
                "infinity:1",
                "INF",
                "nan:1",
            ]
            .map(String::from),
        );
        corpus
    }

    fn pattern<T: Spelling>() -> Regex {
        Regex::new(T::PATTERN).expect("the pattern compiles")
    }

    /// Every text of the corpus that `T` reads matches its pattern, and the pattern turns
    /// down each of `typos`.
    fn check<T: Spelling + DeserializeOwned>(must_read: &[&str], typos: &[&str]) {
        let pattern = pattern::<T>();
        let mut read = 0;
        for text in corpus().iter().map(String::as_str).chain(must_read.iter().copied()) {
            if reads::<T>(text) {
                read += 1;
                assert!(
                    pattern.is_match(text),
                    "{} reads {text:?}, but its pattern rejects it",
                    T::PATTERN
                );
            }
        }
        for text in must_read {
            assert!(reads::<T>(text), "{text:?} should read");
        }
        assert!(read > must_read.len(), "the corpus should hold texts this quantity reads");
        for typo in typos {
            assert!(!reads::<T>(typo), "{typo:?} should not read");
            assert!(!pattern.is_match(typo), "the pattern should flag {typo:?}");
        }
    }

    #[test]
    fn gain_patterns_accept_every_spelling_the_parser_reads_and_flag_wrong_units() {
        check::<Decibels>(
            &["-3 dB", "-3.0dB", "-inf dB", "-inf", " 0 dB ", "6"],
            &["-3 db", "3 dBFS", "+inf dB", "- 3 dB", "loud"],
        );
    }

    #[test]
    fn frequency_patterns_accept_every_spelling_the_parser_reads_and_flag_wrong_units() {
        check::<Hertz>(&["8 kHz", "120 Hz", "1.5kHz", "440", "1e3"], &["4khz", "10 hz", "8 k"]);
        check::<SampleRate>(&["48 kHz", "44.1 kHz", "44100"], &["48khz", "48 KHz"]);
    }

    #[test]
    fn time_patterns_accept_clock_times_note_values_and_units() {
        let times = ["1:32.5", "0:04", "2 s", "250 ms", "1 min", "1/8.", "1/8t", "1/4", "3"];
        check::<Seconds>(&times, &["2 sec", "10 Ms", "1:32:5", "1/8x", "two"]);
        check::<TimeMs>(&times, &["10 msec", "10 MS", "1/8 dotted"]);
    }

    #[test]
    fn proportion_and_pan_patterns_accept_percent_and_sides() {
        check::<Fraction>(&["30%", "30 %", "140", "0.5%"], &["30 percent", "30%%"]);
        check::<Share>(&["30%", "100%", "0"], &["half"]);
        check::<Pan>(
            &["30% left", "5% right", "center", "centre", "C", "30left"],
            &["30% lefty", "left", "middle"],
        );
    }

    #[test]
    fn bare_number_patterns_accept_their_forms_and_flag_units() {
        check::<Q>(&["0.707", "2"], &["0.7 Q", "2x"]);
        check::<Ratio>(&["4", "4:1", "inf", "inf:1", "2.5 :1"], &["4:2", "4 to 1"]);
        check::<Slope>(&["24", "24 dB/oct", "12dB"], &["24 dB/octave", "24db/oct"]);
        check::<Tempo>(&["96", "96 bpm", "120BPM"], &["96 Bpm", "96 beats"]);
    }

    #[test]
    fn meter_level_patterns_accept_every_spelling_the_parser_reads_and_flag_wrong_units() {
        check::<Lufs>(&["-14 LUFS", "-23LKFS", "-9"], &["-14 lufs", "-14 dB", "-14 LU"]);
        check::<TruePeak>(&["-1 dBTP", "-0.5", "-1dBTP"], &["-1 dB", "-1 dbTP", "-1 TP"]);
        check::<LoudnessUnits>(&["8 LU", "1.5LU", "12"], &["8 lu", "8 LUFS", "8 dB"]);
    }

    #[test]
    fn defaults_are_spelled_in_the_unit_a_bare_number_means() {
        assert_eq!(TimeMs::spell(&serde_json::json!(0.01)).as_deref(), Some("10 ms"));
        assert_eq!(Share::spell(&serde_json::json!(0.3)).as_deref(), Some("30%"));
        assert_eq!(Hertz::spell(&serde_json::json!(6000.0)).as_deref(), Some("6 kHz"));
        assert_eq!(Decibels::spell(&serde_json::json!("-inf")).as_deref(), Some("-inf dB"));
        assert_eq!(Pan::spell(&serde_json::json!(-0.25)).as_deref(), Some("25% left"));
        assert_eq!(Ratio::spell(&serde_json::json!(4.0)), None);
    }
}
