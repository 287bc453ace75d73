//! The JSON bodies of termaudit's HTTP API (`/api/v1`).
//!
//! The server renders these and the web app reads them, so the two cannot
//! drift apart; with the `openapi` feature each type also describes itself
//! for the OpenAPI document, and its doc comments become the descriptions
//! there.

mod export;
mod sessions;

use serde::{Deserialize, Serialize};

pub use export::*;
pub use sessions::*;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// An error, as RFC 9457 `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "type": "urn:termaudit:problem:forbidden",
    "title": "Forbidden",
    "status": 403,
    "detail": "this operation needs the permission terminal.view_history in project demo",
    "request_id": "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10"
})))]
pub struct Problem {
    /// A URI that names the kind of problem; stable, so clients may branch on it.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for a person to read.
    pub detail: String,
    /// The request's id, also sent as the `x-request-id` header and written to the server's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For invalid input: each rejected field with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One rejected field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProblemField {
    /// The field's name as the request spells it.
    pub field: String,
    /// Why it was rejected.
    pub message: String,
}

/// A project the caller may see, with what the caller may do in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Project {
    /// The project's URL name, used in every `/api/v1/projects/{project}/...` path.
    #[cfg_attr(feature = "openapi", schema(example = "demo"))]
    pub slug: String,
    /// The project's display name.
    #[cfg_attr(feature = "openapi", schema(example = "Demo project"))]
    pub name: String,
    /// The caller's permissions in this project.
    #[cfg_attr(feature = "openapi", schema(example = json!(["terminal.view_history", "terminal.view_recording"])))]
    pub permissions: Vec<String>,
}

/// The projects the caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProjectList {
    pub items: Vec<Project>,
}

/// Who the caller is, according to their token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Me {
    /// The token's subject.
    pub subject: String,
    /// The display name from the token (the subject when the token has none).
    pub name: String,
    /// The caller's projects with their permissions, as the token grants them.
    pub projects: Vec<Project>,
}
