//! Where the cache is and which remote cache it shares. Each value comes from the first of
//! its flag (`--cache`, `--remote`, `--remote-mode`), its environment variable
//! (`MIXDOWN_CACHE`, `MIXDOWN_REMOTE`, `MIXDOWN_REMOTE_MODE`), the settings file's `cache:`
//! section (`mixdown.yaml`, found from the project's folder) and the default, value by
//! value: a CI job can name its remote in the environment and keep the repository's cache
//! folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::remote_args::RemoteArgs;
use super::{EXIT_INVALID, print_diagnostics};
use crate::cache::remote::Remote;
use crate::project::{LoadedSettings, find_settings, load_settings};

/// The cache folder when nothing names one, in the working directory.
const DEFAULT_CACHE: &str = "cache";

/// The cache's options, shared by every command that uses the cache.
#[derive(Debug, Clone, clap::Args)]
pub struct CacheArgs {
    /// The cache directory (default: the settings file's `cache.dir`, else `cache`).
    #[arg(long = "cache", env = "MIXDOWN_CACHE", global = true)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// The cache a command uses, its values resolved.
#[derive(Debug)]
pub struct CacheSetup {
    /// The cache folder.
    pub dir: PathBuf,
    /// The settings file that applied, if any.
    settings: Option<LoadedSettings>,
}

impl CacheArgs {
    /// The cache for the project file `file`, with the settings file found from its folder.
    ///
    /// # Errors
    /// The exit code, once a broken settings file's diagnostics are printed.
    pub fn for_project(&self, file: &Path) -> Result<CacheSetup, i32> {
        let folder = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        self.resolve(folder)
    }

    /// The cache, with the settings file found from `folder`.
    ///
    /// # Errors
    /// The exit code, once a broken settings file's diagnostics are printed.
    pub fn resolve(&self, folder: &Path) -> Result<CacheSetup, i32> {
        let settings = match find_settings(folder).map(|path| load_settings(&path)).transpose() {
            Ok(settings) => settings,
            Err(diagnostics) => {
                print_diagnostics(&diagnostics);
                return Err(EXIT_INVALID);
            }
        };
        let from_settings = settings.as_ref().and_then(|s| {
            let dir = s.raw.cache.dir.as_ref()?;
            Some(s.folder().join(dir))
        });
        let dir = self.dir.clone().or(from_settings).unwrap_or_else(|| DEFAULT_CACHE.into());
        Ok(CacheSetup { dir, settings })
    }

    /// The remote cache `setup` asks for, if any.
    ///
    /// # Errors
    /// The exit code, once the error of an address that is not one is printed.
    pub fn open_remote(&self, setup: &CacheSetup) -> Result<Option<Arc<Remote>>, i32> {
        self.remote.open(setup.settings.as_ref()).map_err(|diagnostic| {
            print_diagnostics(&[*diagnostic]);
            EXIT_INVALID
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Line {
        #[command(flatten)]
        cache: CacheArgs,
    }

    fn args(line: &[&str]) -> CacheArgs {
        Line::try_parse_from(std::iter::once("mixdown").chain(line.iter().copied())).unwrap().cache
    }

    #[test]
    fn the_flag_wins_over_the_settings_file_and_the_file_over_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let songs = dir.path().join("songs");
        std::fs::create_dir(&songs).unwrap();
        let project = songs.join("tidewater.yaml");
        assert_eq!(args(&[]).for_project(&project).unwrap().dir, Path::new(DEFAULT_CACHE));
        std::fs::write(songs.join("mixdown.yaml"), "cache: { dir: ../shared-cache }\n").unwrap();
        assert_eq!(args(&[]).for_project(&project).unwrap().dir, songs.join("../shared-cache"));
        let flagged = args(&["--cache", "mine"]).for_project(&project).unwrap();
        assert_eq!(flagged.dir, Path::new("mine"));
    }

    #[test]
    fn a_broken_settings_file_is_an_invalid_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mixdown.yaml"), "cache: { folder: x }\n").unwrap();
        let project = dir.path().join("mix.yaml");
        assert_eq!(args(&["--cache", "c"]).for_project(&project).unwrap_err(), EXIT_INVALID);
    }
}
