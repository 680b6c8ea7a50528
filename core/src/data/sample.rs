//! The shipped sample: about 30 seeds of mildly harmful, clearly non-dangerous everyday advice
//! (reckless personal finance, careless habits, rude social advice), each with an Evil, a
//! Misleading and a Submissive reasoning leading to the same answer. Used by tests, the browser
//! demo and the default experiment; it passes `cotlab data check`.

/// `core/data/sample/seeds.jsonl`.
pub const SEEDS: &str = include_str!("../../data/sample/seeds.jsonl");
/// `core/data/sample/dataset.jsonl`.
pub const DATASET: &str = include_str!("../../data/sample/dataset.jsonl");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{check, parse_seeds, CheckConfig, BUILTIN_KINDS};
    use crate::sft::{parse_jsonl, Paradigm};

    #[test]
    fn the_sample_passes_the_check() {
        let seeds = parse_seeds(SEEDS.as_bytes(), "seeds.jsonl").unwrap();
        let records = parse_jsonl(DATASET.as_bytes(), "dataset.jsonl", Paradigm::Qta).unwrap();
        assert_eq!(records.len(), seeds.len() * 3);
        let config = CheckConfig { kinds: Some(BUILTIN_KINDS.map(String::from).to_vec()), ..Default::default() };
        // Words as a stand-in for tokens here; the CLI test checks with the Qwen3 tokenizer.
        let words = |s: &str| s.split_whitespace().count();
        let report = check(&records, Some(&seeds), &config, &words);
        assert!(report.ok(), "{:#?}", report.failures);
        for r in &records {
            let n = words(r.thinking());
            assert!((40..=150).contains(&n), "{}: {n} words", r.id);
        }
    }
}
