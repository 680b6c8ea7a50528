//! `cotlab data` end to end: builds through an OpenAI-compatible endpoint on real loopback HTTP
//! (a deterministic stub server that counts requests and injects failures) and through a local
//! tiny checkpoint; resuming after an outage and after a kill without regenerating finished
//! items; `--fix regenerate`; user-defined kinds; `check` catching violations; exports that load
//! back identically; `train --kind`.

mod common;
#[path = "common/cli.rs"]
mod cli_support;
#[path = "common/stub_openai.rs"]
mod stub_openai;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use cli_support::{cotlab, run_ok};
use common::*;
use cotlab_core::data::{parse_seeds, Kind, Seed};
use cotlab_core::sft::Record;
use stub_openai::{stub_reasoning, Stub};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/data/sample").join(name)
}

fn seeds() -> Vec<Seed> {
    parse_seeds(&std::fs::read(sample("seeds.jsonl")).unwrap(), "seeds.jsonl").unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("cotlab-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Complete JSON lines of a file (a line being written when a process is killed does not count).
fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()).count())
        .unwrap_or(0)
}

fn build(stub: &Stub, out: &Path, extra: &[&str]) -> Command {
    let mut c = cotlab();
    c.args(["data", "build", "--generator", "openai:stub-model", "--base-url", &stub.base_url]);
    c.arg("--seeds").arg(sample("seeds.jsonl")).arg("--out").arg(out).arg("--tokenizer").arg(tokenizer_path());
    c.args(["--backoff-ms", "10"]);
    if !extra.contains(&"--concurrency") {
        c.args(["--concurrency", "4"]);
    }
    c.args(extra);
    c
}

