//! The judges behind `--judge`: `openai:MODEL` (any OpenAI-compatible server, through the shared
//! client with its retries, backoff, timeouts and concurrency limit) and `local:DIR` (a checkpoint
//! loaded by cotlab, scored exactly over the integers 0–100). A judge failure is returned as a
//! reason, which the run records as an unscored sample, never as a score.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::eval::exact::{continuation_logprobs, judge_prefix_text, read_exact, score_candidates, tokenize_candidates, DEFAULT_CHUNK_ROWS};
use cotlab_core::eval::judge::{expected_from_top_logprobs, parse_reply, JudgeQuestion, Verdict};
use cotlab_core::model::LoadedModel;
use serde_json::{json, Value};

use crate::openai::{ChatMessage, ChatRequest, ChatTemplateKwargs, ClientConfig, OpenAiClient};

/// A judge's reading of one question and what it was read from.
#[derive(Debug, Clone)]
pub struct JudgeAnswer {
    pub verdict: Verdict,
    pub raw: Value,
}

/// `--judge` as given.
#[derive(Debug, Clone, PartialEq)]
pub enum JudgeSpec {
    OpenAi(String),
    Local(PathBuf),
}

impl std::str::FromStr for JudgeSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some(("openai", m)) if !m.is_empty() => Ok(JudgeSpec::OpenAi(m.to_string())),
            Some(("local", d)) if !d.is_empty() => Ok(JudgeSpec::Local(PathBuf::from(d))),
            _ => Err(format!("unknown judge {s:?}: use openai:MODEL (with --judge-base-url) or local:CHECKPOINT_DIR")),
        }
    }
}

impl std::fmt::Display for JudgeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JudgeSpec::OpenAi(m) => write!(f, "openai:{m}"),
            JudgeSpec::Local(d) => write!(f, "local:{}", d.display()),
        }
    }
}

/// Settings of the HTTP judge.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: String,
    pub api_key_env: Option<String>,
    pub timeout: Duration,
    pub retries: u32,
    pub concurrency: usize,
    pub min_mass: f64,
    /// Send `chat_template_kwargs.enable_thinking = false` (Qwen3 servers: vLLM, SGLang, `cotlab serve`).
    pub disable_thinking: bool,
}

pub enum Judge {
    Http { spec: String, model: String, client: OpenAiClient, runtime: tokio::runtime::Runtime, settings: HttpSettings },
    Local { spec: String, model: LoadedModel, tok: QwenTokenizer },
}

