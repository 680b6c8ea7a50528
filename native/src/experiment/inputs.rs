//! Turning an experiment's model and data entries into files on disk, once per run directory:
//! local folders as they are, Hugging Face ids through the local cache, random models written
//! into `DIR/models/<name>/`, and the bundled sample dataset into `DIR/data/`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cotlab_core::device::DTypeChoice;
use cotlab_core::model::export::{export_safetensors, SaveDType};
use cotlab_core::model::random::random_qwen3;
use cotlab_core::model::Qwen3Config;

use super::spec::{resolve_hf_id, Experiment, ModelSpec, RandomModel};

/// The folder holding model `m`'s checkpoint.
pub fn model_dir(out: &Path, m: &ModelSpec) -> Result<PathBuf> {
    if let Some(p) = &m.path {
        let dir = PathBuf::from(p);
        if !dir.join("config.json").exists() {
            bail!("model {:?}: {}/config.json not found; `path` must be a Hugging Face checkpoint folder", m.name, dir.display());
        }
        return Ok(dir);
    }
    if let Some(id) = &m.id {
        return resolve_hf_id(id);
    }
    let r = m.random.as_ref().expect("checked at parse time");
    let dir = out.join("models").join(&m.name);
    if !dir.join("model.safetensors").exists() {
        write_random_model(&dir, r).with_context(|| format!("model {:?}: cannot write the random checkpoint", m.name))?;
    }
    Ok(dir)
}

/// A random Qwen3 of `r`'s shape with Qwen3's vocabulary, tokenizer and special tokens, saved
/// as a Hugging Face checkpoint (written to a temporary folder, then renamed into place).
fn write_random_model(dir: &Path, r: &RandomModel) -> Result<()> {
    let tok_dir = Path::new(&r.tokenizer);
    let tok_json = tok_dir.join("tokenizer.json");
    let tok_cfg = tok_dir.join("tokenizer_config.json");
    let tokenizer = std::fs::read(&tok_json).with_context(|| {
        format!("{}: cannot read the Qwen3 tokenizer; run `bash tests/setup.sh` (it fetches it) or set models.random.tokenizer", tok_json.display())
    })?;
    let tokenizer_config = std::fs::read(&tok_cfg).with_context(|| format!("{}: cannot read", tok_cfg.display()))?;

    let mut cfg = Qwen3Config::preset("0.6B").expect("built-in preset");
    cfg.hidden_size = r.hidden_size;
    cfg.intermediate_size = r.intermediate_size;
    cfg.num_hidden_layers = r.num_hidden_layers;
    cfg.num_attention_heads = r.num_attention_heads;
    cfg.num_key_value_heads = r.num_key_value_heads;
    cfg.head_dim = r.head_dim;
    cfg.validate("[models.random]")?;

    let device = cotlab_core::device::SelectedDevice::cpu();
    device.device.seed(r.seed);
    let model = random_qwen3(&cfg, &device.device, DTypeChoice::F32.float(), device.max_buffer_bytes);
    let shards = export_safetensors(&model, SaveDType::F32, usize::MAX)?;

    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{}.tmp-{}", dir.file_name().unwrap().to_string_lossy(), std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    std::fs::write(tmp.join("config.json"), serde_json::to_vec_pretty(&cfg)?)?;
    for (name, bytes) in shards {
        std::fs::write(tmp.join(name), bytes)?;
    }
    std::fs::write(tmp.join("tokenizer.json"), tokenizer)?;
    std::fs::write(tmp.join("tokenizer_config.json"), tokenizer_config)?;
    if let Err(e) = std::fs::rename(&tmp, dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another task of the same run (a Slurm array) may have written it first.
        if !dir.join("model.safetensors").exists() {
            return Err(e).with_context(|| format!("{}: cannot move into place", dir.display()));
        }
    }
    Ok(())
}

/// The dataset file: the experiment's path, or the bundled sample written into `DIR/data/`.
pub fn dataset_file(out: &Path, e: &Experiment) -> Result<PathBuf> {
    if e.data.path == "builtin:sample" {
        let path = out.join("data").join("sample_dataset.jsonl");
        if !path.exists() {
            std::fs::create_dir_all(path.parent().unwrap())?;
            let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
            std::fs::write(&tmp, cotlab_core::data::sample::DATASET)?;
            std::fs::rename(&tmp, &path)?;
        }
        return Ok(path);
    }
    let path = PathBuf::from(&e.data.path);
    if !path.is_file() {
        bail!("data.path: {} does not exist; build it with `cotlab data build` or use \"builtin:sample\"", path.display());
    }
    Ok(path)
}
