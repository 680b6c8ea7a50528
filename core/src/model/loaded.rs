//! A model ready to run: weights on a device plus what the forward pass needs beside them.

use burn::tensor::{Device, FloatDType, Tensor};

use super::config::Qwen3Config;
use super::inputs::StepInput;
use super::qwen3::{LogitsFor, Qwen3};
use super::rope::Rope;
use super::weights::{load_qwen3, Shard};
use crate::error::{CoreError, Result};
use crate::kernels::{KernelChoice, Kernels};

/// Weights, config, rotary tables and the device they live on.
pub struct LoadedModel {
    pub config: Qwen3Config,
    pub model: Qwen3,
    pub rope: Rope,
    pub device: Device,
    pub dtype: FloatDType,
    /// The device's largest buffer in bytes (`None`: no limit), honoured by chunked work.
    pub max_buffer_bytes: Option<u64>,
}

impl LoadedModel {
    /// Build from `config.json` bytes and the checkpoint's safetensors shards.
    pub fn from_bytes(config_json: &[u8], config_file: &str, shards: &[Shard<'_>], device: &Device, dtype: FloatDType) -> Result<Self> {
        let config = Qwen3Config::from_json(config_json, config_file)?;
        Self::new(config, shards, device, dtype, None)
    }

    /// `max_buffer_bytes`: the device's largest buffer, or `None` for no limit (CPU).
    pub fn new(config: Qwen3Config, shards: &[Shard<'_>], device: &Device, dtype: FloatDType, max_buffer_bytes: Option<u64>) -> Result<Self> {
        if !device.supports_dtype(dtype) {
            return Err(CoreError::Device {
                device: format!("{device:?}"),
                reason: format!("it does not support {dtype:?}; use --dtype f32"),
            });
        }
        if let Some(limit) = max_buffer_bytes {
            check_weights_fit(&config, limit)?;
        }
        let model = load_qwen3(&config, shards, device, dtype, max_buffer_bytes)?;
        Ok(Self::from_parts(config, model, device.clone(), dtype, max_buffer_bytes))
    }

    /// Kernels start as `KernelChoice::Auto` (WGSL on wgpu, reference on the CPU).
    pub fn from_parts(config: Qwen3Config, mut model: Qwen3, device: Device, dtype: FloatDType, max_buffer_bytes: Option<u64>) -> Self {
        let rope = Rope::new(config.head_dim, config.rope_base());
        model.kernels = KernelChoice::Auto.resolve(&device).unwrap_or_default();
        Self { config, model, rope, device, dtype, max_buffer_bytes }
    }

    /// Choose the kernel implementation (`--kernels`); WGSL needs a wgpu device.
    pub fn set_kernels(&mut self, choice: KernelChoice) -> Result<()> {
        self.model.kernels = choice.resolve(&self.device)?;
        Ok(())
    }

    /// The kernel implementation in use.
    pub fn kernels(&self) -> Kernels {
        self.model.kernels
    }

    /// Logits at every position of one unpadded sequence: `[1, t, v]` (float32).
    pub fn logits(&self, ids: &[u32]) -> Tensor<3> {
        let input = StepInput::sequence(ids, &self.rope, &self.device);
        let mut cache = self.model.new_cache();
        self.model.forward(&input, &mut cache, LogitsFor::All)
    }
}

/// Refuse a checkpoint whose largest non-vocabulary weight cannot live in one device buffer
/// (vocabulary matrices are split instead, see `vocab.rs`). Weights are uploaded as f32 and then
/// cast, so the f32 size is what must fit.
pub fn check_weights_fit(config: &Qwen3Config, max_buffer_bytes: u64) -> Result<()> {
    let (e, i) = (config.hidden_size, config.intermediate_size);
    let attn = config.num_attention_heads * config.head_dim;
    let (name, values) = if i * e >= attn * e { ("mlp.gate_proj", i * e) } else { ("self_attn.q_proj", attn * e) };
    let bytes = values as u64 * 4;
    if bytes > max_buffer_bytes {
        return Err(CoreError::Device {
            device: "wgpu".into(),
            reason: format!(
                "weight `model.layers.0.{name}.weight` needs a {} MiB buffer but the device's largest buffer \
                 (min of maxStorageBufferBindingSize and maxBufferSize) is {} MiB. Use a smaller model \
                 (Qwen3-0.6B, 1.7B and 4B fit in 128 MiB) or a GPU/browser with larger limits",
                bytes >> 20,
                max_buffer_bytes >> 20
            ),
        });
    }
    Ok(())
}
