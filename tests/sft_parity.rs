//! LoRA SFT against transformers + PEFT + torch AdamW (golden values:
//! tests/reference/make_sft_fixtures.py) on the "tiny" checkpoint:
//! * each paradigm's input ids and labels equal the reference's exactly (tricky text included:
//!   reasoning containing `</think>` literally, empty thinking, unicode, stray newlines);
//! * one AdamW step gives the same loss (±1e-5 relative) and adapter tensors (±1e-4);
//! * a PEFT-saved adapter loads and gives PEFT's logits (±1e-4); cotlab saves the same names,
//!   shapes and config fields PEFT writes;
//! * a short run lowers the loss on its own data.

mod common;

use std::collections::BTreeMap;

use burn::tensor::{Device, FloatDType};
use common::*;
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::lora::peft::{load_peft, save_peft, PeftConfig};
use cotlab_core::lora::LoraSettings;
use cotlab_core::model::weights::Shard;
use cotlab_core::model::LoadedModel;
use cotlab_core::sft::{mean_loss, parse_jsonl, tokenize_example, train_step, AdamState, Example, OptimConfig, Paradigm};
use serde::Deserialize;

#[derive(Deserialize)]
struct RefExample {
    id: String,
    input_ids: Vec<u32>,
    labels: Vec<i64>,
}

#[derive(Deserialize)]
struct RefStep {
    examples: Vec<RefExample>,
    loss: f64,
    updated: BTreeMap<String, Vec<f64>>,
}

#[derive(Deserialize)]
struct SftReference {
    lr: f64,
    weight_decay: f64,
    probe_ids: Vec<u32>,
    peft_logits: LogitsRecord,
    steps: BTreeMap<String, RefStep>,
}

fn sft_dir() -> std::path::PathBuf {
    fixtures().join("sft")
}

fn reference() -> SftReference {
    read_json(&sft_dir().join("reference.json"))
}

fn tokenizer() -> QwenTokenizer {
    QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap()
}

fn base() -> LoadedModel {
    let config = std::fs::read(fixtures().join("models/tiny/config.json")).unwrap();
    let files = checkpoint_files("tiny");
    let shards: Vec<Shard> = files.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
    LoadedModel::from_bytes(&config, "config.json", &shards, &Device::flex(), FloatDType::F32).unwrap()
}

/// The PEFT adapter of the fixture, regenerated from adapter_weights.json.
fn adapter_bytes() -> Vec<u8> {
    checkpoint_files_from(&sft_dir().join("adapter_weights.json")).remove("adapter_model.safetensors").unwrap()
}

fn with_adapter() -> LoadedModel {
    let mut m = base();
    let cfg_bytes = std::fs::read(sft_dir().join("adapter_config.json")).unwrap();
    let cfg = PeftConfig::from_json(&cfg_bytes, "adapter_config.json").unwrap();
    let bytes = adapter_bytes();
    let shard = Shard { file: "adapter_model.safetensors".into(), bytes: &bytes };
    load_peft(&mut m.model, &cfg, "adapter_config.json", &shard, &m.device.clone()).unwrap();
    m
}

fn records(paradigm: Paradigm) -> Vec<cotlab_core::sft::Record> {
    parse_jsonl(&std::fs::read(sft_dir().join("records.jsonl")).unwrap(), "records.jsonl", paradigm).unwrap()
}

fn examples(paradigm: Paradigm, tok: &QwenTokenizer) -> Vec<Example> {
    records(paradigm).iter().map(|r| tokenize_example(r, paradigm.into(), tok).unwrap()).collect()
}

#[test]
fn masks_match_the_reference_for_every_paradigm() {
    let tok = tokenizer();
    let reference = reference();
    for paradigm in Paradigm::ALL {
        let step = &reference.steps[paradigm.as_str()];
        for (rec, want) in records(paradigm).iter().zip(&step.examples) {
            let ex = tokenize_example(rec, paradigm.into(), &tok).unwrap();
            assert_eq!(ex.id, want.id);
            assert_eq!(ex.input_ids, want.input_ids, "{paradigm:?} {}: ids", rec.id);
            assert_eq!(ex.labels, want.labels, "{paradigm:?} {}: labels", rec.id);
        }
    }
}

