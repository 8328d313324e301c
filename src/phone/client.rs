//! The phone's HTTP side: one call per route it uses (devices, push, results, pull, photos), each with timeouts,
//! answering typed values or a [`TransportError`] that says whether trying again can help.
//!
//! Plain blocking HTTP/1.1 (ureq): the phone has one thing to do at a time, and a sync is a sequence of requests.

use crate::service::sync::push::OpResult;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use std::time::Duration;
use ureq::http;

/// The most bytes of an answer read (a first pull carries the reference data).
const MAX_ANSWER: u64 = 64 << 20;

/// Why a request did not give an answer to use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No answer: the connection failed, was cut or timed out. Trying again is safe.
    #[error("network: {0}")]
    Network(String),
    /// The server answered with an error.
    #[error("server answered {status} {code}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The error's stable code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The answer could not be read as expected.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl TransportError {
    /// Whether the same request may succeed later: no answer, or the server's own failure (5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            TransportError::Network(_) => true,
            TransportError::Status { status, .. } => *status >= 500,
            TransportError::Decode(_) => false,
        }
    }

    /// The error's code, when the server answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TransportError::Status { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// How often and how patiently requests are tried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Tries of one request before giving up (at least 1).
    pub attempts: u32,
    /// Pause after the first failure; it grows linearly with each further one.
    pub backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 6,
            backoff: Duration::from_millis(500),
        }
    }
}

/// The way to a server: its base URL, an HTTP agent with timeouts, and the retry policy.
#[derive(Debug, Clone)]
pub struct Transport {
    agent: ureq::Agent,
    base: String,
    /// The retry policy.
    pub retry: Retry,
}

/// An answer: status, the headers the phone reads, the body.
struct Answer {
    status: u16,
    upload_offset: Option<u64>,
    body: Vec<u8>,
}

#[derive(Deserialize)]
struct PushAnswer {
    results: Vec<OpResult>,
}

/// A page of `GET /api/v1/sync/ops`.
#[derive(Debug, Clone, Deserialize)]
pub struct OpsPage {
    /// In the order decided.
    pub items: Vec<OpResult>,
    /// Read on from here.
    pub next_since: i64,
}

/// What the phone keeps of a pull page: the cursor and how much came.
#[derive(Debug, Clone, Deserialize)]
pub struct PullPage {
    /// Where to pull on from.
    pub next_cursor: String,
    /// Pull again at once.
    pub has_more: bool,
    /// Cases in the page.
    pub cases: Vec<IgnoredAny>,
    /// Reports in the page.
    pub reports: Vec<IgnoredAny>,
}

/// Where a photo upload stands (`POST /api/v1/photo-uploads`, `PATCH`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UploadAnswer {
    /// The upload (absent when the photo is stored).
    pub id: Option<String>,
    /// Bytes the server has.
    pub offset: u64,
    /// The photo is stored.
    pub complete: bool,
}

/// What came of sending a piece.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// Taken: the upload now stands here (complete when it was the last).
    Taken(UploadAnswer),
    /// The server stands elsewhere: resume from this offset.
    Elsewhere(u64),
    /// The upload is gone (finished by a piece whose answer was lost, or expired): start again, which finds the
    /// photo stored if it is.
    Gone,
}

#[derive(Deserialize)]
struct Registered {
    device: RegisteredDevice,
    token: String,
}

#[derive(Deserialize)]
struct RegisteredDevice {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
}

impl Transport {
    /// A transport to the server at `base` (e.g. `http://127.0.0.1:8080`), with `timeout` on each whole request
    /// and the default retry policy.
    pub fn new(base: &str, timeout: Duration) -> Transport {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .http_status_as_error(false)
            .build();
        Transport {
            agent: ureq::Agent::new_with_config(config),
            base: base.trim_end_matches('/').to_owned(),
            retry: Retry::default(),
        }
    }

