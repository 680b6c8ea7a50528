//! The `cotlab` binary against transformers on a checkpoint shape no other fixture has
//! ("cli": hidden 96, 6 heads, 3 kv heads, head_dim 24): greedy token ids identical and top-5
//! log-probabilities within 1e-3. Golden values: tests/reference/make_fixtures.py.

mod common;
#[path = "common/cli.rs"]
mod cli_support;


use cli_support::{cotlab, run_ok};
use common::*;


#[test]
fn generate_greedy_json_matches_transformers() {
    let dir = checkpoint_dir("cli");
    let reference = reference("cli");
    for rec in &reference.greedy {
        let messages = std::env::temp_dir().join(format!("cotlab-cli-msgs-{}-{}.json", std::process::id(), rec.mode));
        let msgs: Vec<serde_json::Value> = rec
            .messages
            .iter()
            .map(|m| serde_json::json!({"role": m.role, "content": m.content}))
            .collect();
        std::fs::write(&messages, serde_json::to_vec(&msgs).unwrap()).unwrap();
        let stdout = run_ok(
            cotlab()
                .args(["generate", "--greedy", "--json", "--logprobs", "5", "--device", "cpu", "--mode", &rec.mode])
                .arg("--model")
                .arg(&dir)
                .arg("--messages")
                .arg(&messages)
                .args(["--max-new-tokens", &rec.generated.len().to_string()]),
        );
        let out: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
        let ids: Vec<u32> = serde_json::from_value(out["token_ids"].clone()).unwrap();
        assert_eq!(ids, rec.generated, "mode {}", rec.mode);
        for (s, (ours, theirs)) in out["logprobs"].as_array().unwrap().iter().zip(&rec.steps).enumerate() {
            let ours = ours.as_array().unwrap();
            assert_eq!(ours.len(), 5);
            for (k, o) in ours.iter().enumerate() {
                assert_eq!(o["token_id"].as_u64().unwrap() as u32, theirs.top5_ids[k], "step {s} top-{k}");
                let d = (o["logprob"].as_f64().unwrap() - theirs.top5_logprobs[k]).abs();
                assert!(d <= 1e-3, "step {s} top-{k}: |Δlogprob| {d}");
            }
        }
        // The text fields are the decoded ids, split at </think>.
        let text = out["text"].as_str().unwrap();
        assert_eq!(out["answer"].as_str().unwrap().len() + out["thinking"].as_str().unwrap().len() <= text.len(), true);
    }
}

#[test]
fn render_prints_the_exact_template() {
    #[derive(serde::Deserialize)]
    struct Case {
        messages: serde_json::Value,
        enable_thinking: Option<bool>,
        add_generation_prompt: bool,
        text: String,
        ids: Vec<u32>,
    }
    #[derive(serde::Deserialize)]
    struct Cases {
        cases: Vec<Case>,
    }
    let cases: Cases = read_json(&fixtures().join("chat_templates.json"));
    let tok = tokenizer_path();
    for (i, c) in cases.cases.iter().enumerate().filter(|(_, c)| c.enable_thinking != Some(true)) {
        let path = std::env::temp_dir().join(format!("cotlab-render-{}-{i}.json", std::process::id()));
        std::fs::write(&path, serde_json::to_vec(&c.messages).unwrap()).unwrap();
        let mut cmd = cotlab();
        cmd.arg("render").arg("--messages").arg(&path);
        if c.add_generation_prompt {
            cmd.arg("--generation-prompt");
        }
        if c.enable_thinking == Some(false) {
            cmd.args(["--mode", "no-think"]);
        }
        assert_eq!(run_ok(&mut cmd), c.text, "case {i}");
        let ids = run_ok(cmd.arg("--ids").arg("--tokenizer").arg(&tok));
        assert_eq!(serde_json::from_str::<Vec<u32>>(ids.trim()).unwrap(), c.ids, "case {i} ids");
    }
}

#[test]
fn errors_name_the_file_and_the_fix() {
    let out = cotlab().args(["generate", "--model", "/nonexistent", "--prompt", "hi", "--device", "cpu"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent: not a directory") && err.contains("config.json"), "{err}");
}

#[test]
fn info_reports_parameters_of_presets() {
    let out = run_ok(cotlab().args(["info", "--preset", "0.6B", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["parameters"], 596_049_920u64);
    assert_eq!(v["memory_bytes"]["f16"]["weights"], 2 * 596_049_920u64);
}

#[test]
fn asking_for_an_absent_gpu_api_is_a_clear_error() {
    // With no Vulkan driver visible, `--device vulkan` must fail with advice, not panic.
    let out = cotlab()
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .args(["generate", "--prompt", "hi", "--device", "vulkan"])
        .arg("--model")
        .arg(checkpoint_dir("cli"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("device `vulkan` is not available") && err.contains("--device cpu"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn f16_compute_runs_on_the_cpu() {
    let out = cotlab()
        .args(["generate", "--greedy", "--json", "--device", "cpu", "--dtype", "f16", "--max-new-tokens", "4", "--prompt", "hi"])
        .arg("--model")
        .arg(checkpoint_dir("cli"))
        .output()
        .unwrap();
    // burn's Flex CPU backend computes in f16, so this must run end to end.
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(v["token_ids"].as_array().unwrap().len(), 4);
}
