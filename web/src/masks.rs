//! The masks view: for one record, every paradigm's token sequence with the tokens that carry
//! loss marked, computed by the same `tokenize_example` the trainer uses.

use cotlab_core::sft::paradigm::render_example;
use cotlab_core::sft::{tokenize_example, Paradigm, ParadigmSpec, QaEmptyThink, Record, IGNORE};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::convert::{err, from_js, to_js};
use crate::session::Session;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MaskToken {
    id: u32,
    /// The token's piece of the rendered text.
    text: String,
    /// Whether this token is a training target (its label is not -100).
    loss: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ParadigmMask {
    paradigm: &'static str,
    context: String,
    target: String,
    tokens: Vec<MaskToken>,
    /// Positions with loss after the model's shift (what the trainer averages over).
    supervised_tokens: usize,
}

#[wasm_bindgen]
impl Session {
    /// For `record` (`{id, question, thinking, answer, system?}`), each paradigm's tokens with
    /// their loss flags: `[{paradigm, context, target, tokens: [{id, text, loss}], supervisedTokens}]`.
    /// `qaEmptyThink` is "in-prompt" (default), "in-target" or "absent".
    #[wasm_bindgen(js_name = paradigmMasks)]
    pub fn paradigm_masks(&self, record: JsValue, qa_empty_think: Option<String>) -> Result<JsValue, JsValue> {
        let record: Record = from_js(record, "record")?;
        let qa_empty_think: QaEmptyThink = qa_empty_think.as_deref().unwrap_or("in-prompt").parse().map_err(err)?;
        let st = self.state.try_borrow().map_err(|_| Session::busy())?;
        let tok = &st.loaded()?.tokenizer;
        let mut out = Vec::new();
        for paradigm in Paradigm::ALL {
            let spec = ParadigmSpec { paradigm, qa_empty_think };
            let rendered = render_example(&record, spec).map_err(err)?;
            let example = tokenize_example(&record, spec, tok).map_err(err)?;
            let text = format!("{}{}", rendered.context, rendered.target);
            let (ids, offsets) = tok.encode_with_offsets(&text).map_err(err)?;
            debug_assert_eq!(ids, example.input_ids);
            let tokens = ids
                .iter()
                .zip(&offsets)
                .zip(&example.labels)
                .map(|((&id, &(s, e)), &label)| MaskToken {
                    id,
                    text: text.get(s..e).map(str::to_string).unwrap_or_else(|| tok.token_text(id)),
                    loss: label != IGNORE,
                })
                .collect();
            out.push(ParadigmMask {
                paradigm: paradigm.as_str(),
                context: rendered.context,
                target: rendered.target,
                tokens,
                supervised_tokens: example.supervised_tokens(),
            });
        }
        to_js(&out)
    }
}
