//! Reading and writing adapters in PEFT's format, so adapters move freely between cotlab and
//! the Python stack (transformers + PEFT).

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::{LoraSettings, ALL_LINEAR};
use crate::error::{CoreError, Result};
use crate::model::qwen3::{Lora, Qwen3};
use crate::model::weights::{f32_bytes, serialize_safetensors, to_f32_vec, Checkpoint, Shard};
use crate::readback;

/// `target_modules` is a list of names, or a single string (`"all-linear"` or a regex).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetModules {
    List(Vec<String>),
    One(String),
}

/// The fields of PEFT's `adapter_config.json` that cotlab reads or writes. Unknown fields are
/// kept; features cotlab does not implement are rejected by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeftConfig {
    pub peft_type: String,
    #[serde(default)]
    pub task_type: Option<String>,
    pub r: usize,
    /// Written as an integer when whole, as PEFT writes it.
    #[serde(serialize_with = "integer_if_whole")]
    pub lora_alpha: f64,
    #[serde(default)]
    pub lora_dropout: f64,
    pub target_modules: TargetModules,
    #[serde(default = "none_str")]
    pub bias: String,
    #[serde(default)]
    pub fan_in_fan_out: bool,
    #[serde(default)]
    pub use_rslora: bool,
    #[serde(default)]
    pub use_dora: bool,
    #[serde(default)]
    pub modules_to_save: Option<Vec<String>>,
    #[serde(default)]
    pub rank_pattern: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub alpha_pattern: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub layers_to_transform: Option<serde_json::Value>,
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    #[serde(default)]
    pub inference_mode: bool,
    #[serde(default)]
    pub init_lora_weights: serde_json::Value,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn integer_if_whole<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn none_str() -> String {
    "none".into()
}

impl PeftConfig {
    /// PEFT's config for `settings` (what `LoraConfig(...).save_pretrained` writes).
    pub fn from_settings(settings: &LoraSettings, base_model: &str) -> Self {
        Self {
            peft_type: "LORA".into(),
            task_type: Some("CAUSAL_LM".into()),
            r: settings.r,
            lora_alpha: settings.lora_alpha,
            lora_dropout: settings.lora_dropout,
            target_modules: TargetModules::List(settings.target_modules.clone()),
            bias: "none".into(),
            fan_in_fan_out: false,
            use_rslora: false,
            use_dora: false,
            modules_to_save: None,
            rank_pattern: Default::default(),
            alpha_pattern: Default::default(),
            layers_to_transform: None,
            base_model_name_or_path: Some(base_model.into()),
            inference_mode: true,
            init_lora_weights: serde_json::Value::Bool(true),
            extra: serde_json::Map::from_iter([
                ("revision".to_string(), serde_json::Value::Null),
                ("layers_pattern".to_string(), serde_json::Value::Null),
            ]),
        }
    }

    /// Parse and check `adapter_config.json`.
    pub fn from_json(bytes: &[u8], file: &str) -> Result<Self> {
        let err = |reason: String| CoreError::Adapter { file: file.into(), reason };
        let c: Self = serde_json::from_slice(bytes).map_err(|e| err(format!("not a PEFT adapter_config.json: {e}")))?;
        let unsupported = |what: &str| Err(err(format!("{what} is not supported; train a plain LoRA adapter")));
        if c.peft_type != "LORA" {
            return Err(err(format!("peft_type is {:?}; cotlab loads LORA adapters", c.peft_type)));
        }
        if c.bias != "none" {
            return unsupported("bias != \"none\"");
        }
        if c.fan_in_fan_out {
            return unsupported("fan_in_fan_out");
        }
        if c.use_rslora {
            return unsupported("use_rslora");
        }
        if c.use_dora {
            return unsupported("use_dora");
        }
        if !c.rank_pattern.is_empty() || !c.alpha_pattern.is_empty() {
            return unsupported("rank_pattern/alpha_pattern");
        }
        if c.modules_to_save.as_ref().is_some_and(|m| !m.is_empty()) {
            return unsupported("modules_to_save");
        }
        if c.layers_to_transform.as_ref().is_some_and(|v| !v.is_null()) {
            return unsupported("layers_to_transform");
        }
        c.settings(file)?;
        Ok(c)
    }

