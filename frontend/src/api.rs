//! The one way the app talks to the server.
//!
//! [`request`] attaches the caller's token and turns every failure into an
//! [`ApiError`] a page can show: RFC 9457 problem bodies become
//! [`Problem`]s, 401 signs the caller out, 403 names the missing permission.

use std::cell::RefCell;

use gloo::net::http::{Method, RequestBuilder, Response};
use gloo::storage::{LocalStorage, Storage};
use serde::de::DeserializeOwned;
use termaudit_api_types::Problem;
use wasm_bindgen::JsCast as _;
use yew::Callback;

/// Every API path is below this prefix; the web app is served by the same origin.
pub const API_BASE: &str = "/api/v1";

/// Where the caller's token lives in the browser's local storage.
const TOKEN_KEY: &str = "termaudit.token";

/// The token this tab signed in with, if any: the provider's ID token
/// (kept per tab, see [`crate::oidc`]), else a pasted or demo token.
pub fn stored_token() -> Option<String> {
    crate::oidc::signed_in()
        .map(|held| held.id_token)
        .or_else(|| LocalStorage::get::<String>(TOKEN_KEY).ok())
        .filter(|token| !token.is_empty())
}

/// Keeps `token` for later requests and page loads.
pub fn store_token(token: &str) -> Result<(), ApiError> {
    LocalStorage::set(TOKEN_KEY, token).map_err(|err| {
        ApiError::Client(format!(
            "this browser would not store the token ({err}); is local storage disabled?"
        ))
    })
}

/// Forgets the stored tokens: the browser is signed out.
pub fn forget_token() {
    LocalStorage::delete(TOKEN_KEY);
    gloo::storage::SessionStorage::delete(crate::oidc::SIGNED_IN_KEY);
}

thread_local! {
    /// Told when the server rejects the stored token, so the app can show the
    /// sign-in page whichever page made the request.
    static ON_SIGNED_OUT: RefCell<Option<Callback<String>>> = const { RefCell::new(None) };
}

/// Registers the app's reaction to the server rejecting the stored token; it
/// receives the reason, for the sign-in page to show.
pub fn set_signed_out_listener(listener: Callback<String>) {
    ON_SIGNED_OUT.with(|slot| *slot.borrow_mut() = Some(listener));
}

/// Which token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// The one in local storage; a 401 then signs the browser out.
    Stored,
    /// One being tried before it is stored (signing in); a 401 only reports.
    Candidate(&'a str),
    /// None: for what the server offers before sign-in (the demo users).
    Anonymous,
}

/// Why a request did not give the caller what they asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 401: no token, or one the server does not accept (any more).
    SignedOut { detail: String },
    /// 403: the token is valid but lacks a permission.
    Forbidden {
        /// The permission the server named, if its detail names one.
        permission: Option<String>,
        problem: Option<Box<Problem>>,
    },
    /// Any other error the server described as `application/problem+json`.
    Problem(Box<Problem>),
    /// An error status without a problem body (a proxy in between, say).
    Status { status: u16, text: String },
    /// The server could not be reached.
    Network(String),
    /// The server answered, but not with what the app expected, or the
    /// browser refused to do something.
    Client(String),
}

impl ApiError {
    /// A short heading for the error.
    pub fn title(&self) -> String {
        match self {
            Self::SignedOut { .. } => "The token was not accepted".to_owned(),
            Self::Forbidden { permission: Some(permission), .. } => {
                format!("You lack the permission {permission}")
            }
            Self::Forbidden { permission: None, .. } => {
                "You lack a permission this page needs".to_owned()
            }
            Self::Problem(problem) => problem.title.clone(),
            Self::Status { status, text } => format!("The server answered {status} {text}"),
            Self::Network(_) => "The server could not be reached".to_owned(),
            Self::Client(_) => "Something went wrong in the web app".to_owned(),
        }
    }

