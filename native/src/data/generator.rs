//! Generators of reasoning: any OpenAI-compatible chat endpoint (`openai:MODEL`) or a local
//! Qwen3 checkpoint run by cotlab itself (`local:DIR`). Both take the same jobs (one prompt per
//! seed × kind × attempt) and report each finished job as soon as it is done, so the build can
//! cache it before the next one finishes.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cotlab_core::chat::{render, split_thinking, Message, QwenTokenizer, RenderOptions};
use cotlab_core::device::{DTypeChoice, DeviceChoice};
use cotlab_core::generate::{FinishReason, GenerateParams, Generation, Prompt, Sampling};
use cotlab_core::model::LoadedModel;
use futures::StreamExt;

use crate::checkpoint::CheckpointDir;
use crate::openai::{ChatMessage, ChatRequest, ClientConfig, OpenAiClient};

/// `--generator`: `openai:MODEL` or `local:DIR`.
#[derive(Debug, Clone, PartialEq)]
pub enum GeneratorSpec {
    OpenAi { model: String },
    Local { dir: PathBuf },
}

impl std::str::FromStr for GeneratorSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "use openai:MODEL (with --base-url) or local:DIR (a Qwen3 checkpoint directory)";
        match s.split_once(':') {
            Some(("openai", m)) if !m.is_empty() => Ok(GeneratorSpec::OpenAi { model: m.into() }),
            Some(("local", d)) if !d.is_empty() => Ok(GeneratorSpec::Local { dir: d.into() }),
            _ => Err(format!("unknown generator {s:?}: {hint}")),
        }
    }
}

/// Sampling settings shared by both generators (part of every cache key).
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingSettings {
    /// 0: greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
}

impl SamplingSettings {
    pub fn key(&self) -> String {
        format!("temperature={};top_p={};max_tokens={}", self.temperature, self.top_p, self.max_tokens)
    }
}

/// One prompt to send.
#[derive(Debug, Clone)]
pub struct Job {
    pub key: String,
    pub id: String,
    pub seed_id: String,
    pub kind: String,
    pub attempt: u32,
    pub prompt: String,
    /// Sampling seed of this job (derived from its key, so it is the same on every rerun).
    pub sample_seed: u64,
}

/// A generator's reply to one job.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub finish_reason: Option<String>,
}

/// How to reach an HTTP generator.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: String,
    pub api_key_env: Option<String>,
    pub concurrency: usize,
    pub retries: u32,
    pub timeout: Duration,
    pub backoff: Duration,
}

/// Local generation settings.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub device: DeviceChoice,
    pub dtype: DTypeChoice,
    pub batch_size: usize,
}

pub enum Generator {
    OpenAi { client: OpenAiClient, model: String, sampling: SamplingSettings, concurrency: usize },
    Local { model: Box<LoadedModel>, tokenizer: QwenTokenizer, dir: PathBuf, sampling: SamplingSettings, batch_size: usize },
}

impl Generator {
    pub fn open_ai(model: &str, http: &HttpSettings, sampling: SamplingSettings) -> Result<Self> {
        let mut config = ClientConfig::new(http.base_url.clone());
        config.api_key_env = http.api_key_env.clone();
        config.concurrency = http.concurrency.max(1);
        config.max_retries = http.retries;
        config.timeout = http.timeout;
        config.backoff = http.backoff;
        let client = OpenAiClient::new(config)?;
        Ok(Generator::OpenAi { client, model: model.into(), sampling, concurrency: http.concurrency.max(1) })
    }

    pub fn local(dir: &std::path::Path, local: &LocalSettings, sampling: SamplingSettings) -> Result<Self> {
        let device = crate::cli::device(local.device)?;
        let (model, tokenizer) = CheckpointDir::open(dir)?.load(&device, local.dtype)?;
        Ok(Generator::Local {
            model: Box::new(model),
            tokenizer,
            dir: dir.to_path_buf(),
            sampling,
            batch_size: local.batch_size.max(1),
        })
    }

    /// What identifies the generator in cache keys and the dataset card. The HTTP base URL is
    /// left out on purpose: the same model served elsewhere gives the same cache.
    pub fn identity(&self) -> String {
        match self {
            Generator::OpenAi { model, .. } => format!("openai:{model}"),
            Generator::Local { dir, .. } => format!("local:{}", dir.display()),
        }
    }

    pub fn sampling(&self) -> &SamplingSettings {
        match self {
            Generator::OpenAi { sampling, .. } | Generator::Local { sampling, .. } => sampling,
        }
    }

