//! `cotlab data build`: seeds × kinds → generator → cache → dataset.jsonl → check, with
//! `--fix regenerate` rounds for items that fail.
//!
//! Every item (seed × kind) has a deterministic cache key per attempt. Attempt 0 is the first
//! generation; each regeneration of a failing item is the next attempt. An item's current
//! generation is its highest consecutive cached attempt, so a rerun of the same command, after
//! an interruption at any point, continues exactly where the last one stopped and never asks
//! the generator again for a finished item.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cotlab_core::data::{build_record, cache_key, check, extract_reasoning, record_id, CheckConfig, CheckReport, Kind, Seed};
use cotlab_core::sft::Record;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::cache::{Cache, CacheEntry};
use super::generator::{Generator, Job};

/// What a build directory records about how it was made (`build.json`; read by `data stats`
/// for the dataset card).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildInfo {
    pub cotlab_version: String,
    pub generator: String,
    /// The HTTP endpoint, for the card (not part of cache keys).
    #[serde(default)]
    pub base_url: Option<String>,
    pub sampling: String,
    pub seeds_file: String,
    pub seeds_sha256: String,
    pub kinds: Vec<KindInfo>,
    pub check: CheckConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindInfo {
    pub name: String,
    pub source: String,
    pub sha256: String,
}

/// The files of a build directory.
pub struct BuildDir {
    pub dir: PathBuf,
}

impl BuildDir {
    pub fn dataset(&self) -> PathBuf {
        self.dir.join("dataset.jsonl")
    }
    pub fn cache(&self) -> PathBuf {
        self.dir.join("cache.jsonl")
    }
    pub fn info(&self) -> PathBuf {
        self.dir.join("build.json")
    }
    pub fn check_report(&self) -> PathBuf {
        self.dir.join("check.json")
    }
}

/// What a build produced.
pub struct BuildOutcome {
    pub records: Vec<Record>,
    pub report: CheckReport,
    /// Items the generator failed on, with the last error, after the client's retries.
    pub errors: Vec<(String, String)>,
    /// Generations requested by this run.
    pub generated: usize,
    /// Items taken from the cache of earlier runs.
    pub cached: usize,
}

struct Item<'a> {
    seed: &'a Seed,
    kind: &'a Kind,
    prompt: String,
}

pub struct Builder<'a> {
    pub seeds: &'a [Seed],
    pub kinds: &'a [Kind],
    pub generator: &'a Generator,
    pub dir: &'a BuildDir,
    pub check: &'a CheckConfig,
    /// Rounds of `--fix regenerate` (0: none).
    pub fix_rounds: usize,
    pub count_tokens: &'a dyn Fn(&str) -> usize,
}

