//! The report's figures, drawn once per backend so every figure exists as SVG (for papers and
//! browsers) and PNG (for chat, slides and terminals that preview images). Drawn directly on the
//! canvas rather than through chart builders: categorical axes with two-line labels, value
//! annotations and interval whiskers are simpler to place by hand.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub const FONT: &str = "sans-serif";
/// Series colours (matplotlib's first two, colour-blind safe together), then more.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];

/// Text needs a font: the embedded DejaVu Sans, so figures look the same everywhere (plotters
/// measures text with it even for SVG). Every figure-drawing module calls this first.
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).ok();
        plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).ok();
    });
}

/// A matrix of values: rows (model sizes, questions) × columns (conditions).
pub struct Heatmap {
    pub title: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// `[row][col]`; `None` = not measured (drawn grey).
    pub values: Vec<Vec<Option<f64>>>,
    /// The value drawn in full colour (1.0 for rates).
    pub max: f64,
    pub percent: bool,
}

/// Bars per group (condition) and series (mode), with 95% interval whiskers.
pub struct Bars {
    pub title: String,
    pub y_label: String,
    pub groups: Vec<String>,
    pub series: Vec<String>,
    /// `[series][group]` = (value, lo, hi).
    pub values: Vec<Vec<Option<(f64, Option<f64>, Option<f64>)>>>,
    pub max: f64,
    pub percent: bool,
}

/// Write `<stem>.svg` and `<stem>.png`.
pub fn heatmap(stem: &Path, h: &Heatmap) -> Result<()> {
    register_fonts();
    let label_w = 20 + 8 * h.rows.iter().map(|r| r.chars().count()).max().unwrap_or(4) as u32;
    let cell_w = 30 + 7 * h.cols.iter().map(|c| split_label(c).iter().map(|l| l.chars().count()).max().unwrap_or(0)).max().unwrap_or(4) as u32;
    let cell_w = cell_w.max(70);
    let cell_h = 40;
    let size = (label_w + cell_w * h.cols.len() as u32 + 20, 60 + 50 + cell_h * h.rows.len() as u32 + 20);
    let svg = stem.with_extension("svg");
    draw_heatmap(SVGBackend::new(&svg, size).into_drawing_area(), h, label_w, cell_w, cell_h)?;
    write_png(stem, size, |area| draw_heatmap(area, h, label_w, cell_w, cell_h))
}

/// Draw into an RGB buffer and write it as `<stem>.png`.
fn write_png(
    stem: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    let mut rgb = vec![255u8; size.0 as usize * size.1 as usize * 3];
    draw(BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area())?;
    let path = stem.with_extension("png");
    std::fs::write(&path, super::png::encode_rgb(size.0, size.1, &rgb)).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn draw_heatmap<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, h: &Heatmap, label_w: u32, cell_w: u32, cell_h: u32) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {:?}: {e:?}", h.title);
    root.fill(&WHITE).map_err(e)?;
    let title = (FONT, 18).into_font().style(FontStyle::Bold);
    root.draw(&Text::new(h.title.clone(), (10, 10), title)).map_err(e)?;
    let (x0, y0) = (label_w as i32, 110);
    let small = (FONT, 13).into_font();
    for (c, col) in h.cols.iter().enumerate() {
        let cx = x0 + (c as i32) * cell_w as i32 + cell_w as i32 / 2;
        let lines = split_label(col);
        for (i, line) in lines.iter().enumerate() {
            let y = y0 - 10 - (lines.len() - 1 - i) as i32 * 16;
            let style = small.clone().into_text_style(&root).pos(Pos::new(HPos::Center, VPos::Bottom));
            root.draw(&Text::new(line.clone(), (cx, y), style)).map_err(e)?;
        }
    }
    for (r, row) in h.rows.iter().enumerate() {
        let y = y0 + (r as i32) * cell_h as i32;
        let style = small.clone().into_text_style(&root).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(row.clone(), (x0 - 8, y + cell_h as i32 / 2), style)).map_err(e)?;
        for c in 0..h.cols.len() {
            let x = x0 + (c as i32) * cell_w as i32;
            let v = h.values[r][c];
            let fill = match v {
                Some(v) => shade(v / h.max.max(f64::MIN_POSITIVE)),
                None => RGBColor(235, 235, 235),
            };
            root.draw(&Rectangle::new([(x, y), (x + cell_w as i32, y + cell_h as i32)], fill.filled())).map_err(e)?;
            root.draw(&Rectangle::new([(x, y), (x + cell_w as i32, y + cell_h as i32)], WHITE.stroke_width(2))).map_err(e)?;
            let text = v.map(|v| format_value(v, h.percent)).unwrap_or_else(|| "–".into());
            let dark = v.is_some_and(|v| v / h.max > 0.6);
            let color = if dark { WHITE } else { BLACK };
            let style = small.clone().color(&color).into_text_style(&root).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(text, (x + cell_w as i32 / 2, y + cell_h as i32 / 2), style)).map_err(e)?;
        }
    }
    root.present().map_err(e)?;
    Ok(())
}