    /// The same, with another retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Transport {
        self.retry = retry;
        self
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Runs `f` until it succeeds, fails for good, or the tries are used up.
    pub fn retrying<T>(
        &self,
        what: &str,
        mut f: impl FnMut() -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let mut attempt = 1;
        loop {
            match f() {
                Err(e) if e.is_transient() && attempt < self.retry.attempts.max(1) => {
                    tracing::debug!(what, attempt, error = %e, "retrying");
                    std::thread::sleep(self.retry.backoff * attempt);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn request(
        &self,
        method: http::Method,
        path: &str,
        token: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, TransportError> {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {token}"));
        for (name, value) in headers {
            b = b.header(*name, value.as_str());
        }
        let sent = match body {
            Some((content_type, bytes)) => {
                let req = b
                    .header("Content-Type", content_type)
                    .body(bytes)
                    .map_err(|e| TransportError::Decode(e.to_string()))?;
                self.agent.run(req)
            }
            None => {
                let req = b
                    .body(())
                    .map_err(|e| TransportError::Decode(e.to_string()))?;
                self.agent.run(req)
            }
        };
        let mut res = sent.map_err(|e| TransportError::Network(e.to_string()))?;
        let status = res.status().as_u16();
        let upload_offset = res
            .headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = res
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        Ok(Answer {
            status,
            upload_offset,
            body,
        })
    }

    fn json<T: serde::de::DeserializeOwned>(answer: Answer) -> Result<T, TransportError> {
        if !(200..300).contains(&answer.status) {
            return Err(Self::error(answer));
        }
        serde_json::from_slice(&answer.body).map_err(|e| TransportError::Decode(e.to_string()))
    }

    fn error(answer: Answer) -> TransportError {
        let body: Option<ErrorBody> = serde_json::from_slice(&answer.body).ok();
        TransportError::Status {
            status: answer.status,
            code: body
                .as_ref()
                .and_then(|b| b.code.clone())
                .unwrap_or_else(|| "http_error".into()),
            message: body.and_then(|b| b.message).unwrap_or_else(|| {
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(200)
                    .collect()
            }),
        }
    }

    fn post_json(&self, path: &str, token: &str, body: &Value) -> Result<Answer, TransportError> {
        self.request(
            http::Method::POST,
            path,
            token,
            &[],
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    /// `POST /api/v1/devices` with the member's sign-in token: the device's id and token.
    pub fn register(
        &self,
        user_token: &str,
        name: &str,
    ) -> Result<(String, String), TransportError> {
        let r: Registered = Self::json(self.post_json(
            "/api/v1/devices",
            user_token,
            &serde_json::json!({ "name": name }),
        )?)?;
        Ok((r.device.id, r.token))
    }

    /// `POST /api/v1/sync/push`: one result per operation, in the order sent.
    pub fn push(
        &self,
        device_token: &str,
        ops: Vec<Value>,
    ) -> Result<Vec<OpResult>, TransportError> {
        let a: PushAnswer = Self::json(self.post_json(
            "/api/v1/sync/push",
            device_token,
            &serde_json::json!({ "ops": ops }),
        )?)?;
        Ok(a.results)
    }

    /// `GET /api/v1/sync/ops?since=`: the device's results decided after `since`.
    pub fn results(&self, device_token: &str, since: i64) -> Result<OpsPage, TransportError> {
        Self::json(self.request(
            http::Method::GET,
            &format!("/api/v1/sync/ops?since={since}"),
            device_token,
            &[],
            None,
        )?)
    }

    /// `GET /api/v1/sync/pull?cursor=&limit=`.
    pub fn pull(
        &self,
        token: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<PullPage, TransportError> {
        let limit = limit.to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(c) = cursor {
            query.push(("cursor", c));
        }
        let query = serde_urlencoded::to_string(&query)
            .map_err(|e| TransportError::Decode(e.to_string()))?;
        let path = format!("/api/v1/sync/pull?{query}");
        Self::json(self.request(http::Method::GET, &path, token, &[], None)?)
    }

    /// `HEAD /api/v1/photos/{sha256}`: whether the server has the photo.
    pub fn photo_stored(&self, token: &str, sha: &str) -> Result<bool, TransportError> {
        let a = self.request(
            http::Method::HEAD,
            &format!("/api/v1/photos/{sha}"),
            token,
            &[],
            None,
        )?;
        match a.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(Self::error(a)),
        }
    }

    /// `POST /api/v1/photo-uploads`: a new upload, the unfinished one of the same photo, or `complete`.
    pub fn start_upload(
        &self,
        token: &str,
        sha: &str,
        size: u64,
        mime: &str,
    ) -> Result<UploadAnswer, TransportError> {
        Self::json(self.post_json(
            "/api/v1/photo-uploads",
            token,
            &serde_json::json!({"sha256": sha, "size": size, "mime": mime}),
        )?)
    }

    /// `HEAD /api/v1/photo-uploads/{id}`: the offset to resume from; `None` when the upload is gone.
    pub fn upload_offset(&self, token: &str, id: &str) -> Result<Option<u64>, TransportError> {
        let a = self.request(
            http::Method::HEAD,
            &format!("/api/v1/photo-uploads/{id}"),
            token,
            &[],
            None,
        )?;
        match (a.status, a.upload_offset) {
            (200, Some(offset)) => Ok(Some(offset)),
            (404, _) => Ok(None),
            (200, None) => Err(TransportError::Decode("no Upload-Offset".into())),
            _ => Err(Self::error(a)),
        }
    }

    /// `PATCH /api/v1/photo-uploads/{id}`: a piece at `offset`.
    pub fn append(
        &self,
        token: &str,
        id: &str,
        offset: u64,
        piece: &[u8],
    ) -> Result<Appended, TransportError> {
        let a = self.request(
            http::Method::PATCH,
            &format!("/api/v1/photo-uploads/{id}"),
            token,
            &[
                ("Upload-Offset", offset.to_string()),
                ("Tus-Resumable", "1.0.0".into()),
            ],
            Some(("application/offset+octet-stream", piece.to_vec())),
        )?;
        match a.status {
            200 | 201 | 204 => Ok(Appended::Taken(Self::json(a)?)),
            404 => Ok(Appended::Gone),
            409 => match a.upload_offset {
                Some(current) => Ok(Appended::Elsewhere(current)),
                // upload_busy: another request of ours still writes; ask again.
                None => Err(TransportError::Network(Self::error(a).to_string())),
            },
            _ => Err(Self::error(a)),
        }
    }
}