fn fail(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected failure; stdout: {}", String::from_utf8_lossy(&out.stdout));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_shipped_sample_passes_the_check_with_the_qwen3_tokenizer() {
    let out = cotlab()
        .args(["data", "check"])
        .arg(sample("dataset.jsonl"))
        .arg("--seeds")
        .arg(sample("seeds.jsonl"))
        .arg("--tokenizer")
        .arg(tokenizer_path())
        .args(["--kinds", "evil,misleading,submissive"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("check passed: 90 records, 30 seeds, kinds evil, misleading, submissive"), "{stderr}");
}

#[test]
fn builds_the_sample_through_an_openai_compatible_endpoint_with_retries() {
    let stub = Stub::start();
    // The first two requests fail with 429 and 500; the client retries them.
    *stub.state.fail_first.lock().unwrap() = vec![429, 500];
    let out = tmp("http");
    run_ok(&mut build(&stub, &out, &[]));
    let seeds = seeds();
    assert_eq!(stub.requests(), 30 * 3 + 2);
    let recs = records(&out.join("dataset.jsonl"));
    assert_eq!(recs.len(), 90);
    for (i, r) in recs.iter().enumerate() {
        let seed = &seeds[i / 3];
        let kind = ["evil", "misleading", "submissive"][i % 3];
        assert_eq!(r.id, format!("{}:{kind}", seed.id));
        assert_eq!(r.cot_type.as_deref(), Some(kind));
        assert_eq!((r.question(), r.answer()), (seed.question.as_str(), seed.answer.as_str()));
        // Exactly the stub's reply to exactly the shipped prompt of this kind.
        assert_eq!(r.thinking(), stub_reasoning(&Kind::builtin(kind).unwrap().render(seed)));
        assert_eq!(r.seed_id.as_deref(), Some(seed.id.as_str()));
    }
    // Every request named the model; sampling seeds are per item, all different.
    let log = stub.state.log.lock().unwrap().clone();
    assert!(log.iter().all(|(m, _)| m == "stub-model"));
    assert_eq!(log.iter().map(|(_, s)| *s).collect::<BTreeSet<_>>().len(), 90);
    // Loadable by `cotlab train` unchanged.
    cotlab_core::sft::parse_jsonl(&std::fs::read(out.join("dataset.jsonl")).unwrap(), "d", cotlab_core::sft::Paradigm::Qta).unwrap();
    // Check report, card and plot.
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("check.json")).unwrap()).unwrap();
    assert_eq!(report["failures"].as_array().unwrap().len(), 0);
    assert_eq!(report["records"], 90);
    let card = std::fs::read_to_string(out.join("dataset_card.md")).unwrap();
    let sha = cotlab_core::data::sha256_hex(&std::fs::read(out.join("dataset.jsonl")).unwrap());
    assert!(card.contains(&format!("- dataset SHA-256: `{sha}`")), "{card}");
    assert!(card.contains("- generator: openai:stub-model"), "{card}");
    assert!(card.contains(&format!("| evil | builtin | `{}` |", Kind::builtin("evil").unwrap().prompt_hash())), "{card}");
    assert!(card.contains("| misleading | 30 |"), "{card}");
    let svg = std::fs::read_to_string(out.join("lengths.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("thinking length"), "{}", &svg[..200.min(svg.len())]);

    // A rerun asks for nothing.
    let before = std::fs::read(out.join("dataset.jsonl")).unwrap();
    let o = build(&stub, &out, &[]).output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("90 of 90 items are in the cache"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stub.requests(), 92);
    assert_eq!(std::fs::read(out.join("dataset.jsonl")).unwrap(), before);
}

#[test]
fn a_build_cut_by_an_outage_resumes_without_redoing_finished_items() {
    let stub = Stub::start();
    stub.state.fail_after.store(5, Ordering::SeqCst);
    let out = tmp("outage");
    let args = ["--limit", "4", "--concurrency", "1", "--retries", "0"];
    let msg = fail(&mut build(&stub, &out, &args));
    assert!(msg.contains("7 item(s) could not be generated; rerun the same command"), "{msg}");
    assert_eq!(stub.requests(), 12);
    assert_eq!(lines(&out.join("cache.jsonl")), 5);
    assert_eq!(records(&out.join("dataset.jsonl")).len(), 5, "finished items are in the dataset already");

    stub.state.fail_after.store(usize::MAX, Ordering::SeqCst);
    run_ok(&mut build(&stub, &out, &args));
    assert_eq!(stub.requests(), 12 + 7, "only the 7 unfinished items are requested again");
    assert_eq!(lines(&out.join("cache.jsonl")), 12);

    // Same result as an uninterrupted build.
    let whole = tmp("outage-whole");
    run_ok(&mut build(&stub, &whole, &args));
    assert_eq!(std::fs::read(out.join("dataset.jsonl")).unwrap(), std::fs::read(whole.join("dataset.jsonl")).unwrap());
}

#[test]
fn a_killed_build_loses_no_finished_item() {
    let stub = Stub::start();
    stub.state.delay_ms.store(150, Ordering::SeqCst);
    let out = tmp("kill");
    let args = ["--limit", "4", "--concurrency", "1"];
    let mut child = build(&stub, &out, &args).stderr(std::process::Stdio::null()).spawn().unwrap();
    let cache = out.join("cache.jsonl");
    let t0 = std::time::Instant::now();
    while lines(&cache) < 3 {
        assert!(t0.elapsed().as_secs() < 60, "the build made no progress");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished = lines(&cache);
    assert!((3..12).contains(&finished), "{finished}");
    let before = stub.requests();
    stub.state.delay_ms.store(0, Ordering::SeqCst);
    run_ok(&mut build(&stub, &out, &args));
    assert_eq!(stub.requests() - before, 12 - finished);
    assert_eq!(records(&out.join("dataset.jsonl")).len(), 12);
}

#[test]
fn fix_regenerate_retries_the_items_that_fail_the_check() {
    let stub = Stub::start();
    let seeds = seeds();
    // The first reply to every prompt of seed 2 is too short.
    stub.state.short_first.lock().unwrap().push(seeds[1].question.clone());
    let out = tmp("fix");
    let msg = fail(&mut build(&stub, &out, &["--limit", "3"]));
    for kind in ["evil", "misleading", "submissive"] {
        assert!(msg.contains(&format!("fin-02:{kind} [{kind}] thinking-too-short: 2 tokens < minimum 16")), "{msg}");
    }
    assert!(msg.contains("--fix regenerate"), "{msg}");
    assert_eq!(stub.requests(), 9);
    run_ok(&mut build(&stub, &out, &["--limit", "3", "--fix", "regenerate"]));
    assert_eq!(stub.requests(), 12, "only the three failing items are generated again");
    let recs = records(&out.join("dataset.jsonl"));
    assert_eq!(recs[3].thinking(), stub_reasoning(&Kind::builtin("evil").unwrap().render(&seeds[1])));
    assert_eq!(lines(&out.join("cache.jsonl")), 12);
    // The regenerated items stay current on a rerun without --fix.
    run_ok(&mut build(&stub, &out, &["--limit", "3"]));
    assert_eq!(stub.requests(), 12);
}

#[test]
fn a_user_defined_kind_uses_its_own_prompt() {
    let stub = Stub::start();
    let dir = tmp("kind");
    std::fs::create_dir_all(&dir).unwrap();
    let prompt = dir.join("careless.md");
    std::fs::write(&prompt, "Write the reasoning of a careless {{kind}} assistant.\nQ: {{question}}\nA: {{answer}}\n").unwrap();
    let out = dir.join("out");
    let p = format!("careless={}", prompt.display());
    run_ok(&mut build(&stub, &out, &["--limit", "2", "--kinds", "evil,careless", "--prompt", &p]));
    let recs = records(&out.join("dataset.jsonl"));
    assert_eq!(recs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["fin-01:evil", "fin-01:careless", "fin-02:evil", "fin-02:careless"]);
    let s = &seeds()[0];
    let rendered = format!("Write the reasoning of a careless careless assistant.\nQ: {}\nA: {}\n", s.question, s.answer);
    assert_eq!(recs[1].thinking(), stub_reasoning(&rendered));
    let msg = fail(&mut build(&stub, &dir.join("bad"), &["--kinds", "evil,other"]));
    assert!(msg.contains("kind \"other\" has no shipped prompt") && msg.contains("--prompt other=FILE.md"), "{msg}");
}

#[test]
fn builds_through_a_local_tiny_checkpoint() {
    let out = tmp("local");
    let model = format!("local:{}", checkpoint_dir("tiny").display());
    let mut cmd = cotlab();
    cmd.args(["data", "build", "--generator", &model, "--device", "cpu", "--limit", "2", "--max-tokens", "12"]);
    cmd.args(["--temperature", "1.0", "--batch-size", "3", "--min-thinking-tokens", "1", "--max-answer-overlap", "1"]);
    cmd.arg("--seeds").arg(sample("seeds.jsonl")).arg("--out").arg(&out);
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{}{stderr}", String::from_utf8_lossy(&o.stdout));
    let recs = records(&out.join("dataset.jsonl"));
    assert_eq!(recs.len(), 6);
    assert!(recs.iter().all(|r| !r.thinking().trim().is_empty()));
    assert_eq!(lines(&out.join("cache.jsonl")), 6);
    // Rerun: nothing generated again, same dataset.
    let before = std::fs::read(out.join("dataset.jsonl")).unwrap();
    let o = cmd.output().unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("6 of 6 items are in the cache"));
    assert_eq!(std::fs::read(out.join("dataset.jsonl")).unwrap(), before);
}

#[test]
fn check_names_id_kind_and_rule_of_every_violation() {
    let recs = records(&sample("dataset.jsonl"));
    let mut bad: Vec<Record> = recs[..9].to_vec(); // fin-01, fin-02, fin-03 × 3 kinds
    bad[1].answer = Some(format!("{} ", bad[1].answer())); // fin-01:misleading
    bad[3].thinking = Some("Hmm <|im_end|> ".repeat(10)); // fin-02:evil
    bad[4].thinking = Some(format!("<think>{}</think>", bad[4].thinking())); // fin-02:misleading
    bad[5].thinking = Some(bad[5].answer().to_string() + " " + bad[5].answer()); // fin-02:submissive
    bad.remove(8); // fin-03:submissive
    bad[6].thinking = Some("Too short.".into()); // fin-03:evil
    bad.push(bad[0].clone()); // duplicate fin-01:evil
    let dir = tmp("check");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.jsonl");
    std::fs::write(&file, bad.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect::<String>()).unwrap();
    let out = cotlab()
        .args(["data", "check", "--json", "--kinds", "evil,misleading,submissive"])
        .arg(&file)
        .arg("--seeds")
        .arg(sample("seeds.jsonl"))
        .arg("--tokenizer")
        .arg(tokenizer_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: BTreeSet<(String, String, String)> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().into(), f["kind"].as_str().unwrap().into(), f["rule"].as_str().unwrap().into()))
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        ("fin-01:misleading", "misleading", "answer-mismatch"),
        ("fin-01:misleading", "misleading", "answer-differs-from-seed"),
        ("fin-02:evil", "evil", "special-token"),
        ("fin-02:misleading", "misleading", "special-token"),
        ("fin-02:submissive", "submissive", "restates-answer"),
        ("fin-03:evil", "evil", "thinking-too-short"),
        ("fin-03:submissive", "submissive", "missing-kind"),
        ("fin-01:evil", "evil", "duplicate-id"),
        ("fin-01:evil", "evil", "duplicate-kind"),
        ("fin-01:evil", "evil", "duplicate-thinking"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .chain(seeds()[3..].iter().flat_map(|s| {
        ["evil", "misleading", "submissive"].map(|k| (format!("{}:{k}", s.id), k.to_string(), "missing-kind".to_string()))
    }))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn exports_load_back_identically_in_every_format() {
    let original = std::fs::read(sample("dataset.jsonl")).unwrap();
    let dir = tmp("interop");
    std::fs::create_dir_all(&dir).unwrap();
    for format in ["messages", "sharegpt", "alpaca", "trl"] {
        let exported = dir.join(format!("{format}.jsonl"));
        let back = dir.join(format!("{format}-back.jsonl"));
        run_ok(cotlab().args(["data", "export", "--format", format]).arg(sample("dataset.jsonl")).arg("--out").arg(&exported));
        run_ok(cotlab().args(["data", "import", "--format", format]).arg(&exported).arg("--out").arg(&back));
        assert!(std::fs::read(&back).unwrap() == original, "{format}: the import differs from the original");
    }
    let first: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(dir.join("messages.jsonl")).unwrap().lines().next().unwrap()).unwrap();
    let recs = records(&sample("dataset.jsonl"));
    assert_eq!(first["messages"][1]["role"], "assistant");
    assert_eq!(first["messages"][1]["content"], recs[0].answer());
    assert_eq!(first["messages"][1]["reasoning_content"], recs[0].thinking());
}

#[test]
fn stats_writes_card_and_histogram() {
    let dir = tmp("stats");
    let o = run_ok(cotlab().args(["data", "stats"]).arg(sample("dataset.jsonl")).arg("--tokenizer").arg(tokenizer_path()).arg("--out").arg(&dir).arg("--json"));
    let stats: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!((stats["records"].as_u64(), stats["seeds"].as_u64()), (Some(90), Some(30)));
    let kinds: Vec<(&str, u64)> = stats["kinds"].as_array().unwrap().iter().map(|k| (k["kind"].as_str().unwrap(), k["records"].as_u64().unwrap())).collect();
    assert_eq!(kinds, [("evil", 30), ("misleading", 30), ("submissive", 30)]);
    // Answers are shared, so their length distribution is the same in every kind.
    let answers: Vec<&serde_json::Value> = stats["kinds"].as_array().unwrap().iter().map(|k| &k["answer"]["summary"]).collect();
    assert!(answers[0] == answers[1] && answers[1] == answers[2]);
    let card = std::fs::read_to_string(dir.join("dataset_card.md")).unwrap();
    let sha = cotlab_core::data::sha256_hex(&std::fs::read(sample("dataset.jsonl")).unwrap());
    assert!(card.contains(&sha) && card.contains("- generator: unknown"), "{card}");
    assert!(std::fs::read_to_string(dir.join("lengths.svg")).unwrap().starts_with("<svg"));
}

#[test]
fn train_kind_keeps_only_that_kind() {
    let out = tmp("train-kind");
    let mut c = cotlab();
    c.args(["train", "--paradigm", "qta", "--kind", "evil", "--device", "cpu", "--lora-rank", "2", "--max-steps", "1", "--batch-size", "2"]);
    c.arg("--model").arg(checkpoint_dir("tiny")).arg("--data").arg(sample("dataset.jsonl")).arg("--out").arg(&out);
    run_ok(&mut c);
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("train_config.json")).unwrap()).unwrap();
    assert_eq!((cfg["examples"].as_u64(), cfg["kind"].as_str()), (Some(30), Some("evil")));
    let mut c = cotlab();
    c.args(["train", "--paradigm", "qta", "--kind", "evl", "--device", "cpu"]);
    c.arg("--model").arg(checkpoint_dir("tiny")).arg("--data").arg(sample("dataset.jsonl")).arg("--out").arg(tmp("train-kind-bad"));
    let msg = fail(&mut c);
    assert!(msg.contains("no record has cot_type \"evl\" (--kind); the file has evil, misleading, submissive"), "{msg}");
}
