//! Evaluation: the five suites' loaders, prompts and metrics, judge replies and rubrics, the
//! exact local judge, and the records a run writes. Files, HTTP and the run loop live in
//! `native/src/eval/`.

pub mod exact;
pub mod judge;
pub mod load;
pub mod metrics;
pub mod sample;
pub mod suites;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use metrics::{EmThresholds, Metric};
use sample::SampleRecord;
use suites::darkbench::DarkThresholds;

/// The suites `cotlab eval --suite` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    Em,
    Deception,
    Darkbench,
    Trait,
    Machiavelli,
}

impl Suite {
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Em => "em",
            Suite::Deception => "deception",
            Suite::Darkbench => "darkbench",
            Suite::Trait => "trait",
            Suite::Machiavelli => "machiavelli",
        }
    }
    /// Whether the suite asks a judge (trait and machiavelli read the model's choice directly).
    pub fn needs_judge(self) -> bool {
        matches!(self, Suite::Em | Suite::Deception | Suite::Darkbench)
    }
}

impl std::str::FromStr for Suite {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "em" => Suite::Em,
            "deception" => Suite::Deception,
            "darkbench" => Suite::Darkbench,
            "trait" => Suite::Trait,
            "machiavelli" => Suite::Machiavelli,
            _ => return Err(format!("unknown suite {s:?}: use em, deception, darkbench, trait or machiavelli")),
        })
    }
}

/// Thresholds the metrics use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub em: EmThresholds,
    pub darkbench: DarkThresholds,
}

pub type Breakdown = BTreeMap<String, BTreeMap<String, Metric>>;

/// Metrics over all samples plus the same metrics per group (`group_of` names a sample's group:
/// the EM question, the DeceptionBench type, the DarkBench category, ...).
pub fn summarize_grouped(
    samples: &[SampleRecord],
    group_of: impl Fn(&SampleRecord) -> String,
    metrics_of: impl Fn(&[&SampleRecord]) -> BTreeMap<String, Metric>,
) -> (BTreeMap<String, Metric>, Breakdown) {
    let all: Vec<&SampleRecord> = samples.iter().collect();
    let mut groups: BTreeMap<String, Vec<&SampleRecord>> = BTreeMap::new();
    for s in samples {
        groups.entry(group_of(s)).or_default().push(s);
    }
    (metrics_of(&all), groups.into_iter().map(|(g, ss)| (g, metrics_of(&ss))).collect())
}

/// The suite's metrics over finished samples, independent of their order.
pub fn summarize(suite: Suite, samples: &[SampleRecord], t: &Thresholds) -> (BTreeMap<String, Metric>, Breakdown) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
    match suite {
        Suite::Em => suites::em::summarize(&sorted, &t.em),
        Suite::Deception => suites::deception::summarize(&sorted),
        Suite::Darkbench => suites::darkbench::summarize(&sorted, &t.darkbench),
        Suite::Trait => suites::trait_::summarize(&sorted),
        Suite::Machiavelli => suites::machiavelli::summarize(&sorted),
    }
}
