//! The WebSocket endpoints: authenticate, upgrade, then pump bytes between
//! the socket and the shell (the protocol is described in the crate docs).

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    http::{StatusCode, header},
    web,
};
use actix_ws::{Message, MessageStream, Session};
use bytes::Bytes;
use serde::Deserialize;
use termaudit_api_types::gateway::{ClientMessage, ServerMessage};
use termaudit_domain::Permission;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    CallError, Gateway, User,
    shell::{Attached, Command, ShellHandle, ToClient},
};

/// The subprotocol the gateway speaks.
pub const PROTOCOL: &str = "termaudit.v1";
const BEARER_PROTOCOL: &str = "bearer.";

/// A refusal before the upgrade, as problem+json.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
}

impl ResponseError for GatewayError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (kind, title) = match self {
            Self::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::Unavailable(_) => ("service-unavailable", "Service unavailable"),
        };
        let status = self.status_code();
        HttpResponse::build(status).content_type("application/problem+json").json(
            serde_json::json!({
                "type": format!("urn:termaudit:problem:{kind}"),
                "title": title,
                "status": status.as_u16(),
                "detail": self.to_string(),
            }),
        )
    }
}

/// The query of a new terminal.
#[derive(Debug, Deserialize)]
pub struct OpenQuery {
    pub target: String,
    pub reason: Option<String>,
    pub mode: Option<String>,
    pub cols: Option<u16>,
    pub rows: Option<u16>,
    pub token: Option<String>,
}

impl OpenQuery {
    pub fn size(&self) -> (u16, u16) {
        (self.cols.unwrap_or(80).clamp(2, 1000), self.rows.unwrap_or(24).clamp(2, 500))
    }
}

#[derive(Debug, Deserialize)]
pub struct AttachQuery {
    pub token: Option<String>,
}

/// How long a reattaching client has to send its reconnect token.
const RECONNECT_TOKEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The user's token: the `token` parameter, or a `bearer.<token>` subprotocol.
fn bearer(req: &HttpRequest, query: Option<&str>) -> Result<String, GatewayError> {
    if let Some(token) = query.filter(|t| !t.is_empty()) {
        return Ok(token.to_owned());
    }
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(BEARER_PROTOCOL).filter(|t| !t.is_empty()))
        .map(ToOwned::to_owned)
        .ok_or_else(|| {
            GatewayError::Unauthorized(
                "a terminal needs the user's token: the `token` parameter or a `bearer.<token>` subprotocol".into(),
            )
        })
}

/// A shell of `project` is the user's to open or reattach: 404 for a
/// project they hold nothing in, 403 without `terminal.connect`.
fn may_connect(user: &User, project: &str) -> Result<(), GatewayError> {
    if !user.projects.iter().any(|p| p == project) {
        return Err(GatewayError::NotFound(format!("there is no project {project:?}")));
    }
    if !user.may_connect.iter().any(|p| p == project) {
        return Err(GatewayError::Forbidden(format!(
            "a terminal needs the permission {} in project {project}",
            Permission::Connect
        )));
    }
    Ok(())
}

fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
) -> Result<(HttpResponse, Session, MessageStream), actix_web::Error> {
    actix_ws::handle_with_protocols(req, body, &[PROTOCOL])
}

/// `GET /gateway/v1/projects/{project}/terminals`: a new shell.
pub async fn open(
    req: HttpRequest,
    body: web::Payload,
    project: web::Path<String>,
    query: web::Query<OpenQuery>,
    gateway: web::Data<Gateway>,
) -> Result<HttpResponse, actix_web::Error> {
    let user = gateway.authenticate(&bearer(&req, query.token.as_deref())?).await?;
    may_connect(&user, &project)?;
    let target = gateway.inner.targets.get(&project, &query.target).cloned().ok_or_else(|| {
        GatewayError::NotFound(format!(
            "this gateway has no target {:?} in project {}",
            query.target,
            project.as_str()
        ))
    })?;
    let (response, mut socket, stream) = upgrade(&req, body)?;
    let gateway = gateway.into_inner();
    let query = query.into_inner();
    actix_web::rt::spawn(async move {
        match gateway.open(&user, &target, &query).await {
            Ok((shell, session)) => {
                let (cols, rows) = query.size();
                let opened = ServerMessage::Opened { session: Box::new(session), cols, rows };
                connect(shell, socket, stream, opened, false).await;
            }
            Err(err) => refuse(&mut socket, err).await,
        }
    });
    Ok(response)
}

