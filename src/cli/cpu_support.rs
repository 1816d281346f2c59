//! A build for x86-64-v3 (see `.cargo/config.toml`) may use AVX2 and FMA instructions
//! anywhere. On a processor without them it would die of an illegal instruction at some
//! arbitrary point, so it checks first and says what to do instead.

/// The instruction-set features this build was compiled to assume, of those a processor
/// may lack.
fn assumed_features() -> Vec<&'static str> {
    let mut assumed = Vec::new();
    if cfg!(target_feature = "avx2") {
        assumed.push("avx2");
    }
    if cfg!(target_feature = "fma") {
        assumed.push("fma");
    }
    assumed
}

/// The features this build assumes that `detected` says the processor lacks.
fn missing_features(detected: impl Fn(&str) -> bool) -> Vec<&'static str> {
    assumed_features().into_iter().filter(|feature| !detected(feature)).collect()
}

/// Whether the processor running this has `feature`.
fn detected(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        true
    }
}

/// Why this processor cannot run this build, if it cannot.
#[must_use]
pub fn unsupported() -> Option<String> {
    let missing = missing_features(detected);
    (!missing.is_empty()).then(|| {
        format!(
            "this build of mixdown needs a processor with {}, which this one lacks\n  \
             help: build it for older x86-64 processors with \
             `RUSTFLAGS=\"-C target-cpu=x86-64\" \
             CFLAGS_x86_64_unknown_linux_gnu=\"-march=x86-64\" cargo build --release` \
             (README.md, \"Building for older processors\")",
            missing.join(" and ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_processor_with_every_feature_runs_any_build() {
        assert!(missing_features(|_| true).is_empty());
    }

    #[test]
    fn a_processor_without_the_features_is_told_which_the_build_needs() {
        assert_eq!(missing_features(|_| false), assumed_features());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_repository_builds_for_x86_64_v3() {
        // `.cargo/config.toml` asks for it; a test run with other RUSTFLAGS says so here.
        if std::env::var_os("RUSTFLAGS").is_none() {
            assert_eq!(assumed_features(), ["avx2", "fma"]);
        }
    }

    #[test]
    fn the_machine_running_the_tests_runs_this_build() {
        assert_eq!(unsupported(), None);
    }
}
