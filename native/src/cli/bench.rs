//! `cotlab bench generate`: prefill and decode speed on a randomly initialised model of a
//! released Qwen3 shape (no checkpoint needed). Figures go to BENCHMARKS.md with this command.

use std::time::Instant;

use anyhow::{bail, Result};
use clap::{Args as ClapArgs, ValueEnum};
use cotlab_core::device::{DTypeChoice, DeviceChoice, SelectedDevice};
use cotlab_core::generate::{GenerateParams, Generation, Prompt, Sampling};
use cotlab_core::model::random::random_qwen3;
use cotlab_core::lora::LoraSettings;
use cotlab_core::model::{LoadedModel, Qwen3Config};
use cotlab_core::sft::{train_step, AdamState, Example, OptimConfig};

#[derive(Clone, Copy, ValueEnum)]
pub enum What {
    /// Prefill and cached decode.
    Generate,
    /// One LoRA SFT update (forward, backward, AdamW) on a sequence of --seq tokens.
    Train,
    /// The hot-path kernels alone (--op), reference or WGSL (--kernels), at --seq tokens.
    Kernels,
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
    /// Train: sequence length (every position after the first carries loss).
    #[arg(long, default_value_t = 256)]
    pub seq: usize,
    /// Train: LoRA rank (all-linear, alpha = 2·rank).
    #[arg(long, default_value_t = 16)]
    pub rank: usize,
    /// Train: timed updates.
    #[arg(long, default_value_t = 2)]
    pub steps: usize,
    /// Kernels: auto (WGSL on wgpu, reference on cpu), reference or wgsl.
    #[arg(long, default_value = "auto")]
    pub kernels: cotlab_core::kernels::KernelChoice,
    /// Kernels bench: which operation (rms-norm, rope, cross-entropy, sample).
    #[arg(long, default_value = "cross-entropy")]
    pub op: super::bench_kernels::Op,
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in bytes.
pub(super) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// Deterministic, varied token ids for row `row` of a benchmark batch (as the Python twins use).
fn synthetic_ids(row: usize, len: usize) -> Vec<u32> {
    (0..len).map(|i| ((i * 7919 + row * 104729) % 150_000) as u32).collect()
}

/// A randomly initialised model of the requested shape on the requested device.
pub(super) fn random_model(a: &Args) -> Result<(LoadedModel, SelectedDevice)> {
    let Some(mut cfg) = Qwen3Config::preset(&a.preset) else {
        bail!("unknown preset {:?}; use one of {:?}", a.preset, Qwen3Config::PRESETS);
    };
    if let Some(l) = a.layers {
        cfg.num_hidden_layers = l;
    }
    let device = super::device(a.device)?;
    device.check_dtype(a.dtype)?;
    device.device.seed(0);
    let weights = random_qwen3(&cfg, &device.device, a.dtype.float(), device.max_buffer_bytes);
    let mut model = LoadedModel::from_parts(cfg, weights, device.device.clone(), a.dtype.float(), device.max_buffer_bytes);
    super::kernels(&mut model, a.kernels)?;
    Ok((model, device))
}

pub fn run(a: Args) -> Result<()> {
    match a.what {
        What::Generate => run_generate(a),
        What::Train => run_train(a),
        What::Kernels => super::bench_kernels::run(&a),
    }
}

fn run_train(a: Args) -> Result<()> {
    let (mut model, device) = random_model(&a)?;
    let cfg = model.config.clone();
    let settings = LoraSettings::new(a.rank, 2.0 * a.rank as f64, 0.0, &["all-linear".to_string()])?;
    let dev = model.device.clone();
    model.model.attach_lora(&settings, &dev);
    let base_rss = peak_rss();
    let examples: Vec<Example> = (0..a.batch)
        .map(|b| {
            let ids = synthetic_ids(b, a.seq);
            let labels = ids.iter().map(|&i| i as i64).collect();
            Example { id: b.to_string(), input_ids: ids, labels }
        })
        .collect();
    let batch: Vec<&Example> = examples.iter().collect();
    let opt = OptimConfig::default();
    let mut state = AdamState::default();
    let mut best = f64::INFINITY;
    for run in 0..a.warmup + a.steps {
        let t0 = Instant::now();
        let r = pollster::block_on(train_step(&mut model, &[batch.clone()], &opt, 1e-4, &mut state, 151_643))?;
        let dt = t0.elapsed().as_secs_f64();
        eprintln!("update {run}: {dt:.2}s, loss {:.4}", r.loss);
        if run >= a.warmup {
            best = best.min(dt);
        }
    }
    let pool = model.device.memory_pool_usage().map(|u| format!("{u:?}"));
    let kernels = format!("{:?}", model.kernels());
    let result = serde_json::json!({
        "bench": "train",
        "preset": a.preset,
        "layers": cfg.num_hidden_layers,
        "device": device.description,
        "kernels": kernels,
        "dtype": format!("{:?}", a.dtype),
        "batch": a.batch,
        "seq": a.seq,
        "lora_rank": a.rank,
        "step_s": best,
        "tokens_per_s": (a.seq * a.batch) as f64 / best,
        "peak_rss_bytes": peak_rss(),
        "rss_after_init_bytes": base_rss,
        "device_pool": pool,
        "cotlab": cotlab_core::VERSION,
    });
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

fn run_generate(a: Args) -> Result<()> {
    let (model, device) = random_model(&a)?;
    let cfg = model.config.clone();
    let prompts: Vec<Prompt> = (0..a.batch)
        .map(|b| Prompt { ids: synthetic_ids(b, a.prompt_len), seed: b as u64 })
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
        "kernels": format!("{:?}", model.kernels()),
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
