//! Subcommands of the `cotlab` binary.

pub mod bench;
pub mod bench_kernels;
pub mod eval;
pub mod data;
pub mod generate;
pub mod info;
pub mod merge;
pub mod common_args;
pub mod render;
pub mod serve;
pub mod report;
pub mod run;
pub mod train;

use std::path::Path;

use anyhow::{Context, Result};
use cotlab_core::chat::Message;
use cotlab_core::device::{select_device, DeviceChoice, SelectedDevice};

/// `--device`, resolved and announced on stderr.
pub fn device(choice: DeviceChoice) -> Result<SelectedDevice> {
    let d = select_device(choice)?;
    eprintln!("device: {}", d.description);
    Ok(d)
}

/// `--kernels`, applied to a loaded model and announced on stderr.
pub fn kernels(model: &mut cotlab_core::model::LoadedModel, choice: cotlab_core::kernels::KernelChoice) -> Result<()> {
    model.set_kernels(choice)?;
    eprintln!("kernels: {:?}", model.kernels());
    Ok(())
}

/// Conversations from a messages file: one conversation (`[{role, content}, …]`) or several
/// (`[[…], […]]`).
pub fn read_conversations(path: &Path) -> Result<Vec<Vec<Message>>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not valid JSON", path.display()))?;
    let hint = "expected a list of {\"role\", \"content\"} objects, or a list of such lists";
    let parse = |v: serde_json::Value| -> Result<Vec<Message>> {
        serde_json::from_value(v).with_context(|| format!("{}: {hint}", path.display()))
    };
    match &value {
        serde_json::Value::Array(items) if items.first().is_some_and(|i| i.is_array()) => {
            items.iter().cloned().map(parse).collect()
        }
        serde_json::Value::Array(_) => Ok(vec![parse(value)?]),
        _ => anyhow::bail!("{}: {hint}", path.display()),
    }
}
