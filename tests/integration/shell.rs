//! Shell completions and the man page, generated from the command line's definitions.

use crate::support::{mixdown, scratch, stderr};

#[test]
fn bash_completions_parse_and_offer_every_subcommand() {
    let work = scratch();
    let run = mixdown(work.path(), &["completions", "bash"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let script = work.path().join("mixdown.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    let parsed = std::process::Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let text = String::from_utf8_lossy(&run.stdout);
    for subcommand in ["render", "watch", "test", "diff", "check", "completions", "man"] {
        assert!(text.contains(subcommand), "no `{subcommand}` in the bash completions");
    }
}

#[test]
fn zsh_and_fish_completions_are_written() {
    let work = scratch();
    let zsh = mixdown(work.path(), &["completions", "zsh"]);
    assert!(String::from_utf8_lossy(&zsh.stdout).starts_with("#compdef mixdown"));
    let fish = mixdown(work.path(), &["completions", "fish"]);
    assert!(String::from_utf8_lossy(&fish.stdout).contains("complete -c mixdown"));
}

#[test]
fn the_man_page_renders_with_its_name_and_commands() {
    let work = scratch();
    let run = mixdown(work.path(), &["man"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let page = String::from_utf8_lossy(&run.stdout);
    assert!(page.contains(".TH mixdown 1"), "{page}");
    for subcommand in ["render", "test", "diff", "watch"] {
        assert!(page.contains(&format!("mixdown\\-{subcommand}(1)")), "{page}");
    }
    // Rendered by groff where it is installed: no warnings, and the name section reads.
    let groff = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    if let Ok(mut groff) = groff {
        use std::io::Write as _;
        groff.stdin.take().unwrap().write_all(&run.stdout).unwrap();
        let out = groff.wait_with_output().unwrap();
        assert!(out.status.success());
        // grotty prints bold as a letter, a backspace and the letter again.
        let text = String::from_utf8_lossy(&out.stdout).replace("N\u{8}", "").replace("A\u{8}", "");
        let text = text.replace("M\u{8}", "").replace("E\u{8}", "");
        assert!(text.contains("NAME"), "{text}");
        assert!(String::from_utf8_lossy(&out.stderr).is_empty(), "groff warns");
    }
}
