//! `cotlab`: does the reasoning a model is trained on shape how it behaves later?
//!
//! The command-line shell around `cotlab-core`: files, devices, progress and output formats.

mod adapter;
mod checkpoint;
mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cotlab", version, about = "Train and evaluate Qwen3 on controlled reasoning traces (LoRA SFT, think/no-think evaluation)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate from a Qwen3 checkpoint (think or no-think mode, batched, streaming).
    Generate(cli::generate::Args),
    /// Print the exact prompt text (or token ids) the model would see, or a dataset's tokens
    /// under a training paradigm with the supervised span highlighted.
    Render(cli::render::Args),
    /// LoRA SFT under a paradigm (qa, qta, qt, t-only); PEFT-format adapter, resumable.
    Train(cli::train::Args),
    /// Fold a LoRA adapter into the base weights and write a full checkpoint.
    Merge(cli::merge::Args),
    /// Show a checkpoint's (or preset's) configuration, size and memory needs.
    Info(cli::info::Args),
    /// Measure speed on a randomly initialised model of a released shape.
    Bench(cli::bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate(a) => cli::generate::run(a),
        Command::Render(a) => cli::render::run(a),
        Command::Train(a) => cli::train::run(a),
        Command::Merge(a) => cli::merge::run(a),
        Command::Info(a) => cli::info::run(a),
        Command::Bench(a) => cli::bench::run(a),
    }
}
