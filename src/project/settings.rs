//! The settings file, `mixdown.yaml`: where a project's cache is and which remote cache it
//! shares, written once for every mix and album of a repository.
//!
//! ```yaml
//! cache:
//!   dir: .mixdown-cache            # relative to this file's folder
//!   remote: s3://label-renders/mixdown
//!   remote_mode: read              # read | write | read-write
//! ```
//!
//! The file is searched for from the project's folder upwards, and the nearest wins. The
//! search stops at the repository root (the folder holding `.git`), so that a build reads
//! only settings that are checked out with the project; outside a repository only the
//! project's own folder is searched, so a file in a shared parent folder (`/tmp`) never
//! redirects a cache.
//!
//! This module reads the file and nothing else: which value wins over a flag or an
//! environment variable is the command line's decision. Credentials never go here: the file
//! is kept in git, so every key it does not know (an `access_key`, a `token`) is an error,
//! and each service reads its own from the environment.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::loader::{location, parse_located, read_at_most};
use super::source_map::SourceMap;
use crate::diag::{Diagnostic, Location};

/// The settings file's name.
pub const SETTINGS_FILE: &str = "mixdown.yaml";

/// The largest settings file read, in bytes: it holds a few lines.
const MAX_SETTINGS_BYTES: usize = 64 << 10;

/// The settings file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// The cache and the remote cache.
    #[serde(default)]
    pub cache: RawCacheSettings,
}

/// The `cache:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCacheSettings {
    /// The cache folder, relative to the settings file's folder.
    pub dir: Option<PathBuf>,
    /// The remote cache's address (`s3://bucket/prefix`).
    pub remote: Option<String>,
    /// What a render may do with the remote cache.
    pub remote_mode: Option<RawRemoteMode>,
}

/// `remote_mode:` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawRemoteMode {
    /// Read entries, upload nothing.
    Read,
    /// Upload entries, read nothing.
    Write,
    /// Both.
    ReadWrite,
}

/// A settings file that was read, with what is needed to point at its text.
#[derive(Debug)]
pub struct LoadedSettings {
    /// The settings.
    pub raw: RawSettings,
    /// Where the file is.
    pub path: PathBuf,
    text: String,
    source_map: SourceMap,
}

impl LoadedSettings {
    /// The location of the value at `yaml_path`, for a diagnostic.
    #[must_use]
    pub fn locate(&self, yaml_path: &str) -> Option<Location> {
        self.source_map.value(yaml_path).map(|span| location(&self.path, &self.text, span))
    }

    /// The folder that relative paths in the file are read from.
    #[must_use]
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }
}

/// The settings file that applies to a project in `folder`: the nearest `mixdown.yaml` in
/// it or its ancestors up to the repository root, or in `folder` alone outside a
/// repository.
#[must_use]
pub fn find_settings(folder: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(folder).ok()?;
    let ancestors: Vec<&Path> = start.ancestors().collect();
    let root = ancestors.iter().position(|dir| dir.join(".git").exists()).unwrap_or(0);
    ancestors[..=root].iter().map(|dir| dir.join(SETTINGS_FILE)).find(|file| file.is_file())
}

/// Reads the settings file at `path`.
///
/// # Errors
/// The file cannot be read, is not YAML, or holds a key or value it may not, located.
pub fn load_settings(path: &Path) -> Result<LoadedSettings, Vec<Diagnostic>> {
    let unreadable = |reason: String| {
        vec![
            Diagnostic::error(
                "unreadable-settings",
                format!("cannot read the settings file `{}`: {reason}", path.display()),
            )
            .with_help("fix or remove the file; it sets where the cache is"),
        ]
    };
    let bytes = read_at_most(path, MAX_SETTINGS_BYTES).map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() > MAX_SETTINGS_BYTES {
        return Err(unreadable(format!("it is larger than {} KiB", MAX_SETTINGS_BYTES >> 10)));
    }
    let text = String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8 text".into()))?;
    parse_settings(path, &text)
}

/// Parses the text of a settings file; `path` is used for messages and relative paths.
///
/// # Errors
/// As [`load_settings`].
pub fn parse_settings(path: &Path, text: &str) -> Result<LoadedSettings, Vec<Diagnostic>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (raw, source_map) = if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        let map = SourceMap::build("").map_err(|_| Vec::new())?;
        (RawSettings::default(), map)
    } else {
        parse_located::<RawSettings>(path, text).map_err(|found| {
            found.into_iter().map(|d| with_settings_help(d, text)).collect::<Vec<_>>()
        })?
    };
    Ok(LoadedSettings { raw, path: path.to_path_buf(), text: text.to_owned(), source_map })
}

