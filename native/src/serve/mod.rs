//! `cotlab serve`: an OpenAI-compatible HTTP server over one loaded checkpoint.
//!
//! ```text
//!  HTTP (hyper, tokio)                         model thread (worker.rs)
//!  POST /v1/chat/completions                   owns LoadedModel, one job at a time
//!    body ≤ --max-body-bytes (else 413)
//!    request.rs: validate (400), template,  ──Job──▶ bounded queue (--queue; full: 429)
//!                tokenize                              │  Generation over n rows
//!    choice.rs: decode, stop strings,        ◀──Step──┘  (one message per decoding step)
//!               reasoning/content split
//!    handlers.rs: one JSON reply, or SSE chunks … data: [DONE]
//! ```

pub mod choice;
pub mod error;
mod handlers;
pub mod request;
pub mod worker;

use std::convert::Infallible;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use bytes::Bytes;
use cotlab_core::chat::QwenTokenizer;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use error::ApiError;
use request::Limits;
use worker::Job;

/// Everything the handlers share.
pub struct Shared {
    pub jobs: mpsc::Sender<Job>,
    pub tokenizer: Arc<QwenTokenizer>,
    /// The model name clients send and `/v1/models` lists.
    pub name: String,
    pub limits: Limits,
    /// Capacity of the job queue (for the 429 message).
    pub queue: usize,
    pub max_body_bytes: usize,
    /// Server start, Unix seconds (`created` of the model card).
    pub started: u64,
    /// Source of unique completion ids.
    pub counter: AtomicU64,
}

pub type AppState = Arc<Shared>;

/// A response body: a whole JSON document or a stream of server-sent events.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;
pub type Reply = Response<Body>;

/// A JSON reply with `status`.
pub fn json_reply<T: serde::Serialize>(status: StatusCode, value: &T) -> Reply {
    let bytes = serde_json::to_vec(value).expect("replies serialise");
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(bytes)).boxed_unsync())
        .expect("a valid response")
}

/// The routes: `POST /v1/chat/completions`, `GET /v1/models`, `GET /health`; anything else is
/// an OpenAI-style 404 (or 405 for a known path with the wrong method).
async fn route(app: AppState, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req.uri().path().to_string();
    Ok(match (req.method(), path.as_str()) {
        (&Method::POST, "/v1/chat/completions") => handlers::chat_completions(app, req).await,
        (&Method::GET, "/v1/models") => handlers::models(&app),
        (&Method::GET, "/health") => json_reply(StatusCode::OK, &serde_json::json!({"status": "ok"})),
        (_, "/v1/chat/completions" | "/v1/models" | "/health") => ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            kind: "invalid_request_error",
            code: None,
            message: format!("{} {path}: method not allowed", req.method()),
        }
        .into_response(),
        _ => ApiError::no_route(&path).into_response(),
    })
}

/// Accept connections until `stop` turns true, then let open connections finish their current
/// response (running generations are ended by the worker) and return.
pub async fn serve(listener: TcpListener, app: AppState, mut stop: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let mut conn_stop = stop.clone();
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let app = app.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| route(app.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = conn_stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
