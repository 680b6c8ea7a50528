//! `cotlab report DIR`: tables and figures from a run directory (also merges the results that the
//! tasks of a Slurm array wrote into one shared folder).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;

#[derive(ClapArgs)]
pub struct Args {
    /// A run directory written by `cotlab run`.
    pub dir: PathBuf,
    /// Recompute every metric from the samples instead of reading each `summary.json`.
    #[arg(long)]
    pub recompute: bool,
}

pub fn run(a: Args) -> Result<()> {
    let written = crate::report::write_report_with(&a.dir, a.recompute)?;
    println!("wrote {} and {} figures (SVG + PNG) in {}", written.report.display(), written.figures.len(), a.dir.join("figures").display());
    Ok(())
}
