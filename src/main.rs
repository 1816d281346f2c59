//! The `mixdown` binary: everything is in the library.

fn main() {
    std::process::exit(mixdown::cli::run(std::env::args_os()));
}
