//! The control messages of the terminal gateway's WebSocket (text frames of
//! JSON; binary frames are terminal bytes). Not part of `/api/v1`, so not in
//! the OpenAPI document; the protocol is described in `termaudit-gateway`.

use serde::{Deserialize, Serialize};

use crate::Session;

/// What the browser sends besides keystrokes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The terminal in the page changed size.
    Resize { cols: u16, rows: u16 },
    /// The first message of a reattach: the reconnect token the API granted
    /// (sent in the socket, so it never stands in a URL).
    Reconnect { token: String },
}

/// What the gateway tells the browser besides terminal output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The shell is open (or reattached): the session, and the terminal's
    /// size, which the screen that follows is drawn for.
    Opened { session: Box<Session>, cols: u16, rows: u16 },
    /// The shell ended; the socket closes next. `reason` is the session's
    /// close reason (`user_exit`, `revoked`, `grace_expired`, `gateway_lost`,
    /// `target_error`, ...); `by` names who revoked it; `detail` says why.
    Ended { reason: String, by: Option<String>, detail: Option<String> },
    /// Someone started (`watching`) or stopped watching the session live
    /// (`GET .../recording/live`): a notice for the operator, not part of
    /// the recording.
    Watching { watcher: String, watching: bool },
    /// The shell could not be opened or reattached; the socket closes next.
    /// `status` is the HTTP status the refusal would have had.
    Error { status: u16, detail: String },
}
