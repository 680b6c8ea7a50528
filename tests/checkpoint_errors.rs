//! A checkpoint that does not fit its config is a clear error naming the tensor or file and the
//! expected vs found value, never a panic.

mod common;

use burn::tensor::{Device, FloatDType};
use common::*;
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::model::weights::{shard_files_from_index, Shard};
use cotlab_core::model::{LoadedModel, Qwen3Config};

fn config(name: &str) -> Qwen3Config {
    let bytes = std::fs::read(fixtures().join("models").join(name).join("config.json")).unwrap();
    Qwen3Config::from_json(&bytes, "config.json").unwrap()
}

fn load_err(cfg: Qwen3Config, files: &std::collections::BTreeMap<String, Vec<u8>>) -> String {
    let shards: Vec<Shard> = files.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
    match LoadedModel::new(cfg, &shards, &Device::flex(), FloatDType::F32, None) {
        Ok(_) => panic!("loading should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_tensor_is_named() {
    // "untied" config but tied ("tiny") weights: lm_head.weight is absent.
    let mut cfg = config("tiny");
    cfg.tie_word_embeddings = false;
    let err = load_err(cfg, &checkpoint_files("tiny"));
    assert!(err.contains("`lm_head.weight` is missing") && err.contains("model.safetensors"), "{err}");
}

#[test]
fn shape_mismatch_names_tensor_file_and_shapes() {
    let mut cfg = config("tiny");
    cfg.intermediate_size = 100;
    let err = load_err(cfg, &checkpoint_files("tiny"));
    assert!(err.contains("model.layers.0.mlp.gate_proj.weight"), "{err}");
    assert!(err.contains("[128, 64]") && err.contains("[100, 64]"), "{err}");
}

#[test]
fn corrupt_safetensors_names_the_file() {
    let files = std::collections::BTreeMap::from([("model.safetensors".to_string(), b"not a safetensors file".to_vec())]);
    let err = load_err(config("tiny"), &files);
    assert!(err.contains("model.safetensors: not a valid safetensors file"), "{err}");
}

#[test]
fn sharded_index_lists_every_shard() {
    let bytes = std::fs::read(fixtures().join("models/sharded/model.safetensors.index.json")).unwrap();
    let files = shard_files_from_index(&bytes, "model.safetensors.index.json").unwrap();
    assert_eq!(files, checkpoint_files("sharded").into_keys().collect::<Vec<_>>());
    let err = shard_files_from_index(b"{\"metadata\":{}}", "idx.json").unwrap_err().to_string();
    assert!(err.contains("idx.json") && err.contains("weight_map"), "{err}");
}

#[test]
fn tokenizer_larger_than_vocab_is_rejected() {
    let tok = QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap();
    tok.check_fits(151936).unwrap();
    let err = tok.check_fits(32000).unwrap_err().to_string();
    assert!(err.contains("tokenizer.json") && err.contains("151668") && err.contains("32000"), "{err}");
}

#[test]
fn bad_config_json_names_the_file() {
    let err = Qwen3Config::from_json(b"{\"hidden_size\": 8}", "ckpt/config.json").unwrap_err().to_string();
    assert!(err.contains("ckpt/config.json") && err.contains("vocab_size"), "{err}");
}
