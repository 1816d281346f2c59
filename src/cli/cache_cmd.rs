//! `mixdown cache`: usage, garbage collection to a size budget, verification, clearing.
//! None of them creates a cache that does not exist. They work on the local cache only: a
//! remote cache's objects expire by the store's own lifecycle rules (see the README).

use super::{CacheArgs, EXIT_FAILURE, EXIT_INVALID, EXIT_OK};
use crate::atomic_file::Orphan;
use crate::cache::folder::CacheDir;
use crate::cache::remote::figures::RemoteFigures;
use crate::cache::retired::remove_retired;
use crate::cache::store::Store;

/// Arguments of `cache`.
#[derive(Debug, clap::Args)]
pub struct CacheCommand {
    #[command(subcommand)]
    action: CacheAction,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, clap::Subcommand)]
enum CacheAction {
    /// Show how many entries the cache holds and their size, the unfinished files of
    /// renders that were stopped, and the remote cache's traffic so far.
    Stats,
    /// Remove the unfinished files of stopped renders, then least recently used entries
    /// until the cache fits in SIZE (`500MB`, `2GiB`).
    Gc {
        /// The size budget.
        #[arg(long = "max-size", value_parser = parse_size)]
        max_size: u64,
    },
    /// Read every entry, and remove those that fail their checksum.
    Verify,
    /// Remove every entry.
    Clear,
}

/// Runs `cache`.
pub fn run(args: &CacheCommand) -> i32 {
    let setup = match args.cache.resolve(std::path::Path::new(".")) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let cache = CacheDir::new(&setup.dir);
    let store = Store::local(&cache);
    let result = match args.action {
        CacheAction::Stats => store.stats().and_then(|s| {
            let mut orphans = store.orphans()?;
            orphans.extend(cache.orphans()?);
            println!("{} entries, {}", s.entries, human(s.bytes));
            println!("{}", unfinished(&orphans, "left by stopped renders"));
            let remote = RemoteFigures::load(&cache);
            if remote != RemoteFigures::default() {
                println!(
                    "remote: {} hits, {} misses, {} in, {} out ({} uploads), {} errors",
                    remote.hits,
                    remote.misses,
                    human(remote.bytes_in),
                    human(remote.bytes_out),
                    remote.uploads,
                    remote.errors
                );
            }
            Ok(EXIT_OK)
        }),
        CacheAction::Gc { max_size } => store.gc(max_size).and_then(|mut r| {
            for orphan in cache.orphans()? {
                if std::fs::remove_file(&orphan.path).is_ok() {
                    r.freed_bytes += orphan.size;
                    r.orphans.push(orphan);
                }
            }
            // Their files are gone, so the marks of the writers that left them go too.
            for mark in cache.writers_gone()? {
                let _ = std::fs::remove_file(mark.path);
            }
            println!("{}", unfinished(&r.orphans, "removed"));
            println!(
                "removed {} entries ({} freed); {} entries, {} kept",
                r.removed.len(),
                human(r.freed_bytes),
                r.kept.entries,
                human(r.kept.bytes)
            );
            Ok(EXIT_OK)
        }),
        CacheAction::Verify => store.verify().map(|r| {
            println!("checked {} entries, {} corrupt", r.checked, r.corrupt.len());
            for key in &r.corrupt {
                println!("removed corrupt entry {key}");
            }
            if r.corrupt.is_empty() { EXIT_OK } else { EXIT_FAILURE }
        }),
        CacheAction::Clear => store.clear().map(|()| {
            remove_retired(&cache);
            println!("cleared {}", setup.dir.display());
            EXIT_OK
        }),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: cache operation failed: {e}");
        if e.kind() == std::io::ErrorKind::InvalidInput { EXIT_INVALID } else { EXIT_FAILURE }
    })
}

/// Reads `500MB`, `2 GiB`, `1024` (bytes).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write e.g. `500MB` or `2GiB`"))?;
    let factor: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!("unknown size unit `{other}`; use B, kB, MB, GB, KiB, MiB or GiB"));
        }
    };
    Ok((number * factor) as u64)
}

/// `3 unfinished files (1.2 MB) removed`.
fn unfinished(orphans: &[Orphan], what: &str) -> String {
    let bytes = orphans.iter().map(|o| o.size).sum();
    let files = if orphans.len() == 1 { "file" } else { "files" };
    format!("{} unfinished {files} ({}) {what}", orphans.len(), human(bytes))
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_decimal_and_binary_units() {
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("2 GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("5 parsecs").is_err());
    }
}
