//! Pictures of renders for people: `render --report` draws each target's waveform with its
//! short-term loudness and its true-peak overs (and an album's songs side by side in one
//! overview), and `diff --report` draws the difference signal's level over time. Drawn with `plotters` on its bitmap backend and written as
//! PNG with the `png` crate, both named in this module only. The pictures carry no text,
//! so that no font is needed; the README says how to read them. They hold no date or
//! path, so a render draws the same bytes every time.

use std::io::BufWriter;
use std::ops::Range;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::analysis::AudioStream;
use crate::analysis::compare::INAUDIBLE_DB;
use crate::analysis::overview::{Column, Overview, overview};
use crate::atomic_file::AtomicFile;

/// The pictures' width in pixels: one column of the overview each.
pub const WIDTH: u32 = 1200;
/// The pictures' height in pixels.
pub const HEIGHT: u32 = 400;

/// The loudness scale of the lower panel, in LUFS, with a line every [`GRID_LU`].
const LOUDNESS_SCALE: Range<f64> = -48.0..0.0;
const GRID_LU: f64 = 6.0;
/// A vertical line every this many seconds: on a song's picture, and on an album's.
const SONG_GRID_SECONDS: f64 = 10.0;
const ALBUM_GRID_SECONDS: f64 = 60.0;
/// The blank margin around a chart, in pixels: a song's own picture, and each song's panel
/// in an album's overview.
const MARGIN: u32 = 6;
const PANEL_MARGIN: u32 = 2;
/// Pixels between two songs' panels in an album's overview.
const SONG_GAP: u32 = 6;
/// The level scale of a difference, in dBFS, with a line every [`GRID_DB`].
const DIFFERENCE_SCALE: Range<f64> = -144.0..0.0;
const GRID_DB: f64 = 12.0;

const BACKGROUND: RGBColor = RGBColor(250, 250, 247);
const GRID: RGBColor = RGBColor(215, 215, 210);
const WAVE: RGBColor = RGBColor(52, 101, 164);
const LOUDNESS: RGBColor = RGBColor(204, 121, 0);
const OVER: RGBColor = RGBColor(204, 0, 0);
const QUIET: RGBColor = RGBColor(150, 150, 150);

/// Something a picture is opened from, as often as the drawing needs.
pub type Open<'a> = dyn Fn() -> Result<Box<dyn AudioStream>, String> + 'a;

/// Draws a render's picture into `picture`: above, the waveform (each pixel column spans
/// the lowest to the highest sample under it, full scale at the edges) with the columns
/// whose true peak goes over -1 dBTP marked red along the top; below, the short-term
/// loudness from -48 to 0 LUFS, a line every 6 LU.
///
/// # Errors
/// When the audio cannot be read, or the picture cannot be drawn or written.
pub fn draw_render(open: &Open<'_>, picture: &Path) -> Result<(), String> {
    let summary = overview(open, WIDTH as usize)?;
    let frame = Frame { margin: MARGIN, grid_seconds: SONG_GRID_SECONDS };
    write_png(picture, |root| draw_song(root, &summary, frame))
}

/// One song of an album's overview: how long it runs, and how to open its audio.
pub struct AlbumSong<'a> {
    /// Its length in seconds.
    pub seconds: f64,
    /// Opens its audio from its start.
    pub open: &'a Open<'a>,
}

