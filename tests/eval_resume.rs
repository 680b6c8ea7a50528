//! Resume: a run killed after a few samples and rerun with the same `--out` skips the finished
//! samples and ends with the same samples and summary as an uninterrupted run. The stub judge's
//! score depends on the answer text, so any difference in the samples would show in the summary.

mod common;
#[path = "common/eval_cli.rs"]
mod eval_cli;
#[path = "common/stub_judge.rs"]
mod stub_judge;

use std::io::Write;
use std::time::{Duration, Instant};

use eval_cli::*;
use serde_json::Value;
use stub_judge::*;

/// A score from the prompt's length, so different answers get different scores.
fn by_length(req: &Value) -> (u16, String) {
    let n = prompt(req).chars().count() % 101;
    let s = n.to_string();
    (200, completion(&s, &[(&s, 1.0)]))
}

fn args(stub: &StubJudge) -> Vec<String> {
    ["--mode", "no-think", "--samples", "3", "--limit", "2", "--batch-size", "1", "--judge", "openai:j", "--judge-base-url", &stub.base_url]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn sorted_samples(dir: &std::path::Path) -> Vec<Value> {
    let mut s = samples(dir);
    s.sort_by(|a, b| a["sample_id"].as_str().cmp(&b["sample_id"].as_str()));
    s
}

#[test]
fn an_interrupted_run_resumes_to_the_same_summary() {
    // Slow judge replies (150 ms) give time to interrupt between samples.
    let stub = StubJudge::start(by_length, Duration::from_millis(150));
    let whole = out_dir("resume-whole");
    run_ok(eval_cmd("em", &whole).args(args(&stub)));

    let resumed = out_dir("resume-parts");
    let mut child = eval_cmd("em", &resumed).args(args(&stub)).stderr(std::process::Stdio::null()).spawn().unwrap();
    let file = resumed.join("samples.jsonl");
    let start = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&file).map_or(0, |t| t.lines().count());
        if lines >= 2 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the run never wrote 2 samples");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = std::fs::read_to_string(&file).unwrap().lines().count();
    assert!((2..6).contains(&kept), "interrupted after {kept} of 6 samples");
    // As if the kill had landed mid-write: a cut-off last line.
    std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(b"{\"sample_id\": \"quick_b").unwrap();

    let requests_before = stub.requests.lock().unwrap().len();
    let stderr = run_ok(eval_cmd("em", &resumed).args(args(&stub)));
    assert!(stderr.contains(&format!("{kept} done before, {} to run", 6 - kept)), "{stderr}");
    assert!(stderr.contains("removing an unfinished last line"), "{stderr}");
    // Only the missing samples were judged again (2 questions each).
    assert_eq!(stub.requests.lock().unwrap().len() - requests_before, 2 * (6 - kept));

    assert_eq!(sorted_samples(&resumed), sorted_samples(&whole));
    let (a, b) = (summary(&whole), summary(&resumed));
    for key in ["metrics", "breakdown", "counts", "malformed_records"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(a["counts"]["samples"], 6);

    // A finished run reruns to nothing new.
    let stderr = run_ok(eval_cmd("em", &resumed).args(args(&stub)));
    assert!(stderr.contains("6 done before, 0 to run"), "{stderr}");
    assert_eq!(summary(&resumed)["metrics"], a["metrics"]);
}

#[test]
fn resuming_with_other_settings_is_refused() {
    let stub = StubJudge::start(by_length, Duration::ZERO);
    let out = out_dir("resume-settings");
    run_ok(eval_cmd("em", &out).args(args(&stub)));
    let o = eval_cmd("em", &out).args(args(&stub)).args(["--seed", "7"]).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("other settings (seed)") && err.contains("new --out"), "{err}");
}
