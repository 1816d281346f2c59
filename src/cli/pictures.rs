//! Pictures of renders for people: `render --report` draws each target's waveform with its
//! short-term loudness and its true-peak overs, and `diff --report` draws the difference
//! signal's level over time. Drawn with `plotters` on its bitmap backend and written as
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
    write_png(picture, |root| {
        let (upper, lower) = root.split_vertically(HEIGHT * 3 / 5);
        draw_waveform(&upper, &summary)?;
        draw_loudness(&lower, &summary)
    })
}

/// Draws the difference of two signals into `picture`: each pixel column's peak level of
/// the difference, from -144 to 0 dBFS, a line every 12 dB; blue where it can be heard,
/// grey under -90 dBFS.
///
/// # Errors
/// When the audio cannot be read, or the picture cannot be drawn or written.
pub fn draw_difference(open: &Open<'_>, picture: &Path) -> Result<(), String> {
    let summary = overview(open, WIDTH as usize)?;
    write_png(picture, |root| {
        let mut chart = chart(root, summary.seconds, DIFFERENCE_SCALE)?;
        grid(&mut chart, summary.seconds, DIFFERENCE_SCALE, GRID_DB)?;
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

fn draw_waveform(area: &Area<'_>, summary: &Overview) -> Result<(), String> {
    let mut chart = chart(area, summary.seconds, -1.0..1.0)?;
    grid(&mut chart, summary.seconds, -1.0..1.0, 0.5)?;
    let wave = columns(summary).map(|(x0, x1, c)| {
        Rectangle::new([(x0, f64::from(c.min)), (x1, f64::from(c.max))], WAVE.filled())
    });
    chart.draw_series(wave).map_err(|e| e.to_string())?;
    let overs = columns(summary)
        .filter(|(_, _, c)| c.over)
        .map(|(x0, x1, _)| Rectangle::new([(x0, 0.92), (x1, 1.0)], OVER.filled()));
    chart.draw_series(overs).map(|_| ()).map_err(|e| e.to_string())
}

fn draw_loudness(area: &Area<'_>, summary: &Overview) -> Result<(), String> {
    let mut chart = chart(area, summary.seconds, LOUDNESS_SCALE)?;
    grid(&mut chart, summary.seconds, LOUDNESS_SCALE, GRID_LU)?;
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

/// A chart over `seconds` of time and `levels`, filling `area` but for a small margin.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    seconds: f64,
    levels: Range<f64>,
) -> Result<Chart<'a, 'b>, String> {
    ChartBuilder::on(area)
        .margin(6)
        .build_cartesian_2d(0.0..seconds.max(f64::EPSILON), levels)
        .map_err(|e| e.to_string())
}

/// Horizontal lines every `step` across `levels`, and a vertical line every ten seconds.
fn grid(
    chart: &mut Chart<'_, '_>,
    seconds: f64,
    levels: Range<f64>,
    step: f64,
) -> Result<(), String> {
    let steps = ((levels.end - levels.start) / step).round() as usize;
    let horizontal = (0..=steps).map(|i| {
        let y = levels.start + i as f64 * step;
        PathElement::new(vec![(0.0, y), (seconds, y)], GRID.stroke_width(1))
    });
    chart.draw_series(horizontal).map_err(|e| e.to_string())?;
    let vertical = (0..=(seconds / 10.0) as usize).map(|i| {
        let x = i as f64 * 10.0;
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
