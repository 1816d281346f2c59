//! The contract songs render to the bytes they rendered to before the album groundwork
//! began. A change that alters them must bump a processor's version for a stated reason
//! and update the hashes here in the same commit.

use sha2::{Digest, Sha256};

use crate::support::{mixdown, root, scratch, stderr};

/// sha256 of each contract song in each WAV format, as rendered before the groundwork.
const RENDERED: &[(&str, &str, &str)] = &[
    ("first-light", "pcm24", "6c3de53584a0ca9cefef3875f5af917311d932fa800d9003609ffa498512df1f"),
    ("first-light", "pcm16", "24397edecc726819fcfd218caa8dde47ab43bc4ca8c75752eaaefa86c317c450"),
    ("first-light", "float32", "2b62213a5712ba85991799535170ea8b9a701e235a53852087668a56c8b701b2"),
    ("tidewater", "pcm24", "266b948fb64360bb1ee44b12f507604444ab570ef80837dbcc262ac3a20c0587"),
    ("tidewater", "pcm16", "629280ea610c20ecd1c884baa148200b98da27d9bd8c6b3c27f7f2551ad469ff"),
    ("tidewater", "float32", "fe09e7f8f502f0f45ce25eb5ab95ff6ad2be15eae191bf5f1592936772d47ef3"),
];

#[test]
fn contract_songs_render_to_the_bytes_they_rendered_to_before_the_groundwork() {
    let work = scratch();
    let mut mismatches = Vec::new();
    for &(song, format, expected) in RENDERED {
        let project = root().join(format!("examples/songs/{song}.yaml"));
        let out_dir = format!("out-{format}");
        let out = mixdown(
            work.path(),
            &[
                "render",
                project.to_str().unwrap(),
                "--cache",
                "cache",
                "--out",
                &out_dir,
                "--format",
                format,
            ],
        );
        assert!(out.status.success(), "{song} {format}: {}", stderr(&out));
        let bytes = std::fs::read(work.path().join(&out_dir).join(format!("{song}.wav"))).unwrap();
        let actual = format!("{:x}", Sha256::digest(&bytes));
        if actual != expected {
            mismatches.push(format!("{song} as {format}: {actual}, expected {expected}"));
        }
    }
    assert!(mismatches.is_empty(), "contract renders changed:\n{}", mismatches.join("\n"));
}
