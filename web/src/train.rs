//! "Train in the browser": fresh LoRA adapters on the loaded model, AdamW steps on records the
//! page passes in (the bundled sample data), the loss of each step returned for the live curve,
//! and the result kept as a named PEFT adapter.

use cotlab_core::lora::peft::{save_peft_async, PeftConfig};
use cotlab_core::lora::LoraSettings;
use cotlab_core::sft::{parse_jsonl, tokenize_example, train_step, AdamState, OptimConfig, Paradigm, ParadigmSpec, Record};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::convert::{err, from_js, to_js};
use crate::generate::check_activations_fit;
use crate::session::{Session, StoredAdapter};

/// An adapter being trained (attached to the model, not yet a stored adapter).
pub struct Training {
    pub settings: LoraSettings,
    pub spec: ParadigmSpec,
    pub optimizer: OptimConfig,
    pub state: AdamState,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TrainOptions {
    paradigm: Paradigm,
    #[serde(default = "default_rank")]
    rank: usize,
    #[serde(default = "default_alpha")]
    alpha: f64,
    #[serde(default = "default_targets")]
    targets: Vec<String>,
    #[serde(default)]
    seed: u64,
    /// Clip the gradient norm (0: off); transformers' default 1.0.
    #[serde(default = "default_clip")]
    max_grad_norm: f64,
}

fn default_rank() -> usize {
    8
}
fn default_alpha() -> f64 {
    16.0
}
fn default_targets() -> Vec<String> {
    vec!["all-linear".into()]
}
fn default_clip() -> f64 {
    1.0
}

#[wasm_bindgen]
impl Session {
    /// Attach fresh LoRA adapters for training: `{paradigm, rank?=8, alpha?=16,
    /// targets?=["all-linear"], seed?=0, maxGradNorm?=1}`. Replaces the active adapter on the
    /// model (stored adapters are unaffected).
    #[wasm_bindgen(js_name = trainStart)]
    pub fn train_start(&self, options: JsValue) -> Result<(), JsValue> {
        let o: TrainOptions = from_js(options, "train options")?;
        let settings = LoraSettings::new(o.rank, o.alpha, 0.0, &o.targets).map_err(err)?;
        let mut st = self.state.try_borrow_mut().map_err(|_| Session::busy())?;
        st.activate(None)?;
        let model = &mut st.loaded_mut()?.model;
        model.device.seed(o.seed);
        let device = model.device.clone();
        model.model.attach_lora(&settings, &device);
        model.model.set_lora_training(false);
        st.training = Some(Training {
            settings,
            spec: o.paradigm.into(),
            optimizer: OptimConfig { max_grad_norm: o.max_grad_norm, ..OptimConfig::default() },
            state: AdamState::default(),
        });
        Ok(())
    }

    /// One AdamW update at learning rate `lr` over `records` (`[{id, question, thinking,
    /// answer, system?}]`, one batch). Resolves to `{loss, gradNorm, lr, supervisedTokens, tokens}`.
    #[wasm_bindgen(js_name = trainStep)]
    pub fn train_step(&self, records: JsValue, lr: f64) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let records: Vec<Record> = from_js(records, "training records")?;
            let mut guard = state.try_borrow_mut().map_err(|_| Session::busy())?;
            let st = &mut *guard;
            let training = st.training.as_mut().ok_or_else(|| err("call trainStart before trainStep"))?;
            let loaded = st.loaded.as_mut().ok_or_else(|| err("no model is loaded"))?;
            // Reuse the CLI's record checks (missing fields per paradigm, duplicate ids).
            let jsonl: String = records.iter().map(|r| serde_json::to_string(r).expect("records serialise") + "\n").collect();
            let records = parse_jsonl(jsonl.as_bytes(), "training records", training.spec.paradigm).map_err(err)?;
            let examples = records
                .iter()
                .map(|r| tokenize_example(r, training.spec, &loaded.tokenizer))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            let longest = examples.iter().map(|e| e.input_ids.len()).max().unwrap_or(0);
            check_activations_fit(&loaded.model.config, examples.len(), longest, longest, loaded.model.max_buffer_bytes)?;
            let batch = vec![examples.iter().collect::<Vec<_>>()];
            let pad = loaded.tokenizer.endoftext;
            let report = train_step(&mut loaded.model, &batch, &training.optimizer, lr, &mut training.state, pad)
                .await
                .map_err(err)?;
            let out = serde_json::json!({
                "step": training.state.step,
                "loss": report.loss,
                "gradNorm": report.grad_norm,
                "lr": report.lr,
                "supervisedTokens": report.supervised_tokens,
                "tokens": report.tokens,
            });
            to_js(&out)
        })
    }

    /// Keep the adapter being trained as adapter `name` (PEFT files, read back from the device
    /// asynchronously) and make it the active one. Resolves to its description.
    #[wasm_bindgen(js_name = trainSave)]
    pub fn train_save(&self, name: String) -> js_sys::Promise {
        let state = self.state.clone();
        let this = Session { state: self.state.clone() };
        wasm_bindgen_futures::future_to_promise(async move {
            {
                let mut guard = state.try_borrow_mut().map_err(|_| Session::busy())?;
                let st = &mut *guard;
                let training = st.training.as_ref().ok_or_else(|| err("nothing is being trained: call trainStart first"))?;
                let loaded = st.loaded.as_ref().ok_or_else(|| err("no model is loaded"))?;
                let (config_bytes, weights) =
                    save_peft_async(&loaded.model.model, &training.settings, &loaded.name).await.map_err(err)?;
                let config = PeftConfig::from_json(&config_bytes, &format!("{name}/adapter_config.json")).map_err(err)?;
                let adapter = StoredAdapter { name: name.clone(), config, config_bytes, weights, settings: training.settings.clone() };
                st.adapters.retain(|a| a.name != name);
                st.adapters.push(adapter);
                st.training = None;
                st.active = Some(name.clone());
            }
            this.adapter_report(&name)
        })
    }
}
