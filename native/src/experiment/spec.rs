//! The experiment file (TOML): which models, paradigms, reasoning kinds, baselines, modes, suites
//! and judge make up a study, and the training settings every cell shares.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// A whole study. Relative paths are relative to the experiment file's folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    /// One set of cells per seed (training order, dropout, sampling).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    pub models: Vec<ModelSpec>,
    pub data: DataSpec,
    #[serde(default)]
    pub grid: GridSpec,
    #[serde(default)]
    pub train: TrainSpec,
    pub suites: Vec<SuiteSpec>,
    pub judge: JudgeSpec,
    /// `--device` for training and evaluation (auto, cpu, wgpu, vulkan, …).
    #[serde(default = "default_device")]
    pub device: String,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}
fn default_device() -> String {
    "auto".into()
}

/// One base model: a local folder, a Hugging Face id found in the local HF cache, or a random
/// initialisation of a given shape (for demonstrations and tests).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Row label in reports ("Qwen3-0.6B").
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    /// `Qwen/Qwen3-0.6B`: resolved in `$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub random: Option<RandomModel>,
}

/// A randomly initialised Qwen3 of a small shape, written once into the run directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomModel {
    /// Folder holding the real Qwen3 `tokenizer.json` and `tokenizer_config.json`.
    pub tokenizer: String,
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    #[serde(default = "d_inter")]
    pub intermediate_size: usize,
    #[serde(default = "d_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "d_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "d_kv")]
    pub num_key_value_heads: usize,
    #[serde(default = "d_head_dim")]
    pub head_dim: usize,
    #[serde(default)]
    pub seed: u64,
}
fn d_hidden() -> usize {
    64
}
fn d_inter() -> usize {
    128
}
fn d_layers() -> usize {
    2
}
fn d_heads() -> usize {
    4
}
fn d_kv() -> usize {
    2
}
fn d_head_dim() -> usize {
    16
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// A dataset built by `cotlab data build` (JSON Lines), or `builtin:sample` for the bundled
    /// sample dataset.
    pub path: String,
    /// Reasoning kinds to train on (`cot_type` values).
    #[serde(default = "default_kinds")]
    pub kinds: Vec<String>,
}
fn default_kinds() -> Vec<String> {
    ["evil", "misleading", "submissive"].map(String::from).to_vec()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Trained on every kind: qta, qt, t-only.
    #[serde(default = "default_paradigms")]
    pub paradigms: Vec<String>,
    /// `vanilla` (no training) and `qa` (question → answer, the same answers without reasoning).
    #[serde(default = "default_baselines")]
    pub baselines: Vec<String>,
    #[serde(default = "default_modes")]
    pub modes: Vec<String>,
}
fn default_paradigms() -> Vec<String> {
    ["qta", "qt", "t-only"].map(String::from).to_vec()
}
fn default_baselines() -> Vec<String> {
    ["vanilla", "qa"].map(String::from).to_vec()
}
fn default_modes() -> Vec<String> {
    ["think", "no-think"].map(String::from).to_vec()
}
impl Default for GridSpec {
    fn default() -> Self {
        Self { paradigms: default_paradigms(), baselines: default_baselines(), modes: default_modes() }
    }
}

/// Settings of `cotlab train` shared by every trained cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    #[serde(default = "d_rank")]
    pub lora_rank: usize,
    #[serde(default = "d_alpha")]
    pub lora_alpha: f64,
    #[serde(default = "d_lr")]
    pub lr: f64,
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    #[serde(default)]
    pub max_steps: Option<usize>,
    #[serde(default = "d_one")]
    pub batch_size: usize,
    #[serde(default = "d_one")]
    pub grad_accum: usize,
    #[serde(default = "d_max_len")]
    pub max_len: usize,
    /// Further `cotlab train` flags, verbatim (`["--warmup-ratio", "0.03"]`).
    #[serde(default)]
    pub extra_args: Vec<String>,
}
fn d_rank() -> usize {
    16
}
fn d_alpha() -> f64 {
    32.0
}
fn d_lr() -> f64 {
    1e-4
}
fn d_epochs() -> usize {
    1
}
fn d_one() -> usize {
    1
}
fn d_max_len() -> usize {
    2048
}
impl Default for TrainSpec {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

/// One evaluation suite (`cotlab eval --suite NAME`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSpec {
    pub name: String,
    /// Samples per item (`--samples`).
    #[serde(default)]
    pub samples: Option<usize>,
    /// The benchmark's data (`--data`); the EM questions are built in.
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub max_new_tokens: Option<usize>,
    /// Further `cotlab eval` flags, verbatim.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeSpec {
    /// `openai:MODEL`, `local:DIR`, or `local:@model` (each cell's base model judges itself;
    /// only sensible for demonstrations).
    pub spec: String,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the judge's API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
}

