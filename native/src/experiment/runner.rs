//! `cotlab run`: every cell of an experiment, resumable. Each stage is the `cotlab` binary itself
//! (`cotlab train`, `cotlab eval`) run as a child process, so a crash or an out-of-memory kill
//! fails one cell, not the run; the stages resume on their own (`train --resume`, eval skips
//! finished samples), and a cell's `status.json` records success or the error.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::cells::{evaluations, expand, Cell};
use super::inputs::{dataset_file, model_dir};
use super::spec::Experiment;

/// `DIR/experiment.json`: the resolved grid, written before any cell runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResolvedExperiment {
    pub cotlab_version: String,
    pub experiment: Experiment,
    pub cells: Vec<Cell>,
    /// `(suite, mode)` pairs every cell is evaluated under.
    pub evaluations: Vec<(String, String)>,
}

/// `cells/<cell>/status.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CellStatus {
    /// `done` or `failed`.
    pub state: String,
    #[serde(default)]
    pub error: Option<String>,
    pub finished_unix: u64,
}

pub struct RunOptions {
    pub out: PathBuf,
    /// Run only this cell (0-based, the order of `--dry-run`).
    pub cell: Option<usize>,
    /// Run cells in parallel, one per device (`gpu:0`, `gpu:1`, … or any `--device` value).
    pub devices: Vec<String>,
    /// The `cotlab` executable for the stages.
    pub exe: PathBuf,
}

pub fn cell_dir(out: &Path, cell: &Cell) -> PathBuf {
    out.join("cells").join(&cell.name)
}

pub fn read_status(dir: &Path) -> Option<CellStatus> {
    serde_json::from_slice(&std::fs::read(dir.join("status.json")).ok()?).ok()
}

/// Write `DIR/experiment.json`, refusing a directory that holds a different experiment.
pub fn write_resolved(out: &Path, e: &Experiment) -> Result<ResolvedExperiment> {
    let resolved = ResolvedExperiment {
        cotlab_version: env!("CARGO_PKG_VERSION").into(),
        experiment: e.clone(),
        cells: expand(e),
        evaluations: evaluations(e),
    };
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let path = out.join("experiment.json");
    if let Ok(bytes) = std::fs::read(&path) {
        let old: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| format!("{}: unreadable", path.display()))?;
        let new = serde_json::to_value(&resolved)?;
        if old.get("experiment") != new.get("experiment") {
            bail!(
                "{}: this folder holds the results of a different experiment (settings differ); \
                 use another --out, or delete the folder to start over",
                path.display()
            );
        }
    }
    let tmp = out.join(format!(".experiment.json.tmp-{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&resolved)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(resolved)
}

/// What a run did, for the closing message.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub done: usize,
    pub skipped: usize,
    pub failed: Vec<(String, String)>,
}

pub fn run(e: &Experiment, opts: &RunOptions) -> Result<RunSummary> {
    let resolved = write_resolved(&opts.out, e)?;
    let cells: Vec<Cell> = match opts.cell {
        Some(n) => match resolved.cells.get(n) {
            Some(c) => vec![c.clone()],
            None => bail!("--cell {n}: the experiment has {} cells (0–{})", resolved.cells.len(), resolved.cells.len().saturating_sub(1)),
        },
        None => resolved.cells.clone(),
    };
    let data = dataset_file(&opts.out, e)?;
    let mut models = std::collections::HashMap::new();
    for m in &e.models {
        if cells.iter().any(|c| c.model == m.name) {
            models.insert(m.name.clone(), model_dir(&opts.out, m)?);
        }
    }

    let multi = MultiProgress::new();
    let overall = multi.add(ProgressBar::new(cells.len() as u64));
    overall.set_style(ProgressStyle::with_template("cells {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}").unwrap());
    let queue = Arc::new(Mutex::new(cells.into_iter().collect::<VecDeque<_>>()));
    let summary = Arc::new(Mutex::new(RunSummary::default()));
    let devices = if opts.devices.is_empty() { vec![e.device.clone()] } else { opts.devices.clone() };
    let resolved = &resolved;
    std::thread::scope(|s| {
        for device in &devices {
            let (queue, summary, overall, multi, models, data) = (&queue, &summary, &overall, &multi, &models, &data);
            s.spawn(move || loop {
                let Some(cell) = queue.lock().unwrap().pop_front() else { break };
                let dir = cell_dir(&opts.out, &cell);
                if read_status(&dir).is_some_and(|st| st.state == "done") {
                    summary.lock().unwrap().skipped += 1;
                    overall.inc(1);
                    continue;
                }
                let bar = multi.add(ProgressBar::new(1 + resolved.evaluations.len() as u64));
                bar.set_style(ProgressStyle::with_template("  {prefix} {bar:20} {pos}/{len} {msg}").unwrap());
                bar.set_prefix(format!("[{}] {}", cell.index, cell.name));
                let stage = Stage { e, opts, cell: &cell, dir: &dir, model: &models[&cell.model], data, device, bar: &bar };
                let result = stage.run_all(&resolved.evaluations);
                let status = CellStatus {
                    state: if result.is_ok() { "done" } else { "failed" }.into(),
                    error: result.as_ref().err().map(|e| format!("{e:#}")),
                    finished_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
                };
                let _ = std::fs::write(dir.join("status.json"), serde_json::to_vec_pretty(&status).unwrap());
                let mut sum = summary.lock().unwrap();
                match result {
                    Ok(()) => sum.done += 1,
                    Err(err) => {
                        multi.suspend(|| eprintln!("cell {} failed: {err:#}", cell.name));
                        sum.failed.push((cell.name.clone(), format!("{err:#}")));
                    }
                }
                bar.finish_and_clear();
                overall.inc(1);
            });
        }
    });
    overall.finish();
    Ok(Arc::try_unwrap(summary).unwrap().into_inner().unwrap())
}

