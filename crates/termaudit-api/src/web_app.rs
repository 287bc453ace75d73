//! Serves the single-page web app: its files where they exist, `index.html`
//! for any other path outside the API and the gateway (the app routes in the
//! browser), and a problem+json 404 for unknown API and gateway paths.
//!
//! `scripts/build-frontend.sh` writes a gzip (`.gz`) and a brotli (`.br`)
//! twin next to each text file and the wasm; actix-files does not serve
//! those by itself, so the twin the request's `Accept-Encoding` prefers is
//! served here (`Vary: Accept-Encoding`). A `Range` request gets the file as
//! it is, so its bytes are ranges of the one representation.
//!
//! The build also puts a content hash in the names of the files `index.html`
//! loads (`termaudit_web-0123456789abcdef.js`): those never change, and
//! browsers keep them for a year without asking; everything else, above all
//! `index.html`, is revalidated (`no-cache`, with its `ETag`).

use std::path::{Path, PathBuf};

use actix_files::NamedFile;
use actix_web::{
    HttpRequest, HttpResponse, Responder,
    http::{
        Method,
        header::{self, AcceptEncoding, ContentEncoding, Encoding, Header as _, HeaderValue},
    },
    web,
};

use crate::error::{ApiError, ProblemKind};

/// The built web app's directory.
pub struct WebApp {
    dir: PathBuf,
}

impl WebApp {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

fn is_api_path(path: &str) -> bool {
    ["/api", "/gateway"].iter().any(|root| {
        path.strip_prefix(root).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }) || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
}

/// The app's fallback for every path no route matches: the web app when one
/// is served, a problem+json 404 for API paths and when none is.
pub async fn serve(
    req: HttpRequest,
    web_app: Option<web::Data<WebApp>>,
) -> Result<HttpResponse, ApiError> {
    let web_app = match web_app {
        Some(web_app) if !is_api_path(req.path()) => web_app,
        _ => return crate::problems::not_found(req).await,
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ApiError::new(
            ProblemKind::MethodNotAllowed,
            "the web app's files are only read (GET, HEAD)",
        ));
    }
    let (path, immutable) = match asset(&web_app.dir, req.path()) {
        Some(file) => {
            let immutable = is_hashed(&file);
            (file, immutable)
        }
        None => (web_app.dir.join("index.html"), false),
    };
    let mut response = match negotiated(&path, &req).await {
        Ok(file) => file.respond_to(&req).map_into_boxed_body(),
        Err(err) => {
            tracing::error!(error = %err, file = %path.display(), "cannot open the web app's file");
            return Err(ApiError::not_found(
                "the web app is not built; run scripts/build-frontend.sh",
            ));
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

/// The file at the request's `path` inside `dir`: plain names only (no
/// `..`, no hidden files, nothing percent-encoded) and not a compressed twin.
fn asset(dir: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.strip_prefix('/')?;
    let plain = !relative.is_empty()
        && relative.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        && !relative.ends_with(".gz")
        && !relative.ends_with(".br");
    let file = dir.join(relative);
    (plain && file.is_file()).then_some(file)
}

/// Whether the file's name carries the build's content hash: `name-` and 16
/// lowercase hex digits before the extension.
fn is_hashed(file: &Path) -> bool {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    stem.rsplit_once('-').is_some_and(|(name, hash)| {
        !name.is_empty()
            && hash.len() == 16
            && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The encodings served, best first, with the suffix of their twin files.
const TWINS: [(ContentEncoding, &str); 2] =
    [(ContentEncoding::Brotli, "br"), (ContentEncoding::Gzip, "gz")];

/// `file`, or the compressed twin of it the client prefers.
async fn negotiated(file: &Path, req: &HttpRequest) -> std::io::Result<NamedFile> {
    let content_type = actix_files::file_extension_to_mime(
        file.extension().and_then(|e| e.to_str()).unwrap_or_default(),
    );
    if !req.headers().contains_key(header::RANGE)
        && let Some((encoding, twin)) = preferred_twin(file, req)
    {
        match NamedFile::open_async(&twin).await {
            Ok(named) => {
                return Ok(named
                    .set_content_type(content_type)
                    .set_content_encoding(encoding)
                    .disable_content_disposition());
            }
            Err(err) => {
                tracing::warn!(error = %err, file = %twin.display(), "cannot open a compressed file; sending it uncompressed")
            }
        }
    }
    Ok(NamedFile::open_async(file)
        .await?
        .set_content_type(content_type)
        .disable_content_disposition())
}

fn preferred_twin(file: &Path, req: &HttpRequest) -> Option<(ContentEncoding, PathBuf)> {
    let accepted = AcceptEncoding::parse(req).ok()?;
    let mut twins: Vec<(Encoding, PathBuf)> = TWINS
        .iter()
        .map(|(encoding, suffix)| {
            (Encoding::Known(*encoding), PathBuf::from(format!("{}.{suffix}", file.display())))
        })
        .filter(|(_, twin)| twin.is_file())
        .collect();
    if twins.is_empty() {
        return None;
    }
    let supported: Vec<Encoding> =
        twins.iter().map(|(encoding, _)| encoding.clone()).chain([Encoding::identity()]).collect();
    let chosen = accepted.negotiate(supported.iter())?;
    let index = twins.iter().position(|(encoding, _)| *encoding == chosen)?;
    let (chosen, twin) = twins.swap_remove(index);
    match chosen {
        Encoding::Known(encoding) => Some((encoding, twin)),
        Encoding::Unknown(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_and_gateway_paths_are_never_the_web_app() {
        for path in
            ["/api", "/api/v1/x", "/gateway", "/gateway/v1/projects/p/terminals", "/metrics"]
        {
            assert!(is_api_path(path), "{path}");
        }
        for path in ["/", "/apis", "/gateways/x", "/projects/demo/sessions", "/style.css"] {
            assert!(!is_api_path(path), "{path}");
        }
    }

    #[test]
    fn only_names_with_the_builds_hash_are_immutable() {
        for name in ["termaudit_web-0123456789abcdef.js", "termaudit_web_bg-00000000aaaaffff.wasm"]
        {
            assert!(is_hashed(Path::new(name)), "{name}");
        }
        for name in [
            "index.html",
            "style.css",
            "termaudit_web.js",
            "x-0123456789ABCDEF.js",
            "x-0123456789abcde.js",
            "-0123456789abcdef.js",
        ] {
            assert!(!is_hashed(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn only_plain_names_inside_the_directory_are_files() {
        let dir = std::env::temp_dir().join(format!("termaudit-web-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("snippets")).expect("a directory");
        for name in ["app.js", "app.js.br", ".source-hash", "snippets/x.js"] {
            std::fs::write(dir.join(name), "x").expect("a file");
        }
        assert_eq!(asset(&dir, "/app.js"), Some(dir.join("app.js")));
        assert_eq!(asset(&dir, "/snippets/x.js"), Some(dir.join("snippets/x.js")));
        for path in
            ["/", "/app.js.br", "/.source-hash", "/snippets/../app.js", "/app%2Ejs", "/nope"]
        {
            assert_eq!(asset(&dir, path), None, "{path}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
