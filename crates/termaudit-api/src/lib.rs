//! termaudit's HTTP API.
//!
//! Handlers are thin: they authenticate the [`Caller`], parse input into
//! domain types, call storage and map rows to the DTOs of
//! `termaudit-api-types`. Every error is RFC 9457 problem+json; the OpenAPI
//! document is generated from the handlers and served at `/api/openapi.json`.

mod audit;
pub mod auth;
mod control;
pub mod demo;
pub mod documents;
pub mod error;
mod evidence;
mod export;
mod extract;
mod health;
mod methods;
mod openapi;
mod policy;
mod problems;
mod projects;
pub mod recordings;
pub mod request_id;
mod retention;
mod security_headers;
mod sessions;
mod targets;
mod timeline;
mod transparency;
mod web_app;

use std::{path::PathBuf, sync::Arc};

use actix_web::{
    App, Error,
    body::MessageBody,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    middleware::from_fn,
    web,
};
use termaudit_domain::Permission;
use termaudit_storage::{ProjectRow, SessionRow, Store};
use utoipa::OpenApi as _;
use utoipa_actix_web::{AppExt, scope, service_config::ServiceConfig};
use utoipa_swagger_ui::SwaggerUi;
use uuid::Uuid;

pub use auth::{
    AuthConfig, Authenticator, Caller, ClaimGrant, ClaimMapping, OidcConfig, OidcVerifier,
    TokenIssuer,
};
pub use error::{ApiError, ProblemKind};
pub use security_headers::{InvalidOrigin, SecurityHeaders};
pub use sessions::history_query;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Shared with the in-process gateway, so provider keys are cached once.
    pub authenticator: Arc<Authenticator>,
    /// Control events from every replica (LISTEN/NOTIFY), for gateways' streams.
    pub control: tokio::sync::broadcast::Sender<termaudit_storage::ControlEvent>,
    /// Live signals from every replica (LISTEN/NOTIFY), for live watchers.
    pub live: tokio::sync::broadcast::Sender<termaudit_storage::LiveSignal>,
    /// How often the retention sweep runs.
    pub retention_interval: std::time::Duration,
    /// Demo sign-in, when the server runs with demo data.
    pub demo: Option<demo::DemoMode>,
    /// The key that signs tree heads and manifests.
    pub signer: Arc<termaudit_domain::transparency::LogSigner>,
    /// The headers every response carries (the content security policy).
    pub security_headers: SecurityHeaders,
    /// Cancelled when the server begins to stop: the event streams end
    /// (their clients reconnect to another replica), so the requests in
    /// flight can drain instead of holding the stop until a timeout.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl AppState {
    /// The project `slug` if the caller holds `permission` in it: 404 when the
    /// caller holds nothing there or it does not exist, 403 when the caller is
    /// a member without that permission.
    pub async fn authorize(
        &self,
        caller: &Caller,
        slug: &str,
        permission: Permission,
    ) -> Result<ProjectRow, ApiError> {
        caller.require(slug, permission)?;
        self.project(slug).await
    }

    /// The project `slug` (from this replica's cache); callers check the
    /// caller's access first.
    pub async fn project(&self, slug: &str) -> Result<ProjectRow, ApiError> {
        self.store
            .cached_project_by_slug(slug)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("there is no project {slug:?}")))
    }

    /// The session `id` of `project` (with a passed grace window closed
    /// first); callers authorize the project first.
    pub async fn session(&self, project: &ProjectRow, id: Uuid) -> Result<SessionRow, ApiError> {
        self.store.session(project.id, id, chrono::Utc::now()).await?.ok_or_else(|| {
            ApiError::not_found(format!("there is no session {id} in project {}", project.slug))
        })
    }
}

fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz).service(retention::metrics).service(
        scope::scope("/api/v1")
            .service(projects::list_projects)
            .service(projects::me)
            .service(auth::sign_in::config)
            .service(demo::users)
            .service(demo::token)
            .service(targets::create_target)
            .service(targets::list_targets)
            .service(sessions::open_session)
            .service(sessions::list_sessions)
            .service(sessions::get_session)
            .service(sessions::heartbeat)
            .service(sessions::drop_session)
            .service(sessions::close_session)
            .service(sessions::revoke_session)
            .service(sessions::reconnect)
            .service(sessions::redeem_reconnect)
            .service(timeline::append_activity)
            .service(timeline::list_activity)
            .service(timeline::append_database_events)
            .service(timeline::list_database_events)
            .service(audit::list_audit_events)
            .service(transparency::audit_log_status)
            .service(transparency::tree_heads)
            .service(transparency::latest_tree_head)
            .service(transparency::inclusion_proof)
            .service(transparency::consistency_proof)
            .service(transparency::signing_keys)
            .service(transparency::recording_manifest)
            .service(evidence::download_evidence)
            .service(export::export_csv)
            .service(export::export_json)
            .service(export::export_ndjson)
            .route("/projects/{project}/export", web::get().to(export::export_by_query))
            .service(control::control_events)
            .service(policy::get_policy)
            .service(policy::put_policy)
            .service(policy::get_hold)
            .service(policy::place_hold)
            .service(policy::release_hold)
            .service(retention::retention_preview)
            .service(retention::retention_status)
            .service(recordings::ingest::put_chunk)
            .service(recordings::ingest::finalize)
            .service(recordings::playback::get_recording)
            .service(recordings::playback::get_events)
            .service(recordings::playback::search)
            .service(recordings::playback::download)
            .service(recordings::text::search_recordings)
            .service(recordings::text::transcript)
            .service(recordings::live::watch_live)
            // Not operations of the document: 405s that say why history
            // cannot be deleted.
            .route("/projects/{project}/sessions/{id}", web::delete().to(refuse_delete))
            .route("/projects/{project}/sessions/{id}/recording", web::delete().to(refuse_delete))
            .route(
                "/projects/{project}/sessions/{id}/recording/{rest:.*}",
                web::delete().to(refuse_delete),
            ),
    );
}

/// The OpenAPI document of this build, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut spec) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    openapi::apply_conventions(&mut spec);
    spec
}

/// The whole HTTP application: the API, its docs, the routes `extra` adds
/// (the in-process terminal gateway) and, when `web_dir` holds a built web
/// app, the web app at `/`; every response with the security headers.
pub fn app(
    state: Arc<AppState>,
    web_dir: Option<PathBuf>,
    extra: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let security_headers = state.security_headers.middleware();
    let (app, mut spec) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .app_data(web::Data::from(state))
        .app_data(problems::json_config())
        .app_data(problems::query_config())
        .app_data(problems::path_config())
        .configure(routes)
        .split_for_parts();
    openapi::apply_conventions(&mut spec);
    app.app_data(web::Data::new(methods::MethodTable::from_spec(&spec)))
        .service(web::resource("/api/docs").get(|| async {
            actix_web::HttpResponse::PermanentRedirect()
                .insert_header((actix_web::http::header::LOCATION, "/api/docs/"))
                .finish()
        }))
        .service(
            SwaggerUi::new("/api/docs/{_:.*}")
                .url("/api/openapi.json", spec)
                // No badge from validator.swagger.io: the CSP allows no other site.
                .config(
                    utoipa_swagger_ui::Config::new(["/api/openapi.json"]).validator_url("none"),
                ),
        )
        .configure(extra)
        .configure(|cfg| {
            if let Some(dir) = web_dir {
                cfg.app_data(web::Data::new(web_app::WebApp::new(dir)));
            }
        })
        .default_service(web::to(web_app::serve))
        .wrap(from_fn(problems::middleware))
        .wrap(from_fn(request_id::middleware))
        .wrap(security_headers)
}

/// `DELETE` of a session, its recording or anything below it: 405, history
/// ages out by retention policy. Not an operation of the OpenAPI document;
/// served so that the 405 says why, after the caller is known. Only
/// `{project}` is read: any `{id}`, a UUID or not, gets the 405.
async fn refuse_delete(
    caller: Caller,
    req: actix_web::HttpRequest,
    path: web::Path<extract::ProjectPath>,
) -> Result<actix_web::HttpResponse, ApiError> {
    caller.member_of(&path.project)?;
    Ok(error::no_delete(&req))
}