    /// The checkpoint's tokenizer, for a local generator.
    pub fn tokenizer(&self) -> Option<&QwenTokenizer> {
        match self {
            Generator::Local { tokenizer, .. } => Some(tokenizer),
            Generator::OpenAi { .. } => None,
        }
    }

    /// Run every job, calling `done` once per job as soon as it finishes (in completion order).
    /// An error returned by `done` stops the run.
    pub fn run(&self, jobs: Vec<Job>, done: &mut dyn FnMut(&Job, Result<Reply>) -> Result<()>) -> Result<()> {
        match self {
            Generator::OpenAi { client, model, sampling, concurrency } => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .context("cannot start the async runtime")?;
                runtime.block_on(async {
                    let mut replies = futures::stream::iter(jobs.into_iter().map(|job| {
                        let client = client.clone();
                        let mut request = ChatRequest::new(model.clone(), vec![ChatMessage::user(job.prompt.clone())]);
                        request.temperature = Some(sampling.temperature);
                        request.top_p = Some(sampling.top_p);
                        request.max_tokens = Some(sampling.max_tokens);
                        request.seed = Some(job.sample_seed);
                        async move {
                            let reply = client.chat(&request).await.map_err(anyhow::Error::from).and_then(|r| {
                                let choice = r.choices.into_iter().next().context("the reply has no choices")?;
                                Ok(Reply { text: choice.message.content, finish_reason: choice.finish_reason })
                            });
                            (job, reply)
                        }
                    }))
                    .buffer_unordered(*concurrency);
                    while let Some((job, reply)) = replies.next().await {
                        done(&job, reply)?;
                    }
                    Ok::<(), anyhow::Error>(())
                })
            }
            Generator::Local { model, tokenizer, sampling, batch_size, .. } => {
                let opts = RenderOptions { add_generation_prompt: true, enable_thinking: Some(false) };
                let params = GenerateParams {
                    max_new_tokens: sampling.max_tokens as usize,
                    sampling: if sampling.temperature == 0.0 {
                        Sampling::Greedy
                    } else {
                        Sampling::Sample { temperature: sampling.temperature, top_k: 20, top_p: sampling.top_p, min_p: 0.0 }
                    },
                    logprobs: 0,
                    stop_ids: tokenizer.stop_ids(),
                    pad_id: tokenizer.endoftext,
                };
                for batch in jobs.chunks(*batch_size) {
                    let replies = generate_batch(model, tokenizer, batch, opts, &params);
                    match replies {
                        Ok(replies) => {
                            for (job, reply) in batch.iter().zip(replies) {
                                done(job, Ok(reply))?;
                            }
                        }
                        Err(e) => {
                            for job in batch {
                                done(job, Err(anyhow::anyhow!("{e:#}")))?;
                            }
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// One left-padded batch through the local model, in no-think mode: the reasoning we ask for is
/// the model's answer, not its own thinking.
fn generate_batch(model: &LoadedModel, tok: &QwenTokenizer, jobs: &[Job], opts: RenderOptions, params: &GenerateParams) -> Result<Vec<Reply>> {
    let prompts = jobs
        .iter()
        .map(|j| Ok(Prompt { ids: tok.encode(&render(&[Message::user(&j.prompt)], opts)?)?, seed: j.sample_seed }))
        .collect::<Result<Vec<_>>>()?;
    let outputs = Generation::new(model, &prompts, params.clone())?.run(|_| {})?;
    outputs
        .iter()
        .map(|o| {
            let text = tok.decode(&o.token_ids)?;
            let (_, answer) = split_thinking(&text);
            let finish = match o.finish_reason {
                FinishReason::Stop => "stop",
                FinishReason::Length => "length",
            };
            Ok(Reply { text: answer, finish_reason: Some(finish.into()) })
        })
        .collect()
}

/// Reject settings that cannot work before any request is sent.
pub fn validate(sampling: &SamplingSettings) -> Result<()> {
    if !(sampling.temperature >= 0.0 && sampling.temperature.is_finite()) {
        bail!("--temperature must be ≥ 0 (0 = greedy), got {}", sampling.temperature);
    }
    if !(sampling.top_p > 0.0 && sampling.top_p <= 1.0) {
        bail!("--top-p must be in (0, 1], got {}", sampling.top_p);
    }
    if sampling.max_tokens == 0 {
        bail!("--max-tokens must be at least 1");
    }
    Ok(())
}
