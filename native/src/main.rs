//! `cotlab`: does the reasoning a model is trained on shape how it behaves later?
//!
//! The command-line shell around `cotlab-core`: files, devices, progress and output formats.

mod adapter;
mod checkpoint;
mod cli;
mod eval;
mod data;
mod experiment;
mod report;
mod openai;
mod serve;

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
    /// Serve a checkpoint over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models).
    Serve(cli::serve::Args),
    /// Run an evaluation suite (em, deception, darkbench, trait, machiavelli) with a judge;
    /// samples.jsonl + summary.json, resumable.
    Eval(cli::eval::Args),
    /// Controlled datasets: build (seeds × kinds through a generator), check, stats, export, import.
    Data(cli::data::Args),
    /// The whole study: train every (model × paradigm × kind) cell, evaluate each in think and
    /// no-think modes, write the report. Resumable; without a file, runs a miniature.
    Run(cli::run::Args),
    /// Tables and figures (SVG, PNG) from a run directory.
    Report(cli::report::Args),
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
        Command::Serve(a) => cli::serve::run(a),
        Command::Eval(a) => cli::eval::run(a),
        Command::Data(a) => cli::data::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::Report(a) => cli::report::run(a),
    }
}
