//! The gateway's client of termaudit's ingest API, as any third-party
//! gateway would use it: a `terminal.ingest` service token, JSON over HTTP,
//! and retries that rely on the API's idempotency (event ids, identical
//! chunk repeats, repeated drops and closes answered like the first).

use std::{sync::Arc, time::Duration};

use serde::{Serialize, de::DeserializeOwned};
use termaudit_api_types as dto;
use uuid::Uuid;

/// Where the service token comes from: a fixed token (a standalone
/// gateway), or one minted per request (inside `termaudit serve`).
#[derive(Clone)]
pub enum ServiceToken {
    Fixed(String),
    Minted(Arc<dyn Fn() -> String + Send + Sync>),
}

impl ServiceToken {
    fn get(&self) -> String {
        match self {
            Self::Fixed(token) => token.clone(),
            Self::Minted(mint) => mint(),
        }
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The API could not be reached, or failed (5xx, 429): worth retrying.
    #[error("the API is unavailable: {0}")]
    Unavailable(String),
    /// The API refused the call (4xx): retrying changes nothing.
    #[error("the API answered {status}: {detail}")]
    Refused {
        status: u16,
        detail: String,
        /// How the session ended, when the call was refused for that.
        ended: Option<Box<dto::SessionEnding>>,
    },
}

impl CallError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            Self::Unavailable(_) => None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Exponential backoff from 100 ms to 5 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Duration::from_millis(100) }
    }
}

impl Backoff {
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(Duration::from_secs(5));
    }
}

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: ServiceToken,
}

impl ApiClient {
    /// A client of the API at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, token: ServiceToken) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self { http, base: base_url.trim_end_matches('/').to_owned(), token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// The client for long-lived streams (no overall timeout).
    pub(crate) fn stream_request(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(self.url(path)).bearer_auth(self.token.get())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, CallError> {
        self.send_for(request)
            .await?
            .json()
            .await
            .map_err(|err| CallError::Unavailable(format!("an unreadable answer: {err}")))
    }

    /// Sends `request`: the response when it succeeded, or why not.
    async fn send_for(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, CallError> {
        let response = request
            .send()
            .await
            .map_err(|err| CallError::Unavailable(err.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let problem = response.json::<dto::Problem>().await.ok();
        let detail = problem.as_ref().map_or_else(|| status.to_string(), |p| p.detail.clone());
        if status.is_server_error() || status.as_u16() == 429 {
            Err(CallError::Unavailable(format!("{status}: {detail}")))
        } else {
            let ended = problem.and_then(|p| p.ended).map(Box::new);
            Err(CallError::Refused { status: status.as_u16(), detail, ended })
        }
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, CallError> {
        self.send(self.http.post(self.url(path)).bearer_auth(self.token.get()).json(body)).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        self.send(self.http.get(self.url(path)).bearer_auth(self.token.get())).await
    }

    /// Who holds `user_token` (a standalone gateway checks its users so).
    pub async fn me(&self, user_token: &str) -> Result<dto::Me, CallError> {
        self.send(self.http.get(self.url("/me")).bearer_auth(user_token)).await
    }

    pub async fn targets(&self, project: &str) -> Result<dto::TargetList, CallError> {
        self.get(&format!("/projects/{project}/targets")).await
    }

    pub async fn create_target(
        &self,
        project: &str,
        target: &dto::NewTarget,
    ) -> Result<dto::Target, CallError> {
        self.post(&format!("/projects/{project}/targets"), target).await
    }

    pub async fn open_session(
        &self,
        project: &str,
        open: &dto::OpenSession,
    ) -> Result<dto::Session, CallError> {
        self.post(&format!("/projects/{project}/sessions"), open).await
    }

    fn session_path(project: &str, id: Uuid, action: &str) -> String {
        format!("/projects/{project}/sessions/{id}/{action}")
    }

    /// The last chunk of an ended session is sent: finalize its recording.
    pub async fn finalize_recording(&self, project: &str, id: Uuid) -> Result<(), CallError> {
        let url = self.url(&format!("/projects/{project}/sessions/{id}/recording/finalize"));
        self.send_for(self.http.post(url).bearer_auth(self.token.get())).await.map(drop)
    }

    pub async fn heartbeat(&self, project: &str, id: Uuid) -> Result<dto::Session, CallError> {
        self.post(&Self::session_path(project, id, "heartbeat"), &serde_json::json!({})).await
    }

    pub async fn drop_session(&self, project: &str, id: Uuid) -> Result<dto::Session, CallError> {
        self.post(&Self::session_path(project, id, "drop"), &serde_json::json!({})).await
    }

    pub async fn close_session(
        &self,
        project: &str,
        id: Uuid,
        reason: &str,
    ) -> Result<dto::Session, CallError> {
        let body = dto::CloseSession { reason: reason.to_owned() };
        self.post(&Self::session_path(project, id, "close"), &body).await
    }

    pub async fn redeem(
        &self,
        project: &str,
        id: Uuid,
        token: &str,
    ) -> Result<dto::Session, CallError> {
        let body = dto::RedeemReconnect { token: token.to_owned() };
        self.post(&Self::session_path(project, id, "reconnect/redeem"), &body).await
    }

    pub async fn activity(
        &self,
        project: &str,
        id: Uuid,
        items: Vec<dto::Activity>,
    ) -> Result<dto::AppendResult, CallError> {
        let body = dto::ActivityBatch { items };
        self.post(&Self::session_path(project, id, "activity"), &body).await
    }

    pub async fn database_events(
        &self,
        project: &str,
        id: Uuid,
        items: Vec<dto::DatabaseEvent>,
    ) -> Result<dto::AppendResult, CallError> {
        let body = dto::DatabaseEventBatch { items };
        self.post(&Self::session_path(project, id, "database-events"), &body).await
    }

    pub async fn put_chunk(
        &self,
        project: &str,
        id: Uuid,
        seq: u32,
        body: String,
    ) -> Result<dto::ChunkReceipt, CallError> {
        let url = self.url(&Self::session_path(project, id, &format!("recording/chunks/{seq}")));
        self.send(
            self.http
                .put(url)
                .bearer_auth(self.token.get())
                .header(reqwest::header::CONTENT_TYPE, "application/x-asciicast")
                .body(body),
        )
        .await
    }
}
