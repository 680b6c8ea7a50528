//! HTTP errors in OpenAI's shape (`{"error": {"message", "type", "code"}}`), so any OpenAI
//! client shows the message instead of a parse failure.

use hyper::header::{self, HeaderValue};
use hyper::StatusCode;

use super::{json_reply, Reply};
use crate::openai::ErrorBody;

/// A request the server refuses, with the status and the words the client sees.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
}

impl ApiError {
    /// 400: a field is missing, has the wrong type or an unusable value. `message` names it.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, kind: "invalid_request_error", code: None, message: message.into() }
    }

    /// 404: the request names a model this server does not serve.
    pub fn unknown_model(asked: &str, served: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: Some("model_not_found"),
            message: format!("model: this server serves {served:?}, not {asked:?} (see GET /v1/models)"),
        }
    }

    /// 413: the body is larger than `--max-body-bytes`.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "invalid_request_error",
            code: Some("request_too_large"),
            message: format!("the request body is larger than {limit} bytes (the server's --max-body-bytes)"),
        }
    }

    /// 429: every queue slot is taken; the client should retry later.
    pub fn queue_full(queue: usize) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            kind: "rate_limit_error",
            code: Some("queue_full"),
            message: format!(
                "the server is busy: {queue} request(s) already wait for the model (--queue {queue}); retry later"
            ),
        }
    }

    /// 503: the server is shutting down or its model worker stopped.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self { status: StatusCode::SERVICE_UNAVAILABLE, kind: "server_error", code: None, message: message.into() }
    }

    /// 500: generation failed inside the model.
    pub fn internal(message: impl Into<String>) -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, kind: "server_error", code: None, message: message.into() }
    }

    /// 404 for paths the server does not have.
    pub fn no_route(path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: Some("unknown_url"),
            message: format!("no such endpoint {path}; this server has POST /v1/chat/completions and GET /v1/models"),
        }
    }

    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.kind, self.message.clone());
        body.error.code = self.code.map(|c| serde_json::Value::String(c.into()));
        body
    }
}

impl ApiError {
    pub fn into_response(self) -> Reply {
        let mut response = json_reply(self.status, &self.body());
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            // One second: roughly a short reply's time; clients back off further on repeats.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
