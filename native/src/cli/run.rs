//! `cotlab run [EXPERIMENT.toml] --out DIR`: the whole study, resumable; then the report.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;

use crate::experiment::cells::expand;
use crate::experiment::estimate::estimate;
use crate::experiment::runner::{self, cell_dir, read_status, RunOptions};
use crate::experiment::slurm::job_array_script;
use crate::experiment::spec::{Experiment, DEFAULT_EXPERIMENT};

#[derive(ClapArgs)]
pub struct Args {
    /// The experiment file (TOML). Without one, a miniature of the study runs on a tiny random
    /// model and the bundled sample dataset.
    pub experiment: Option<PathBuf>,
    /// Run directory: results, logs and the report. Rerunning with the same folder resumes.
    #[arg(long, default_value = "runs/miniature")]
    pub out: PathBuf,
    /// List the cells and estimate the work without running anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Run only cell N (0-based, as `--dry-run` numbers them).
    #[arg(long)]
    pub cell: Option<usize>,
    /// Run cells in parallel, one per device: GPU indices (`0,1`) or --device values.
    #[arg(long, value_delimiter = ',')]
    pub devices: Vec<String>,
    /// Write a cluster job script instead of running: `slurm` (one array task per cell).
    #[arg(long, value_name = "SCHEDULER")]
    pub emit: Option<String>,
    /// Override the experiment's device for every stage.
    #[arg(long)]
    pub device: Option<String>,
}

pub fn run(a: Args) -> Result<()> {
    let mut e = match &a.experiment {
        Some(path) => Experiment::read(path)?,
        None => Experiment::parse(DEFAULT_EXPERIMENT, "the built-in miniature experiment", &std::env::current_dir()?)?,
    };
    if let Some(d) = &a.device {
        e.device = d.clone();
    }
    let cells = expand(&e);

    if a.dry_run {
        let dataset = match e.data.path.as_str() {
            "builtin:sample" => Some(cotlab_core::data::sample::DATASET.as_bytes().to_vec()),
            p => std::fs::read(p).ok(),
        };
        let est = estimate(&e, &cells, dataset.as_deref())?;
        println!("experiment {:?}: {} cells, each evaluated on {} suite(s) × {} mode(s)", e.name, cells.len(), e.suites.len(), e.grid.modes.len());
        println!("{:>4}  {:<40} {:>14}  {}", "cell", "name", "train tokens", "state");
        for (cell, t) in cells.iter().zip(&est.train_tokens) {
            let state = read_status(&cell_dir(&a.out, cell)).map(|s| s.state).unwrap_or_else(|| "to do".into());
            let t = t.map(|t| t.to_string()).unwrap_or_else(|| "?".into());
            println!("{:>4}  {:<40} {:>14}  {}", cell.index, cell.name, t, state);
        }
        let total: usize = est.train_tokens.iter().flatten().sum();
        println!("training: {total} tokens in all (context tokens × epochs; ? = tokenizer or data not found)");
        println!(
            "generation: at most {} tokens per cell, {} in all (every sample reaching its token limit)",
            est.generate_tokens,
            est.generate_tokens * cells.len()
        );
        return Ok(());
    }

    let exe = std::env::current_exe().context("cannot locate the cotlab executable")?;
    if let Some(scheduler) = &a.emit {
        if scheduler != "slurm" {
            bail!("--emit {scheduler:?}: only `slurm` is supported");
        }
        let Some(experiment) = &a.experiment else {
            bail!("--emit slurm needs an experiment file (the tasks read it); write the miniature's with your own settings first");
        };
        let experiment = std::fs::canonicalize(experiment)?;
        std::fs::create_dir_all(&a.out)?;
        let out = std::fs::canonicalize(&a.out)?;
        runner::write_resolved(&out, &e)?;
        let script = job_array_script(&e.name, cells.len(), &exe, &experiment, &out);
        let path = out.join("slurm.sh");
        std::fs::write(&path, script)?;
        println!("wrote {} ({} array tasks); submit with `sbatch {}`", path.display(), cells.len(), path.display());
        return Ok(());
    }

    let devices = a
        .devices
        .iter()
        .map(|d| if d.chars().all(|c| c.is_ascii_digit()) { format!("gpu:{d}") } else { d.clone() })
        .collect();
    let opts = RunOptions { out: a.out.clone(), cell: a.cell, devices, exe };
    let summary = runner::run(&e, &opts)?;
    let written = crate::report::write_report(&a.out)?;
    eprintln!(
        "{} cells done, {} already done, {} failed; report: {}",
        summary.done,
        summary.skipped,
        summary.failed.len(),
        written.report.display()
    );
    if !summary.failed.is_empty() {
        for (name, err) in &summary.failed {
            eprintln!("  {name}: {err}");
        }
        bail!("{} cell(s) failed; fix the cause and rerun the same command to redo only those", summary.failed.len());
    }
    Ok(())
}
