//! The CI promise: the same project renders to the same bytes whatever the thread count and
//! however warm the cache.

use crate::support::{mixdown, root};

fn render(work: &std::path::Path, cache: &str, jobs: &str) -> Vec<u8> {
    let project = root().join("examples/songs/tidewater.yaml");
    let out = mixdown(
        work,
        &["render", project.to_str().unwrap(), "--cache", cache, "--out", "out", "-j", jobs],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(work.join("out/tidewater.wav")).unwrap()
}

#[test]
fn output_bytes_are_identical_for_one_and_two_threads_cold_and_warm() {
    let work = crate::support::scratch();
    let one_cold = render(work.path(), "cache-a", "1");
    let two_cold = render(work.path(), "cache-b", "2");
    std::fs::remove_dir_all(work.path().join("out")).unwrap();
    let one_warm = render(work.path(), "cache-b", "1");
    std::fs::remove_dir_all(work.path().join("out")).unwrap();
    let two_warm = render(work.path(), "cache-a", "2");
    assert!(one_cold == two_cold, "-j 1 and -j 2 differ on a cold cache");
    assert!(one_cold == one_warm, "a warm render differs from a cold one");
    assert!(one_cold == two_warm, "a warm -j 2 render differs");
}
