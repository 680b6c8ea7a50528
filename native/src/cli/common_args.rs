//! Flags several commands share, flattened into their own so they read and behave the same
//! everywhere: the model a command runs on (`generate`, `eval`, `serve`) and the sampling
//! settings (`generate`, `eval`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use cotlab_core::chat::Mode;
use cotlab_core::device::{DTypeChoice, DeviceChoice, SelectedDevice};
use cotlab_core::generate::{Sampling, SamplingOverrides};
use cotlab_core::model::LoadedModel;
use cotlab_core::chat::QwenTokenizer;

use crate::checkpoint::CheckpointDir;

#[derive(ClapArgs, Debug, Clone)]
pub struct ModelArgs {
    /// Checkpoint directory (config.json, tokenizer.json, safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// A LoRA adapter in PEFT format (adapter_config.json + adapter_model.safetensors).
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// auto (a GPU if present, else cpu), cpu, wgpu, gpu:N, vulkan, metal, dx12.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Compute dtype: f32, or f16 where the device supports it.
    #[arg(long, default_value = "f32")]
    pub dtype: DTypeChoice,
    /// Kernels: auto (WGSL on wgpu, reference on cpu), reference (plain burn ops) or wgsl.
    #[arg(long, default_value = "auto")]
    pub kernels: cotlab_core::kernels::KernelChoice,
}

impl ModelArgs {
    /// Select the device, load the checkpoint on it, choose its kernels and apply the adapter, if any.
    pub fn load(&self) -> Result<(SelectedDevice, LoadedModel, QwenTokenizer)> {
        let device = super::device(self.device)?;
        let (mut model, tok) = CheckpointDir::open(&self.model)?.load(&device, self.dtype)?;
        super::kernels(&mut model, self.kernels)?;
        if let Some(dir) = &self.adapter {
            crate::adapter::load_adapter(&mut model, dir)?;
        }
        Ok((device, model, tok))
    }
}

/// Greedy decoding, or sampling with Qwen's recommended settings for the mode with any of them
/// overridden.
#[derive(ClapArgs, Debug, Clone)]
pub struct SamplingArgs {
    /// Greedy decoding (argmax). Otherwise sampling with the mode's recommended settings
    /// (think 0.6 / 0.95 / 20, no-think 0.7 / 0.8 / 20, min-p 0), overridden by the flags below.
    #[arg(long, conflicts_with_all = ["temperature", "top_p", "top_k", "min_p"])]
    pub greedy: bool,
    #[arg(long)]
    pub temperature: Option<f32>,
    #[arg(long)]
    pub top_p: Option<f32>,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub min_p: Option<f32>,
}

impl SamplingArgs {
    pub fn for_mode(&self, mode: Mode) -> Sampling {
        let overrides = SamplingOverrides { greedy: self.greedy, temperature: self.temperature, top_k: self.top_k, top_p: self.top_p, min_p: self.min_p };
        Sampling::for_mode(mode, &overrides)
    }
}
