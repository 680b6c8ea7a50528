//! The HTTP handlers: parse, validate, enqueue, then answer with one JSON reply or a stream of
//! server-sent events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use tokio::sync::mpsc;

use super::choice::{ChoiceText, Piece};
use super::error::ApiError;
use super::request::{plan, Plan};
use super::worker::{Job, WorkerEvent, WorkerFailure};
use super::{json_reply, unix_now, AppState, Reply};
use crate::openai::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, Choice, ChoiceLogprobs, ChunkChoice, Delta, ModelCard, ModelList,
    Usage,
};

/// Identity of one completion, shared by all its chunks.
struct ReplyMeta {
    id: String,
    created: u64,
    model: String,
}

/// One server-sent event: `data: …` and a blank line.
type Event = Bytes;

fn event(data: &str) -> Event {
    Bytes::from(format!("data: {data}\n\n"))
}

pub async fn chat_completions(app: AppState, req: Request<Incoming>) -> Reply {
    match chat(app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The body, at most `limit` bytes (413 beyond). An oversized body is still read to its end
/// (discarded, up to 64 MiB more) so the client finishes sending and reads the 413 instead of
/// a connection reset.
async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, ApiError> {
    const DRAIN: u64 = 64 << 20;
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let mut too_large = declared.is_some_and(|n| n > limit as u64);
    let mut body = req.into_body();
    let mut kept: Vec<u8> = Vec::new();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::invalid(format!("body: could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            too_large |= seen > limit as u64;
            if !too_large {
                kept.extend_from_slice(&data);
            }
            if seen > limit as u64 + DRAIN {
                break;
            }
        }
    }
    if too_large {
        return Err(ApiError::too_large(limit));
    }
    Ok(Bytes::from(kept))
}

async fn chat(app: AppState, req: Request<Incoming>) -> Result<Reply, ApiError> {
    let bytes = read_body(req, app.max_body_bytes).await?;
    let req = parse(&bytes)?;
    let plan = plan(&req, &app.name, &app.tokenizer, &app.limits)?;

    let (events, rx) = mpsc::unbounded_channel();
    let job = Job {
        prompt_ids: plan.prompt_ids.clone(),
        n: plan.n,
        seed: plan.seed,
        sampling: plan.sampling,
        max_new_tokens: plan.max_new_tokens,
        logprobs: plan.core_logprobs,
        events,
    };
    app.jobs.try_send(job).map_err(|e| match e {
        mpsc::error::TrySendError::Full(_) => ApiError::queue_full(app.queue),
        mpsc::error::TrySendError::Closed(_) => ApiError::unavailable("the model worker has stopped; restart the server"),
    })?;

    let created = unix_now();
    let meta = ReplyMeta {
        id: format!("chatcmpl-{created:x}{:06x}", app.counter.fetch_add(1, Ordering::Relaxed)),
        created,
        model: app.name.clone(),
    };
    if plan.stream {
        Ok(stream_reply(app, plan, rx, meta))
    } else {
        Ok(json_reply(StatusCode::OK, &whole_reply(&app, &plan, rx, meta).await?))
    }
}

/// The body as a `ChatRequest`; errors name the field (`temperature: invalid type: …`).
fn parse(bytes: &[u8]) -> Result<ChatRequest, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::invalid(format!("body: not valid JSON: {inner}"))
        } else if path == "." {
            ApiError::invalid(format!("body: {inner}"))
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })
}

fn failure(f: WorkerFailure) -> ApiError {
    match f {
        WorkerFailure::ShuttingDown => ApiError::unavailable("the server is shutting down"),
        WorkerFailure::Generation(m) => ApiError::internal(format!("generation failed: {m}")),
    }
}

fn logprobs_field(plan: &Plan, tokens: Vec<crate::openai::TokenLogprob>) -> Option<ChoiceLogprobs> {
    plan.top_logprobs.map(|_| ChoiceLogprobs { content: Some(tokens) })
}

/// Run the job to the end and build one `chat.completion`.
async fn whole_reply(
    app: &AppState,
    plan: &Plan,
    mut rx: mpsc::UnboundedReceiver<WorkerEvent>,
    meta: ReplyMeta,
) -> Result<ChatResponse, ApiError> {
    let mut choices: Vec<ChoiceText> = (0..plan.n).map(|_| ChoiceText::new(plan.stops.clone(), plan.top_logprobs)).collect();
    loop {
        match rx.recv().await {
            Some(WorkerEvent::Step(step)) => {
                for e in &step {
                    choices[e.row].push(e, &app.tokenizer);
                }
                if choices.iter().all(ChoiceText::is_finished) {
                    break; // stop strings may end every choice before the model does
                }
            }
            Some(WorkerEvent::Done) => break,
            Some(WorkerEvent::Failed(f)) => return Err(failure(f)),
            None => return Err(ApiError::unavailable("the model worker stopped before the reply was complete")),
        }
    }
    drop(rx); // tells the worker to stop if it is still generating
    let completion_tokens: usize = choices.iter().map(ChoiceText::completion_tokens).sum();
    let choices = choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = c.finished();
            Choice {
                index: i as u32,
                message: ChatMessage { role: "assistant".into(), content: f.content, reasoning_content: f.reasoning },
                finish_reason: Some(f.finish.into()),
                logprobs: logprobs_field(plan, f.logprobs),
            }
        })
        .collect();
    Ok(ChatResponse {
        id: meta.id,
        object: "chat.completion".into(),
        created: meta.created,
        model: meta.model,
        choices,
        usage: Some(Usage {
            prompt_tokens: plan.prompt_ids.len() as u64,
            completion_tokens: completion_tokens as u64,
            total_tokens: (plan.prompt_ids.len() + completion_tokens) as u64,
        }),
    })
}

