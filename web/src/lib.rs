//! cotlab in the browser: a wasm-bindgen API over `cotlab-core`.
//!
//! This first slice exposes what needs no GPU (the exact Qwen3 chat template and the version);
//! model loading and generation over WebGPU come with the browser issue, on the same core
//! (`Generation::step` is already async for that reason).

use cotlab_core::chat::{render, Message, Mode, RenderOptions};
use wasm_bindgen::prelude::*;

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