impl Builder<'_> {
    fn key(&self, item: &Item<'_>, attempt: u32) -> String {
        cache_key(&self.generator.identity(), &item.prompt, item.seed, &self.generator.sampling().key(), attempt)
    }

    /// The item's current cached generation (highest consecutive attempt).
    fn current<'c>(&self, cache: &'c Cache, item: &Item<'_>) -> Option<&'c CacheEntry> {
        let mut found = None;
        for attempt in 0.. {
            match cache.get(&self.key(item, attempt)) {
                Some(e) => found = Some(e),
                None => break,
            }
        }
        found
    }

    fn job(&self, item: &Item<'_>, attempt: u32) -> Job {
        let key = self.key(item, attempt);
        Job {
            sample_seed: u64::from_str_radix(&key[..15], 16).expect("hex key"),
            key,
            id: record_id(&item.seed.id, &item.kind.name),
            seed_id: item.seed.id.clone(),
            kind: item.kind.name.clone(),
            attempt,
            prompt: item.prompt.clone(),
        }
    }

    pub fn run(&self) -> Result<BuildOutcome> {
        std::fs::create_dir_all(&self.dir.dir).with_context(|| format!("{}: cannot create", self.dir.dir.display()))?;
        let mut cache = Cache::open(&self.dir.cache())?;
        let items: Vec<Item> = self
            .seeds
            .iter()
            .flat_map(|seed| self.kinds.iter().map(move |kind| Item { seed, kind, prompt: kind.render(seed) }))
            .collect();
        let index: HashMap<(String, String), usize> =
            items.iter().enumerate().map(|(i, it)| ((it.seed.id.clone(), it.kind.name.clone()), i)).collect();

        // 1. Everything not generated yet.
        let pending: Vec<Job> = items.iter().filter(|it| self.current(&cache, it).is_none()).map(|it| self.job(it, 0)).collect();
        let cached = items.len() - pending.len();
        if cached > 0 {
            eprintln!("{cached} of {} items are in the cache ({}); generating {}", items.len(), self.dir.cache().display(), pending.len());
        }
        let mut errors: HashMap<String, String> = HashMap::new();
        let mut generated = self.generate(pending, &mut cache, &mut errors, "generating")?;

        // 2. Assemble, check, regenerate what fails.
        let mut round = 0;
        loop {
            let records = self.assemble(&cache, &items)?;
            let report = check(&records, Some(self.seeds), self.check, self.count_tokens);
            let to_fix: Vec<usize> = {
                let mut v: Vec<usize> = report
                    .failures
                    .iter()
                    .filter(|f| f.rule.regenerable())
                    .filter_map(|f| index.get(&(f.seed.clone(), f.kind.clone())).copied())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            if round >= self.fix_rounds || to_fix.is_empty() {
                let mut errors: Vec<(String, String)> = errors.into_iter().collect();
                errors.sort();
                return Ok(BuildOutcome { records, report, errors, generated, cached });
            }
            round += 1;
            let jobs: Vec<Job> = to_fix
                .iter()
                .map(|&i| {
                    let next = self.current(&cache, &items[i]).map_or(0, |e| e.attempt + 1);
                    self.job(&items[i], next)
                })
                .collect();
            eprintln!("--fix regenerate, round {round} of {}: regenerating {} item(s) that failed the check", self.fix_rounds, jobs.len());
            generated += self.generate(jobs, &mut cache, &mut errors, &format!("regenerating ({round})"))?;
        }
    }

    /// Run `jobs`, appending each finished one to the cache at once. Returns how many finished.
    fn generate(&self, jobs: Vec<Job>, cache: &mut Cache, errors: &mut HashMap<String, String>, what: &str) -> Result<usize> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let bar = ProgressBar::new(jobs.len() as u64);
        bar.set_style(ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len}  {msg}  ETA {eta}").unwrap());
        bar.set_prefix(what.to_string());
        let mut finished = 0;
        let mut failed = 0;
        self.generator.run(jobs, &mut |job, reply| {
            match reply {
                Ok(reply) => {
                    cache.append(CacheEntry {
                        key: job.key.clone(),
                        id: job.id.clone(),
                        seed_id: job.seed_id.clone(),
                        kind: job.kind.clone(),
                        attempt: job.attempt,
                        thinking: extract_reasoning(&reply.text),
                        reply: reply.text,
                        finish_reason: reply.finish_reason,
                    })?;
                    errors.remove(&job.id);
                    finished += 1;
                }
                Err(e) => {
                    failed += 1;
                    bar.set_message(format!("{failed} failed"));
                    errors.insert(job.id.clone(), format!("{e:#}"));
                }
            }
            bar.inc(1);
            Ok(())
        })?;
        bar.finish();
        Ok(finished)
    }

    /// The dataset from the cache, seeds in file order, kinds in the requested order, written
    /// atomically to dataset.jsonl. Items without a generation are left out (the check reports
    /// them as missing kinds).
    fn assemble(&self, cache: &Cache, items: &[Item<'_>]) -> Result<Vec<Record>> {
        let records: Vec<Record> = items
            .iter()
            .filter_map(|it| self.current(cache, it).map(|e| build_record(it.seed, &it.kind.name, &e.thinking)))
            .collect();
        let mut text = String::new();
        for r in &records {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        write_atomically(&self.dir.dataset(), text.as_bytes())?;
        Ok(records)
    }
}

/// Write `bytes` to `path` through a temporary file and a rename, so readers never see half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
