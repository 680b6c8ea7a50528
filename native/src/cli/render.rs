//! `cotlab render`: the exact prompt text or token ids the model sees.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use cotlab_core::chat::{render, Mode, QwenTokenizer, RenderOptions};
use cotlab_core::sft::{parse_jsonl, tokenize_example, Paradigm, ParadigmSpec, QaEmptyThink, IGNORE};

#[derive(ClapArgs)]
pub struct Args {
    /// JSON file with one conversation ([{"role","content"},…]) or a list of them.
    #[arg(long, required_unless_present = "data", conflicts_with = "data")]
    pub messages: Option<PathBuf>,
    /// A training dataset (JSON Lines) to render under --paradigm, loss span highlighted.
    #[arg(long, requires = "paradigm")]
    pub data: Option<PathBuf>,
    /// qa, qta, qt or t-only (with --data).
    #[arg(long)]
    pub paradigm: Option<Paradigm>,
    /// QA only: where the empty think block goes.
    #[arg(long, default_value = "in-prompt")]
    pub qa_empty_think: QaEmptyThink,
    /// With --data: one {"id", "input_ids", "labels"} object per example (labels -100 where ignored).
    #[arg(long)]
    pub json: bool,
    /// With --data: only the first N examples.
    #[arg(long)]
    pub limit: Option<usize>,
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

fn load_tokenizer(path: &std::path::Path, why: &str) -> Result<QwenTokenizer> {
    let path = if path.is_dir() { path.join("tokenizer.json") } else { path.to_path_buf() };
    let bytes = std::fs::read(&path).map_err(|e| {
        anyhow::anyhow!("{}: cannot read ({e}); {why} needs --tokenizer pointing at tokenizer.json or a checkpoint directory", path.display())
    })?;
    Ok(QwenTokenizer::from_bytes(&bytes, &path.display().to_string())?)
}

/// `render --data`: each example's tokens with the supervised ones highlighted, or as JSON.
fn render_data(a: &Args, data: &std::path::Path, paradigm: Paradigm) -> Result<()> {
    let tok = load_tokenizer(&a.tokenizer, "--data")?;
    let bytes = std::fs::read(data).map_err(|e| anyhow::anyhow!("{}: cannot read ({e})", data.display()))?;
    let records = parse_jsonl(&bytes, &data.display().to_string(), paradigm)?;
    let spec = ParadigmSpec { paradigm, qa_empty_think: a.qa_empty_think };
    let colour = !a.json && std::io::IsTerminal::is_terminal(&std::io::stdout());
    for r in records.iter().take(a.limit.unwrap_or(usize::MAX)) {
        let ex = tokenize_example(r, spec, &tok)?;
        if a.json {
            println!("{}", serde_json::to_string(&serde_json::json!({"id": ex.id, "input_ids": ex.input_ids, "labels": ex.labels}))?);
            continue;
        }
        println!("── {} ({} tokens, {} with loss) ──", ex.id, ex.input_ids.len(), ex.labels.iter().filter(|&&l| l != IGNORE).count());
        let mut out = String::new();
        let mut in_target = false;
        for (id, label) in ex.input_ids.iter().zip(&ex.labels) {
            let supervised = *label != IGNORE;
            if supervised != in_target {
                out.push_str(match (colour, supervised) {
                    (true, true) => "\x1b[1;32m",
                    (true, false) => "\x1b[0m",
                    (false, true) => "⟦",
                    (false, false) => "⟧",
                });
                in_target = supervised;
            }
            out.push_str(&tok.token_text(*id));
        }
        if in_target {
            out.push_str(if colour { "\x1b[0m" } else { "⟧" });
        }
        println!("{out}\n");
    }
    if !a.json {
        eprintln!("{}", if colour { "green: tokens with loss" } else { "⟦…⟧: tokens with loss" });
    }
    Ok(())
}

pub fn run(a: Args) -> Result<()> {
    if let (Some(data), Some(p)) = (&a.data, a.paradigm) {
        return render_data(&a, data, p);
    }
    let opts = RenderOptions { add_generation_prompt: a.generation_prompt, enable_thinking: a.mode.enable_thinking() };
    let conversations = super::read_conversations(a.messages.as_deref().expect("clap requires --messages or --data"))?;
    let tok = if a.ids { Some(load_tokenizer(&a.tokenizer, "--ids")?) } else { None };
    for c in &conversations {
        let text = render(c, opts)?;
        match &tok {
            Some(t) => println!("{}", serde_json::to_string(&t.encode(&text)?)?),
            None => print!("{text}"),
        }
    }
    Ok(())
}
