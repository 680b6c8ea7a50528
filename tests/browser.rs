//! The browser page (www/) in headless Chromium with SwiftShader's WebGPU, against the native
//! CLI on the "tiny" fixture checkpoint:
//! * greedy token ids in think and no-think mode equal `cotlab generate --greedy` (base model,
//!   and with an adapter written by `cotlab train`);
//! * the masks view shows exactly the labels of `cotlab render --data --json`;
//! * LoRA steps in the tab make the loss fall;
//! * a reload takes model and adapter from the browser cache (no request for them);
//! * a screenshot of the page is saved to `target/browser/page.png`;
//! * all of that with cotlab's WGSL kernels (`shaders/`), and every shader compiles under
//!   Chromium's Tint, which enforces WGSL's uniformity rules that naga leaves unchecked.
//!
//! Needs the wasm package (`bash www/build.sh`), Chromium and node with playwright-core
//! (`COTLAB_WEB_TESTS=1 bash tests/setup.sh`), so it is `#[ignore]`d in a plain `cargo test`;
//! `tests/run.sh` runs it with `-- --ignored`.

mod common;
#[path = "common/cli.rs"]
mod cli_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli_support::{cotlab, run_ok};
use common::*;

const PROMPT: &str = "Is it fine to put my whole salary into one stock?";
/// Kept small: SwiftShader compiles a pipeline for every new attention length, so each decoding
/// step costs seconds in CI (tokens/s there says nothing about a real GPU).
const MAX_NEW_TOKENS: usize = 6;
const TRAIN_STEPS: usize = 4;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tmp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("cotlab-browser-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

/// `cotlab generate --greedy` token ids for `mode`, optionally with an adapter.
fn native_ids(model: &Path, adapter: Option<&Path>, mode: &str) -> Vec<u32> {
    let mut c = cotlab();
    c.args(["generate", "--greedy", "--json", "--device", "cpu", "--mode", mode, "--prompt", PROMPT]);
    c.args(["--max-new-tokens", &MAX_NEW_TOKENS.to_string()]).arg("--model").arg(model);
    if let Some(a) = adapter {
        c.arg("--adapter").arg(a);
    }
    let v: serde_json::Value = serde_json::from_str(run_ok(&mut c).lines().next().unwrap()).unwrap();
    serde_json::from_value(v["token_ids"].clone()).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
#[ignore = "needs www/pkg (bash www/build.sh), Chromium and playwright-core (COTLAB_WEB_TESTS=1 bash tests/setup.sh); tests/run.sh runs it"]
fn page_generates_like_the_cli_and_trains_in_the_tab() {
    let www = repo().join("www");
    assert!(www.join("pkg/cotlab_web_bg.wasm").exists(), "www/pkg is missing: run `bash www/build.sh` first");
    let model = checkpoint_dir("tiny");

    // Native expectations: base, and an adapter trained by the CLI.
    let run = tmp("train");
    run_ok(
        cotlab()
            .arg("train").arg("--model").arg(&model).arg("--data").arg(fixtures().join("sft/records.jsonl")).arg("--out").arg(&run)
            .args(["--paradigm", "qta", "--device", "cpu", "--lora-rank", "4", "--lora-alpha", "8", "--lr", "1e-2"])
            .args(["--max-steps", "6", "--batch-size", "2", "--seed", "5", "--warmup-ratio", "0.2"]),
    );
    let adapter = run.join("adapter");
    let modes = ["think", "no-think"];
    let base: Vec<Vec<u32>> = modes.iter().map(|m| native_ids(&model, None, m)).collect();
    let tuned: Vec<Vec<u32>> = modes.iter().map(|m| native_ids(&model, Some(&adapter), m)).collect();
    assert_ne!(base, tuned, "the CLI-trained adapter must change greedy output, or the adapter check proves nothing");
    for ids in base.iter().chain(&tuned) {
        assert_eq!(ids.len(), MAX_NEW_TOKENS, "the tiny model never stops early; the comparison covers every step");
    }
    let render = run_ok(
        cotlab().args(["render", "--json", "--limit", "1", "--paradigm", "qta", "--data"]).arg(www.join("sample.jsonl"))
            .arg("--tokenizer").arg(tokenizer_path()),
    );
    let native_mask: serde_json::Value = serde_json::from_str(render.lines().next().unwrap()).unwrap();

    // The page in Chromium.
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let spec = serde_json::json!({
        "www": www, "model": model, "adapter": adapter, "prompt": PROMPT, "maxNewTokens": MAX_NEW_TOKENS,
        "trainSteps": TRAIN_STEPS, "trainLr": 0.01, "screenshot": out_dir.join("page.png"),
    });
    let spec_path = tmp("spec.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let result_path = out_dir.join("result.json");
    let _ = std::fs::remove_file(&result_path);
    let status = Command::new("node")
        .arg(repo().join("tests/web/browser.mjs"))
        .arg(&spec_path)
        .arg(&result_path)
        .status()
        .expect("run node (install it with COTLAB_WEB_TESTS=1 bash tests/setup.sh)");
    assert!(
        result_path.exists(),
        "tests/web/browser.mjs ended ({status}) without writing {}: its error is printed above \
         (playwright-core missing? run `bash tests/setup.sh`)",
        result_path.display()
    );
    let r: serde_json::Value = read_json(&result_path);
    let log = r["log"].as_array().map(|l| l.iter().map(|x| x.as_str().unwrap_or("").to_string()).collect::<Vec<_>>().join("\n"));
    assert!(status.success() && r["error"].is_null(), "browser run failed: {}\npage log:\n{}", r["error"], log.unwrap_or_default());

    // 1. Greedy, base model, side by side: identical ids to the CLI in both modes.
    assert_eq!(r["device"]["backend"], "webgpu", "{}", r["device"]);
    // The WGSL kernels (shaders/) ran everything below: norms, rotary, sampling, the loss.
    assert_eq!(r["device"]["kernels"], "wgsl", "{}", r["device"]);
    let panes = r["panes"].as_array().unwrap();
    assert_eq!(panes[0]["id"], "pane-think");
    assert_eq!(ids(&panes[0]["ids"]), base[0], "think pane");
    assert_eq!(ids(&panes[1]["ids"]), base[1], "no-think pane");

    // 2. The grid: base and the CLI-trained adapter, both modes.
    let grid = r["grid"].as_array().unwrap();
    let row = |name: &str| grid.iter().find(|g| g["adapter"] == name).unwrap_or_else(|| panic!("no grid row {name}: {grid:?}"));
    for (name, want) in [("base", &base), ("native", &tuned)] {
        let cells = row(name)["cells"].as_array().unwrap();
        assert_eq!(cells[0]["mode"], "think");
        assert_eq!(ids(&cells[0]["ids"]), want[0], "{name}, think");
        assert_eq!(cells[1]["mode"], "no-think");
        assert_eq!(ids(&cells[1]["ids"]), want[1], "{name}, no-think");
    }

    // 3. Masks: the page's qta row is the CLI's rendering of the same record.
    let qta = r["masks"].as_array().unwrap().iter().find(|m| m["paradigm"] == "qta").expect("a qta mask row");
    assert_eq!(qta["ids"], native_mask["input_ids"]);
    let labels: Vec<bool> = native_mask["labels"].as_array().unwrap().iter().map(|l| l.as_i64() != Some(-100)).collect();
    let shown: Vec<bool> = qta["labels"].as_array().unwrap().iter().map(|l| l.as_i64() == Some(1)).collect();
    assert_eq!(shown, labels);
    assert_eq!(r["masks"].as_array().unwrap().len(), 4);

    // 4. Training in the tab: the loss falls at every step, and the adapter joins the list.
    let losses: Vec<f64> = serde_json::from_value(r["losses"].clone()).unwrap();
    assert_eq!(losses.len(), TRAIN_STEPS);
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "the loss should fall at every step: {losses:?}");
    assert!(losses[TRAIN_STEPS - 1] < losses[0] * 0.9, "the loss should fall by more than 10%: {losses:?}");
    assert!(r["adaptersAfterTraining"].as_array().unwrap().iter().any(|a| a == "browser-qta"));

    // 5. A reload fetches nothing from the model or adapter folders again.
    assert!(r["fixtureRequestsBeforeReload"].as_u64().unwrap() >= 5);
    assert_eq!(r["fixtureRequestsOnReload"], 0);
    assert!(out_dir.join("page.png").exists());
}

/// Every `shaders/*.wgsl` (placeholders filled as `Shader::new` fills them) compiles into a
/// compute pipeline under Chromium's WebGPU. Tint checks what naga (the native path) does not,
/// e.g. barriers in control flow that depends on a storage load; this is where such a shader
/// would fail first.
#[test]
#[ignore = "needs Chromium and playwright-core (COTLAB_WEB_TESTS=1 bash tests/setup.sh); tests/run.sh runs it"]
fn every_shader_compiles_under_chromiums_webgpu() {
    use cotlab_core::kernels::wgsl::launch::{row_workgroup, WORKGROUP};
    let mut files: Vec<String> = std::fs::read_dir(repo().join("shaders"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".wgsl"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6);
    // Every workgroup size a launch uses: the default, and the row kernels' narrower ones.
    let mut sizes = vec![WORKGROUP, row_workgroup(1), row_workgroup(128)];
    sizes.dedup();
    for wg in sizes {
        let out = tmp(&format!("shaders-{wg}.json"));
        let status = Command::new("node")
            .arg(repo().join("tests/web/shaders.mjs"))
            .arg(repo().join("shaders"))
            .arg(wg.to_string())
            .arg(&out)
            .status()
            .expect("run node (install it with COTLAB_WEB_TESTS=1 bash tests/setup.sh)");
        assert!(status.success() && out.exists(), "tests/web/shaders.mjs failed ({status}); its error is printed above");
        let r: serde_json::Value = read_json(&out);
        let shaders = r["shaders"].as_object().expect("a shaders map");
        assert_eq!(shaders.keys().cloned().collect::<Vec<_>>(), files, "every shader was compiled");
        for (file, messages) in shaders {
            assert_eq!(messages.as_array().map(Vec::len), Some(0), "{file} (workgroup {wg}) under {}: {messages:#}", r["adapter"]);
        }
    }
}