    /// What went wrong, for a person to read.
    pub fn detail(&self) -> String {
        match self {
            Self::SignedOut { detail } => detail.clone(),
            Self::Forbidden { problem: Some(problem), .. } => problem.detail.clone(),
            Self::Forbidden { problem: None, .. } => {
                "Ask an administrator for a token that grants it.".to_owned()
            }
            Self::Problem(problem) => problem.detail.clone(),
            Self::Status { .. } => {
                "The response was not from termaudit's API; a proxy in between may have failed."
                    .to_owned()
            }
            Self::Network(message) => {
                format!("Check your connection and try again. ({message})")
            }
            Self::Client(message) => message.clone(),
        }
    }

    /// The server's id for the failed request, to quote to an administrator.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Problem(problem) | Self::Forbidden { problem: Some(problem), .. } => {
                problem.request_id.as_deref()
            }
            _ => None,
        }
    }
}

/// Sends `method path` (relative to [`API_BASE`]) with `token`, and reads a
/// JSON `T` from a successful answer.
///
/// This and [`download`] are the only functions that talk HTTP, both through
/// [`send`]: it attaches `Authorization: Bearer …` and maps every failure to
/// an [`ApiError`]. A 401 for the stored token also forgets that token and
/// tells the app (see [`set_signed_out_listener`]).
pub async fn request<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    token: Token<'_>,
) -> Result<T, ApiError> {
    let response = send(method, path, body, token, "application/json", &[]).await?;
    let text = response.text().await.map_err(|err| ApiError::Network(err.to_string()))?;
    // An empty body (204) reads as JSON `null`, which is `()` or `None`.
    let json = if text.trim().is_empty() { "null" } else { &text };
    serde_json::from_str(json).map_err(|err| {
        ApiError::Client(format!(
            "the server's answer to {path} was not what this app expects ({err}); \
             is the web app older than the server? Reload the page."
        ))
    })
}

/// Sends the request and returns a successful response unread; every
/// failure becomes an [`ApiError`].
async fn send(
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    token: Token<'_>,
    accept: &str,
    headers: &[(&str, &str)],
) -> Result<Response, ApiError> {
    let bearer = match token {
        Token::Stored => stored_token(),
        Token::Candidate(token) => Some(token.to_owned()),
        Token::Anonymous => None,
    };
    let mut builder = RequestBuilder::new(&format!("{API_BASE}{path}"))
        .method(method)
        .header("Accept", &format!("{accept}, application/problem+json"));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    if let Some(bearer) = &bearer {
        builder = builder.header("Authorization", &format!("Bearer {bearer}"));
    }
    let request = match body {
        Some(body) => builder.json(body),
        None => builder.build(),
    }
    .map_err(|err| ApiError::Client(format!("could not build the request: {err}")))?;

    let response = request.send().await.map_err(|err| ApiError::Network(err.to_string()))?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let text = response.text().await.map_err(|err| ApiError::Network(err.to_string()))?;
    let content_type = response.headers().get("content-type").unwrap_or_default();
    let error = error_from_response(status, &response.status_text(), &content_type, &text);
    if matches!(error, ApiError::SignedOut { .. }) && token == Token::Stored {
        forget_token();
        let listener = ON_SIGNED_OUT.with(|slot| slot.borrow().clone());
        if let Some(listener) = listener {
            listener.emit(error.detail());
        }
    }
    Err(error)
}

/// A file the server sent, held by the browser.
pub struct Download {
    /// The name from `Content-Disposition`, or `fallback`.
    pub file_name: String,
    pub blob: web_sys::Blob,
}

/// `GET path` with the stored token, for a file: the body as a blob and the
/// file name the server gave it.
pub async fn download(path: &str, accept: &str, fallback: &str) -> Result<Download, ApiError> {
    let response = send(Method::GET, path, None, Token::Stored, accept, &[]).await?;
    let file_name = response
        .headers()
        .get("content-disposition")
        .and_then(|value| disposition_file_name(&value))
        .unwrap_or_else(|| fallback.to_owned());
    let promise = web_sys::Response::from(response)
        .blob()
        .map_err(|_| ApiError::Client("the browser would not read the download".to_owned()))?;
    let blob = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| ApiError::Network("the download was interrupted".to_owned()))?
        .dyn_into::<web_sys::Blob>()
        .map_err(|_| ApiError::Client("the download is not a file".to_owned()))?;
    Ok(Download { file_name, blob })
}

