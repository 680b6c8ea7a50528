//! `cotlab bench generate`: prefill and decode speed on a randomly initialised model of a
//! released Qwen3 shape (no checkpoint needed). Figures go to BENCHMARKS.md with this command.

use std::time::Instant;

use anyhow::{bail, Result};
use clap::{Args as ClapArgs, ValueEnum};
use cotlab_core::device::{DTypeChoice, DeviceChoice};
use cotlab_core::generate::{GenerateParams, Generation, Prompt, Sampling};
use cotlab_core::model::random::random_qwen3;
use cotlab_core::model::{LoadedModel, Qwen3Config};

#[derive(Clone, Copy, ValueEnum)]
pub enum What {
    /// Prefill and cached decode.
    Generate,
}

#[derive(ClapArgs)]
pub struct Args {
    pub what: What,
    /// Model shape: 0.6B, 1.7B, 4B, 8B, 14B.
    #[arg(long, default_value = "0.6B")]
    pub preset: String,
    /// Override the number of layers (quick runs on small machines).
    #[arg(long)]
    pub layers: Option<usize>,
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    #[arg(long, default_value = "f32")]
    pub dtype: DTypeChoice,
    /// Prompt length in tokens.
    #[arg(long, default_value_t = 128)]
    pub prompt_len: usize,
    /// Tokens to decode after the prefill.
    #[arg(long, default_value_t = 32)]
    pub new_tokens: usize,
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Untimed warm-up runs (kernel compilation, autotuning).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
}

pub fn run(a: Args) -> Result<()> {
    let Some(mut cfg) = Qwen3Config::preset(&a.preset) else {
        bail!("unknown preset {:?}; use one of {:?}", a.preset, Qwen3Config::PRESETS);
    };
    if let Some(l) = a.layers {
        cfg.num_hidden_layers = l;
    }
    let device = super::device(a.device)?;
    device.check_dtype(a.dtype)?;
    device.device.seed(0);
    let model = LoadedModel::from_parts(cfg.clone(), random_qwen3(&cfg, &device.device, a.dtype.float()), device.device.clone(), a.dtype.float());
    let prompts: Vec<Prompt> = (0..a.batch)
        .map(|b| Prompt { ids: (0..a.prompt_len).map(|i| ((i * 7919 + b * 104729) % 150_000) as u32).collect(), seed: b as u64 })
        .collect();
    // No stop tokens: every run decodes exactly `new_tokens`.
    let params = GenerateParams { max_new_tokens: a.new_tokens, sampling: Sampling::Greedy, logprobs: 0, stop_ids: vec![], pad_id: 151_643 };

    let mut best_prefill = f64::INFINITY;
    let mut best_decode = f64::INFINITY;
    for run in 0..a.warmup + 3 {
        let mut g = Generation::new(&model, &prompts, params.clone())?;
        let t0 = Instant::now();
        pollster::block_on(g.step())?; // prefill + first token (reads back, so it is synchronised)
        let prefill = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        while !g.is_done() {
            pollster::block_on(g.step())?;
        }
        let decode = t1.elapsed().as_secs_f64();
        if run >= a.warmup {
            best_prefill = best_prefill.min(prefill);
            best_decode = best_decode.min(decode);
        }
    }
    let decoded = (a.new_tokens.saturating_sub(1) * a.batch) as f64;
    let result = serde_json::json!({
        "bench": "generate",
        "preset": a.preset,
        "layers": cfg.num_hidden_layers,
        "device": device.description,
        "dtype": format!("{:?}", a.dtype),
        "batch": a.batch,
        "prompt_len": a.prompt_len,
        "new_tokens": a.new_tokens,
        "prefill_s": best_prefill,
        "prefill_tokens_per_s": (a.prompt_len * a.batch) as f64 / best_prefill,
        "decode_tokens_per_s": decoded / best_decode,
        "cotlab": cotlab_core::VERSION,
    });
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}
