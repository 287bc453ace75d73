//! One error type for every handler, rendered as RFC 9457
//! `application/problem+json`.

use std::fmt;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use termaudit_api_types::{Problem, ProblemField, SessionEnding};
use termaudit_domain::{DomainError, FieldError, Permission};
use termaudit_storage::StorageError;

use crate::request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client is asked to wait before retrying a 503: about what a
/// PostgreSQL restart takes.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// The kinds of problem the API reports. Each has a stable `type` URI that
/// clients may branch on; the `detail` says what happened this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    InvalidInput,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// The session's status does not allow the change.
    InvalidSessionState,
    /// A reconnect after the grace window closed.
    ReconnectWindowClosed,
    Gone,
    PayloadTooLarge,
    RangeNotSatisfiable,
    Unavailable,
    /// A recording's text is still being extracted (a recording emulated
    /// before text was, after an upgrade): reading it now would find less
    /// than there is.
    TextPending,
    Internal,
}

impl ProblemKind {
    pub const fn slug(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid-input",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::InvalidSessionState => "invalid-session-state",
            Self::ReconnectWindowClosed => "reconnect-window-closed",
            Self::Gone => "gone",
            Self::PayloadTooLarge => "payload-too-large",
            Self::RangeNotSatisfiable => "range-not-satisfiable",
            Self::Unavailable => "service-unavailable",
            Self::TextPending => "text-pending",
            Self::Internal => "internal-error",
        }
    }

    pub const fn status(self) -> StatusCode {
        match self {
            Self::InvalidInput => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict | Self::InvalidSessionState | Self::ReconnectWindowClosed => {
                StatusCode::CONFLICT
            }
            Self::Gone => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::Unavailable | Self::TextPending => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub const fn title(self) -> &'static str {
        match self {
            Self::InvalidInput => "Invalid input",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::InvalidSessionState => "The session's status does not allow this",
            Self::ReconnectWindowClosed => "The reconnect window has closed",
            Self::Gone => "Gone",
            Self::PayloadTooLarge => "Payload too large",
            Self::RangeNotSatisfiable => "Range not satisfiable",
            Self::Unavailable => "Service unavailable",
            Self::TextPending => "The recording's text is not extracted yet",
            Self::Internal => "Internal server error",
        }
    }

    pub fn type_uri(self) -> String {
        format!("urn:termaudit:problem:{}", self.slug())
    }

    /// The kind that fits a bare status code (for errors that actix-web
    /// produces before a handler runs).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Self::InvalidInput,
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::GONE => Self::Gone,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::RANGE_NOT_SATISFIABLE => Self::RangeNotSatisfiable,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            s if s.is_client_error() => Self::InvalidInput,
            _ => Self::Internal,
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    kind: ProblemKind,
    detail: String,
    errors: Vec<FieldError>,
    ended: Option<Box<SessionEnding>>,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), errors: Vec::new(), ended: None }
    }

    /// The problem names how the session it is about ended.
    pub fn with_ending(mut self, ended: SessionEnding) -> Self {
        self.ended = Some(Box::new(ended));
        self
    }

    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::InvalidInput, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unauthorized, detail)
    }

    pub fn forbidden(permission: Permission, project: &str) -> Self {
        Self::new(
            ProblemKind::Forbidden,
            format!("this operation needs the permission {permission} in project {project}"),
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Conflict, detail)
    }

    pub fn internal() -> Self {
        Self::new(
            ProblemKind::Internal,
            "the server failed to handle the request; the request id finds it in the log",
        )
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            problem_type: self.kind.type_uri(),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            request_id: request_id::current(),
            errors: self
                .errors
                .iter()
                .map(|e| ProblemField { field: e.field.clone(), message: e.message.clone() })
                .collect(),
            ended: self.ended.as_deref().cloned(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.slug(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self.kind {
            ProblemKind::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ProblemKind::Unavailable | ProblemKind::TextPending => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
            }
            _ => {}
        }
        response.json(self.to_problem())
    }
}

const NO_DELETE: &str = "recordings and session history cannot be deleted through the API: they \
    age out by the project's retention policy (set with terminal.manage_policy), and legal holds \
    keep them longer";

/// The 405 of a `DELETE` on a session or its recording: history ages out
/// by retention policy. `Allow` names what the path does take.
pub fn no_delete(req: &actix_web::HttpRequest) -> HttpResponse {
    let mut response = ApiError::new(ProblemKind::MethodNotAllowed, NO_DELETE).error_response();
    let allow = crate::methods::allow_header(req).unwrap_or_default();
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let errors = err.field_errors().to_vec();
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        Self { kind: ProblemKind::InvalidInput, detail, errors, ended: None }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                Self::new(
                    ProblemKind::Unavailable,
                    "the database is unavailable; try again shortly",
                )
            }
            StorageError::ObjectStoreUnavailable(cause) => {
                tracing::error!(%cause, "the recordings' object store is unavailable");
                Self::new(
                    ProblemKind::Unavailable,
                    "the recordings' object store is unavailable; try again shortly",
                )
            }
            StorageError::AlreadyExists { constraint } => {
                Self::conflict(format!("a record with the same key exists already ({constraint})"))
            }
            other => {
                // The detail a client sees never carries SQL; the log does.
                tracing::error!(error = %other, "storage error");
                Self::internal()
            }
        }
    }
}
