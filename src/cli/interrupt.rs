//! Ctrl-C during a render: one line, then the process's own temporary files and folders
//! are deleted and it exits with 130 (128 + SIGINT, as shells report it). Files of other
//! processes are never touched. The only module that names the `ctrlc` crate.

use crate::atomic_file;

/// The exit code after an interrupt.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Installs the handler. Installing it twice is harmless: the second does nothing.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: removing temporary files");
        atomic_file::abandon_all();
        std::process::exit(EXIT_INTERRUPTED);
    });
}