impl Judge {
    pub fn http(model: &str, settings: HttpSettings) -> Result<Self> {
        let mut config = ClientConfig::new(settings.base_url.clone());
        config.api_key_env = settings.api_key_env.clone();
        config.timeout = settings.timeout;
        config.max_retries = settings.retries;
        config.concurrency = settings.concurrency;
        let client = OpenAiClient::new(config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        Ok(Judge::Http { spec: format!("openai:{model}"), model: model.to_string(), client, runtime, settings })
    }

    pub fn local(spec: String, model: LoadedModel, tok: QwenTokenizer) -> Self {
        Judge::Local { spec, model, tok }
    }

    pub fn spec(&self) -> &str {
        match self {
            Judge::Http { spec, .. } | Judge::Local { spec, .. } => spec,
        }
    }

    /// Ask every question; HTTP questions run concurrently up to the client's limit.
    pub fn ask_all(&self, questions: &[JudgeQuestion]) -> Vec<Result<JudgeAnswer, String>> {
        match self {
            Judge::Http { client, runtime, model, settings, .. } => runtime.block_on(futures::future::join_all(
                questions.iter().map(|q| ask_http(client, model, settings, q)),
            )),
            Judge::Local { model, tok, .. } => questions.iter().map(|q| ask_local(model, tok, q)).collect(),
        }
    }
}

async fn ask_http(client: &OpenAiClient, model: &str, s: &HttpSettings, q: &JudgeQuestion) -> Result<JudgeAnswer, String> {
    let mut req = ChatRequest::new(model, vec![ChatMessage::user(q.prompt.clone())]);
    req.temperature = Some(0.0);
    req.max_tokens = Some(16);
    req.logprobs = Some(true);
    req.top_logprobs = Some(20);
    req.seed = Some(0);
    if s.disable_thinking {
        req.chat_template_kwargs = Some(ChatTemplateKwargs { enable_thinking: Some(false) });
    }
    let reply = client.chat(&req).await.map_err(|e| format!("judge failed: {e}"))?;
    let Some(choice) = reply.choices.first() else {
        return Err("judge reply unreadable: the server returned no choices".into());
    };
    let text = choice.message.content.clone();
    let specials: Vec<&str> = q.specials.iter().map(String::as_str).collect();
    let first = choice.logprobs.as_ref().and_then(|l| l.content.as_ref()).and_then(|c| c.first());
    let top: Vec<(String, f64)> = first.map_or(Vec::new(), |t| t.top_logprobs.iter().map(|a| (a.token.clone(), a.logprob)).collect());
    let mut raw = json!({"content": text, "top_logprobs": top.iter().map(|(t, l)| json!({"token": t, "logprob": l})).collect::<Vec<_>>()});
    let parsed = parse_reply(&text, &specials);
    // A label is read from the text; a number from the first token's top log-probabilities when
    // the server sent them and that token is the whole number (tokenizers that write numbers
    // digit by digit, as Qwen's, would make the first token a single digit: use the text then).
    let leading_number: String = text.trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
    let first_is_whole_number = first.is_some_and(|t| t.token.trim() == leading_number || leading_number.is_empty());
    let verdict = match parsed {
        Some(Verdict::Label(l)) => {
            raw["method"] = json!("label");
            Verdict::Label(l)
        }
        _ if !top.is_empty() && first_is_whole_number => match expected_from_top_logprobs(&top, s.min_mass) {
            Ok((score, mass)) => {
                raw["method"] = json!("logprobs");
                raw["number_mass"] = json!(mass);
                Verdict::Score(score)
            }
            Err(mass) => {
                return Err(format!(
                    "judge reply not a score: only {mass:.3} of the first token's probability is on numbers 0-100 (minimum {}); reply {text:?}",
                    s.min_mass
                ))
            }
        },
        Some(v) => {
            raw["method"] = json!("parsed");
            v
        }
        None => return Err(format!("judge reply not a score: {text:?}")),
    };
    Ok(JudgeAnswer { verdict, raw })
}

fn ask_local(model: &LoadedModel, tok: &QwenTokenizer, q: &JudgeQuestion) -> Result<JudgeAnswer, String> {
    let run = || -> cotlab_core::Result<JudgeAnswer> {
        let prefix_text = judge_prefix_text(&q.prompt)?;
        let candidates = score_candidates(&q.specials);
        let (prefix, conts) = tokenize_candidates(tok, &prefix_text, &candidates, "<|im_end|>")?;
        let lps = pollster::block_on(continuation_logprobs(model, &prefix, &conts, DEFAULT_CHUNK_ROWS))?;
        let r = read_exact(&q.specials, &lps);
        let raw = json!({"method": "exact", "expected": r.expected, "number_mass": r.number_mass, "labels": r.labels, "probs": r.probs});
        Ok(JudgeAnswer { verdict: r.verdict, raw })
    };
    run().map_err(|e| format!("judge failed: {e}"))
}

/// Check a judge spec against the other judge flags before anything runs.
pub fn check_flags(spec: &JudgeSpec, base_url: &Option<String>) -> Result<()> {
    if let (JudgeSpec::OpenAi(_), None) = (spec, base_url) {
        bail!("--judge openai:MODEL needs --judge-base-url (e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1)");
    }
    Ok(())
}
