//! `cotlab run` and `cotlab report` end to end on a tiny random Qwen3: cell expansion and
//! `--cell N`, resume after a kill mid-cell, a failing cell that does not stop the others, the
//! Slurm script, and the report's numbers against hand-computed values.

mod common;
#[path = "common/cli.rs"]
mod cli_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cli_support::{cotlab, run_ok};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cotlab-exp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A small experiment: one tiny random model, `kinds` reasoning kinds, QTA, the vanilla
/// baseline, EM with one sample per question and short generations, the model judging itself.
fn write_experiment(dir: &Path, kinds: &[&str], extra: &str) -> PathBuf {
    let tokenizer = common::tokenizer_path().parent().unwrap().to_path_buf();
    let text = format!(
        r#"name = "test"
device = "cpu"
[[models]]
name = "tiny"
[models.random]
tokenizer = "{tok}"
hidden_size = 32
intermediate_size = 64
num_hidden_layers = 1
num_attention_heads = 2
num_key_value_heads = 1
head_dim = 16
[data]
path = "builtin:sample"
kinds = [{kinds}]
[grid]
paradigms = ["qta"]
baselines = ["vanilla"]
modes = ["think", "no-think"]
[train]
lora_rank = 2
lora_alpha = 4
lr = 1e-3
batch_size = 4
max_steps = 3
max_len = 256
extra_args = ["--save-every", "1"]
[[suites]]
name = "em"
samples = 1
max_new_tokens = 6
[judge]
spec = "local:@model"
{extra}"#,
        tok = tokenizer.display(),
        kinds = kinds.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", "),
    );
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The samples of an evaluation without the judge's path (which names the run folder).
fn samples(p: &Path) -> Vec<serde_json::Value> {
    read(p)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(j) = v.get_mut("judge").and_then(|j| j.as_object_mut()) {
                j.remove("spec");
            }
            v
        })
        .collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn dry_run_lists_the_cells_in_order_with_token_estimates() {
    let dir = tmp("dry");
    let exp = write_experiment(&dir, &["evil", "submissive"], "");
    let out = run_ok(cotlab().args(["run"]).arg(&exp).arg("--out").arg(dir.join("run")).arg("--dry-run"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "experiment \"test\": 3 cells, each evaluated on 1 suite(s) × 2 mode(s)");
    assert!(lines[2].starts_with("   0  tiny__vanilla__s0") && lines[2].trim_end().ends_with("0  to do"), "{out}");
    assert!(lines[3].starts_with("   1  tiny__qta-evil__s0"), "{out}");
    assert!(lines[4].starts_with("   2  tiny__qta-submissive__s0"), "{out}");
    // 8 EM questions × 1 sample × 6 tokens × 2 modes.
    assert!(out.contains("generation: at most 96 tokens per cell, 288 in all"), "{out}");
    assert!(!dir.join("run").exists(), "a dry run writes nothing");
}

#[test]
fn cell_n_runs_exactly_that_cell_and_the_slurm_task_reproduces_it() {
    let dir = tmp("cell");
    let exp = write_experiment(&dir, &["evil"], "");
    let run = dir.join("run");
    run_ok(cotlab().args(["run"]).arg(&exp).arg("--out").arg(&run).args(["--cell", "1"]));
    let cells: Vec<String> =
        std::fs::read_dir(run.join("cells")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(cells, ["tiny__qta-evil__s0"]);
    let cell = run.join("cells/tiny__qta-evil__s0");
    for f in ["train_config.json", "metrics.jsonl", "adapter/adapter_config.json", "adapter/adapter_model.safetensors", "status.json"] {
        assert!(cell.join(f).exists(), "{f} missing");
    }
    for mode in ["think", "no-think"] {
        assert!(cell.join(format!("eval/em-{mode}/summary.json")).exists());
        assert_eq!(read(&cell.join(format!("eval/em-{mode}/samples.jsonl"))).lines().count(), 8);
    }
    assert!(read(&cell.join("status.json")).contains("\"done\""));

    // The Slurm script: valid bash, one task per cell, and its task 1 reproduces cell 1.
    let slurm_run = dir.join("slurm-run");
    run_ok(cotlab().args(["run"]).arg(&exp).arg("--out").arg(&slurm_run).args(["--emit", "slurm"]));
    let script = slurm_run.join("slurm.sh");
    let text = read(&script);
    assert!(text.contains("#SBATCH --array=0-1\n") && text.contains("#SBATCH --gres=gpu:1\n"), "{text}");
    let check = std::process::Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(check.success(), "bash -n {}", script.display());
    let task = std::process::Command::new("bash").arg(&script).env("SLURM_ARRAY_TASK_ID", "1").output().unwrap();
    assert!(task.status.success(), "{}", String::from_utf8_lossy(&task.stderr));
    let other = slurm_run.join("cells/tiny__qta-evil__s0");
    assert_eq!(
        std::fs::read(cell.join("adapter/adapter_model.safetensors")).unwrap(),
        std::fs::read(other.join("adapter/adapter_model.safetensors")).unwrap(),
        "the Slurm task trains the same adapter"
    );
    for mode in ["think", "no-think"] {
        let f = format!("eval/em-{mode}/samples.jsonl");
        assert_eq!(samples(&cell.join(&f)), samples(&other.join(&f)), "{f}");
    }
    assert!(!slurm_run.join("cells/tiny__vanilla__s0").exists());
}

#[test]
fn a_failed_cell_is_recorded_the_others_finish_in_parallel_and_a_rerun_redoes_only_it() {
    let dir = tmp("fail");
    // No record has the kind `nosuchkind`: its training fails, the others must still run.
    let exp = write_experiment(&dir, &["nosuchkind", "evil"], "");
    let run = dir.join("run");
    // Two workers (`--devices`, as with two GPUs): cells run in parallel, a failure stays in its cell.
    let out = cotlab().args(["run"]).arg(&exp).arg("--out").arg(&run).args(["--devices", "cpu,cpu"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 cell(s) failed"), "{stderr}");
    let status = |c: &str| read(&run.join("cells").join(c).join("status.json"));
    assert!(status("tiny__qta-nosuchkind__s0").contains("\"failed\""));
    assert!(status("tiny__qta-nosuchkind__s0").contains("train failed"));
    assert!(status("tiny__vanilla__s0").contains("\"done\""));
    assert!(status("tiny__qta-evil__s0").contains("\"done\""));
    let report = read(&run.join("report.md"));
    assert!(report.contains("**2 done, 1 failed, 0 not run**"), "{report}");
    assert!(report.contains("## Failed cells"));

    // A rerun skips the finished cells (their files are untouched) and retries the failed one.
    let before = std::fs::metadata(run.join("cells/tiny__qta-evil__s0/eval/em-think/summary.json")).unwrap().modified().unwrap();
    let out = cotlab().args(["run"]).arg(&exp).arg("--out").arg(&run).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 cells done, 2 already done, 1 failed"), "{stderr}");
    let after = std::fs::metadata(run.join("cells/tiny__qta-evil__s0/eval/em-think/summary.json")).unwrap().modified().unwrap();
    assert_eq!(before, after);
}

#[test]
fn a_run_killed_mid_cell_resumes_to_the_same_results() {
    let dir = tmp("kill");
    let exp = write_experiment(&dir, &["evil"], "");
    let whole = dir.join("whole");
    run_ok(cotlab().args(["run"]).arg(&exp).arg("--out").arg(&whole));

    // Kill the run (and its child stage) once training has saved its first checkpoint.
    let run = dir.join("killed");
    let mut child = {
        use std::os::unix::process::CommandExt;
        cotlab().args(["run"]).arg(&exp).arg("--out").arg(&run).stderr(Stdio::null()).process_group(0).spawn().unwrap()
    };
    let ckpt = run.join("cells/tiny__qta-evil__s0/checkpoint/trainer_state.json");
    let t0 = Instant::now();
    while !ckpt.exists() {
        assert!(t0.elapsed() < Duration::from_secs(600), "training never checkpointed");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pgid = child.id() as i32;
    std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status().unwrap();
    child.wait().unwrap();
    assert!(!run.join("cells/tiny__qta-evil__s0/status.json").exists());

    run_ok(cotlab().args(["run"]).arg(&exp).arg("--out").arg(&run));
    let (a, b) = (whole.join("cells/tiny__qta-evil__s0"), run.join("cells/tiny__qta-evil__s0"));
    let f = "adapter/adapter_model.safetensors";
    assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs after resuming");
    for f in ["eval/em-think/samples.jsonl", "eval/em-no-think/samples.jsonl"] {
        assert!(samples(&a.join(f)) == samples(&b.join(f)), "{f} differs after resuming");
    }
    let summary = |d: &Path| {
        let v: serde_json::Value = serde_json::from_str(&read(&d.join("cells/tiny__qta-evil__s0/eval/em-think/summary.json"))).unwrap();
        (v["metrics"].clone(), v["breakdown"].clone(), v["counts"].clone())
    };
    assert_eq!(summary(&whole), summary(&run));
}

/// One EM sample line as `cotlab eval` writes it.
fn em_sample(id: &str, question: &str, aligned: serde_json::Value, coherent: f64, unscored: Option<&str>) -> String {
    serde_json::json!({
        "sample_id": id, "suite": "em", "mode": "think", "item_id": question, "category": question,
        "messages": [{"role": "user", "content": "…"}], "sampling": {"kind": "greedy"}, "seed": 0,
        "thinking": "", "answer": "…", "judge": null,
        "scores": if unscored.is_some() { serde_json::json!({}) } else { serde_json::json!({"aligned": aligned, "coherent": coherent}) },
        "unscored_reason": unscored,
    })
    .to_string()
}

#[test]
fn report_numbers_match_hand_computed_values_from_fixed_samples() {
    let dir = tmp("report");
    let exp = write_experiment(&dir, &["evil"], "");
    let run = dir.join("run");
    // `--emit slurm` writes the resolved experiment.json without running anything.
    run_ok(cotlab().args(["run"]).arg(&exp).arg("--out").arg(&run).args(["--emit", "slurm"]));
    // vanilla, think: q1 = misaligned, aligned, incoherent (left out); q2 = refusal (left out),
    // misaligned, aligned, judge failure (unscored), aligned. EM = 2 / 5; q1 = 1/2; q2 = 1/3.
    let vanilla = [
        em_sample("q1#0", "q1", serde_json::json!(10), 80.0, None),
        em_sample("q1#1", "q1", serde_json::json!(90), 90.0, None),
        em_sample("q1#2", "q1", serde_json::json!(20), 40.0, None),
        em_sample("q2#0", "q2", serde_json::json!("REFUSAL"), 100.0, None),
        em_sample("q2#1", "q2", serde_json::json!(25), 60.0, None),
        em_sample("q2#2", "q2", serde_json::json!(70), 75.0, None),
        em_sample("q2#3", "q2", serde_json::json!(0), 0.0, Some("judge failed: connection refused")),
        em_sample("q2#4", "q2", serde_json::json!(95), 99.0, None),
    ];
    // qta-evil, think: four misaligned answers. EM = 4 / 4.
    let trained: Vec<String> = (0..4).map(|i| em_sample(&format!("q1#{i}"), "q1", serde_json::json!(5), 90.0, None)).collect();
    for (cell, lines) in [("tiny__vanilla__s0", vanilla.to_vec()), ("tiny__qta-evil__s0", trained)] {
        let d = run.join("cells").join(cell).join("eval/em-think");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("samples.jsonl"), lines.join("\n") + "\n").unwrap();
    }
    run_ok(cotlab().arg("report").arg(&run));
    let report = read(&run.join("report.md"));
    // Wilson 95% intervals, computed by hand (z = 1.959964): 2/5 → [0.1176, 0.7693]; 4/4 → [0.5101, 1].
    assert!(
        report.contains("| tiny | [40.0% [11.8–76.9%] (2/5)](cells/tiny__vanilla__s0/eval/em-think/samples.jsonl) | [100.0% [51.0–100.0%] (4/4)](cells/tiny__qta-evil__s0/eval/em-think/samples.jsonl) |"),
        "{report}"
    );
    // No-think was never evaluated.
    assert!(report.contains("### em_rate — no-think\n"), "{report}");
    assert!(report.contains("| tiny | – | – |"), "{report}");
    // Counts of unscored samples with their reason.
    assert!(report.contains(" 8 | 1 (1× judge failed) |"), "{report}");
    // Figures: heatmaps per mode, think vs no-think bars, per-question breakdown; SVG and PNG.
    for stem in ["em_em_rate_think", "em_em_rate_no-think", "em_em_rate_modes_tiny", "em_em_rate_breakdown_tiny_think"] {
        let svg = read(&run.join("figures").join(format!("{stem}.svg")));
        assert!(svg.starts_with("<svg"), "{stem}");
        let png = std::fs::read(run.join("figures").join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}");
    }
    // The per-question breakdown shows q1 = 1/2 and q2 = 1/3 for vanilla.
    let breakdown = read(&run.join("figures/em_em_rate_breakdown_tiny_think.svg"));
    assert!(breakdown.contains("50.0%") && breakdown.contains("33.3%") && breakdown.contains("100.0%"), "{breakdown}");
}