/// `GET /gateway/v1/projects/{project}/terminals/{id}/attach`: back to a
/// dropped shell.
pub async fn attach(
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<(String, Uuid)>,
    query: web::Query<AttachQuery>,
    gateway: web::Data<Gateway>,
) -> Result<HttpResponse, actix_web::Error> {
    let (project, id) = path.into_inner();
    let user = gateway.authenticate(&bearer(&req, query.token.as_deref())?).await?;
    may_connect(&user, &project)?;
    let shell = gateway
        .inner
        .shells
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .filter(|s| s.project == project)
        .cloned()
        .ok_or_else(|| {
            GatewayError::NotFound(format!("this gateway holds no live shell of session {id}"))
        })?;
    if shell.owner != user.subject {
        return Err(GatewayError::Forbidden(
            "only the user who opened the shell may reattach to it".into(),
        )
        .into());
    }
    let (response, mut socket, mut stream) = upgrade(&req, body)?;
    let api = gateway.inner.api.clone();
    actix_web::rt::spawn(async move {
        let token = match reconnect_token(&mut socket, &mut stream).await {
            Ok(token) => token,
            Err(detail) => {
                let refusal = CallError::Refused { status: 400, detail, ended: None };
                return refuse(&mut socket, refusal).await;
            }
        };
        match api.redeem(&project, id, &token).await {
            Ok(session) => {
                // The size is the shell's; `connect` sends it with the screen.
                let opened = ServerMessage::Opened { session: Box::new(session), cols: 0, rows: 0 };
                connect(shell, socket, stream, opened, true).await;
            }
            Err(err) => refuse(&mut socket, err).await,
        }
    });
    Ok(response)
}

/// The reconnect token of a reattach: the client's first message,
/// `{"type":"reconnect","token":"..."}`.
async fn reconnect_token(
    socket: &mut Session,
    stream: &mut MessageStream,
) -> Result<String, String> {
    let expected = "the first message of a reattach is {\"type\":\"reconnect\",\"token\":\"...\"}, \
                    with the token POST .../reconnect granted";
    let first = tokio::time::timeout(RECONNECT_TOKEN_WAIT, async {
        loop {
            match stream.recv().await {
                Some(Ok(Message::Ping(bytes))) => {
                    let _ = socket.pong(&bytes).await;
                }
                Some(Ok(Message::Pong(_))) => {}
                other => return other,
            }
        }
    })
    .await
    .map_err(|_| format!("no reconnect token came within {RECONNECT_TOKEN_WAIT:?}: {expected}"))?;
    match first {
        Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(&text) {
            Ok(ClientMessage::Reconnect { token }) => Ok(token),
            _ => Err(expected.to_owned()),
        },
        _ => Err(expected.to_owned()),
    }
}

async fn refuse(socket: &mut Session, err: CallError) {
    let (status, detail) = match err {
        CallError::Refused { status, detail, .. } => (status, detail),
        CallError::Unavailable(why) => (503, format!("termaudit's API is unavailable: {why}")),
    };
    let message = ServerMessage::Error { status, detail };
    let _ = socket.text(serde_json::to_string(&message).unwrap_or_default()).await;
    let _ = socket.clone().close(None).await;
}

/// Attaches the socket to the shell and pumps until either side ends.
async fn connect(
    shell: ShellHandle,
    mut socket: Session,
    mut stream: MessageStream,
    opened: ServerMessage,
    restore_screen: bool,
) {
    let (to_client, mut from_shell) = mpsc::channel(256);
    let (reply, attached) = oneshot::channel();
    let attached: Option<Attached> =
        match shell.tx.send(Command::Attach { client: to_client, reply }).await {
            Ok(()) => attached.await.ok(),
            Err(_) => None,
        };
    let Some(attached) = attached else {
        let ended = ServerMessage::Ended {
            reason: "closed".into(),
            by: None,
            detail: Some("the shell has ended".into()),
        };
        let _ = socket.text(serde_json::to_string(&ended).unwrap_or_default()).await;
        let _ = socket.close(None).await;
        return;
    };
    let opened = match opened {
        ServerMessage::Opened { session, .. } => {
            ServerMessage::Opened { session, cols: attached.cols, rows: attached.rows }
        }
        other => other,
    };
    let mut ok = socket.text(serde_json::to_string(&opened).unwrap_or_default()).await.is_ok();
    if ok && restore_screen {
        // A reset, then the screen as it is.
        let screen = format!("\u{1b}c{}", attached.screen);
        ok = socket.binary(Bytes::from(screen)).await.is_ok();
    }
    while ok {
        tokio::select! {
            message = stream.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    ok = shell.tx.send(Command::Input(bytes)).await.is_ok();
                }
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ClientMessage>(&text) {
                        Ok(ClientMessage::Resize { cols, rows }) => {
                            ok = shell.tx.send(Command::Resize { cols, rows }).await.is_ok();
                        }
                        // Only a reattach's first message means anything.
                        Ok(ClientMessage::Reconnect { .. }) => {}
                        Err(err) => tracing::debug!(error = %err, "an unknown control message"),
                    }
                }
                Some(Ok(Message::Ping(bytes))) => ok = socket.pong(&bytes).await.is_ok(),
                Some(Ok(Message::Close(_)) | Err(_)) | None => ok = false,
                Some(Ok(_)) => {}
            },
            out = from_shell.recv() => match out {
                Some(ToClient::Output(bytes)) => ok = socket.binary(bytes).await.is_ok(),
                Some(ToClient::Message(message)) => {
                    let text = serde_json::to_string(&message).unwrap_or_default();
                    ok = socket.text(text).await.is_ok();
                }
                Some(ToClient::Close) | None => {
                    let _ = socket.close(None).await;
                    return;
                }
            },
        }
    }
    // The browser went away: the shell waits for a reattach.
    let _ = shell.tx.send(Command::Detach { attachment: attached.attachment }).await;
    let _ = socket.close(None).await;
}
