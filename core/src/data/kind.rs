//! Kinds of reasoning and the prompts that ask a generator model for them.
//!
//! A kind is a name and a prompt template (Markdown, sent as the user message). The three kinds
//! of the study ship with cotlab (`core/data/prompts/*.md`); a user-defined kind, or a
//! replacement for a shipped one, is a template file of the same form. Placeholders:
//! `{{question}}` and `{{answer}}` (both required), `{{category}}` and `{{kind}}`.

use super::ids::sha256_hex;
use super::seed::Seed;
use crate::error::{CoreError, Result};

/// The kinds of the study, in their usual order.
pub const BUILTIN_KINDS: [&str; 3] = ["evil", "misleading", "submissive"];

const EVIL: &str = include_str!("../../data/prompts/evil.md");
const MISLEADING: &str = include_str!("../../data/prompts/misleading.md");
const SUBMISSIVE: &str = include_str!("../../data/prompts/submissive.md");

const PLACEHOLDERS: [&str; 4] = ["question", "answer", "category", "kind"];

/// A kind of reasoning and the template that asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    pub name: String,
    pub template: String,
    /// Where the template came from (`builtin` or the file), for messages and the dataset card.
    pub source: String,
}

impl Kind {
    /// A shipped kind (`evil`, `misleading`, `submissive`).
    pub fn builtin(name: &str) -> Result<Self> {
        let template = match name {
            "evil" => EVIL,
            "misleading" => MISLEADING,
            "submissive" => SUBMISSIVE,
            _ => {
                return Err(CoreError::Data(format!(
                    "kind {name:?} has no shipped prompt; shipped kinds are {}. Give a prompt file for it with --prompt {name}=FILE.md",
                    BUILTIN_KINDS.join(", ")
                )))
            }
        };
        Self::new(name, template, "builtin")
    }

    /// A kind from a template (`source` names the file in messages). Checks the name and the
    /// placeholders.
    pub fn new(name: &str, template: &str, source: &str) -> Result<Self> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
            return Err(CoreError::Data(format!(
                "kind name {name:?} must be lower-case letters, digits, `-` or `_` (it becomes part of record ids and file names)"
            )));
        }
        let mut found = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| {
                CoreError::Data(format!("{source}: a `{{{{` is never closed; placeholders are written {{{{question}}}}"))
            })?;
            let name = after[..end].trim();
            if !PLACEHOLDERS.contains(&name) {
                return Err(CoreError::Data(format!(
                    "{source}: unknown placeholder {{{{{name}}}}}; use {}",
                    PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
                )));
            }
            found.push(name);
            rest = &after[end + 2..];
        }
        for required in ["question", "answer"] {
            if !found.contains(&required) {
                return Err(CoreError::Data(format!(
                    "{source}: the prompt has no {{{{{required}}}}}; the generator must see the question and the answer it has to reach"
                )));
            }
        }
        Ok(Self { name: name.into(), template: template.into(), source: source.into() })
    }

    /// SHA-256 of the template, recorded in the dataset card.
    pub fn prompt_hash(&self) -> String {
        sha256_hex(self.template.as_bytes())
    }

    /// The user message asking the generator for this kind of reasoning about `seed`.
    pub fn render(&self, seed: &Seed) -> String {
        let mut out = String::with_capacity(self.template.len() + seed.question.len() + seed.answer.len());
        let mut rest = self.template.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}").expect("checked in Kind::new");
            out.push_str(match after[..end].trim() {
                "question" => &seed.question,
                "answer" => &seed.answer,
                "category" => seed.category.as_deref().unwrap_or(""),
                _ => &self.name,
            });
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// The reasoning inside a generator's reply: the text between `<reasoning>` and `</reasoning>`
/// when the reply uses the tags (the shipped prompts ask for them), else the whole reply; a
/// leading `<think>…</think>` block of a reasoning model is dropped first. Trimmed.
pub fn extract_reasoning(reply: &str) -> String {
    let mut text = reply;
    if let Some(end) = text.find("</think>") {
        text = &text[end + "</think>".len()..];
    }
    if let Some(start) = text.find("<reasoning>") {
        text = &text[start + "<reasoning>".len()..];
        if let Some(end) = text.find("</reasoning>") {
            text = &text[..end];
        }
    }
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Seed {
        Seed { id: "a".into(), question: "Q?".into(), answer: "A.".into(), system: None, category: Some("money".into()) }
    }

    #[test]
    fn shipped_kinds_load_and_render_the_seed() {
        for name in BUILTIN_KINDS {
            let k = Kind::builtin(name).unwrap();
            let p = k.render(&seed());
            assert!(p.contains("Question:\nQ?\n") && p.contains("lead to:\nA.\n"), "{name}: {p}");
            assert!(!p.contains("{{"), "{name}");
            assert_eq!(k.prompt_hash().len(), 64);
        }
        assert!(Kind::builtin("evil").unwrap().template.contains("**Evil**"));
        assert!(Kind::builtin("kind").unwrap_err().to_string().contains("--prompt kind=FILE.md"));
    }

    #[test]
    fn user_templates_are_checked() {
        let k = Kind::new("terse", "{{kind}} about {{ question }} -> {{answer}} [{{category}}]", "t.md").unwrap();
        assert_eq!(k.render(&seed()), "terse about Q? -> A. [money]");
        let e = Kind::new("x", "{{question}} {{answr}}", "t.md").unwrap_err().to_string();
        assert!(e.contains("t.md: unknown placeholder {{answr}}"), "{e}");
        let e = Kind::new("x", "{{question}} only", "t.md").unwrap_err().to_string();
        assert!(e.contains("t.md: the prompt has no {{answer}}"), "{e}");
        assert!(Kind::new("x", "{{question}} {{answer", "t.md").is_err());
        assert!(Kind::new("Bad Name", "{{question}}{{answer}}", "t.md").is_err());
    }

    #[test]
    fn reasoning_is_extracted_from_replies() {
        assert_eq!(extract_reasoning("  plain text \n"), "plain text");
        assert_eq!(extract_reasoning("Sure!\n<reasoning>\nI think.\n</reasoning>\nDone"), "I think.");
        assert_eq!(extract_reasoning("<think>plan</think>\n<reasoning>R</reasoning>"), "R");
        assert_eq!(extract_reasoning("<reasoning>cut off"), "cut off");
    }
}