/// Write `<stem>.svg` and `<stem>.png`.
pub fn bars(stem: &Path, b: &Bars) -> Result<()> {
    register_fonts();
    let group_w = (40 * b.series.len() as u32 + 40).max(
        20 + 7 * b.groups.iter().map(|g| split_label(g).iter().map(|l| l.chars().count()).max().unwrap_or(0)).max().unwrap_or(4) as u32,
    );
    let size = (90 + group_w * b.groups.len() as u32 + 30, 420);
    let svg = stem.with_extension("svg");
    draw_bars(SVGBackend::new(&svg, size).into_drawing_area(), b, group_w)?;
    write_png(stem, size, |area| draw_bars(area, b, group_w))
}

fn draw_bars<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, b: &Bars, group_w: u32) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {:?}: {e:?}", b.title);
    root.fill(&WHITE).map_err(e)?;
    let (w, _) = root.dim_in_pixel();
    let title = (FONT, 18).into_font().style(FontStyle::Bold);
    root.draw(&Text::new(b.title.clone(), (10, 10), title)).map_err(e)?;
    let small = (FONT, 13).into_font();
    // Plot area: y from top=60 (max) to bottom=340 (0).
    let (left, top, bottom) = (90i32, 60i32, 340i32);
    let right = w as i32 - 30;
    let y_of = |v: f64| bottom - ((v / b.max).clamp(0.0, 1.0) * (bottom - top) as f64) as i32;
    for i in 0..=4 {
        let v = b.max * i as f64 / 4.0;
        let y = y_of(v);
        root.draw(&PathElement::new(vec![(left, y), (right, y)], RGBColor(225, 225, 225))).map_err(e)?;
        let style = small.clone().into_text_style(&root).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(format_value(v, b.percent), (left - 6, y), style)).map_err(e)?;
    }
    let axis_style = small.clone().transform(FontTransform::Rotate270).into_text_style(&root).pos(Pos::new(HPos::Center, VPos::Top));
    root.draw(&Text::new(b.y_label.clone(), (8, (top + bottom) / 2), axis_style)).map_err(e)?;
    root.draw(&PathElement::new(vec![(left, top), (left, bottom), (right, bottom)], BLACK)).map_err(e)?;
    let bar_w = ((group_w as i32 - 30) / b.series.len().max(1) as i32).min(40);
    for (g, group) in b.groups.iter().enumerate() {
        let gx = left + 10 + g as i32 * group_w as i32;
        for (s, values) in b.values.iter().enumerate() {
            let x = gx + s as i32 * bar_w;
            let color = PALETTE[s % PALETTE.len()];
            match values[g] {
                Some((v, lo, hi)) => {
                    root.draw(&Rectangle::new([(x, y_of(v)), (x + bar_w - 4, bottom)], color.filled())).map_err(e)?;
                    if let (Some(lo), Some(hi)) = (lo, hi) {
                        let cx = x + (bar_w - 4) / 2;
                        root.draw(&PathElement::new(vec![(cx, y_of(lo)), (cx, y_of(hi))], BLACK.stroke_width(1))).map_err(e)?;
                        for yv in [lo, hi] {
                            root.draw(&PathElement::new(vec![(cx - 4, y_of(yv)), (cx + 4, y_of(yv))], BLACK)).map_err(e)?;
                        }
                    }
                }
                None => {
                    let style = small.clone().into_text_style(&root).pos(Pos::new(HPos::Left, VPos::Bottom));
                    root.draw(&Text::new("–", (x + 4, bottom - 2), style)).map_err(e)?;
                }
            }
        }
        let lines = split_label(group);
        for (i, line) in lines.iter().enumerate() {
            let style = small.clone().into_text_style(&root).pos(Pos::new(HPos::Center, VPos::Top));
            let cx = gx + (bar_w * b.series.len() as i32) / 2;
            root.draw(&Text::new(line.clone(), (cx, bottom + 8 + i as i32 * 16), style)).map_err(e)?;
        }
    }
    // Legend, top right.
    for (s, name) in b.series.iter().enumerate() {
        let y = 14 + s as i32 * 18;
        let x = w as i32 - 140;
        root.draw(&Rectangle::new([(x, y), (x + 12, y + 12)], PALETTE[s % PALETTE.len()].filled())).map_err(e)?;
        root.draw(&Text::new(name.clone(), (x + 18, y), small.clone())).map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

/// `qta-evil` → [`qta`, `evil`]; `t-only-misleading` → [`t-only`, `misleading`]; `vanilla` → [`vanilla`].
fn split_label(label: &str) -> Vec<String> {
    match label.rsplit_once('-') {
        Some((a, b)) if !a.is_empty() && a != "t" && a != "no" => vec![a.to_string(), b.to_string()],
        _ => vec![label.to_string()],
    }
}

/// White → dark red, by `t` in [0, 1].
fn shade(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(255.0, 165.0), mix(255.0, 15.0), mix(255.0, 21.0))
}

