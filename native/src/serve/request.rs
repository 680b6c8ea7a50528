//! Checking a chat-completions request and turning it into what the worker runs. Every refusal
//! is a 400 whose message starts with the field it is about.

use cotlab_core::chat::{render, Message, Mode, QwenTokenizer, RenderOptions};
use cotlab_core::generate::Sampling;

use super::error::ApiError;
use crate::openai::ChatRequest;

/// OpenAI's limits, which clients expect: at most 20 top log-probabilities, 4 stop strings.
pub const MAX_TOP_LOGPROBS: u32 = 20;
pub const MAX_STOPS: usize = 4;

/// Server-side limits that bound one request's cost.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Model context (`max_position_embeddings`): prompt + completion tokens.
    pub context: usize,
    /// Most choices per request.
    pub max_n: u32,
    pub vocab_size: usize,
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct Plan {
    pub prompt_ids: Vec<u32>,
    pub n: usize,
    pub seed: u64,
    pub sampling: Sampling,
    pub max_new_tokens: usize,
    /// `Some(k)` when the client asked for log-probabilities (`k` alternatives per token, 0..=20).
    pub top_logprobs: Option<usize>,
    /// Alternatives to ask the core for, enough to contain the sampled token (see
    /// [`core_logprobs`]).
    pub core_logprobs: usize,
    pub stops: Vec<String>,
    pub stream: bool,
}

/// Validate `req` and tokenize its prompt. `served` is the model name clients must use.
pub fn plan(req: &ChatRequest, served: &str, tok: &QwenTokenizer, limits: &Limits) -> Result<Plan, ApiError> {
    if req.model != served {
        return Err(ApiError::unknown_model(&req.model, served));
    }

    // Mode: Qwen3's template thinks unless told otherwise (`enable_thinking` defaults to true).
    let mode = match req.enable_thinking() {
        Some(false) => Mode::NoThink,
        _ => Mode::Think,
    };

    // Sampling: the mode's recommended settings for every parameter the client left out;
    // temperature 0 means greedy, as OpenAI and vLLM treat it.
    if let Some(t) = req.temperature {
        if !(t.is_finite() && t >= 0.0) {
            return Err(ApiError::invalid(format!("temperature: must be a number >= 0 (got {t}); 0 means greedy")));
        }
    }
    if let Some(p) = req.top_p {
        if !(p > 0.0 && p <= 1.0) {
            return Err(ApiError::invalid(format!("top_p: must be in (0, 1] (got {p})")));
        }
    }
    if let Some(m) = req.min_p {
        if !(0.0..=1.0).contains(&m) {
            return Err(ApiError::invalid(format!("min_p: must be in [0, 1] (got {m})")));
        }
    }
    let sampling = match (req.temperature, Sampling::recommended(mode)) {
        (Some(t), _) if t == 0.0 => Sampling::Greedy,
        (t, Sampling::Sample { temperature, top_k, top_p, min_p }) => Sampling::Sample {
            temperature: t.unwrap_or(temperature),
            top_k: req.top_k.map(|k| k as usize).unwrap_or(top_k),
            top_p: req.top_p.unwrap_or(top_p),
            min_p: req.min_p.unwrap_or(min_p),
        },
        (_, Sampling::Greedy) => Sampling::Greedy,
    };

    let n = req.n.unwrap_or(1);
    if n == 0 || n > limits.max_n {
        return Err(ApiError::invalid(format!("n: must be between 1 and {} (got {n}; the server's --max-n)", limits.max_n)));
    }

    let top_logprobs = match (req.logprobs, req.top_logprobs) {
        (Some(true), k) => {
            let k = k.unwrap_or(0);
            if k > MAX_TOP_LOGPROBS {
                return Err(ApiError::invalid(format!("top_logprobs: must be between 0 and {MAX_TOP_LOGPROBS} (got {k})")));
            }
            Some(k as usize)
        }
        (_, Some(k)) if k > 0 => {
            return Err(ApiError::invalid("top_logprobs: set logprobs to true to receive top_logprobs"));
        }
        _ => None,
    };

    let stops = req.stop.as_ref().map(|s| s.strings()).unwrap_or_default();
    if stops.len() > MAX_STOPS {
        return Err(ApiError::invalid(format!("stop: at most {MAX_STOPS} strings (got {})", stops.len())));
    }
    if stops.iter().any(|s| s.is_empty()) {
        return Err(ApiError::invalid("stop: stop strings must not be empty"));
    }

    // The prompt: the Qwen3 template, exactly as `cotlab generate` renders it.
    if req.messages.is_empty() {
        return Err(ApiError::invalid("messages: at least one message is required"));
    }
    let messages: Vec<Message> = req
        .messages
        .iter()
        .map(|m| Message { role: m.role.clone(), content: m.content.clone(), reasoning_content: m.reasoning_content.clone() })
        .collect();
    let opts = RenderOptions { add_generation_prompt: true, enable_thinking: mode.enable_thinking() };
    let text = render(&messages, opts).map_err(|e| ApiError::invalid(format!("messages: {e}")))?;
    let prompt_ids = tok.encode(&text).map_err(|e| ApiError::invalid(format!("messages: {e}")))?;

    let room = limits.context.saturating_sub(prompt_ids.len());
    if room == 0 {
        return Err(ApiError::invalid(format!(
            "messages: the prompt is {} tokens; the model's context is {} tokens, leaving no room for a reply",
            prompt_ids.len(),
            limits.context
        )));
    }
    let max_new_tokens = match req.max_new_tokens() {
        None => room,
        Some(0) => return Err(ApiError::invalid("max_tokens: must be at least 1 (got 0)")),
        Some(m) if m as usize > room => {
            let field = if req.max_completion_tokens.is_some() { "max_completion_tokens" } else { "max_tokens" };
            return Err(ApiError::invalid(format!(
                "{field}: {m} tokens do not fit: the prompt is {} tokens and the model's context {} tokens, \
                 so at most {room} can be generated",
                prompt_ids.len(),
                limits.context
            )));
        }
        Some(m) => m as usize,
    };

    let seed = req.seed.unwrap_or_else(fresh_seed);
    let core_logprobs = core_logprobs(top_logprobs, &sampling, limits.vocab_size);
    Ok(Plan {
        prompt_ids,
        n: n as usize,
        seed,
        sampling,
        max_new_tokens,
        top_logprobs,
        core_logprobs,
        stops,
        stream: req.stream.unwrap_or(false),
    })
}