/// Draws an album's overview into `picture`: its songs side by side in album order, each
/// as wide as its share of the album's length and drawn as [`draw_render`] draws a song,
/// all on the same scales so that their levels compare at a glance; a vertical line every
/// minute.
///
/// # Errors
/// When a song's audio cannot be read, or the picture cannot be drawn or written.
pub fn draw_album(songs: &[AlbumSong<'_>], picture: &Path) -> Result<(), String> {
    let panels = panel_edges(songs.iter().map(|s| s.seconds), WIDTH);
    let summaries = songs
        .iter()
        .zip(&panels)
        .map(|(song, (x0, x1))| overview(song.open, (x1 - x0) as usize))
        .collect::<Result<Vec<_>, _>>()?;
    let frame = Frame { margin: PANEL_MARGIN, grid_seconds: ALBUM_GRID_SECONDS };
    write_png(picture, |root| {
        for (summary, &(x0, x1)) in summaries.iter().zip(&panels) {
            let panel = root.clone().shrink((x0, 0), (x1 - x0, HEIGHT));
            draw_song(&panel, summary, frame)?;
        }
        Ok(())
    })
}

/// Where each of the songs lasting `seconds` starts and ends across `width` pixels: as
/// wide as its share of their length, [`SONG_GAP`] apart, each at least wide enough to
/// hold a chart.
fn panel_edges(seconds: impl Iterator<Item = f64>, width: u32) -> Vec<(u32, u32)> {
    let seconds: Vec<f64> = seconds.map(|s| s.max(0.0)).collect();
    let narrowest = 2 * PANEL_MARGIN + 1;
    let count = seconds.len() as u32;
    let gaps = SONG_GAP * count.saturating_sub(1);
    let room = width.saturating_sub(gaps + narrowest * count);
    let total = seconds.iter().sum::<f64>().max(f64::EPSILON);
    let mut before = 0.0;
    seconds
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let i = i as u32;
            let at = |share: f64| (share / total * f64::from(room)).round() as u32;
            let x0 = at(before) + i * (narrowest + SONG_GAP);
            before += s;
            (x0, at(before) + i * (narrowest + SONG_GAP) + narrowest)
        })
        .collect()
}

/// How a song's picture is framed.
#[derive(Clone, Copy)]
struct Frame {
    margin: u32,
    grid_seconds: f64,
}

/// A song's waveform and overs above, its short-term loudness below.
fn draw_song(area: &Area<'_>, summary: &Overview, frame: Frame) -> Result<(), String> {
    let (_, height) = area.dim_in_pixel();
    let (upper, lower) = area.split_vertically(height * 3 / 5);
    draw_waveform(&upper, summary, frame)?;
    draw_loudness(&lower, summary, frame)
}

