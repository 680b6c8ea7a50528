//! Text generation: prefill, cached decode, sampling, batching, streaming.

pub mod generation;
pub mod sampler;

pub use generation::{FinishReason, GenerateParams, Generation, GenerationOutput, Prompt, TokenEvent};
pub use sampler::{Sampling, SamplingOverrides, TokenLogprob};
