//! `cotlab train`: LoRA SFT of a Qwen3 checkpoint under one paradigm, resumable.
//!
//! Writes into `--out`: `train_config.json` (every resolved setting, dataset hash, cotlab
//! version), `metrics.jsonl` (one line per update), `checkpoint/` (adapter + optimizer moments +
//! trainer state, every `--save-every` updates, written atomically) and `adapter/` (the final
//! adapter, PEFT format). `--resume` continues from `checkpoint/` and ends bit-identical to an
//! uninterrupted run: data order, dropout masks and every tensor are functions of (seed, step).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use cotlab_core::device::{DTypeChoice, DeviceChoice};
use cotlab_core::lora::LoraSettings;
use cotlab_core::model::LoadedModel;
use cotlab_core::sft::{
    lr_at, parse_jsonl, tokenize_example, train_step, warmup_steps, AdamState, Example, OptimConfig, Paradigm,
    ParadigmSpec, QaEmptyThink, Schedule,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::adapter::{load_adapter, save_adapter, write_dir_atomically};
use crate::checkpoint::CheckpointDir;

#[derive(ClapArgs)]
pub struct Args {
    #[arg(long)]
    pub model: PathBuf,
    /// JSON Lines: {"id", "question", "thinking", "answer", "cot_type", "system"?}.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub paradigm: Paradigm,
    /// Train only on the records of this kind (`cot_type`), e.g. one adapter per kind of a
    /// dataset built by `cotlab data build`.
    #[arg(long)]
    pub kind: Option<String>,
    /// QA only: where the empty think block goes.
    #[arg(long, default_value = "in-prompt")]
    pub qa_empty_think: QaEmptyThink,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 16)]
    pub lora_rank: usize,
    #[arg(long, default_value_t = 32.0)]
    pub lora_alpha: f64,
    #[arg(long, default_value_t = 0.0)]
    pub lora_dropout: f64,
    /// all-linear, or a comma-separated subset of q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj.
    #[arg(long, default_value = "all-linear")]
    pub targets: String,
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Stop after this many updates (overrides --epochs).
    #[arg(long)]
    pub max_steps: Option<usize>,
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    #[arg(long, default_value_t = 0.0)]
    pub warmup_ratio: f64,
    #[arg(long, default_value = "cosine")]
    pub schedule: Schedule,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Clip the global gradient norm (0 disables), as transformers' Trainer (1.0).
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    /// Longer examples are truncated (counted in a warning).
    #[arg(long, default_value_t = 2048)]
    pub max_len: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Start from this PEFT adapter instead of a fresh one.
    #[arg(long)]
    pub init_adapter: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    #[arg(long, default_value = "f32")]
    pub dtype: DTypeChoice,
    /// Kernels: auto (WGSL on wgpu, reference on cpu), reference (plain burn ops) or wgsl.
    #[arg(long, default_value = "auto")]
    pub kernels: cotlab_core::kernels::KernelChoice,
    /// Write a resumable checkpoint every K updates (and at the end).
    #[arg(long, default_value_t = 50)]
    pub save_every: usize,
    /// Continue an interrupted run in --out.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many updates of this invocation without finishing, as an interruption
    /// would (used to test --resume).
    #[arg(long, hide = true)]
    pub halt_after: Option<usize>,
}

/// Everything that determines the result, saved beside it and compared on --resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TrainConfig {
    cotlab_version: String,
    model: String,
    data: String,
    dataset_sha256: String,
    /// `--kind`: the cot_type the records were filtered to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    examples: usize,
    truncated_examples: usize,
    paradigm: ParadigmSpec,
    lora: LoraSettings,
    init_adapter: Option<String>,
    epochs: usize,
    total_steps: usize,
    steps_per_epoch: usize,
    warmup_steps: usize,
    lr: f64,
    schedule: Schedule,
    optimizer: OptimConfig,
    batch_size: usize,
    grad_accum: usize,
    max_len: usize,
    seed: u64,
    dtype: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct TrainerState {
    /// Updates completed.
    step: usize,
    adam_step: u64,
}

#[derive(Serialize)]
struct MetricsLine {
    step: usize,
    epoch: f64,
    loss: f64,
    lr: f64,
    grad_norm: f64,
    tokens_per_s: f64,
    supervised_tokens: usize,
    tokens: usize,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The examples of update `step`: epoch-wise shuffles seeded by (seed, epoch).
fn step_examples<'e>(examples: &'e [Example], cfg: &TrainConfig, step: usize) -> Vec<Vec<&'e Example>> {
    let per_step = cfg.batch_size * cfg.grad_accum;
    let epoch = step / cfg.steps_per_epoch;
    let within = step % cfg.steps_per_epoch;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9)));
    let chosen = &order[(within * per_step).min(order.len())..((within + 1) * per_step).min(order.len())];
    chosen.chunks(cfg.batch_size).map(|c| c.iter().map(|&i| &examples[i]).collect()).collect()
}

