//! Reading and writing PEFT adapter directories.

use std::path::Path;

use anyhow::{Context, Result};
use cotlab_core::lora::peft::{load_peft, save_peft, PeftConfig};
use cotlab_core::lora::LoraSettings;
use cotlab_core::model::weights::Shard;
use cotlab_core::model::LoadedModel;

/// Attach the PEFT adapter in `dir` (adapter_config.json + adapter_model.safetensors).
pub fn load_adapter(model: &mut LoadedModel, dir: &Path) -> Result<LoraSettings> {
    let cfg_path = dir.join("adapter_config.json");
    let w_path = dir.join("adapter_model.safetensors");
    let cfg_bytes = std::fs::read(&cfg_path)
        .with_context(|| format!("{}: cannot read; --adapter takes a PEFT adapter directory", cfg_path.display()))?;
    let cfg_file = cfg_path.display().to_string();
    let cfg = PeftConfig::from_json(&cfg_bytes, &cfg_file)?;
    let bytes = std::fs::read(&w_path).with_context(|| format!("{}: cannot read", w_path.display()))?;
    let shard = Shard { file: w_path.display().to_string(), bytes: &bytes };
    let device = model.device.clone();
    Ok(load_peft(&mut model.model, &cfg, &cfg_file, &shard, &device)?)
}

/// Write the model's adapter to `dir` atomically (a temporary sibling, then a rename), so an
/// interruption never leaves a half-written adapter.
pub fn save_adapter(model: &LoadedModel, settings: &LoraSettings, base_model: &str, dir: &Path) -> Result<()> {
    let (cfg, weights) = save_peft(&model.model, settings, base_model)?;
    write_dir_atomically(dir, &[("adapter_config.json", &cfg), ("adapter_model.safetensors", &weights)])
}

/// Replace `dir` by a directory holding `files`, never leaving a partial one behind.
pub fn write_dir_atomically(dir: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("{}: cannot create", parent.display()))?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    for (f, bytes) in files {
        std::fs::write(tmp.join(f), bytes).with_context(|| format!("{}: cannot write", tmp.join(f).display()))?;
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    std::fs::rename(&tmp, dir).with_context(|| format!("{}: cannot move into place", dir.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