/// A seed for a request that brought none: std's per-instance random hasher keys (seeded from
/// the OS), so unseeded requests differ from each other.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

/// How many top log-probabilities to ask the core for so that the list holds the sampled token
/// too (OpenAI reports its log-probability beside the alternatives). Greedy picks the top one;
/// top-k sampling picks among the `top_k` largest logits (temperature keeps their order); without
/// top-k any token may be drawn, so the whole vocabulary is ranked. A token tied with the last
/// listed one (top-k keeps ties) has that same log-probability.
pub fn core_logprobs(top_logprobs: Option<usize>, sampling: &Sampling, vocab_size: usize) -> usize {
    let Some(k) = top_logprobs else { return 0 };
    let k = k.max(1);
    match *sampling {
        Sampling::Greedy => k,
        Sampling::Sample { top_k, .. } if top_k > 0 => k.max(top_k),
        Sampling::Sample { .. } => vocab_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_is_asked_for_enough_alternatives_to_hold_the_sampled_token() {
        let sample = |top_k| Sampling::Sample { temperature: 0.7, top_k, top_p: 0.8, min_p: 0.0 };
        assert_eq!(core_logprobs(None, &Sampling::Greedy, 100), 0);
        assert_eq!(core_logprobs(Some(0), &Sampling::Greedy, 100), 1);
        assert_eq!(core_logprobs(Some(5), &Sampling::Greedy, 100), 5);
        assert_eq!(core_logprobs(Some(5), &sample(20), 100), 20);
        assert_eq!(core_logprobs(Some(20), &sample(3), 100), 20);
        assert_eq!(core_logprobs(Some(2), &sample(0), 100), 100);
    }
}
