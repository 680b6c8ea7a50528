//! `cotlab render`: the exact prompt text or token ids the model sees.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use cotlab_core::chat::{render, Mode, QwenTokenizer, RenderOptions};

#[derive(ClapArgs)]
pub struct Args {
    /// JSON file with one conversation ([{"role","content"},…]) or a list of them.
    #[arg(long)]
    pub messages: PathBuf,
    /// think (template default) or no-think (empty think block after the generation prompt).
    #[arg(long, default_value = "think")]
    pub mode: Mode,
    /// Append `<|im_start|>assistant\n` (and the empty think block in no-think mode).
    #[arg(long)]
    pub generation_prompt: bool,
    /// Print token ids (one JSON array per conversation) instead of text.
    #[arg(long)]
    pub ids: bool,
    /// tokenizer.json to use with --ids, or a checkpoint directory holding one.
    #[arg(long, default_value = ".")]
    pub tokenizer: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let opts = RenderOptions { add_generation_prompt: a.generation_prompt, enable_thinking: a.mode.enable_thinking() };
    let conversations = super::read_conversations(&a.messages)?;
    let tok = if a.ids {
        let path = if a.tokenizer.is_dir() { a.tokenizer.join("tokenizer.json") } else { a.tokenizer.clone() };
        let bytes = std::fs::read(&path).map_err(|e| {
            anyhow::anyhow!("{}: cannot read ({e}); --ids needs --tokenizer pointing at tokenizer.json or a checkpoint directory", path.display())
        })?;
        Some(QwenTokenizer::from_bytes(&bytes, &path.display().to_string())?)
    } else {
        None
    };
    for c in &conversations {
        let text = render(c, opts)?;
        match &tok {
            Some(t) => println!("{}", serde_json::to_string(&t.encode(&text)?)?),
            None => print!("{text}"),
        }
    }
    Ok(())
}
