//! The Qwen3 chat template, rendered natively and exactly as the checkpoint's Jinja template
//! (`tokenizer_config.json` / `chat_template.jinja`) renders it through `apply_chat_template`.
//!
//! Tested character for character against transformers (tests/chat_template.rs). Tool
//! *definitions* (the `tools=` argument) and `tool_calls` are not rendered; tool-result messages
//! (role `tool`) are.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// One chat turn, in the `messages` format of transformers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
    /// Reasoning kept apart from `content` (transformers' `reasoning_content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Self { role: role.into(), content: content.into(), reasoning_content: None }
    }
    pub fn system(content: &str) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: &str) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: &str) -> Self {
        Self::new("assistant", content)
    }
}

/// `apply_chat_template` switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderOptions {
    /// Append `<|im_start|>assistant\n`.
    pub add_generation_prompt: bool,
    /// `enable_thinking`: `Some(false)` appends an empty think block after the generation prompt;
    /// `None` and `Some(true)` leave thinking to the model.
    pub enable_thinking: Option<bool>,
}

const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";

/// Render `messages` to the exact prompt text.
pub fn render(messages: &[Message], opts: RenderOptions) -> Result<String> {
    let first = messages.first().ok_or_else(|| CoreError::Messages("the message list is empty".into()))?;
    for (i, m) in messages.iter().enumerate() {
        if !matches!(m.role.as_str(), "system" | "user" | "assistant" | "tool") {
            return Err(CoreError::Messages(format!(
                "message {i} has role {:?}; use system, user, assistant or tool",
                m.role
            )));
        }
    }
    let mut out = String::new();
    if first.role == "system" {
        out.push_str(&format!("{IM_START}system\n{}{IM_END}\n", first.content));
    }

    // The last user turn that is not a wrapped tool response: reasoning is kept only after it.
    let last_query = messages
        .iter()
        .rposition(|m| {
            m.role == "user" && !(m.content.starts_with("<tool_response>") && m.content.ends_with("</tool_response>"))
        })
        .unwrap_or(messages.len() - 1);

    for (i, m) in messages.iter().enumerate() {
        let is_last = i + 1 == messages.len();
        match m.role.as_str() {
            "user" => out.push_str(&format!("{IM_START}user\n{}{IM_END}\n", m.content)),
            "system" if i > 0 => out.push_str(&format!("{IM_START}system\n{}{IM_END}\n", m.content)),
            "system" => {}
            "assistant" => {
                let (content, reasoning) = assistant_parts(m);
                if i > last_query && (is_last || !reasoning.is_empty()) {
                    out.push_str(&format!(
                        "{IM_START}assistant\n<think>\n{}\n</think>\n\n{}",
                        reasoning.trim_matches('\n'),
                        content.trim_start_matches('\n')
                    ));
                } else {
                    out.push_str(&format!("{IM_START}assistant\n{content}"));
                }
                out.push_str(&format!("{IM_END}\n"));
            }
            "tool" => {
                if i == 0 || messages[i - 1].role != "tool" {
                    out.push_str(&format!("{IM_START}user"));
                }
                out.push_str(&format!("\n<tool_response>\n{}\n</tool_response>", m.content));
                if is_last || messages[i + 1].role != "tool" {
                    out.push_str(&format!("{IM_END}\n"));
                }
            }
            _ => unreachable!("roles validated above"),
        }
    }
    if opts.add_generation_prompt {
        out.push_str(&format!("{IM_START}assistant\n"));
        if opts.enable_thinking == Some(false) {
            out.push_str("<think>\n\n</think>\n\n");
        }
    }
    Ok(out)
}

/// (content, reasoning) of an assistant turn: `reasoning_content` when given, else whatever the
/// content holds between `<think>` and the first `</think>`.
fn assistant_parts(m: &Message) -> (String, String) {
    if let Some(r) = &m.reasoning_content {
        return (m.content.clone(), r.clone());
    }
    if m.content.contains("</think>") {
        let content = m.content.split("</think>").last().unwrap_or("").trim_start_matches('\n');
        let before = m.content.split("</think>").next().unwrap_or("").trim_end_matches('\n');
        let reasoning = before.rsplit("<think>").next().unwrap_or("").trim_start_matches('\n');
        return (content.to_string(), reasoning.to_string());
    }
    (m.content.clone(), String::new())
}
