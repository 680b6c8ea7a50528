//! A scripted OpenAI-compatible judge on loopback (tokio on 127.0.0.1:0) for the eval tests:
//! `reply` maps each chat-completions request to (status, body), so scores are known in advance.
//! Requests are recorded (body and Authorization header) for assertions.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub type Reply = fn(&Value) -> (u16, String);

pub struct StubJudge {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    /// Each request's JSON body and Authorization header.
    pub requests: Arc<Mutex<Vec<(Value, Option<String>)>>>,
    _runtime: tokio::runtime::Runtime,
}

/// Read one HTTP/1.1 request: (headers, body).
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((head, buf[end + 4..end + 4 + len].to_vec()));
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
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
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(body.as_bytes()).await;
                    let _ = sock.shutdown().await;
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
