//! Generation in the page: a batch of prompts (e.g. the same question in think and no-think
//! mode, one per pane), decoded step by step with `Generation::step().await`, each chosen token
//! streamed to a JS callback with the row's text so far.

use cotlab_core::chat::{render, split_thinking, Message, Mode, RenderOptions};
use cotlab_core::generate::{FinishReason, GenerateParams, Generation, Prompt, Sampling, SamplingOverrides};
use cotlab_core::model::Qwen3Config;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::convert::{err, from_js, to_js, yield_now};
use crate::session::Session;

/// One row of a generation request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptSpec {
    /// A whole conversation, or…
    #[serde(default)]
    messages: Option<Vec<Message>>,
    /// …one user message with an optional system message.
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    system: Option<String>,
    mode: Mode,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateRequest {
    prompts: Vec<PromptSpec>,
    /// Argmax decoding; otherwise sampling with Qwen's settings for the first row's mode,
    /// overridden by the fields below.
    #[serde(default)]
    greedy: bool,
    temperature: Option<f32>,
    top_p: Option<f32>,
    top_k: Option<usize>,
    min_p: Option<f32>,
    #[serde(default = "default_max_new_tokens")]
    max_new_tokens: usize,
    /// Seed of row 0; row i samples with seed + i (as the CLI).
    #[serde(default)]
    seed: u64,
}

fn default_max_new_tokens() -> usize {
    256
}

/// One streamed token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenMessage<'a> {
    row: usize,
    token_id: u32,
    /// The row's generated text so far (decoded as a whole so multi-token characters are right).
    text: &'a str,
    /// Tokens the row has generated so far.
    count: usize,
    finish: Option<FinishReason>,
}

/// One finished row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowResult {
    row: usize,
    mode: Mode,
    prompt_tokens: usize,
    token_ids: Vec<u32>,
    text: String,
    thinking: String,
    answer: String,
    finish_reason: FinishReason,
}

fn sampling(r: &GenerateRequest) -> Sampling {
    let overrides = SamplingOverrides { greedy: r.greedy, temperature: r.temperature, top_k: r.top_k, top_p: r.top_p, min_p: r.min_p };
    Sampling::for_mode(r.prompts.first().map_or(Mode::Think, |p| p.mode), &overrides)
}

/// Refuse, naming the limit, a batch whose attention scores (`[b, heads, t, s]` f32) or MLP
/// activations (`[b·t, intermediate]` f32) would not fit one device buffer.
pub(crate) fn check_activations_fit(c: &Qwen3Config, batch: usize, t: usize, s: usize, limit: Option<u64>) -> Result<(), JsValue> {
    let Some(limit) = limit else { return Ok(()) };
    let scores = (batch * c.num_attention_heads * t * s * 4) as u64;
    let mlp = (batch * t * c.intermediate_size * 4) as u64;
    let need = scores.max(mlp);
    if need > limit {
        return Err(err(format!(
            "{batch} sequence(s) of {t} tokens need a {} MiB buffer (attention scores: batch × {} heads × {t} × {s} × 4 bytes) \
             but the device's largest buffer (maxStorageBufferBindingSize) is {} MiB. Shorten the prompt or the training \
             records, or lower max new tokens",
            need >> 20,
            c.num_attention_heads,
            limit >> 20
        )));
    }
    Ok(())
}

#[wasm_bindgen]
impl Session {
    /// Generate for `request` = `{prompts: [{prompt | messages, system?, mode}], greedy?,
    /// temperature?, topP?, topK?, minP?, maxNewTokens?, seed?}`, calling
    /// `onToken({row, tokenId, text, count, finish})` per token. Resolves to one
    /// `{row, mode, promptTokens, tokenIds, text, thinking, answer, finishReason}` per prompt;
    /// `tokenIds` excludes the stop token, as `cotlab generate --json` does.
    pub fn generate(&self, request: JsValue, on_token: Option<js_sys::Function>) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let request: GenerateRequest = from_js(request, "generate request")?;
            let st = state.try_borrow().map_err(|_| Session::busy())?;
            let loaded = st.loaded()?;
            let tok = &loaded.tokenizer;
            if request.prompts.is_empty() {
                return Err(err("generate: give at least one prompt"));
            }
            let mut prompts = Vec::new();
            for (i, p) in request.prompts.iter().enumerate() {
                let messages = match (&p.messages, &p.prompt) {
                    (Some(m), _) => m.clone(),
                    (None, Some(text)) => {
                        let mut m = Vec::new();
                        if let Some(s) = p.system.as_deref().filter(|s| !s.is_empty()) {
                            m.push(Message::system(s));
                        }
                        m.push(Message::user(text));
                        m
                    }
                    (None, None) => return Err(err(format!("prompt {i}: give `prompt` or `messages`"))),
                };
                let opts = RenderOptions { add_generation_prompt: true, enable_thinking: p.mode.enable_thinking() };
                let text = render(&messages, opts).map_err(err)?;
                prompts.push(Prompt { ids: tok.encode(&text).map_err(err)?, seed: request.seed.wrapping_add(i as u64) });
            }
            let longest = prompts.iter().map(|p| p.ids.len()).max().unwrap_or(0);
            let config = &loaded.model.config;
            check_activations_fit(config, prompts.len(), longest, longest, loaded.model.max_buffer_bytes)?;
            check_activations_fit(config, prompts.len(), 1, longest + request.max_new_tokens, loaded.model.max_buffer_bytes)?;
            let params = GenerateParams {
                max_new_tokens: request.max_new_tokens,
                sampling: sampling(&request),
                logprobs: 0,
                stop_ids: tok.stop_ids(),
                pad_id: tok.endoftext,
            };
            let prompt_tokens: Vec<usize> = prompts.iter().map(|p| p.ids.len()).collect();
            let mut generation = Generation::new(&loaded.model, &prompts, params).map_err(err)?;
            let mut streamed: Vec<Vec<u32>> = vec![Vec::new(); prompts.len()];
            while !generation.is_done() {
                let events = generation.step().await.map_err(err)?;
                for e in events {
                    let ids = &mut streamed[e.row];
                    if e.finish != Some(FinishReason::Stop) {
                        ids.push(e.token_id);
                    }
                    if let Some(f) = &on_token {
                        let text = tok.decode(ids).map_err(err)?;
                        let msg = TokenMessage { row: e.row, token_id: e.token_id, text: &text, count: ids.len(), finish: e.finish };
                        f.call1(&JsValue::NULL, &to_js(&msg)?)?;
                    }
                }
                yield_now().await;
            }
            let mut results = Vec::new();
            for (row, out) in generation.into_outputs().into_iter().enumerate() {
                let text = tok.decode(&out.token_ids).map_err(err)?;
                let (thinking, answer) = split_thinking(&text);
                results.push(RowResult {
                    row,
                    mode: request.prompts[row].mode,
                    prompt_tokens: prompt_tokens[row],
                    token_ids: out.token_ids,
                    text,
                    thinking,
                    answer,
                    finish_reason: out.finish_reason,
                });
            }
            to_js(&results)
        })
    }
}
