//! Batched generation as a step machine the caller drives.
//!
//! [`Generation::step`] is `async` because the browser cannot block on a GPU read: each step
//! runs one forward pass, reads the last-position logits back with `into_data_async`, and picks
//! one token per unfinished row. Native code uses the blocking [`Generation::run`].
//!
//! Prompts of different lengths are left-padded; padded keys are masked and each row's rotary
//! positions start at its first real token, so every row gets exactly what it would get alone
//! (tested: batched token ids equal one-by-one ids).

use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::sampler::{sample, top_logprobs, Sampling, TokenLogprob};
use crate::error::{CoreError, Result};
use crate::kernels::{wgsl, Kernels};
use crate::readback;
use crate::model::inputs::StepInput;
use crate::model::loaded::LoadedModel;
use crate::model::{KvCache, LogitsFor};

/// One prompt's token ids and its sampling seed (per prompt, so results do not depend on which
/// other prompts share the batch).
#[derive(Debug, Clone)]
pub struct Prompt {
    pub ids: Vec<u32>,
    pub seed: u64,
}

/// Settings shared by every prompt of a batch.
#[derive(Debug, Clone)]
pub struct GenerateParams {
    pub max_new_tokens: usize,
    pub sampling: Sampling,
    /// Top-k log-probabilities to return per generated token (0: none).
    pub logprobs: usize,
    /// Tokens that end a row (not included in its output).
    pub stop_ids: Vec<u32>,
    /// Token fed to finished rows while others continue.
    pub pad_id: u32,
}

/// Why a row stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A stop token was produced.
    Stop,
    /// `max_new_tokens` was reached.
    Length,
}

/// One token chosen for one row, as streamed.
#[derive(Debug, Clone)]
pub struct TokenEvent {
    pub row: usize,
    pub token_id: u32,
    /// Top-k log-probabilities of this step (empty unless requested).
    pub top_logprobs: Vec<TokenLogprob>,
    /// Set on the row's last event; a stop token's event carries it and is not part of the text.
    pub finish: Option<FinishReason>,
}

/// A finished row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerationOutput {
    /// Generated ids, stop token excluded.
    pub token_ids: Vec<u32>,
    /// Per generated id, the step's top-k log-probabilities.
    pub logprobs: Vec<Vec<TokenLogprob>>,
    pub finish_reason: FinishReason,
}

struct Row {
    rng: ChaCha8Rng,
    out: Vec<u32>,
    logprobs: Vec<Vec<TokenLogprob>>,
    finish: Option<FinishReason>,
    next_pos: usize,
}

/// The state of one batched generation.
pub struct Generation<'m> {
    model: &'m LoadedModel,
    params: GenerateParams,
    cache: KvCache,
    rows: Vec<Row>,
    /// Which cached key slots hold real tokens, per row.
    key_valid: Vec<Vec<bool>>,
    /// Input of the next forward pass (the prefill first).
    next: Option<StepInput>,
}

impl<'m> Generation<'m> {
    /// Prepare the prefill of `prompts` (left-padded to a common length).
    pub fn new(model: &'m LoadedModel, prompts: &[Prompt], params: GenerateParams) -> Result<Self> {
        params.sampling.validate()?;
        if prompts.is_empty() {
            return Err(CoreError::Generation("no prompts given".into()));
        }
        if let Some(i) = prompts.iter().position(|p| p.ids.is_empty()) {
            return Err(CoreError::Generation(format!("prompt {i} is empty; render at least one token")));
        }
        let vocab = model.config.vocab_size as u32;
        if let Some(bad) = prompts.iter().flat_map(|p| &p.ids).find(|&&id| id >= vocab) {
            return Err(CoreError::Generation(format!("token id {bad} is outside the model's vocabulary ({vocab})")));
        }
        let t = prompts.iter().map(|p| p.ids.len()).max().unwrap_or(0);
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        let mut key_valid = Vec::new();
        let mut rows = Vec::new();
        for p in prompts {
            let pad = t - p.ids.len();
            ids.push(std::iter::repeat_n(params.pad_id, pad).chain(p.ids.iter().copied()).collect::<Vec<_>>());
            // transformers: cumsum(mask) - 1, padding positions set to 1.
            positions.push((0..t).map(|j| if j < pad { 1 } else { j - pad }).collect::<Vec<_>>());
            key_valid.push((0..t).map(|j| j >= pad).collect::<Vec<_>>());
            rows.push(Row {
                rng: ChaCha8Rng::seed_from_u64(p.seed),
                out: Vec::new(),
                logprobs: Vec::new(),
                finish: if params.max_new_tokens == 0 { Some(FinishReason::Length) } else { None },
                next_pos: p.ids.len(),
            });
        }
        let next = StepInput::new(&ids, &positions, &key_valid, &model.rope, &model.device);
        Ok(Self { model, params, cache: model.model.new_cache(), rows, key_valid, next: Some(next) })
    }

