//! Parity with the reference implementation (transformers 5, float32) on random Qwen3
//! checkpoints of several shapes: head_dim ≠ hidden/heads, untied embeddings, bf16 storage,
//! sharded f16 storage. Golden values: tests/reference/make_fixtures.py.
//!
//! Tolerances: logits (and their log-sum-exp) within 1e-4 absolute in f32; greedy token ids
//! identical (the script only accepts continuations whose top-1/top-2 gap is ≥ 2e-3).

mod common;

use burn::tensor::FloatDType;
use common::*;
use cotlab_core::chat::{render, Mode, QwenTokenizer, RenderOptions};
use cotlab_core::device::{select_device, DeviceChoice, SelectedDevice};
use cotlab_core::generate::{GenerateParams, Generation, GenerationOutput, Prompt, Sampling};
use cotlab_core::model::weights::Shard;
use cotlab_core::model::LoadedModel;

const LOGIT_TOL: f64 = 1e-4;
const MODELS: [&str; 4] = ["tiny", "untied", "bf16", "sharded"];

fn wgpu() -> SelectedDevice {
    select_device(DeviceChoice::Wgpu).unwrap_or_else(|e| {
        panic!("wgpu parity tests need a wgpu adapter (CI: `apt-get install mesa-vulkan-drivers` gives lavapipe): {e}")
    })
}

fn load(name: &str, device: &SelectedDevice) -> LoadedModel {
    let config = std::fs::read(fixtures().join("models").join(name).join("config.json")).unwrap();
    let files = checkpoint_files(name);
    let shards: Vec<Shard> = files.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
    LoadedModel::from_bytes(&config, "config.json", &shards, &device.device, FloatDType::F32).unwrap()
}

/// The same model with its vocabulary matrices split into blocks of at most `max_bytes`.
fn load_split(name: &str, device: &SelectedDevice, max_bytes: u64) -> LoadedModel {
    let config = std::fs::read(fixtures().join("models").join(name).join("config.json")).unwrap();
    let cfg = cotlab_core::model::Qwen3Config::from_json(&config, "config.json").unwrap();
    let files = checkpoint_files(name);
    let shards: Vec<Shard> = files.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
    LoadedModel::new(cfg, &shards, &device.device, FloatDType::F32, Some(max_bytes)).unwrap()
}

fn tokenizer() -> QwenTokenizer {
    QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap()
}

fn check_logits(name: &str, device: &SelectedDevice) {
    let model = load(name, device);
    let reference = reference(name);
    let mut worst = 0.0f64;
    for (p, rec) in reference.prompts.iter().enumerate() {
        let logits = model.logits(&rec.ids);
        let [_, t, v] = logits.dims();
        assert_eq!(t, rec.ids.len());
        let flat: Vec<f32> = logits.into_data().try_to_vec::<f32>().unwrap();
        for pos in 0..t {
            let row = &flat[pos * v..(pos + 1) * v];
            let lse = cotlab_core::generate::sampler::log_sum_exp(row);
            let mut check = |what: &str, ours: f64, theirs: f64| {
                let d = (ours - theirs).abs();
                worst = worst.max(d);
                assert!(d <= LOGIT_TOL, "{name} prompt {p} pos {pos}: {what} = {ours} vs reference {theirs} (|Δ| {d:.2e} > {LOGIT_TOL})");
            };
            check("logsumexp", lse, rec.lse[pos]);
            for (k, &id) in reference.probe_ids.iter().enumerate() {
                check(&format!("logit[{id}]"), row[id as usize] as f64, rec.probe[pos][k]);
            }
            let top = cotlab_core::generate::sampler::top_logprobs(row, 5);
            for (k, lp) in top.iter().enumerate() {
                assert_eq!(lp.token_id, rec.top5_ids[pos][k], "{name} prompt {p} pos {pos}: top-{k} id");
                check(&format!("top{k} logit"), row[lp.token_id as usize] as f64, rec.top5_logits[pos][k]);
            }
        }
    }
    eprintln!("{name} on {}: max |Δlogit| = {worst:.2e}", device.description);
}

fn greedy(model: &LoadedModel, prompts: &[Vec<u32>], max_new: usize, logprobs: usize) -> Vec<GenerationOutput> {
    let params = GenerateParams {
        max_new_tokens: max_new,
        sampling: Sampling::Greedy,
        logprobs,
        stop_ids: vec![151645, 151643],
        pad_id: 151643,
    };
    let prompts: Vec<Prompt> = prompts.iter().map(|ids| Prompt { ids: ids.clone(), seed: 0 }).collect();
    Generation::new(model, &prompts, params).unwrap().run(|_| {}).unwrap()
}

