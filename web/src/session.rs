//! The browser session: one device, at most one model with its tokenizer, and named PEFT
//! adapters kept as bytes so switching between them (base vs each adapter) is cheap.
//!
//! Methods that read the GPU return Promises; the state sits in an `Rc<RefCell<…>>` so a
//! running generation or training step holds it, and a second call meanwhile gets a clear
//! "busy" error instead of a panic.

use std::cell::RefCell;
use std::rc::Rc;

use cotlab_core::kernels::{KernelChoice, Kernels};
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::device::{select_wgpu_async, DTypeChoice, GpuLimits, SelectedDevice};
use cotlab_core::lora::peft::{load_peft, PeftConfig};
use cotlab_core::lora::LoraSettings;
use cotlab_core::model::weights::Shard;
use cotlab_core::model::LoadedModel;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::convert::{bytes, err, get, to_js};
use crate::train::Training;

/// A loaded model and its tokenizer.
pub struct Loaded {
    pub name: String,
    pub model: LoadedModel,
    pub tokenizer: QwenTokenizer,
}

/// A PEFT adapter as its files, validated against the model when added.
pub struct StoredAdapter {
    pub name: String,
    pub config: PeftConfig,
    pub config_bytes: Vec<u8>,
    pub weights: Vec<u8>,
    pub settings: LoraSettings,
}

pub struct State {
    pub device: SelectedDevice,
    pub limits: Option<GpuLimits>,
    pub loaded: Option<Loaded>,
    pub adapters: Vec<StoredAdapter>,
    /// The adapter attached to the model now (`None`: the base model or a training adapter).
    pub active: Option<String>,
    pub training: Option<Training>,
}

impl State {
    pub fn loaded(&self) -> Result<&Loaded, JsValue> {
        self.loaded.as_ref().ok_or_else(|| err("no model is loaded: load a model folder or URL first"))
    }

    pub fn loaded_mut(&mut self) -> Result<&mut Loaded, JsValue> {
        self.loaded.as_mut().ok_or_else(|| err("no model is loaded: load a model folder or URL first"))
    }

    /// Attach adapter `name` (or none) to the model.
    pub fn activate(&mut self, name: Option<&str>) -> Result<(), JsValue> {
        let loaded = self.loaded.as_mut().ok_or_else(|| err("no model is loaded"))?;
        match name {
            None => {
                for (_, _, lin) in loaded.model.model.linears_mut() {
                    lin.lora = None;
                }
            }
            Some(name) => {
                let a = self
                    .adapters
                    .iter()
                    .find(|a| a.name == name)
                    .ok_or_else(|| err(format!("no adapter named {name:?} is loaded")))?;
                attach(loaded, a)?;
            }
        }
        self.training = None;
        self.active = name.map(str::to_string);
        Ok(())
    }
}

fn attach(loaded: &mut Loaded, a: &StoredAdapter) -> Result<(), JsValue> {
    let shard = Shard { file: format!("{}/adapter_model.safetensors", a.name), bytes: &a.weights };
    let device = loaded.model.device.clone();
    load_peft(&mut loaded.model.model, &a.config, &format!("{}/adapter_config.json", a.name), &shard, &device).map_err(err)?;
    Ok(())
}

thread_local! {
    /// burn's wgpu runtime is initialised once per page; later sessions reuse it.
    static WEBGPU: RefCell<Option<(SelectedDevice, GpuLimits)>> = const { RefCell::new(None) };
}

