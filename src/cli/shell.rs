//! `mixdown completions SHELL` and `mixdown man`: shell completions and a man page, both
//! generated from the command line's own definitions, so they never fall behind it.
//! `clap_complete` and `clap_mangen` are named here only.

use std::io::Write as _;

use clap::CommandFactory;

use super::{Cli, EXIT_FAILURE, EXIT_OK};

/// The shells completions are written for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the completion script for a shell.
pub fn completions(args: &CompletionsArgs) -> i32 {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Into memory first: the generator panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mixdown", &mut script);
    print_all(&script, "the completions")
}

/// Prints the man page, in roff.
pub fn man() -> i32 {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page).expect("writing to memory succeeds");
    print_all(&page, "the man page")
}

/// Writes `bytes` to stdout; a reader that stops early (`| head`) is not an error.
fn print_all(bytes: &[u8], what: &str) -> i32 {
    match std::io::stdout().write_all(bytes) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write {what}: {e}");
            EXIT_FAILURE
        }
    }
}
