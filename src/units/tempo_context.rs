//! The tempo that note values (`1/8.`) are read against while a project file loads.
//!
//! serde reads one field at a time and `tempo` is a sibling of the tracks that use it, so
//! the loader reads the tempo first and makes it visible here for the main pass. That way a
//! note value becomes seconds at load, and a note value without a tempo is an error at its
//! own line.

use std::cell::Cell;

thread_local! {
    static TEMPO_BPM: Cell<Option<f64>> = const { Cell::new(None) };
}

/// Runs `load` with `bpm` as the tempo for note values, restoring the previous one after.
pub fn with_tempo<T>(bpm: Option<f64>, load: impl FnOnce() -> T) -> T {
    let previous = TEMPO_BPM.with(|t| t.replace(bpm));
    let result = load();
    TEMPO_BPM.with(|t| t.set(previous));
    result
}

/// The tempo in force for the value being read, if the project set one.
pub(crate) fn current_bpm() -> Option<f64> {
    TEMPO_BPM.with(Cell::get)
}
