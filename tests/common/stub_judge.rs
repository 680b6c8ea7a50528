//! A scripted OpenAI-compatible judge on loopback (tokio on 127.0.0.1:0) for the eval tests:
//! `reply` maps each chat-completions request to (status, body), so scores are known in advance.
//! Requests are recorded (body and Authorization header) for assertions.
#![allow(dead_code)]

#[path = "loopback_http.rs"]
mod loopback_http;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use loopback_http::{read_request, respond_json};

pub type Reply = fn(&Value) -> (u16, String);

pub struct StubJudge {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    /// Each request's JSON body and Authorization header.
    pub requests: Arc<Mutex<Vec<(Value, Option<String>)>>>,
    _runtime: tokio::runtime::Runtime,
}

impl StubJudge {
    pub fn start(reply: Reply, delay: Duration) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let log = requests.clone();
        runtime.spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { continue };
                let log = log.clone();
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut sock).await else { return };
                    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let auth = head
                        .lines()
                        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.trim().to_string()));
                    log.lock().unwrap().push((req.clone(), auth));
                    tokio::time::sleep(delay).await;
                    let (status, body) = reply(&req);
                    respond_json(&mut sock, status, &body).await;
                });
            }
        });
        Self { base_url: format!("http://{addr}/v1"), requests, _runtime: runtime }
    }
}

/// The user prompt of a request (the judge's filled rubric).
pub fn prompt(req: &Value) -> String {
    req["messages"][0]["content"].as_str().unwrap_or("").to_string()
}

/// A chat completion whose first token has the given top alternatives (token, probability);
/// `top` empty = no logprobs in the reply.
pub fn completion(content: &str, top: &[(&str, f64)]) -> String {
    let logprobs = if top.is_empty() {
        Value::Null
    } else {
        let alts: Vec<Value> = top.iter().map(|(t, p)| json!({"token": t, "logprob": p.ln()})).collect();
        json!({"content": [{"token": top[0].0, "logprob": top[0].1.ln(), "top_logprobs": alts}]})
    };
    json!({"id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop", "logprobs": logprobs}]})
    .to_string()
}

/// A port nobody listens on (a judge server that is down).
pub fn dead_base_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}/v1")
}
