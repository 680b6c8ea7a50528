//! `cotlab serve` over real loopback HTTP: the binary is started on a free port with the tiny
//! "cli" checkpoint (tests/common `checkpoint_dir`) and must reply exactly what
//! `cotlab generate` produces for the same prompt, seed and settings, stream the same text, report
//! log-probabilities, honour `n`, the thinking switch, its limits (400, 404, 413, 429) and Ctrl-C.
//! It is also the judge of `cotlab eval`'s HTTP judge (em, deception, darkbench), and the last test
//! drives it with OpenAI's own Python package (tests/serve_openai_client.py).

mod common;
#[path = "common/cli.rs"]
mod cli_support;
#[path = "common/eval_cli.rs"]
mod eval_cli;
// The shared wire types and client, compiled into this test (the `cotlab` crate is a binary).
#[allow(dead_code)]
#[path = "../native/src/openai/mod.rs"]
mod openai;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cli_support::{cotlab, run_ok};
use common::*;
use cotlab_core::chat::{render, Message, RenderOptions};
use futures::StreamExt;
use openai::{ChatMessage, ChatRequest, ChatResponse, ChatTemplateKwargs, ClientConfig, OpenAiClient};
use serde_json::{json, Value};

const MODEL: &str = "tiny";

/// A running `cotlab serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = cotlab()
            .args(["serve", "--port", "0", "--device", "cpu", "--served-model-name", MODEL])
            .arg("--model")
            .arg(checkpoint_dir("cli"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cotlab serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on ") {
                    let url = line[at + "listening on ".len()..].split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(base) => Server { child, base, stderr },
            Err(_) => {
                let _ = child.kill();
                panic!("cotlab serve did not start: {}", stderr.lock().unwrap());
            }
        }
    }

    fn client(&self) -> OpenAiClient {
        let mut c = ClientConfig::new(self.base.clone());
        c.max_retries = 0;
        c.timeout = Duration::from_secs(300);
        OpenAiClient::new(c).unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Send SIGINT (what Ctrl-C sends) and wait for the process to end.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let ok = std::process::Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cotlab serve did not stop within 60 s of SIGINT: {}", self.stderr.lock().unwrap());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `cotlab generate --json` printed for one prompt.
#[derive(Debug, serde::Deserialize)]
struct Generated {
    thinking: String,
    answer: String,
    token_ids: Vec<u32>,
    #[serde(default)]
    logprobs: Vec<Vec<Top>>,
}

#[derive(Debug, serde::Deserialize)]
struct Top {
    token_id: u32,
    logprob: f64,
}

/// `cotlab generate` on the same checkpoint: greedy (`seed = None`) or sampled with the mode's
/// recommended settings and `seed`.
fn generate(mode: &str, prompt: &str, max_new_tokens: usize, seed: Option<u64>) -> Generated {
    let mut cmd = cotlab();
    cmd.args(["generate", "--json", "--device", "cpu", "--logprobs", "5", "--mode", mode, "--prompt", prompt])
        .arg("--model")
        .arg(checkpoint_dir("cli"))
        .args(["--max-new-tokens", &max_new_tokens.to_string()]);
    match seed {
        None => cmd.arg("--greedy"),
        Some(s) => cmd.args(["--seed", &s.to_string()]),
    };
    serde_json::from_str(run_ok(&mut cmd).lines().next().unwrap()).unwrap()
}

fn request(prompt: &str, mode: &str, max_tokens: u32) -> ChatRequest {
    let mut r = ChatRequest::new(MODEL, vec![ChatMessage::user(prompt)]);
    r.max_tokens = Some(max_tokens);
    if mode == "no-think" {
        r.chat_template_kwargs = Some(ChatTemplateKwargs { enable_thinking: Some(false) });
    }
    r
}

fn tokenizer() -> cotlab_core::chat::QwenTokenizer {
    cotlab_core::chat::QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap()
}

/// A streamed reply: per choice index, (reasoning, content, finish_reason, logprob entries),
/// and whether it ended with `data: [DONE]`.
#[derive(Debug, Default)]
struct Streamed {
    choices: Vec<(String, String, Option<String>, usize)>,
    errors: Vec<Value>,
    done: bool,
    chunks: usize,
}

/// Parse a whole `text/event-stream` body.
fn parse_sse(body: &str) -> Streamed {
    let mut s = Streamed::default();
    for event in body.split("\n\n").filter(|e| !e.trim().is_empty()) {
        let data = event.strip_prefix("data: ").unwrap_or_else(|| panic!("not an SSE data event: {event:?}"));
        assert!(!s.done, "an event after [DONE]: {data}");
        if data == "[DONE]" {
            s.done = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        if v.get("error").is_some() {
            s.errors.push(v);
            continue;
        }
        s.chunks += 1;
        assert_eq!(v["object"], "chat.completion.chunk");
        for c in v["choices"].as_array().unwrap() {
            let i = c["index"].as_u64().unwrap() as usize;
            if s.choices.len() <= i {
                s.choices.resize(i + 1, Default::default());
            }
            let slot = &mut s.choices[i];
            slot.0 += c["delta"]["reasoning_content"].as_str().unwrap_or("");
            slot.1 += c["delta"]["content"].as_str().unwrap_or("");
            if let Some(f) = c["finish_reason"].as_str() {
                assert!(slot.2.is_none(), "two finish_reasons for choice {i}");
                slot.2 = Some(f.to_string());
            }
            slot.3 += c["logprobs"]["content"].as_array().map_or(0, |a| a.len());
        }
    }
    s
}

async fn post_stream(server: &Server, body: &Value) -> Streamed {
    let r = reqwest::Client::new().post(server.url("chat/completions")).json(body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    parse_sse(&r.text().await.unwrap())
}

fn reasoning(r: &ChatResponse, i: usize) -> String {
    r.choices[i].message.reasoning_content.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greedy_replies_equal_cotlab_generate_token_for_token_in_both_modes() {
    let server = Server::start(&[]);
    let client = server.client();
    let tok = tokenizer();
    let prompt = "What is the capital of France?";
    let max = 12;
    let mut prompt_tokens = Vec::new();
    let mut answers = Vec::new();
    for mode in ["think", "no-think"] {
        let expected = generate(mode, prompt, max, None);
        assert_eq!(expected.token_ids.len(), max, "the tiny model does not stop early");
        let mut req = request(prompt, mode, max as u32);
        req.temperature = Some(0.0);
        req.logprobs = Some(true);
        req.top_logprobs = Some(5);
        let r = client.chat(&req).await.unwrap();
        assert_eq!(r.object, "chat.completion");
        assert_eq!(r.model, MODEL);
        assert!(r.id.starts_with("chatcmpl-"), "{}", r.id);
        assert_eq!(r.choices.len(), 1);
        let c = &r.choices[0];
        assert_eq!(c.message.role, "assistant");
        assert_eq!(c.message.content, expected.answer, "[{mode}] content");
        assert_eq!(reasoning(&r, 0), expected.thinking, "[{mode}] reasoning_content");
        assert_eq!(c.finish_reason.as_deref(), Some("length"));

        // Token for token: one log-probability entry per generated id, each naming that id's
        // text, with the same top-5 as `cotlab generate --logprobs 5`.
        let usage = r.usage.as_ref().unwrap();
        assert_eq!(usage.completion_tokens, max as u64);
        let entries = c.logprobs.as_ref().unwrap().content.as_ref().unwrap();
        assert_eq!(entries.len(), max);
        for (s, (e, id)) in entries.iter().zip(&expected.token_ids).enumerate() {
            assert_eq!(e.token, tok.token_text(*id), "[{mode}] step {s}");
            assert_eq!(e.bytes.as_deref(), Some(e.token.as_bytes()));
            assert_eq!(e.top_logprobs.len(), 5);
            for (k, (ours, theirs)) in e.top_logprobs.iter().zip(&expected.logprobs[s]).enumerate() {
                assert_eq!(ours.token, tok.token_text(theirs.token_id), "[{mode}] step {s} top-{k}");
                assert!((ours.logprob - theirs.logprob).abs() < 1e-6, "[{mode}] step {s} top-{k}");
            }
            assert!(e.top_logprobs.windows(2).all(|w| w[0].logprob >= w[1].logprob), "sorted");
            assert_eq!(e.logprob, e.top_logprobs[0].logprob, "greedy picks the most likely token");
        }

        // The prompt is the template's rendering for the mode.
        let opts = RenderOptions { add_generation_prompt: true, enable_thinking: (mode == "no-think").then_some(false) };
        let text = render(&[Message::user(prompt)], opts).unwrap();
        assert_eq!(usage.prompt_tokens, tok.encode(&text).unwrap().len() as u64);
        assert_eq!(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
        prompt_tokens.push(text);
        answers.push(c.message.content.clone());
    }
    // no-think = think + an empty think block, as Qwen3's template says; the replies differ.
    assert_eq!(prompt_tokens[1], format!("{}<think>\n\n</think>\n\n", prompt_tokens[0]));
    assert_ne!(answers[0], answers[1]);

    let models = client.models().await.unwrap();
    assert_eq!(models.data.len(), 1);
    assert_eq!(models.data[0].id, MODEL);
    assert_eq!(models.data[0].object, "model");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_adds_up_to_the_whole_reply_and_n_choices_use_seed_plus_i() {
    let server = Server::start(&[]);
    let client = server.client();
    let prompt = "Give me one tip for saving money.";

    // Greedy, both modes, with log-probabilities: one entry per token across the chunks.
    for mode in ["think", "no-think"] {
        let mut req = request(prompt, mode, 10);
        req.temperature = Some(0.0);
        let whole = client.chat(&req).await.unwrap();
        let mut body = serde_json::to_value(&req).unwrap();
        body["stream"] = json!(true);
        body["logprobs"] = json!(true);
        body["top_logprobs"] = json!(2);
        let s = post_stream(&server, &body).await;
        assert!(s.done && s.errors.is_empty(), "{s:?}");
        assert_eq!(s.choices.len(), 1);
        let (r, c, finish, lps) = &s.choices[0];
        assert_eq!(c, &whole.choices[0].message.content, "[{mode}] streamed content");
        assert_eq!(r, &reasoning(&whole, 0), "[{mode}] streamed reasoning");
        assert_eq!(finish.as_deref(), Some("length"));
        assert_eq!(*lps, 10);
    }

    // Sampling at the mode's recommended settings (none sent): choice i uses seed + i, so choice
    // 0 of seed 11 is `cotlab generate --seed 11` and choice 1 is `--seed 12`.
    let mut req = request(prompt, "think", 8);
    req.n = Some(3);
    req.seed = Some(11);
    let three = client.chat(&req).await.unwrap();
    assert_eq!(three.choices.iter().map(|c| c.index).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(three.usage.as_ref().unwrap().completion_tokens, 3 * 8);
    for (i, seed) in [(0, 11), (1, 12)] {
        let g = generate("think", prompt, 8, Some(seed));
        assert_eq!(three.choices[i].message.content, g.answer, "choice {i} = generate --seed {seed}");
        assert_eq!(reasoning(&three, i), g.thinking);
    }
    // (The tiny fixture's distribution is so peaked that the three texts may coincide; that the
    // seeds differ is shown above by each choice matching `generate` with its own seed.)
    // The same request again: the same three replies.
    let again = client.chat(&req).await.unwrap();
    assert_eq!(again.choices, three.choices);
    // Streamed, the three choices interleave and add up to the same texts.
    let mut body = serde_json::to_value(&req).unwrap();
    body["stream"] = json!(true);
    let s = post_stream(&server, &body).await;
    assert_eq!(s.choices.len(), 3);
    for (i, (r, c, finish, _)) in s.choices.iter().enumerate() {
        assert_eq!(c, &three.choices[i].message.content, "streamed choice {i}");
        assert_eq!(r, &reasoning(&three, i));
        assert_eq!(finish.as_deref(), Some("length"));
    }

    // A stop string ends the reply before it and says "stop".
    let mut req = request(prompt, "no-think", 10);
    req.temperature = Some(0.0);
    let whole = client.chat(&req).await.unwrap().choices[0].message.content.clone();
    let cut = whole.char_indices().nth(3).map(|(i, _)| i).expect("a reply of several characters");
    let stop: String = whole[cut..].chars().take(2).collect();
    let before = &whole[..whole.find(&stop).unwrap()];
    req.stop = Some(openai::Stop::One(stop.clone()));
    let r = client.chat(&req).await.unwrap();
    assert_eq!(r.choices[0].message.content, before, "stop {stop:?}");
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    let mut body = serde_json::to_value(&req).unwrap();
    body["stream"] = json!(true);
    let s = post_stream(&server, &body).await;
    assert_eq!(s.choices[0].1, before);
    assert_eq!(s.choices[0].2.as_deref(), Some("stop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_openai_style_errors_naming_the_field() {
    let server = Server::start(&[]);
    let http = reqwest::Client::new();
    let base = || json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2});
    let with = |key: &str, value: Value| {
        let mut b = base();
        b[key] = value;
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with("temperature", json!(-1)), 400, "temperature"),
        (with("temperature", json!("hot")), 400, "temperature"),
        (with("top_p", json!(1.5)), 400, "top_p"),
        (with("min_p", json!(2)), 400, "min_p"),
        (with("top_k", json!(-1)), 400, "top_k"),
        (with("n", json!(0)), 400, "n:"),
        (with("n", json!(17)), 400, "n:"),
        (with("max_tokens", json!(0)), 400, "max_tokens"),
        (with("max_tokens", json!(1_000_000)), 400, "max_tokens"),
        (with("max_completion_tokens", json!(1_000_000)), 400, "max_completion_tokens"),
        (with("messages", json!([])), 400, "messages"),
        (with("messages", json!([{"role": "robot", "content": "hi"}])), 400, "messages"),
        (with("messages", json!("hi")), 400, "messages"),
        (json!({"model": MODEL}), 400, "messages"),
        (with("stop", json!(["a", "b", "c", "d", "e"])), 400, "stop"),
        (with("stop", json!("")), 400, "stop"),
        ({
            let mut b = with("logprobs", json!(true));
            b["top_logprobs"] = json!(21);
            b
        }, 400, "top_logprobs"),
        (with("top_logprobs", json!(3)), 400, "top_logprobs"),
        (with("chat_template_kwargs", json!({"enable_thinking": "no"})), 400, "chat_template_kwargs.enable_thinking"),
        (with("model", json!("gpt-4o")), 404, "gpt-4o"),
    ];
    for (body, status, needle) in cases {
        let r = http.post(server.url("chat/completions")).json(&body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
        let e: Value = r.json().await.unwrap();
        let message = e["error"]["message"].as_str().unwrap_or_else(|| panic!("no OpenAI error body: {e}"));
        assert!(message.contains(needle), "{body} → {message}");
        assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
    }
    let r = http.post(server.url("chat/completions")).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("body: not valid JSON"));

    // Bodies over --max-body-bytes (default 1 MiB) are refused with 413.
    let big = with("messages", json!([{"role": "user", "content": "x".repeat(1 << 20)}]));
    let r = http.post(server.url("chat/completions")).json(&big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("1048576 bytes"), "{e}");

    let r = http.get(format!("{}/nothing-here", server.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("/v1/chat/completions"));

    // The server still works after all that.
    let r = server.client().chat(&request("hi", "no-think", 2)).await.unwrap();
    assert_eq!(r.usage.unwrap().completion_tokens, 2);
}

/// Reads a streaming reply until `chunks` data events arrived.
async fn read_chunks<B: AsRef<[u8]>>(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<B>> + Unpin),
    chunks: usize,
) -> String {
    let mut text = String::new();
    while text.matches("data: ").count() < chunks {
        let piece = tokio::time::timeout(Duration::from_secs(120), stream.next()).await.expect("a chunk in time");
        text.push_str(std::str::from_utf8(piece.expect("stream open").unwrap().as_ref()).unwrap());
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_and_a_client_that_leaves_frees_the_model() {
    let server = Server::start(&["--queue", "1"]);
    let http = reqwest::Client::new();
    // A: a long greedy stream (the tiny model never stops by itself); once its first tokens
    // arrived it is running, so the queue is empty.
    let long = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "temperature": 0,
                      "stream": true, "logprobs": true});
    let a = http.post(server.url("chat/completions")).json(&long).send().await.unwrap();
    assert_eq!(a.status(), 200);
    let mut a_stream = Box::pin(a.bytes_stream());
    read_chunks(&mut a_stream, 3).await;
    // B waits in the one queue slot …
    let short = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3});
    let b = tokio::spawn({
        let (http, url, body) = (http.clone(), server.url("chat/completions"), short.clone());
        async move { http.post(url).json(&body).send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // … so C is turned away with 429, an OpenAI error body and Retry-After.
    let c = http.post(server.url("chat/completions")).json(&short).send().await.unwrap();
    assert_eq!(c.status(), 429);
    assert_eq!(c.headers()["retry-after"], "1");
    let e: Value = c.json().await.unwrap();
    assert_eq!(e["error"]["type"], "rate_limit_error");
    assert!(e["error"]["message"].as_str().unwrap().contains("--queue 1"), "{e}");
    // A's client leaves: the worker drops A and runs B.
    drop(a_stream);
    let b = tokio::time::timeout(Duration::from_secs(120), b).await.expect("B ran after A left").unwrap();
    assert_eq!(b.status(), 200);
    let b: ChatResponse = b.json().await.unwrap();
    assert_eq!(b.usage.unwrap().completion_tokens, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_running_requests_and_stops_the_server() {
    let mut server = Server::start(&[]);
    let http = reqwest::Client::new();
    let long = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "temperature": 0,
                      "stream": true, "logprobs": true});
    let a = http.post(server.url("chat/completions")).json(&long).send().await.unwrap();
    let mut a_stream = Box::pin(a.bytes_stream());
    let mut text = read_chunks(&mut a_stream, 3).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.interrupt();
        (status, server)
    });
    // The running stream ends with an error event and [DONE].
    while let Some(piece) = a_stream.next().await {
        match piece {
            Ok(b) => text.push_str(std::str::from_utf8(&b).unwrap()),
            Err(_) => break,
        }
    }
    let (status, server) = status.await.unwrap();
    assert!(status.success(), "exit status {status}: {}", server.stderr.lock().unwrap());
    let s = parse_sse(&text);
    assert!(s.done, "the stream ended with [DONE]: {text}");
    assert_eq!(s.errors.len(), 1, "{text}");
    assert!(s.errors[0]["error"]["message"].as_str().unwrap().contains("shutting down"));
    let log = server.stderr.lock().unwrap().clone();
    assert!(log.contains("shutting down") && log.contains("cotlab serve: stopped"), "{log}");
}

#[test]
fn the_openai_python_package_talks_to_the_server() {
    let probe = std::process::Command::new("python3").args(["-c", "import openai"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "python3 with the `openai` package is needed for this test: run `bash tests/setup.sh` (it pins the version)"
    );
    let server = Server::start(&[]);
    let cases: Vec<Value> = [("think", "What is the capital of France?"), ("no-think", "Tell me a joke about cats")]
        .iter()
        .map(|(mode, prompt)| {
            let g = generate(mode, prompt, 8, None);
            json!({"mode": mode, "prompt": prompt, "max_tokens": 8, "thinking": g.thinking, "answer": g.answer,
                   "tokens": g.token_ids.len()})
        })
        .collect();
    let expected = std::env::temp_dir().join(format!("cotlab-serve-expected-{}.json", std::process::id()));
    std::fs::write(&expected, serde_json::to_vec(&json!({"cases": cases})).unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/serve_openai_client.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["--base-url", &server.base, "--model", MODEL, "--expected"])
        .arg(&expected)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the openai client failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.stderr.lock().unwrap()
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}

/// The judged suites end to end with `--judge openai:…` pointing at `cotlab serve`: every judge
/// question reaches the server and its reply comes back into the sample. The served model is a
/// random tiny checkpoint, so its replies are not numbers: each sample must be unscored for that
/// reason (never for a transport failure), with the reply kept in the judge trace.
#[test]
fn the_http_judge_runs_every_judged_suite_against_cotlab_serve() {
    let server = Server::start(&[]);
    let samples_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/data/samples");
    for (suite, data) in [("em", None), ("deception", Some("deception.json")), ("darkbench", Some("darkbench.jsonl"))] {
        let out = eval_cli::out_dir(&format!("serve-judge-{suite}"));
        let mut cmd = eval_cli::eval_cmd(suite, &out);
        cmd.args(["--mode", "no-think", "--samples", "1", "--limit", "1", "--judge", &format!("openai:{MODEL}")])
            .args(["--judge-base-url", &server.base, "--judge-disable-thinking", "--judge-retries", "0"]);
        if let Some(file) = data {
            cmd.arg("--data").arg(samples_dir.join(file));
        }
        eval_cli::run_ok(&mut cmd);
        let samples = eval_cli::samples(&out);
        assert!(!samples.is_empty(), "{suite}: no samples");
        for s in &samples {
            eval_cli::assert_sample_schema(s);
            assert_eq!(s["judge"]["spec"], format!("openai:{MODEL}"), "{suite}");
            let raw = s["judge"]["raw"].as_array().unwrap();
            assert!(!raw.is_empty(), "{suite}: the judge was not asked: {s}");
            for r in raw {
                match r.get("error").and_then(Value::as_str) {
                    Some(e) => assert!(e.starts_with("judge reply not a score: "), "{suite}: {e}"),
                    None => assert!(r["method"].is_string() && r["content"].is_string(), "{suite}: {r}"),
                }
            }
            if let Some(reason) = s["unscored_reason"].as_str() {
                assert!(reason.starts_with("judge reply not a score: "), "{suite}: {reason}");
            }
        }
        let sum = eval_cli::summary(&out);
        eval_cli::assert_summary_schema(&sum);
        assert_eq!(sum["counts"]["samples"].as_u64(), Some(samples.len() as u64), "{suite}");
    }
}