fn save_checkpoint(dir: &Path, model: &LoadedModel, cfg: &TrainConfig, state: &AdamState, step: usize) -> Result<()> {
    let (adapter_cfg, adapter) = cotlab_core::lora::peft::save_peft(&model.model, &cfg.lora, &cfg.model)?;
    let optimizer = state.to_safetensors()?;
    let trainer = serde_json::to_vec_pretty(&TrainerState { step, adam_step: state.step })?;
    write_dir_atomically(
        dir,
        &[
            ("adapter_config.json", &adapter_cfg),
            ("adapter_model.safetensors", &adapter),
            ("optimizer.safetensors", &optimizer),
            ("trainer_state.json", &trainer),
        ],
    )
}

fn load_checkpoint(dir: &Path, model: &mut LoadedModel) -> Result<(usize, AdamState)> {
    load_adapter(model, dir)?;
    let st: TrainerState = serde_json::from_slice(&std::fs::read(dir.join("trainer_state.json"))?)
        .with_context(|| format!("{}: unreadable trainer state", dir.display()))?;
    let path = dir.join("optimizer.safetensors");
    let bytes = std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    let state = AdamState::from_safetensors(&bytes, st.adam_step, &path.display().to_string(), &model.device)?;
    Ok((st.step, state))
}

pub fn run(a: Args) -> Result<()> {
    // 1. Data first: a bad line stops the run before anything is written.
    let spec = ParadigmSpec { paradigm: a.paradigm, qa_empty_think: a.qa_empty_think };
    let data_bytes = std::fs::read(&a.data).with_context(|| format!("{}: cannot read", a.data.display()))?;
    let mut records = parse_jsonl(&data_bytes, &a.data.display().to_string(), a.paradigm)?;
    if let Some(kind) = &a.kind {
        let mut present: Vec<String> = records.iter().filter_map(|r| r.cot_type.clone()).collect();
        present.sort();
        present.dedup();
        records.retain(|r| r.cot_type.as_deref() == Some(kind.as_str()));
        if records.is_empty() {
            bail!("{}: no record has cot_type {kind:?} (--kind); the file has {}", a.data.display(), present.join(", "));
        }
    }
    let lora = LoraSettings::new(a.lora_rank, a.lora_alpha, a.lora_dropout, &[a.targets.clone()])?;
    if a.batch_size == 0 || a.grad_accum == 0 || a.save_every == 0 {
        bail!("--batch-size, --grad-accum and --save-every must be at least 1");
    }

    let device = super::device(a.device)?;
    let ckpt = CheckpointDir::open(&a.model)?;
    let (mut model, tok) = ckpt.load(&device, a.dtype)?;
    super::kernels(&mut model, a.kernels)?;

    // 2. Tokenize with the paradigm's mask; truncate, loudly.
    let mut truncated = 0;
    let mut examples = Vec::with_capacity(records.len());
    for r in &records {
        let mut e = tokenize_example(r, spec, &tok)?;
        if e.input_ids.len() > a.max_len {
            truncated += 1;
            e.input_ids.truncate(a.max_len);
            e.labels.truncate(a.max_len);
        }
        if e.supervised_tokens() == 0 {
            bail!("record {:?} has no supervised token left (after truncation to --max-len {}); raise --max-len", r.id, a.max_len);
        }
        examples.push(e);
    }
    if truncated > 0 {
        eprintln!("warning: {truncated} of {} examples were longer than --max-len {} and were truncated", examples.len(), a.max_len);
    }
    let per_step = a.batch_size * a.grad_accum;
    let steps_per_epoch = examples.len().div_ceil(per_step);
    let total_steps = a.max_steps.unwrap_or(steps_per_epoch * a.epochs);
    let cfg = TrainConfig {
        cotlab_version: cotlab_core::VERSION.into(),
        model: a.model.display().to_string(),
        data: a.data.display().to_string(),
        dataset_sha256: sha256_hex(&data_bytes),
        kind: a.kind.clone(),
        examples: examples.len(),
        truncated_examples: truncated,
        paradigm: spec,
        lora: lora.clone(),
        init_adapter: a.init_adapter.as_ref().map(|p| p.display().to_string()),
        epochs: a.epochs,
        total_steps,
        steps_per_epoch,
        warmup_steps: warmup_steps(a.warmup_ratio, total_steps),
        lr: a.lr,
        schedule: a.schedule,
        optimizer: OptimConfig { weight_decay: a.weight_decay, max_grad_norm: a.max_grad_norm, ..Default::default() },
        batch_size: a.batch_size,
        grad_accum: a.grad_accum,
        max_len: a.max_len,
        seed: a.seed,
        dtype: format!("{:?}", a.dtype),
    };

    // 3. Fresh run or resume.
    let config_path = a.out.join("train_config.json");
    let checkpoint_dir = a.out.join("checkpoint");
    let metrics_path = a.out.join("metrics.jsonl");
    let (mut step, mut state) = if a.resume {
        let saved: TrainConfig = serde_json::from_slice(
            &std::fs::read(&config_path).with_context(|| format!("{}: nothing to resume", config_path.display()))?,
        )?;
        if saved != cfg {
            bail!("{}: the settings differ from this command's; resume with the same arguments (or start a new --out)", config_path.display());
        }
        if checkpoint_dir.exists() {
            let (s, st) = load_checkpoint(&checkpoint_dir, &mut model)?;
            eprintln!("resuming after update {s} of {total_steps}");
            (s, st)
        } else {
            fresh_adapter(&mut model, &a, &lora)?;
            (0, AdamState::default())
        }
    } else {
        if config_path.exists() {
            bail!("{}: a run already exists; pass --resume to continue it or choose another --out", a.out.display());
        }
        std::fs::create_dir_all(&a.out).with_context(|| format!("{}: cannot create", a.out.display()))?;
        std::fs::write(&config_path, serde_json::to_vec_pretty(&cfg)?)?;
        fresh_adapter(&mut model, &a, &lora)?;
        (0, AdamState::default())
    };
    // Metrics beyond the checkpoint belong to lost work: keep only lines up to `step`.
    let kept: Vec<String> = std::fs::read_to_string(&metrics_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).ok().and_then(|v| v["step"].as_u64()).is_some_and(|s| s as usize <= step))
        .map(String::from)
        .collect();
    let mut metrics = std::fs::File::create(&metrics_path)?;
    for l in &kept {
        writeln!(metrics, "{l}")?;
    }

    // 4. Train.
    let bar = ProgressBar::new(total_steps as u64).with_position(step as u64);
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} updates  {msg}  ETA {eta}").unwrap());
    model.model.set_lora_training(lora.lora_dropout > 0.0);
    let pad = tok.endoftext;
    let mut done_here = 0;
    while step < total_steps {
        if a.halt_after == Some(done_here) {
            bar.abandon_with_message("halted (--halt-after)");
            return Ok(());
        }
        // Dropout masks are a function of (seed, step), so a resumed run draws the same ones.
        model.device.seed(a.seed.wrapping_mul(1_000_003).wrapping_add(step as u64));
        let micro = step_examples(&examples, &cfg, step);
        let lr = lr_at(cfg.schedule, cfg.lr, step, total_steps, cfg.warmup_steps);
        let t0 = Instant::now();
        let report = match pollster::block_on(train_step(&mut model, &micro, &cfg.optimizer, lr, &mut state, pad)) {
            Ok(r) => r,
            Err(e) => {
                bar.abandon();
                bail!("{e}\nthe last good checkpoint is in {}", checkpoint_dir.display());
            }
        };
        step += 1;
        done_here += 1;
        let tps = report.tokens as f64 / t0.elapsed().as_secs_f64();
        let line = MetricsLine {
            step,
            epoch: step as f64 / steps_per_epoch as f64,
            loss: report.loss,
            lr,
            grad_norm: report.grad_norm,
            tokens_per_s: tps,
            supervised_tokens: report.supervised_tokens,
            tokens: report.tokens,
        };
        writeln!(metrics, "{}", serde_json::to_string(&line)?)?;
        bar.set_message(format!("loss {:.4}  {:.0} tok/s", report.loss, tps));
        bar.set_position(step as u64);
        if step % a.save_every == 0 || step == total_steps {
            save_checkpoint(&checkpoint_dir, &model, &cfg, &state, step)?;
        }
    }
    bar.finish();
    save_adapter(&model, &lora, &cfg.model, &a.out.join("adapter"))?;
    eprintln!("adapter written to {}", a.out.join("adapter").display());
    Ok(())
}

fn fresh_adapter(model: &mut LoadedModel, a: &Args, lora: &LoraSettings) -> Result<()> {
    match &a.init_adapter {
        Some(dir) => {
            let loaded = load_adapter(model, dir)?;
            if loaded.r != lora.r || loaded.target_modules != lora.target_modules || loaded.lora_alpha != lora.lora_alpha {
                bail!(
                    "{}: adapter has rank {}, alpha {} on {:?}, but this run asks for rank {}, alpha {} on {:?}; pass matching --lora-rank/--lora-alpha/--targets",
                    dir.display(), loaded.r, loaded.lora_alpha, loaded.target_modules, lora.r, lora.lora_alpha, lora.target_modules
                );
            }
        }
        None => {
            model.device.seed(a.seed);
            let device = model.device.clone();
            model.model.attach_lora(lora, &device);
        }
    }
    Ok(())
}
