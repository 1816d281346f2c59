//! The panic boundary around the outside libraries that read untrusted bytes (the decoder
//! and the resampler): a panic inside them becomes an error of the file being read, and
//! prints nothing, so a hostile file can never crash a render or a check.
//!
//! Panics are for bugs, but a bug in a decoder reached by a malformed file is the file's
//! problem for our user: it must be reported as that file's error. Everything else keeps
//! the process's panic hook: a panic outside [`guarded`] prints as before.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`guarded`], where a panic is reported as an error.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic inside it into `Err` with the panic's message.
///
/// State that `f` touched may be half updated after a panic: the caller must treat the
/// object it was working on as broken (a decoder reports an error on every later read).
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !INSIDE.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was_inside = INSIDE.with(|inside| inside.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    INSIDE.with(|inside| inside.set(was_inside));
    outcome.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_becomes_an_error_with_its_message() {
        let outcome: Result<(), String> = guarded(|| panic!("attempt to divide by zero"));
        assert_eq!(outcome, Err("attempt to divide by zero".to_owned()));
        let formatted: Result<(), String> = guarded(|| panic!("rate {}", 0));
        assert_eq!(formatted, Err("rate 0".to_owned()));
    }

    #[test]
    fn a_value_passes_through_and_nesting_restores_the_outer_state() {
        let outcome = guarded(|| {
            let inner: Result<u8, String> = guarded(|| panic!("inner"));
            assert!(inner.is_err());
            assert!(INSIDE.with(Cell::get), "still inside the outer guard");
            7
        });
        assert_eq!(outcome, Ok(7));
        assert!(!INSIDE.with(Cell::get));
    }
}
