//! The token-length histogram of `cotlab data stats`: one panel per field (question, thinking,
//! answer), one translucent bar series per kind, bins shared across kinds so they compare.

use anyhow::{anyhow, Result};
use cotlab_core::data::{histogram, DatasetStats, FieldStats, KindStats};
use plotters::prelude::*;

const BINS: usize = 20;

/// The histogram as an SVG document.
pub fn length_histogram_svg(stats: &DatasetStats) -> Result<String> {
    crate::report::plot::register_fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 960)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let panels = root.split_evenly((3, 1));
        let fields: [(&str, fn(&KindStats) -> &FieldStats); 3] =
            [("question", |k| &k.question), ("thinking", |k| &k.thinking), ("answer", |k| &k.answer)];
        for (area, (name, field)) in panels.iter().zip(fields) {
            let upper = stats.kinds.iter().map(|k| field(k).summary.max).max().unwrap_or(0) + 1;
            let hists: Vec<(&str, Vec<(usize, usize, usize)>)> =
                stats.kinds.iter().map(|k| (k.kind.as_str(), histogram(&field(k).lengths, BINS, upper))).collect();
            let x_max = hists.first().and_then(|(_, h)| h.last()).map_or(1, |b| b.1) as f64;
            let y_max = hists.iter().flat_map(|(_, h)| h.iter().map(|b| b.2)).max().unwrap_or(1).max(1) as f64;
            let mut chart = ChartBuilder::on(area)
                .caption(format!("{name} length (Qwen3 tokens)"), ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(0f64..x_max, 0f64..y_max * 1.1)
                .map_err(|e| anyhow!("plot: {e}"))?;
            chart
                .configure_mesh()
                .x_desc("tokens")
                .y_desc("records")
                .draw()
                .map_err(|e| anyhow!("plot: {e}"))?;
            for (i, (kind, bins)) in hists.into_iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                let fill = color.mix(0.35).filled();
                chart
                    .draw_series(
                        bins.into_iter()
                            .filter(|b| b.2 > 0)
                            .map(move |(lo, hi, n)| Rectangle::new([(lo as f64, 0.0), (hi as f64, n as f64)], fill)),
                    )
                    .map_err(|e| anyhow!("plot: {e}"))?
                    .label(kind.to_string())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
            }
            chart
                .configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE.mix(0.85))
                .draw()
                .map_err(|e| anyhow!("plot: {e}"))?;
        }
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
    }
    Ok(svg)
}
