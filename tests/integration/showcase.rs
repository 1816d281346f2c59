//! The showcase fixture uses every mix feature at once: it checks, renders, explains its
//! edits, and keys its impulse response by content.

use std::path::Path;

use mixdown::audio::Source;
use mixdown::audio::decode::Decoder;

use crate::snapshot;
use crate::support::{mixdown, ran, root, scratch, stderr};

/// Copies the showcase and the audio it reads into `dir`, keeping their relative layout.
fn copy_showcase(dir: &Path) -> std::path::PathBuf {
    let fixtures = dir.join("tests/fixtures");
    std::fs::create_dir_all(fixtures.join("valid")).unwrap();
    std::fs::create_dir_all(fixtures.join("audio")).unwrap();
    let stems = dir.join("examples/stems/first-light");
    std::fs::create_dir_all(&stems).unwrap();
    for name in ["kick", "bass", "guitar", "vox"] {
        let file = format!("{name}.flac");
        std::fs::copy(root().join("examples/stems/first-light").join(&file), stems.join(&file))
            .unwrap();
    }
    let ir = "tests/fixtures/audio/small-room-ir.wav";
    std::fs::copy(root().join(ir), dir.join(ir)).unwrap();
    let project = dir.join("tests/fixtures/valid/showcase.yaml");
    std::fs::copy(root().join("tests/fixtures/valid/showcase.yaml"), &project).unwrap();
    project
}

fn render(work: &Path, project: &Path) -> std::process::Output {
    let out = mixdown(work, &["render", project.to_str().unwrap(), "--verbose"]);
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

#[test]
fn the_showcase_compiles_to_its_plan() {
    let out = mixdown(&root(), &["graph", "tests/fixtures/valid/showcase.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    snapshot!("graph-showcase", String::from_utf8(out.stdout).unwrap());
}

#[test]
fn the_showcase_renders_its_tail_under_the_limiter_ceiling() {
    let work = scratch();
    let project = copy_showcase(work.path());
    render(work.path(), &project);
    let mut d = Decoder::open(work.path().join("out/showcase.wav")).unwrap();
    assert_eq!(d.frames(), Some(22 * 48_000), "20 s of stems and `tail: 2 s`");
    let (mut l, mut r) = (vec![0.0; 4096], vec![0.0; 4096]);
    let mut peak = 0.0f32;
    loop {
        let n = d.read(&mut l, &mut r).unwrap();
        if n == 0 {
            break;
        }
        peak = l[..n].iter().chain(&r[..n]).fold(peak, |m, x| m.max(x.abs()));
    }
    // -1 dBFS ceiling; 24-bit rounding may add half a step.
    assert!(peak <= 10f32.powf(-1.0 / 20.0) + 1e-6, "peak {peak}");
    assert!(peak > 0.1, "the mix is not silent");
}

#[test]
fn explain_names_the_ingredient_an_edit_changed() {
    let work = scratch();
    let project = copy_showcase(work.path());
    render(work.path(), &project);
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(&project, text.replace("decay: 1 s", "decay: 1.5 s")).unwrap();
    let out = mixdown(work.path(), &["explain", "showcase/bus/space", project.to_str().unwrap()]);
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("will render:\n  buses.space.chain[1].reverb.decay: 1 → 1.5"), "{said}");
    let master = mixdown(work.path(), &["explain", "showcase/master", project.to_str().unwrap()]);
    let said = String::from_utf8(master.stdout).unwrap();
    assert!(said.contains("master: its input bus drums changed"), "{said}");
    let output =
        mixdown(work.path(), &["explain", "showcase/track/kick", project.to_str().unwrap()]);
    assert!(String::from_utf8(output.stdout).unwrap().contains("cached"));
}

#[test]
fn an_impulse_response_enters_the_key_by_its_bytes_not_its_name() {
    let work = scratch();
    let project = copy_showcase(work.path());
    render(work.path(), &project);
    let audio = work.path().join("tests/fixtures/audio");
    std::fs::rename(audio.join("small-room-ir.wav"), audio.join("renamed-ir.wav")).unwrap();
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(&project, text.replace("small-room-ir.wav", "renamed-ir.wav")).unwrap();
    assert!(
        ran(&render(work.path(), &project)).is_empty(),
        "same bytes under a new name: nothing runs"
    );
    let mut bytes = std::fs::read(audio.join("renamed-ir.wav")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(audio.join("renamed-ir.wav"), bytes).unwrap();
    assert_eq!(
        ran(&render(work.path(), &project)),
        vec!["showcase/bus/drums", "showcase/bus/space", "showcase/master", "showcase/output"],
        "new bytes re-render the bus that convolves and what follows"
    );
}