    /// True once every row has finished.
    pub fn is_done(&self) -> bool {
        self.rows.iter().all(|r| r.finish.is_some())
    }

    /// Run one forward pass and choose one token per unfinished row. Returns the events of this
    /// step (empty once done).
    pub async fn step(&mut self) -> Result<Vec<TokenEvent>> {
        if self.is_done() {
            return Ok(Vec::new());
        }
        let input = self.next.take().expect("a pending input while not done");
        // 1. Forward: logits of the last position of each row.        // [b, 1, v]
        let logits = self.model.model.forward(&input, &mut self.cache, LogitsFor::Last);
        let [b, _, v] = logits.dims();
        // 2. A token (and top log-probabilities) per live row: on the device with the WGSL
        //    sampler when it applies, else on the host from the read-back logits.
        let picks = if self.model.kernels() == Kernels::Wgsl && wgsl::sampling_supported(&self.params.sampling, self.params.logprobs) {
            self.choose_on_device(logits.reshape([b, v])).await?
        } else {
            self.choose_on_host(logits.reshape([b, v])).await?
        };

        // 3. Record the choices.
        let mut events = Vec::new();
        let mut next_ids = Vec::with_capacity(b);
        let mut positions = Vec::with_capacity(b);
        for ((i, row), pick) in self.rows.iter_mut().enumerate().zip(picks) {
            let mut token = self.params.pad_id;
            if let Some((chosen, lp)) = pick {
                token = chosen;
                if self.params.stop_ids.contains(&token) {
                    row.finish = Some(FinishReason::Stop);
                } else {
                    row.out.push(token);
                    row.logprobs.push(lp.clone());
                    if row.out.len() >= self.params.max_new_tokens {
                        row.finish = Some(FinishReason::Length);
                    }
                }
                events.push(TokenEvent { row: i, token_id: token, top_logprobs: lp, finish: row.finish });
            }
            next_ids.push(vec![token]);
            positions.push(vec![row.next_pos]);
            row.next_pos += 1;
        }

        // 4. Prepare the next decode step: one new key slot per row.
        if !self.is_done() {
            for valid in &mut self.key_valid {
                valid.push(true);
            }
            self.next = Some(StepInput::new(&next_ids, &positions, &self.key_valid, &self.model.rope, &self.model.device));
        }
        Ok(events)
    }

    /// Host-side choice: read all logits back (async: the browser cannot block), then sample.
    async fn choose_on_host(&mut self, logits: Tensor<2>) -> Result<Vec<Option<(u32, Vec<TokenLogprob>)>>> {
        let [b, v] = logits.dims();
        let flat = readback::floats(logits).await?;
        debug_assert_eq!(flat.len(), b * v);
        let (sampling, k) = (self.params.sampling, self.params.logprobs);
        Ok(self
            .rows
            .iter_mut()
            .enumerate()
            .map(|(i, row)| {
                row.finish.is_none().then(|| {
                    let row_logits = &flat[i * v..(i + 1) * v];
                    (sample(row_logits, &sampling, &mut row.rng), top_logprobs(row_logits, k))
                })
            })
            .collect())
    }

    /// Device-side choice (`shaders/sample.wgsl`, through [`wgsl::sample::choose`]): only
    /// `1 + 2·k` words per row are read back, and each row's generator advances exactly as the
    /// host sampler would advance it.
    async fn choose_on_device(&mut self, logits: Tensor<2>) -> Result<Vec<Option<(u32, Vec<TokenLogprob>)>>> {
        let live: Vec<bool> = self.rows.iter().map(|row| row.finish.is_none()).collect();
        let mut rngs: Vec<ChaCha8Rng> = self.rows.iter().map(|row| row.rng.clone()).collect();
        let picks = wgsl::sample::choose(logits, &self.params.sampling, self.params.logprobs, &mut rngs, &live).await?;
        for (row, rng) in self.rows.iter_mut().zip(rngs) {
            row.rng = rng;
        }
        Ok(picks)
    }

    /// The rows' results, in prompt order.
    pub fn into_outputs(self) -> Vec<GenerationOutput> {
        self.rows
            .into_iter()
            .map(|r| GenerationOutput {
                token_ids: r.out,
                logprobs: r.logprobs,
                finish_reason: r.finish.unwrap_or(FinishReason::Length),
            })
            .collect()
    }

    /// Drive the generation to the end, blocking (native only), calling `on_token` per event.
    #[cfg(not(target_family = "wasm"))]
    pub fn run(mut self, mut on_token: impl FnMut(&TokenEvent)) -> Result<Vec<GenerationOutput>> {
        while !self.is_done() {
            for e in pollster::block_on(self.step())? {
                on_token(&e);
            }
        }
        Ok(self.into_outputs())
    }
}
