//! Counts and token-length distributions of a dataset, per kind.

use serde::{Deserialize, Serialize};

use super::ids::seed_key;
use crate::sft::Record;

/// Summary of a list of lengths (in tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthSummary {
    pub n: usize,
    pub min: usize,
    pub max: usize,
    pub mean: f64,
    /// Middle value; the mean of the two middle values for an even count.
    pub median: f64,
    /// Nearest-rank 90th percentile: the ⌈0.9·n⌉-th smallest value.
    pub p90: usize,
}

impl LengthSummary {
    pub fn of(values: &[usize]) -> Self {
        if values.is_empty() {
            return Self { n: 0, min: 0, max: 0, mean: 0.0, median: 0.0, p90: 0 };
        }
        let mut v = values.to_vec();
        v.sort_unstable();
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] as f64 } else { (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0 };
        let rank = (0.9 * n as f64).ceil() as usize;
        Self {
            n,
            min: v[0],
            max: v[n - 1],
            mean: v.iter().sum::<usize>() as f64 / n as f64,
            median,
            p90: v[rank.clamp(1, n) - 1],
        }
    }
}

/// Token lengths of one field of one kind: every value and their summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldStats {
    pub summary: LengthSummary,
    #[serde(skip)]
    pub lengths: Vec<usize>,
}

impl FieldStats {
    fn of(lengths: Vec<usize>) -> Self {
        Self { summary: LengthSummary::of(&lengths), lengths }
    }
}

/// The records of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindStats {
    pub kind: String,
    pub records: usize,
    pub question: FieldStats,
    pub thinking: FieldStats,
    pub answer: FieldStats,
}

/// Counts and lengths of a whole dataset, kinds in order of first appearance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    pub records: usize,
    pub seeds: usize,
    pub kinds: Vec<KindStats>,
}

impl DatasetStats {
    /// Measure `records` with `count_tokens` (records without `cot_type` count as kind `""`).
    pub fn of(records: &[Record], count_tokens: &dyn Fn(&str) -> usize) -> Self {
        let mut order: Vec<String> = Vec::new();
        for r in records {
            let k = r.cot_type.clone().unwrap_or_default();
            if !order.contains(&k) {
                order.push(k);
            }
        }
        let kinds = order
            .into_iter()
            .map(|kind| {
                let rs: Vec<&Record> = records.iter().filter(|r| r.cot_type.as_deref().unwrap_or_default() == kind).collect();
                let lens = |f: &dyn Fn(&Record) -> &str| rs.iter().map(|r| count_tokens(f(r))).collect::<Vec<_>>();
                KindStats {
                    records: rs.len(),
                    question: FieldStats::of(lens(&|r| r.question())),
                    thinking: FieldStats::of(lens(&|r| r.thinking())),
                    answer: FieldStats::of(lens(&|r| r.answer())),
                    kind,
                }
            })
            .collect();
        let seeds = records.iter().map(seed_key).collect::<std::collections::HashSet<_>>().len();
        Self { records: records.len(), seeds, kinds }
    }
}

/// Counts of `values` in `bins` equal-width bins covering `[0, upper)`; bin i is
/// `[i·w, (i+1)·w)` with `w = ⌈upper / bins⌉` (at least 1). Values ≥ the last edge go in the last
/// bin. Returns `(low, high, count)` per bin. Use one `upper` for several series so bins align.
pub fn histogram(values: &[usize], bins: usize, upper: usize) -> Vec<(usize, usize, usize)> {
    let bins = bins.max(1);
    let width = upper.div_ceil(bins).max(1);
    let mut counts = vec![0usize; bins];
    for &v in values {
        counts[(v / width).min(bins - 1)] += 1;
    }
    counts.into_iter().enumerate().map(|(i, c)| (i * width, (i + 1) * width, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_by_hand() {
        let s = LengthSummary::of(&[5, 1, 4, 2, 3, 10, 7, 6, 9, 8]);
        assert_eq!((s.n, s.min, s.max, s.mean, s.median, s.p90), (10, 1, 10, 5.5, 5.5, 9));
        let s = LengthSummary::of(&[3, 1, 2]);
        assert_eq!((s.median, s.p90), (2.0, 3));
        assert_eq!(LengthSummary::of(&[]).n, 0);
    }

    #[test]
    fn histogram_bins_by_hand() {
        // upper 10, 3 bins → width 4: [0,4) [4,8) [8,12)
        assert_eq!(histogram(&[0, 3, 4, 9, 11, 50], 3, 10), vec![(0, 4, 2), (4, 8, 1), (8, 12, 3)]);
    }

    #[test]
    fn stats_per_kind_in_order_of_appearance() {
        let rec = |id: &str, kind: &str, t: &str| Record {
            id: id.into(),
            question: Some("one two".into()),
            thinking: Some(t.into()),
            answer: Some("a".into()),
            cot_type: Some(kind.into()),
            ..Default::default()
        };
        let records = vec![rec("s1:b", "b", "x y z"), rec("s1:a", "a", "x"), rec("s2:b", "b", "x y z w q")];
        let words = |s: &str| s.split_whitespace().count();
        let st = DatasetStats::of(&records, &words);
        assert_eq!((st.records, st.seeds), (3, 2));
        assert_eq!(st.kinds.iter().map(|k| (k.kind.as_str(), k.records)).collect::<Vec<_>>(), vec![("b", 2), ("a", 1)]);
        assert_eq!(st.kinds[0].thinking.lengths, vec![3, 5]);
        assert_eq!(st.kinds[0].thinking.summary.mean, 4.0);
        assert_eq!(st.kinds[0].question.summary.max, 2);
    }
}
