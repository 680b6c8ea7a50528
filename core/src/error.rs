//! Typed errors of cotlab-core. Each message says what went wrong *and what to do*: these
//! strings reach researchers through the CLI and the browser unchanged.

use thiserror::Error;

/// Everything that can go wrong inside `cotlab-core`.
#[derive(Debug, Error)]
pub enum CoreError {
    /// `config.json` could not be parsed.
    #[error("{file}: not a valid Qwen3 config.json: {reason}. Use the config.json that came with the checkpoint (Hugging Face format).")]
    ConfigParse { file: String, reason: String },

    /// A config field has a value cotlab does not support.
    #[error("{file}: field `{field}` = {found} is not supported: {hint}")]
    UnsupportedConfig { file: String, field: String, found: String, hint: String },

    /// A weight tensor the config requires is not in any safetensors file.
    #[error("weight `{name}` is missing from the checkpoint ({files}). The checkpoint does not match its config.json, or it is not a dense Qwen3 (Qwen3ForCausalLM) checkpoint.")]
    MissingTensor { name: String, files: String },

    /// A weight tensor has the wrong shape for the config.
    #[error("weight `{name}` in {file} has shape {found:?}, but config.json implies {expected:?}. Check that config.json belongs to these weights.")]
    ShapeMismatch { name: String, file: String, expected: Vec<usize>, found: Vec<usize> },

    /// A weight tensor is stored in a dtype cotlab cannot read.
    #[error("weight `{name}` in {file} is stored as {found}; cotlab reads F32, F16 and BF16. Convert the checkpoint (e.g. `model.to(torch.bfloat16).save_pretrained(...)`).")]
    UnsupportedWeightDtype { name: String, file: String, found: String },

    /// A safetensors file could not be parsed.
    #[error("{file}: not a valid safetensors file: {reason}. Re-download or re-save the checkpoint.")]
    Safetensors { file: String, reason: String },

    /// A sharded checkpoint's index is malformed.
    #[error("{file}: invalid model.safetensors.index.json: {reason}")]
    ShardIndex { file: String, reason: String },

    /// The tokenizer could not be loaded.
    #[error("{file}: could not load the tokenizer: {reason}. Use the tokenizer.json shipped with the Qwen3 checkpoint.")]
    Tokenizer { file: String, reason: String },

    /// The tokenizer and the model disagree.
    #[error("{file}: the tokenizer has {found} tokens (highest id {max_id}) but config.json has vocab_size {expected}; token ids would index past the embedding. Use the tokenizer that belongs to this checkpoint.")]
    VocabMismatch { file: String, expected: usize, found: usize, max_id: u32 },

    /// A token the Qwen3 chat format relies on is absent.
    #[error("{file}: the tokenizer has no token `{token}`, which the Qwen3 chat format needs. Use a Qwen3 tokenizer.json.")]
    MissingSpecialToken { file: String, token: String },

    /// Text could not be encoded or decoded.
    #[error("tokenizer failed: {0}")]
    Encode(String),

    /// A chat message list cannot be rendered.
    #[error("invalid messages: {0}")]
    Messages(String),

    /// Bad generation or sampling settings.
    #[error("invalid generation settings: {0}")]
    Generation(String),

    /// The requested device is not available.
    #[error("device `{device}` is not available: {reason}")]
    Device { device: String, reason: String },

    /// A dataset file is malformed (every problem listed as `file:line: …`).
    #[error("invalid dataset:\n{0}")]
    Data(String),

    /// A LoRA adapter is malformed or does not fit the model.
    #[error("{file}: {reason}")]
    Adapter { file: String, reason: String },

    /// Training cannot go on.
    #[error("training stopped: {0}")]
    Training(String),

    /// A tensor could not be read back from the device.
    #[error("reading a tensor back from the device failed: {0}")]
    Readback(String),
}

/// Result alias of cotlab-core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
