//! `cotlab data build | check | stats | export | import`: controlled datasets (fixed answers,
//! several kinds of reasoning), their checks, statistics and card, and conversions to the
//! Python stack's formats.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::data::{
    check, export_jsonl, import_jsonl, parse_seeds, render_card, sha256_hex, CardInfo, CheckConfig, CheckReport, DatasetStats,
    Format, Kind, PromptInfo, Seed, BUILTIN_KINDS,
};
use cotlab_core::device::{DTypeChoice, DeviceChoice};
use cotlab_core::sft::Record;

use crate::data::build::{write_atomically, BuildDir, BuildInfo, Builder, KindInfo};
use crate::data::generator::{validate, Generator, GeneratorSpec, HttpSettings, LocalSettings, SamplingSettings};
use crate::data::plot::length_histogram_svg;

#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Generate the reasoning of every seed × kind with a generator model, then check the result.
    Build(BuildArgs),
    /// Verify a dataset's invariants (answers fixed across kinds, every kind present, clean
    /// reasoning); every failure names id, kind and rule. Exits 1 on failures.
    Check(CheckCmd),
    /// Counts and token-length distributions per kind; writes dataset_card.md and lengths.svg.
    Stats(StatsArgs),
    /// Convert a dataset to messages (reasoning_content), sharegpt, alpaca or trl JSON Lines.
    Export(ConvertArgs),
    /// Convert messages, sharegpt, alpaca or trl JSON Lines into a cotlab dataset.
    Import(ImportArgs),
}

/// The settings of the check, shared by `build` and `check`.
#[derive(ClapArgs, Clone)]
pub struct CheckArgs {
    /// Kinds every seed must have (comma-separated); `check` defaults to the kinds in the file.
    #[arg(long, value_delimiter = ',')]
    pub kinds: Option<Vec<String>>,
    /// The Qwen3 tokenizer that measures lengths: a tokenizer.json or a checkpoint directory.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    #[arg(long, default_value_t = 16)]
    pub min_thinking_tokens: usize,
    #[arg(long, default_value_t = 2048)]
    pub max_thinking_tokens: usize,
    /// Largest share (0–1) of the answer's word n-grams allowed in the thinking.
    #[arg(long, default_value_t = 0.5)]
    pub max_answer_overlap: f64,
    /// n of the n-grams of --max-answer-overlap.
    #[arg(long, default_value_t = 4)]
    pub overlap_ngram: usize,
}

impl CheckArgs {
    fn config(&self, kinds: Option<Vec<String>>) -> Result<CheckConfig> {
        if !(0.0..=1.0).contains(&self.max_answer_overlap) {
            bail!("--max-answer-overlap must be between 0 and 1, got {}", self.max_answer_overlap);
        }
        if self.min_thinking_tokens > self.max_thinking_tokens {
            bail!("--min-thinking-tokens ({}) is above --max-thinking-tokens ({})", self.min_thinking_tokens, self.max_thinking_tokens);
        }
        Ok(CheckConfig {
            kinds,
            min_thinking_tokens: self.min_thinking_tokens,
            max_thinking_tokens: self.max_thinking_tokens,
            max_answer_overlap: self.max_answer_overlap,
            overlap_ngram: self.overlap_ngram.max(1),
        })
    }
}

#[derive(ClapArgs)]
pub struct BuildArgs {
    /// Seeds: JSON Lines of {"id", "question", "answer"} (optional "system", "category").
    #[arg(long)]
    pub seeds: PathBuf,
    /// Output directory: dataset.jsonl, cache.jsonl (finished generations), build.json,
    /// check.json, dataset_card.md, lengths.svg. Rerunning the command resumes.
    #[arg(long)]
    pub out: PathBuf,
    /// openai:MODEL (an OpenAI-compatible endpoint, see --base-url) or local:DIR (a Qwen3 checkpoint).
    #[arg(long)]
    pub generator: GeneratorSpec,
    /// Prompt template of a kind: KIND=FILE.md (replaces a shipped one or defines a new kind;
    /// placeholders {{question}}, {{answer}}, {{category}}, {{kind}}). Repeatable.
    #[arg(long = "prompt", value_name = "KIND=FILE")]
    pub prompts: Vec<String>,
    #[command(flatten)]
    pub check: CheckArgs,
    /// `regenerate`: generate items that fail the check again (see --fix-rounds).
    #[arg(long)]
    pub fix: Option<FixMode>,
    #[arg(long, default_value_t = 2)]
    pub fix_rounds: usize,
    /// Only the first N seeds (a quick trial).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Largest reply, in tokens.
    #[arg(long, default_value_t = 1024)]
    pub max_tokens: u32,
    /// openai: base URL up to the version segment, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1.
    #[arg(long, default_value = "https://api.openai.com/v1")]
    pub base_url: String,
    /// openai: name of the environment variable holding the API key (never printed). Without it
    /// no Authorization header is sent (local servers).
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// openai: requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// openai: retries after the first attempt (429, 5xx, timeouts, refused connections), with
    /// exponential backoff.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// openai: first backoff in milliseconds (doubles per retry; a Retry-After header wins).
    #[arg(long, default_value_t = 500)]
    pub backoff_ms: u64,
    /// openai: limit per attempt, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_s: u64,
    /// local: device (auto, cpu, wgpu, vulkan, metal, dx12).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// local: compute dtype.
    #[arg(long, default_value = "f32")]
    pub dtype: DTypeChoice,
    /// local: prompts generated together.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FixMode {
    Regenerate,
}

