//! A small deterministic OpenAI-compatible server for the data tests, on real loopback HTTP
//! (tokio on 127.0.0.1:0; plain HTTP/1.1 with
//! content-length, one request per connection, so it adds no dependency). Each reply is derived from the request (a hash of the prompt), so
//! generated reasoning is unique per item, long enough and free of the answer's wording, and a
//! rerun gets the same text. It counts requests and can inject failures: statuses for the first
//! requests (429/500, retried by the client), a permanent 400 after K successful replies (an
//! outage mid-build), a too-short first reply for chosen prompts (for `--fix regenerate`), and
//! a delay per reply (to kill a build mid-run).
#![allow(dead_code)]

#[path = "loopback_http.rs"]
mod loopback_http;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

use loopback_http::{read_request, respond_json};

#[derive(Default)]
pub struct StubState {
    /// Every request received (including failed ones).
    pub requests: AtomicUsize,
    /// Requests answered with a completion.
    pub successes: AtomicUsize,
    /// Statuses returned to the first requests, in order.
    pub fail_first: Mutex<Vec<u16>>,
    /// After this many successes every request gets 400 (usize::MAX: never).
    pub fail_after: AtomicUsize,
    /// Prompts containing one of these get a too-short reasoning the first time they are seen.
    pub short_first: Mutex<Vec<String>>,
    seen: Mutex<HashMap<String, usize>>,
    /// Delay before each reply, in milliseconds.
    pub delay_ms: AtomicU64,
    /// `model` and `seed` of every successful request, in arrival order.
    pub log: Mutex<Vec<(String, u64)>>,
}

pub struct Stub {
    pub base_url: String,
    pub state: Arc<StubState>,
    _runtime: tokio::runtime::Runtime,
}

impl Stub {
    pub fn start() -> Stub {
        let state = Arc::new(StubState { fail_after: AtomicUsize::new(usize::MAX), ..Default::default() });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = state.clone();
        runtime.spawn(async move {
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                tokio::spawn(serve_one(sock, shared.clone()));
            }
        });
        Stub { base_url: format!("http://{addr}/v1"), state, _runtime: runtime }
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xCBF29CE484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001B3);
    }
    h
}

/// The reasoning the stub writes for `prompt` (what a build must store for that item).
pub fn stub_reasoning(prompt: &str) -> String {
    format!(
        "Case {:016x}. I weigh the request step by step, considering what the person wants, what could go wrong, \
         and which reply fits the kind of reasoning asked of me here. After going back and forth on the details \
         I settle on my decision.",
        fnv(prompt)
    )
}

/// Read one request and answer it.
async fn serve_one(mut sock: TcpStream, state: Arc<StubState>) {
    let Some((_, body)) = read_request(&mut sock).await else { return };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, reply) = answer(&state, &body).await;
    respond_json(&mut sock, status, &reply.to_string()).await;
}

fn error(message: &str) -> Value {
    json!({"error": {"message": message, "type": "stub_error"}})
}

async fn answer(s: &StubState, body: &Value) -> (u16, Value) {
    let n = s.requests.fetch_add(1, Ordering::SeqCst);
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(&status) = s.fail_first.lock().unwrap().get(n) {
        return (status, error("injected failure"));
    }
    if s.successes.load(Ordering::SeqCst) >= s.fail_after.load(Ordering::SeqCst) {
        return (400, error("injected outage"));
    }
    let prompt = body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("").to_string();
    let times_seen = {
        let mut seen = s.seen.lock().unwrap();
        let c = seen.entry(prompt.clone()).or_insert(0);
        *c += 1;
        *c
    };
    let short = times_seen == 1 && s.short_first.lock().unwrap().iter().any(|p| prompt.contains(p.as_str()));
    let reasoning = if short { "Fine.".to_string() } else { stub_reasoning(&prompt) };
    s.successes.fetch_add(1, Ordering::SeqCst);
    s.log.lock().unwrap().push((body["model"].as_str().unwrap_or("").to_string(), body["seed"].as_u64().unwrap_or(0)));
    (
        200,
        json!({
            "id": format!("stub-{n}"),
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("<reasoning>\n{reasoning}\n</reasoning>")}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        }),
    )
}