/// Adds what a user most likely meant to a diagnostic about the settings file: credentials
/// are refused for a reason, and a mix file cannot be named `mixdown.yaml`.
fn with_settings_help(diagnostic: Diagnostic, text: &str) -> Diagnostic {
    if diagnostic.code != "unknown-key" {
        return diagnostic;
    }
    let key = diagnostic.message.split('`').nth(1).unwrap_or_default().to_ascii_lowercase();
    let credential = ["key", "secret", "token", "password", "credential", "sas"];
    if credential.iter().any(|word| key.contains(word)) {
        return diagnostic.with_help(
            "credentials never go in the settings file, which is kept in git; each service \
             reads its own from the environment (AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS, …)",
        );
    }
    let is_mix = text.lines().any(|l| l.starts_with("mix:") || l.starts_with("tracks:"));
    if is_mix {
        return diagnostic.with_help(format!(
            "`{SETTINGS_FILE}` is mixdown's settings file; give the mix another name, such as `mix.yaml`"
        ));
    }
    diagnostic
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<LoadedSettings, Vec<Diagnostic>> {
        parse_settings(Path::new("songs/mixdown.yaml"), text)
    }

    fn the_error(text: &str) -> Diagnostic {
        let mut found = parsed(text).unwrap_err();
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    }

    #[test]
    fn a_cache_section_reads_its_folder_remote_and_mode() {
        let text =
            "cache:\n  dir: .mixdown-cache\n  remote: s3://renders/ci\n  remote_mode: read\n";
        let settings = parsed(text).unwrap();
        let cache = &settings.raw.cache;
        assert_eq!(cache.dir.as_deref(), Some(Path::new(".mixdown-cache")));
        assert_eq!(cache.remote.as_deref(), Some("s3://renders/ci"));
        assert_eq!(cache.remote_mode, Some(RawRemoteMode::Read));
        assert_eq!(settings.folder(), Path::new("songs"));
        let at = settings.locate("cache.remote").unwrap();
        assert_eq!((at.line, at.column), (3, 11));
    }

    #[test]
    fn an_empty_file_or_one_of_comments_sets_nothing() {
        for text in ["", "# nothing yet\n", "\u{feff}\n"] {
            let settings = parsed(text).unwrap();
            assert!(settings.raw.cache.dir.is_none() && settings.raw.cache.remote.is_none());
        }
    }

    #[test]
    fn an_unknown_key_is_located_with_the_nearest_name() {
        let e = the_error("cache:\n  dri: cache\n");
        assert_eq!(e.code, "unknown-key");
        let at = e.location.as_ref().unwrap();
        assert_eq!(
            (at.file.as_path(), at.line, at.column),
            (Path::new("songs/mixdown.yaml"), 2, 3)
        );
        assert_eq!(e.help.as_deref(), Some("did you mean `dir`?"));
        let e = the_error("cash:\n  dir: cache\n");
        assert_eq!((e.code, e.location.unwrap().line), ("unknown-key", 1));
    }

    #[test]
    fn a_credential_in_the_file_is_refused_and_the_environment_named() {
        let e = the_error("cache:\n  remote: s3://renders\n  secret_access_key: abc\n");
        assert_eq!(e.location.as_ref().unwrap().line, 3);
        assert!(e.help.unwrap().contains("environment"), "credentials point at the environment");
    }

    #[test]
    fn a_mode_that_is_not_one_lists_the_modes() {
        let e = the_error("cache:\n  remote_mode: readonly\n");
        assert_eq!((e.code, e.location.as_ref().unwrap().line), ("unknown-value", 2));
        assert!(e.help.unwrap().contains("read-write"));
    }

    #[test]
    fn a_mix_saved_as_the_settings_file_is_told_to_take_another_name() {
        let e = the_error("mix: Tidewater\ntracks: {}\n");
        assert!(e.help.unwrap().contains("mix.yaml"));
    }

    #[test]
    fn the_nearest_settings_file_up_to_the_repository_root_applies() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("label");
        let song = repo.join("album/songs");
        std::fs::create_dir_all(&song).unwrap();
        std::fs::create_dir(repo.join(".git")).unwrap();
        assert_eq!(find_settings(&song), None);
        // Above the repository: never read.
        std::fs::write(dir.path().join(SETTINGS_FILE), "").unwrap();
        assert_eq!(find_settings(&song), None);
        std::fs::write(repo.join(SETTINGS_FILE), "").unwrap();
        assert_eq!(find_settings(&song), Some(repo.join(SETTINGS_FILE)));
        std::fs::write(repo.join("album").join(SETTINGS_FILE), "").unwrap();
        assert_eq!(find_settings(&song), Some(repo.join("album").join(SETTINGS_FILE)));
    }

    #[test]
    fn outside_a_repository_only_the_project_folder_is_searched() {
        let dir = tempfile::tempdir().unwrap();
        let song = dir.path().join("songs");
        std::fs::create_dir(&song).unwrap();
        std::fs::write(dir.path().join(SETTINGS_FILE), "").unwrap();
        assert_eq!(find_settings(&song), None);
        std::fs::write(song.join(SETTINGS_FILE), "").unwrap();
        assert_eq!(find_settings(&song), Some(song.join(SETTINGS_FILE)));
    }
}