#[derive(ClapArgs)]
pub struct CheckCmd {
    /// The dataset (JSON Lines records).
    pub file: PathBuf,
    /// Also check that every seed is present and questions and answers equal the seeds'.
    #[arg(long)]
    pub seeds: Option<PathBuf>,
    #[command(flatten)]
    pub check: CheckArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(ClapArgs)]
pub struct StatsArgs {
    pub file: PathBuf,
    /// The Qwen3 tokenizer: a tokenizer.json or a checkpoint directory.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Where dataset_card.md and lengths.svg go (default: beside the dataset).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the statistics as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(ClapArgs)]
pub struct ConvertArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub format: Format,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(ClapArgs)]
pub struct ImportArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub format: Format,
    #[arg(long)]
    pub out: PathBuf,
    /// cot_type of lines that have none.
    #[arg(long)]
    pub kind: Option<String>,
}

pub fn run(a: Args) -> Result<()> {
    match a.command {
        Command::Build(b) => build(b),
        Command::Check(c) => check_cmd(c),
        Command::Stats(s) => stats_cmd(s),
        Command::Export(e) => export(e),
        Command::Import(i) => import(i),
    }
}

// ---------------------------------------------------------------------------------- helpers

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// A tokenizer from a tokenizer.json or a checkpoint directory holding one.
fn load_tokenizer(path: &Path) -> Result<QwenTokenizer> {
    let file = if path.is_dir() { path.join("tokenizer.json") } else { path.to_path_buf() };
    Ok(QwenTokenizer::from_bytes(&read(&file)?, &file.display().to_string())?)
}

fn need_tokenizer(path: &Option<PathBuf>) -> Result<QwenTokenizer> {
    match path {
        Some(p) => load_tokenizer(p),
        None => bail!(
            "lengths are measured in Qwen3 tokens: pass --tokenizer with the tokenizer.json (or checkpoint directory) \
             of the model you will train"
        ),
    }
}

fn token_counter(tok: &QwenTokenizer) -> impl Fn(&str) -> usize + '_ {
    move |s: &str| tok.encode(s).map(|ids| ids.len()).unwrap_or(0)
}

/// A dataset file as records (JSON Lines; field presence is the check's business).
fn read_records(path: &Path) -> Result<(Vec<u8>, Vec<Record>)> {
    let bytes = read(path)?;
    let file = path.display().to_string();
    let text = std::str::from_utf8(&bytes).with_context(|| format!("{file}: not UTF-8 text"))?;
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => records.push(r),
            Err(e) => problems.push(format!("{file}:{}: not a valid record: {e}", n + 1)),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok((bytes, records))
}

fn print_report(report: &CheckReport) {
    for f in &report.failures {
        println!("{f}");
    }
    if report.ok() {
        eprintln!(
            "check passed: {} records, {} seeds, kinds {}: answers identical across kinds, every kind present",
            report.records,
            report.seeds,
            report.kinds.join(", ")
        );
    } else {
        let counts: Vec<String> = report.counts().iter().map(|(r, n)| format!("{r} {n}")).collect();
        eprintln!("check failed: {} problem(s) in {} records ({})", report.failures.len(), report.records, counts.join(", "));
    }
}

// ---------------------------------------------------------------------------------- build

