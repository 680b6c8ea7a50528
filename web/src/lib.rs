//! cotlab in the browser: a wasm-bindgen API over `cotlab-core`, driven by `www/main.js`.
//!
//! Everything computes in the core; this crate only turns JS values into core calls and back.
//! WebGPU is initialised asynchronously and every device read on this path is `async`
//! (`Generation::step`, `train_step`, `save_peft_async`): a browser cannot block on the GPU.
//!
//! * [`Session`] (`session.rs`): device, model + tokenizer, PEFT adapters;
//! * `generate.rs`: think / no-think generation with a streaming JS callback;
//! * `masks.rs`: which tokens each training paradigm puts loss on;
//! * `train.rs`: LoRA training steps in the tab.

mod convert;
mod generate;
mod masks;
mod session;
mod train;

use cotlab_core::chat::{render, Message, Mode, RenderOptions};
use wasm_bindgen::prelude::*;

pub use session::Session;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// cotlab's version.
#[wasm_bindgen]
pub fn version() -> String {
    cotlab_core::VERSION.to_string()
}

/// Render `messages` (an array of `{role, content, reasoning_content?}`) exactly as Qwen3's chat
/// template does; `mode` is "think" or "no-think".
#[wasm_bindgen(js_name = renderChat)]
pub fn render_chat(messages: JsValue, mode: &str, generation_prompt: bool) -> Result<String, JsError> {
    let messages: Vec<Message> = serde_wasm_bindgen::from_value(messages).map_err(|e| JsError::new(&e.to_string()))?;
    let mode: Mode = mode.parse().map_err(|e: String| JsError::new(&e))?;
    let opts = RenderOptions { add_generation_prompt: generation_prompt, enable_thinking: mode.enable_thinking() };
    render(&messages, opts).map_err(|e| JsError::new(&e.to_string()))
}

/// The shard file names a `model.safetensors.index.json` lists (sorted), so the page fetches
/// exactly the files the core will look for.
#[wasm_bindgen(js_name = shardFiles)]
pub fn shard_files(index_json: &[u8]) -> Result<Vec<String>, JsError> {
    cotlab_core::model::weights::shard_files_from_index(index_json, "model.safetensors.index.json")
        .map_err(|e| JsError::new(&e.to_string()))
}
