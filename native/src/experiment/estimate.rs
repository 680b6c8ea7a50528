//! `cotlab run --dry-run`: the cells and how much work they are, before anything runs.

use std::path::{Path, PathBuf};

use anyhow::Result;
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::sft::{parse_jsonl, tokenize_example, Paradigm, ParadigmSpec, QaEmptyThink};

use super::cells::Cell;
use super::spec::{resolve_hf_id, Experiment};

/// The EM suite's eight free-form questions.
const EM_QUESTIONS: usize = 8;
/// `cotlab eval`'s defaults, for suites that do not set them.
const DEFAULT_SAMPLES: usize = 100;
const DEFAULT_MAX_NEW_TOKENS: usize = 1024;

pub struct Estimate {
    /// Tokens processed by training, per cell (context tokens × epochs); `None` without a tokenizer.
    pub train_tokens: Vec<Option<usize>>,
    /// Upper bound on generated tokens per cell (every sample reaching its token limit).
    pub generate_tokens: usize,
}

fn tokenizer_for(e: &Experiment, model: &str) -> Option<QwenTokenizer> {
    let m = e.models.iter().find(|m| m.name == model)?;
    let file: PathBuf = if let Some(r) = &m.random {
        Path::new(&r.tokenizer).join("tokenizer.json")
    } else if let Some(p) = &m.path {
        Path::new(p).join("tokenizer.json")
    } else {
        resolve_hf_id(m.id.as_ref()?).ok()?.join("tokenizer.json")
    };
    QwenTokenizer::from_bytes(&std::fs::read(&file).ok()?, &file.display().to_string()).ok()
}

pub fn estimate(e: &Experiment, cells: &[Cell], dataset: Option<&[u8]>) -> Result<Estimate> {
    let mut train_tokens = Vec::new();
    for cell in cells {
        let Some((paradigm, kind)) = cell.condition.training() else {
            train_tokens.push(Some(0));
            continue;
        };
        let count = (|| {
            let tok = tokenizer_for(e, &cell.model)?;
            let paradigm: Paradigm = paradigm.parse().ok()?;
            let records = parse_jsonl(dataset?, "dataset", paradigm).ok()?;
            let spec = ParadigmSpec { paradigm, qa_empty_think: QaEmptyThink::InPrompt };
            let per_epoch: usize = records
                .iter()
                .filter(|r| r.cot_type.as_deref() == Some(kind))
                .filter_map(|r| tokenize_example(r, spec, &tok).ok())
                .map(|x| x.input_ids.len().min(e.train.max_len))
                .sum();
            Some(per_epoch * e.train.epochs)
        })();
        train_tokens.push(count);
    }
    let mut generate_tokens = 0;
    for s in &e.suites {
        let items = if s.name == "em" {
            EM_QUESTIONS
        } else {
            s.data.as_ref().and_then(|d| std::fs::read_to_string(d).ok()).map(|t| t.lines().filter(|l| !l.trim().is_empty()).count()).unwrap_or(0)
        };
        generate_tokens += items * s.samples.unwrap_or(DEFAULT_SAMPLES) * s.max_new_tokens.unwrap_or(DEFAULT_MAX_NEW_TOKENS) * e.grid.modes.len();
    }
    Ok(Estimate { train_tokens, generate_tokens })
}
