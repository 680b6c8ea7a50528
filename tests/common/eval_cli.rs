//! Running `cotlab eval` on the tiny fixture checkpoint from the eval tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::common::checkpoint_dir;

/// `cotlab eval --suite SUITE --model <tiny> --device cpu --max-new-tokens 8 --out OUT`.
pub fn eval_cmd(suite: &str, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cotlab"));
    c.args(["eval", "--suite", suite, "--device", "cpu", "--max-new-tokens", "8"])
        .arg("--model")
        .arg(checkpoint_dir("tiny"))
        .arg("--out")
        .arg(out);
    c
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run cotlab");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "cotlab eval failed:\n{stderr}");
    stderr
}

/// A fresh output directory under the system temp dir.
pub fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cotlab-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub fn samples(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("samples.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// The keys issue 8's reports read, present on every sample.
pub fn assert_sample_schema(s: &Value) {
    for key in ["sample_id", "suite", "mode", "item_id", "category", "messages", "sampling", "seed", "thinking", "answer", "judge", "scores", "unscored_reason"] {
        assert!(s.get(key).is_some(), "sample lacks {key}: {s}");
    }
}

pub fn assert_summary_schema(s: &Value) {
    for key in ["suite", "mode", "model", "adapter", "judge", "created", "metrics", "breakdown", "counts"] {
        assert!(s.get(key).is_some(), "summary lacks {key}");
    }
    for key in ["samples", "scored", "unscored", "unscored_reasons"] {
        assert!(s["counts"].get(key).is_some(), "counts lack {key}");
    }
    for (_, m) in s["metrics"].as_object().unwrap() {
        for key in ["value", "lo", "hi", "k", "n"] {
            assert!(m.get(key).is_some(), "metric lacks {key}: {m}");
        }
    }
}

pub fn close(a: &Value, b: f64, tol: f64) {
    let a = a.as_f64().unwrap_or_else(|| panic!("not a number: {a}"));
    assert!((a - b).abs() <= tol, "{a} vs {b}");
}
