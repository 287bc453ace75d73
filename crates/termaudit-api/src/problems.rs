//! Makes every error response problem+json, including the ones actix-web
//! produces itself (unknown routes, unparsable bodies, wrong methods), and
//! holds the rules every request meets before a handler sees it: HEAD is
//! served as GET, a method a known path does not take is a 405 with
//! `Allow`, and no query parameter of the API carries U+0000.
//!
//! The HTTP parser's own refusals (400 for a malformed request line or
//! header, such as a NUL in a header or a raw 0xff in the path; 431 for
//! more than 96 headers; 408 for a request head that never completes) are
//! written by actix-http before any of this runs, with an empty body: they
//! cannot be shaped here, and the OpenAPI document says so.

use actix_web::{
    Error, HttpMessage as _, HttpRequest, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::{JsonPayloadError, PathError, QueryPayloadError},
    http::{Method, StatusCode, header},
    middleware::Next,
    web,
};

use crate::{
    error::{ApiError, PROBLEM_JSON, ProblemKind},
    methods::{HeadRequest, MethodTable},
};

/// Applies the request rules above, then rewrites error responses that are
/// not problem+json yet.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if req.path().starts_with("/api/")
        && let Err(err) = check_query(req.query_string())
    {
        return Ok(req.error_response(err).map_into_right_body());
    }
    if req.method() == Method::HEAD {
        // actix-http knows the request was HEAD and sends no body; the
        // routes, which have GET guards, see a GET.
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(HeadRequest);
    }
    let mut response = next.call(req).await?;
    // A 405 written without `Allow` (the web app's files, which are only
    // read) names what the path takes, as the API's own do.
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::ALLOW)
    {
        let allow = crate::methods::allow_header(response.request())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "GET, HEAD".to_owned());
        if let Ok(value) = header::HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
    }
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return Ok(response.map_into_left_body());
    }
    let kind = ProblemKind::for_status(status);
    let detail = match kind {
        ProblemKind::NotFound => "there is nothing at this path".to_owned(),
        ProblemKind::MethodNotAllowed => "this path does not accept this method".to_owned(),
        ProblemKind::Internal => "the server failed to handle the request".to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let problem = ApiError::new(kind, detail).to_problem();
    let mut rebuilt = HttpResponse::build(status);
    rebuilt.content_type(PROBLEM_JSON);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rebuilt.append_header((name.clone(), value.clone()));
        }
    }
    let rebuilt = rebuilt.json(problem);
    Ok(response.into_response(rebuilt).map_into_right_body())
}

/// A query parameter with U+0000 in its name or value is refused, naming
/// it; nothing after this point has to think of it (PostgreSQL's text
/// cannot hold it). A query string that does not decode is left to the
/// handler's own parsing, which refuses it.
fn check_query(query: &str) -> Result<(), ApiError> {
    if !query.contains("%00") {
        return Ok(());
    }
    let Ok(web::Query(pairs)) = web::Query::<Vec<(String, String)>>::from_query(query) else {
        return Ok(());
    };
    for (name, value) in &pairs {
        termaudit_domain::check_text("query", name)?;
        termaudit_domain::check_text(name, value)?;
    }
    Ok(())
}

/// The app's fallback for requests no route takes: 405 with `Allow` when
/// the path is known and takes other methods, else 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed = req.app_data::<web::Data<MethodTable>>().and_then(|t| t.allowed(req.path()));
    let Some(allowed) = allowed else {
        return Err(ApiError::not_found(format!("there is nothing at {}", req.path())));
    };
    let method =
        if req.extensions().contains::<HeadRequest>() { &Method::HEAD } else { req.method() };
    let allow = MethodTable::allow_header(&allowed);
    let error = ApiError::new(
        ProblemKind::MethodNotAllowed,
        format!("{} does not take {method}; it takes {allow}", req.path()),
    );
    let mut response = actix_web::ResponseError::error_response(&error);
    response.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_str(&allow).map_err(|_| ApiError::internal())?,
    );
    Ok(response)
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(1 << 20).error_handler(|err, _req| {
        let error = match &err {
            JsonPayloadError::ContentType => ApiError::new(
                ProblemKind::InvalidInput,
                "the body must be JSON with Content-Type: application/json",
            ),
            JsonPayloadError::Overflow { limit }
            | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
                ProblemKind::PayloadTooLarge,
                format!("the body is larger than the limit of {limit} bytes"),
            ),
            JsonPayloadError::Deserialize(err) => {
                ApiError::invalid(format!("the JSON body does not fit this operation: {err}"))
            }
            other => ApiError::invalid(format!("the body could not be read: {other}")),
        };
        error.into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(err) => format!("invalid query parameters: {err}"),
            other => format!("invalid query parameters: {other}"),
        };
        ApiError::invalid(detail).into()
    })
}

/// A path segment that does not parse as its parameter (a malformed id, a
/// negative chunk number) names nothing that exists: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        let detail = match &err {
            PathError::Deserialize(err) => {
                format!("there is nothing at {}: {err}", req.path())
            }
            other => format!("there is nothing at {}: {other}", req.path()),
        };
        ApiError::not_found(detail).into()
    })
}