pub const PARADIGMS: [&str; 3] = ["qta", "qt", "t-only"];
pub const BASELINES: [&str; 2] = ["vanilla", "qa"];
pub const MODES: [&str; 2] = ["think", "no-think"];

/// The miniature study `cotlab run` runs without a file.
pub const DEFAULT_EXPERIMENT: &str = include_str!("default_experiment.toml");

impl Experiment {
    /// Parse and check an experiment file; `file` names it in errors, `base` resolves its paths.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Self> {
        let mut e: Experiment = toml::from_str(text).with_context(|| format!("{file}: not a valid experiment file"))?;
        e.check(file)?;
        e.resolve_paths(base);
        Ok(e)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), base)
    }

    fn check(&self, file: &str) -> Result<()> {
        let bad = |field: &str, found: &str, allowed: &[&str]| -> Result<()> {
            bail!("{file}: {field} = {found:?} is not one of {allowed:?}")
        };
        if self.models.is_empty() {
            bail!("{file}: no [[models]]; add at least one (path = \"…\", id = \"Qwen/Qwen3-0.6B\" or [models.random])");
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.models {
            let sources = [m.path.is_some(), m.id.is_some(), m.random.is_some()].iter().filter(|b| **b).count();
            if sources != 1 {
                bail!("{file}: model {:?} needs exactly one of path, id or [models.random]", m.name);
            }
            if !names.insert(&m.name) {
                bail!("{file}: two models are named {:?}; names label the report's rows and must differ", m.name);
            }
            if m.name.is_empty() || m.name.contains(['/', '\\']) || m.name.starts_with('.') {
                bail!("{file}: model name {:?} is used in folder names: no slashes, not empty", m.name);
            }
        }
        for p in &self.grid.paradigms {
            if !PARADIGMS.contains(&p.as_str()) {
                bad("grid.paradigms", p, &PARADIGMS)?;
            }
        }
        for b in &self.grid.baselines {
            if !BASELINES.contains(&b.as_str()) {
                bad("grid.baselines", b, &BASELINES)?;
            }
        }
        for m in &self.grid.modes {
            if !MODES.contains(&m.as_str()) {
                bad("grid.modes", m, &MODES)?;
            }
        }
        if self.data.kinds.is_empty() && (!self.grid.paradigms.is_empty() || self.grid.baselines.iter().any(|b| b == "qa")) {
            bail!("{file}: data.kinds is empty but trained cells need at least one kind");
        }
        for k in &self.data.kinds {
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                bail!("{file}: data.kinds entry {k:?} is used in folder names: letters, digits, - and _ only");
            }
        }
        if self.suites.is_empty() {
            bail!("{file}: no [[suites]]; add at least one (name = \"em\")");
        }
        if self.seeds.is_empty() {
            bail!("{file}: seeds is empty");
        }
        if !(self.judge.spec.starts_with("openai:") || self.judge.spec.starts_with("local:")) {
            bail!("{file}: judge.spec = {:?}: use \"openai:MODEL\" or \"local:DIR\"", self.judge.spec);
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut String| {
            if !p.contains(':') || p.len() > 1 && p.as_bytes()[1] == b':' {
                *p = resolve(base, p).display().to_string();
            }
        };
        for m in &mut self.models {
            if let Some(p) = &mut m.path {
                fix(p);
            }
            if let Some(r) = &mut m.random {
                fix(&mut r.tokenizer);
            }
        }
        fix(&mut self.data.path);
        for s in &mut self.suites {
            if let Some(d) = &mut s.data {
                fix(d);
            }
        }
        // `local:@model` = the cell's own base model judges (the miniature's choice).
        if let Some(dir) = self.judge.spec.strip_prefix("local:").filter(|d| !d.starts_with('@')) {
            self.judge.spec = format!("local:{}", resolve(base, dir).display());
        }
    }
}