fn check_greedy(name: &str, device: &SelectedDevice) {
    let model = load(name, device);
    let reference = reference(name);
    let tok = tokenizer();
    for rec in &reference.greedy {
        // 1. cotlab renders and tokenizes the conversation to exactly the reference prompt.
        let mode: Mode = rec.mode.parse().unwrap();
        let text = render(
            &to_messages(&rec.messages),
            RenderOptions { add_generation_prompt: true, enable_thinking: mode.enable_thinking() },
        )
        .unwrap();
        assert_eq!(tok.encode(&text).unwrap(), rec.prompt_ids, "{name} {}: prompt ids", rec.mode);
        // 2. Greedy continuation with cached decoding equals transformers' generate().
        let out = &greedy(&model, &[rec.prompt_ids.clone()], rec.generated.len(), 5)[0];
        assert_eq!(out.token_ids, rec.generated, "{name} {} on {}: greedy ids", rec.mode, device.description);
        for (s, (ours, theirs)) in out.logprobs.iter().zip(&rec.steps).enumerate() {
            let ids: Vec<u32> = ours.iter().map(|l| l.token_id).collect();
            assert_eq!(ids, theirs.top5_ids, "{name} step {s}: top-5 ids");
            for (a, b) in ours.iter().zip(&theirs.top5_logprobs) {
                assert!((a.logprob as f64 - b).abs() <= LOGIT_TOL, "{name} step {s}: logprob {} vs {b}", a.logprob);
            }
        }
    }
}

fn check_batched_equals_unbatched(name: &str, device: &SelectedDevice) {
    let model = load(name, device);
    let reference = reference(name);
    let prompts: Vec<Vec<u32>> = reference.greedy.iter().map(|g| g.prompt_ids.clone()).collect();
    let lengths: Vec<usize> = prompts.iter().map(|p| p.len()).collect();
    assert!(lengths.iter().min() != lengths.iter().max(), "prompts of different lengths exercise left padding");
    let batched = greedy(&model, &prompts, 12, 3);
    for (i, p) in prompts.iter().enumerate() {
        let alone = &greedy(&model, &[p.clone()], 12, 3)[0];
        assert_eq!(batched[i].token_ids, alone.token_ids, "{name} row {i}: batched ids differ from unbatched");
        assert_eq!(batched[i].finish_reason, alone.finish_reason);
        for (a, b) in batched[i].logprobs.iter().flatten().zip(alone.logprobs.iter().flatten()) {
            assert_eq!(a.token_id, b.token_id);
            assert!((a.logprob - b.logprob).abs() <= 1e-4, "{name} row {i}: logprob {} vs {}", a.logprob, b.logprob);
        }
    }
}

#[test]
fn logits_match_transformers_on_cpu() {
    for name in MODELS {
        check_logits(name, &SelectedDevice::cpu());
    }
}

#[test]
fn logits_match_transformers_on_wgpu() {
    let device = wgpu();
    for name in MODELS {
        check_logits(name, &device);
    }
}

#[test]
fn greedy_matches_transformers_on_cpu() {
    for name in MODELS {
        check_greedy(name, &SelectedDevice::cpu());
    }
}

#[test]
fn greedy_matches_transformers_on_wgpu() {
    let device = wgpu();
    for name in ["tiny", "untied"] {
        check_greedy(name, &device);
    }
}

#[test]
fn batched_generation_equals_one_by_one_on_cpu() {
    check_batched_equals_unbatched("tiny", &SelectedDevice::cpu());
    check_batched_equals_unbatched("untied", &SelectedDevice::cpu());
}

#[test]
fn batched_generation_equals_one_by_one_on_wgpu() {
    check_batched_equals_unbatched("tiny", &wgpu());
}

#[test]
fn vocabulary_split_to_fit_small_buffers_changes_nothing() {
    // 1 MiB blocks: tiny's 151,936 × 64 f32 embedding becomes 38 chunks, untied's (× 48) 28.
    for name in ["tiny", "untied"] {
        let whole = load(name, &SelectedDevice::cpu());
        let split = load_split(name, &SelectedDevice::cpu(), 1 << 20);
        assert!(split.model.embed_tokens.chunks.len() > 20, "{name}: expected many chunks");
        let ids = &reference(name).prompts[0].ids;
        let a: Vec<f32> = whole.logits(ids).into_data().try_to_vec::<f32>().unwrap();
        let b: Vec<f32> = split.logits(ids).into_data().try_to_vec::<f32>().unwrap();
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "{name}: split vocabulary changes logits by {worst}");
    }
}
