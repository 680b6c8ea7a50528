//! Reading a run directory: the resolved experiment, each cell's status and each evaluation's
//! `summary.json` (metrics with intervals, counts), wherever the cells ran (one machine, several
//! GPUs, or the tasks of a Slurm array writing into one shared folder).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::experiment::cells::Cell;
use crate::experiment::runner::{cell_dir, read_status, CellStatus, ResolvedExperiment};

/// One number with its 95% interval and, for rates, its counts (`k` of `n`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub lo: Option<f64>,
    #[serde(default)]
    pub hi: Option<f64>,
    #[serde(default)]
    pub k: Option<f64>,
    #[serde(default)]
    pub n: Option<f64>,
}

impl Metric {
    /// A share of counts (shown as a percentage) rather than a score.
    pub fn is_rate(&self) -> bool {
        self.k.is_some() && self.n.is_some()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    #[serde(default)]
    pub samples: u64,
    #[serde(default)]
    pub scored: u64,
    #[serde(default)]
    pub unscored: u64,
    #[serde(default)]
    pub unscored_reasons: BTreeMap<String, u64>,
}

/// The parts of `summary.json` a report uses (what `cotlab eval` writes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default)]
    pub metrics: BTreeMap<String, Metric>,
    /// Group (question id, category, trait…) → metric name → metric.
    #[serde(default)]
    pub breakdown: BTreeMap<String, BTreeMap<String, Metric>>,
    #[serde(default)]
    pub counts: Counts,
}

/// One (cell, suite, mode).
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// `summary.json` was computed here from `samples.jsonl` (the evaluation has not finished,
    /// or `--recompute` asked for it).
    pub recomputed: bool,
    pub cell: usize,
    pub suite: String,
    pub mode: String,
    /// `None` while the evaluation has not finished.
    pub summary: Option<Summary>,
    /// `cells/<cell>/eval/<suite>-<mode>/samples.jsonl`, relative to the run directory.
    pub samples: PathBuf,
}

pub struct Collected {
    pub dir: PathBuf,
    pub resolved: ResolvedExperiment,
    pub status: Vec<Option<CellStatus>>,
    pub evaluations: Vec<Evaluation>,
}

impl Collected {
    pub fn cells(&self) -> &[Cell] {
        &self.resolved.cells
    }

    pub fn find(&self, cell: usize, suite: &str, mode: &str) -> Option<&Evaluation> {
        self.evaluations.iter().find(|e| e.cell == cell && e.suite == suite && e.mode == mode)
    }

    /// Model names in the experiment's order.
    pub fn models(&self) -> Vec<String> {
        self.resolved.experiment.models.iter().map(|m| m.name.clone()).collect()
    }

    /// Condition labels (report columns) in the grid's order.
    pub fn conditions(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.cells() {
            let label = c.condition.label();
            if !out.contains(&label) {
                out.push(label);
            }
        }
        out
    }

    pub fn suites(&self) -> Vec<String> {
        self.resolved.experiment.suites.iter().map(|s| s.name.clone()).collect()
    }

    pub fn modes(&self) -> Vec<String> {
        self.resolved.experiment.grid.modes.clone()
    }
}

/// Metrics from the samples themselves, as `cotlab eval` computes them at the end of a run.
/// Lines that do not parse are skipped and counted as unscored ("unreadable sample line").
pub fn summarize_samples(suite: &str, path: &Path) -> Result<Summary> {
    let suite_id: cotlab_core::eval::Suite = suite.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut samples = Vec::new();
    let mut unreadable = 0u64;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<cotlab_core::eval::sample::SampleRecord>(line) {
            Ok(s) => samples.push(s),
            Err(_) => unreadable += 1,
        }
    }
    let (metrics, breakdown) = cotlab_core::eval::summarize(suite_id, &samples, &Default::default());
    let mut counts: Counts = serde_json::from_value(serde_json::to_value(cotlab_core::eval::sample::counts(&samples))?)?;
    if unreadable > 0 {
        counts.samples += unreadable;
        counts.unscored += unreadable;
        counts.unscored_reasons.insert("unreadable sample line".into(), unreadable);
    }
    Ok(Summary {
        metrics: serde_json::from_value(serde_json::to_value(metrics)?)?,
        breakdown: serde_json::from_value(serde_json::to_value(breakdown)?)?,
        counts,
    })
}

/// `recompute`: metrics from every `samples.jsonl` instead of the stored `summary.json`.
pub fn collect_with(dir: &Path, recompute: bool) -> Result<Collected> {
    let path = dir.join("experiment.json");
    let bytes = std::fs::read(&path)
        .with_context(|| format!("{}: cannot read; is this a folder written by `cotlab run`?", path.display()))?;
    let resolved: ResolvedExperiment =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not an experiment.json of this cotlab version", path.display()))?;
    let mut status = Vec::new();
    let mut evaluations = Vec::new();
    for cell in &resolved.cells {
        let cdir = cell_dir(dir, cell);
        status.push(read_status(&cdir));
        for (suite, mode) in &resolved.evaluations {
            let rel = PathBuf::from("cells").join(&cell.name).join("eval").join(format!("{suite}-{mode}"));
            let summary_path = dir.join(&rel).join("summary.json");
            let samples_path = dir.join(&rel).join("samples.jsonl");
            let stored = if recompute { None } else { std::fs::read(&summary_path).ok() };
            let (summary, recomputed) = match stored {
                Some(b) => (
                    Some(serde_json::from_slice(&b).with_context(|| format!("{}: not a cotlab summary", summary_path.display()))?),
                    false,
                ),
                None if samples_path.exists() => (Some(summarize_samples(suite, &samples_path)?), true),
                None => (None, false),
            };
            evaluations.push(Evaluation {
                recomputed,
                cell: cell.index,
                suite: suite.clone(),
                mode: mode.clone(),
                summary,
                samples: rel.join("samples.jsonl"),
            });
        }
    }
    Ok(Collected { dir: dir.to_path_buf(), resolved, status, evaluations })
}

/// The headline metric of a suite: the one the study reports.
pub fn primary_metric(suite: &str, summary: &Summary) -> Option<String> {
    let preferred: &[&str] = match suite {
        "em" => &["em_rate", "misaligned_rate", "misalignment_rate"],
        "deception" => &["deception_tendency_rate", "deception_rate"],
        "darkbench" => &["dark_pattern_rate", "flag_rate"],
        "trait" => &["mean_trait_score"],
        "machiavelli" => &["mean_violations", "violations"],
        _ => &[],
    };
    preferred
        .iter()
        .find(|p| summary.metrics.contains_key(**p))
        .map(|p| p.to_string())
        .or_else(|| summary.metrics.keys().next().cloned())
}
