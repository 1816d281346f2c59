//! What an album render does after an edit, from its render log: each edit re-renders what
//! it touched and nothing upstream of it.

use mixdown::graph::build_album;
use mixdown::ir::{Album, DeliverFormat, Join, SongInput};

use crate::album_render::{album, render_album};
use crate::support::scratch;

/// The ids of the nodes an edit made by `edit` renders, after a first render.
fn rendered_after(edit: impl Fn(&mut Album)) -> Vec<String> {
    let work = scratch();
    let (cache, out) = (work.path().join("cache"), work.path().join("out"));
    let mut album = album(work.path());
    render_album(&build_album(&album), &cache, &out, 2);
    edit(&mut album);
    let (_, report) = render_album(&build_album(&album), &cache, &out, 2);
    report.rendered()
}

/// Whether any id in `ids` starts with one of `prefixes`.
fn any_of(ids: &[String], prefixes: &[&str]) -> Vec<String> {
    ids.iter().filter(|id| prefixes.iter().any(|p| id.starts_with(p))).cloned().collect()
}

/// The mixes' nodes and the songs' mastering chains.
const UPSTREAM: [&str; 3] = ["one/", "two/", "three/"];

#[test]
fn a_fade_edit_renders_that_songs_segment_and_the_targets_and_no_song() {
    let ran = rendered_after(|album| album.songs[2].fade_out = 1.02);
    assert_eq!(any_of(&ran, &UPSTREAM), Vec::<String>::new(), "no song renders again");
    assert!(ran.contains(&"album/loudness".to_string()), "{ran:?}");
    assert!(ran.iter().any(|id| id.starts_with("album/segment/two/")), "{ran:?}");
    assert_eq!(
        any_of(
            &ran,
            &[
                "album/segment/one/",
                "album/streaming/encode/one",
                "album/preview/encode/one",
                "album/cd/encode/one"
            ]
        ),
        Vec::<String>::new(),
        "the other segment keeps its gain, so nothing of it renders"
    );
    assert!(ran.contains(&"album/streaming/encode/three".to_string()), "{ran:?}");
    assert!(ran.contains(&"album/cd/encode/two".to_string()), "its segment of the CD file");
    assert!(ran.contains(&"album/cd/deliver".to_string()), "the CD file is joined again");
}

#[test]
fn a_fader_edit_in_one_songs_mix_renders_only_that_mix() {
    let ran = rendered_after(|album| {
        let SongInput::Mix(mix) = &mut album.songs[1].input else { unreachable!() };
        mix.tracks[0].fader.gain = mixdown::units::Param::Constant(mixdown::units::Decibels(5.0));
    });
    assert!(ran.contains(&"two/master".to_string()), "{ran:?}");
    assert!(ran.contains(&"two/song".to_string()), "{ran:?}");
    assert_eq!(any_of(&ran, &["one/", "three/"]), Vec::<String>::new());
}

#[test]
fn a_gap_edit_renders_no_song_and_no_other_segment() {
    let ran = rendered_after(|album| album.songs[1].join = Join::Gap(2.5));
    assert_eq!(any_of(&ran, &UPSTREAM), Vec::<String>::new());
    // A CD target's segments end on the whole album's CD frames, so the one after the gap
    // is cut again where the album now puts it; the other rates' segment is left alone.
    let later = any_of(&ran, &["album/segment/two/trial", "album/segment/two/48k"]);
    assert_eq!(later, Vec::<String>::new(), "{ran:?}");
    assert!(ran.iter().any(|id| id.starts_with("album/segment/one/")), "{ran:?}");
}

#[test]
fn a_format_edit_renders_only_that_targets_encodes_and_files() {
    let ran =
        rendered_after(|album| album.deliver[2].deliverable.format = DeliverFormat::Mp3Cbr(256));
    let other: Vec<&String> = ran.iter().filter(|id| !id.starts_with("album/preview/")).collect();
    assert!(other.is_empty(), "{other:?}");
    assert!(ran.contains(&"album/preview/encode/one".to_string()), "{ran:?}");
}

#[test]
fn a_tag_edit_encodes_nothing() {
    let ran =
        rendered_after(|album| album.songs[2].artist = "The Example Ensemble feat. Nobody".into());
    let audio: Vec<&String> =
        ran.iter().filter(|id| !id.contains("/deliver/") && !id.ends_with("/cue")).collect();
    assert!(audio.is_empty(), "{audio:?}");
    assert!(ran.contains(&"album/streaming/deliver/three".to_string()), "{ran:?}");
    assert!(ran.contains(&"album/cd/cue".to_string()), "the CUE sheet names the new performer");
}

#[test]
fn reordering_the_album_renders_no_songs_mix() {
    let ran = rendered_after(|album| {
        album.songs.swap(0, 1);
        album.songs[0].join = Join::Gap(0.0);
        album.songs[1].join = Join::Gap(2.0);
    });
    assert_eq!(any_of(&ran, &UPSTREAM), Vec::<String>::new(), "{ran:?}");
}
