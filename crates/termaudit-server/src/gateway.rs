//! The terminal gateway, wired either inside `termaudit serve` (its routes
//! mounted in the same server, a service token minted per request, users'
//! tokens checked by the API's own authenticator) or on its own
//! (`termaudit gateway`).

use std::{collections::BTreeMap, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use termaudit_api::{AuthConfig, Authenticator, TokenIssuer};
use termaudit_domain::Permission;
use termaudit_gateway::{ApiClient, Gateway, ServiceToken, Targets, User, UserAuth};

/// How long shells get to report their end when the process stops.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(15);

/// The gateway inside the server listening on `api`.
pub fn in_process(
    targets: Targets,
    auth: &AuthConfig,
    authenticator: Arc<Authenticator>,
    api: SocketAddr,
) -> anyhow::Result<Gateway> {
    let issuer = Arc::new(TokenIssuer::new(auth));
    let grants: BTreeMap<String, Vec<Permission>> =
        targets.projects().into_iter().map(|p| (p, vec![Permission::Ingest])).collect();
    let mint = move || {
        issuer
            .issue(
                "termaudit-gateway",
                Some("termaudit gateway"),
                grants.clone(),
                chrono::Utc::now(),
                chrono::Duration::minutes(10),
            )
            .unwrap_or_default()
    };
    let verify = move |token: String| {
        let authenticator = authenticator.clone();
        Box::pin(async move {
            let caller = authenticator.verify(&token).await.map_err(|err| err.to_string())?;
            Ok(User {
                subject: caller.subject.clone(),
                name: caller.name.clone(),
                projects: caller.grants().map(|(slug, _)| slug.to_owned()).collect(),
                may_connect: caller
                    .grants()
                    .filter(|(_, held)| held.contains(Permission::Connect))
                    .map(|(slug, _)| slug.to_owned())
                    .collect(),
            })
        }) as termaudit_gateway::VerifyFuture
    };
    let host = if api.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), api.port())
    } else {
        api
    };
    let client = ApiClient::new(&format!("http://{host}"), ServiceToken::Minted(Arc::new(mint)));
    Ok(Gateway::new(targets, client, UserAuth::Local(Arc::new(verify))))
}

/// Runs a standalone gateway on `bind` until SIGTERM or SIGINT.
pub async fn run_standalone(
    bind: &str,
    api_url: &str,
    targets: &Path,
    token: String,
) -> anyhow::Result<()> {
    let targets = Targets::load(targets)?;
    let gateway = Gateway::new(
        targets,
        ApiClient::new(api_url, ServiceToken::Fixed(token)),
        UserAuth::Remote,
    );
    gateway.start();
    let listener =
        std::net::TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    tracing::info!(address = %listener.local_addr()?, api = api_url, "the gateway is serving");
    let server = termaudit_gateway::server(gateway.clone(), listener)?;
    tokio::spawn(stop_on_signal(gateway, server.handle()));
    Ok(server.await?)
}

/// On SIGTERM or SIGINT: ends the shells (their sessions close
/// `gateway_lost`) while the API still answers, then stops the server.
pub async fn stop_on_signal(gateway: Gateway, server: actix_web::dev::ServerHandle) {
    terminated().await;
    tracing::info!("stopping: ending the gateway's shells");
    gateway.shutdown(SHUTDOWN_LIMIT).await;
    server.stop(true).await;
}

/// [`stop_on_signal`] for `termaudit serve`, whose gateway is optional:
/// the shells end first, then the API's event streams (`stopping`), and
/// the server stops once the requests in flight have finished.
pub async fn stop_serving_on_signal(
    gateway: Option<Gateway>,
    stopping: tokio_util::sync::CancellationToken,
    server: actix_web::dev::ServerHandle,
) {
    terminated().await;
    if let Some(gateway) = gateway {
        tracing::info!("stopping: ending the gateway's shells");
        gateway.shutdown(SHUTDOWN_LIMIT).await;
    }
    tracing::info!("stopping: ending the event streams, finishing the requests in flight");
    stopping.cancel();
    server.stop(true).await;
}

/// Returns at the first SIGTERM or SIGINT.
async fn terminated() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
