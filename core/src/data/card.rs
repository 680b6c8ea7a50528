//! `dataset_card.md`: what a dataset is, how it was made, and its hash.

use std::fmt::Write;

use super::check::CheckReport;
use super::stats::{DatasetStats, LengthSummary};

/// A prompt template as the card lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptInfo {
    pub kind: String,
    pub source: String,
    pub sha256: String,
}

/// Everything the card shows.
#[derive(Debug, Clone)]
pub struct CardInfo<'a> {
    /// The dataset file's name as shown.
    pub dataset: String,
    pub dataset_sha256: String,
    /// `openai:MODEL @ URL`, `local:DIR`, or `None` when unknown (not built by cotlab).
    pub generator: Option<String>,
    /// Generation settings as `key = value` lines (temperature, max tokens, seed…).
    pub settings: Vec<(String, String)>,
    pub prompts: Vec<PromptInfo>,
    pub stats: &'a DatasetStats,
    pub check: Option<&'a CheckReport>,
    /// The histogram image beside the card.
    pub plot: Option<String>,
    pub cotlab_version: String,
}

fn row(out: &mut String, kind: &str, field: &str, s: &LengthSummary) {
    let _ = writeln!(out, "| {kind} | {field} | {} | {} | {:.1} | {:.1} | {} | {} |", s.n, s.min, s.mean, s.median, s.p90, s.max);
}

/// The card as Markdown.
pub fn render_card(c: &CardInfo<'_>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Dataset card: {}\n", c.dataset);
    let _ = writeln!(
        o,
        "A controlled reasoning dataset: every seed (question + fixed answer) appears once per kind of reasoning, \
         with the answer byte-identical across kinds, so that training on it varies the reasoning while holding \
         the answers fixed.\n"
    );
    let _ = writeln!(o, "- dataset SHA-256: `{}`", c.dataset_sha256);
    let _ = writeln!(o, "- records: {}, seeds: {}, kinds: {}", c.stats.records, c.stats.seeds, c.stats.kinds.len());
    let _ = writeln!(o, "- generator: {}", c.generator.as_deref().unwrap_or("unknown (not built by `cotlab data build`)"));
    for (k, v) in &c.settings {
        let _ = writeln!(o, "- {k}: {v}");
    }
    let _ = writeln!(o, "- written by cotlab {}", c.cotlab_version);
    if !c.prompts.is_empty() {
        let _ = writeln!(o, "\n## Prompts\n\n| kind | template | SHA-256 |\n| --- | --- | --- |");
        for p in &c.prompts {
            let _ = writeln!(o, "| {} | {} | `{}` |", p.kind, p.source, p.sha256);
        }
    }
    let _ = writeln!(o, "\n## Records per kind\n\n| kind | records |\n| --- | --- |");
    for k in &c.stats.kinds {
        let _ = writeln!(o, "| {} | {} |", k.kind, k.records);
    }
    let _ = writeln!(o, "\n## Lengths in tokens (Qwen3 tokenizer)\n\n| kind | field | n | min | mean | median | p90 | max |\n| --- | --- | --- | --- | --- | --- | --- | --- |");
    for k in &c.stats.kinds {
        row(&mut o, &k.kind, "question", &k.question.summary);
        row(&mut o, &k.kind, "thinking", &k.thinking.summary);
        row(&mut o, &k.kind, "answer", &k.answer.summary);
    }
    if let Some(p) = &c.plot {
        let _ = writeln!(o, "\n![token lengths per kind]({p})");
    }
    if let Some(check) = c.check {
        let _ = writeln!(o, "\n## Check\n");
        if check.ok() {
            let _ = writeln!(o, "`cotlab data check` passed: every seed has every kind ({}), answers identical across kinds.", check.kinds.join(", "));
        } else {
            let _ = writeln!(o, "`cotlab data check` found {} problems:\n", check.failures.len());
            for (rule, n) in check.counts() {
                let _ = writeln!(o, "- {rule}: {n}");
            }
        }
    }
    o
}
