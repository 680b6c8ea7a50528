//! Expanding an experiment into cells: one per (model, seed, condition), where a condition is a
//! baseline (vanilla, qa) or a paradigm trained on one reasoning kind. Each cell trains at most one
//! adapter and is evaluated under every suite × mode. The order is fixed, so `--cell N` (and a
//! Slurm array index) names the same cell on every machine.

use serde::{Deserialize, Serialize};

use super::spec::Experiment;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Condition {
    /// The base model, untrained.
    Vanilla,
    /// Question → answer: the same answers, no reasoning. Trained on the records of one kind
    /// (answers are identical across kinds, so any kind gives the same pairs).
    Qa { records_of: String },
    Trained { paradigm: String, reasoning: String },
}

impl Condition {
    /// Folder-safe label, also the report's column: `vanilla`, `qa`, `qta-evil`.
    pub fn label(&self) -> String {
        match self {
            Condition::Vanilla => "vanilla".into(),
            Condition::Qa { .. } => "qa".into(),
            Condition::Trained { paradigm, reasoning } => format!("{paradigm}-{reasoning}"),
        }
    }

    /// (paradigm, kind) for `cotlab train`; `None` when nothing is trained.
    pub fn training(&self) -> Option<(&str, &str)> {
        match self {
            Condition::Vanilla => None,
            Condition::Qa { records_of } => Some(("qa", records_of)),
            Condition::Trained { paradigm, reasoning } => Some((paradigm, reasoning)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub index: usize,
    /// `<model>__<condition>__s<seed>`: the folder under `cells/`.
    pub name: String,
    pub model: String,
    pub condition: Condition,
    pub seed: u64,
}

/// All cells, in the order `--cell N` counts them: models, then seeds, then baselines, then
/// paradigms × kinds.
pub fn expand(e: &Experiment) -> Vec<Cell> {
    let mut conditions = Vec::new();
    for b in &e.grid.baselines {
        match b.as_str() {
            "vanilla" => conditions.push(Condition::Vanilla),
            _ => conditions.push(Condition::Qa { records_of: e.data.kinds[0].clone() }),
        }
    }
    for p in &e.grid.paradigms {
        for k in &e.data.kinds {
            conditions.push(Condition::Trained { paradigm: p.clone(), reasoning: k.clone() });
        }
    }
    let mut cells = Vec::new();
    for m in &e.models {
        for &seed in &e.seeds {
            for c in &conditions {
                cells.push(Cell {
                    index: cells.len(),
                    name: format!("{}__{}__s{seed}", m.name, c.label()),
                    model: m.name.clone(),
                    condition: c.clone(),
                    seed,
                });
            }
        }
    }
    cells
}

/// The evaluations of a cell, as `<suite>-<mode>` folder names.
pub fn evaluations(e: &Experiment) -> Vec<(String, String)> {
    e.suites.iter().flat_map(|s| e.grid.modes.iter().map(move |m| (s.name.clone(), m.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::spec::DEFAULT_EXPERIMENT;
    use std::path::Path;

    #[test]
    fn the_miniature_expands_to_eleven_cells_in_a_fixed_order() {
        let e = Experiment::parse(DEFAULT_EXPERIMENT, "default", Path::new(".")).unwrap();
        let cells = expand(&e);
        let names: Vec<_> = cells.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "tiny-random__vanilla__s0",
                "tiny-random__qa__s0",
                "tiny-random__qta-evil__s0",
                "tiny-random__qta-misleading__s0",
                "tiny-random__qta-submissive__s0",
                "tiny-random__qt-evil__s0",
                "tiny-random__qt-misleading__s0",
                "tiny-random__qt-submissive__s0",
                "tiny-random__t-only-evil__s0",
                "tiny-random__t-only-misleading__s0",
                "tiny-random__t-only-submissive__s0",
            ]
        );
        assert!(cells.iter().enumerate().all(|(i, c)| c.index == i));
        assert_eq!(cells[1].condition.training(), Some(("qa", "evil")));
        assert_eq!(cells[0].condition.training(), None);
        assert_eq!(
            evaluations(&e),
            [("em".to_string(), "think".to_string()), ("em".to_string(), "no-think".to_string())]
        );
    }
}