fn webgpu_present() -> bool {
    let global = js_sys::global();
    get(&global, "navigator").and_then(|n| get(&n, "gpu")).is_ok_and(|g| !g.is_undefined() && !g.is_null())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceReport<'a> {
    backend: &'a str,
    description: &'a str,
    /// "wgsl" (cotlab's shaders/ kernels, on WebGPU) or "reference" (plain burn ops).
    kernels: &'a str,
    max_buffer_bytes: Option<u64>,
    limits: Option<&'a GpuLimits>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelReport<'a> {
    name: &'a str,
    layers: usize,
    hidden_size: usize,
    heads: usize,
    kv_heads: usize,
    vocab_size: usize,
    parameters: usize,
    dtype: String,
    tied_embeddings: bool,
    /// How many row blocks the embedding was split into to fit the device's buffers.
    embedding_blocks: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterReport<'a> {
    pub name: &'a str,
    pub r: usize,
    pub lora_alpha: f64,
    pub target_modules: &'a [String],
    pub active: bool,
}

/// A cotlab session in the page.
#[wasm_bindgen]
pub struct Session {
    pub(crate) state: Rc<RefCell<State>>,
}

impl Session {
    pub(crate) fn busy() -> JsValue {
        err("the session is busy (a generation or training step is running); wait for it to finish")
    }
}

#[wasm_bindgen]
impl Session {
    /// Start a session on `backend`: "webgpu" (default) or "cpu" (burn's Flex backend in wasm:
    /// slow, for tiny models or browsers without WebGPU).
    pub async fn create(backend: Option<String>) -> Result<Session, JsValue> {
        let backend = backend.unwrap_or_else(|| "webgpu".into());
        let (device, limits) = match backend.as_str() {
            "cpu" => (SelectedDevice::cpu(), None),
            "webgpu" | "wgpu" | "gpu" => {
                if let Some(found) = WEBGPU.with(|w| w.borrow().clone()) {
                    (found.0, Some(found.1))
                } else {
                    if !webgpu_present() {
                        return Err(err(
                            "WebGPU is not available in this browser (navigator.gpu is undefined). Use Chrome or Edge 113+, \
                             Safari 26+ or Firefox 141+ (on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu), \
                             or choose the CPU backend (slow; tiny models only)",
                        ));
                    }
                    let (d, l) = select_wgpu_async().await.map_err(err)?;
                    WEBGPU.with(|w| *w.borrow_mut() = Some((d.clone(), l.clone())));
                    (d, Some(l))
                }
            }
            other => return Err(err(format!("unknown backend {other:?}: use webgpu or cpu"))),
        };
        Ok(Session {
            state: Rc::new(RefCell::new(State {
                device,
                limits,
                loaded: None,
                adapters: Vec::new(),
                active: None,
                training: None,
            })),
        })
    }

    /// The device and, on WebGPU, the limits the adapter granted.
    pub fn device(&self) -> Result<JsValue, JsValue> {
        let st = self.state.try_borrow().map_err(|_| Self::busy())?;
        to_js(&DeviceReport {
            backend: if st.limits.is_some() { "webgpu" } else { "cpu" },
            description: &st.device.description,
            kernels: match KernelChoice::Auto.resolve(&st.device.device) {
                Ok(Kernels::Wgsl) => "wgsl",
                _ => "reference",
            },
            max_buffer_bytes: st.device.max_buffer_bytes,
            limits: st.limits.as_ref(),
        })
    }

    /// Load a model from its files: `{name, config, tokenizer, shards: [{file, bytes}]}` with
    /// `config.json`, `tokenizer.json` and every safetensors shard as `Uint8Array`s. `dtype` is
    /// "f32" (default) or "f16" (needs `shader-f16`). Replaces any loaded model; adapters are kept
    /// as files and re-checked when used.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&self, files: JsValue, dtype: Option<String>) -> Result<JsValue, JsValue> {
        let mut st = self.state.try_borrow_mut().map_err(|_| Self::busy())?;
        let name = get(&files, "name")?.as_string().unwrap_or_else(|| "model".into());
        let dtype: DTypeChoice = dtype.as_deref().unwrap_or("f32").parse().map_err(err)?;
        st.device.check_dtype(dtype).map_err(err)?;
        let config = bytes(&get(&files, "config")?, &format!("{name}/config.json"))?;
        let tokenizer = bytes(&get(&files, "tokenizer")?, &format!("{name}/tokenizer.json"))?;
        let shard_list = get(&files, "shards")?;
        let shard_list: js_sys::Array = shard_list
            .dyn_into()
            .map_err(|_| err("loadModel: `shards` must be an array of {file, bytes}"))?;
        let mut shard_bytes = Vec::new();
        for s in shard_list.iter() {
            let file = get(&s, "file")?.as_string().ok_or_else(|| err("loadModel: a shard has no `file` name"))?;
            let data = bytes(&get(&s, "bytes")?, &file)?;
            shard_bytes.push((format!("{name}/{file}"), data));
        }
        if shard_bytes.is_empty() {
            return Err(err(format!(
                "{name}: no safetensors files. A model folder needs config.json, tokenizer.json and model.safetensors \
                 (or model.safetensors.index.json with its shards)"
            )));
        }
        let shards: Vec<Shard> = shard_bytes.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
        st.loaded = None; // free the old model's buffers first
        st.active = None;
        st.training = None;
        let config = cotlab_core::model::Qwen3Config::from_json(&config, &format!("{name}/config.json")).map_err(err)?;
        let tokenizer = QwenTokenizer::from_bytes(&tokenizer, &format!("{name}/tokenizer.json")).map_err(err)?;
        tokenizer.check_fits(config.vocab_size).map_err(err)?;
        let model = LoadedModel::new(config, &shards, &st.device.device, dtype.float(), st.device.max_buffer_bytes)
            .map_err(err)?;
        st.loaded = Some(Loaded { name, model, tokenizer });
        drop(st);
        self.model_info()
    }

    /// What is loaded: `{name, layers, hiddenSize, …}`, or `null`.
    #[wasm_bindgen(js_name = modelInfo)]
    pub fn model_info(&self) -> Result<JsValue, JsValue> {
        let st = self.state.try_borrow().map_err(|_| Self::busy())?;
        let Some(l) = &st.loaded else { return Ok(JsValue::NULL) };
        let c = &l.model.config;
        to_js(&ModelReport {
            name: &l.name,
            layers: c.num_hidden_layers,
            hidden_size: c.hidden_size,
            heads: c.num_attention_heads,
            kv_heads: c.num_key_value_heads,
            vocab_size: c.vocab_size,
            parameters: c.parameter_count(),
            dtype: format!("{:?}", l.model.dtype).to_lowercase(),
            tied_embeddings: c.tie_word_embeddings,
            embedding_blocks: l.model.model.embed_tokens.chunks.len(),
        })
    }

    /// Drop the model (its GPU buffers are freed); adapters stay.
    #[wasm_bindgen(js_name = unloadModel)]
    pub fn unload_model(&self) -> Result<(), JsValue> {
        let mut st = self.state.try_borrow_mut().map_err(|_| Self::busy())?;
        st.loaded = None;
        st.active = None;
        st.training = None;
        Ok(())
    }

    /// Add a PEFT adapter under `name` from `adapter_config.json` and
    /// `adapter_model.safetensors` bytes. It is checked against the loaded model (every target
    /// module, every shape) and left inactive; `useAdapter` switches.
    #[wasm_bindgen(js_name = loadAdapter)]
    pub fn load_adapter(&self, name: String, config: &[u8], weights: &[u8]) -> Result<JsValue, JsValue> {
        let mut st = self.state.try_borrow_mut().map_err(|_| Self::busy())?;
        let config_file = format!("{name}/adapter_config.json");
        let peft = PeftConfig::from_json(config, &config_file).map_err(err)?;
        let settings = peft.settings(&config_file).map_err(err)?;
        let adapter =
            StoredAdapter { name: name.clone(), config: peft, config_bytes: config.to_vec(), weights: weights.to_vec(), settings };
        // Validate by attaching it once, then restore what was attached before (also on failure).
        let checked = attach(st.loaded_mut()?, &adapter);
        let previous = st.active.clone().filter(|p| *p != name);
        if checked.is_ok() {
            st.adapters.retain(|a| a.name != name);
            st.adapters.push(adapter);
        }
        st.activate(previous.as_deref())?;
        checked?;
        drop(st);
        self.adapter_report(&name)
    }

    /// Attach adapter `name`, or detach every adapter with `null` (the base model).
    #[wasm_bindgen(js_name = useAdapter)]
    pub fn use_adapter(&self, name: Option<String>) -> Result<(), JsValue> {
        let mut st = self.state.try_borrow_mut().map_err(|_| Self::busy())?;
        st.activate(name.as_deref())
    }

    /// Forget adapter `name` (detaching it if active).
    #[wasm_bindgen(js_name = unloadAdapter)]
    pub fn unload_adapter(&self, name: String) -> Result<(), JsValue> {
        let mut st = self.state.try_borrow_mut().map_err(|_| Self::busy())?;
        if st.active.as_deref() == Some(name.as_str()) {
            st.activate(None)?;
        }
        st.adapters.retain(|a| a.name != name);
        Ok(())
    }

    /// The adapters: `[{name, r, loraAlpha, targetModules, active}]`.
    pub fn adapters(&self) -> Result<JsValue, JsValue> {
        let st = self.state.try_borrow().map_err(|_| Self::busy())?;
        let list: Vec<AdapterReport> = st
            .adapters
            .iter()
            .map(|a| AdapterReport {
                name: &a.name,
                r: a.settings.r,
                lora_alpha: a.settings.lora_alpha,
                target_modules: &a.settings.target_modules,
                active: st.active.as_deref() == Some(a.name.as_str()),
            })
            .collect();
        to_js(&list)
    }

    /// Adapter `name`'s PEFT files: `{config, weights}` as `Uint8Array`s (to download).
    #[wasm_bindgen(js_name = exportAdapter)]
    pub fn export_adapter(&self, name: String) -> Result<JsValue, JsValue> {
        let st = self.state.try_borrow().map_err(|_| Self::busy())?;
        let a = st.adapters.iter().find(|a| a.name == name).ok_or_else(|| err(format!("no adapter named {name:?}")))?;
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"config".into(), &js_sys::Uint8Array::from(&a.config_bytes[..]))?;
        js_sys::Reflect::set(&out, &"weights".into(), &js_sys::Uint8Array::from(&a.weights[..]))?;
        Ok(out.into())
    }

    /// Token ids of `text` (special tokens recognised).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, JsValue> {
        let st = self.state.try_borrow().map_err(|_| Self::busy())?;
        st.loaded()?.tokenizer.encode(text).map_err(err)
    }
}

impl Session {
    pub(crate) fn adapter_report(&self, name: &str) -> Result<JsValue, JsValue> {
        let st = self.state.try_borrow().map_err(|_| Self::busy())?;
        let a = st.adapters.iter().find(|a| a.name == name).ok_or_else(|| err(format!("no adapter named {name:?}")))?;
        to_js(&AdapterReport {
            name: &a.name,
            r: a.settings.r,
            lora_alpha: a.settings.lora_alpha,
            target_modules: &a.settings.target_modules,
            active: st.active.as_deref() == Some(name),
        })
    }
}