/// The state of a streamed reply.
struct Streaming {
    app: AppState,
    plan: Plan,
    meta: ReplyMeta,
    /// `None` once the worker has nothing more to say (or was told to stop).
    rx: Option<mpsc::UnboundedReceiver<WorkerEvent>>,
    choices: Vec<ChoiceText>,
    ready: VecDeque<Event>,
    ended: bool,
}

impl Streaming {
    fn chunk(&self, index: usize, delta: Delta, piece_logprobs: Option<Vec<crate::openai::TokenLogprob>>, finish: Option<&str>) -> Event {
        let chunk = ChatChunk {
            id: self.meta.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.meta.created,
            model: self.meta.model.clone(),
            choices: vec![ChunkChoice {
                index: index as u32,
                delta,
                finish_reason: finish.map(str::to_string),
                logprobs: piece_logprobs.and_then(|l| logprobs_field(&self.plan, l)),
            }],
        };
        event(&serde_json::to_string(&chunk).expect("chunks serialise"))
    }

    fn piece_event(&self, index: usize, piece: Piece) -> Event {
        let delta = Delta {
            role: None,
            content: (!piece.content.is_empty()).then_some(piece.content),
            reasoning_content: (!piece.reasoning.is_empty()).then_some(piece.reasoning),
        };
        let logprobs = self.plan.top_logprobs.map(|_| piece.logprobs);
        self.chunk(index, delta, logprobs, piece.finish)
    }

    /// Queue the pieces every choice has ready.
    fn flush(&mut self) {
        for i in 0..self.choices.len() {
            let piece = self.choices[i].take_piece();
            if !piece.is_empty() {
                let event = self.piece_event(i, piece);
                self.ready.push_back(event);
            }
        }
    }

    fn end(&mut self) {
        self.rx = None; // stops the worker if it is still generating for us
        self.ready.push_back(event("[DONE]"));
        self.ended = true;
    }

    /// Wait for the worker's next message and turn it into events.
    async fn advance(&mut self) {
        let Some(rx) = self.rx.as_mut() else {
            return self.end();
        };
        match rx.recv().await {
            Some(WorkerEvent::Step(step)) => {
                for e in &step {
                    self.choices[e.row].push(e, &self.app.tokenizer);
                }
                self.flush();
                if self.choices.iter().all(ChoiceText::is_finished) {
                    self.end();
                }
            }
            Some(WorkerEvent::Done) => {
                self.flush();
                self.end();
            }
            Some(WorkerEvent::Failed(f)) => {
                // Headers are sent already: report the error in the stream, as vLLM does.
                let body = failure(f).body();
                self.ready.push_back(event(&serde_json::to_string(&body).expect("errors serialise")));
                self.end();
            }
            None => {
                let body = ApiError::unavailable("the model worker stopped before the reply was complete").body();
                self.ready.push_back(event(&serde_json::to_string(&body).expect("errors serialise")));
                self.end();
            }
        }
    }
}

/// `text/event-stream`: a role chunk per choice, then content chunks as tokens arrive, a
/// `finish_reason` chunk per choice, and `data: [DONE]`.
fn stream_reply(app: AppState, plan: Plan, rx: mpsc::UnboundedReceiver<WorkerEvent>, meta: ReplyMeta) -> Reply {
    let choices = (0..plan.n).map(|_| ChoiceText::new(plan.stops.clone(), plan.top_logprobs)).collect();
    let mut state = Streaming { app, plan, meta, rx: Some(rx), choices, ready: VecDeque::new(), ended: false };
    for i in 0..state.plan.n {
        let delta = Delta { role: Some("assistant".into()), content: Some(String::new()), reasoning_content: None };
        let event = state.chunk(i, delta, None, None);
        state.ready.push_back(event);
    }
    let stream = futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.ready.pop_front() {
                return Some((Ok::<Frame<Bytes>, Infallible>(Frame::data(event)), st));
            }
            if st.ended {
                return None;
            }
            st.advance().await;
        }
    });
    Response::builder()
        .header(CONTENT_TYPE, "text/event-stream")
        .header(CACHE_CONTROL, "no-cache")
        .body(StreamBody::new(stream.boxed()).boxed_unsync())
        .expect("a valid response")
}

pub fn models(app: &AppState) -> Reply {
    let list = ModelList {
        object: "list".into(),
        data: vec![ModelCard { id: app.name.clone(), object: "model".into(), created: app.started, owned_by: "cotlab".into() }],
    };
    json_reply(StatusCode::OK, &list)
}
