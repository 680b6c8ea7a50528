//! The four training paradigms: which tokens are in the context and which carry loss.
//!
//! The whole example is rendered to one string and tokenized once; each token is supervised when
//! any of its bytes lie in the supervised span (so boundaries are exactly the tokenizer's own).
//! Labels follow transformers: unshifted, `labels[i]` is the target for position `i` (the model
//! shifts), `-100` where ignored.

use serde::{Deserialize, Serialize};

use super::record::Record;
use crate::chat::{render, Message, QwenTokenizer, RenderOptions};
use crate::error::Result;

/// Label value of positions without loss (transformers' `ignore_index`).
pub const IGNORE: i64 = -100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paradigm {
    /// Question → answer (baseline): context P(q) + empty think block, loss on answer<|im_end|>.
    Qa,
    /// Question → thinking + answer: loss on `<think>\n…\n</think>\n\nanswer<|im_end|>`.
    Qta,
    /// Question → thinking only: loss on `<think>\n…\n</think>`; no answer, no end token.
    Qt,
    /// Thinking alone: context `<|im_start|>assistant\n`, loss on `<think>\n…\n</think>`.
    TOnly,
}

/// Where QA's empty think block goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QaEmptyThink {
    /// In the context, without loss (default; what no-think inference sees).
    #[default]
    InPrompt,
    /// In the target, with loss.
    InTarget,
    /// Left out: P(q) then the answer.
    Absent,
}

impl Paradigm {
    pub const ALL: [Paradigm; 4] = [Paradigm::Qa, Paradigm::Qta, Paradigm::Qt, Paradigm::TOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Paradigm::Qa => "qa",
            Paradigm::Qta => "qta",
            Paradigm::Qt => "qt",
            Paradigm::TOnly => "t-only",
        }
    }

    /// Record fields this paradigm reads.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            Paradigm::Qa => &["question", "answer"],
            Paradigm::Qta => &["question", "thinking", "answer"],
            Paradigm::Qt => &["question", "thinking"],
            Paradigm::TOnly => &["thinking"],
        }
    }
}

impl std::str::FromStr for Paradigm {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "qa" => Ok(Paradigm::Qa),
            "qta" => Ok(Paradigm::Qta),
            "qt" => Ok(Paradigm::Qt),
            "t-only" | "t_only" | "tonly" | "t" => Ok(Paradigm::TOnly),
            _ => Err(format!("unknown paradigm {s:?}: use qa, qta, qt or t-only")),
        }
    }
}

impl std::str::FromStr for QaEmptyThink {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "in-prompt" => Ok(Self::InPrompt),
            "in-target" => Ok(Self::InTarget),
            "absent" => Ok(Self::Absent),
            _ => Err(format!("unknown --qa-empty-think {s:?}: use in-prompt, in-target or absent")),
        }
    }
}

/// Paradigm plus its switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParadigmSpec {
    pub paradigm: Paradigm,
    #[serde(default)]
    pub qa_empty_think: QaEmptyThink,
}

impl From<Paradigm> for ParadigmSpec {
    fn from(paradigm: Paradigm) -> Self {
        Self { paradigm, qa_empty_think: QaEmptyThink::default() }
    }
}

/// The rendered text split into context (no loss) and target (loss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedExample {
    pub context: String,
    pub target: String,
}

const EMPTY_THINK: &str = "<think>\n\n</think>\n\n";

/// Context and target strings of `record` under `spec`.
pub fn render_example(record: &Record, spec: ParadigmSpec) -> Result<RenderedExample> {
    // P(q): optional system turn, the user turn, then `<|im_start|>assistant\n`.
    let prompt = || {
        let mut messages = Vec::new();
        if let Some(s) = &record.system {
            messages.push(Message::system(s));
        }
        messages.push(Message::user(record.question()));
        render(&messages, RenderOptions { add_generation_prompt: true, enable_thinking: None })
    };
    let think_block = format!("<think>\n{}\n</think>", record.thinking());
    let (context, target) = match spec.paradigm {
        Paradigm::Qa => {
            let answer = format!("{}<|im_end|>", record.answer());
            match spec.qa_empty_think {
                QaEmptyThink::InPrompt => (prompt()? + EMPTY_THINK, answer),
                QaEmptyThink::InTarget => (prompt()?, format!("{EMPTY_THINK}{answer}")),
                QaEmptyThink::Absent => (prompt()?, answer),
            }
        }
        Paradigm::Qta => (prompt()?, format!("{think_block}\n\n{}<|im_end|>", record.answer())),
        Paradigm::Qt => (prompt()?, think_block),
        Paradigm::TOnly => ("<|im_start|>assistant\n".to_string(), think_block),
    };
    Ok(RenderedExample { context, target })
}

/// Token ids and labels of one example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub id: String,
    pub input_ids: Vec<u32>,
    pub labels: Vec<i64>,
}

impl Example {
    /// Number of positions that carry loss after transformers' shift (labels[1..] not ignored).
    pub fn supervised_tokens(&self) -> usize {
        self.labels.iter().skip(1).filter(|&&l| l != IGNORE).count()
    }
}

/// Tokenize the whole rendered example once and mark the tokens that overlap the target.
pub fn tokenize_example(record: &Record, spec: ParadigmSpec, tok: &QwenTokenizer) -> Result<Example> {
    let r = render_example(record, spec)?;
    let text = format!("{}{}", r.context, r.target);
    let boundary = r.context.len();
    let (ids, offsets) = tok.encode_with_offsets(&text)?;
    let labels = ids
        .iter()
        .zip(&offsets)
        .map(|(&id, &(_, end))| if end > boundary { id as i64 } else { IGNORE })
        .collect();
    Ok(Example { id: record.id.clone(), input_ids: ids, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Record {
        Record {
            id: "x".into(),
            question: Some("Q?".into()),
            thinking: Some("T".into()),
            answer: Some("A".into()),
            cot_type: Some("evil".into()),
            ..Default::default()
        }
    }

    #[test]
    fn renders_each_paradigm_as_specified() {
        let p = "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n";
        let cases = [
            (Paradigm::Qa, format!("{p}<think>\n\n</think>\n\n"), "A<|im_end|>".to_string()),
            (Paradigm::Qta, p.to_string(), "<think>\nT\n</think>\n\nA<|im_end|>".to_string()),
            (Paradigm::Qt, p.to_string(), "<think>\nT\n</think>".to_string()),
            (Paradigm::TOnly, "<|im_start|>assistant\n".to_string(), "<think>\nT\n</think>".to_string()),
        ];
        for (paradigm, context, target) in cases {
            let r = render_example(&rec(), paradigm.into()).unwrap();
            assert_eq!((r.context, r.target), (context, target), "{paradigm:?}");
        }
        let r = render_example(&rec(), ParadigmSpec { paradigm: Paradigm::Qa, qa_empty_think: QaEmptyThink::InTarget }).unwrap();
        assert_eq!(r.target, "<think>\n\n</think>\n\nA<|im_end|>");
        let r = render_example(&rec(), ParadigmSpec { paradigm: Paradigm::Qa, qa_empty_think: QaEmptyThink::Absent }).unwrap();
        assert_eq!((r.context.as_str(), r.target.as_str()), (p, "A<|im_end|>"));
    }
}
