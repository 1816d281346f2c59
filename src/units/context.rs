//! What values are read against while a project file loads: the tempo, for note values
//! (`1/8.`), and the sample rate, for frequencies (none may reach half of it).
//!
//! serde reads one field at a time, and `tempo` and `sample_rate` are siblings of the
//! tracks that depend on them, so the loader reads them first and makes them visible here
//! for the main pass. That way a note value becomes seconds at load, and a note value
//! without a tempo or a frequency past the Nyquist limit is an error at its own line.

use std::cell::Cell;

thread_local! {
    static TEMPO_BPM: Cell<Option<f64>> = const { Cell::new(None) };
    static SAMPLE_RATE_HZ: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs `load` with `bpm` as the tempo for note values, restoring the previous one after.
pub fn with_tempo<T>(bpm: Option<f64>, load: impl FnOnce() -> T) -> T {
    let previous = TEMPO_BPM.with(|t| t.replace(bpm));
    let result = load();
    TEMPO_BPM.with(|t| t.set(previous));
    result
}

/// Runs `load` with `rate_hz` as the rate that frequencies must stay under half of,
/// restoring the previous one after.
pub fn with_sample_rate<T>(rate_hz: u32, load: impl FnOnce() -> T) -> T {
    let previous = SAMPLE_RATE_HZ.with(|r| r.replace(Some(rate_hz)));
    let result = load();
    SAMPLE_RATE_HZ.with(|r| r.set(previous));
    result
}

/// The tempo in force for the value being read, if the project set one.
pub(crate) fn current_bpm() -> Option<f64> {
    TEMPO_BPM.with(Cell::get)
}

/// The sample rate the value being read will render at, when a project is loading.
pub(crate) fn current_sample_rate() -> Option<u32> {
    SAMPLE_RATE_HZ.with(Cell::get)
}