    /// The adapter's settings in cotlab's terms.
    pub fn settings(&self, file: &str) -> Result<LoraSettings> {
        let targets = match &self.target_modules {
            TargetModules::List(l) => l.clone(),
            TargetModules::One(s) if s == "all-linear" => vec![s.clone()],
            TargetModules::One(s) => {
                return Err(CoreError::Adapter {
                    file: file.into(),
                    reason: format!("target_modules is the pattern {s:?}; cotlab needs a list of module names ({ALL_LINEAR:?})"),
                })
            }
        };
        LoraSettings::new(self.r, self.lora_alpha, self.lora_dropout, &targets)
            .map_err(|e| CoreError::Adapter { file: file.into(), reason: e.to_string() })
    }
}

/// PEFT's tensor name of a module path's adapter matrix (`"A"` or `"B"`).
pub fn peft_tensor_name(module_path: &str, ab: &str) -> String {
    format!("base_model.model.{module_path}.lora_{ab}.weight")
}

/// Serialise the model's adapters: (`adapter_config.json`, `adapter_model.safetensors`) bytes.
/// Reads the device synchronously (native); the browser uses [`save_peft_async`].
pub fn save_peft(model: &Qwen3, settings: &LoraSettings, base_model: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut tensors = Vec::new();
    for (name, t) in adapter_tensors(model) {
        tensors.push((name, t.dims().to_vec(), f32_bytes(&to_f32_vec(t)?)));
    }
    peft_files(settings, base_model, &tensors)
}

/// [`save_peft`] with asynchronous device reads, for the browser.
pub async fn save_peft_async(model: &Qwen3, settings: &LoraSettings, base_model: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut tensors = Vec::new();
    for (name, t) in adapter_tensors(model) {
        tensors.push((name, t.dims().to_vec(), f32_bytes(&readback::floats(t).await?)));
    }
    peft_files(settings, base_model, &tensors)
}

/// Every adapter matrix under its PEFT tensor name.
fn adapter_tensors(model: &Qwen3) -> Vec<(String, Tensor<2>)> {
    let mut out = Vec::new();
    for (path, lora) in model.adapters() {
        for (ab, t) in [("A", lora.a.val()), ("B", lora.b.val())] {
            out.push((peft_tensor_name(&path, ab), t));
        }
    }
    out
}

fn peft_files(settings: &LoraSettings, base_model: &str, tensors: &[(String, Vec<usize>, Vec<u8>)]) -> Result<(Vec<u8>, Vec<u8>)> {
    let config = serde_json::to_vec_pretty(&PeftConfig::from_settings(settings, base_model))
        .map_err(|e| CoreError::Training(e.to_string()))?;
    Ok((config, serialize_safetensors(safetensors::Dtype::F32, tensors)?))
}

/// Attach the adapter in PEFT files to `model` (replacing any adapter). Every target module of
/// the config must have both matrices with shapes `[r, in]` and `[out, r]`; tensors that match
/// no module are an error (they would be silently ignored otherwise).
pub fn load_peft(model: &mut Qwen3, config: &PeftConfig, config_file: &str, weights: &Shard<'_>, device: &Device) -> Result<LoraSettings> {
    let settings = config.settings(config_file)?;
    let ckpt = Checkpoint::parse(std::slice::from_ref(weights))?;
    let mut used = std::collections::HashSet::new();
    for (path, short, lin) in model.linears_mut() {
        lin.lora = None;
        if !settings.target_modules.iter().any(|t| t == short) {
            continue;
        }
        let [out, inp] = lin.weight.dims();
        let (na, nb) = (peft_tensor_name(&path, "A"), peft_tensor_name(&path, "B"));
        let a = ckpt.read_f32(&na, &[settings.r, inp])?;
        let b = ckpt.read_f32(&nb, &[out, settings.r])?;
        used.insert(na);
        used.insert(nb);
        lin.lora = Some(Lora {
            a: Param::from_tensor(Tensor::from_data(TensorData::new(a, [settings.r, inp]), device)),
            b: Param::from_tensor(Tensor::from_data(TensorData::new(b, [out, settings.r]), device)),
            scale: settings.scale(),
            dropout: settings.lora_dropout,
            training: false,
        });
    }
    let mut unused: Vec<&str> = ckpt.names().filter(|n| !used.contains(*n)).collect();
    if !unused.is_empty() {
        unused.sort();
        return Err(CoreError::Adapter {
            file: weights.file.clone(),
            reason: format!(
                "tensors match no adapted Qwen3 module: {} (are target_modules in adapter_config.json complete, and is this adapter for this base model?)",
                unused.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(settings)
}
