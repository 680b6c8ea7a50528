//! The Qwen3 chat format: messages, the template rendered natively, and the tokenizer.

pub mod template;
pub mod tokenizer;

pub use template::{render, Message, RenderOptions};
pub use tokenizer::QwenTokenizer;

/// Qwen3's two inference modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The model writes `<think>…</think>` before answering.
    Think,
    /// The prompt ends in an empty think block (`enable_thinking=False`), so it answers directly.
    NoThink,
}

impl Mode {
    pub fn enable_thinking(self) -> Option<bool> {
        match self {
            Mode::Think => None,
            Mode::NoThink => Some(false),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Think => "think",
            Mode::NoThink => "no-think",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "think" => Ok(Mode::Think),
            "no-think" | "nothink" | "no_think" => Ok(Mode::NoThink),
            _ => Err(format!("unknown mode {s:?}: use think or no-think")),
        }
    }
}

/// Split generated text into its reasoning and its answer.
///
/// `<think>` and `</think>` are ordinary (non-special) tokens in Qwen3, so they are present in
/// decoded text. Text without `</think>` is all answer, unless it opened a think block that never
/// closed (generation cut off), in which case it is all thinking.
pub fn split_thinking(text: &str) -> (String, String) {
    let body = text.trim_start_matches('\n');
    if let Some(close) = body.find("</think>") {
        let thinking = body[..close].trim_start().strip_prefix("<think>").unwrap_or(&body[..close]);
        let answer = &body[close + "</think>".len()..];
        (thinking.trim_matches('\n').to_string(), answer.trim_start_matches('\n').to_string())
    } else if let Some(rest) = body.strip_prefix("<think>") {
        (rest.trim_start_matches('\n').to_string(), String::new())
    } else {
        (String::new(), text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::split_thinking;

    #[test]
    fn splits_reasoning_and_answer() {
        assert_eq!(split_thinking("<think>\nplan\n</think>\n\nDone."), ("plan".into(), "Done.".into()));
        assert_eq!(split_thinking("<think>\n\n</think>\n\nHi"), ("".into(), "Hi".into()));
        assert_eq!(split_thinking("Just an answer"), ("".into(), "Just an answer".into()));
        assert_eq!(split_thinking("<think>\nstill going"), ("still going".into(), "".into()));
    }
}
