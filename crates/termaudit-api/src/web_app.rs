//! Serves the single-page web app: its files where they exist, `index.html`
//! for any other path outside the API (the app routes in the browser), and a
//! problem+json 404 for unknown API paths.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::{
    HttpRequest, HttpResponse, Responder,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{CacheControl, CacheDirective},
};

use crate::error::ApiError;

fn is_api_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
}

pub fn files(dir: &Path) -> Files {
    let index = dir.join("index.html");
    Files::new("/", dir).index_file("index.html").default_handler(move |req: ServiceRequest| {
        let index = index.clone();
        async move {
            let (req, _) = req.into_parts();
            let response = fallback(&req, &index).await;
            Ok(ServiceResponse::new(req, response))
        }
    })
}

async fn fallback(req: &HttpRequest, index: &PathBuf) -> HttpResponse {
    if is_api_path(req.path()) {
        return actix_web::ResponseError::error_response(&ApiError::not_found(format!(
            "there is nothing at {}",
            req.path()
        )));
    }
    match NamedFile::open_async(index).await {
        Ok(file) => {
            let mut response = file.respond_to(req).map_into_boxed_body();
            // The shell must be re-fetched so a new build is picked up.
            response.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                CacheControl(vec![CacheDirective::NoCache]).to_string().parse().unwrap_or_else(
                    |_| actix_web::http::header::HeaderValue::from_static("no-cache"),
                ),
            );
            response
        }
        Err(err) => {
            tracing::error!(error = %err, index = %index.display(), "the web app's index.html is missing");
            actix_web::ResponseError::error_response(&ApiError::not_found(
                "the web app is not built; run scripts/build-frontend.sh",
            ))
        }
    }
}
