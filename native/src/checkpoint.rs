//! Reading a Hugging Face checkpoint directory from disk and handing its bytes to the core.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::device::{DTypeChoice, SelectedDevice};
use cotlab_core::model::weights::{shard_files_from_index, Shard};
use cotlab_core::model::{LoadedModel, Qwen3Config};

/// The files of a checkpoint directory.
pub struct CheckpointDir {
    pub dir: PathBuf,
}

impl CheckpointDir {
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!(
                "{}: not a directory. Pass --model the folder of a Hugging Face Qwen3 checkpoint \
                 (config.json, tokenizer.json, model.safetensors or model.safetensors.index.json + shards), \
                 e.g. from `huggingface-cli download Qwen/Qwen3-0.6B --local-dir ./Qwen3-0.6B`",
                dir.display()
            );
        }
        Ok(Self { dir: dir.to_path_buf() })
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let p = self.dir.join(name);
        std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))
    }

    fn shown(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub fn config(&self) -> Result<Qwen3Config> {
        Ok(Qwen3Config::from_json(&self.read("config.json")?, &self.shown("config.json"))?)
    }

    pub fn tokenizer(&self) -> Result<QwenTokenizer> {
        Ok(QwenTokenizer::from_bytes(&self.read("tokenizer.json")?, &self.shown("tokenizer.json"))?)
    }

    /// The safetensors files: those named by the shard index, else `model.safetensors`.
    pub fn weight_files(&self) -> Result<Vec<String>> {
        let index = "model.safetensors.index.json";
        if self.dir.join(index).exists() {
            Ok(shard_files_from_index(&self.read(index)?, &self.shown(index))?)
        } else if self.dir.join("model.safetensors").exists() {
            Ok(vec!["model.safetensors".into()])
        } else {
            bail!(
                "{}: no model.safetensors or model.safetensors.index.json. cotlab reads Hugging Face safetensors \
                 checkpoints; convert .bin/.pt weights with `model.save_pretrained(dir, safe_serialization=True)`",
                self.dir.display()
            )
        }
    }

    /// Load config, tokenizer and weights onto `device`.
    pub fn load(&self, device: &SelectedDevice, dtype: DTypeChoice) -> Result<(LoadedModel, QwenTokenizer)> {
        device.check_dtype(dtype)?;
        let config = self.config()?;
        let tokenizer = self.tokenizer()?;
        tokenizer.check_fits(config.vocab_size)?;
        let files = self.weight_files()?;
        let bytes: Vec<Vec<u8>> = files.iter().map(|f| self.read(f)).collect::<Result<_>>()?;
        let shards: Vec<Shard> =
            files.iter().zip(&bytes).map(|(f, b)| Shard { file: self.shown(f), bytes: b }).collect();
        let model = LoadedModel::new(config, &shards, &device.device, dtype.float(), device.max_buffer_bytes)?;
        Ok((model, tokenizer))
    }
}
