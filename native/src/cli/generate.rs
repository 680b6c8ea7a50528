//! `cotlab generate`: prompts → Qwen3 → thinking and answer.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;
use cotlab_core::chat::{render, split_thinking, Message, Mode, RenderOptions};
use cotlab_core::generate::{GenerateParams, Generation, Prompt, TokenLogprob};
use serde::Serialize;

use super::common_args::{ModelArgs, SamplingArgs};

#[derive(ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A user message; repeat for several prompts generated as one batch.
    #[arg(long, conflicts_with = "messages", required_unless_present = "messages")]
    pub prompt: Vec<String>,
    /// Optional system message for every --prompt.
    #[arg(long, requires = "prompt")]
    pub system: Option<String>,
    /// JSON file with one conversation ([{"role","content"},…]) or a list of them.
    #[arg(long)]
    pub messages: Option<PathBuf>,
    /// think: the model reasons in <think>…</think> first; no-think: empty think block.
    #[arg(long, default_value = "think")]
    pub mode: Mode,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[arg(long, default_value_t = 512)]
    pub max_new_tokens: usize,
    /// Seed of the first prompt; prompt i uses seed + i.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Return the top-K log-probabilities of every generated token.
    #[arg(long, value_name = "K")]
    pub logprobs: Option<usize>,
    /// One JSON object per prompt on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    index: usize,
    mode: &'a str,
    text: String,
    thinking: String,
    answer: String,
    token_ids: &'a [u32],
    finish_reason: cotlab_core::generate::FinishReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<&'a [Vec<TokenLogprob>]>,
}

pub fn run(a: Args) -> Result<()> {
    let conversations: Vec<Vec<Message>> = match &a.messages {
        Some(path) => super::read_conversations(path)?,
        None => a
            .prompt
            .iter()
            .map(|p| {
                let mut c = Vec::new();
                if let Some(s) = &a.system {
                    c.push(Message::system(s));
                }
                c.push(Message::user(p));
                c
            })
            .collect(),
    };
    if conversations.is_empty() {
        bail!("nothing to generate: give --prompt TEXT or --messages FILE.json");
    }
    let (_device, model, tok) = a.model.load()?;

    let opts = RenderOptions { add_generation_prompt: true, enable_thinking: a.mode.enable_thinking() };
    let prompts: Vec<Prompt> = conversations
        .iter()
        .enumerate()
        .map(|(i, c)| Ok(Prompt { ids: tok.encode(&render(c, opts)?)?, seed: a.seed.wrapping_add(i as u64) }))
        .collect::<Result<_>>()?;
    let params = GenerateParams {
        max_new_tokens: a.max_new_tokens,
        sampling: a.sampling.for_mode(a.mode),
        logprobs: a.logprobs.unwrap_or(0),
        stop_ids: tok.stop_ids(),
        pad_id: tok.endoftext,
    };
    let stream = !a.json && prompts.len() == 1;
    let mut stdout = std::io::stdout().lock();
    let generation = Generation::new(&model, &prompts, params)?;
    let mut streamed: Vec<u32> = Vec::new();
    let mut shown = 0usize;
    let outputs = generation.run(|e| {
        if stream && e.finish != Some(cotlab_core::generate::FinishReason::Stop) {
            // Decode the whole prefix so multi-token characters print correctly.
            streamed.push(e.token_id);
            if let Ok(text) = tok.decode(&streamed) {
                if text.len() > shown && text.is_char_boundary(shown) {
                    let _ = write!(stdout, "{}", &text[shown..]);
                    let _ = stdout.flush();
                    shown = text.len();
                }
            }
        }
    })?;
    if stream {
        writeln!(stdout)?;
        return Ok(());
    }
    for (i, out) in outputs.iter().enumerate() {
        let text = tok.decode(&out.token_ids)?;
        let (thinking, answer) = split_thinking(&text);
        if a.json {
            let j = JsonOutput {
                index: i,
                mode: a.mode.as_str(),
                text,
                thinking,
                answer,
                token_ids: &out.token_ids,
                finish_reason: out.finish_reason,
                logprobs: a.logprobs.map(|_| out.logprobs.as_slice()),
            };
            writeln!(stdout, "{}", serde_json::to_string(&j)?)?;
        } else {
            writeln!(stdout, "=== prompt {i} ===\n{text}\n")?;
        }
    }
    Ok(())
}
