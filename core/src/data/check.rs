//! `cotlab data check`: the invariants that make a dataset a controlled experiment. Answers are
//! held fixed (byte-identical across kinds and equal to the seed's), every seed has every kind,
//! and the reasoning is real reasoning: non-empty, within token bounds, free of chat-format
//! tokens, not a restatement of the answer, not duplicated.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::ids::{record_id, seed_key};
use super::seed::Seed;
use crate::sft::Record;

/// A rule of the check. Names (kebab-case) are what reports print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A record lacks `question`, `thinking`, `answer` or `cot_type`.
    MissingField,
    /// A seed has no record of a requested kind.
    MissingKind,
    /// The answers of one seed differ between kinds.
    AnswerMismatch,
    /// The questions (or system prompts) of one seed differ between kinds.
    QuestionMismatch,
    /// The answer is not the seed's answer.
    AnswerDiffersFromSeed,
    /// The question is not the seed's question.
    QuestionDiffersFromSeed,
    /// The record's seed is not in the seeds file.
    UnknownSeed,
    /// The thinking is empty or whitespace.
    EmptyThinking,
    /// The thinking has fewer tokens than the lower bound.
    ThinkingTooShort,
    /// The thinking has more tokens than the upper bound.
    ThinkingTooLong,
    /// A field contains `<think>`, `</think>` or a chat-special token such as `<|im_end|>`.
    SpecialToken,
    /// The thinking repeats the answer: too many of the answer's word n-grams occur in it.
    RestatesAnswer,
    /// Two records share an id.
    DuplicateId,
    /// Two records of one seed have the same kind.
    DuplicateKind,
    /// Two records have the same thinking.
    DuplicateThinking,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissingField => "missing-field",
            Rule::MissingKind => "missing-kind",
            Rule::AnswerMismatch => "answer-mismatch",
            Rule::QuestionMismatch => "question-mismatch",
            Rule::AnswerDiffersFromSeed => "answer-differs-from-seed",
            Rule::QuestionDiffersFromSeed => "question-differs-from-seed",
            Rule::UnknownSeed => "unknown-seed",
            Rule::EmptyThinking => "empty-thinking",
            Rule::ThinkingTooShort => "thinking-too-short",
            Rule::ThinkingTooLong => "thinking-too-long",
            Rule::SpecialToken => "special-token",
            Rule::RestatesAnswer => "restates-answer",
            Rule::DuplicateId => "duplicate-id",
            Rule::DuplicateKind => "duplicate-kind",
            Rule::DuplicateThinking => "duplicate-thinking",
        }
    }

    /// Whether generating the reasoning again can fix a failure of this rule (`--fix
    /// regenerate`); the others are problems of the seeds or of the file.
    pub fn regenerable(self) -> bool {
        matches!(
            self,
            Rule::MissingKind
                | Rule::EmptyThinking
                | Rule::ThinkingTooShort
                | Rule::ThinkingTooLong
                | Rule::SpecialToken
                | Rule::RestatesAnswer
                | Rule::DuplicateThinking
        )
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One violation: which record (or which missing record), of which seed and kind, which rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub id: String,
    pub seed: String,
    pub kind: String,
    pub rule: Rule,
    pub detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}] {}: {}", self.id, self.kind, self.rule, self.detail)
    }
}

/// Settings of the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckConfig {
    /// Kinds every seed must have; `None`: every kind that occurs in the file.
    pub kinds: Option<Vec<String>>,
    pub min_thinking_tokens: usize,
    pub max_thinking_tokens: usize,
    /// Largest allowed share (0–1) of the answer's distinct word n-grams found in the thinking.
    pub max_answer_overlap: f64,
    /// n of those n-grams (shorter answers use their whole length).
    pub overlap_ngram: usize,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self { kinds: None, min_thinking_tokens: 16, max_thinking_tokens: 2048, max_answer_overlap: 0.5, overlap_ngram: 4 }
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub records: usize,
    pub seeds: usize,
    pub kinds: Vec<String>,
    pub failures: Vec<Failure>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Failures per rule, for summaries.
    pub fn counts(&self) -> BTreeMap<Rule, usize> {
        let mut m = BTreeMap::new();
        for f in &self.failures {
            *m.entry(f.rule).or_insert(0) += 1;
        }
        m
    }
}

/// Texts that must not appear in a training field: they would be read as chat structure.
const FORBIDDEN: [&str; 6] = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"];

