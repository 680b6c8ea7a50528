//! Wire types of OpenAI's `/v1/chat/completions` and `/v1/models` (the subset cotlab uses, plus
//! the widely implemented extensions `top_k`, `min_p`, `chat_template_kwargs` and
//! `reasoning_content` that vLLM, SGLang and llama.cpp accept). Unknown fields are ignored when
//! parsing, and `None` fields are left out when writing, so other servers' replies parse and
//! other servers accept cotlab's requests.

use serde::{Deserialize, Deserializer, Serialize};

/// One chat message. `content` accepts a string, `null` (assistant turns with tool calls) or the
/// list-of-parts form (`[{"type": "text", "text": …}]`), which is joined.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default, deserialize_with = "content_text")]
    pub content: String,
    /// The model's thinking, as vLLM/SGLang return it for reasoning models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

impl ChatMessage {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self { role: role.into(), content: content.into(), reasoning_content: None }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
}

fn content_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    struct Part {
        #[serde(default)]
        text: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Content {
        Text(String),
        Parts(Vec<Part>),
    }
    Ok(match Option::<Content>::deserialize(d)? {
        None => String::new(),
        Some(Content::Text(s)) => s,
        Some(Content::Parts(parts)) => parts.into_iter().filter_map(|p| p.text).collect(),
    })
}

/// `chat_template_kwargs`: Qwen3's switch between think and no-think mode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatTemplateKwargs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_thinking: Option<bool>,
}

/// `stop`: one string or several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    pub fn strings(&self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s.clone()],
            Stop::Many(v) => v.clone(),
        }
    }
}

/// A `POST /v1/chat/completions` body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Extension (vLLM, SGLang, llama.cpp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Extension (vLLM, SGLang, llama.cpp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The newer name of `max_tokens`; servers take whichever is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Extension (vLLM, SGLang): template switches such as `enable_thinking`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<ChatTemplateKwargs>,
}

impl ChatRequest {
    pub fn new(model: impl Into<String>, messages: Vec<ChatMessage>) -> Self {
        Self { model: model.into(), messages, ..Default::default() }
    }
    /// The completion budget, whichever of the two names the client used.
    pub fn max_new_tokens(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
    /// Qwen3's thinking switch; `None` when the client left it to the server's default.
    pub fn enable_thinking(&self) -> Option<bool> {
        self.chat_template_kwargs.as_ref().and_then(|k| k.enable_thinking)
    }
}

/// One alternative of a top-log-probability list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopLogprob {
    pub token: String,
    pub logprob: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
}

/// The log-probability of one generated token and, on request, its top alternatives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
    #[serde(default)]
    pub top_logprobs: Vec<TopLogprob>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChoiceLogprobs {
    #[serde(default)]
    pub content: Option<Vec<TokenLogprob>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    pub message: ChatMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub logprobs: Option<ChoiceLogprobs>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// A non-streaming `/v1/chat/completions` reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    #[serde(default)]
    pub id: String,
    #[serde(default = "chat_completion_object")]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

fn chat_completion_object() -> String {
    "chat.completion".into()
}

/// The incremental part of a streamed choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<ChoiceLogprobs>,
}

/// One server-sent event of a streamed reply (`data: {…}`; the stream ends with `data: [DONE]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    pub id: String,
    #[serde(default = "chunk_object")]
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChunkChoice>,
}

fn chunk_object() -> String {
    "chat.completion.chunk".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub id: String,
    #[serde(default = "model_object")]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub owned_by: String,
}

fn model_object() -> String {
    "model".into()
}

/// `GET /v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    #[serde(default)]
    pub object: String,
    pub data: Vec<ModelCard>,
}

/// The error body OpenAI-compatible servers return: `{"error": {"message", "type", "code"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

impl ErrorBody {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { message: message.into(), kind: kind.into(), code: None } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_other_servers_replies() {
        // As vLLM returns it for a reasoning model, with fields cotlab does not use.
        let body = r#"{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m",
          "choices":[{"index":0,"message":{"role":"assistant","content":null,
          "reasoning_content":"hmm","tool_calls":[]},"finish_reason":"stop","stop_reason":null,
          "logprobs":{"content":[{"token":"4","logprob":-0.5,"bytes":[52],
          "top_logprobs":[{"token":"4","logprob":-0.5,"bytes":[52]}]}]}}],
          "usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"prompt_logprobs":null}"#;
        let r: ChatResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.choices[0].message.content, "");
        assert_eq!(r.choices[0].message.reasoning_content.as_deref(), Some("hmm"));
        let lp = &r.choices[0].logprobs.as_ref().unwrap().content.as_ref().unwrap()[0];
        assert_eq!(lp.top_logprobs[0].token, "4");
        assert_eq!(r.usage.unwrap().total_tokens, 4);
    }

    #[test]
    fn content_parts_are_joined_and_requests_omit_unset_fields() {
        let m: ChatMessage =
            serde_json::from_str(r#"{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}"#)
                .unwrap();
        assert_eq!(m.content, "ab");
        let mut req = ChatRequest::new("m", vec![ChatMessage::user("hi")]);
        req.chat_template_kwargs = Some(ChatTemplateKwargs { enable_thinking: Some(false) });
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"chat_template_kwargs":{"enable_thinking":false}}"#
        );
        assert_eq!(req.enable_thinking(), Some(false));
    }
}
