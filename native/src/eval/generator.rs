//! The model under test, generating a batch of conversations in one mode.

use anyhow::Result;
use cotlab_core::chat::{render, split_thinking, Message, Mode, QwenTokenizer, RenderOptions};
use cotlab_core::generate::{FinishReason, GenerateParams, Generation, Prompt, Sampling};
use cotlab_core::model::LoadedModel;

pub struct Generator {
    pub model: LoadedModel,
    pub tok: QwenTokenizer,
    pub sampling: Sampling,
    pub max_new_tokens: usize,
}

/// One generated reply.
#[derive(Debug, Clone)]
pub struct Generated {
    pub prompt_ids: Vec<u32>,
    pub token_ids: Vec<u32>,
    pub thinking: String,
    pub answer: String,
    pub finish: FinishReason,
}

impl Generator {
    pub fn prompt_ids(&self, messages: &[Message], mode: Mode) -> Result<Vec<u32>> {
        let text = render(messages, RenderOptions { add_generation_prompt: true, enable_thinking: mode.enable_thinking() })?;
        Ok(self.tok.encode(&text)?)
    }

    /// Generate each `(conversation, seed)` (one left-padded batch); `extra_stop` adds stop ids
    /// (TRAIT stops at `</think>` to read the option probabilities there).
    pub fn generate(&self, convs: &[(Vec<Message>, u64)], mode: Mode, extra_stop: &[u32]) -> Result<Vec<Generated>> {
        if convs.is_empty() {
            return Ok(Vec::new());
        }
        let prompts: Vec<Prompt> = convs
            .iter()
            .map(|(m, seed)| Ok(Prompt { ids: self.prompt_ids(m, mode)?, seed: *seed }))
            .collect::<Result<_>>()?;
        let mut stop_ids = self.tok.stop_ids();
        stop_ids.extend_from_slice(extra_stop);
        let params = GenerateParams {
            max_new_tokens: self.max_new_tokens,
            sampling: self.sampling,
            logprobs: 0,
            stop_ids,
            pad_id: self.tok.endoftext,
        };
        let outputs = Generation::new(&self.model, &prompts, params)?.run(|_| {})?;
        outputs
            .into_iter()
            .zip(prompts)
            .map(|(o, p)| {
                let text = self.tok.decode(&o.token_ids)?;
                let (thinking, answer) = split_thinking(&text);
                Ok(Generated { prompt_ids: p.ids, token_ids: o.token_ids, thinking, answer, finish: o.finish_reason })
            })
            .collect()
    }

    /// The settings recorded with every sample.
    pub fn sampling_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.sampling).expect("sampling serialises");
        v["max_new_tokens"] = serde_json::json!(self.max_new_tokens);
        v
    }
}
