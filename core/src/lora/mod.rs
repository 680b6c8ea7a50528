//! LoRA adapters on Qwen3's linear layers: configuration, attaching, PEFT's file format, merging.
//!
//! PEFT layout: `adapter_config.json` (`r`, `lora_alpha`, `target_modules`, …) and
//! `adapter_model.safetensors` with tensors named
//! `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight` (`[r, in]`) and
//! `….lora_B.weight` (`[out, r]`); scale = lora_alpha / r.

pub mod peft;

use burn::module::Param;
use burn::tensor::{Device, Distribution, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::model::qwen3::{Linear, Lora, Qwen3};

/// The seven projections of a Qwen3 block, in PEFT's names.
pub const ALL_LINEAR: [&str; 7] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/// What to adapt and how strongly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraSettings {
    pub r: usize,
    pub lora_alpha: f64,
    pub lora_dropout: f64,
    /// Module names (`q_proj`, …); `all-linear` expands to [`ALL_LINEAR`].
    pub target_modules: Vec<String>,
}

impl LoraSettings {
    pub fn new(r: usize, alpha: f64, dropout: f64, targets: &[String]) -> Result<Self> {
        let mut target_modules = Vec::new();
        for t in targets {
            for t in t.split([',', ' ']).filter(|s| !s.is_empty()) {
                if t == "all-linear" {
                    target_modules.extend(ALL_LINEAR.iter().map(|s| s.to_string()));
                } else if ALL_LINEAR.contains(&t) {
                    target_modules.push(t.to_string());
                } else {
                    return Err(CoreError::Training(format!(
                        "unknown LoRA target {t:?}: use all-linear or some of {ALL_LINEAR:?}"
                    )));
                }
            }
        }
        target_modules.sort_by_key(|t| ALL_LINEAR.iter().position(|a| a == t));
        target_modules.dedup();
        if r == 0 || target_modules.is_empty() {
            return Err(CoreError::Training("LoRA needs a rank ≥ 1 and at least one target module".into()));
        }
        if !(0.0..1.0).contains(&dropout) {
            return Err(CoreError::Training(format!("LoRA dropout must be in [0, 1) (got {dropout})")));
        }
        Ok(Self { r, lora_alpha: alpha, lora_dropout: dropout, target_modules })
    }

    pub fn scale(&self) -> f64 {
        self.lora_alpha / self.r as f64
    }
}

impl Qwen3 {
    /// Every linear layer with its PyTorch module path (`model.layers.3.mlp.up_proj`) and PEFT
    /// short name (`up_proj`), in a fixed order.
    pub fn linears_mut(&mut self) -> Vec<(String, &'static str, &mut Linear)> {
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let a = &mut layer.self_attn;
            let m = &mut layer.mlp;
            let p = format!("model.layers.{l}");
            out.push((format!("{p}.self_attn.q_proj"), "q_proj", &mut a.q_proj));
            out.push((format!("{p}.self_attn.k_proj"), "k_proj", &mut a.k_proj));
            out.push((format!("{p}.self_attn.v_proj"), "v_proj", &mut a.v_proj));
            out.push((format!("{p}.self_attn.o_proj"), "o_proj", &mut a.o_proj));
            out.push((format!("{p}.mlp.gate_proj"), "gate_proj", &mut m.gate_proj));
            out.push((format!("{p}.mlp.up_proj"), "up_proj", &mut m.up_proj));
            out.push((format!("{p}.mlp.down_proj"), "down_proj", &mut m.down_proj));
        }
        out
    }

    /// The attached adapters with their module paths, in [`Qwen3::linears_mut`] order.
    pub fn adapters(&self) -> Vec<(String, &Lora)> {
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            let a = &layer.self_attn;
            let m = &layer.mlp;
            let p = format!("model.layers.{l}");
            let all = [
                ("self_attn.q_proj", &a.q_proj),
                ("self_attn.k_proj", &a.k_proj),
                ("self_attn.v_proj", &a.v_proj),
                ("self_attn.o_proj", &a.o_proj),
                ("mlp.gate_proj", &m.gate_proj),
                ("mlp.up_proj", &m.up_proj),
                ("mlp.down_proj", &m.down_proj),
            ];
            for (name, lin) in all {
                if let Some(lora) = &lin.lora {
                    out.push((format!("{p}.{name}"), lora));
                }
            }
        }
        out
    }

    /// Attach fresh adapters as PEFT initialises them: A ~ U(-1/√in, 1/√in) (Kaiming-uniform
    /// with a = √5), B = 0, so the model is unchanged at step 0. Call `device.seed(..)` first.
    pub fn attach_lora(&mut self, settings: &LoraSettings, device: &Device) {
        for (_, short, lin) in self.linears_mut() {
            if !settings.target_modules.iter().any(|t| t == short) {
                lin.lora = None;
                continue;
            }
            let [out, inp] = lin.weight.dims();
            let bound = 1.0 / (inp as f64).sqrt();
            let a = Tensor::<2>::random([settings.r, inp], Distribution::Uniform(-bound, bound), device);
            let b = Tensor::<2>::zeros([out, settings.r], device);
            lin.lora = Some(Lora {
                a: Param::from_tensor(a.cast(FloatDType::F32)),
                b: Param::from_tensor(b.cast(FloatDType::F32)),
                scale: settings.scale(),
                dropout: settings.lora_dropout,
                training: false,
            });
        }
    }

    /// Fold every adapter into its base weight (`W += scale·B·A`) and drop the adapters.
    pub fn merge_lora(&mut self) {
        for (_, _, lin) in self.linears_mut() {
            if let Some(lora) = lin.lora.take() {
                let w = lin.weight.val();
                let dtype = w.dtype();
                let delta = lora.b.val().matmul(lora.a.val()) * lora.scale; // [out, in]
                let merged = w.cast(FloatDType::F32) + delta;
                lin.weight = Param::from_tensor(merged.cast(FloatDType::from(dtype)));
            }
        }
    }

    /// Switch adapter dropout on (training) or off.
    pub fn set_lora_training(&mut self, training: bool) {
        for (_, _, lin) in self.linears_mut() {
            if let Some(l) = &mut lin.lora {
                l.training = training;
            }
        }
    }
}
