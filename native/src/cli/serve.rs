//! `cotlab serve`: load a checkpoint (and adapter) once and answer OpenAI-compatible chat
//! completions over HTTP until Ctrl-C.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use tokio::sync::mpsc;

use crate::serve::request::Limits;
use crate::serve::worker;
use super::common_args::ModelArgs;
use crate::serve::{serve, unix_now, Shared};

#[derive(ClapArgs)]
pub struct Args {
    /// The model; the adapter, if any, applies to every request.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Address to listen on. The default accepts only this machine; `0.0.0.0` exposes the
    /// server to the network (it has no authentication).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The model name clients send in `model` (default: the --model directory's name).
    #[arg(long)]
    pub served_model_name: Option<String>,
    /// Requests that may wait while the model runs another; more get HTTP 429.
    #[arg(long, default_value_t = 16)]
    pub queue: usize,
    /// Largest request body accepted; larger ones get HTTP 413.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Largest `n` (choices per request).
    #[arg(long, default_value_t = 16)]
    pub max_n: u32,
}

pub fn run(a: Args) -> Result<()> {
    if a.queue == 0 {
        bail!("--queue must be at least 1 (the number of requests that may wait for the model)");
    }
    if a.max_n == 0 {
        bail!("--max-n must be at least 1");
    }
    let name = match &a.served_model_name {
        Some(n) => n.clone(),
        None => a
            .model
            .model
            .canonicalize()
            .unwrap_or_else(|_| a.model.model.clone())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into()),
    };

    let shutdown = Arc::new(AtomicBool::new(false));
    let (jobs, jobs_rx) = mpsc::channel(a.queue);
    let worker = worker::start(a.model.clone(), jobs_rx, shutdown.clone())?;
    let info = worker.info;
    let shared = Arc::new(Shared {
        jobs,
        tokenizer: info.tokenizer,
        name: name.clone(),
        limits: Limits { context: info.context, max_n: a.max_n, vocab_size: info.vocab_size },
        queue: a.queue,
        max_body_bytes: a.max_body_bytes,
        started: unix_now(),
        counter: AtomicU64::new(0),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port))
            .await
            .with_context(|| format!("cannot listen on {}:{} (in use? pick another --port)", a.host, a.port))?;
        let addr = listener.local_addr()?;
        eprintln!("cotlab serve: model {name:?} on {}; listening on http://{addr}/v1 (Ctrl-C stops)", info.device);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signal(shutdown).await;
            let _ = stop_tx.send(true);
            // Keep the sender: a closed channel would look like a second stop.
            std::future::pending::<()>().await;
        });
        serve(listener, shared, stop_rx).await;
        anyhow::Ok(())
    })?;
    // The handlers (and with them the queue's sender) are gone: the worker finishes and exits.
    let _ = worker.thread.join();
    eprintln!("cotlab serve: stopped");
    Ok(())
}

/// Resolves on Ctrl-C (or SIGTERM): running and queued requests are ended with an error, new
/// connections refused, and the server returns once open connections close. A second Ctrl-C
/// exits at once.
async fn stop_signal(shutdown: Arc<AtomicBool>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("cotlab serve: shutting down (Ctrl-C again to exit at once)");
    shutdown.store(true, Ordering::SeqCst);
    tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(130);
    });
}
