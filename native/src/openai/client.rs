//! An OpenAI-compatible chat-completions client for the generator and the judges: bounded
//! concurrency, a timeout per attempt, and retries with exponential backoff on the failures that
//! pass (429, 5xx, timeouts, refused connections). The API key is read from an environment
//! variable named by the user and never printed (`Debug` hides it).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::types::{ChatRequest, ChatResponse, ErrorBody, ModelList};

/// How to reach a server and how hard to try.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Up to and including the version segment, as OpenAI's SDKs take it:
    /// `https://api.openai.com/v1`, `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// Name of the environment variable holding the API key (`OPENAI_API_KEY`); `None` sends no
    /// `Authorization` header (local servers).
    pub api_key_env: Option<String>,
    /// Limit for one attempt, connection to last byte.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles per retry, capped at 60 s, overridden by `Retry-After`.
    pub backoff: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key_env: None,
            timeout: Duration::from_secs(120),
            max_retries: 5,
            backoff: Duration::from_millis(500),
            concurrency: 8,
        }
    }
}

/// Why a request failed, in words that say what to check.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("environment variable {0} (the API key) is not set; export it or pass a different --*-api-key-env")]
    MissingKey(String),
    #[error("{url}: HTTP {status}: {message}")]
    Status { url: String, status: u16, message: String },
    #[error("{url}: {message} (is the server running and the base URL right?)")]
    Transport { url: String, message: String },
    #[error("{url}: timed out after {secs:.0} s")]
    Timeout { url: String, secs: f64 },
    #[error("{url}: the reply is not an OpenAI-compatible response ({error}); it began: {excerpt:?}")]
    Malformed { url: String, error: String, excerpt: String },
    #[error("gave up after {attempts} attempts; last error: {last}")]
    GaveUp { attempts: u32, last: Box<ClientError> },
}

impl ClientError {
    /// Whether trying again may succeed.
    fn is_transient(&self) -> bool {
        match self {
            ClientError::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            ClientError::Transport { .. } | ClientError::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// A shareable client (clone is cheap; clones share the concurrency limit).
#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    config: ClientConfig,
    key: Option<String>,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("config", &self.config)
            .field("key", &self.key.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl OpenAiClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| ClientError::MissingKey(var.clone()))?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ClientError::Transport { url: config.base_url.clone(), message: e.to_string() })?;
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Self { http, config, key, slots })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.config.base_url.trim_end_matches('/'), path)
    }

    /// `POST /chat/completions` (non-streaming; `stream` is forced off).
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ClientError> {
        let mut request = request.clone();
        request.stream = None;
        let body = serde_json::to_vec(&request).expect("requests serialise");
        self.with_retries("chat/completions", Some(body)).await
    }

    /// `GET /models`.
    #[allow(dead_code)] // used by the serve tests, which compile this module by path
    pub async fn models(&self) -> Result<ModelList, ClientError> {
        self.with_retries("models", None).await
    }

    async fn with_retries<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let _slot = self.slots.acquire().await.expect("semaphore never closes");
        let url = self.url(path);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (result, retry_after) = self.attempt(&url, body.as_deref()).await;
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && attempt <= self.config.max_retries => {
                    let backoff = self.config.backoff.saturating_mul(1 << (attempt - 1).min(16));
                    let wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(60));
                    tokio::time::sleep(wait).await;
                }
                Err(e) if attempt > 1 => return Err(ClientError::GaveUp { attempts: attempt, last: Box::new(e) }),
                Err(e) => return Err(e),
            }
        }
    }

    /// One try: the parsed reply or the error, and the server's `Retry-After` if it sent one.
    async fn attempt<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        body: Option<&[u8]>,
    ) -> (Result<T, ClientError>, Option<Duration>) {
        let mut req = match body {
            Some(b) => self.http.post(url).header("content-type", "application/json").body(b.to_vec()),
            None => self.http.get(url),
        };
        if let Some(key) = &self.key {
            req = req.bearer_auth(key);
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                ClientError::Timeout { url: url.to_string(), secs: self.config.timeout.as_secs_f64() }
            } else {
                // The source chain holds the useful part ("connection refused").
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message = format!("{message}: {s}");
                    source = s.source();
                }
                ClientError::Transport { url: url.to_string(), message }
            }
        };
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => return (Err(transport(e)), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(Duration::from_secs_f64);
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return (Err(transport(e)), retry_after),
        };
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|b| b.error.message)
                .unwrap_or_else(|_| excerpt(&bytes));
            return (Err(ClientError::Status { url: url.to_string(), status, message }), retry_after);
        }
        let parsed = serde_json::from_slice(&bytes).map_err(|e| ClientError::Malformed {
            url: url.to_string(),
            error: e.to_string(),
            excerpt: excerpt(&bytes),
        });
        (parsed, retry_after)
    }
}

fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::types::ChatMessage;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const OK: &str = r#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"42"},"finish_reason":"stop"}]}"#;

    /// A loopback server answering the n-th request with `replies[n]` (the last one repeats);
    /// `None` = accept and never answer. Returns the base URL and the request counter.
    async fn scripted(replies: Vec<Option<(u16, &'static str)>>) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let reply = replies[n.min(replies.len() - 1)];
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let _ = sock.read(&mut buf).await;
                    match reply {
                        Some((status, body)) => {
                            let head = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 0\r\nconnection: close\r\n\r\n",
                                body.len()
                            );
                            let _ = sock.write_all(head.as_bytes()).await;
                            let _ = sock.write_all(body.as_bytes()).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        (format!("http://{addr}/v1"), count)
    }

    fn client(base: String, retries: u32) -> OpenAiClient {
        let mut c = ClientConfig::new(base);
        c.max_retries = retries;
        c.backoff = Duration::from_millis(10);
        c.timeout = Duration::from_millis(500);
        OpenAiClient::new(c).unwrap()
    }

    fn request() -> ChatRequest {
        ChatRequest::new("m", vec![ChatMessage::user("hi")])
    }

    #[tokio::test]
    async fn retries_429_and_5xx_then_succeeds() {
        let (base, count) = scripted(vec![Some((429, "{}")), Some((503, "busy")), Some((200, OK))]).await;
        let r = client(base, 3).chat(&request()).await.unwrap();
        assert_eq!(r.choices[0].message.content, "42");
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn client_errors_are_not_retried_and_carry_the_servers_message() {
        let (base, count) = scripted(vec![Some((400, r#"{"error":{"message":"bad n","type":"invalid_request_error"}}"#))]).await;
        let e = client(base, 3).chat(&request()).await.unwrap_err();
        assert!(matches!(&e, ClientError::Status { status: 400, message, .. } if message == "bad n"), "{e}");
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn malformed_replies_are_reported_with_an_excerpt() {
        let (base, _) = scripted(vec![Some((200, "<html>oops</html>"))]).await;
        let e = client(base, 3).chat(&request()).await.unwrap_err();
        assert!(matches!(&e, ClientError::Malformed { excerpt, .. } if excerpt == "<html>oops</html>"), "{e}");
    }

    #[tokio::test]
    async fn timeouts_and_a_dead_server_give_up_after_the_retries() {
        let (base, count) = scripted(vec![None]).await;
        let e = client(base, 2).chat(&request()).await.unwrap_err();
        assert!(matches!(&e, ClientError::GaveUp { attempts: 3, last } if matches!(**last, ClientError::Timeout { .. })), "{e}");
        assert_eq!(count.load(Ordering::SeqCst), 3);

        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = client(format!("http://127.0.0.1:{port}/v1"), 1).chat(&request()).await.unwrap_err();
        assert!(matches!(&e, ClientError::GaveUp { attempts: 2, last } if matches!(**last, ClientError::Transport { .. })), "{e}");
    }

    #[test]
    fn the_key_comes_from_the_named_variable_and_is_never_printed() {
        let mut c = ClientConfig::new("http://127.0.0.1:9/v1");
        c.api_key_env = Some("COTLAB_TEST_KEY_UNSET".into());
        assert!(matches!(OpenAiClient::new(c.clone()), Err(ClientError::MissingKey(_))));
        // SAFETY: single-threaded test; no other test reads this variable.
        unsafe { std::env::set_var("COTLAB_TEST_KEY_SET", "sk-secret") };
        c.api_key_env = Some("COTLAB_TEST_KEY_SET".into());
        let client = OpenAiClient::new(c).unwrap();
        assert!(!format!("{client:?}").contains("sk-secret"));
    }
}