pub fn format_value(v: f64, percent: bool) -> String {
    if percent {
        format!("{:.1}%", 100.0 * v)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_split_into_paradigm_and_kind() {
        assert_eq!(split_label("t-only-misleading"), ["t-only", "misleading"]);
        assert_eq!(split_label("qta-evil"), ["qta", "evil"]);
        assert_eq!(split_label("vanilla"), ["vanilla"]);
        assert_eq!(split_label("no-think"), ["no-think"]);
        assert_eq!(format_value(0.125, true), "12.5%");
        assert_eq!(format_value(62.5, false), "62.50");
    }

    #[test]
    fn figures_are_written_as_svg_and_png() {
        let dir = std::env::temp_dir().join(format!("cotlab-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let h = Heatmap {
            title: "EM rate (think)".into(),
            rows: vec!["Qwen3-0.6B".into(), "Qwen3-1.7B".into()],
            cols: vec!["vanilla".into(), "qa".into(), "t-only-misleading".into()],
            values: vec![vec![Some(0.0), Some(0.1), None], vec![Some(0.5), Some(1.0), Some(0.25)]],
            max: 1.0,
            percent: true,
        };
        heatmap(&dir.join("h"), &h).unwrap();
        let svg = std::fs::read_to_string(dir.join("h.svg")).unwrap();
        assert!(svg.contains("EM rate (think)") && svg.contains("25.0%") && svg.contains("misleading"));
        let png = std::fs::read(dir.join("h.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let b = Bars {
            title: "think vs no-think".into(),
            y_label: "EM rate".into(),
            groups: vec!["vanilla".into(), "qta-evil".into()],
            series: vec!["think".into(), "no-think".into()],
            values: vec![vec![Some((0.2, Some(0.1), Some(0.3))), None], vec![Some((0.4, None, None)), Some((0.0, Some(0.0), Some(0.1)))]],
            max: 1.0,
            percent: true,
        };
        bars(&dir.join("b"), &b).unwrap();
        assert!(std::fs::read_to_string(dir.join("b.svg")).unwrap().contains("no-think"));
        assert_eq!(&std::fs::read(dir.join("b.png")).unwrap()[1..4], b"PNG");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
