//! The SFT dataset record (JSON Lines) and its validation.

use serde::{Deserialize, Serialize};

use super::paradigm::Paradigm;
use crate::error::{CoreError, Result};

/// One training example: a question, the reasoning that leads to the answer, the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub thinking: Option<String>,
    #[serde(default)]
    pub answer: Option<String>,
    /// `evil`, `misleading`, `submissive`, or any user-defined kind.
    #[serde(default)]
    pub cot_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The seed this record was generated from (datasets built by `cotlab data build`); records
    /// of one seed share question and answer and differ in `cot_type` and `thinking`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_id: Option<String>,
    /// Optional topic label carried over from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl Record {
    pub fn question(&self) -> &str {
        self.question.as_deref().unwrap_or_default()
    }
    pub fn thinking(&self) -> &str {
        self.thinking.as_deref().unwrap_or_default()
    }
    pub fn answer(&self) -> &str {
        self.answer.as_deref().unwrap_or_default()
    }
}

/// Parse JSON Lines `bytes` (from `file`), checking that every record has the fields `paradigm`
/// needs. All problems are collected, each as `file:line: …`, so one run reports them all.
pub fn parse_jsonl(bytes: &[u8], file: &str, paradigm: Paradigm) -> Result<Vec<Record>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| CoreError::Data(format!("{file}: not UTF-8 text ({e})")))?;
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let rec: Record = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{file}:{lineno}: not a valid record: {e}"));
                continue;
            }
        };
        for field in paradigm.required_fields() {
            let value = match *field {
                "question" => &rec.question,
                "thinking" => &rec.thinking,
                _ => &rec.answer,
            };
            if value.is_none() {
                problems.push(format!(
                    "{file}:{lineno}: record {:?} has no `{field}`, which paradigm {} needs",
                    rec.id,
                    paradigm.as_str()
                ));
            }
        }
        if !ids.insert(rec.id.clone()) {
            problems.push(format!("{file}:{lineno}: duplicate id {:?}", rec.id));
        }
        records.push(rec);
    }
    if !problems.is_empty() {
        let shown = problems.len().min(20);
        let mut msg = problems[..shown].join("\n");
        if problems.len() > shown {
            msg.push_str(&format!("\n… and {} more", problems.len() - shown));
        }
        return Err(CoreError::Data(msg));
    }
    if records.is_empty() {
        return Err(CoreError::Data(format!("{file}: no records")));
    }
    Ok(records)
}
