//! The benchmarks' command-line flags: `--name value` pairs after `cargo bench -- `.

/// The value given after `name`, if the flag is there.
pub fn value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// The number given after `name`, or `default` when the flag is missing or not a number.
pub fn option(name: &str, default: f64) -> f64 {
    value(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}
