//! `mixdown init`: a first mix from a folder of stems, which checks and renders as written.

use crate::support::{mixdown, root, scratch, stderr};

#[test]
fn init_on_the_contract_stems_writes_a_mix_that_checks_and_renders() {
    let work = scratch();
    let stems = root().join("examples/stems/first-light");
    let run = mixdown(work.path(), &["init", stems.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("wrote mix.yaml (8 tracks, 2 buses)"), "{}", stderr(&run));
    let text = std::fs::read_to_string(work.path().join("mix.yaml")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=mix.schema.json\n"), "{text}");
    assert!(text.contains("mix: First Light\n"), "{text}");
    for drum in ["kick", "snare", "hats"] {
        assert!(text.contains(&format!("  {drum}:\n    source: ")), "{text}");
        let at = text.find(&format!("  {drum}:\n")).unwrap();
        assert!(text[at..].lines().nth(2) == Some("    to: drums"), "{drum}: {text}");
    }
    let vox = text.find("  vox:\n").unwrap();
    assert_eq!(text[vox..].lines().nth(2), Some("    to: vocals"), "{text}");
    assert!(work.path().join("mix.schema.json").exists());
    let check = mixdown(work.path(), &["check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stderr(&check).is_empty() || !stderr(&check).contains("warning"), "{}", stderr(&check));
    let render = mixdown(work.path(), &["render"]);
    assert!(render.status.success(), "{}", stderr(&render));
    assert!(work.path().join("out/mix.wav").exists());
}

#[test]
fn init_leaves_an_existing_mix_alone() {
    let work = scratch();
    std::fs::write(work.path().join("mix.yaml"), "mine").unwrap();
    let stems = root().join("examples/stems/first-light");
    let run = mixdown(work.path(), &["init", stems.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("`mix.yaml` already exists"), "{}", stderr(&run));
    assert_eq!(std::fs::read_to_string(work.path().join("mix.yaml")).unwrap(), "mine");
}

#[test]
fn init_on_a_folder_without_audio_says_so() {
    let work = scratch();
    let run = mixdown(work.path(), &["init", "."]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("holds no audio files"), "{}", stderr(&run));
    assert!(!work.path().join("mix.yaml").exists());
}