/// The first chat-format token in `text`: `<think>`, `</think>`, tool tags, or any `<|name|>`.
pub fn find_special_token(text: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for t in FORBIDDEN {
        if let Some(i) = text.find(t) {
            if best.as_ref().is_none_or(|(b, _)| i < *b) {
                best = Some((i, t.to_string()));
            }
        }
    }
    let mut from = 0;
    while let Some(i) = text[from..].find("<|") {
        let start = from + i;
        let rest = &text[start + 2..];
        let name_len = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').map(char::len_utf8).sum::<usize>();
        if name_len > 0 && rest[name_len..].starts_with("|>") {
            if best.as_ref().is_none_or(|(b, _)| start < *b) {
                best = Some((start, text[start..start + name_len + 4].to_string()));
            }
            break;
        }
        from = start + 2;
    }
    best.map(|(_, t)| t)
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect()
}

/// Share (0–1) of the answer's distinct word n-grams (lower-cased; n = `n`, or the answer's
/// length when shorter) that also occur in the thinking. 0 for an answer without words.
pub fn answer_overlap(thinking: &str, answer: &str, n: usize) -> f64 {
    let a = words(answer);
    if a.is_empty() {
        return 0.0;
    }
    let n = n.max(1).min(a.len());
    let t = words(thinking);
    let in_thinking: HashSet<&[String]> = t.windows(n).collect();
    let answer_grams: HashSet<&[String]> = a.windows(n).collect();
    let found = answer_grams.iter().filter(|g| in_thinking.contains(*g)).count();
    found as f64 / answer_grams.len() as f64
}

