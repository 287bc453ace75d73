//! Makes every error response problem+json, including the ones actix-web
//! produces itself (unknown routes, unparsable bodies, wrong methods).

use actix_web::{
    Error, HttpRequest, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::{JsonPayloadError, PathError, QueryPayloadError},
    http::header,
    middleware::Next,
    web,
};

use crate::error::{ApiError, PROBLEM_JSON, ProblemKind};

/// Rewrites error responses that are not problem+json yet.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let response = next.call(req).await?;
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

/// The app's fallback for paths no route matches.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!("there is nothing at {}", req.path())))
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

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            PathError::Deserialize(err) => format!("invalid path parameter: {err}"),
            other => format!("invalid path: {other}"),
        };
        ApiError::invalid(detail).into()
    })
}