#[test]
fn one_adamw_step_matches_peft_and_torch() {
    let tok = tokenizer();
    let reference = reference();
    for paradigm in Paradigm::ALL {
        let want = &reference.steps[paradigm.as_str()];
        let mut model = with_adapter();
        let examples = examples(paradigm, &tok);
        let batch: Vec<&Example> = examples.iter().collect();
        let opt = OptimConfig { weight_decay: reference.weight_decay, max_grad_norm: 0.0, ..Default::default() };
        let mut state = AdamState::default();
        let report = pollster::block_on(train_step(&mut model, &[batch], &opt, reference.lr, &mut state, 151643)).unwrap();
        let rel = (report.loss - want.loss).abs() / want.loss.abs();
        assert!(rel <= 1e-5, "{paradigm:?}: loss {} vs {} (rel {rel:.2e})", report.loss, want.loss);
        let mut worst = 0.0f64;
        for (path, lora) in model.model.adapters() {
            for (ab, t) in [("A", lora.a.val()), ("B", lora.b.val())] {
                let name = format!("base_model.model.{path}.lora_{ab}.weight");
                let ours: Vec<f32> = t.into_data().try_to_vec::<f32>().unwrap();
                let theirs = &want.updated[&name];
                assert_eq!(ours.len(), theirs.len(), "{name}");
                for (a, b) in ours.iter().zip(theirs) {
                    let d = (*a as f64 - b).abs();
                    worst = worst.max(d);
                    assert!(d <= 1e-4, "{paradigm:?} {name}: {a} vs {b}");
                }
            }
        }
        eprintln!("{paradigm:?}: loss {} (reference {}), max |Δ adapter| {worst:.2e}", report.loss, want.loss);
    }
}

#[test]
fn peft_adapter_gives_peft_logits() {
    let model = with_adapter();
    let reference = reference();
    let rec = &reference.peft_logits;
    let logits = model.logits(&rec.ids);
    let [_, t, v] = logits.dims();
    let flat: Vec<f32> = logits.into_data().try_to_vec::<f32>().unwrap();
    for pos in 0..t {
        let row = &flat[pos * v..(pos + 1) * v];
        let lse = cotlab_core::generate::sampler::log_sum_exp(row);
        assert!((lse - rec.lse[pos]).abs() <= 1e-4, "pos {pos}: lse {lse} vs {}", rec.lse[pos]);
        for (k, &id) in reference.probe_ids.iter().enumerate() {
            let d = (row[id as usize] as f64 - rec.probe[pos][k]).abs();
            assert!(d <= 1e-4, "pos {pos} id {id}: |Δ| {d}");
        }
    }
}

#[test]
fn saved_adapter_has_pefts_names_shapes_and_fields() {
    let model = with_adapter();
    let cfg_bytes = std::fs::read(sft_dir().join("adapter_config.json")).unwrap();
    let peft_cfg = PeftConfig::from_json(&cfg_bytes, "adapter_config.json").unwrap();
    let settings = peft_cfg.settings("adapter_config.json").unwrap();
    let (cfg, weights) = save_peft(&model.model, &settings, "tiny").unwrap();
    // Tensors: exactly PEFT's names and shapes, values round-trip.
    let ours = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let theirs_bytes = adapter_bytes();
    let theirs = safetensors::SafeTensors::deserialize(&theirs_bytes).unwrap();
    let mut names: Vec<_> = ours.names().into_iter().map(String::from).collect();
    names.sort();
    let mut want: Vec<_> = theirs.names().into_iter().map(String::from).collect();
    want.sort();
    assert_eq!(names, want);
    for n in &names {
        let (a, b) = (ours.tensor(n).unwrap(), theirs.tensor(n).unwrap());
        assert_eq!(a.shape(), b.shape(), "{n}");
        assert_eq!(a.data(), b.data(), "{n}: values must round-trip exactly");
    }
    // Config: every field cotlab writes is one PEFT writes, with the same values for r/alpha/targets.
    let ours: serde_json::Value = serde_json::from_slice(&cfg).unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&cfg_bytes).unwrap();
    for (k, _) in ours.as_object().unwrap() {
        assert!(theirs.get(k).is_some(), "cotlab writes {k:?}, which PEFT does not know");
    }
    for k in ["peft_type", "r", "lora_alpha", "bias", "task_type", "use_rslora", "use_dora"] {
        assert_eq!(ours[k], theirs[k], "{k}");
    }
    let mut a: Vec<String> = serde_json::from_value(ours["target_modules"].clone()).unwrap();
    let mut b: Vec<String> = serde_json::from_value(theirs["target_modules"].clone()).unwrap();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn training_lowers_the_loss_on_its_own_data() {
    let tok = tokenizer();
    let mut model = base();
    model.device.seed(3);
    let settings = LoraSettings::new(8, 16.0, 0.0, &["all-linear".to_string()]).unwrap();
    let device = model.device.clone();
    model.model.attach_lora(&settings, &device);
    let examples = examples(Paradigm::Qta, &tok);
    let batch: Vec<&Example> = examples.iter().collect();
    let before = pollster::block_on(mean_loss(&model, &batch, 151643)).unwrap();
    let mut state = AdamState::default();
    let opt = OptimConfig::default();
    for _ in 0..15 {
        pollster::block_on(train_step(&mut model, &[batch.clone()], &opt, 1e-2, &mut state, 151643)).unwrap();
    }
    let after = pollster::block_on(mean_loss(&model, &batch, 151643)).unwrap();
    assert!(after < before * 0.8, "loss {before} → {after}: training must reduce it by over 20%");
}