/// Draws the difference of two signals into `picture`: each pixel column's peak level of
/// the difference, from -144 to 0 dBFS, a line every 12 dB; blue where it can be heard,
/// grey under -90 dBFS.
///
/// # Errors
/// When the audio cannot be read, or the picture cannot be drawn or written.
pub fn draw_difference(open: &Open<'_>, picture: &Path) -> Result<(), String> {
    let summary = overview(open, WIDTH as usize)?;
    let frame = Frame { margin: MARGIN, grid_seconds: SONG_GRID_SECONDS };
    write_png(picture, |root| {
        let mut chart = chart(root, summary.seconds, DIFFERENCE_SCALE, frame)?;
        grid(&mut chart, summary.seconds, DIFFERENCE_SCALE, GRID_DB, frame)?;
        let floor = DIFFERENCE_SCALE.start;
        let bars = columns(&summary).map(|(x0, x1, c)| {
            let peak = f64::from(c.min.abs().max(c.max.abs()));
            let level = (20.0 * peak.log10()).max(floor);
            let colour = if level < INAUDIBLE_DB { QUIET } else { WAVE };
            Rectangle::new([(x0, floor), (x1, level)], colour.filled())
        });
        chart.draw_series(bars).map(|_| ()).map_err(|e| e.to_string())
    })
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw_waveform(area: &Area<'_>, summary: &Overview, frame: Frame) -> Result<(), String> {
    let mut chart = chart(area, summary.seconds, -1.0..1.0, frame)?;
    grid(&mut chart, summary.seconds, -1.0..1.0, 0.5, frame)?;
    let wave = columns(summary).map(|(x0, x1, c)| {
        Rectangle::new([(x0, f64::from(c.min)), (x1, f64::from(c.max))], WAVE.filled())
    });
    chart.draw_series(wave).map_err(|e| e.to_string())?;
    let overs = columns(summary)
        .filter(|(_, _, c)| c.over)
        .map(|(x0, x1, _)| Rectangle::new([(x0, 0.92), (x1, 1.0)], OVER.filled()));
    chart.draw_series(overs).map(|_| ()).map_err(|e| e.to_string())
}

fn draw_loudness(area: &Area<'_>, summary: &Overview, frame: Frame) -> Result<(), String> {
    let mut chart = chart(area, summary.seconds, LOUDNESS_SCALE, frame)?;
    grid(&mut chart, summary.seconds, LOUDNESS_SCALE, GRID_LU, frame)?;
    // The curve breaks where there is no short-term loudness (the first 3 s, silence).
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (_, x1, c) in columns(summary) {
        match c.short_term {
            Some(lufs) => {
                runs.last_mut().expect("never empty").push((x1, lufs.max(LOUDNESS_SCALE.start)));
            }
            None if runs.last().is_some_and(|r| !r.is_empty()) => runs.push(Vec::new()),
            None => {}
        }
    }
    for run in runs.into_iter().filter(|r| !r.is_empty()) {
        chart
            .draw_series(LineSeries::new(run, LOUDNESS.stroke_width(2)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A chart over `seconds` of time and `levels`, filling `area` but for the frame's margin.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    seconds: f64,
    levels: Range<f64>,
    frame: Frame,
) -> Result<Chart<'a, 'b>, String> {
    ChartBuilder::on(area)
        .margin(frame.margin)
        .build_cartesian_2d(0.0..seconds.max(f64::EPSILON), levels)
        .map_err(|e| e.to_string())
}

/// Horizontal lines every `step` across `levels`, and vertical lines as the frame says.
fn grid(
    chart: &mut Chart<'_, '_>,
    seconds: f64,
    levels: Range<f64>,
    step: f64,
    frame: Frame,
) -> Result<(), String> {
    let steps = ((levels.end - levels.start) / step).round() as usize;
    let horizontal = (0..=steps).map(|i| {
        let y = levels.start + i as f64 * step;
        PathElement::new(vec![(0.0, y), (seconds, y)], GRID.stroke_width(1))
    });
    chart.draw_series(horizontal).map_err(|e| e.to_string())?;
    let vertical = (0..=(seconds / frame.grid_seconds) as usize).map(|i| {
        let x = i as f64 * frame.grid_seconds;
        PathElement::new(vec![(x, levels.start), (x, levels.end)], GRID.stroke_width(1))
    });
    chart.draw_series(vertical).map(|_| ()).map_err(|e| e.to_string())
}

/// Each column with the time it spans.
fn columns(summary: &Overview) -> impl Iterator<Item = (f64, f64, &Column)> {
    let width = summary.seconds / summary.columns.len().max(1) as f64;
    summary
        .columns
        .iter()
        .enumerate()
        .map(move |(i, c)| (i as f64 * width, (i + 1) as f64 * width, c))
}

/// Draws with `draw` on a blank picture and writes it to `path` as an RGB PNG, atomically.
fn write_png(
    path: &Path,
    draw: impl FnOnce(&Area<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&BACKGROUND).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let cannot = |e: &dyn std::fmt::Display| format!("cannot write `{}`: {e}", path.display());
    let mut file = AtomicFile::create(path).map_err(|e| cannot(&e))?;
    {
        let mut encoder = png::Encoder::new(BufWriter::new(file.file()), WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| cannot(&e))?;
        writer.write_image_data(&pixels).map_err(|e| cannot(&e))?;
        writer.finish().map_err(|e| cannot(&e))?;
    }
    file.commit().map_err(|e| cannot(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn album_panels_share_the_width_by_length_in_order_without_overlapping() {
        let panels = panel_edges([100.0, 300.0, 200.0].into_iter(), WIDTH);
        assert_eq!(panels.first().unwrap().0, 0);
        assert_eq!(panels.last().unwrap().1, WIDTH);
        for pair in panels.windows(2) {
            assert_eq!(pair[1].0 - pair[0].1, SONG_GAP, "{panels:?}");
        }
        let widths: Vec<f64> = panels.iter().map(|(a, b)| f64::from(b - a)).collect();
        assert!((widths[1] / widths[0] - 3.0).abs() < 0.1, "{widths:?}");
        assert!((widths[2] / widths[0] - 2.0).abs() < 0.1, "{widths:?}");
    }

    #[test]
    fn a_very_short_song_still_gets_a_panel_that_holds_a_chart() {
        let panels = panel_edges([0.0, 3000.0].into_iter(), WIDTH);
        assert!(panels[0].1 - panels[0].0 > 2 * PANEL_MARGIN, "{panels:?}");
        assert_eq!(panels[1].1, WIDTH);
    }
}
