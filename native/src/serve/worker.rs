//! The model worker: one OS thread loads the checkpoint, owns the model and runs one request at
//! a time, so HTTP handlers never touch the device. Requests reach it through a bounded queue
//! (the HTTP side answers 429 when it is full); tokens go back per request through an unbounded
//! channel, one message per decoding step.
//!
//! A request's `n` choices are one batch: row `i` is choice `i`, sampled with seed `seed + i`
//! (the same convention as `cotlab generate`, so choice 0 with seed S reproduces
//! `cotlab generate --seed S`).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::generate::{GenerateParams, Generation, Prompt, Sampling, TokenEvent};
use cotlab_core::model::LoadedModel;
use tokio::sync::mpsc;

use crate::cli::common_args::ModelArgs;

/// What the HTTP side needs to know about the loaded model.
pub struct ModelInfo {
    pub tokenizer: Arc<QwenTokenizer>,
    /// `max_position_embeddings`: prompt + completion must fit.
    pub context: usize,
    pub vocab_size: usize,
    pub device: String,
}

/// One generation request, already validated and tokenized.
pub struct Job {
    pub prompt_ids: Vec<u32>,
    /// Number of choices (rows of the batch).
    pub n: usize,
    /// Seed of choice 0; choice i uses `seed + i`.
    pub seed: u64,
    pub sampling: Sampling,
    pub max_new_tokens: usize,
    /// Top-k log-probabilities to ask the core for per step (0: none).
    pub logprobs: usize,
    pub events: mpsc::UnboundedSender<WorkerEvent>,
}

/// What the worker reports about a job.
#[derive(Debug)]
pub enum WorkerEvent {
    /// One decoding step: a token for each unfinished choice (`row` = choice index).
    Step(Vec<TokenEvent>),
    /// Every choice finished.
    Done,
    /// The job could not run or was cut off; no more events follow.
    Failed(WorkerFailure),
}

#[derive(Debug, Clone)]
pub enum WorkerFailure {
    /// The server is shutting down.
    ShuttingDown,
    /// Generation raised an error (or panicked); the message says which.
    Generation(String),
}

/// A started worker thread.
pub struct Worker {
    pub info: ModelInfo,
    pub thread: std::thread::JoinHandle<()>,
}

/// Start the worker thread, load the model in it and wait until it is ready. Jobs are taken from
/// `jobs`; the thread ends when every sender of `jobs` is dropped. `shutdown` cuts off the
/// running job and refuses queued ones.
pub fn start(source: ModelArgs, jobs: mpsc::Receiver<Job>, shutdown: Arc<AtomicBool>) -> Result<Worker> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<ModelInfo>>();
    let thread = std::thread::Builder::new().name("cotlab-model".into()).spawn(move || {
        // The device and the model stay on this thread for its whole life.
        let loaded = (|| -> Result<(LoadedModel, QwenTokenizer, String)> {
            let (device, model, tok) = source.load()?;
            Ok((model, tok, device.description.clone()))
        })();
        let (model, tok, device) = match loaded {
            Ok(v) => v,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let tok = Arc::new(tok);
        let info = ModelInfo {
            tokenizer: tok.clone(),
            context: model.config.max_position_embeddings,
            vocab_size: model.config.vocab_size,
            device,
        };
        let stop_ids = tok.stop_ids();
        let pad_id = tok.endoftext;
        drop(tok);
        if ready_tx.send(Ok(info)).is_err() {
            return;
        }
        serve_jobs(&model, &stop_ids, pad_id, jobs, &shutdown);
    })?;
    match ready_rx.recv() {
        Ok(Ok(info)) => Ok(Worker { info, thread }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            anyhow::bail!("the model thread stopped while loading the checkpoint (see the message above)")
        }
    }
}

fn serve_jobs(model: &LoadedModel, stop_ids: &[u32], pad_id: u32, mut jobs: mpsc::Receiver<Job>, shutdown: &AtomicBool) {
    while let Some(job) = jobs.blocking_recv() {
        if shutdown.load(Ordering::SeqCst) {
            let _ = job.events.send(WorkerEvent::Failed(WorkerFailure::ShuttingDown));
            continue;
        }
        if job.events.is_closed() {
            continue; // the client left while the request waited
        }
        let events = job.events.clone();
        // A panic inside burn must cost one request, not the server.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run_job(model, stop_ids, pad_id, &job, shutdown)));
        let last = match outcome {
            Ok(Ok(Some(event))) => event,
            Ok(Ok(None)) => continue, // the client went away
            Ok(Err(message)) => WorkerEvent::Failed(WorkerFailure::Generation(message)),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                eprintln!("cotlab serve: generation panicked: {what}");
                WorkerEvent::Failed(WorkerFailure::Generation(format!("generation panicked: {what}")))
            }
        };
        let _ = events.send(last);
    }
}

/// Run one job to the end. `Ok(Some(last event))`, `Ok(None)` when the client left, `Err` when
/// the core failed.
fn run_job(
    model: &LoadedModel,
    stop_ids: &[u32],
    pad_id: u32,
    job: &Job,
    shutdown: &AtomicBool,
) -> std::result::Result<Option<WorkerEvent>, String> {
    let prompts: Vec<Prompt> = (0..job.n)
        .map(|i| Prompt { ids: job.prompt_ids.clone(), seed: job.seed.wrapping_add(i as u64) })
        .collect();
    let params = GenerateParams {
        max_new_tokens: job.max_new_tokens,
        sampling: job.sampling,
        logprobs: job.logprobs,
        stop_ids: stop_ids.to_vec(),
        pad_id,
    };
    let mut generation = Generation::new(model, &prompts, params).map_err(|e| e.to_string())?;
    while !generation.is_done() {
        if shutdown.load(Ordering::SeqCst) {
            return Ok(Some(WorkerEvent::Failed(WorkerFailure::ShuttingDown)));
        }
        // The handler drops its receiver once it has all it needs (stop strings, a client that
        // disconnected): stop spending the device on it.
        if job.events.is_closed() {
            return Ok(None);
        }
        let step = pollster::block_on(generation.step()).map_err(|e| e.to_string())?;
        if job.events.send(WorkerEvent::Step(step)).is_err() {
            return Ok(None);
        }
    }
    Ok(Some(WorkerEvent::Done))
}
