//! One snapshot per error class: every invalid fixture's diagnostics, as the user sees them.

use crate::snapshot;
use crate::support::{mixdown, root, scratch, stderr};

/// Checks a fixture; a fixture that checks clean must then fail to render.
fn diagnose(name: &str) -> String {
    let file = format!("tests/fixtures/invalid/{name}.yaml");
    let check = mixdown(&root(), &["check", &file]);
    if !check.status.success() {
        assert_eq!(check.status.code(), Some(2), "an invalid project exits with 2");
        return stderr(&check);
    }
    let work = scratch();
    let cache = work.path().join("cache");
    let out = work.path().join("out");
    let render = mixdown(
        &root(),
        &["render", &file, "--cache", cache.to_str().unwrap(), "--out", out.to_str().unwrap()],
    );
    assert_eq!(render.status.code(), Some(1), "a render failure exits with 1");
    assert!(!out.join(format!("{name}.wav")).exists(), "a failed render leaves no output file");
    stderr(&render)
}

macro_rules! fixtures {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                snapshot!(concat!("diagnostic-", $name), diagnose($name));
            }
        )*
    };
}

fixtures! {
    a_syntax_error_points_at_the_broken_line => "syntax-error",
    an_unknown_key_suggests_the_nearest_one => "unknown-key",
    a_wrong_type_names_what_was_expected => "wrong-type",
    an_unknown_bus_is_located_and_lists_the_buses => "unknown-bus",
    an_unknown_send_target_suggests_the_nearest_bus => "unknown-send-target",
    a_routing_cycle_is_printed_in_order => "routing-cycle",
    a_name_used_by_a_track_and_a_bus_is_rejected => "duplicate-name",
    a_key_written_twice_is_rejected => "duplicate-key",
    nan_is_rejected => "nan-value",
    an_out_of_range_pan_is_rejected => "out-of-range",
    a_missing_file_suggests_the_nearest_name => "missing-file",
    a_file_that_is_not_audio_fails_the_check => "corrupt-audio",
    a_truncated_flac_fails_the_check_at_its_line => "truncated-audio",
    a_sample_rate_of_zero_is_rejected => "sample-rate-zero",
    a_unit_in_the_wrong_case_names_the_right_spelling => "unit-case",
    an_empty_project_says_what_a_mix_needs => "empty-project",
    a_mix_without_tracks_is_rejected => "no-tracks",
    an_unknown_processor_suggests_the_nearest_one => "unknown-processor",
    a_bus_sending_to_itself_is_rejected => "send-to-self",
    a_note_value_without_a_tempo_is_rejected => "note-without-tempo",
    every_routing_error_is_reported_in_one_pass => "several-errors",
    type_errors_and_routing_errors_are_reported_in_one_run => "type-and-routing-errors",
    an_unknown_sidechain_suggests_the_nearest_track => "unknown-sidechain",
    a_sidechain_loop_is_a_routing_cycle => "sidechain-cycle",
    a_share_past_100_percent_is_rejected => "share-past-full",
    feedback_that_never_dies_away_is_rejected_at_its_point => "feedback-too-high",
    type_errors_all_over_the_file_are_reported_in_one_run => "several-type-errors",
}
