//! The remote cache's options, shared by every command that takes the cache's, and the
//! remote they open: each option from its flag, else its environment variable, else the
//! settings file's `cache:` section, else its default.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::remote::address::Address;
use crate::cache::remote::object_store::OpenDal;
use crate::cache::remote::{Mode, Remote};
use crate::diag::Diagnostic;
use crate::project::{LoadedSettings, RawRemoteMode};

/// `--remote URL`, else `MIXDOWN_REMOTE`; how it may be used; how long a request may take.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// A shared remote cache: `s3://bucket/prefix` (S3, or an S3-compatible store at
    /// `AWS_ENDPOINT_URL`), `gs://bucket/prefix`, `azblob://container/prefix` or `gha://`.
    /// Credentials come from each service's own environment variables. An empty URL turns
    /// off a remote named in the settings file.
    #[arg(long = "remote", env = "MIXDOWN_REMOTE", value_name = "URL", global = true)]
    url: Option<String>,
    /// What a render may do with the remote cache (`read` for jobs without write access;
    /// default: the settings file's `cache.remote_mode`, else `read-write`).
    #[arg(long = "remote-mode", env = "MIXDOWN_REMOTE_MODE", value_enum, global = true)]
    mode: Option<ModeArg>,
    /// The longest a request to the remote cache may take (`30s`, `500ms`) before the render
    /// goes on without it.
    #[arg(
        long = "remote-timeout",
        env = "MIXDOWN_REMOTE_TIMEOUT",
        value_parser = parse_timeout,
        default_value = "30s",
        global = true
    )]
    timeout: Duration,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    /// Read entries, upload nothing.
    Read,
    /// Upload entries, read nothing.
    Write,
    /// Both (the default).
    ReadWrite,
}

impl RemoteArgs {
    /// The remote cache asked for, if any, by these options or else by `settings`.
    ///
    /// # Errors
    /// When the address is not one (a usage error, or an error at its line in the settings
    /// file). A remote that cannot be reached is not an error: it is a warning, and `None`.
    pub fn open(
        &self,
        settings: Option<&LoadedSettings>,
    ) -> Result<Option<Arc<Remote>>, Box<Diagnostic>> {
        let cache = settings.map(|s| &s.raw.cache);
        let address = match (&self.url, cache.and_then(|c| c.remote.as_deref())) {
            (Some(url), _) if url.trim().is_empty() => return Ok(None),
            (Some(url), _) => Address::parse(url).map_err(|e| {
                Box::new(
                    Diagnostic::error("invalid-remote", format!("--remote: {e}")).with_help(
                        "or set MIXDOWN_REMOTE to an address such as `s3://bucket/prefix`",
                    ),
                )
            })?,
            (None, Some(url)) => Address::parse(url).map_err(|e| {
                let at = settings.and_then(|s| s.locate("cache.remote"));
                Box::new(
                    Diagnostic::error("invalid-remote", e)
                        .at(at, Some("cache.remote".to_owned()))
                        .with_label("not a remote cache address"),
                )
            })?,
            (None, None) => return Ok(None),
        };
        let mode = match (self.mode, cache.and_then(|c| c.remote_mode)) {
            (Some(ModeArg::Read), _) | (None, Some(RawRemoteMode::Read)) => Mode::Read,
            (Some(ModeArg::Write), _) | (None, Some(RawRemoteMode::Write)) => Mode::Write,
            (Some(ModeArg::ReadWrite), _) | (None, Some(RawRemoteMode::ReadWrite) | None) => {
                Mode::ReadWrite
            }
        };
        match OpenDal::connect(&address, self.timeout) {
            Ok(objects) => Ok(Some(Remote::new(Arc::new(objects), mode))),
            Err(e) => {
                eprintln!(
                    "warning: cannot use the remote cache at {address} ({e}); rendering without it"
                );
                Ok(None)
            }
        }
    }
}

/// Reads `30s`, `500ms`, `2 s` or a bare number of seconds.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. `30s` or `500ms`"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "min" => number * 60.0,
        other => return Err(format!("unknown unit `{other}`; use ms, s or min")),
    };
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!("`{text}` is out of range; a timeout is above 0 and at most 1 hour"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_seconds_milliseconds_and_minutes_within_an_hour() {
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout("1 min"), Ok(Duration::from_mins(1)));
        for bad in ["0s", "2h", "fast", "90min"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