fn kinds_of(a: &BuildArgs) -> Result<Vec<Kind>> {
    let mut overrides = std::collections::HashMap::new();
    for p in &a.prompts {
        let (name, file) = p.split_once('=').with_context(|| format!("--prompt {p:?}: write KIND=FILE.md"))?;
        let path = PathBuf::from(file);
        let text = String::from_utf8(read(&path)?).with_context(|| format!("{}: not UTF-8 text", path.display()))?;
        overrides.insert(name.to_string(), Kind::new(name, &text, &path.display().to_string())?);
    }
    let names: Vec<String> = match &a.check.kinds {
        Some(k) => k.clone(),
        None => BUILTIN_KINDS.map(String::from).to_vec(),
    };
    if names.is_empty() {
        bail!("--kinds is empty");
    }
    let mut kinds = Vec::new();
    for name in names {
        if kinds.iter().any(|k: &Kind| k.name == name) {
            bail!("--kinds lists {name:?} twice");
        }
        kinds.push(match overrides.remove(&name) {
            Some(k) => k,
            None => Kind::builtin(&name)?,
        });
    }
    if let Some(extra) = overrides.keys().next() {
        bail!("--prompt {extra}=… gives a prompt for a kind not in --kinds; add it to --kinds");
    }
    Ok(kinds)
}

