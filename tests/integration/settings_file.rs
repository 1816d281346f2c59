//! The settings file, `mixdown.yaml`: its `cache:` section names the cache folder and the
//! remote cache; a flag beats an environment variable, which beats the file, which beats
//! the default; its mistakes are located like a mix file's.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{stderr, write_stem};

/// A repository with a song in `songs/` and `settings` as its root's `mixdown.yaml`.
fn repository(settings: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join(".git")).unwrap();
    let songs = root.path().join("songs");
    std::fs::create_dir(&songs).unwrap();
    write_stem(&songs.join("vox.wav"), 48_000, 0.5, 7);
    std::fs::write(songs.join("song.yaml"), "mix: song\ntracks:\n  vox: { source: vox.wav }\n")
        .unwrap();
    std::fs::write(root.path().join("mixdown.yaml"), settings).unwrap();
    root
}

/// `mixdown` in `dir` with `env` set and the cache's variables otherwise unset.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mixdown"));
    command.args(args).current_dir(dir).env("NO_COLOR", "1");
    for name in ["MIXDOWN_CACHE", "MIXDOWN_REMOTE", "MIXDOWN_REMOTE_MODE"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().expect("the binary runs")
}

fn render(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["render", "songs/song.yaml", "-q"];
    args.extend_from_slice(extra);
    let output = run(dir, &args, env);
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

fn has_entries(dir: &Path) -> bool {
    dir.is_dir() && std::fs::read_dir(dir).unwrap().next().is_some()
}

#[test]
fn the_settings_file_names_the_cache_folder_relative_to_itself() {
    let repo = repository("cache:\n  dir: .renders\n");
    // From inside `songs/` too, the folder is the repository's.
    render(repo.path(), &[], &[]);
    let output = run(&repo.path().join("songs"), &["render", "song.yaml", "-q"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(has_entries(&repo.path().join(".renders")));
    assert!(!repo.path().join("cache").exists() && !repo.path().join("songs/cache").exists());
}

#[test]
fn the_environment_beats_the_settings_file_and_the_flag_beats_both() {
    let repo = repository("cache: { dir: from-file }\n");
    render(repo.path(), &[], &[("MIXDOWN_CACHE", "from-env")]);
    assert!(has_entries(&repo.path().join("from-env")));
    assert!(!repo.path().join("from-file").exists());
    render(repo.path(), &["--cache", "from-flag"], &[("MIXDOWN_CACHE", "from-env")]);
    assert!(has_entries(&repo.path().join("from-flag")));
    assert!(!repo.path().join("from-file").exists());
}

#[test]
fn without_a_settings_file_the_cache_is_in_the_working_directory() {
    let repo = repository("");
    std::fs::remove_file(repo.path().join("mixdown.yaml")).unwrap();
    render(repo.path(), &[], &[]);
    assert!(has_entries(&repo.path().join("cache")));
}

#[test]
fn an_unknown_key_fails_the_render_at_its_line_with_the_nearest_name() {
    let repo = repository("cache:\n  remote_mode: read\n  dri: .renders\n");
    let output = run(repo.path(), &["render", "songs/song.yaml"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("error[unknown-key]: unknown key `dri`"), "{text}");
    assert!(text.contains("mixdown.yaml:3:3"), "{text}");
    assert!(text.contains("did you mean `dir`?"), "{text}");
    assert!(!repo.path().join("out").exists(), "nothing is written");
    let stats = run(repo.path(), &["cache", "stats"], &[]);
    assert_eq!(stats.status.code(), Some(2), "{}", stderr(&stats));
}

#[test]
fn a_remote_that_is_not_an_address_is_located_in_the_settings_file() {
    let repo = repository("cache:\n  remote: ftp://renders/ci\n");
    let output = run(repo.path(), &["render", "songs/song.yaml"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("mixdown.yaml:2:11") && text.contains("s3://"), "{text}");
}

#[test]
fn the_remote_from_the_environment_or_the_flag_replaces_the_settings_files() {
    // The file's address is broken, so any render that reached it would fail.
    let repo = repository("cache:\n  remote: ftp://renders/ci\n");
    let unreachable = [
        ("MIXDOWN_REMOTE", "s3://renders/ci"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let output = render(repo.path(), &["--remote-timeout", "2s"], &unreachable);
    let text = stderr(&output);
    assert!(text.contains("s3://renders/ci") && text.contains("without it"), "{text}");
    // An empty --remote turns the file's remote off.
    let output = render(repo.path(), &["--remote", ""], &[]);
    assert_eq!(stderr(&output), "");
}

#[test]
fn a_credential_in_the_settings_file_is_refused() {
    let repo = repository("cache:\n  remote: s3://renders/ci\n  aws_secret_access_key: abc\n");
    let output = run(repo.path(), &["render", "songs/song.yaml"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("mixdown.yaml:3:3") && text.contains("environment"), "{text}");
}