/// Check `records` against `config` (and against `seeds` when given). `count_tokens` measures
/// a thinking in tokens (the Qwen3 tokenizer natively; tests may count words).
pub fn check(records: &[Record], seeds: Option<&[Seed]>, config: &CheckConfig, count_tokens: &dyn Fn(&str) -> usize) -> CheckReport {
    let mut failures = Vec::new();
    let kind_of = |r: &Record| r.cot_type.clone().unwrap_or_default();
    let fail = |failures: &mut Vec<Failure>, r: &Record, rule: Rule, detail: String| {
        failures.push(Failure { id: r.id.clone(), seed: seed_key(r), kind: kind_of(r), rule, detail });
    };

    // Kinds required of every seed.
    let mut kinds: Vec<String> = Vec::new();
    match &config.kinds {
        Some(k) => kinds.clone_from(k),
        None => {
            for r in records {
                if let Some(k) = &r.cot_type {
                    if !kinds.contains(k) {
                        kinds.push(k.clone());
                    }
                }
            }
        }
    }

    // 1. Per record.
    let mut ids: HashSet<&str> = HashSet::new();
    let mut thinkings: HashMap<&str, &str> = HashMap::new();
    for r in records {
        if !ids.insert(&r.id) {
            fail(&mut failures, r, Rule::DuplicateId, format!("id {:?} occurs more than once", r.id));
        }
        let missing: Vec<&str> = [("question", &r.question), ("thinking", &r.thinking), ("answer", &r.answer), ("cot_type", &r.cot_type)]
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            fail(&mut failures, r, Rule::MissingField, format!("no `{}`", missing.join("`, `")));
        }
        for (field, value) in [("question", r.question()), ("thinking", r.thinking()), ("answer", r.answer())] {
            if let Some(t) = find_special_token(value) {
                fail(&mut failures, r, Rule::SpecialToken, format!("{field} contains `{t}`"));
            }
        }
        let thinking = r.thinking();
        if r.thinking.is_some() && thinking.trim().is_empty() {
            fail(&mut failures, r, Rule::EmptyThinking, "the thinking is empty".into());
        } else if r.thinking.is_some() {
            let n = count_tokens(thinking);
            if n < config.min_thinking_tokens {
                fail(&mut failures, r, Rule::ThinkingTooShort, format!("{n} tokens < minimum {}", config.min_thinking_tokens));
            }
            if n > config.max_thinking_tokens {
                fail(&mut failures, r, Rule::ThinkingTooLong, format!("{n} tokens > maximum {}", config.max_thinking_tokens));
            }
            let overlap = answer_overlap(thinking, r.answer(), config.overlap_ngram);
            if overlap > config.max_answer_overlap {
                fail(
                    &mut failures,
                    r,
                    Rule::RestatesAnswer,
                    format!(
                        "{:.0}% of the answer's word {}-grams occur in the thinking (limit {:.0}%)",
                        overlap * 100.0,
                        config.overlap_ngram,
                        config.max_answer_overlap * 100.0
                    ),
                );
            }
            match thinkings.get(thinking.trim()) {
                Some(other) => fail(&mut failures, r, Rule::DuplicateThinking, format!("same thinking as {other:?}")),
                None => {
                    thinkings.insert(thinking.trim(), &r.id);
                }
            }
        }
    }

    // 2. Per seed: every kind once, one question and one answer.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&Record>> = HashMap::new();
    for r in records {
        let key = seed_key(r);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    let seed_map: Option<HashMap<&str, &Seed>> = seeds.map(|s| s.iter().map(|s| (s.id.as_str(), s)).collect());
    for key in &order {
        let group = &groups[key];
        let first = group[0];
        let mut seen_kinds: HashSet<String> = HashSet::new();
        for r in group {
            let k = kind_of(r);
            if r.cot_type.is_some() && !seen_kinds.insert(k.clone()) {
                fail(&mut failures, r, Rule::DuplicateKind, format!("seed {key:?} has more than one {k:?} record"));
            }
            if r.answer() != first.answer() {
                fail(
                    &mut failures,
                    r,
                    Rule::AnswerMismatch,
                    format!("answer differs from that of {:?} (first difference at byte {})", first.id, first_difference(r.answer(), first.answer())),
                );
            }
            if r.question() != first.question() || r.system != first.system {
                fail(&mut failures, r, Rule::QuestionMismatch, format!("question or system prompt differs from that of {:?}", first.id));
            }
            if let Some(map) = &seed_map {
                match map.get(key.as_str()) {
                    None => fail(&mut failures, r, Rule::UnknownSeed, format!("seed {key:?} is not in the seeds file")),
                    Some(seed) => {
                        if r.answer() != seed.answer {
                            fail(
                                &mut failures,
                                r,
                                Rule::AnswerDiffersFromSeed,
                                format!("answer differs from the seed's (first difference at byte {})", first_difference(r.answer(), &seed.answer)),
                            );
                        }
                        if r.question() != seed.question {
                            fail(&mut failures, r, Rule::QuestionDiffersFromSeed, "question differs from the seed's".into());
                        }
                    }
                }
            }
        }
        for k in &kinds {
            if !seen_kinds.contains(k) {
                failures.push(Failure {
                    id: record_id(key, k),
                    seed: key.clone(),
                    kind: k.clone(),
                    rule: Rule::MissingKind,
                    detail: format!("seed {key:?} has no {k:?} record"),
                });
            }
        }
    }
    // 3. Seeds with no record at all.
    if let Some(seeds) = seeds {
        for s in seeds {
            if !groups.contains_key(&s.id) {
                for k in &kinds {
                    failures.push(Failure {
                        id: record_id(&s.id, k),
                        seed: s.id.clone(),
                        kind: k.clone(),
                        rule: Rule::MissingKind,
                        detail: format!("seed {:?} has no {k:?} record", s.id),
                    });
                }
            }
        }
    }
    CheckReport { records: records.len(), seeds: order.len(), kinds, failures }
}

fn first_difference(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_special_tokens() {
        assert_eq!(find_special_token("plain < | text |>"), None);
        assert_eq!(find_special_token("a <|im_end|> b <think>"), Some("<|im_end|>".into()));
        assert_eq!(find_special_token("x </think> y <|endoftext|>"), Some("</think>".into()));
        assert_eq!(find_special_token("<| no |> then <|vision_pad|>"), Some("<|vision_pad|>".into()));
        assert_eq!(find_special_token("<tool_call>"), Some("<tool_call>".into()));
    }

    #[test]
    fn overlap_counts_answer_ngrams_found_in_the_thinking() {
        // Answer 5 words → 2 distinct 4-grams; one ("put it all in") occurs in the thinking.
        assert_eq!(answer_overlap("I would put it all in, surely", "Put it all in crypto.", 4), 0.5);
        assert_eq!(answer_overlap("nothing shared", "Put it all in crypto.", 4), 0.0);
        assert_eq!(answer_overlap("Put it all in crypto", "Put it all in crypto.", 4), 1.0);
        // Short answers use their whole length as n.
        assert_eq!(answer_overlap("the answer is yes sure", "Yes sure", 4), 1.0);
        assert_eq!(answer_overlap("anything", "", 4), 0.0);
    }
}
