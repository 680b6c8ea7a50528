//! `cotlab merge`: fold a LoRA adapter into the base weights and write a full checkpoint.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use cotlab_core::device::{DTypeChoice, DeviceChoice};
use cotlab_core::model::export::{export_safetensors, SaveDType};

use crate::adapter::load_adapter;
use crate::checkpoint::CheckpointDir;

#[derive(ClapArgs)]
pub struct Args {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub adapter: PathBuf,
    /// Output checkpoint directory (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Storage dtype of the merged weights.
    #[arg(long, default_value = "bf16")]
    pub save_dtype: SaveDType,
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Shard size limit in MB.
    #[arg(long, default_value_t = 4096)]
    pub max_shard_mb: usize,
}

pub fn run(a: Args) -> Result<()> {
    if a.out.exists() {
        bail!("{}: already exists; choose a new --out directory", a.out.display());
    }
    let device = super::device(a.device)?;
    let ckpt = CheckpointDir::open(&a.model)?;
    let (mut model, _) = ckpt.load(&device, DTypeChoice::F32)?;
    load_adapter(&mut model, &a.adapter)?;
    model.model.merge_lora();
    let files = export_safetensors(&model.model, a.save_dtype, a.max_shard_mb << 20)?;
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(a.model.join("config.json"))?)?;
    config["torch_dtype"] = a.save_dtype.torch_name().into();
    std::fs::create_dir_all(&a.out).with_context(|| format!("{}: cannot create", a.out.display()))?;
    std::fs::write(a.out.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    for (name, bytes) in files {
        std::fs::write(a.out.join(&name), bytes).with_context(|| format!("{}: cannot write", a.out.join(&name).display()))?;
    }
    for f in ["tokenizer.json", "tokenizer_config.json", "generation_config.json", "chat_template.jinja"] {
        if a.model.join(f).exists() {
            std::fs::copy(a.model.join(f), a.out.join(f))?;
        }
    }
    eprintln!("merged {} into {} → {}", a.adapter.display(), a.model.display(), a.out.display());
    Ok(())
}