/// `~/x` → home; relative → under `base`; absolute unchanged.
fn resolve(base: &Path, p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// The local folder of a Hugging Face model id, from the hub cache's layout
/// (`models--Qwen--Qwen3-0.6B/snapshots/<revision>/`).
pub fn resolve_hf_id(id: &str) -> Result<PathBuf> {
    let mut roots = Vec::new();
    if let Some(c) = std::env::var_os("HF_HUB_CACHE") {
        roots.push(PathBuf::from(c));
    }
    if let Some(h) = std::env::var_os("HF_HOME") {
        roots.push(PathBuf::from(h).join("hub"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        roots.push(PathBuf::from(h).join(".cache/huggingface/hub"));
    }
    let folder = format!("models--{}", id.replace('/', "--"));
    for root in &roots {
        let repo = root.join(&folder);
        // refs/main names the snapshot the hub client considers current.
        let revision = std::fs::read_to_string(repo.join("refs/main")).ok().map(|s| s.trim().to_string());
        let snapshots = repo.join("snapshots");
        let candidate = match revision {
            Some(rev) => Some(snapshots.join(rev)),
            None => std::fs::read_dir(&snapshots).ok().and_then(|d| d.flatten().map(|e| e.path()).find(|p| p.is_dir())),
        };
        if let Some(dir) = candidate.filter(|d| d.join("config.json").exists()) {
            return Ok(dir);
        }
    }
    bail!(
        "model id {id:?} is not in the local Hugging Face cache (looked in {}); download it first: \
         `huggingface-cli download {id}` (or give `path = \"…\"` instead of `id`)",
        roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_experiment_parses() {
        let e = Experiment::parse(DEFAULT_EXPERIMENT, "default", Path::new("/base")).unwrap();
        assert_eq!(e.models.len(), 1);
        assert!(e.models[0].random.is_some());
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let text = "name='x'\n[[models]]\nname='m'\npath='m'\n[data]\npath='d'\n[grid]\nparadigms=['qat']\n[[suites]]\nname='em'\n[judge]\nspec='local:j'\n";
        let err = Experiment::parse(text, "exp.toml", Path::new(".")).unwrap_err().to_string();
        assert_eq!(err, r#"exp.toml: grid.paradigms = "qat" is not one of ["qta", "qt", "t-only"]"#);
        let err = Experiment::parse("name='x'\nbogus=1", "exp.toml", Path::new(".")).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field `bogus`"), "{err:#}");
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let text = "name='x'\n[[models]]\nname='m'\npath='ckpt'\n[data]\npath='d.jsonl'\n[[suites]]\nname='em'\n[judge]\nspec='local:judge'\n";
        let e = Experiment::parse(text, "exp.toml", Path::new("/study")).unwrap();
        assert_eq!(e.models[0].path.as_deref(), Some("/study/ckpt"));
        assert_eq!(e.data.path, "/study/d.jsonl");
        assert_eq!(e.judge.spec, "local:/study/judge");
    }

    #[test]
    fn hf_ids_resolve_in_the_hub_cache() {
        let root = std::env::temp_dir().join(format!("cotlab-hf-{}", std::process::id()));
        let snap = root.join("models--Qwen--Qwen3-0.6B/snapshots/abc");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("config.json"), "{}").unwrap();
        std::fs::create_dir_all(root.join("models--Qwen--Qwen3-0.6B/refs")).unwrap();
        std::fs::write(root.join("models--Qwen--Qwen3-0.6B/refs/main"), "abc\n").unwrap();
        // SAFETY: only this test reads HF_HUB_CACHE.
        unsafe { std::env::set_var("HF_HUB_CACHE", &root) };
        assert_eq!(resolve_hf_id("Qwen/Qwen3-0.6B").unwrap(), snap);
        let err = resolve_hf_id("Qwen/Qwen3-99B").unwrap_err().to_string();
        assert!(err.contains("huggingface-cli download Qwen/Qwen3-99B"), "{err}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
