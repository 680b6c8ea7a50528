//! The model a command runs on: checkpoint, optional adapter, device and dtype. `generate`,
//! `eval` and `serve` flatten these flags into their own, so the flags and the loading read the
//! same everywhere.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use cotlab_core::device::{DTypeChoice, DeviceChoice, SelectedDevice};
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
}

impl ModelArgs {
    /// Select the device, load the checkpoint on it and apply the adapter, if any.
    pub fn load(&self) -> Result<(SelectedDevice, LoadedModel, QwenTokenizer)> {
        let device = super::device(self.device)?;
        let (mut model, tok) = CheckpointDir::open(&self.model)?.load(&device, self.dtype)?;
        if let Some(dir) = &self.adapter {
            crate::adapter::load_adapter(&mut model, dir)?;
        }
        Ok((device, model, tok))
    }
}