#[test]
fn lora_settings_reject_unknown_targets() {
    let err = LoraSettings::new(4, 8.0, 0.0, &["qkv".to_string()]).unwrap_err().to_string();
    assert!(err.contains("qkv") && err.contains("all-linear"), "{err}");
}

#[test]
fn dataset_errors_name_file_line_and_field() {
    let bad = b"{\"id\": \"a\", \"question\": \"q\"}\nnot json\n{\"id\": \"a\", \"question\": \"q\", \"answer\": \"x\"}\n";
    let err = parse_jsonl(bad, "d.jsonl", Paradigm::Qa).unwrap_err().to_string();
    assert!(err.contains("d.jsonl:1") && err.contains("`answer`"), "{err}");
    assert!(err.contains("d.jsonl:2: not a valid record"), "{err}");
    assert!(err.contains("d.jsonl:3: duplicate id"), "{err}");
    let err = parse_jsonl(b"{\"id\": \"a\", \"question\": \"q\"}\n", "d.jsonl", Paradigm::TOnly).unwrap_err().to_string();
    assert!(err.contains("`thinking`") && err.contains("t-only"), "{err}");
}

#[test]
fn split_vocabulary_training_step_equals_the_whole_one() {
    // 4 MiB buffers: the embedding is split in 10 chunks and the cross-entropy walks the
    // vocabulary in blocks with a running log-sum-exp; the step must not change.
    let tok = tokenizer();
    let reference = reference();
    let split = || {
        let config = std::fs::read(fixtures().join("models/tiny/config.json")).unwrap();
        let cfg = cotlab_core::model::Qwen3Config::from_json(&config, "config.json").unwrap();
        let files = checkpoint_files("tiny");
        let shards: Vec<Shard> = files.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
        let mut m = LoadedModel::new(cfg, &shards, &Device::flex(), FloatDType::F32, Some(4 << 20)).unwrap();
        let whole = with_adapter();
        for ((_, _, dst), (_, src)) in m.model.linears_mut().into_iter().zip(whole.model.adapters()) {
            dst.lora = Some(cotlab_core::model::qwen3::Lora {
                a: burn::module::Param::from_tensor(src.a.val()),
                b: burn::module::Param::from_tensor(src.b.val()),
                scale: src.scale,
                dropout: 0.0,
                training: false,
            });
        }
        m
    };
    let mut model = split();
    assert_eq!(model.model.embed_tokens.chunks.len(), 10);
    let examples = examples(Paradigm::Qta, &tok);
    let batch: Vec<&Example> = examples.iter().collect();
    let opt = OptimConfig { weight_decay: reference.weight_decay, max_grad_norm: 0.0, ..Default::default() };
    let report = pollster::block_on(train_step(&mut model, &[batch], &opt, reference.lr, &mut AdamState::default(), 151643)).unwrap();
    let want = &reference.steps["qta"];
    assert!((report.loss - want.loss).abs() / want.loss <= 1e-5, "loss {} vs {}", report.loss, want.loss);
    for (path, lora) in model.model.adapters() {
        let ours: Vec<f32> = lora.b.val().into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in ours.iter().zip(&want.updated[&format!("base_model.model.{path}.lora_B.weight")]) {
            assert!((*a as f64 - b).abs() <= 1e-4, "{path}: {a} vs {b}");
        }
    }
}