/// One cell's stages.
struct Stage<'a> {
    e: &'a Experiment,
    opts: &'a RunOptions,
    cell: &'a Cell,
    dir: &'a Path,
    model: &'a Path,
    data: &'a Path,
    device: &'a str,
    bar: &'a ProgressBar,
}

impl Stage<'_> {
    fn run_all(&self, evaluations: &[(String, String)]) -> Result<()> {
        std::fs::create_dir_all(self.dir)?;
        std::fs::write(self.dir.join("cell.json"), serde_json::to_vec_pretty(self.cell)?)?;
        let adapter = self.train()?;
        self.bar.inc(1);
        for (suite, mode) in evaluations {
            self.evaluate(suite, mode, adapter.as_deref())?;
            self.bar.inc(1);
        }
        Ok(())
    }

    /// Train the cell's adapter unless it exists; `None` for the untrained baseline.
    fn train(&self) -> Result<Option<PathBuf>> {
        let Some((paradigm, kind)) = self.cell.condition.training() else { return Ok(None) };
        let adapter = self.dir.join("adapter");
        if adapter.join("adapter_config.json").exists() {
            return Ok(Some(adapter));
        }
        self.bar.set_message(format!("train {paradigm} on {kind}"));
        let t = &self.e.train;
        let mut args: Vec<String> = vec!["train".into()];
        let mut flag = |k: &str, v: String| args.extend([k.to_string(), v]);
        flag("--model", self.model.display().to_string());
        flag("--data", self.data.display().to_string());
        flag("--paradigm", paradigm.into());
        flag("--kind", kind.into());
        flag("--out", self.dir.display().to_string());
        flag("--seed", self.cell.seed.to_string());
        flag("--lora-rank", t.lora_rank.to_string());
        flag("--lora-alpha", t.lora_alpha.to_string());
        flag("--lr", t.lr.to_string());
        flag("--epochs", t.epochs.to_string());
        flag("--batch-size", t.batch_size.to_string());
        flag("--grad-accum", t.grad_accum.to_string());
        flag("--max-len", t.max_len.to_string());
        flag("--device", self.device.into());
        if let Some(m) = t.max_steps {
            flag("--max-steps", m.to_string());
        }
        if self.dir.join("train_config.json").exists() {
            args.push("--resume".into());
        }
        args.extend(t.extra_args.iter().cloned());
        self.spawn(&args, "train")?;
        Ok(Some(adapter))
    }

    fn evaluate(&self, suite: &str, mode: &str, adapter: Option<&Path>) -> Result<()> {
        let out = self.dir.join("eval").join(format!("{suite}-{mode}"));
        if out.join("summary.json").exists() {
            return Ok(());
        }
        self.bar.set_message(format!("eval {suite} {mode}"));
        let spec = self.e.suites.iter().find(|s| s.name == suite).expect("suite from the grid");
        let judge = match self.e.judge.spec.as_str() {
            "local:@model" => format!("local:{}", self.model.display()),
            other => other.to_string(),
        };
        let mut args: Vec<String> = vec!["eval".into()];
        let mut flag = |k: &str, v: String| args.extend([k.to_string(), v]);
        flag("--suite", suite.into());
        flag("--model", self.model.display().to_string());
        if let Some(a) = adapter {
            flag("--adapter", a.display().to_string());
        }
        flag("--mode", mode.into());
        flag("--out", out.display().to_string());
        flag("--seed", self.cell.seed.to_string());
        flag("--judge", judge);
        flag("--device", self.device.into());
        if let Some(u) = &self.e.judge.base_url {
            flag("--judge-base-url", u.clone());
        }
        if let Some(k) = &self.e.judge.api_key_env {
            flag("--judge-api-key-env", k.clone());
        }
        if let Some(n) = spec.samples {
            flag("--samples", n.to_string());
        }
        if let Some(d) = &spec.data {
            flag("--data", d.clone());
        }
        if let Some(m) = spec.max_new_tokens {
            flag("--max-new-tokens", m.to_string());
        }
        args.extend(spec.extra_args.iter().cloned());
        self.spawn(&args, &format!("eval {suite} {mode}"))
    }

    /// Run `cotlab ARGS`, appending its output to the cell's `log.txt`.
    fn spawn(&self, args: &[String], what: &str) -> Result<()> {
        let log_path = self.dir.join("log.txt");
        let mut log = OpenOptions::new().create(true).append(true).open(&log_path)?;
        writeln!(log, "\n$ cotlab {}", shell_words(args))?;
        let status = Command::new(&self.opts.exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .status()
            .with_context(|| format!("cannot start {}", self.opts.exe.display()))?;
        if !status.success() {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().filter(|l| !l.trim().is_empty()).take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("{what} failed ({status}); {}: …{}", log_path.display(), tail.join(" | "));
        }
        Ok(())
    }
}

/// Arguments quoted for a shell, so logged commands can be pasted.
pub fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
