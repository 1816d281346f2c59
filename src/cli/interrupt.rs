//! Ctrl-C during a render: one line, then the cleanups registered with [`on_interrupt`]
//! run, the process's own temporary files and folders are deleted, and it exits with 130
//! (128 + SIGINT, as shells report it). Files of other processes are never touched. The
//! only module that names the `ctrlc` crate.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::atomic_file;

/// The exit code after an interrupt.
pub const EXIT_INTERRUPTED: i32 = 130;

type Action = Box<dyn Fn() + Send>;

/// What to undo on an interrupt, by registration number.
static CLEANUPS: Mutex<BTreeMap<u64, Action>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Installs the handler. Installing it twice is harmless: the second does nothing.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: removing temporary files");
        if let Ok(cleanups) = CLEANUPS.lock() {
            for action in cleanups.values() {
                action();
            }
        }
        atomic_file::abandon_all();
        std::process::exit(EXIT_INTERRUPTED);
    });
}

/// Runs `step` to its end before an interrupt's cleanups can run: for a step that makes
/// what a cleanup undoes (a child process creating a folder), which a cleanup running
/// half way through would miss.
pub fn uninterrupted<T>(step: impl FnOnce() -> T) -> T {
    let _held = CLEANUPS.lock();
    step()
}

/// A cleanup that runs if the process is interrupted, until this is dropped.
pub struct Cleanup(u64);

/// Runs `action` if the process is interrupted before the returned [`Cleanup`] is dropped.
pub fn on_interrupt(action: impl Fn() + Send + 'static) -> Cleanup {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    CLEANUPS.lock().expect("no cleanup panics").insert(id, Box::new(action));
    Cleanup(id)
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(mut cleanups) = CLEANUPS.lock() {
            cleanups.remove(&self.0);
        }
    }
}
