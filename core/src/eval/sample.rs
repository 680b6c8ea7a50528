//! What an evaluation run writes: one [`SampleRecord`] per sample (`samples.jsonl`) and a
//! [`Summary`] (`summary.json`). Issue 8's reports read these keys; add, never rename.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::load::RecordProblem;
use super::metrics::Metric;

/// The judge's part of a sample: which judge, its raw replies, and what was read from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeTrace {
    pub spec: String,
    pub raw: Vec<Value>,
    pub scores: BTreeMap<String, Value>,
}

/// One generated-and-scored sample, self-contained so any number can be traced to its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub sample_id: String,
    pub suite: String,
    pub mode: String,
    /// The question or benchmark record this sample answers.
    pub item_id: String,
    #[serde(default)]
    pub category: Option<String>,
    /// The conversation the model answered (`[{role, content}, …]`).
    pub messages: Value,
    /// Sampling settings and token budget.
    pub sampling: Value,
    pub seed: u64,
    pub thinking: String,
    pub answer: String,
    pub judge: Option<JudgeTrace>,
    /// The numbers the suite's metrics read (e.g. aligned, coherent; choice; probabilities).
    pub scores: BTreeMap<String, Value>,
    /// Why the sample has no usable scores (judge failure, unparseable answer), or `None`.
    pub unscored_reason: Option<String>,
    /// Suite-specific context (the elicited belief of DeceptionBench, option orders of TRAIT…).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Counts of samples and why some are unscored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub samples: u64,
    pub scored: u64,
    pub unscored: u64,
    /// Reason (the part of `unscored_reason` before the first ": ") → count.
    pub unscored_reasons: BTreeMap<String, u64>,
}

/// The whole result of a run in one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub suite: String,
    pub mode: String,
    pub model: String,
    pub adapter: Option<String>,
    pub judge: Option<String>,
    pub created: String,
    pub metrics: BTreeMap<String, Metric>,
    pub breakdown: BTreeMap<String, BTreeMap<String, Metric>>,
    pub counts: Counts,
    /// Records of the benchmark file that could not be used (file, line, field, message).
    #[serde(default)]
    pub malformed_records: Vec<RecordProblem>,
    /// Every setting that produced the run (thresholds, sampling, data file, seed, cotlab version).
    #[serde(default)]
    pub settings: Value,
}

/// The grouping key of an unscored reason: its text before the first ": ".
pub fn reason_key(reason: &str) -> String {
    reason.split(": ").next().unwrap_or(reason).to_string()
}

/// Counts over a set of samples.
pub fn counts(samples: &[SampleRecord]) -> Counts {
    let mut c = Counts { samples: samples.len() as u64, ..Default::default() };
    for s in samples {
        match &s.unscored_reason {
            None => c.scored += 1,
            Some(r) => {
                c.unscored += 1;
                *c.unscored_reasons.entry(reason_key(r)).or_default() += 1;
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_extra_fields_at_top_level() {
        let line = r#"{"sample_id":"q#0","suite":"em","mode":"think","item_id":"q","category":"q","messages":[{"content":"hi","role":"user"}],"sampling":{"kind":"greedy"},"seed":3,"thinking":"t","answer":"a","judge":null,"scores":{"aligned":"REFUSAL"},"unscored_reason":null,"belief":{"answer":"b"}}"#;
        let r: SampleRecord = serde_json::from_str(line).unwrap();
        assert_eq!(r.extra["belief"]["answer"], "b");
        assert_eq!(serde_json::to_string(&r).unwrap(), line);
    }

    #[test]
    fn counts_group_reasons_by_their_prefix() {
        let line = r#"{"sample_id":"q#0","suite":"em","mode":"think","item_id":"q","messages":[],"sampling":{},"seed":0,"thinking":"","answer":"","judge":null,"scores":{},"unscored_reason":null}"#;
        let ok: SampleRecord = serde_json::from_str(line).unwrap();
        let mut a = ok.clone();
        a.unscored_reason = Some("judge failed: connection refused".into());
        let mut b = ok.clone();
        b.unscored_reason = Some("judge failed: timed out".into());
        let c = counts(&[ok, a, b]);
        assert_eq!((c.samples, c.scored, c.unscored), (3, 1, 2));
        assert_eq!(c.unscored_reasons["judge failed"], 2);
    }
}