/// `GET path` with the stored token, for a file of unknown size: the body is
/// read as it streams in, `on_progress` hearing the bytes received so far.
pub async fn download_with_progress(
    path: &str,
    accept: &str,
    fallback: &str,
    on_progress: impl Fn(u64),
) -> Result<Download, ApiError> {
    let response = send(Method::GET, path, None, Token::Stored, accept, &[]).await?;
    let file_name = response
        .headers()
        .get("content-disposition")
        .and_then(|value| disposition_file_name(&value))
        .unwrap_or_else(|| fallback.to_owned());
    let content_type = response.headers().get("content-type").unwrap_or_default();
    let parts = js_sys::Array::new();
    if let Some(body) = web_sys::Response::from(response).body() {
        let reader = body.get_reader().unchecked_into::<web_sys::ReadableStreamDefaultReader>();
        let mut received = 0_u64;
        while let Some(bytes) = read_piece(&reader).await? {
            received += bytes.len() as u64;
            parts.push(&js_sys::Uint8Array::from(bytes.as_slice()));
            on_progress(received);
        }
    }
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(&content_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| ApiError::Client("the browser would not hold the download".to_owned()))?;
    Ok(Download { file_name, blob })
}

/// `GET path` with the stored token for a stream of server-sent events
/// (`text/event-stream`), resuming after `last_event_id` when given: the
/// body's reader, to read as it arrives. The token goes in the
/// `Authorization` header, as for every request; never in the URL.
pub async fn event_stream(
    path: &str,
    last_event_id: Option<&str>,
) -> Result<web_sys::ReadableStreamDefaultReader, ApiError> {
    let resume: Vec<(&str, &str)> =
        last_event_id.map(|id| ("Last-Event-ID", id)).into_iter().collect();
    let response =
        send(Method::GET, path, None, Token::Stored, "text/event-stream", &resume).await?;
    let body = web_sys::Response::from(response)
        .body()
        .ok_or_else(|| ApiError::Client("the live stream has no body".to_owned()))?;
    Ok(body.get_reader().unchecked_into::<web_sys::ReadableStreamDefaultReader>())
}

/// The next piece of a stream `reader` reads; `None` once it has ended.
pub async fn read_piece(
    reader: &web_sys::ReadableStreamDefaultReader,
) -> Result<Option<Vec<u8>>, ApiError> {
    let interrupted = || ApiError::Network("the connection was interrupted".to_owned());
    let chunk =
        wasm_bindgen_futures::JsFuture::from(reader.read()).await.map_err(|_| interrupted())?;
    let done = js_sys::Reflect::get(&chunk, &"done".into())
        .ok()
        .and_then(|done| done.as_bool())
        .unwrap_or(true);
    if done {
        return Ok(None);
    }
    let bytes = js_sys::Reflect::get(&chunk, &"value".into())
        .ok()
        .and_then(|value| value.dyn_into::<js_sys::Uint8Array>().ok())
        .ok_or_else(interrupted)?;
    Ok(Some(bytes.to_vec()))
}

/// The file name in a `Content-Disposition` value: `filename*=UTF-8''…`
/// (percent-decoded) over `filename="…"`; path separators are dropped.
pub fn disposition_file_name(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for part in value.split(';').map(str::trim) {
        let Some((key, raw)) = part.split_once('=') else { continue };
        match key.trim().to_ascii_lowercase().as_str() {
            "filename" => plain = Some(raw.trim().trim_matches('"').replace("\\\"", "\"")),
            "filename*" => {
                extended = raw
                    .trim()
                    .split_once("''")
                    .and_then(|(charset, encoded)| {
                        charset.eq_ignore_ascii_case("utf-8").then(|| percent_decode(encoded))
                    })
                    .flatten();
            }
            _ => {}
        }
    }
    extended
        .or(plain)
        .map(|name| name.replace(['/', '\\'], "_"))
        .filter(|name| !name.trim().is_empty())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `GET path` with the stored token.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    request(Method::GET, path, None, Token::Stored).await
}

