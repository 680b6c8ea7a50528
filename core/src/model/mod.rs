//! The Qwen3 network: configuration, weights, rotary tables, cache and the model itself.

pub mod config;
pub mod export;
pub mod inputs;
pub mod kv_cache;
pub mod loaded;
pub mod qwen3;
pub mod random;
pub mod rope;
pub mod vocab;
pub mod weights;

pub use config::Qwen3Config;
pub use inputs::StepInput;
pub use kv_cache::KvCache;
pub use loaded::LoadedModel;
pub use qwen3::{LogitsFor, Qwen3};