fn build(a: BuildArgs) -> Result<()> {
    // 1. Everything that can be wrong with the inputs, before any generation.
    let seeds_bytes = read(&a.seeds)?;
    let mut seeds: Vec<Seed> = parse_seeds(&seeds_bytes, &a.seeds.display().to_string())?;
    if let Some(n) = a.limit {
        seeds.truncate(n);
    }
    let kinds = kinds_of(&a)?;
    let kind_names: Vec<String> = kinds.iter().map(|k| k.name.clone()).collect();
    let config = a.check.config(Some(kind_names))?;
    let sampling = SamplingSettings { temperature: a.temperature, top_p: a.top_p, max_tokens: a.max_tokens };
    validate(&sampling)?;
    let external_tokenizer = match (&a.check.tokenizer, &a.generator) {
        (Some(p), _) => Some(load_tokenizer(p)?),
        (None, GeneratorSpec::Local { .. }) => None,
        (None, GeneratorSpec::OpenAi { .. }) => Some(need_tokenizer(&None)?),
    };
    let generator = match &a.generator {
        GeneratorSpec::OpenAi { model } => {
            let http = HttpSettings {
                base_url: a.base_url.clone(),
                api_key_env: a.api_key_env.clone(),
                concurrency: a.concurrency,
                retries: a.retries,
                timeout: Duration::from_secs(a.timeout_s),
                backoff: Duration::from_millis(a.backoff_ms),
            };
            Generator::open_ai(model, &http, sampling.clone())?
        }
        GeneratorSpec::Local { dir } => {
            Generator::local(dir, &LocalSettings { device: a.device, dtype: a.dtype, batch_size: a.batch_size }, sampling.clone())?
        }
    };
    let tok = match &external_tokenizer {
        Some(t) => t,
        None => generator.tokenizer().expect("local generators carry their tokenizer"),
    };
    let count = token_counter(tok);

    // 2. Record how the dataset is made, then build (resuming from the cache).
    let dir = BuildDir { dir: a.out.clone() };
    std::fs::create_dir_all(&dir.dir).with_context(|| format!("{}: cannot create", dir.dir.display()))?;
    let info = BuildInfo {
        cotlab_version: cotlab_core::VERSION.into(),
        generator: generator.identity(),
        base_url: matches!(a.generator, GeneratorSpec::OpenAi { .. }).then(|| a.base_url.clone()),
        sampling: sampling.key(),
        seeds_file: a.seeds.display().to_string(),
        seeds_sha256: sha256_hex(&seeds_bytes),
        kinds: kinds.iter().map(|k| KindInfo { name: k.name.clone(), source: k.source.clone(), sha256: k.prompt_hash() }).collect(),
        check: config.clone(),
    };
    write_atomically(&dir.info(), &serde_json::to_vec_pretty(&info)?)?;
    let builder = Builder {
        seeds: &seeds,
        kinds: &kinds,
        generator: &generator,
        dir: &dir,
        check: &config,
        fix_rounds: if a.fix == Some(FixMode::Regenerate) { a.fix_rounds } else { 0 },
        count_tokens: &count,
    };
    let outcome = builder.run()?;
    write_atomically(&dir.check_report(), &serde_json::to_vec_pretty(&outcome.report)?)?;
    eprintln!(
        "{}: {} records ({} generated now, {} items from the cache)",
        dir.dataset().display(),
        outcome.records.len(),
        outcome.generated,
        outcome.cached
    );

    // 3. Card and plot, then the verdict.
    let bytes = read(&dir.dataset())?;
    write_card(&dir.dataset(), &bytes, &outcome.records, &count, &dir.dir, Some(&outcome.report))?;
    print_report(&outcome.report);
    if !outcome.errors.is_empty() {
        for (id, e) in outcome.errors.iter().take(5) {
            eprintln!("generation failed for {id}: {e}");
        }
        bail!(
            "{} item(s) could not be generated; rerun the same command to retry them (finished items are kept in {})",
            outcome.errors.len(),
            dir.cache().display()
        );
    }
    if !outcome.report.ok() {
        bail!(
            "the dataset fails the check ({} problem(s), listed above; also in {}); rerun with --fix regenerate to regenerate failing items",
            outcome.report.failures.len(),
            dir.check_report().display()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- check

fn check_cmd(a: CheckCmd) -> Result<()> {
    let (_, records) = read_records(&a.file)?;
    let seeds = match &a.seeds {
        Some(p) => Some(parse_seeds(&read(p)?, &p.display().to_string())?),
        None => None,
    };
    let config = a.check.config(a.check.kinds.clone())?;
    let tok = need_tokenizer(&a.check.tokenizer)?;
    let report = check(&records, seeds.as_deref(), &config, &token_counter(&tok));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if !report.ok() {
        std::process::exit(1);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- stats

/// Write dataset_card.md and lengths.svg for `dataset` into `out`, with build.json's details when
/// the dataset sits in a build directory.
fn write_card(
    dataset: &Path,
    bytes: &[u8],
    records: &[Record],
    count: &dyn Fn(&str) -> usize,
    out: &Path,
    report: Option<&CheckReport>,
) -> Result<DatasetStats> {
    let stats = DatasetStats::of(records, count);
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    write_atomically(&out.join("lengths.svg"), length_histogram_svg(&stats)?.as_bytes())?;
    let info: Option<BuildInfo> = dataset
        .parent()
        .map(|d| d.join("build.json"))
        .filter(|p| p.exists())
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut settings = Vec::new();
    if let Some(i) = &info {
        if let Some(url) = &i.base_url {
            settings.push(("endpoint".to_string(), url.clone()));
        }
        settings.push(("sampling".to_string(), i.sampling.clone()));
        settings.push(("seeds".to_string(), format!("{} (SHA-256 `{}`)", i.seeds_file, i.seeds_sha256)));
    }
    let card = render_card(&CardInfo {
        dataset: dataset.file_name().map_or_else(|| dataset.display().to_string(), |n| n.to_string_lossy().into_owned()),
        dataset_sha256: sha256_hex(bytes),
        generator: info.as_ref().map(|i| i.generator.clone()),
        settings,
        prompts: info
            .as_ref()
            .map(|i| i.kinds.iter().map(|k| PromptInfo { kind: k.name.clone(), source: k.source.clone(), sha256: k.sha256.clone() }).collect())
            .unwrap_or_default(),
        stats: &stats,
        check: report,
        plot: Some("lengths.svg".into()),
        cotlab_version: cotlab_core::VERSION.into(),
    });
    write_atomically(&out.join("dataset_card.md"), card.as_bytes())?;
    Ok(stats)
}

fn stats_cmd(a: StatsArgs) -> Result<()> {
    let (bytes, records) = read_records(&a.file)?;
    let tok = need_tokenizer(&a.tokenizer)?;
    let out = match &a.out {
        Some(o) => o.clone(),
        None => a.file.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from(".")),
    };
    let stats = write_card(&a.file, &bytes, &records, &token_counter(&tok), &out, None)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!("{} records, {} seeds; lengths in tokens (mean / median / max)", stats.records, stats.seeds);
        println!("{:<14} {:>7}  {:>20}  {:>20}  {:>20}", "kind", "records", "question", "thinking", "answer");
        for k in &stats.kinds {
            let f = |s: &cotlab_core::data::LengthSummary| format!("{:.1} / {:.1} / {}", s.mean, s.median, s.max);
            println!(
                "{:<14} {:>7}  {:>20}  {:>20}  {:>20}",
                k.kind,
                k.records,
                f(&k.question.summary),
                f(&k.thinking.summary),
                f(&k.answer.summary)
            );
        }
    }
    eprintln!("wrote {} and {}", out.join("dataset_card.md").display(), out.join("lengths.svg").display());
    Ok(())
}

// ---------------------------------------------------------------------------------- interop

fn export(a: ConvertArgs) -> Result<()> {
    let (_, records) = read_records(&a.file)?;
    write_atomically(&a.out, export_jsonl(&records, a.format).as_bytes())?;
    eprintln!("{}: {} records as {}", a.out.display(), records.len(), a.format.as_str());
    Ok(())
}

fn import(a: ImportArgs) -> Result<()> {
    let records = import_jsonl(&read(&a.file)?, &a.file.display().to_string(), a.format, a.kind.as_deref())?;
    let mut text = String::new();
    for r in &records {
        text.push_str(&serde_json::to_string(r)?);
        text.push('\n');
    }
    write_atomically(&a.out, text.as_bytes())?;
    eprintln!("{}: {} records from {} format", a.out.display(), records.len(), a.format.as_str());
    Ok(())
}