/// `POST path` with a JSON `body` and the stored token.
pub async fn post<T: DeserializeOwned>(
    path: &str,
    body: &serde_json::Value,
) -> Result<T, ApiError> {
    request(Method::POST, path, Some(body), Token::Stored).await
}

/// `PUT path` with a JSON `body` and the stored token.
pub async fn put<T: DeserializeOwned>(path: &str, body: &serde_json::Value) -> Result<T, ApiError> {
    request(Method::PUT, path, Some(body), Token::Stored).await
}

/// `DELETE path` with a JSON `body` (a reason, say) and the stored token.
pub async fn delete<T: DeserializeOwned>(
    path: &str,
    body: &serde_json::Value,
) -> Result<T, ApiError> {
    request(Method::DELETE, path, Some(body), Token::Stored).await
}

/// Percent-encodes `value` for a URL path segment or query value: everything
/// but RFC 3986's unreserved characters.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl ApiError {
    /// The HTTP status the server answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::SignedOut { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::Problem(problem) => Some(problem.status),
            Self::Status { status, .. } => Some(*status),
            Self::Network(_) | Self::Client(_) => None,
        }
    }

    /// For invalid input: the message for each rejected field, by field name.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        match self {
            Self::Problem(problem) => problem
                .errors
                .iter()
                .map(|field| (field.field.clone(), field.message.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether this is a problem of the kind `urn:termaudit:problem:{kind}`.
    pub fn is_problem(&self, kind: &str) -> bool {
        match self {
            Self::Problem(problem) | Self::Forbidden { problem: Some(problem), .. } => problem
                .problem_type
                .strip_prefix("urn:termaudit:problem:")
                .is_some_and(|rest| rest == kind),
            _ => false,
        }
    }
}

/// Maps an error response to an [`ApiError`]; pure, so it is tested natively.
fn error_from_response(status: u16, status_text: &str, content_type: &str, body: &str) -> ApiError {
    let problem = content_type
        .contains("json")
        .then(|| serde_json::from_str::<Problem>(body).ok())
        .flatten()
        .map(Box::new);
    match status {
        401 => ApiError::SignedOut {
            detail: problem.map_or_else(
                || "Your token was not accepted. Sign in again.".to_owned(),
                |problem| problem.detail,
            ),
        },
        403 => ApiError::Forbidden {
            permission: problem.as_ref().and_then(|problem| missing_permission(&problem.detail)),
            problem,
        },
        _ => match problem {
            Some(problem) => ApiError::Problem(problem),
            None => ApiError::Status { status, text: status_text.to_owned() },
        },
    }
}

/// The permission a 403's detail names: the dotted word after "permission", as
/// in "this operation needs the permission terminal.view_history in project demo".
fn missing_permission(detail: &str) -> Option<String> {
    detail.match_indices("permission ").find_map(|(at, word)| {
        let name: String = detail[at + word.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect();
        let name = name.trim_end_matches('.');
        name.contains('.').then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBLEM_JSON: &str = "application/problem+json";

    fn problem_body(status: u16, detail: &str) -> String {
        serde_json::json!({
            "type": "urn:termaudit:problem:x",
            "title": "Title",
            "status": status,
            "detail": detail,
            "request_id": "req-1",
        })
        .to_string()
    }

    #[test]
    fn forbidden_names_the_missing_permission() {
        let body = problem_body(
            403,
            "this operation needs the permission terminal.view_history in project demo",
        );
        let error = error_from_response(403, "Forbidden", PROBLEM_JSON, &body);
        assert_eq!(error.title(), "You lack the permission terminal.view_history");
        assert_eq!(
            error.detail(),
            "this operation needs the permission terminal.view_history in project demo"
        );
        assert_eq!(error.request_id(), Some("req-1"));
    }

    #[test]
    fn forbidden_without_a_named_permission_still_reads_well() {
        let error = error_from_response(403, "Forbidden", "text/html", "<h1>no</h1>");
        assert_eq!(error, ApiError::Forbidden { permission: None, problem: None });
        assert_eq!(error.title(), "You lack a permission this page needs");
    }

    #[test]
    fn unauthorized_is_signed_out_with_the_servers_detail() {
        let body = problem_body(401, "the token has expired");
        let error = error_from_response(401, "Unauthorized", PROBLEM_JSON, &body);
        assert_eq!(error, ApiError::SignedOut { detail: "the token has expired".to_owned() });
    }

    #[test]
    fn other_problems_keep_their_body_and_non_problems_their_status() {
        let body = problem_body(404, "no project named nope");
        match error_from_response(404, "Not Found", PROBLEM_JSON, &body) {
            ApiError::Problem(problem) => assert_eq!(problem.detail, "no project named nope"),
            other => panic!("expected a problem, got {other:?}"),
        }
        assert_eq!(
            error_from_response(502, "Bad Gateway", "text/html", "<html>"),
            ApiError::Status { status: 502, text: "Bad Gateway".to_owned() }
        );
    }

    #[test]
    fn encode_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("abc-1.2_3~"), "abc-1.2_3~");
        assert_eq!(encode("INC 42&x=ü/"), "INC%2042%26x%3D%C3%BC%2F");
        assert_eq!(encode("2026-01-02T03:04:05+00:00"), "2026-01-02T03%3A04%3A05%2B00%3A00");
    }

    #[test]
    fn problem_kind_is_matched_on_the_type() {
        let body = serde_json::json!({
            "type": "urn:termaudit:problem:reconnect-window-closed",
            "title": "Reconnect window closed",
            "status": 409,
            "detail": "the reconnect window closed",
        })
        .to_string();
        let error = error_from_response(409, "Conflict", PROBLEM_JSON, &body);
        assert!(error.is_problem("reconnect-window-closed"));
        assert!(!error.is_problem("conflict"));
    }

    #[test]
    fn file_names_come_from_content_disposition() {
        assert_eq!(
            disposition_file_name(
                "attachment; filename=\"demo_api_20260102T030405Z_0194c1d2.cast\""
            ),
            Some("demo_api_20260102T030405Z_0194c1d2.cast".to_owned())
        );
        assert_eq!(
            disposition_file_name(
                "attachment; filename=\"a.cast\"; filename*=UTF-8''%C3%BC%20b.cast"
            ),
            Some("ü b.cast".to_owned())
        );
        assert_eq!(
            disposition_file_name("attachment; filename=\"../etc/passwd\""),
            Some(".._etc_passwd".to_owned())
        );
        assert_eq!(disposition_file_name("attachment"), None);
        assert_eq!(disposition_file_name("attachment; filename=\"\""), None);
    }

    #[test]
    fn invalid_input_names_its_fields() {
        let body = serde_json::json!({
            "type": "urn:termaudit:problem:invalid-input",
            "title": "Invalid input",
            "status": 400,
            "detail": "retention_days_production: must be 1 to 3650 days",
            "errors": [{ "field": "retention_days_production", "message": "must be 1 to 3650 days" }],
        })
        .to_string();
        let error = error_from_response(400, "Bad Request", PROBLEM_JSON, &body);
        assert_eq!(error.status(), Some(400));
        assert_eq!(
            error.field_errors(),
            [("retention_days_production".to_owned(), "must be 1 to 3650 days".to_owned())]
        );
    }

    #[test]
    fn missing_permission_stops_at_the_name() {
        assert_eq!(
            missing_permission("needs the permission recording.export."),
            Some("recording.export".to_owned())
        );
        assert_eq!(missing_permission("permission denied"), None);
        assert_eq!(
            missing_permission("permission denied: needs the permission a.b"),
            Some("a.b".to_owned())
        );
        assert_eq!(missing_permission("no such word"), None);
    }
}
