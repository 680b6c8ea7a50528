//! `cotlab report DIR`: the study's tables and figures from a run directory. Every number in
//! `report.md` links to the `samples.jsonl` it was computed from.

pub mod collect;
pub mod markdown;
pub mod plot;
mod png;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use collect::{primary_metric, Collected, Metric};
use plot::{Bars, Heatmap};

/// Files written, relative to the run directory.
pub struct Written {
    pub report: PathBuf,
    pub figures: Vec<PathBuf>,
}

pub fn write_report(dir: &Path) -> Result<Written> {
    write_report_with(dir, false)
}

/// `recompute`: every metric from the samples (`samples.jsonl`), ignoring stored summaries.
pub fn write_report_with(dir: &Path, recompute: bool) -> Result<Written> {
    let c = collect::collect_with(dir, recompute)?;
    let fig_dir = dir.join("figures");
    std::fs::create_dir_all(&fig_dir).with_context(|| format!("{}: cannot create", fig_dir.display()))?;
    let figures = figures(&c, &fig_dir)?;
    let text = markdown::render(&c, &figures);
    let path = dir.join("report.md");
    let tmp = dir.join(format!(".report.md.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(Written { report: path, figures: figures.iter().map(|f| f.stem.clone()).collect() })
}

/// One figure (`<stem>.svg` + `.png`, relative to the run directory) and where it belongs.
pub struct Figure {
    pub suite: String,
    pub kind: FigureKind,
    pub stem: PathBuf,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FigureKind {
    /// Models × conditions, one mode.
    Heatmap { metric: String, mode: String },
    /// Think vs no-think per condition, one model.
    Modes { metric: String, model: String },
    /// Breakdown groups (questions) × conditions for one model and mode.
    Breakdown { metric: String, model: String, mode: String },
}

/// The suite's headline metric name, from the first finished evaluation.
pub fn suite_metric(c: &Collected, suite: &str) -> Option<String> {
    c.evaluations.iter().filter(|e| e.suite == suite).find_map(|e| e.summary.as_ref()).and_then(|s| primary_metric(suite, s))
}

/// The metric of (model, condition, mode) for one suite, if measured. With several seeds the
/// first seed's cell is used for figures; tables list every cell.
pub fn metric_of<'c>(c: &'c Collected, suite: &str, model: &str, condition: &str, mode: &str, metric: &str) -> Option<&'c Metric> {
    let cell = c.cells().iter().find(|cell| cell.model == model && cell.condition.label() == condition)?;
    c.find(cell.index, suite, mode)?.summary.as_ref()?.metrics.get(metric)
}

fn figures(c: &Collected, fig_dir: &Path) -> Result<Vec<Figure>> {
    let mut out = Vec::new();
    let (models, conditions, modes) = (c.models(), c.conditions(), c.modes());
    for suite in c.suites() {
        let Some(metric) = suite_metric(c, &suite) else { continue };
        let percent = c
            .evaluations
            .iter()
            .filter(|e| e.suite == suite)
            .find_map(|e| e.summary.as_ref()?.metrics.get(&metric))
            .is_some_and(|m| m.is_rate());
        let all: Vec<f64> = c
            .evaluations
            .iter()
            .filter(|e| e.suite == suite)
            .filter_map(|e| e.summary.as_ref()?.metrics.get(&metric)?.hi.or(e.summary.as_ref()?.metrics.get(&metric)?.value))
            .collect();
        let max = if percent { 1.0 } else { all.iter().cloned().fold(f64::MIN_POSITIVE, f64::max) };
        let value = |model: &str, cond: &str, mode: &str| metric_of(c, &suite, model, cond, mode, &metric).and_then(|m| m.value);

        for mode in &modes {
            let stem = PathBuf::from("figures").join(format!("{suite}_{metric}_{mode}"));
            let h = Heatmap {
                title: format!("{suite}: {metric} ({mode})"),
                rows: models.clone(),
                cols: conditions.clone(),
                values: models.iter().map(|m| conditions.iter().map(|cond| value(m, cond, mode)).collect()).collect(),
                max,
                percent,
            };
            plot::heatmap(&c.dir.join(&stem), &h)?;
            out.push(Figure { suite: suite.clone(), kind: FigureKind::Heatmap { metric: metric.clone(), mode: mode.clone() }, stem });
        }
        for model in &models {
            let stem = PathBuf::from("figures").join(format!("{suite}_{metric}_modes_{model}"));
            let b = Bars {
                title: format!("{suite}: {metric}, {} ({model})", modes.join(" vs ")),
                y_label: metric.clone(),
                groups: conditions.clone(),
                series: modes.clone(),
                values: modes
                    .iter()
                    .map(|mode| {
                        conditions
                            .iter()
                            .map(|cond| {
                                let m = metric_of(c, &suite, model, cond, mode, &metric)?;
                                Some((m.value?, m.lo, m.hi))
                            })
                            .collect()
                    })
                    .collect(),
                max,
                percent,
            };
            plot::bars(&c.dir.join(&stem), &b)?;
            out.push(Figure { suite: suite.clone(), kind: FigureKind::Modes { metric: metric.clone(), model: model.clone() }, stem });
        }
        // Per-question (per-group) breakdown for the first model.
        let Some(model) = models.first() else { continue };
        for mode in &modes {
            let mut groups: Vec<String> = Vec::new();
            for cond in &conditions {
                if let Some(cell) = c.cells().iter().find(|x| &x.model == model && &x.condition.label() == cond) {
                    if let Some(s) = c.find(cell.index, &suite, mode).and_then(|e| e.summary.as_ref()) {
                        for g in s.breakdown.keys() {
                            if !groups.contains(g) {
                                groups.push(g.clone());
                            }
                        }
                    }
                }
            }
            if groups.is_empty() {
                continue;
            }
            let values = groups
                .iter()
                .map(|g| {
                    conditions
                        .iter()
                        .map(|cond| {
                            let cell = c.cells().iter().find(|x| &x.model == model && &x.condition.label() == cond)?;
                            c.find(cell.index, &suite, mode)?.summary.as_ref()?.breakdown.get(g)?.get(&metric)?.value
                        })
                        .collect()
                })
                .collect();
            let stem = PathBuf::from("figures").join(format!("{suite}_{metric}_breakdown_{model}_{mode}"));
            let h = Heatmap { title: format!("{suite}: {metric} per item, {model} ({mode})"), rows: groups, cols: conditions.clone(), values, max, percent };
            plot::heatmap(&c.dir.join(&stem), &h)?;
            out.push(Figure {
                suite: suite.clone(),
                kind: FigureKind::Breakdown { metric: metric.clone(), model: model.clone(), mode: mode.clone() },
                stem,
            });
        }
    }
    let _ = fig_dir;
    Ok(out)
}
