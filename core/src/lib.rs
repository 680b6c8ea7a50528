//! # cotlab-core
//!
//! Everything cotlab computes, free of platform concerns so the CLI (`native/`) and the browser
//! (`web/`) share it: the Qwen3 model on burn, its chat format and tokenizer, and generation.
//! The core does no file, thread or network I/O: callers hand it bytes.
//!
//! Data flow: `config.json` + safetensors bytes → [`model::LoadedModel`]; messages →
//! [`chat::render`] → [`chat::QwenTokenizer::encode`] → [`generate::Generation`] (prefill,
//! cached decode, sampling) → ids → text split into thinking and answer.

pub mod chat;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod generate;
pub mod kernels;
pub mod lora;
pub mod model;
pub mod readback;
pub mod sft;

pub use error::{CoreError, Result};

/// The cotlab version, recorded beside results.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
