//! Who is signed in: the app-wide state every page reads from context.

use std::rc::Rc;

use termaudit_api_types::Me;
use yew::prelude::*;

use crate::api::ApiError;

/// The browser's sign-in state.
#[derive(Debug, Clone, PartialEq)]
pub enum Session {
    /// A token is stored and is being checked with `GET /me`.
    Checking,
    /// No usable token; `reason` says why when the server rejected one.
    SignedOut { reason: Option<String> },
    /// The stored token is valid and belongs to this caller.
    SignedIn(Rc<Me>),
    /// The stored token could not be checked: the server is unreachable or failing.
    Unavailable(ApiError),
}

/// What can happen to the session.
pub enum SessionAction {
    SignedIn(Me),
    SignedOut { reason: Option<String> },
    Unavailable(ApiError),
}

impl Reducible for Session {
    type Action = SessionAction;

    fn reduce(self: Rc<Self>, action: SessionAction) -> Rc<Self> {
        Rc::new(match action {
            SessionAction::SignedIn(me) => Session::SignedIn(Rc::new(me)),
            SessionAction::SignedOut { reason } => Session::SignedOut { reason },
            SessionAction::Unavailable(error) => Session::Unavailable(error),
        })
    }
}

impl Session {
    /// The signed-in caller, if any.
    pub fn me(&self) -> Option<&Me> {
        match self {
            Session::SignedIn(me) => Some(me),
            _ => None,
        }
    }

    /// Whether the caller's token grants `permission` in project `slug`.
    pub fn can(&self, slug: &str, permission: &str) -> bool {
        self.me().is_some_and(|me| {
            me.projects.iter().any(|project| {
                project.slug == slug && project.permissions.iter().any(|p| p == permission)
            })
        })
    }
}

/// The permissions the pages ask about, as the API names them.
pub mod permission {
    pub const VIEW_HISTORY: &str = "terminal.view_history";
    pub const VIEW_RECORDING: &str = "terminal.view_recording";
    pub const DOWNLOAD_RECORDING: &str = "terminal.download_recording";
    pub const MANAGE_POLICY: &str = "terminal.manage_policy";
    pub const CONNECT: &str = "terminal.connect";
}

/// The handle pages get from context: read it, or dispatch a [`SessionAction`].
pub type SessionHandle = UseReducerHandle<Session>;

/// The session from the app's context provider.
#[hook]
pub fn use_session() -> SessionHandle {
    use_context::<SessionHandle>().expect("the app provides a SessionHandle context")
}
