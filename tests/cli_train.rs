//! `cotlab train`, `render --data`, `generate --adapter` and `merge` end to end on the "tiny"
//! fixture checkpoint: metrics and loss, bit-identical resume after an interruption, bad data
//! stopping the run before anything is written, and merged weights generating what the adapter
//! generates.

mod common;
#[path = "common/cli.rs"]
mod cli_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli_support::{cotlab, run_ok};
use common::*;


fn records() -> PathBuf {
    fixtures().join("sft/records.jsonl")
}

fn tmp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("cotlab-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn train(out: &Path, extra: &[&str]) -> Command {
    let mut c = cotlab();
    c.arg("train").arg("--model").arg(checkpoint_dir("tiny")).arg("--data").arg(records()).arg("--out").arg(out);
    c.args(["--paradigm", "qta", "--device", "cpu", "--lora-rank", "4", "--lora-alpha", "8", "--lr", "1e-2"]);
    c.args(["--max-steps", "6", "--batch-size", "2", "--save-every", "2", "--seed", "5", "--warmup-ratio", "0.2"]);
    c.args(extra);
    c
}

fn metrics(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn train_writes_metrics_config_and_a_peft_adapter() {
    let out = tmp("basic");
    run_ok(&mut train(&out, &[]));
    let m = metrics(&out);
    assert_eq!(m.len(), 6);
    assert_eq!(m.iter().map(|l| l["step"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(m[0]["lr"].as_f64().unwrap(), 0.0, "first warm-up update has lr 0 (transformers)");
    for l in &m {
        for k in ["loss", "grad_norm", "tokens_per_s"] {
            assert!(l[k].as_f64().unwrap().is_finite(), "{k}");
        }
        assert!(l["supervised_tokens"].as_u64().unwrap() > 0);
    }
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("train_config.json")).unwrap()).unwrap();
    assert_eq!(cfg["total_steps"], 6);
    assert_eq!(cfg["paradigm"]["paradigm"], "qta");
    assert_eq!(cfg["dataset_sha256"].as_str().unwrap().len(), 64);
    assert!(out.join("adapter/adapter_config.json").exists() && out.join("adapter/adapter_model.safetensors").exists());
    // Rerunning into the same --out without --resume is refused.
    let again = train(&out, &[]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
}

#[test]
fn resumed_run_ends_bit_identical() {
    let whole = tmp("whole");
    run_ok(&mut train(&whole, &["--lora-dropout", "0.1"]));
    let cut = tmp("cut");
    run_ok(&mut train(&cut, &["--lora-dropout", "0.1", "--halt-after", "3"]));
    assert!(!cut.join("adapter").exists(), "an interrupted run has no final adapter");
    assert_eq!(metrics(&cut).len(), 3);
    run_ok(&mut train(&cut, &["--lora-dropout", "0.1", "--resume"]));
    let a = std::fs::read(whole.join("adapter/adapter_model.safetensors")).unwrap();
    let b = std::fs::read(cut.join("adapter/adapter_model.safetensors")).unwrap();
    assert!(a == b, "resumed adapter differs from the uninterrupted one");
    let (ma, mb) = (metrics(&whole), metrics(&cut));
    assert_eq!(ma.len(), mb.len());
    for (x, y) in ma.iter().zip(&mb) {
        assert_eq!(x["loss"], y["loss"]);
        assert_eq!(x["grad_norm"], y["grad_norm"]);
    }
    let (first, last) = (ma[0]["loss"].as_f64().unwrap(), ma[5]["loss"].as_f64().unwrap());
    assert!(last < first, "loss should fall: {first} → {last}");
}

#[test]
fn bad_data_stops_before_anything_is_written() {
    let out = tmp("bad");
    let data = std::env::temp_dir().join(format!("cotlab-bad-{}.jsonl", std::process::id()));
    std::fs::write(&data, "{\"id\": \"a\", \"question\": \"q\", \"answer\": \"x\"}\n{\"id\": \"b\", \"question\": \"q\"}\n").unwrap();
    let o = cotlab()
        .arg("train").arg("--model").arg(checkpoint_dir("tiny")).arg("--data").arg(&data).arg("--out").arg(&out)
        .args(["--paradigm", "qta", "--device", "cpu"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:1", data.display())) && err.contains("`thinking`"), "{err}");
    assert!(err.contains(&format!("{}:2", data.display())), "{err}");
    assert!(!out.exists(), "nothing may be written for bad data");
}

#[test]
fn render_data_json_gives_ids_and_labels() {
    #[derive(serde::Deserialize)]
    struct Ex {
        id: String,
        input_ids: Vec<u32>,
        labels: Vec<i64>,
    }
    let reference: serde_json::Value = read_json(&fixtures().join("sft/reference.json"));
    for p in ["qa", "qta", "qt", "t-only"] {
        let out = run_ok(
            cotlab().args(["render", "--json", "--paradigm", p, "--data"]).arg(records()).arg("--tokenizer").arg(tokenizer_path()),
        );
        let ours: Vec<Ex> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let want = reference["steps"][p]["examples"].as_array().unwrap();
        assert_eq!(ours.len(), want.len());
        for (o, w) in ours.iter().zip(want) {
            assert_eq!(o.id, w["id"].as_str().unwrap());
            assert_eq!(serde_json::to_value(&o.input_ids).unwrap(), w["input_ids"], "{p}");
            assert_eq!(serde_json::to_value(&o.labels).unwrap(), w["labels"], "{p}");
        }
    }
    let text = run_ok(cotlab().args(["render", "--paradigm", "qt", "--limit", "1", "--data"]).arg(records()).arg("--tokenizer").arg(tokenizer_path()));
    assert!(text.contains("⟦<think>\nThe user wants to save time."), "{text}");
    assert!(text.trim_end().ends_with("</think>⟧"), "{text}");
}

#[test]
fn merged_checkpoint_generates_what_the_adapter_generates() {
    let out = tmp("for-merge");
    run_ok(&mut train(&out, &[]));
    let gen = |model: &Path, adapter: Option<&Path>| {
        let mut c = cotlab();
        c.args(["generate", "--greedy", "--json", "--device", "cpu", "--max-new-tokens", "8", "--prompt", "Hello"]).arg("--model").arg(model);
        if let Some(a) = adapter {
            c.arg("--adapter").arg(a);
        }
        let v: serde_json::Value = serde_json::from_str(run_ok(&mut c).lines().next().unwrap()).unwrap();
        v["token_ids"].clone()
    };
    let with_adapter = gen(&checkpoint_dir("tiny"), Some(&out.join("adapter")));
    let merged = tmp("merged");
    run_ok(cotlab().arg("merge").arg("--model").arg(checkpoint_dir("tiny")).arg("--adapter").arg(out.join("adapter")).arg("--out").arg(&merged).args(["--save-dtype", "f32"]));
    assert_eq!(gen(&merged, None), with_adapter);
    assert_ne!(gen(&checkpoint_dir("tiny"), None), with_adapter, "the trained adapter should change greedy output");
}

#[test]
fn non_finite_loss_stops_and_keeps_the_last_good_checkpoint() {
    let out = tmp("nan");
    let o = cotlab()
        .arg("train").arg("--model").arg(checkpoint_dir("tiny")).arg("--data").arg(records()).arg("--out").arg(&out)
        .args(["--paradigm", "qa", "--device", "cpu", "--lr", "1e30", "--max-steps", "4", "--save-every", "1", "--schedule", "constant"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "a diverging run must fail");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the loss is") && err.contains("last good checkpoint"), "{err}");
    let state: serde_json::Value = read_json(&out.join("checkpoint/trainer_state.json"));
    assert!(state["step"].as_u64().unwrap() >= 1);
    assert!(!out.join("adapter").exists());
}
