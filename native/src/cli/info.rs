//! `cotlab info`: configuration, parameter count and memory needs of a checkpoint or preset.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;
use cotlab_core::model::Qwen3Config;

use crate::checkpoint::CheckpointDir;

#[derive(ClapArgs)]
pub struct Args {
    /// Checkpoint directory.
    #[arg(long, conflicts_with = "preset", required_unless_present = "preset")]
    pub model: Option<PathBuf>,
    /// A released shape instead: 0.6B, 1.7B, 4B, 8B, 14B.
    #[arg(long)]
    pub preset: Option<String>,
    /// Context length for the KV-cache estimate.
    #[arg(long, default_value_t = 4096)]
    pub context: usize,
    #[arg(long)]
    pub json: bool,
}

fn gib(b: usize) -> String {
    format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
}

pub fn run(a: Args) -> Result<()> {
    let (cfg, source) = match (&a.model, &a.preset) {
        (Some(dir), _) => {
            let ckpt = CheckpointDir::open(dir)?;
            let files = ckpt.weight_files()?;
            (ckpt.config()?, format!("{} ({} weight file(s))", dir.display(), files.len()))
        }
        (None, Some(p)) => match Qwen3Config::preset(p) {
            Some(c) => (c, format!("preset Qwen3-{p}")),
            None => bail!("unknown preset {p:?}; use one of {:?}", Qwen3Config::PRESETS),
        },
        _ => bail!("give --model DIR or --preset NAME"),
    };
    let params = cfg.parameter_count();
    let (w32, kv32) = cfg.memory_estimate(4, a.context);
    let (w16, kv16) = cfg.memory_estimate(2, a.context);
    if a.json {
        let v = serde_json::json!({
            "source": source, "config": cfg, "parameters": params,
            "memory_bytes": {
                "f32": {"weights": w32, "kv_cache": kv32},
                "f16": {"weights": w16, "kv_cache": kv16},
            },
            "context": a.context,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("source:         {source}");
    println!("layers:         {}", cfg.num_hidden_layers);
    println!("hidden:         {} (intermediate {})", cfg.hidden_size, cfg.intermediate_size);
    println!(
        "attention:      {} query heads, {} key/value heads, head_dim {}",
        cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    );
    println!("vocabulary:     {} (embeddings {})", cfg.vocab_size, if cfg.tie_word_embeddings { "tied" } else { "untied" });
    println!("rope theta:     {}", cfg.rope_base());
    println!("parameters:     {params} ({:.3} B)", params as f64 / 1e9);
    println!("memory f32:     weights {}, KV cache {} at {} tokens", gib(w32), gib(kv32), a.context);
    println!("memory f16:     weights {}, KV cache {} at {} tokens", gib(w16), gib(kv16), a.context);
    Ok(())
}
